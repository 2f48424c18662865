/* The training skeleton shared by Stage I and Stage II (see fit_loop.h); c2seg_ref.py
 * `train_cmd` / `train_stage1` is the exact definition it follows step for step
 * (schedule, shuffling, dropped last batch). */
#include "train/fit_loop.h"

#include "model/optim.h"
#include "train/dist.h"
#include "train/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fit_options_default(fit_options *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->preset, sizeof o->preset, "small");
    snprintf(o->fusion, sizeof o->fusion, "bcam_kgate");
    snprintf(o->stage1, sizeof o->stage1, "cacl");
    o->epochs = 60;
    o->batch = 16;
    o->lr = 3e-4;
    o->weight_decay = 1e-2;
    o->encoder_lr_scale = 0.1;
    o->warmup_frac = 0.05;
    o->seed = 0;
    o->shards = 1;
}

/* Batches per epoch for n samples: a last batch smaller than min_last is dropped
 * (2 for one shard: train-mode BatchNorm needs two samples; 2 per shard otherwise). */
static int64_t batches_per_epoch(int64_t n, int bs, int min_last)
{
    int64_t k = (n + bs - 1) / bs;
    if (k > 1 && n - (k - 1) * bs < min_last)
        k--;
    return k;
}

/* The schedule and the clocks of one run. */
typedef struct run_loop {
    int64_t per_epoch, total, warm;   /* batches an epoch; steps of the run (--max-steps caps it); warm-up steps */
    double t_run, t_train;            /* s: the run's start (monotonic); spent in the epochs' steps */
    int64_t n_img;                    /* images stepped on by the completed epochs */
    double t0, loss_sum;              /* the current epoch: its start; sum of loss x batch size */
    int64_t cnt;                      /* the current epoch's images */
} run_loop;

static void run_loop_plan(run_loop *L, const fit_options *o, int64_t n_train, int B, const shard_plan *p)
{
    memset(L, 0, sizeof *L);
    L->per_epoch = batches_per_epoch(n_train, B, p->G > 1 ? 2 * p->G : 2);
    L->total = (int64_t)o->epochs * L->per_epoch;
    if (o->max_steps > 0 && o->max_steps < L->total)
        L->total = o->max_steps;
    L->warm = (int64_t)llround(o->warmup_frac * (double)L->total);
    if (L->warm < 1)
        L->warm = 1;
}

/* After a global batch of nb with gradients in st->m.grads: the optimizer step at the
 * schedule's factor f, the epoch's running loss, the progress callback. */
static void run_loop_step(run_loop *L, run_state *st, const fit_options *o, int ep, float loss, int nb, double f)
{
    adamw_step(&st->opt, st->m.params, st->m.grads, st->groups, st->n_groups, (float)f);
    st->step++;
    L->loss_sum += (double)loss * nb;
    L->cnt += nb;
    if (o->on_step) {
        double el = now_seconds() - L->t0;
        o->on_step(o->user, ep, o->epochs, st->step, L->total, loss, o->lr * f, el > 0 ? L->cnt / el : 0, 0, NAN);
    }
}

static int loss_failed(const fit_run *run, int ep, float loss, c2_err *e)
{
    const char *what = isnan(loss) ? "NaN" : "infinite";
    if (run->r->best_epoch > 0)
        return c2_fail(e, C2_EINVAL,
                       "the loss became %s at epoch %d, step %lld; training stopped, the last good state is %s "
                       "(epoch %d) and the best weights are %s",
                       what, ep, (long long)run->st.step, run->st.resume_path, ep - 1, run->o->out_path);
    return c2_fail(e, C2_EINVAL,
                   "the loss became %s at epoch %d, step %lld, before any epoch completed; nothing was written "
                   "(try a lower --lr)", what, ep, (long long)run->st.step);
}

/* One epoch's batches in a new shuffled order; 0 images when the schedule is spent. */
static int run_epoch(fit_run *run, const fit_stage *stage, void *self, run_loop *L, int64_t *order, int ep,
                     c2_err *e)
{
    run_state *st = &run->st;
    const fit_options *o = run->o;
    int64_t n = run->sp.n_train;
    L->t0 = now_seconds();
    L->loss_sum = 0;
    L->cnt = 0;
    memcpy(order, run->sp.train, (size_t)n * sizeof *order);
    rng_shuffle(order, n, st->rng);
    for (int64_t bi = 0; bi < L->per_epoch && st->step < L->total; bi++) {
        int nb = (int)((bi + 1) * run->B <= n ? run->B : n - bi * run->B);
        double f = lr_schedule(st->step, L->total, L->warm);
        float loss;
        int rc = stage->batch(run, self, order + bi * run->B, nb, &loss, e);
        if (rc)
            return rc;
        if (!isfinite(loss))
            return loss_failed(run, ep, loss, e);
        if (stage->clips && o->clip_norm > 0)
            grad_clip_norm(st->m.grads, st->groups, st->n_groups, o->clip_norm);
        run_loop_step(L, st, o, ep, loss, nb, f);
    }
    return C2_OK;
}

/* After epoch ep: score it, log it, write OUT (when best), the history and the resume
 * state; every rank learns whether rank 0's writes failed. */
