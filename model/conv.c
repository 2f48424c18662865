/* conv: 2-D convolutions with padding K/2 (K = 3 or 1; stride 1 or 2; groups 1) and the
 * depthwise 3x3 convolution of DWBNReLU.
 *
 * Fast path: per image, im2col into a (C*K*K, Ho*Wo) matrix, then one cblas_sgemm
 * against the (OC, C*K*K) weight; a 1x1 stride-1 convolution is already a GEMM on the
 * (C, H*W) image and skips im2col. Backward rebuilds the im2col matrix (it is not kept
 * from the forward, so the activation arena holds only maps), uses it for dweight, then
 * reuses the same scratch for dcol = W^T dout and scatters it back with col2im.
 *
 * This file is compiled in three parts: the float-only fast kernels, then (by including
 * itself) the simple plain-loop kernels once with C2_REAL = float and once with double. */
#ifndef C2_REAL

#include "model/layers.h"
#include "model/precision.h"
#include "model/threads.h"

#include <cblas.h>
#include <string.h>

int conv2d_out_size(int H, int K, int stride)
{
    return (H + 2 * (K / 2) - K) / stride + 1;
}

static int conv2d_is_pointwise(int K, int stride)
{
    return K == 1 && stride == 1;
}

/* Maps of fewer than 2 x CONV_BAND_MIN output pixels are not cut into pixel bands (below);
 * their images run in parallel instead, each in one of CONV_IMAGE_SLOTS im2col slices of the
 * scratch. Every image is the same uncut GEMM whichever thread takes it, so the numbers do
 * not depend on the thread count. */
#define CONV_BAND_MIN 1024
#define CONV_IMAGE_SLOTS 4

static int conv2d_image_parallel(size_t out_pixels)
{
    return out_pixels < 2 * CONV_BAND_MIN;
}

size_t conv2d_scratch_floats(int C, int H, int W, int K, int stride)
{
    if (conv2d_is_pointwise(K, stride))
        return 0;
    size_t P = (size_t)conv2d_out_size(H, K, stride) * conv2d_out_size(W, K, stride);
    return (size_t)C * K * K * P * (conv2d_image_parallel(P) ? CONV_IMAGE_SLOTS : 1);
}

/* The output columns [*lo, *hi) whose input column ix = ox*stride + kx - pad lies inside
 * 0..W-1 (the rest read the zero padding). */
static void conv2d_valid_span(int *lo, int *hi, int W, int Wo, int kx, int pad, int stride)
{
    int a = pad - kx, b = W - 1 + pad - kx;   /* need a <= ox*stride <= b */
    *lo = a > 0 ? (a + stride - 1) / stride : 0;
    *hi = b < 0 ? 0 : b / stride + 1;
    if (*hi > Wo)
        *hi = Wo;
    if (*lo > *hi)
        *lo = *hi;
}

/* Columns p0..p1-1 (output pixels in row-major order) of the im2col matrix (C*K*K, Ho*Wo)
 * of one image inp (C,H,W), into col with leading dimension ld; taps outside the image
 * are 0. The interior of each output row is a branch-free copy (memcpy for stride 1). */
static void im2col_cols(float *col, size_t ld, const float *inp, int C, int H, int W, int K,
                        int stride, size_t p0, size_t p1)
{
    int pad = K / 2, Wo = conv2d_out_size(W, K, stride);
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
                float *row = col + ((size_t)(c * K + ky) * K + kx) * ld;
                int lo, hi;
                conv2d_valid_span(&lo, &hi, W, Wo, kx, pad, stride);
                for (size_t p = p0; p < p1;) {
                    int oy = (int)(p / (size_t)Wo), a = (int)(p % (size_t)Wo);
                    int z = (size_t)(Wo - a) < p1 - p ? Wo : a + (int)(p1 - p);   /* ox in [a, z) */
                    int iy = oy * stride + ky - pad;
                    float *dst = row + (p - p0) - (size_t)a;   /* dst[ox] for ox in [a, z) */
                    p += (size_t)(z - a);
                    if (iy < 0 || iy >= H) {
                        memset(dst + a, 0, sizeof(float) * (size_t)(z - a));
                        continue;
                    }
                    const float *src = inp + ((size_t)c * H + iy) * W;
                    int l = lo > a ? lo : a, h = hi < z ? hi : z;
                    if (h < l)
                        h = l;
                    for (int ox = a; ox < l && ox < z; ox++)
                        dst[ox] = 0.0f;
                    if (stride == 1)
                        memcpy(dst + l, src + l + kx - pad, sizeof(float) * (size_t)(h - l));
                    else
                        for (int ox = l; ox < h; ox++)
                            dst[ox] = src[ox * stride + kx - pad];
                    for (int ox = h > a ? h : a; ox < z; ox++)
                        dst[ox] = 0.0f;
                }
            }
}

