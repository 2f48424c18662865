/* Tests of train/metrics.c on small masks whose Dice, IoU and HD95 are worked out by
 * hand in the comments (METHOD.md §7 definitions). */
#include "tests/support/check.h"
#include "train/metrics.h"

#include <math.h>
#include <string.h>

static seg_metrics run(const uint8_t *p, const uint8_t *g, int H, int W, double sy, double sx)
{
    seg_metrics m;
    c2_err e = {0};
    CHECK(metrics_image(&m, p, g, H, W, sy, sx, &e) == C2_OK);
    return m;
}

static void test_empty_masks(void)
{
    uint8_t z[12] = {0}, one[12] = {0};
    one[5] = 1;
    seg_metrics m = run(z, z, 3, 4, 1, 1);
    CHECK(m.dice == 1.0 && m.iou == 1.0 && m.hd95_px == 0.0 && m.hd95_mm == 0.0);
    /* exactly one empty: Dice = IoU = 0, HD95 = diagonal of 3x4 = 5 px; with
     * spacing 2 mm (rows) x 1 mm (columns): sqrt(6^2 + 4^2) mm */
    m = run(one, z, 3, 4, 2, 1);
    CHECK(m.dice == 0.0 && m.iou == 0.0);
    CHECK_NEAR(m.hd95_px, 5.0, 1e-12);
    CHECK_NEAR(m.hd95_mm, sqrt(52.0), 1e-12);
    m = run(z, one, 3, 4, 0, 0);
    CHECK(m.dice == 0.0 && m.iou == 0.0 && m.hd95_px == 5.0 && isnan(m.hd95_mm));
}

/* Two 3x3 squares in a 5x5 image, G shifted right by one column: overlap 6 pixels,
 * Dice 12/18, IoU 6/12. Boundaries: the 8 outer pixels of each square (the centre
 * is interior). Of P's, 4 lie on G's boundary (0) and 4 are 1 away; the same for G,
 * so the pooled set is eight 0s and eight 1s: HD95 at position 14.25 = 1. */
static void test_shifted_squares(void)
{
    uint8_t p[25] = {0}, g[25] = {0};
    for (int y = 1; y <= 3; y++)
        for (int x = 1; x <= 3; x++) {
            p[y * 5 + x] = 1;
            g[y * 5 + x + 1] = 1;
        }
    seg_metrics m = run(p, g, 5, 5, 0.5, 0.5);
    CHECK_NEAR(m.dice, 12.0 / 18.0, 1e-12);
    CHECK_NEAR(m.iou, 0.5, 1e-12);
    CHECK_NEAR(m.hd95_px, 1.0, 1e-12);
    CHECK_NEAR(m.hd95_mm, 0.5, 1e-12);
    m = run(p, p, 5, 5, 1, 1);
    CHECK(m.dice == 1.0 && m.iou == 1.0 && m.hd95_px == 0.0);
}

/* The erosion is 4-connected: a plus-shaped mask's centre is interior (its 4
 * neighbours are set) while a 2x2 block has no interior. P = plus at (2,2), G = the
 * same plus plus the centre's diagonal (1,1): G's boundary adds (1,1) and keeps the
 * centre interior; P->G all 0, G->P: (1,1) is 1 from (1,2); pooled {0 x 8, 1}:
 * position 0.95*8 = 7.6 -> 0 + 0.6 * (1 - 0) = 0.6. */
static void test_erosion_and_interpolation(void)
{
    uint8_t p[25] = {0}, g[25] = {0};
    int plus[5][2] = {{2, 2}, {1, 2}, {3, 2}, {2, 1}, {2, 3}};
    for (int i = 0; i < 5; i++)
        p[plus[i][0] * 5 + plus[i][1]] = g[plus[i][0] * 5 + plus[i][1]] = 1;
    g[1 * 5 + 1] = 1;
    seg_metrics m = run(p, g, 5, 5, 1, 1);
    CHECK_NEAR(m.hd95_px, 0.6, 1e-12);
    CHECK_NEAR(m.dice, 10.0 / 11.0, 1e-12);
    CHECK_NEAR(m.iou, 5.0 / 6.0, 1e-12);
    /* one row: P = {x=0}, G = {x=1, x=4}; distances P->G {1}, G->P {1, 4}; pooled
     * sorted {1, 1, 4}: position 1.9 -> 1 + 0.9 * 3 = 3.7; with 0.5 mm columns 1.85 */
    uint8_t p1[5] = {1, 0, 0, 0, 0}, g1[5] = {0, 1, 0, 0, 1};
    m = run(p1, g1, 1, 5, 2, 0.5);
    CHECK_NEAR(m.hd95_px, 3.7, 1e-12);
    CHECK_NEAR(m.hd95_mm, 1.85, 1e-12);
}

static void test_percentile(void)
{
    double v[11], w[5] = {4, 1, 3, 2, 0};
    for (int i = 0; i < 11; i++)
        v[i] = 10 - i;
    CHECK_NEAR(metrics_percentile95(v, 11), 9.5, 1e-12);
    CHECK_NEAR(metrics_percentile95(w, 5), 3.8, 1e-12);
    CHECK(metrics_percentile95(w, 0) == 0.0);
    double one = 7;
    CHECK(metrics_percentile95(&one, 1) == 7.0);
}

int main(void)
{
    RUN_TEST(test_empty_masks);
    RUN_TEST(test_shifted_squares);
    RUN_TEST(test_erosion_and_interpolation);
    RUN_TEST(test_percentile);
    return test_summary();
}
