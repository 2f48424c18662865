/* io/preprocess: canonical orientation plans, the resize index maps, windows. Truth
 * here is hand-derived from the definitions (radiological display; torch's
 * src = (dst + 0.5) * in / out - 0.5 and floor(dst * in / out)); the exact bilinear
 * values are compared with numpy in tests/io/test_ingest.sh. */
#include "io/io.h"
#include "tests/support/check.h"

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

int main(void)
{
    RUN_TEST(axial_lps_image_is_already_canonical);
    RUN_TEST(ras_stored_volume_is_flipped_both_ways);
    RUN_TEST(transposed_plane_is_transposed_back);
    RUN_TEST(coronal_plane_has_head_up);
    RUN_TEST(nearest_follows_torch_floor);
    RUN_TEST(bilinear_halving_averages_pairs);
    RUN_TEST(lung_window_maps_its_ends);
    return test_summary();
}
