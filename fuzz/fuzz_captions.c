/* fuzz/fuzz_captions: caption tables (dicom-sr/captions.h: xlsx, csv, json, lines) on
 * arbitrary bytes. The format is chosen by content first, so the extension only
 * matters for text that is neither zip nor JSON; the first byte picks it. */
#include "dicom-sr/captions.h"
#include "fuzz/fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *ext[4] = {".csv", ".json", ".xlsx", ".txt"};
    const char *path = fuzz_write_temp(data, size, ext[size ? data[0] % 4 : 0]);
    caption_table *t = NULL;
    c2_err e = {0};
    if (!path || caption_table_load(path, size && data[0] & 4 ? "train" : NULL, &t, &e) != C2_OK)
        return 0;
    for (int i = 0; i < t->n && i < 64; i++)
        caption_table_find(t, t->rows[i].file);
    caption_table_find(t, "mask_x.png");
    caption_table_unmatched(t);
    caption_table_free(t);
    return 0;
}
