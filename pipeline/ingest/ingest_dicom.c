/* pipeline/ingest_dicom: every file still pending after the slice datasets and NIfTI
 * is probed for DICOM by content. Image objects are grouped into sorted series
 * (io/dicom.h); each slice becomes one sample: CT through the HU window, CR / DX /
 * MG through their VOI LUT or window (dicom_xray_display), other modalities by the
 * series' min / max ("raw"). Padding pixels (NaN) become 0 after the mapping and are
 * counted. SR documents give their report text to the images of their study
 * (pipeline/ingest/ingest_sr.c); SEG and other non-image objects are reported, not ingested.
 * Caption tables met in the walk (annotation.json, *.xlsx, *.csv) are not inputs of
 * their own: consumed silently when a slice-dataset layout used them, else with a warning. */
#include "pipeline/ingest/ingest_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *kind_reason(dicom_kind k)
{
    switch (k) {
    case DICOM_KIND_SEG: return "DICOM Segmentation object, not an image (SEG files are not ingested)";
    default: return "DICOM object without image pixel data (not an image)";
    }
}

/* Source (row, col, 0, 1) -> LPS mm of one slice; 0 when the series has no geometry. */
static int slice_geometry(double m[4][4], const dicom_series *s, const dicom_slice *sl)
{
    memset(m, 0, 16 * sizeof(double));
    if (!s->has_orientation || !s->has_positions || !s->has_pixel_spacing || s->spacing_is_imager)
        return 0;
    for (int r = 0; r < 3; r++) {
        m[r][0] = s->orientation[3 + r] * s->pixel_spacing[0]; /* down the rows: column cosines x row spacing */
        m[r][1] = s->orientation[r] * s->pixel_spacing[1];     /* along a row: row cosines x column spacing */
        m[r][2] = s->normal[r];
        m[r][3] = sl->position[r];
    }
    m[3][3] = 1;
    return 1;
}

/* Modality values of the whole series [n,H,W] -> [0,1] in place. Returns NaN count. */
static int64_t series_to_unit(const ingest_ctx *c, const dicom_series *s, const dicom_object *objs, float *v,
                              int64_t plane)
{
    int64_t n = plane * s->n_slices, nonfinite = 0;
    const char *mod = s->modality;
    if (s->is_xray) {
        for (int k = 0; k < s->n_slices; k++)
            dicom_xray_display(&objs[s->slices[k].object], v + k * plane, v + k * plane, (int)plane);
    } else if (strcmp(mod, "CT") == 0) {
        for (int64_t i = 0; i < n; i++)
            if (isfinite(v[i]))
                window_apply(v + i, v + i, 1, c->pp.window_center, c->pp.window_width);
    } else {
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < n; i++)
            if (isfinite(v[i])) {
                lo = v[i] < lo ? v[i] : lo;
                hi = v[i] > hi ? v[i] : hi;
            }
        for (int64_t i = 0; i < n; i++)
            if (isfinite(v[i]))
                intensity_scale(v + i, v + i, 1, lo, hi);
    }
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            v[i] = 0;
            nonfinite++;
        }
    return nonfinite;
}

/* Reads every slice of s into v [n,H,W]; a slice that fails is reported against its
 * file, marked in ok[k] = 0 and left as NaN, so one broken file does not lose the rest. */
static void series_read_slices(ingest_ctx *c, const dicom_series *s, const dicom_object *objs, const int *file_of,
                               float *v, int64_t plane, uint8_t *ok)
{
    for (int k = 0; k < s->n_slices; k++) {
        const dicom_slice *sl = &s->slices[k];
        c2_err e = {0};
        ok[k] = dicom_read_frames_isolated(&objs[sl->object], sl->frame, 1, v + k * plane, &e) == C2_OK;
        if (!ok[k]) {
            for (int64_t i = 0; i < plane; i++)
                v[k * plane + i] = NAN;
            ingest_file *f = &c->files[file_of[sl->object]];
            if (f->state == FILE_PENDING)
                ingest_report(c, f, e.msg);
        }
    }
}

