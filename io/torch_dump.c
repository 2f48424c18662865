/* Reader for the reference's tensor dumps: a JSON manifest of {name, shape, dtype,
 * offset, nbytes} over one raw little-endian blob. Every entry is validated against
 * the blob size before it is exposed, so a damaged dump is an error, not a crash. */
#include "io/torch_dump.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int torch_dump_load(torch_dump *d, const char *dir, c2_err *e)
{
    memset(d, 0, sizeof *d);
    char path[4096];
    uint8_t *text = NULL;
    size_t n = 0;
    int rc;
    c2_path_join(path, sizeof path, dir, "manifest.json");
    if ((rc = c2_read_file(path, (size_t)64 << 20, &text, &n, e)))
        return rc;
    d->manifest = cJSON_Parse((const char *)text);
    free(text);
    if (!d->manifest)
        return c2_fail(e, C2_EINVAL, "%s: not valid JSON", path);
    c2_path_join(path, sizeof path, dir, "tensors.bin");
    if ((rc = c2_read_file(path, (size_t)4 << 30, (uint8_t **)&d->blob, &d->blob_size, e)))
        goto fail;
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(d->manifest, "tensors");
    if (!cJSON_IsArray(ts)) {
        rc = c2_fail(e, C2_EINVAL, "%s/manifest.json: no \"tensors\" array", dir);
        goto fail;
    }
    d->n = cJSON_GetArraySize(ts);
    d->tensors = calloc((size_t)d->n + 1, sizeof *d->tensors);
    if (!d->tensors) {
        rc = c2_fail(e, C2_ENOMEM, "out of memory");
        goto fail;
    }
    int i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, ts)
    {
        torch_tensor *x = &d->tensors[i++];
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
        const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(t, "dtype");
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(t, "offset");
        const cJSON *nb = cJSON_GetObjectItemCaseSensitive(t, "nbytes");
        if (!cJSON_IsString(name) || !cJSON_IsArray(shape) || !cJSON_IsString(dtype) || !cJSON_IsNumber(off) ||
            !cJSON_IsNumber(nb) || cJSON_GetArraySize(shape) > 8) {
            rc = c2_fail(e, C2_EINVAL, "%s/manifest.json: tensor entry %d is malformed", dir, i - 1);
            goto fail;
        }
        snprintf(x->name, sizeof x->name, "%s", name->valuestring);
        x->is_int32 = strcmp(dtype->valuestring, "int32") == 0;
        if (!x->is_int32 && strcmp(dtype->valuestring, "float32") != 0) {
            rc = c2_fail(e, C2_EUNSUPPORTED, "%s: tensor %s has dtype %s", dir, x->name, dtype->valuestring);
            goto fail;
        }
        x->numel = 1;
        const cJSON *s;
        cJSON_ArrayForEach(s, shape)
        {
            x->shape[x->ndim++] = (int64_t)s->valuedouble;
            x->numel *= (int64_t)s->valuedouble;
        }
        double o = off->valuedouble, b = nb->valuedouble;
        if (o < 0 || b != (double)x->numel * 4 || o + b > (double)d->blob_size) {
            rc = c2_fail(e, C2_EINVAL, "%s: tensor %s lies outside tensors.bin or has the wrong size", dir, x->name);
            goto fail;
        }
        x->data = (uint8_t *)d->blob + (size_t)o;
    }
    return C2_OK;
fail:
    torch_dump_free(d);
    return rc;
}

void torch_dump_free(torch_dump *d)
{
    free(d->tensors);
    free(d->blob);
    cJSON_Delete(d->manifest);
    memset(d, 0, sizeof *d);
}

const torch_tensor *torch_dump_find(const torch_dump *d, const char *name)
{
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->tensors[i].name, name) == 0)
            return &d->tensors[i];
    return NULL;
}

const float *torch_dump_f32(const torch_dump *d, const char *name)
{
    const torch_tensor *t = torch_dump_find(d, name);
    return (t && !t->is_int32) ? (const float *)t->data : NULL;
}

double torch_dump_f64_check(const torch_dump *d, const char *param)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(d->manifest, "f64_check");
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(c, "grad_rel");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, param);
    return cJSON_IsNumber(v) ? v->valuedouble : -1.0;
}

torch_diff torch_diff_f32(const float *c, const float *r, int64_t n)
{
    torch_diff f = {0, 0, 0, 0};
    for (int64_t i = 0; i < n; i++) {
        double d = (double)c[i] - r[i];
        f.max_err = fmax(f.max_err, fabs(d));
        f.max_ref = fmax(f.max_ref, fabs((double)r[i]));
        f.err_norm += d * d;
        f.ref_norm += (double)r[i] * r[i];
    }
    f.err_norm = sqrt(f.err_norm);
    f.ref_norm = sqrt(f.ref_norm);
    return f;
}
