/* run_state: what a training run carries from epoch to epoch and saves: the model, the
 * AdamW state and groups, the step, the random stream, and the paths of its resume
 * state (OUT.resume.ckpt) and history (OUT.log.*). Opening one resumes an interrupted
 * run (after removing the temporaries a killed run of OUT left), starts from --init's
 * weights, or initialises a fresh model. Internal to train/. */
#ifndef C2SEG_TRAIN_RUN_STATE_H
#define C2SEG_TRAIN_RUN_STATE_H

#include "base/base.h"
#include "io/cache.h"
#include "model/c2seg.h"
#include "model/optim.h"
#include "train/checkpoint.h"
#include "train/fit.h"
#include "train/trainlog.h"

typedef struct run_state {
    c2seg_model m;
    checkpoint_meta meta;
    float *opt_state;
    adamw opt;
    param_group groups[2];
    int n_groups;
    uint64_t rng[4];
    int64_t step;
    int model_ready;
    char resume_path[4200];   /* OUT.resume.ckpt: the state --resume continues from */
    char log_prefix[4200];    /* OUT.log: the history (.json, .csv) */
} run_state;

/* Opens the model: from --resume's state (*resumed = 1), from --init, or freshly
 * initialised; checks it against the cache's sample size; seeds the random stream. */
int run_state_open(run_state *st, const cache *c, const fit_options *o, int *resumed, c2_err *e);
void run_state_free(run_state *st);
/* Writes the model (and with_optimizer, the AdamW state) with the step and RNG state. */
int run_state_save(run_state *st, const char *path, int with_optimizer, c2_err *e);
/* The optimizer group of model group g (a contiguous range of the parameter arena). */
param_group run_state_group(const c2seg_model *m, int g, double lr, double weight_decay);
/* Restores the history of an interrupted run (OUT.log.json) up to upto_epoch into l, and
 * the best so far into r: the validation Dice's best epoch for train, the last epoch
 * and its retrieval accuracy for pretrain. A missing or unreadable log restores nothing. */
void run_state_history(const run_state *st, trainlog *l, int upto_epoch, fit_result *r);

#endif
