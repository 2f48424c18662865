/* model/gemm_bf16 and model/precision: the bf16 GEMM against a double reference, and the
 * fp32 fallback.
 *
 * Kernel (only where the CPU has AVX512_BF16; elsewhere that part prints a SKIP line, and
 * the fallback part still runs): every shape is checked twice against double sums:
 * - against the exact products of the bf16-rounded operands (rounded here, to nearest
 *   even, independently of the kernel): |C - ref| <= (K + 2) * 2^-24 * sum|a·b| per element,
 *   the fp32 accumulation bound (an fp32 product of unrounded operands misses it by ~2^-8);
 * - against the exact products of the float operands: |C - ref| <= (2^-7 + 2^-16 + (K + 2) *
 *   2^-24) * sum|a·b|, the bound of two roundings to 8 significant bits (relative 2^-8 each:
 *   (1 + 2^-8)^2 - 1) plus the accumulation.
 * Shapes cover row tails (M % 8), column tails (N % 32), odd K, K over one K block (2048),
 * M over one row block (128), all four transpose pairs and beta = 1; the prepacked operands
 * (gemm_bf16_pack_a / _b) give bit-identical results.
 *
 * The 3x3 convolutions at bf16 (the direct kernel of model/conv_bf16.c, and the im2col path
 * whose columns go straight from the image into the GEMM's panels) likewise, to the fp32
 * accumulation bound of their bf16-rounded operands, with the bias alone and with eval
 * BatchNorm + ReLU (the GEMM's epilogue on the im2col path). KANLinear at bf16 against the
 * double reference (kan_ok), and its packed weight kept between forwards until a parameter
 * changes (test_kan_pack_cache).
 *
 * Fallback: with $C2SEG_BF16_CPU=0 (a CPU without bf16) auto and bf16 resolve to fp32, and
 * engine_gemm at a bf16 request is bit-identical to cblas_sgemm; at fp32 it always is. */
#include "model/kan.h"
#include "model/layers.h"
#include "model/precision.h"
#include "tests/support/check.h"

#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static unsigned rng = 777u;

static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

/* float -> bf16 -> float, round to nearest even (finite normal inputs). */
static double bf16_round(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    float r;
    memcpy(&r, &u, sizeof r);
    return r;
}

static float *rand_floats(size_t n)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = frand() * 3.0f;
    return v;
}

/* op(A)[m,k] and op(B)[k,n] of row-major storage */
static float at(const float *A, int trans, int ld, int r, int c)
{
    return trans ? A[(size_t)c * ld + r] : A[(size_t)r * ld + c];
}

