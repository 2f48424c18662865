/* model/attention + model/fusion: masked softmax on both axes, batched matmuls and BCAM
 * (with and without K-Gate) against double-precision finite differences, and the float
 * module (fast KAN + sgemm kernels) against its double reference composition. */
#include "model/attention.h"
#include "model/fusion.h"
#include "tests/support/check.h"
#include "tests/support/gradcheck.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x13198A2E03707344ull;
static double uniform(double lo, double hi) { return test_uniform(&rng_state, lo, hi); }

enum { SB = 2, SR = 5, SN = 4 };
typedef struct softmax_ctx {
    double x[SB * SR * SN], y[SB * SR * SN], R[SB * SR * SN];
    int32_t mask[SB * SN];
    int middle;
} softmax_ctx;

static double softmax_loss(void *p)
{
    softmax_ctx *c = p;
    if (c->middle)
        softmax_middle_forward_f64(c->y, c->x, SB, SR, SN);
    else
        softmax_last_forward_f64(c->y, c->x, c->mask, SB, SR, SN);
    double L = 0;
    for (int i = 0; i < SB * SR * SN; i++)
        L += c->y[i] * c->R[i];
    return L;
}

static void softmax_both_axes_match_finite_differences(void)
{
    softmax_ctx c;
    const int32_t mask[SB * SN] = {1, 1, 0, 1, 1, 0, 0, 0};
    memcpy(c.mask, mask, sizeof mask);
    for (int i = 0; i < SB * SR * SN; i++) {
        c.x[i] = uniform(-3, 3);
        c.R[i] = uniform(-1, 1);
    }
    for (c.middle = 0; c.middle < 2; c.middle++) {
        double dx[SB * SR * SN] = {0};
        softmax_loss(&c);
        softmax_last_backward_f64(dx, c.R, c.y, SB, SR, SN);
        if (c.middle) {
            memset(dx, 0, sizeof dx);
            softmax_middle_backward_f64(dx, c.R, c.y, SB, SR, SN);
        }
        double w = fd_worst(softmax_loss, &c, c.x, SB * SR * SN, dx);
        fprintf(stderr, "  softmax over %s: worst FD error %.3g\n", c.middle ? "rows" : "columns", w);
        CHECK(w < 1e-8);
        if (!c.middle)   /* a padding token has probability 0 and no gradient */
            for (int r = 0; r < SR; r++) {
                CHECK(c.y[r * SN + 2] == 0.0 && dx[r * SN + 2] == 0.0);
                CHECK(c.y[(SR + r) * SN + 3] == 0.0 && dx[(SR + r) * SN + 3] == 0.0);
            }
    }
}

typedef struct matmul_ctx {
    double a[2 * 3 * 4], b[2 * 4 * 5], y[2 * 3 * 5], R[2 * 3 * 5];
    int bt;
} matmul_ctx;

static double matmul_loss(void *p)
{
    matmul_ctx *c = p;
    matmul_batched_forward_f64(c->y, c->a, c->b, 0.5, c->bt, 2, 3, 4, 5);
    double L = 0;
    for (int i = 0; i < 30; i++)
        L += c->y[i] * c->R[i];
    return L;
}

static void matmul_batched_matches_finite_differences(void)
{
    matmul_ctx c;
    for (int i = 0; i < 24; i++) c.a[i] = uniform(-1, 1);
    for (int i = 0; i < 40; i++) c.b[i] = uniform(-1, 1);
    for (int i = 0; i < 30; i++) c.R[i] = uniform(-1, 1);
    for (c.bt = 0; c.bt < 2; c.bt++) {
        double da[24] = {0}, db[40] = {0};
        matmul_batched_backward_f64(da, db, c.R, c.a, c.b, 0.5, c.bt, 2, 3, 4, 5);
        CHECK(fd_worst(matmul_loss, &c, c.a, 24, da) < 1e-8);
        CHECK(fd_worst(matmul_loss, &c, c.b, 40, db) < 1e-8);
    }
}

/* ---- BCAM ---- */

/* Carves BCAM parameters out of buf (in state-dict order); returns the float count. */
#define BCAM_CARVE(name, T, KT)                                                         \
    static size_t name(T *p, double *buf_d, float *buf_f, const bcam_dims *d)            \
    {                                                                                    \
        size_t n = 0, C = d->C, ca = d->ca, H = C / 4;                                   \
        KT *kans[8] = {&p->v_key, &p->v_val, &p->l_key, &p->l_val,                       \
                       &p->gate_v1, &p->gate_v2, &p->gate_l1, &p->gate_l2};             \
        size_t ins[8] = {C, C, ca, ca, C, H, C, H}, outs[8] = {C, C, C, C, H, C, H, C};  \
        void *base = buf_d ? (void *)buf_d : (void *)buf_f;                              \
        size_t es = buf_d ? sizeof(double) : sizeof(float);                              \
        p->ln_v_weight = (void *)((char *)base + n * es); n += C;                        \
        p->ln_v_bias = (void *)((char *)base + n * es); n += C;                          \
        p->ln_l_weight = (void *)((char *)base + n * es); n += ca;                       \
        p->ln_l_bias = (void *)((char *)base + n * es); n += ca;                         \
        for (int k = 0; k < (d->kgate ? 8 : 4); k++) {                                   \
            size_t io = ins[k] * outs[k];                                                \
            kans[k]->base_weight = (void *)((char *)base + n * es); n += io;             \
            kans[k]->spline_weight = (void *)((char *)base + n * es); n += 8 * io;       \
            kans[k]->spline_scaler = (void *)((char *)base + n * es); n += io;           \
        }                                                                                \
        p->out_weight = (void *)((char *)base + n * es); n += 2 * C * C;                 \
        p->out_bias = (void *)((char *)base + n * es); n += C;                           \
        return n;                                                                        \
    }
