/* fuzz/fuzz_dicom: DICOM image handling (io/dicom.h) on arbitrary bytes: probe, read
 * the metadata, group into a series, and decode the first frame of an image. */
#include "fuzz/fuzz_support.h"
#include "io/dicom.h"

#include <stdlib.h>

static void decode_first_frame(dicom_object *o)
{
    c2_err e = {0};
    if (o->kind != DICOM_KIND_IMAGE || c2_check_dims(&e, "frame", o->rows, o->cols, 1, sizeof(float)) != C2_OK)
        return;
    float *px = malloc((size_t)o->rows * (size_t)o->cols * sizeof *px);
    if (px && dicom_read_frames(o, 0, 1, px, &e) == C2_OK && o->is_xray)
        dicom_xray_display(o, px, px, o->rows * o->cols);
    free(px);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_temp(data, size, ".dcm");
    if (!path || !dicom_probe(path))
        return 0;
    dicom_object o;
    c2_err e = {0};
    if (dicom_read_meta(path, &o, &e) != C2_OK)
        return 0;
    decode_first_frame(&o);
    dicom_series *s = NULL;
    int n = 0;
    char skip[1][160];
    if (dicom_series_group(&o, 1, &s, &n, skip, &e) == C2_OK)
        dicom_series_free(s, n);
    dicom_object_free(&o);
    return 0;
}
