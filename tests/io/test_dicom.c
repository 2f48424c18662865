/* io/dicom*: probing, metadata, decoding of every transfer syntax, series grouping and
 * the X-ray display mapping, on the real files of ../shared/data/dicom. Judges:
 * Debian's pydicom (pixels, modality LUT, positions), DCMTK's command-line decoders
 * (dcmdjpeg / dcmdjpls to give pydicom something it can read; dcm2pnm for the display
 * mapping), and uncompressed twins of the compressed files. */
#include "io/io.h"
#include "tests/support/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PY "/usr/bin/python3" /* Debian's interpreter: the one with python3-pydicom */

/* Writes the pydicom judge once: modality values (pixel_array * slope + intercept, from
 * the top level or the Shared Functional Groups) of every frame as little-endian float32,
 * and prints "rows cols frames n_padding_pixels". */
static const char *judge_script(void)
{
    static char path[4200];
    if (path[0])
        return path;
    c2_path_join(path, sizeof path, test_tmpdir(), "judge.py");
    const char *py =
        "import sys, numpy as np, pydicom\n"
        "ds = pydicom.dcmread(sys.argv[1], force=True)\n"
        "a = ds.pixel_array.astype(np.float64)\n"
        "slope, inter = 1.0, 0.0\n"
        "if 'RescaleSlope' in ds:\n"
        "    slope, inter = float(ds.RescaleSlope), float(ds.RescaleIntercept)\n"
        "elif 'SharedFunctionalGroupsSequence' in ds and 'PixelValueTransformationSequence' in ds.SharedFunctionalGroupsSequence[0]:\n"
        "    p = ds.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence[0]\n"
        "    slope, inter = float(p.RescaleSlope), float(p.RescaleIntercept)\n"
        "npad = int((ds.pixel_array == ds.PixelPaddingValue).sum()) if 'PixelPaddingValue' in ds else 0\n"
        "(a * slope + inter).astype('<f4').tofile(sys.argv[2])\n"
        "print(ds.Rows, ds.Columns, int(ds.get('NumberOfFrames', 1) or 1), npad)\n";
    c2_err e;
    if (c2_write_file(path, py, strlen(py), &e))
        fprintf(stderr, "%s\n", e.msg);
    return path;
}

/* pydicom's modality values of `file` -> malloc'd floats, *count, *n_pad. Answers are
 * remembered per file: the uncompressed twins are asked about many times. */
static float *judge_pixels_uncached(const char *file, size_t *count, int *n_pad);

static float *judge_pixels(const char *file, size_t *count, int *n_pad)
{
    static struct {
        char file[4200];
        float *px;
        size_t count;
        int n_pad;
    } memo[16];
    static int n_memo;
    for (int i = 0; i < n_memo; i++)
        if (strcmp(memo[i].file, file) == 0) {
            float *copy = malloc(sizeof(float) * memo[i].count);
            if (copy)
                memcpy(copy, memo[i].px, sizeof(float) * memo[i].count);
            *count = memo[i].count;
            *n_pad = memo[i].n_pad;
            return copy;
        }
    float *px = judge_pixels_uncached(file, count, n_pad);
    if (px && n_memo < 16 && (memo[n_memo].px = malloc(sizeof(float) * *count))) {
        snprintf(memo[n_memo].file, sizeof memo[n_memo].file, "%s", file);
        memcpy(memo[n_memo].px, px, sizeof(float) * *count);
        memo[n_memo].count = *count;
        memo[n_memo].n_pad = *n_pad;
        n_memo++;
    }
    return px;
}

static float *judge_pixels_uncached(const char *file, size_t *count, int *n_pad)
{
    char out[4200];
    static int k;
    snprintf(out, sizeof out, "%s/judge%d.f32", test_tmpdir(), k++);
    char *line = run_capture(PY " '%s' '%s' '%s' 2>/dev/null", judge_script(), file, out);
    int r = 0, c = 0, f = 0;
    *n_pad = 0;
    if (!line || sscanf(line, "%d %d %d %d", &r, &c, &f, n_pad) != 4) {
        free(line);
        return NULL;
    }
    free(line);
    uint8_t *data = NULL;
    size_t n = 0;
    c2_err e;
    if (c2_read_file(out, 1u << 30, &data, &n, &e) || n != (size_t)r * c * f * sizeof(float)) {
        free(data);
        return NULL;
    }
    *count = n / sizeof(float);
    return (float *)data;
}