static int shape_ok(int ta, int tb, int M, int N, int K, float beta)
{
    int lda = ta ? M + 3 : K + 1, ldb = tb ? K + 2 : N + 5, ldc = N + 7;   /* leading dims past the shape */
    float *A = rand_floats((size_t)(ta ? K : M) * lda), *B = rand_floats((size_t)(tb ? N : K) * ldb);
    float *C = rand_floats((size_t)M * ldc), *C2 = malloc((size_t)M * ldc * sizeof(float));
    float *C0 = malloc((size_t)M * ldc * sizeof(float));
    memcpy(C0, C, (size_t)M * ldc * sizeof(float));
    memcpy(C2, C, (size_t)M * ldc * sizeof(float));
    enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
    gemm_bf16(TA, TB, M, N, K, A, lda, B, ldb, beta, C, ldc);
    uint32_t *pa = malloc(gemm_bf16_pack_words(M, K) * sizeof(uint32_t));
    uint32_t *pb = malloc(gemm_bf16_pack_words(N, K) * sizeof(uint32_t));
    gemm_bf16_pack_a(pa, TA, A, lda, M, K);
    gemm_bf16_pack_b(pb, TB, B, ldb, K, N);
    gemm_bf16_packed(pa, TA, A, lda, pb, TB, B, ldb, M, N, K, beta, C2, ldc);
    int bad = 0, same = 1;
    if (!ta) {   /* the same words from row groups of 8 (gemm_bf16_pack_a_rows), last group short */
        uint32_t *pr = calloc(gemm_bf16_pack_words(M, K), sizeof(uint32_t));
        for (int m0 = 0; m0 < M; m0 += 8)
            gemm_bf16_pack_a_rows(pr, M, m0, A + (size_t)m0 * lda, lda, M - m0 < 8 ? M - m0 : 8, K);
        size_t used = (size_t)(M + 7) / 8 * 8 * (size_t)((K + 1) / 2);
        same &= memcmp(pr, pa, used * sizeof(uint32_t)) == 0;
        free(pr);
    }
    if (tb) {    /* and from column groups of 16 (gemm_bf16_pack_b_cols, the last zeroes the tail) */
        uint32_t *pc = malloc(gemm_bf16_pack_words(N, K) * sizeof(uint32_t));
        memset(pc, 0xa5, gemm_bf16_pack_words(N, K) * sizeof(uint32_t));
        for (int n0 = 0; n0 < N; n0 += 16)
            gemm_bf16_pack_b_cols(pc, N, n0, B + (size_t)n0 * ldb, ldb, N - n0 < 16 ? N - n0 : 16, K);
        same &= memcmp(pc, pb, gemm_bf16_pack_words(N, K) * sizeof(uint32_t)) == 0;
        free(pc);
    }
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double exact = beta ? C0[(size_t)m * ldc + n] : 0, rounded = exact, mag = fabs(exact);
            for (int k = 0; k < K; k++) {
                float a = at(A, ta, lda, m, k), b = at(B, tb, ldb, k, n);
                exact += (double)a * b;
                rounded += bf16_round(a) * bf16_round(b);
                mag += fabs((double)a * b);
            }
            double c = C[(size_t)m * ldc + n], acc = (K + 2) * ldexp(1.0, -24) * mag;
            if (fabs(c - rounded) > acc || fabs(c - exact) > (ldexp(1.0, -7) + ldexp(1.0, -16)) * mag + acc) {
                if (bad++ < 3)
                    fprintf(stderr, "  ta %d tb %d %dx%dx%d beta %g: C[%d,%d] = %.9g, bf16-operand sum %.9g, "
                            "exact %.9g, sum|ab| %.6g\n", ta, tb, M, N, K, beta, m, n, c, rounded, exact, mag);
            }
            same &= C2[(size_t)m * ldc + n] == C[(size_t)m * ldc + n];
        }
    /* nothing outside the M x N block is written */
    for (int m = 0; m < M; m++)
        for (int n = N; n < ldc; n++)
            same &= C[(size_t)m * ldc + n] == C0[(size_t)m * ldc + n];
    CHECK_MSG(same, "prepacked and on-the-fly results differ, packs by rows / columns differ, or a column past N "
                    "was written (%dx%dx%d)", M, N, K);
    free(A), free(B), free(C), free(C2), free(C0), free(pa), free(pb);
    return bad == 0;
}

static void test_kernel_against_double(void)
{
    if (!precision_cpu_bf16()) {
        printf("SKIP bf16 kernel part: this CPU or OS lacks AVX512_BF16 (or $C2SEG_BF16_CPU=0); the fp32 "
               "fallback is tested below\n");
        return;
    }
    static const int shapes[][3] = {{1, 1, 1}, {8, 32, 2},  {13, 45, 37},  {16, 64, 288},
                                    {5, 7, 3}, {150, 70, 61}, {9, 33, 2100}, {64, 100, 1152}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++)
            for (int beta = 0; beta < 2; beta++)
                CHECK_MSG(shape_ok(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], (float)beta),
                          "shape %d x %d x %d, trans %d, beta %d", shapes[s][0], shapes[s][1], shapes[s][2], t,
                          beta);
}

/* A 3x3 convolution at bf16 through conv2d_forward at an eval forward's precision, against
 * double sums of the bf16-rounded image and weight (+ the fp32 bias): the direct path
 * (model/conv_bf16.c; thin layers, stride 1) and the im2col path whose columns are packed
 * straight from the image (wide rows, narrow maps, stride 2, odd 9C); odd and even channel
 * counts, rows that are not a multiple of 32 pixels. */
enum { CONV_BIAS = 0, CONV_BN_RELU = 1, CONV_BN_RELU_NO_BIAS = 2 };

