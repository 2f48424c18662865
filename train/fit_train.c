/* Stage II (`c2seg train`): BCE + Dice on the segmentation output, the encoder at
 * encoder_lr_scale x the rate, validation Dice every epoch with the best epoch's
 * weights kept: the stage fit_loop.c runs for fit_segmentation. */
#include "train/fit_loop.h"

#include "model/losses.h"
#include "train/batch.h"
#include "train/dist.h"
#include "train/validate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct seg_stage {
    c2seg_workspace w;
    int have_w;
    fit_batch b;
    float *dlogits;           /* [cap,S,S] */
    uint8_t *vpred;           /* [n_valid,S,S] the validation predictions */
} seg_stage;

static int seg_check(const cache *c, const fit_options *o, c2_err *e)
{
    (void)o;
    return !c->images || !c->masks ? c2_fail(e, C2_EINVAL, "the cache was read without pixels") : C2_OK;
}

static int seg_prepare(fit_run *run, void *self, c2_err *e)
{
    (void)self;
    run->r->n_valid = (int)run->sp.n_valid;
    if (run->sp.n_train < 2)
        return c2_fail(e, C2_EINVAL, "the training split has %lld samples; at least 2 are needed",
                       (long long)run->sp.n_train);
    run->B = run->o->batch;
    return fit_check_finite(run->c, run->sp.train, run->sp.n_train, e);
}

static void seg_groups(fit_run *run, void *self)
{
    (void)self;
    run_state *st = &run->st;
    const fit_options *o = run->o;
    snprintf(st->meta.stage1, sizeof st->meta.stage1, "%s", o->init_path ? st->meta.stage1 : "none");
    st->groups[0] = run_state_group(&st->m, C2SEG_GROUP_ENCODER, o->lr * o->encoder_lr_scale, o->weight_decay);
    st->groups[1] = run_state_group(&st->m, C2SEG_GROUP_REST, o->lr, o->weight_decay);
    st->n_groups = 2;
}

static int seg_alloc(fit_run *run, void *self, c2_err *e)
{
    seg_stage *s = self;
    int cap = run->plan.cap;
    size_t px = (size_t)run->c->size * run->c->size;
    int rc = c2seg_workspace_create(&s->w, &run->st.m, cap, e);
    if (rc)
        return rc;
    s->have_w = 1;
    if ((rc = fit_batch_create(&s->b, cap, run->c->size, e)))
        return rc;
    s->dlogits = malloc((size_t)cap * px * sizeof(float));
    s->vpred = malloc(((size_t)run->sp.n_valid + 1) * px);
    return s->dlogits && s->vpred ? C2_OK : c2_fail(e, C2_ENOMEM, "out of memory for training buffers");
}

static void seg_release(fit_run *run, void *self)
{
    (void)run;
    seg_stage *s = self;
    free(s->dlogits);
    free(s->vpred);
    fit_batch_free(&s->b);
    if (s->have_w)
        c2seg_workspace_free(&s->w);
}

/* The loss is a mean over the global batch: shard k adds (n_k / nb) x its own mean
 * loss, and the same factor scales its gradient. */
static int seg_batch(fit_run *run, void *self, const int64_t *rows, int nb, float *loss, c2_err *e)
{
    (void)e;
    seg_stage *s = self;
    c2seg_model *m = &run->st.m;
    size_t px = (size_t)run->c->size * run->c->size;
    double loss_part = 0;
    for (int j = 0; j < run->plan.L; j++) {
        int k0, nk = shard_rows(&run->plan, nb, j, &k0);
        fit_batch_fill(&s->b, run->c, rows + k0, nk);
        c2seg_forward(m, &s->w, s->b.img, s->b.tokens, s->b.tmask, nk, 1);
        shard_bn_keep(&run->plan, m, j, j == run->plan.L - 1);
        float bce, dice;
        float lk = seg_loss_forward(&bce, &dice, s->w.acts.logits, s->b.gt, nk, px);
        loss_part += (double)lk * nk / nb;
        c2seg_zero_grads(m, &s->w);
        memset(s->dlogits, 0, (size_t)nk * px * sizeof(float));
        seg_loss_backward(s->dlogits, s->w.acts.logits, s->b.gt, nk, px, (float)nk / (float)nb);
        c2seg_backward(m, &s->w, s->dlogits, s->b.tmask, nk, 1);
        shard_grads_add(&run->plan, m, j);
    }
    dist_sum_doubles(&loss_part, 1);
    *loss = (float)loss_part;
    return C2_OK;
}

/* Every rank predicts a share of the validation set; rank 0 scores it. The best epoch
 * (or, without validation, the latest) is the output. */
static int seg_score(fit_run *run, void *self, int64_t cnt, trainlog_row *row, int *best, c2_err *e)
{
    (void)cnt;
    seg_stage *s = self;
    const fit_split *sp = &run->sp;
    double vd = NAN, vi = NAN;
    if (sp->n_valid > 0) {
        /* in batches of one shard: validation's workspace sits beside the training one, so a
         * batch computed in shards to fit a memory limit (--max-memory) is validated so too */
        int rc = fit_validate_in_shares(&run->plan, &run->st.m, run->c, sp->valid, sp->n_valid, run->plan.cap,
                                        s->vpred, e);
        if (rc)
            return rc;
        if (run->plan.rank == 0)
            fit_dice_iou(run->c, sp->valid, sp->n_valid, s->vpred, &vd, &vi);
    }
    row->val_dice = vd;
    row->val_iou = vi;
    *best = sp->n_valid > 0 && run->plan.rank == 0 ? vd > run->r->best_val_dice : 1;
    if (*best) {
        run->r->best_val_dice = sp->n_valid > 0 ? vd : NAN;
        run->r->best_val_iou = vi;
    }
    return C2_OK;
}

const fit_stage fit_stage_train = {.name = "train", .validates = 1, .clips = 1, .self_size = sizeof(seg_stage),
                                   .check = seg_check, .prepare = seg_prepare, .groups = seg_groups,
                                   .alloc = seg_alloc, .batch = seg_batch, .score = seg_score, .release = seg_release};