/* Reads every frame of `file`; NULL on error (message printed). */
static float *read_all(const char *file, dicom_object *o)
{
    c2_err e = {0};
    if (dicom_read_meta(file, o, &e)) {
        fprintf(stderr, "  %s\n", e.msg);
        return NULL;
    }
    float *px = malloc(sizeof(float) * (size_t)o->rows * o->cols * o->frames);
    if (px && dicom_read_frames(o, 0, o->frames, px, &e)) {
        fprintf(stderr, "  %s\n", e.msg);
        free(px);
        px = NULL;
    }
    return px;
}

/* Our decode of `file` equals pydicom's modality values of `truth` (NAN where ours pads):
 * returns the largest absolute difference, or -1 when something could not be read. */
static double max_diff_vs_pydicom(const char *file, const char *truth, int *n_nan_ours, int *n_pad_truth)
{
    dicom_object o;
    float *ours = read_all(file, &o);
    size_t n = 0;
    float *ref = judge_pixels(truth, &n, n_pad_truth);
    double worst = -1;
    if (ours && ref && n == (size_t)o.rows * o.cols * o.frames) {
        worst = 0;
        *n_nan_ours = 0;
        for (size_t i = 0; i < n; i++) {
            if (isnan(ours[i])) {
                (*n_nan_ours)++;
                continue;
            }
            double d = fabs((double)ours[i] - ref[i]);
            worst = d > worst ? d : worst;
        }
    }
    if (ours)
        dicom_object_free(&o);
    free(ours);
    free(ref);
    return worst;
}

/* Decompresses a JPEG / JPEG-LS file with DCMTK's command-line tool into the scratch
 * folder so that pydicom (which has no JPEG handler here) can judge it. */
static const char *decompressed_copy(const char *tool, const char *file)
{
    static char out[4200];
    snprintf(out, sizeof out, "%s/%s_%s", test_tmpdir(), tool, c2_basename(file));
    if (run_cmd("%s '%s' '%s' >/dev/null 2>&1", tool, file, out) != 0)
        return NULL;
    return out;
}

static void check_equal_to_pydicom(const char *rel, const char *truth_rel, double tol)
{
    int nan_ours = 0, pad_truth = 0;
    const char *truth = truth_rel ? shared_path(truth_rel) : shared_path(rel);
    double d = max_diff_vs_pydicom(shared_path(rel), truth, &nan_ours, &pad_truth);
    CHECK_MSG(d >= 0 && d <= tol, "%s: largest difference %g (tolerance %g)", rel, d, tol);
    if (tol == 0)
        CHECK_MSG(nan_ours == pad_truth, "%s: %d padding pixels, pydicom counts %d", rel, nan_ours, pad_truth);
}

static void probe_detects_dicom_by_content(void)
{
    CHECK(dicom_probe(shared_path("data/dicom/ct_series/pydicom_CT2_16x16/17106")) == 1); /* no extension */
    CHECK(dicom_probe(shared_path("data/dicom/ct_single/CT_small.dcm")) == 1);
    CHECK(dicom_probe(shared_path("data/dicom/broken/ExplVR_LitEndNoMeta.dcm")) == 1); /* no preamble */
    CHECK(dicom_probe(shared_path("data/dicom/broken/no_meta.dcm")) == 0);             /* junk byte first */
    CHECK(dicom_probe(shared_path("data/README.md")) == 0);
    CHECK(dicom_probe(shared_path("data/dicom/does-not-exist")) == 0);
}

