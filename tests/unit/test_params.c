/* Tests of the C2Seg parameter registry (model/c2seg_params.c) and initialisation:
 * parameter counts against the reference's `info` numbers (METHOD.md §0 and
 * reference/README.md), names / shapes / order against the golden dumps'
 * param.* entries (the reference's own state_dict), group ranges, and init. */
#include "io/torch_dump.h"
#include "model/model.h"
#include "tests/support/check.h"
#include "tests/support/reference.h"

#include <math.h>
#include <string.h>

static void check_counts(const char *preset, const char *fusion, size_t seg, size_t heads)
{
    c2seg_config cfg;
    c2seg_model m;
    c2_err e = {0};
    CHECK(c2seg_config_make(&cfg, preset, fusion, &e) == C2_OK);
    CHECK(c2seg_model_create(&m, &cfg, &e) == C2_OK);
    CHECK_MSG(c2seg_count_seg_params(&m) == seg, "%s/%s: %zu seg params, reference %zu", preset, fusion,
              c2seg_count_seg_params(&m), seg);
    CHECK_MSG(c2seg_count_params(&m) - c2seg_count_seg_params(&m) == heads, "%s/%s heads", preset, fusion);
    c2seg_model_free(&m);
}

/* The numbers printed by `c2seg_ref.py info` (reference/info_{full,small}.txt). */
static void test_counts_match_reference(void)
{
    check_counts("full", "vision", 10673489, 217600);
    check_counts("full", "duala", 11606433, 217600);
    check_counts("full", "bcam", 17263329, 217600);
    check_counts("full", "bcam_kgate", 18894049, 217600);
    check_counts("small", "vision", 1848489, 82176);
    check_counts("small", "duala", 2000905, 82176);
    check_counts("small", "bcam", 2733193, 82176);
    check_counts("small", "bcam_kgate", 2989193, 82176);
    check_counts("tiny", "bcam_kgate", 197519, 206255 - 197519);
}

/* Every param.* of the dump, in order, equals the registry entry by name and shape. */
static void check_against_dump(const char *dir)
{
    torch_dump d;
    if (!reference_load(&d, dir))
        return;
    c2_err e = {0};
    c2seg_config cfg;
    c2seg_model m;
    const char *preset = strstr(dir, "tiny") ? "tiny" : "small";
    CHECK(c2seg_config_make(&cfg, preset, "bcam_kgate", &e) == C2_OK);
    CHECK(c2seg_model_create(&m, &cfg, &e) == C2_OK);
    int k = 0;
    for (int i = 0; i < d.n; i++) {
        const torch_tensor *t = &d.tensors[i];
        if (strncmp(t->name, "param.", 6) != 0)
            continue;
        CHECK_MSG(k < m.n_tensors, "dump has more params than the registry");
        if (k >= m.n_tensors)
            break;
        const c2seg_tensor_info *r = &m.tensors[k++];
        CHECK_MSG(strcmp(r->name, t->name + 6) == 0, "entry %d: registry %s, dump %s", k - 1, r->name, t->name);
        CHECK_MSG(r->ndim == t->ndim, "%s ndim", r->name);
        for (int j = 0; j < r->ndim && j < t->ndim; j++)
            CHECK_MSG(r->shape[j] == t->shape[j], "%s dim %d: %d vs %lld", r->name, j, r->shape[j],
                      (long long)t->shape[j]);
        CHECK_MSG((r->kind == C2SEG_COUNTER) == (t->is_int32 != 0), "%s dtype", r->name);
    }
    CHECK_MSG(k == m.n_tensors, "registry has %d tensors, dump %d", m.n_tensors, k);
    c2seg_model_free(&m);
    torch_dump_free(&d);
}

static void test_names_shapes_match_golden(void)
{
    check_against_dump("reference/golden_tiny_eval");
    check_against_dump("reference/golden_small_eval");
}

/* Encoder, rest and heads are three adjacent ranges; each tensor lies in its group's. */
static void test_groups_are_ranges(void)
{
    c2seg_config cfg;
    c2seg_model m;
    c2_err e = {0};
    CHECK(c2seg_config_make(&cfg, "small", "duala", &e) == C2_OK);
    CHECK(c2seg_model_create(&m, &cfg, &e) == C2_OK);
    CHECK(m.group_begin[0] == 0 && m.group_begin[C2SEG_NGROUPS] == m.n_params);
    for (int i = 0; i < m.n_tensors; i++) {
        const c2seg_tensor_info *t = &m.tensors[i];
        if (t->kind != C2SEG_PARAM)
            continue;
        int enc = strncmp(t->name, "enc", 3) == 0 || strncmp(t->name, "pe", 2) == 0 ||
                  strncmp(t->name, "block", 5) == 0 || strncmp(t->name, "norm", 4) == 0;
        int head = strncmp(t->name, "head_", 5) == 0;
        c2seg_group g = enc ? C2SEG_GROUP_ENCODER : head ? C2SEG_GROUP_HEADS : C2SEG_GROUP_REST;
        CHECK_MSG(t->group == g, "%s group", t->name);
        CHECK_MSG(t->offset >= m.group_begin[g] && t->offset + (size_t)t->numel <= m.group_begin[g + 1], "%s range",
                  t->name);
    }
    CHECK(m.fuse4.duala.v_q.w == c2seg_tensor_data(&m, c2seg_tensor_find(&m, "fuse4.v_q.weight")));
    CHECK(m.head_l.db == m.grads + c2seg_tensor_find(&m, "head_l.bias")->offset);
    CHECK(c2seg_tensor_find(&m, "fuse4.gate_v.kan1.grid") == NULL);
    c2seg_model_free(&m);
}

