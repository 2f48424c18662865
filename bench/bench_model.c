/* bench_model: the C side of scripts/bench (issue 17). The whole C2Seg network with
 * random weights (c2seg_model_init_weights) on the reference bench's inputs: batch B of
 * the reference's 8 CAPTIONS (hash-text-512) and a random image, measured as
 * `c2seg_ref.py bench` measures torch:
 *   sgemm 2048³ GFLOP/s (best of 5), inference img/s (eval BN, warm-up + `iters` batches),
 *   training step img/s (train BN, forward + BCE/Dice + backward + SGD, first step not
 *   timed), peak RSS (ru_maxrss after training), CaCL + backward at B = 256, D = proj, and
 *   the forward's per-module times (c2seg_module_times; extra untimed-for-throughput passes),
 *   and where the CPU has AVX512_BF16, fp32 and bf16 inference alternated BF16_ROUNDS times
 *   (member "bf16": img/s of each round, speedups, bf16 logits against fp32's).
 * Prints one JSON object on stdout. Not a test.
 *
 * usage: bench_model PRESET BATCH THREADS [FUSION] [ITERS] [BF16_ROUNDS (default 2; 0: none)]
 * THREADS "auto" (or 0): c2seg's default, threads_init(0): $C2SEG_THREADS, else the CPUs this
 * process may use (scripts/bench's shared-cores section). */
#include "model/model.h"
#include "bench/peak.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* xorshift uniform in [lo, hi) */
static float uniform(uint64_t *s, float lo, float hi)
{
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return lo + (hi - lo) * (float)((*s * 0x2545F4914F6CDD1Dull) >> 40) / 16777216.0f;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench_model: out of memory (%zu bytes)\n", n);
        exit(3);
    }
    return p;
}

static double peak_rss_mb(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0;
}


/* CaCL targets (pooled [B,512]) + loss + backward (embeddings [B,D], D = proj) at
 * B = 256: ms per call (best of 5). */
