/* A DICOM SEG as ground truth (io/seg_truth.c): segment choice by number, code, label
 * and the lesion / infection default; masks placed on the source series compared slice
 * by slice with an independent pydicom judge (tests/io/seg_truth.py) for binary,
 * fractional, overlapping segments, a label map, 1-bit RLE (same mask as uncompressed)
 * and frames without references (placed by position); SEGs that do not land on the
 * given source (another series, shifted positions) fail with the reason. */
#include "io/seg.h"
#include "tests/support/check.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *py(void)
{
    return "/usr/bin/python3";
}

/* Loads seg + source, picks spec, maps; returns rc and fills *mask (malloc'd) and src. */
static int place(const char *seg_path, const char *source, const char *spec, seg_source *src, uint8_t **mask,
                 seg_map_info *info, c2_err *e)
{
    seg_image s;
    *mask = NULL;
    memset(src, 0, sizeof *src);
    int rc = seg_read(seg_path, &s, e);
    if (rc)
        return rc;
    uint8_t *chosen = calloc((size_t)s.n_segments + 1, 1);
    rc = seg_select_segments(&s, spec, chosen, e);
    if (!rc)
        rc = seg_source_load(source, src, e);
    if (!rc) {
        *mask = malloc((size_t)src->rows * src->cols * src->n_slices);
        rc = seg_to_source_mask(&s, chosen, src, *mask, info, e);
    }
    free(chosen);
    seg_image_free(&s);
    return rc;
}

/* Compares the placed mask with seg_truth.py's per-slice count / sum / weighted sum. */
static void check_against_pydicom(const char *name, const char *seg_path, const char *source, const char *spec,
                                  const char *numbers, int want_by_position)
{
    seg_source src;
    uint8_t *mask;
    seg_map_info info = {0};
    c2_err e = {0};
    int rc = place(seg_path, source, spec, &src, &mask, &info, &e);
    CHECK_MSG(rc == 0, "%s: %s", name, e.msg);
    if (rc == 0) {
        char *out = run_capture("%s '%s/tests/io/seg_truth.py' '%s' '%s' '%s'", py(), getenv("C2SEG_SOURCE"), seg_path,
                                source, numbers);
        cJSON *j = out ? cJSON_Parse(out) : NULL;
        const cJSON *sl = j ? cJSON_GetObjectItem(j, "slices") : NULL;
        CHECK_MSG(sl && cJSON_GetArraySize(sl) == src.n_slices, "%s: judge gave %s", name, out ? out : "nothing");
        size_t plane = (size_t)src.rows * src.cols;
        int64_t total = 0;
        for (int k = 0; sl && k < src.n_slices && k < cJSON_GetArraySize(sl); k++) {
            int64_t count = 0, sum = 0, wsum = 0;
            for (size_t i = 0; i < plane; i++) {
                unsigned v = mask[k * plane + i];
                count += v > 0;
                sum += v;
                wsum += (int64_t)v * (int64_t)(i + 1);
            }
            const cJSON *g = cJSON_GetArrayItem(sl, k);
            CHECK_MSG(count == (int64_t)cJSON_GetObjectItem(g, "count")->valuedouble &&
                          sum == (int64_t)cJSON_GetObjectItem(g, "sum")->valuedouble &&
                          wsum == (int64_t)cJSON_GetObjectItem(g, "wsum")->valuedouble,
                      "%s slice %d: count %lld sum %lld wsum %lld, pydicom %s", name, k, (long long)count,
                      (long long)sum, (long long)wsum, cJSON_PrintUnformatted(g));
            total += count;
        }
        CHECK_MSG(total > 0, "%s: empty mask", name);
        CHECK_MSG((info.by_position > 0) == want_by_position, "%s: %d frames placed by position", name,
                  info.by_position);
        cJSON_Delete(j);
        free(out);
    }
    free(mask);
    seg_source_free(&src);
}

