/* fusion: BCAM and K-Gate forward / backward (see fusion.h, METHOD.md §5).
 * Compiled once per precision by including itself (as model/norm.c): the float build uses
 * the fast KAN (kan_linear_forward) and linear (sgemm) kernels, the double build their
 * plain-loop reference twins, so the same composition is checked in double. */
#ifndef C2_REAL

#include "model/fusion.h"

#include "model/attention.h"
#include "model/layers.h"
#include "model/threads.h"

#include <math.h>
#include <string.h>

#define C2_REAL float
#define C2_FN(name) name
#define C2_KAN kan_linear_params
#define KAN_FORWARD(out, inp, p, grid, M, in, oc, scratch) \
    kan_linear_forward(out, inp, p, grid, M, in, oc, scratch)
#define KAN_BACKWARD(dinp, dp, dout, inp, p, grid, M, in, oc, scratch) \
    kan_linear_backward(dinp, dp, dout, inp, p, grid, M, in, oc, scratch)
#define LINEAR_FORWARD linear_forward
#define LINEAR_BACKWARD linear_backward
#include "model/fusion.c"
#undef C2_REAL
#undef C2_FN
#undef C2_KAN
#undef KAN_FORWARD
#undef KAN_BACKWARD
#undef LINEAR_FORWARD
#undef LINEAR_BACKWARD

#define C2_REAL double
#define C2_FN(name) name##_f64
#define C2_KAN kan_linear_params_f64
#define KAN_FORWARD(out, inp, p, grid, M, in, oc, scratch) \
    ((void)(scratch), kan_linear_forward_reference_f64(out, inp, p, grid, M, in, oc))
#define KAN_BACKWARD(dinp, dp, dout, inp, p, grid, M, in, oc, scratch) \
    ((void)(scratch), kan_linear_backward_reference_f64(dinp, dp, dout, inp, p, grid, M, in, oc))
#define LINEAR_FORWARD linear_forward_reference_f64
#define LINEAR_BACKWARD linear_backward_reference_f64
#include "model/fusion.c"
#undef C2_REAL
#undef C2_FN
#undef C2_KAN
#undef KAN_FORWARD
#undef KAN_BACKWARD
#undef LINEAR_FORWARD
#undef LINEAR_BACKWARD

#else

size_t C2_FN(bcam_act_floats)(const bcam_dims *d)
{
    size_t BP = (size_t)d->B * d->P, BN = (size_t)d->B * d->N, C = (size_t)d->C;
    size_t gate = d->kgate ? 2 * (2 * BP * (C / 4) + BP * C) : 0;
    return 2 * BP * C + 2 * BP + BN * d->ca + 2 * BN + 2 * BP * C + 2 * BN * C +
           4 * BP * d->N + 3 * BP * C + gate + 2 * BP * C + BP * C + BP * C;
}

void C2_FN(bcam_acts_carve)(C2_FN(bcam_acts) *a, C2_REAL *buf, const bcam_dims *d)
{
    size_t BP = (size_t)d->B * d->P, BN = (size_t)d->B * d->N, C = (size_t)d->C;
    size_t H = d->kgate ? C / 4 : 0, GC = d->kgate ? C : 0;
    C2_REAL *q = buf;
#define TAKE(field, n) (a->field = q, q += (n))
    TAKE(V, BP * C); TAKE(Vn, BP * C); TAKE(mean_v, BP); TAKE(rstd_v, BP);
    TAKE(Ln, BN * d->ca); TAKE(mean_l, BN); TAKE(rstd_l, BN);
    TAKE(Vk, BP * C); TAKE(Vv, BP * C); TAKE(Lk, BN * C); TAKE(Lv, BN * C);
    TAKE(A, BP * d->N); TAKE(Sv, BP * d->N); TAKE(Sl, BP * d->N); TAKE(Wl, BP * d->N);
    TAKE(G, BP * C); TAKE(Fv, BP * C); TAKE(Fl, BP * C);
    TAKE(hv, BP * H); TAKE(rv, BP * H); TAKE(gv, BP * GC);
    TAKE(hl, BP * H); TAKE(rl, BP * H); TAKE(gl, BP * GC);
    TAKE(cat, 2 * BP * C); TAKE(y, BP * C); TAKE(out, BP * C);
#undef TAKE
}

