/* checkpoint: HDF5 save / load of a C2Seg model with its training state (layout in
 * train/checkpoint.h). Every HDF5 handle is closed on every path; a failed save
 * removes its temporary file, so the previous checkpoint stays intact. */
#include "train/checkpoint.h"

#include "io/h5.h"

#include <cjson/cJSON.h>
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FORMAT_NAME "c2seg-checkpoint"

void checkpoint_meta_default(checkpoint_meta *meta, const c2seg_config *cfg)
{
    memset(meta, 0, sizeof *meta);
    snprintf(meta->stage1, sizeof meta->stage1, "none");
    snprintf(meta->text_encoder, sizeof meta->text_encoder, "hash-text-512");
    snprintf(meta->text_encoder_version, sizeof meta->text_encoder_version, "1");
    snprintf(meta->preprocess.intensity_domain, sizeof meta->preprocess.intensity_domain, "xray");
    meta->preprocess.size = cfg->img;
    meta->preprocess.window_center = -600;
    meta->preprocess.window_width = 1500;
    meta->preprocess.mean = 0.5;
    meta->preprocess.std = 0.25;
}

/* CRC-32 over every registry tensor (state_dict order) and the optimizer moments. */
static uint32_t state_checksum(const c2seg_model *m, const checkpoint_optim *opt)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    for (int i = 0; i < m->n_tensors; i++) {
        const c2seg_tensor_info *t = &m->tensors[i];
        const void *p = t->kind == C2SEG_COUNTER ? (const void *)(m->counters + t->offset)
                                                 : (const void *)c2seg_tensor_data(m, t);
        crc = crc32(crc, p, (uInt)((size_t)t->numel * 4));
    }
    if (opt && opt->m) {
        crc = crc32(crc, (const Bytef *)opt->m, (uInt)(opt->n * sizeof(float)));
        crc = crc32(crc, (const Bytef *)opt->v, (uInt)(opt->n * sizeof(float)));
    }
    return (uint32_t)crc;
}

/* ---- config / preprocess JSON ------------------------------------------------------ */
static char *config_json(const c2seg_config *cfg, const checkpoint_meta *meta)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "preset", cfg->preset);
    cJSON_AddStringToObject(o, "fusion", c2seg_fusion_name(cfg->fusion));
    cJSON_AddStringToObject(o, "stage1", meta->stage1);
    cJSON_AddNumberToObject(o, "size", cfg->img);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static char *preprocess_json(const checkpoint_preprocess *p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "intensity_domain", p->intensity_domain);
    cJSON_AddNumberToObject(o, "size", p->size);
    cJSON_AddNumberToObject(o, "window_center", p->window_center);
    cJSON_AddNumberToObject(o, "window_width", p->window_width);
    cJSON_AddNumberToObject(o, "mean", p->mean);
    cJSON_AddNumberToObject(o, "std", p->std);
    cJSON_AddBoolToObject(o, "from_cache", p->from_cache);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int json_num(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        return -1;
    *out = v->valuedouble;
    return 0;
}

