/* conv_bf16: the direct 3x3 stride-1 convolution of the thin layers (model/conv.c, "direct
 * path") at bf16, for eval forwards at that precision (model/precision.h).
 *
 * The fp32 direct kernel broadcasts one weight per (input channel, tap) against 8 pixels;
 * here input channels go in pairs, the unit vdpbf16ps multiplies: the image is copied once
 * into zero-padded planes of channel pairs (pair c2 at (r, q) = bf16 of channels 2·c2 and
 * 2·c2 + 1 at padded (r, q); an odd last channel pairs with 0), the weight into pairs
 * w2[o, c2, t] = bf16 (W[o, 2·c2, t], W[o, 2·c2 + 1, t]) (in the workspace's bf16 pack buffer),
 * and a register block of 8 output channels x 32 pixels of one output row (16 fp32
 * accumulators) takes, per channel pair and tap, two 16-pair loads of the padded row, 8
 * weight-pair broadcasts and 16 vdpbf16ps. The bias starts the sums; BN + ReLU run on the
 * registers as the fp32 kernel does. Rows x channel blocks in parallel, each output summed
 * by one thread in one order (the thread count does not change the result). */
#include "model/layers.h"
#include "model/precision.h"
#include "model/threads.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && ((defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10) || \
                            (defined(__clang__) && __clang_major__ >= 9))
#include <immintrin.h>

#define CB_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define CB_OC 8    /* output channels per register block */
#define CB_X 32    /* pixels per register block: two zmm of 16 */

static int cb_wp(int W)
{
    return (W + CB_X - 1) / CB_X * CB_X + 2;   /* every 32-pixel load of a padded row stays inside it */
}

/* Output row y of channels o0 .. o0+7 of one image from the padded pair planes. */
CB_TARGET static void cb_row(float *out, const uint32_t *pad, const uint32_t *w2, const float *bias,
                             const conv_bn_relu *post, int C2, int H, int W, int Wp, int o0, int y)
{
    size_t HW = (size_t)H * W, plane = (size_t)(H + 2) * Wp;
    for (int x0 = 0; x0 < W; x0 += CB_X) {
        __m512 acc[CB_OC][2];
        for (int o = 0; o < CB_OC; o++)
            acc[o][0] = acc[o][1] = _mm512_set1_ps(bias ? bias[o0 + o] : 0.0f);
        for (int c = 0; c < C2; c++) {
            const uint32_t *src = pad + c * plane + (size_t)y * Wp + x0;
            const uint32_t *w = w2 + ((size_t)o0 * C2 + c) * 9;
#pragma GCC unroll 9
            for (int t = 0; t < 9; t++) {
                const uint32_t *s = src + (t / 3) * Wp + t % 3;
                __m512bh in0 = (__m512bh)_mm512_loadu_si512(s), in1 = (__m512bh)_mm512_loadu_si512(s + 16);
#pragma GCC unroll 8
                for (int o = 0; o < CB_OC; o++) {
                    __m512bh k = (__m512bh)_mm512_set1_epi32((int)w[(size_t)o * C2 * 9 + t]);
                    acc[o][0] = _mm512_dpbf16_ps(acc[o][0], in0, k);
                    acc[o][1] = _mm512_dpbf16_ps(acc[o][1], in1, k);
                }
            }
        }
        int n = W - x0 < CB_X ? W - x0 : CB_X;
        __mmask16 m0 = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1u);
        __mmask16 m1 = n >= 32 ? 0xffff : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1u);
        for (int o = 0; o < CB_OC; o++) {
            for (int h = 0; h < 2 && post; h++) {
                __m512 v = _mm512_sub_ps(acc[o][h], _mm512_set1_ps(post->mean[o0 + o]));
                v = _mm512_mul_ps(v, _mm512_set1_ps(post->rstd[o0 + o]));
                v = _mm512_mul_ps(v, _mm512_set1_ps(post->gamma[o0 + o]));
                v = _mm512_add_ps(v, _mm512_set1_ps(post->beta[o0 + o]));
                acc[o][h] = _mm512_max_ps(v, _mm512_setzero_ps());
            }
            float *dst = out + (size_t)(o0 + o) * HW + (size_t)y * W + x0;
            _mm512_mask_storeu_ps(dst, m0, acc[o][0]);
            _mm512_mask_storeu_ps(dst + 16, m1, acc[o][1]);
        }
    }
}