/* The largest fast-KAN scratch among the module's KANLinear shapes. */
static size_t C2_FN(kan_scratch_max)(const bcam_dims *d)
{
    int BP = d->B * d->P, BN = d->B * d->N, C = d->C;
    size_t s = kan_scratch_floats(BP, C, C), t = kan_scratch_floats(BN, d->ca, C);
    s = s > t ? s : t;
    if (d->kgate) {
        t = kan_scratch_floats(BP, C, C / 4);
        s = s > t ? s : t;
        t = kan_scratch_floats(BP, C / 4, C);
        s = s > t ? s : t;
    }
    return s;
}

/* Backward temporaries: dy, dFv, dFl, dG, dVk, dVv, dVn, dV, dh2 [B·P·C]; dcat [B·P·2C];
 * dSv, dWl, dA [B·P·N]; dLk, dLv [B·N·C]; dLn [B·N·ca]; dr, dh1 [B·P·C/4]. */
static size_t C2_FN(bcam_temp_floats)(const bcam_dims *d)
{
    size_t BP = (size_t)d->B * d->P, BN = (size_t)d->B * d->N, C = (size_t)d->C;
    return 9 * BP * C + 2 * BP * C + 3 * BP * d->N + 2 * BN * C + BN * d->ca + 2 * BP * (C / 4);
}

size_t C2_FN(bcam_scratch_floats)(const bcam_dims *d)
{
    return C2_FN(kan_scratch_max)(d) + C2_FN(bcam_temp_floats)(d);
}

/* F (B·P, C) -> F ⊙ tanh(KAN2(ReLU(KAN1(F)))) written into cat's columns [off, off+C). */
static void C2_FN(kgate_forward)(C2_REAL *cat, int off, C2_REAL *h, C2_REAL *r, C2_REAL *g,
                                 const C2_REAL *F, const C2_KAN *k1, const C2_KAN *k2,
                                 const C2_REAL *grid, int BP, int C, C2_REAL *scratch)
{
    KAN_FORWARD(h, F, k1, grid, BP, C, C / 4, scratch);
    C2_FN(relu_forward)(r, h, (size_t)BP * (C / 4));
    KAN_FORWARD(g, r, k2, grid, BP, C / 4, C, scratch);
    C2_FN(tanh_forward)(g, g, (size_t)BP * C);
    C2_OMP(parallel for schedule(static) if((size_t)BP * C > C2_PAR_MIN))
    for (size_t m = 0; m < (size_t)BP; m++)
        for (int c = 0; c < C; c++)
            cat[m * 2 * C + off + c] = F[m * C + c] * g[m * C + c];
}

/* dcat's columns [off, off+C) -> dF (B·P, C) +=, KAN grads +=. dh2 [B·P·C], dr, dh1
 * [B·P·C/4] are temporaries. */
static void C2_FN(kgate_backward)(C2_REAL *dF, const C2_KAN *dk1, const C2_KAN *dk2,
                                  const C2_REAL *dcat, int off, const C2_REAL *F,
                                  const C2_REAL *h, const C2_REAL *r, const C2_REAL *g,
                                  const C2_KAN *k1, const C2_KAN *k2, const C2_REAL *grid,
                                  int BP, int C, C2_REAL *dh2, C2_REAL *dr, C2_REAL *dh1,
                                  C2_REAL *scratch)
{
    size_t nh = (size_t)BP * (C / 4);
    C2_OMP(parallel for schedule(static) if((size_t)BP * C > C2_PAR_MIN))
    for (size_t m = 0; m < (size_t)BP; m++)
        for (int c = 0; c < C; c++) {
            size_t i = m * C + c;
            C2_REAL go = dcat[m * 2 * C + off + c];
            dF[i] += go * g[i];
            dh2[i] = go * F[i] * (1 - g[i] * g[i]);
        }
    memset(dr, 0, nh * sizeof(C2_REAL));
    memset(dh1, 0, nh * sizeof(C2_REAL));
    KAN_BACKWARD(dr, dk2, dh2, r, k2, grid, BP, C / 4, C, scratch);
    C2_FN(relu_backward)(dh1, dr, h, nh);
    KAN_BACKWARD(dF, dk1, dh1, F, k1, grid, BP, C, C / 4, scratch);
}

/* dst = src · m · P / n_valid over [B, P, N] (dst may be src): the language-dominant weights
 * Wl from Sl in the forward pass, dWl's chain through them in the backward pass. Pads get
 * weight 0 and each token map sums to P over the valid tokens; no valid token: all 0. */
