/* dicom-sr/lung_mask + severity: a synthetic CT drawn here with known voxel counts (body of
 * soft tissue, two air-filled lung ellipsoids with vessels, a trachea, NAN padding, a GGO
 * sphere inside the right lung and a consolidated cap of the left lung on the chest wall),
 * the lung mask against the drawn lungs, the lesion fraction against the drawn counts, and
 * the agreement with CT categories, percentages and severity words of report sentences. */
#include "dicom-sr/dicom_sr.h"
#include "tests/support/check.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { D = 24, H = 64, W = 64 };

static int in_ellipsoid(int z, int y, int x, double cz, double cy, double cx, double rz, double ry, double rx)
{
    double a = (z - cz) / rz, b = (y - cy) / ry, c = (x - cx) / rx;
    return a * a + b * b + c * c <= 1.0;
}

typedef struct phantom {
    float hu[D * H * W];
    uint8_t lung_truth[D * H * W];   /* drawn lungs, lesions included */
    uint8_t lesion[D * H * W];
    int64_t n_lung, n_lesion, n_cap;
} phantom;

static void draw(phantom *p, int ggo_radius)
{
    memset(p, 0, sizeof *p);
    for (int z = 0; z < D; z++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int64_t i = ((int64_t)z * H + y) * W + x;
                float v = -1000.0f;   /* air around the patient */
                double by = (y - 32) / 24.0, bx = (x - 32) / 28.0;
                if (by * by + bx * bx <= 1.0)
                    v = 40.0f;        /* body */
                int left = in_ellipsoid(z, y, x, 12, 32, 19, 10, 14, 8);
                int right = in_ellipsoid(z, y, x, 12, 32, 45, 10, 14, 8);
                if (left || right) {
                    v = -850.0f;
                    p->lung_truth[i] = 1;
                    p->n_lung++;
                    if ((x == 19 || x == 45) && y == 32 && z >= 5 && z <= 19)
                        v = 40.0f;    /* a vessel along z, enclosed by lung */
                }
                if (in_ellipsoid(z, y, x, 12, 32, 45, ggo_radius, ggo_radius, ggo_radius)) {
                    v = -550.0f;      /* ground glass: not air, enclosed by the right lung */
                    p->lesion[i] = 1;
                }
                if (left && x <= 13 && z >= 10 && z <= 14) {
                    v = 30.0f;        /* consolidated lateral cap of the left lung, on the chest wall */
                    p->lesion[i] = 1;
                    p->n_cap++;
                }
                if ((y - 14) * (y - 14) + (x - 32) * (x - 32) <= 4)
                    v = -1000.0f;     /* trachea: inner air, not lung */
                if (y < 2 && x < 2)
                    v = NAN;          /* padding */
                p->hu[i] = v;
            }
    for (int64_t i = 0; i < D * H * W; i++)
        p->n_lesion += p->lesion[i];
}

static void lung_mask_matches_drawn_lungs(void)
{
    static phantom p;
    draw(&p, 4);
    static uint8_t lung[D * H * W];
    lung_mask_stats st;
    c2_err e = {0};
    CHECK(lung_mask_from_hu(p.hu, D, H, W, NULL, lung, &st, &e) == C2_OK);
    CHECK_MSG(st.n_kept == 2 && st.n_components == 3, "kept %d of %d inner components", st.n_kept, st.n_components);
    /* the mask = the drawn lungs without the cap on the chest wall (not enclosed) */
    int64_t wrong = 0;
    for (int64_t i = 0; i < D * H * W; i++) {
        int expect = p.lung_truth[i] && !(p.lesion[i] && p.hu[i] > 0.0f);
        wrong += lung[i] != expect;
    }
    CHECK_MSG(wrong == 0, "%lld voxels differ from the drawn lungs", (long long)wrong);
    CHECK(st.lung_voxels == p.n_lung - p.n_cap);
    /* severity: lung = mask united with the lesion = the drawn lungs */
    severity_record r;
    severity_compare(p.lesion, lung, D * H * W, NULL, -1, &r);
    CHECK(r.lung_voxels == p.n_lung && r.lesion_voxels == p.n_lesion);
    double pct = 100.0 * (double)p.n_lesion / (double)p.n_lung;
    CHECK(fabs(r.pct - pct) < 1e-9 && r.agree == -1);
    printf("phantom: lung %lld voxels, lesion %lld (%.2f %%), category CT-%d\n", (long long)p.n_lung,
           (long long)p.n_lesion, pct, r.category);
    CHECK(pct > 0 && pct < 25 && r.category == 1);
    c2_err e2 = {0};
    CHECK(lung_mask_from_hu(p.hu, D, 2, W, NULL, lung, &st, &e2) == C2_EINVAL && e2.msg[0]);
}

