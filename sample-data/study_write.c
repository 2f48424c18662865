/* One study's files: the CT series as DICOM, the report as an SR, the same volume and its
 * lesion mask as NIfTI, the lesion slices as a QaTa-style PNG set, and the ground truth
 * as JSON. All of them come from one rendering of the volume, so they agree voxel for
 * voxel; only the PNGs are windowed (lung window, 8-bit). */
#include "sample-data/sample.h"

#include "dicom-sr/dicom_sr.h"
#include "io/io.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <nifti1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lung window of the PNGs (and ingest's default): centre -600 HU, width 1500 HU. */
#define PNG_WINDOW_CENTER (-600.0)
#define PNG_WINDOW_WIDTH 1500.0

typedef struct study_volume {
    int16_t *hu;        /* [n_slices][H][W], HU; slice 0 = most cranial */
    uint8_t *mask;      /* [n_slices][H][W], 0/1 */
    uint8_t *zones;     /* [n_slices][6], known zones, image convention */
} study_volume;

static void study_volume_free(study_volume *v)
{
    free(v->hu);
    free(v->mask);
    free(v->zones);
}

static int study_render(const sample_cohort *c, const sample_study *s, study_volume *v, c2_err *e)
{
    int64_t H = c->size, W = c->size, n = c->n_slices;
    memset(v, 0, sizeof *v);
    int rc = c2_check_dims(e, s->name, n, H, W, sizeof(int16_t));
    if (rc)
        return rc;
    v->hu = malloc((size_t)(n * H * W) * sizeof *v->hu);
    v->mask = malloc((size_t)(n * H * W));
    v->zones = malloc((size_t)n * 6);
    if (!v->hu || !v->mask || !v->zones) {
        study_volume_free(v);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for the volume", s->name);
    }
    for (int64_t k = 0; k < n; k++)
        phantom_slice_render(c, s, (int)k, v->hu + k * H * W, v->mask + k * H * W, v->zones + k * 6);
    return C2_OK;
}

static void slice_uid(const sample_cohort *c, const sample_study *s, int k, char out[SAMPLE_UID_LEN])
{
    char what[64];
    snprintf(what, sizeof what, "study %d ct instance %d", s->index, k + 1);
    sample_uid(out, c->seed, what);
}

static int dicom_series_write(const sample_cohort *c, const sample_study *s, const study_volume *v,
                              const char *dir, c2_err *e)
{
    size_t npx = (size_t)c->size * c->size;
    int16_t *stored = malloc(npx * sizeof *stored);
    if (!stored)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", s->name);
    dicom_ct_slice d = {
        .patient_name = s->patient_name, .patient_id = s->patient_id, .patient_birth_date = s->birth_date,
        .patient_sex = s->patient_sex, .study_uid = s->study_uid, .series_uid = s->series_uid,
        .frame_of_reference_uid = s->frame_uid, .study_date = s->study_date, .study_time = s->study_time,
        .study_id = s->study_id, .accession_number = s->accession,
        .study_description = "CT CHEST (c2seg synthetic phantom)", .series_description = "Axial 10 mm",
        .manufacturer = "c2seg", .body_part = "CHEST", .series_number = 1, .rows = c->size, .cols = c->size,
        .pixel_spacing = {c->pixel_mm, c->pixel_mm}, .slice_thickness = c->slice_mm,
        .orientation = {1, 0, 0, 0, 1, 0}, .rescale_slope = 1.0, .rescale_intercept = SAMPLE_RESCALE_INTERCEPT,
        .window_center = PNG_WINDOW_CENTER, .window_width = PNG_WINDOW_WIDTH, .pixels = stored,
    };
    int rc = C2_OK;
    for (int k = 0; k < c->n_slices && rc == C2_OK; k++) {
        char uid[SAMPLE_UID_LEN], path[4096], name[32];
        const int16_t *hu = v->hu + (size_t)k * npx;
        for (size_t i = 0; i < npx; i++)
            stored[i] = (int16_t)(hu[i] - SAMPLE_RESCALE_INTERCEPT);
        slice_uid(c, s, k, uid);
        d.sop_uid = uid;
        d.instance_number = k + 1;
        sample_slice_position(c, k, d.position);
        snprintf(name, sizeof name, "IM%04d.dcm", k + 1);
        c2_path_join(path, sizeof path, dir, name);
        rc = dicom_ct_slice_write(path, &d, e);
    }
    free(stored);
    return rc;
}

/* NIfTI volume and mask: k = 0 is the most caudal slice so that the k axis points to the
 * head (+z in LPS and RAS); i and j follow the DICOM columns and rows. */