/* ---- datasets ---------------------------------------------------------------------- */
static int dataset_write(hid_t group, const char *name, int ndim, const hsize_t *dims, int is_int, const void *data)
{
    hid_t sp = H5Screate_simple(ndim, dims, NULL);
    hid_t ft = is_int ? H5T_STD_I32LE : H5T_IEEE_F32LE, mt = is_int ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT;
    hid_t d = H5Dcreate2(group, name, ft, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(sp);
    return rc < 0 ? -1 : 0;
}

/* Reads dataset `name` of exactly `numel` elements with the expected shape. */
static int dataset_read(hid_t group, const char *name, int ndim, const int *shape, int is_int, void *data, c2_err *e,
                        const char *path)
{
    if (H5Lexists(group, name, H5P_DEFAULT) <= 0)
        return c2_fail(e, C2_EMISMATCH, "%s: tensor '%s' is missing", path, name);
    hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
    if (d < 0)
        return c2_fail(e, C2_EINVAL, "%s: cannot open tensor '%s'", path, name);
    hid_t sp = H5Dget_space(d);
    hsize_t dims[8] = {0};
    int nd = H5Sget_simple_extent_ndims(sp);
    int ok = nd == ndim && nd <= 8;
    if (ok) {
        H5Sget_simple_extent_dims(sp, dims, NULL);
        for (int i = 0; i < nd; i++)
            ok = ok && dims[i] == (hsize_t)shape[i];
    }
    H5Sclose(sp);
    int rc = C2_OK;
    if (!ok)
        rc = c2_fail(e, C2_EMISMATCH, "%s: tensor '%s' has another shape than the model's", path, name);
    else if (H5Dread(d, is_int ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        rc = c2_fail(e, C2_EIO, "%s: cannot read tensor '%s'", path, name);
    H5Dclose(d);
    return rc;
}

static int write_all(hid_t f, const c2seg_model *m, const checkpoint_meta *meta, const checkpoint_optim *opt)
{
    char *cfg = config_json(&m->cfg, meta), *pre = preprocess_json(&meta->preprocess);
    char crc[16];
    snprintf(crc, sizeof crc, "%08x", state_checksum(m, opt));
    int rc = h5_attr_write_string(f, "format", FORMAT_NAME) | h5_attr_write_i64(f, "schema_version", CHECKPOINT_SCHEMA_VERSION) |
             h5_attr_write_string(f, "config", cfg ? cfg : "") | h5_attr_write_i64(f, "step", meta->step) |
             h5_attr_write(f, "rng_state", H5T_NATIVE_UINT64, H5T_STD_U64LE, 4, meta->rng_state) |
             h5_attr_write_string(f, "text_encoder", meta->text_encoder) |
             h5_attr_write_string(f, "text_encoder_version", meta->text_encoder_version) |
             h5_attr_write_string(f, "preprocess", pre ? pre : "") | h5_attr_write_string(f, "checksum", crc);
    cJSON_free(cfg);
    cJSON_free(pre);
    if (rc || !cfg || !pre)
        return -1;
    hid_t g = H5Gcreate2(f, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -1;
    for (int i = 0; i < m->n_tensors && rc == 0; i++) {
        const c2seg_tensor_info *t = &m->tensors[i];
        hsize_t dims[4];
        for (int j = 0; j < t->ndim; j++)
            dims[j] = (hsize_t)t->shape[j];
        int is_int = t->kind == C2SEG_COUNTER;
        const void *p = is_int ? (const void *)(m->counters + t->offset) : (const void *)c2seg_tensor_data(m, t);
        rc = dataset_write(g, t->name, t->ndim, dims, is_int, p);
    }
    H5Gclose(g);
    if (rc || !opt || !opt->m)
        return rc;
    g = H5Gcreate2(f, "optimizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -1;
    hsize_t n = opt->n;
    rc = h5_attr_write_string(g, "type", opt->type) | h5_attr_write_i64(g, "step", opt->step) |
         dataset_write(g, "m", 1, &n, 0, opt->m) | dataset_write(g, "v", 1, &n, 0, opt->v);
    H5Gclose(g);
    return rc;
}

int checkpoint_save(const char *path, const c2seg_model *m, const checkpoint_meta *meta,
                    const checkpoint_optim *opt, c2_err *e)
{
    if (opt && opt->m && opt->n != m->n_params)
        return c2_fail(e, C2_EINVAL, "%s: optimizer state has %zu values for %zu parameters", path, opt->n,
                       m->n_params);
    char tmp[4200];
    c2_temp_name(tmp, sizeof tmp, path);
    H5E_auto2_t old_fn;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    int rc = f < 0 ? -1 : write_all(f, m, meta, opt);
    if (f >= 0 && H5Fclose(f) < 0)
        rc = -1;
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    if (rc != 0) {
        remove(tmp);
        return c2_fail(e, C2_EIO, "%s: cannot write the checkpoint (HDF5 error writing %s)", path, tmp);
    }
    return c2_rename_into_place(tmp, path, e);
}

/* Parses the root attributes into cfg and meta. */
static int read_meta(hid_t f, const char *path, c2seg_config *cfg, checkpoint_meta *meta, char *crc, c2_err *e)
{
    char buf[1024];
    int64_t schema = -1;
    if (h5_attr_read_string(f, "format", buf, sizeof buf) != 0 || strcmp(buf, FORMAT_NAME) != 0)
        return c2_fail(e, C2_EINVAL, "%s: not a c2seg checkpoint (no format attribute '%s')", path, FORMAT_NAME);
    if (h5_attr_read_i64(f, "schema_version", &schema) != 0 || schema < CHECKPOINT_SCHEMA_OLDEST ||
        schema > CHECKPOINT_SCHEMA_VERSION)
        return c2_fail(e, C2_EMISMATCH, "%s: checkpoint schema_version %lld, this build reads %d to %d", path,
                       (long long)schema, CHECKPOINT_SCHEMA_OLDEST, CHECKPOINT_SCHEMA_VERSION);
    if (h5_attr_read_string(f, "config", buf, sizeof buf) != 0)
        return c2_fail(e, C2_EINVAL, "%s: the config attribute is missing", path);
    cJSON *o = cJSON_Parse(buf);
    const char *preset = o ? json_str(o, "preset") : NULL, *fusion = o ? json_str(o, "fusion") : NULL;
    const char *stage1 = o ? json_str(o, "stage1") : NULL;
    int rc = preset && fusion ? c2seg_config_make(cfg, preset, fusion, e)
                              : c2_fail(e, C2_EINVAL, "%s: the config attribute lacks preset / fusion", path);
    if (rc == C2_OK) {
        checkpoint_meta_default(meta, cfg);
        snprintf(meta->stage1, sizeof meta->stage1, "%s", stage1 ? stage1 : "none");
    }
    cJSON_Delete(o);
    if (rc != C2_OK)
        return c2_err_prefix(e, "%s", path);
    if (h5_attr_read_i64(f, "step", &meta->step) != 0 ||
        h5_attr_read(f, "rng_state", H5T_NATIVE_UINT64, meta->rng_state) != 0 ||
        h5_attr_read_string(f, "text_encoder", meta->text_encoder, sizeof meta->text_encoder) != 0 ||
        h5_attr_read_string(f, "text_encoder_version", meta->text_encoder_version, sizeof meta->text_encoder_version) != 0 ||
        h5_attr_read_string(f, "checksum", crc, 16) != 0 || h5_attr_read_string(f, "preprocess", buf, sizeof buf) != 0)
        return c2_fail(e, C2_EINVAL, "%s: a root attribute (step, rng_state, text_encoder, preprocess, checksum) is missing",
                       path);
    o = cJSON_Parse(buf);
    const char *dom = o ? json_str(o, "intensity_domain") : NULL;
    double size = 0;
    checkpoint_preprocess *p = &meta->preprocess;
    rc = dom && json_num(o, "size", &size) == 0 && json_num(o, "window_center", &p->window_center) == 0 &&
                 json_num(o, "window_width", &p->window_width) == 0 && json_num(o, "mean", &p->mean) == 0 &&
                 json_num(o, "std", &p->std) == 0
             ? C2_OK
             : c2_fail(e, C2_EINVAL, "%s: the preprocess attribute is incomplete", path);
    if (rc == C2_OK) {
        snprintf(p->intensity_domain, sizeof p->intensity_domain, "%s", dom);
        p->size = (int)size;
        p->from_cache = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "from_cache"));
    }
    cJSON_Delete(o);
    return rc;
}

static int read_optim(hid_t f, const char *path, const c2seg_model *m, checkpoint_optim *opt, c2_err *e)
{
    memset(opt, 0, sizeof *opt);
    if (H5Lexists(f, "optimizer", H5P_DEFAULT) <= 0)
        return C2_OK;
    hid_t g = H5Gopen2(f, "optimizer", H5P_DEFAULT);
    if (g < 0)
        return c2_fail(e, C2_EINVAL, "%s: cannot open /optimizer", path);
    opt->n = m->n_params;
    opt->m = malloc(opt->n * sizeof(float));
    opt->v = malloc(opt->n * sizeof(float));
    int shape[1] = {(int)opt->n};
    int rc = !opt->m || !opt->v ? c2_fail(e, C2_ENOMEM, "%s: cannot allocate the optimizer state", path)
             : h5_attr_read_string(g, "type", opt->type, sizeof opt->type) != 0 ||
                     h5_attr_read_i64(g, "step", &opt->step) != 0
                 ? c2_fail(e, C2_EINVAL, "%s: /optimizer lacks its type or step", path)
                 : dataset_read(g, "m", 1, shape, 0, opt->m, e, path);
    if (rc == C2_OK)
        rc = dataset_read(g, "v", 1, shape, 0, opt->v, e, path);
    H5Gclose(g);
    if (rc != C2_OK) {
        free(opt->m);
        free(opt->v);
        memset(opt, 0, sizeof *opt);
    }
    return rc;
}

static int read_all(hid_t f, const char *path, c2seg_model *m, checkpoint_meta *meta, checkpoint_optim *opt,
                    c2_err *e)
{
    c2seg_config cfg;
    char crc[16];
    int rc = read_meta(f, path, &cfg, meta, crc, e);
    if (rc != C2_OK)
        return rc;
    if ((rc = c2seg_model_create(m, &cfg, e)) != C2_OK)
        return rc;
    hid_t g = H5Gopen2(f, "params", H5P_DEFAULT);
    if (g < 0)
        rc = c2_fail(e, C2_EINVAL, "%s: the /params group is missing", path);
    for (int i = 0; i < m->n_tensors && rc == C2_OK; i++) {
        const c2seg_tensor_info *t = &m->tensors[i];
        int is_int = t->kind == C2SEG_COUNTER;
        void *p = is_int ? (void *)(m->counters + t->offset) : (void *)c2seg_tensor_data(m, t);
        rc = dataset_read(g, t->name, t->ndim, t->shape, is_int, p, e, path);
    }
    if (g >= 0)
        H5Gclose(g);
    checkpoint_optim local = {0};
    checkpoint_optim *o = opt ? opt : &local;
    if (rc == C2_OK)
        rc = read_optim(f, path, m, o, e);
    if (rc == C2_OK) {
        char want[16];
        snprintf(want, sizeof want, "%08x", state_checksum(m, o));
        if (strcmp(want, crc) != 0)
            rc = c2_fail(e, C2_EMISMATCH, "%s: checksum mismatch (stored %s, computed %s): the file is corrupt", path,
                         crc, want);
    }
    if (!opt || rc != C2_OK) {
        free(o->m);
        free(o->v);
        memset(o, 0, sizeof *o);
    }
    if (rc != C2_OK)
        c2seg_model_free(m);
    return rc;
}

/* Opens path read-only with HDF5's own error printing off (our messages replace it), then
 * reads the whole checkpoint into m, or with m NULL only the root attributes into cfg. */
static int read_file(const char *path, c2seg_config *cfg, c2seg_model *m, checkpoint_meta *meta,
                     checkpoint_optim *opt, c2_err *e)
{
    H5E_auto2_t old_fn;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char crc[16];
    int rc = f < 0 ? c2_fail(e, C2_EIO, "%s: cannot open as HDF5 (missing or not an HDF5 file)", path)
             : m   ? read_all(f, path, m, meta, opt, e)
                   : read_meta(f, path, cfg, meta, crc, e);
    if (f >= 0)
        H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    return rc;
}

int checkpoint_peek(const char *path, c2seg_config *cfg, checkpoint_meta *meta, c2_err *e)
{
    return read_file(path, cfg, NULL, meta, NULL, e);
}

int checkpoint_load(const char *path, c2seg_model *m, checkpoint_meta *meta, checkpoint_optim *opt, c2_err *e)
{
    memset(m, 0, sizeof *m);
    if (opt)
        memset(opt, 0, sizeof *opt);
    return read_file(path, NULL, m, meta, opt, e);
}

int checkpoint_check_preset(const char *path, const char *ckpt_preset, const char *given, c2_err *e)
{
    if (strcmp(given, ckpt_preset) == 0)
        return C2_OK;
    return c2_fail(e, C2_EMISMATCH,
                   "--preset %s, but %s is a %s-preset checkpoint; drop --preset (the checkpoint decides) or give "
                   "--preset %s",
                   given, path, ckpt_preset, ckpt_preset);
}

int checkpoint_check_input(const checkpoint_meta *meta, const char *domain, int size, c2_err *e)
{
    if (strcmp(meta->preprocess.intensity_domain, domain) != 0)
        return c2_fail(e, C2_EMISMATCH,
                       "the model was trained on '%s' input and refuses '%s' input (intensity domains differ)",
                       meta->preprocess.intensity_domain, domain);
    if (size != meta->preprocess.size)
        return c2_fail(e, C2_EMISMATCH, "the model expects %dx%d input, got %dx%d", meta->preprocess.size,
                       meta->preprocess.size, size, size);
    return C2_OK;
}
