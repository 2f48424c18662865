/* fusion: BCAM (Bi-directional Complementary Attention Module) with and without K-Gate,
 * exactly METHOD.md §5 / c2seg_ref.py `BCAM`, `KGate`, as one forward / backward pair.
 *
 *   x (B,C,h,w) map, La (B,N,ca) adapted text, m (B,N) int32 padding mask, P = h·w
 *   V = tokens(x); Vn = LN_v(V); Ln = LN_l(La)
 *   Vk, Vv = KAN_vkey(Vn), KAN_vval(Vn) [B,P,C];  Lk, Lv = KAN_lkey(Ln), KAN_lval(Ln) [B,N,C]
 *   A = Vk Lkᵀ/√C; Sv = softmax_n(A, pads −inf); Fv = Sv Lv
 *   Sl = softmax_p(A); Wl = Sl·m·P/n_valid; Fl = Vv ⊙ (Wl Lv)
 *   kgate: F ← F ⊙ tanh(KAN2(ReLU(KAN1(F)))) for Fv and Fl (own KANs, C → C/4 → C)
 *   out = x + conv1x1([Fv, Fl])  (2C → C, bias; as a linear over tokens)
 *
 * The float version runs the fast KAN and linear kernels; the double version (`_f64`)
 * runs their reference twins, for finite-difference checks. Every KAN uses the same knots
 * `grid` (the reference's per-module grid buffers are all the default grid).
 * Backward ACCUMULATES (+=) into dx, dLa (may be NULL) and every parameter gradient. */
#ifndef C2_REAL
#ifndef C2SEG_MODEL_FUSION_H
#define C2SEG_MODEL_FUSION_H

#include <stddef.h>
#include <stdint.h>

#include "model/kan.h"

/* Sizes of one BCAM call. */
typedef struct bcam_dims {
    int B, P, N;   /* batch, pixels h·w, text tokens */
    int C, ca;     /* vision channels (= key width d), text adapter width */
    int kgate;     /* 1 = with K-Gate (hidden width C/4) */
} bcam_dims;

#define C2_REAL float
#define C2_FN(name) name
#define C2_KAN kan_linear_params
#include "model/fusion.h"
#undef C2_REAL
#undef C2_FN
#undef C2_KAN
#define C2_REAL double
#define C2_FN(name) name##_f64
#define C2_KAN kan_linear_params_f64
#include "model/fusion.h"
#undef C2_REAL
#undef C2_FN
#undef C2_KAN

#endif
#else

/* Parameters (state names of METHOD.md §5), or their gradients. gate_* unused without K-Gate. */
typedef struct C2_FN(bcam_params) {
    C2_REAL *ln_v_weight, *ln_v_bias;   /* [C] */
    C2_REAL *ln_l_weight, *ln_l_bias;   /* [ca] */
    C2_KAN v_key, v_val;                /* KANLinear(C, C) */
    C2_KAN l_key, l_val;                /* KANLinear(ca, C) */
    C2_KAN gate_v1, gate_v2;            /* KANLinear(C, C/4), KANLinear(C/4, C) */
    C2_KAN gate_l1, gate_l2;
    C2_REAL *out_weight;                /* [C, 2C] (the 1x1 conv's [C, 2C, 1, 1]) */
    C2_REAL *out_bias;                  /* [C] */
} C2_FN(bcam_params);

/* Saved activations, carved from one buffer of bcam_act_floats() floats. Names follow the
 * reference's record (`act.fuse4.A`, `.Sv`, `.Sl`, `.Fv`, `.Fl`, `.gv`, `.gl`, `.out`). */
typedef struct C2_FN(bcam_acts) {
    C2_REAL *V, *Vn, *mean_v, *rstd_v;  /* [B,P,C], [B,P,C], [B·P], [B·P] */
    C2_REAL *Ln, *mean_l, *rstd_l;      /* [B,N,ca], [B·N], [B·N] */
    C2_REAL *Vk, *Vv, *Lk, *Lv;         /* [B,P,C] x2, [B,N,C] x2 */
    C2_REAL *A, *Sv, *Sl, *Wl;          /* [B,P,N] */
    C2_REAL *G, *Fv, *Fl;               /* [B,P,C]; G = Wl Lv */
    C2_REAL *hv, *rv, *gv;              /* K-Gate of Fv: KAN1 out, ReLU [B,P,C/4]; tanh [B,P,C] */
    C2_REAL *hl, *rl, *gl;              /* K-Gate of Fl */
    C2_REAL *cat;                       /* [B,P,2C]: gated Fv then gated Fl per token */
    C2_REAL *y;                         /* [B,P,C]: the 1x1 conv as tokens */
    C2_REAL *out;                       /* [B,C,h,w] */
} C2_FN(bcam_acts);

