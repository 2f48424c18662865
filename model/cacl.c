/* cacl: CaCL / HardCL forward and backward (see cacl.h, METHOD.md §6).
 * Compiled once per precision by including itself (as model/norm.c). The B x D x B
 * products go through cblas_sgemm in the float path (training, B up to 256); the double
 * path keeps plain loops with double accumulation as the reference for gradient checks. */
#ifndef C2_REAL

#include "model/cacl.h"
#include "model/threads.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define C2_REAL float
#define C2_FN(name) name
#define C2_BLAS_GEMM par_sgemm
#include "model/cacl.c"
#undef C2_REAL
#undef C2_FN
#undef C2_BLAS_GEMM
#define C2_REAL double
#define C2_FN(name) name##_f64
#include "model/cacl.c"
#undef C2_REAL
#undef C2_FN

#else

/* out [B,D] = x / max(‖x‖, 1e-12) row by row (F.normalize); norms [B] may be NULL. */
static void C2_FN(rows_normalize)(C2_REAL *out, C2_REAL *norms, const C2_REAL *x, int B, int D)
{
    for (int i = 0; i < B; i++) {
        double ss = 0;
        for (int d = 0; d < D; d++)
            ss += (double)x[(size_t)i * D + d] * x[(size_t)i * D + d];
        C2_REAL n = (C2_REAL)sqrt(ss), den = n > (C2_REAL)1e-12 ? n : (C2_REAL)1e-12;
        for (int d = 0; d < D; d++)
            out[(size_t)i * D + d] = x[(size_t)i * D + d] / den;
        if (norms)
            norms[i] = n;
    }
}

/* c [M,N] = alpha · op(a) op(b), row-major; op(a) [M,K] is a [M,K] or, when ta, aᵀ of
 * a [K,M]; op(b) [K,N] is b [K,N] or, when tb, bᵀ of b [N,K]. */
static void C2_FN(gemm)(C2_REAL *c, const C2_REAL *a, const C2_REAL *b, int ta, int tb, int M, int N,
                        int K, C2_REAL alpha)
{
#ifdef C2_BLAS_GEMM
    C2_BLAS_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, a,
                 ta ? M : K, b, tb ? K : N, 0, c, N);
#else
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int k = 0; k < K; k++)
                acc += (double)(ta ? a[(size_t)k * M + i] : a[(size_t)i * K + k]) *
                       (tb ? b[(size_t)j * K + k] : b[(size_t)k * N + j]);
            c[(size_t)i * N + j] = (C2_REAL)(acc * alpha);
        }
#endif
}

void C2_FN(cacl_targets)(C2_REAL *Y, C2_REAL *M, C2_REAL *Mp, C2_REAL *Yhat,
                         const C2_REAL *pooled, int B, int D, C2_REAL tau, C2_REAL rho)
{
    /* The row norms go to Yhat's first row until Yhat is computed, so no scratch is needed. */
    C2_REAL *den = Yhat;
    for (int i = 0; i < B; i++) {
        double ss = 0;
        for (int d = 0; d < D; d++)
            ss += (double)pooled[(size_t)i * D + d] * pooled[(size_t)i * D + d];
        C2_REAL n = (C2_REAL)sqrt(ss);
        den[i] = n > (C2_REAL)1e-12 ? n : (C2_REAL)1e-12;
    }
    /* M = diag(1/den) P Pᵀ diag(1/den): the cosines without a normalised copy of P */
    C2_FN(gemm)(M, pooled, pooled, 0, 1, B, B, D, 1);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++)
            M[(size_t)i * B + j] = (C2_REAL)((double)M[(size_t)i * B + j] / ((double)den[i] * den[j]));
    for (int i = 0; i < B; i++) {
        const C2_REAL *m = M + (size_t)i * B;
        double mu = 0;
        for (int k = 0; k < B; k++)
            mu += m[k];
        C2_REAL mean = (C2_REAL)(mu / B), mx = -INFINITY;
        for (int j = 0; j < B; j++) {
            C2_REAL d = m[j] - mean;
            Mp[(size_t)i * B + j] = d > 0 ? d : 0;
            if (Mp[(size_t)i * B + j] / tau > mx)
                mx = Mp[(size_t)i * B + j] / tau;
        }
        double sum = 0;
        for (int j = 0; j < B; j++) {
            Yhat[(size_t)i * B + j] = (C2_REAL)exp((double)(Mp[(size_t)i * B + j] / tau - mx));
            sum += Yhat[(size_t)i * B + j];
        }
        for (int j = 0; j < B; j++) {
            Yhat[(size_t)i * B + j] = (C2_REAL)(Yhat[(size_t)i * B + j] / sum);
            Y[(size_t)i * B + j] = rho * Yhat[(size_t)i * B + j] + (i == j ? (C2_REAL)1 - rho : 0);
        }
    }
}

/* Log-sum-exp of row i (col = 0) or column i (col = 1) of s [B,B]. */
static double C2_FN(lse)(const C2_REAL *s, int B, int i, int col)
{
    double mx = -INFINITY, sum = 0;
    for (int k = 0; k < B; k++) {
        double x = col ? s[(size_t)k * B + i] : s[(size_t)i * B + k];
        mx = x > mx ? x : mx;
    }
    for (int k = 0; k < B; k++)
        sum += exp((col ? s[(size_t)k * B + i] : s[(size_t)i * B + k]) - mx);
    return mx + log(sum);
}