static void ct_slices_have_pydicom_hounsfield_units(void)
{
    check_equal_to_pydicom("data/dicom/ct_series/dcmqi_ct-3slice/01.dcm", NULL, 0);
    check_equal_to_pydicom("data/dicom/ct_series/dcmqi_ct-3slice/03.dcm", NULL, 0);
    check_equal_to_pydicom("data/dicom/ct_single/CT_small.dcm", NULL, 0);
    check_equal_to_pydicom("data/dicom/ct_series/pydicom_CT2_16x16/17136", NULL, 0);
    /* one pixel read by dcmdump-independent means: CT_small (0,0) is stored 175 -> -849 HU */
    dicom_object o;
    float *px = read_all(shared_path("data/dicom/ct_single/CT_small.dcm"), &o);
    CHECK(px && px[0] == -849.0f);
    CHECK(o.frame[0].intercept == -1024 && o.frame[0].slope == 1);
    free(px);
    dicom_object_free(&o);
}

/* Reads the files names[0..n) of the shared folder dir into objs, a CHECK per file. */
static void read_named(const char *dir, const char *const *names, int n, dicom_object *objs)
{
    char rel[256];
    c2_err e = {0};
    for (int i = 0; i < n; i++) {
        snprintf(rel, sizeof rel, "%s/%s", dir, names[i]);
        CHECK(dicom_read_meta(shared_path(rel), &objs[i], &e) == C2_OK);
    }
}

/* The 3-slice series sorts by position along the normal and measures 1 mm spacing. */
static void series_sorts_along_the_normal(void)
{
    const char *names[3] = {"01.dcm", "02.dcm", "03.dcm"};
    dicom_object objs[3];
    c2_err e = {0};
    read_named("data/dicom/ct_series/dcmqi_ct-3slice", names, 3, objs);
    /* judge: pydicom's IPP . (row x col) per file, sorted ascending */
    char *order = run_capture(
        PY " -c \"import sys,pydicom,numpy as np\n"
        "r=[]\n"
        "for f in sys.argv[1:]:\n"
        "  d=pydicom.dcmread(f); o=np.array(d.ImageOrientationPatient,float); n=np.cross(o[:3],o[3:])\n"
        "  r.append((float(np.dot(n,np.array(d.ImagePositionPatient,float))),f[-6:]))\n"
        "r.sort(); print(' '.join(x[1] for x in r), '%%.4f' %% (r[1][0]-r[0][0]))\" '%s' '%s' '%s'",
        shared_path("data/dicom/ct_series/dcmqi_ct-3slice/01.dcm"), shared_path("data/dicom/ct_series/dcmqi_ct-3slice/02.dcm"),
        shared_path("data/dicom/ct_series/dcmqi_ct-3slice/03.dcm"));
    dicom_series *s = NULL;
    int ns = 0;
    CHECK(dicom_series_group(objs, 3, &s, &ns, NULL, &e) == C2_OK);
    CHECK(ns == 1);
    if (ns == 1 && order) {
        char got[64];
        snprintf(got, sizeof got, "%s %s %s", names[s->slices[0].object], names[s->slices[1].object],
                 names[s->slices[2].object]);
        CHECK_MSG(strncmp(order, got, strlen(got)) == 0, "pydicom order '%s', ours '%s'", order, got);
        CHECK_NEAR(s->slice_spacing, atof(order + strlen(got)), 1e-3);
        CHECK(s->n_slices == 3 && !s->has_gaps && !s->n_duplicates && !s->is_tilted);
        CHECK(s->has_positions && s->has_pixel_spacing);
        CHECK_NEAR(s->pixel_spacing[0], 0.810547, 1e-6);
        float *vol = malloc(sizeof(float) * 3 * 512 * 512);
        CHECK(vol && dicom_series_read(s, objs, vol, &e) == C2_OK);
        float *one = malloc(sizeof(float) * 512 * 512);
        CHECK(one && dicom_read_frames(&objs[s->slices[2].object], 0, 1, one, &e) == C2_OK);
        CHECK(vol && one && memcmp(vol + 2 * 512 * 512, one, sizeof(float) * 512 * 512) == 0);
        free(vol);
        free(one);
    }
    free(order);
    dicom_series_free(s, ns);
    for (int i = 0; i < 3; i++)
        dicom_object_free(&objs[i]);
}

