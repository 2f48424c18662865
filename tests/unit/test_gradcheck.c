/* Finite-difference gradient checks, in double, of every engine layer and loss
 * (model/layers.h, the _f64 twins). For a layer y = f(x, params) and fixed random
 * weights w, L = sum w*y; backward(dout = w) must equal the central difference
 * (L(x+h) - L(x-h)) / 2h for every element of every input and parameter.
 *
 * Tolerance: ||analytic - numeric|| / max(||numeric||, 1e-8) <= 1e-6 per tensor, with
 * h = 1e-5. In double the truncation error is O(h^2 * f''') ~ 1e-10 and the rounding error
 * O(eps / h) ~ 1e-11, so 1e-6 leaves a wide margin while any wrong term (a missing
 * factor, a wrong index) shows up as O(1). Kinks are avoided: ReLU inputs are kept at
 * |x| >= 0.05, max-pool windows hold values at least 0.01 apart. Backward accumulation
 * (+=) is checked too: every gradient starts at a non-zero value that is subtracted. */
#include "model/layers.h"
#include "tests/support/check.h"

#include <stdlib.h>
#include <string.h>

#define GC_MAX 6
#define GC_H 1e-5
#define GC_TOL 1e-6

typedef struct gc gc;
struct gc {
    const char *name;
    int nt;                  /* tensors checked */
    double *t[GC_MAX];       /* inputs and parameters */
    double *g[GC_MAX];       /* their gradients */
    size_t n[GC_MAX];        /* their sizes */
    size_t n_out;
    int d[8];                /* dimensions, per layer */
    void (*forward)(gc *c, double *out);
    void (*backward)(gc *c, const double *dout);
};

static unsigned long long rng_state = 88172645463325252ULL;

static double rnd(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 4503599627370496.0 - 1.0;
}

static double *rand_vec(size_t n, double lo_abs)
{
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        double r = rnd();
        v[i] = r >= 0 ? r + lo_abs : r - lo_abs;
    }
    return v;
}

static void gc_add(gc *c, size_t n, double lo_abs)
{
    c->t[c->nt] = rand_vec(n, lo_abs);
    c->g[c->nt] = malloc(n * sizeof(double));
    c->n[c->nt] = n;
    c->nt++;
}

static double weighted_sum(gc *c, const double *w, double *out)
{
    c->forward(c, out);
    double s = 0.0;
    for (size_t i = 0; i < c->n_out; i++)
        s += w[i] * out[i];
    return s;
}

static void gc_run(gc *c)
{
    double *out = malloc(c->n_out * sizeof *out), *w = rand_vec(c->n_out, 0.0);
    double *start[GC_MAX];
    for (int k = 0; k < c->nt; k++) {
        start[k] = rand_vec(c->n[k], 0.0);
        memcpy(c->g[k], start[k], c->n[k] * sizeof(double));
    }
    c->forward(c, out);
    c->backward(c, w);
    for (int k = 0; k < c->nt; k++) {
        double num2 = 0.0, err2 = 0.0;
        for (size_t i = 0; i < c->n[k]; i++) {
            double keep = c->t[k][i];
            c->t[k][i] = keep + GC_H;
            double lp = weighted_sum(c, w, out);
            c->t[k][i] = keep - GC_H;
            double lm = weighted_sum(c, w, out);
            c->t[k][i] = keep;
            double num = (lp - lm) / (2 * GC_H), ana = c->g[k][i] - start[k][i];
            num2 += num * num;
            err2 += (ana - num) * (ana - num);
        }
        double rel = sqrt(err2) / fmax(sqrt(num2), 1e-8);
        CHECK_MSG(rel <= GC_TOL, "%s tensor %d: relative error %.3g", c->name, k, rel);
    }
    for (int k = 0; k < c->nt; k++) {
        free(start[k]);
        free(c->t[k]);
        free(c->g[k]);
    }
    free(out);
    free(w);
}

/* ---- convolutions: t = inp, weight, bias; d = B, C, H, W, OC, K, stride ---- */

static void conv_fwd(gc *c, double *out)
{
    conv2d_forward_reference_f64(out, c->t[0], c->t[1], c->t[2], c->d[0], c->d[1], c->d[2],
                                 c->d[3], c->d[4], c->d[5], c->d[6]);
}

