/* kan: KANLinear forward / backward, the reference (Cox–de Boor) and the fused fast path.
 * See kan.h for the contract and docs/kan.md for the closed-form bases. */
#include "model/kan.h"
#include "model/precision.h"
#include "model/threads.h"

#include <cblas.h>
#include <math.h>
#include <string.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

/* The reference must reproduce torch's separate multiply and add roundings; clang would
 * otherwise contract a*b + c*d into fused multiply-adds (gcc does not in -std=c11 mode). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

const float kan_default_grid[KAN_NKNOTS] = {-2.2f, -1.8f, -1.4f, -1.0f, -0.6f, -0.2f,
                                            0.2f,  0.6f,  1.0f,  1.4f,  1.8f,  2.2f};

/* The fast path cuts the M rows into KAN_LANES contiguous lanes, run in parallel (a thread
 * takes whole lanes, whichever thread is free next: a thread descheduled on a shared core
 * leaves the remaining lanes to the other). A lane builds its X9 operand KAN_BLOCK_ROWS rows at a time and calls
 * a single-threaded sgemm on the block while it is still in the thread's cache (forward;
 * dX9 and the input gradient in backward). The cuts depend on M and in only, so results
 * are the same for every thread count. 128 rows of 9·in floats stay
 * near the L2 size at in = 128 and keep each sgemm large enough to run at full speed. */
#define KAN_BLOCK_ROWS 128
#define KAN_LANES 8
/* The backward's dWf is cut by input channels instead: KAN_GROUPS fixed groups, each
 * building its own columns of X9 for KAN_GROUP_ROWS rows at a time, so dWf needs no
 * per-thread copies and its sums run over the rows in order, whatever the thread count. */
#define KAN_GROUPS 4
#define KAN_GROUP_ROWS 512

size_t kan_linear_param_count(int in, int out)
{
    return (size_t)10 * (size_t)in * (size_t)out;
}

#define REAL float
#define REAL_EXP expf
#define KAN_REF(name) name
#define KAN_REF_PARAMS kan_linear_params
#include "model/kan_reference.inc"
#undef REAL
#undef REAL_EXP
#undef KAN_REF
#undef KAN_REF_PARAMS

#define REAL double
#define REAL_EXP exp
#define KAN_REF(name) name##_f64
#define KAN_REF_PARAMS kan_linear_params_f64
#include "model/kan_reference.inc"
#undef REAL
#undef REAL_EXP
#undef KAN_REF
#undef KAN_REF_PARAMS

/* Rows per lane: M / KAN_LANES rounded up to a multiple of 16, so that every sgemm row block
 * starts on a kernel tile as an uncut call's would (OpenBLAS's tail kernels round
 * differently; tiny M leaves the last lanes empty). */
static long lane_span(int M)
{
    long per = ((long)M + KAN_LANES - 1) / KAN_LANES;
    return (per + 15) / 16 * 16;
}

/* Rows [*lo, *hi) of lane `lane`. */
static void lane_rows(int *lo, int *hi, int M, int lane)
{
    long per = lane_span(M);
    *lo = (int)(per * lane < M ? per * lane : M);
    *hi = (int)(per * (lane + 1) < M ? per * (lane + 1) : M);
}

/* Rows of one lane's operand block: at most KAN_BLOCK_ROWS, at most the lane's span. */
static size_t lane_block_rows(int M)
{
    long per = lane_span(M);
    return (size_t)(per < KAN_BLOCK_ROWS ? per : KAN_BLOCK_ROWS);
}

/* A bf16 forward builds its operand KAN_PANEL_ROWS rows at a time (one panel of the bf16
 * GEMM's packed A) in fp32, in a lane's own rows past its operand block. */
#define KAN_PANEL_ROWS 8

/* Floats of one lane's scratch: its operand block (X9 in forward, dX9 in backward; at bf16
 * the packed operand, half as many words) and the bf16 forward's fp32 panel rows. */
static size_t lane_floats(int M, int in)
{
    return (lane_block_rows(M) + KAN_PANEL_ROWS) * (size_t)KAN_FUSED * (size_t)in;
}

