/* Tests of train/checkpoint.c and `c2seg import-torch`: a reference dump imported by
 * the CLI loads back bit-exact against the dump itself (the independent truth), h5dump
 * reads the same values, the optimizer state and meta round-trip, and corruption,
 * wrong schema and mismatched input are refused with clear messages; strings are
 * written variable-length UTF-8 (schema 2) and schema-1 files (fixed-length) still load. */
#include "io/h5.h"
#include "io/torch_dump.h"
#include "tests/support/check.h"
#include "train/train.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

static char ckpt[4096];

static void import_tiny(void)
{
    snprintf(ckpt, sizeof ckpt, "%s/tiny.ckpt", test_tmpdir());
    CHECK(run_cmd("%s import-torch %s -o %s >/dev/null 2>&1", c2seg_bin(), shared_path("reference/golden_tiny_eval"),
                  ckpt) == 0);
}

static void test_import_loads_bit_exact(void)
{
    torch_dump d;
    c2seg_model m;
    checkpoint_meta meta;
    c2_err e = {0};
    CHECK(torch_dump_load(&d, shared_path("reference/golden_tiny_eval"), &e) == C2_OK);
    int rc = checkpoint_load(ckpt, &m, &meta, NULL, &e);
    CHECK_MSG(rc == C2_OK, "%s", e.msg);
    if (rc != C2_OK)
        return;
    CHECK(strcmp(m.cfg.preset, "tiny") == 0 && m.cfg.fusion == C2SEG_FUSION_BCAM_KGATE);
    int n = 0;
    for (int i = 0; i < m.n_tensors; i++) {
        const c2seg_tensor_info *t = &m.tensors[i];
        char name[80];
        snprintf(name, sizeof name, "param.%s", t->name);
        const torch_tensor *s = torch_dump_find(&d, name);
        CHECK_MSG(s != NULL, "%s", name);
        const void *p = t->kind == C2SEG_COUNTER ? (const void *)(m.counters + t->offset)
                                                 : (const void *)c2seg_tensor_data(&m, t);
        if (s && memcmp(p, s->data, (size_t)t->numel * 4) == 0)
            n++;
    }
    CHECK_MSG(n == m.n_tensors, "%d of %d tensors bit-exact", n, m.n_tensors);
    CHECK(strcmp(meta.preprocess.intensity_domain, "xray") == 0 && meta.preprocess.size == 32);
    CHECK(strcmp(meta.text_encoder, "hash-text-512") == 0);
    /* h5dump, an independent reader, sees the dump's value of one weight */
    const float *w = torch_dump_f32(&d, "param.final.weight");
    char *out = run_capture("h5dump -m %%.9g -d /params/final.weight %s", ckpt);
    char want[64];
    snprintf(want, sizeof want, "%.9g", (double)w[1]);
    CHECK_MSG(out && strstr(out, want), "h5dump lacks %s", want);
    free(out);
    c2seg_model_free(&m);
    torch_dump_free(&d);
}

static void test_optimizer_and_meta_round_trip(void)
{
    c2seg_config cfg;
    c2seg_model m, m2;
    checkpoint_meta meta, meta2;
    checkpoint_optim opt = {.type = "adamw", .step = 17}, opt2;
    c2_err e = {0};
    CHECK(c2seg_config_make(&cfg, "tiny", "duala", &e) == C2_OK);
    CHECK(c2seg_model_create(&m, &cfg, &e) == C2_OK);
    c2seg_model_init_weights(&m, 3);
    m.enc1.bn1.num_batches_tracked[0] = 41;
    checkpoint_meta_default(&meta, &cfg);
    snprintf(meta.stage1, sizeof meta.stage1, "cacl");
    snprintf(meta.preprocess.intensity_domain, sizeof meta.preprocess.intensity_domain, "ct_hu");
    meta.step = 1234;
    meta.rng_state[0] = 0xFFFFFFFFFFFFFFFFull;
    meta.rng_state[3] = 5;
    opt.n = m.n_params;
    opt.m = malloc(opt.n * sizeof(float));
    opt.v = malloc(opt.n * sizeof(float));
    for (size_t i = 0; i < opt.n; i++)
        opt.m[i] = (float)i * 1e-3f, opt.v[i] = 1.0f / (float)(i + 1);
    char path[4200];
    snprintf(path, sizeof path, "%s/rt.ckpt", test_tmpdir());
    CHECK(checkpoint_save(path, &m, &meta, &opt, &e) == C2_OK);
    int rc = checkpoint_load(path, &m2, &meta2, &opt2, &e);
    CHECK_MSG(rc == C2_OK, "%s", e.msg);
    if (rc == C2_OK) {
        CHECK(m2.cfg.fusion == C2SEG_FUSION_DUALA && m2.n_params == m.n_params);
        CHECK(memcmp(m.params, m2.params, (m.n_params + m.n_buffers) * 4) == 0);
        CHECK(m2.enc1.bn1.num_batches_tracked[0] == 41);
        CHECK(meta2.step == 1234 && meta2.rng_state[0] == meta.rng_state[0] && meta2.rng_state[3] == 5);
        CHECK(strcmp(meta2.stage1, "cacl") == 0 && strcmp(meta2.preprocess.intensity_domain, "ct_hu") == 0);
        CHECK(meta2.preprocess.window_center == -600 && meta2.preprocess.std == 0.25);
        CHECK(opt2.m && opt2.step == 17 && strcmp(opt2.type, "adamw") == 0);
        CHECK(opt2.m && memcmp(opt2.m, opt.m, opt.n * 4) == 0 && memcmp(opt2.v, opt.v, opt.n * 4) == 0);
        CHECK(checkpoint_check_input(&meta2, "ct_hu", 32, &e) == C2_OK);
        CHECK(checkpoint_check_input(&meta2, "xray", 32, &e) == C2_EMISMATCH && strstr(e.msg, "ct_hu"));
        CHECK(checkpoint_check_input(&meta2, "ct_hu", 128, &e) == C2_EMISMATCH);
        free(opt2.m);
        free(opt2.v);
        c2seg_model_free(&m2);
    }
    free(opt.m);
    free(opt.v);
    c2seg_model_free(&m);
}

