/* peak.h: this machine's sgemm peak for the benchmarks' "fraction of peak" columns.
 *
 * The best 2048³ single-precision GEMM time over `reps` timed runs (after one warm-up),
 * taken as the better of OpenBLAS's own threading (openblas_set_num_threads(threads))
 * and the engine's split (par_sgemm, OpenBLAS single-threaded: model/threads.h), so the
 * engine is never judged against a peak lowered by its own threading scheme. Restores
 * OpenBLAS to one thread. */
#ifndef C2SEG_BENCH_PEAK_H
#define C2SEG_BENCH_PEAK_H

#include "model/threads.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

static double peak_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* GFLOP/s of the faster of the two ways; *openblas_gf / *split_gf (may be NULL) get both. */
static double sgemm_peak(int threads, int reps, double *openblas_gf, double *split_gf)
{
    int n = 2048;
    size_t nn = (size_t)n * n;
    float *a = malloc(nn * sizeof(float)), *b = malloc(nn * sizeof(float)), *c = malloc(nn * sizeof(float));
    if (!a || !b || !c)
        abort();
    for (size_t i = 0; i < nn; i++)
        a[i] = (float)(i % 251) / 251.0f - 0.5f, b[i] = (float)(i % 241) / 241.0f - 0.5f;
    double best[2] = {1e30, 1e30};
    for (int way = 0; way < 2; way++) {
        openblas_set_num_threads(way == 0 ? threads : 1);
        for (int r = 0; r <= reps; r++) {
            double t0 = peak_now();
            if (way == 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
            else
                par_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
            if (r)
                best[way] = fmin(best[way], peak_now() - t0);
        }
    }
    openblas_set_num_threads(1);
    free(a), free(b), free(c);
    double flop = 2.0 * n * n * (double)n / 1e9;
    if (openblas_gf)
        *openblas_gf = flop / best[0];
    if (split_gf)
        *split_gf = flop / best[1];
    return flop / fmin(best[0], best[1]);
}

#endif
