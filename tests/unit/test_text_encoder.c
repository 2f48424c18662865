/* model/text_encoder: hash-text-512 against the reference's independent truth: the pinned
 * SHA-256 of METHOD.md §1 (hashed by sha256sum) and the in.text_* tensors of every golden
 * dump in ../shared/reference, compared bit for bit. */
#include "io/torch_dump.h"
#include "model/model.h"

#include "tests/support/check.h"
#include "tests/support/reference.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *PIN[3] = {
    "Bilateral pulmonary infection, two infected areas, upper left lung and upper right lung.",
    "Unilateral pulmonary infection, one infected area, middle lower left lung.",
    "No infection.",
};

static void pinned_sha256_matches_method(void)
{
    char path[4096];
    c2_path_join(path, sizeof path, test_tmpdir(), "pinned.bin");
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    static float tokens[TEXT_MAX_TOKENS * TEXT_DIM];
    int32_t mask[TEXT_MAX_TOKENS];
    float pooled[TEXT_DIM];
    for (int c = 0; c < 3; c++) {
        hash_text_encode(PIN[c], tokens, mask, pooled);
        fwrite(tokens, sizeof tokens, 1, f);   /* little-endian host, as the reference's '<f4' */
        fwrite(mask, sizeof mask, 1, f);
        fwrite(pooled, sizeof pooled, 1, f);
    }
    fclose(f);
    char *out = run_capture("sha256sum '%s'", path);
    CHECK(out != NULL);
    if (out)
        CHECK_MSG(strncmp(out, "97569cd901f3f5f0c9b0d10ad1b111eddfb03d5757c7380bc29a4c7b86ebad87", 64) == 0, "got %.64s",
                  out);
    free(out);
}

static void golden_dump_matches(const char *dir)
{
    torch_dump d;
    if (!reference_load(&d, dir))
        return;
    const torch_tensor *tt = torch_dump_find(&d, "in.text_tokens");
    const torch_tensor *tm = torch_dump_find(&d, "in.text_mask");
    const torch_tensor *tp = torch_dump_find(&d, "in.text_pooled");
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(d.manifest, "captions");
    CHECK(tt && tm && tp && cJSON_IsArray(caps));
    if (!(tt && tm && tp && cJSON_IsArray(caps))) {
        torch_dump_free(&d);
        return;
    }
    int b = cJSON_GetArraySize(caps);
    CHECK(b >= 1 && tt->numel == (int64_t)b * TEXT_MAX_TOKENS * TEXT_DIM && tm->is_int32 &&
          tp->numel == (int64_t)b * TEXT_DIM);
    static float tokens[TEXT_MAX_TOKENS * TEXT_DIM];
    int32_t mask[TEXT_MAX_TOKENS];
    float pooled[TEXT_DIM];
    for (int i = 0; i < b && tt->numel == (int64_t)b * TEXT_MAX_TOKENS * TEXT_DIM; i++) {
        const char *cap = cJSON_GetArrayItem(caps, i)->valuestring;
        hash_text_encode(cap, tokens, mask, pooled);
        CHECK_MSG(memcmp(tokens, (const float *)tt->data + (size_t)i * TEXT_MAX_TOKENS * TEXT_DIM, sizeof tokens) == 0,
                  "%s tokens of caption %d", dir, i);
        CHECK_MSG(memcmp(mask, (const int32_t *)tm->data + (size_t)i * TEXT_MAX_TOKENS, sizeof mask) == 0,
                  "%s mask of caption %d", dir, i);
        CHECK_MSG(memcmp(pooled, (const float *)tp->data + (size_t)i * TEXT_DIM, sizeof pooled) == 0,
                  "%s pooled of caption %d", dir, i);
    }
    torch_dump_free(&d);
}

static void golden_dumps_match_bit_for_bit(void)
{
    golden_dump_matches("reference/golden_small_eval");
    golden_dump_matches("reference/golden_small_train");
    golden_dump_matches("reference/golden_tiny_eval");
    golden_dump_matches("reference/golden_tiny_train");
}

static double cosine(const float *a, const float *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb);
}

/* METHOD.md §1 "measured properties" (pooled cosines printed by the reference). */
static void measured_cosines_match_method(void)
{
    static float t1[TEXT_MAX_TOKENS * TEXT_DIM], t2[TEXT_MAX_TOKENS * TEXT_DIM];
    int32_t m[TEXT_MAX_TOKENS];
    float p1[TEXT_DIM], p2[TEXT_DIM];
    hash_text_encode("Unilateral pulmonary infection, one infected area, upper left lung.", t1, m, p1);
    hash_text_encode("Unilateral pulmonary infection, one infected area, upper right lung.", t2, m, p2);
    CHECK_NEAR(cosine(p1, p2, TEXT_DIM), 0.873, 0.0015);
    hash_text_encode("Unilateral pulmonary infectd, one infected area, upper left lung.", t2, m, p2);
    CHECK_NEAR(cosine(p1, p2, TEXT_DIM), 0.914, 0.0015);
}

static void tokeniser_edge_cases(void)
{
    static float t[TEXT_MAX_TOKENS * TEXT_DIM];
    int32_t m[TEXT_MAX_TOKENS];
    float p[TEXT_DIM];
    CHECK(hash_text_encode("", t, m, p) == 1 && m[0] == 1 && m[1] == 0);           /* [""] */
    CHECK(hash_text_encode("  ,;\xc3\xa9  ", t, m, p) == 1);                        /* no token */
    CHECK(hash_text_encode(NULL, t, m, p) == 1);
    char many[400] = "";
    for (int i = 0; i < 30; i++)
        strcat(many, "word ");
    CHECK(hash_text_encode(many, t, m, p) == 24 && m[23] == 1);
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    CHECK(hash_text_encode(big, t, m, p) == 1);
    const char *w[4];
    char buf[64];
    CHECK(hash_text_tokenize("Left-LUNG, 2 areas!", buf, sizeof buf, w, 4) == 4);
    CHECK(strcmp(w[0], "left") == 0 && strcmp(w[1], "lung") == 0 && strcmp(w[2], "2") == 0);
    const text_encoder *enc = text_encoder_find("hash-text-512");
    CHECK(enc == text_encoder_hash512() && enc->dim == 512 && enc->max_tokens == 24);
    CHECK(text_encoder_find("clip") == NULL);
}

static void encoder_speed(void)
{
    static float t[TEXT_MAX_TOKENS * TEXT_DIM];
    int32_t m[TEXT_MAX_TOKENS];
    float p[TEXT_DIM];
    int n = 300;
    double t0 = now_seconds();
    for (int i = 0; i < n; i++)
        hash_text_encode(PIN[i % 2], t, m, p);
    double dt = now_seconds() - t0;
    printf("hash-text-512: %.0f captions/s (QaTa-length captions, one thread)\n", n / dt);
}

int main(void)
{
    RUN_TEST(pinned_sha256_matches_method);
    RUN_TEST(golden_dumps_match_bit_for_bit);
    RUN_TEST(measured_cosines_match_method);
    RUN_TEST(tokeniser_edge_cases);
    RUN_TEST(encoder_speed);
    return test_summary();
}