/* Lane n of lo and of hi as the bf16 pair n (lo in the low half). */
CB_TARGET static __m512i cb_pack_pairs(__m512 lo, __m512 hi)
{
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

/* 16 pixels of channels a and b (b may be NULL: zeros) as 16 bf16 pairs. */
CB_TARGET static __m512i cb_pairs16(const float *a, const float *b, __mmask16 m)
{
    return cb_pack_pairs(_mm512_maskz_loadu_ps(m, a), b ? _mm512_maskz_loadu_ps(m, b) : _mm512_setzero_ps());
}

/* Row r of channel pair c of one image into the padded pair planes (its own function: an
 * OpenMP loop body is outlined without the caller's target attribute under clang). */
CB_TARGET static void cb_pack_row(uint32_t *pad, const float *x, int c, int r, int C, int H, int W, int Wp,
                                  size_t plane)
{
    const float *a = x + ((size_t)(2 * c) * H + r) * W, *bb = 2 * c + 1 < C ? a + (size_t)H * W : NULL;
    uint32_t *dst = pad + c * plane + (size_t)(r + 1) * Wp + 1;
    for (int q = 0; q < W; q += 16) {
        int n = W - q < 16 ? W - q : 16;
        __mmask16 m = (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1u);
        _mm512_mask_storeu_epi32(dst + q, m, cb_pairs16(a + q, bb ? bb + q : NULL, m));
    }
}

CB_TARGET int conv2d_forward_direct_bf16(float *out, float *scratch, const float *inp, const float *weight,
                                         const float *bias, const conv_bn_relu *post, int B, int C, int H, int W,
                                         int OC)
{
    int C2 = (C + 1) / 2, Wp = cb_wp(W);
    size_t plane = (size_t)(H + 2) * Wp;
    uint32_t *w2 = gemm_pack_arena((size_t)OC * C2 * 9);
    if (!w2 || OC % CB_OC || (size_t)C2 * plane > conv2d_scratch_floats(C, H, W, 3, 1))
        return 0;
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C2; c++)
            for (int t = 0; t < 9; t++) {
                float lo = weight[((size_t)o * C + 2 * c) * 9 + t];
                float hi = 2 * c + 1 < C ? weight[((size_t)o * C + 2 * c + 1) * 9 + t] : 0.0f;
                __m512i p = cb_pairs16(&lo, &hi, 1);
                w2[((size_t)o * C2 + c) * 9 + t] = (uint32_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(p));
            }
    /* as many images' padded planes as the scratch holds (the thin layers' im2col-sized scratch
     * holds the whole batch's at the presets' sizes), so that one pair of parallel loops serves
     * them all: 2 joins per group of images instead of 2 per image */
    size_t img_words = (size_t)C2 * plane, HW = (size_t)H * W;
    int G = (int)(conv2d_scratch_floats(C, H, W, 3, 1) / img_words), blocks = OC / CB_OC;
    G = G < B ? G : B;
    uint32_t *pad = (uint32_t *)scratch;
    memset(pad, 0, (size_t)G * img_words * sizeof(uint32_t));   /* the borders stay zero */
    for (int b0 = 0; b0 < B; b0 += G) {
        int g = B - b0 < G ? B - b0 : G, rows = C2 * H, tasks = blocks * H;
        const float *x = inp + (size_t)b0 * C * HW;
        C2_OMP(parallel for schedule(static) if((size_t)g * C * HW > C2_PAR_MIN))
        for (int i = 0; i < g * rows; i++)
            cb_pack_row(pad + (size_t)(i / rows) * img_words, x + (size_t)(i / rows) * C * HW, i % rows / H,
                        i % H, C, H, W, Wp, plane);
        float *y = out + (size_t)b0 * OC * HW;
        C2_OMP(parallel for schedule(static) if((size_t)g * OC * HW > C2_PAR_MIN))
        for (int i = 0; i < g * tasks; i++)
            cb_row(y + (size_t)(i / tasks) * OC * HW, pad + (size_t)(i / tasks) * img_words, w2, bias, post, C2, H,
                   W, Wp, i % tasks / H * CB_OC, i % H);
    }
    return 1;
}

