/* io/dicom_slice: one DICOM frame -> one model-ready S x S image, in one step: decode
 * (dicom_read_frames), map to [0,1], canonical orientation, bilinear resize. The isolated
 * form (io/isolated.h: dicom_read_slice_isolated) runs all of it in a sandbox worker, so
 * only the small resized image crosses the worker's socket, never the full-resolution plane.
 *
 * Mapping (docs/cache.md): DICOM_SLICE_WINDOW x = clamp((HU - (c - w/2)) / w, 0, 1) with
 * (a, b) = (centre, width); DICOM_SLICE_SCALE the series' finite range (a, b) = (lo, hi) to
 * [0,1]; DICOM_SLICE_XRAY dicom_xray_display. Non-finite (padding) pixels become 0 after
 * the mapping; their count over the whole plane comes back in info. DICOM_SLICE_RANGE
 * decodes only and returns the plane's finite range (pass 0 of a "raw" series), no image.
 * The values are bit for bit those of dicom_read_frames followed by the mapping over the
 * whole plane, orient_apply_f32 and resize_bilinear (io/preprocess.h). */
#ifndef C2SEG_IO_DICOM_SLICE_H
#define C2SEG_IO_DICOM_SLICE_H

#include "io/dicom.h"
#include "io/preprocess.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { DICOM_SLICE_WINDOW = 0, DICOM_SLICE_SCALE, DICOM_SLICE_XRAY, DICOM_SLICE_RANGE };

typedef struct dicom_slice_spec {
    int32_t mapping;            /* DICOM_SLICE_* */
    int32_t size;               /* S */
    double a, b;                /* WINDOW: centre, width; SCALE: lo, hi */
    orient_plan plan;           /* source plane -> canonical orientation */
} dicom_slice_spec;

typedef struct dicom_slice_info {
    int64_t nonfinite;          /* padding / non-finite pixels of the plane (set to 0) */
    float lo, hi;               /* DICOM_SLICE_RANGE: finite range (+inf / -inf: none) */
} dicom_slice_info;

/* Frame `frame` of o through sp into out [S,S] (unused for DICOM_SLICE_RANGE). */
int dicom_read_slice(const dicom_object *o, int frame, const dicom_slice_spec *sp, float *out, dicom_slice_info *info,
                     c2_err *e);
/* The same from a plane already decoded (plane [rows * cols]: dicom_read_frames' values of
 * one frame, e.g. from dicom_read_meta_plane_isolated); plane is not changed. */
int dicom_slice_from_plane(const dicom_object *o, const float *plane, const dicom_slice_spec *sp, float *out,
                           dicom_slice_info *info, c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