static void test_segment_choice(void)
{
    seg_image s;
    c2_err e = {0};
    int rc = seg_read(shared_path("data/dicom/seg/seg_image_ct_binary_overlap.dcm"), &s, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (rc)
        return;
    CHECK(s.n_segments == 2 && s.segments[1].number == 2 && strcmp(s.segments[1].label, "second segment") == 0);
    CHECK(strcmp(s.segments[1].type_code, "421060004") == 0 && strcmp(s.segments[0].category_code, "85756007") == 0);
    uint8_t ch[2];
    CHECK(seg_select_segments(&s, "2", ch, &e) == 0 && !ch[0] && ch[1]);
    CHECK(seg_select_segments(&s, "First Segment", ch, &e) == 0 && ch[0] && !ch[1]);
    CHECK(seg_select_segments(&s, "SCT:421060004", ch, &e) == 0 && !ch[0] && ch[1]);
    CHECK(seg_select_segments(&s, "421060004", ch, &e) == 0 && !ch[0] && ch[1]);
    CHECK(seg_select_segments(&s, "85756007", ch, &e) == 0 && ch[0] && !ch[1]);   /* category of segment 1 */
    CHECK(seg_select_segments(&s, "1, second segment", ch, &e) == 0 && ch[0] && ch[1]);
    CHECK(seg_select_segments(&s, "tumour", ch, &e) == C2_ENOTFOUND && strstr(e.msg, "second segment"));
    /* neither segment is coded as lesion or infection: the default names what there is */
    CHECK(seg_select_segments(&s, NULL, ch, &e) == C2_ENOTFOUND && strstr(e.msg, "lesion or infection") &&
          strstr(e.msg, "421060004"));
    seg_image_free(&s);
    /* dcmqi's SRT-coded "Neoplasm, Primary" (category M-01000) is a lesion by default */
    rc = seg_read(shared_path("data/dicom/sr/dcmqi_sr-example/seg.dcm"), &s, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (!rc) {
        uint8_t one;
        CHECK(seg_select_segments(&s, NULL, &one, &e) == 0 && one == 1);
        CHECK(seg_select_segments(&s, "SRT:M-80003", &one, &e) == 0 && one == 1);
        CHECK(seg_select_segments(&s, "sct:M-80003", &one, &e) == 0 && one == 1);
        seg_image_free(&s);
    }
}

static void test_masks_match_pydicom(void)
{
    const char *ct16 = shared_path("data/dicom/ct_series/pydicom_CT2_16x16");
    const char *ct3 = shared_path("data/dicom/ct_series/dcmqi_ct-3slice");
    check_against_pydicom("binary", shared_path("data/dicom/seg/seg_image_ct_binary.dcm"), ct16, "1", "1", 0);
    check_against_pydicom("fractional", shared_path("data/dicom/seg/seg_image_ct_true_fractional.dcm"), ct16, "1", "1",
                          0);
    check_against_pydicom("overlap 2", shared_path("data/dicom/seg/seg_image_ct_binary_overlap.dcm"), ct16, "2", "2",
                          0);
    check_against_pydicom("overlap merged", shared_path("data/dicom/seg/seg_image_ct_binary_overlap.dcm"), ct16,
                          "1,2", "1,2", 0);
    check_against_pydicom("liver", shared_path("data/dicom/seg/dcmqi_liver.dcm"), ct3, "Liver", "1", 0);
    check_against_pydicom("labelmap", shared_path("data/dicom/seg/sparse-labelmap-ppv5.dcm"),
                          shared_path("data/dicom/odd_size/24x38x3/image"), "Liver", "1", 0);
    check_against_pydicom("odd 23", shared_path("data/dicom/odd_size/23x38x3/seg/label.seg"),
                          shared_path("data/dicom/odd_size/23x38x3/image"), "1", "1", 0);
}

/* 1-bit RLE gives exactly the uncompressed SEG's mask (pydicom cannot read it). */
static void test_rle_same_mask(void)
{
    const char *ct3 = shared_path("data/dicom/ct_series/dcmqi_ct-3slice");
    seg_source a, b;
    uint8_t *ma, *mb;
    c2_err e = {0};
    int ra = place(shared_path("data/dicom/seg/liver_rle.dcm"), ct3, "Liver", &a, &ma, NULL, &e);
    CHECK_MSG(ra == 0, "%s", e.msg);
    int rb = place(shared_path("data/dicom/seg/dcmqi_liver.dcm"), ct3, "Liver", &b, &mb, NULL, &e);
    CHECK_MSG(rb == 0, "%s", e.msg);
    if (!ra && !rb)
        CHECK(memcmp(ma, mb, (size_t)a.rows * a.cols * a.n_slices) == 0);
    free(ma), free(mb);
    seg_source_free(&a), seg_source_free(&b);
}

/* Frames without Derivation Image land by Frame of Reference + position; shifted by 1 mm
 * they land nowhere and the SEG is refused. */
static void test_position_fallback(void)
{
    const char *seg = shared_path("data/dicom/seg/seg_image_ct_binary.dcm");
    const char *ct16 = shared_path("data/dicom/ct_series/pydicom_CT2_16x16");
    const char *noref = tmp_path("noref.dcm"), *shifted = tmp_path("shifted.dcm");
    int rc = run_cmd("%s -c 'import pydicom,sys\n"
                     "d=pydicom.dcmread(sys.argv[1])\n"
                     "for g in d.PerFrameFunctionalGroupsSequence: del g.DerivationImageSequence\n"
                     "d.save_as(sys.argv[2])\n"
                     "for g in d.PerFrameFunctionalGroupsSequence:\n"
                     "  p=g.PlanePositionSequence[0]; p.ImagePositionPatient=[p.ImagePositionPatient[0], "
                     "p.ImagePositionPatient[1], float(p.ImagePositionPatient[2])+1]\n"
                     "d.save_as(sys.argv[3])' '%s' '%s' '%s'",
                     py(), seg, noref, shifted);
    CHECK(rc == 0);
    check_against_pydicom("by position", noref, ct16, "1", "1", 1);
    seg_source src;
    uint8_t *m;
    c2_err e = {0};
    /* segment 1 is "first segment" (not a lesion): pick it by number */
    CHECK(place(shifted, ct16, "1", &src, &m, NULL, &e) == C2_EMISMATCH);
    CHECK_MSG(strstr(e.msg, "lands on no source slice") != NULL, "%s", e.msg);
    free(m);
    seg_source_free(&src);
}

/* A SEG given another series than its source is refused, never guessed. */
static void test_wrong_source_refused(void)
{
    seg_source src;
    uint8_t *m;
    c2_err e = {0};
    /* the 23x38x3 SEG references the single-frame images, not mf.dcm's frames */
    CHECK(place(shared_path("data/dicom/odd_size/23x38x3/seg/label.seg"),
                shared_path("data/dicom/odd_size/23x38x3/multiframe/mf.dcm"), "1", &src, &m, NULL,
                &e) == C2_EMISMATCH);
    CHECK_MSG(strstr(e.msg, "that the source series does not hold") != NULL, "%s", e.msg);
    free(m);
    seg_source_free(&src);
    /* another grid */
    CHECK(place(shared_path("data/dicom/seg/dcmqi_liver.dcm"), shared_path("data/dicom/odd_size/24x38x3/image"),
                "Liver", &src, &m, NULL, &e) == C2_EMISMATCH);
    CHECK_MSG(strstr(e.msg, "not on the source grid") != NULL, "%s", e.msg);
    free(m);
    seg_source_free(&src);
}

int main(void)
{
    RUN_TEST(test_segment_choice);
    RUN_TEST(test_masks_match_pydicom);
    RUN_TEST(test_rle_same_mask);
    RUN_TEST(test_position_fallback);
    RUN_TEST(test_wrong_source_refused);
    return test_summary();
}
