/* pipeline/predict/predict_slice_text: per-slice model text of a DICOM case. When ingest gave
 * a case's slices their own captions from a per-slice table (--captions FILE, or a
 * captions.csv beside the series: pipeline/ingest/ingest_slice_captions.c, text_source
 * "slice caption TABLE[; report SR ...]"), every slice of a batch goes through the model
 * with its own caption (c2seg_forward takes one text per sample), the way MosMedData+'s
 * protocol evaluates; the case's report text (consistency, --text-decode) stays its SR's.
 * Without such a table predict feeds one text per case (predict_case.c). */
#include "pipeline/predict/predict.h"

#include <cjson/cJSON.h>
#include <string.h>

#define SLICE_PREFIX "slice caption "

static int per_slice(const cache_sample *s)
{
    return s->text_source && strncmp(s->text_source, SLICE_PREFIX, strlen(SLICE_PREFIX)) == 0;
}

int predict_slice_text_case(const cache *c, const int64_t *idx, int64_t n, const char **report, char *source,
                            size_t cap)
{
    for (int64_t i = 0; i < n; i++) {
        const cache_sample *s = &c->samples[idx[i]];
        if (!per_slice(s))
            continue;
        const char *sr = strstr(s->text_source, "; report SR ");
        *report = sr ? s->text_raw : NULL;
        snprintf(source, cap, "%s", sr ? sr + strlen("; report ") : "none");
        return 1;
    }
    return 0;
}

int predict_slice_text_batch(const cache *c, const int64_t *idx, int nb, float *tokens, int32_t *tmask,
                             float *pooled, c2_err *e)
{
    const text_encoder *te = text_encoder_hash512();
    size_t tk = (size_t)TEXT_MAX_TOKENS * TEXT_DIM;
    for (int b = 0; b < nb; b++) {
        const char *caption = c->samples[idx[b]].caption;
        int rc = te->encode(te, caption ? caption : "", tokens + b * tk, tmask + (size_t)b * TEXT_MAX_TOKENS,
                            pooled + (size_t)b * TEXT_DIM, e);
        if (rc < 0)
            return rc;
    }
    return C2_OK;
}

int predict_slice_text_json(const cache *c, const int64_t *idx, int64_t n, cJSON *text)
{
    const char *table = NULL;
    cJSON *arr = cJSON_CreateArray();
    for (int64_t i = 0; arr && i < n; i++) {
        const cache_sample *s = &c->samples[idx[i]];
        if (per_slice(s) && !table)
            table = s->text_source + strlen(SLICE_PREFIX);
        cJSON *v = s->caption ? cJSON_CreateString(s->caption) : cJSON_CreateNull();
        if (!v || !cJSON_AddItemToArray(arr, v)) {
            cJSON_Delete(v);
            cJSON_Delete(arr);
            return C2_ENOMEM;
        }
    }
    if (!arr)
        return C2_ENOMEM;
    char name[256];
    snprintf(name, sizeof name, "%s", table ? table : "");
    char *semi = strchr(name, ';');
    if (semi)
        *semi = 0;
    cJSON_AddStringToObject(text, "model_text_mode", "per_slice");
    cJSON_AddStringToObject(text, "model_text_table", name);
    cJSON_AddItemToObject(text, "model_text_per_slice", arr);
    return C2_OK;
}