size_t C2_FN(bcam_act_floats)(const bcam_dims *d);
void C2_FN(bcam_acts_carve)(C2_FN(bcam_acts) *a, C2_REAL *buf, const bcam_dims *d);
/* Scratch floats for forward and backward (KAN fast-path scratch + backward temporaries). */
size_t C2_FN(bcam_scratch_floats)(const bcam_dims *d);

/* x (B,C,h,w), La (B,N,ca), m (B,N) -> a->out (B,C,h,w) and every saved activation. */
void C2_FN(bcam_forward)(C2_FN(bcam_acts) *a, const C2_REAL *x, const C2_REAL *La,
                         const int32_t *m, const C2_FN(bcam_params) *p, const C2_REAL *grid,
                         const bcam_dims *d, C2_REAL *scratch);
/* dout (B,C,h,w) -> dx (B,C,h,w) +=, dLa (B,N,ca) += (or NULL), g += parameter gradients. */
void C2_FN(bcam_backward)(C2_REAL *dx, C2_REAL *dLa, const C2_FN(bcam_params) *g,
                          const C2_REAL *dout, const C2_FN(bcam_acts) *a, const C2_REAL *x,
                          const C2_REAL *La, const int32_t *m, const C2_FN(bcam_params) *p,
                          const C2_REAL *grid, const bcam_dims *d, C2_REAL *scratch);

/* ---- DualA (METHOD.md §5 baseline; model/duala.c), sizes in a bcam_dims (kgate unused) ----
 *   Vn = LN_v(V); l = l_proj(LN_l(La)) [B,N,C]; q, k, v = v_q(Vn), v_k(Vn), v_v(Vn) [B,P,C]
 *   Sl = softmax_p(l kᵀ/√C) [B,N,P] (no mask); l2 = l + Sl v [B,N,C]
 *   Sv = softmax_n(q l2ᵀ/√C, pads −inf) [B,P,N]; F = Sv l2 [B,P,C]; out = x + out(F) as a map */
typedef struct C2_FN(duala_params) {
    C2_REAL *ln_v_weight, *ln_v_bias;       /* [C] */
    C2_REAL *ln_l_weight, *ln_l_bias;       /* [ca] */
    C2_REAL *l_proj_weight, *l_proj_bias;   /* [C, ca], [C] */
    C2_REAL *q_weight, *q_bias;             /* v_q: [C, C], [C] */
    C2_REAL *k_weight, *k_bias;             /* v_k */
    C2_REAL *v_weight, *v_bias;             /* v_v */
    C2_REAL *out_weight, *out_bias;         /* out: [C, C], [C] */
} C2_FN(duala_params);

/* Saved activations (names of the reference's record: `.l2`, `.Fv` = F, `.out`). */
typedef struct C2_FN(duala_acts) {
    C2_REAL *V, *Vn, *mean_v, *rstd_v;      /* [B,P,C] x2, [B·P] x2 */
    C2_REAL *Ln, *mean_l, *rstd_l;          /* [B,N,ca], [B·N] x2 */
    C2_REAL *l, *l2;                        /* [B,N,C] */
    C2_REAL *q, *k, *v;                     /* [B,P,C] */
    C2_REAL *Sl;                            /* [B,N,P] */
    C2_REAL *Sv;                            /* [B,P,N] */
    C2_REAL *F, *y;                         /* [B,P,C]: attention output, out(F) as tokens */
    C2_REAL *out;                           /* [B,C,h,w] */
} C2_FN(duala_acts);

size_t C2_FN(duala_act_floats)(const bcam_dims *d);
void C2_FN(duala_acts_carve)(C2_FN(duala_acts) *a, C2_REAL *buf, const bcam_dims *d);
/* Scratch floats for backward (forward needs none). */
size_t C2_FN(duala_scratch_floats)(const bcam_dims *d);

/* x (B,C,h,w), La (B,N,ca), m (B,N) -> a->out (B,C,h,w) and every saved activation. */
void C2_FN(duala_forward)(C2_FN(duala_acts) *a, const C2_REAL *x, const C2_REAL *La,
                          const int32_t *m, const C2_FN(duala_params) *p, const bcam_dims *d);
/* dout (B,C,h,w) -> dx +=, dLa += (or NULL), g += parameter gradients. */
void C2_FN(duala_backward)(C2_REAL *dx, C2_REAL *dLa, const C2_FN(duala_params) *g,
                           const C2_REAL *dout, const C2_FN(duala_acts) *a, const C2_REAL *La,
                           const C2_FN(duala_params) *p, const bcam_dims *d, C2_REAL *scratch);

#endif
