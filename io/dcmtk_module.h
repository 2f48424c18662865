/* io/dcmtk_module: DCMTK's SEG and JPEG side in a module opened on first use.
 *
 * dcmseg, dcmfg, dcmiod, dcmjpeg, dcmjpls and dcmimage (with libtiff, libwebp, libzstd, the
 * IJG and CharLS codecs behind them: ~17 libraries, ~5 ms of loading and relocation per
 * process) are not linked into c2seg: the SEG shim (io/seg_dcmtk.cc) and the JPEG / JPEG-LS
 * decoder registration (io/dicom_codecs_dcmtk.cc) are the module c2seg-dcmseg.so
 * (C2SEG_DCMSEG_MODULE), opened by io/dcmtk_module.c at the first SEG read or write or the
 * first JPEG / JPEG-LS frame decoded (base.h, c2_lazylib: the executable's folder, else the
 * build folder). The module calls back into the program through the names of the dynamic list
 * io/dcmtk_module.exports, which every executable linking c2seg_io exports. */
#ifndef C2SEG_IO_DCMTK_MODULE_H
#define C2SEG_IO_DCMTK_MODULE_H

#include "base/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Makes DCMTK's JPEG and JPEG-LS decoders available to every later decode in this process
 * (DCMTK's codec list is process-wide): opens the module and registers them once. Fails with
 * C2_EUNSUPPORTED naming the module and why when it cannot be opened. Thread-safe. */
int dicom_codecs_jpeg(c2_err *e);

/* In the module: the registration itself (once; idempotent). */
void dicom_codecs_jpeg_register(void);

#ifdef __cplusplus
}
#endif
#endif
