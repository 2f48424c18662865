/* pipeline/predict_map: model-resolution probabilities back onto the source grid.
 * The cache stores, per sample, the affine map model (row, col, 1) -> source (a0, a1, a2)
 * that preprocessing used (resize, canonical flips / transpose, NIfTI slice axis). Two of
 * its rows vary in-plane; the third is the constant slice coordinate. Every source voxel
 * of that plane is taken back through the inverse 2x2 map, so no array-index assumption
 * (which axis is the slice, which way it runs) is made here. */
#include "pipeline/predict/predict.h"

#include <math.h>

/* prob [S,S] sampled bilinearly at model (y, x), edges clamped (torch align_corners False). */
static float sample_bilinear(const float *prob, int S, double y, double x)
{
    y = y < 0 ? 0 : y > S - 1 ? S - 1 : y;
    x = x < 0 ? 0 : x > S - 1 ? S - 1 : x;
    int y0 = (int)y, x0 = (int)x;
    int y1 = y0 + 1 < S ? y0 + 1 : y0, x1 = x0 + 1 < S ? x0 + 1 : x0;
    double wy = y - y0, wx = x - x0;
    double top = prob[(size_t)y0 * S + x0] * (1 - wx) + prob[(size_t)y0 * S + x1] * wx;
    double bot = prob[(size_t)y1 * S + x0] * (1 - wx) + prob[(size_t)y1 * S + x1] * wx;
    return (float)(top * (1 - wy) + bot * wy);
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
    for (int64_t ap = 0; ap < g->dim[p]; ap++)
        for (int64_t aq = 0; aq < g->dim[q]; aq++) {
            double dp = ap - M[p][2], dq = aq - M[q][2];
            double row = i00 * dp + i01 * dq, col = i10 * dp + i11 * dq;
            float v = sample_bilinear(prob, S, row, col);
            base[ap * g->stride[p] + aq * g->stride[q]] = (uint8_t)lrintf(v * 255.0f);
        }
    return C2_OK;
}
