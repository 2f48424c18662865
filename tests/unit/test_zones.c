/* dicom-sr/zones: hand-made masks whose zones, sides, runs and components are known by
 * construction (cuts of a 30-row image at rows 10 and 12; midline at x = 10 of 20). */
#include "dicom-sr/dicom_sr.h"
#include "io/preprocess.h"
#include "tests/support/check.h"

#include <string.h>

enum { H = 30, W = 20 };

static void fill(uint8_t *m, int y0, int y1, int x0, int x1)
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            m[y * W + x] = 1;
}

static void zones_sides_and_runs(void)
{
    uint8_t m[H * W] = {0};
    fill(m, 0, 3, 1, 4);     /* image-left, upper (rows < round(30/3) = 10) */
    fill(m, 20, 25, 12, 16); /* image-right, lower (rows >= round(0.4*30) = 12) */
    mask_zones z;
    c2_err e = {0};
    CHECK(mask_zones_compute(m, H, W, NULL, NULL, &z, &e) == C2_OK);
    CHECK(z.row_cuts[1] == 10 && z.row_cuts[2] == 12 && z.x_mid == 10.0);
    static const uint8_t want[6] = {1, 0, 0, 0, 0, 1};
    CHECK(memcmp(z.zones, want, 6) == 0 && z.lat == LAT_BILATERAL && z.n_zones == 2);
    CHECK(z.n_components == 2 && z.components[0].area == 20 && z.components[1].area == 9);
    CHECK(z.components[0].x0 == 12 && z.components[0].y1 == 25);
    mask_zones_free(&z);
    /* patient convention on a PA image: the text's left is the image's right half */
    zone_rule r = zone_rule_default();
    r.left_half = HALF_IMAGE_RIGHT;
    CHECK(mask_zones_compute(m, H, W, NULL, &r, &z, &e) == C2_OK);
    static const uint8_t mirrored[6] = {0, 0, 1, 1, 0, 0};
    CHECK(memcmp(z.zones, mirrored, 6) == 0);
    mask_zones_free(&z);
    uint8_t runs3[3] = {1, 0, 1};
    CHECK(zones_side_runs(runs3) == 2);
}

/* One pixel pair on each row next to a cut (rows 9 | 10 at the upper / middle cut, 11 | 12
 * at the middle / lower cut of H = 30): the zone of each row is known exactly, so a cut
 * moved by one row (< vs <=) changes the zones. Two pixels = 2 / 300 of a side >= 0.5 %. */
static void exact_boundary_rows(void)
{
    static const struct { int row, zone; } rows[] = {
        {0, ZONE_L_UPPER}, {9, ZONE_L_UPPER}, {10, ZONE_L_MIDDLE}, {11, ZONE_L_MIDDLE}, {12, ZONE_L_LOWER},
        {29, ZONE_L_LOWER}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t m[H * W] = {0};
        fill(m, rows[i].row, rows[i].row + 1, 2, 4);   /* image-left */
        fill(m, rows[i].row, rows[i].row + 1, 16, 18); /* image-right: zone + 3 */
        mask_zones z;
        c2_err e = {0};
        CHECK(mask_zones_compute(m, H, W, NULL, NULL, &z, &e) == C2_OK);
        uint8_t want[6] = {0};
        want[rows[i].zone] = want[rows[i].zone + 3] = 1;
        CHECK_MSG(memcmp(z.zones, want, 6) == 0 && z.zone_fg[rows[i].zone] == 2 && z.zone_fg[rows[i].zone + 3] == 2,
                  "row %d: zones %d%d%d %d%d%d", rows[i].row, z.zones[0], z.zones[1], z.zones[2], z.zones[3],
                  z.zones[4], z.zones[5]);
        mask_zones_free(&z);
    }
    /* the midline: columns 9 (x + 0.5 < 10: image left) and 10 (image right) */
    for (int x = 9; x <= 10; x++) {
        uint8_t m[H * W] = {0};
        fill(m, 0, 2, x, x + 1);
        mask_zones z;
        c2_err e = {0};
        CHECK(mask_zones_compute(m, H, W, NULL, NULL, &z, &e) == C2_OK);
        CHECK_MSG(z.zones[x == 9 ? ZONE_L_UPPER : ZONE_R_UPPER] && z.n_zones == 1, "column %d", x);
        mask_zones_free(&z);
    }
}