static int nifti_pair_write(const sample_cohort *c, const sample_study *s, const study_volume *v, const char *dir,
                            c2_err *e)
{
    int64_t n = c->n_slices;
    size_t npx = (size_t)c->size * c->size;
    int16_t *hu = malloc(npx * (size_t)n * sizeof *hu);
    uint8_t *mask = malloc(npx * (size_t)n);
    if (!hu || !mask) {
        free(hu);
        free(mask);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", s->name);
    }
    for (int64_t k = 0; k < n; k++) {
        memcpy(hu + (size_t)(n - 1 - k) * npx, v->hu + (size_t)k * npx, npx * sizeof *hu);
        memcpy(mask + (size_t)(n - 1 - k) * npx, v->mask + (size_t)k * npx, npx);
    }
    double origin[3];
    sample_slice_position(c, c->n_slices - 1, origin);
    const double affine[4][4] = {
        {c->pixel_mm, 0, 0, origin[0]},
        {0, c->pixel_mm, 0, origin[1]},
        {0, 0, c->slice_mm, origin[2]},
        {0, 0, 0, 1},
    };
    char path[4096], name[64];
    snprintf(name, sizeof name, "%s.nii.gz", s->name);
    c2_path_join(path, sizeof path, dir, name);
    int rc = nifti_volume_write(path, hu, NIFTI_TYPE_INT16, c->size, c->size, n, affine, e);
    if (rc == C2_OK) {
        snprintf(name, sizeof name, "%s_mask.nii.gz", s->name);
        c2_path_join(path, sizeof path, dir, name);
        rc = nifti_volume_write(path, mask, NIFTI_TYPE_UINT8, c->size, c->size, n, affine, e);
    }
    free(hu);
    free(mask);
    return rc;
}

static uint8_t window_8bit(int16_t hu)
{
    double v = (hu - (PNG_WINDOW_CENTER - 0.5 * PNG_WINDOW_WIDTH)) / PNG_WINDOW_WIDTH * 255.0;
    return (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : lrint(v));
}

static int zone_count(const uint8_t z[6])
{
    int n = 0;
    for (int i = 0; i < 6; i++)
        n += z[i] != 0;
    return n;
}

/* SGSeg's per-image fields of a zone vector: caption, pulmonary_infection (0 none,
 * 1 unilateral, 2 bilateral), infected_area (involved zones) and pseudo_label. */
static void sgseg_fields_add(cJSON *o, const uint8_t z[6])
{
    char caption[256];
    caption_of_zones(z, caption, sizeof caption);
    int left = z[0] | z[1] | z[2], right = z[3] | z[4] | z[5];
    int pseudo[6];
    for (int i = 0; i < 6; i++)
        pseudo[i] = z[i] != 0;
    cJSON_AddStringToObject(o, "caption", caption);
    cJSON_AddNumberToObject(o, "pulmonary_infection", left + right);
    cJSON_AddNumberToObject(o, "infected_area", zone_count(z));
    cJSON_AddItemToObject(o, "pseudo_label", cJSON_CreateIntArray(pseudo, 6));
}

/* SGSeg's annotation.json entry; its image_path is the mask's file name, as SGSeg has it. */
static cJSON *annotation_entry(const char *png_name, const uint8_t z[6])
{
    char mask_name[96];
    snprintf(mask_name, sizeof mask_name, "mask_%s", png_name);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "image_path", mask_name);
    sgseg_fields_add(o, z);
    return o;
}

static int png_pair_write(const sample_cohort *c, const study_volume *v, int k, const char *png_dir,
                          const char *png_name, c2_err *e)
{
    size_t npx = (size_t)c->size * c->size;
    uint8_t *img = malloc(npx), *msk = malloc(npx);
    if (!img || !msk) {
        free(img);
        free(msk);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", png_name);
    }
    for (size_t i = 0; i < npx; i++) {
        img[i] = window_8bit(v->hu[(size_t)k * npx + i]);
        msk[i] = v->mask[(size_t)k * npx + i] ? 255 : 0;
    }
    char path[4096], sub[160];
    snprintf(sub, sizeof sub, "images/%s", png_name);
    c2_path_join(path, sizeof path, png_dir, sub);
    int rc = image2d_write_png8(path, img, c->size, c->size, e);
    if (rc == C2_OK) {
        snprintf(sub, sizeof sub, "masks/mask_%s", png_name);
        c2_path_join(path, sizeof path, png_dir, sub);
        rc = image2d_write_png8(path, msk, c->size, c->size, e);
    }
    free(img);
    free(msk);
    return rc;
}