/* Scratch: Wf [outc, 9in], one operand block per lane, then the backward's dWf [outc, 9in]
 * and its KAN_GROUPS X9 column blocks. */
size_t kan_scratch_floats(int M, int in, int outc)
{
    size_t k9 = (size_t)KAN_FUSED * (size_t)in, w = (size_t)outc * k9;
    size_t grows = (size_t)(M < KAN_GROUP_ROWS ? M : KAN_GROUP_ROWS);
    return 2 * w + KAN_LANES * lane_floats(M, in) + grows * k9;
}

static float *lane_scratch(float *scratch, int M, int in, int outc, int lane)
{
    return scratch + (size_t)outc * KAN_FUSED * in + (size_t)lane * lane_floats(M, in);
}

/* Row o of Wf [outc, 9·in]: Wf[o,9i] = Wb[o,i], Wf[o,9i+1+k] = Ws[o,i,k]·S[o,i] (torch's product). */
static void fused_weight_row(float *wf, const kan_linear_params *p, int in, int o)
{
    for (int i = 0; i < in; i++) {
        size_t oi = (size_t)o * in + i;
        float *w = wf + (size_t)i * KAN_FUSED;
        w[0] = p->base_weight[oi];
        for (int k = 0; k < KAN_NBASES; k++)
            w[1 + k] = p->spline_weight[oi * KAN_NBASES + k] * p->spline_scaler[oi];
    }
}

static void fused_weight_build(float *wf, const kan_linear_params *p, int in, int outc)
{
    C2_OMP(parallel for schedule(static) if((size_t)outc * in * KAN_FUSED > C2_PAR_MIN))
    for (int o = 0; o < outc; o++)
        fused_weight_row(wf + (size_t)o * KAN_FUSED * in, p, in, o);
}

/* The bf16 GEMM's packed B = Wfᵀ (9·in, outc), made from the parameters in groups of 16
 * outputs (each group's rows of Wf built in fp32 where Wf would lie, then packed while in
 * cache; a group fills whole 64-byte lines of the packed panels, so threads share none). */
static void fused_weight_pack(uint32_t *wpack, float *wf, const kan_linear_params *p, int in, int outc)
{
    int k9 = KAN_FUSED * in, groups = (outc + 15) / 16;
    C2_OMP(parallel for schedule(static) if((size_t)outc * in * KAN_FUSED > C2_PAR_MIN))
    for (int g = 0; g < groups; g++) {
        int o0 = 16 * g, n = outc - o0 < 16 ? outc - o0 : 16;
        for (int o = o0; o < o0 + n; o++)
            fused_weight_row(wf + (size_t)o * k9, p, in, o);
        gemm_bf16_pack_b_cols(wpack, outc, o0, wf + (size_t)o0 * k9, k9, n, k9);
    }
}

/* The closed form: the uniform cubic B-spline on the interval [t_j, t_{j+1}) with
 * u = (x − t_j)/(t_{j+1} − t_j):
 *   B_{j-3} = (1−u)³/6, B_{j-2} = (3u³ − 6u² + 4)/6, B_{j-1} = (−3u³ + 3u² + 3u + 1)/6, B_j = u³/6,
 * derivatives d/dx = (1/h) d/du. For up to KAN_CHUNK consecutive inputs, without branches so
 * that the loop vectorises: the interval j counts the inner knots at or below x (the same
 * comparisons as the reference's B0, t_j <= x < t_{j+1}, so both paths always agree on it;
 * the values differ by float rounding only), and t_j, t_{j+1} are picked by selects.
 * x outside [t_0, t_11) or NaN gives zeros (and j = 3).
 * derivative: b holds dB/dx and silu holds SiLU'(x) instead. */
enum { KAN_CHUNK = 64 };
typedef struct kan_chunk {
    float silu[KAN_CHUNK], b[4][KAN_CHUNK];
    int j[KAN_CHUNK];
} kan_chunk;

/* exp(y) for the bf16 forward's SiLU, in a loop that vectorises (libm's expf is a call per
 * element): y clamped to [-87, 88], y = n ln2 + r (Cody–Waite, |r| <= ln2 / 2), the degree-6
 * polynomial of Cephes' expf for e^r, times 2^n from the exponent bits. Within 2 ulp of expf
 * over the clamp; the operand is rounded to 8 significant bits after it anyway. */
