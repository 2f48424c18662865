/* Stage I (`c2seg pretrain`): CaCL or HardCL on enc1..norm4 + head_v + head_l, the
 * global batch in one loss so the soft targets and the similarity cover the batch (the
 * embeddings of every shard and rank gathered first). Its score is the in-batch
 * retrieval accuracy: the stage fit_loop.c runs for fit_pretrain. */
#include "train/fit_loop.h"

#include "model/cacl.h"
#include "model/text_encoder.h"
#include "train/batch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cl_stage {
    int hard;                 /* HardCL: identity targets; CaCL otherwise */
    c2seg_workspace *ws;      /* one per local shard: each is kept until its backward */
    fit_batch *bs;
    int n_ready;              /* shards whose workspace and batch exist */
    float *buf;
    double correct;           /* the epoch's retrieval hits */
} cl_stage;

static int cl_check(const cache *c, const fit_options *o, c2_err *e)
{
    if (strcmp(o->stage1, "hardcl") != 0 && strcmp(o->stage1, "cacl") != 0)
        return c2_fail(e, C2_EINVAL, "unknown Stage-I objective '%s' (cacl or hardcl)", o->stage1);
    if (!c->has_embeddings || !c->images)
        return c2_fail(e, C2_EINVAL, "the cache has no text embeddings or pixels; Stage I needs both");
    return C2_OK;
}

static int cl_prepare(fit_run *run, void *self, c2_err *e)
{
    cl_stage *s = self;
    s->hard = strcmp(run->o->stage1, "hardcl") == 0;
    run->B = (int)(run->sp.n_train < run->o->batch ? run->sp.n_train : run->o->batch);
    return run->B < 2 ? c2_fail(e, C2_EINVAL, "Stage I needs at least 2 training samples") : C2_OK;
}

/* encoder and heads at the full rate; the rest untouched */
static void cl_groups(fit_run *run, void *self)
{
    (void)self;
    run_state *st = &run->st;
    const fit_options *o = run->o;
    snprintf(st->meta.stage1, sizeof st->meta.stage1, "%s", o->stage1);
    st->groups[0] = run_state_group(&st->m, C2SEG_GROUP_ENCODER, o->lr, o->weight_decay);
    st->groups[1] = run_state_group(&st->m, C2SEG_GROUP_HEADS, o->lr, o->weight_decay);
    st->n_groups = 2;
}

static int cl_alloc(fit_run *run, void *self, c2_err *e)
{
    cl_stage *s = self;
    int B = run->B, D = run->st.m.cfg.proj;
    size_t bb = (size_t)B * B, bd = (size_t)B * D;
    /* + the global batch's v_raw, l_raw [B,D] and pooled [B,512], gathered from the shards */
    s->buf = malloc((5 * bb + 6 * bd + (size_t)B * TEXT_DIM + contrastive_scratch_floats(B, D)) * sizeof(float));
    s->ws = calloc((size_t)run->plan.L, sizeof *s->ws);
    s->bs = calloc((size_t)run->plan.L, sizeof *s->bs);
    if (!s->buf || !s->ws || !s->bs)
        return c2_fail(e, C2_ENOMEM, "out of memory for Stage I buffers");
    for (; s->n_ready < run->plan.L; s->n_ready++) {
        int rc = c2seg_workspace_create(&s->ws[s->n_ready], &run->st.m, run->plan.cap, e);
        if (!rc && (rc = fit_batch_create(&s->bs[s->n_ready], run->plan.cap, run->c->size, e)))
            c2seg_workspace_free(&s->ws[s->n_ready]);
        if (rc)
            return rc;
    }
    return C2_OK;
}

static void cl_release(fit_run *run, void *self)
{
    (void)run;
    cl_stage *s = self;
    for (int j = 0; j < s->n_ready; j++) {
        fit_batch_free(&s->bs[j]);
        c2seg_workspace_free(&s->ws[j]);
    }
    free(s->ws);
    free(s->bs);
    free(s->buf);
}

/* In-batch retrieval hits: image i's most similar text is its own (or the same text). */
static int retrieval_hits(const float *sim, const float *pooled, int nb)
{
    int hits = 0;
    for (int i = 0; i < nb; i++) {
        int best = 0;
        for (int j = 1; j < nb; j++)
            if (sim[i * nb + j] > sim[i * nb + best])
                best = j;
        hits += best == i || memcmp(pooled + (size_t)best * TEXT_DIM, pooled + (size_t)i * TEXT_DIM,
                                    TEXT_DIM * sizeof(float)) == 0;
    }
    return hits;
}

