/* jpeg2000: decoding one JPEG 2000 frame of a DICOM object through OpenJPEG.
 * DCMTK 3.6.7 as shipped by Debian has no JPEG 2000 codec, so the DCMTK shim
 * (io/dicom_dcmtk.cc) gathers the frame's fragments and hands the bytes here. */
#ifndef C2SEG_IO_JPEG2000_H
#define C2SEG_IO_JPEG2000_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Decodes one codestream, raw J2K (FF 4F FF 51) or wrapped in a JP2 file (some writers
 * embed one), into out, shape [rows, cols, samples] interleaved, int32 stored values.
 * The stream must match rows x cols x samples exactly (no subsampled components).
 * When the stream is unsigned but the DICOM Pixel Representation says signed
 * (J2K_pixelrep_mismatch.dcm), values are sign-extended from the stream's precision.
 * Colour streams come out in RGB: OpenJPEG undoes the reversible / irreversible
 * component transform itself. `what` names the file in messages. */
int jpeg2000_decode(const char *what, const uint8_t *data, size_t n, int rows, int cols,
                    int samples, int pixel_representation, int32_t *out, c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