BCAM_CARVE(carve_f64, bcam_params_f64, kan_linear_params_f64)
BCAM_CARVE(carve_f32, bcam_params, kan_linear_params)

typedef struct bcam_ctx {
    bcam_dims d;
    double *x, *La, *R, *params, *acts, *scratch, grid[KAN_NKNOTS];
    int32_t *m;
    bcam_params_f64 p;
    bcam_acts_f64 a;
} bcam_ctx;

static double bcam_loss(void *pc)
{
    bcam_ctx *c = pc;
    bcam_forward_f64(&c->a, c->x, c->La, c->m, &c->p, c->grid, &c->d, c->scratch);
    return test_dot(c->a.out, c->R, (size_t)c->d.B * c->d.C * c->d.P);
}

static void bcam_check(int kgate)
{
    bcam_ctx c = {.d = {.B = 2, .P = 6, .N = 5, .C = 8, .ca = 6, .kgate = kgate}};
    const bcam_dims *d = &c.d;
    size_t nx = (size_t)d->B * d->C * d->P, nl = (size_t)d->B * d->N * d->ca;
    bcam_params_f64 tmp;
    size_t np = carve_f64(&tmp, (double[1]){0}, NULL, d);
    c.params = malloc(np * sizeof(double));
    carve_f64(&c.p, c.params, NULL, d);
    c.x = malloc(nx * sizeof(double)); c.R = malloc(nx * sizeof(double));
    c.La = malloc(nl * sizeof(double));
    c.acts = malloc(bcam_act_floats_f64(d) * sizeof(double));
    c.scratch = malloc(bcam_scratch_floats_f64(d) * sizeof(double));
    bcam_acts_carve_f64(&c.a, c.acts, d);
    int32_t m[2 * 5] = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
    c.m = m;
    for (int k = 0; k < KAN_NKNOTS; k++)
        c.grid[k] = kan_default_grid[k];
    for (size_t i = 0; i < nx; i++) { c.x[i] = uniform(-2, 2); c.R[i] = uniform(-1, 1); }
    for (size_t i = 0; i < nl; i++) c.La[i] = uniform(-2, 2);
    /* LN γ near 1, the spline weights large enough to matter, the rest at ±0.5 */
    for (size_t i = 0; i < np; i++) c.params[i] = uniform(-0.5, 0.5);
    for (int i = 0; i < d->C; i++) c.p.ln_v_weight[i] += 1.0;
    for (int i = 0; i < d->ca; i++) c.p.ln_l_weight[i] += 1.0;

    double *g = calloc(np, sizeof(double)), *dx = calloc(nx, sizeof(double)), *dLa = calloc(nl, sizeof(double));
    bcam_params_f64 gp;
    carve_f64(&gp, g, NULL, d);
    bcam_loss(&c);
    bcam_backward_f64(dx, dLa, &gp, c.R, &c.a, c.x, c.La, c.m, &c.p, c.grid, d, c.scratch);
    double wx = fd_worst(bcam_loss, &c, c.x, nx, dx);
    double wl = fd_worst(bcam_loss, &c, c.La, nl, dLa);
    double wp = fd_worst(bcam_loss, &c, c.params, np, g);
    fprintf(stderr, "  BCAM%s f64 FD worst: dx %.3g dLa %.3g dparams %.3g (%zu params)\n",
            kgate ? "+K-Gate" : "", wx, wl, wp, np);
    CHECK(wx < 1e-6 && wl < 1e-6 && wp < 1e-6);

    /* the float module (fast KAN, sgemm linear) against the double composition */
    float *xf = float_copy(c.x, nx), *Lf = float_copy(c.La, nl), *Rf = float_copy(c.R, nx);
    float *pf = float_copy(c.params, np), *gf = calloc(np, sizeof(float));
    float *dxf = calloc(nx, sizeof(float)), *dLf = calloc(nl, sizeof(float));
    float *af = malloc(bcam_act_floats(d) * sizeof(float)), *sf = malloc(bcam_scratch_floats(d) * sizeof(float));
    bcam_params P, G;
    bcam_acts A;
    carve_f32(&P, NULL, pf, d);
    carve_f32(&G, NULL, gf, d);
    bcam_acts_carve(&A, af, d);
    bcam_forward(&A, xf, Lf, c.m, &P, kan_default_grid, d, sf);
    bcam_backward(dxf, dLf, &G, Rf, &A, xf, Lf, c.m, &P, kan_default_grid, d, sf);
    bcam_loss(&c);
    double fo = max_err_f32(A.out, c.a.out, nx), so = max_abs_f64(c.a.out, nx), rp = rel_err_f32(gf, g, np);
    fprintf(stderr, "  float vs double: out max err %.3g (scale %.3g), param grad rel %.3g\n", fo, so, rp);
    CHECK(fo <= 1e-5 * so);
    CHECK(rp < 1e-4);
    free(xf); free(Lf); free(Rf); free(pf); free(gf); free(dxf); free(dLf); free(af); free(sf);
    free(g); free(dx); free(dLa);
    free(c.params); free(c.x); free(c.R); free(c.La); free(c.acts); free(c.scratch);
}

static void bcam_matches_finite_differences_and_float(void) { bcam_check(0); }
static void bcam_kgate_matches_finite_differences_and_float(void) { bcam_check(1); }

int main(void)
{
    RUN_TEST(softmax_both_axes_match_finite_differences);
    RUN_TEST(matmul_batched_matches_finite_differences);
    RUN_TEST(bcam_matches_finite_differences_and_float);
    RUN_TEST(bcam_kgate_matches_finite_differences_and_float);
    return test_summary();
}