static void conv_bwd(gc *c, const double *dout)
{
    conv2d_backward_reference_f64(c->g[0], c->g[1], c->g[2], dout, c->t[0], c->t[1], c->d[0],
                                  c->d[1], c->d[2], c->d[3], c->d[4], c->d[5], c->d[6]);
}

static void check_conv(int K, int stride)
{
    int B = 2, C = 3, H = 5, W = 6, OC = 4;
    gc c = {.name = "conv2d", .d = {B, C, H, W, OC, K, stride}, .forward = conv_fwd,
            .backward = conv_bwd};
    c.n_out = (size_t)B * OC * conv2d_out_size(H, K, stride) * conv2d_out_size(W, K, stride);
    gc_add(&c, (size_t)B * C * H * W, 0);
    gc_add(&c, (size_t)OC * C * K * K, 0);
    gc_add(&c, OC, 0);
    gc_run(&c);
}

static void gradcheck_conv2d_3x3_stride1(void) { check_conv(3, 1); }
static void gradcheck_conv2d_3x3_stride2(void) { check_conv(3, 2); }
static void gradcheck_conv2d_1x1(void) { check_conv(1, 1); }

static void dw_fwd(gc *c, double *out)
{
    dwconv3_forward_f64(out, c->t[0], c->t[1], c->t[2], c->d[0], c->d[1], c->d[2], c->d[3]);
}

static void dw_bwd(gc *c, const double *dout)
{
    dwconv3_backward_f64(c->g[0], c->g[1], c->g[2], dout, c->t[0], c->t[1], c->d[0], c->d[1],
                         c->d[2], c->d[3]);
}

static void gradcheck_dwconv3(void)
{
    int B = 2, C = 3, H = 4, W = 5;
    gc c = {.name = "dwconv3", .d = {B, C, H, W}, .forward = dw_fwd, .backward = dw_bwd};
    c.n_out = (size_t)B * C * H * W;
    gc_add(&c, c.n_out, 0);
    gc_add(&c, (size_t)C * 9, 0);
    gc_add(&c, C, 0);
    gc_run(&c);
}

/* ---- linear: d = M, C, OC ---- */

static void lin_fwd(gc *c, double *out)
{
    linear_forward_reference_f64(out, c->t[0], c->t[1], c->t[2], c->d[0], c->d[1], c->d[2]);
}

static void lin_bwd(gc *c, const double *dout)
{
    linear_backward_reference_f64(c->g[0], c->g[1], c->g[2], dout, c->t[0], c->t[1], c->d[0],
                                  c->d[1], c->d[2]);
}

static void gradcheck_linear(void)
{
    gc c = {.name = "linear", .d = {5, 4, 3}, .n_out = 15, .forward = lin_fwd,
            .backward = lin_bwd};
    gc_add(&c, 20, 0);
    gc_add(&c, 12, 0);
    gc_add(&c, 3, 0);
    gc_run(&c);
}

/* ---- norms: t = inp, gamma, beta; d = train, B, C, HW (BN) or M, C (LN) ---- */

static double bn_mean[8], bn_rstd[8], bn_rm[8], bn_rv[8];

static void bn_fwd(gc *c, double *out)
{
    for (int i = 0; i < 8; i++) {
        bn_rm[i] = 0.1 * i;
        bn_rv[i] = 1.0 + 0.2 * i;
    }
    batchnorm_forward_f64(out, bn_mean, bn_rstd, c->t[0], c->t[1], c->t[2], bn_rm, bn_rv, NULL,
                          c->d[0], c->d[1], c->d[2], c->d[3]);
}

static void bn_bwd(gc *c, const double *dout)
{
    batchnorm_backward_f64(c->g[0], c->g[1], c->g[2], dout, c->t[0], bn_mean, bn_rstd, c->t[1],
                           c->d[0], c->d[1], c->d[2], c->d[3]);
}

static void check_batchnorm(int train)
{
    int B = 3, C = 4, HW = 5;
    gc c = {.name = train ? "batchnorm train" : "batchnorm eval", .d = {train, B, C, HW},
            .n_out = (size_t)B * C * HW, .forward = bn_fwd, .backward = bn_bwd};
    gc_add(&c, c.n_out, 0);
    gc_add(&c, C, 0);
    gc_add(&c, C, 0);
    gc_run(&c);
}

