/* io/preprocess: resizes with torch's exact arithmetic, intensity windows, and the
 * canonical in-plane orientation. Conventions are stated in io/preprocess.h. */
#include "io/preprocess.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
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

/* Output columns [c_lo, c_hi) of the bilinear resize of in [H,W] (row stride `stride`):
 * out = h0 * (w0 x00 + w1 x01) + h1 * (w0 x10 + w1 x11), the width taps inside, as torch's
 * separable CPU kernel sums them. The column taps are computed once per block. rmap / cmap
 * (NULL: identity) turn an input row / column into its place in a gathered plane. */
enum { TAP_BLOCK = 256 };
static void bilinear_block(float *out, int S_rows, int S_cols, int c_lo, int c_hi, const float *in, size_t stride,
                           int H, int W, const int *rmap, const int *cmap)
{
    int c0[TAP_BLOCK], c1[TAP_BLOCK];
    float w0[TAP_BLOCK], w1[TAP_BLOCK];
    for (int c = c_lo; c < c_hi; c++) {
        int k = c - c_lo;
        linear_taps(c, W, S_cols, &c0[k], &c1[k], &w0[k], &w1[k]);
        if (cmap) {
            c0[k] = cmap[c0[k]];
            c1[k] = cmap[c1[k]];
        }
    }
    for (int r = 0; r < S_rows; r++) {
        int r0, r1;
        float h0, h1;
        linear_taps(r, H, S_rows, &r0, &r1, &h0, &h1);
        if (rmap) {
            r0 = rmap[r0];
            r1 = rmap[r1];
        }
        const float *a = in + (size_t)r0 * stride, *b = in + (size_t)r1 * stride;
        float *o = out + (size_t)r * S_cols;
        for (int c = c_lo; c < c_hi; c++) {
            int k = c - c_lo;
            float t0 = a[c0[k]] * w0[k];
            t0 += a[c1[k]] * w1[k];
            float t1 = b[c0[k]] * w0[k];
            t1 += b[c1[k]] * w1[k];
            float v = t0 * h0;
            v += t1 * h1;
            o[c] = v;
        }
    }
}

void resize_bilinear(float *out, int S_rows, int S_cols, const float *in, int H, int W)
{
    for (int lo = 0; lo < S_cols; lo += TAP_BLOCK)
        bilinear_block(out, S_rows, S_cols, lo, lo + TAP_BLOCK < S_cols ? lo + TAP_BLOCK : S_cols, in, (size_t)W, H, W,
                       NULL, NULL);
}

/* The input lines of one axis that the taps read: used[i] becomes i's place among them
 * (-1: unread); returns their count and lists them in `lines`. */
static int taps_used(int in, int out, int *used, int *lines)
{
    for (int i = 0; i < in; i++)
        used[i] = -1;
    for (int d = 0; d < out; d++) {
        int i0, i1;
        float w0, w1;
        linear_taps(d, in, out, &i0, &i1, &w0, &w1);
        used[i0] = used[i1] = 0;
    }
    int n = 0;
    for (int i = 0; i < in; i++)
        if (used[i] == 0) {
            used[i] = n;
            lines[n++] = i;
        }
    return n;
}

/* Canonical (r, c) -> source offset, the integer form of orient_model_to_source's m (its
 * entries are whole numbers: 0, +-1 and extents - 1): row r starts at orient_row_start and
 * each column steps by orient_step. */
static ptrdiff_t orient_step(double m[3][3], int W) { return (ptrdiff_t)m[0][1] * W + (ptrdiff_t)m[1][1]; }
static ptrdiff_t orient_row_start(double m[3][3], int W, int r)
{
    return ((ptrdiff_t)m[0][0] * r + (ptrdiff_t)m[0][2]) * W + (ptrdiff_t)m[1][0] * r + (ptrdiff_t)m[1][2];
}

int resize_bilinear_oriented(float *out, int S, const float *src, int H, int W, const orient_plan *p,
                             void (*map)(float *v, int64_t n, void *arg), void *arg)
{
    double m[3][3];
    orient_model_to_source(m, H, W, p);
    int Hc = p->transpose ? W : H, Wc = p->transpose ? H : W;
    int *rmap = malloc((size_t)Hc * sizeof *rmap), *rows = malloc((size_t)Hc * sizeof *rows);
    int *cmap = malloc((size_t)Wc * sizeof *cmap), *cols = malloc((size_t)Wc * sizeof *cols);
    float *g = NULL;
    int rc = rmap && rows && cmap && cols ? 0 : -1;
    if (rc == 0) {
        int nr = taps_used(Hc, S, rmap, rows), nc = taps_used(Wc, S, cmap, cols);
        g = malloc((size_t)nr * (size_t)nc * sizeof *g);
        rc = g ? 0 : -1;
        ptrdiff_t step = orient_step(m, W);
        for (int i = 0; rc == 0 && i < nr; i++) {
            ptrdiff_t at = orient_row_start(m, W, rows[i]);
            float *line = g + (size_t)i * nc;
            for (int j = 0; j < nc; j++)
                line[j] = src[at + (ptrdiff_t)cols[j] * step];
        }
        if (rc == 0) {
            if (map)
                map(g, (int64_t)nr * nc, arg);
            for (int lo = 0; lo < S; lo += TAP_BLOCK)
                bilinear_block(out, S, S, lo, lo + TAP_BLOCK < S ? lo + TAP_BLOCK : S, g, (size_t)nc, Hc, Wc, rmap,
                               cmap);
        }
    }
    free(rmap);
    free(rows);
    free(cmap);
    free(cols);
    free(g);
    return rc;
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

/* The column indices are computed once per call (a row's worth at a time), not per pixel;
 * a row of equal width is copied. */
void resize_nearest_u8(uint8_t *out, int S_rows, int S_cols, const uint8_t *in, int H, int W)
{
    enum { COLS = 1024 };
    int cols[COLS];
    for (int lo = 0; lo < S_cols; lo += COLS) {
        int hi = lo + COLS < S_cols ? lo + COLS : S_cols;
        for (int c = lo; c < hi; c++)
            cols[c - lo] = nearest_index(c, W, S_cols);
        for (int r = 0; r < S_rows; r++) {
            const uint8_t *src = in + (size_t)nearest_index(r, H, S_rows) * W;
            uint8_t *dst = out + (size_t)r * S_cols;
            if (W == S_cols)
                memcpy(dst + lo, src + lo, (size_t)(hi - lo));
            else
                for (int c = lo; c < hi; c++)
                    dst[c] = src[cols[c - lo]];
        }
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

/* The canonical plane, row by row (orient_row_start / orient_step above). */
#define ORIENT_LOOP(OUT, IN)                                                                       \
    do {                                                                                           \
        double m[3][3];                                                                            \
        orient_model_to_source(m, H, W, p);                                                        \
        int Ho = p->transpose ? W : H, Wo = p->transpose ? H : W;                                  \
        ptrdiff_t step = orient_step(m, W);                                                        \
        for (int r = 0; r < Ho; r++) {                                                             \
            ptrdiff_t at = orient_row_start(m, W, r);                                              \
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