static inline float exp_poly(float y)
{
    y = y < -87.0f ? -87.0f : y > 88.0f ? 88.0f : y;
    const float shift = 12582912.0f;   /* 1.5 · 2^23: t - shift is y·log2(e) rounded to an integer */
    float t = y * 1.44269504f + shift, nf = t - shift;
    int32_t ti, ni;
    memcpy(&ti, &t, sizeof ti);
    ni = ti - 0x4b400000;              /* the bits of shift */
    float r = y - nf * 0.693359375f;
    r = r + nf * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f, scale;
    int32_t sb = (ni + 127) << 23;
    memcpy(&scale, &sb, sizeof scale);
    return e * scale;
}

/* mode: KAN_VALUES (the fp32 forward), KAN_DERIVATIVES (b holds dB/dx, silu SiLU'(x)), or
 * KAN_VALUES_FAST (the bf16 forward: SiLU with exp_poly, vectorised). */
enum { KAN_VALUES = 0, KAN_DERIVATIVES = 1, KAN_VALUES_FAST = 2 };

static void chunk_bases(kan_chunk *c, const float *x, int n, const float *grid, int mode)
{
    int derivative = mode == KAN_DERIVATIVES;
    const float s = 1.0f / 6.0f;
    C2_OMP(simd)
    for (int t = 0; t < n; t++) {
        float xv = x[t], tj = grid[0], tj1 = grid[1];
        int j = 0;
#pragma GCC unroll 16
        for (int k = 1; k < KAN_NKNOTS - 1; k++) {   /* the knots are sorted: x >= t_k up to k = j */
            int ge = xv >= grid[k];
            j += ge;
            tj = ge ? grid[k] : tj;
            tj1 = ge ? grid[k + 1] : tj1;
        }
        int ok = (xv >= grid[0]) & (xv < grid[KAN_NKNOTS - 1]);
        float hj = tj1 - tj;
        float u = (xv - tj) / hj, v = 1.0f - u;
        float u2 = u * u, u3 = u2 * u, inv = 0.5f / hj;   /* every d/du carries a factor 1/2 */
        float b0, b1, b2, b3;
        if (derivative) {   /* loop-invariant: the compiler splits the loop on it */
            b0 = -v * v * inv, b1 = (3.0f * u2 - 4.0f * u) * inv;
            b2 = (-3.0f * u2 + 2.0f * u + 1.0f) * inv, b3 = u2 * inv;
        } else {
            b0 = v * v * v * s, b1 = (3.0f * u3 - 6.0f * u2 + 4.0f) * s;
            b2 = (-3.0f * u3 + 3.0f * u2 + 3.0f * u + 1.0f) * s, b3 = u3 * s;
        }
        c->b[0][t] = ok ? b0 : 0.0f;
        c->b[1][t] = ok ? b1 : 0.0f;
        c->b[2][t] = ok ? b2 : 0.0f;
        c->b[3][t] = ok ? b3 : 0.0f;
        c->j[t] = ok ? j : 3;
    }
    if (mode == KAN_VALUES_FAST) {
        C2_OMP(simd)
        for (int t = 0; t < n; t++)
            c->silu[t] = x[t] / (1.0f + exp_poly(-x[t]));
        return;
    }
    for (int t = 0; t < n; t++) {
        float e = expf(-x[t]), sig = 1.0f / (1.0f + e);
        c->silu[t] = derivative ? sig * (1.0f + x[t] * (1.0f - sig)) : x[t] / (1.0f + e);
    }
}

int kan_bases_closed_form(float b4[4], float db4[4], float x, const float grid[KAN_NKNOTS])
{
    kan_chunk v, d;
    chunk_bases(&v, &x, 1, grid, KAN_VALUES);
    chunk_bases(&d, &x, 1, grid, KAN_DERIVATIVES);
    for (int r = 0; r < 4; r++)
        b4[r] = v.b[r][0], db4[r] = d.b[r][0];
    return x >= grid[0] && x < grid[KAN_NKNOTS - 1] ? v.j[0] : -1;
}

