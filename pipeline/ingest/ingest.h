/* pipeline/ingest: the one ingest driver, used by `c2seg ingest`, `c2seg predict` and (through
 * `c2seg ingest`) `c2seg run`. ingest_run walks the inputs, reads every file with the readers
 * below and writes one HDF5 cohort cache (io/cache.h) with its report TSV beside it.
 *   ingest_run.c     the driver: report rows, per-file states, the reason table, the sink
 *   ingest_walk.c    folder walk -> list of candidate files (depth limit, loops, hidden)
 *   ingest_slices.c  2D slice datasets (QaTa / LViT / GuideDecoder / Imgs+GT layouts)
 *   ingest_volumes.c NIfTI volumes, sliced into canonical planes
 *   ingest_dicom.c   DICOM image series, sliced into canonical planes
 *   ingest_sr.c      DICOM SR report text (dicom-sr's sr_report_text rule), linked to images
 *   ingest_slice_captions.c  per-slice caption tables of DICOM series (--captions, captions.csv)
 *   stage_ingest.c   the CLI stage: options, the sink (stderr, progress bar), the JSON summary
 * Every input file ends in exactly one state: ingested, consumed (a mask, a caption table,
 * an SR whose text was used), or reported with one "file: reason" line. Nothing here
 * prints: lines and progress go to the caller's ingest_sink; only stage_ingest.c talks to
 * the terminal. */
#ifndef C2SEG_PIPELINE_INGEST_H
#define C2SEG_PIPELINE_INGEST_H

#include "dicom-sr/captions.h"
#include "dicom-sr/sr.h"
#include "io/io.h"

#include <stdio.h>
#include <sys/types.h>

enum { FILE_PENDING = 0, FILE_DONE, FILE_CONSUMED, FILE_FAILED };

typedef struct ingest_file {
    char *path;
    int state;
    char *reason;               /* FILE_FAILED: the report's reason (owned), else NULL */
    dev_t dev;                  /* identity of the file: the same file reached twice is ingested once */
    ino_t ino;
    int64_t over;               /* --max-memory: what one job reading it alone needs, over the limit (0: fits) */
} ingest_file;

/* Where the driver's lines and progress go (the CLI stage supplies one). Every callback
 * may be NULL: errors and warnings then go to c2_warn, progress nowhere. */
typedef struct ingest_sink {
    void *user;
    void (*error)(void *user, const char *line);        /* "file: reason", or a run-level error */
    void (*warn)(void *user, const char *line);
    void (*progress_start)(void *user, int64_t files);
    void (*progress_step)(void *user, int64_t files);
    void (*progress_finish)(void *user);
} ingest_sink;

/* Reported files counted by reason (the text before the first '('). */
typedef struct ingest_reason {
    char reason[160];
    int n;
} ingest_reason;

/* One SR document read during the walk and its text slot (ingest_sr.c). */
typedef struct ingest_sr {
    sr_document doc;
    int file;                   /* index into ingest_ctx.files */
    char *raw, *caption, *source;
    int unparsed;               /* caption_parse found nothing: the caption is the raw text */
    int64_t used;               /* samples that got this text */
} ingest_sr;

/* c2seg ingest's default files_per_job (measured in docs/performance.md: a 3-slice series
 * ingests faster with one job than with two). */
#define INGEST_FILES_PER_JOB 16

