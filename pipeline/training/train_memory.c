/* pipeline/training/train_memory: `c2seg train --max-memory` (the planner of
 * pipeline/cli/memory.c). The batch stays what the user or the default asked for (the
 * optimisation is the same); what is planned is its shards (train/shard.h): a batch of B
 * computed as K shards in turn needs one workspace of ceil(B / K) samples, gradients
 * summed. The cost of a shard of n samples: the model's workspace for n
 * (c2seg_workspace_bytes: activations and their gradients) twice (training's, and
 * validation's beside it, which runs in batches of one shard), per sample the batch buffers
 * of training and of validation (image, mask, text tokens) and the logits' gradient; once,
 * the model's parameters and buffers with their gradients and AdamW's two moments, the
 * validation predictions (at most a byte per pixel of every sample), and with K > 1 the
 * shard accumulator (train/shard.c: parameters and buffers once more, the gradients are
 * summed there). The cache, already read, is in the resident memory measured. Given
 * --shards is kept (refused when it does not fit); pretraining is not planned (its CaCL
 * loss keeps a workspace per shard, so shards do not lower its memory). */
#include "model/text_encoder.h"
#include "pipeline/pipeline.h"
#include "pipeline/training/training.h"

typedef struct shard_cost {
    const c2seg_model *m;
    int64_t px;
    int per;                   /* samples per shard asked for: fewer means K > 1 */
    int64_t samples;           /* the cohort's samples (validation predictions) */
} shard_cost;

static int64_t shard_bytes(const void *user, int n)
{
    const shard_cost *c = user;
    const c2seg_model *m = c->m;
    int64_t model = (int64_t)(m->n_params * 4 + m->n_buffers) * (int64_t)sizeof(float);
    int64_t acc = n < c->per ? (int64_t)(m->n_params + m->n_buffers) * (int64_t)sizeof(float) : 0;
    /* train/batch.c: image and mask floats, the tokens and pooled text, the token mask */
    int64_t batch = (2 * c->px + (int64_t)TEXT_MAX_TOKENS * TEXT_DIM + TEXT_DIM) * 4 + TEXT_MAX_TOKENS * 4;
    /* the training workspace and, beside it at each epoch's end, validation's (train/fit_train.c) */
    return 2 * (int64_t)c2seg_workspace_bytes(m, n) + n * (2 * batch + c->px * 4) + model + acc +
           c->samples * c->px;
}

int train_plan_shards(int64_t limit, int shards_given, fit_options *o, const cache *c, c2_err *e)
{
    if (limit <= 0)
        return C2_OK;
    c2seg_config cfg;
    c2seg_model m;
    int rc = c2seg_config_make(&cfg, o->preset, o->fusion, e);
    if (rc == C2_OK)
        rc = c2seg_model_create(&m, &cfg, e);
    if (rc != C2_OK)
        return rc;
    int per = (o->batch + o->shards - 1) / o->shards; /* samples per shard asked for */
    shard_cost cost = {.m = &m, .px = (int64_t)c->size * c->size, .per = o->shards > 1 ? per + 1 : per,
                       .samples = c->n};
    mem_plan p = {.limit = limit, .held = mem_resident_bytes(), .what_held = "the process with the cohort",
                  .piece = "training sample per shard"};
    int n = mem_plan_count(&p, per, shard_bytes, &cost, e);
    char est[32];
    mem_format(est, sizeof est, p.held + (n ? shard_bytes(&cost, n) : 0));
    c2seg_model_free(&m);
    if (!n)
        return C2_ELIMIT;
    if (n >= per)
        return C2_OK;
    int k = (o->batch + n - 1) / n;
    char lim[32];
    mem_format(lim, sizeof lim, limit);
    if (shards_given)
        return c2_fail(e, C2_ELIMIT, "--shards %d does not fit --max-memory %s (%d samples per shard would): drop "
                       "--shards (the planner then takes %d) or raise the limit", o->shards, lim, n, k);
    if (o->batch > 1 && n < 2)
        return c2_fail(e, C2_ELIMIT, "--max-memory %s fits one sample per shard, and train-mode BatchNorm needs two",
                       lim);
    c2_warn("--max-memory: each batch of %d computed as %d shards of at most %d samples (estimated peak %s)",
            o->batch, k, (o->batch + k - 1) / k, est);
    o->shards = k;
    return C2_OK;
}
