/* attention: the pieces of cross-attention that are not layers of their own —
 * softmax along the last axis with a padding mask, softmax along the middle axis, and
 * batched matrix products — as forward / backward pairs (METHOD.md §5).
 *
 * Scores are (B, R, N): R rows (pixels P, or tokens) by N columns. The mask is the text
 * padding mask m (B, N), int32, 1 = valid: a masked column is −inf before the softmax, so
 * its probability is exactly 0 and it receives no gradient. A row whose columns are all
 * masked yields zeros (torch would give NaN; the text encoder never produces one).
 *
 * Conventions as model/layers.h: forward writes `out`, backward ACCUMULATES (+=); float
 * (`name`) and double (`name_f64`) from one source. The float matmuls call cblas_sgemm,
 * the double ones cblas_dgemm. */
#ifndef C2_REAL
#ifndef C2SEG_MODEL_ATTENTION_H
#define C2SEG_MODEL_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

#define C2_REAL_TWICE "model/attention.h"
#include "model/real_twice.h"

#endif
#else

/* out, inp (B,R,N): softmax over n; mask (B,N) or NULL (no padding). */
void C2_FN(softmax_last_forward)(C2_REAL *out, const C2_REAL *inp, const int32_t *mask,
                                 int B, int R, int N);
/* dinp (B,R,N) += out ⊙ (dout − Σ_n dout ⊙ out); masked entries get 0 since out = 0 there. */
void C2_FN(softmax_last_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *out,
                                  int B, int R, int N);
/* out, inp (B,R,N): softmax over r, each column (b, n) separately, no mask. */
void C2_FN(softmax_middle_forward)(C2_REAL *out, const C2_REAL *inp, int B, int R, int N);
void C2_FN(softmax_middle_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *out,
                                    int B, int R, int N);

/* out (B,M,N) = alpha · a (B,M,K) · b, where b is (B,K,N), or (B,N,K) used transposed when
 * b_transposed != 0. out is overwritten. */
void C2_FN(matmul_batched_forward)(C2_REAL *out, const C2_REAL *a, const C2_REAL *b,
                                   C2_REAL alpha, int b_transposed, int B, int M, int K, int N);
/* da (B,M,K) += alpha · dout · bᵀ; db += alpha · aᵀ · dout (or its transpose); either may
 * be NULL. */
void C2_FN(matmul_batched_backward)(C2_REAL *da, C2_REAL *db, const C2_REAL *dout,
                                    const C2_REAL *a, const C2_REAL *b, C2_REAL alpha,
                                    int b_transposed, int B, int M, int K, int N);

#endif