/* METHOD.md §3 init: constants exact, random tensors with the right spread and range. */
static void test_init(void)
{
    c2seg_config cfg;
    c2seg_model m, m2;
    c2_err e = {0};
    CHECK(c2seg_config_make(&cfg, "small", "bcam_kgate", &e) == C2_OK);
    CHECK(c2seg_model_create(&m, &cfg, &e) == C2_OK);
    CHECK(c2seg_model_create(&m2, &cfg, &e) == C2_OK);
    c2seg_model_init_weights(&m, 7);
    c2seg_model_init_weights(&m2, 7);
    CHECK(memcmp(m.params, m2.params, (m.n_params + m.n_buffers) * sizeof(float)) == 0);
    c2seg_model_init_weights(&m2, 8);
    CHECK(memcmp(m.params, m2.params, m.n_params * sizeof(float)) != 0);

    CHECK(m.enc1.bn1.running_var[0] == 1.0f && m.enc1.bn1.running_mean[0] == 0.0f);
    CHECK(m.enc1.bn1.aff.w[1] == 1.0f && m.enc1.bn1.aff.b[1] == 0.0f);
    CHECK(m.fuse4.bcam.ln_l.w[0] == 1.0f && m.txt_ln.w[511] == 1.0f && m.dnorm2.w[0] == 1.0f);
    CHECK(m.block1.fc[1].grid[0] == -2.2f && m.block1.fc[1].grid[11] == 2.2f && m.block1.fc[1].grid[5] == -0.2f);
    CHECK(m.enc3.conv2.b[0] == 0.0f && m.final.b[0] == 0.0f);

    /* conv enc3.conv2 [64,64,3,3]: std sqrt(2/(9*64)) */
    const c2seg_tensor_info *t = c2seg_tensor_find(&m, "enc3.conv2.weight");
    double s2 = 0;
    for (int64_t i = 0; i < t->numel; i++)
        s2 += (double)m.enc3.conv2.w[i] * m.enc3.conv2.w[i];
    CHECK_NEAR(sqrt(s2 / (double)t->numel), sqrt(2.0 / (9 * 64)), 0.02 * sqrt(2.0 / (9 * 64)));
    /* depthwise block1.dw1 [96,1,3,3]: fan_out = 9 */
    t = c2seg_tensor_find(&m, "block1.dw1.dwconv.weight");
    s2 = 0;
    for (int64_t i = 0; i < t->numel; i++)
        s2 += (double)m.block1.dw[0].w[i] * m.block1.dw[0].w[i];
    CHECK_NEAR(sqrt(s2 / (double)t->numel), sqrt(2.0 / 9), 0.1 * sqrt(2.0 / 9));
    /* KAN block2.fc1 (in 128): base and scaler in +-1/sqrt(128), spline in +-0.01 */
    float bmax = 0, smax = 0;
    for (int i = 0; i < 128 * 128; i++)
        bmax = fmaxf(bmax, fmaxf(fabsf(m.block2.fc[0].base_weight[i]), fabsf(m.block2.fc[0].spline_scaler[i])));
    for (int i = 0; i < 128 * 128 * 8; i++)
        smax = fmaxf(smax, fabsf(m.block2.fc[0].spline_weight[i]));
    CHECK(bmax <= 1.0f / sqrtf(128.0f) && bmax > 0.95f / sqrtf(128.0f));
    CHECK(smax <= 0.01f && smax > 0.0099f);
    /* linear head_l: truncated at +-0.04, std a bit below 0.02 */
    t = c2seg_tensor_find(&m, "head_l.weight");
    float lmax = 0;
    s2 = 0;
    for (int64_t i = 0; i < t->numel; i++) {
        lmax = fmaxf(lmax, fabsf(m.head_l.w[i]));
        s2 += (double)m.head_l.w[i] * m.head_l.w[i];
    }
    CHECK(lmax <= 0.04f && lmax > 0.039f);
    CHECK_NEAR(sqrt(s2 / (double)t->numel), 0.0176, 0.0005);   /* std of N(0,.02) truncated at 2 sigma */
    c2seg_model_free(&m);
    c2seg_model_free(&m2);
}

static void test_bad_config(void)
{
    c2seg_config cfg;
    c2_err e = {0};
    CHECK(c2seg_config_make(&cfg, "huge", "bcam", &e) == C2_EINVAL && strstr(e.msg, "huge"));
    CHECK(c2seg_config_make(&cfg, "small", "clip", &e) == C2_EINVAL && strstr(e.msg, "clip"));
}

int main(void)
{
    RUN_TEST(test_counts_match_reference);
    RUN_TEST(test_names_shapes_match_golden);
    RUN_TEST(test_groups_are_ranges);
    RUN_TEST(test_init);
    RUN_TEST(test_bad_config);
    return test_summary();
}
