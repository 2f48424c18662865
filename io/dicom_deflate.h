/* dicom_deflate: the check that runs before DCMTK opens a file in the Deflated Explicit VR
 * Little Endian transfer syntax (1.2.840.10008.1.2.1.99).
 *
 * DCMTK 3.6.7 reads a deflated dataset as a stream it cannot seek, so it allocates each
 * element's value of the length the header claims (up to 4 GiB) before finding that the
 * stream ends first (fuzz_dicom found a 7.8 KB file claiming 3.6 GB). Here the dataset is
 * inflated once in fixed-size chunks, never held whole, while its element headers are
 * walked: an element whose length runs past the end of the inflated dataset is refused with
 * one "file: reason" line before DCMTK allocates anything. Files in other transfer syntaxes
 * cost one read of their File Meta Information (DCMTK checks their lengths against the file
 * size). */
#ifndef C2SEG_IO_DICOM_DEFLATE_H
#define C2SEG_IO_DICOM_DEFLATE_H

#include "base/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* C2_OK when path is not deflated, or when every element length fits in its inflated
 * dataset; C2_EINVAL (with the element and the byte counts) when one does not, or when the
 * deflate stream is damaged; C2_ELIMIT when the inflated dataset passes c2_limits.max_bytes.
 * An unreadable file is C2_OK here: DCMTK's own open reports it. */
int dicom_deflate_check(const char *path, c2_err *e);

#ifdef __cplusplus
}
#endif

#endif
