/* pipeline/ingest: what the driver (ingest_run.c) and its readers (ingest_*.c) share.
 * Not for use outside pipeline/ingest/: callers use ingest.h. The readers call only down
 * into the driver's bookkeeping below, never up into a stage. */
#ifndef C2SEG_PIPELINE_INGEST_PARTS_H
#define C2SEG_PIPELINE_INGEST_PARTS_H

#include "pipeline/ingest/ingest.h"

/* Reports one file that could not be ingested: sink error line, report row, reason
 * count, state FILE_FAILED. */
void ingest_report(ingest_ctx *c, ingest_file *f, const char *reason);
/* A run-level error line (not a file's reason) and a warning, through the sink. */
void ingest_error(ingest_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ingest_warn(ingest_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes one sample whose pixels a pool job encoded (cache_chunk_encode) and counts it. A
 * failed write stops the run (c->abort_rc: one error, nothing kept); from then on every call
 * returns that error and writes nothing. The calling (writer) thread only. */
int ingest_add_chunk(ingest_ctx *c, const cache_sample *meta, const cache_chunk *chunk, c2_err *e);
/* 1 once the run is stopping (abort_rc set): a pool job on any thread skips its file's work. */
static inline int ingest_stopping(const ingest_ctx *c)
{
    return __atomic_load_n(&c->stopping, __ATOMIC_RELAXED);
}
/* Marks a file as handled and advances the progress. */
void ingest_done(ingest_ctx *c, ingest_file *f, int state);

/* Appends every regular file under path (or path itself) to c->files. */
int ingest_walk(ingest_ctx *c, const char *path, c2_err *e);
/* Pending image files in slice-dataset layouts: pairs, splits, captions. */
void ingest_slices(ingest_ctx *c);
/* The caption table at path for split (loaded once per run; NULL when absent or unreadable,
 * reported once). */
caption_table *ingest_table_get(ingest_ctx *c, const char *path, const char *split);
/* DICOM slices' per-slice captions (ingest_slice_captions.c): a file the walk met named like
 * a series' caption table (captions.csv) is loaded and consumed; 0 when f is not one. */
int ingest_slice_table_met(ingest_ctx *c, const ingest_file *f);
/* Gives the DICOM sample m its slice's caption from --captions or a captions.csv beside its
 * series, when one has a row for it (source: m's text_source buffer, kept by the caller). */
void ingest_slice_caption_attach(ingest_ctx *c, cache_sample *m, char *source, size_t cap);
/* Warns about per-slice tables with rows that named no ingested slice. */
void ingest_slice_captions_finish(ingest_ctx *c);

/* Pending NIfTI files (with their masks) and DICOM files (grouped into series). A NIfTI
 * volume the plan left out (its file's over) is reported, not read. */
void ingest_nifti(ingest_ctx *c);
/* 1 when path is a NIfTI mask by name (NAME_mask / NAME_label .nii[.gz]): read with its image. */
int ingest_nifti_is_mask(const char *path);
/* The mask of NIfTI image path (NAME_mask / NAME_label .nii[.gz] beside it, or the same name
 * in --masks DIR): 1 and out filled, 0 when there is none. */
int ingest_nifti_mask(const ingest_ctx *c, const char *path, char *out, size_t cap);
void ingest_dicom(ingest_ctx *c);

/* Keeps the SR document c->files[file] (read by sr_read_text_isolated: the metadata pass's
 * pool job) and makes its text slot; takes doc's arrays (freed on failure too). */
int ingest_sr_add(ingest_ctx *c, int file, sr_document *doc, c2_err *e);
/* Fills m's text slot from the SR referencing m->sop_uid, else the SR of m->study_uid. */
void ingest_sr_attach(ingest_ctx *c, cache_sample *m);
/* Marks used SR files consumed, reports the unused ones, frees them all. */
void ingest_sr_finish(ingest_ctx *c);

/* The resized model tensors of one canonical plane [H,W]: image01 -> image [S,S],
 * mask01 (or NULL) -> mask [S,S], and the model -> plane map. */
void ingest_resize(const ingest_ctx *c, const float *image01, const uint8_t *mask01, int H, int W, float *image,
                   uint8_t *mask, double model_to_plane[3][3]);

#endif
