/* fuzz/fuzz_sr: DICOM SR text extraction (dicom-sr/sr.h) on arbitrary bytes. */
#include "dicom-sr/sr.h"
#include "fuzz/fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_temp(data, size, ".dcm");
    sr_document d;
    c2_err e = {0};
    if (path && sr_read_text(path, &d, &e) == C2_OK)
        sr_document_free(&d);
    return 0;
}
