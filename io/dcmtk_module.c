/* io/dcmtk_module: the SEG entry points of io/seg.h and the JPEG / JPEG-LS decoders, forwarded
 * to the module c2seg-dcmseg.so opened at first use (io/dcmtk_module.h). seg_image_free is
 * here (plain frees): freeing needs no module. */
#include "io/dcmtk_module.h"
#include "io/seg.h"

#include <stdlib.h>
#include <string.h>

#ifndef C2SEG_DCMSEG_MODULE
#define C2SEG_DCMSEG_MODULE "c2seg-dcmseg.so"
#endif

static struct {
    __typeof__(seg_write) *write;
    __typeof__(seg_write_bits) *write_bits;
    __typeof__(seg_read) *read;
    __typeof__(dicom_codecs_jpeg_register) *jpeg_register;
} sm;
static const char *const sm_names[] = {"seg_write", "seg_write_bits", "seg_read", "dicom_codecs_jpeg_register"};
static c2_lazylib sm_lib = {C2SEG_DCMSEG_MODULE, "DICOM SEG and JPEG / JPEG-LS decoding", 0, sm_names,
                            sizeof sm_names / sizeof sm_names[0], &sm, sizeof sm, 0, 1};

int dicom_codecs_jpeg(c2_err *e)
{
    int rc = c2_lazylib_open(&sm_lib, e);
    if (rc == C2_OK)
        sm.jpeg_register();
    return rc;
}

int seg_write(const seg_source *src, const uint8_t *mask, const seg_write_opts *opt, const char *out_path,
              seg_write_info *info, c2_err *e)
{
    int rc = c2_lazylib_open(&sm_lib, e);
    return rc != C2_OK ? rc : sm.write(src, mask, opt, out_path, info, e);
}

int seg_write_bits(const seg_source *src, const uint8_t *bits, const seg_write_opts *opt, const char *out_path,
                   seg_write_info *info, c2_err *e)
{
    int rc = c2_lazylib_open(&sm_lib, e);
    return rc != C2_OK ? rc : sm.write_bits(src, bits, opt, out_path, info, e);
}

int seg_read(const char *path, seg_image *s, c2_err *e)
{
    memset(s, 0, sizeof *s);   /* a caller may free it after any failure */
    int rc = c2_lazylib_open(&sm_lib, e);
    return rc != C2_OK ? rc : sm.read(path, s, e);
}

void seg_image_free(seg_image *s)
{
    if (s) {
        free(s->pixels);
        free(s->frames);
        free(s->segments);
        memset(s, 0, sizeof *s);
    }
}
