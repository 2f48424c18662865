/* duala: the DualA fusion baseline (METHOD.md §5, c2seg_ref.py `DualA`) as one forward /
 * backward pair; declarations in model/fusion.h. Attention updates only the text tokens
 * (softmax over pixels, no mask), then every pixel reads the updated tokens (softmax over
 * tokens, pads −inf). Linear layers, not KAN. Compiled once per precision by including
 * itself (as model/fusion.c): the float build uses the sgemm linear kernels, the double
 * build their plain-loop twins, so the same composition is checked in double. */
#ifndef C2_REAL

#include "model/fusion.h"

#include "model/attention.h"
#include "model/layers.h"

#include <math.h>
#include <string.h>

#define C2_REAL float
#define C2_FN(name) name
#define LINEAR_FORWARD linear_forward
#define LINEAR_BACKWARD linear_backward
#include "model/duala.c"
#undef C2_REAL
#undef C2_FN
#undef LINEAR_FORWARD
#undef LINEAR_BACKWARD

#define C2_REAL double
#define C2_FN(name) name##_f64
#define LINEAR_FORWARD linear_forward_reference_f64
#define LINEAR_BACKWARD linear_backward_reference_f64
#include "model/duala.c"
#undef C2_REAL
#undef C2_FN
#undef LINEAR_FORWARD
#undef LINEAR_BACKWARD

#else

size_t C2_FN(duala_act_floats)(const bcam_dims *d)
{
    size_t BP = (size_t)d->B * d->P, BN = (size_t)d->B * d->N, C = (size_t)d->C;
    /* V Vn q k v F y out; mean_v rstd_v; Ln; mean_l rstd_l; l l2; Sl Sv */
    return 8 * BP * C + 2 * BP + BN * d->ca + 2 * BN + 2 * BN * C + 2 * BP * d->N;
}

void C2_FN(duala_acts_carve)(C2_FN(duala_acts) *a, C2_REAL *buf, const bcam_dims *d)
{
    size_t BP = (size_t)d->B * d->P, BN = (size_t)d->B * d->N, C = (size_t)d->C;
    C2_REAL *q = buf;
#define TAKE(field, n) (a->field = q, q += (n))
    TAKE(V, BP * C); TAKE(Vn, BP * C); TAKE(mean_v, BP); TAKE(rstd_v, BP);
    TAKE(Ln, BN * d->ca); TAKE(mean_l, BN); TAKE(rstd_l, BN);
    TAKE(l, BN * C); TAKE(l2, BN * C);
    TAKE(q, BP * C); TAKE(k, BP * C); TAKE(v, BP * C);
    TAKE(Sl, BP * d->N); TAKE(Sv, BP * d->N);
    TAKE(F, BP * C); TAKE(y, BP * C); TAKE(out, BP * C);
#undef TAKE
}

/* Backward temporaries: dy, dF, dq, dk, dv, dVn, dV [B·P·C]; dSv, dAv, dSl, dAl [B·P·N];
 * dl2, dl [B·N·C]; dLn [B·N·ca]. */
size_t C2_FN(duala_scratch_floats)(const bcam_dims *d)
{
    size_t BP = (size_t)d->B * d->P, BN = (size_t)d->B * d->N, C = (size_t)d->C;
    return 7 * BP * C + 4 * BP * d->N + 2 * BN * C + BN * d->ca;
}

void C2_FN(duala_forward)(C2_FN(duala_acts) *a, const C2_REAL *x, const C2_REAL *La,
                          const int32_t *m, const C2_FN(duala_params) *p, const bcam_dims *d)
{
    int B = d->B, P = d->P, N = d->N, C = d->C, BP = B * P, BN = B * N;
    C2_REAL s = 1 / sqrt((C2_REAL)C);
    C2_FN(map_to_tokens_forward)(a->V, x, B, C, P);
    C2_FN(layernorm_forward)(a->Vn, a->mean_v, a->rstd_v, a->V, p->ln_v_weight, p->ln_v_bias, BP, C);
    C2_FN(layernorm_forward)(a->Ln, a->mean_l, a->rstd_l, La, p->ln_l_weight, p->ln_l_bias, BN, d->ca);
    LINEAR_FORWARD(a->l, a->Ln, p->l_proj_weight, p->l_proj_bias, BN, d->ca, C);
    LINEAR_FORWARD(a->q, a->Vn, p->q_weight, p->q_bias, BP, C, C);
    LINEAR_FORWARD(a->k, a->Vn, p->k_weight, p->k_bias, BP, C, C);
    LINEAR_FORWARD(a->v, a->Vn, p->v_weight, p->v_bias, BP, C, C);
    /* text update: each token reads the pixels, l2 = l + softmax_p(l kᵀ/√C) v */
    C2_FN(matmul_batched_forward)(a->Sl, a->l, a->k, s, 1, B, N, C, P);
    C2_FN(softmax_last_forward)(a->Sl, a->Sl, NULL, B, N, P);
    C2_FN(matmul_batched_forward)(a->l2, a->Sl, a->v, 1, 0, B, N, P, C);
    C2_FN(add_forward)(a->l2, a->l, a->l2, (size_t)BN * C);
    /* vision reads the updated valid tokens: F = softmax_n(q l2ᵀ/√C, pads −inf) l2 */
    C2_FN(matmul_batched_forward)(a->Sv, a->q, a->l2, s, 1, B, P, C, N);
    C2_FN(softmax_last_forward)(a->Sv, a->Sv, m, B, P, N);
    C2_FN(matmul_batched_forward)(a->F, a->Sv, a->l2, 1, 0, B, P, N, C);
    LINEAR_FORWARD(a->y, a->F, p->out_weight, p->out_bias, BP, C, C);
    C2_FN(tokens_to_map_forward)(a->out, a->y, B, C, P);
    C2_FN(add_forward)(a->out, x, a->out, (size_t)BP * C);
}