static cJSON *int_array3(int a, int b, int c)
{
    int v[3] = {a, b, c};
    return cJSON_CreateIntArray(v, 3);
}

static cJSON *double_array(const double *v, int n)
{
    return cJSON_CreateDoubleArray(v, n);
}

/* truth/NAME.json: identities, geometry, lesions as designed, per-slice captions (image
 * convention) and the study report (patient convention). */
static cJSON *truth_json(const sample_cohort *c, const sample_study *s, const study_volume *v,
                         const uint8_t study_zones[6], const char *report)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddStringToObject(o, "split", sample_split_name(s->split));
    cJSON_AddStringToObject(o, "patient_id", s->patient_id);
    cJSON_AddStringToObject(o, "study_uid", s->study_uid);
    cJSON_AddStringToObject(o, "series_uid", s->series_uid);
    cJSON_AddStringToObject(o, "frame_of_reference_uid", s->frame_uid);
    cJSON_AddStringToObject(o, "sr_uid", s->sr_uid);
    cJSON *g = cJSON_AddObjectToObject(o, "geometry");
    cJSON_AddItemToObject(g, "rows_cols_slices", int_array3(c->size, c->size, c->n_slices));
    cJSON_AddNumberToObject(g, "pixel_spacing_mm", c->pixel_mm);
    cJSON_AddNumberToObject(g, "slice_spacing_mm", c->slice_mm);
    const double iop[6] = {1, 0, 0, 0, 1, 0};
    cJSON_AddItemToObject(g, "image_orientation_patient", double_array(iop, 6));
    cJSON_AddStringToObject(g, "slice_order", "instance 1 is the most cranial slice; NIfTI k = slices - instance");
    cJSON *conv = cJSON_AddObjectToObject(o, "conventions");
    cJSON_AddStringToObject(conv, "captions", "image");
    cJSON_AddStringToObject(conv, "report", "patient");
    cJSON_AddStringToObject(o, "report", report);
    int zi[6];
    for (int i = 0; i < 6; i++)
        zi[i] = study_zones[i];
    cJSON_AddItemToObject(o, "study_zones_image", cJSON_CreateIntArray(zi, 6));
    cJSON *ls = cJSON_AddArrayToObject(o, "lesions");
    for (int i = 0; i < s->n_lesions; i++) {
        const sample_lesion *l = &s->lesions[i];
        cJSON *lj = cJSON_CreateObject();
        cJSON_AddStringToObject(lj, "side_patient", l->side == SIDE_PATIENT_RIGHT ? "right" : "left");
        cJSON_AddStringToObject(lj, "level", sample_level_name(l->level));
        cJSON_AddItemToObject(lj, "instances", cJSON_CreateIntArray((const int[]){l->k0 + 1, l->k1 + 1}, 2));
        const double centre[2] = {l->cx, l->cy};
        cJSON_AddItemToObject(lj, "centre_fraction_xy", double_array(centre, 2));
        cJSON_AddNumberToObject(lj, "hu", round(l->hu));
        cJSON_AddItemToArray(ls, lj);
    }
    cJSON *sl = cJSON_AddArrayToObject(o, "slices");
    size_t npx = (size_t)c->size * c->size;
    for (int k = 0; k < c->n_slices; k++) {
        const uint8_t *z = v->zones + (size_t)k * 6;
        char uid[SAMPLE_UID_LEN], png[64];
        slice_uid(c, s, k, uid);
        double pos[3];
        sample_slice_position(c, k, pos);
        int64_t fg = 0;
        for (size_t i = 0; i < npx; i++)
            fg += v->mask[(size_t)k * npx + i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "instance", k + 1);
        cJSON_AddStringToObject(e, "sop_uid", uid);
        cJSON_AddItemToObject(e, "image_position_patient", double_array(pos, 3));
        cJSON_AddNumberToObject(e, "lesion_pixels", (double)fg);
        sgseg_fields_add(e, z);
        if (zone_count(z)) {
            snprintf(png, sizeof png, "%s_z%02d.png", s->name, k + 1);
            cJSON_AddStringToObject(e, "png", png);
        } else {
            cJSON_AddNullToObject(e, "png");
        }
        cJSON_AddItemToArray(sl, e);
    }
    return o;
}

/* dicom/NAME/captions.csv: one row per CT slice, MosMedData+'s per-slice captions as
 * GuideDecoder ships them (Image,Description), plus the slice's SOPInstanceUID (ingest keys
 * DICOM slices by it) and a Derivation column saying where the caption came from: the known
 * lesion zones of the slice (image convention), "no pulmonary infection." without lesion. */
