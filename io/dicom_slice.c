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

int dicom_read_slice(const dicom_object *o, int frame, const dicom_slice_spec *sp, float *out, dicom_slice_info *info,
                     c2_err *e)
{
    info->nonfinite = 0;
    info->lo = INFINITY;
    info->hi = -INFINITY;
    int H = o->rows, W = o->cols;
    int rc = c2_check_dims(e, o->path, 1, H, W, sizeof(float));
    if (rc == C2_OK && sp->mapping != DICOM_SLICE_RANGE)
        rc = c2_check_dims(e, o->path, 1, sp->size, sp->size, sizeof(float));
    if (rc != C2_OK)
        return rc;
    if (sp->mapping < DICOM_SLICE_WINDOW || sp->mapping > DICOM_SLICE_RANGE || (sp->mapping != DICOM_SLICE_RANGE && sp->size < 1))
        return c2_fail(e, C2_EINVAL, "%s: bad slice request", o->path);
    int64_t plane = (int64_t)H * W;
    float *v = malloc((size_t)plane * sizeof *v);
    if (!v)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for a %dx%d slice", o->path, W, H);
    rc = dicom_read_frames(o, frame, 1, v, e);
    if (rc == C2_OK && sp->mapping == DICOM_SLICE_RANGE) {
        for (int64_t i = 0; i < plane; i++)
            if (isfinite(v[i])) {
                info->lo = v[i] < info->lo ? v[i] : info->lo;
                info->hi = v[i] > info->hi ? v[i] : info->hi;
            }
    } else if (rc == C2_OK) {
        if (sp->mapping == DICOM_SLICE_XRAY)
            dicom_xray_display(o, v, v, (int)plane);
        info->nonfinite = count_nonfinite(v, plane);
        if (resize_bilinear_oriented(out, sp->size, v, H, W, &sp->plan, slice_map, (void *)sp) != 0)
            rc = c2_fail(e, C2_ENOMEM, "%s: out of memory resizing a %dx%d slice", o->path, W, H);
    }
    free(v);
    return rc;
}
