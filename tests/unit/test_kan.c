/* model/kan: the Cox–de Boor reference against B-spline facts and finite differences
 * (double), and the fused fast path against the reference (float). */
#include "model/kan.h"
#include "tests/support/check.h"
#include "tests/support/gradcheck.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double uniform(double lo, double hi) { return test_uniform(&rng_state, lo, hi); }

/* Inputs that stay at least `gap` away from every knot (finite differences must not cross
 * an interval boundary, where the third derivative jumps). */
static double away_from_knots(double lo, double hi, double gap)
{
    for (;;) {
        double x = uniform(lo, hi);
        int ok = 1;
        for (int k = 0; k < KAN_NKNOTS; k++)
            ok &= fabs(x - kan_default_grid[k]) > gap;
        if (ok)
            return x;
    }
}

static void bases_are_a_partition_of_unity_inside_the_grid(void)
{
    /* On [t_3, t_8) = [−1, 1) all 4 non-zero cubic bases are among the 8 kept ones, so
     * they sum to 1; outside [t_0, t_11) every basis is 0 (half-open at 2.2). */
    for (int n = 0; n < 2000; n++) {
        float x = (float)uniform(-1.0, 0.9999), b[KAN_NBASES];
        kan_bases_reference(b, x, kan_default_grid);
        double sum = 0;
        for (int k = 0; k < KAN_NBASES; k++) {
            sum += b[k];
            CHECK(b[k] >= 0.0f);
        }
        CHECK_NEAR(sum, 1.0, 1e-6);
    }
    float b[KAN_NBASES];
    const float outside[] = {2.2f, 2.5f, -2.2000003f, -7.0f};
    for (int n = 0; n < 4; n++) {
        kan_bases_reference(b, outside[n], kan_default_grid);
        for (int k = 0; k < KAN_NBASES; k++)
            CHECK(b[k] == 0.0f);
    }
    /* at the centre of the uniform spline the values are the textbook 1/6, 2/3, 1/6 */
    kan_bases_reference(b, 0.2f, kan_default_grid);   /* x = t_6: B_3, B_4, B_5 */
    CHECK_NEAR(b[3], 1.0 / 6.0, 1e-6);
    CHECK_NEAR(b[4], 2.0 / 3.0, 1e-6);
    CHECK_NEAR(b[5], 1.0 / 6.0, 1e-6);
    CHECK(b[6] == 0.0f);
}

static void closed_form_equals_cox_de_boor(void)
{
    /* Values and derivatives, including exact knots and the interval ends. The interval
     * is found with the reference's comparisons, so both agree on it for every x. */
    double worst = 0, worst_d = 0;
    for (int n = 0; n < 20000; n++) {
        float x = n < KAN_NKNOTS ? kan_default_grid[n] : (float)uniform(-2.6, 2.6);
        float ref[KAN_NBASES], fast[KAN_NBASES] = {0}, dfast[KAN_NBASES] = {0}, b4[4], db4[4];
        kan_bases_reference(ref, x, kan_default_grid);
        int j = kan_bases_closed_form(b4, db4, x, kan_default_grid);
        for (int r = 0; j >= 0 && r < 4; r++)
            if (j - 3 + r >= 0 && j - 3 + r < KAN_NBASES) {
                fast[j - 3 + r] = b4[r];
                dfast[j - 3 + r] = db4[r];
            }
        double xd = x, bd[KAN_NBASES], bp[KAN_NBASES], bm[KAN_NBASES], grid[KAN_NKNOTS];
        for (int k = 0; k < KAN_NKNOTS; k++)
            grid[k] = kan_default_grid[k];
        kan_bases_reference_f64(bd, xd, grid);
        int near_knot = 0;
        for (int k = 0; k < KAN_NKNOTS; k++)
            near_knot |= fabs(xd - grid[k]) < 1e-4;
        kan_bases_reference_f64(bp, xd + 1e-6, grid);
        kan_bases_reference_f64(bm, xd - 1e-6, grid);
        for (int k = 0; k < KAN_NBASES; k++) {
            CHECK((ref[k] == 0.0f) == (fast[k] == 0.0f) || fabs(ref[k] - fast[k]) < 1e-7);
            worst = fmax(worst, fabs(ref[k] - fast[k]));
            if (!near_knot)
                worst_d = fmax(worst_d, fabs(dfast[k] - (bp[k] - bm[k]) / 2e-6));
        }
    }
    fprintf(stderr, "  closed form vs Cox-de Boor: max |dB| %.3g, max |dB'| vs f64 FD %.3g\n",
            worst, worst_d);
    CHECK(worst < 5e-7);
    CHECK(worst_d < 5e-5);
}

