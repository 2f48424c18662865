/* pipeline/predict_case: one case of `c2seg predict` (a DICOM series, a NIfTI volume or a
 * 2D image). Its slices go through the model in batches of opt->batch; each batch's
 * probabilities are mapped onto the source grid at once (predict_map.c), so model-size
 * probabilities never exist for more than one batch. What remains per case is the
 * source-size mask (bytes), the model-size masks of one slice (2D) or the cranio-caudal
 * projection [slices, S] of a volume (for the zones), and a few counters. The cache's
 * pixels are read one batch at a time (cache_pixels), so neither the cohort nor the
 * series length raises the model-size memory.
 * Outputs: DICOM -> SEG (io/seg.h), NIfTI -> mask with the source affine, PNG / JPEG ->
 * PNG mask of the source size; names are the case's (stage_predict.c: the source file's stem, or the series' description and
 * number made a safe name; never a raw tag value). */
#include "pipeline/predict/predict.h"
#include "io/deidentify.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

int predict_run_init(predict_run *r, const predict_options *opt, c2seg_model *m, const checkpoint_meta *meta,
                     const cache *c, cache_pixels *px, c2_err *e)
{
    memset(r, 0, sizeof *r);
    r->opt = opt;
    r->model = m;
    r->meta = meta;
    r->cache = c;
    r->pixels = px;
    int B = opt->batch, S = c->size;
    int rc = c2seg_workspace_create_eval(&r->ws, m, B, e); /* eval forwards only */
    if (rc != C2_OK)
        return rc;
    r->img = malloc((size_t)B * S * S * sizeof *r->img);
    r->tokens = malloc((size_t)B * TEXT_MAX_TOKENS * TEXT_DIM * sizeof *r->tokens);
    r->pooled = malloc((size_t)B * TEXT_DIM * sizeof *r->pooled);
    r->tmask = malloc((size_t)B * TEXT_MAX_TOKENS * sizeof *r->tmask);
    r->src_img = malloc((size_t)B * S * S * sizeof *r->src_img);
    r->src_gt = malloc((size_t)B * S * S);
    if (!r->img || !r->tokens || !r->pooled || !r->tmask || !r->src_img || !r->src_gt) {
        predict_run_free(r);
        return c2_fail(e, C2_ENOMEM, "out of memory for a batch of %d", B);
    }
    return C2_OK;
}

void predict_run_free(predict_run *r)
{
    if (r->ws.B)
        c2seg_workspace_free(&r->ws);
    free(r->img);
    free(r->tokens);
    free(r->pooled);
    free(r->tmask);
    free(r->src_img);
    free(r->src_gt);
    memset(r, 0, sizeof *r);
}

/* The case's text: --text, else the text slot ingest's driver gave its first slice (an
 * SR's report text by dicom-sr's one rule, or a caption table row). `text` is the report
 * text (recorded, parsed for the zones); `model` is what the model reads: the caption
 * training fed for the same source (the SR's canonical caption), else `text`. */
typedef struct case_text {
    const char *text;          /* NULL = none */
    const char *model;         /* NULL = none */
    char source[4200];
    lr_convention conv;
    int per_slice;             /* the model reads each slice's own caption (predict_slice_text.c) */
} case_text;

static void case_text_find(const predict_run *r, const predict_case *pc, case_text *t)
{
    const cache_sample *s = &r->cache->samples[pc->idx[0]];
    memset(t, 0, sizeof *t);
    t->conv = pc->kind == CASE_IMAGE ? CONV_IMAGE : CONV_PATIENT;
    if (r->opt->text) {
        t->text = t->model = r->opt->text;
        snprintf(t->source, sizeof t->source, "--text");
        if (r->opt->convention)
            t->conv = strcmp(r->opt->convention, "patient") == 0 ? CONV_PATIENT : CONV_IMAGE;
        return;
    }
    if (pc->kind == CASE_DICOM &&
        (t->per_slice = predict_slice_text_case(r->cache, pc->idx, pc->n, &t->text, t->source, sizeof t->source))) {
        t->conv = CONV_PATIENT;   /* the case's report: its SR (patient convention), or none */
        return;
    }
    if (s->caption && s->caption[0]) {
        int from_sr = s->text_source && strncmp(s->text_source, "SR ", 3) == 0;
        t->model = s->caption;
        t->text = from_sr && s->text_raw && s->text_raw[0] ? s->text_raw : s->caption;
        snprintf(t->source, sizeof t->source, "%s", s->text_source ? s->text_source : "caption table");
        t->conv = s->text_convention && strcmp(s->text_convention, "patient") == 0 ? CONV_PATIENT : CONV_IMAGE;
        return;
    }
    snprintf(t->source, sizeof t->source, "none");
}

/* Per-case state while its batches run. */
typedef struct case_acc {
    int S, n, volume;          /* volume: n > 1, zones from the projection */
    uint8_t *raw, *dec, *gt;   /* 2D: [S,S]; volume: projection [n,S] (row 0 = most superior) */
    uint8_t *best_pred, *best_gt; /* overlay slice [S,S] */
    float *best_img;           /* its image [S,S] */
    int64_t best_area;
    uint8_t *thumbs;           /* volume with --overlays: [n, T, T, 3] slice thumbnails, else NULL */
    uint8_t *lesion;           /* volume with --overlays: [n] 2 true lesion, 1 predicted only, 0 none */
    int64_t inter_raw, inter_dec, sum_raw, sum_dec, sum_gt;
    int has_gt;
    int dropped;
    int dice_on_source;        /* the Dice below were counted on the source grid */
    double dice_src_raw, dice_src_dec;
} case_acc;

static void acc_free(case_acc *a)
{
    free(a->raw);
    free(a->dec);
    free(a->gt);
    free(a->best_pred);
    free(a->best_gt);
    free(a->best_img);
    free(a->thumbs);
    free(a->lesion);
}

/* Picks up to k of the slices whose lesion flag is `level`, evenly spread over them, into
 * which[at..]; returns the new count. */
static int strip_pick(const case_acc *a, int level, int k, int *which, int at)
{
    int n = 0;
    for (int t = 0; t < a->n; t++)
        n += a->lesion[t] == level;
    k = n < k ? n : k;
    for (int j = 0, seen = 0, t = 0; j < k && t < a->n; t++)
        if (a->lesion[t] == level && seen++ == (int)(((int64_t)2 * j + 1) * n / (2 * k)))
            which[at + j++] = t;
    return at + k;
}

/* The slices of a volume's overlay strip, in slice order: up to PREDICT_STRIP_MAX slices with
 * lesion, the ground truth's first (evenly spread when more), then predicted-only slices
 * evenly spread; their number (0: no strip, the single best slice instead). */
