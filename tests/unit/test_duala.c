/* model/duala: the DualA fusion against double-precision central differences (every
 * input, La and parameter entry), the padding rule (a pad token changes nothing), and
 * the float module (sgemm kernels) against its double composition. */
#include "model/fusion.h"
#include "tests/support/check.h"
#include "tests/support/gradcheck.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static double uniform(double lo, double hi) { return test_uniform(&rng_state, lo, hi); }

/* Points the 14 parameter tensors into buf in state-dict order; returns the count. */
#define DUALA_CARVE(name, T, R)                                                         \
    static size_t name(T *p, R *buf, const bcam_dims *d)                                 \
    {                                                                                    \
        size_t n = 0, C = d->C, ca = d->ca;                                              \
        R *q = buf;                                                                      \
        p->ln_v_weight = q + n; n += C;  p->ln_v_bias = q + n; n += C;                   \
        p->ln_l_weight = q + n; n += ca; p->ln_l_bias = q + n; n += ca;                  \
        p->l_proj_weight = q + n; n += C * ca; p->l_proj_bias = q + n; n += C;           \
        p->q_weight = q + n; n += C * C; p->q_bias = q + n; n += C;                      \
        p->k_weight = q + n; n += C * C; p->k_bias = q + n; n += C;                      \
        p->v_weight = q + n; n += C * C; p->v_bias = q + n; n += C;                      \
        p->out_weight = q + n; n += C * C; p->out_bias = q + n; n += C;                  \
        return n;                                                                        \
    }
DUALA_CARVE(carve_f64, duala_params_f64, double)
DUALA_CARVE(carve_f32, duala_params, float)

typedef struct duala_ctx {
    bcam_dims d;
    double *x, *La, *R, *params, *acts;
    int32_t *m;
    duala_params_f64 p;
    duala_acts_f64 a;
} duala_ctx;

/* L = Σ out ⊙ R (random weights). */
static double duala_loss(void *ctx)
{
    duala_ctx *c = ctx;
    duala_forward_f64(&c->a, c->x, c->La, c->m, &c->p, &c->d);
    return test_dot(c->a.out, c->R, (size_t)c->d.B * c->d.C * c->d.P);
}

static void duala_matches_finite_differences_and_float(void)
{
    duala_ctx c = {.d = {.B = 2, .P = 6, .N = 5, .C = 8, .ca = 6, .kgate = 0}};
    const bcam_dims *d = &c.d;
    size_t nx = (size_t)d->B * d->C * d->P, nl = (size_t)d->B * d->N * d->ca;
    size_t np = (size_t)2 * d->C + 2 * d->ca + (size_t)d->C * d->ca + d->C + 4 * ((size_t)d->C * d->C + d->C);
    c.params = malloc(np * sizeof(double));
    CHECK(carve_f64(&c.p, c.params, d) == np);
    c.x = malloc(nx * sizeof(double));
    c.R = malloc(nx * sizeof(double));
    c.La = malloc(nl * sizeof(double));
    c.acts = malloc(duala_act_floats_f64(d) * sizeof(double));
    double *scratch = malloc(duala_scratch_floats_f64(d) * sizeof(double));
    duala_acts_carve_f64(&c.a, c.acts, d);
    int32_t m[2 * 5] = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
    c.m = m;
    for (size_t i = 0; i < nx; i++) { c.x[i] = uniform(-2, 2); c.R[i] = uniform(-1, 1); }
    for (size_t i = 0; i < nl; i++) c.La[i] = uniform(-2, 2);
    /* weights at ±0.7 so both softmaxes are far from uniform; LN γ near 1 */
    for (size_t i = 0; i < np; i++) c.params[i] = uniform(-0.7, 0.7);
    for (int i = 0; i < d->C; i++) c.p.ln_v_weight[i] += 1.0;
    for (int i = 0; i < d->ca; i++) c.p.ln_l_weight[i] += 1.0;

    /* gradients start non-zero: backward must add, not overwrite */
    double *g = malloc(np * sizeof(double)), *dx = malloc(nx * sizeof(double)), *dLa = malloc(nl * sizeof(double));
    for (size_t i = 0; i < np; i++) g[i] = 0.25;
    for (size_t i = 0; i < nx; i++) dx[i] = 0.25;
    for (size_t i = 0; i < nl; i++) dLa[i] = 0.25;
    duala_params_f64 gp;
    carve_f64(&gp, g, d);
    duala_loss(&c);
    duala_backward_f64(dx, dLa, &gp, c.R, &c.a, c.La, &c.p, d, scratch);
    for (size_t i = 0; i < np; i++) g[i] -= 0.25;
    for (size_t i = 0; i < nx; i++) dx[i] -= 0.25;
    for (size_t i = 0; i < nl; i++) dLa[i] -= 0.25;
    double wx = fd_worst(duala_loss, &c, c.x, nx, dx), wl = fd_worst(duala_loss, &c, c.La, nl, dLa),
           wp = fd_worst(duala_loss, &c, c.params, np, g);
    fprintf(stderr, "  DualA f64 FD worst: dx %.3g dLa %.3g dparams %.3g (%zu params)\n", wx, wl, wp, np);
    CHECK(wx < 1e-7 && wl < 1e-7 && wp < 1e-7);
    /* a padding token is invisible to the pixels: no probability, no gradient into it */
    for (int p = 0; p < d->P; p++)
        CHECK(c.a.Sv[p * d->N + 3] == 0.0 && c.a.Sv[p * d->N + 4] == 0.0);
    double pad = 0;
    for (int j = 3 * d->ca; j < 5 * d->ca; j++)
        pad = fmax(pad, fabs(dLa[j]));
    CHECK(pad == 0.0);

    /* float (sgemm) module against the double composition */
    float *xf = float_copy(c.x, nx), *Lf = float_copy(c.La, nl), *Rf = float_copy(c.R, nx);
    float *pf = float_copy(c.params, np), *gf = calloc(np, sizeof(float));
    float *dxf = calloc(nx, sizeof(float)), *dLf = calloc(nl, sizeof(float));
    float *af = malloc(duala_act_floats(d) * sizeof(float)), *sf = malloc(duala_scratch_floats(d) * sizeof(float));
    duala_params P, G;
    duala_acts A;
    carve_f32(&P, pf, d);
    carve_f32(&G, gf, d);
    duala_acts_carve(&A, af, d);
    duala_forward(&A, xf, Lf, c.m, &P, d);
    duala_backward(dxf, dLf, &G, Rf, &A, Lf, &P, d, sf);
    duala_loss(&c);
    double fo = max_err_f32(A.out, c.a.out, nx), so = max_abs_f64(c.a.out, nx);
    double rx = rel_err_f32(dxf, dx, nx), rp = rel_err_f32(gf, g, np);
    fprintf(stderr, "  float vs double: out max err %.3g (scale %.3g), dx rel %.3g, param grad rel %.3g\n", fo,
            so, rx, rp);
    CHECK(fo <= 1e-5 * so);
    CHECK(rx < 1e-5 && rp < 1e-5);
    free(xf); free(Lf); free(Rf); free(pf); free(gf); free(dxf); free(dLf); free(af); free(sf);
    free(g); free(dx); free(dLa); free(scratch);
    free(c.params); free(c.x); free(c.R); free(c.La); free(c.acts);
}

int main(void)
{
    RUN_TEST(duala_matches_finite_differences_and_float);
    return test_summary();
}