/* The whole im2col matrix (C*K*K, Ho*Wo) of one image, channels in parallel. */
static void im2col(float *col, const float *inp, int C, int H, int W, int K, int stride)
{
    int Ho = conv2d_out_size(H, K, stride), Wo = conv2d_out_size(W, K, stride);
    size_t P = (size_t)Ho * Wo, plane = (size_t)K * K * P;
    C2_OMP(parallel for schedule(static) if((size_t)C * plane > C2_PAR_MIN))
    for (int c = 0; c < C; c++)
        im2col_cols(col + (size_t)c * plane, P, inp + (size_t)c * H * W, 1, H, W, K, stride, 0, P);
}

/* dinp (C,H,W) += the scatter of col (C*K*K, Ho*Wo); the transpose of im2col. */
static void col2im_add(float *dinp, const float *col, int C, int H, int W, int K, int stride)
{
    int pad = K / 2, Ho = conv2d_out_size(H, K, stride), Wo = conv2d_out_size(W, K, stride);
    C2_OMP(parallel for schedule(static) if((size_t)C * K * K * Ho * Wo > C2_PAR_MIN))
    for (int c = 0; c < C; c++)   /* each channel scatters into its own plane */
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
                const float *row = col + ((size_t)(c * K + ky) * K + kx) * Ho * Wo;
                int lo, hi;
                conv2d_valid_span(&lo, &hi, W, Wo, kx, pad, stride);
                if (lo == hi)
                    continue;
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * stride + ky - pad;
                    if (iy < 0 || iy >= H)
                        continue;
                    float *dst = dinp + ((size_t)c * H + iy) * W + (lo * stride + kx - pad);
                    const float *src = row + (size_t)oy * Wo;
                    if (stride == 1)
                        for (int ox = lo; ox < hi; ox++)
                            dst[ox - lo] += src[ox];
                    else
                        for (int ox = lo; ox < hi; ox++)
                            dst[(ox - lo) * stride] += src[ox];
                }
            }
}

/* y[0..n) of output channel o += bias[o] (bias may be NULL), then, with post, the eval
 * BatchNorm and ReLU: the expressions of batchnorm_forward and relu_forward, on the float
 * each of them would read, so the result is theirs to the bit (ISO C: no contraction). */
static void conv2d_store_post(float *y, size_t n, const float *bias, const conv_bn_relu *post, int o)
{
    if (!post) {
        if (bias)
            for (size_t p = 0; p < n; p++)
                y[p] += bias[o];
        return;
    }
    float m = post->mean[o], r = post->rstd[o], g = post->gamma[o], be = post->beta[o];
    if (bias) {
        float bo = bias[o];
        for (size_t p = 0; p < n; p++) {
            float v = y[p] + bo;
            v = (v - m) * r * g + be;
            y[p] = v > 0 ? v : 0;
        }
    } else {
        for (size_t p = 0; p < n; p++) {
            float v = (y[p] - m) * r * g + be;
            y[p] = v > 0 ? v : 0;
        }
    }
}

/* Output pixels p0..p1-1 of one image x (C,H,W) into y (OC, P): their im2col columns in
 * col, then y (OC, band) = weight (OC, CKK) col (CKK, band) + bias (and post), single-threaded. */