static int strip_slices(const case_acc *a, int *which)
{
    if (!a->thumbs)
        return 0;
    int n = strip_pick(a, 2, PREDICT_STRIP_MAX, which, 0);
    n = strip_pick(a, 1, PREDICT_STRIP_MAX - n, which, n);
    for (int i = 1; i < n; i++) /* insertion sort: slice order */
        for (int j = i; j > 0 && which[j - 1] > which[j]; j--) {
            int t = which[j];
            which[j] = which[j - 1];
            which[j - 1] = t;
        }
    return n;
}

/* Adds slice t's model-size masks to the accumulators. */
static void acc_add(case_acc *a, int t, const uint8_t *raw, const uint8_t *dec, const uint8_t *gt,
                    const float *image)
{
    int S = a->S;
    size_t px = (size_t)S * S;
    int64_t area = 0;
    for (size_t p = 0; p < px; p++) {
        area += dec[p];
        a->sum_raw += raw[p];
        a->sum_dec += dec[p];
        if (gt) {
            a->sum_gt += gt[p] != 0;
            a->inter_raw += raw[p] && gt[p];
            a->inter_dec += dec[p] && gt[p];
        }
    }
    if (a->thumbs) {
        int any_gt = 0;
        for (size_t p = 0; gt && p < px && !any_gt; p++)
            any_gt = gt[p] != 0;
        a->lesion[t] = any_gt ? 2 : area > 0; /* 2: the ground truth has a lesion here */
        if (a->lesion[t])
            predict_overlay_thumb(a->thumbs + (size_t)t * PREDICT_STRIP_THUMB * PREDICT_STRIP_THUMB * 3,
                                  PREDICT_STRIP_THUMB, image, dec, gt, S);
    }
    if (!a->volume) {
        memcpy(a->raw, raw, px);
        memcpy(a->dec, dec, px);
        if (gt)
            memcpy(a->gt, gt, px);
    } else {
        uint8_t *pr = a->raw + (size_t)(a->n - 1 - t) * S, *pd = a->dec + (size_t)(a->n - 1 - t) * S,
                *pg = a->gt + (size_t)(a->n - 1 - t) * S;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                size_t p = (size_t)y * S + x;
                pr[x] |= raw[p];
                pd[x] |= dec[p];
                if (gt)
                    pg[x] |= gt[p] != 0;
            }
    }
    if (t == 0 || area > a->best_area) {
        a->best_area = area;
        memcpy(a->best_pred, dec, px);
        if (gt)
            memcpy(a->best_gt, gt, px);
        memcpy(a->best_img, image, px * sizeof *image);
    }
}

/* The source grid and (for DICOM) the SEG source of a case. */
typedef struct case_out {
    source_grid g;
    uint8_t *mask;             /* source-size probabilities 0..255 */
    uint8_t *truth;            /* the ground truth on the source grid (0/1, same layout), or NULL */
    uint8_t *raw;              /* --text-decode with a truth, NIfTI / image: the undecoded probabilities */
    /* A binary DICOM SEG is kept as packed bits, never a byte per voxel: each slice is mapped into
     * `slice` and packed at once (predicted = probability above the threshold; lesion = >= 128,
     * for the severity check, when the threshold is not 0.5). mask is then NULL. */
    uint8_t *bits, *lesion, *slice;
    struct dice_counts {
        int64_t inter, pred, truth;
    } dice_dec, dice_raw;      /* against the truth on the source grid */
    char truth_note[200];      /* why the truth could not be had on the source grid ("" when it was) */
    int64_t n_bytes;
    seg_source seg;
    int has_seg;
    int *slice_of;             /* DICOM: source slice of each case slice */
    double voxel_to_lps[4][4]; /* NIfTI */
} case_out;

