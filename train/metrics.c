/* metrics: Dice, IoU and HD95 of one predicted mask against its ground truth
 * (definitions in train/metrics.h). HD95 compares every boundary pixel of one mask
 * with every boundary pixel of the other: O(|∂P|·|∂G|), which is small at the
 * model's resolution (a few hundred boundary pixels) and exact for any spacing. */
#include "train/metrics.h"

#include <math.h>
#include <stdlib.h>

static int is_fg(const uint8_t *m, int H, int W, int y, int x)
{
    return y >= 0 && y < H && x >= 0 && x < W && m[(size_t)y * W + x] != 0;
}

/* Indices y*W+x of the boundary pixels of m (foreground with a 4-neighbour outside). */
static size_t boundary(int *out, const uint8_t *m, int H, int W)
{
    size_t n = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            if (m[(size_t)y * W + x] && !(is_fg(m, H, W, y - 1, x) && is_fg(m, H, W, y + 1, x) &&
                                          is_fg(m, H, W, y, x - 1) && is_fg(m, H, W, y, x + 1)))
                out[n++] = y * W + x;
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double metrics_percentile95(double *v, size_t n)
{
    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof *v, cmp_double);
    double pos = 0.95 * (double)(n - 1);
    size_t i = (size_t)pos;
    double frac = pos - (double)i;
    return i + 1 < n ? v[i] + (v[i + 1] - v[i]) * frac : v[i];
}

/* dist[k] = distance from a[k] to the nearest of b[0..nb), spacing (sy, sx). */
static void nearest(double *dist, const int *a, size_t na, const int *b, size_t nb, int W, double sy, double sx)
{
    for (size_t k = 0; k < na; k++) {
        double ay = a[k] / W, ax = a[k] % W, best = INFINITY;
        for (size_t j = 0; j < nb; j++) {
            double dy = (ay - b[j] / W) * sy, dx = (ax - b[j] % W) * sx;
            double d2 = dy * dy + dx * dx;
            if (d2 < best)
                best = d2;
        }
        dist[k] = sqrt(best);
    }
}

/* HD95 with spacing (sy, sx); bp, bg: boundary lists; dist: na + nb doubles. */
static double hd95(const int *bp, size_t np, const int *bg, size_t ng, double *dist, int H, int W, double sy,
                   double sx)
{
    if (np == 0 && ng == 0)
        return 0.0;
    if (np == 0 || ng == 0)
        return sqrt((H * sy) * (H * sy) + (W * sx) * (W * sx));
    nearest(dist, bp, np, bg, ng, W, sy, sx);
    nearest(dist + np, bg, ng, bp, np, W, sy, sx);
    return metrics_percentile95(dist, np + ng);
}

int metrics_image(seg_metrics *out, const uint8_t *pred, const uint8_t *gt, int H, int W, double sy, double sx,
                  c2_err *e)
{
    size_t n = (size_t)H * (size_t)W, inter = 0, np = 0, ng = 0;
    for (size_t i = 0; i < n; i++) {
        int p = pred[i] != 0, g = gt[i] != 0;
        np += (size_t)p;
        ng += (size_t)g;
        inter += (size_t)(p & g);
    }
    size_t uni = np + ng - inter;
    out->dice = np + ng == 0 ? 1.0 : 2.0 * (double)inter / (double)(np + ng);
    out->iou = uni == 0 ? 1.0 : (double)inter / (double)uni;
    int *bp = malloc(2 * n * sizeof *bp);
    double *dist = malloc(2 * n * sizeof *dist);
    if (!bp || !dist) {
        free(bp);
        free(dist);
        return c2_fail(e, C2_ENOMEM, "metrics: cannot allocate boundary lists for a %dx%d mask", H, W);
    }
    int *bg = bp + n;
    size_t nbp = boundary(bp, pred, H, W), nbg = boundary(bg, gt, H, W);
    out->hd95_px = hd95(bp, nbp, bg, nbg, dist, H, W, 1.0, 1.0);
    out->hd95_mm = sy > 0 && sx > 0 ? hd95(bp, nbp, bg, nbg, dist, H, W, sy, sx) : NAN;
    free(bp);
    free(dist);
    return C2_OK;
}
