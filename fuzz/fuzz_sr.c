/* fuzz/fuzz_sr: DICOM SR text extraction (dicom-sr/sr.h) on arbitrary bytes. */
#include "dicom-sr/sr.h"
#include "fuzz/fuzz_support.h"

FUZZ_FILE_READER(".dcm", sr_document, sr_read_text, sr_document_free)
