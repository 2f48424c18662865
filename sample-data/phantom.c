/* The chest phantom: one axial slice in HU and its lesion mask. Anatomy is a few
 * analytic shapes in image fractions (x = column / W, y = row / H, y grows towards the
 * patient's back), so every --size draws the same chest:
 *   air -1000, table +80, body: fat ring -90 / soft tissue +40, ribs and sternum +700,
 *   vertebra (cortex +700, marrow +350, canal +20), two lungs -850 whose size follows
 *   the cranio-caudal position, ground-glass lesions -300..-150 clipped to their lung and
 *   to their level's rows (sample.h). Gaussian-like noise: 8 HU everywhere, 25 HU in the
 *   lungs, 20 HU in lesions. */
#include "sample-data/sample.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PI 3.14159265358979323846

static double sq(double v) { return v * v; }

static int in_ellipse(double x, double y, double cx, double cy, double a, double b)
{
    return sq((x - cx) / a) + sq((y - cy) / b) < 1.0;
}

/* Lung size factor along the body axis: smaller at the apex and the base. */
static double lung_size(const sample_cohort *c, const sample_study *s, int k)
{
    double t = c->n_slices > 1 ? (double)k / (c->n_slices - 1) : 0.5;
    return s->lung_scale * (0.85 + 0.15 * sin(PI * (0.2 + 0.6 * t)));
}

/* The lungs never leave the inner body outline (inside the fat ring). */
static int in_lung(const sample_study *s, double x, double y, double size)
{
    double bs = s->body_scale;
    return in_ellipse(x, y, 0.5, 0.5, 0.40 * bs, 0.34 * bs) &&
           (in_ellipse(x, y, 0.30, 0.47, 0.13 * size, 0.27 * size) ||
            in_ellipse(x, y, 0.70, 0.47, 0.13 * size, 0.27 * size));
}

/* Anatomy without lesions at (x, y) of slice k. */
static double anatomy_hu(const sample_study *s, int k, double lung, double x, double y)
{
    double bs = s->body_scale;
    if (!in_ellipse(x, y, 0.5, 0.5, 0.44 * bs, 0.38 * bs))
        return (y > 0.91 && y < 0.94 && x > 0.12 && x < 0.88) ? 80.0 : SAMPLE_HU_AIR;
    if (in_lung(s, x, y, lung))
        return -850.0;
    if (in_ellipse(x, y, 0.5, 0.79, 0.022, 0.022))
        return 20.0;
    if (in_ellipse(x, y, 0.5, 0.71, 0.048, 0.045))
        return 350.0;
    if (in_ellipse(x, y, 0.5, 0.71, 0.058, 0.055))
        return 700.0;
    /* Ribs on the inner edge of the fat ring; they turn slowly from slice to slice. */
    for (int i = 0; i < 10; i++) {
        double a = (-150.0 + 33.3 * i + 4.0 * (k % 5)) * PI / 180.0;
        if (in_ellipse(x, y, 0.5 + 0.42 * bs * cos(a), 0.5 + 0.36 * bs * sin(a), 0.013, 0.013))
            return 700.0;
    }
    if (in_ellipse(x, y, 0.5, 0.5 - 0.355 * bs, 0.03, 0.015))
        return 700.0;
    if (!in_ellipse(x, y, 0.5, 0.5, 0.40 * bs, 0.34 * bs))
        return -90.0;
    return 40.0;
}

/* Rows [r0, r1) a lesion of this level may occupy: its METHOD.md §7 zone, minus margins. */
static void level_rows(const sample_cohort *c, int level, int *r0, int *r1)
{
    if (level == LEVEL_UPPER) {
        *r0 = 0;
        *r1 = c->cut_upper - c->margin;
    } else if (level == LEVEL_MIDDLE) {
        *r0 = c->cut_upper + c->margin;
        *r1 = c->cut_middle - c->margin;
    } else {
        *r0 = c->cut_middle + c->margin;
        *r1 = c->size;
    }
}

/* 1 when pixel (x, y) (fractions) is inside lesion l scaled by f: an ellipse whose
 * radius wobbles with the 3rd and 5th angular harmonics (a blob, not a disc). */
static int in_lesion(const sample_lesion *l, double f, double x, double y)
{
    double dx = (x - l->cx) / (l->rx * f), dy = (y - l->cy) / (l->ry * f);
    double rho = sqrt(dx * dx + dy * dy), theta = atan2(dy, dx);
    return rho < 1.0 + 0.18 * sin(3.0 * theta + l->phase[0]) + 0.10 * sin(5.0 * theta + l->phase[1]);
}

/* Visits the pixels of lesion l on slice k (inside its lung and level rows); paints them
 * into mask / hu when paint is set. Returns the number of pixels. */
static int64_t lesion_pixels(const sample_cohort *c, const sample_study *s, const sample_lesion *l, int k,
                             double lung, int paint,
                             int16_t *hu, uint8_t *mask, sample_rng *noise)
{
    double kc = 0.5 * (l->k0 + l->k1), hk = 0.5 * (l->k1 - l->k0) + 1.0, u = (k - kc) / hk;
    double f = 0.6 + 0.4 * sqrt(1.0 - u * u);   /* |u| < 1 inside [k0, k1] */
    int W = c->size, H = c->size, r0, r1;
    level_rows(c, l->level, &r0, &r1);
    int64_t n = 0;
    for (int y = r0; y < r1; y++) {
        for (int x = 0; x < W; x++) {
            double fx = (x + 0.5) / W, fy = (y + 0.5) / H;
            if (!in_lung(s, fx, fy, lung) || !in_lesion(l, f, fx, fy))
                continue;
            n++;
            if (paint) {
                double v = l->hu + 20.0 * sample_rng_normal(noise);
                hu[(size_t)y * W + x] = (int16_t)lrint(v);
                mask[(size_t)y * W + x] = 1;
            }
        }
    }
    return n;
}

void phantom_slice_render(const sample_cohort *c, const sample_study *s, int k, int16_t *hu, uint8_t *mask,
                          uint8_t zones[6])
{
    int W = c->size, H = c->size;
    double lung = lung_size(c, s, k);
    char stream[64];
    snprintf(stream, sizeof stream, "noise %d %d", s->index, k);
    sample_rng noise;
    sample_rng_init(&noise, c->seed, stream);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            double fx = (x + 0.5) / W, fy = (y + 0.5) / H;
            double v = anatomy_hu(s, k, lung, fx, fy);
            v += (v == -850.0 ? 25.0 : 8.0) * sample_rng_normal(&noise);
            if (v < -1024.0)
                v = -1024.0;
            hu[(size_t)y * W + x] = (int16_t)lrint(v);
        }
    }
    memset(mask, 0, (size_t)W * H);
    memset(zones, 0, 6);
    /* Twice METHOD.md §7's 0.5 % of a side (H rows x W/2 columns). */
    int64_t min_px = (int64_t)ceil(0.01 * H * (W / 2));
    for (int i = 0; i < s->n_lesions; i++) {
        const sample_lesion *l = &s->lesions[i];
        if (k < l->k0 || k > l->k1 || lesion_pixels(c, s, l, k, lung, 0, hu, mask, &noise) < min_px)
            continue;
        lesion_pixels(c, s, l, k, lung, 1, hu, mask, &noise);
        zones[(l->side == SIDE_PATIENT_RIGHT ? 0 : 3) + l->level] = 1;
    }
}
