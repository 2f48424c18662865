/* norm: BatchNorm2d and LayerNorm exactly as METHOD.md §3 (torch semantics).
 *
 * BatchNorm2d in train mode normalises with the batch mean and the biased variance and
 * moves the running statistics by momentum 0.1 with the UNBIASED variance n/(n-1), as
 * torch does; eval mode normalises with the running statistics. The statistics are
 * reduced in double (two passes: mean, then centred squares) in both precisions, so a
 * float BN matches torch to rounding even for n = B*H*W in the hundreds of thousands.
 *
 * Compiled once per precision by including itself (see model/conv.c). */
#ifndef C2_REAL

#include "model/layers.h"
#include "model/threads.h"

#include <math.h>

#define C2_REAL_TWICE "model/norm.c"
#include "model/real_twice.h"

#else

void C2_FN(batchnorm_eval_stats)(C2_REAL *mean, C2_REAL *rstd, const C2_REAL *running_mean,
                                 const C2_REAL *running_var, int C)
{
    for (int c = 0; c < C; c++) {
        mean[c] = running_mean[c];
        rstd[c] = (C2_REAL)(1.0 / sqrt((double)running_var[c] + BN_EPS));
    }
}

void C2_FN(batchnorm_forward)(C2_REAL *out, C2_REAL *mean, C2_REAL *rstd, const C2_REAL *inp,
                              const C2_REAL *gamma, const C2_REAL *beta,
                              C2_REAL *running_mean, C2_REAL *running_var,
                              int32_t *num_batches_tracked, int train, int B, int C, int HW)
{
    size_t n = (size_t)B * HW;
    C2_OMP(parallel for schedule(static) if(n * C > C2_PAR_MIN))
    for (int c = 0; c < C; c++) {   /* channels in parallel; each channel's sums in order */
        if (train) {
            double s = 0.0, ss = 0.0;
            for (int b = 0; b < B; b++)
                for (int p = 0; p < HW; p++)
                    s += inp[((size_t)b * C + c) * HW + p];
            double m = s / (double)n;
            for (int b = 0; b < B; b++)
                for (int p = 0; p < HW; p++) {
                    double d = inp[((size_t)b * C + c) * HW + p] - m;
                    ss += d * d;
                }
            double var = ss / (double)n;
            mean[c] = (C2_REAL)m;
            rstd[c] = (C2_REAL)(1.0 / sqrt(var + BN_EPS));
            double unbiased = n > 1 ? ss / (double)(n - 1) : var;
            running_mean[c] = (C2_REAL)((1.0 - BN_MOMENTUM) * running_mean[c] + BN_MOMENTUM * m);
            running_var[c] =
                (C2_REAL)((1.0 - BN_MOMENTUM) * running_var[c] + BN_MOMENTUM * unbiased);
        } else {
            C2_FN(batchnorm_eval_stats)(mean + c, rstd + c, running_mean + c, running_var + c, 1);
        }
        /* the channel's constants in locals: out may alias nothing, but the compiler cannot
         * know that, and would re-load them for every element instead of vectorising */
        C2_REAL m = mean[c], r = rstd[c], g = gamma[c], be = beta[c];
        for (int b = 0; b < B; b++) {
            const C2_REAL *x = inp + ((size_t)b * C + c) * HW;
            C2_REAL *y = out + ((size_t)b * C + c) * HW;
            for (int p = 0; p < HW; p++)
                y[p] = (x[p] - m) * r * g + be;
        }
    }
    if (train && num_batches_tracked)
        *num_batches_tracked += 1;
}

void C2_FN(batchnorm_backward)(C2_REAL *dinp, C2_REAL *dgamma, C2_REAL *dbeta,
                               const C2_REAL *dout, const C2_REAL *inp, const C2_REAL *mean,
                               const C2_REAL *rstd, const C2_REAL *gamma, int train,
                               int B, int C, int HW)
{
    size_t n = (size_t)B * HW;
    C2_OMP(parallel for schedule(static) if(n * C > C2_PAR_MIN))
    for (int c = 0; c < C; c++) {
        /* sum_d = sum dout, sum_dx = sum dout * xhat */
        double sum_d = 0.0, sum_dx = 0.0;
        for (int b = 0; b < B; b++)
            for (int p = 0; p < HW; p++) {
                size_t i = ((size_t)b * C + c) * HW + p;
                double xhat = ((double)inp[i] - mean[c]) * rstd[c];
                sum_d += dout[i];
                sum_dx += dout[i] * xhat;
            }
        dgamma[c] += (C2_REAL)sum_dx;
        dbeta[c] += (C2_REAL)sum_d;
        if (!dinp)
            continue;
        /* train: dx = g*rstd*(dout - mean(dout) - xhat*mean(dout*xhat)); eval: g*rstd*dout */
        double mean_d = train ? sum_d / (double)n : 0.0, mean_dx = train ? sum_dx / (double)n : 0.0;
        for (int b = 0; b < B; b++)
            for (int p = 0; p < HW; p++) {
                size_t i = ((size_t)b * C + c) * HW + p;
                double xhat = ((double)inp[i] - mean[c]) * rstd[c];
                dinp[i] += (C2_REAL)((double)gamma[c] * rstd[c] * (dout[i] - mean_d - xhat * mean_dx));
            }
    }
}