/* Overwrites one value of a stored tensor behind the checkpoint's back. */
static void poke(const char *path, const char *dataset, float v)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t first[8] = {0}, one = 1;   /* element [0,0,...] of any rank */
    H5Sselect_elements(sp, H5S_SELECT_SET, 1, first);
    hid_t ms = H5Screate_simple(1, &one, NULL);
    H5Dwrite(d, H5T_NATIVE_FLOAT, ms, sp, H5P_DEFAULT, &v);
    H5Sclose(ms);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
}

static void test_refuses_bad_files(void)
{
    c2seg_model m;
    checkpoint_meta meta;
    c2_err e = {0};
    char path[4200];
    snprintf(path, sizeof path, "%s/corrupt.ckpt", test_tmpdir());
    CHECK(run_cmd("cp %s %s", ckpt, path) == 0);
    poke(path, "/params/dec3.conv1.weight", 123.0f);
    CHECK(checkpoint_load(path, &m, &meta, NULL, &e) == C2_EMISMATCH && strstr(e.msg, "checksum"));

    CHECK(run_cmd("cp %s %s", ckpt, path) == 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    int64_t v = 99;
    hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
    H5Fclose(f);
    CHECK(checkpoint_load(path, &m, &meta, NULL, &e) == C2_EMISMATCH && strstr(e.msg, "schema_version 99"));

    snprintf(path, sizeof path, "%s/missing.ckpt", test_tmpdir());
    CHECK(checkpoint_load(path, &m, &meta, NULL, &e) == C2_EIO && strstr(e.msg, "missing.ckpt"));
    CHECK(checkpoint_load(shared_path("reference/golden_tiny_eval/manifest.json"), &m, &meta, NULL, &e) == C2_EIO);
}

/* Rewrites the checkpoint as schema 1 wrote it: every root string attribute fixed-length. */
static void make_schema1(const char *path)
{
    static const char *names[] = {"format", "config", "text_encoder", "text_encoder_version", "preprocess", "checksum"};
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    for (int i = 0; i < 6; i++) {
        char v[1024];
        CHECK(h5_attr_read_string(f, names[i], v, sizeof v) == 0);
        H5Adelete(f, names[i]);
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, strlen(v) + 1);
        CHECK(h5_attr_write(f, names[i], t, t, 0, v) == 0);
        H5Tclose(t);
    }
    int64_t one = 1;
    hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &one);
    H5Aclose(a);
    H5Fclose(f);
}

static int attr_is_variable_string(const char *path, const char *name)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), a = H5Aopen(f, name, H5P_DEFAULT), t = H5Aget_type(a);
    int v = H5Tis_variable_str(t) > 0;
    H5Tclose(t);
    H5Aclose(a);
    H5Fclose(f);
    return v;
}

static void test_schema1_still_loads(void)
{
    c2seg_model m, m1;
    checkpoint_meta meta, meta1;
    c2_err e = {0};
    char path[4200];
    snprintf(path, sizeof path, "%s/schema1.ckpt", test_tmpdir());
    CHECK(run_cmd("cp %s %s", ckpt, path) == 0);
    CHECK(attr_is_variable_string(path, "config") && attr_is_variable_string(path, "format"));
    make_schema1(path);
    CHECK(!attr_is_variable_string(path, "config"));
    char *out = run_capture("h5dump -a /schema_version %s", path);
    CHECK(out && strstr(out, "(0): 1"));
    free(out);
    CHECK(checkpoint_load(ckpt, &m, &meta, NULL, &e) == C2_OK);
    int rc = checkpoint_load(path, &m1, &meta1, NULL, &e);
    CHECK_MSG(rc == C2_OK, "%s", e.msg);
    if (rc == C2_OK) {
        CHECK(m1.n_params == m.n_params && memcmp(m1.params, m.params, m.n_params * sizeof(float)) == 0);
        CHECK(strcmp(meta1.text_encoder, meta.text_encoder) == 0 && strcmp(meta1.stage1, meta.stage1) == 0);
        CHECK(strcmp(meta1.preprocess.intensity_domain, "xray") == 0 && meta1.preprocess.size == 32);
        c2seg_model_free(&m1);
    }
    c2seg_model_free(&m);
}

static void test_import_train_dump_needs_params(void)
{
    char out[4200];
    snprintf(out, sizeof out, "%s/train.ckpt", test_tmpdir());
    CHECK(run_cmd("%s import-torch %s -o %s 2>/dev/null", c2seg_bin(), shared_path("reference/golden_small_train"),
                  out) == 3);
    CHECK(run_cmd("%s import-torch %s --params-from %s -o %s >/dev/null 2>&1", c2seg_bin(),
                  shared_path("reference/golden_small_train"), shared_path("reference/golden_tiny_eval"), out) == 3);
    CHECK(run_cmd("%s import-torch %s --params-from %s -o %s >/dev/null 2>&1", c2seg_bin(),
                  shared_path("reference/golden_small_train"), shared_path("reference/golden_small_eval"), out) == 0);
}

int main(void)
{
    import_tiny();
    RUN_TEST(test_import_loads_bit_exact);
    RUN_TEST(test_optimizer_and_meta_round_trip);
    RUN_TEST(test_refuses_bad_files);
    RUN_TEST(test_schema1_still_loads);
    RUN_TEST(test_import_train_dump_needs_params);
    return test_summary();
}