static void C2_FN(token_weight)(C2_REAL *dst, const C2_REAL *src, const int32_t *m, int B, int P, int N)
{
    for (int b = 0; b < B; b++) {
        int nval = 0;
        for (int n = 0; n < N; n++)
            nval += m[(size_t)b * N + n] != 0;
        C2_REAL scale = nval ? (C2_REAL)P / (C2_REAL)nval : 0;
        size_t i0 = (size_t)b * P * N, i1 = (size_t)(b + 1) * P * N;
        C2_OMP(parallel for schedule(static) if(i1 - i0 > C2_PAR_MIN))
        for (size_t i = i0; i < i1; i++)
            dst[i] = src[i] * (C2_REAL)(m[(size_t)b * N + i % N] != 0) * scale;
    }
}

void C2_FN(bcam_forward)(C2_FN(bcam_acts) *a, const C2_REAL *x, const C2_REAL *La,
                         const int32_t *m, const C2_FN(bcam_params) *p, const C2_REAL *grid,
                         const bcam_dims *d, C2_REAL *scratch)
{
    int B = d->B, P = d->P, N = d->N, C = d->C, BP = B * P, BN = B * N;
    C2_FN(map_to_tokens_forward)(a->V, x, B, C, P);
    C2_FN(layernorm_forward)(a->Vn, a->mean_v, a->rstd_v, a->V, p->ln_v_weight, p->ln_v_bias, BP, C);
    C2_FN(layernorm_forward)(a->Ln, a->mean_l, a->rstd_l, La, p->ln_l_weight, p->ln_l_bias, BN, d->ca);
    KAN_FORWARD(a->Vk, a->Vn, &p->v_key, grid, BP, C, C, scratch);
    KAN_FORWARD(a->Vv, a->Vn, &p->v_val, grid, BP, C, C, scratch);
    KAN_FORWARD(a->Lk, a->Ln, &p->l_key, grid, BN, d->ca, C, scratch);
    KAN_FORWARD(a->Lv, a->Ln, &p->l_val, grid, BN, d->ca, C, scratch);
    C2_FN(matmul_batched_forward)(a->A, a->Vk, a->Lk, 1 / sqrt((C2_REAL)C), 1, B, P, C, N);
    /* vision-dominant: each pixel reads the valid tokens */
    C2_FN(softmax_last_forward)(a->Sv, a->A, m, B, P, N);
    C2_FN(matmul_batched_forward)(a->Fv, a->Sv, a->Lv, 1, 0, B, P, N, C);
    /* language-dominant: each token's spatial map, pads weighted 0, Σ weights = P */
    C2_FN(softmax_middle_forward)(a->Sl, a->A, B, P, N);
    C2_FN(token_weight)(a->Wl, a->Sl, m, B, P, N);
    C2_FN(matmul_batched_forward)(a->G, a->Wl, a->Lv, 1, 0, B, P, N, C);
    size_t nPC = (size_t)BP * C;
    C2_OMP(parallel for schedule(static) if(nPC > C2_PAR_MIN))
    for (size_t i = 0; i < nPC; i++)
        a->Fl[i] = a->Vv[i] * a->G[i];
    if (d->kgate) {
        C2_FN(kgate_forward)(a->cat, 0, a->hv, a->rv, a->gv, a->Fv, &p->gate_v1, &p->gate_v2,
                             grid, BP, C, scratch);
        C2_FN(kgate_forward)(a->cat, C, a->hl, a->rl, a->gl, a->Fl, &p->gate_l1, &p->gate_l2,
                             grid, BP, C, scratch);
    } else {
        for (size_t t = 0; t < (size_t)BP; t++) {
            memcpy(a->cat + t * 2 * C, a->Fv + t * C, (size_t)C * sizeof(C2_REAL));
            memcpy(a->cat + t * 2 * C + C, a->Fl + t * C, (size_t)C * sizeof(C2_REAL));
        }
    }
    LINEAR_FORWARD(a->y, a->cat, p->out_weight, p->out_bias, BP, 2 * C, C);
    C2_FN(tokens_to_map_forward)(a->out, a->y, B, C, P);
    C2_FN(add_forward)(a->out, a->out, x, (size_t)BP * C);
}

