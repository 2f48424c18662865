/* pipeline/predict: the parts of `c2seg predict` and `c2seg report` shared by their files.
 *   predict_map.c      model-resolution probabilities -> the source grid (the exact
 *                      inverse of preprocessing, through the sample's model_to_source)
 *   predict_decode.c   text-guided decoding: drop components in zones the text rules out
 *   predict_overlay.c  overlay pictures (mask outline on the model-resolution image)
 *   predict_case.c     one case (a DICOM series, a NIfTI volume or a 2D image): batches,
 *                      mapping, the mask output, the consistency records
 *   stage_predict.c    options, the inputs through ingest's driver (ingest_run),
 *                      predictions.json
 *   report_*.c, stage_report.c   `c2seg report`: report.json, report.html, SR documents */
#ifndef C2SEG_PIPELINE_PREDICT_H
#define C2SEG_PIPELINE_PREDICT_H

#include "dicom-sr/dicom_sr.h"
#include "io/io.h"
#include "model/model.h"
#include "pipeline/pipeline.h"
#include "train/train.h"

#include <stdint.h>

struct cJSON;

/* ---- predict_map.c ----------------------------------------------------------------- */
/* A source voxel grid: sizes of the three source axes (a0, a1, a2) of model_to_source
 * and their strides in the output array. DICOM frame / 2D image: dims (rows, cols, 1),
 * strides (cols, 1, 0); NIfTI: dims (nx, ny, nz), strides (1, nx, nx*ny). */
typedef struct source_grid {
    int64_t dim[3];
    int64_t stride[3];
} source_grid;

/* Writes the probabilities prob [S,S] of one model slice onto every source voxel of the
 * plane it came from: each source voxel (a0, a1, a2) on that plane is taken back
 * through the inverse of model_to_source to model (row, col) and prob is sampled there
 * bilinearly (pixel centres at integers, edges clamped), which is torch's
 * interpolate(align_corners=False) back to the source size for a plain resize, and
 * follows any flip / transpose of the canonical orientation. out holds bytes
 * round(255 * p). Fails (C2_EINVAL) when the map is not a plane of the grid. */
int predict_map_slice(uint8_t *out, const source_grid *g, const float *prob, int S,
                      const double model_to_source[3][3], c2_err *e);

/* ---- predict_decode.c -------------------------------------------------------------- */
/* Drops from mask [H,W] (0/1, in place) every 8-connected component lying entirely in
 * zones that the text rules out: a text naming sides or zones allows only those
 * (sides_only: only the sides, for axial slices whose rows are not cranio-caudal); a
 * negative text ("no infection") allows none; an unparsed text allows everything.
 * Zones follow rule (left half, cuts) and the mask's own row box. Returns the number of
 * components dropped, or a negative C2_E* code. */
int predict_text_decode(uint8_t *mask, int H, int W, const caption_attrs *text, const zone_rule *rule,
                        int sides_only, c2_err *e);

/* ---- predict_slice_text.c ---------------------------------------------------------- */
/* Per-slice model text of a DICOM case whose slices got captions from a per-slice table
 * (ingest's text_source "slice caption TABLE[; report SR ...]"). predict_slice_text_case:
 * 1 when any of the case's samples idx[n] has one; *report = the SR's text (NULL without
 * an SR) and source its "SR <UID> <path>" (or "none"). predict_slice_text_batch: encodes
 * each sample's caption into the batch's text inputs [nb,24,512], [nb,24], [nb,512].
 * predict_slice_text_json: adds model_text_mode "per_slice", model_text_table and
 * model_text_per_slice (the captions in slice order) to the case's text object. */
int predict_slice_text_case(const cache *c, const int64_t *idx, int64_t n, const char **report, char *source,
                            size_t cap);
int predict_slice_text_batch(const cache *c, const int64_t *idx, int nb, float *tokens, int32_t *tmask,
                             float *pooled, c2_err *e);
struct cJSON;
int predict_slice_text_json(const cache *c, const int64_t *idx, int64_t n, struct cJSON *text);

/* ---- predict_overlay.c ------------------------------------------------------------- */
/* An RGB PNG of image [S,S] (in [0,1]) enlarged by an integer factor to at least 128
 * pixels, with the outline of pred [S,S] in red and of gt [S,S] (or NULL) in green,
 * written atomically. */
int predict_overlay_write(const char *path, const float *image, const uint8_t *pred, const uint8_t *gt, int S,
                          c2_err *e);
/* A T x T RGB thumbnail of one slice into rgb [T,T,3]: the image (nearest), a pixel red
 * when its block holds an outline pixel of pred, else green for gt's (gt may be NULL). */