static void out_free(case_out *o)
{
    free(o->mask);
    free(o->truth);
    free(o->raw);
    free(o->bits);
    free(o->lesion);
    free(o->slice);
    free(o->slice_of);
    if (o->has_seg)
        seg_source_free(&o->seg);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The SEG source of a DICOM case: exactly the distinct files of its samples (the files
 * ingest could read), never the whole folder, so a broken neighbour cannot fail it. */
static int dicom_source_load(const cache *c, const predict_case *pc, seg_source *src, c2_err *e)
{
    const char **files = malloc((size_t)pc->n * sizeof *files);
    if (!files)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", c->samples[pc->idx[0]].file);
    for (int64_t k = 0; k < pc->n; k++)
        files[k] = c->samples[pc->idx[k]].file;
    qsort(files, (size_t)pc->n, sizeof *files, compare_strings);
    int n = 0;
    for (int64_t k = 0; k < pc->n; k++)
        if (n == 0 || strcmp(files[n - 1], files[k]) != 0)
            files[n++] = files[k];
    int rc = seg_source_load_files_isolated(files, n, src, e);
    free(files);
    return rc;
}

/* The ground truth of a case on its source grid (the grid the SEG / mask is written on), as
 * ingest read it before resampling: a DICOM SEG's chosen segments (--label) placed on the
 * case's source slices, >= 128; a NIfTI mask's voxels > 0; a PNG / JPEG mask's pixels above
 * half its range. Fills o->truth [o->n_bytes] 0/1. */
static int truth_load(const predict_run *r, const predict_case *pc, const cache_sample *s0, case_out *o, c2_err *e)
{
    const char *file = s0->mask_file;
    uint8_t *t = malloc((size_t)o->n_bytes);
    if (!t)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for the ground truth", file);
    int rc;
    if (pc->kind == CASE_DICOM) {
        seg_image img;
        memset(&img, 0, sizeof img);
        uint8_t *chosen = NULL;
        rc = seg_read_isolated(file, &img, e);
        if (rc == C2_OK && !(chosen = calloc((size_t)img.n_segments + 1, 1)))
            rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", file);
        if (rc == C2_OK)
            rc = seg_select_segments(&img, r->opt->seg_label, chosen, e);
        if (rc == C2_OK)
            rc = seg_to_source_mask(&img, chosen, &o->seg, t, NULL, e);
        for (int64_t i = 0; rc == C2_OK && i < o->n_bytes; i++)
            t[i] = t[i] >= 128;
        free(chosen);
        seg_image_free(&img);
    } else if (pc->kind == CASE_NIFTI) {
        nifti_volume v = {0};
        rc = nifti_volume_read_isolated(file, 0, &v, e);
        if (rc == C2_OK && (v.nx != o->g.dim[0] || v.ny != o->g.dim[1] || v.nz != o->g.dim[2]))
            rc = c2_fail(e, C2_EMISMATCH, "%s: mask grid differs from its volume's", file);
        for (int64_t i = 0; rc == C2_OK && i < o->n_bytes; i++)
            t[i] = v.data[i] > 0;
        nifti_volume_free(&v);
    } else {
        image2d m = {0};
        rc = image2d_read_isolated(file, &m, e);
        if (rc == C2_OK && (m.rows != o->g.dim[0] || m.cols != o->g.dim[1]))
            rc = c2_fail(e, C2_EMISMATCH, "%s: mask is %dx%d, its image %lldx%lld", file, m.cols, m.rows,
                         (long long)o->g.dim[1], (long long)o->g.dim[0]);
        for (int64_t i = 0; rc == C2_OK && i < o->n_bytes; i++)
            t[i] = m.pixels[i] > m.maxval / 2;
        image2d_free(&m);
    }
    if (rc != C2_OK) {
        free(t);
        return rc;
    }
    o->truth = t;
    return C2_OK;
}

static int out_prepare(const predict_run *r, const predict_case *pc, case_out *o, c2_err *e)
{
    const cache *c = r->cache;
    const cache_sample *s0 = &c->samples[pc->idx[0]];
    memset(o, 0, sizeof *o);
    int rc = C2_OK;
    if (pc->kind == CASE_NIFTI) {
        nifti_volume v = {0};
        if ((rc = nifti_volume_read_header_isolated(s0->file, &v, e)) != C2_OK)
            return rc;
        int64_t d[3] = {v.nx, v.ny, v.nz};
        memcpy(o->voxel_to_lps, v.voxel_to_lps, sizeof o->voxel_to_lps);
        nifti_volume_free(&v);
        o->g = (source_grid){{d[0], d[1], d[2]}, {1, d[0], d[0] * d[1]}};
    } else if (pc->kind == CASE_IMAGE) {
        o->g = (source_grid){{s0->source_rows, s0->source_cols, 1}, {s0->source_cols, 1, 0}};
    } else {
        const char *path = s0->file;
        if ((rc = dicom_source_load(c, pc, &o->seg, e)) != C2_OK)
            return rc;
        o->has_seg = 1;
        if (o->seg.rows != s0->source_rows || o->seg.cols != s0->source_cols)
            return c2_fail(e, C2_EMISMATCH, "%s: SEG source grid %dx%d differs from the series %dx%d", path,
                           o->seg.rows, o->seg.cols, s0->source_rows, s0->source_cols);
        o->slice_of = malloc((size_t)pc->n * sizeof *o->slice_of);
        if (!o->slice_of)
            return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
        for (int64_t k = 0; k < pc->n; k++) {
            const cache_sample *s = &c->samples[pc->idx[k]];
            o->slice_of[k] = -1;
            for (int q = 0; q < o->seg.n_slices; q++) {
                const seg_slice *sl = &o->seg.slices[q];
                int frame_ok = o->seg.multiframe ? sl->frame == s->frame + 1 : 1;
                if (frame_ok && s->sop_uid && strcmp(sl->sop_instance, s->sop_uid) == 0)
                    o->slice_of[k] = q;
            }
            if (o->slice_of[k] < 0)
                return c2_fail(e, C2_EMISMATCH, "%s: slice %lld of the series is not among the SEG source images",
                               path, (long long)k);
        }
        o->g = (source_grid){{o->seg.rows, o->seg.cols, 1}, {o->seg.cols, 1, 0}};
    }
    int64_t slices = pc->kind == CASE_DICOM ? o->seg.n_slices : 1;
    if ((rc = c2_check_dims(e, s0->file, o->g.dim[2] * slices, o->g.dim[0], o->g.dim[1], 1)) != C2_OK)
        return rc;
    o->n_bytes = o->g.dim[0] * o->g.dim[1] * o->g.dim[2] * slices;
    size_t plane = (size_t)(o->g.dim[0] * o->g.dim[1] * o->g.dim[2]), nbits = ((size_t)o->n_bytes + 7) / 8;
    if (pc->kind == CASE_DICOM && !r->opt->fractional) {
        o->bits = calloc(nbits, 1);
        o->slice = malloc(plane);
        if (r->opt->threshold != 0.5)
            o->lesion = calloc(nbits, 1);
        if (!o->bits || !o->slice || (r->opt->threshold != 0.5 && !o->lesion))
            return c2_fail(e, C2_ENOMEM, "%s: out of memory for the source-size mask", s0->file);
    } else if (!(o->mask = calloc((size_t)o->n_bytes, 1))) {
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for the source-size mask", s0->file);
    }
    if (s0->has_mask && s0->mask_file && s0->mask_file[0]) {
        c2_err te = {0};
        if (truth_load(r, pc, s0, o, &te) != C2_OK) /* Dice stays on the model grid, with the reason */
            snprintf(o->truth_note, sizeof o->truth_note, "%s", te.msg);
        if (o->truth && r->opt->text_decode && !o->bits && !(o->raw = calloc((size_t)o->n_bytes, 1)))
            return c2_fail(e, C2_ENOMEM, "%s: out of memory for the source-size mask", s0->file);
    }
    return C2_OK;
}

/* The severity check of a CT volume (dicom-sr/severity.h): the lung from the source HU
 * (before any windowing), the lesion = the source-size mask >= 128, the statement = the
 * prose attributes of the case's text (a templated caption states none). The lung needs
 * only the air of each source slice (HU below the rule's air_hu), never the predictions:
 * for a DICOM series the air is read on a thread of its own while the model runs
 * (severity_air_start before case_predict), one slice at a time, each slice decoded in that
 * thread's sandbox worker, which returns the air as bits (io's dicom_read_below_isolated:
 * 1/32 of the plane's floats); lung_mask_stream keeps one bit per voxel, which the thread
 * then turns into the lung's bits in place. Once the mask is complete the counts are
 * popcounts of the lesion and lung bits. A NIfTI volume is read whole afterwards (its reader
 * has no slice access). */
typedef struct severity_air {
    const case_out *o;
    lung_mask_rule rule;
    lung_mask_stream *ls;
    const uint8_t *lung;       /* the lung's bits [D*H*W] once both passes ran */
    int rc, stop;              /* stop: the case failed, the thread ends early */
    c2_err e;
    pthread_t th;
    int pending, threaded, ready; /* pending: pass 1 to wait for; ready: the thread's worker is started */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} severity_air;

/* Both passes of the lung mask over the case's source slices (on the thread, or inline). */
static void severity_air_read(severity_air *sa)
{
    const seg_source *sg = &sa->o->seg;
    size_t nbits = ((size_t)sg->rows * sg->cols + 7) / 8;
    uint8_t *bits = malloc(nbits);
    sa->rc = bits ? C2_OK : c2_fail(&sa->e, C2_ENOMEM, "%s: out of memory for the lung mask", sg->files[0]);
    for (int q = 0; q < sg->n_slices && sa->rc == C2_OK && !__atomic_load_n(&sa->stop, __ATOMIC_RELAXED); q++) {
        const seg_slice *sl = &sg->slices[q];
        sa->rc = dicom_read_below_isolated(sg->files[sl->file], sl->frame > 0 ? sl->frame - 1 : 0, sg->rows, sg->cols,
                                           sa->rule.air_hu, bits, &sa->e);
        if (sa->rc == C2_OK)
            sa->rc = lung_mask_stream_add_air(sa->ls, bits, &sa->e);
    }
    if (sa->rc == C2_OK && !sa->stop)
        sa->rc = lung_mask_stream_finish(sa->ls, &sa->e);
    if (sa->rc == C2_OK && !sa->stop)
        sa->rc = lung_mask_stream_to_bits(sa->ls, &sa->lung, &sa->e);
    free(bits);
}

static void *severity_air_thread(void *arg)
{
    severity_air *sa = arg;
    c2_err we = {0};
    sandbox_worker_start(&we); /* while the caller waits (base/sandbox.h); a failure: sandbox_call retries */
    pthread_mutex_lock(&sa->mu);
    sa->ready = 1;
    pthread_cond_signal(&sa->cv);
    pthread_mutex_unlock(&sa->mu);
    severity_air_read(sa);
    sandbox_worker_stop();
    return NULL;
}

/* 1 when the case gets a severity check: a CT volume (DICOM series or NIfTI). */
static int severity_wanted(const predict_run *r, const predict_case *pc)
{
    const cache_sample *s0 = &r->cache->samples[pc->idx[0]];
    return pc->n >= 2 && pc->kind != CASE_IMAGE && s0->domain && strcmp(s0->domain, "ct_hu") == 0;
}

/* Starts pass 1 of a DICOM case's lung mask on its thread (inline in severity_air_finish when
 * a thread cannot be had). sa->ls stays NULL when the case has no severity check. */
static int severity_air_start(const predict_run *r, const predict_case *pc, const case_out *o, severity_air *sa,
                              c2_err *e)
{
    memset(sa, 0, sizeof *sa);
    sa->o = o;
    sa->rule = lung_mask_rule_default();
    if (pc->kind != CASE_DICOM || !severity_wanted(r, pc))
        return C2_OK;
    int rc = lung_mask_stream_create(&sa->ls, o->seg.n_slices, o->seg.rows, o->seg.cols, &sa->rule, e);
    if (rc != C2_OK)
        return rc;
    pthread_mutex_init(&sa->mu, NULL);
    pthread_cond_init(&sa->cv, NULL);
    sa->pending = 1;
    sa->threaded = pthread_create(&sa->th, NULL, severity_air_thread, sa) == 0;
    pthread_mutex_lock(&sa->mu);
    while (sa->threaded && !sa->ready)
        pthread_cond_wait(&sa->cv, &sa->mu);
    pthread_mutex_unlock(&sa->mu);
    return C2_OK;
}

/* Waits for pass 1 (or runs it here: no thread, or the case failed and stop is set); its result. */
static int severity_air_finish(severity_air *sa, int stop, c2_err *e)
{
    if (sa->pending) {
        if (stop)
            __atomic_store_n(&sa->stop, 1, __ATOMIC_RELAXED);
        if (sa->threaded)
            pthread_join(sa->th, NULL);
        else if (!stop)
            severity_air_read(sa);
        pthread_mutex_destroy(&sa->mu);
        pthread_cond_destroy(&sa->cv);
        sa->pending = 0;
    }
    if (sa->rc != C2_OK)
        *e = sa->e;
    return sa->rc;
}

/* The check itself once the mask is complete: the lung of sa (a DICOM series': made while the
 * model ran; a NIfTI volume's: here) against the lesion. *done = 0 (nothing to do) for images
 * and non-CT volumes. */
static int case_severity(const predict_run *r, const predict_case *pc, const case_out *o, const case_text *ct,
                         severity_air *sa, severity_record *sr, int *done, c2_err *e)
{
    const cache_sample *s0 = &r->cache->samples[pc->idx[0]];
    *done = 0;
    if (!severity_wanted(r, pc))
        return C2_OK;
    nifti_volume v = {0};
    int rc = severity_air_finish(sa, 0, e);
    if (pc->kind == CASE_NIFTI) {
        rc = nifti_volume_read_isolated(s0->file, 0, &v, e);
        if (rc == C2_OK && v.nx * v.ny * v.nz != o->n_bytes)
            rc = c2_fail(e, C2_EMISMATCH, "%s: volume grid differs from the mask's", s0->file);
        if (rc == C2_OK)
            rc = lung_mask_stream_create(&sa->ls, (int)v.nz, (int)v.ny, (int)v.nx, &sa->rule, e);
        for (int64_t q = 0; q < v.nz && rc == C2_OK; q++)
            rc = lung_mask_stream_add(sa->ls, v.data + (size_t)q * v.nx * v.ny, e);
        if (rc == C2_OK)
            rc = lung_mask_stream_finish(sa->ls, e);
        if (rc == C2_OK)
            rc = lung_mask_stream_to_bits(sa->ls, &sa->lung, e);
    }
    int64_t lesion_voxels = 0, lung_voxels = 0;
    const uint8_t *lb = o->lesion ? o->lesion : o->bits, *lg = sa->lung;
    if (rc == C2_OK && o->mask) { /* a byte mask: the lesion is >= 128 */
        for (int64_t i = 0; i < o->n_bytes; i++) {
            int les = o->mask[i] >= 128;
            lesion_voxels += les;
            lung_voxels += les | ((lg[i >> 3] >> (i & 7)) & 1);
        }
    } else if (rc == C2_OK) { /* bits in the same layout, 0 past the last voxel */
        for (int64_t j = 0; j < (o->n_bytes + 7) / 8; j++) {
            lesion_voxels += __builtin_popcount(lb[j]);
            lung_voxels += __builtin_popcount(lb[j] | lg[j]);
        }
    }
    if (rc == C2_OK) {
        prose_attrs p;
        caption_attrs ca;
        int prose = ct->text && caption_parse_full(ct->text, ct->conv, &ca, &p);
        severity_from_counts(lesion_voxels, lung_voxels, prose ? &p : NULL, -1, sr);
        *done = 1;
    }
    nifti_volume_free(&v);
    return rc;
}

/* Source voxel size: mm^3 for volumes, mm^2 for one plane, 0 when unknown. */
static double voxel_size(const cache *c, const predict_case *pc, const case_out *o, int *is_volume)
{
    const cache_sample *s0 = &c->samples[pc->idx[0]];
    *is_volume = pc->n > 1;
    if (pc->kind == CASE_NIFTI) {
        const double(*A)[4] = o->voxel_to_lps;
        double det = A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) -
                     A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) +
                     A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0]);
        *is_volume = 1;
        return fabs(det);
    }
    if (!s0->has_patient_geometry)
        return 0;
    double sy = 0, sx = 0;
    for (int k = 0; k < 3; k++) {
        sy += s0->source_to_patient[k][0] * s0->source_to_patient[k][0];
        sx += s0->source_to_patient[k][1] * s0->source_to_patient[k][1];
    }
    double area = sqrt(sy) * sqrt(sx);
    if (pc->n < 2)
        return area;
    const cache_sample *s1 = &c->samples[pc->idx[1]];
    double d2 = 0;
    for (int k = 0; k < 3; k++) {
        double d = s1->source_to_patient[k][3] - s0->source_to_patient[k][3];
        d2 += d * d;
    }
    return area * sqrt(d2);
}

