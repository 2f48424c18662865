/* torch_import: C2Seg parameters and config from a reference dump (see the header). */
#include "train/torch_import.h"

#include <cjson/cJSON.h>
#include <string.h>

const char *torch_manifest_str(const torch_dump *d, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(d->manifest, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int torch_import_config(const torch_dump *d, const char *dir, c2seg_config *cfg, c2_err *e)
{
    const char *preset = torch_manifest_str(d, "preset"), *fusion = torch_manifest_str(d, "fusion");
    if (!preset || !fusion)
        return c2_fail(e, C2_EINVAL, "%s: manifest.json lacks preset or fusion", dir);
    int rc = c2seg_config_make(cfg, preset, fusion, e);
    return rc == C2_OK ? rc : c2_err_prefix(e, "%s", dir);
}

static int copy_params(c2seg_model *m, const torch_dump *p, const char *dir, c2_err *e)
{
    for (int i = 0; i < m->n_tensors; i++) {
        const c2seg_tensor_info *t = &m->tensors[i];
        char name[80];
        snprintf(name, sizeof name, "param.%s", t->name);
        const torch_tensor *s = torch_dump_find(p, name);
        if (!s)
            return c2_fail(e, C2_ENOTFOUND, "%s: the dump has no '%s' (a train dump? use --params-from)", dir, name);
        int same = s->ndim == t->ndim && s->numel == t->numel && (s->is_int32 != 0) == (t->kind == C2SEG_COUNTER);
        for (int j = 0; same && j < t->ndim; j++)
            same = s->shape[j] == t->shape[j];
        if (!same)
            return c2_fail(e, C2_EMISMATCH, "%s: '%s' has another shape or dtype than the model's", dir, name);
        void *dst = t->kind == C2SEG_COUNTER ? (void *)(m->counters + t->offset) : (void *)c2seg_tensor_data(m, t);
        memcpy(dst, s->data, (size_t)t->numel * 4);
    }
    return C2_OK;
}

int torch_import_model(c2seg_model *m, const torch_dump *d, const char *dir, const torch_dump *params,
                       const char *params_dir, c2_err *e)
{
    c2seg_config cfg, pcfg;
    int rc = torch_import_config(d, dir, &cfg, e);
    if (rc != C2_OK)
        return rc;
    if (params != d) {
        if ((rc = torch_import_config(params, params_dir, &pcfg, e)) != C2_OK)
            return rc;
        const char *a = torch_manifest_str(d, "params_sha256"), *b = torch_manifest_str(params, "params_sha256");
        if (!a || !b || strcmp(a, b) != 0 || strcmp(cfg.preset, pcfg.preset) != 0 || cfg.fusion != pcfg.fusion)
            return c2_fail(e, C2_EMISMATCH, "%s and %s hold different initial parameters (params_sha256 or config differ)",
                           dir, params_dir);
    }
    if ((rc = c2seg_model_create(m, &cfg, e)) != C2_OK)
        return rc;
    if ((rc = copy_params(m, params, params_dir, e)) != C2_OK)
        c2seg_model_free(m);
    return rc;
}