static C2_REAL C2_FN(target)(const C2_REAL *Y, int B, int i, int j)
{
    return Y ? Y[(size_t)i * B + j] : (C2_REAL)(i == j);
}

C2_REAL C2_FN(contrastive_forward)(C2_REAL *loss_v2l, C2_REAL *loss_l2v, C2_REAL *s,
                                   C2_REAL *v, C2_REAL *l, const C2_REAL *v_raw,
                                   const C2_REAL *l_raw, const C2_REAL *Y, int B, int D,
                                   C2_REAL tau)
{
    C2_FN(rows_normalize)(v, NULL, v_raw, B, D);
    C2_FN(rows_normalize)(l, NULL, l_raw, B, D);
    C2_FN(gemm)(s, v, l, 0, 1, B, B, D, 1 / tau);
    double v2l = 0, l2v = 0;
    for (int i = 0; i < B; i++) {
        double row = C2_FN(lse)(s, B, i, 0);
        for (int j = 0; j < B; j++)
            v2l -= C2_FN(target)(Y, B, i, j) * (s[(size_t)i * B + j] - row);
    }
    for (int j = 0; j < B; j++) {
        double col = C2_FN(lse)(s, B, j, 1);
        for (int i = 0; i < B; i++)
            l2v -= C2_FN(target)(Y, B, j, i) * (s[(size_t)i * B + j] - col);
    }
    v2l /= B;
    l2v /= B;
    if (loss_v2l)
        *loss_v2l = (C2_REAL)v2l;
    if (loss_l2v)
        *loss_l2v = (C2_REAL)l2v;
    return (C2_REAL)(0.5 * (v2l + l2v));
}

size_t C2_FN(contrastive_scratch_floats)(int B, int D)
{
    return (size_t)B * B + 2 * (size_t)B * D;
}

/* dx_raw += (dx − x̂ (x̂·dx)) / ‖x_raw‖ (or dx / 1e-12 below the clamp), row by row. */
static void C2_FN(rows_normalize_backward)(C2_REAL *dx_raw, const C2_REAL *dx, const C2_REAL *xhat,
                                          const C2_REAL *x_raw, int B, int D)
{
    for (int i = 0; i < B; i++) {
        double ss = 0, dot = 0;
        for (int d = 0; d < D; d++) {
            ss += (double)x_raw[(size_t)i * D + d] * x_raw[(size_t)i * D + d];
            dot += (double)xhat[(size_t)i * D + d] * dx[(size_t)i * D + d];
        }
        double n = sqrt(ss);
        for (int d = 0; d < D; d++) {
            size_t k = (size_t)i * D + d;
            dx_raw[k] += (C2_REAL)(n > 1e-12 ? (dx[k] - xhat[k] * dot) / n : dx[k] / 1e-12);
        }
    }
}

void C2_FN(contrastive_backward)(C2_REAL *dv_raw, C2_REAL *dl_raw, C2_REAL dloss,
                                 const C2_REAL *s, const C2_REAL *v, const C2_REAL *l,
                                 const C2_REAL *v_raw, const C2_REAL *l_raw, const C2_REAL *Y,
                                 int B, int D, C2_REAL tau, C2_REAL *scratch)
{
    C2_REAL *ds = scratch, *dv = scratch + (size_t)B * B, *dl = dv + (size_t)B * D;
    double k = 0.5 * dloss / B;
    /* rows: d/ds_ij of −Σ_j Y_ij log softmax_j = P_ij Σ_j Y_ij − Y_ij */
    for (int i = 0; i < B; i++) {
        double row = C2_FN(lse)(s, B, i, 0), ysum = 0;
        for (int j = 0; j < B; j++)
            ysum += C2_FN(target)(Y, B, i, j);
        for (int j = 0; j < B; j++)
            ds[(size_t)i * B + j] = (C2_REAL)(k * (exp(s[(size_t)i * B + j] - row) * ysum -
                                                   C2_FN(target)(Y, B, i, j)));
    }
    /* columns: target of column j is row j of Y */
    for (int j = 0; j < B; j++) {
        double col = C2_FN(lse)(s, B, j, 1), ysum = 0;
        for (int i = 0; i < B; i++)
            ysum += C2_FN(target)(Y, B, j, i);
        for (int i = 0; i < B; i++)
            ds[(size_t)i * B + j] += (C2_REAL)(k * (exp(s[(size_t)i * B + j] - col) * ysum -
                                                    C2_FN(target)(Y, B, j, i)));
    }
    /* s = v lᵀ/τ: dv = ds l/τ, dl = dsᵀ v/τ */
    C2_FN(gemm)(dv, ds, l, 0, 0, B, D, B, 1 / tau);
    C2_FN(gemm)(dl, ds, v, 1, 0, B, D, B, 1 / tau);
    C2_FN(rows_normalize_backward)(dv_raw, dv, v, v_raw, B, D);
    C2_FN(rows_normalize_backward)(dl_raw, dl, l, l_raw, B, D);
}

#endif
