/* pipeline/ingest/ingest_dicom: every file still pending after the slice datasets and NIfTI
 * is probed for DICOM by content. Image objects are grouped into sorted series
 * (io/dicom.h); each slice becomes one sample: CT through the HU window, CR / DX /
 * MG through their VOI LUT or window (dicom_xray_display), other modalities by the
 * series' min / max ("raw"). Padding pixels (NaN) become 0 after the mapping and are
 * counted. SR documents give their report text to the images of their study
 * (pipeline/ingest/ingest_sr.c); a DICOM SEG is the mask of the series it references (io/seg.h:
 * placed by its referenced instances, --label picks the segments); other non-image objects
 * are reported. Series outside the modality / content policy (--modality; time / cine
 * frames) are reported, not ingested; each ingested series' geometry record is kept.
 * Caption tables met in the walk (annotation.json, *.xlsx, *.csv) are not inputs of
 * their own: consumed silently when a slice-dataset layout used them, else with a warning.
 * Threads (base/pool.h, --jobs): the metadata of every pending file is read on the pool (a
 * SEG's frames and an SR's text too, in the same job), then sorted out in file order; a series' slices are decoded (in sandbox workers), mapped, oriented,
 * resized and compressed on the pool and written in slice order by the calling thread, so a
 * series streams (no whole-volume buffer) and the cache is the same for any thread count. The
 * series' NaN count is known after its last slice and set on its first sample afterwards. */
#include "base/pool.h"
#include "pipeline/ingest/ingest_parts.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The geometry record of s (io/dicom.h) as one item of the summary's and the cache's
 * "series_geometry" (when the caller keeps them: c->geometry). */
static void series_geometry_record(ingest_ctx *c, const dicom_series *s)
{
    if (!c->geometry)
        return;
    cJSON *g = cJSON_CreateObject();
    char text[600];
    dicom_series_geometry_text(s, text, sizeof text);
    cJSON_AddStringToObject(g, "series_uid", s->series_uid);
    cJSON_AddStringToObject(g, "modality", s->modality);
    cJSON_AddNumberToObject(g, "slices", s->n_slices);
    if (s->has_positions && s->n_steps > 0) {
        cJSON_AddNumberToObject(g, "spacing_min_mm", s->step_min);
        cJSON_AddNumberToObject(g, "spacing_median_mm", s->slice_spacing);
        cJSON_AddNumberToObject(g, "spacing_max_mm", s->step_max);
        cJSON *st = cJSON_AddArrayToObject(g, "distinct_steps_mm");
        for (int j = 0; j < s->n_steps && j < (int)(sizeof s->steps / sizeof *s->steps); j++)
            cJSON_AddItemToArray(st, cJSON_CreateNumber(s->steps[j]));
        cJSON_AddNumberToObject(g, "distinct_steps", s->n_steps);
    }
    cJSON_AddNumberToObject(g, "tilt_degrees", s->gantry_tilt);
    cJSON_AddStringToObject(g, "tilted_slices", s->is_tilted ? "kept sheared" : "none");
    cJSON_AddNumberToObject(g, "thickness_min_mm", s->thickness_min);
    cJSON_AddNumberToObject(g, "thickness_max_mm", s->thickness_max);
    cJSON_AddNumberToObject(g, "duplicate_positions", s->n_duplicates);
    cJSON_AddNumberToObject(g, "uid_conflicts", s->n_conflicts);
    cJSON_AddStringToObject(g, "text", text);
    cJSON_AddItemToArray(c->geometry, g);
}

/* A DICOM SEG met in the walk: its file and, once read, the series it belongs to. */
typedef struct seg_file {
    int file;                   /* index into c->files */
    seg_image img;
    int series;                 /* index of its source series, -1 while unknown */
} seg_file;

/* The series that SEG g refers to: a frame's Referenced SOP Instance UID, else its
 * Referenced Series, else (frames without references) its Frame of Reference. -1: none. */