/* The 16x16 series: files without extension, 1.25 mm spacing and one 202.5 mm gap. */
static void series_reports_gaps(void)
{
    const char *names[4] = {"17196", "17106", "17166", "17136"}; /* deliberately unsorted */
    dicom_object objs[4];
    c2_err e = {0};
    char rel[256];
    read_named("data/dicom/ct_series/pydicom_CT2_16x16", names, 4, objs);
    /* judge: dcmdump's ImagePositionPatient z of each file */
    double z[4];
    for (int i = 0; i < 4; i++) {
        snprintf(rel, sizeof rel, "data/dicom/ct_series/pydicom_CT2_16x16/%s", names[i]);
        char *t = run_capture("dcmdump -q +P ImagePositionPatient '%s' | sed 's/.*\\[\\(.*\\)\\].*/\\1/' | cut -d'\\' -f3",
                              shared_path(rel));
        z[i] = t ? atof(t) : NAN;
        free(t);
    }
    dicom_series *s = NULL;
    int ns = 0;
    CHECK(dicom_series_group(objs, 4, &s, &ns, NULL, &e) == C2_OK);
    CHECK(ns == 1);
    if (ns == 1) {
        CHECK(s->n_slices == 4);
        for (int j = 1; j < s->n_slices; j++)
            CHECK(z[s->slices[j].object] > z[s->slices[j - 1].object]);
        CHECK_NEAR(s->slices[0].position[2], -99.48, 1e-5); /* DS "-99.480003" */
        CHECK_NEAR(s->slice_spacing, 1.25, 1e-6);
        CHECK(s->has_gaps);
        CHECK_NEAR(s->max_gap, 103.02 - -99.48, 1e-4);
    }
    dicom_series_free(s, ns);
    for (int i = 0; i < 4; i++)
        dicom_object_free(&objs[i]);
}

/* 23x38x3 single-frame series == its Legacy Converted Enhanced multiframe, pixel for
 * pixel and position for position; both group as one sorted series each. */
static void single_frame_series_equals_its_multiframe(void)
{
    for (int w = 23; w <= 24; w++) {
        dicom_object objs[4];
        c2_err e = {0};
        char rel[256];
        for (int i = 0; i < 3; i++) {
            snprintf(rel, sizeof rel, "data/dicom/odd_size/%dx38x3/image/IMG000%d.dcm", w, 3 - i);
            CHECK(dicom_read_meta(shared_path(rel), &objs[i], &e) == C2_OK);
        }
        snprintf(rel, sizeof rel, "data/dicom/odd_size/%dx38x3/multiframe/mf.dcm", w);
        CHECK(dicom_read_meta(shared_path(rel), &objs[3], &e) == C2_OK);
        CHECK(objs[3].frames == 3 && objs[3].cols == w && objs[3].rows == 38);
        dicom_series *s = NULL;
        int ns = 0;
        CHECK(dicom_series_group(objs, 4, &s, &ns, NULL, &e) == C2_OK);
        CHECK_MSG(ns == 2, "%d series", ns); /* different SeriesInstanceUIDs */
        if (ns == 2) {
            const dicom_series *single = s[0].slices[0].object < 3 ? &s[0] : &s[1];
            const dicom_series *multi = single == &s[0] ? &s[1] : &s[0];
            CHECK(single->n_slices == 3 && multi->n_slices == 3);
            size_t n = (size_t)3 * 38 * w;
            float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
            CHECK(dicom_series_read(single, objs, a, &e) == C2_OK);
            CHECK(dicom_series_read(multi, objs, b, &e) == C2_OK);
            CHECK(memcmp(a, b, sizeof(float) * n) == 0);
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 3; k++)
                    CHECK_NEAR(single->slices[j].position[k], multi->slices[j].position[k], 1e-4);
            CHECK_NEAR(single->slice_spacing, 2.5, 1e-4);
            CHECK_NEAR(multi->slice_spacing, 2.5, 1e-4);
            free(a);
            free(b);
        }
        dicom_series_free(s, ns);
        for (int i = 0; i < 4; i++)
            dicom_object_free(&objs[i]);
    }
    check_equal_to_pydicom("data/dicom/odd_size/23x38x3/multiframe/mf.dcm", NULL, 0);
}