static void conv2d_forward_span(float *y, float *col, const float *x, const float *weight, const uint32_t *wpack,
                                const float *bias, const conv_bn_relu *post, int C, int H, int W, int OC, int K,
                                int stride, size_t P, size_t p0, size_t p1)
{
    size_t n = p1 - p0, CKK = (size_t)C * K * K;
    if (wpack && K <= 3) {   /* bf16: the columns packed straight from the image, bias / BN / ReLU on the sums */
        conv_im2col_panel f = {x, H, W, K, stride, p0};
        gemm_bf16_post ep = {bias, post ? post->mean : NULL, post ? post->rstd : NULL, post ? post->gamma : NULL,
                             post ? post->beta : NULL};
        gemm_bf16_packed_fill(wpack, conv_im2col_fill_bf16, &f, OC, (int)n, (int)CKK, y + p0, (int)P,
                              bias || post ? &ep : NULL);
        return;
    } else if (wpack) {   /* bf16, the weight packed once per call (conv2d_forward_im2col) */
        im2col_cols(col, n, x, C, H, W, K, stride, p0, p1);
        gemm_bf16_packed(wpack, CblasNoTrans, weight, (int)CKK, NULL, CblasNoTrans, col, (int)n, OC, (int)n, (int)CKK,
                         0.0f, y + p0, (int)P);
    } else {
        im2col_cols(col, n, x, C, H, W, K, stride, p0, p1);
        engine_gemm(CblasNoTrans, CblasNoTrans, OC, (int)n, (int)CKK, weight, (int)CKK, col, (int)n, 0.0f, y + p0,
                    (int)P);
    }
    if (bias || post)
        for (int o = 0; o < OC; o++)
            conv2d_store_post(y + (size_t)o * P + p0, n, bias, post, o);
}

/* Forward, im2col path: the output pixels are cut into one band per thread, at multiples
 * of 16; a band builds its columns of the im2col matrix in its own slice of the scratch
 * (the slices tile the whole matrix) and multiplies them at once, single-threaded, while
 * they are in that core's cache. OpenBLAS rounds a cut GEMM's elements slightly differently
 * from an uncut one's (last bits, ~1e-6 relative), so results depend on the thread count.
 * Maps under 2 x CONV_BAND_MIN pixels are not cut: their images run in parallel instead,
 * each an uncut GEMM (the tiny preset, whose 1x1 fuse5 map amplifies rounding, keeps its
 * numbers). */
static void conv2d_forward_im2col(float *out, float *scratch, const float *inp, const float *weight,
                                  const float *bias, const conv_bn_relu *post, int B, int C, int H, int W, int OC,
                                  int K, int stride)
{
    int Ho = conv2d_out_size(H, K, stride), Wo = conv2d_out_size(W, K, stride);
    size_t CKK = (size_t)C * K * K, P = (size_t)Ho * Wo, T = (size_t)threads_count();
    uint32_t *wpack = gemm_pack_arena(gemm_bf16_pack_words(OC, (int)CKK));
    if (wpack)
        gemm_bf16_pack_a(wpack, CblasNoTrans, weight, (int)CKK, OC, (int)CKK);
    if (conv2d_image_parallel(P)) {   /* whole images, one scratch slot per thread */
        int nt = (int)(T < CONV_IMAGE_SLOTS ? T : CONV_IMAGE_SLOTS);
        nt = nt < B ? nt : B;
        (void)nt;   /* unused when built without OpenMP */
        C2_OMP(parallel num_threads(nt) if(nt > 1))
        {
            float *col = scratch + CKK * P * (size_t)thread_index();
            C2_OMP(for schedule(dynamic, 1))
            for (int b = 0; b < B; b++)
                conv2d_forward_span(out + (size_t)b * OC * P, col, inp + (size_t)b * C * H * W, weight, wpack, bias,
                                    post, C, H, W, OC, K, stride, P, 0, P);
        }
        return;
    }
    size_t chunk = (P + T - 1) / T;
    chunk = (chunk + 15) / 16 * 16;
    if (chunk < CONV_BAND_MIN)
        chunk = P;
    int bands = (int)((P + chunk - 1) / chunk);
    C2_OMP(parallel for schedule(static, 1) if(bands > 1))
    for (int band = 0; band < bands; band++) {
        size_t p0 = (size_t)band * chunk, p1 = p0 + chunk < P ? p0 + chunk : P;
        for (int b = 0; b < B; b++)
            conv2d_forward_span(out + (size_t)b * OC * P, scratch + CKK * p0, inp + (size_t)b * C * H * W, weight,
                                wpack, bias, post, C, H, W, OC, K, stride, P, p0, p1);
    }
}

