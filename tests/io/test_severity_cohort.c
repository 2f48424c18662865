/* dicom-sr/lung_mask + severity on the sample cohort (c2seg-sample-data NIfTI volumes and
 * ground-truth lesion masks). Judge: the generator draws lungs at -850 HU with 25 HU noise
 * and the air around the patient at -1000 HU with 8 HU noise, so the band [-950, -750] HU
 * holds lung parenchyma only; the mask must hold >= 99 % of the band's voxels, >= 95 % of
 * the mask must be band or lesion voxels, and >= 99 % of the lesion voxels must lie inside
 * the mask's in-plane bounding box of their slice (the generator clips its lesions to the
 * lung and to level rows, so most touch the pleura and are not enclosed: the severity's
 * lung is the union of mask and lesion; the share enclosed is printed). Prints each volume's lesion
 * percentage and category and the cohort record (the sample reports state no severity, so
 * no volume is counted as stated). */
#include "dicom-sr/dicom_sr.h"
#include "tests/support/check.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static char dir[4096];

static void sample_cohort(void)
{
    const char *build = getenv("C2SEG_BUILD");
    CHECK(build != NULL);
    if (!build)
        return;
    snprintf(dir, sizeof dir, "%s/test-tmp/test_severity_cohort", build);
    char cmd[8300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && '%s/c2seg-sample-data' -o '%s' >/dev/null 2>&1", dir, build, dir);
    CHECK_MSG(system(cmd) == 0, "%s", cmd);
    severity_cohort cohort = {0};
    int n_cases = 0;
    for (int c = 1; c <= 12; c++) {
        char ct[4400], mk[4400];
        snprintf(ct, sizeof ct, "%s/nifti/case%02d.nii.gz", dir, c);
        snprintf(mk, sizeof mk, "%s/nifti/case%02d_mask.nii.gz", dir, c);
        nifti_volume v = {0}, m = {0};
        c2_err e = {0};
        if (nifti_volume_read(ct, 0, &v, &e) != C2_OK || nifti_volume_read(mk, 0, &m, &e) != C2_OK) {
            CHECK_MSG(0, "%s", e.msg);
            nifti_volume_free(&v);
            nifti_volume_free(&m);
            continue;
        }
        int64_t n = v.nx * v.ny * v.nz;
        uint8_t *lung = malloc((size_t)n), *lesion = malloc((size_t)n);
        lung_mask_stats st;
        CHECK(lung && lesion && m.nx * m.ny * m.nz == n);
        CHECK(lung_mask_from_hu(v.data, (int)v.nz, (int)v.ny, (int)v.nx, NULL, lung, &st, &e) == C2_OK);
        int64_t band = 0, band_in = 0, mask_ok = 0, les = 0, les_in = 0, les_box = 0;
        int64_t plane = v.nx * v.ny;
        for (int64_t z = 0; z < v.nz; z++) {
            int64_t x0 = v.nx, x1 = -1, y0 = v.ny, y1 = -1;
            for (int64_t i = 0; i < plane; i++)
                if (lung[z * plane + i]) {
                    int64_t x = i % v.nx, y = i / v.nx;
                    x0 = x < x0 ? x : x0;
                    x1 = x > x1 ? x : x1;
                    y0 = y < y0 ? y : y0;
                    y1 = y > y1 ? y : y1;
                }
            for (int64_t i = 0; i < plane; i++) {
                int64_t x = i % v.nx, y = i / v.nx;
                les_box += m.data[z * plane + i] > 0.5f && x >= x0 && x <= x1 && y >= y0 && y <= y1;
            }
        }
        for (int64_t i = 0; i < n; i++) {
            lesion[i] = m.data[i] > 0.5f;
            int in_band = v.data[i] >= -950.0f && v.data[i] <= -750.0f;
            band += in_band;
            band_in += in_band && lung[i];
            mask_ok += lung[i] && (in_band || lesion[i]);
            les += lesion[i];
            les_in += lesion[i] && lung[i];
        }
        CHECK_MSG(band_in >= 0.99 * (double)band, "case%02d: %lld of %lld band voxels in the mask", c,
                  (long long)band_in, (long long)band);
        CHECK_MSG(mask_ok >= 0.95 * (double)st.lung_voxels, "case%02d: %lld of %lld mask voxels band or lesion", c,
                  (long long)mask_ok, (long long)st.lung_voxels);
        CHECK_MSG(les_box >= 0.99 * (double)les, "case%02d: %lld of %lld lesion voxels inside the lung box", c,
                  (long long)les_box, (long long)les);
        severity_record r;
        severity_compare(lesion, lung, n, NULL, -1, &r);
        CHECK(r.lung_voxels >= st.lung_voxels && r.lesion_voxels == les);
        printf("case%02d: %lld x %lld x %lld, lungs kept %d, lung %lld voxels, lesion %lld = %.2f %% (CT-%d), "
               "lesion enclosed by the mask %.0f %%\n",
               c, (long long)v.nx, (long long)v.ny, (long long)v.nz, st.n_kept, (long long)r.lung_voxels,
               (long long)r.lesion_voxels, r.pct, r.category, les ? 100.0 * (double)les_in / (double)les : 0.0);
        severity_cohort_add(&cohort, &r);
        n_cases++;
        free(lung);
        free(lesion);
        nifti_volume_free(&v);
        nifti_volume_free(&m);
    }
    CHECK(n_cases == 12 && cohort.n == 12 && cohort.n_stated == 0);
    cJSON *o = severity_cohort_json(&cohort);
    char *s = cJSON_PrintUnformatted(o);
    printf("cohort: %s\n", s ? s : "?");
    free(s);
    cJSON_Delete(o);
}

int main(void)
{
    RUN_TEST(sample_cohort);
    return test_summary();
}
