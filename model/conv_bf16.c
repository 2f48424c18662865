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

/* 16 pixels of channels a and b (b may be NULL: zeros) as 16 bf16 pairs. */
CB_TARGET static __m512i cb_pairs16(const float *a, const float *b, __mmask16 m)
{
    __m512 lo = _mm512_maskz_loadu_ps(m, a), hi = b ? _mm512_maskz_loadu_ps(m, b) : _mm512_setzero_ps();
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
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
    uint32_t *pad = (uint32_t *)scratch;
    memset(pad, 0, (size_t)C2 * plane * sizeof(uint32_t));   /* the borders stay zero */
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * C * H * W;
        C2_OMP(parallel for schedule(static) if((size_t)C * H * W > C2_PAR_MIN))
        for (int cr = 0; cr < C2 * H; cr++)
            cb_pack_row(pad, x, cr / H, cr % H, C, H, W, Wp, plane);
        float *y = out + (size_t)b * OC * H * W;
        int blocks = OC / CB_OC;
        C2_OMP(parallel for schedule(static) if((size_t)OC * H * W > C2_PAR_MIN))
        for (int task = 0; task < blocks * H; task++)
            cb_row(y, pad, w2, bias, post, C2, H, W, Wp, task / H * CB_OC, task % H);
    }
    return 1;
}

#else

int conv2d_forward_direct_bf16(float *out, float *scratch, const float *inp, const float *weight, const float *bias,
                               const conv_bn_relu *post, int B, int C, int H, int W, int OC)
{
    (void)out, (void)scratch, (void)inp, (void)weight, (void)bias, (void)post, (void)B, (void)C, (void)H, (void)W,
        (void)OC;
    return 0;
}

#endif