#if defined(__AVX2__) && defined(__FMA__)
/* Forward, direct path for 3x3 stride-1 layers (AVX2 + FMA). im2col + sgemm multiplies a
 * (OC, 9C) weight by 9x copied pixels, and for the thin layers (OC 8-32) copying and packing
 * those columns costs more than the multiply (torch's oneDNN ran them 2-3x faster). Here each
 * image is copied once into zero-padded planes (C, H+2, Wp), and a register block of
 * DIRECT_OC output channels x 8 pixels of one output row accumulates
 * bias + sum over (c, ky, kx) of w * x with FMAs: per tap one vector load of the padded row
 * and DIRECT_OC weight broadcasts (from L1) feed DIRECT_OC FMAs. Wider blocks (4 x 16, 4 x 24
 * pixels) ran slower: gcc runs out of the 16 ymm registers and re-loads the inputs inside
 * every FMA. Each output is summed in one fixed order by one thread, so results do not
 * depend on the thread count. bench_layers, full preset, 2 threads, same sitting:
 * enc1.conv2 (16>16 @224) 50 -> 23 ms, enc2.conv2 (32>32 @112) 20 -> 16 ms, dec5.conv1
 * (16>16 @112) 5.7 -> 4.1 ms; 128-channel layers were slower than sgemm (72 vs 52 ms). */
#define DIRECT_OC 8
#define DIRECT_X 8   /* pixels per block: one ymm vector */
/* Layers with at most this many output channels take the direct path, on maps of at least
 * CONV_DIRECT_MIN_PX pixels (smaller maps keep the sgemm path; no layer of the tiny preset
 * qualifies, so its golden parity is computed as before). */
#define CONV_DIRECT_MAX_OC 32
#define CONV_DIRECT_MIN_PX 1024
#include <immintrin.h>

static int direct_wp(int W)
{
    return (W + DIRECT_X - 1) / DIRECT_X * DIRECT_X + 2;
}

/* The direct kernel's shapes: 3x3 stride 1, `out` output channels in whole register blocks
 * (at most CONV_DIRECT_MAX_OC), maps of at least CONV_DIRECT_MIN_PX pixels. */
static int direct_shape(int out, int H, int W, int K, int stride)
{
    return K == 3 && stride == 1 && out % DIRECT_OC == 0 && out <= CONV_DIRECT_MAX_OC &&
           (size_t)H * W >= CONV_DIRECT_MIN_PX;
}

static int conv2d_direct_ok(int C, int H, int W, int OC, int K, int stride)
{
    return direct_shape(OC, H, W, K, stride) &&
           (size_t)C * (H + 2) * direct_wp(W) <= conv2d_scratch_floats(C, H, W, K, stride);
}

/* Output row y of channels o0 .. o0+DIRECT_OC-1 of one image from its padded planes
 * pad (C, H+2, Wp): padded (r, q) holds input (r-1, q-1), so tap (ky, kx) of output (y, x)
 * is padded (y+ky, x+kx). With post, each vector gets BN's sub, mul, mul, add and ReLU's
 * max with +0 (max_ps gives its second operand for a NaN or a -0, as `v > 0 ? v : 0`). */
static void direct_row(float *out, const float *pad, const float *weight, const float *bias,
                       const conv_bn_relu *post, int accumulate, int C, int H, int W, int Wp, int o0, int y)
{
    size_t HW = (size_t)H * W, cw = (size_t)C * 9;
    const __m256 zero = _mm256_setzero_ps();
    for (int x0 = 0; x0 < W; x0 += DIRECT_X) {
        __m256 acc[DIRECT_OC];
#pragma GCC unroll 8
        for (int o = 0; o < DIRECT_OC; o++)
            acc[o] = _mm256_set1_ps(bias ? bias[o0 + o] : 0.0f);
        for (int c = 0; c < C; c++) {
            const float *src = pad + ((size_t)c * (H + 2) + y) * Wp + x0;
            const float *w = weight + (size_t)o0 * cw + (size_t)c * 9;
#pragma GCC unroll 9
            for (int t = 0; t < 9; t++) {
                __m256 in = _mm256_loadu_ps(src + (t / 3) * Wp + t % 3);
#pragma GCC unroll 8
                for (int o = 0; o < DIRECT_OC; o++)
                    acc[o] = _mm256_fmadd_ps(_mm256_broadcast_ss(w + o * cw + t), in, acc[o]);
            }
        }
        int n = W - x0 < DIRECT_X ? W - x0 : DIRECT_X;
        if (post)
            for (int o = 0; o < DIRECT_OC; o++) {
                __m256 v = _mm256_sub_ps(acc[o], _mm256_set1_ps(post->mean[o0 + o]));
                v = _mm256_mul_ps(v, _mm256_set1_ps(post->rstd[o0 + o]));
                v = _mm256_mul_ps(v, _mm256_set1_ps(post->gamma[o0 + o]));
                v = _mm256_add_ps(v, _mm256_set1_ps(post->beta[o0 + o]));
                acc[o] = _mm256_max_ps(v, zero);
            }
        for (int o = 0; o < DIRECT_OC; o++) {   /* accumulate: out = out + sum, row tails via tmp */
            float *dst = out + (size_t)(o0 + o) * HW + (size_t)y * W + x0, tmp[DIRECT_X] = {0};
            float *at = n == DIRECT_X ? dst : tmp;
            if (accumulate && n < DIRECT_X)
                memcpy(tmp, dst, (size_t)n * sizeof(float));
            _mm256_storeu_ps(at, accumulate ? _mm256_add_ps(_mm256_loadu_ps(at), acc[o]) : acc[o]);
            if (n < DIRECT_X)
                memcpy(dst, tmp, (size_t)n * sizeof(float));
        }
    }
}

