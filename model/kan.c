/* kan: KANLinear forward / backward, the reference (Cox–de Boor) and the fused fast path.
 * See kan.h for the contract and docs/kan.md for the closed-form bases. */
#include "model/kan.h"
#include "model/threads.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* The reference must reproduce torch's separate multiply and add roundings; clang would
 * otherwise contract a*b + c*d into fused multiply-adds (gcc does not in -std=c11 mode). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

const float kan_default_grid[KAN_NKNOTS] = {-2.2f, -1.8f, -1.4f, -1.0f, -0.6f, -0.2f,
                                            0.2f,  0.6f,  1.0f,  1.4f,  1.8f,  2.2f};

/* The fast path cuts the M rows into KAN_LANES contiguous lanes, run in parallel (a thread
 * takes whole lanes). A lane builds its X9 operand KAN_BLOCK_ROWS rows at a time and calls
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

/* Uniform cubic B-spline on the interval [t_j, t_{j+1}) with u = (x − t_j)/(t_{j+1} − t_j):
 *   B_{j-3} = (1−u)³/6, B_{j-2} = (3u³ − 6u² + 4)/6, B_{j-1} = (−3u³ + 3u² + 3u + 1)/6, B_j = u³/6.
 * The interval is found with the same comparisons as the reference's B0 (t_j <= x < t_{j+1}),
 * so both paths always agree on it for the same x; the values differ by float rounding only. */
/* The interval guess from 1/step is only a starting point; the knot comparisons decide. */
static inline int bases_closed_form(float b4[4], float *db4, float x, const float *grid,
                                    float inv_step)
{
    if (!(x >= grid[0] && x < grid[KAN_NKNOTS - 1]))
        return -1;
    int j = (int)((x - grid[0]) * inv_step);
    if (j > KAN_NKNOTS - 2)
        j = KAN_NKNOTS - 2;
    while (j > 0 && x < grid[j])
        j--;
    while (j < KAN_NKNOTS - 2 && x >= grid[j + 1])
        j++;
    float hj = grid[j + 1] - grid[j];
    float u = (x - grid[j]) / hj, v = 1.0f - u;
    float u2 = u * u, u3 = u2 * u;
    const float s = 1.0f / 6.0f;
    b4[0] = v * v * v * s;
    b4[1] = (3.0f * u3 - 6.0f * u2 + 4.0f) * s;
    b4[2] = (-3.0f * u3 + 3.0f * u2 + 3.0f * u + 1.0f) * s;
    b4[3] = u3 * s;
    if (db4) {
        float inv = 0.5f / hj;   /* d/dx = (1/h) d/du, and every d/du carries a factor 1/2 */
        db4[0] = -v * v * inv;
        db4[1] = (3.0f * u2 - 4.0f * u) * inv;
        db4[2] = (-3.0f * u2 + 2.0f * u + 1.0f) * inv;
        db4[3] = u2 * inv;
    }
    return j;
}

static float grid_inv_step(const float *grid)
{
    return (float)(KAN_NKNOTS - 1) / (grid[KAN_NKNOTS - 1] - grid[0]);
}

int kan_bases_closed_form(float b4[4], float db4[4], float x, const float grid[KAN_NKNOTS])
{
    return bases_closed_form(b4, db4, x, grid, grid_inv_step(grid));
}

static float silu_of(float x)
{
    return x / (1.0f + expf(-x));
}

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

/* Scratch: Wf [outc, 9in], one operand block per lane (X9 in forward, dX9 in backward),
 * then the backward's dWf [outc, 9in] and its KAN_GROUPS X9 column blocks. */
size_t kan_scratch_floats(int M, int in, int outc)
{
    size_t k9 = (size_t)KAN_FUSED * (size_t)in, w = (size_t)outc * k9;
    size_t grows = (size_t)(M < KAN_GROUP_ROWS ? M : KAN_GROUP_ROWS);
    return 2 * w + KAN_LANES * lane_block_rows(M) * k9 + grows * k9;
}

static float *lane_scratch(float *scratch, int M, int in, int outc, int lane)
{
    size_t k9 = (size_t)KAN_FUSED * (size_t)in;
    return scratch + (size_t)outc * k9 + (size_t)lane * lane_block_rows(M) * k9;
}

