/* model/cacl: CaCL / HardCL targets and gradients (double finite differences), and the
 * known values of the InfoNCE in closed-form cases. The golden-dump parity is in
 * tests/io/test_parity_fusion.c. */
#include "model/cacl.h"
#include "tests/support/check.h"
#include "tests/support/gradcheck.h"

#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static double uniform(double lo, double hi) { return test_uniform(&rng_state, lo, hi); }

enum { B = 6, D = 5, DP = 7 };

static void targets_are_distributions_with_a_fixed_diagonal_share(void)
{
    double pooled[B * DP], Y[B * B], M[B * B], Mp[B * B], Yh[B * B];
    for (int n = 0; n < B * DP; n++)
        pooled[n] = uniform(-1, 1);
    cacl_targets_f64(Y, M, Mp, Yh, pooled, B, DP, CACL_TAU, CACL_RHO);
    for (int i = 0; i < B; i++) {
        double sy = 0, sh = 0, mu = 0;
        for (int j = 0; j < B; j++) {
            sy += Y[i * B + j];
            sh += Yh[i * B + j];
            mu += M[i * B + j] / B;
            CHECK(Mp[i * B + j] >= 0);
        }
        CHECK_NEAR(M[i * B + i], 1.0, 1e-12);   /* unit vectors */
        CHECK_NEAR(sy, 1.0, 1e-12);
        CHECK_NEAR(sh, 1.0, 1e-12);
        CHECK_NEAR(Mp[i * B + i], 1.0 - mu, 1e-12);
        CHECK(Y[i * B + i] >= 1.0 - CACL_RHO);
    }
}

static void hardcl_of_orthonormal_pairs_is_the_textbook_value(void)
{
    /* v_i = l_i = e_i (B = D): s = I/τ, each row's log-softmax at the diagonal is
     * 1/τ − log(e^{1/τ} + (B−1)), and both directions are equal. */
    enum { K = 4 };
    double v[K * K] = {0}, s[K * K], vn[K * K], ln[K * K], a, b;
    for (int i = 0; i < K; i++)
        v[i * K + i] = 3.0;   /* any norm: the loss normalises */
    double L = contrastive_forward_f64(&a, &b, s, vn, ln, v, v, NULL, K, K, CACL_TAU);
    double expect = -(1 / CACL_TAU - log(exp(1 / CACL_TAU) + (K - 1)));
    CHECK_NEAR(L, expect, 1e-12);
    CHECK_NEAR(a, b, 1e-15);
}

typedef struct cacl_loss_ctx {
    const double *vr, *lr, *Y;   /* [B,D], [B,D], targets [B,B] or NULL (HardCL) */
} cacl_loss_ctx;

static double cacl_loss(void *ctx)
{
    const cacl_loss_ctx *c = ctx;
    double s[B * B], v[B * D], l[B * D];
    return contrastive_forward_f64(NULL, NULL, s, v, l, c->vr, c->lr, c->Y, B, D, CACL_TAU);
}

static void gradients_match_finite_differences_f64(void)
{
    double vr[B * D], lr[B * D], pooled[B * DP], Y[B * B], M[B * B], Mp[B * B], Yh[B * B];
    for (int n = 0; n < B * D; n++) {
        vr[n] = uniform(-1, 1);
        lr[n] = uniform(-1, 1);
    }
    for (int n = 0; n < B * DP; n++)
        pooled[n] = uniform(-1, 1);
    cacl_targets_f64(Y, M, Mp, Yh, pooled, B, DP, CACL_TAU, CACL_RHO);
    for (int hard = 0; hard < 2; hard++) {
        const double *T = hard ? NULL : Y;
        double s[B * B], v[B * D], l[B * D], dv[B * D] = {0}, dl[B * D] = {0};
        double *scratch = malloc(contrastive_scratch_floats_f64(B, D) * sizeof(double));
        contrastive_forward_f64(NULL, NULL, s, v, l, vr, lr, T, B, D, CACL_TAU);
        contrastive_backward_f64(dv, dl, 1.0, s, v, l, vr, lr, T, B, D, CACL_TAU, scratch);
        cacl_loss_ctx c = {vr, lr, T};
        double worst = fmax(fd_worst(cacl_loss, &c, vr, B * D, dv), fd_worst(cacl_loss, &c, lr, B * D, dl));
        fprintf(stderr, "  %s: worst FD error %.3g\n", hard ? "HardCL" : "CaCL", worst);
        CHECK(worst < 1e-7);
        free(scratch);
    }
}

static void float_matches_double(void)
{
    float vr[B * D], lr[B * D], s[B * B], v[B * D], l[B * D];
    double vd[B * D], ld[B * D], sd[B * B], vnd[B * D], lnd[B * D];
    for (int n = 0; n < B * D; n++) {
        vd[n] = vr[n] = (float)uniform(-1, 1);
        ld[n] = lr[n] = (float)uniform(-1, 1);
    }
    float Lf = contrastive_forward(NULL, NULL, s, v, l, vr, lr, NULL, B, D, (float)CACL_TAU);
    double Ld = contrastive_forward_f64(NULL, NULL, sd, vnd, lnd, vd, ld, NULL, B, D, (float)CACL_TAU);
    CHECK_NEAR(Lf, Ld, 1e-5 * fabs(Ld));
}

int main(void)
{
    RUN_TEST(targets_are_distributions_with_a_fixed_diagonal_share);
    RUN_TEST(hardcl_of_orthonormal_pairs_is_the_textbook_value);
    RUN_TEST(gradients_match_finite_differences_f64);
    RUN_TEST(float_matches_double);
    return test_summary();
}
