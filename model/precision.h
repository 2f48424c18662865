/* precision: the engine's inference precision. fp32 everywhere (the default, and always
 * training), or bf16 products where the CPU has them: the heavy GEMMs of an eval forward
 * (convolutions' im2col / pointwise GEMMs, linear layers, KANLinear's fused GEMM) round
 * both operands to bfloat16 (round to nearest even) and sum the products in fp32
 * accumulators (AVX512_BF16 `vdpbf16ps`, model/gemm_bf16.c). Everything else (im2col,
 * norms, activations, softmax, attention, losses) stays fp32. docs/engine.md, "bf16".
 *
 * Dispatch at run time: the kernel is compiled with a target attribute, so the rest of the
 * build stays portable, and runs only where CPUID reports AVX512F + AVX512BW + AVX512_BF16
 * and the OS saves the AVX-512 state (XGETBV). Elsewhere bf16 and auto fall back to fp32. */
#ifndef C2SEG_MODEL_PRECISION_H
#define C2SEG_MODEL_PRECISION_H

#include <cblas.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { PRECISION_FP32 = 0, PRECISION_BF16 = 1, PRECISION_AUTO = 2 } precision_mode;

/* "fp32" / "bf16" / "auto" -> the mode; -1 for anything else. */
int precision_parse(const char *s);
const char *precision_name(int mode);
/* 1 when this CPU and OS can run the bf16 kernel. $C2SEG_BF16_CPU=0 pretends they cannot
 * (the test hook for the fallback on a machine that has bf16). */
int precision_cpu_bf16(void);
/* The precision a request runs at: PRECISION_BF16 for bf16 or auto where precision_cpu_bf16(),
 * else PRECISION_FP32. */
int precision_resolve(int requested);
/* The mode in $C2SEG_PRECISION ("fp32" when unset); -1 when it holds anything else. */
int precision_from_env(void);

/* The precision c2seg_workspace_create gives new workspaces (resolved; PRECISION_FP32 unless
 * set): predict and eval set it from --precision; training never does. */
void precision_set_inference(int resolved);
int precision_inference(void);

/* The precision the GEMMs below run at now (PRECISION_FP32 unless set). c2seg_forward sets
 * its workspace's precision for the span of an eval forward and restores it after; a train
 * forward and every backward run fp32. Like every engine function, not thread-safe. */
int gemm_precision(void);
void gemm_precision_set(int resolved);

/* C (M,N) = op(A) (M,K) op(B) (K,N), + C when beta == 1 (beta 0 or 1), row-major, one
 * thread: cblas_sgemm with alpha 1 at fp32, gemm_bf16 at bf16. */
void engine_gemm(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc);
/* The bf16 GEMM itself (same arguments): operands rounded to bf16 as they are packed, fp32
 * sums. Only where precision_cpu_bf16() is true (it does nothing on a build without the
 * kernel). Thread-safe: its packing buffers are per thread. */
void gemm_bf16(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc);
/* Prepacked operands, for a weight shared by many calls (every band and image of a
 * convolution, every row block of a KANLinear): gemm_bf16_pack_a packs op(A) (M,K),
 * gemm_bf16_pack_b op(B) (K,N) into gemm_bf16_pack_words(M or N, K) words, converted once;
 * gemm_bf16_packed takes either one prepacked (the pointer) or not (NULL: op(A) / op(B)
 * from the floats, packed as it goes). */
size_t gemm_bf16_pack_words(int rows, int K);
void gemm_bf16_pack_a(uint32_t *dst, enum CBLAS_TRANSPOSE ta, const float *A, int lda, int M, int K);
void gemm_bf16_pack_b(uint32_t *dst, enum CBLAS_TRANSPOSE tb, const float *B, int ldb, int K, int N);
/* Parts of those layouts, for operands made a few rows at a time (a KANLinear's operand and
 * fused weight, model/kan.c): gemm_bf16_pack_a_rows packs rows m0 .. m0+mr-1 (m0 a multiple
 * of 8; row m0 at A) of an M-row prepacked op(A) (M,K); gemm_bf16_pack_b_cols packs columns
 * n0 .. n0+nc-1 of an N-column prepacked op(B) (K,N) from Bt, column n0+j at Bt + j·ldb with
 * its K values contiguous (the columns past N of the last panel are zeroed with column N-1).
 * Any set of calls that covers every row (column) once gives gemm_bf16_pack_a's (_b's) words. */
