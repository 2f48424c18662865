/* fit: the training and evaluation loops over an HDF5 cohort cache.
 *
 * - fit_segmentation (Stage II): BCE + Dice, AdamW (weight decay on every parameter,
 *   the encoder enc1..norm4 at encoder_lr_scale x the rate, the stage-I heads frozen),
 *   linear warm-up then cosine to 0 over all steps, seeded shuffling with a last batch
 *   of one dropped (train-mode BatchNorm needs two samples), validation Dice every
 *   epoch, the best epoch's weights kept. Exactly the recipe of c2seg_ref.py `train`.
 * - fit_pretrain (Stage I): CaCL or HardCL on enc1..norm4 + head_v + head_l, batch
 *   min(256, n) in one forward so the soft targets and the similarity cover the batch.
 * - evaluate_split: eval-mode prediction of a split, per-image metrics and the text-mask
 *   consistency records (dicom-sr/consistency.h), for `c2seg eval`.
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
#include "train/checkpoint.h"

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
    /* progress callback: one call per optimizer step and one per epoch (epoch_done 1) */
    void (*on_step)(void *user, int epoch, int epochs, int64_t step, int64_t total, double loss, double lr,
                    double images_per_s, int epoch_done, double val_dice);
    void *user;
} fit_options;

void fit_options_default(fit_options *o);

typedef struct fit_result {
    int epochs_run;
    int best_epoch;
    double best_val_dice, best_val_iou;
    double final_loss;
    int64_t steps;
    double images_per_s;      /* training throughput */
    double seconds;
    int n_train, n_valid;
    char split_policy[96];    /* how the split was made */
} fit_result;

int fit_segmentation(const cache *c, const fit_options *o, fit_result *r, c2_err *e);
int fit_pretrain(const cache *c, const fit_options *o, fit_result *r, c2_err *e);

/* Indices of the samples of each role: the cache's split, or the seeded case split. */
typedef struct fit_split {
    int64_t *train, *valid, *test;
    int64_t n_train, n_valid, n_test;
    char policy[96];
} fit_split;
int fit_split_make(const cache *c, uint64_t seed, fit_split *s, c2_err *e);
void fit_split_free(fit_split *s);

/* One model input batch gathered from the cache: images normalised (x - 0.5) / 0.25
 * [B,1,S,S], ground truth [B,1,S,S] in {0,1}, text tokens [B,24,512], mask [B,24],
 * pooled [B,512]. Samples without a caption get the encoding of the empty caption. */
typedef struct fit_batch {
    int cap, S;
    float *img, *gt, *tokens, *pooled;
    int32_t *tmask;
    float *empty_tokens, *empty_pooled;
    int32_t *empty_mask;
} fit_batch;
int fit_batch_create(fit_batch *b, int cap, int S, c2_err *e);
void fit_batch_fill(fit_batch *b, const cache *c, const int64_t *idx, int n);
void fit_batch_free(fit_batch *b);

/* Eval-mode forward of samples idx[0..n) in batches of `batch`; writes the binary
 * prediction (logits > 0) of each into pred [n,S,S] and, when prob != NULL, the
 * sigmoid probabilities [n,S,S]. */
int fit_predict(c2seg_model *m, const cache *c, const int64_t *idx, int64_t n, int batch, uint8_t *pred,
                float *prob, c2_err *e);

/* Per-image Dice / IoU means of pred against the cache's masks (METHOD.md §7). */
void fit_dice_iou(const cache *c, const int64_t *idx, int64_t n, const uint8_t *pred, double *dice,
                  double *iou);

#endif
