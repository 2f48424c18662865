/* io/preprocess: canonical orientation plans, the resize index maps, windows. Truth
 * here is hand-derived from the definitions (radiological display; torch's
 * src = (dst + 0.5) * in / out - 0.5 and floor(dst * in / out)); the exact bilinear
 * values are compared with numpy in tests/io/test_ingest.sh. */
#include "io/io.h"
#include "tests/support/check.h"

#include <stdlib.h>
#include <string.h>

static void axial_lps_image_is_already_canonical(void)
{
    orient_plan p;
    double col[3] = {1, 0, 0}, row[3] = {0, 1, 0}; /* DICOM axial: columns to L, rows to P */
    orient_plan_make(&p, col, row);
    CHECK(p.plane == 0 && !p.transpose && !p.flip_rows && !p.flip_cols);
}

static void ras_stored_volume_is_flipped_both_ways(void)
{
    orient_plan p;
    double col[3] = {-1, 0, 0}, row[3] = {0, -1, 0}; /* NIfTI RAS: i to patient right, j to anterior */
    orient_plan_make(&p, col, row);
    CHECK(p.plane == 0 && !p.transpose && p.flip_rows && p.flip_cols);
    float in[6] = {1, 2, 3, 4, 5, 6}, out[6]; /* 2 rows x 3 cols */
    orient_apply_f32(out, in, 2, 3, &p);
    CHECK(out[0] == 6 && out[2] == 4 && out[5] == 1);
}

static void transposed_plane_is_transposed_back(void)
{
    orient_plan p;
    double col[3] = {0, 1, 0}, row[3] = {1, 0, 0}; /* columns run posterior, rows run left */
    orient_plan_make(&p, col, row);
    CHECK(p.transpose && !p.flip_rows && !p.flip_cols);
    uint8_t in[6] = {1, 2, 3, 4, 5, 6}, out[6]; /* 2 x 3 -> 3 x 2 */
    orient_apply_u8(out, in, 2, 3, &p);
    CHECK(out[0] == 1 && out[1] == 4 && out[2] == 2 && out[5] == 6);
    double m[3][3];
    orient_model_to_source(m, 2, 3, &p); /* canonical (r=2, c=1) is source (row 1, col 2) */
    CHECK(m[0][0] * 2 + m[0][1] * 1 + m[0][2] == 1 && m[1][0] * 2 + m[1][1] * 1 + m[1][2] == 2);
}

static void coronal_plane_has_head_up(void)
{
    orient_plan p;
    double col[3] = {1, 0, 0}, row[3] = {0, 0, 1}; /* rows run superior: must be flipped */
    orient_plan_make(&p, col, row);
    CHECK(p.plane == 1 && !p.transpose && p.flip_rows && !p.flip_cols);
}

static void nearest_follows_torch_floor(void)
{
    uint8_t in[5] = {0, 1, 2, 3, 4}, out[3];
    resize_nearest_u8(out, 1, 3, in, 1, 5); /* floor(d * 5/3): 0, 1, 3 */
    CHECK(out[0] == 0 && out[1] == 1 && out[2] == 3);
    uint8_t up[4];
    resize_nearest_u8(up, 1, 4, in, 1, 2); /* doubling: d >> 1 */
    CHECK(up[0] == 0 && up[1] == 0 && up[2] == 1 && up[3] == 1);
}

static void bilinear_halving_averages_pairs(void)
{
    float in[4] = {0, 1, 2, 3}, out[2];
    resize_bilinear(out, 1, 2, in, 1, 4); /* src = 2d + 0.5: midpoints */
    CHECK_NEAR(out[0], 0.5, 1e-7);
    CHECK_NEAR(out[1], 2.5, 1e-7);
    double m[3][3];
    resize_model_to_source(m, 2, 1, 4);
    CHECK_NEAR(m[1][1] * 1 + m[1][2], 2.5, 1e-12);
}

static void lung_window_maps_its_ends(void)
{
    float hu[3] = {-1350, -600, 150}, x[3];
    window_apply(x, hu, 3, -600, 1500);
    CHECK_NEAR(x[0], 0, 1e-7);
    CHECK_NEAR(x[1], 0.5, 1e-7);
    CHECK_NEAR(x[2], 1, 1e-7);
}

/* The model value of one source value as ingest maps a whole plane: padding (NaN) -> 0,
 * else the lung window. */
static float lung(float hu)
{
    if (!isfinite(hu))
        return 0;
    float x;
    window_apply(&x, &hu, 1, -600, 1500);
    return x;
}

static void window_finite(float *v, int64_t n, void *arg)
{
    (void)arg;
    for (int64_t i = 0; i < n; i++)
        v[i] = lung(v[i]);
}