static int cl_batch(fit_run *run, void *self, const int64_t *rows, int nb, float *loss, c2_err *e)
{
    (void)e;
    cl_stage *s = self;
    shard_plan *plan = &run->plan;
    c2seg_model *m = &run->st.m;
    int B = run->B, D = m->cfg.proj;
    size_t bb = (size_t)B * B, bd = (size_t)B * D;
    float *Y = s->buf, *M = Y + bb, *Mp = M + bb, *Yhat = Mp + bb, *sim = Yhat + bb, *v = sim + bb, *l = v + bd,
          *dv = l + bd, *dl = dv + bd, *v_raw = dl + bd, *l_raw = v_raw + bd, *pooled = l_raw + bd,
          *scratch = pooled + (size_t)B * TEXT_DIM;
    /* every shard's embeddings into the global batch's rows, then from every rank */
    for (int j = 0; j < plan->L; j++) {
        int k0, nk = shard_rows(plan, nb, j, &k0);
        fit_batch_fill(&s->bs[j], run->c, rows + k0, nk);
        c2seg_stage1_forward(m, &s->ws[j], s->bs[j].img, s->bs[j].pooled, nk, 1);
        shard_bn_keep(plan, m, j, j == plan->L - 1);
        memcpy(v_raw + (size_t)k0 * D, s->ws[j].acts.v_raw, (size_t)nk * D * sizeof(float));
        memcpy(l_raw + (size_t)k0 * D, s->ws[j].acts.l_raw, (size_t)nk * D * sizeof(float));
        memcpy(pooled + (size_t)k0 * TEXT_DIM, s->bs[j].pooled, (size_t)nk * TEXT_DIM * sizeof(float));
    }
    if (plan->ranks > 1)
        shard_gather_rows(plan, nb, D, v_raw, l_raw, pooled);
    if (s->hard) {
        memset(Y, 0, (size_t)nb * nb * sizeof(float));
        for (int i = 0; i < nb; i++)
            Y[i * nb + i] = 1;
    } else {
        cacl_targets(Y, M, Mp, Yhat, pooled, nb, TEXT_DIM, (float)CACL_TAU, (float)CACL_RHO);
    }
    float l12[2];
    *loss = contrastive_forward(&l12[0], &l12[1], sim, v, l, v_raw, l_raw, Y, nb, D, (float)CACL_TAU);
    if (!isfinite(*loss))
        return C2_OK; /* the skeleton stops the run */
    s->correct += retrieval_hits(sim, pooled, nb);
    /* every rank holds dL/d(v_raw, l_raw) of the whole batch; each back-propagates its
     * own rows (the loss is global, so no per-shard scaling) */
    memset(dv, 0, 2 * bd * sizeof(float));
    contrastive_backward(dv, dl, 1.0f, sim, v, l, v_raw, l_raw, Y, nb, D, (float)CACL_TAU, scratch);
    for (int j = 0; j < plan->L; j++) {
        int k0, nk = shard_rows(plan, nb, j, &k0);
        c2seg_zero_grads(m, &s->ws[j]);
        c2seg_stage1_backward(m, &s->ws[j], dv + (size_t)k0 * D, dl + (size_t)k0 * D, s->bs[j].pooled, nk, 1);
        shard_grads_add(plan, m, j);
    }
    return C2_OK;
}

/* Stage I has no validation: every epoch's weights are the output. */
static int cl_score(fit_run *run, void *self, int64_t cnt, trainlog_row *row, int *best, c2_err *e)
{
    (void)e;
    cl_stage *s = self;
    row->retrieval_accuracy = s->correct / cnt;
    s->correct = 0;
    run->r->retrieval_accuracy = row->retrieval_accuracy;
    *best = 1;
    return C2_OK;
}

const fit_stage fit_stage_pretrain = {.name = "pretrain", .self_size = sizeof(cl_stage), .check = cl_check,
                                      .prepare = cl_prepare, .groups = cl_groups, .alloc = cl_alloc,
                                      .batch = cl_batch, .score = cl_score, .release = cl_release};
