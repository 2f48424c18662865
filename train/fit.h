/* fit: the training loops over an HDF5 cohort cache (both run the one skeleton of
 * train/fit_loop.c: fit_train.c is Stage II, fit_pretrain.c Stage I).
 *
 * - fit_segmentation (Stage II): BCE + Dice, AdamW (weight decay on every parameter,
 *   the encoder enc1..norm4 at encoder_lr_scale x the rate, the stage-I heads frozen),
 *   linear warm-up then cosine to 0 over all steps, seeded shuffling with a last batch
 *   of one dropped (train-mode BatchNorm needs two samples), validation Dice every
 *   epoch, the best epoch's weights kept. Exactly the recipe of c2seg_ref.py `train`.
 * - fit_pretrain (Stage I): CaCL or HardCL on enc1..norm4 + head_v + head_l, batch
 *   min(256, n) in one forward so the soft targets and the similarity cover the batch.
 * Its parts: the random stream (rng.h), the shard plan (shard.h), the split policy
 * (split.h), batch assembly (batch.h), the run state and history (run_state.h) and
 * validation (validate.h); `c2seg eval` is train/evaluate.h.
 *
 * Data parallelism (train/dist.h, docs/scale-out.md): under `mpirun -np N` each rank
 * computes its shard of every global batch (same seeded order on all ranks), gradients
 * are summed with one allreduce per step, the CaCL embeddings are gathered so the loss
 * sees the global batch, and rank 0 alone validates and writes. --shards K runs K
 * shards one after the other in one process: the exact single-process twin of K ranks.
 *
 * Splits: the cache's own split labels when it has train samples; otherwise a seeded
 * split by case (patient / study / volume id), 80 / 20; by sample (with a warning)
 * when no case ids exist.
 *
 * Crash safety and resume: after every epoch the full training state (weights,
 * AdamW moments, step, RNG state) is written atomically to OUT.resume.ckpt and the
 * history to OUT.log.{csv,json,svg}; the best weights go to OUT. The order is OUT, the
 * history, then OUT.resume.ckpt (the epoch's commit point: the history --resume reads
 * for the best so far never lags behind it). --resume removes temporaries that a killed
 * run of OUT left, continues from OUT.resume.ckpt at the next epoch and ends with the
 * same weights as an uninterrupted run (same seed and thread count). */
#ifndef C2SEG_TRAIN_FIT_H
#define C2SEG_TRAIN_FIT_H

#include "base/base.h"
#include "io/cache.h"
#include "model/c2seg.h"
#include "train/batch.h"
#include "train/checkpoint.h"
#include "train/split.h"
#include "train/validate.h"

typedef struct fit_options {
    char preset[16];          /* full | small | tiny */
    char fusion[16];          /* vision | duala | bcam | bcam_kgate */
    char stage1[16];          /* pretrain: cacl | hardcl */
    int epochs;
    int batch;
    double lr;                /* base rate of the decoder / fusion ("rest") group */
    double weight_decay;      /* 1e-2 */
    double encoder_lr_scale;  /* 0.1 (Stage II) */
    double warmup_frac;       /* 0.05 */
    double clip_norm;         /* 0 = no clipping (the reference does not clip) */
    uint64_t seed;
    int64_t max_steps;        /* 0 = no cap */
    int shards;               /* data parallelism (docs/scale-out.md): each global batch is cut into
                               * ranks x shards contiguous shards, every one a forward / backward of
                               * its own (own BatchNorm statistics) with gradients summed; this
                               * process computes `shards` of them in turn. 1 (default) = whole batch */
    int resume;
    const char *init_path;    /* checkpoint to start from: Stage I's, or imported weights */
    const char *out_path;     /* best checkpoint */
    /* progress callback: one call per optimizer step and one per epoch (epoch_done 1,
     * with the epoch's score: validation Dice for train, retrieval accuracy for pretrain) */
    void (*on_step)(void *user, int epoch, int epochs, int64_t step, int64_t total, double loss, double lr,
                    double images_per_s, int epoch_done, double score);
    void *user;
} fit_options;

void fit_options_default(fit_options *o);

typedef struct fit_result {
    int epochs_run;
    int best_epoch;
    double best_val_dice, best_val_iou;  /* train; NAN for pretrain */
    double retrieval_accuracy;           /* pretrain: the last epoch's in-batch retrieval accuracy */
    double final_loss;
    int64_t steps;
    double images_per_s;      /* training throughput */
    double seconds;
    int n_train, n_valid;
    char split_policy[96];    /* how the split was made */
} fit_result;

int fit_segmentation(const cache *c, const fit_options *o, fit_result *r, c2_err *e);
int fit_pretrain(const cache *c, const fit_options *o, fit_result *r, c2_err *e);

#endif
