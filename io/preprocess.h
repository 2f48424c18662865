/* io/preprocess: source pixels -> model tensors. Conventions (docs/cache.md):
 *
 * Canonical in-plane orientation (DICOM and NIfTI): the radiological display.
 *   axial planes:    rows run anterior -> posterior, columns patient right -> left;
 *   coronal planes:  rows superior -> inferior,      columns patient right -> left;
 *   sagittal planes: rows superior -> inferior,      columns anterior -> posterior.
 * The plane is classified by the largest component of its normal; the in-plane axes
 * are permuted / flipped (never resampled) so that a volume stored in any voxel
 * order lands the same way. NIfTI volumes are cut along the voxel axis closest to
 * the patient's head-feet axis (axial slices), ordered inferior -> superior.
 *
 * Intensity: CT in HU through a window (default lung: centre -600, width 1500):
 *   x = clamp((HU - (c - w/2)) / w, 0, 1). 8-bit images: x = value / 255 (METHOD.md
 *   §6), 16-bit: value / 65535. "raw" volumes: (v - min) / (max - min) per volume.
 * Resize to S x S: images bilinear with align_corners = False and no antialias
 *   (torch F.interpolate), masks binarised first (> 127 for 8-bit image masks, > 0
 *   for label maps / NIfTI masks) and then nearest with src = floor(dst * in / out).
 * Non-square sources are resized anisotropically to S x S (as the reference does);
 *   the exact mapping is kept in the sample's model_to_source matrix. */
#ifndef C2SEG_IO_PREPROCESS_H
#define C2SEG_IO_PREPROCESS_H

#include "base/base.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { INTENSITY_HU = 0, INTENSITY_RAW = 1 };

typedef struct preprocess_params {
    int size;                    /* S: 224 (preset full) or 128 (preset small) */
    double window_center, window_width; /* HU, default -600 / 1500 */
} preprocess_params;
void preprocess_params_default(preprocess_params *p);

/* in [H,W] -> out [S,S], bilinear, align_corners False, no antialias (torch). */
void resize_bilinear(float *out, int S_rows, int S_cols, const float *in, int H, int W);
/* in [H,W] u8 -> out [S,S] u8, torch 'nearest': src = floor(dst * in / out). */
void resize_nearest_u8(uint8_t *out, int S_rows, int S_cols, const uint8_t *in, int H, int W);
/* The model (row, col, 1) -> input (row, col) map of the two resizes above (pixel
 * centres at integers): bilinear src = (dst + 0.5) * in / out - 0.5 (rows 0..1 of m),
 * nearest src = floor(dst * in / out). m[2] = (0, 0, 1). */
void resize_model_to_source(double m[3][3], int S, int H, int W);

/* HU -> [0,1] through the window. n values. */
void window_apply(float *out, const float *hu, int64_t n, double center, double width);
/* v -> (v - lo) / (hi - lo) clamped to [0,1] (hi <= lo gives 0). */
void intensity_scale(float *out, const float *v, int64_t n, double lo, double hi);

/* Canonical in-plane orientation of one plane. A plane has a column axis (index
 * fastest in memory) with unit direction col_dir and a row axis row_dir, both in
 * LPS. The plan says how to permute / flip it into the canonical display. */
typedef struct orient_plan {
    int transpose;     /* 1: canonical rows come from source columns */
    int flip_rows;     /* 1: canonical row r comes from the last-minus-r source line */
    int flip_cols;
    int plane;         /* 0 axial, 1 coronal, 2 sagittal */
} orient_plan;
void orient_plan_make(orient_plan *p, const double col_dir[3], const double row_dir[3]);
/* in [H][W] (source rows x cols) -> out [H'][W'] canonical (H' = W when transposed). */
void orient_apply_f32(float *out, const float *in, int H, int W, const orient_plan *p);
void orient_apply_u8(uint8_t *out, const uint8_t *in, int H, int W, const orient_plan *p);
/* The canonical (row, col, 1) -> source (row, col) map of a plan as a 3x3 matrix. */
void orient_model_to_source(double m[3][3], int H, int W, const orient_plan *p);

/* The bilinear resize of the canonical plane of src [H,W] (orientation p, see below) to
 * out [S,S], where map(v, n, arg) first turns source values into model values (NULL: none):
 * only the canonical rows and columns that the taps read are gathered and mapped (a
 * quarter of a 512 x 512 plane at S = 128), with the same float arithmetic as
 * orient_apply_f32 + mapping + resize_bilinear, so the same bits. Returns 0, or -1 when
 * out of memory. */
int resize_bilinear_oriented(float *out, int S, const float *src, int H, int W, const orient_plan *p,
                             void (*map)(float *v, int64_t n, void *arg), void *arg);

/* 3x3 product c = a * b (c may not alias a or b). */
void mat3_mul(double c[3][3], const double a[3][3], const double b[3][3]);

#ifdef __cplusplus
}
#endif
#endif