static int conv_ok_post(int B, int C, int H, int W, int OC, int stride, int post)
{
    int Ho = conv2d_out_size(H, 3, stride), Wo = conv2d_out_size(W, 3, stride);
    size_t n_in = (size_t)B * C * H * W, n_w = (size_t)OC * C * 9, n_out = (size_t)B * OC * Ho * Wo;
    float *x = rand_floats(n_in), *w = rand_floats(n_w), *bias = rand_floats((size_t)OC), *y = malloc(n_out * 4);
    float *bn = rand_floats((size_t)4 * OC);   /* mean, rstd (> 0), gamma, beta */
    for (int o = 0; o < OC; o++)
        bn[OC + o] = 0.05f + fabsf(bn[OC + o]);
    conv_bn_relu cbr = {bn, bn + OC, bn + 2 * OC, bn + 3 * OC};
    if (post == CONV_BN_RELU_NO_BIAS)
        for (int o = 0; o < OC; o++)
            bias[o] = 0.0f;
    float *scratch = malloc((conv2d_scratch_floats(C, H, W, 3, stride) + 1) * sizeof(float));
    size_t words = gemm_bf16_pack_words(OC, 9 * C);
    uint32_t *pack = malloc(words * sizeof(uint32_t));
    gemm_precision_set(PRECISION_BF16);
    gemm_pack_arena_set(pack, words);
    if (post == CONV_BIAS)
        conv2d_forward(y, scratch, x, w, bias, B, C, H, W, OC, 3, stride);
    else
        conv2d_forward_bn_relu(y, scratch, x, w, post == CONV_BN_RELU ? bias : NULL, &cbr, B, C, H, W, OC, 3, stride);
    gemm_pack_arena_set(NULL, 0);
    gemm_precision_set(PRECISION_FP32);
    int bad = 0;
    for (int b = 0; b < B; b++)
        for (int o = 0; o < OC; o++)
            for (int i = 0; i < Ho; i++)
                for (int j = 0; j < Wo; j++) {
                    double s = bias[o], mag = fabs(bias[o]);
                    for (int c = 0; c < C; c++)
                        for (int t = 0; t < 9; t++) {
                            int yy = i * stride + t / 3 - 1, xx = j * stride + t % 3 - 1;
                            if (yy < 0 || yy >= H || xx < 0 || xx >= W)
                                continue;
                            float a = w[((size_t)o * C + c) * 9 + t], v = x[(((size_t)b * C + c) * H + yy) * W + xx];
                            s += bf16_round(a) * bf16_round(v);
                            mag += fabs((double)a * v);
                        }
                    double got = y[(((size_t)b * OC + o) * Ho + i) * Wo + j], tol = (9 * C + 3) * ldexp(1.0, -24) * mag;
                    if (post != CONV_BIAS) {   /* eval BN + ReLU of the sum: its error scaled, + 4 roundings */
                        double rg = (double)cbr.rstd[o] * cbr.gamma[o], v = (s - cbr.mean[o]) * rg + cbr.beta[o];
                        tol = fabs(rg) * tol +
                              8 * ldexp(1.0, -24) * ((fabs(s) + fabs(cbr.mean[o])) * fabs(rg) + fabs(cbr.beta[o]));
                        s = v > 0 ? v : 0;
                    }
                    if (fabs(got - s) > tol && bad++ < 3)
                        fprintf(stderr, "  conv %d>%d @%dx%d /%d post %d: out[%d,%d,%d,%d] = %.9g, bf16-operand sum %.9g\n",
                                C, OC, H, W, stride, post, b, o, i, j, got, s);
                }
    free(x), free(w), free(bias), free(y), free(scratch), free(pack), free(bn);
    return bad == 0;
}

static int conv_ok(int C, int H, int W, int OC, int stride)
{
    return conv_ok_post(2, C, H, W, OC, stride, CONV_BIAS);
}

