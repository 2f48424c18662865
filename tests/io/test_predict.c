/* `c2seg predict` on real inputs with a random-weight tiny checkpoint (32 x 32), judged by
 * independent readers: dciodvfy for the SEG, nifti_tool for the NIfTI affine, the PNG
 * header bytes for the mask size. The geometry mapping is tested directly: a synthetic
 * blob in the model's top-left must land in the matching corner of a non-square source,
 * and a marker written into a NIfTI with a flipped axis must come back onto its own
 * voxels after ingest -> model grid -> predict_map_slice. The partial cache reader is
 * judged by h5dump, and a series with a truncated slice still gets its SEG. */
#include "pipeline/predict/predict.h"
#include "tests/support/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char ckpt_ct[4200], ckpt_xray[4200];

/* A random-weight tiny checkpoint of the given intensity domain. */
static int make_checkpoint(const char *path, const char *domain)
{
    c2_err e = {0};
    c2seg_config cfg;
    c2seg_model m;
    if (c2seg_config_make(&cfg, "tiny", "bcam_kgate", &e) || c2seg_model_create(&m, &cfg, &e))
        return -1;
    c2seg_model_init_weights(&m, 7);
    checkpoint_meta meta;
    checkpoint_meta_default(&meta, &cfg);
    snprintf(meta.preprocess.intensity_domain, sizeof meta.preprocess.intensity_domain, "%s", domain);
    int rc = checkpoint_save(path, &m, &meta, NULL, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    c2seg_model_free(&m);
    return rc;
}

static int file_exists(const char *dir, const char *name)
{
    char p[4400];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && st.st_size > 0;
}

/* Bounding box of the foreground (>= 128) of out [H,W]. */
static void fg_box(const uint8_t *out, int H, int W, int *r0, int *r1, int *c0, int *c1)
{
    *r0 = *c0 = 1 << 30;
    *r1 = *c1 = -1;
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++)
            if (out[(size_t)r * W + c] >= 128) {
                *r0 = r < *r0 ? r : *r0, *r1 = r > *r1 ? r : *r1;
                *c0 = c < *c0 ? c : *c0, *c1 = c > *c1 ? c : *c1;
            }
}

static void map_blob_lands_in_the_matching_corner(void)
{
    enum { S = 32, H = 40, W = 64 };
    static float prob[S * S];
    static uint8_t out[H * W];
    for (int r = 0; r < 8; r++)
        for (int c = 0; c < 8; c++)
            prob[r * S + c] = 1;
    /* plain resize (non-square): model (y, x) -> source ((y + .5) H / S - .5, (x + .5) W / S - .5) */
    double M[3][3] = {{(double)H / S, 0, 0.5 * H / S - 0.5}, {0, (double)W / S, 0.5 * W / S - 0.5}, {0, 0, 0}};
    source_grid g = {{H, W, 1}, {W, 1, 0}};
    c2_err e = {0};
    CHECK(predict_map_slice(out, &g, prob, S, M, &e) == C2_OK);
    int r0, r1, c0, c1;
    fg_box(out, H, W, &r0, &r1, &c0, &c1);
    /* 8 of 32 model rows = 10 of 40 source rows, 8 of 32 columns = 16 of 64 */
    /* exactly: source row r is model row (r + .5) 32/40 - .5, >= 0.5 while that is <= 7.5,
     * i.e. r <= 9; column c: (c + .5) / 2 - .5 <= 7.5, c <= 15 */
    CHECK(r0 == 0 && c0 == 0);
    CHECK_MSG(r1 == 9, "last row %d", r1);
    CHECK_MSG(c1 == 15, "last column %d", c1);
    /* canonical display flipped left-right from the source: the blob must land top-right */
    double F[3][3] = {{(double)H / S, 0, 0.5 * H / S - 0.5}, {0, -(double)W / S, W - 1 - (0.5 * W / S - 0.5)},
                      {0, 0, 0}};
    memset(out, 0, sizeof out);
    CHECK(predict_map_slice(out, &g, prob, S, F, &e) == C2_OK);
    fg_box(out, H, W, &r0, &r1, &c0, &c1);
    CHECK(r0 == 0 && r1 == 9 && c1 == W - 1);
    CHECK_MSG(c0 == W - 16, "first column %d", c0);
    CHECK(out[(size_t)(H - 1) * W] == 0 && out[0] == 0);
    /* a map that is not a plane of the grid is refused */
    double bad[3][3] = {{1, 0, 0}, {2, 0, 0}, {0, 0, 0}};
    CHECK(predict_map_slice(out, &g, prob, S, bad, &e) == C2_EINVAL);
}