static int captions_csv_write(const sample_cohort *c, const sample_study *s, const study_volume *v,
                              const char *path, c2_err *e)
{
    c2_atomic a;
    int rc = c2_atomic_open(&a, path, e);
    if (rc)
        return rc;
    fprintf(a.f, "Image,Description,SOPInstanceUID,Derivation\r\n");
    for (int k = 0; k < c->n_slices; k++) {
        char uid[SAMPLE_UID_LEN], caption[256];
        slice_uid(c, s, k, uid);
        caption_of_zones(v->zones + (size_t)k * 6, caption, sizeof caption);
        fprintf(a.f, "IM%04d.dcm,\"%s\",%s,derived from the known lesion zones (c2seg-sample-data)\r\n", k + 1,
                caption, uid);
    }
    return c2_atomic_commit(&a, e);
}

static int json_write(const char *path, cJSON *o, c2_err *e)
{
    char *text = o ? cJSON_Print(o) : NULL;
    if (!text)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory while formatting JSON", path);
    size_t n = strlen(text);
    text[n] = '\n';   /* replaces the terminator: the file ends with a newline */
    int rc = c2_write_file(path, text, n + 1, e);
    cJSON_free(text);
    return rc;
}

/* TODO(sr): enable when dicom-sr/sr_dcmtk.cc (the "text" engineer's sr_write_basic_text)
 * has landed; until then the report text is only in truth/NAME.json. */
/* The lesion mask as a DICOM SEG of the CT series just written (BINARY, one segment coded
 * Lesion, every slice a frame), reproducible: UIDs from the seed, the study's date / time. */
static int seg_truth_write(const sample_cohort *c, const sample_study *s, const study_volume *v,
                           const char *ct_dir, const char *seg_dir, c2_err *e)
{
    size_t npx = (size_t)c->size * c->size;
    char **files = calloc((size_t)c->n_slices, sizeof *files);
    uint8_t *mask = malloc(npx * (size_t)c->n_slices);
    seg_source src;
    memset(&src, 0, sizeof src);
    int rc = files && mask ? C2_OK : c2_fail(e, C2_ENOMEM, "%s: out of memory", s->name);
    for (int k = 0; k < c->n_slices && rc == C2_OK; k++) {
        char name[32], path[4096];
        snprintf(name, sizeof name, "IM%04d.dcm", k + 1);
        c2_path_join(path, sizeof path, ct_dir, name);
        if (!(files[k] = strdup(path)))
            rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", s->name);
    }
    if (rc == C2_OK)
        rc = seg_source_load_files((const char *const *)files, c->n_slices, &src, e);
    /* the SEG's slices are sorted along the normal: find each one's phantom slice by UID */
    for (int j = 0; j < src.n_slices && rc == C2_OK; j++) {
        int k = 0;
        char uid[SAMPLE_UID_LEN];
        for (; k < c->n_slices; k++) {
            slice_uid(c, s, k, uid);
            if (strcmp(uid, src.slices[j].sop_instance) == 0)
                break;
        }
        if (k == c->n_slices) {
            rc = c2_fail(e, C2_EMISMATCH, "%s: SEG source slice %s is not a phantom slice", s->name,
                         src.slices[j].sop_instance);
            break;
        }
        for (size_t i = 0; i < npx; i++)
            mask[(size_t)j * npx + i] = v->mask[(size_t)k * npx + i] ? 255 : 0;
    }
    if (rc == C2_OK) {
        char series[SAMPLE_UID_LEN], sop[SAMPLE_UID_LEN], dim[SAMPLE_UID_LEN], what[64], path[4096];
        snprintf(what, sizeof what, "study %d seg series", s->index);
        sample_uid(series, c->seed, what);
        snprintf(what, sizeof what, "study %d seg instance", s->index);
        sample_uid(sop, c->seed, what);
        snprintf(what, sizeof what, "study %d seg dimensions", s->index);
        sample_uid(dim, c->seed, what);
        seg_write_opts opt = {.label = "Lesion", .description = "c2seg-sample-data ground truth",
                              .series_uid = series, .sop_uid = sop, .dimension_uid = dim,
                              .content_date = s->study_date, .content_time = s->study_time};
        c2_path_join(path, sizeof path, seg_dir, "truth.seg.dcm");
        rc = seg_write(&src, mask, &opt, path, NULL, e);
    }
    seg_source_free(&src);
    for (int k = 0; files && k < c->n_slices; k++)
        free(files[k]);
    free(files);
    free(mask);
    return rc;
}