/* The probability byte above which a source voxel is predicted: the threshold for binary
 * outputs; fractional outputs count >= 128, the SEG's own half. */
static double mask_cut(const predict_options *opt)
{
    return opt->fractional ? 127.5 : opt->threshold * 255.0;
}

/* Adds n voxels of probability bytes against the truth (0/1) to the Dice counts. */
static void dice_count(struct dice_counts *d, const uint8_t *prob, const uint8_t *truth, size_t n, double cut)
{
    for (size_t i = 0; i < n; i++) {
        int p = prob[i] > cut, t = truth[i];
        d->pred += p;
        d->truth += t;
        d->inter += p && t;
    }
}

/* ORs into bits, from bit `at` on, one bit per byte of v[n]: set when the byte is above `above`. */
static void bits_or(uint8_t *bits, size_t at, const uint8_t *v, size_t n, int above)
{
    size_t p = 0;
    if ((at & 7) == 0) /* whole bytes: eight voxels at a time */
        for (; p + 8 <= n; p += 8) {
            unsigned b = 0;
            for (int j = 0; j < 8; j++)
                b |= (unsigned)(v[p + j] > above) << j;
            bits[(at + p) >> 3] |= (uint8_t)b;
        }
    for (; p < n; p++)
        bits[(at + p) >> 3] |= (uint8_t)((v[p] > above) << ((at + p) & 7));
}