static void gradcheck_batchnorm_train(void) { check_batchnorm(1); }
static void gradcheck_batchnorm_eval(void) { check_batchnorm(0); }

static double ln_mean[16], ln_rstd[16];

static void ln_fwd(gc *c, double *out)
{
    layernorm_forward_f64(out, ln_mean, ln_rstd, c->t[0], c->t[1], c->t[2], c->d[0], c->d[1]);
}

static void ln_bwd(gc *c, const double *dout)
{
    layernorm_backward_f64(c->g[0], c->g[1], c->g[2], dout, c->t[0], ln_mean, ln_rstd, c->t[1],
                           c->d[0], c->d[1]);
}

static void gradcheck_layernorm(void)
{
    gc c = {.name = "layernorm", .d = {6, 7}, .n_out = 42, .forward = ln_fwd,
            .backward = ln_bwd};
    gc_add(&c, 42, 0);
    gc_add(&c, 7, 0);
    gc_add(&c, 7, 0);
    gc_run(&c);
}

/* ---- activations: t = inp; d[0] = which ---- */

static void act_fwd(gc *c, double *out)
{
    size_t n = c->n_out;
    switch (c->d[0]) {
    case 0: relu_forward_f64(out, c->t[0], n); break;
    case 1: silu_forward_f64(out, c->t[0], n); break;
    case 2: tanh_forward_f64(out, c->t[0], n); break;
    default: sigmoid_forward_f64(out, c->t[0], n); break;
    }
}

static void act_bwd(gc *c, const double *dout)
{
    size_t n = c->n_out;
    double *y = malloc(n * sizeof *y);
    act_fwd(c, y);
    switch (c->d[0]) {
    case 0: relu_backward_f64(c->g[0], dout, c->t[0], n); break;
    case 1: silu_backward_f64(c->g[0], dout, c->t[0], n); break;
    case 2: tanh_backward_f64(c->g[0], dout, y, n); break;
    default: sigmoid_backward_f64(c->g[0], dout, y, n); break;
    }
    free(y);
}

static void gradcheck_activations(void)
{
    static const char *names[] = {"relu", "silu", "tanh", "sigmoid"};
    for (int which = 0; which < 4; which++) {
        gc c = {.name = names[which], .d = {which}, .n_out = 40, .forward = act_fwd,
                .backward = act_bwd};
        gc_add(&c, 40, 0.05); /* |x| >= 0.05: away from ReLU's kink */
        for (int i = 0; i < 40; i++)
            c.t[0][i] *= 3.0;
        gc_run(&c);
    }
}

/* ---- add, concat, transposes, pool, upsample: d = B, C, H, W (and Cb) ---- */

static void add_fwd(gc *c, double *out) { add_forward_f64(out, c->t[0], c->t[1], c->n_out); }
static void add_bwd(gc *c, const double *dout) { add_backward_f64(c->g[0], c->g[1], dout, c->n_out); }

static void gradcheck_add(void)
{
    gc c = {.name = "add", .n_out = 10, .forward = add_fwd, .backward = add_bwd};
    gc_add(&c, 10, 0);
    gc_add(&c, 10, 0);
    gc_run(&c);
}

static void cat_fwd(gc *c, double *out)
{
    concat_forward_f64(out, c->t[0], c->t[1], c->d[0], c->d[1], c->d[2], c->d[3]);
}

static void cat_bwd(gc *c, const double *dout)
{
    concat_backward_f64(c->g[0], c->g[1], dout, c->d[0], c->d[1], c->d[2], c->d[3]);
}

static void gradcheck_concat(void)
{
    gc c = {.name = "concat", .d = {2, 2, 3, 4}, .n_out = 2 * 5 * 4, .forward = cat_fwd,
            .backward = cat_bwd};
    gc_add(&c, 2 * 2 * 4, 0);
    gc_add(&c, 2 * 3 * 4, 0);
    gc_run(&c);
}

static void m2t_fwd(gc *c, double *out)
{
    if (c->d[3])
        tokens_to_map_forward_f64(out, c->t[0], c->d[0], c->d[1], c->d[2]);
    else
        map_to_tokens_forward_f64(out, c->t[0], c->d[0], c->d[1], c->d[2]);
}