/* Lanes lo..hi-1 of 16 (clamped). */
static __mmask16 cb_lanes(int lo, int hi)
{
    lo = lo < 0 ? 0 : lo, hi = hi > 16 ? 16 : hi;
    return hi <= lo ? 0 : (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* Input row iy of channel c at columns i.. (lanes of m; the rest 0) of a stride-1 layer, one
 * 32-column panel that lies in one output row: masks per kx, a zero mask for rows outside. */
typedef struct {
    const float *x;
    int H, W, pad, i0;
    __mmask16 m[3][2];
} cb_panel_row;

CB_TARGET static inline void cb_load_row(__m512 v[2], const cb_panel_row *t, int c, int iy, int kx)
{
    int inside = iy >= 0 && iy < t->H;
    const float *src = t->x + ((size_t)c * t->H + (inside ? iy : 0)) * t->W + t->i0 + kx;
    v[0] = _mm512_maskz_loadu_ps(inside ? t->m[kx][0] : 0, src);   /* masked lanes are not read */
    v[1] = _mm512_maskz_loadu_ps(inside ? t->m[kx][1] : 0, src + 16);
}

/* Any panel (narrow maps, stride 2): per tap (ky, kx) and lane, the offset of its input pixel
 * in a channel plane and whether it lies inside the image, then each im2col row (c, tap) is a
 * masked gather from channel c (lanes outside the image or past nc read as 0). */
CB_TARGET static void cb_fill_gather(uint32_t *dst, const conv_im2col_panel *f, int Wo, size_t q0, int k0, int kc,
                                     int nc)
{
    int K = f->K, KK = K * K, pad = K / 2;
    int off[9][32] __attribute__((aligned(64)));
    __mmask16 m[9][2];
    for (int t = 0; t < KK; t++) {
        m[t][0] = m[t][1] = 0;
        for (int n = 0; n < 32; n++) {
            size_t q = q0 + (size_t)n;
            int iy = (int)(q / (size_t)Wo) * f->stride + t / K - pad, ix = (int)(q % (size_t)Wo) * f->stride + t % K - pad;
            int ok = n < nc && iy >= 0 && iy < f->H && ix >= 0 && ix < f->W;
            off[t][n] = ok ? iy * f->W + ix : 0;
            m[t][n / 16] |= (__mmask16)(ok << (n % 16));
        }
    }
    size_t plane = (size_t)f->H * f->W;
    int c = k0 / KK, t = k0 % KK;
    for (int p = 0; p < (kc + 1) / 2; p++) {
        __m512 v[2][2] = {{_mm512_setzero_ps(), _mm512_setzero_ps()}, {_mm512_setzero_ps(), _mm512_setzero_ps()}};
        for (int r = 0; r <= (2 * p + 1 < kc); r++) {
            const float *x = f->x + (size_t)c * plane;
            for (int h = 0; h < 2; h++)
                v[r][h] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m[t][h], _mm512_load_si512(off[t] + 16 * h), x, 4);
            if (++t == KK)
                t = 0, c++;
        }
        _mm512_storeu_si512(dst + (size_t)p * 32, cb_pack_pairs(v[0][0], v[1][0]));
        _mm512_storeu_si512(dst + (size_t)p * 32 + 16, cb_pack_pairs(v[0][1], v[1][1]));
    }
}

/* The fill (K <= 3). Where the panel's columns lie in one output row of a stride-1 layer (maps
 * at least 32 wide), each im2col row (c, ky, kx) is two masked loads of the input row straight
 * into registers (lanes whose input column lies outside the image read as 0); elsewhere
 * gathers (cb_fill_gather). Two rows make one row of pairs. */
CB_TARGET void conv_im2col_fill_bf16(uint32_t *dst, const void *ctx, int k0, int kc, int n0, int nc)
{
    const conv_im2col_panel *f = ctx;
    int K = f->K, pad = K / 2, Wo = conv2d_out_size(f->W, K, f->stride);
    size_t q0 = f->p0 + (size_t)n0;
    int oy = (int)(q0 / (size_t)Wo), a = (int)(q0 % (size_t)Wo), kp = (kc + 1) / 2;
    if (f->stride != 1 || a + nc > Wo) {
        cb_fill_gather(dst, f, Wo, q0, k0, kc, nc);
        return;
    }
    int c = k0 / (K * K), ky = k0 / K % K, kx = k0 % K;
    cb_panel_row t = {f->x, f->H, f->W, pad, a - pad, {{0}}};
    for (int j = 0; j < K; j++)
        for (int h = 0; h < 2; h++) {
            int i = a - pad + j + 16 * h;   /* input column of lane 0 */
            t.m[j][h] = cb_lanes(-i, f->W - i) & cb_lanes(0, nc - 16 * h);
        }
    for (int p = 0; p < kp; p++) {
        __m512 lo[2], hi[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
        cb_load_row(lo, &t, c, oy + ky - pad, kx);
        if (++kx == K && (kx = 0, ++ky == K))
            ky = 0, c++;
        if (2 * p + 1 < kc) {
            cb_load_row(hi, &t, c, oy + ky - pad, kx);
            if (++kx == K && (kx = 0, ++ky == K))
                ky = 0, c++;
        }
        _mm512_storeu_si512(dst + (size_t)p * 32, cb_pack_pairs(lo[0], hi[0]));
        _mm512_storeu_si512(dst + (size_t)p * 32 + 16, cb_pack_pairs(lo[1], hi[1]));
    }
}

#else

int conv2d_forward_direct_bf16(float *out, float *scratch, const float *inp, const float *weight, const float *bias,
                               const conv_bn_relu *post, int B, int C, int H, int W, int OC)
{
    (void)out, (void)scratch, (void)inp, (void)weight, (void)bias, (void)post, (void)B, (void)C, (void)H, (void)W,
        (void)OC;
    return 0;
}

void conv_im2col_fill_bf16(uint32_t *dst, const void *ctx, int k0, int kc, int n0, int nc)
{
    (void)dst, (void)ctx, (void)k0, (void)kc, (void)n0, (void)nc;
}

#endif