/* Random parameters at the init scale; spline weights larger than init so the spline
 * term matters as much as the SiLU term. */
static void params_fill(kan_linear_params *p, int in, int out)
{
    double bound = 1.0 / sqrt(in);
    for (int n = 0; n < out * in; n++) {
        p->base_weight[n] = (float)uniform(-bound, bound);
        p->spline_scaler[n] = (float)uniform(-bound, bound);
    }
    for (int n = 0; n < out * in * KAN_NBASES; n++)
        p->spline_weight[n] = (float)uniform(-1.0, 1.0);
}

typedef struct kan_case {
    int M, in, out;
    float *x, *y_ref, *y_fast, *scratch, *store, *grads;
    kan_linear_params p, g_ref, g_fast;
} kan_case;

static void case_alloc(kan_case *c, int M, int in, int out)
{
    size_t np = kan_linear_param_count(in, out);
    c->M = M; c->in = in; c->out = out;
    c->x = calloc((size_t)M * in, sizeof(float));
    c->y_ref = calloc((size_t)M * out, sizeof(float));
    c->y_fast = calloc((size_t)M * out, sizeof(float));
    c->scratch = calloc(kan_scratch_floats(M, in, out), sizeof(float));
    c->store = calloc(np, sizeof(float));
    c->grads = calloc(2 * np, sizeof(float));
    size_t io = (size_t)in * out;
    c->p = (kan_linear_params){c->store, c->store + io, c->store + 9 * io};
    c->g_ref = (kan_linear_params){c->grads, c->grads + io, c->grads + 9 * io};
    c->g_fast = (kan_linear_params){c->grads + np, c->grads + np + io, c->grads + np + 9 * io};
    params_fill(&c->p, in, out);
}

static void case_free(kan_case *c)
{
    free(c->x); free(c->y_ref); free(c->y_fast); free(c->scratch); free(c->store); free(c->grads);
}

static double max_abs(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* The fast path's operand, column by column, equals the closed form to the bit (its
 * vectorised basis loop must pick the same interval and round the same way): with in = 1
 * and a one-hot weight row, y is exactly one column of X9 and dx exactly its derivative.
 * The inputs are every knot, its float neighbours, the range ends and random values. */
