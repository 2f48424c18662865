/* io/preprocess: resizes with torch's exact arithmetic, intensity windows, and the
 * canonical in-plane orientation. Conventions are stated in io/preprocess.h. */
#include "io/preprocess.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

void preprocess_params_default(preprocess_params *p)
{
    p->size = 224;
    p->window_center = -600;
    p->window_width = 1500;
}

/* One output line's taps, as torch's compute_indices_weights_linear computes them in
 * float: src = max(scale * (dst + 0.5) - 0.5, 0), i0 = trunc(src), i1 = i0 + 1 unless
 * at the edge, weights 1 - l and l. */
static void linear_taps(int dst, int in, int out, int *i0, int *i1, float *w0, float *w1)
{
    float scale = (float)in / (float)out;
    float src = scale * ((float)dst + 0.5f) - 0.5f;
    if (src < 0)
        src = 0;
    int i = (int)src;
    float l = src - (float)i;
    l = l < 0 ? 0 : l > 1 ? 1 : l;
    *i0 = i;
    *i1 = i + (i < in - 1 ? 1 : 0);
    *w1 = l;
    *w0 = 1.0f - l;
}

/* in [H,W] -> out [S_rows,S_cols]: out = h0 * (w0 x00 + w1 x01) + h1 * (w0 x10 + w1 x11),
 * the width taps inside, as torch's separable CPU kernel sums them. */
void resize_bilinear(float *out, int S_rows, int S_cols, const float *in, int H, int W)
{
    for (int r = 0; r < S_rows; r++) {
        int r0, r1;
        float h0, h1;
        linear_taps(r, H, S_rows, &r0, &r1, &h0, &h1);
        const float *a = in + (size_t)r0 * W, *b = in + (size_t)r1 * W;
        for (int c = 0; c < S_cols; c++) {
            int c0, c1;
            float w0, w1;
            linear_taps(c, W, S_cols, &c0, &c1, &w0, &w1);
            float t0 = a[c0] * w0;
            t0 += a[c1] * w1;
            float t1 = b[c0] * w0;
            t1 += b[c1] * w1;
            float v = t0 * h0;
            v += t1 * h1;
            out[(size_t)r * S_cols + c] = v;
        }
    }
}

/* torch 'nearest' (legacy): identity for equal sizes, dst >> 1 for exact doubling,
 * else min(floor(dst * (float)in / out), in - 1). */
static int nearest_index(int dst, int in, int out)
{
    if (in == out)
        return dst;
    if (out == 2 * in)
        return dst >> 1;
    float scale = (float)in / (float)out;
    int i = (int)floorf((float)dst * scale);
    return i < in - 1 ? i : in - 1;
}

void resize_nearest_u8(uint8_t *out, int S_rows, int S_cols, const uint8_t *in, int H, int W)
{
    for (int r = 0; r < S_rows; r++) {
        const uint8_t *src = in + (size_t)nearest_index(r, H, S_rows) * W;
        for (int c = 0; c < S_cols; c++)
            out[(size_t)r * S_cols + c] = src[nearest_index(c, W, S_cols)];
    }
}

void resize_model_to_source(double m[3][3], int S, int H, int W)
{
    memset(m, 0, 9 * sizeof(double));
    double sr = (double)H / S, sc = (double)W / S;
    m[0][0] = sr;
    m[0][2] = 0.5 * sr - 0.5;
    m[1][1] = sc;
    m[1][2] = 0.5 * sc - 0.5;
    m[2][2] = 1;
}

void intensity_scale(float *out, const float *v, int64_t n, double lo, double hi)
{
    double span = hi - lo;
    for (int64_t i = 0; i < n; i++) {
        double x = span > 0 ? (v[i] - lo) / span : 0;
        out[i] = (float)(x < 0 ? 0 : x > 1 ? 1 : x);
    }
}

void window_apply(float *out, const float *hu, int64_t n, double center, double width)
{
    intensity_scale(out, hu, n, center - width / 2, center + width / 2);
}