/* LayerNorm over the last axis. Rows go in blocks of LN_ROWS: each row's double sums run
 * over c in order, as a row on its own would (the same values to the bit), but the block's
 * LN_ROWS independent sums interleave, so they do not wait on one add's latency after another
 * (one row's chain of C dependent double adds cost 4.5 % of a small-preset bf16 forward). */
#ifndef LN_ROWS
#define LN_ROWS 8
#endif

static void C2_FN(layernorm_rows)(C2_REAL *out, C2_REAL *mean, C2_REAL *rstd, const C2_REAL *inp,
                                  const C2_REAL *gamma, const C2_REAL *beta, int m0, int M, int C)
{
    const C2_REAL *x[LN_ROWS];
    double s[LN_ROWS], ss[LN_ROWS], mu[LN_ROWS];
    for (int r = 0; r < LN_ROWS; r++) {   /* rows past M repeat the last one, unstored */
        x[r] = inp + (size_t)(m0 + r < M ? m0 + r : M - 1) * C;
        s[r] = 0.0, ss[r] = 0.0;
    }
    for (int c = 0; c < C; c++)
#pragma GCC unroll 8
        for (int r = 0; r < LN_ROWS; r++)
            s[r] += x[r][c];
    for (int r = 0; r < LN_ROWS; r++)
        mu[r] = s[r] / C;
    for (int c = 0; c < C; c++)
#pragma GCC unroll 8
        for (int r = 0; r < LN_ROWS; r++)
            ss[r] += (x[r][c] - mu[r]) * (x[r][c] - mu[r]);
    for (int r = 0; r < LN_ROWS && m0 + r < M; r++) {
        int m = m0 + r;
        mean[m] = (C2_REAL)mu[r];
        rstd[m] = (C2_REAL)(1.0 / sqrt(ss[r] / C + LN_EPS));
        C2_REAL mf = mean[m], rf = rstd[m], *y = out + (size_t)m * C;
        const C2_REAL *xr = x[r];
        C2_OMP(simd)
        for (int c = 0; c < C; c++)
            y[c] = (xr[c] - mf) * rf * gamma[c] + beta[c];
    }
}

void C2_FN(layernorm_forward)(C2_REAL *out, C2_REAL *mean, C2_REAL *rstd, const C2_REAL *inp,
                              const C2_REAL *gamma, const C2_REAL *beta, int M, int C)
{
    int blocks = (M + LN_ROWS - 1) / LN_ROWS;
    C2_OMP(parallel for schedule(static) if((size_t)M * C > C2_PAR_MIN))
    for (int b = 0; b < blocks; b++)
        C2_FN(layernorm_rows)(out, mean, rstd, inp, gamma, beta, b * LN_ROWS, M, C);
}

void C2_FN(layernorm_backward)(C2_REAL *dinp, C2_REAL *dgamma, C2_REAL *dbeta,
                               const C2_REAL *dout, const C2_REAL *inp, const C2_REAL *mean,
                               const C2_REAL *rstd, const C2_REAL *gamma, int M, int C)
{
    /* dgamma / dbeta: sums over the rows, in row order (serial) */
    for (int m = 0; m < M; m++) {
        const C2_REAL *x = inp + (size_t)m * C, *dy = dout + (size_t)m * C;
        for (int c = 0; c < C; c++) {
            double xhat = ((double)x[c] - mean[m]) * rstd[m];
            dgamma[c] += (C2_REAL)(dy[c] * xhat);
            dbeta[c] += dy[c];
        }
    }
    if (!dinp)
        return;
    /* dinp: rows in parallel; mean over c of dxhat and of dxhat * xhat, dxhat = dout * gamma */
    C2_OMP(parallel for schedule(static) if((size_t)M * C > C2_PAR_MIN))
    for (int m = 0; m < M; m++) {
        const C2_REAL *x = inp + (size_t)m * C, *dy = dout + (size_t)m * C;
        double mean_d = 0.0, mean_dx = 0.0;
        for (int c = 0; c < C; c++) {
            double xhat = ((double)x[c] - mean[m]) * rstd[m];
            double dxhat = (double)dy[c] * gamma[c];
            mean_d += dxhat;
            mean_dx += dxhat * xhat;
        }
        mean_d /= C;
        mean_dx /= C;
        for (int c = 0; c < C; c++) {
            double xhat = ((double)x[c] - mean[m]) * rstd[m];
            double dxhat = (double)dy[c] * gamma[c];
            dinp[(size_t)m * C + c] += (C2_REAL)(rstd[m] * (dxhat - mean_d - xhat * mean_dx));
        }
    }
}

#endif