static void enhanced_ct_takes_rescale_from_shared_groups(void)
{
    dicom_object o;
    c2_err e = {0};
    CHECK(dicom_read_meta(shared_path("data/dicom/multiframe/eCT_Supplemental.dcm"), &o, &e) == C2_OK);
    CHECK(o.frames == 2 && o.frame[0].intercept == -1024 && o.frame[1].intercept == -1024);
    CHECK(o.frame[0].has_position && o.frame[1].has_position && o.has_orientation);
    dicom_object_free(&o);
    check_equal_to_pydicom("data/dicom/multiframe/eCT_Supplemental.dcm", NULL, 0);
}

/* emri_small has no functional groups: 10 frames, no positions, file order kept. */
static void enhanced_mr_without_functional_groups_is_readable(void)
{
    dicom_object o;
    c2_err e = {0};
    CHECK(dicom_read_meta(shared_path("data/dicom/multiframe/emri_small.dcm"), &o, &e) == C2_OK);
    CHECK(o.frames == 10 && !o.frame[0].has_position && !o.has_orientation);
    dicom_series *s = NULL;
    int ns = 0;
    CHECK(dicom_series_group(&o, 1, &s, &ns, NULL, &e) == C2_OK);
    CHECK(ns == 1 && s[0].n_slices == 10 && !s[0].has_positions);
    for (int j = 0; ns == 1 && j < 10; j++)
        CHECK(s[0].slices[j].frame == j);
    dicom_series_free(s, ns);
    dicom_object_free(&o);
    check_equal_to_pydicom("data/dicom/multiframe/emri_small.dcm", NULL, 0);
}

static void xray_images_read_with_rescale_and_imager_spacing(void)
{
    check_equal_to_pydicom("data/dicom/xray/6154", NULL, 1e-3);        /* RS 0.684 / RI 200 */
    check_equal_to_pydicom("data/dicom/xray/dx_image.dcm", NULL, 0);   /* odd-length Pixel Data */
    dicom_object o;
    c2_err e = {0};
    CHECK(dicom_read_meta(shared_path("data/dicom/xray/6154"), &o, &e) == C2_OK);
    CHECK(o.is_xray && o.monochrome1 && o.spacing_is_imager && !o.frame_of_reference_uid[0]);
    dicom_series *s = NULL;
    int ns = 0;
    CHECK(dicom_series_group(&o, 1, &s, &ns, NULL, &e) == C2_OK);
    CHECK(ns == 1 && s[0].n_slices == 1 && s[0].is_xray);
    dicom_series_free(s, ns);
    dicom_object_free(&o);
}

/* The display mapping against DCMTK's renderer: dcm2pnm with the first stored window
 * writes an 8-bit PGM in which MONOCHROME1 is already inverted (white = dense). */
static void xray_display_matches_dcmtk_rendering(void)
{
    const char *files[2] = {"data/dicom/xray/dx_image.dcm", "data/dicom/xray/6154"};
    for (int k = 0; k < 2; k++) {
        dicom_object o;
        float *px = read_all(shared_path(files[k]), &o);
        CHECK(px != NULL);
        if (!px)
            continue;
        CHECK(o.monochrome1 && o.has_window);
        int n = o.rows * o.cols;
        float *d = malloc(sizeof(float) * (size_t)n);
        CHECK(dicom_xray_display(&o, px, d, n) == C2_OK);
        char pgm[4200];
        snprintf(pgm, sizeof pgm, "%s/display%d.pgm", test_tmpdir(), k);
        CHECK(run_cmd("dcm2pnm +Wi 1 +op '%s' '%s' >/dev/null 2>&1", shared_path(files[k]), pgm) == 0);
        uint8_t *raw = NULL;
        size_t len = 0;
        c2_err e;
        CHECK(c2_read_file(pgm, 1 << 24, &raw, &len, &e) == C2_OK);
        if (raw && len >= (size_t)n) {
            const uint8_t *img = raw + len - (size_t)n; /* binary PGM: header, then the pixels */
            double worst = 0;
            for (int i = 0; i < n; i++)
                worst = fmax(worst, fabs(d[i] * 255.0 - img[i]));
            CHECK_MSG(worst <= 1.01, "%s: display differs from dcm2pnm by %g grey levels", files[k], worst);
        }
        /* without VOI: min / max of the image, still inverted for MONOCHROME1 */
        o.has_window = 0;
        CHECK(dicom_xray_display(&o, px, d, n) == C2_OK);
        float lo = 2, hi = -1;
        for (int i = 0; i < n; i++)
            lo = fminf(lo, d[i]), hi = fmaxf(hi, d[i]);
        CHECK(lo == 0.0f && hi == 1.0f);
        free(raw);
        free(d);
        free(px);
        dicom_object_free(&o);
    }
}