static void m2t_bwd(gc *c, const double *dout)
{
    if (c->d[3])
        tokens_to_map_backward_f64(c->g[0], dout, c->d[0], c->d[1], c->d[2]);
    else
        map_to_tokens_backward_f64(c->g[0], dout, c->d[0], c->d[1], c->d[2]);
}

static void gradcheck_transposes(void)
{
    for (int dir = 0; dir < 2; dir++) {
        gc c = {.name = dir ? "tokens_to_map" : "map_to_tokens", .d = {2, 3, 5, dir},
                .n_out = 30, .forward = m2t_fwd, .backward = m2t_bwd};
        gc_add(&c, 30, 0);
        gc_run(&c);
    }
}

static void pool_fwd(gc *c, double *out)
{
    maxpool2_forward_f64(out, c->t[0], c->d[0], c->d[1], c->d[2], c->d[3]);
}

static void pool_bwd(gc *c, const double *dout)
{
    maxpool2_backward_f64(c->g[0], dout, c->t[0], c->d[0], c->d[1], c->d[2], c->d[3]);
}

static void gradcheck_maxpool2(void)
{
    int B = 2, C = 2, H = 4, W = 6;
    size_t n = (size_t)B * C * H * W;
    gc c = {.name = "maxpool2", .d = {B, C, H, W}, .n_out = n / 4, .forward = pool_fwd,
            .backward = pool_bwd};
    gc_add(&c, n, 0);
    /* distinct values 0.01 apart in a scrambled order: no ties within h of each other */
    for (size_t i = 0; i < n; i++)
        c.t[0][i] = 0.01 * (double)((i * 37) % n);
    gc_run(&c);
}

static void up_fwd(gc *c, double *out)
{
    upsample2_forward_f64(out, c->t[0], c->d[0], c->d[1], c->d[2], c->d[3]);
}

static void up_bwd(gc *c, const double *dout)
{
    upsample2_backward_f64(c->g[0], dout, c->d[0], c->d[1], c->d[2], c->d[3]);
}

static void gradcheck_upsample2(void)
{
    int B = 2, C = 2, H = 3, W = 4;
    gc c = {.name = "upsample2", .d = {B, C, H, W}, .n_out = (size_t)B * C * 4 * H * W,
            .forward = up_fwd, .backward = up_bwd};
    gc_add(&c, (size_t)B * C * H * W, 0);
    gc_run(&c);
}

/* ---- losses: t = logits (gt fixed in d-free globals); scalar output ---- */

static double loss_gt[2 * 12];

static void loss_fwd(gc *c, double *out)
{
    out[0] = c->d[0] ? dice_forward_f64(c->t[0], loss_gt, 2, 12)
                     : bce_forward_f64(c->t[0], loss_gt, 24);
}

static void loss_bwd(gc *c, const double *dout)
{
    if (c->d[0])
        dice_backward_f64(c->g[0], c->t[0], loss_gt, 2, 12, dout[0]);
    else
        bce_backward_f64(c->g[0], c->t[0], loss_gt, 24, dout[0]);
}

static void gradcheck_losses(void)
{
    for (int i = 0; i < 24; i++)
        loss_gt[i] = (i % 3 == 0) ? 1.0 : 0.0;
    for (int which = 0; which < 2; which++) {
        gc c = {.name = which ? "dice" : "bce", .d = {which}, .n_out = 1, .forward = loss_fwd,
                .backward = loss_bwd};
        gc_add(&c, 24, 0);
        for (int i = 0; i < 24; i++)
            c.t[0][i] *= 4.0;
        gc_run(&c);
    }
}

int main(void)
{
    RUN_TEST(gradcheck_conv2d_3x3_stride1);
    RUN_TEST(gradcheck_conv2d_3x3_stride2);
    RUN_TEST(gradcheck_conv2d_1x1);
    RUN_TEST(gradcheck_dwconv3);
    RUN_TEST(gradcheck_linear);
    RUN_TEST(gradcheck_batchnorm_train);
    RUN_TEST(gradcheck_batchnorm_eval);
    RUN_TEST(gradcheck_layernorm);
    RUN_TEST(gradcheck_activations);
    RUN_TEST(gradcheck_add);
    RUN_TEST(gradcheck_concat);
    RUN_TEST(gradcheck_transposes);
    RUN_TEST(gradcheck_maxpool2);
    RUN_TEST(gradcheck_upsample2);
    RUN_TEST(gradcheck_losses);
    return test_summary();
}
