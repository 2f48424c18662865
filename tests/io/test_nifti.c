/* io/nifti: every file of ../shared/data/nifti read and compared with Debian's
 * python3-nibabel (dims, affine, NaN count, voxel values after scaling), header-only
 * pairs rejected, and the writer checked with nifti_tool and nibabel. */
#include "io/io.h"
#include "tests/support/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PY "/usr/bin/python3"

/* nibabel's view of volume 0: "nx ny nz nt | 12 affine (LPS) | nan count | v(1,2,1) | sum finite". */
static const char *nib_script =
    "import sys, numpy as np, nibabel as nib\n"
    "im = nib.load(sys.argv[1]); d = np.asanyarray(im.dataobj).astype(np.float64) * 1.0\n"
    "s = im.header.get_slope_inter(); d = d * (s[0] if s[0] is not None else 1) + (s[1] if s[1] is not None else 0)\n"
    "sh = list(im.shape) + [1] * (4 - len(im.shape)); d = d.reshape(sh[:3] + [-1])[..., 0]\n"
    "A = im.affine.copy(); A[:2] *= -1\n"
    "fin = np.isfinite(d)\n"
    "print(*sh[:4], *A[:3].ravel(), int((~fin).sum()), d[1, 2, 1], d[fin].sum())\n";

static void compare_with_nibabel(const char *name)
{
    char path[4096], script[4200];
    snprintf(path, sizeof path, "%s", shared_path(name));
    c2_path_join(script, sizeof script, test_tmpdir(), "nib.py");
    FILE *f = fopen(script, "w");
    fputs(nib_script, f);
    fclose(f);
    char *out = run_capture(PY " %s '%s'", script, path);
    CHECK_MSG(out != NULL, "%s: nibabel failed", name);
    if (!out)
        return;
    double w[19] = {0};
    int got = 0;
    char *p = out;
    for (; got < 19; got++) {
        char *end;
        w[got] = strtod(p, &end);
        if (end == p)
            break;
        p = end;
    }
    free(out);
    CHECK_MSG(got == 19, "%s: nibabel printed %d values", name, got);
    nifti_volume v;
    c2_err e = {0};
    int rc = nifti_volume_read(path, 0, &v, &e);
    CHECK_MSG(rc == C2_OK, "%s: %s", name, e.msg);
    if (rc != C2_OK)
        return;
    CHECK(v.nx == (int64_t)w[0] && v.ny == (int64_t)w[1] && v.nz == (int64_t)w[2] && v.nt == (int64_t)w[3]);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            CHECK_NEAR(v.voxel_to_lps[r][c], w[4 + 4 * r + c], 1e-4);
    CHECK_MSG(v.nonfinite_count == (int64_t)w[16], "%s: nonfinite %lld vs nibabel %g", name,
              (long long)v.nonfinite_count, w[16]);
    CHECK_NEAR(v.data[1 + 2 * v.nx + 1 * v.nx * v.ny], w[17], 1e-3 * (1 + fabs(w[17])));
    double sum = 0;
    for (int64_t i = 0; i < v.nx * v.ny * v.nz; i++)
        sum += v.data[i];
    sum -= (double)v.nonfinite_count * v.min_value; /* replaced voxels hold the minimum */
    CHECK_NEAR(sum, w[18], 1e-4 * (1 + fabs(w[18])));
    nifti_volume_free(&v);
}