static void test_conv_against_double(void)
{
    if (!precision_cpu_bf16()) {
        printf("SKIP bf16 convolutions: this CPU or OS lacks AVX512_BF16\n");
        return;
    }
    CHECK(conv_ok(3, 40, 40, 16, 1));    /* direct: odd channels (a pair with 0), rows of 32 + 8 pixels */
    CHECK(conv_ok(16, 33, 35, 8, 1));
    CHECK(conv_ok(2, 32, 64, 32, 1));
    CHECK(conv_ok(5, 40, 64, 40, 1));    /* im2col, bands: 64-pixel rows (masked row loads), 9C = 45 */
    CHECK(conv_ok(4, 50, 48, 48, 1));    /* panels across output rows (gathers) */
    CHECK(conv_ok(7, 16, 16, 24, 1));    /* a small map: images in parallel, 16-pixel rows */
    CHECK(conv_ok(6, 17, 19, 16, 2));    /* stride 2, odd sides */
    CHECK(conv_ok(240, 8, 8, 16, 1));    /* 9C = 2160: two K blocks */
    /* eval BN + ReLU (with and without the bias): in the GEMM's epilogue on the im2col path
     * (after the last K block only), on the registers on the direct path */
    CHECK(conv_ok_post(2, 5, 40, 64, 40, 1, CONV_BN_RELU));
    CHECK(conv_ok_post(2, 4, 50, 48, 48, 1, CONV_BN_RELU_NO_BIAS));
    CHECK(conv_ok_post(2, 6, 17, 19, 16, 2, CONV_BN_RELU));
    CHECK(conv_ok_post(2, 240, 8, 8, 16, 1, CONV_BN_RELU));
    CHECK(conv_ok_post(2, 16, 33, 35, 8, 1, CONV_BN_RELU));
    /* the direct kernel pads as many images as its scratch holds (12 here), then the next group */
    CHECK(conv_ok_post(14, 3, 32, 64, 8, 1, CONV_BN_RELU));
}

/* KANLinear at bf16 (model/kan.c: the operand packed 8 rows at a time, SiLU by a polynomial
 * exp, the fused weight packed from the parameters) against the double reference
 * (Cox–de Boor, exp): the bound of two roundings to 8 significant bits and the fp32
 * accumulation, as test_kernel_against_double's, plus 2^-20 · sum|w| for the fp32 operand's
 * own error (closed-form bases, the polynomial exp). Inputs in [-3, 3) (some outside the
 * grid); several lanes and row blocks, row tails, odd 9·in, 9·in over one K block. */
static int kan_ok(int M, int in, int outc)
{
    size_t nw = (size_t)outc * in, k9 = (size_t)KAN_FUSED * in;
    float *x = rand_floats((size_t)M * in), *y = malloc((size_t)M * outc * sizeof(float));
    float *wb = rand_floats(nw), *ws = rand_floats(nw * KAN_NBASES), *sc = rand_floats(nw);
    kan_linear_params p = {wb, ws, sc};
    float *scratch = malloc(kan_scratch_floats(M, in, outc) * sizeof(float));
    size_t words = gemm_bf16_pack_words(outc, (int)k9);
    uint32_t *pack = malloc(words * sizeof(uint32_t));
    gemm_precision_set(PRECISION_BF16);
    gemm_pack_arena_set(pack, words);
    kan_linear_forward(y, x, &p, kan_default_grid, M, in, outc, scratch);
    gemm_pack_arena_set(NULL, 0);
    gemm_precision_set(PRECISION_FP32);
    double grid[KAN_NKNOTS];
    for (int k = 0; k < KAN_NKNOTS; k++)
        grid[k] = kan_default_grid[k];
    double *a9 = malloc(k9 * sizeof(double));
    int bad = 0;
    for (int m = 0; m < M; m++) {
        for (int i = 0; i < in; i++) {   /* the exact operand row: SiLU, then the 8 bases */
            double xd = x[(size_t)m * in + i];
            a9[(size_t)i * KAN_FUSED] = xd / (1.0 + exp(-xd));
            kan_bases_reference_f64(a9 + (size_t)i * KAN_FUSED + 1, xd, grid);
        }
        for (int o = 0; o < outc; o++) {
            double exact = 0, mag = 0, wmag = 0;
            for (int i = 0; i < in; i++)
                for (int k = 0; k < KAN_FUSED; k++) {
                    size_t oi = (size_t)o * in + i;
                    double w = k ? (double)ws[oi * KAN_NBASES + k - 1] * sc[oi] : wb[oi], a = a9[(size_t)i * KAN_FUSED + k];
                    exact += a * w, mag += fabs(a * w), wmag += fabs(w);
                }
            double got = y[(size_t)m * outc + o];
            double tol = (ldexp(1.0, -7) + ldexp(1.0, -16) + (double)(k9 + 2) * ldexp(1.0, -24)) * mag + ldexp(1.0, -20) * wmag;
            if (fabs(got - exact) > tol && bad++ < 3)
                fprintf(stderr, "  kan %d x %d > %d: out[%d,%d] = %.9g, exact %.9g, sum|aw| %.6g\n", M, in, outc, m, o,
                        got, exact, mag);
        }
    }
    free(x), free(y), free(wb), free(ws), free(sc), free(scratch), free(pack), free(a9);
    return bad == 0;
}

