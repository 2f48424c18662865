/* attention: masked softmax along either axis and batched matmuls (see attention.h).
 * The softmax subtracts the maximum before exp and divides by the sum, as torch does.
 * Compiled once per precision by including itself (as model/norm.c). */
#ifndef C2_REAL

#include "model/attention.h"
#include "model/threads.h"

#include <cblas.h>
#include <math.h>

#define C2_REAL float
#define C2_FN(name) name
#define C2_EXP expf
#define C2_GEMM cblas_sgemm
#include "model/attention.c"
#undef C2_REAL
#undef C2_FN
#undef C2_EXP
#undef C2_GEMM
#define C2_REAL double
#define C2_FN(name) name##_f64
#define C2_EXP exp
#define C2_GEMM cblas_dgemm
#include "model/attention.c"
#undef C2_REAL
#undef C2_FN
#undef C2_EXP
#undef C2_GEMM

#else

void C2_FN(softmax_last_forward)(C2_REAL *out, const C2_REAL *inp, const int32_t *mask,
                                 int B, int R, int N)
{
    C2_OMP(parallel for schedule(static) if((size_t)B * R * N > C2_PAR_MIN))
    for (int b = 0; b < B; b++) {
        const int32_t *m = mask ? mask + (size_t)b * N : NULL;
        for (int r = 0; r < R; r++) {
            const C2_REAL *x = inp + ((size_t)b * R + r) * N;
            C2_REAL *y = out + ((size_t)b * R + r) * N;
            C2_REAL mx = -INFINITY, sum = 0;
            for (int n = 0; n < N; n++)
                if ((!m || m[n]) && x[n] > mx)
                    mx = x[n];
            for (int n = 0; n < N; n++) {
                y[n] = (!m || m[n]) && mx > -INFINITY ? C2_EXP(x[n] - mx) : 0;
                sum += y[n];
            }
            for (int n = 0; n < N; n++)
                y[n] = sum > 0 ? y[n] / sum : 0;
        }
    }
}

void C2_FN(softmax_last_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *out,
                                  int B, int R, int N)
{
    size_t rows = (size_t)B * R;
    C2_OMP(parallel for schedule(static) if(rows * N > C2_PAR_MIN))
    for (size_t row = 0; row < rows; row++) {
        const C2_REAL *g = dout + row * N, *y = out + row * N;
        C2_REAL dot = 0;
        for (int n = 0; n < N; n++)
            dot += g[n] * y[n];
        for (int n = 0; n < N; n++)
            dinp[row * N + n] += y[n] * (g[n] - dot);
    }
}

void C2_FN(softmax_middle_forward)(C2_REAL *out, const C2_REAL *inp, int B, int R, int N)
{
    C2_OMP(parallel for schedule(static) if((size_t)B * R * N > C2_PAR_MIN))
    for (int b = 0; b < B; b++) {
        const C2_REAL *x = inp + (size_t)b * R * N;
        C2_REAL *y = out + (size_t)b * R * N;
        for (int n = 0; n < N; n++) {
            C2_REAL mx = -INFINITY, sum = 0;
            for (int r = 0; r < R; r++)
                if (x[(size_t)r * N + n] > mx)
                    mx = x[(size_t)r * N + n];
            for (int r = 0; r < R; r++) {
                y[(size_t)r * N + n] = C2_EXP(x[(size_t)r * N + n] - mx);
                sum += y[(size_t)r * N + n];
            }
            for (int r = 0; r < R; r++)
                y[(size_t)r * N + n] /= sum;
        }
    }
}

void C2_FN(softmax_middle_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *out,
                                    int B, int R, int N)
{
    C2_OMP(parallel for schedule(static) if((size_t)B * R * N > C2_PAR_MIN))
    for (int b = 0; b < B; b++) {
        size_t base = (size_t)b * R * N;
        for (int n = 0; n < N; n++) {
            C2_REAL dot = 0;
            for (int r = 0; r < R; r++)
                dot += dout[base + (size_t)r * N + n] * out[base + (size_t)r * N + n];
            for (int r = 0; r < R; r++) {
                size_t i = base + (size_t)r * N + n;
                dinp[i] += out[i] * (dout[i] - dot);
            }
        }
    }
}

void C2_FN(matmul_batched_forward)(C2_REAL *out, const C2_REAL *a, const C2_REAL *b,
                                   C2_REAL alpha, int b_transposed, int B, int M, int K, int N)
{
    /* one single-threaded GEMM per batch element, the elements in parallel */
    C2_OMP(parallel for schedule(static) if(B > 1 && (size_t)M * N * K > C2_PAR_MIN))
    for (int i = 0; i < B; i++)
        C2_GEMM(CblasRowMajor, CblasNoTrans, b_transposed ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, a + (size_t)i * M * K, K, b + (size_t)i * K * N, b_transposed ? K : N,
                0, out + (size_t)i * M * N, N);
}

void C2_FN(matmul_batched_backward)(C2_REAL *da, C2_REAL *db, const C2_REAL *dout,
                                    const C2_REAL *a, const C2_REAL *b, C2_REAL alpha,
                                    int b_transposed, int B, int M, int K, int N)
{
    C2_OMP(parallel for schedule(static) if(B > 1 && (size_t)M * N * K > C2_PAR_MIN))
    for (int i = 0; i < B; i++) {
        const C2_REAL *ai = a + (size_t)i * M * K, *bi = b + (size_t)i * K * N;
        const C2_REAL *gi = dout + (size_t)i * M * N;
        if (da)   /* da [M,K] += g [M,N] · bᵀ [N,K]  (b stored [K,N], or [N,K] if transposed) */
            C2_GEMM(CblasRowMajor, CblasNoTrans, b_transposed ? CblasNoTrans : CblasTrans, M, K,
                    N, alpha, gi, N, bi, b_transposed ? K : N, 1, da + (size_t)i * M * K, K);
        if (db && b_transposed)   /* db [N,K] += gᵀ [N,M] · a [M,K] */
            C2_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, M, alpha, gi, N, ai, K, 1,
                    db + (size_t)i * K * N, K);
        else if (db)              /* db [K,N] += aᵀ [K,M] · g [M,N] */
            C2_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, alpha, ai, K, gi, N, 1,
                    db + (size_t)i * K * N, N);
    }
}

#endif
