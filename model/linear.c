/* linear: y = x W^T + b over rows (nn.Linear). The fast path is one cblas_sgemm per
 * call (forward) and two (backward: dinp and dweight); the plain-loop twins follow,
 * compiled once per precision by including this file again (see model/conv.c). */
#ifndef C2_REAL

#include "model/layers.h"
#include "model/threads.h"

#include <cblas.h>

void linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                    int M, int C, int OC)
{
    /* out (M,OC) = inp (M,C) weight^T (C,OC) */
    par_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, OC, C, 1.0f, inp, C, weight, C,
              0.0f, out, OC);
    if (bias)
        C2_OMP(parallel for schedule(static) if((size_t)M * OC > C2_PAR_MIN))
        for (int m = 0; m < M; m++)
            for (int o = 0; o < OC; o++)
                out[(size_t)m * OC + o] += bias[o];
}

void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, int M, int C, int OC)
{
    /* dinp (M,C) += dout (M,OC) weight (OC,C) */
    if (dinp)
        par_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, C, OC, 1.0f, dout, OC,
                  weight, C, 1.0f, dinp, C);
    /* dweight (OC,C) += dout^T (OC,M) inp (M,C) */
    par_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, M, 1.0f, dout, OC, inp, C,
              1.0f, dweight, C);
    if (dbias)
        C2_OMP(parallel for schedule(static) if((size_t)M * OC > C2_PAR_MIN))
        for (int o = 0; o < OC; o++) {
            double s = 0.0;
            for (int m = 0; m < M; m++)
                s += dout[(size_t)m * OC + o];
            dbias[o] += (float)s;
        }
}

#define C2_REAL_TWICE "model/linear.c"
#include "model/real_twice.h"

#else /* the simple kernels, once per precision */

void C2_FN(linear_forward_reference)(C2_REAL *out, const C2_REAL *inp, const C2_REAL *weight,
                                     const C2_REAL *bias, int M, int C, int OC)
{
    for (int m = 0; m < M; m++)
        for (int o = 0; o < OC; o++) {
            C2_REAL s = bias ? bias[o] : 0;
            for (int c = 0; c < C; c++)
                s += inp[(size_t)m * C + c] * weight[(size_t)o * C + c];
            out[(size_t)m * OC + o] = s;
        }
}

void C2_FN(linear_backward_reference)(C2_REAL *dinp, C2_REAL *dweight, C2_REAL *dbias,
                                      const C2_REAL *dout, const C2_REAL *inp,
                                      const C2_REAL *weight, int M, int C, int OC)
{
    for (int m = 0; m < M; m++)
        for (int o = 0; o < OC; o++) {
            C2_REAL d = dout[(size_t)m * OC + o];
            if (dbias)
                dbias[o] += d;
            for (int c = 0; c < C; c++) {
                dweight[(size_t)o * C + c] += d * inp[(size_t)m * C + c];
                if (dinp)
                    dinp[(size_t)m * C + c] += d * weight[(size_t)o * C + c];
            }
        }
}

#endif
