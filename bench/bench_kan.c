/* bench_kan: KANLinear forward + backward at dblock2's shape of the full preset
 * (28x28 tokens, C = 128, batch 8: M = 6272, in = out = 128), against this machine's
 * sgemm peak measured in the same run (2048^3 cblas_sgemm). FLOPs are counted as the
 * reference's `info` does: 2·M·out·9·in for the forward, twice that for the backward.
 * Prints a table and writes JSON (argv[1], default bench_kan.json). Not a test. */
#include "base/base.h"
#include "model/kan.h"
#include "bench/peak.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void fill(float *a, size_t n, float lo, float hi, unsigned *seed)
{
    for (size_t i = 0; i < n; i++)
        a[i] = lo + (hi - lo) * (float)rand_r(seed) / (float)RAND_MAX;
}

/* Best of `reps` wall times of fn(ctx). */
typedef void (*bench_fn)(void *ctx);
static double best_time(bench_fn fn, void *ctx, int reps)
{
    double best = 1e30;
    fn(ctx);   /* warm-up */
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        fn(ctx);
        best = fmin(best, now() - t0);
    }
    return best;
}


typedef struct kan_ctx {
    float *x, *y, *dy, *dx, *scratch;
    kan_linear_params p, g;
    int M, in, out;
} kan_ctx;
static void run_forward(void *p)
{
    kan_ctx *k = p;
    kan_linear_forward(k->y, k->x, &k->p, kan_default_grid, k->M, k->in, k->out, k->scratch);
}
static void run_backward(void *p)
{
    kan_ctx *k = p;
    kan_linear_backward(k->dx, &k->g, k->dy, k->x, &k->p, kan_default_grid, k->M, k->in, k->out,
                        k->scratch);
}
static void run_reference_forward(void *p)
{
    kan_ctx *k = p;
    kan_linear_forward_reference(k->y, k->x, &k->p, kan_default_grid, k->M, k->in, k->out);
}

int main(int argc, char **argv)
{
    threads_prepare(argv);   /* the short spin at joins, as c2seg runs (model/threads.h) */
    const char *json = argc > 1 ? argv[1] : "bench_kan.json";
    int threads = threads_init(argc > 2 ? atoi(argv[2]) : 0);
    unsigned seed = 1;
    double peak_openblas, peak_split, peak = sgemm_peak(threads, 3, &peak_openblas, &peak_split);
    double t_sgemm = 2.0 * 2048 * 2048 * 2048.0 / peak / 1e9;

    kan_ctx k = {.M = 8 * 28 * 28, .in = 128, .out = 128};
    size_t np = kan_linear_param_count(k.in, k.out), io = (size_t)k.in * k.out;
    float *params = malloc(np * sizeof(float)), *grads = calloc(np, sizeof(float));
    fill(params, np, -0.1f, 0.1f, &seed);
    k.p = (kan_linear_params){params, params + io, params + 9 * io};
    k.g = (kan_linear_params){grads, grads + io, grads + 9 * io};
    k.x = malloc(sizeof(float) * k.M * k.in);
    k.dx = calloc((size_t)k.M * k.in, sizeof(float));
    k.y = malloc(sizeof(float) * k.M * k.out);
    k.dy = malloc(sizeof(float) * k.M * k.out);
    k.scratch = malloc(kan_scratch_floats(k.M, k.in, k.out) * sizeof(float));
    fill(k.x, (size_t)k.M * k.in, -2.5f, 2.5f, &seed);
    fill(k.dy, (size_t)k.M * k.out, -1, 1, &seed);
    double flop_f = 2.0 * k.M * k.out * 9.0 * k.in;
    double t_f = best_time(run_forward, &k, 5), t_b = best_time(run_backward, &k, 5);
    kan_ctx r = k;
    r.M = 256;   /* the plain-loop reference on a slice, scaled to M */
    double t_ref = best_time(run_reference_forward, &r, 1) * k.M / r.M;

    double gf = flop_f / t_f / 1e9, gb = 2 * flop_f / t_b / 1e9, gfb = 3 * flop_f / (t_f + t_b) / 1e9;
    printf("KANLinear dblock2 shape: M=%d in=%d out=%d (K=9*in=%d), threads %d; sgemm peak: OpenBLAS's "
           "threads %.1f, the engine's split %.1f GFLOP/s\n", k.M, k.in, k.out, 9 * k.in, threads,
           peak_openblas, peak_split);
    printf("%-26s %10s %10s %10s\n", "item", "ms", "GFLOP/s", "of peak");
    printf("%-26s %10.1f %10.1f %9.0f%%\n", "sgemm 2048^3", t_sgemm * 1e3, peak, 100.0);
    printf("%-26s %10.1f %10.1f %9.0f%%\n", "KAN forward (fused)", t_f * 1e3, gf, 100 * gf / peak);
    printf("%-26s %10.1f %10.1f %9.0f%%\n", "KAN backward (fused)", t_b * 1e3, gb, 100 * gb / peak);
    printf("%-26s %10.1f %10.1f %9.0f%%\n", "KAN forward+backward", (t_f + t_b) * 1e3, gfb, 100 * gfb / peak);
    printf("%-26s %10.1f %10.1f %9.0f%%\n", "KAN forward (reference)", t_ref * 1e3, flop_f / t_ref / 1e9,
           100 * flop_f / t_ref / 1e9 / peak);

    char buf[1024];
    int len = snprintf(buf, sizeof buf,
                       "{\"shape\": {\"M\": %d, \"in\": %d, \"out\": %d}, \"threads\": %d,\n"
                       " \"sgemm_2048_gflops\": %.2f,\n"
                       " \"forward_ms\": %.3f, \"forward_gflops\": %.2f,\n"
                       " \"backward_ms\": %.3f, \"backward_gflops\": %.2f,\n"
                       " \"fwd_bwd_gflops\": %.2f, \"fwd_bwd_fraction_of_sgemm\": %.3f,\n"
                       " \"reference_forward_ms\": %.1f}\n",
                       k.M, k.in, k.out, threads, peak, t_f * 1e3, gf, t_b * 1e3, gb,
                       gfb, gfb / peak, t_ref * 1e3);
    c2_err e = {0};
    if (c2_write_file(json, buf, (size_t)len, &e) != 0)
        fprintf(stderr, "bench_kan: %s\n", e.msg);
    free(params); free(grads);
    free(k.x); free(k.dx); free(k.y); free(k.dy); free(k.scratch);
    return 0;
}