#define SAMPLE_WRITE_SR 1

#if SAMPLE_WRITE_SR
static int report_write(const sample_study *s, const char *dir, const char *report, c2_err *e)
{
    char path[4096];
    c2_path_join(path, sizeof path, dir, "report.dcm");
    sr_write_info info = {
        .study_uid = s->study_uid, .patient_id = s->patient_id, .patient_name = s->patient_name,
        .study_date = s->study_date, .study_time = s->study_time, .study_id = s->study_id,
        .accession = s->accession, .series_uid = s->sr_series_uid, .sop_uid = s->sr_uid,
        .series_number = 2, .instance_number = 1,
    };
    return sr_write_basic_text(path, &info, report, e);
}
#endif

int study_write(const sample_cohort *c, const sample_study *s, const char *out_dir, cJSON *annotation,
                sample_counts *counts, c2_err *e)
{
    char ct_dir[4096], sr_dir[4096], nifti_dir[4096], png_dir[4096], truth_dir[4096], path[4096], seg_dir[4096];
    snprintf(ct_dir, sizeof ct_dir, "%s/dicom/%s/CT", out_dir, s->name);
    snprintf(seg_dir, sizeof seg_dir, "%s/dicom/%s/SEG", out_dir, s->name);
    snprintf(sr_dir, sizeof sr_dir, "%s/dicom/%s/SR", out_dir, s->name);
    snprintf(nifti_dir, sizeof nifti_dir, "%s/nifti", out_dir);
    snprintf(png_dir, sizeof png_dir, "%s/png/%s", out_dir, sample_split_name(s->split));
    snprintf(truth_dir, sizeof truth_dir, "%s/truth", out_dir);
    const char *dirs[] = {ct_dir, nifti_dir, truth_dir, seg_dir, sr_dir};
    for (int i = 0; i < 4 + SAMPLE_WRITE_SR; i++) {
        int rc = c2_mkdirs(dirs[i], e);
        if (rc)
            return rc;
    }
    for (int i = 0; i < 2; i++) {
        c2_path_join(path, sizeof path, png_dir, i ? "masks" : "images");
        int rc = c2_mkdirs(path, e);
        if (rc)
            return rc;
    }
    study_volume v;
    int rc = study_render(c, s, &v, e);
    if (rc)
        return rc;
    uint8_t study_zones[6] = {0};
    for (int k = 0; k < c->n_slices; k++)
        for (int i = 0; i < 6; i++)
            study_zones[i] |= v.zones[k * 6 + i];
    char report[512];
    report_of_zones(study_zones, report, sizeof report);
    rc = dicom_series_write(c, s, &v, ct_dir, e);
    if (rc == C2_OK)
        rc = seg_truth_write(c, s, &v, ct_dir, seg_dir, e);
#if SAMPLE_WRITE_SR
    if (rc == C2_OK)
        rc = report_write(s, sr_dir, report, e);
#endif
    if (rc == C2_OK)
        rc = nifti_pair_write(c, s, &v, nifti_dir, e);
    if (rc == C2_OK && c->slice_captions) {
        snprintf(path, sizeof path, "%s/dicom/%s/captions.csv", out_dir, s->name);
        rc = captions_csv_write(c, s, &v, path, e);
    }
    cJSON *split = cJSON_GetObjectItemCaseSensitive(annotation, sample_split_name(s->split));
    for (int k = 0; k < c->n_slices && rc == C2_OK; k++) {
        const uint8_t *z = v.zones + (size_t)k * 6;
        if (!zone_count(z))
            continue;
        char png[64];
        snprintf(png, sizeof png, "%s_z%02d.png", s->name, k + 1);
        rc = png_pair_write(c, &v, k, png_dir, png, e);
        if (rc == C2_OK) {
            cJSON_AddItemToArray(split, annotation_entry(png, z));
            counts->lesion_slices++;
        }
    }
    if (rc == C2_OK) {
        cJSON *truth = truth_json(c, s, &v, study_zones, report);
        char name[64];
        snprintf(name, sizeof name, "%s.json", s->name);
        c2_path_join(path, sizeof path, truth_dir, name);
        rc = json_write(path, truth, e);
        cJSON_Delete(truth);
    }
    if (rc == C2_OK) {
        counts->slices += c->n_slices;
        counts->reports += SAMPLE_WRITE_SR;
    }
    study_volume_free(&v);
    return rc;
}