static double cacl_ms(int D)
{
    int B = 256;
    size_t bb = (size_t)B * B, bd = (size_t)B * D, bt = (size_t)B * TEXT_DIM;
    float *pooled = xmalloc(bt * sizeof(float)), *vr = xmalloc(bd * sizeof(float)), *lr = xmalloc(bd * sizeof(float));
    float *M = xmalloc(4 * bb * sizeof(float)), *s = xmalloc(bb * sizeof(float));
    float *v = xmalloc(bd * sizeof(float)), *l = xmalloc(bd * sizeof(float));
    float *dv = xmalloc(bd * sizeof(float)), *dl = xmalloc(bd * sizeof(float));
    float *scratch = xmalloc(contrastive_scratch_floats(B, D) * sizeof(float));
    uint64_t st = 11;
    for (size_t i = 0; i < bt; i++)
        pooled[i] = uniform(&st, -1, 1);
    for (size_t i = 0; i < bd; i++)
        vr[i] = uniform(&st, -1, 1), lr[i] = uniform(&st, -1, 1);
    double best = 1e30;
    for (int r = 0; r < 6; r++) {
        double t0 = now();
        cacl_targets(M, M + bb, M + 2 * bb, M + 3 * bb, pooled, B, TEXT_DIM, (float)CACL_TAU, (float)CACL_RHO);
        memset(dv, 0, bd * sizeof(float));
        memset(dl, 0, bd * sizeof(float));
        contrastive_forward(NULL, NULL, s, v, l, vr, lr, M, B, D, (float)CACL_TAU);
        contrastive_backward(dv, dl, 1, s, v, l, vr, lr, M, B, D, (float)CACL_TAU, scratch);
        if (r)
            best = fmin(best, now() - t0);
    }
    free(pooled), free(vr), free(lr), free(M), free(s), free(v), free(l), free(dv), free(dl), free(scratch);
    return 1e3 * best;
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Inference img/s of `iters` eval batches at a precision (PRECISION_FP32 / _BF16); *per_cpu_s
 * gets images per CPU-second of the process (all threads), which other tenants' load
 * disturbs far less than the wall clock. */
static double infer_rate(c2seg_model *m, c2seg_workspace *w, const float *img, const float *tok,
                         const int32_t *mask, int B, int iters, int precision, double *per_cpu_s)
{
    w->precision = precision;
    c2seg_forward(m, w, img, tok, mask, B, 0);   /* warm-up: the first call at a precision touches its buffers */
    double t0 = now(), c0 = cpu_now();
    for (int i = 0; i < iters; i++)
        c2seg_forward(m, w, img, tok, mask, B, 0);
    double s = (now() - t0) / iters;
    *per_cpu_s = B * iters / (cpu_now() - c0);
    w->precision = PRECISION_FP32;
    return B / s;
}

static void print_list(const char *name, const double *v, int n)
{
    printf(",\"%s\":[", name);
    for (int r = 0; r < n; r++)
        printf("%s%.3f", r ? "," : "", v[r]);
    printf("]");
}

/* fp32 and bf16 inference alternated `rounds` times (same model, same inputs), then the
 * bf16 logits against fp32's: max |difference|, max |fp32 logit| and the fraction of
 * pixels whose mask (logit > 0) agrees. Prints the "bf16" JSON member (no bf16: null). */
static void bench_bf16(c2seg_model *m, c2seg_workspace *w, const float *img, const float *tok, const int32_t *mask,
                       int B, int iters, int rounds)
{
    if (!precision_cpu_bf16()) {
        printf(",\"bf16\":null");
        return;
    }
    double f[8], h[8], fc[8], hc[8], x[8], xc[8];
    rounds = rounds > 8 ? 8 : rounds;
    for (int r = 0; r < rounds; r++) {
        f[r] = infer_rate(m, w, img, tok, mask, B, iters, PRECISION_FP32, &fc[r]);
        h[r] = infer_rate(m, w, img, tok, mask, B, iters, PRECISION_BF16, &hc[r]);
        x[r] = h[r] / f[r], xc[r] = hc[r] / fc[r];
    }
    size_t n = (size_t)B * m->cfg.img * m->cfg.img, same = 0;
    float *ref = xmalloc(n * sizeof(float));
    c2seg_forward(m, w, img, tok, mask, B, 0);
    memcpy(ref, w->acts.logits, n * sizeof(float));
    w->precision = PRECISION_BF16;
    c2seg_forward(m, w, img, tok, mask, B, 0);
    w->precision = PRECISION_FP32;
    double dmax = 0, lmax = 0;
    for (size_t i = 0; i < n; i++) {
        dmax = fmax(dmax, fabs((double)w->acts.logits[i] - ref[i]));
        lmax = fmax(lmax, fabs((double)ref[i]));
        same += (w->acts.logits[i] > 0) == (ref[i] > 0);
    }
    free(ref);
    printf(",\"bf16\":{\"rounds\":%d", rounds);
    print_list("fp32_img_per_s", f, rounds);
    print_list("bf16_img_per_s", h, rounds);
    print_list("speedup", x, rounds);
    print_list("fp32_img_per_cpu_s", fc, rounds);
    print_list("bf16_img_per_cpu_s", hc, rounds);
    print_list("speedup_cpu", xc, rounds);
    printf(",\"logit_max_abs_diff\":%.6g,\"logit_max_abs\":%.6g,\"mask_agreement\":%.6f}", dmax, lmax,
           (double)same / (double)n);
}

static const char *const captions[8] = {
    "Bilateral pulmonary infection, two infected areas, all left lung and middle lower right lung.",
    "Unilateral pulmonary infection, one infected area, middle lower left lung.",
    "Bilateral pulmonary infection, three infected areas, upper middle left lung and lower right lung.",
    "Unilateral pulmonary infection, one infected area, upper right lung.",
    "Bilateral pulmonary infection, two infected areas, lower left lung and lower right lung.",
    "Unilateral pulmonary infection, two infected areas, upper lower right lung.",
    "No lung infection.",
    "Bilateral pulmonary infection, four infected areas, upper lower left lung and upper lower right lung.",
};

int main(int argc, char **argv)
{
    threads_prepare(argv);   /* the short spin at joins, as c2seg runs (model/threads.h) */
    if (argc < 4) {
        fprintf(stderr, "usage: bench_model PRESET BATCH THREADS|auto [FUSION] [ITERS] [BF16_ROUNDS]\n");
        return 2;
    }
    const char *preset = argv[1], *fusion = argc > 4 ? argv[4] : "bcam_kgate";
    int B = atoi(argv[2]), threads = threads_init(strcmp(argv[3], "auto") == 0 ? 0 : atoi(argv[3])), iters = argc > 5 ? atoi(argv[5]) : 3;
    int bf16_rounds = argc > 6 ? atoi(argv[6]) : 2;
    c2_err e = {0};
    c2seg_config cfg;
    c2seg_model m;
    c2seg_workspace w;
    if (B < 1 || iters < 1 || c2seg_config_make(&cfg, preset, fusion, &e) != C2_OK ||
        c2seg_model_create(&m, &cfg, &e) != C2_OK) {
        fprintf(stderr, "bench_model: %s\n", e.msg[0] ? e.msg : "bad batch or iteration count");
        return 2;
    }
    double sgemm = sgemm_peak(threads, 5, NULL, NULL);
    double rss0 = peak_rss_mb();
    c2seg_model_init_weights(&m, 0);
    if (c2seg_workspace_create(&w, &m, B, &e) != C2_OK) {
        fprintf(stderr, "bench_model: %s\n", e.msg);
        return 3;
    }
    int H = cfg.img, N = cfg.ntok, Ct = cfg.ct;
    size_t npix = (size_t)B * H * H;
    float *img = xmalloc(npix * sizeof(float)), *gt = xmalloc(npix * sizeof(float));
    float *dlogits = xmalloc(npix * sizeof(float));
    float *tok = xmalloc((size_t)B * N * Ct * sizeof(float)), pooled[TEXT_DIM];
    int32_t *mask = xmalloc((size_t)B * N * sizeof(int32_t));
    uint64_t st = 1;
    for (size_t i = 0; i < npix; i++) {
        img[i] = (uniform(&st, 0, 1) - 0.5f) / 0.25f;
        gt[i] = uniform(&st, 0, 1) < 0.3f;
    }
    for (int b = 0; b < B; b++)
        hash_text_encode(captions[b % 8], tok + (size_t)b * N * Ct, mask + (size_t)b * N, pooled);

    /* inference: eval-mode BN, one warm-up batch */
    c2seg_forward(&m, &w, img, tok, mask, B, 0);
    double t0 = now();
    for (int i = 0; i < iters; i++)
        c2seg_forward(&m, &w, img, tok, mask, B, 0);
    double infer_s = (now() - t0) / iters;
    /* the per-module breakdown in separate passes, so its clock reads do not touch the above */
    c2seg_module_times times = {0};
    w.times = &times;
    for (int i = 0; i < iters; i++)
        c2seg_forward(&m, &w, img, tok, mask, B, 0);
    w.times = NULL;
    double rss_infer = peak_rss_mb();

    /* training step: train BN, loss, backward, SGD (lr 1e-3 everywhere as the reference) */
    param_group g = {.offset = 0, .count = m.n_params, .lr = 1e-3f};
    double train_s = 0, loss = 0;
    for (int i = 0; i <= iters; i++) {
        double t1 = now();
        c2seg_zero_grads(&m, &w);
        c2seg_forward(&m, &w, img, tok, mask, B, 1);
        loss = seg_loss_forward(NULL, NULL, w.acts.logits, gt, B, (size_t)H * H);
        memset(dlogits, 0, npix * sizeof(float));
        seg_loss_backward(dlogits, w.acts.logits, gt, B, (size_t)H * H, 1);
        c2seg_backward(&m, &w, dlogits, mask, B, 1);
        sgd_step(m.params, m.grads, &g, 1, 1);
        if (i)
            train_s += now() - t1;
    }
    train_s /= iters;
    double rss_train = peak_rss_mb();
    double cacl = cacl_ms(cfg.proj);

    printf("{\"impl\":\"c2seg\",\"preset\":\"%s\",\"fusion\":\"%s\",\"batch\":%d,\"threads\":%d,\"iters\":%d,"
           "\"sgemm_gflops\":%.2f,\"infer_img_per_s\":%.3f,\"infer_ms_per_batch\":%.1f,"
           "\"train_img_per_s\":%.3f,\"train_ms_per_step\":%.1f,\"rss_before_model_mb\":%.1f,"
           "\"rss_after_infer_mb\":%.1f,\"peak_rss_mb\":%.1f,\"cacl_b256_ms\":%.2f,\"cacl_dim\":%d,"
           "\"activation_mb\":%.1f,\"loss\":%.6f,\"module_ms_per_batch\":{",
           preset, fusion, B, threads, iters, sgemm, B / infer_s, 1e3 * infer_s, B / train_s, 1e3 * train_s, rss0,
           rss_infer, rss_train, cacl, cfg.proj,
           (w.act_arena.used + w.grad_arena.used + w.scratch_floats) * 4.0 / 1048576.0, loss);
    for (int i = 0; i < times.n; i++)
        printf("%s\"%s\":%.3f", i ? "," : "", times.name[i], times.ms[i] / iters);
    printf("}");
    bench_bf16(&m, &w, img, tok, mask, B, iters, bf16_rounds);
    printf("}\n");
    c2seg_workspace_free(&w);
    c2seg_model_free(&m);
    free(img), free(gt), free(dlogits), free(tok), free(mask);
    return 0;
}