static int seg_series_of(const seg_image *g, const dicom_series *series, int n_series, const dicom_object *objs)
{
    for (int f = 0; f < g->n_frames; f++)
        if (g->frames[f].ref_sop_instance[0])
            for (int s = 0; s < n_series; s++)
                for (int k = 0; k < series[s].n_slices; k++)
                    if (!strcmp(objs[series[s].slices[k].object].sop_instance_uid, g->frames[f].ref_sop_instance))
                        return s;
    for (int s = 0; s < n_series && g->ref_series_uid[0]; s++)
        if (!strcmp(series[s].series_uid, g->ref_series_uid))
            return s;
    int any_ref = 0;
    for (int f = 0; f < g->n_frames; f++)
        any_ref |= g->frames[f].ref_sop_instance[0] != 0;
    for (int s = 0; s < n_series && !any_ref && g->for_uid[0]; s++)
        if (!strcmp(series[s].frame_of_reference_uid, g->for_uid))
            return s;
    return -1;
}

/* The ground-truth mask [n_slices, rows, cols] (0 / 255) of series s from the SEGs that
 * refer to it (merged), or NULL; a SEG that cannot be placed is reported, never guessed. */
static uint8_t *series_truth(ingest_ctx *c, const dicom_series *s, int si, const dicom_object *objs, int n_objs,
                             seg_file *segs, int n_segs, char *mask_file, size_t cap)
{
    uint8_t *truth = NULL;
    size_t n = (size_t)s->rows * (size_t)s->cols * (size_t)s->n_slices;
    mask_file[0] = 0;
    for (int i = 0; i < n_segs; i++) {
        if (segs[i].series != si)
            continue;
        ingest_file *f = &c->files[segs[i].file];
        c2_err e = {0};
        seg_source src;
        uint8_t *chosen = calloc((size_t)segs[i].img.n_segments + 1, 1), *m = malloc(n);
        int rc = chosen && m ? C2_OK : c2_fail(&e, C2_ENOMEM, "out of memory");
        if (rc == C2_OK)
            rc = seg_select_segments(&segs[i].img, c->seg_label, chosen, &e);
        if (rc == C2_OK && (rc = seg_source_from_series(s, objs, n_objs, &src, &e)) == C2_OK) {
            rc = seg_to_source_mask(&segs[i].img, chosen, &src, m, NULL, &e);
            seg_source_free(&src);
        }
        if (rc == C2_OK && !truth) {
            truth = m;
            m = NULL;
            snprintf(mask_file, cap, "%s", f->path);
        } else if (rc == C2_OK) {
            for (size_t k = 0; k < n; k++)
                truth[k] = m[k] > truth[k] ? m[k] : truth[k];
        }
        free(m);
        free(chosen);
        if (rc == C2_OK)
            ingest_done(c, f, FILE_CONSUMED);
        else
            ingest_report(c, f, e.msg);
    }
    return truth;
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

/* The series' unit mapping: CT through the HU window, CR / DX / MG through their display
 * mapping, anything else by the series' min / max of finite values ("raw", two passes). */
enum { UNIT_CT, UNIT_XRAY, UNIT_RAW };

/* The work on one series, shared by its slice jobs (read-only while a pass runs). */
typedef struct series_work {
    ingest_ctx *c;
    const dicom_series *s;
    const dicom_object *objs;
    const int *file_of;
    float *const *planes;       /* [object]: frame 0 decoded in the metadata pass, or NULL */
    const int64_t *over;        /* [object]: > 0 when its decode does not fit --max-memory alone */
    int unit;
    orient_plan plan;
    int pass;                   /* UNIT_RAW: 0 = min / max, 1 = the samples */
    float lo, hi;               /* UNIT_RAW: the series' finite range (pass 0's result) */
    uint8_t *ok;                /* [n_slices]: the slice decoded (pass 0 of raw, or the one pass) */
    const uint8_t *truth;       /* [n_slices, rows, cols] 0 / 255 from a DICOM SEG, or NULL */
    const char *truth_file;     /* the SEG's path */
    /* the writer's state (done callbacks, calling thread only) */
    int added, rc;
    int64_t first_sample, nonfinite;
    c2_err e;
} series_work;

/* One slice's result: the resized image [S,S] follows the header. */
typedef struct slice_slot {
    int ok;
    int64_t nonfinite;
    float lo, hi;
    c2_err e;
    cache_chunk chunk;          /* the encoded sample (the writer frees it) */
    float image[];              /* [S,S], then the mask [S,S] bytes when the series has a SEG */
} slice_slot;

/* A slice job: decode, map to [0,1], orient and resize in the sandbox worker (only the
 * S x S image comes back), then the SEG mask through the same orientation, and compress.
 * Only the slice's own buffers are allocated, so memory does not grow with the series. */
static void slice_job(void *user, int64_t k, void *slot_mem)
{
    series_work *w = user;
    slice_slot *slot = slot_mem;
    const dicom_slice *sl = &w->s->slices[k];
    const dicom_object *o = &w->objs[sl->object];
    const ingest_ctx *c = w->c;
    int H = w->s->rows, W = w->s->cols, S = c->pp.size;
    int64_t plane = (int64_t)H * W;
    if (w->pass == 1 && w->unit == UNIT_RAW && !w->ok[k])
        return; /* failed in pass 0, already reported */
    if (ingest_stopping(c))
        return; /* a failed write stopped the run: not decoded (slot->ok 0) */
    if (w->over[sl->object]) {  /* left out by the plan: reported, not decoded */
        ingest_over_reason(c, o, w->over[sl->object], &slot->e);
        return;
    }
    dicom_slice_spec sp = {.size = S, .plan = w->plan};
    if (w->unit == UNIT_RAW && w->pass == 0)
        sp.mapping = DICOM_SLICE_RANGE;
    else if (w->unit == UNIT_XRAY)
        sp.mapping = DICOM_SLICE_XRAY;
    else if (w->unit == UNIT_CT)
        sp.mapping = DICOM_SLICE_WINDOW, sp.a = c->pp.window_center, sp.b = c->pp.window_width;
    else
        sp.mapping = DICOM_SLICE_SCALE, sp.a = w->lo, sp.b = w->hi;
    dicom_slice_info info;
    const float *decoded = sl->frame == 0 ? w->planes[sl->object] : NULL;
    if (decoded ? dicom_slice_from_plane(o, decoded, &sp, slot->image, &info, &slot->e) != C2_OK
              : dicom_read_slice_isolated(o, sl->frame, &sp, slot->image, &info, &slot->e) != C2_OK)
        return;
    slot->ok = 1;
    slot->lo = info.lo;
    slot->hi = info.hi;
    slot->nonfinite = info.nonfinite;
    if (sp.mapping == DICOM_SLICE_RANGE)
        return;
    uint8_t *mask = w->truth ? (uint8_t *)(slot->image + (size_t)S * S) : NULL;
    uint8_t *mplane = NULL, *mcanon = NULL;
    if (mask) {   /* the SEG's mask of this slice, 0 / 1, through the same orientation */
        mplane = malloc((size_t)plane);
        mcanon = malloc((size_t)plane);
        if (!mplane || !mcanon) {
            slot->ok = 0;
            c2_fail(&slot->e, C2_ENOMEM, "%s: out of memory for a %dx%d mask", o->path, W, H);
            goto out;
        }
        for (int64_t i = 0; i < plane; i++)
            mplane[i] = w->truth[k * plane + i] >= 128;
        orient_apply_u8(mcanon, mplane, H, W, &w->plan);
        resize_nearest_u8(mask, S, S, mcanon, w->plan.transpose ? W : H, w->plan.transpose ? H : W);
    }
    if (cache_chunk_encode(S, slot->image, mask, &slot->chunk, &slot->e) != C2_OK)
        slot->ok = 0;
out:
    free(mplane);
    free(mcanon);
}

/* Pass 0 of a raw series, in slice order: failures reported, the range merged. */
static void range_done(void *user, int64_t k, void *slot_mem)
{
    series_work *w = user;
    slice_slot *slot = slot_mem;
    w->ok[k] = (uint8_t)slot->ok;
    if (!slot->ok) {
        ingest_file *f = &w->c->files[w->file_of[w->s->slices[k].object]];
        if (f->state == FILE_PENDING)
            ingest_report(w->c, f, slot->e.msg);
        return;
    }
    w->lo = slot->lo < w->lo ? slot->lo : w->lo;
    w->hi = slot->hi > w->hi ? slot->hi : w->hi;
}

/* The samples, in slice order (the calling thread: the one HDF5 writer). */
static void sample_done(void *user, int64_t k, void *slot_mem)
{
    series_work *w = user;
    slice_slot *slot = slot_mem;
    ingest_ctx *c = w->c;
    const dicom_series *s = w->s;
    const dicom_slice *sl = &s->slices[k];
    const dicom_object *o = &w->objs[sl->object];
    if (w->unit != UNIT_RAW)
        w->ok[k] = (uint8_t)slot->ok;
    if (w->unit == UNIT_RAW && w->ok[k] && !slot->ok)
        w->ok[k] = 0; /* decoded in pass 0, failed in pass 1 */
    if (!w->ok[k]) {
        ingest_file *f = &c->files[w->file_of[sl->object]];
        if (f->state == FILE_PENDING)
            ingest_report(c, f, slot->e.msg);
        return;
    }
    if (w->rc != C2_OK) {
        cache_chunk_free(&slot->chunk);
        return;
    }
    int H = s->rows, W = s->cols;
    double orient_m[3][3], model_to_plane[3][3];
    orient_model_to_source(orient_m, H, W, &w->plan);
    orient_m[2][2] = 0; /* a2 = 0: the frame's own pixel grid */
    int Hc = w->plan.transpose ? W : H, Wc = w->plan.transpose ? H : W;
    resize_model_to_source(model_to_plane, c->pp.size, Hc, Wc);
    cache_sample m = {0};
    mat3_mul(m.model_to_source, orient_m, model_to_plane);
    m.model_to_source[2][2] = 0;
    m.has_patient_geometry = slice_geometry(m.source_to_patient, s, sl);
    m.file = o->path;
    m.study_uid = o->study_uid;
    m.series_uid = o->series_uid;
    m.sop_uid = o->sop_instance_uid;
    m.frame = sl->frame;
    m.slice_index = (int)k;
    m.case_id = o->patient_id[0] ? o->patient_id : o->study_uid;
    m.modality = o->modality;
    m.domain = w->unit == UNIT_XRAY ? "xray" : w->unit == UNIT_CT ? "ct_hu" : "raw";
    m.source_rows = H;
    m.source_cols = W;
    m.has_mask = w->truth != NULL;
    m.mask_file = w->truth ? w->truth_file : NULL;
    ingest_sr_attach(c, &m);
    char caption_source[4400];
    ingest_slice_caption_attach(c, &m, caption_source, sizeof caption_source);
    if (w->added == 0)
        w->first_sample = cache_writer_count(c->writer);
    w->rc = ingest_add_chunk(c, &m, &slot->chunk, &w->e);
    cache_chunk_free(&slot->chunk);
    w->nonfinite += slot->nonfinite;
    c->n_slices++;
    w->added++;
}

/* One series: decoded, mapped and resized slice by slice on the pool; written in order. */
static int series_ingest(ingest_ctx *c, const dicom_series *s, const dicom_object *objs, const int *file_of,
                         float *const *planes, const int64_t *over, const uint8_t *truth, const char *truth_file,
                         c2_err *e)
{
    int H = s->rows, W = s->cols, S = c->pp.size;
    const char *first = objs[s->slices[0].object].path;
    int rc = c2_check_dims(e, first, 1, H, W, sizeof(float));
    if (rc != C2_OK)
        return rc;
    series_work w;
    memset(&w, 0, sizeof w);
    w.c = c;
    w.s = s;
    w.objs = objs;
    w.file_of = file_of;
    w.planes = planes;
    w.over = over;
    w.truth = truth;
    w.truth_file = truth_file;
    w.unit = s->is_xray ? UNIT_XRAY : strcmp(s->modality, "CT") == 0 ? UNIT_CT : UNIT_RAW;
    if (s->has_orientation)
        orient_plan_make(&w.plan, s->orientation, s->orientation + 3);
    w.lo = INFINITY;
    w.hi = -INFINITY;
    w.ok = calloc((size_t)s->n_slices, 1);
    if (!w.ok)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for the series", first);
    size_t slot = sizeof(slice_slot) + (size_t)S * S * sizeof(float) + (truth ? (size_t)S * S : 0);
    slot = (slot + 15) & ~(size_t)15;   /* slots sit side by side: keep the next one aligned */
    if (w.unit == UNIT_RAW)
        rc = c2_pool_map(c->pool, s->n_slices, slot, slice_job, range_done, &w, e);
    w.pass = 1;
    if (rc == C2_OK)
        rc = c2_pool_map(c->pool, s->n_slices, slot, slice_job, sample_done, &w, e);
    if (rc == C2_OK && w.rc != C2_OK)
        rc = c2_fail(e, w.rc, "%s", w.e.msg);
    if (rc == C2_OK && w.added > 0 && w.nonfinite)
        rc = cache_writer_set_nonfinite(c->writer, w.first_sample, w.nonfinite, e);
    c->n_series += rc == C2_OK && w.added > 0;
    free(w.ok);
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

/* The metadata pass: every pending file probed and read (in the sandbox) on the pool,
 * then sorted out in file order by the calling thread. */
typedef struct meta_work {
    ingest_ctx *c;
    const int *todo;            /* pending file indices, in file order */
    dicom_object *objs;
    int *file_of;
    float **planes;             /* [kept object]: its decoded frame 0, or NULL */
    _Atomic int64_t plane_budget; /* bytes of planes the pass may still keep */
    int n;                      /* image objects kept */
    seg_file *segs;             /* DICOM SEGs met: placed once the series are known */
    int n_segs;
} meta_work;

typedef struct meta_slot {
    int table, probed, rc;
    c2_err e;
    dicom_object o;
    float *plane;               /* frame 0 decoded in the same call, or NULL */
    /* a SEG's or an SR's own read, on the pool too (in this thread's worker): the calling
     * thread only files the result, so the metadata pass does not wait on its reads */
    int aux_rc;
    c2_err aux_e;
    seg_image seg;
    sr_document sr;
} meta_slot;

static int name_is_caption_table(const char *path)
{
    const char *name = c2_basename(path);
    return c2_strcasecmp_ascii(name, "annotation.json") == 0 || c2_ends_with_ci(name, ".xlsx") ||
           c2_ends_with_ci(name, ".csv");
}

/* The file's metadata (and frame 0 while the plane budget lasts) into slot. */
static void meta_read(meta_work *w, const char *path, meta_slot *slot)
{
    if ((slot->table = name_is_caption_table(path)) != 0)
        return;
    if (!(slot->probed = dicom_probe(path)))
        return;
    /* a plane of INGEST_PLANE_PIXELS reserved from the budget; what is not kept goes back */
    const int64_t want = INGEST_PLANE_PIXELS * (int64_t)sizeof(float);
    if (atomic_fetch_sub(&w->plane_budget, want) < want) {
        atomic_fetch_add(&w->plane_budget, want);
        slot->rc = dicom_read_meta_isolated(path, &slot->o, &slot->e);
        return;
    }
    slot->rc = dicom_read_meta_plane_isolated(path, &slot->o, &slot->plane, INGEST_PLANE_PIXELS, &slot->e);
    if (slot->rc != C2_OK && slot->rc != C2_ELIMIT) /* the reason as the header read alone gives it */
        slot->rc = dicom_read_meta_isolated(path, &slot->o, &slot->e);
    atomic_fetch_add(&w->plane_budget, want - (slot->plane ? (int64_t)slot->o.rows * slot->o.cols * (int64_t)sizeof(float) : 0));
}

static void meta_job(void *user, int64_t i, void *slot_mem)
{
    meta_work *w = user;
    meta_slot *slot = slot_mem;
    const char *path = w->c->files[w->todo[i]].path;
    meta_read(w, path, slot);
    if (slot->rc == C2_OK && slot->o.kind == DICOM_KIND_SEG)
        slot->aux_rc = seg_read_isolated(path, &slot->seg, &slot->aux_e);
    else if (slot->rc == C2_OK && slot->o.kind == DICOM_KIND_SR)
        slot->aux_rc = sr_read_text_isolated(path, &slot->sr, &slot->aux_e);
}

static void meta_done(void *user, int64_t i, void *slot_mem)
{
    meta_work *w = user;
    meta_slot *slot = slot_mem;
    ingest_ctx *c = w->c;
    int file = w->todo[i];
    ingest_file *f = &c->files[file];
    if (slot->table && (ingest_slice_table_met(c, f) || caption_table_skip(c, f))) {
        ingest_done(c, f, FILE_CONSUMED);
        return;
    }
    if (!slot->probed) {
        struct stat st;
        ingest_report(c, f, stat(f->path, &st) == 0 && st.st_size == 0
                                ? "empty file (0 bytes)"
                                : "not DICOM (by content), NIfTI, or an image of a slice-dataset layout");
        return;
    }
    if (slot->rc != C2_OK) {
        ingest_report(c, f, slot->e.msg);
        return;
    }
    int kind = slot->o.kind;
    if (kind != DICOM_KIND_IMAGE)
        dicom_object_free(&slot->o);
    float *plane = slot->plane;
    slot->plane = NULL;
    if (kind != DICOM_KIND_IMAGE)
        free(plane);
    if (kind == DICOM_KIND_SR) {
        c2_err e = {0};
        c->n_sr_documents++;
        if (slot->aux_rc != C2_OK)
            ingest_report(c, f, slot->aux_e.msg);
        else if (ingest_sr_add(c, file, &slot->sr, &e) != C2_OK)
            ingest_report(c, f, e.msg);
        return;
    }
    if (kind == DICOM_KIND_SEG) {   /* ground truth for a series: placed once the series are known */
        seg_file *g = &w->segs[w->n_segs];
        if (slot->aux_rc != C2_OK) {
            ingest_report(c, f, slot->aux_e.msg);
            return;
        }
        g->img = slot->seg;         /* the kept SEG owns the slot's arrays now */
        g->file = file;
        g->series = -1;
        w->n_segs++;
        return;
    }
    if (kind != DICOM_KIND_IMAGE) {
        const char *why = dicom_object_skip_reason(&slot->o);
        ingest_report(c, f, why ? why : "DICOM object without image pixel data");
        return;
    }
    w->objs[w->n] = slot->o; /* the kept object owns the slot's arrays now */
    w->planes[w->n] = plane;
    w->file_of[w->n++] = file;
}

void ingest_dicom(ingest_ctx *c)
{
    size_t cap = c->n_files ? (size_t)c->n_files : 1;
    dicom_object *objs = calloc(cap, sizeof *objs);
    int *file_of = calloc(cap, sizeof *file_of), *todo = malloc(cap * sizeof *todo);
    seg_file *segs = calloc(cap, sizeof *segs);
    float **planes = calloc(cap, sizeof *planes);
    if (!objs || !file_of || !todo || !segs || !planes) {
        ingest_error(c, "out of memory reading DICOM metadata");
        free(planes);
        free(objs);
        free(file_of);
        free(todo);
        free(segs);
        return;
    }
    int n_todo = 0;
    for (int i = 0; i < c->n_files; i++)
        if (c->files[i].state == FILE_PENDING)
            todo[n_todo++] = i;
    meta_work mw = {.c = c, .todo = todo, .objs = objs, .file_of = file_of, .planes = planes, .segs = segs};
    atomic_init(&mw.plane_budget, INGEST_PLANE_BUDGET);
    c2_err me = {0};
    if (c2_pool_map(c->pool, n_todo, sizeof(meta_slot), meta_job, meta_done, &mw, &me) != C2_OK)
        ingest_error(c, "%s", me.msg);
    free(todo);
    int n = mw.n;
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
    int n_segs = mw.n_segs;
    for (int i = 0; i < n_segs; i++) {
        segs[i].series = seg_series_of(&segs[i].img, series, n_series, objs);
        if (segs[i].series < 0) {
            char why[400];
            snprintf(why, sizeof why, "DICOM SEG whose source series%s%s is not among the inputs",
                     segs[i].img.ref_series_uid[0] ? " " : "", segs[i].img.ref_series_uid);
            ingest_report(c, &c->files[segs[i].file], why);
        }
    }
    /* --max-memory: the jobs that fit the largest slice decode, now that the headers are read;
     * a slice that does not fit even alone is reported (over), the rest go on */
    uint8_t *has_truth = calloc(n_series ? (size_t)n_series : 1, 1);
    int64_t *over = calloc(n ? (size_t)n : 1, sizeof *over);
    for (int i = 0; i < n_segs && has_truth; i++)
        if (segs[i].series >= 0)
            has_truth[segs[i].series] = 1;
    if (!has_truth || !over)
        c->abort_rc = c2_fail(&c->abort_e, C2_ENOMEM, "out of memory planning the DICOM series");
    else
        c->abort_rc = ingest_plan_decode(c, series, n_series, objs, has_truth, over, &c->abort_e);
    free(has_truth);
    for (int s = 0; s < n_series && !c->abort_rc; s++) {
        c2_err se = {0};
        char truth_file[4096], why[300];
        int fits = 0;           /* slices whose decode fits --max-memory */
        for (int k = 0; k < series[s].n_slices; k++)
            fits += !over[series[s].slices[k].object];
        if (dicom_series_policy(&series[s], objs, c->modalities, why, sizeof why) || !fits) {
            for (int k = 0; k < series[s].n_slices; k++) {
                int obj = series[s].slices[k].object;
                ingest_file *f = &c->files[file_of[obj]];
                if (f->state == FILE_PENDING && !fits)
                    ingest_over_reason(c, &objs[obj], over[obj], &se);
                if (f->state == FILE_PENDING)
                    ingest_report(c, f, fits ? why : se.msg);
            }
            for (int i = 0; i < n_segs; i++)
                if (segs[i].series == s)
                    ingest_report(c, &c->files[segs[i].file], "DICOM SEG of a series that is not ingested");
            continue;
        }
        series_geometry_record(c, &series[s]);
        uint8_t *truth = series_truth(c, &series[s], s, objs, n, segs, n_segs, truth_file, sizeof truth_file);
        c->n_seg_truth += truth != NULL;
        int rc = series_ingest(c, &series[s], objs, file_of, planes, over, truth, truth_file, &se);
        free(truth);
        for (int k = 0; k < series[s].n_slices; k++) { /* the series' planes are not needed again */
            free(planes[series[s].slices[k].object]);
            planes[series[s].slices[k].object] = NULL;
        }
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
        if (f->state == FILE_PENDING && !c->abort_rc)
            ingest_report(c, f, "DICOM image not placed in any series");
        dicom_object_free(&objs[k]);
        free(planes[k]);
    }
    free(planes);
    free(over);
    ingest_sr_finish(c);
    ingest_slice_captions_finish(c);
    for (int i = 0; i < n_segs; i++)
        seg_image_free(&segs[i].img);
    free(segs);
    dicom_series_free(series, n_series);
    free(skip);
    free(objs);
    free(file_of);
}
