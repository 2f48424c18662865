/* fuzz/fuzz_seg: DICOM SEG reading (io/seg.h seg_read) on arbitrary bytes. */
#include "fuzz/fuzz_support.h"
#include "io/seg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_temp(data, size, ".dcm");
    seg_image s;
    c2_err e = {0};
    if (path && seg_read(path, &s, &e) == C2_OK)
        seg_image_free(&s);
    return 0;
}
