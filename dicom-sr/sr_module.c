/* dicom-sr/sr_module: the DCMTK side of sr.h and sr_report.h (sr_dcmtk.cc, sr_report_dcmtk.cc,
 * sr_save_dcmtk.cc) is the module c2seg-dcmsr.so (C2SEG_DCMSR_MODULE), opened at the first SR
 * read or write (base.h, c2_lazylib: the executable's folder, else the build folder): DCMTK's
 * dcmsr brings dcmimage, dcmimgle, libtiff, libwebp, libzstd and more (~12 libraries) that
 * every other process would load and relocate at its start. The module calls back into the
 * program through the names of the dynamic list dicom-sr/sr_module.exports, which every
 * executable linking c2seg_sr exports. sr_document_free is here (plain frees): freeing needs
 * no module. */
#include "dicom-sr/sr.h"
#include "dicom-sr/sr_report.h"

#include <stdlib.h>
#include <string.h>

#ifndef C2SEG_DCMSR_MODULE
#define C2SEG_DCMSR_MODULE "c2seg-dcmsr.so"
#endif

static struct {
    __typeof__(sr_read_text) *read_text;
    __typeof__(sr_write_basic_text) *write_basic_text;
    __typeof__(sr_report_write) *report_write;
} srm;
static const char *const srm_names[] = {"sr_read_text", "sr_write_basic_text", "sr_report_write"};
static c2_lazylib srm_lib = {C2SEG_DCMSR_MODULE, "DICOM SR", 0, srm_names, sizeof srm_names / sizeof srm_names[0],
                             &srm, sizeof srm, 0, 1};

int sr_read_text(const char *path, sr_document *out, c2_err *e)
{
    memset(out, 0, sizeof *out);   /* a caller may free it after any failure */
    int rc = c2_lazylib_open(&srm_lib, e);
    return rc != C2_OK ? rc : srm.read_text(path, out, e);
}

int sr_write_basic_text(const char *path, const sr_write_info *info, const char *utf8_text, c2_err *e)
{
    int rc = c2_lazylib_open(&srm_lib, e);
    return rc != C2_OK ? rc : srm.write_basic_text(path, info, utf8_text, e);
}

int sr_report_write(const char *path, const char *seg_path, const sr_finding *f, const char *uid_root, c2_err *e)
{
    int rc = c2_lazylib_open(&srm_lib, e);
    return rc != C2_OK ? rc : srm.report_write(path, seg_path, f, uid_root, e);
}

void sr_document_free(sr_document *d)
{
    for (int i = 0; d->items && i < d->n_items; i++) {
        free(d->items[i].path);
        free(d->items[i].concept);
        free(d->items[i].text);
    }
    free(d->items);
    free(d->refs);
    d->items = NULL;
    d->refs = NULL;
    d->n_items = d->n_refs = 0;
}