static void conv2d_forward_direct(float *out, float *scratch, const float *inp, const float *weight,
                                  const float *bias, const conv_bn_relu *post, int accumulate, int B, int C, int H,
                                  int W, int OC)
{
    int Wp = direct_wp(W), Hp = H + 2, blocks = OC / DIRECT_OC;
    size_t plane = (size_t)Hp * Wp;
    memset(scratch, 0, (size_t)C * plane * sizeof(float));   /* the borders stay zero */
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * C * H * W;
        C2_OMP(parallel for schedule(static) if((size_t)C * H * W > C2_PAR_MIN))
        for (int c = 0; c < C; c++)
            for (int r = 0; r < H; r++)
                memcpy(scratch + c * plane + (size_t)(r + 1) * Wp + 1, x + ((size_t)c * H + r) * W,
                       (size_t)W * sizeof(float));
        float *y = out + (size_t)b * OC * H * W;
        C2_OMP(parallel for schedule(static) if((size_t)OC * H * W > C2_PAR_MIN))
        for (int task = 0; task < blocks * H; task++)
            direct_row(y, scratch, weight, bias, post, accumulate, C, H, W, Wp, task / H * DIRECT_OC, task % H);
    }
}

/* Backward's input gradient of a thin 3x3 stride-1 layer (at most 32 channels each side; with
 * 128 output channels, sgemm + col2im stayed faster in bench_layers): dinp is the
 * convolution of dout (OC channels) with the transposed, flipped weight
 * W'[c, o, 8 - t] = W[o, c, t] (padding 1), so the direct kernel computes it, adding into
 * dinp, instead of dcol = W^T dout (a GEMM with K = OC) and its col2im scatter. W' and the
 * padded dout planes share the scratch. */
static int conv2d_direct_dinp_ok(int C, int H, int W, int OC, int K, int stride)
{
    return direct_shape(C, H, W, K, stride) && OC <= CONV_DIRECT_MAX_OC &&
           (size_t)C * OC * 9 + (size_t)OC * (H + 2) * direct_wp(W) <= conv2d_scratch_floats(C, H, W, K, stride);
}

static void conv2d_backward_dinp_direct(float *dinp, float *scratch, const float *dout, const float *weight, int B,
                                        int C, int H, int W, int OC)
{
    float *wt = scratch;
    for (int c = 0; c < C; c++)
        for (int o = 0; o < OC; o++)
            for (int t = 0; t < 9; t++)
                wt[((size_t)c * OC + o) * 9 + 8 - t] = weight[((size_t)o * C + c) * 9 + t];
    conv2d_forward_direct(dinp, scratch + (size_t)C * OC * 9, dout, wt, NULL, NULL, 1, B, OC, H, W, C);
}
#endif

/* At bf16, the direct path runs at bf16 from this many input channels: the stem convolution
 * on the image itself (1 channel, about 1 % of the forward's work) stays fp32, whose
 * input rounded to 8 significant bits moved the masks of docs/engine.md's check the most. */
#define CONV_BF16_MIN_C 2