static void test_kan_against_double(void)
{
    if (!precision_cpu_bf16()) {
        printf("SKIP bf16 KANLinear: this CPU or OS lacks AVX512_BF16\n");
        return;
    }
    CHECK(kan_ok(300, 13, 40));     /* lanes of 48 rows, 6 row panels each; 9·in = 117 (odd); 40 = 32 + 8 outputs */
    CHECK(kan_ok(1100, 8, 24));     /* lanes of 144 rows: blocks of 128 + 16 */
    CHECK(kan_ok(37, 230, 17));     /* 9·in = 2070: two K blocks; rows in one lane, a panel of 5 */
    CHECK(kan_ok(5, 3, 1));         /* fewer rows than a panel, one output */
}

/* y = KANLinear at bf16 of x, with the weight cache c (NULL: the pack arena alone). */
static void kan_bf16(float *y, const float *x, const kan_linear_params *p, int M, int in, int outc,
                     gemm_pack_cache *c)
{
    float *scratch = malloc(kan_scratch_floats(M, in, outc) * sizeof(float));
    size_t words = gemm_bf16_pack_words(outc, KAN_FUSED * in);
    uint32_t *pack = malloc(words * sizeof(uint32_t));
    gemm_precision_set(PRECISION_BF16);
    gemm_pack_arena_set(pack, words);
    gemm_pack_cache_set(c);
    kan_linear_forward(y, x, p, kan_default_grid, M, in, outc, scratch);
    gemm_pack_cache_set(NULL);
    gemm_pack_arena_set(NULL, 0);
    gemm_precision_set(PRECISION_FP32);
    free(scratch), free(pack);
}

/* The packed fused weight kept between forwards (gemm_pack_cache): a second forward reuses it
 * (same bits), and after any one parameter changes (a spline weight, a scaler, a base weight)
 * the forward equals one without the cache, not the old one. */
static void test_kan_pack_cache(void)
{
    if (!precision_cpu_bf16()) {
        printf("SKIP bf16 weight cache: this CPU or OS lacks AVX512_BF16\n");
        return;
    }
    int M = 64, in = 16, outc = 24;
    size_t nw = (size_t)outc * in, ny = (size_t)M * outc * sizeof(float);
    float *x = rand_floats((size_t)M * in), *wb = rand_floats(nw), *ws = rand_floats(nw * KAN_NBASES);
    float *sc = rand_floats(nw), *y0 = malloc(ny), *y1 = malloc(ny), *y2 = malloc(ny);
    kan_linear_params p = {wb, ws, sc};
    gemm_pack_cache *c = gemm_pack_cache_create();
    CHECK(c != NULL);
    gemm_pack_cache_set(c);
    int stale = 0;
    CHECK(gemm_pack_cached(wb, 16, 1, &stale) == NULL);   /* nothing cached at fp32 */
    gemm_pack_cache_set(NULL);
    kan_bf16(y0, x, &p, M, in, outc, c);
    kan_bf16(y1, x, &p, M, in, outc, c);
    CHECK(memcmp(y0, y1, ny) == 0);
    float *edits[3] = {ws + 77, sc + 5, wb + nw - 1};
    for (int t = 0; t < 3; t++) {
        *edits[t] += 0.75f;
        kan_bf16(y1, x, &p, M, in, outc, c);
        kan_bf16(y2, x, &p, M, in, outc, NULL);
        CHECK_MSG(memcmp(y1, y2, ny) == 0, "edit %d: the cached weight was not repacked", t);
        CHECK(memcmp(y0, y1, ny) != 0);
        memcpy(y0, y1, ny);
    }
    /* the stamp sees a swap of two floats of one array and a move between arrays */
    const float *arr[2] = {wb, sc};
    size_t n[2] = {nw, nw};
    uint64_t s0 = gemm_weights_stamp(arr, n, 2);
    float t0 = wb[3];
    wb[3] = wb[4], wb[4] = t0;
    CHECK(wb[3] == wb[4] || gemm_weights_stamp(arr, n, 2) != s0);
    wb[4] = wb[3], wb[3] = t0;
    CHECK(gemm_weights_stamp(arr, n, 2) == s0);
    t0 = wb[nw - 1], wb[nw - 1] = sc[0], sc[0] = t0;
    CHECK(wb[nw - 1] == sc[0] || gemm_weights_stamp(arr, n, 2) != s0);
    gemm_pack_cache_free(c);
    free(x), free(wb), free(ws), free(sc), free(y0), free(y1), free(y2);
}

