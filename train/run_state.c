/* A training run's state: open (resume / init / fresh), save, free, and the history
 * an interrupted run restores. */
#include "train/run_state.h"

#include "train/dist.h"
#include "train/preprocess_match.h"
#include "train/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void run_state_free(run_state *st)
{
    if (st->model_ready)
        c2seg_model_free(&st->m);
    free(st->opt_state);
    memset(st, 0, sizeof *st);
}

int run_state_save(run_state *st, const char *path, int with_optimizer, c2_err *e)
{
    st->meta.step = st->step;
    memcpy(st->meta.rng_state, st->rng, sizeof st->rng);
    checkpoint_optim o = {.step = st->opt.step, .m = st->opt.m, .v = st->opt.v, .n = st->opt.n};
    snprintf(o.type, sizeof o.type, "adamw");
    return checkpoint_save(path, &st->m, &st->meta, with_optimizer ? &o : NULL, e);
}

void run_state_history(const run_state *st, trainlog *l, int upto_epoch, fit_result *r)
{
    trainlog old;
    c2_err e = {0};
    if (trainlog_read(&old, st->log_prefix, &e))
        return;
    int pretrain = strcmp(l->stage, "pretrain") == 0;
    for (int i = 0; i < old.n && old.rows[i].epoch <= upto_epoch; i++) {
        const trainlog_row *row = &old.rows[i];
        trainlog_add(l, row, &e);
        if (pretrain) {
            r->retrieval_accuracy = row->retrieval_accuracy;
            r->best_epoch = row->epoch;
        } else if (isfinite(row->val_dice) && row->val_dice > r->best_val_dice) {
            r->best_val_dice = row->val_dice;
            r->best_val_iou = row->val_iou;
            r->best_epoch = row->epoch;
        }
    }
    trainlog_free(&old);
}

param_group run_state_group(const c2seg_model *m, int g, double lr, double weight_decay)
{
    return (param_group){m->group_begin[g], m->group_begin[g + 1] - m->group_begin[g], (float)lr,
                         (float)weight_decay};
}

/* A Stage-I checkpoint carries the encoder only: copies it into a model of the
 * requested fusion (every encoder tensor whose name and size exist in both). */
static int adopt_encoder(run_state *st, const c2seg_config *want, uint64_t seed, c2_err *e)
{
    c2seg_model fresh;
    int rc = c2seg_model_create(&fresh, want, e);
    if (rc)
        return rc;
    c2seg_model_init_weights(&fresh, seed);
    for (int i = 0; i < fresh.n_tensors; i++) {
        const c2seg_tensor_info *t = &fresh.tensors[i], *s = c2seg_tensor_find(&st->m, t->name);
        if (!s || t->kind == C2SEG_COUNTER || s->numel != t->numel)
            continue;
        const char *top = t->name;
        int encoder = t->group == C2SEG_GROUP_ENCODER || t->group == C2SEG_GROUP_HEADS ||
                      strncmp(top, "enc", 3) == 0 || strncmp(top, "pe", 2) == 0 || strncmp(top, "block", 5) == 0 ||
                      strncmp(top, "norm", 4) == 0;
        if (encoder)
            memcpy(c2seg_tensor_data(&fresh, t), c2seg_tensor_data(&st->m, s), (size_t)t->numel * 4);
    }
    c2seg_model_free(&st->m);
    st->m = fresh;
    return C2_OK;
}

/* The model of the run: the resume state's, --init's or a fresh one. */
static int model_open(run_state *st, const fit_options *o, checkpoint_optim *saved, int *resumed, c2_err *e)
{
    int rc;
    FILE *f = o->resume ? fopen(st->resume_path, "rb") : NULL;
    if (f) {
        fclose(f);
        if ((rc = checkpoint_load(st->resume_path, &st->m, &st->meta, saved, e)))
            return rc;
        st->model_ready = 1;
        *resumed = 1;
        return C2_OK;
    }
    if (o->init_path) {
        if ((rc = checkpoint_load(o->init_path, &st->m, &st->meta, NULL, e)))
            return rc;
        st->model_ready = 1;
        c2seg_config want;
        if ((rc = c2seg_config_make(&want, st->m.cfg.preset, o->fusion, e)))
            return rc;
        return want.fusion != st->m.cfg.fusion ? adopt_encoder(st, &want, o->seed, e) : C2_OK;
    }
    c2seg_config cfg;
    if ((rc = c2seg_config_make(&cfg, o->preset, o->fusion, e)))
        return rc;
    if ((rc = c2seg_model_create(&st->m, &cfg, e)))
        return rc;
    st->model_ready = 1;
    c2seg_model_init_weights(&st->m, o->seed);
    checkpoint_meta_default(&st->meta, &cfg);
    return C2_OK;
}

int run_state_open(run_state *st, const cache *c, const fit_options *o, int *resumed, c2_err *e)
{
    memset(st, 0, sizeof *st);
    snprintf(st->resume_path, sizeof st->resume_path, "%s.resume.ckpt", o->out_path);
    snprintf(st->log_prefix, sizeof st->log_prefix, "%s.log", o->out_path);
    *resumed = 0;
    checkpoint_optim saved = {0};
    if (o->resume && dist_rank() == 0)
        c2_remove_stale_temps(o->out_path);
    int rc = model_open(st, o, &saved, resumed, e);
    if (!rc && st->m.cfg.img != c->size)
        rc = c2_fail(e, C2_EMISMATCH, "the cache holds %dx%d samples but the %s preset takes %dx%d; re-ingest with --preset %s",
                     c->size, c->size, st->m.cfg.preset, st->m.cfg.img, st->m.cfg.img, st->m.cfg.preset);
    size_t n = st->m.n_params;
    if (!rc && !(st->opt_state = calloc(adamw_state_floats(n), sizeof(float))))
        rc = c2_fail(e, C2_ENOMEM, "out of memory for the optimizer state");
    /* the preprocessing of the data (domain, size, window), recorded for eval and predict
     * to check and use (train/preprocess_match.h) */
    if (!rc)
        rc = preprocess_from_cache(&st->meta.preprocess, c, "the cache", e);
    if (!rc) {
        adamw_init(&st->opt, st->opt_state, n);
        rng_seed(st->rng, o->seed);
    }
    if (!rc && *resumed) {
        st->step = st->meta.step;
        memcpy(st->rng, st->meta.rng_state, sizeof st->rng);
        if (saved.m && saved.n == n) {
            memcpy(st->opt.m, saved.m, n * sizeof(float));
            memcpy(st->opt.v, saved.v, n * sizeof(float));
            st->opt.step = (long)saved.step;
        }
    }
    free(saved.m);
    free(saved.v);
    return rc;
}
