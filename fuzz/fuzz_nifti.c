/* fuzz/fuzz_nifti: NIfTI-1 / NIfTI-2 reading (io/nifti.h) on arbitrary bytes, written
 * as .nii or, when the input starts with the gzip magic, as .nii.gz. */
#include "fuzz/fuzz_support.h"
#include "io/nifti.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    const char *path = fuzz_write_temp(data, size, gz ? ".nii.gz" : ".nii");
    nifti_volume v;
    c2_err e = {0};
    if (path && nifti_volume_read(path, 0, &v, &e) == C2_OK)
        nifti_volume_free(&v);
    return 0;
}