void gemm_bf16_pack_a_rows(uint32_t *dst, int M, int m0, const float *A, int lda, int mr, int K);
void gemm_bf16_pack_b_cols(uint32_t *dst, int N, int n0, const float *Bt, int ldb, int nc, int K);
void gemm_bf16_packed(const uint32_t *apack, enum CBLAS_TRANSPOSE ta, const float *A, int lda,
                      const uint32_t *bpack, enum CBLAS_TRANSPOSE tb, const float *B, int ldb, int M, int N, int K,
                      float beta, float *C, int ldc);
/* B panels written by the caller (a convolution's im2col columns, straight from the image):
 * fill(dst, ctx, k0, kc, n0, nc) writes op(B) rows k0..k0+kc-1, columns n0..n0+nc-1 (nc <= 32)
 * as (kc + 1) / 2 rows of 32 pairs, dst[p * 32 + n] = (B[k0+2p, n0+n], B[k0+2p+1, n0+n]), zero
 * pairs past nc and a zero high half past kc. gemm_bf16_packed_fill: C (M,N) = A B with A
 * prepacked (gemm_bf16_pack_a), beta 0; each element sums as gemm_bf16_packed's does. */
typedef void (*gemm_bf16_fill)(uint32_t *dst, const void *ctx, int k0, int kc, int n0, int nc);
/* An epilogue on row m of C as the sums leave the registers (NULL: none; a convolution's
 * bias, eval BatchNorm and ReLU): v = sum (+ bias[m] where bias), then where mean:
 * v = max((v - mean[m]) * rstd[m] * gamma[m] + beta[m], 0); the float operations, in order,
 * of model/conv.c's separate pass over the stored sums, so the values are the same. */
typedef struct gemm_bf16_post {
    const float *bias, *mean, *rstd, *gamma, *beta;
} gemm_bf16_post;
void gemm_bf16_packed_fill(const uint32_t *apack, gemm_bf16_fill fill, const void *ctx, int M, int N, int K,
                           float *C, int ldc, const gemm_bf16_post *post);
/* The buffer an eval forward at bf16 packs each layer's weight into (the workspace's,
 * set by c2seg_forward with gemm_precision_set), or NULL at fp32 or when the weight needs
 * more than its `words`: the caller then lets gemm_bf16 pack per call. */
void gemm_pack_arena_set(uint32_t *p, size_t words);
uint32_t *gemm_pack_arena(size_t words);
/* Weights packed once per model rather than once per forward (a KANLinear's fused weight):
 * a cache of packed operands, one per weight (its key: the address of its first parameter),
 * each recorded with a stamp of the parameters' bits (gemm_weights_stamp). An eval forward
 * at bf16 sets its workspace's cache (gemm_pack_cache_set; NULL after). gemm_pack_cached
 * returns the key's buffer of `words` (allocated on first use), with *stale = 1 when the
 * recorded stamp or size differs (the caller then packs into it; the new stamp is recorded);
 * NULL at fp32, without a cache, when it is full or out of memory (the caller packs into
 * gemm_pack_arena as before). Nothing else needs to know who writes the parameters
 * (optimiser steps, checkpoint loads, initialisation, tools): a changed weight changes the
 * stamp. Like every engine function, not thread-safe. */
typedef struct gemm_pack_cache gemm_pack_cache;
gemm_pack_cache *gemm_pack_cache_create(void);
void gemm_pack_cache_free(gemm_pack_cache *c);
void gemm_pack_cache_set(gemm_pack_cache *c);
uint32_t *gemm_pack_cached(const void *key, size_t words, uint64_t stamp, int *stale);
/* The stamp of `count` float arrays (arrays[i] of n[i] floats), in order: the sum mod 2^64 of
 * each float's bits times an odd multiplier of its position, so any one changed float
 * changes it (a multiple of an odd number and a nonzero 32-bit difference is never 0 mod
 * 2^64); several changed floats collide with probability ~2^-64. One pass over the floats. */
uint64_t gemm_weights_stamp(const float *const *arrays, const size_t *n, int count);
/* 1 when this build holds the bf16 kernel (x86-64 with a compiler that knows avx512bf16). */
int gemm_bf16_built(void);

#endif