/* The streaming form fed air bits (lung_mask_stream_add_air, as c2seg predict feeds it from
 * its decoder worker: HU < -320, NAN not air, worked out here) and read back as bits in place
 * (lung_mask_stream_to_bits): the same drawn lungs, on a plane of 61 x 63 pixels (3843 bits,
 * so slices start anywhere in a byte) and on the 64 x 64 phantom. */
static void stream_from_air_bits(void)
{
    static phantom p;
    draw(&p, 4);
    for (int crop = 0; crop < 2; crop++) {
        int h = crop ? 61 : H, w = crop ? 63 : W;
        size_t plane = (size_t)h * w;
        uint8_t *bits = calloc((plane + 7) / 8, 1);
        lung_mask_stream *s = NULL;
        c2_err e = {0};
        CHECK(lung_mask_stream_create(&s, D, h, w, NULL, &e) == C2_OK);
        for (int z = 0; z < D && s; z++) {
            memset(bits, 0, (plane + 7) / 8);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    float v = p.hu[((size_t)z * H + y) * W + x];
                    size_t q = (size_t)y * w + x;
                    if (!isnan(v) && v < -320.0f)
                        bits[q >> 3] |= (uint8_t)(1u << (q & 7));
                }
            CHECK(lung_mask_stream_add_air(s, bits, &e) == C2_OK);
        }
        const uint8_t *lung = NULL;
        CHECK(s && lung_mask_stream_finish(s, &e) == C2_OK);
        CHECK(s && lung_mask_stream_to_bits(s, &lung, &e) == C2_OK && lung);
        int64_t wrong = 0, n = 0;
        for (int z = 0; lung && z < D; z++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    size_t i = ((size_t)z * H + y) * W + x, q = (size_t)z * plane + (size_t)y * w + x;
                    int expect = p.lung_truth[i] && !(p.lesion[i] && p.hu[i] > 0.0f);
                    int got = (lung[q >> 3] >> (q & 7)) & 1;
                    wrong += got != expect;
                    n += got;
                }
        CHECK_MSG(wrong == 0, "%dx%d: %lld voxels differ from the drawn lungs", w, h, (long long)wrong);
        lung_mask_stats st;
        lung_mask_stream_stats(s, &st);
        CHECK(st.lung_voxels == n && st.n_kept == 2);
        lung_mask_stream_free(s);
        free(bits);
    }
}

static void categories_against_text(void)
{
    static phantom p;
    static uint8_t lung[D * H * W];
    lung_mask_stats st;
    c2_err e = {0};
    struct {
        int radius;
        const char *text;
        int agree;
    } cases[] = {
        {4, "Mild ground-glass opacities in the right lung, CT-1.", 1},
        {4, "Ground-glass opacity, CT-2.", 0},
        {4, "Approximately 5% of the lungs involved.", 1},
        {4, "Involvement of 25-50% of the lungs.", 0},
        {4, "Mild ground-glass opacities.", 1},
        {4, "Severe bilateral pneumonia.", 0},
        {4, "The lungs are clear.", 0},
        {0, "The lungs are clear.", 1},
        {4, "Ground-glass opacity in the right middle lobe.", -1},
        {9, "Moderate ground-glass opacities, 25-50%.", 1},
        {9, "CT-1.", 0},
    };
    severity_cohort c = {0};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        draw(&p, cases[k].radius);
        if (cases[k].radius == 0) {
            /* no lesion at all: the cap too is air-filled lung */
            for (int64_t i = 0; i < D * H * W; i++)
                if (p.lesion[i]) {
                    p.lesion[i] = 0;
                    p.hu[i] = -850.0f;
                }
        }
        CHECK(lung_mask_from_hu(p.hu, D, H, W, NULL, lung, &st, &e) == C2_OK);
        prose_attrs a;
        prose_parse(cases[k].text, &a);
        severity_record r;
        severity_compare(p.lesion, lung, D * H * W, &a, -1, &r);
        CHECK_MSG(r.agree == cases[k].agree, "'%s' (radius %d): predicted %.2f %% CT-%d, stated '%s', agree %d", cases[k].text,
                  cases[k].radius, r.pct, r.category, r.stated, r.agree);
        severity_cohort_add(&c, &r);
    }
    CHECK(c.n == 11 && c.n_stated == 10 && c.n_agree == 5);
    cJSON *o = severity_cohort_json(&c);
    CHECK(o && cJSON_GetNumberValue(cJSON_GetObjectItem(o, "agree_rate")) == 0.5);
    cJSON_Delete(o);
}

int main(void)
{
    RUN_TEST(lung_mask_matches_drawn_lungs);
    RUN_TEST(stream_from_air_bits);
    RUN_TEST(categories_against_text);
    return test_summary();
}
