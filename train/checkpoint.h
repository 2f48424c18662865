/* checkpoint: a C2Seg model and its training state in one HDF5 file, enough for
 * prediction to need nothing else and for --resume to continue exactly.
 *
 * Layout (schema_version 2; docs/model.md). String attributes are variable-length
 * UTF-8 (io/h5.h); schema_version 1 files, whose strings are fixed-length, still load:
 *   /                       attributes: format = "c2seg-checkpoint", schema_version,
 *                           config (JSON: preset, fusion, stage1, size), step,
 *                           rng_state (uint64[4]), text_encoder, text_encoder_version,
 *                           preprocess (JSON: intensity_domain, size, window, mean, std,
 *                           from_cache),
 *                           checksum (CRC-32 of every stored tensor's bytes, hex)
 *   /params/<state_dict name>   one dataset per registry entry, float32 (int32 for
 *                           num_batches_tracked), the reference's shape
 *   /optimizer/m, /optimizer/v  optional float32 [n_params] (AdamW moments), attribute
 *                           "type" and "step"
 * Written under a temporary name and renamed into place; the checksum is verified on
 * load, and a schema or config mismatch is refused with a message naming the file. */
#ifndef C2SEG_TRAIN_CHECKPOINT_H
#define C2SEG_TRAIN_CHECKPOINT_H

#include "base/base.h"
#include "model/c2seg.h"

#include <stdint.h>

#define CHECKPOINT_SCHEMA_VERSION 2   /* written; 2 = strings as variable-length UTF-8 */
#define CHECKPOINT_SCHEMA_OLDEST 1    /* the oldest one read (1 = fixed-length strings) */

/* How input pixels become the model's input (METHOD.md §6, io/preprocess.h). */
typedef struct checkpoint_preprocess {
    char intensity_domain[16];   /* "xray", "ct_hu" or "raw" */
    int size;                    /* S (model input side) */
    double window_center, window_width;   /* HU window (ct_hu only) */
    double mean, std;            /* x' = (x - mean) / std, 0.5 / 0.25 */
    int from_cache;              /* 1: recorded from the training cache's ingest parameters
                                  * (train/preprocess_match.h); 0: defaults (imported weights,
                                  * checkpoints written before this was recorded) */
} checkpoint_preprocess;

typedef struct checkpoint_meta {
    char stage1[16];             /* "none", "hardcl" or "cacl" */
    int64_t step;
    uint64_t rng_state[4];
    char text_encoder[64];       /* text_encoder.name */
    char text_encoder_version[32];
    checkpoint_preprocess preprocess;
} checkpoint_meta;

/* Optimizer moments (may be absent: m == NULL). n == model n_params. */
typedef struct checkpoint_optim {
    char type[16];               /* "adamw" or "sgd" */
    int64_t step;
    float *m, *v;                /* [n] each; owned by the caller when saving */
    size_t n;
} checkpoint_optim;

/* Defaults: stage1 "none", step 0, hash-text-512, xray 0.5 / 0.25 at cfg->img. */
void checkpoint_meta_default(checkpoint_meta *meta, const c2seg_config *cfg);

/* Writes the model (every registry tensor), meta and (optionally, opt may be NULL)
 * the optimizer state to path, atomically. */
int checkpoint_save(const char *path, const c2seg_model *m, const checkpoint_meta *meta,
                    const checkpoint_optim *opt, c2_err *e);

/* Reads a checkpoint: creates *m from the stored config (caller frees with
 * c2seg_model_free), fills meta, and, when opt != NULL and the file has moments,
 * allocates opt->m / opt->v (caller frees; NULL when absent). */
int checkpoint_load(const char *path, c2seg_model *m, checkpoint_meta *meta, checkpoint_optim *opt,
                    c2_err *e);

/* The config and meta of a checkpoint without its tensors (root attributes only; the
 * checksum is not verified): for checks made before loading. */
int checkpoint_peek(const char *path, c2seg_config *cfg, checkpoint_meta *meta, c2_err *e);

/* An explicit --preset (given) against the preset of the checkpoint at path that decides
 * the model: C2_EMISMATCH naming both when they differ. */
int checkpoint_check_preset(const char *path, const char *ckpt_preset, const char *given, c2_err *e);

/* Refuses input of another intensity domain or size than the checkpoint's. */
int checkpoint_check_input(const checkpoint_meta *meta, const char *domain, int size, c2_err *e);

#endif
