/* Series hygiene of the one reference-series reader (io/dicom_instances.c,
 * io/dicom_series.c, io/seg_source.c), on folders built at test time from
 * ../shared/data: a partial copy of a slice (same SOP Instance UID, cut inside Pixel
 * Data), an exact copy under another name, and different content under one UID; then
 * the geometry record of a synthetic tilted series with uneven steps and 4 / 7 mm
 * slices written by pydicom (expected values are the ones the generator wrote).
 * `c2seg export --reference` and `c2seg ingest` are run on the same folders. */
#include "io/dicom.h"
#include "io/seg.h"
#include "tests/support/check.h"

#include <stdlib.h>
#include <string.h>

static const char *ct3(void)
{
    return shared_path("data/dicom/ct_series/dcmqi_ct-3slice");
}

/* A fresh folder T/name holding the 3-slice CT plus what `extra` (shell) adds. */
static const char *make_folder(const char *name, const char *extra)
{
    return test_series_copy(name, "data/dicom/ct_series/dcmqi_ct-3slice", extra);
}

/* One folder read and grouped: the objects that parsed, the series, and each object's
 * reason for being left out ("" when used). */
typedef struct grouped {
    dicom_object objs[8];
    char why[8][160];
    dicom_series *s;
    int n, ns, unreadable;
} grouped;

/* Reads every file of dir in name order and groups them into g. */
static void group_folder(const char *dir, grouped *g)
{
    char *list = run_capture("ls '%s' | sort", dir);
    g->n = g->ns = g->unreadable = 0;
    g->s = NULL;
    for (char *save = NULL, *t = strtok_r(list, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, t);
        c2_err e = {0};
        if (dicom_read_meta(p, &g->objs[g->n], &e) == C2_OK)
            g->n++;
        else
            g->unreadable++;
    }
    free(list);
    c2_err e = {0};
    CHECK(dicom_series_group(g->objs, g->n, &g->s, &g->ns, g->why, &e) == C2_OK);
}

static void grouped_free(grouped *g)
{
    for (int i = 0; i < g->n; i++)
        dicom_object_free(&g->objs[i]);
    dicom_series_free(g->s, g->ns);
}

/* The reason of the object named base (NULL when it did not parse). */
static const char *reason_of(const grouped *g, const char *base)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(c2_basename(g->objs[i].path), base) == 0)
            return g->why[i];
    return NULL;
}

/* exact copy and partial copy (that still parses: cut 64 bytes short, and one cut in the
 * middle of Pixel Data that does not): one series of 3 slices, the copies have reasons */
static void test_copies(void)
{
    const char *dir = make_folder("copies", "cp 03.dcm zz_same_as_03 && head -c -64 02.dcm > a_cut02.dcm && "
                                            "head -c 300000 01.dcm > b_cut01.dcm");
    grouped g;
    group_folder(dir, &g);
    CHECK_MSG(g.ns == 1 && g.s[0].n_slices == 3 && g.s[0].n_duplicates == 0, "%d series, %d slices", g.ns,
              g.ns ? g.s[0].n_slices : 0);
    const char *r = reason_of(&g, "zz_same_as_03");
    CHECK_MSG(r && strstr(r, "exact copy of 03.dcm"), "%s", r ? r : "(not read)");
    r = reason_of(&g, "a_cut02.dcm");
    if (r)   /* parsed despite the cut: left out as a partial copy of the complete file */
        CHECK_MSG(strstr(r, "partial copy of 02.dcm"), "%s", r);
    CHECK(reason_of(&g, "03.dcm") && !reason_of(&g, "03.dcm")[0]);
    CHECK(reason_of(&g, "02.dcm") && !reason_of(&g, "02.dcm")[0]);
    CHECK(g.unreadable >= 1);   /* b_cut01.dcm: cut inside Pixel Data, not readable */
    grouped_free(&g);

    /* the reader of export: the readable instances are used */
    seg_source src;
    c2_err e = {0};
    int rc = seg_source_load(dir, &src, &e);
    CHECK_MSG(rc == 0 && src.n_slices == 3 && src.n_files == 3, "%s", e.msg);
    if (!rc)
        seg_source_free(&src);
}

/* different pixels under one SOP Instance UID: both out, the series flagged; export
 * refuses. Another header over the same pixels (InstanceNumber edited) is one image. */
