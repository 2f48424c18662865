/* cacl: the stage-I objectives of METHOD.md §6 — CaCL (soft targets from the frozen text)
 * and HardCL (identity targets) — a bidirectional InfoNCE between image embeddings v_raw
 * and text embeddings l_raw, forward and backward w.r.t. both.
 *
 *   Y = cacl_targets(pooled)      (no gradient: the text encoder is frozen)
 *   v = v_raw/max(‖v_raw‖,1e-12), l likewise, s = v lᵀ/τ            [B,B]
 *   L = ½ (−(1/B) Σ_ij Y_ij log softmax_j(s)_ij − (1/B) Σ_ij Y_ji log softmax_i(s)_ij)
 *
 * The optional sample mask of the reference is the caller's job: pass only the valid rows
 * (compact v_raw, l_raw, pooled first), which is what "removed before everything" means.
 * Sums accumulate in double in both precisions. Backward ACCUMULATES (+=).
 * Float (`name`) and double (`name_f64`) from one source. */
#ifndef C2_REAL
#ifndef C2SEG_MODEL_CACL_H
#define C2SEG_MODEL_CACL_H

#include <stddef.h>

#define CACL_TAU 0.07
#define CACL_RHO 0.8

#define C2_REAL_TWICE "model/cacl.h"
#include "model/real_twice.h"

#endif
#else

/* pooled [B,D] -> M, Mp, Yhat, Y, each [B,B]:
 * M = p̂p̂ᵀ, Mp = max(M − rowmean(M), 0), Yhat = softmax_j(Mp/τ), Y = ρ·Yhat + (1−ρ)·I. */
void C2_FN(cacl_targets)(C2_REAL *Y, C2_REAL *M, C2_REAL *Mp, C2_REAL *Yhat,
                         const C2_REAL *pooled, int B, int D, C2_REAL tau, C2_REAL rho);

/* Returns L; writes loss_v2l, loss_l2v (scalars, may be NULL), s [B,B] and the unit
 * vectors v, l [B,D] (saved for backward). Y [B,B], or NULL for HardCL (Y = I). */
C2_REAL C2_FN(contrastive_forward)(C2_REAL *loss_v2l, C2_REAL *loss_l2v, C2_REAL *s,
                                   C2_REAL *v, C2_REAL *l, const C2_REAL *v_raw,
                                   const C2_REAL *l_raw, const C2_REAL *Y, int B, int D,
                                   C2_REAL tau);
/* Floats of scratch contrastive_backward needs: B·B + 2·B·D. */
size_t C2_FN(contrastive_scratch_floats)(int B, int D);
/* dv_raw, dl_raw [B,D] += dloss · dL/d(v_raw, l_raw); s, v, l from the forward. */
void C2_FN(contrastive_backward)(C2_REAL *dv_raw, C2_REAL *dl_raw, C2_REAL dloss,
                                 const C2_REAL *s, const C2_REAL *v, const C2_REAL *l,
                                 const C2_REAL *v_raw, const C2_REAL *l_raw, const C2_REAL *Y,
                                 int B, int D, C2_REAL tau, C2_REAL *scratch);

#endif