static void fast_operand_equals_closed_form_bits(void)
{
    enum { M = 2000 };
    kan_case c;
    case_alloc(&c, M, 1, 1);
    for (int n = 0; n < M; n++) {
        int k = n / 3 % KAN_NKNOTS;
        float t = kan_default_grid[k];
        c.x[n] = n < 3 * KAN_NKNOTS ? (n % 3 == 0 ? t : nextafterf(t, n % 3 == 1 ? -INFINITY : INFINITY))
                                    : (float)uniform(-2.7, 2.7);
    }
    float *dy = malloc(M * sizeof(float)), *dx = malloc(M * sizeof(float));
    for (int n = 0; n < M; n++)
        dy[n] = 1.0f;
    int bad_y = 0, bad_dx = 0;
    for (int col = 0; col < KAN_FUSED; col++) {   /* 0: SiLU, 1 + k: basis k */
        c.p.base_weight[0] = col == 0;
        c.p.spline_scaler[0] = 1.0f;
        for (int k = 0; k < KAN_NBASES; k++)
            c.p.spline_weight[k] = col == 1 + k;
        kan_linear_forward(c.y_fast, c.x, &c.p, kan_default_grid, M, 1, 1, c.scratch);
        memset(dx, 0, M * sizeof(float));
        kan_linear_backward(dx, &c.g_fast, dy, c.x, &c.p, kan_default_grid, M, 1, 1, c.scratch);
        for (int n = 0; n < M; n++) {
            float x = c.x[n], b4[4], db4[4], want = 0.0f, dwant = 0.0f;
            if (col == 0) {
                float sig = 1.0f / (1.0f + expf(-x));
                want = x / (1.0f + expf(-x));
                dwant = sig * (1.0f + x * (1.0f - sig));
            } else {
                int j = kan_bases_closed_form(b4, db4, x, kan_default_grid), r = col - 1 - (j - 3);
                if (j >= 0 && r >= 0 && r < 4)
                    want = b4[r], dwant = db4[r];
            }
            bad_y += c.y_fast[n] != want;
            bad_dx += dx[n] != dwant;
        }
    }
    fprintf(stderr, "  operand columns vs closed form: %d values, %d derivatives differ (of %d)\n",
            bad_y, bad_dx, M * KAN_FUSED);
    CHECK(bad_y == 0);
    CHECK(bad_dx == 0);
    free(dy), free(dx);
    case_free(&c);
}

static void fast_forward_matches_reference(void)
{
    /* M = 300 crosses the 256-row block; the inputs include exact knots, values beyond
     * ±2.2 (spline part 0) and the whole working range. */
    kan_case c;
    case_alloc(&c, 300, 37, 19);
    for (int n = 0; n < c.M * c.in; n++)
        c.x[n] = n % 29 == 0 ? kan_default_grid[n % KAN_NKNOTS] : (float)uniform(-3.0, 3.0);
    kan_linear_forward_reference(c.y_ref, c.x, &c.p, kan_default_grid, c.M, c.in, c.out);
    kan_linear_forward(c.y_fast, c.x, &c.p, kan_default_grid, c.M, c.in, c.out, c.scratch);
    double scale = max_abs(c.y_ref, (size_t)c.M * c.out);
    double d = max_diff(c.y_ref, c.y_fast, (size_t)c.M * c.out);
    fprintf(stderr, "  forward: max |fast - ref| = %.3g (max |y| %.3g)\n", d, scale);
    CHECK(scale > 0.5);
    CHECK(d <= 2e-6 * scale);
    case_free(&c);
}

static double rel_err(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return sqrt(num) / fmax(sqrt(den), 1e-30);
}