/* A binary DICOM case: packs the slice just mapped (o->slice, source slice at voxel `at`) into
 * the bit masks and counts it against the truth. */
static void slice_store(case_out *o, int64_t at, double cut)
{
    size_t plane = (size_t)(o->g.dim[0] * o->g.dim[1]);
    /* a byte is above cut exactly when it is above floor(cut) (cut >= 0) */
    bits_or(o->bits, (size_t)at, o->slice, plane, (int)floor(cut));
    if (o->lesion)
        bits_or(o->lesion, (size_t)at, o->slice, plane, 127);
    if (o->truth)
        dice_count(&o->dice_dec, o->slice, o->truth + at, plane, cut);
}

/* Runs the model over the case's slices and fills the accumulators and the source mask. */
static int case_predict(predict_run *r, const predict_case *pc, const case_text *ct, const caption_attrs *text,
                        case_acc *a, case_out *o, c2_err *e)
{
    const cache *c = r->cache;
    int S = c->size, B = r->opt->batch;
    size_t px = (size_t)S * S, tk = (size_t)TEXT_MAX_TOKENS * TEXT_DIM;
    const text_encoder *te = text_encoder_hash512();
    int rc = te->encode(te, ct->model ? ct->model : "", r->tokens, r->tmask, r->pooled, e);
    if (rc < 0)
        return rc;
    for (int b = 1; b < B && !ct->per_slice; b++) {
        memcpy(r->tokens + b * tk, r->tokens, tk * sizeof *r->tokens);
        memcpy(r->tmask + (size_t)b * TEXT_MAX_TOKENS, r->tmask, TEXT_MAX_TOKENS * sizeof *r->tmask);
    }
    float *prob = malloc((size_t)B * px * sizeof *prob);
    uint8_t *raw = malloc(px), *dec = malloc(px);
    rc = prob && raw && dec ? C2_OK : c2_fail(e, C2_ENOMEM, "out of memory for a batch");
    zone_rule rule = zone_rule_default();
    cache_sample conv_sample = c->samples[pc->idx[0]];
    conv_sample.text_convention = ct->conv == CONV_PATIENT ? "patient" : "image";
    rule.left_half = cache_sample_left_is_image_right(&conv_sample) ? HALF_IMAGE_RIGHT : HALF_IMAGE_LEFT;
    double mean = r->meta->preprocess.mean, sd = r->meta->preprocess.std > 0 ? r->meta->preprocess.std : 1;
    for (int64_t s = 0; s < pc->n && rc == C2_OK; s += B) {
        int nb = (int)(pc->n - s < B ? pc->n - s : B);
        double t0 = now_seconds();
        if ((rc = cache_pixels_read(r->pixels, pc->idx + s, nb, r->src_img, r->src_gt, e)) != C2_OK)
            break;
        if (ct->per_slice &&
            (rc = predict_slice_text_batch(c, pc->idx + s, nb, r->tokens, r->tmask, r->pooled, e)) != C2_OK)
            break;
        double t1 = now_seconds();
        for (int b = 0; b < nb; b++) {
            const float *src = r->src_img + (size_t)b * px;
            for (size_t p = 0; p < px; p++)
                r->img[b * px + p] = (float)((src[p] - mean) / sd);
        }
        double t2 = now_seconds();
        c2seg_forward(r->model, &r->ws, r->img, r->tokens, r->tmask, nb, 0);
        double t3 = now_seconds();
        r->t_cache_read += t1 - t0, r->t_normalise += t2 - t1, r->t_forward += t3 - t2;
        for (size_t p = 0; p < (size_t)nb * px; p++)
            prob[p] = 1.0f / (1.0f + expf(-r->ws.acts.logits[p]));
        for (int b = 0; b < nb && rc == C2_OK; b++) {
            int64_t t = s + b, i = pc->idx[t];
            const cache_sample *smp = &c->samples[i];
            float *pb = prob + b * px;
            for (size_t p = 0; p < px; p++)
                raw[p] = dec[p] = pb[p] > (float)r->opt->threshold;
            int64_t slice_at = pc->kind == CASE_DICOM ? (int64_t)o->slice_of[t] * o->g.dim[0] * o->g.dim[1] : 0;
            if (o->truth && r->opt->text_decode && (o->raw || o->bits)) { /* the undecoded mask's Dice */
                if ((rc = predict_map_slice(o->raw ? o->raw + slice_at : o->slice, &o->g, pb, S, smp->model_to_source,
                                            e)) != C2_OK) {
                    c2_err_prefix(e, "%s", smp->file);
                    break;
                }
                if (o->bits)
                    dice_count(&o->dice_raw, o->slice, o->truth + slice_at, (size_t)(o->g.dim[0] * o->g.dim[1]),
                               mask_cut(r->opt));
            }
            if (r->opt->text_decode) {
                int d = predict_text_decode(dec, S, S, text, &rule, a->volume, e);
                if (d < 0) {
                    rc = d;
                    break;
                }
                a->dropped += d;
                for (size_t p = 0; p < px; p++)
                    if (raw[p] && !dec[p])
                        pb[p] = 0;
            }
            const uint8_t *gt = smp->has_mask ? r->src_gt + b * px : NULL;
            a->has_gt |= gt != NULL;
            acc_add(a, (int)t, raw, dec, gt, r->src_img + b * px);
            rc = predict_map_slice(o->bits ? o->slice : o->mask + slice_at, &o->g, pb, S, smp->model_to_source, e);
            if (rc == C2_OK && o->bits)
                slice_store(o, slice_at, mask_cut(r->opt));
            if (rc != C2_OK)
                c2_err_prefix(e, "%s", smp->file);
        }
        r->t_map_back += now_seconds() - t3;
    }
    free(prob);
    free(raw);
    free(dec);
    return rc;
}