static void test_parse(void)
{
    CHECK(precision_parse("fp32") == PRECISION_FP32);
    CHECK(precision_parse("bf16") == PRECISION_BF16);
    CHECK(precision_parse("auto") == PRECISION_AUTO);
    CHECK(precision_parse("BF16") == -1 && precision_parse("") == -1 && precision_parse(NULL) == -1);
    CHECK(precision_resolve(PRECISION_FP32) == PRECISION_FP32);
}

/* engine_gemm against cblas_sgemm, bit for bit, at the current gemm_precision(). */
static int engine_matches_sgemm(void)
{
    int M = 37, N = 70, K = 129;
    float *A = rand_floats((size_t)M * K), *B = rand_floats((size_t)N * K), *C1 = rand_floats((size_t)M * N);
    float *C2 = malloc((size_t)M * N * sizeof(float));
    memcpy(C2, C1, (size_t)M * N * sizeof(float));
    engine_gemm(CblasNoTrans, CblasTrans, M, N, K, A, K, B, K, 1.0f, C1, N);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 1.0f, C2, N);
    int same = memcmp(C1, C2, (size_t)M * N * sizeof(float)) == 0;
    free(A), free(B), free(C1), free(C2);
    return same;
}

static void test_forced_fallback(void)
{
    setenv("C2SEG_BF16_CPU", "0", 1);
    CHECK(!precision_cpu_bf16());
    CHECK(precision_resolve(PRECISION_AUTO) == PRECISION_FP32);
    CHECK(precision_resolve(PRECISION_BF16) == PRECISION_FP32);
    gemm_precision_set(PRECISION_BF16);
    CHECK(gemm_precision() == PRECISION_FP32);
    gemm_pack_arena_set((uint32_t *)&rng, 1);
    CHECK(gemm_pack_arena(1) == NULL);   /* no packing at fp32 */
    gemm_pack_arena_set(NULL, 0);
    CHECK(engine_matches_sgemm());
    precision_set_inference(PRECISION_BF16);
    CHECK(precision_inference() == PRECISION_FP32);
    unsetenv("C2SEG_BF16_CPU");
    gemm_precision_set(PRECISION_FP32);
    CHECK(engine_matches_sgemm());
    if (precision_cpu_bf16()) {   /* and the switch really switches where the CPU has it */
        CHECK(precision_resolve(PRECISION_AUTO) == PRECISION_BF16);
        gemm_precision_set(PRECISION_BF16);
        CHECK(gemm_precision() == PRECISION_BF16);
        CHECK(!engine_matches_sgemm());
        gemm_precision_set(PRECISION_FP32);
    }
}

int main(void)
{
    RUN_TEST(test_parse);
    RUN_TEST(test_kernel_against_double);
    RUN_TEST(test_conv_against_double);
    RUN_TEST(test_kan_against_double);
    RUN_TEST(test_kan_pack_cache);
    RUN_TEST(test_forced_fallback);
    return test_summary();
}