/* One output value by torch's definition (upsample_bilinear2d, align_corners False, float
 * index arithmetic), written out here from the definition, reading the canonical pixel
 * (r, c) of a source plane through the plan's integer matrix. */
static void torch_taps(int dst, int in, int out, int *i0, int *i1, float *l1)
{
    float scale = (float)in / (float)out, src = scale * ((float)dst + 0.5f) - 0.5f;
    src = src < 0 ? 0 : src;
    *i0 = (int)src;
    *i1 = *i0 + (*i0 < in - 1);
    *l1 = src - (float)*i0;
    *l1 = *l1 < 0 ? 0 : *l1 > 1 ? 1 : *l1;
}

static float canonical_pixel(const float *src, int W, double m[3][3], int r, int c)
{
    int sr = (int)(m[0][0] * r + m[0][1] * c + m[0][2]), sc = (int)(m[1][0] * r + m[1][1] * c + m[1][2]);
    return lung(src[(size_t)sr * W + sc]);
}

/* resize_bilinear_oriented maps only the canonical rows / columns the taps read: every
 * orientation, down- and up-sampling, non-square planes and padding give the bits of the
 * definition (mapping of the whole plane, orientation, then the bilinear sum). */
static void gathered_resize_is_the_full_path_bit_for_bit(void)
{
    static const int sizes[][3] = {{512, 512, 128}, {37, 53, 128}, {300, 200, 224}, {7, 5, 3}, {1, 9, 4}, {130, 520, 300}};
    uint32_t seed = 12345;
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        int H = sizes[t][0], W = sizes[t][1], S = sizes[t][2];
        float *src = malloc(sizeof(float) * (size_t)H * W), *out = malloc(sizeof(float) * (size_t)S * S);
        for (int i = 0; i < H * W; i++) {
            seed = seed * 1664525u + 1013904223u;
            src[i] = (seed >> 8) % 97 == 0 ? NAN : (float)((int)(seed >> 12) % 3000 - 1500) + 0.25f;
        }
        for (int code = 0; code < 8; code++) {
            orient_plan p = {.transpose = code & 1, .flip_rows = (code >> 1) & 1, .flip_cols = (code >> 2) & 1};
            int Hc = p.transpose ? W : H, Wc = p.transpose ? H : W, bad = 0;
            double m[3][3];
            orient_model_to_source(m, H, W, &p);
            CHECK(resize_bilinear_oriented(out, S, src, H, W, &p, window_finite, NULL) == 0);
            for (int r = 0; r < S && !bad; r++)
                for (int c = 0; c < S && !bad; c++) {
                    int r0, r1, c0, c1;
                    float h1, w1;
                    torch_taps(r, Hc, S, &r0, &r1, &h1);
                    torch_taps(c, Wc, S, &c0, &c1, &w1);
                    float h0 = 1.0f - h1, w0 = 1.0f - w1;
                    float t0 = canonical_pixel(src, W, m, r0, c0) * w0;
                    t0 += canonical_pixel(src, W, m, r0, c1) * w1;
                    float t1 = canonical_pixel(src, W, m, r1, c0) * w0;
                    t1 += canonical_pixel(src, W, m, r1, c1) * w1;
                    float want = t0 * h0;
                    want += t1 * h1;
                    bad = memcmp(&want, &out[(size_t)r * S + c], sizeof want) != 0;
                    CHECK_MSG(!bad, "%dx%d -> %d, plan %d, (%d, %d): %.9g, want %.9g", H, W, S, code, r, c,
                              out[(size_t)r * S + c], want);
                }
        }
        /* the plain resize of the mapped, oriented plane: the same bits */
        orient_plan p = {.transpose = 1, .flip_rows = 1};
        float *canon = malloc(sizeof(float) * (size_t)H * W), *full = malloc(sizeof(float) * (size_t)S * S);
        orient_apply_f32(canon, src, H, W, &p);
        window_finite(canon, (int64_t)H * W, NULL);
        resize_bilinear(full, S, S, canon, W, H);
        CHECK(resize_bilinear_oriented(out, S, src, H, W, &p, window_finite, NULL) == 0);
        CHECK(memcmp(full, out, sizeof(float) * (size_t)S * S) == 0);
        free(canon);
        free(full);
        free(src);
        free(out);
    }
}

int main(void)
{
    RUN_TEST(axial_lps_image_is_already_canonical);
    RUN_TEST(ras_stored_volume_is_flipped_both_ways);
    RUN_TEST(transposed_plane_is_transposed_back);
    RUN_TEST(coronal_plane_has_head_up);
    RUN_TEST(nearest_follows_torch_floor);
    RUN_TEST(bilinear_halving_averages_pairs);
    RUN_TEST(lung_window_maps_its_ends);
    RUN_TEST(gathered_resize_is_the_full_path_bit_for_bit);
    return test_summary();
}
