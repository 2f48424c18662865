/* io/dicom_slice: decode + map + orient + resize of one DICOM frame (dicom_slice.h). The
 * whole plane is decoded and its non-finite pixels counted; the mapping runs only on the
 * canonical rows and columns that the resize reads (resize_bilinear_oriented). */
#include "io/dicom_slice.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The mapping of a gathered run of source values: non-finite -> 0, each finite run mapped
 * in one call (as ingest maps a whole plane: the same value for the same input). */
static void slice_map(float *v, int64_t n, void *arg)
{
    const dicom_slice_spec *sp = arg;
    for (int64_t i = 0; i < n;) {
        if (!isfinite(v[i])) {
            v[i++] = 0;
            continue;
        }
        int64_t run = i + 1;
        while (run < n && isfinite(v[run]))
            run++;
        if (sp->mapping == DICOM_SLICE_WINDOW)
            window_apply(v + i, v + i, run - i, sp->a, sp->b);
        else if (sp->mapping == DICOM_SLICE_SCALE)
            intensity_scale(v + i, v + i, run - i, sp->a, sp->b);
        i = run;
    }
}

/* 1 when the float's exponent bits are all ones (infinite or NaN): isfinite's test. */
static inline uint32_t nonfinite_bits(const float *x)
{
    uint32_t bits;
    memcpy(&bits, x, sizeof bits);
    return (bits & 0x7f800000u) == 0x7f800000u;
}

/* Non-finite values of v[n]: whole blocks of a fixed length (a loop the compiler
 * vectorises), then the tail. */
static int64_t count_nonfinite(const float *v, int64_t n)
{
    enum { BLOCK = 4096 };
    int64_t total = 0, at = 0;
    for (; n - at >= BLOCK; at += BLOCK) {
        uint32_t part = 0;
        for (int i = 0; i < BLOCK; i++)
            part += nonfinite_bits(&v[at + i]);
        total += part;
    }
    for (; at < n; at++)
        total += nonfinite_bits(&v[at]);
    return total;
}

/* The checks of a slice request on o. */
static int slice_check(const dicom_object *o, const dicom_slice_spec *sp, c2_err *e)
{
    int rc = c2_check_dims(e, o->path, 1, o->rows, o->cols, sizeof(float));
    if (rc == C2_OK && sp->mapping != DICOM_SLICE_RANGE)
        rc = c2_check_dims(e, o->path, 1, sp->size, sp->size, sizeof(float));
    if (rc != C2_OK)
        return rc;
    if (sp->mapping < DICOM_SLICE_WINDOW || sp->mapping > DICOM_SLICE_RANGE || (sp->mapping != DICOM_SLICE_RANGE && sp->size < 1))
        return c2_fail(e, C2_EINVAL, "%s: bad slice request", o->path);
    return C2_OK;
}

/* The mapping, orientation and resize of the decoded plane v [rows * cols] (changed in place). */
static int slice_from_decoded(const dicom_object *o, float *v, const dicom_slice_spec *sp, float *out,
                              dicom_slice_info *info, c2_err *e)
{
    int64_t plane = (int64_t)o->rows * o->cols;
    if (sp->mapping == DICOM_SLICE_RANGE) {
        for (int64_t i = 0; i < plane; i++)
            if (isfinite(v[i])) {
                info->lo = v[i] < info->lo ? v[i] : info->lo;
                info->hi = v[i] > info->hi ? v[i] : info->hi;
            }
        return C2_OK;
    }
    if (sp->mapping == DICOM_SLICE_XRAY)
        dicom_xray_display(o, v, v, (int)plane);
    info->nonfinite = count_nonfinite(v, plane);
    if (resize_bilinear_oriented(out, sp->size, v, o->rows, o->cols, &sp->plan, slice_map, (void *)sp) != 0)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory resizing a %dx%d slice", o->path, o->cols, o->rows);
    return C2_OK;
}

/* A plane of o: decoded (plane NULL: frame `frame` through dicom_read_frames) or copied. */
static int slice_run(const dicom_object *o, int frame, const float *decoded, const dicom_slice_spec *sp, float *out,
                     dicom_slice_info *info, c2_err *e)
{
    info->nonfinite = 0;
    info->lo = INFINITY;
    info->hi = -INFINITY;
    int rc = slice_check(o, sp, e);
    if (rc != C2_OK)
        return rc;
    int64_t plane = (int64_t)o->rows * o->cols;
    float *v = malloc((size_t)plane * sizeof *v);
    if (!v)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for a %dx%d slice", o->path, o->cols, o->rows);
    if (decoded)
        memcpy(v, decoded, (size_t)plane * sizeof *v);
    else
        rc = dicom_read_frames(o, frame, 1, v, e);
    if (rc == C2_OK)
        rc = slice_from_decoded(o, v, sp, out, info, e);
    free(v);
    return rc;
}

int dicom_read_slice(const dicom_object *o, int frame, const dicom_slice_spec *sp, float *out, dicom_slice_info *info,
                     c2_err *e)
{
    return slice_run(o, frame, NULL, sp, out, info, e);
}

int dicom_slice_from_plane(const dicom_object *o, const float *plane, const dicom_slice_spec *sp, float *out,
                           dicom_slice_info *info, c2_err *e)
{
    return slice_run(o, 0, plane, sp, out, info, e);
}