void predict_overlay_thumb(uint8_t *rgb, int T, const float *image, const uint8_t *pred, const uint8_t *gt, int S);
/* The strip of a volume: thumbnails thumbs[which[k]] (each [T,T,3]), k < n, side by side
 * with a 2-pixel black gap, written atomically as an RGB PNG. */
int predict_overlay_strip_write(const char *path, const uint8_t *thumbs, const int *which, int n, int T, c2_err *e);
/* Thumbnail side and the most slices in a volume's strip. */
enum { PREDICT_STRIP_THUMB = 96, PREDICT_STRIP_MAX = 10 };

/* ---- predict_case.c ---------------------------------------------------------------- */
enum { CASE_DICOM = 0, CASE_NIFTI = 1, CASE_IMAGE = 2 };

typedef struct predict_options {
    const char *outdir;
    const char *text;          /* --text, or NULL */
    const char *convention;    /* --convention image|patient for --text, or NULL (by source) */
    int batch;
    int overlays, fractional, text_decode;
    double threshold;          /* --threshold: binary masks are probability > threshold (0.5) */
    const char *uid_root;      /* --uid-root, or NULL */
    const char *deidentify_key;/* --deidentify: $C2SEG_DEIDENTIFY_KEY (io/deidentify.h), else NULL */
    const char *seg_label;     /* --label: the segments of a SEG ground truth (io/seg.h), NULL = default */
} predict_options;

/* An input file that ingest reported (OUTDIR/inputs.h5.report.tsv): a slice that a
 * series in the same folder may be missing. */
typedef struct predict_failed {
    char *path, *reason;
    char series_uid[65];       /* "" when not DICOM by content or its metadata is unreadable */
} predict_failed;

typedef struct predict_case {
    int kind;                  /* CASE_* */
    char id[128];              /* named after the source, a safe name, unique in the run ("CT_chest_3",
                                  "mask_0001" for mask_0001.png; never a raw tag value) */
    int64_t *idx;              /* cache samples of the case, in slice order */
    int64_t n;
} predict_case;

typedef struct predict_run {
    const predict_options *opt;
    c2seg_model *model;
    const checkpoint_meta *meta;
    const cache *cache;        /* metadata only: pixels come from `pixels`, one batch at a time */
    cache_pixels *pixels;
    const predict_failed *failed;
    int n_failed;
    c2seg_workspace ws;        /* one batch of the model */
    float *img, *tokens, *pooled; /* the batch's inputs [B,1,S,S], [B,24,512], [B,512] */
    int32_t *tmask;            /* [B,24] */
    float *src_img;            /* the batch's cache images [B,S,S] in [0,1] */
    uint8_t *src_gt;           /* the batch's cache masks [B,S,S] */
    /* wall seconds by phase over all cases (the summary's "phase_seconds"; scripts/bench):
     * t_source = the SEG source's metadata (out_prepare), t_severity = the CT severity check
     * (the source HU slices read again, the lung mask) */
    double t_cache_read, t_normalise, t_forward, t_map_back, t_write, t_source, t_severity;
} predict_run;

/* c holds the cache's metadata (cache_read with load_pixels 0); px reads its pixels. */
int predict_run_init(predict_run *r, const predict_options *opt, c2seg_model *m, const checkpoint_meta *meta,
                     const cache *c, cache_pixels *px, c2_err *e);
void predict_run_free(predict_run *r);
/* Predicts one case, writes its outputs under opt->outdir and returns its JSON record
 * in *out (also for a failed case: {"status":"failed","error":..}). A DICOM case's SEG
 * source is exactly the files ingest read for it; r->failed files of its folder that
 * may belong to the series are listed as "missing_slices". */
int predict_case_run(predict_run *r, const predict_case *pc, struct cJSON **out, c2_err *e);

/* --max-memory (pipeline/predict/predict_memory.c; limit 0 = none). predict_plan_jobs: before
 * ingest, c->jobs chosen to fit (and C2_ELIMIT when not even a batch of one slice fits);
 * predict_plan_batch: once the cases are known, opt->batch chosen to fit, or C2_ELIMIT when
 * the user's --batch (fixed) does not. */
struct ingest_ctx;
int predict_plan_jobs(int64_t limit, const c2seg_model *m, int size, struct ingest_ctx *c, c2_err *e);
int predict_plan_batch(int64_t limit, int fixed, predict_options *opt, const c2seg_model *m, const cache *ch,
                       const predict_case *cases, int n_cases, c2_err *e);

#endif
