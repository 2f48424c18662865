/* fuzz/fuzz_image2d: PNG / JPEG decoding (io/image2d.h) on arbitrary bytes. */
#include "fuzz/fuzz_support.h"
#include "io/image2d.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_temp(data, size, ".png");
    image2d img;
    c2_err e = {0};
    if (path && image2d_read(path, &img, &e) == C2_OK)
        image2d_free(&img);
    return 0;
}