static int end_epoch(fit_run *run, const fit_stage *stage, void *self, run_loop *L, trainlog *log, int ep,
                     double dt_train, c2_err *e)
{
    run_state *st = &run->st;
    const fit_options *o = run->o;
    trainlog_row row = {.epoch = ep, .step = st->step, .loss = L->loss_sum / L->cnt,
                        .lr = o->lr * lr_schedule(st->step > 0 ? st->step - 1 : 0, L->total, L->warm),
                        .val_dice = NAN, .val_iou = NAN, .retrieval_accuracy = NAN,
                        .images_per_s = L->cnt / dt_train};
    int best = 0, rc = stage->score(run, self, L->cnt, &row, &best, e);
    if (rc)
        return rc;
    row.seconds = now_seconds() - L->t0;
    trainlog_add(log, &row, e);
    run->r->final_loss = row.loss;
    if (best) {
        run->r->best_epoch = ep;
        if (run->plan.rank == 0)
            rc = run_state_save(st, o->out_path, 0, e);
    }
    /* the resume state is written last: it is the commit point of the epoch, and the
     * history (which --resume reads for the best so far) must not lag behind it */
    if (run->plan.rank == 0 && !rc && !(rc = trainlog_write(log, st->log_prefix, e)))
        rc = run_state_save(st, st->resume_path, 1, e);
    if ((rc = shard_agree(&run->plan, rc, e)))
        return rc;
    run->r->epochs_run = ep;
    if (o->on_step)
        o->on_step(o->user, ep, o->epochs, st->step, L->total, row.loss, row.lr, row.images_per_s, 1,
                   stage->validates ? row.val_dice : row.retrieval_accuracy);
    return C2_OK;
}

static int run_epochs(fit_run *run, const fit_stage *stage, void *self, int resumed, c2_err *e)
{
    run_loop L;
    run_loop_plan(&L, run->o, run->sp.n_train, run->B, &run->plan);
    int64_t *order = malloc((size_t)run->sp.n_train * sizeof *order);
    if (!order)
        return c2_fail(e, C2_ENOMEM, "out of memory for the epoch order");
    trainlog log;
    trainlog_init(&log, stage->name);
    int rc = C2_OK, start = resumed ? (int)(run->st.step / L.per_epoch) + 1 : 1;
    if (resumed)
        run_state_history(&run->st, &log, start - 1, run->r);
    L.t_run = now_seconds();
    for (int ep = start; ep <= run->o->epochs && run->st.step < L.total && !rc; ep++) {
        if ((rc = run_epoch(run, stage, self, &L, order, ep, e)))
            break;
        double dt = now_seconds() - L.t0;
        if (L.cnt == 0)
            break;
        L.t_train += dt;
        L.n_img += L.cnt;
        rc = end_epoch(run, stage, self, &L, &log, ep, dt, e);
    }
    if (!rc) {
        run->r->steps = run->st.step;
        run->r->images_per_s = L.t_train > 0 ? L.n_img / L.t_train : 0;
        run->r->seconds = now_seconds() - L.t_run;
        if (stage->validates && run->r->best_epoch == 0)
            rc = c2_fail(e, C2_EINVAL, "no epoch was completed (the resume state is already at the end?)");
    }
    trainlog_free(&log);
    free(order);
    return rc;
}

int fit_segmentation(const cache *c, const fit_options *o, fit_result *r, c2_err *e)
{
    return fit_loop_run(c, o, r, &fit_stage_train, e);
}

int fit_pretrain(const cache *c, const fit_options *o, fit_result *r, c2_err *e)
{
    return fit_loop_run(c, o, r, &fit_stage_pretrain, e);
}

int fit_loop_run(const cache *c, const fit_options *o, fit_result *r, const fit_stage *stage, c2_err *e)
{
    memset(r, 0, sizeof *r);
    r->best_val_dice = stage->validates ? -1 : NAN;
    r->best_val_iou = r->retrieval_accuracy = NAN;
    int rc = stage->check(c, o, e);
    if (rc)
        return rc;
    void *self = calloc(1, stage->self_size);
    if (!self)
        return c2_fail(e, C2_ENOMEM, "out of memory for the training state");
    fit_run run = {.c = c, .o = o, .r = r};
    if ((rc = fit_split_make(c, o->seed, &run.sp, e))) {
        free(self);
        return rc;
    }
    snprintf(r->split_policy, sizeof r->split_policy, "%s", run.sp.policy);
    r->n_train = (int)run.sp.n_train;
    int resumed = 0, allocated = 0;
    if (!(rc = stage->prepare(&run, self, e)) && !(rc = run_state_open(&run.st, c, o, &resumed, e))) {
        stage->groups(&run, self);
        if (!(rc = shard_plan_create(&run.plan, &run.st.m, run.B, o->shards, e))) {
            allocated = 1;
            if (!(rc = stage->alloc(&run, self, e)))
                rc = run_epochs(&run, stage, self, resumed, e);
        }
    }
    if (allocated)
        stage->release(&run, self);
    shard_plan_free(&run.plan);
    run_state_free(&run.st);
    fit_split_free(&run.sp);
    free(self);
    return rc;
}