static void conv2d_forward_post(float *out, float *scratch, const float *inp, const float *weight,
                                const float *bias, const conv_bn_relu *post, int B, int C, int H, int W, int OC,
                                int K, int stride)
{
#if defined(__AVX2__) && defined(__FMA__)
    if (conv2d_direct_ok(C, H, W, OC, K, stride)) {
        if (gemm_precision() == PRECISION_BF16 && C >= CONV_BF16_MIN_C &&
            conv2d_forward_direct_bf16(out, scratch, inp, weight, bias, post, B, C, H, W, OC))
            return;
        conv2d_forward_direct(out, scratch, inp, weight, bias, post, 0, B, C, H, W, OC);
        return;
    }
#endif
    if (!conv2d_is_pointwise(K, stride)) {
        conv2d_forward_im2col(out, scratch, inp, weight, bias, post, B, C, H, W, OC, K, stride);
        return;
    }
    int P = H * W;
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * C * P;
        float *y = out + (size_t)b * OC * P;
        /* y (OC,P) = weight (OC,C) x (C,P) */
        par_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, P, C, 1.0f, weight, C, x, P, 0.0f,
                  y, P);
        if (bias || post)
            C2_OMP(parallel for schedule(static) if((size_t)OC * P > C2_PAR_MIN))
            for (int o = 0; o < OC; o++)
                conv2d_store_post(y + (size_t)o * P, (size_t)P, bias, post, o);
    }
}

void conv2d_forward(float *out, float *scratch, const float *inp, const float *weight,
                    const float *bias, int B, int C, int H, int W, int OC, int K, int stride)
{
    conv2d_forward_post(out, scratch, inp, weight, bias, NULL, B, C, H, W, OC, K, stride);
}

void conv2d_forward_bn_relu(float *out, float *scratch, const float *inp, const float *weight, const float *bias,
                            const conv_bn_relu *bn, int B, int C, int H, int W, int OC, int K, int stride)
{
    conv2d_forward_post(out, scratch, inp, weight, bias, bn, B, C, H, W, OC, K, stride);
}

/* Channels innermost: DWTOK_C channels of one output pixel are summed over the 9 taps in a
 * fixed-size local array that the compiler keeps in vector registers (s += w * x per tap,
 * then the BN + ReLU of the store); k holds the block's taps as (9, DWTOK_C). */
#define DWTOK_C 32
static void dwtok_pixel(float *y, const float *x, const float *k, const float *bias, const conv_bn_relu *bn, int C,
                        int c0, int nc, int H, int W, int oy, int ox)
{
    float s[DWTOK_C];
    for (int c = 0; c < DWTOK_C; c++)
        s[c] = bias && c < nc ? bias[c0 + c] : 0;
    for (int t = 0; t < 9; t++) {
        int iy = oy + t / 3 - 1, ix = ox + t % 3 - 1;
        const float *kt = k + t * DWTOK_C;
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
            for (int c = 0; c < DWTOK_C; c++)
                s[c] += kt[c] * 0.0f;
            continue;
        }
        const float *xt = x + ((size_t)iy * W + ix) * C + c0;
        if (nc == DWTOK_C)
            for (int c = 0; c < DWTOK_C; c++)
                s[c] += kt[c] * xt[c];
        else
            for (int c = 0; c < nc; c++)
                s[c] += kt[c] * xt[c];
    }
    const float *m = bn->mean + c0, *r = bn->rstd + c0, *g = bn->gamma + c0, *be = bn->beta + c0;
    C2_OMP(simd)
    for (int c = 0; c < nc; c++) {
        float v = (s[c] - m[c]) * r[c] * g[c] + be[c];
        y[c0 + c] = v > 0 ? v : 0;
    }
}

void dwconv3_bn_relu_tokens(float *out, const float *inp, const float *weight, const float *bias,
                            const conv_bn_relu *bn, int B, int C, int H, int W)
{
    size_t P = (size_t)H * W;
    C2_OMP(parallel for schedule(static) if((size_t)B * P * C > C2_PAR_MIN))
    for (int by = 0; by < B * H; by++) {
        int b = by / H, oy = by % H;
        for (int c0 = 0; c0 < C; c0 += DWTOK_C) {
            int nc = C - c0 < DWTOK_C ? C - c0 : DWTOK_C;
            float k[9 * DWTOK_C] = {0};
            for (int t = 0; t < 9; t++)
                for (int c = 0; c < nc; c++)
                    k[t * DWTOK_C + c] = weight[(size_t)(c0 + c) * 9 + t];
            for (int ox = 0; ox < W; ox++)
                dwtok_pixel(out + ((size_t)b * P + (size_t)oy * W + ox) * C, inp + (size_t)b * P * C, k, bias, bn, C,
                            c0, nc, H, W, oy, ox);
        }
    }
}

