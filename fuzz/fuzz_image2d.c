/* fuzz/fuzz_image2d: PNG / JPEG decoding (io/image2d.h) on arbitrary bytes. */
#include "fuzz/fuzz_support.h"
#include "io/image2d.h"

FUZZ_FILE_READER(".png", image2d, image2d_read, image2d_free)
