/* bench_layers: time of the heavy convolutions of the `full` preset (224x224, dims
 * [128, 224, 336], batch 8), forward and backward, as GFLOP/s (2 x MAC, as the
 * reference's `info` counts; backward = 2 x forward: dinp and dweight) and as a fraction
 * of this machine's sgemm peak, measured in the same run by a 2048^3 cblas_sgemm.
 * Prints a table and writes JSON (argv[1], default bench_layers.json). Not a test.
 *
 *   bench_layers [out.json] [threads]      (threads default: all cores, model/threads.h) */
#include "model/model.h"
#include "bench/peak.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_B 8
#define BENCH_REPS 3

typedef struct conv_case {
    const char *name;
    int C, OC, H, K, stride;
} conv_case;

/* The full preset's heavy convolutions (input side H; METHOD.md §4). */
static const conv_case CASES[] = {
    {"enc1.conv2", 16, 16, 224, 3, 1},  {"enc2.conv2", 32, 32, 112, 3, 1},
    {"enc3.conv1", 32, 128, 56, 3, 1},  {"enc3.conv2", 128, 128, 56, 3, 1},
    {"pe3.proj", 128, 224, 28, 3, 2},   {"dec2.conv1", 224, 224, 14, 3, 1},
    {"dec3.conv1", 128, 128, 28, 3, 1}, {"dec4.conv1", 32, 32, 56, 3, 1},
    {"dec5.conv1", 16, 16, 112, 3, 1},  {"final", 16, 1, 224, 1, 1},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static float *filled(size_t n, float v)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "bench_layers: out of memory (%zu floats)\n", n);
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = v * (float)((i * 7919) % 13) / 13.0f;
    return p;
}


int main(int argc, char **argv)
{
    threads_prepare(argv);   /* the short spin at joins, as c2seg runs (model/threads.h) */
    const char *json_path = argc > 1 ? argv[1] : "bench_layers.json";
    int threads = threads_init(argc > 2 ? atoi(argv[2]) : 0);
    double peak = sgemm_peak(threads, BENCH_REPS, NULL, NULL);
    printf("threads %d, sgemm 2048^3 peak %.1f GFLOP/s\n", threads, peak);
    printf("%-12s %-22s %9s %9s %9s %9s %7s %7s\n", "layer", "shape (C>OC @H, s)", "GFLOP fwd",
           "fwd ms", "fwd GF/s", "bwd ms", "fwd %pk", "bwd %pk");
    char json[8192];
    size_t off = (size_t)snprintf(json, sizeof json,
                                  "{\"bench\": \"layers\", \"preset\": \"full\", \"batch\": %d, "
                                  "\"threads\": %d, \"sgemm_peak_gflops\": %.2f, \"layers\": [",
                                  BENCH_B, threads, peak);
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        const conv_case *c = &CASES[k];
        int B = BENCH_B, Ho = conv2d_out_size(c->H, c->K, c->stride);
        size_t ni = (size_t)B * c->C * c->H * c->H, no = (size_t)B * c->OC * Ho * Ho;
        size_t nw = (size_t)c->OC * c->C * c->K * c->K;
        float *x = filled(ni, 1), *w = filled(nw, 0.1f), *bias = filled(c->OC, 0.1f);
        float *y = filled(no, 0), *dy = filled(no, 1), *dx = filled(ni, 0), *dw = filled(nw, 0);
        float *db = filled(c->OC, 0), *scratch = filled(conv2d_scratch_floats(c->C, c->H, c->H, c->K, c->stride), 0);
        double gflop = 2.0 * B * Ho * Ho * (double)nw * 1e-9, tf = 1e30, tb = 1e30;
        for (int r = 0; r < BENCH_REPS; r++) {
            double t0 = now();
            conv2d_forward(y, scratch, x, w, bias, B, c->C, c->H, c->H, c->OC, c->K, c->stride);
            double t1 = now();
            conv2d_backward(dx, dw, db, scratch, dy, x, w, B, c->C, c->H, c->H, c->OC, c->K, c->stride);
            double t2 = now();
            tf = fmin(tf, t1 - t0);
            tb = fmin(tb, t2 - t1);
        }
        double gf = gflop / tf, gb = 2 * gflop / tb;
        char shape[64];
        snprintf(shape, sizeof shape, "%d>%d @%d k%d s%d", c->C, c->OC, c->H, c->K, c->stride);
        printf("%-12s %-22s %9.3f %9.1f %9.1f %9.1f %6.0f%% %6.0f%%\n", c->name, shape, gflop,
               tf * 1e3, gf, tb * 1e3, 100 * gf / peak, 100 * gb / peak);
        off += (size_t)snprintf(json + off, sizeof json - off,
                                "%s{\"name\": \"%s\", \"C\": %d, \"OC\": %d, \"H\": %d, \"K\": %d, "
                                "\"stride\": %d, \"gflop_fwd\": %.4f, \"fwd_ms\": %.2f, "
                                "\"bwd_ms\": %.2f, \"fwd_gflops\": %.2f, \"bwd_gflops\": %.2f, "
                                "\"fwd_frac_peak\": %.3f, \"bwd_frac_peak\": %.3f}",
                                k ? ", " : "", c->name, c->C, c->OC, c->H, c->K, c->stride, gflop,
                                tf * 1e3, tb * 1e3, gf, gb, gf / peak, gb / peak);
        free(x), free(w), free(bias), free(y), free(dy), free(dx), free(dw), free(db), free(scratch);
    }
    off += (size_t)snprintf(json + off, sizeof json - off, "]}\n");
    c2_err e = {0};
    if (c2_write_file(json_path, json, off < sizeof json ? off : sizeof json - 1, &e) != C2_OK) {
        fprintf(stderr, "bench_layers: %s\n", e.msg);
        return 1;
    }
    printf("wrote %s\n", json_path);
    return 0;
}