void conv2d_backward(float *dinp, float *dweight, float *dbias, float *scratch,
                     const float *dout, const float *inp, const float *weight,
                     int B, int C, int H, int W, int OC, int K, int stride)
{
    int Ho = conv2d_out_size(H, K, stride), Wo = conv2d_out_size(W, K, stride);
    int CKK = C * K * K, P = Ho * Wo;
    int pointwise = conv2d_is_pointwise(K, stride);
    float *dinp_later = NULL;
#if defined(__AVX2__) && defined(__FMA__)
    if (dinp && conv2d_direct_dinp_ok(C, H, W, OC, K, stride))
        dinp_later = dinp, dinp = NULL;   /* after the weight gradient, from the same scratch */
#endif
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * C * H * W;
        const float *dy = dout + (size_t)b * OC * P;
        const float *col = x;
        if (!pointwise) {
            im2col(scratch, x, C, H, W, K, stride);
            col = scratch;
        }
        /* dweight (OC,CKK) += dy (OC,P) col^T (P,CKK) */
        par_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, CKK, P, 1.0f, dy, P, col, P,
                  1.0f, dweight, CKK);
        if (dbias)
            C2_OMP(parallel for schedule(static) if((size_t)OC * P > C2_PAR_MIN))
            for (int o = 0; o < OC; o++) {
                double s = 0.0;
                for (int p = 0; p < P; p++)
                    s += dy[(size_t)o * P + p];
                dbias[o] += (float)s;
            }
        if (!dinp)
            continue;
        float *dx = dinp + (size_t)b * C * H * W;
        if (pointwise) {
            /* dx (C,P) += weight^T (C,OC) dy (OC,P) */
            par_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, P, OC, 1.0f, weight, C, dy,
                      P, 1.0f, dx, P);
        } else {
            /* dcol (CKK,P) = weight^T (CKK,OC) dy (OC,P), then scattered into dx */
            par_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, P, OC, 1.0f, weight, CKK,
                      dy, P, 0.0f, scratch, P);
            col2im_add(dx, scratch, C, H, W, K, stride);
        }
    }
#if defined(__AVX2__) && defined(__FMA__)
    if (dinp_later)
        conv2d_backward_dinp_direct(dinp_later, scratch, dout, weight, B, C, H, W, OC);
#else
    (void)dinp_later;
#endif
}

#define C2_REAL_TWICE "model/conv.c"
#include "model/real_twice.h"

#else /* the simple kernels, once per precision */

/* The input value under tap (ky,kx) of output (oy,ox), or 0 in the padding; sets *at to
 * its index in the channel plane (or -1). */
static C2_REAL C2_FN(conv_tap)(const C2_REAL *plane, int H, int W, int iy, int ix, long *at)
{
    if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
        *at = -1;
        return 0;
    }
    *at = (long)iy * W + ix;
    return plane[*at];
}

void C2_FN(conv2d_forward_reference)(C2_REAL *out, const C2_REAL *inp, const C2_REAL *weight,
                                     const C2_REAL *bias, int B, int C, int H, int W, int OC,
                                     int K, int stride)
{
    int pad = K / 2, Ho = conv2d_out_size(H, K, stride), Wo = conv2d_out_size(W, K, stride);
    for (int b = 0; b < B; b++)
        for (int o = 0; o < OC; o++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    C2_REAL s = bias ? bias[o] : 0;
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < K; ky++)
                            for (int kx = 0; kx < K; kx++) {
                                long at;
                                C2_REAL v = C2_FN(conv_tap)(inp + ((size_t)b * C + c) * H * W, H,
                                                            W, oy * stride + ky - pad,
                                                            ox * stride + kx - pad, &at);
                                s += weight[((size_t)(o * C + c) * K + ky) * K + kx] * v;
                            }
                    out[(((size_t)b * OC + o) * Ho + oy) * Wo + ox] = s;
                }
}

