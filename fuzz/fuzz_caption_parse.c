/* fuzz/fuzz_caption_parse: the caption grammar (dicom-sr/caption_parse.h) and the report-prose
 * parser (dicom-sr/prose_parse.h) on arbitrary text: route (template or prose), parse,
 * regenerate the canonical caption, build both JSON objects with the evidence spans, and
 * check every span lies inside the text. */
#include "dicom-sr/caption_parse.h"
#include "dicom-sr/prose_parse.h"
#include "fuzz/fuzz_support.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    caption_attrs a;
    prose_attrs p;
    caption_parse_full(text, size && data[0] & 1 ? CONV_PATIENT : CONV_IMAGE, &a, &p);
    char out[512];
    caption_generate(&a, out, sizeof out);
    cJSON_Delete(caption_attrs_json(&a));
    /* the prose parser directly, whatever the routing decided */
    prose_parse(text, &p);
    size_t len = strlen(text);
    for (int k = 0; k < p.n_spans; k++)
        if (p.spans[k].start < 0 || p.spans[k].end > (int)len || p.spans[k].start >= p.spans[k].end)
            abort();
    if (p.n_spans > PROSE_MAX_SPANS || p.lat > LAT_UNKNOWN || p.temporal > PT_RESOLVED)
        abort();
    cJSON_Delete(prose_attrs_json(&p, text));
    char sev[128], cnt[32];
    prose_severity_string(&p, sev, sizeof sev);
    prose_count_string(&p, cnt, sizeof cnt);
    free(text);
    return 0;
}