/* One 9-float group: SiLU(x), then B_{j−3..j} at spline columns j−3..j (those within 0..7),
 * zeros elsewhere. With AVX2 one permute places the four values. */
static inline void group_store(float *row, const kan_chunk *c, int t)
{
    row[0] = c->silu[t];
#if defined(__AVX2__)
    __m256 b = _mm256_castps128_ps256(_mm_setr_ps(c->b[0][t], c->b[1][t], c->b[2][t], c->b[3][t]));
    b = _mm256_blend_ps(b, _mm256_setzero_ps(), 0xf0);
    /* column k takes lane k − (j − 3) when that is 0..3, else lane 4 (a zero) */
    __m256i idx = _mm256_sub_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(c->j[t] - 3));
    idx = _mm256_min_epu32(idx, _mm256_set1_epi32(4));
    _mm256_storeu_ps(row + 1, _mm256_permutevar8x32_ps(b, idx));
#else
    for (int k = 0; k < KAN_NBASES; k++) {
        int r = k - (c->j[t] - 3);
        row[1 + k] = r >= 0 && r < 4 ? c->b[r][t] : 0.0f;
    }
#endif
}

/* X9 [rows, 9·(i1−i0)] for the inputs i0..i1−1 of inp rows [rows, in]: SiLU(x), then the
 * 8 bases (4 non-zero), each 9-float group written whole. With every input (i0 = 0, i1 = in)
 * the groups follow the inputs in memory order, so whole chunks run across rows. mode:
 * KAN_VALUES, or KAN_VALUES_FAST for the bf16 forward (chunk_bases). */
static void operand_build(float *x9, const float *inp, int rows, int in, int i0, int i1, const float *grid,
                          int mode)
{
    kan_chunk c;
    if (i0 == 0 && i1 == in) {
        size_t n_all = (size_t)rows * in;
        for (size_t n0 = 0; n0 < n_all; n0 += KAN_CHUNK) {
            int n = n_all - n0 < KAN_CHUNK ? (int)(n_all - n0) : KAN_CHUNK;
            chunk_bases(&c, inp + n0, n, grid, mode);
            for (int t = 0; t < n; t++)
                group_store(x9 + (n0 + t) * KAN_FUSED, &c, t);
        }
        return;
    }
    for (int m = 0; m < rows; m++)
        for (int c0 = i0; c0 < i1; c0 += KAN_CHUNK) {
            int n = i1 - c0 < KAN_CHUNK ? i1 - c0 : KAN_CHUNK;
            chunk_bases(&c, inp + (size_t)m * in + c0, n, grid, mode);
            float *row = x9 + ((size_t)m * (i1 - i0) + (c0 - i0)) * KAN_FUSED;
            for (int t = 0; t < n; t++)
                group_store(row + (size_t)t * KAN_FUSED, &c, t);
        }
}

/* At bf16: Wf packed from the parameters (fused_weight_pack), and each lane's operand block
 * packed KAN_PANEL_ROWS rows at a time: the rows built in fp32 (operand_build, the values of
 * the fp32 path) in the lane's panel rows, packed (rounded) into the block's bf16 operand
 * while in L1, then one GEMM of the two prepacked operands per block. The sums are those of
 * gemm_bf16 on the fp32 X9 and Wf (the same roundings, the same kernel). */
