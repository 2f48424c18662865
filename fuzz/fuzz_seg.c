/* fuzz/fuzz_seg: DICOM SEG reading (io/seg.h seg_read) on arbitrary bytes. */
#include "fuzz/fuzz_support.h"
#include "io/seg.h"

FUZZ_FILE_READER(".dcm", seg_image, seg_read, seg_image_free)