/* Every compressed file decodes to its uncompressed twin (lossless) or near it (lossy). */
static void compressed_files_equal_their_originals(void)
{
    const char *twins[][2] = {
        {"data/dicom/compressed/MR_small_RLE.dcm", "data/dicom/compressed/MR_small.dcm"},
        {"data/dicom/compressed/MR_small_bigendian.dcm", "data/dicom/compressed/MR_small.dcm"},
        {"data/dicom/compressed/MR_small_jpeg_ls_lossless.dcm", "data/dicom/compressed/MR_small.dcm"},
        {"data/dicom/compressed/MR_small_jp2klossless.dcm", "data/dicom/compressed/MR_small.dcm"},
        {"data/dicom/compressed/emri_small_RLE.dcm", "data/dicom/multiframe/emri_small.dcm"},
        {"data/dicom/compressed/emri_small_jpeg_ls_lossless.dcm", "data/dicom/multiframe/emri_small.dcm"},
        {"data/dicom/compressed/emri_small_jpeg_2k_lossless.dcm", "data/dicom/multiframe/emri_small.dcm"},
        {"data/dicom/compressed/693_J2KR.dcm", "data/dicom/compressed/693_UNCR.dcm"},
        {"data/dicom/compressed/image_dfl.dcm", NULL},
        {"data/dicom/compressed/MR_small.dcm", NULL},
    };
    for (size_t i = 0; i < sizeof twins / sizeof twins[0]; i++)
        check_equal_to_pydicom(twins[i][0], twins[i][1], 0);

    /* lossy JPEG 2000 of a CT: close to the original, except where the original pads */
    int nan_ours = 0, pad = 0;
    dicom_object a, b;
    float *lossy = read_all(shared_path("data/dicom/compressed/693_J2KI.dcm"), &a);
    float *orig = read_all(shared_path("data/dicom/compressed/693_UNCR.dcm"), &b);
    CHECK(lossy && orig);
    if (lossy && orig) {
        /* compression ratio 339:1 (LossyImageCompressionRatio): a mean error of tens of HU
         * is expected, a sign or bit-depth mistake would give thousands */
        double sum = 0, bias = 0;
        int n = 0;
        for (int i = 0; i < 512 * 512; i++)
            if (!isnan(orig[i]) && !isnan(lossy[i]))
                sum += fabs(lossy[i] - orig[i]), bias += lossy[i] - orig[i], n++;
        CHECK_MSG(n > 200000 && sum / n < 100 && fabs(bias / n) < 20, "mean |lossy - original| = %g HU, bias %g, %d pixels",
                  sum / n, bias / n, n);
        dicom_object_free(&a);
        dicom_object_free(&b);
    }
    free(lossy);
    free(orig);

    /* JPEG / JPEG-LS without an uncompressed twin: DCMTK's command-line decoders write
     * one, pydicom reads it */
    const char *jpeg[][2] = {
        {"dcmdjpeg", "data/dicom/compressed/JPEG-LL.dcm"},
        {"dcmdjpeg", "data/dicom/compressed/JPEG-lossy.dcm"},
        {"dcmdjpeg", "data/dicom/broken/bad_sequence.dcm"},
        {"dcmdjpls", "data/dicom/compressed/JPEGLSNearLossless_16.dcm"},
    };
    for (size_t i = 0; i < sizeof jpeg / sizeof jpeg[0]; i++) {
        const char *twin = decompressed_copy(jpeg[i][0], shared_path(jpeg[i][1]));
        CHECK_MSG(twin != NULL, "%s could not decompress %s", jpeg[i][0], jpeg[i][1]);
        if (!twin)
            continue;
        double d = max_diff_vs_pydicom(shared_path(jpeg[i][1]), twin, &nan_ours, &pad);
        CHECK_MSG(d == 0, "%s: largest difference to %s's output %g", jpeg[i][1], jpeg[i][0], d);
    }
}

