/* dicom_load_dcmtk: how every DCMTK shim (`*_dcmtk.cc`, C++ only) opens a DICOM file:
 * the deflate check of io/dicom_deflate.h first (DCMTK would otherwise allocate what a
 * hostile deflated header claims), then DCMTK's load, large elements loaded lazily.
 * Not for C callers: DcmFileFormat is C++. */
#ifndef C2SEG_IO_DICOM_LOAD_DCMTK_H
#define C2SEG_IO_DICOM_LOAD_DCMTK_H

#include "base/base.h"

class DcmFileFormat;

/* C2_OK with ff loaded; otherwise the deflate check's code, or C2_EINVAL "path: not a
 * readable DICOM file (DCMTK's reason)". whole = 1 reads every value in the one pass (for
 * a small file whose pixels are wanted: one open and sequential reads instead of
 * re-opening it for Pixel Data). */
int dicom_dcmtk_load(DcmFileFormat &ff, const char *path, c2_err *e, int whole = 0);

/* The check alone, for a shim that loads path itself (a private copy: messages name shown):
 * C2_OK unless DCMTK would read path as a deflated dataset with an element longer than the
 * dataset (io/dicom_deflate.h). */
int dicom_dcmtk_check(const char *path, const char *shown, c2_err *e);

#endif