static double dot3(const double a[3], const double b[3]) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

void orient_plan_make(orient_plan *p, const double col_dir[3], const double row_dir[3])
{
    double n[3] = {col_dir[1] * row_dir[2] - col_dir[2] * row_dir[1], col_dir[2] * row_dir[0] - col_dir[0] * row_dir[2],
                   col_dir[0] * row_dir[1] - col_dir[1] * row_dir[0]};
    double ax = fabs(n[0]), ay = fabs(n[1]), az = fabs(n[2]);
    /* Targets in LPS: "down" the canonical rows and "right" along canonical columns. */
    static const double down_axial[3] = {0, 1, 0}, down_other[3] = {0, 0, -1};
    static const double right_lr[3] = {1, 0, 0}, right_ap[3] = {0, 1, 0};
    const double *down, *right;
    if (az >= ax && az >= ay) {
        p->plane = 0;
        down = down_axial;
        right = right_lr;
    } else if (ay >= ax) {
        p->plane = 1;
        down = down_other;
        right = right_lr;
    } else {
        p->plane = 2;
        down = down_other;
        right = right_ap;
    }
    p->transpose = fabs(dot3(col_dir, down)) > fabs(dot3(row_dir, down));
    const double *vertical = p->transpose ? col_dir : row_dir, *horizontal = p->transpose ? row_dir : col_dir;
    p->flip_rows = dot3(vertical, down) < 0;
    p->flip_cols = dot3(horizontal, right) < 0;
}

void orient_model_to_source(double m[3][3], int H, int W, const orient_plan *p)
{
    memset(m, 0, 9 * sizeof(double));
    /* canonical row r walks the source axis of extent `rows_extent`, column c the other */
    int rows_extent = p->transpose ? W : H, cols_extent = p->transpose ? H : W;
    double rs = p->flip_rows ? -1 : 1, ro = p->flip_rows ? rows_extent - 1 : 0;
    double cs = p->flip_cols ? -1 : 1, co = p->flip_cols ? cols_extent - 1 : 0;
    if (!p->transpose) {
        m[0][0] = rs, m[0][2] = ro; /* source row from canonical row */
        m[1][1] = cs, m[1][2] = co; /* source column from canonical column */
    } else {
        m[0][1] = cs, m[0][2] = co; /* source row from canonical column */
        m[1][0] = rs, m[1][2] = ro; /* source column from canonical row */
    }
    m[2][2] = 1;
}

/* Canonical (r, c) -> source offset, the integer form of orient_model_to_source (its
 * entries are whole numbers: 0, +-1 and extents - 1), stepped along each row. */
#define ORIENT_LOOP(OUT, IN)                                                                       \
    do {                                                                                           \
        double m[3][3];                                                                            \
        orient_model_to_source(m, H, W, p);                                                        \
        int Ho = p->transpose ? W : H, Wo = p->transpose ? H : W;                                  \
        ptrdiff_t step = (ptrdiff_t)m[0][1] * W + (ptrdiff_t)m[1][1];                              \
        for (int r = 0; r < Ho; r++) {                                                             \
            ptrdiff_t at = ((ptrdiff_t)m[0][0] * r + (ptrdiff_t)m[0][2]) * W +                     \
                           (ptrdiff_t)m[1][0] * r + (ptrdiff_t)m[1][2];                            \
            for (int c = 0; c < Wo; c++, at += step)                                               \
                (OUT)[(size_t)r * Wo + c] = (IN)[at];                                              \
        }                                                                                          \
    } while (0)

void orient_apply_f32(float *out, const float *in, int H, int W, const orient_plan *p) { ORIENT_LOOP(out, in); }

void orient_apply_u8(uint8_t *out, const uint8_t *in, int H, int W, const orient_plan *p) { ORIENT_LOOP(out, in); }

void mat3_mul(double c[3][3], const double a[3][3], const double b[3][3])
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            c[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
}