void C2_FN(conv2d_backward_reference)(C2_REAL *dinp, C2_REAL *dweight, C2_REAL *dbias,
                                      const C2_REAL *dout, const C2_REAL *inp,
                                      const C2_REAL *weight, int B, int C, int H, int W,
                                      int OC, int K, int stride)
{
    int pad = K / 2, Ho = conv2d_out_size(H, K, stride), Wo = conv2d_out_size(W, K, stride);
    for (int b = 0; b < B; b++)
        for (int o = 0; o < OC; o++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    C2_REAL d = dout[(((size_t)b * OC + o) * Ho + oy) * Wo + ox];
                    if (dbias)
                        dbias[o] += d;
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < K; ky++)
                            for (int kx = 0; kx < K; kx++) {
                                size_t plane = ((size_t)b * C + c) * H * W;
                                size_t wi = ((size_t)(o * C + c) * K + ky) * K + kx;
                                long at;
                                C2_REAL v = C2_FN(conv_tap)(inp + plane, H, W,
                                                            oy * stride + ky - pad,
                                                            ox * stride + kx - pad, &at);
                                dweight[wi] += d * v;
                                if (dinp && at >= 0)
                                    dinp[plane + (size_t)at] += d * weight[wi];
                            }
                }
}

void C2_FN(dwconv3_forward)(C2_REAL *out, const C2_REAL *inp, const C2_REAL *weight,
                            const C2_REAL *bias, int B, int C, int H, int W)
{
    C2_OMP(parallel for schedule(static) if((size_t)B * C * H * W > C2_PAR_MIN))
    for (int bc = 0; bc < B * C; bc++) {
        int c = bc % C;
        const C2_REAL *x = inp + (size_t)bc * H * W;
        const C2_REAL *w = weight + (size_t)c * 9;
        C2_REAL *y = out + (size_t)bc * H * W, b0 = bias ? bias[c] : 0;
        for (int oy = 0; oy < H; oy++) {
            /* interior pixels: every tap inside the plane, no bounds tests (vectorises); the
             * same sum order as the border pixels' loop below */
            int inner = oy > 0 && oy < H - 1 && W > 2;
            if (inner) {
                const C2_REAL *r0 = x + (size_t)(oy - 1) * W, *r1 = r0 + W, *r2 = r1 + W;
                const C2_REAL k0 = w[0], k1 = w[1], k2 = w[2], k3 = w[3], k4 = w[4], k5 = w[5], k6 = w[6],
                              k7 = w[7], k8 = w[8];   /* locals: y cannot alias them */
                C2_REAL *yr = y + (size_t)oy * W;
                for (int ox = 1; ox < W - 1; ox++) {
                    C2_REAL s = b0;
                    s += k0 * r0[ox - 1];
                    s += k1 * r0[ox];
                    s += k2 * r0[ox + 1];
                    s += k3 * r1[ox - 1];
                    s += k4 * r1[ox];
                    s += k5 * r1[ox + 1];
                    s += k6 * r2[ox - 1];
                    s += k7 * r2[ox];
                    s += k8 * r2[ox + 1];
                    yr[ox] = s;
                }
            }
            for (int ox = 0; ox < W; ox += inner && ox == 0 ? W - 1 : 1) {
                C2_REAL s = b0;
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        long at;
                        s += w[ky * 3 + kx] * C2_FN(conv_tap)(x, H, W, oy + ky - 1, ox + kx - 1, &at);
                    }
                y[(size_t)oy * W + ox] = s;
            }
        }
    }
}

void C2_FN(dwconv3_backward)(C2_REAL *dinp, C2_REAL *dweight, C2_REAL *dbias,
                             const C2_REAL *dout, const C2_REAL *inp, const C2_REAL *weight,
                             int B, int C, int H, int W)
{
    C2_OMP(parallel for schedule(static) if((size_t)B * C * H * W > C2_PAR_MIN))
    for (int c = 0; c < C; c++)   /* per channel, images in order: dweight / dbias sums as serial */
        for (int b = 0; b < B; b++) {
            size_t plane = ((size_t)b * C + c) * H * W;
            const C2_REAL *w = weight + (size_t)c * 9;
            for (int oy = 0; oy < H; oy++)
                for (int ox = 0; ox < W; ox++) {
                    C2_REAL d = dout[plane + (size_t)oy * W + ox];
                    if (dbias)
                        dbias[c] += d;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            long at;
                            C2_REAL v = C2_FN(conv_tap)(inp + plane, H, W, oy + ky - 1,
                                                        ox + kx - 1, &at);
                            dweight[(size_t)c * 9 + ky * 3 + kx] += d * v;
                            if (dinp && at >= 0)
                                dinp[plane + (size_t)at] += d * w[ky * 3 + kx];
                        }
                }
        }
}

#endif
