/* layers: the engine's core layers (METHOD.md §3) as forward / backward pairs on plain
 * pointers, in the style of llm.c.
 *
 * Conventions (docs/engine.md has the long form):
 * - Maps are NCHW (B,C,H,W); tokens are (B,P,C) with p = y*W + x. Shapes are written in
 *   the comment above each function.
 * - `x_forward(out, ..., inp, params..., dims)` writes `out` (=, never +=).
 * - `x_backward(dinp, dparams..., dout, saved..., dims)` ACCUMULATES (+=) into dinp and
 *   into every parameter gradient, so skip connections and shared inputs compose without
 *   copies; the caller zeroes the gradient arenas once per step. A NULL dinp / dbias is
 *   skipped (the first layer needs no input gradient).
 * - Nothing here allocates. Kernels that need scratch memory take a `scratch` pointer
 *   whose size a `*_scratch_floats()` function gives.
 * - Fast kernels (im2col + cblas_sgemm for convolutions, sgemm for linear) are float only.
 *   Every fast kernel has a simple plain-loop twin named `*_reference`; the simple
 *   kernels (and every layer that has no fast version) exist in float (`name`) and
 *   double (`name_f64`), compiled from one source, for the finite-difference checks
 *   (model/layers_real.h lists them).
 * - Reductions (BN / LN statistics, loss sums) accumulate in double in both precisions.
 * - Threads: see model/threads.h (our loops run on the calling thread; OpenBLAS owns the
 *   worker threads). */
#ifndef C2SEG_MODEL_LAYERS_H
#define C2SEG_MODEL_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1
#define LN_EPS 1e-5
#define DICE_SMOOTH 1.0

/* ---- convolution, fast path (conv.c) ---- */

/* Output side of a KxK convolution with padding K/2 (K = 1 or 3): (H + 2*(K/2) - K)/stride + 1. */
int conv2d_out_size(int H, int K, int stride);
/* Floats of scratch that conv2d_forward / conv2d_backward need: one image's im2col
 * matrix (C*K*K, Ho*Wo) (four images' for maps under 2048 output pixels, which run whole
 * images in parallel), or 0 for a 1x1 stride-1 convolution (which needs none). */
size_t conv2d_scratch_floats(int C, int H, int W, int K, int stride);
/* out (B,OC,Ho,Wo) = conv(inp (B,C,H,W), weight (OC,C,K,K)) + bias (OC, or NULL);
 * padding K/2, groups 1. im2col + sgemm (pixel bands, or whole images for small maps), or a
 * direct 3x3 kernel for thin layers on AVX2 builds (model/conv.c, docs/engine.md). */
void conv2d_forward(float *out, float *scratch, const float *inp, const float *weight,
                    const float *bias, int B, int C, int H, int W, int OC, int K, int stride);
/* Eval-mode BatchNorm (mean, rstd from batchnorm_eval_stats; gamma, beta) and ReLU, per
 * output channel, applied by conv2d_forward_bn_relu as it stores each block of outputs. */
typedef struct conv_bn_relu {
    const float *mean, *rstd, *gamma, *beta;
} conv_bn_relu;
/* out = max((conv2d_forward(...) - mean[o]) * rstd[o] * gamma[o] + beta[o], 0): the same float
 * operations in the same order as conv2d_forward, batchnorm_forward (train 0) and
 * relu_forward run one after another, so the result is bit-identical to theirs, without the
 * two passes over the map (and without the convolution's and BN's outputs: inference only). */
void conv2d_forward_bn_relu(float *out, float *scratch, const float *inp, const float *weight, const float *bias,
                            const conv_bn_relu *bn, int B, int C, int H, int W, int OC, int K, int stride);
/* The eval-mode DW-BN-ReLU of a KANBlock on tokens: out (B,P,C) = max(BN(dwconv3_forward(
 * tokens_to_map(inp (B,P,C)))), 0) back in token order, P = H*W; weight (C,1,3,3), bias (C)
 * or NULL. The same float operations per output as dwconv3_forward (taps in the same order,
 * a tap in the padding adding w * 0), batchnorm_forward (train 0) and relu_forward, so the
 * result is bit-identical to those passes and the two transposes around them, which it
 * replaces (vectorised over channels instead). out must not alias inp. */
void dwconv3_bn_relu_tokens(float *out, const float *inp, const float *weight, const float *bias,
                            const conv_bn_relu *bn, int B, int C, int H, int W);
/* The direct 3x3 stride-1 path at bf16 (model/conv_bf16.c; OC a multiple of 8): input
 * channels in bf16 pairs, the weight packed into the eval forward's bf16 buffer
 * (gemm_pack_arena), fp32 sums, then bias / BN + ReLU as conv2d_forward_bn_relu (post may be
 * NULL). Returns 0 without running where it cannot (no bf16 kernel in this build, no pack
 * buffer at the current precision, or a scratch of conv2d_scratch_floats too small). */
int conv2d_forward_direct_bf16(float *out, float *scratch, const float *inp, const float *weight, const float *bias,
                               const conv_bn_relu *post, int B, int C, int H, int W, int OC);
/* The im2col path at bf16 (model/conv_bf16.c): the columns p0.. of one image x (C,H,W) of a
 * K x K (K <= 3) convolution (padding K/2, any stride) written straight into the bf16 GEMM's
 * B panels, a gemm_bf16_fill (model/precision.h) with a conv_im2col_panel as its context; the
 * values are those of the fp32 im2col matrix, rounded as gemm_bf16 rounds them. */
typedef struct {
    const float *x;
    int H, W, K, stride;
    size_t p0;
} conv_im2col_panel;
void conv_im2col_fill_bf16(uint32_t *dst, const void *ctx, int k0, int kc, int n0, int nc);
/* dinp (B,C,H,W) or NULL, dweight (OC,C,K,K), dbias (OC) or NULL: all +=.
 * dout (B,OC,Ho,Wo); inp and weight as in the forward. */
void conv2d_backward(float *dinp, float *dweight, float *dbias, float *scratch,
                     const float *dout, const float *inp, const float *weight,
                     int B, int C, int H, int W, int OC, int K, int stride);

/* ---- linear, fast path (linear.c) ---- */

/* out (M,OC) = inp (M,C) weight(OC,C)^T + bias (OC, or NULL); one sgemm. */
void linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                    int M, int C, int OC);
/* dinp (M,C) or NULL, dweight (OC,C), dbias (OC) or NULL: all +=. */
void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, int M, int C, int OC);

/* ---- the simple kernels, in float and in double (suffix _f64) ---- */
#define C2_REAL_TWICE "model/layers_real.h"
#include "model/real_twice.h"

#endif