static void test_conflict(void)
{
    const char *dir = make_folder("same_image", "/usr/bin/python3 -c 'import pydicom; d=pydicom.dcmread(\"01.dcm\"); "
                                                "d.InstanceNumber=99; d.save_as(\"01_edited.dcm\")'");
    grouped g;
    group_folder(dir, &g);
    CHECK(g.ns == 1 && g.s[0].n_slices == 3 && g.s[0].n_conflicts == 0);
    const char *r = reason_of(&g, "01_edited.dcm");
    CHECK_MSG(r && strstr(r, "same image as 01.dcm"), "%s", r ? r : "(none)");
    grouped_free(&g);
    dir = make_folder("conflict", "/usr/bin/python3 -c 'import pydicom; d=pydicom.dcmread(\"01.dcm\"); "
                                  "b=bytearray(d.PixelData); b[1000]^=1; d.PixelData=bytes(b); d.save_as(\"01_edited.dcm\")'");
    group_folder(dir, &g);
    CHECK_MSG(g.ns == 1 && g.s[0].n_slices == 2 && g.s[0].n_conflicts == 2, "%d series, %d slices, %d conflicts",
              g.ns, g.ns ? g.s[0].n_slices : 0, g.ns ? g.s[0].n_conflicts : 0);
    const char *r1 = reason_of(&g, "01.dcm"), *r2 = reason_of(&g, "01_edited.dcm");
    CHECK(r1 && strstr(r1, "different content") && strstr(r1, "01_edited.dcm"));
    CHECK(r2 && strstr(r2, "different content") && strstr(r2, "01.dcm"));
    grouped_free(&g);
    seg_source src;
    c2_err e = {0};
    CHECK(seg_source_load(dir, &src, &e) == C2_EINVAL && strstr(e.msg, "different content"));
}

/* c2seg export and ingest on a folder with a cut copy and an exact copy: exit 0 / 1, the
 * SEG references the three real slices, the cache holds three slices, each copy reported */
static void test_stages(void)
{
    const char *dir = make_folder("stages", "cp 03.dcm zz_same_as_03 && head -c 300000 02.dcm > 02_copy.dcm");
    const char *mask = tmp_path("mask.nii.gz"), *out = tmp_path("stages.seg.dcm"), *log = tmp_path("export.log");
    /* an all-zero mask on the source affine, by nibabel */
    int rc = run_cmd("/usr/bin/python3 -c 'import sys,os,numpy as np,nibabel as nib,pydicom\n"
                     "ds=sorted([pydicom.dcmread(os.path.join(sys.argv[1],f)) for f in (\"01.dcm\",\"02.dcm\",\"03.dcm\")],"
                     "key=lambda d: float(d.ImagePositionPatient[2]))\n"
                     "sp=[float(v) for v in ds[0].PixelSpacing]; p=[float(v) for v in ds[0].ImagePositionPatient]\n"
                     "dz=float(ds[1].ImagePositionPatient[2])-p[2]\n"
                     "A=np.diag([-sp[1],-sp[0],dz,1.0]); A[0,3]=-p[0]; A[1,3]=-p[1]; A[2,3]=p[2]\n"
                     "m=np.zeros((512,512,3),np.uint8); m[300:310,40:50,1]=1\n"
                     "nib.save(nib.Nifti1Image(m,A),sys.argv[2])' '%s' '%s'",
                     ct3(), mask);
    CHECK(rc == 0);
    rc = run_cmd("'%s' export '%s' --reference '%s' -o '%s' >/dev/null 2>'%s'", c2seg_bin(), mask, dir, out, log);
    char *l = run_capture("cat '%s'", log);
    CHECK_MSG(rc == 0, "export rc %d: %s", rc, l ? l : "");
    CHECK(l && strstr(l, "02_copy.dcm") && strstr(l, "zz_same_as_03") && strstr(l, "exact copy of 03.dcm"));
    free(l);
    char *refs = run_capture("dcmdump -q +P 0008,1155 '%s' | sort | uniq | wc -l", out);
    CHECK_MSG(refs && atoi(refs) == 3, "distinct referenced instances: %s", refs ? refs : "");
    free(refs);

    const char *h5 = tmp_path("stages.h5");
    rc = run_cmd("'%s' ingest '%s' -o '%s' --preset small -q >/dev/null 2>'%s'", c2seg_bin(), dir, h5, log);
    CHECK_MSG(rc == 1, "ingest exit %d (1: some files reported)", rc);
    char *rep = run_capture("cat '%s.report.tsv'", h5);
    CHECK_MSG(rep && strstr(rep, "02_copy.dcm") && strstr(rep, "zz_same_as_03") && strstr(rep, "exact copy"),
              "report: %s", rep ? rep : "");
    free(rep);
    char *cnt = run_capture("h5dump -a n_samples '%s' 2>/dev/null | sed -n 's/.*(0): *//p'", h5);
    CHECK_MSG(cnt && atoi(cnt) == 3, "cache samples: %s", cnt ? cnt : "");
    free(cnt);
}