typedef struct ingest_ctx {
    /* options (ingest_ctx_init sets the defaults) */
    preprocess_params pp;
    int intensity;              /* INTENSITY_HU or INTENSITY_RAW for NIfTI */
    const char *masks_dir;      /* --masks, or NULL */
    const char *captions_path;  /* --captions: a caption table for every 2D image and DICOM slice, or NULL */
    int captions_patient;       /* --caption-convention patient: the tables' left is the patient's */
    int max_depth;
    int sr_caption_raw;         /* --sr-caption raw: feed the SR text itself, not its canonical caption */
    const char *seg_label;      /* --label: which segments of a DICOM SEG are the lesion (io/seg.h
                                   seg_select_segments); NULL = those coded as lesion or infection */
    const char *modalities;     /* --modality: admitted modalities (io/dicom.h dicom_series_policy); NULL = CT, CR, DX */
    int jobs;                   /* --jobs: threads reading, decoding and preprocessing (0 = the cores
                                   this process may use, c2_usable_cpus); the HDF5 writer is one */
    int files_per_job;          /* jobs 0: at most one job per this many files found (each job costs
                                   a thread and a sandbox worker, ~5-8 ms of CPU: not worth it for a
                                   handful of files); 0 = no such cap. c2seg ingest: INGEST_FILES_PER_JOB.
                                   ingest_run sets jobs to the count it used. */
    int64_t max_memory;         /* --max-memory in bytes (0 = none): jobs planned to fit (ingest_memory.c) */
    int jobs_fixed;             /* the user gave --jobs: kept, or refused when it does not fit */
    const char *what_held;      /* for the planner's refusal: "the process with its model"; NULL: "the process" */
    int64_t mem_estimate;       /* the plan's largest estimate (what is held + the jobs), bytes; 0 = not planned */
    int64_t mem_job;            /* one job's estimate in that plan (its sandbox worker and largest input) */
    int64_t mem_floor;          /* the least limit the plans accept: what is held + one job (the larger plan's) */
    int64_t mem_held;           /* what the process held at the decode plan (its reports say it) */
    int64_t mem_volume;         /* the largest NIfTI volume's reading in the plan (ingest_memory.c), bytes */
    int abort_rc;               /* the whole run stopped: the planner after the DICOM headers, or a
                                   failed cache write (a full disk); later file reports are silent */
    c2_err abort_e;
    int stopping;               /* abort_rc is set: read by the pool's threads (ingest_stopping) */
    /* state of one run */
    struct c2_pool *pool;       /* the jobs' threads (base/pool.h) */
    const ingest_sink *sink;
    int started;                /* the report and the cache writer were opened, the readers ran */
    struct caption_source {     /* caption tables loaded so far, by path and split */
        char path[4096], split[16];
        caption_table *table;   /* NULL when loading failed (reported once) */
    } tables[16];
    int n_tables;
    ingest_sr *srs;
    int n_srs;
    size_t cap_srs;
    int n_sr_documents;         /* SR documents read (used or not) */
    cache_writer *writer;
    ingest_file *files;
    int n_files;
    size_t cap_files;
    FILE *report;               /* the TSV report beside the cache */
    struct ingest_own {         /* this run's own outputs: in the folder (dev, ino), the files
                                   named base or base.* (the cache, its report, their temps) */
        dev_t dev;
        ino_t ino;
        const char *base;
    } own;
    int n_failed;               /* files reported */
    ingest_reason reasons[64];
    int n_reasons;
    int64_t per_split[4];       /* samples per CACHE_SPLIT_* */
    int64_t n_samples;
    int n_series, n_volumes, n_images2d;
    int n_seg_truth;            /* series that got their masks from a DICOM SEG */
    struct cJSON *geometry;     /* array the geometry record of every ingested DICOM series is added to
                                   (the caller's; NULL: none kept) */
    int64_t n_slices;
    int64_t n_captioned;
    int64_t n_slice_captioned;  /* DICOM slices whose caption came from a per-slice table */
    struct slice_captions *slice_caps; /* ingest_slice_captions.c's state during ingest_dicom */
} ingest_ctx;

