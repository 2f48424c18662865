/* io/cache: the HDF5 cohort cache written by `c2seg ingest` and read by training,
 * evaluation and export. One file holds the preprocessed model tensors of every
 * sample (images f32 [N,S,S] in [0,1], masks u8 [N,S,S] in {0,1}), where each came
 * from (file, DICOM UIDs, frame, slice, case), how a model pixel maps back to the
 * source pixel and to patient LPS mm, its split, and its text: the caption fed to the
 * model (an index into a deduplicated caption table) with the raw text, its source
 * and left/right convention, plus one embedding per unique caption.
 * The full layout is in docs/cache.md. Schema version CACHE_SCHEMA_VERSION.
 *
 * Writing is streaming: images and masks go to disk per sample (chunked, deflate),
 * metadata is kept in memory and written at close. The file is written
 * under a temporary name and renamed by cache_writer_close, so readers never see a
 * half-written cache. The same inputs give the same data; the only time-dependent
 * value is the attribute /provenance:created_utc. */
#ifndef C2SEG_IO_CACHE_H
#define C2SEG_IO_CACHE_H

#include "base/base.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Call once at program start, before any HDF5 call: HDF5 is told not to run its library
 * shutdown at exit (H5dont_atexit). When a file's close fails (a full disk), HDF5 1.10
 * keeps it in its open list and its shutdown then crashes in H5F__close_cb (SIGSEGV);
 * every writer here closes or removes its own files, so the shutdown has nothing to do. */
void cache_library_init(void);

#define CACHE_SCHEMA_VERSION 1
#define CACHE_TEXT_TOKENS 24   /* N: token rows per caption */
#define CACHE_TEXT_DIM 512     /* Ct: embedding width */

/* Split labels (stored as an HDF5 enum named so in h5dump). */
enum { CACHE_SPLIT_NONE = 0, CACHE_SPLIT_TRAIN = 1, CACHE_SPLIT_VALID = 2, CACHE_SPLIT_TEST = 3 };
const char *cache_split_name(int split);          /* "none", "train", "valid", "test" */
int cache_split_parse(const char *name);          /* case-insensitive, also "val", "validation"; -1 if unknown */

/* One sample's metadata. Strings are NUL-terminated UTF-8; NULL means "" (absent).
 * The writer copies everything; the reader's strings are owned by the cache. */
typedef struct cache_sample {
    int split;                 /* CACHE_SPLIT_* */
    int has_mask;              /* 1 if masks[i] is a ground truth, 0 if it is all zero by absence */
    const char *file;          /* source image file (as given on the command line + relative path) */
    const char *mask_file;     /* source mask file, or NULL */
    const char *study_uid, *series_uid, *sop_uid; /* DICOM UIDs, NULL for non-DICOM */
    int frame;                 /* 0-based frame in a multi-frame file, 0 otherwise */
    int slice_index;           /* 0-based index along the canonical slice axis of its volume, 0 for 2D */
    const char *case_id;       /* patient / study / volume key for split-by-case */
    const char *modality;      /* "CT", "CR", "DX", "MR" ... or "" for plain images */
    const char *domain;        /* intensity domain: "ct_hu", "xray" or "raw" */
    int source_rows, source_cols; /* source pixel grid of the slice before preprocessing */
    /* Model (row, col, 1) -> source pixel coordinates (a0, a1, a2) with pixel centres
     * at integers. a0 = row, a1 = column of the source image / DICOM frame and a2 = 0
     * for 2D sources and DICOM frames; for NIfTI (a0, a1, a2) = voxel (i, j, k). */
    double model_to_source[3][3];
    /* Source (a0, a1, a2, 1) -> patient LPS mm, valid when has_patient_geometry. */
    double source_to_patient[4][4];
    int has_patient_geometry;
    int64_t nonfinite_count;   /* NaN / Inf source pixels replaced (see preprocess) */
    /* Text slot: caption fed to the model (NULL = none), the raw text it came from,
     * where it came from ("annotation.json:train", "SR <SOP UID> Findings", ...) and
     * its left/right convention: "image" (left half of the image) or "patient". */
    const char *caption, *text_raw, *text_source, *text_convention;
} cache_sample;

/* Geometry of a sample (io/sample_geometry.c), from model_to_source and
 * source_to_patient. cache_sample_left_is_image_right: whether the sample's text "left"
 * lies in the image's right half: image-convention text means the image's left half;
 * patient-convention text means patient left, located through the source-to-patient
 * geometry (standard PA / axial display, patient left on the image's right, when it is
 * unknown). cache_sample_spacing: the model pixel spacing (row, column) in mm; 0 when
 * the geometry is unknown. */
int cache_sample_left_is_image_right(const cache_sample *s);
void cache_sample_spacing(const cache_sample *s, double *sy, double *sx);

/* A text encoder as the cache needs it (io/ does not know model/): fills
 * tokens [CACHE_TEXT_TOKENS*CACHE_TEXT_DIM], mask [CACHE_TEXT_TOKENS] (1 = valid),
 * pooled [CACHE_TEXT_DIM]; returns >= 0 or a negative C2_E* code with e filled. */