void C2_FN(bcam_backward)(C2_REAL *dx, C2_REAL *dLa, const C2_FN(bcam_params) *g,
                          const C2_REAL *dout, const C2_FN(bcam_acts) *a, const C2_REAL *x,
                          const C2_REAL *La, const int32_t *m, const C2_FN(bcam_params) *p,
                          const C2_REAL *grid, const bcam_dims *d, C2_REAL *scratch)
{
    int B = d->B, P = d->P, N = d->N, C = d->C, BP = B * P, BN = B * N;
    size_t nPC = (size_t)BP * C, nPN = (size_t)BP * N, nNC = (size_t)BN * C;
    (void)x;
    C2_REAL *t = scratch;
    memset(t, 0, C2_FN(bcam_temp_floats)(d) * sizeof(C2_REAL));
    C2_REAL *dy = t, *dFv = dy + nPC, *dFl = dFv + nPC, *dG = dFl + nPC, *dVk = dG + nPC;
    C2_REAL *dVv = dVk + nPC, *dVn = dVv + nPC, *dV = dVn + nPC, *dh2 = dV + nPC;
    C2_REAL *dcat = dh2 + nPC, *dSv = dcat + 2 * nPC, *dWl = dSv + nPN, *dA = dWl + nPN;
    C2_REAL *dLk = dA + nPN, *dLv = dLk + nNC, *dLn = dLv + nNC, *dr = dLn + (size_t)BN * d->ca;
    C2_REAL *dh1 = dr + (size_t)BP * (C / 4), *kscratch = dh1 + (size_t)BP * (C / 4);

    C2_OMP(parallel for schedule(static) if(nPC > C2_PAR_MIN))
    for (size_t i = 0; i < nPC; i++)   /* residual: out = x + conv(...) */
        dx[i] += dout[i];
    C2_FN(map_to_tokens_forward)(dy, dout, B, C, P);
    LINEAR_BACKWARD(dcat, g->out_weight, g->out_bias, dy, a->cat, p->out_weight, BP, 2 * C, C);
    if (d->kgate) {
        C2_FN(kgate_backward)(dFv, &g->gate_v1, &g->gate_v2, dcat, 0, a->Fv, a->hv, a->rv, a->gv,
                              &p->gate_v1, &p->gate_v2, grid, BP, C, dh2, dr, dh1, kscratch);
        C2_FN(kgate_backward)(dFl, &g->gate_l1, &g->gate_l2, dcat, C, a->Fl, a->hl, a->rl, a->gl,
                              &p->gate_l1, &p->gate_l2, grid, BP, C, dh2, dr, dh1, kscratch);
    } else {
        for (size_t tk = 0; tk < (size_t)BP; tk++)
            for (int c = 0; c < C; c++) {
                dFv[tk * C + c] = dcat[tk * 2 * C + c];
                dFl[tk * C + c] = dcat[tk * 2 * C + C + c];
            }
    }
    /* Fv = Sv Lv */
    C2_FN(matmul_batched_backward)(dSv, dLv, dFv, a->Sv, a->Lv, 1, 0, B, P, N, C);
    /* Fl = Vv ⊙ G, G = Wl Lv, Wl = Sl·m·P/n_valid */
    C2_OMP(parallel for schedule(static) if(nPC > C2_PAR_MIN))
    for (size_t i = 0; i < nPC; i++) {
        dVv[i] += dFl[i] * a->G[i];
        dG[i] = dFl[i] * a->Vv[i];
    }
    C2_FN(matmul_batched_backward)(dWl, dLv, dG, a->Wl, a->Lv, 1, 0, B, P, N, C);
    C2_FN(token_weight)(dWl, dWl, m, B, P, N);
    C2_FN(softmax_last_backward)(dA, dSv, a->Sv, B, P, N);
    C2_FN(softmax_middle_backward)(dA, dWl, a->Sl, B, P, N);
    /* A = Vk Lkᵀ/√C */
    C2_FN(matmul_batched_backward)(dVk, dLk, dA, a->Vk, a->Lk, 1 / sqrt((C2_REAL)C), 1, B, P, C, N);
    KAN_BACKWARD(dVn, &g->v_key, dVk, a->Vn, &p->v_key, grid, BP, C, C, kscratch);
    KAN_BACKWARD(dVn, &g->v_val, dVv, a->Vn, &p->v_val, grid, BP, C, C, kscratch);
    KAN_BACKWARD(dLn, &g->l_key, dLk, a->Ln, &p->l_key, grid, BN, d->ca, C, kscratch);
    KAN_BACKWARD(dLn, &g->l_val, dLv, a->Ln, &p->l_val, grid, BN, d->ca, C, kscratch);
    C2_FN(layernorm_backward)(dV, g->ln_v_weight, g->ln_v_bias, dVn, a->V, a->mean_v, a->rstd_v,
                              p->ln_v_weight, BP, C);
    C2_FN(layernorm_backward)(dLa, g->ln_l_weight, g->ln_l_bias, dLn, La, a->mean_l, a->rstd_l,
                              p->ln_l_weight, BN, d->ca);
    C2_FN(map_to_tokens_backward)(dx, dV, B, C, P);
}

#endif