/* Wf [outc, 9·in]: Wf[o,9i] = Wb[o,i], Wf[o,9i+1+k] = Ws[o,i,k]·S[o,i] (torch's product). */
static void fused_weight_build(float *wf, const kan_linear_params *p, int in, int outc)
{
    C2_OMP(parallel for schedule(static) if((size_t)outc * in * KAN_FUSED > C2_PAR_MIN))
    for (int o = 0; o < outc; o++)
        for (int i = 0; i < in; i++) {
            size_t oi = (size_t)o * in + i;
            float *w = wf + oi * KAN_FUSED;
            w[0] = p->base_weight[oi];
            for (int k = 0; k < KAN_NBASES; k++)
                w[1 + k] = p->spline_weight[oi * KAN_NBASES + k] * p->spline_scaler[oi];
        }
}

/* X9 [rows, 9·(i1−i0)] for the inputs i0..i1−1 of inp rows [rows, in]: SiLU(x), then the
 * 8 bases (4 non-zero). One pass that writes each 9-float group whole. */
static void operand_build(float *x9, const float *inp, int rows, int in, int i0, int i1,
                          const float *grid)
{
    float inv_step = grid_inv_step(grid);
    for (int m = 0; m < rows; m++)
        for (int i = i0; i < i1; i++) {
            float x = inp[(size_t)m * in + i], b4[4];
            float *row = x9 + ((size_t)m * (i1 - i0) + (i - i0)) * KAN_FUSED;
            row[0] = silu_of(x);
            for (int k = 1; k < KAN_FUSED; k++)
                row[k] = 0.0f;
            int j = bases_closed_form(b4, NULL, x, grid, inv_step);
            if (j < 0)
                continue;
            for (int r = 0; r < 4; r++) {
                int k = j - 3 + r;
                if (k >= 0 && k < KAN_NBASES)
                    row[1 + k] = b4[r];
            }
        }
}

void kan_linear_forward(float *out, const float *inp, const kan_linear_params *p,
                        const float grid[KAN_NKNOTS], int M, int in, int outc, float *scratch)
{
    int k9 = KAN_FUSED * in;
    const float *wf = scratch;
    fused_weight_build(scratch, p, in, outc);
    C2_OMP(parallel for schedule(static, 1) if((size_t)M * in * outc > C2_PAR_MIN))
    for (int lane = 0; lane < KAN_LANES; lane++) {
        float *x9 = lane_scratch(scratch, M, in, outc, lane);
        int lo, hi;
        lane_rows(&lo, &hi, M, lane);
        for (int r0 = lo; r0 < hi; r0 += KAN_BLOCK_ROWS) {
            int rows = hi - r0 < KAN_BLOCK_ROWS ? hi - r0 : KAN_BLOCK_ROWS;   /* <= lane_block_rows */
            operand_build(x9, inp + (size_t)r0 * in, rows, in, 0, in, grid);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, outc, k9, 1.0f, x9, k9, wf,
                        k9, 0.0f, out + (size_t)r0 * outc, outc);
        }
    }
}

/* dinp[m,i] += dX9[m,9i]·SiLU'(x) + Σ_k dX9[m,9i+1+k]·B'_k(x), over the 4 non-zero B'_k. */
static void operand_backward(float *dinp, const float *dx9, const float *inp, int rows, int in,
                             const float *grid)
{
    float inv_step = grid_inv_step(grid);
    size_t n_all = (size_t)rows * in;
    for (size_t n = 0; n < n_all; n++) {
        float x = inp[n], b4[4], db4[4];
        const float *g = dx9 + n * KAN_FUSED;
        float sig = 1.0f / (1.0f + expf(-x));
        float acc = g[0] * (sig * (1.0f + x * (1.0f - sig)));
        int j = bases_closed_form(b4, db4, x, grid, inv_step);
        for (int r = 0; j >= 0 && r < 4; r++) {
            int k = j - 3 + r;
            if (k >= 0 && k < KAN_NBASES)
                acc += g[1 + k] * db4[r];
        }
        dinp[n] += acc;
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
    C2_OMP(parallel for schedule(static, 1) if(par))
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
    C2_OMP(parallel for schedule(static, 1) if(par))
    for (int g = 0; g < KAN_GROUPS; g++) {
        int i0 = (int)((long)in * g / KAN_GROUPS), i1 = (int)((long)in * (g + 1) / KAN_GROUPS);
        int ng = KAN_FUSED * (i1 - i0);
        if (ng == 0)
            continue;
        float *xg = x9g + (size_t)grows_max * KAN_FUSED * i0;   /* the groups tile one block */
        for (int r0 = 0; r0 < M; r0 += KAN_GROUP_ROWS) {
            int rows = M - r0 < KAN_GROUP_ROWS ? M - r0 : KAN_GROUP_ROWS;
            operand_build(xg, inp + (size_t)r0 * in, rows, in, i0, i1, grid);
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