/* Writes prob, the grid, the map and out into a fresh folder and runs the numpy judge
 * (tests/io/predict_map_judge.py): 0 when every mapped voxel equals numpy's resampling. */
static int numpy_judges_map(const char *tag, const uint8_t *out, size_t out_n, const source_grid *g,
                            const float *prob, int S, const double M[3][3])
{
    char dir[4400], path[4500];
    snprintf(dir, sizeof dir, "%s/map-%s", test_tmpdir(), tag);
    if (run_cmd("mkdir -p '%s'", dir) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/prob.f32", dir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(prob, sizeof *prob, (size_t)S * S, f) != (size_t)S * S || fclose(f))
        return -1;
    snprintf(path, sizeof path, "%s/out.u8", dir);
    f = fopen(path, "wb");
    if (!f || fwrite(out, 1, out_n, f) != out_n || fclose(f))
        return -1;
    snprintf(path, sizeof path, "%s/map.txt", dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n%lld %lld %lld %lld %lld %lld\n", S, (long long)g->dim[0], (long long)g->dim[1],
            (long long)g->dim[2], (long long)g->stride[0], (long long)g->stride[1], (long long)g->stride[2]);
    for (int r = 0; r < 3; r++)
        fprintf(f, "%.17g %.17g %.17g\n", M[r][0], M[r][1], M[r][2]);
    if (fclose(f))
        return -1;
    return run_cmd("/usr/bin/python3 '%s/tests/io/predict_map_judge.py' '%s' >&2", getenv("C2SEG_SOURCE"), dir);
}

/* A random probability map (every voxel its own value, so a shift of one source voxel
 * changes most of them) through the plain, the flipped and a transposed map. */
static void map_equals_numpy_resampling(void)
{
    enum { S = 32, H = 40, W = 64 };
    static float prob[S * S];
    static uint8_t out[H * W];
    unsigned seed = 12345;
    for (int i = 0; i < S * S; i++) {
        seed = seed * 1103515245u + 12345u;
        prob[i] = (float)((seed >> 8) & 0xffff) / 65535.0f;
    }
    source_grid g = {{H, W, 1}, {W, 1, 0}};
    const double plain[3][3] = {{(double)H / S, 0, 0.5 * H / S - 0.5}, {0, (double)W / S, 0.5 * W / S - 0.5},
                                {0, 0, 0}};
    const double flip[3][3] = {{(double)H / S, 0, 0.5 * H / S - 0.5},
                               {0, -(double)W / S, W - 1 - (0.5 * W / S - 0.5)}, {0, 0, 0}};
    /* model rows run along the source columns (a transposed canonical view) */
    const double transp[3][3] = {{0, (double)H / S, 0.5 * H / S - 0.5}, {(double)W / S, 0, 0.5 * W / S - 0.5},
                                 {0, 0, 0}};
    const double(*maps[3])[3] = {plain, flip, transp};
    const char *tags[3] = {"plain", "flip", "transposed"};
    c2_err e = {0};
    for (int k = 0; k < 3; k++) {
        memset(out, 0, sizeof out);
        CHECK(predict_map_slice(out, &g, prob, S, maps[k], &e) == C2_OK);
        CHECK_MSG(numpy_judges_map(tags[k], out, sizeof out, &g, prob, S, maps[k]) == 0, "%s map", tags[k]);
    }
}

/* NIfTI with a flipped first axis and a non-square grid: a bright marker block must
 * come back on its own voxels through ingest's stored model_to_source. */
static void map_nifti_marker_round_trip(void)
{
    enum { NX = 40, NY = 24, NZ = 3 };
    static float vol[NZ][NY][NX];
    for (int k = 0; k < NZ; k++)
        for (int j = 0; j < NY; j++)
            for (int i = 0; i < NX; i++)
                vol[k][j][i] = (k == 1 && i < 12 && j < 8) ? 1000.0f : -1000.0f;
    double A[4][4] = {{-2, 0, 0, 40}, {0, 1.5, 0, -20}, {0, 0, 3, 5}, {0, 0, 0, 1}};
    char nii[4200], cache_path[4200];
    snprintf(nii, sizeof nii, "%s/flip.nii.gz", test_tmpdir());
    snprintf(cache_path, sizeof cache_path, "%s/flip.h5", test_tmpdir());
    c2_err e = {0};
    CHECK(nifti_volume_write(nii, vol, 16, NX, NY, NZ, A, &e) == C2_OK);
    CHECK(run_cmd("'%s' ingest '%s' --size 32 -o '%s' -q > /dev/null", c2seg_bin(), nii, cache_path) == 0);
    cache c;
    if (cache_read(cache_path, 1, &c, &e) != C2_OK) {
        CHECK_MSG(0, "%s", e.msg);
        return;
    }
    static uint8_t out[NZ][NY][NX];
    static float prob[32 * 32];
    source_grid g = {{NX, NY, NZ}, {1, NX, NX * NY}};
    for (int64_t s = 0; s < c.n; s++) {
        for (int p = 0; p < 32 * 32; p++)
            prob[p] = c.images[s * 32 * 32 + p] > 0.6f;
        CHECK(predict_map_slice(&out[0][0][0], &g, prob, 32, c.samples[s].model_to_source, &e) == C2_OK);
        /* the map ingest stored (flipped axis, non-square), one slice alone, judged by numpy
         * with the model image itself as a smooth probability map */
        static uint8_t one[NZ][NY][NX];
        static float smooth[32 * 32];
        char tag[32];
        for (int p = 0; p < 32 * 32; p++)
            smooth[p] = c.images[s * 32 * 32 + p] < 0 ? 0 : c.images[s * 32 * 32 + p] > 1 ? 1 : c.images[s * 32 * 32 + p];
        memset(one, 0, sizeof one);
        snprintf(tag, sizeof tag, "nifti-%lld", (long long)s);
        CHECK(predict_map_slice(&one[0][0][0], &g, smooth, 32, c.samples[s].model_to_source, &e) == C2_OK);
        CHECK_MSG(numpy_judges_map(tag, &one[0][0][0], sizeof one, &g, smooth, 32, c.samples[s].model_to_source) == 0,
                  "NIfTI slice %lld", (long long)s);
    }
    int inter = 0, in_marker = 0, in_out = 0;
    for (int k = 0; k < NZ; k++)
        for (int j = 0; j < NY; j++)
            for (int i = 0; i < NX; i++) {
                int m = k == 1 && i < 12 && j < 8, o = out[k][j][i] >= 128;
                inter += m && o;
                in_marker += m;
                in_out += o;
            }
    double dice = 2.0 * inter / (in_marker + in_out);
    CHECK_MSG(dice > 0.85, "marker Dice %.3f (%d in marker, %d mapped)", dice, in_marker, in_out);
    cache_free(&c);
}

static void predict_ct_series_writes_a_valid_seg(void)
{
    char out[4200];
    snprintf(out, sizeof out, "%s/ct", test_tmpdir());
    int rc = run_cmd("'%s' predict '%s' '%s' -o '%s' --batch 2 --overlays --text 'right lower lobe opacity' -q "
                     "> /dev/null",
                     c2seg_bin(), ckpt_ct, shared_path("data/dicom/ct_series/dcmqi_ct-3slice"), out);
    CHECK_MSG(rc == 0, "exit %d", rc);
    /* named after the series: no SeriesDescription, SeriesNumber 2, Modality CT (dcmdump) */
    CHECK(file_exists(out, "CT-series-2.seg.dcm"));
    CHECK(file_exists(out, "overlays/CT-series-2.png"));
    CHECK(file_exists(out, "predictions.json"));
    if (have_tool("dciodvfy")) {
        char *log = run_capture("dciodvfy '%s/CT-series-2.seg.dcm' 2>&1", out);
        CHECK(log && strstr(log, "Segmentation") != NULL);
        CHECK_MSG(log && strstr(log, "Error") == NULL, "%s", log ? log : "");
        free(log);
    }
    char *frames = run_capture("dcmdump +P NumberOfFrames '%s/CT-series-2.seg.dcm'", out);
    CHECK_MSG(frames && strstr(frames, "[3]") != NULL, "%s", frames ? frames : "");
    free(frames);
    char *json = run_capture("cat '%s/predictions.json'", out);
    CHECK(json && strstr(json, "\"source\":\t\"--text\"") != NULL);
    CHECK(json && strstr(json, "\"convention\":\t\"patient\"") != NULL);
    free(json);
}

/* A Basic Text SR of the series' study among the inputs gives the case its text. */
static void predict_takes_the_text_from_the_study_sr(void)
{
    char *uid = run_capture("dcmdump +P StudyInstanceUID '%s/01.dcm' | sed 's/.*\\[\\(.*\\)\\].*/\\1/'",
                            shared_path("data/dicom/ct_series/dcmqi_ct-3slice"));
    CHECK(uid && strlen(uid) > 5);
    if (!uid)
        return;
    uid[strcspn(uid, "\n")] = 0;
    char dir[4200], sr[4400], out[4200];
    snprintf(dir, sizeof dir, "%s/srdir", test_tmpdir());
    snprintf(sr, sizeof sr, "%s/report.dcm", dir);
    snprintf(out, sizeof out, "%s/ct_sr", test_tmpdir());
    c2_err e = {0};
    CHECK(c2_mkdirs(dir, &e) == C2_OK);
    sr_write_info info = {0};
    info.study_uid = uid;
    CHECK(sr_write_basic_text(sr, &info, "Opacity in the left lower lobe.", &e) == C2_OK);
    int rc = run_cmd("'%s' predict '%s' '%s' '%s' -o '%s' -q > /dev/null", c2seg_bin(), ckpt_ct,
                     shared_path("data/dicom/ct_series/dcmqi_ct-3slice"), dir, out);
    CHECK_MSG(rc == 0, "exit %d", rc);
    char *json = run_capture("cat '%s/predictions.json'", out);
    CHECK(json && strstr(json, "Opacity in the left lower lobe.") != NULL);
    CHECK(json && strstr(json, "\"source\":\t\"SR ") != NULL);
    free(json);
    free(uid);
}

/* The affine of a NIfTI as nifti_tool prints it (sform when set, else qform). */
static char *nifti_affine(const char *path)
{
    char *code = run_capture("nifti_tool -disp_hdr -field sform_code -infiles '%s' | tail -1 | awk '{print $NF}'", path);
    int sform = code && atoi(code) > 0;
    free(code);
    return run_capture("nifti_tool -disp_nim -field %s -field dim -infiles '%s' | tail -2 | "
                       "awk '{for(i=4;i<=NF;i++) printf \"%%g \", $i+0; print \"\"}'",
                       sform ? "sto_xyz" : "qto_xyz", path);
}

static void predict_nifti_keeps_the_source_affine(void)
{
    char out[4200], mask[4400];
    snprintf(out, sizeof out, "%s/nii", test_tmpdir());
    const char *src = shared_path("data/nifti/anatomical.nii");
    int rc = run_cmd("'%s' predict '%s' '%s' -o '%s' --overlays -q > /dev/null", c2seg_bin(), ckpt_ct, src, out);
    CHECK_MSG(rc == 0, "exit %d", rc);
    snprintf(mask, sizeof mask, "%s/anatomical_mask.nii.gz", out);
    CHECK(file_exists(out, "anatomical_mask.nii.gz"));
    /* the overlay of a volume is a strip of its lesion slices: anatomical_label.nii.gz marks
     * slice k = 12 only (nibabel), so slice 13 (1-based) is in it, with green (ground truth)
     * pixels; the PNG is n thumbnails of 96 px with 2 px gaps (tests/io/overlay_strip_check.py) */
    char *v = run_capture("python3 '%s/tests/io/overlay_strip_check.py' '%s' '%s'", getenv("C2SEG_SOURCE"),
        out, shared_path("data/nifti/anatomical_label.nii.gz"));
    CHECK_MSG(v && strncmp(v, "ok", 2) == 0, "%s", v ? v : "");
    free(v);
    if (!have_tool("nifti_tool"))
        return;
    char *a = nifti_affine(src), *b = nifti_affine(mask);
    CHECK_MSG(a && b && strcmp(a, b) == 0, "source %s mask %s", a ? a : "", b ? b : "");
    free(a);
    free(b);
    char *json = run_capture("cat '%s/predictions.json'", out);
    CHECK(json && strstr(json, "anatomical_label.nii.gz") != NULL); /* ingest's mask pairing */
    CHECK(json && strstr(json, "\"dice\":\t") != NULL);
    free(json);
}

/* model_to_source of every sample of an ingested file (at most 8 samples) -> M; count or -1. */
static int ingest_maps(const char *nii, double M[8][3][3])
{
    char h5[4400];
    snprintf(h5, sizeof h5, "%s.h5", nii);
    if (run_cmd("'%s' ingest '%s' --size 32 -o '%s' -q > /dev/null", c2seg_bin(), nii, h5) != 0)
        return -1;
    cache c;
    c2_err e = {0};
    if (cache_read(h5, 1, &c, &e) != C2_OK)
        return -1;
    int n = c.n < 8 ? (int)c.n : 8;
    for (int s = 0; s < n; s++)
        memcpy(M[s], c.samples[s].model_to_source, sizeof M[s]);
    cache_free(&c);
    return n;
}

/* A NIfTI with both sform (code 2) and qform (code 1) set to different matrices (nibabel,
 * tests/io/nifti_two_forms.py): the sform must be the geometry, through ingest (the
 * model-to-source maps equal those of the sform-only file, and differ from the qform-only
 * file's) and through predict (the mask's affine is the sform, as nibabel reads it). */
static void nifti_with_sform_and_qform_uses_the_sform(void)
{
    char dir[4400], nii[4500];
    snprintf(dir, sizeof dir, "%s/two-forms", test_tmpdir());
    const char *src = getenv("C2SEG_SOURCE");
    if (run_cmd("mkdir -p '%s' && /usr/bin/python3 '%s/tests/io/nifti_two_forms.py' write '%s'", dir, src, dir) != 0) {
        CHECK_MSG(0, "nibabel could not write the test files");
        return;
    }
    static double both[8][3][3], sform[8][3][3], qform[8][3][3];
    char p1[4500], p2[4500], p3[4500];
    snprintf(p1, sizeof p1, "%s/both.nii.gz", dir);
    snprintf(p2, sizeof p2, "%s/sform_only.nii.gz", dir);
    snprintf(p3, sizeof p3, "%s/qform_only.nii.gz", dir);
    int n1 = ingest_maps(p1, both), n2 = ingest_maps(p2, sform), n3 = ingest_maps(p3, qform);
    CHECK_MSG(n1 == 3 && n2 == 3 && n3 == 3, "samples %d %d %d", n1, n2, n3);
    if (n1 == 3 && n2 == 3 && n3 == 3) {
        CHECK(memcmp(both, sform, 3 * sizeof both[0]) == 0);
        CHECK(memcmp(both, qform, 3 * sizeof both[0]) != 0);   /* the files do tell the forms apart */
    }
    char out[4500];
    snprintf(out, sizeof out, "%s/predict", dir);
    int rc = run_cmd("'%s' predict '%s' '%s' -o '%s' -q > /dev/null", c2seg_bin(), ckpt_ct, p1, out);
    CHECK_MSG(rc == 0, "exit %d", rc);
    snprintf(nii, sizeof nii, "%s/both_mask.nii.gz", out);
    char *want = run_capture("/usr/bin/python3 '%s/tests/io/nifti_two_forms.py' affine '%s'", src, p1);
    char *got = run_capture("/usr/bin/python3 '%s/tests/io/nifti_two_forms.py' affine '%s'", src, nii);
    CHECK_MSG(want && got && strstr(want, "-2.000000 0.000000 0.000000 40.000000") && strcmp(want, got) == 0,
              "source sform\n%s\nmask affine\n%s", want ? want : "", got ? got : "");
    free(want);
    free(got);
}

/* Sample i of dataset dset [N,S,S] as h5dump prints it (9 significant digits) -> out [S*S];
 * returns the number of values parsed. */
static int h5dump_sample(const char *h5, const char *dset, int64_t i, int S, double *out)
{
    char *text = run_capture("h5dump -d %s -s '%lld,0,0' -c '1,%d,%d' -y -w 0 -O /dev/null -m '%%.9g' '%s' | "
                             "grep -v '\"' | tr -s ', ' '\\n\\n' | grep -E '^-?[0-9]'",
                             dset, (long long)i, S, S, h5);
    int n = 0;
    for (char *p = text, *end; p && *p && n < S * S; p = end) {
        out[n] = strtod(p, &end);
        if (end == p)
            break;
        n++;
    }
    free(text);
    return n;
}

/* cache_pixels reads the samples asked for, in the order asked, as h5dump sees them. */
static void cache_pixels_reads_the_samples_asked(void)
{
    char h5[4400];
    snprintf(h5, sizeof h5, "%s/nii/inputs.h5", test_tmpdir());
    c2_err e = {0};
    cache meta;
    cache_pixels *px = NULL;
    if (cache_read(h5, 0, &meta, &e) != C2_OK || cache_pixels_open(&px, h5, &e) != C2_OK) {
        CHECK_MSG(0, "%s", e.msg);
        return;
    }
    int S = meta.size;
    int64_t idx[2] = {meta.n - 1, meta.n / 2}, bad = meta.n;
    float *img = malloc(sizeof(float) * 2 * S * S);
    uint8_t *msk = malloc((size_t)2 * S * S);
    double *want = malloc(sizeof(double) * S * S);
    CHECK(meta.images == NULL && meta.n > 2);
    CHECK(cache_pixels_read(px, idx, 2, img, msk, &e) == C2_OK);
    int mask_sum = 0;
    for (int k = 0; k < 2; k++) {
        CHECK(h5dump_sample(h5, "/images", idx[k], S, want) == S * S);
        double worst = 0;
        for (int p = 0; p < S * S; p++)
            worst = fmax(worst, fabs(want[p] - img[(size_t)k * S * S + p]));
        CHECK_MSG(worst < 1e-6, "sample %lld: image differs from h5dump by %g", (long long)idx[k], worst);
        CHECK(h5dump_sample(h5, "/masks", idx[k], S, want) == S * S);
        int same = 1;
        for (int p = 0; p < S * S; p++) {
            same &= (int)want[p] == msk[(size_t)k * S * S + p];
            mask_sum += msk[(size_t)k * S * S + p];
        }
        CHECK_MSG(same, "sample %lld: mask differs from h5dump", (long long)idx[k]);
    }
    CHECK(cache_pixels_read(px, &bad, 1, img, NULL, &e) == C2_EINVAL);
    CHECK(strstr(e.msg, "outside") != NULL);
    CHECK_MSG(mask_sum > 0, "the samples compared hold no ground-truth pixel");
    cache_pixels_close(px);
    cache_free(&meta);
    free(img);
    free(msk);
    free(want);
    CHECK(cache_pixels_open(&px, shared_path("data/nifti/anatomical.nii"), &e) != C2_OK);
}

/* A series folder with a truncated extra slice: the study is still predicted from the
 * three readable slices (exit 1: the broken file is reported), the SEG has 3 frames and
 * passes dciodvfy, and predictions.json names the broken file as a missing slice. */
static void predict_series_with_a_truncated_slice_keeps_the_rest(void)
{
    char out[4200];
    snprintf(out, sizeof out, "%s/broken_out", test_tmpdir());
    const char *dir = test_series_copy("broken_series", "data/dicom/ct_series/dcmqi_ct-3slice",
                                       "head -c 200000 01.dcm > 04_truncated.dcm");
    char *log = run_capture("'%s' predict '%s' '%s' -o '%s' -q 2>&1 >/dev/null; echo rc=$?", c2seg_bin(), ckpt_ct,
                            dir, out);
    CHECK_MSG(log && strstr(log, "rc=1") != NULL, "%s", log ? log : "");
    CHECK_MSG(log && strstr(log, "04_truncated.dcm") != NULL, "%s", log ? log : "");
    free(log);
    CHECK(file_exists(out, "CT-series-2.seg.dcm"));
    char *frames = run_capture("dcmdump +P NumberOfFrames '%s/CT-series-2.seg.dcm'", out);
    CHECK_MSG(frames && strstr(frames, "[3]") != NULL, "%s", frames ? frames : "");
    free(frames);
    if (have_tool("dciodvfy")) {
        char *v = run_capture("dciodvfy '%s/CT-series-2.seg.dcm' 2>&1", out);
        CHECK(v && strstr(v, "Segmentation") != NULL);
        CHECK_MSG(v && strstr(v, "Error") == NULL, "%s", v ? v : "");
        free(v);
    }
    char *missing = run_capture("python3 -c \"import json,sys; d=json.load(open(sys.argv[1])); c=d['cases'][0]; "
                                "print(c['status'], len(c['missing_slices']), "
                                "[m['file'].split('/')[-1] for m in c['missing_slices']], "
                                "all(m['reason'] for m in c['missing_slices']))\" '%s/predictions.json'",
                                out);
    CHECK_MSG(missing && strcmp(missing, "ok 1 ['04_truncated.dcm'] True\n") == 0, "%s", missing ? missing : "");
    free(missing);
}

/* Width and height from the PNG IHDR bytes (big-endian at offsets 16 and 20). */
static int png_size(const char *path, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    unsigned char b[24];
    int ok = f && fread(b, 1, 24, f) == 24 && memcmp(b + 1, "PNG", 3) == 0;
    if (f)
        fclose(f);
    *w = ok ? (b[16] << 24) | (b[17] << 16) | (b[18] << 8) | b[19] : 0;
    *h = ok ? (b[20] << 24) | (b[21] << 16) | (b[22] << 8) | b[23] : 0;
    return ok;
}

static void predict_png_masks_have_the_source_size(void)
{
    char out[4200], p[4400];
    snprintf(out, sizeof out, "%s/png", test_tmpdir());
    int rc = run_cmd("'%s' predict '%s' '%s' --captions '%s' -o '%s' --text-decode --overlays -q > /dev/null",
                     c2seg_bin(), ckpt_xray, shared_path("data/qata/valid"),
                     shared_path("data/text/sgseg_qata/annotation.json"), out);
    CHECK_MSG(rc == 0, "exit %d", rc);
    char *list = run_capture("ls '%s/data/qata/valid/images'", getenv("C2SEG_SHARED"));
    int n = 0;
    for (char *name = list ? strtok(list, "\n") : NULL; name; name = strtok(NULL, "\n"), n++) {
        char src[4400];
        int sw, sh, mw, mh;
        snprintf(src, sizeof src, "%s", shared_path("data/qata/valid/images"));
        snprintf(src + strlen(src), sizeof src - strlen(src), "/%s", name);
        snprintf(p, sizeof p, "%s/%.*s_mask.png", out, (int)(strrchr(name, '.') - name), name); /* the stem */
        CHECK(png_size(src, &sw, &sh));
        CHECK_MSG(png_size(p, &mw, &mh) && mw == sw && mh == sh, "%s: %dx%d vs %dx%d", p, mw, mh, sw, sh);
    }
    free(list);
    CHECK(n >= 2);
    char *json = run_capture("cat '%s/predictions.json'", out);
    CHECK(json && strstr(json, "\"consistency_decoded\"") != NULL);
    CHECK(json && strstr(json, "\"dice_decoded\"") != NULL);
    CHECK(json && strstr(json, "annotation.json") != NULL);
    free(json);
}

/* A series named by a hostile SeriesDescription: the SEG is named after it made safe,
 * inside OUTDIR ("../../etc/passwd <x>", SeriesNumber 2 -> "___.._etc_passwd__x__2", worked
 * out by hand: every byte outside [A-Za-z0-9._-] is "_", the two leading dots too). */
static void predict_names_a_series_by_its_description_made_safe(void)
{
    char out[4200];
    snprintf(out, sizeof out, "%s/hostile_out", test_tmpdir());
    const char *dir = test_series_copy("hostile_desc", "data/dicom/ct_series/dcmqi_ct-3slice",
                                       "dcmodify -nb -i '(0008,103e)=../../etc/passwd <x>' *.dcm >/dev/null 2>&1");
    int rc = run_cmd("'%s' predict '%s' '%s' -o '%s' -q > /dev/null", c2seg_bin(), ckpt_ct, dir, out);
    CHECK_MSG(rc == 0, "exit %d", rc);
    CHECK(file_exists(out, "___.._etc_passwd__x__2.seg.dcm"));
    char *n = run_capture("find '%s' -name '*.seg.dcm' | wc -l; find '%s' -name passwd | wc -l", out, test_tmpdir());
    CHECK(n && strcmp(n, "1\n0\n") == 0); /* one SEG, and no file named passwd anywhere */
    free(n);
}

/* CT volumes get the severity check (lung from the source HU, lesion from the written mask,
 * statement from the text): two NIfTI volumes and one DICOM series of the sample cohort with
 * a text stating CT-2, judged by tests/io/severity_check.py (nibabel / pydicom, the
 * generator's HU bands); a 2D image gets no record. */
static void predict_ct_volumes_get_a_severity_record(void)
{
    char sd[4200], out[4200];
    snprintf(sd, sizeof sd, "%s/sample", test_tmpdir());
    snprintf(out, sizeof out, "%s/severity", test_tmpdir());
    CHECK(run_cmd("'%s-sample-data' -o '%s' > /dev/null 2>&1", c2seg_bin(), sd) == 0);
    int rc = run_cmd("'%s' predict '%s' '%s/nifti/case01.nii.gz' '%s/nifti/case02.nii.gz' '%s/dicom/case03/CT' "
                     "-o '%s' --text 'Moderate ground-glass opacities in both lower lobes, CT-2.' -q > /dev/null && "
                     "'%s' report '%s' -q > /dev/null",
                     c2seg_bin(), ckpt_ct, sd, sd, sd, out, c2seg_bin(), out);
    CHECK_MSG(rc == 0, "exit %d", rc);
    char *v = run_capture("python3 '%s/tests/io/severity_check.py' '%s' '%s' 2", getenv("C2SEG_SOURCE"), out, sd);
    CHECK_MSG(v && strncmp(v, "ok 3", 4) == 0, "%s", v ? v : "");
    free(v);
}

static void predict_refuses_another_domain_but_does_the_rest(void)
{
    char out[4200];
    snprintf(out, sizeof out, "%s/mixed", test_tmpdir());
    char *log = run_capture("'%s' predict '%s' '%s' '%s' -o '%s' 2>&1 >/dev/null; echo rc=$?", c2seg_bin(),
                            ckpt_xray, shared_path("data/dicom/ct_series/dcmqi_ct-3slice"),
                            shared_path("data/qata/valid/images"), out);
    CHECK_MSG(log && strstr(log, "refuses 'ct_hu' input") != NULL, "%s", log ? log : "");
    CHECK_MSG(log && strstr(log, "rc=1") != NULL, "%s", log ? log : "");
    free(log);
    CHECK(!file_exists(out, "CT-series-2.seg.dcm"));
    char *json = run_capture("grep -c '\"status\":\t\"ok\"' '%s/predictions.json'", out);
    CHECK(json && atoi(json) >= 2);
    free(json);
    /* nothing usable at all: exit 3 */
    CHECK(run_cmd("'%s' predict '%s' '%s' -o '%s/none' -q 2>/dev/null >/dev/null", c2seg_bin(), ckpt_xray,
                  shared_path("data/dicom/ct_series/dcmqi_ct-3slice"), test_tmpdir()) == 3);
    CHECK(run_cmd("'%s' predict '%s' -o x 2>/dev/null", c2seg_bin(), ckpt_xray) == 2);
}

int main(void)
{
    snprintf(ckpt_ct, sizeof ckpt_ct, "%s/tiny_ct.ckpt", test_tmpdir());
    snprintf(ckpt_xray, sizeof ckpt_xray, "%s/tiny_xray.ckpt", test_tmpdir());
    if (make_checkpoint(ckpt_ct, "ct_hu") || make_checkpoint(ckpt_xray, "xray")) {
        fprintf(stderr, "could not create the test checkpoints\n");
        return 1;
    }
    RUN_TEST(map_blob_lands_in_the_matching_corner);
    RUN_TEST(map_equals_numpy_resampling);
    RUN_TEST(map_nifti_marker_round_trip);
    RUN_TEST(predict_ct_series_writes_a_valid_seg);
    RUN_TEST(predict_takes_the_text_from_the_study_sr);
    RUN_TEST(predict_nifti_keeps_the_source_affine);
    RUN_TEST(nifti_with_sform_and_qform_uses_the_sform);
    RUN_TEST(cache_pixels_reads_the_samples_asked);
    RUN_TEST(predict_series_with_a_truncated_slice_keeps_the_rest);
    RUN_TEST(predict_png_masks_have_the_source_size);
    RUN_TEST(predict_refuses_another_domain_but_does_the_rest);
    RUN_TEST(predict_names_a_series_by_its_description_made_safe);
    RUN_TEST(predict_ct_volumes_get_a_severity_record);
    return test_summary();
}