static void kan_linear_forward_bf16(float *out, const float *inp, const kan_linear_params *p,
                                    const float grid[KAN_NKNOTS], int M, int in, int outc, float *scratch,
                                    uint32_t *wpack, int stale)
{
    int k9 = KAN_FUSED * in;
    if (stale)
        fused_weight_pack(wpack, scratch, p, in, outc);
    C2_OMP(parallel for schedule(dynamic, 1) if((size_t)M * in * outc > C2_PAR_MIN))
    for (int lane = 0; lane < KAN_LANES; lane++) {
        float *ls = lane_scratch(scratch, M, in, outc, lane), *rows8 = ls + lane_block_rows(M) * (size_t)k9;
        uint32_t *apack = (uint32_t *)ls;   /* (rows + 7) / 8 · 8 · (k9 + 1) / 2 words fit the block */
        int lo, hi;
        lane_rows(&lo, &hi, M, lane);
        for (int r0 = lo; r0 < hi; r0 += KAN_BLOCK_ROWS) {
            int rows = hi - r0 < KAN_BLOCK_ROWS ? hi - r0 : KAN_BLOCK_ROWS;
            for (int m = 0; m < rows; m += KAN_PANEL_ROWS) {
                int mr = rows - m < KAN_PANEL_ROWS ? rows - m : KAN_PANEL_ROWS;
                operand_build(rows8, inp + (size_t)(r0 + m) * in, mr, in, 0, in, grid, KAN_VALUES_FAST);
                gemm_bf16_pack_a_rows(apack, rows, m, rows8, k9, mr, k9);
            }
            gemm_bf16_packed(apack, CblasNoTrans, NULL, k9, wpack, CblasTrans, NULL, k9, rows, outc, k9, 0.0f,
                             out + (size_t)r0 * outc, outc);
        }
    }
}

void kan_linear_forward(float *out, const float *inp, const kan_linear_params *p,
                        const float grid[KAN_NKNOTS], int M, int in, int outc, float *scratch)
{
    int k9 = KAN_FUSED * in;
    const float *wf = scratch;
    size_t words = gemm_bf16_pack_words(outc, k9);
    uint32_t *wpack = NULL;
    int stale = 1;
    if (gemm_precision() == PRECISION_BF16) {   /* Wf packed once per model: kept while the parameters are */
        size_t nw = (size_t)outc * in;
        const float *arrays[3] = {p->base_weight, p->spline_weight, p->spline_scaler};
        size_t n[3] = {nw, nw * KAN_NBASES, nw};
        uint64_t stamp = gemm_weights_stamp(arrays, n, 3) + (uint64_t)in * 0x100000001b3ull + (uint64_t)outc;
        wpack = gemm_pack_cached(p->base_weight, words, stamp, &stale);
    }
    if (!wpack)
        wpack = gemm_pack_arena(words), stale = 1;   /* bf16 without the cache: packed in this call */
    if (wpack) {
        kan_linear_forward_bf16(out, inp, p, grid, M, in, outc, scratch, wpack, stale);
        return;
    }
    fused_weight_build(scratch, p, in, outc);
    C2_OMP(parallel for schedule(dynamic, 1) if((size_t)M * in * outc > C2_PAR_MIN))
    for (int lane = 0; lane < KAN_LANES; lane++) {
        float *x9 = lane_scratch(scratch, M, in, outc, lane);
        int lo, hi;
        lane_rows(&lo, &hi, M, lane);
        for (int r0 = lo; r0 < hi; r0 += KAN_BLOCK_ROWS) {
            int rows = hi - r0 < KAN_BLOCK_ROWS ? hi - r0 : KAN_BLOCK_ROWS;   /* <= lane_block_rows */
            operand_build(x9, inp + (size_t)r0 * in, rows, in, 0, in, grid, KAN_VALUES);
            engine_gemm(CblasNoTrans, CblasTrans, rows, outc, k9, x9, k9, wf, k9, 0.0f, out + (size_t)r0 * outc, outc);
        }
    }
}

/* dinp[m,i] += dX9[m,9i]·SiLU'(x) + Σ_k dX9[m,9i+1+k]·B'_k(x), over the 4 non-zero B'_k
 * (those with k in 0..7; the others are skipped by a select, not a branch). */
static void operand_backward(float *dinp, const float *dx9, const float *inp, int rows, int in,
                             const float *grid)
{
    size_t n_all = (size_t)rows * in;
    kan_chunk c;
    for (size_t n0 = 0; n0 < n_all; n0 += KAN_CHUNK) {
        int nc = n_all - n0 < KAN_CHUNK ? (int)(n_all - n0) : KAN_CHUNK;
        chunk_bases(&c, inp + n0, nc, grid, KAN_DERIVATIVES);
        for (int t = 0; t < nc; t++) {
            const float *g = dx9 + (n0 + t) * KAN_FUSED;
            float acc = g[0] * c.silu[t];
            for (int r = 0; r < 4; r++) {
                int k = c.j[t] - 3 + r, kk = k < 0 ? 0 : k >= KAN_NBASES ? KAN_NBASES - 1 : k;
                float term = g[1 + kk] * c.b[r][t];
                acc += k == kk ? term : 0.0f;
            }
            dinp[n0 + t] += acc;
        }
    }
}