/* A synthetic tilted series from CT_small: 5 slices at steps 4, 4, 1.1, 7 mm along a
 * line 12 degrees off the normal, slice thickness 4 / 4 / 4 / 7 / 7 mm (pydicom). */
static void test_geometry_record(void)
{
    const char *dir = tmp_path("tilted"), *gen = tmp_path("tilted.py");
    FILE *f = fopen(gen, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("import math, os, sys, pydicom\n"
          "from pydicom.uid import generate_uid\n"
          "src = pydicom.dcmread(sys.argv[1])\n"
          "os.makedirs(sys.argv[2], exist_ok=True)\n"
          "series, z, t = generate_uid(), 0.0, math.radians(12)\n"
          "for k, (step, th) in enumerate(zip((0, 4, 4, 1.1, 7), (4, 4, 4, 7, 7))):\n"
          "    z += step\n"
          "    d = src.copy()\n"
          "    d.SeriesInstanceUID, d.SOPInstanceUID = series, generate_uid()\n"
          "    d.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]\n"
          "    d.ImagePositionPatient = [0, round(z * math.tan(t), 6), round(z, 6)]\n"
          "    d.SliceThickness, d.InstanceNumber = th, k + 1\n"
          "    d.save_as(os.path.join(sys.argv[2], 'z%d.dcm' % (4 - k)))\n",   /* names against the order */
          f);
    fclose(f);
    CHECK(run_cmd("rm -rf '%s' && /usr/bin/python3 '%s' '%s' '%s'", dir, gen,
                  shared_path("data/dicom/ct_single/CT_small.dcm"), dir) == 0);
    grouped g;
    group_folder(dir, &g);
    CHECK(g.ns == 1 && g.n == 5 && g.unreadable == 0);
    if (g.ns == 1) {
        const dicom_series *s = g.s;
        CHECK_NEAR(s->step_min, 1.1, 1e-6);
        CHECK_NEAR(s->slice_spacing, 4.0, 1e-6);
        CHECK_NEAR(s->step_max, 7.0, 1e-6);
        CHECK(s->n_steps == 3);
        CHECK_NEAR(s->steps[0], 1.1, 1e-6);
        CHECK_NEAR(s->steps[1], 4.0, 1e-6);
        CHECK_NEAR(s->steps[2], 7.0, 1e-6);
        CHECK_NEAR(s->gantry_tilt, 12.0, 1e-3);
        CHECK(s->is_tilted);
        CHECK_NEAR(s->thickness_min, 4.0, 1e-9);
        CHECK_NEAR(s->thickness_max, 7.0, 1e-9);
        char text[512];
        CHECK(dicom_series_geometry_text(s, text, sizeof text) == C2_OK);
        CHECK_MSG(strstr(text, "min 1.1 / median 4 / max 7 mm") && strstr(text, "steps 1.1, 4, 7 mm") &&
                      strstr(text, "tilt 12 degrees (kept sheared") && strstr(text, "thickness 4 to 7 mm"),
                  "%s", text);
    }
    grouped_free(&g);
    /* the same record in ingest's JSON summary and in the cache's series_geometry attribute */
    const char *h5 = tmp_path("tilted.h5");
    char *sum = run_capture("'%s' ingest '%s' -o '%s' --size 32 -q 2>/dev/null", c2seg_bin(), dir, h5);
    CHECK_MSG(sum && strstr(sum, "\"spacing_median_mm\":4,") && strstr(sum, "\"distinct_steps\":3") &&
                  strstr(sum, "\"tilt_degrees\":12.0000") && strstr(sum, "\"tilted_slices\":\"kept sheared\"") &&
                  strstr(sum, "\"thickness_min_mm\":4,\"thickness_max_mm\":7"),
              "%s", sum ? sum : "(no summary)");
    free(sum);
    char *attr = run_capture("h5dump -a series_geometry '%s' 2>/dev/null", h5);
    CHECK_MSG(attr && strstr(attr, "spacing_median_mm") && strstr(attr, "thickness_max_mm"), "%s", attr ? attr : "");
    free(attr);
}

/* The modality / content policy: CT and CR in by default, MR only when admitted, and a
 * classic MR Image Storage object with 4 time frames at one position (pydicom, from
 * MR_small.dcm) or emri_small's 10 frames without positions are never slices. */
static void test_policy(void)
{
    const char *mf = tmp_path("mr_multiframe.dcm");
    CHECK(run_cmd("/usr/bin/python3 -c 'import sys, pydicom\n"
                  "d = pydicom.dcmread(sys.argv[1])\n"
                  "d.NumberOfFrames = 4\n"
                  "d.PixelData = d.PixelData * 4\n"
                  "d.save_as(sys.argv[2])' '%s' '%s'",
                  shared_path("data/dicom/compressed/MR_small.dcm"), mf) == 0);
    struct {
        const char *path, *admit, *want;   /* want: NULL admitted, else a piece of the reason */
    } cases[] = {
        {shared_path("data/dicom/ct_single/CT_small.dcm"), NULL, NULL},
        {shared_path("data/dicom/xray/6154"), NULL, NULL},
        {shared_path("data/dicom/compressed/MR_small.dcm"), NULL, "modality MR is not admitted"},
        {shared_path("data/dicom/compressed/MR_small.dcm"), "CT,mr", NULL},
        {mf, NULL, "modality MR is not admitted"},
        {mf, "MR", "4 frames of one object without distinct positions"},
        {shared_path("data/dicom/multiframe/emri_small.dcm"), "all", "10 frames of one object without distinct positions"},
        {shared_path("data/dicom/odd_size/23x38x3/multiframe/mf.dcm"), NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dicom_object o;
        dicom_series *s = NULL;
        int ns = 0;
        c2_err e = {0};
        CHECK_MSG(dicom_read_meta(cases[i].path, &o, &e) == C2_OK, "%s", e.msg);
        CHECK(dicom_series_group(&o, 1, &s, &ns, NULL, &e) == C2_OK && ns == 1);
        if (ns == 1) {
            char why[200];
            const char *r = dicom_series_policy(&s[0], &o, cases[i].admit, why, sizeof why);
            if (cases[i].want)
                CHECK_MSG(r && strstr(r, cases[i].want), "case %zu: %s", i, r ? r : "admitted");
            else
                CHECK_MSG(!r, "case %zu: %s", i, r);
        }
        dicom_series_free(s, ns);
        dicom_object_free(&o);
    }
}

/* A file whose pixels sit in a private element (pydicom moves CT_small's Pixel Data to
 * (7FE1,1010) under a private creator) gets its own reason, not "no Pixel Data". */
static void test_private_pixels(void)
{
    const char *p = tmp_path("private_pixels.dcm");
    CHECK(run_cmd("/usr/bin/python3 -c 'import sys, pydicom\n"
                  "d = pydicom.dcmread(sys.argv[1])\n"
                  "d.private_block(0x7FE1, \"GEMS_Ultrasound_MovieGroup_001\", create=True).add_new(0x10, \"OB\", d.PixelData)\n"
                  "del d.PixelData\n"
                  "d.save_as(sys.argv[2])' '%s' '%s'",
                  shared_path("data/dicom/ct_single/CT_small.dcm"), p) == 0);
    dicom_object o;
    c2_err e = {0};
    CHECK_MSG(dicom_read_meta(p, &o, &e) == C2_OK, "%s", e.msg);
    const char *r = dicom_object_skip_reason(&o);
    CHECK_MSG(r && strcmp(r, "pixel data only in a private element: not decodable") == 0, "%s", r ? r : "(none)");
    CHECK(o.private_pixel_tag == 0x7FE11010u);
    dicom_object_free(&o);
    /* a plain non-image object keeps the general reason */
    CHECK(dicom_read_meta(shared_path("data/dicom/broken/ExplVR_LitEndNoMeta.dcm"), &o, &e) == C2_OK);
    r = dicom_object_skip_reason(&o);
    CHECK_MSG(r && strstr(r, "no Pixel Data"), "%s", r ? r : "(none)");
    dicom_object_free(&o);
}

int main(void)
{
    RUN_TEST(test_private_pixels);
    RUN_TEST(test_policy);
    RUN_TEST(test_copies);
    RUN_TEST(test_conflict);
    RUN_TEST(test_stages);
    RUN_TEST(test_geometry_record);
    return test_summary();
}