static double dice_of(int64_t inter, int64_t a, int64_t b)
{
    return a + b ? 2.0 * (double)inter / (double)(a + b) : 1.0;
}

/* Dice of the written mask (and with --text-decode of the undecoded one) against the truth,
 * both on the source grid (mask_cut: a voxel is predicted when its probability byte is above
 * the threshold). A binary DICOM case counted its slices as they were mapped. */
static void source_dice(const predict_run *r, case_out *o, case_acc *a)
{
    if (!o->bits) {
        dice_count(&o->dice_dec, o->mask, o->truth, (size_t)o->n_bytes, mask_cut(r->opt));
        if (o->raw)
            dice_count(&o->dice_raw, o->raw, o->truth, (size_t)o->n_bytes, mask_cut(r->opt));
    }
    const struct dice_counts *d = &o->dice_dec, *w = r->opt->text_decode ? &o->dice_raw : &o->dice_dec;
    a->dice_on_source = 1;
    a->dice_src_dec = dice_of(d->inter, d->pred, d->truth);
    a->dice_src_raw = dice_of(w->inter, w->pred, w->truth);
}

/* Writes the source-size mask in the format of its source; fills the relative name. */
static int case_write(const predict_run *r, const predict_case *pc, case_out *o, char *rel, size_t cap,
                      int64_t *fg, c2_err *e)
{
    const predict_options *opt = r->opt;
    char path[4200];
    int rc;
    *fg = 0;
    if (o->bits) { /* a binary DICOM case, already packed */
        for (int64_t b = 0; b < (o->n_bytes + 7) / 8; b++)
            *fg += __builtin_popcount(o->bits[b]);
    }
    if (!opt->fractional && o->mask) { /* binary at --threshold: 0.5 keeps >= 128 of 0..255 */
        double cut = opt->threshold * 255.0;
        for (int64_t p = 0; p < o->n_bytes; p++)
            o->mask[p] = o->mask[p] > cut ? 255 : 0;
    }
    for (int64_t p = 0; o->mask && p < o->n_bytes; p++)
        *fg += o->mask[p] >= 128;
    if (pc->kind == CASE_DICOM) {
        snprintf(rel, cap, "%s.seg.dcm", pc->id);
        c2_path_join(path, sizeof path, opt->outdir, rel);
        seg_write_opts so = {0};
        so.fractional = opt->fractional;
        so.uid_root = opt->uid_root;
        so.description = opt->text_decode ? "c2seg prediction (text-decoded)" : "c2seg prediction";
        rc = o->bits ? seg_write_bits_isolated(&o->seg, o->bits, &so, path, NULL, e)
                     : seg_write_isolated(&o->seg, o->mask, &so, path, NULL, e);
        if (rc == C2_OK && opt->deidentify_key) {
            deidentify_opts d = {opt->deidentify_key};
            rc = deidentify_file(path, &d, e);
            if (rc != C2_OK)
                remove(path); /* never leave the identified SEG behind */
        }
        return rc;
    }
    if (pc->kind == CASE_NIFTI) {
        snprintf(rel, cap, "%s_mask.nii.gz", pc->id);
        c2_path_join(path, sizeof path, opt->outdir, rel);
        if (!opt->fractional) {
            for (int64_t p = 0; p < o->n_bytes; p++)
                o->mask[p] = o->mask[p] >= 128;
            return nifti_volume_write(path, o->mask, 2, o->g.dim[0], o->g.dim[1], o->g.dim[2],
                                      (const double(*)[4])o->voxel_to_lps, e);
        }
        float *v = malloc((size_t)o->n_bytes * sizeof *v);
        if (!v)
            return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
        for (int64_t p = 0; p < o->n_bytes; p++)
            v[p] = o->mask[p] / 255.0f;
        rc = nifti_volume_write(path, v, 16, o->g.dim[0], o->g.dim[1], o->g.dim[2],
                                (const double(*)[4])o->voxel_to_lps, e);
        free(v);
        return rc;
    }
    snprintf(rel, cap, "%s_mask.png", pc->id);
    c2_path_join(path, sizeof path, opt->outdir, rel);
    if (!opt->fractional)
        for (int64_t p = 0; p < o->n_bytes; p++)
            o->mask[p] = o->mask[p] >= 128 ? 255 : 0;
    return image2d_write_png8(path, o->mask, (int)o->g.dim[0], (int)o->g.dim[1], e);
}

static const char *kind_name(int kind)
{
    return kind == CASE_DICOM ? "dicom" : kind == CASE_NIFTI ? "nifti" : "image";
}