static int series_ingest(ingest_ctx *c, const dicom_series *s, const dicom_object *objs, const int *file_of,
                         c2_err *e)
{
    int H = s->rows, W = s->cols, S = c->pp.size;
    const char *first = objs[s->slices[0].object].path;
    int rc = c2_check_dims(e, first, s->n_slices, H, W, sizeof(float));
    if (rc != C2_OK)
        return rc;
    int64_t plane = (int64_t)H * W;
    float *v = malloc((size_t)(plane * s->n_slices) * sizeof *v), *canon = malloc((size_t)plane * sizeof *canon);
    float *image = malloc((size_t)S * S * sizeof *image);
    uint8_t *ok = malloc((size_t)s->n_slices);
    if (!v || !canon || !image || !ok)
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory for the series", first);
    int added = 0;
    if (rc == C2_OK) {
        series_read_slices(c, s, objs, file_of, v, plane, ok);
        int64_t nonfinite = series_to_unit(c, s, objs, v, plane);
        orient_plan plan = {0};
        if (s->has_orientation)
            orient_plan_make(&plan, s->orientation, s->orientation + 3);
        double orient_m[3][3];
        orient_model_to_source(orient_m, H, W, &plan);
        orient_m[2][2] = 0; /* a2 = 0: the frame's own pixel grid */
        int Hc = plan.transpose ? W : H, Wc = plan.transpose ? H : W;
        const char *domain = s->is_xray ? "xray" : strcmp(s->modality, "CT") == 0 ? "ct_hu" : "raw";
        for (int k = 0; k < s->n_slices && rc == C2_OK; k++) {
            if (!ok[k])
                continue;
            const dicom_slice *sl = &s->slices[k];
            const dicom_object *o = &objs[sl->object];
            orient_apply_f32(canon, v + k * plane, H, W, &plan);
            cache_sample m = {0};
            double model_to_plane[3][3];
            ingest_resize(c, canon, NULL, Hc, Wc, image, NULL, model_to_plane);
            mat3_mul(m.model_to_source, orient_m, model_to_plane);
            m.model_to_source[2][2] = 0;
            m.has_patient_geometry = slice_geometry(m.source_to_patient, s, sl);
            m.file = o->path;
            m.study_uid = o->study_uid;
            m.series_uid = o->series_uid;
            m.sop_uid = o->sop_instance_uid;
            m.frame = sl->frame;
            m.slice_index = k;
            m.case_id = o->patient_id[0] ? o->patient_id : o->study_uid;
            m.modality = o->modality;
            m.domain = domain;
            m.source_rows = H;
            m.source_cols = W;
            m.nonfinite_count = added == 0 ? nonfinite : 0;
            ingest_sr_attach(c, &m);
            rc = ingest_add(c, &m, image, NULL, e);
            c->n_slices++;
            added++;
        }
        c->n_series += rc == C2_OK && added > 0;
    }
    free(v);
    free(canon);
    free(image);
    free(ok);
    return rc;
}

/* 1 when f is a caption table (by name); says whether a layout used it. */
static int caption_table_skip(ingest_ctx *c, const ingest_file *f)
{
    const char *name = c2_basename(f->path);
    if (c2_strcasecmp_ascii(name, "annotation.json") != 0 && !c2_ends_with_ci(name, ".xlsx") &&
        !c2_ends_with_ci(name, ".csv"))
        return 0;
    for (int i = 0; i < c->n_tables; i++) {
        struct stat st;
        if (c->tables[i].table && stat(c->tables[i].path, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino)
            return 1;
    }
    ingest_warn(c, "%s: caption table not used (no image of a slice-dataset layout beside it, no --captions)", f->path);
    return 1;
}

void ingest_dicom(ingest_ctx *c)
{
    dicom_object *objs = calloc(c->n_files ? c->n_files : 1, sizeof *objs);
    int *file_of = calloc(c->n_files ? c->n_files : 1, sizeof *file_of);
    int n = 0;
    if (!objs || !file_of) {
        ingest_error(c, "out of memory reading DICOM metadata");
        free(objs);
        free(file_of);
        return;
    }
    for (int i = 0; i < c->n_files; i++) {
        ingest_file *f = &c->files[i];
        if (f->state != FILE_PENDING)
            continue;
        if (caption_table_skip(c, f)) {
            ingest_done(c, f, FILE_CONSUMED);
            continue;
        }
        if (!dicom_probe(f->path)) {
            ingest_report(c, f, "not DICOM (by content), NIfTI, or an image of a slice-dataset layout");
            continue;
        }
        c2_err e = {0};
        if (dicom_read_meta_isolated(f->path, &objs[n], &e) != C2_OK) {
            ingest_report(c, f, e.msg);
            continue;
        }
        int kind = objs[n].kind;
        if (kind != DICOM_KIND_IMAGE)
            dicom_object_free(&objs[n]);
        if (kind == DICOM_KIND_SR) {
            if (ingest_sr_add(c, i, &e) != C2_OK)
                ingest_report(c, f, e.msg);
            continue;
        }
        if (kind != DICOM_KIND_IMAGE) {
            ingest_report(c, f, kind_reason(kind));
            continue;
        }
        file_of[n++] = i;
    }
    dicom_series *series = NULL;
    int n_series = 0;
    char(*skip)[160] = calloc(n ? n : 1, sizeof *skip);
    c2_err e = {0};
    if (!skip || dicom_series_group(objs, n, &series, &n_series, skip, &e) != C2_OK) {
        ingest_error(c, "grouping DICOM series: %s", skip ? e.msg : "out of memory");
        n_series = 0;
    }
    for (int k = 0; k < n && skip; k++)
        if (skip[k][0])
            ingest_report(c, &c->files[file_of[k]], skip[k]);
    for (int s = 0; s < n_series; s++) {
        c2_err se = {0};
        int rc = series_ingest(c, &series[s], objs, file_of, &se);
        for (int k = 0; k < series[s].n_slices; k++) {
            ingest_file *f = &c->files[file_of[series[s].slices[k].object]];
            if (f->state != FILE_PENDING)
                continue;
            if (rc == C2_OK)
                ingest_done(c, f, FILE_DONE);
            else
                ingest_report(c, f, se.msg);
        }
    }
    for (int k = 0; k < n; k++) {
        ingest_file *f = &c->files[file_of[k]];
        if (f->state == FILE_PENDING)
            ingest_report(c, f, "DICOM image not placed in any series");
        dicom_object_free(&objs[k]);
    }
    ingest_sr_finish(c);
    dicom_series_free(series, n_series);
    free(skip);
    free(objs);
    free(file_of);
}
