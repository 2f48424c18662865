/* model/layers: the fast kernels (im2col + sgemm convolution, sgemm linear) against
 * their plain-loop twins, forward and backward (with accumulation into non-zero
 * gradients), and hand-computed values for the layers whose semantics are easy to get
 * subtly wrong (bilinear align_corners = False, BN's unbiased running variance,
 * max-pool ties, the token transposes), the eval forward's one-pass fusions against their
 * separate passes (bit for bit), plus the arena.
 *
 * Fast vs simple tolerance: max |fast - simple| <= 1e-5 * max |simple| per tensor; both
 * are float with different summation orders over K <= 3*3*40 = 360 terms, where the
 * expected difference is ~1e-7 relative. */
#define _GNU_SOURCE /* mincore */
#include "model/arena.h"
#include "model/layers.h"
#include "model/threads.h"
#include "tests/support/check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static unsigned rng = 12345u;

static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

static float *rand_floats(size_t n)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = frand();
    return v;
}

static float *copy_floats(const float *src, size_t n)
{
    float *v = malloc(n * sizeof *v);
    memcpy(v, src, n * sizeof *v);
    return v;
}

static double max_abs(const float *a, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

static void check_close(const char *what, const float *fast, const float *simple, size_t n)
{
    double err = 0.0, scale = max_abs(simple, n);
    for (size_t i = 0; i < n; i++)
        err = fmax(err, fabs((double)fast[i] - simple[i]));
    CHECK_MSG(err <= 1e-5 * scale, "%s: max error %.3g, max |simple| %.3g", what, err, scale);
}

static double *to_f64(const float *a, size_t n)
{
    double *d = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        d[i] = a[i];
    return d;
}

static float *to_f32(const double *a, size_t n)
{
    float *f = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        f[i] = (float)a[i];
    return f;
}

/* The fast float kernels against the plain loops in double (a float reference would carry
 * its own rounding: its bias gradient sums thousands of terms in float). */
static void compare_conv(int B, int C, int H, int W, int OC, int K, int stride)
{
    int Ho = conv2d_out_size(H, K, stride), Wo = conv2d_out_size(W, K, stride);
    size_t ni = (size_t)B * C * H * W, nw = (size_t)OC * C * K * K, no = (size_t)B * OC * Ho * Wo;
    float *x = rand_floats(ni), *w = rand_floats(nw), *b = rand_floats(OC), *dy = rand_floats(no);
    double *xd = to_f64(x, ni), *wd = to_f64(w, nw), *bd = to_f64(b, OC), *dyd = to_f64(dy, no);
    float *scratch = malloc((conv2d_scratch_floats(C, H, W, K, stride) + 1) * sizeof(float));
    float *y1 = malloc(no * sizeof(float));
    double *y2d = malloc(no * sizeof(double));
    conv2d_forward(y1, scratch, x, w, b, B, C, H, W, OC, K, stride);
    conv2d_forward_reference_f64(y2d, xd, wd, bd, B, C, H, W, OC, K, stride);
    float *y2 = to_f32(y2d, no);
    check_close("conv2d forward", y1, y2, no);
    /* gradients start non-zero: backward must add to them */
    float *dx1 = rand_floats(ni), *dw1 = rand_floats(nw), *db1 = rand_floats(OC);
    double *dx2d = to_f64(dx1, ni), *dw2d = to_f64(dw1, nw), *db2d = to_f64(db1, OC);
    conv2d_backward(dx1, dw1, db1, scratch, dy, x, w, B, C, H, W, OC, K, stride);
    conv2d_backward_reference_f64(dx2d, dw2d, db2d, dyd, xd, wd, B, C, H, W, OC, K, stride);
    float *dx2 = to_f32(dx2d, ni), *dw2 = to_f32(dw2d, nw), *db2 = to_f32(db2d, OC);
    check_close("conv2d dinp", dx1, dx2, ni);
    check_close("conv2d dweight", dw1, dw2, nw);
    check_close("conv2d dbias", db1, db2, OC);
    free(x), free(w), free(b), free(dy), free(scratch), free(y1), free(y2), free(y2d);
    free(xd), free(wd), free(bd), free(dyd), free(dx2d), free(dw2d), free(db2d);
    free(dx1), free(dw1), free(db1), free(dx2), free(dw2), free(db2);
}

static void conv2d_fast_matches_reference(void)
{
    compare_conv(2, 3, 9, 7, 5, 3, 1);
    compare_conv(2, 40, 8, 8, 6, 3, 1);
    compare_conv(3, 4, 9, 10, 6, 3, 2); /* odd side: the last row has one tap in the pad */
    compare_conv(2, 6, 5, 4, 3, 1, 1);
    compare_conv(1, 1, 16, 16, 2, 3, 1); /* enc1.conv1: one input channel */
    /* maps of >= 2048 pixels run in bands (one per thread, cut mid-row here), and
     * bigger maps with odd sides and strides: 1, 2, 3 threads */
    for (int t = 1; t <= 3; t++) {
        threads_init(t);
        compare_conv(2, 3, 67, 45, 5, 3, 1);
        compare_conv(2, 4, 97, 90, 6, 3, 2);
        compare_conv(1, 2, 70, 61, 3, 3, 1);
        compare_conv(1, 2, 150, 130, 3, 3, 2);
        /* the direct 3x3 path (AVX2 builds: OC a multiple of 8, at most 32, >= 1024 pixels):
         * a row tail of 5 pixels, rows of whole 8-pixel blocks, one input channel, OC 32 */
        compare_conv(2, 3, 67, 45, 8, 3, 1);
        compare_conv(1, 5, 48, 48, 16, 3, 1);
        compare_conv(2, 1, 64, 64, 8, 3, 1);
        compare_conv(1, 2, 40, 70, 32, 3, 1);
        /* the direct input gradient (AVX2 builds: C a multiple of 8, C and OC at most 32,
         * >= 1024 pixels): a row tail, C 16 into OC 8, C 32; OC 64 stays on sgemm + col2im */
        compare_conv(2, 8, 40, 33, 16, 3, 1);
        compare_conv(1, 16, 32, 32, 8, 3, 1);
        compare_conv(1, 32, 34, 31, 24, 3, 1);
        compare_conv(1, 16, 32, 40, 64, 3, 1);
        /* maps under 2048 pixels: whole images in parallel, one scratch slot per thread */
        compare_conv(5, 4, 20, 17, 6, 3, 1);
        compare_conv(6, 3, 21, 19, 7, 3, 2);
    }
    threads_init(0);
}

/* The forward of a layer on the direct path, and of a small map whose images run in
 * parallel, gives the same bits for 1, 2 and 3 threads. */
static void conv_thread_case(int B, int C, int H, int W, int OC)
{
    size_t no = (size_t)B * OC * H * W;
    float *x = rand_floats((size_t)B * C * H * W), *w = rand_floats((size_t)OC * C * 9), *b = rand_floats(OC);
    float *scratch = malloc(conv2d_scratch_floats(C, H, W, 3, 1) * sizeof(float));
    float *y[3];
    for (int t = 1; t <= 3; t++) {
        threads_init(t);
        y[t - 1] = malloc(no * sizeof(float));
        conv2d_forward(y[t - 1], scratch, x, w, b, B, C, H, W, OC, 3, 1);
    }
    threads_init(0);
    CHECK(memcmp(y[0], y[1], no * sizeof(float)) == 0);
    CHECK(memcmp(y[0], y[2], no * sizeof(float)) == 0);
    free(x), free(w), free(b), free(scratch), free(y[0]), free(y[1]), free(y[2]);
}

static void conv2d_forward_is_thread_count_independent(void)
{
#if defined(__AVX2__) && defined(__FMA__)
    conv_thread_case(2, 6, 50, 53, 16);   /* the direct path (without AVX2 this map is banded,
                                             and the bands' cut depends on the count) */
#endif
    conv_thread_case(7, 5, 30, 29, 12);   /* images in parallel */
}

/* conv2d_forward_bn_relu against conv2d_forward, batchnorm_forward (eval) and relu_forward
 * run one after another: the same bits on every path (direct, bands, whole images, 1x1),
 * with and without a bias. Running statistics are drawn so that a good share of outputs is
 * negative (ReLU's side matters) and some exactly zero after BN would be rare. */
static void bn_relu_case(int B, int C, int H, int W, int OC, int K, int stride, int with_bias)
{
    int Ho = conv2d_out_size(H, K, stride), Wo = conv2d_out_size(W, K, stride), P = Ho * Wo;
    size_t no = (size_t)B * OC * P;
    float *x = rand_floats((size_t)B * C * H * W), *w = rand_floats((size_t)OC * C * K * K);
    float *b = with_bias ? rand_floats(OC) : NULL, *g = rand_floats(OC), *be = rand_floats(OC);
    float *rm = rand_floats(OC), *rv = rand_floats(OC), mean[64], rstd[64], m2[64], r2[64];
    for (int o = 0; o < OC; o++)
        rv[o] = 0.5f + rv[o] * rv[o];
    float *scratch = malloc((conv2d_scratch_floats(C, H, W, K, stride) + 1) * sizeof(float));
    float *y1 = malloc(no * sizeof(float)), *y2 = malloc(no * sizeof(float)), *t = malloc(no * sizeof(float));
    conv2d_forward(t, scratch, x, w, b, B, C, H, W, OC, K, stride);
    batchnorm_forward(y1, m2, r2, t, g, be, rm, rv, NULL, 0, B, OC, P);
    relu_forward(y1, y1, no);
    batchnorm_eval_stats(mean, rstd, rm, rv, OC);
    conv_bn_relu post = {mean, rstd, g, be};
    conv2d_forward_bn_relu(y2, scratch, x, w, b, &post, B, C, H, W, OC, K, stride);
    size_t differ = 0, zeros = 0;
    for (size_t i = 0; i < no; i++)
        differ += memcmp(&y1[i], &y2[i], sizeof(float)) != 0, zeros += y1[i] == 0;
    CHECK_MSG(differ == 0, "B%d C%d %dx%d OC%d K%d s%d bias %d: %zu of %zu outputs differ", B, C, H, W, OC, K, stride,
              with_bias, differ, no);
    CHECK(zeros > no / 10 && zeros < no);   /* both sides of the ReLU were exercised */
    CHECK(memcmp(mean, m2, OC * sizeof(float)) == 0 && memcmp(rstd, r2, OC * sizeof(float)) == 0);
    free(x), free(w), free(b), free(g), free(be), free(rm), free(rv), free(scratch), free(y1), free(y2), free(t);
}

static void conv2d_bn_relu_is_bit_identical_to_three_passes(void)
{
    for (int t = 1; t <= 2; t++) {
        threads_init(t);
        for (int with_bias = 0; with_bias <= 1; with_bias++) {
            bn_relu_case(2, 3, 67, 45, 8, 3, 1, with_bias);    /* direct (AVX2), row tails */
            bn_relu_case(1, 2, 40, 70, 32, 3, 1, with_bias);   /* direct, OC 32 */
            bn_relu_case(2, 3, 67, 45, 5, 3, 1, with_bias);    /* bands */
            bn_relu_case(5, 4, 20, 17, 6, 3, 1, with_bias);    /* whole images in parallel */
            bn_relu_case(3, 4, 9, 10, 6, 3, 2, with_bias);     /* stride 2 */
            bn_relu_case(2, 6, 5, 4, 3, 1, 1, with_bias);      /* 1x1 */
        }
    }
    threads_init(0);
}

/* dwconv3_bn_relu_tokens against tokens_to_map, dwconv3_forward, batchnorm_forward (eval),
 * relu_forward and map_to_tokens: the same bits, borders, 1-pixel sides and channel chunks. */
static void dw_tokens_case(int B, int C, int H, int W, int with_bias)
{
    size_t n = (size_t)B * C * H * W;
    int P = H * W;
    float *x = rand_floats(n), *w = rand_floats((size_t)C * 9), *b = with_bias ? rand_floats(C) : NULL;
    float *g = rand_floats(C), *be = rand_floats(C), *rm = rand_floats(C), *rv = rand_floats(C);
    float *mean = malloc(C * sizeof(float)), *rstd = malloc(C * sizeof(float));
    float *m2 = malloc(C * sizeof(float)), *r2 = malloc(C * sizeof(float));
    for (int c = 0; c < C; c++)
        rv[c] = 0.5f + rv[c] * rv[c];
    float *map = malloc(n * sizeof(float)), *dw = malloc(n * sizeof(float));
    float *y1 = malloc(n * sizeof(float)), *y2 = malloc(n * sizeof(float));
    tokens_to_map_forward(map, x, B, C, P);
    dwconv3_forward(dw, map, w, b, B, C, H, W);
    batchnorm_forward(dw, m2, r2, dw, g, be, rm, rv, NULL, 0, B, C, P);
    relu_forward(dw, dw, n);
    map_to_tokens_forward(y1, dw, B, C, P);
    batchnorm_eval_stats(mean, rstd, rm, rv, C);
    conv_bn_relu post = {mean, rstd, g, be};
    dwconv3_bn_relu_tokens(y2, x, w, b, &post, B, C, H, W);
    size_t differ = 0, zeros = 0;
    for (size_t i = 0; i < n; i++)
        differ += memcmp(&y1[i], &y2[i], sizeof(float)) != 0, zeros += y1[i] == 0;
    CHECK_MSG(differ == 0, "B%d C%d %dx%d bias %d: %zu of %zu outputs differ", B, C, H, W, with_bias, differ, n);
    CHECK(zeros > n / 10 && zeros < n);
    free(x), free(w), free(b), free(g), free(be), free(rm), free(rv), free(mean), free(rstd), free(m2), free(r2);
    free(map), free(dw), free(y1), free(y2);
}

static void dwconv3_bn_relu_tokens_is_bit_identical_to_five_passes(void)
{
    for (int t = 1; t <= 2; t++) {
        threads_init(t);
        for (int with_bias = 0; with_bias <= 1; with_bias++) {
            dw_tokens_case(2, 12, 7, 5, with_bias);
            dw_tokens_case(3, 64, 16, 16, with_bias);    /* parallel rows */
            dw_tokens_case(1, 300, 4, 3, with_bias);     /* channels in two chunks */
            dw_tokens_case(2, 9, 1, 6, with_bias);       /* one row: every tap row-clipped */
            dw_tokens_case(2, 9, 5, 1, with_bias);
        }
    }
    threads_init(0);
}

static void linear_case(int M, int C, int OC);

static void linear_fast_matches_reference(void)
{
    linear_case(37, 19, 11);
    for (int t = 1; t <= 3; t++) {   /* above 2 M multiply-adds the GEMMs are cut per thread */
        threads_init(t);
        linear_case(300, 150, 70);
    }
    threads_init(0);
}

static void linear_case(int M, int C, int OC)
{
    float *x = rand_floats((size_t)M * C), *w = rand_floats((size_t)OC * C), *b = rand_floats(OC);
    float *dy = rand_floats((size_t)M * OC);
    float *y1 = malloc((size_t)M * OC * sizeof(float)), *y2 = malloc((size_t)M * OC * sizeof(float));
    linear_forward(y1, x, w, b, M, C, OC);
    linear_forward_reference(y2, x, w, b, M, C, OC);
    check_close("linear forward", y1, y2, (size_t)M * OC);
    float *dx1 = rand_floats((size_t)M * C), *dw1 = rand_floats((size_t)OC * C), *db1 = rand_floats(OC);
    float *dx2 = copy_floats(dx1, (size_t)M * C), *dw2 = copy_floats(dw1, (size_t)OC * C);
    float *db2 = copy_floats(db1, OC);
    linear_backward(dx1, dw1, db1, dy, x, w, M, C, OC);
    linear_backward_reference(dx2, dw2, db2, dy, x, w, M, C, OC);
    check_close("linear dinp", dx1, dx2, (size_t)M * C);
    check_close("linear dweight", dw1, dw2, (size_t)OC * C);
    check_close("linear dbias", db1, db2, OC);
    free(x), free(w), free(b), free(dy), free(dx1), free(dw1), free(db1), free(dx2), free(dw2),
        free(db2), free(y1), free(y2);
}

/* torch: F.interpolate([[1,2],[3,4]], scale 2, bilinear, align_corners=False) */
static void upsample2_matches_torch_on_2x2(void)
{
    const float x[4] = {1, 2, 3, 4};
    const float want[16] = {1.0f, 1.25f, 1.75f, 2.0f, 1.5f, 1.75f, 2.25f, 2.5f,
                            2.5f, 2.75f, 3.25f, 3.5f, 3.0f, 3.25f, 3.75f, 4.0f};
    float y[16];
    upsample2_forward(y, x, 1, 1, 2, 2);
    for (int i = 0; i < 16; i++)
        CHECK_NEAR(y[i], want[i], 1e-7);
    /* backward of all-ones: each input receives 16/4 = 4 in total */
    float ones[16], dx[4] = {0};
    for (int i = 0; i < 16; i++)
        ones[i] = 1.0f;
    upsample2_backward(dx, ones, 1, 1, 2, 2);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(dx[i], 4.0, 1e-6);
}

/* x = 1,2,3,4 in one channel: mean 2.5, biased var 1.25, unbiased 5/3. */
/* Source tap along one axis (scale 1/2, align_corners = False; METHOD.md §3), as written there. */
static void up_tap(int dst, int n_in, int *i0, int *i1, float *l)
{
    float src = 0.5f * ((float)dst + 0.5f) - 0.5f;
    src = src < 0 ? 0 : src;
    *i0 = (int)src;
    *i1 = *i0 + (*i0 < n_in - 1 ? 1 : 0);
    *l = src - (float)*i0;
}

static int up_case(int B, int C, int H, int W)
{
    size_t n_in = (size_t)B * C * H * W, n = 4 * n_in;
    float *x = rand_floats(n_in), *skip = rand_floats(n), *ref = malloc(n * sizeof(float));
    float *y = malloc(n * sizeof(float)), *z = malloc(n * sizeof(float)), *r = malloc(n * sizeof(float));
    for (size_t bc = 0; bc < (size_t)B * C; bc++)   /* the per-pixel expression, one pixel at a time */
        for (int oy = 0; oy < 2 * H; oy++)
            for (int ox = 0; ox < 2 * W; ox++) {
                int y0, y1, x0, x1;
                float ly, lx;
                up_tap(oy, H, &y0, &y1, &ly);
                up_tap(ox, W, &x0, &x1, &lx);
                const float *p = x + bc * H * W, *r0 = p + (size_t)y0 * W, *r1 = p + (size_t)y1 * W;
                ref[(bc * 2 * H + oy) * 2 * W + ox] =
                    (1 - ly) * ((1 - lx) * r0[x0] + lx * r0[x1]) + ly * ((1 - lx) * r1[x0] + lx * r1[x1]);
            }
    upsample2_forward(y, x, B, C, H, W);
    upsample2_relu_add_forward(z, x, skip, B, C, H, W);
    upsample2_relu_add_forward(r, x, NULL, B, C, H, W);
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        float relu = ref[i] > 0 ? ref[i] : 0;
        ok &= y[i] == ref[i] && z[i] == relu + skip[i] && r[i] == relu;
    }
    free(x), free(skip), free(ref), free(y), free(z), free(r);
    return ok;
}

