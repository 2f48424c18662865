/* fuzz/fuzz_caption_parse: the caption grammar (dicom-sr/caption_parse.h) on arbitrary
 * text: parse, regenerate the canonical caption, and build the JSON object. */
#include "dicom-sr/caption_parse.h"
#include "fuzz/fuzz_support.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    caption_attrs a;
    caption_parse(text, size && data[0] & 1 ? CONV_PATIENT : CONV_IMAGE, &a);
    char out[512];
    caption_generate(&a, out, sizeof out);
    cJSON_Delete(caption_attrs_json(&a));
    free(text);
    return 0;
}