/* Defaults: preprocess_params_default, HU intensity, the limits' folder depth. */
void ingest_ctx_init(ingest_ctx *c);
/* Frees what a run left in c (files, reasons, caption tables); the options stay. */
void ingest_ctx_free(ingest_ctx *c);
/* --max-memory (pipeline/ingest/ingest_memory.c; c->max_memory 0 = none), planned twice by
 * the driver and the DICOM reader, each time beside what the process holds then (measured):
 * ingest_plan_jobs, once the walk has listed the files and before the pool exists: c->jobs
 * lowered to the jobs that fit, each job counted as one sandbox worker plus the largest
 * piece any of them may hold (a PNG or JPEG pair from its header, a DICOM file's metadata
 * read, a NIfTI plane; the largest NIfTI volume's reading from its header, once; a file whose
 * header is not read, INGEST_UNKNOWN_FILE_BYTES); a PNG or JPEG pair or a NIfTI volume that
 * does not fit even in one job alone is left out (its file's over set: its reader reports it);
 * ingest_plan_decode, once the DICOM headers are read and before any slice is decoded: the
 * largest slice decode of the series to be ingested (rows x columns x samples x bytes, the
 * transfer syntax, the file's size); the pool is made again with fewer jobs when the first
 * plan's do not fit. A slice whose decode does not fit even in one job alone (a large image,
 * a header claiming huge dimensions) is left out of the plan: over[its object] = what that
 * job needs (bytes; over has one entry per object, zeroed by the caller), for the reader to
 * report its file (ingest_over_reason) and go on with the rest. C2_ELIMIT (e) when not even
 * one job fits (the first plan), or no slice fits and nothing else was ingested (the cheapest
 * job named), or the user's --jobs (c->jobs_fixed) does not. */
#define INGEST_UNKNOWN_FILE_BYTES ((int64_t)48 << 20)
int ingest_plan_jobs(ingest_ctx *c, c2_err *e);
int ingest_plan_decode(ingest_ctx *c, const dicom_series *series, int n_series, const dicom_object *objs,
                       const uint8_t *has_truth, int64_t *over, c2_err *e);
/* The reason of a slice of o that ingest_plan_decode left out (need: over[object]), in e:
 * "PATH: too large to decode under --max-memory (needs N MiB ...)"; ingest_image_over_reason
 * the same for an image that ingest_plan_jobs left out (its file's over). */
void ingest_over_reason(const ingest_ctx *c, const dicom_object *o, int64_t need, c2_err *e);
void ingest_image_over_reason(const ingest_ctx *c, const char *path, int64_t need, c2_err *e);
/* The same for a NIfTI volume (and its mask) that ingest_plan_jobs left out. */
void ingest_volume_over_reason(const ingest_ctx *c, const char *path, int has_mask, int64_t need, c2_err *e);
/* The plan's numbers as o's "memory_plan" object (limit, estimate, job, floor; bytes), when
 * c was planned (c->max_memory given): the stages' JSON summaries. */
struct cJSON;
void ingest_memory_json(struct cJSON *o, const ingest_ctx *c);
/* The DICOM metadata pass keeps the decoded plane of each single-frame slice of at most
 * INGEST_PLANE_PIXELS pixels (read in the same worker call as its header, so the file is
 * parsed once) until its series is ingested, up to INGEST_PLANE_BUDGET bytes in all, whatever
 * the series' length or the jobs (the peak memory stays flat: test_predict_study); past that,
 * slices are decoded again in the slice pass as before. A 128² float plane is 64 KB, what the
 * worker's answer for one slice at S = 128 is anyway. */
#define INGEST_PLANE_PIXELS ((int64_t)128 * 128)
#define INGEST_PLANE_BUDGET ((int64_t)16 << 20)
/* The driver: walks inputs[n_inputs], ingests every file into the cache at cache_path
 * (parameters JSON params_json; caption embeddings by enc, or none when enc is NULL) and
 * writes cache_path.report.tsv with one row per reported file. Lines and progress go to
 * sink. Returns C2_OK when the cache was written (c->n_samples > 0; some files may be
 * reported: c->n_failed), C2_ENOTFOUND when nothing usable was found (no cache written),
 * or another error (walk, writer, report) with e. */
int ingest_run(ingest_ctx *c, const char *const *inputs, int n_inputs, const char *cache_path,
               const char *params_json, const cache_encoder *enc, const ingest_sink *sink, c2_err *e);

/* The terminal sink of the CLI stages (stage_ingest.c): error lines through cli_error,
 * warnings through c2_warn, progress on p. */
struct progress;
void ingest_cli_sink(ingest_sink *s, struct progress *p);

#endif