void kan_linear_backward(float *dinp, const kan_linear_params *dp, const float *dout,
                         const float *inp, const kan_linear_params *p,
                         const float grid[KAN_NKNOTS], int M, int in, int outc, float *scratch)
{
    int k9 = KAN_FUSED * in;
    size_t wsize = (size_t)outc * k9;
    const float *wf = scratch;
    float *dwf = lane_scratch(scratch, M, in, outc, KAN_LANES), *x9g = dwf + wsize;
    fused_weight_build(scratch, p, in, outc);
    int par = (size_t)M * in * outc > C2_PAR_MIN;
    /* dX9 [rows, 9in] = dY [rows, outc] · Wf [outc, 9in], then dinp; lanes of rows */
    C2_OMP(parallel for schedule(dynamic, 1) if(par))
    for (int lane = 0; lane < (dinp ? KAN_LANES : 0); lane++) {
        float *dx9 = lane_scratch(scratch, M, in, outc, lane);
        int lo, hi;
        lane_rows(&lo, &hi, M, lane);
        for (int r0 = lo; r0 < hi; r0 += KAN_BLOCK_ROWS) {
            int rows = hi - r0 < KAN_BLOCK_ROWS ? hi - r0 : KAN_BLOCK_ROWS;   /* <= lane_block_rows */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, k9, outc, 1.0f,
                        dout + (size_t)r0 * outc, outc, wf, k9, 0.0f, dx9, k9);
            operand_backward(dinp + (size_t)r0 * in, dx9, inp + (size_t)r0 * in, rows, in, grid);
        }
    }
    /* dWf [outc, 9in] = dYᵀ [outc, M] · X9 [M, 9in]; groups of input channels (columns) */
    int grows_max = M < KAN_GROUP_ROWS ? M : KAN_GROUP_ROWS;
    C2_OMP(parallel for schedule(dynamic, 1) if(par))
    for (int g = 0; g < KAN_GROUPS; g++) {
        int i0 = (int)((long)in * g / KAN_GROUPS), i1 = (int)((long)in * (g + 1) / KAN_GROUPS);
        int ng = KAN_FUSED * (i1 - i0);
        if (ng == 0)
            continue;
        float *xg = x9g + (size_t)grows_max * KAN_FUSED * i0;   /* the groups tile one block */
        for (int r0 = 0; r0 < M; r0 += KAN_GROUP_ROWS) {
            int rows = M - r0 < KAN_GROUP_ROWS ? M - r0 : KAN_GROUP_ROWS;
            operand_build(xg, inp + (size_t)r0 * in, rows, in, i0, i1, grid, KAN_VALUES);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, outc, ng, rows, 1.0f,
                        dout + (size_t)r0 * outc, outc, xg, ng, r0 ? 1.0f : 0.0f,
                        dwf + (size_t)KAN_FUSED * i0, k9);
        }
    }
    /* chain rule through Wf = (Wb, Ws·S) */
    size_t n_oi = (size_t)outc * in;
    C2_OMP(parallel for schedule(static) if(n_oi * KAN_FUSED > C2_PAR_MIN))
    for (size_t oi = 0; oi < n_oi; oi++) {
        const float *g = dwf + oi * KAN_FUSED;
        dp->base_weight[oi] += g[0];
        float ds = 0;
        for (int k = 0; k < KAN_NBASES; k++) {
            dp->spline_weight[oi * KAN_NBASES + k] += g[1 + k] * p->spline_scaler[oi];
            ds += g[1 + k] * p->spline_weight[oi * KAN_NBASES + k];
        }
        dp->spline_scaler[oi] += ds;
    }
}
