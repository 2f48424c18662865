/* pipeline/predict_map: model-resolution probabilities back onto the source grid.
 * The cache stores, per sample, the affine map model (row, col, 1) -> source (a0, a1, a2)
 * that preprocessing used (resize, canonical flips / transpose, NIfTI slice axis). Two of
 * its rows vary in-plane; the third is the constant slice coordinate. Every source voxel
 * of that plane is taken back through the inverse 2x2 map, so no array-index assumption
 * (which axis is the slice, which way it runs) is made here. */
#include "pipeline/predict/predict.h"

#include <math.h>
#include <stdlib.h>

/* round(255 * p) of a probability p in [0, 1], ties to even: lrintf's value in the default
 * rounding mode, as rintf (one instruction, no errno path). */
static inline uint8_t to_byte(float p)
{
    return (uint8_t)(int)rintf(p * 255.0f);
}

/* One axis of the bilinear sample: coordinate t clamped to [0, S-1], its two neighbours and
 * the weight of the second. */
typedef struct tap {
    int i0, i1;
    double w;
} tap;

static tap tap_at(double t, int S)
{
    t = t < 0 ? 0 : t > S - 1 ? S - 1 : t;
    tap k;
    k.i0 = (int)t;
    k.i1 = k.i0 + 1 < S ? k.i0 + 1 : k.i0;
    k.w = t - k.i0;
    return k;
}

/* The horizontal pass of the bilinear sample on model row y: one value per column tap. */
static double row_value(const float *prob, int S, int y, tap x)
{
    return prob[(size_t)y * S + x.i0] * (1 - x.w) + prob[(size_t)y * S + x.i1] * x.w;
}

/* prob [S,S] sampled bilinearly at model (y, x), edges clamped (torch align_corners False). */
static float sample_bilinear(const float *prob, int S, double y, double x)
{
    tap ty = tap_at(y, S), tx = tap_at(x, S);
    double top = row_value(prob, S, ty.i0, tx), bot = row_value(prob, S, ty.i1, tx);
    return (float)(top * (1 - ty.w) + bot * ty.w);
}

/* The map of an axis-aligned plane (no rotation in-plane: model row from one source axis,
 * model column from the other): the taps of every source row and column computed once, the
 * horizontal pass of a model row once per model row (rows[2] cache the last two), the same
 * arithmetic as sample_bilinear in the same order, so the bytes are the same. along_p: 1 when
 * the model row follows source axis p (else q); ip, iq: the inverse map's coefficients of
 * the model row and column. Returns C2_ENOMEM when the tables cannot be
 * had (the caller then samples voxel by voxel). */
static int map_separable(uint8_t *base, const source_grid *g, int p, int q, const float *prob, int S,
                         const double M[3][3], double ip, double iq, int along_p)
{
    int64_t np = g->dim[p], nq = g->dim[q];
    int64_t nrow = along_p ? np : nq, ncol = along_p ? nq : np;
    tap *tr = malloc((size_t)nrow * sizeof *tr), *tc = malloc((size_t)ncol * sizeof *tc);
    double *cache = malloc((size_t)2 * ncol * sizeof *cache);
    if (!tr || !tc || !cache) {
        free(tr);
        free(tc);
        free(cache);
        return C2_ENOMEM;
    }
    /* row = i_row * d_row + 0 * d_other: adding a zero product changes no value */
    for (int64_t a = 0; a < nrow; a++)
        tr[a] = tap_at(ip * ((double)a - M[along_p ? p : q][2]), S);
    for (int64_t a = 0; a < ncol; a++)
        tc[a] = tap_at(iq * ((double)a - M[along_p ? q : p][2]), S);
    int have[2] = {-1, -1};
    int64_t srow = along_p ? g->stride[p] : g->stride[q], scol = along_p ? g->stride[q] : g->stride[p];
    for (int64_t a = 0; a < nrow; a++) {
        const double *line[2];
        int need[2] = {tr[a].i0, tr[a].i1}, used = -1;
        for (int k = 0; k < 2; k++) {
            int slot = have[0] == need[k] ? 0 : have[1] == need[k] ? 1 : -1;
            if (slot < 0) { /* never the slot of line 0, nor one holding the other line */
                slot = used == 0 || have[0] == need[1 - k] ? 1 : 0;
                double *v = cache + (size_t)slot * ncol;
                for (int64_t c = 0; c < ncol; c++)
                    v[c] = row_value(prob, S, need[k], tc[c]);
                have[slot] = need[k];
            }
            line[k] = cache + (size_t)slot * ncol;
            used = slot;
        }
        double wy = tr[a].w;
        uint8_t *out = base + a * srow;
        if (scol == 1) /* the DICOM plane: contiguous, one loop the compiler vectorises */
            for (int64_t c = 0; c < ncol; c++)
                out[c] = to_byte((float)(line[0][c] * (1 - wy) + line[1][c] * wy));
        else
            for (int64_t c = 0; c < ncol; c++)
                out[c * scol] = to_byte((float)(line[0][c] * (1 - wy) + line[1][c] * wy));
    }
    free(tr);
    free(tc);
    free(cache);
    return C2_OK;
}

int predict_map_slice(uint8_t *out, const source_grid *g, const float *prob, int S,
                      const double M[3][3], c2_err *e)
{
    int varying[3], n_vary = 0, fixed = -1;
    for (int a = 0; a < 3; a++) {
        if (M[a][0] != 0 || M[a][1] != 0)
            varying[n_vary++] = a;
        else
            fixed = a;
    }
    if (n_vary != 2 || fixed < 0)
        return c2_fail(e, C2_EINVAL, "model-to-source map is not one plane of the source grid");
    int p = varying[0], q = varying[1];
    double det = M[p][0] * M[q][1] - M[p][1] * M[q][0];
    if (fabs(det) < 1e-12)
        return c2_fail(e, C2_EINVAL, "model-to-source map is singular");
    long long slice = llround(M[fixed][2]);
    if (slice < 0 || slice >= g->dim[fixed])
        return c2_fail(e, C2_EINVAL, "model slice maps to source slice %lld outside the grid of %lld", slice,
                       (long long)g->dim[fixed]);
    /* [row col]^T = inv([Mp0 Mp1; Mq0 Mq1]) ([ap aq]^T - [Mp2 Mq2]^T) */
    double i00 = M[q][1] / det, i01 = -M[p][1] / det, i10 = -M[q][0] / det, i11 = M[p][0] / det;
    uint8_t *base = out + slice * g->stride[fixed];
    if (i01 == 0 && i10 == 0 && map_separable(base, g, p, q, prob, S, M, i00, i11, 1) == C2_OK)
        return C2_OK;
    if (i00 == 0 && i11 == 0 && map_separable(base, g, p, q, prob, S, M, i01, i10, 0) == C2_OK)
        return C2_OK;
    for (int64_t ap = 0; ap < g->dim[p]; ap++)
        for (int64_t aq = 0; aq < g->dim[q]; aq++) {
            double dp = ap - M[p][2], dq = aq - M[q][2];
            double row = i00 * dp + i01 * dq, col = i10 * dp + i11 * dq;
            base[ap * g->stride[p] + aq * g->stride[q]] = to_byte(sample_bilinear(prob, S, row, col));
        }
    return C2_OK;
}