/* The eval forward's one-pass fusions give the separate passes' floats, bit for bit:
 * upsample2 (rows interpolated along x once) + ReLU (+ skip), max-pool + ReLU, and LayerNorm
 * (rows in interleaved blocks) against its per-row double sums. */
static void eval_fusions_are_bit_identical_to_their_passes(void)
{
    CHECK(up_case(2, 3, 5, 7));
    CHECK(up_case(1, 2, 16, 16));
    CHECK(up_case(1, 1, 3, 1100));   /* 2200 output columns: past the column-tap table */
    CHECK(up_case(1, 1, 1, 1));
    int B = 2, C = 3, H = 6, W = 10;
    size_t n = (size_t)B * C * H * W;
    float *x = rand_floats(n), *p = malloc(n / 4 * sizeof(float)), *q = malloc(n / 4 * sizeof(float));
    maxpool2_forward(p, x, B, C, H, W);
    relu_forward(p, p, n / 4);
    maxpool2_relu_forward(q, x, B, C, H, W);
    CHECK(memcmp(p, q, n / 4 * sizeof(float)) == 0);
    free(x), free(p), free(q);
    static const int shapes[][2] = {{13, 37}, {16, 96}, {1, 5}};
    for (int s = 0; s < 3; s++) {
        int M = shapes[s][0], D = shapes[s][1];
        float *in = rand_floats((size_t)M * D), *g = rand_floats(D), *b = rand_floats(D);
        float *out = malloc((size_t)M * D * sizeof(float)), *mean = malloc(M * sizeof(float));
        float *rstd = malloc(M * sizeof(float));
        layernorm_forward(out, mean, rstd, in, g, b, M, D);
        int ok = 1;
        for (int m = 0; m < M; m++) {
            const float *xr = in + (size_t)m * D;
            double sum = 0, ss = 0;
            for (int c = 0; c < D; c++)
                sum += xr[c];
            double mu = sum / D;
            for (int c = 0; c < D; c++)
                ss += (xr[c] - mu) * (xr[c] - mu);
            float mf = (float)mu, rf = (float)(1.0 / sqrt(ss / D + LN_EPS));
            ok &= mean[m] == mf && rstd[m] == rf;
            for (int c = 0; c < D; c++)
                ok &= out[(size_t)m * D + c] == (xr[c] - mf) * rf * g[c] + b[c];
        }
        CHECK_MSG(ok, "layernorm %d x %d differs from its per-row sums", M, D);
        free(in), free(g), free(b), free(out), free(mean), free(rstd);
    }
}