static void fast_backward_matches_reference_and_accumulates(void)
{
    kan_case c;
    case_alloc(&c, 300, 37, 19);
    size_t nx = (size_t)c.M * c.in, io = (size_t)c.in * c.out;
    float *dy = calloc((size_t)c.M * c.out, sizeof(float));
    float *dx_ref = calloc(nx, sizeof(float)), *dx_fast = calloc(nx, sizeof(float));
    for (size_t n = 0; n < nx; n++)
        c.x[n] = (float)uniform(-3.0, 3.0);
    for (int n = 0; n < c.M * c.out; n++)
        dy[n] = (float)uniform(-1.0, 1.0);
    kan_linear_backward_reference(dx_ref, &c.g_ref, dy, c.x, &c.p, kan_default_grid, c.M, c.in, c.out);
    for (int pass = 0; pass < 2; pass++)   /* twice: gradients must add up, not overwrite */
        kan_linear_backward(dx_fast, &c.g_fast, dy, c.x, &c.p, kan_default_grid, c.M, c.in, c.out,
                            c.scratch);
    for (size_t n = 0; n < nx; n++)
        dx_fast[n] *= 0.5f;
    for (size_t n = 0; n < 10 * io; n++)
        c.grads[10 * io + n] *= 0.5f;
    double e_x = rel_err(dx_fast, dx_ref, nx);
    double e_b = rel_err(c.g_fast.base_weight, c.g_ref.base_weight, io);
    double e_s = rel_err(c.g_fast.spline_weight, c.g_ref.spline_weight, 8 * io);
    double e_c = rel_err(c.g_fast.spline_scaler, c.g_ref.spline_scaler, io);
    fprintf(stderr, "  backward rel err: dx %.2g dWb %.2g dWs %.2g dS %.2g\n", e_x, e_b, e_s, e_c);
    CHECK(e_x < 1e-5 && e_b < 1e-5 && e_s < 1e-5 && e_c < 1e-5);
    /* dinp = NULL skips the input gradient but still fills the parameter gradients */
    memset(c.grads + 10 * io, 0, 10 * io * sizeof(float));
    kan_linear_backward(NULL, &c.g_fast, dy, c.x, &c.p, kan_default_grid, c.M, c.in, c.out, c.scratch);
    CHECK(rel_err(c.g_fast.base_weight, c.g_ref.base_weight, io) < 1e-5);
    free(dy); free(dx_ref); free(dx_fast);
    case_free(&c);
}

/* L = Σ y ⊙ R with fixed random R, so dL/dy = R. */
typedef struct kan_loss_ctx {
    const double *x, *grid, *R;
    const kan_linear_params_f64 *p;
    double *y;
    int M, in, out;
} kan_loss_ctx;

static double kan_loss(void *ctx)
{
    kan_loss_ctx *c = ctx;
    kan_linear_forward_reference_f64(c->y, c->x, c->p, c->grid, c->M, c->in, c->out);
    double L = 0;
    for (int n = 0; n < c->M * c->out; n++)
        L += c->y[n] * c->R[n];
    return L;
}

static void reference_gradients_match_finite_differences_f64(void)
{
    enum { M = 6, IN = 5, OUT = 4 };
    size_t io = IN * OUT;
    double x[M * IN], R[M * OUT], y[M * OUT], grid[KAN_NKNOTS], dx[M * IN] = {0};
    double store[10 * IN * OUT], grads[10 * IN * OUT] = {0};
    kan_linear_params_f64 p = {store, store + io, store + 9 * io};
    kan_linear_params_f64 g = {grads, grads + io, grads + 9 * io};
    for (int k = 0; k < KAN_NKNOTS; k++)
        grid[k] = kan_default_grid[k];
    for (int n = 0; n < M * IN; n++)
        x[n] = away_from_knots(-2.6, 2.6, 0.01);
    for (int n = 0; n < M * OUT; n++)
        R[n] = uniform(-1, 1);
    for (size_t n = 0; n < 10 * io; n++)
        store[n] = uniform(-1, 1);
    kan_linear_backward_reference_f64(dx, &g, R, x, &p, grid, M, IN, OUT);
    kan_loss_ctx c = {.x = x, .grid = grid, .R = R, .p = &p, .y = y, .M = M, .in = IN, .out = OUT};
    double worst = fmax(fd_worst(kan_loss, &c, x, M * IN, dx), fd_worst(kan_loss, &c, store, 10 * io, grads));
    fprintf(stderr, "  f64 finite differences: worst error %.3g\n", worst);
    CHECK(worst < 1e-7);
}

int main(void)
{
    RUN_TEST(bases_are_a_partition_of_unity_inside_the_grid);
    RUN_TEST(closed_form_equals_cox_de_boor);
    RUN_TEST(fast_operand_equals_closed_form_bits);
    RUN_TEST(fast_forward_matches_reference);
    RUN_TEST(fast_backward_matches_reference_and_accumulates);
    RUN_TEST(reference_gradients_match_finite_differences_f64);
    return test_summary();
}
