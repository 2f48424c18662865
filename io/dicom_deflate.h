/* dicom_deflate: the check that runs before DCMTK opens a file in the Deflated Explicit VR
 * Little Endian transfer syntax (1.2.840.10008.1.2.1.99).
 *
 * DCMTK 3.6.7 reads a deflated dataset as a stream it cannot seek, so it allocates each
 * element's value of the length the header claims (up to 4 GiB) before finding that the
 * stream ends first (fuzz_dicom found a 7.8 KB file claiming 3.6 GB). Here the dataset is
 * inflated once in fixed-size chunks, never held whole, while its element headers are
 * walked: an element whose length runs past the end of the inflated dataset is refused with
 * one "file: reason" line before DCMTK allocates anything. Whether a file is deflated, and
 * where its dataset starts, is DCMTK's own reading of its File Meta Information
 * (io/dicom_load_dcmtk.cc): fuzz_dicom found a file whose group length (0002,0000) spans an
 * element of another group before the Transfer Syntax UID, which DCMTK reads as part of the
 * meta header and a walk of group 0002 alone did not. Files in other transfer syntaxes cost
 * that read only (DCMTK checks their lengths against the file size). */
#ifndef C2SEG_IO_DICOM_DEFLATE_H
#define C2SEG_IO_DICOM_DEFLATE_H

#include "base/base.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* path's dataset, a raw deflate stream from byte start to the end of the file: C2_OK when
 * every element length fits in the inflated dataset; C2_EINVAL (with the element and the
 * byte counts) when one does not, or when the deflate stream is damaged; C2_ELIMIT when the
 * inflated dataset passes c2_limits.max_bytes. Messages name the file `shown`. An
 * unreadable file is C2_OK here: DCMTK's own open reports it. */
int dicom_deflate_check(const char *path, const char *shown, int64_t start, c2_err *e);

#ifdef __cplusplus
}
#endif

#endif
