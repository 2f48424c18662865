/* preprocess_match: a checkpoint's recorded preprocessing against a cache's
 * (train/preprocess_match.h). */
#include "train/preprocess_match.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct cache_pre {
    const char *domain;
    int size, has_ct;
    double center, width;
} cache_pre;

static int cache_pre_read(cache_pre *out, const cache *c, const char *cache_path, c2_err *e)
{
    memset(out, 0, sizeof *out);
    out->domain = c->n > 0 && c->samples[0].domain ? c->samples[0].domain : "";
    out->size = c->size;
    for (int64_t i = 0; i < c->n && !out->has_ct; i++)
        out->has_ct = c->samples[i].domain && strcmp(c->samples[i].domain, "ct_hu") == 0;
    cJSON *o = cJSON_Parse(c->parameters ? c->parameters : "");
    const cJSON *ce = cJSON_GetObjectItemCaseSensitive(o, "window_center");
    const cJSON *we = cJSON_GetObjectItemCaseSensitive(o, "window_width");
    int ok = cJSON_IsNumber(ce) && cJSON_IsNumber(we);
    if (ok) {
        out->center = ce->valuedouble;
        out->width = we->valuedouble;
    }
    cJSON_Delete(o);
    if (!ok)
        return c2_fail(e, C2_EINVAL,
                       "%s: the cache's parameters do not record the CT window (window_center, window_width); "
                       "re-ingest it with this version of c2seg ingest",
                       cache_path);
    return C2_OK;
}

int preprocess_from_cache(checkpoint_preprocess *p, const cache *c, const char *cache_path, c2_err *e)
{
    cache_pre q;
    int rc = cache_pre_read(&q, c, cache_path, e);
    if (rc)
        return rc;
    snprintf(p->intensity_domain, sizeof p->intensity_domain, "%s", q.domain);
    p->size = q.size;
    p->window_center = q.center;
    p->window_width = q.width;
    p->from_cache = 1;
    return C2_OK;
}

static int same(double a, double b) { return fabs(a - b) <= 1e-9 * (1 + fabs(a)); }

int preprocess_match(const checkpoint_preprocess *p, const char *ckpt_path, const cache *c, const char *cache_path,
                     c2_err *e)
{
    cache_pre q;
    int rc = cache_pre_read(&q, c, cache_path, e);
    if (rc)
        return rc;
    if (strcmp(p->intensity_domain, q.domain) != 0)
        return c2_fail(e, C2_EMISMATCH,
                       "%s was trained on '%s' input but %s holds '%s' input (intensity domains differ); use a "
                       "model trained on this kind of data",
                       ckpt_path, p->intensity_domain, cache_path, q.domain);
    if (p->size != q.size)
        return c2_fail(e, C2_EMISMATCH,
                       "%s takes %dx%d input but %s holds %dx%d samples; re-ingest it with --size %d (or the "
                       "model's preset)",
                       ckpt_path, p->size, p->size, cache_path, q.size, q.size, p->size);
    if (q.has_ct && (!same(p->window_center, q.center) || !same(p->window_width, q.width)))
        return c2_fail(e, C2_EMISMATCH,
                       "%s was trained on CT windowed at centre %g HU, width %g HU, but %s was ingested with "
                       "centre %g, width %g; re-ingest it with --window %g,%g",
                       ckpt_path, p->window_center, p->window_width, cache_path, q.center, q.width,
                       p->window_center, p->window_width);
    return C2_OK;
}