/* JPEG 2000 files without a twin: the value ranges pydicom + Pillow measured
 * (data/README.md), and J2K_pixelrep_mismatch's background, -2000 once sign-extended. */
static void jpeg2000_files_decode_to_their_known_ranges(void)
{
    struct {
        const char *rel;
        float lo, hi;
    } cases[] = {
        {"data/dicom/xray/RG1_J2KI.dcm", 803, 26512},
        {"data/dicom/xray/RG3_J2KR.dcm", 0, 1023},
        {"data/dicom/compressed/emri_small_jpeg_2k_lossless.dcm", 0, 467},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dicom_object o;
        float *px = read_all(shared_path(cases[i].rel), &o);
        CHECK(px != NULL);
        if (!px)
            continue;
        float lo = INFINITY, hi = -INFINITY;
        for (size_t k = 0; k < (size_t)o.rows * o.cols * o.frames; k++)
            lo = fminf(lo, px[k]), hi = fmaxf(hi, px[k]);
        CHECK_MSG(lo == cases[i].lo && hi == cases[i].hi, "%s: range %g..%g", cases[i].rel, lo, hi);
        free(px);
        dicom_object_free(&o);
    }
    dicom_object o;
    float *px = read_all(shared_path("data/dicom/broken/J2K_pixelrep_mismatch.dcm"), &o);
    CHECK(px && px[0] == -2000.0f);
    free(px);
    if (px)
        dicom_object_free(&o);
}

/* Every broken file: a clean read, or one error naming the file with a reason. */
static void broken_files_give_clear_errors(void)
{
    struct {
        const char *name;
        int readable; /* 1: meta and pixels read; 0: meta or frames fail; 2: meta ok, not an image */
        const char *reason;
    } cases[] = {
        {"MR_truncated.dcm", 0, "not a readable DICOM file"},
        {"no_meta.dcm", 0, "not a DICOM file"},
        {"no_meta_group_length.dcm", 2, NULL},
        {"meta_missing_tsyntax.dcm", 0, "without Rows"},
        {"ExplVR_LitEndNoMeta.dcm", 2, NULL},
        {"rtplan_truncated.dcm", 0, "not a readable DICOM file"},
        {"badVR.dcm", 0, "NumberOfFrames \"1A\""},
        {"emri_small_jpeg_2k_lossless_too_short.dcm", 0, "not a readable DICOM file"},
        {"JPEG2000-embedded-sequence-delimiter.dcm", 0, "JPEG 2000"},
        {"bad_sequence.dcm", 1, NULL},
        {"J2K_pixelrep_mismatch.dcm", 1, NULL},
    };
    char rel[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(rel, sizeof rel, "data/dicom/broken/%s", cases[i].name);
        const char *path = shared_path(rel);
        dicom_object o;
        c2_err e = {0};
        int rc = dicom_read_meta(path, &o, &e);
        int meta_ok = rc == C2_OK;
        dicom_kind kind = meta_ok ? o.kind : DICOM_KIND_OTHER;
        if (meta_ok && o.kind == DICOM_KIND_IMAGE) {
            float *px = malloc(sizeof(float) * (size_t)o.rows * o.cols * o.frames);
            rc = dicom_read_frames(&o, 0, o.frames, px, &e);
            free(px);
        }
        if (meta_ok)
            dicom_object_free(&o);
        if (cases[i].readable) {
            CHECK_MSG(rc == C2_OK, "%s: %s", cases[i].name, e.msg);
            CHECK(rc != C2_OK || (cases[i].readable == 1) == (kind == DICOM_KIND_IMAGE));
        } else {
            CHECK_MSG(rc < 0 && strstr(e.msg, path) && strstr(e.msg, cases[i].reason), "%s: rc %d, '%s'",
                      cases[i].name, rc, e.msg);
        }
    }
}