typedef struct cache_encoder {
    const char *name, *version, *params;
    int (*encode)(void *user, const char *utf8, float *tokens, int32_t *mask, float *pooled, c2_err *e);
    void *user;
} cache_encoder;

typedef struct cache_writer cache_writer;

/* Starts a cache for S x S samples at path (written as a temporary first).
 * params_json: the ingest parameters, stored verbatim as /:parameters. */
int cache_writer_open(cache_writer **w, const char *path, int size, const char *params_json, c2_err *e);
/* Appends one sample: image [S,S] f32 in [0,1], mask [S,S] u8 {0,1} or NULL (then
 * zeros and has_mask 0 regardless of meta->has_mask). */
int cache_writer_add(cache_writer *w, const cache_sample *meta, const float *image, const uint8_t *mask, c2_err *e);

/* One sample's pixels already through the cache's filter pipeline (deflate, level 1): the
 * chunks /images and /masks store. Encoding is the expensive part of writing, and it needs no
 * writer: ingest's threads encode, the one writer thread stores (cache_writer_add_chunk). */
typedef struct cache_chunk {
    uint8_t *image, *mask;     /* owned (cache_chunk_free) */
    size_t image_n, mask_n;
    int has_mask;              /* mask given (else an all-zero mask was encoded) */
} cache_chunk;
/* image [S,S] in [0,1], mask [S,S] {0,1} or NULL (zeros). Thread-safe. */
int cache_chunk_encode(int S, const float *image, const uint8_t *mask, cache_chunk *out, c2_err *e);
void cache_chunk_free(cache_chunk *c);
/* cache_writer_add with encoded pixels (the writer's size must be the chunk's S). */
int cache_writer_add_chunk(cache_writer *w, const cache_sample *meta, const cache_chunk *chunk, c2_err *e);
int64_t cache_writer_count(const cache_writer *w);
/* Writes metadata, the caption table and (when enc is not NULL) its embeddings,
 * closes and renames into place. Frees w in every case. */
int cache_writer_close(cache_writer *w, const cache_encoder *enc, c2_err *e);
/* Writes (or replaces) a string attribute of the cache's root group, e.g. "series_geometry"
 * (a JSON text); names already used by the schema are refused. */
int cache_writer_set_attr(cache_writer *w, const char *name, const char *text, c2_err *e);
/* Abandons the cache: removes the temporary file, frees w. */
/* Sets the nonfinite_count of sample i already added (a series' count is known only
 * after its last slice; it is stored on its first sample). C2_EINVAL when i is out of range. */
int cache_writer_set_nonfinite(cache_writer *w, int64_t i, int64_t count, c2_err *e);
void cache_writer_abort(cache_writer *w);

/* A cache loaded into memory (cache_read). Arrays are row-major and owned. */
typedef struct cache {
    int schema_version;
    int size;                  /* S */
    int64_t n;                 /* samples */
    float *images;             /* [n,S,S] in [0,1]; NULL when read with load_pixels 0 */
    uint8_t *masks;            /* [n,S,S] in {0,1}; NULL when read with load_pixels 0 */
    cache_sample *samples;     /* [n]; strings owned by the cache */
    int32_t *caption_index;    /* [n]: row of captions / embeddings, -1 when no caption */
    int64_t n_captions;        /* U */
    char **captions;           /* [U] unique captions in first-use order */
    int has_embeddings;        /* 1 when the three arrays below are present */
    float *text_tokens;        /* [U,24,512] */
    int32_t *text_mask;        /* [U,24] */
    float *text_pooled;        /* [U,512] */
    char encoder_name[64], encoder_version[64];
    char tool_version[32];
    char *parameters;          /* the ingest parameters JSON */
    void *strings;             /* internal: storage of the sample strings */
} cache;

/* Reads path into c. load_pixels 0 skips images and masks (metadata only). Rejects
 * a different schema version with C2_EMISMATCH. */
int cache_read(const char *path, int load_pixels, cache *c, c2_err *e);
void cache_free(cache *c);

/* The pixels of chosen samples, for cohorts that need not fit in memory: read the
 * metadata once with cache_read(path, 0, ...), then the images and masks of the samples
 * in use through this reader (one chunk-sized hyperslab [1,S,S] per sample), so memory
 * follows the caller's batch, not N. */
typedef struct cache_pixels cache_pixels;
/* Opens /images and /masks of path; fails unless both are [N,S,S] with S = image_size. */
int cache_pixels_open(cache_pixels **r, const char *path, c2_err *e);
/* images [n,S,S] f32 and masks [n,S,S] u8 (either may be NULL) of samples idx [n], in
 * that order; every idx must lie in [0,N) (else C2_EINVAL). */
int cache_pixels_read(cache_pixels *r, const int64_t *idx, int64_t n, float *images, uint8_t *masks, c2_err *e);
void cache_pixels_close(cache_pixels *r);

#ifdef __cplusplus
}
#endif
#endif