/* The consistency records and the ground-truth block of the case's JSON. */
static int case_records(const predict_run *r, const predict_case *pc, const case_text *ct, const case_acc *a,
                        const char *truth_note, cJSON *o, c2_err *e)
{
    const cache_sample *s0 = &r->cache->samples[pc->idx[0]];
    cache_sample conv_sample = *s0;
    conv_sample.text_convention = ct->conv == CONV_PATIENT ? "patient" : "image";
    zone_rule rule = zone_rule_default();
    rule.left_half = cache_sample_left_is_image_right(&conv_sample) ? HALF_IMAGE_RIGHT : HALF_IMAGE_LEFT;
    cJSON_AddStringToObject(o, "left_half", rule.left_half == HALF_IMAGE_LEFT ? "image-left" : "image-right");
    cJSON_AddStringToObject(o, "zones_from", a->volume ? "cranio-caudal projection of the slices"
                                                      : "model-resolution mask");
    int H = a->volume ? a->n : a->S, W = a->S;
    const char *txt = ct->text ? ct->text : "";
    consistency_record pred = {0}, dec = {0}, gt = {0};
    /* Dice on the source grid where the truth could be read there, else on the model grid */
    double m_raw = a->has_gt ? dice_of(a->inter_raw, a->sum_raw, a->sum_gt) : -1;
    double m_dec = a->has_gt ? dice_of(a->inter_dec, a->sum_dec, a->sum_gt) : -1;
    double d_raw = a->has_gt && a->dice_on_source ? a->dice_src_raw : m_raw;
    double d_dec = a->has_gt && a->dice_on_source ? a->dice_src_dec : m_dec;
    int rc = consistency_evaluate(&pred, pc->id, txt, ct->conv, a->raw, H, W, NULL, &rule, d_raw, e);
    if (rc == C2_OK && r->opt->text_decode)
        rc = consistency_evaluate(&dec, pc->id, txt, ct->conv, a->dec, H, W, NULL, &rule, d_dec, e);
    if (rc == C2_OK && a->has_gt)
        rc = consistency_evaluate(&gt, pc->id, txt, ct->conv, a->gt, H, W, NULL, &rule, -1, e);
    if (rc == C2_OK) {
        cJSON_AddItemToObject(o, "consistency", consistency_record_json(&pred));
        if (r->opt->text_decode) {
            cJSON_AddItemToObject(o, "consistency_decoded", consistency_record_json(&dec));
            cJSON_AddNumberToObject(o, "components_dropped", a->dropped);
        }
        if (a->has_gt) {
            cJSON *g = cJSON_AddObjectToObject(o, "ground_truth");
            cJSON_AddStringToObject(g, "mask_file", s0->mask_file ? s0->mask_file : "");
            cJSON_AddNumberToObject(g, "dice", d_raw);
            if (r->opt->text_decode)
                cJSON_AddNumberToObject(g, "dice_decoded", d_dec);
            cJSON_AddStringToObject(g, "dice_grid", a->dice_on_source ? "source" : "model");
            if (truth_note && truth_note[0] && !r->opt->deidentify_key) /* the reason names files */
                cJSON_AddStringToObject(g, "dice_grid_note", truth_note);
            cJSON_AddNumberToObject(g, "dice_model_grid", m_raw);
            cJSON_AddItemToObject(g, "consistency", consistency_record_json(&gt));
            cJSON *pg = cJSON_AddObjectToObject(g, "prediction_vs_ground_truth");
            cJSON_AddBoolToObject(pg, "laterality_exact", pred.mask.lat == gt.mask.lat);
            cJSON_AddBoolToObject(pg, "zone_exact", memcmp(pred.mask.zones, gt.mask.zones, ZONE_COUNT) == 0);
            cJSON_AddNumberToObject(pg, "zone_jaccard", zones_jaccard(pred.mask.zones, gt.mask.zones));
            cJSON_AddBoolToObject(pg, "count_exact_zones", pred.mask.n_zones == gt.mask.n_zones);
        } else {
            cJSON_AddNullToObject(o, "ground_truth");
        }
    }
    consistency_record_free(&pred);
    consistency_record_free(&dec);
    consistency_record_free(&gt);
    return rc;
}

/* Length of the folder part of path ("" -> 0). */
static size_t folder_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) : 0;
}

/* "missing_slices": the reported files in the folder of the case's slices whose series
 * is the case's ("same") or unknown (not DICOM by content or unreadable metadata); a
 * file of another series (a SEG beside the images) is left out. Their positions have
 * no source slice, so the SEG has no frame there. */
static void missing_slices_add(const predict_run *r, const predict_case *pc, cJSON *o)
{
    const cache *c = r->cache;
    const char *series = c->samples[pc->idx[0]].series_uid;
    cJSON *arr = cJSON_AddArrayToObject(o, "missing_slices");
    for (int i = 0; i < r->n_failed; i++) {
        const predict_failed *f = &r->failed[i];
        if (f->series_uid[0] && strcmp(f->series_uid, series ? series : "") != 0)
            continue;
        size_t fl = folder_len(f->path);
        int near = 0;
        for (int64_t k = 0; k < pc->n && !near; k++) {
            const char *file = c->samples[pc->idx[k]].file;
            if (k > 0 && strcmp(file, c->samples[pc->idx[k - 1]].file) == 0)
                continue;
            near = folder_len(file) == fl && strncmp(file, f->path, fl) == 0;
        }
        if (!near)
            continue;
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "file", f->path);
        cJSON_AddStringToObject(m, "reason", f->reason);
        cJSON_AddStringToObject(m, "series", f->series_uid[0] ? "same" : "unknown");
        cJSON_AddItemToArray(arr, m);
    }
}

