/* pipeline/ingest: the parts of `c2seg ingest` shared by its files.
 *   ingest_walk.c    folder walk -> list of candidate files (depth limit, loops, hidden)
 *   ingest_slices.c  2D slice datasets (QaTa / LViT / GuideDecoder / Imgs+GT layouts)
 *   ingest_volumes.c NIfTI volumes, sliced into canonical planes
 *   ingest_dicom.c   DICOM image series, sliced into canonical planes
 *   ingest_sr.c      DICOM SR report text, linked to the images of its study
 *   stage_ingest.c   options, the report, the JSON summary
 * Every input file ends in exactly one state: ingested, consumed (a mask, a caption
 * table), or reported with one "file: reason" line. */
#ifndef C2SEG_PIPELINE_INGEST_H
#define C2SEG_PIPELINE_INGEST_H

#include "dicom-sr/captions.h"
#include "dicom-sr/sr.h"
#include "io/io.h"
#include "pipeline/pipeline.h"

#include <stdio.h>
#include <sys/types.h>

enum { FILE_PENDING = 0, FILE_DONE, FILE_CONSUMED, FILE_FAILED };

typedef struct ingest_file {
    char *path;
    int state;
    dev_t dev;                  /* identity of the file: the same file reached twice is ingested once */
    ino_t ino;
} ingest_file;

/* One SR document read during the walk and its text slot (ingest_sr.c). */
typedef struct ingest_sr {
    sr_document doc;
    int file;                   /* index into ingest_ctx.files */
    char *raw, *caption, *source;
    int unparsed;               /* caption_parse found nothing: the caption is the raw text */
    int64_t used;               /* samples that got this text */
} ingest_sr;

typedef struct ingest_ctx {
    preprocess_params pp;
    int intensity;              /* INTENSITY_HU or INTENSITY_RAW for NIfTI */
    const char *masks_dir;      /* --masks, or NULL */
    const char *captions_path;  /* --captions: a caption table for every 2D image, or NULL */
    int captions_patient;       /* --caption-convention patient: the tables' left is the patient's */
    struct caption_source {     /* caption tables loaded so far, by path and split */
        char path[4096], split[16];
        caption_table *table;   /* NULL when loading failed (reported once) */
    } tables[16];
    int n_tables;
    int max_depth;
    int sr_caption_raw;         /* --sr-caption raw: feed the SR text itself, not its canonical caption */
    ingest_sr *srs;
    int n_srs, cap_srs;
    cache_writer *writer;
    ingest_file *files;
    int n_files, cap_files;
    FILE *report;               /* the TSV report beside the cache */
    int n_failed;               /* files reported */
    int64_t per_split[4];       /* samples per CACHE_SPLIT_* */
    int n_series, n_volumes, n_images2d;
    int64_t n_slices;
    int64_t n_captioned;
    progress prog;
} ingest_ctx;

/* Reports one file that could not be ingested: stderr line, report row, state. */
void ingest_report(ingest_ctx *c, ingest_file *f, const char *reason);
/* Writes one preprocessed sample and counts it. */
int ingest_add(ingest_ctx *c, const cache_sample *meta, const float *image, const uint8_t *mask, c2_err *e);
/* Marks a file as handled and advances the progress display. */
void ingest_done(ingest_ctx *c, ingest_file *f, int state);

/* Appends every regular file under path (or path itself) to c->files. */
int ingest_walk(ingest_ctx *c, const char *path, c2_err *e);
/* Pending image files in slice-dataset layouts: pairs, splits, captions. */
void ingest_slices(ingest_ctx *c);
/* Pending NIfTI files (with their masks) and DICOM files (grouped into series). */
void ingest_nifti(ingest_ctx *c);
void ingest_dicom(ingest_ctx *c);

/* Reads the SR document c->files[file] and its text slot. */
int ingest_sr_add(ingest_ctx *c, int file, c2_err *e);
/* Fills m's text slot from the SR referencing m->sop_uid, else the SR of m->study_uid. */
void ingest_sr_attach(ingest_ctx *c, cache_sample *m);
/* Marks used SR files consumed, reports the unused ones, frees them all. */
void ingest_sr_finish(ingest_ctx *c);

/* The resized model tensors of one canonical plane [H,W]: image01 -> image [S,S],
 * mask01 (or NULL) -> mask [S,S], and the model -> plane map. */
void ingest_resize(const ingest_ctx *c, const float *image01, const uint8_t *mask01, int H, int W, float *image,
                   uint8_t *mask, double model_to_plane[3][3]);

#endif