static void every_file_matches_nibabel(void)
{
    static const char *files[] = {
        "data/nifti/anatomical.nii",          "data/nifti/anatomical_label.nii.gz",
        "data/nifti/reoriented_anat_moved.nii", "data/nifti/reoriented_anat_moved_label.nii.gz",
        "data/nifti/resampled_anat_moved.nii", "data/nifti/functional.nii",
        "data/nifti/example4d.nii.gz",        "data/nifti/example_nifti2.nii.gz",
        "data/nifti/standard.nii.gz",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        compare_with_nibabel(files[i]);
}

static void versions_and_sources_are_detected(void)
{
    nifti_volume v;
    c2_err e = {0};
    CHECK(nifti_volume_read_header(shared_path("data/nifti/example_nifti2.nii.gz"), &v, &e) == C2_OK);
    CHECK(v.version == 2);
    CHECK(nifti_volume_read_header(shared_path("data/nifti/anatomical.nii"), &v, &e) == C2_OK);
    CHECK(v.version == 1 && v.geom_source == NIFTI_GEOM_SFORM && v.datatype == 4);
    CHECK(nifti_volume_read_header(shared_path("data/nifti/anatomical_label.nii.gz"), &v, &e) == C2_OK);
    CHECK(v.geom_source == NIFTI_GEOM_QFORM); /* sform 0: the qform is used */
    CHECK(nifti_volume_read(shared_path("data/nifti/resampled_anat_moved.nii"), 0, &v, &e) == C2_OK);
    CHECK(v.nonfinite_count > 0);
    for (int64_t i = 0; i < v.nx * v.ny * v.nz; i++)
        if (!isfinite(v.data[i])) {
            CHECK(!"a NaN survived");
            break;
        }
    nifti_volume_free(&v);
}

static void header_only_pairs_are_rejected(void)
{
    nifti_volume v;
    c2_err e = {0};
    CHECK(nifti_volume_read(shared_path("data/nifti/nifti1.hdr"), 0, &v, &e) == C2_ENOTFOUND);
    CHECK(strstr(e.msg, "nifti1.hdr") && strstr(e.msg, "nifti1.img is missing"));
    CHECK(nifti_volume_read(shared_path("data/nifti/nifti2.hdr"), 0, &v, &e) == C2_ENOTFOUND);
    CHECK(v.data == NULL);
}

static void absurd_dimensions_are_rejected_before_reading(void)
{
    /* A NIfTI-1 header claiming 30000 x 30000 x 30000 float voxels (no data). */
    char path[4096];
    c2_path_join(path, sizeof path, test_tmpdir(), "huge.nii");
    double A[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
    uint8_t one = 0;
    c2_err e = {0};
    CHECK(nifti_volume_write(path, &one, 2, 1, 1, 1, A, &e) == C2_OK);
    FILE *f = fopen(path, "r+b");
    int16_t dims[4] = {3, 30000, 30000};
    dims[3] = 30000;
    fseek(f, 40, SEEK_SET);
    fwrite(dims, 2, 4, f);
    fclose(f);
    nifti_volume v;
    int rc = nifti_volume_read(path, 0, &v, &e);
    CHECK(rc == C2_ELIMIT || rc == C2_EINVAL);
    CHECK(strstr(e.msg, "huge.nii") != NULL);
}

static void written_volumes_read_back_in_nibabel(void)
{
    char path[4096];
    c2_path_join(path, sizeof path, test_tmpdir(), "w.nii.gz");
    int16_t data[4 * 3 * 2];
    for (int i = 0; i < 24; i++)
        data[i] = (int16_t)(i * 10 - 100);
    /* LPS: columns go to patient left 0.7 mm, rows posterior 0.8 mm, slices superior 2.5 mm */
    double A[4][4] = {{0.7, 0, 0, -10}, {0, 0.8, 0, 20}, {0, 0, 2.5, -30}, {0, 0, 0, 1}};
    c2_err e = {0};
    CHECK(nifti_volume_write(path, data, 4, 4, 3, 2, A, &e) == C2_OK);
    CHECK(run_cmd("nifti_tool -check_hdr -infiles '%s' >/dev/null 2>&1", path) == 0);
    char *out = run_capture(PY " -c \"import nibabel as n,numpy as np; i=n.load('%s'); "
                            "print(int(i.header['sform_code']), int(i.header['qform_code']), "
                            "*np.round(i.affine[:3].ravel(),4), int(np.asanyarray(i.dataobj)[3,2,1]), "
                            "*np.round(i.get_qform()[:3].ravel(),4))\"",
                            path);
    CHECK(out != NULL);
    if (out) {
        const char *want = "1 1 -0.7 -0.0 -0.0 10.0 -0.0 -0.8 -0.0 -20.0 0.0 0.0 2.5 -30.0 130";
        CHECK_MSG(strncmp(out, want, strlen(want)) == 0, "nibabel printed: %s", out);
        free(out);
    }
    nifti_volume v;
    CHECK(nifti_volume_read(path, 0, &v, &e) == C2_OK);
    CHECK(v.nx == 4 && v.ny == 3 && v.nz == 2 && v.data && v.data[23] == 130);
    CHECK_NEAR(v.voxel_to_lps[1][3], 20, 1e-6);
    nifti_volume_free(&v);
}

int main(void)
{
    RUN_TEST(every_file_matches_nibabel);
    RUN_TEST(versions_and_sources_are_detected);
    RUN_TEST(header_only_pairs_are_rejected);
    RUN_TEST(absurd_dimensions_are_rejected_before_reading);
    RUN_TEST(written_volumes_read_back_in_nibabel);
    return test_summary();
}