void C2_FN(duala_backward)(C2_REAL *dx, C2_REAL *dLa, const C2_FN(duala_params) *g,
                           const C2_REAL *dout, const C2_FN(duala_acts) *a, const C2_REAL *La,
                           const C2_FN(duala_params) *p, const bcam_dims *d, C2_REAL *scratch)
{
    int B = d->B, P = d->P, N = d->N, C = d->C, BP = B * P, BN = B * N;
    size_t nPC = (size_t)BP * C, nPN = (size_t)BP * N, nNC = (size_t)BN * C;
    C2_REAL s = 1 / sqrt((C2_REAL)C);
    memset(scratch, 0, C2_FN(duala_scratch_floats)(d) * sizeof(C2_REAL));
    C2_REAL *dy = scratch, *dF = dy + nPC, *dq = dF + nPC, *dk = dq + nPC, *dv = dk + nPC;
    C2_REAL *dVn = dv + nPC, *dV = dVn + nPC, *dSv = dV + nPC, *dAv = dSv + nPN;
    C2_REAL *dSl = dAv + nPN, *dAl = dSl + nPN, *dl2 = dAl + nPN, *dl = dl2 + nNC, *dLn = dl + nNC;

    for (size_t i = 0; i < nPC; i++)   /* residual: out = x + map(y) */
        dx[i] += dout[i];
    C2_FN(map_to_tokens_forward)(dy, dout, B, C, P);
    LINEAR_BACKWARD(dF, g->out_weight, g->out_bias, dy, a->F, p->out_weight, BP, C, C);
    /* F = Sv l2, Sv = softmax_n(Av), Av = q l2ᵀ/√C */
    C2_FN(matmul_batched_backward)(dSv, dl2, dF, a->Sv, a->l2, 1, 0, B, P, N, C);
    C2_FN(softmax_last_backward)(dAv, dSv, a->Sv, B, P, N);
    C2_FN(matmul_batched_backward)(dq, dl2, dAv, a->q, a->l2, s, 1, B, P, C, N);
    /* l2 = l + Sl v, Sl = softmax_p(Al), Al = l kᵀ/√C */
    for (size_t i = 0; i < nNC; i++)
        dl[i] += dl2[i];
    C2_FN(matmul_batched_backward)(dSl, dv, dl2, a->Sl, a->v, 1, 0, B, N, P, C);
    C2_FN(softmax_last_backward)(dAl, dSl, a->Sl, B, N, P);
    C2_FN(matmul_batched_backward)(dl, dk, dAl, a->l, a->k, s, 1, B, N, C, P);
    LINEAR_BACKWARD(dVn, g->q_weight, g->q_bias, dq, a->Vn, p->q_weight, BP, C, C);
    LINEAR_BACKWARD(dVn, g->k_weight, g->k_bias, dk, a->Vn, p->k_weight, BP, C, C);
    LINEAR_BACKWARD(dVn, g->v_weight, g->v_bias, dv, a->Vn, p->v_weight, BP, C, C);
    LINEAR_BACKWARD(dLn, g->l_proj_weight, g->l_proj_bias, dl, a->Ln, p->l_proj_weight, BN, d->ca, C);
    C2_FN(layernorm_backward)(dV, g->ln_v_weight, g->ln_v_bias, dVn, a->V, a->mean_v, a->rstd_v,
                              p->ln_v_weight, BP, C);
    C2_FN(layernorm_backward)(dLa, g->ln_l_weight, g->ln_l_bias, dLn, La, a->mean_l, a->rstd_l,
                              p->ln_l_weight, BN, d->ca);
    C2_FN(map_to_tokens_backward)(dx, dV, B, C, P);
}

#endif