/* SEG and SR objects are recognised and skipped with a reason; localizers too. */
static void seg_and_sr_are_recognised_and_skipped(void)
{
    const char *rels[4] = {"data/dicom/seg/dcmqi_liver.dcm", "data/dicom/sr/test-SR.dcm",
                           "data/dicom/odd_size/23x38x3/seg/label.seg", "data/dicom/ct_single/CT_small.dcm"};
    dicom_object objs[4];
    c2_err e = {0};
    for (int i = 0; i < 4; i++)
        CHECK(dicom_read_meta(shared_path(rels[i]), &objs[i], &e) == C2_OK);
    CHECK(objs[0].kind == DICOM_KIND_SEG && objs[1].kind == DICOM_KIND_SR && objs[2].kind == DICOM_KIND_SEG);
    CHECK(objs[3].kind == DICOM_KIND_IMAGE);
    float px[16];
    CHECK(dicom_read_frames(&objs[0], 0, 1, px, &e) == C2_EUNSUPPORTED);
    strcpy(objs[3].image_type, "ORIGINAL\\PRIMARY\\LOCALIZER");
    objs[3].is_localizer = 1;
    char why[4][160];
    dicom_series *s = NULL;
    int ns = 0;
    CHECK(dicom_series_group(objs, 4, &s, &ns, why, &e) == C2_OK);
    CHECK(ns == 0);
    CHECK(strstr(why[0], "Segmentation") && strstr(why[1], "Structured Report") && strstr(why[3], "localizer"));
    dicom_series_free(s, ns);
    for (int i = 0; i < 4; i++)
        dicom_object_free(&objs[i]);
}

static void limits_and_frame_ranges_are_checked(void)
{
    dicom_object o;
    c2_err e = {0};
    CHECK(dicom_read_meta(shared_path("data/dicom/multiframe/emri_small.dcm"), &o, &e) == C2_OK);
    float px[64 * 64];
    CHECK(dicom_read_frames(&o, 10, 1, px, &e) == C2_EINVAL);
    CHECK(dicom_read_frames(&o, -1, 1, px, &e) == C2_EINVAL);
    CHECK(dicom_read_frames(&o, 9, 1, px, &e) == C2_OK);
    dicom_object_free(&o);
    c2_limits saved = *c2_limits_get(), small = saved;
    small.max_pixels = 64 * 64 * 9;
    c2_limits_set(&small);
    CHECK(dicom_read_meta(shared_path("data/dicom/multiframe/emri_small.dcm"), &o, &e) == C2_ELIMIT);
    CHECK(strstr(e.msg, "emri_small.dcm") != NULL);
    c2_limits_set(&saved);
}

int main(void)
{
    RUN_TEST(probe_detects_dicom_by_content);
    RUN_TEST(ct_slices_have_pydicom_hounsfield_units);
    RUN_TEST(series_sorts_along_the_normal);
    RUN_TEST(series_reports_gaps);
    RUN_TEST(single_frame_series_equals_its_multiframe);
    RUN_TEST(enhanced_ct_takes_rescale_from_shared_groups);
    RUN_TEST(enhanced_mr_without_functional_groups_is_readable);
    RUN_TEST(xray_images_read_with_rescale_and_imager_spacing);
    RUN_TEST(xray_display_matches_dcmtk_rendering);
    RUN_TEST(compressed_files_equal_their_originals);
    RUN_TEST(jpeg2000_files_decode_to_their_known_ranges);
    RUN_TEST(broken_files_give_clear_errors);
    RUN_TEST(seg_and_sr_are_recognised_and_skipped);
    RUN_TEST(limits_and_frame_ranges_are_checked);
    return test_summary();
}