static void threshold_and_diagonal_components(void)
{
    uint8_t m[H * W] = {0};
    /* side = 30 rows x 10 columns = 300 px; 0.5 % = 1.5 px: one pixel is not involved, two are */
    m[15 * W + 2] = 1;
    mask_zones z;
    c2_err e = {0};
    CHECK(mask_zones_compute(m, H, W, NULL, NULL, &z, &e) == C2_OK);
    CHECK(z.n_zones == 0 && z.lat == LAT_NONE && z.n_components_all == 1);
    mask_zones_free(&z);
    m[16 * W + 3] = 1;   /* diagonal neighbour: one 8-connected component of 2 px */
    CHECK(mask_zones_compute(m, H, W, NULL, NULL, &z, &e) == C2_OK);
    CHECK(z.zones[ZONE_L_LOWER] && z.n_zones == 1 && z.n_components_all == 1 && z.components[0].area == 2);
    mask_zones_free(&z);
    uint8_t lung[H * W] = {0};
    CHECK(mask_zones_compute(m, H, W, lung, NULL, &z, &e) == C2_EINVAL);   /* empty lung mask */
    CHECK(mask_zones_compute(m, 0, W, NULL, NULL, &z, &e) == C2_EINVAL);
}

static void lung_mask_sets_box_and_midline(void)
{
    uint8_t m[H * W] = {0}, lung[H * W] = {0};
    fill(lung, 10, 20, 0, 16);   /* rows 10..19, mean column 7.5 */
    fill(m, 10, 12, 8, 16);      /* right of x_mid 7.5, top of the box */
    mask_zones z;
    c2_err e = {0};
    CHECK(mask_zones_compute(m, H, W, lung, NULL, &z, &e) == C2_OK);
    CHECK(z.x_mid == 7.5 && z.row_cuts[0] == 10 && z.row_cuts[1] == 13 && z.row_cuts[3] == 20);
    CHECK(z.zones[ZONE_R_UPPER] && z.n_zones == 1);
    mask_zones_free(&z);
}

static void nearest_resize_is_torch_nearest(void)
{
    uint8_t in[5] = {0, 1, 2, 3, 4}, out[3];
    resize_nearest_u8(out, 1, 3, in, 1, 5);     /* src = floor(dst * 5/3) = 0, 1, 3 */
    CHECK(out[0] == 0 && out[1] == 1 && out[2] == 3);
}

/* consistency record vs the caption of the same mask, and the cohort means */
static void consistency_flags_and_cohort(void)
{
    uint8_t m[H * W] = {0};
    fill(m, 0, 3, 1, 4);
    fill(m, 20, 25, 12, 16);
    consistency_record r;
    consistency_cohort c;
    c2_err e = {0};
    consistency_cohort_init(&c);
    CHECK(consistency_evaluate(&r, "a", "bilateral pulmonary infection, two infected areas, upper left lung and lower "
                               "right lung.", CONV_IMAGE, m, H, W, NULL, NULL, 0.8, &e) == C2_OK);
    CHECK(r.laterality_exact && r.zone_exact && r.zone_jaccard == 1.0 && r.count_exact_zones &&
          r.count_exact_components && r.consistent);
    consistency_cohort_add(&c, &r);
    consistency_record_free(&r);
    CHECK(consistency_evaluate(&r, "b", "unilateral pulmonary infection, one infected area, upper left lung.",
                               CONV_IMAGE, m, H, W, NULL, NULL, 0.4, &e) == C2_OK);
    CHECK(!r.laterality_exact && !r.zone_exact && r.zone_jaccard == 0.5 && !r.count_exact_zones && !r.consistent);
    consistency_cohort_add(&c, &r);
    consistency_record_free(&r);
    CHECK(c.n == 2 && c.zone_jaccard / c.n == 0.75 && c.dice_consistent == 0.8 && c.dice_inconsistent == 0.4);
}

int main(void)
{
    RUN_TEST(consistency_flags_and_cohort);
    RUN_TEST(zones_sides_and_runs);
    RUN_TEST(exact_boundary_rows);
    RUN_TEST(threshold_and_diagonal_components);
    RUN_TEST(lung_mask_sets_box_and_midline);
    RUN_TEST(nearest_resize_is_torch_nearest);
    return test_summary();
}