static void batchnorm_train_updates_running_stats_with_unbiased_variance(void)
{
    const float x[4] = {1, 2, 3, 4}, gamma[1] = {2}, beta[1] = {0.5f};
    float y[4], mean[1], rstd[1], rm[1] = {0}, rv[1] = {1};
    int32_t nbt = 7;
    batchnorm_forward(y, mean, rstd, x, gamma, beta, rm, rv, &nbt, 1, 2, 1, 2);
    CHECK_NEAR(mean[0], 2.5, 1e-7);
    CHECK_NEAR(rm[0], 0.25, 1e-7);
    CHECK_NEAR(rv[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-6);
    CHECK(nbt == 8);
    CHECK_NEAR(y[0], 2.0 * (1 - 2.5) / sqrt(1.25 + 1e-5) + 0.5, 1e-5);
    /* eval mode normalises with the running statistics and updates nothing */
    float rm2[1] = {1}, rv2[1] = {4};
    batchnorm_forward(y, mean, rstd, x, gamma, beta, rm2, rv2, &nbt, 0, 2, 1, 2);
    CHECK_NEAR(y[3], 2.0 * (4 - 1) / sqrt(4 + 1e-5) + 0.5, 1e-5);
    CHECK(rm2[0] == 1 && rv2[0] == 4 && nbt == 8);
}

static void maxpool2_routes_gradient_to_first_maximum(void)
{
    const float x[4] = {3, 3, 1, 3}; /* a tie: torch's CPU kernel keeps the first */
    float y[1], dx[4] = {0}, dy[1] = {1};
    maxpool2_forward(y, x, 1, 1, 2, 2);
    maxpool2_backward(dx, dy, x, 1, 1, 2, 2);
    CHECK(y[0] == 3 && dx[0] == 1 && dx[1] == 0 && dx[3] == 0);
}

static void tokens_and_maps_are_transposes(void)
{
    float map[2 * 3 * 4], tok[2 * 4 * 3], back[2 * 3 * 4];
    for (int i = 0; i < 24; i++)
        map[i] = (float)i;
    map_to_tokens_forward(tok, map, 2, 3, 4);
    CHECK(tok[(1 * 4 + 2) * 3 + 1] == map[(1 * 3 + 1) * 4 + 2]); /* b1, p2, c1 */
    tokens_to_map_forward(back, tok, 2, 3, 4);
    CHECK(memcmp(back, map, sizeof map) == 0);
}

static void arena_plans_then_takes_aligned_tensors(void)
{
    arena a;
    c2_err e = {0};
    arena_plan(&a, "test");
    CHECK(arena_take(&a, 3) == NULL);
    arena_take(&a, 100);
    size_t need = a.used;
    CHECK(need >= 103);
    CHECK(arena_alloc(&a, "test", need, &e) == C2_OK);
    float *p = arena_take(&a, 3), *q = arena_take(&a, 100);
    CHECK(p && q && ((uintptr_t)q % 64) == 0 && q >= p + 3);
    CHECK(arena_take(&a, 1) == NULL); /* full: a layout bug is caught, not overrun */
    q[99] = 5;
    arena_zero(&a);
    CHECK(q[99] == 0);
    arena_free(&a);
}

/* A large arena is an anonymous mapping the kernel zeroes on first touch: no page of it is
 * resident before a tensor is written (a memset would have made every one resident), it
 * reads as zeros, and arena_zero / arena_free work on it as on a heap block. */
static void arena_maps_large_blocks_lazily(void)
{
    arena a;
    c2_err e = {0};
    size_t n = ARENA_MAP_BYTES / sizeof(float) * 3 + 5;
    CHECK(arena_alloc(&a, "test", n, &e) == C2_OK);
    CHECK(a.mapped >= n * sizeof(float) && ((uintptr_t)a.base % 64) == 0);
    long page = sysconf(_SC_PAGESIZE);
    size_t pages = (a.mapped + (size_t)page - 1) / (size_t)page, resident = 0;
    unsigned char *vec = malloc(pages);
    CHECK(vec && mincore(a.base, a.mapped, vec) == 0);
    for (size_t i = 0; vec && i < pages; i++)
        resident += vec[i] & 1;
    CHECK(resident == 0);
    float *t = arena_take(&a, n);
    int zero = 1;
    for (size_t i = 0; t && i < n; i += 997)
        zero &= t[i] == 0.0f;
    CHECK(t && zero && t[n - 1] == 0.0f);
    t[n - 1] = 7;
    arena_zero(&a);
    CHECK(t[n - 1] == 0.0f);
    free(vec);
    arena_free(&a);
    CHECK(a.base == NULL && a.mapped == 0);
    CHECK(arena_alloc(&a, "test", 100, &e) == C2_OK && a.mapped == 0); /* small: the heap */
    arena_free(&a);
}

int main(void)
{
    RUN_TEST(arena_maps_large_blocks_lazily);
    RUN_TEST(conv2d_fast_matches_reference);
    RUN_TEST(conv2d_forward_is_thread_count_independent);
    RUN_TEST(conv2d_bn_relu_is_bit_identical_to_three_passes);
    RUN_TEST(dwconv3_bn_relu_tokens_is_bit_identical_to_five_passes);
    RUN_TEST(linear_fast_matches_reference);
    RUN_TEST(upsample2_matches_torch_on_2x2);
    RUN_TEST(eval_fusions_are_bit_identical_to_their_passes);
    RUN_TEST(batchnorm_train_updates_running_stats_with_unbiased_variance);
    RUN_TEST(maxpool2_routes_gradient_to_first_maximum);
    RUN_TEST(tokens_and_maps_are_transposes);
    RUN_TEST(arena_plans_then_takes_aligned_tensors);
    return test_summary();
}