int predict_case_run(predict_run *r, const predict_case *pc, cJSON **out, c2_err *e)
{
    const cache *c = r->cache;
    const cache_sample *s0 = &c->samples[pc->idx[0]];
    int S = c->size;
    cJSON *o = cJSON_CreateObject();
    *out = o;
    cJSON_AddStringToObject(o, "id", pc->id);
    cJSON_AddStringToObject(o, "kind", kind_name(pc->kind));
    /* de-identified: no source path (folders are often named after the patient) and the
     * UIDs remapped with the key of the SEG, so they name the de-identified copies */
    const char *key = r->opt->deidentify_key;
    cJSON *in = cJSON_AddArrayToObject(o, "inputs");
    for (int64_t k = 0; k < pc->n && !key; k++) {
        const char *f = c->samples[pc->idx[k]].file;
        if (k == 0 || strcmp(f, c->samples[pc->idx[k - 1]].file) != 0)
            cJSON_AddItemToArray(in, cJSON_CreateString(f));
    }
    cJSON_AddNumberToObject(o, "slices", (double)pc->n);
    cJSON_AddStringToObject(o, "modality", s0->modality ? s0->modality : "");
    char study[65] = "", series[65] = "";
    deidentify_opts d = {key};
    if (key) {
        deidentify_uid(&d, s0->study_uid ? s0->study_uid : "", study);
        deidentify_uid(&d, s0->series_uid ? s0->series_uid : "", series);
    } else {
        snprintf(study, sizeof study, "%s", s0->study_uid ? s0->study_uid : "");
        snprintf(series, sizeof series, "%s", s0->series_uid ? s0->series_uid : "");
    }
    cJSON_AddStringToObject(o, "study_uid", study);
    cJSON_AddStringToObject(o, "series_uid", series);
    if (pc->kind == CASE_DICOM && !key)
        missing_slices_add(r, pc, o);
    case_text ct;
    case_text_find(r, pc, &ct);
    cJSON *t = cJSON_AddObjectToObject(o, "text");
    if (ct.text)
        cJSON_AddStringToObject(t, "text", ct.text);
    else
        cJSON_AddNullToObject(t, "text");
    if (ct.model && ct.model != ct.text)
        cJSON_AddStringToObject(t, "model_text", ct.model); /* the SR's caption, as training fed it */
    cJSON_AddStringToObject(t, "source", ct.source);
    cJSON_AddStringToObject(t, "convention", convention_name(ct.conv));
    if (!ct.per_slice)
        cJSON_AddStringToObject(t, "model_text_mode", "case");   /* one text for every slice */
    else if (predict_slice_text_json(r->cache, pc->idx, pc->n, t) != C2_OK)
        return c2_fail(e, C2_ENOMEM, "out of memory for the case's slice captions");
    caption_attrs text;
    caption_parse(ct.text, ct.conv, &text);

    case_acc a = {0};
    case_out co;
    memset(&co, 0, sizeof co);
    a.S = S;
    a.n = (int)pc->n;
    a.volume = pc->n > 1;
    size_t zpx = a.volume ? (size_t)pc->n * S : (size_t)S * S;
    int rc = checkpoint_check_input(r->meta, s0->domain ? s0->domain : "", S, e);
    if (rc == C2_OK) {
        a.raw = calloc(zpx, 1), a.dec = calloc(zpx, 1), a.gt = calloc(zpx, 1);
        a.best_pred = calloc((size_t)S * S, 1), a.best_gt = calloc((size_t)S * S, 1);
        a.best_img = calloc((size_t)S * S, sizeof *a.best_img);
        if (a.volume && r->opt->overlays) {
            a.thumbs = malloc((size_t)pc->n * PREDICT_STRIP_THUMB * PREDICT_STRIP_THUMB * 3);
            a.lesion = calloc((size_t)pc->n, 1);
        }
        if (!a.raw || !a.dec || !a.gt || !a.best_pred || !a.best_gt || !a.best_img ||
            (a.volume && r->opt->overlays && (!a.thumbs || !a.lesion)))
            rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", s0->file);
    } else {
        c2_err_prefix(e, "%s", s0->file);
    }
    double ts = now_seconds();
    if (rc == C2_OK)
        rc = out_prepare(r, pc, &co, e);
    r->t_source += now_seconds() - ts;
    severity_air sa; /* the lung's source slices are read while the model runs */
    memset(&sa, 0, sizeof sa);
    if (rc == C2_OK)
        rc = severity_air_start(r, pc, &co, &sa, e);
    if (rc == C2_OK)
        rc = case_predict(r, pc, &ct, &text, &a, &co, e);
    severity_record sev; /* before case_write, which binarises the mask in place */
    int sev_done = 0;
    ts = now_seconds();
    if (rc == C2_OK)
        rc = case_severity(r, pc, &co, &ct, &sa, &sev, &sev_done, e);
    severity_air_finish(&sa, 1, &(c2_err){0}); /* a failed case: stop the thread */
    lung_mask_stream_free(sa.ls);
    r->t_severity += now_seconds() - ts;
    if (rc == C2_OK && co.truth)
        source_dice(r, &co, &a);
    char rel[256] = "";
    int64_t fg = 0;
    double tw = now_seconds();
    if (rc == C2_OK)
        rc = case_write(r, pc, &co, rel, sizeof rel, &fg, e);
    if (rc == C2_OK) {
        cJSON *outs = cJSON_AddObjectToObject(o, "outputs");
        cJSON_AddStringToObject(outs, "mask", rel);
        cJSON_AddStringToObject(outs, "mask_type", pc->kind == CASE_DICOM ? "dicom-seg"
                                                   : pc->kind == CASE_NIFTI ? "nifti" : "png");
        if (r->opt->overlays) {
            char orel[256], opath[4400];
            snprintf(orel, sizeof orel, "overlays/%s.png", pc->id);
            c2_path_join(opath, sizeof opath, r->opt->outdir, orel);
            int which[PREDICT_STRIP_MAX], n_strip = strip_slices(&a, which);
            if (n_strip > 0)
                rc = predict_overlay_strip_write(opath, a.thumbs, which, n_strip, PREDICT_STRIP_THUMB, e);
            else
                rc = predict_overlay_write(opath, a.best_img, a.best_pred, a.has_gt ? a.best_gt : NULL, S, e);
            if (rc == C2_OK)
                cJSON_AddStringToObject(outs, "overlay", orel);
            if (rc == C2_OK && n_strip > 0) {
                cJSON *sl = cJSON_AddArrayToObject(outs, "overlay_slices"); /* 1-based, in the case's order */
                for (int k = 0; k < n_strip; k++)
                    cJSON_AddItemToArray(sl, cJSON_CreateNumber(which[k] + 1));
            }
        }
    }
    if (rc == C2_OK) {
        cJSON *m = cJSON_AddObjectToObject(o, "source_mask");
        cJSON *grid = cJSON_AddArrayToObject(m, "grid");
        for (int k = 0; k < 3; k++)
            cJSON_AddItemToArray(grid, cJSON_CreateNumber((double)co.g.dim[k]));
        if (pc->kind == CASE_DICOM)
            cJSON_AddItemToArray(grid, cJSON_CreateNumber(co.seg.n_slices));
        cJSON_AddNumberToObject(m, "foreground_voxels", (double)fg);
        int is_volume;
        double vs = voxel_size(c, pc, &co, &is_volume);
        if (vs > 0 && is_volume)
            cJSON_AddNumberToObject(m, "volume_ml", fg * vs / 1000.0);
        else if (vs > 0)
            cJSON_AddNumberToObject(m, "area_mm2", fg * vs);
        rc = case_records(r, pc, &ct, &a, co.truth_note, o, e);
    }
    r->t_write += now_seconds() - tw;
    if (rc == C2_OK && sev_done)
        cJSON_AddItemToObject(o, "severity", severity_record_json(&sev));
    cJSON_AddStringToObject(o, "status", rc == C2_OK ? "ok" : "failed");
    if (rc != C2_OK)
        cJSON_AddStringToObject(o, "error", e->msg);
    acc_free(&a);
    out_free(&co);
    return rc;
}
