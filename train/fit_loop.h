/* fit_loop: the skeleton both training stages run (internal to train/).
 *
 * Make the split, open the run state (resume / init / fresh), plan the shards and the
 * schedule, then epochs of seeded shuffled batches: the stage computes a global batch's
 * loss and gradients, the skeleton checks the loss, clips (when the stage does), takes
 * one AdamW step at the warm-up + cosine factor and reports progress; after each epoch
 * the stage scores it, and the skeleton logs the row, writes OUT (when the epoch is the
 * best), the history and the resume state (the epoch's commit point), in that order. */
#ifndef C2SEG_TRAIN_FIT_LOOP_H
#define C2SEG_TRAIN_FIT_LOOP_H

#include "train/fit.h"
#include "train/run_state.h"
#include "train/shard.h"
#include "train/split.h"
#include "train/trainlog.h"

/* What the skeleton hands a stage. */
typedef struct fit_run {
    const cache *c;
    const fit_options *o;
    fit_result *r;
    fit_split sp;
    run_state st;
    shard_plan plan;
    int B;                    /* the global batch */
} fit_run;

typedef struct fit_stage {
    const char *name;         /* "train" | "pretrain": the log's stage */
    int validates;            /* scores by validation Dice; no completed epoch is an error */
    int clips;                /* applies --clip-norm */
    size_t self_size;         /* the stage's own state, zeroed, handed to every call as self */
    /* before anything is opened: what the stage needs of the cache and options */
    int (*check)(const cache *c, const fit_options *o, c2_err *e);
    /* with the split made (run->sp), before the model opens: the split's checks, B */
    int (*prepare)(fit_run *run, void *self, c2_err *e);
    /* with the model open: its optimizer groups and meta; then the shard plan is made */
    void (*groups)(fit_run *run, void *self);
    /* with the plan made: the stage's buffers (freed by release, also after a failure) */
    int (*alloc)(fit_run *run, void *self, c2_err *e);
    /* one global batch of nb samples (rows[0..nb) of the cache): its mean loss in *loss
     * and the summed gradients in run->st.m.grads */
    int (*batch)(fit_run *run, void *self, const int64_t *rows, int nb, float *loss, c2_err *e);
    /* a completed epoch of cnt images: fills the row's score and says whether the epoch's
     * weights are the best so far (then OUT is written) */
    int (*score)(fit_run *run, void *self, int64_t cnt, trainlog_row *row, int *best, c2_err *e);
    void (*release)(fit_run *run, void *self);
} fit_stage;

int fit_loop_run(const cache *c, const fit_options *o, fit_result *r, const fit_stage *stage, c2_err *e);

extern const fit_stage fit_stage_train, fit_stage_pretrain;

#endif
