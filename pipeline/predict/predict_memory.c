/* pipeline/predict/predict_memory: `c2seg predict --max-memory` (the planner of
 * pipeline/cli/memory.c). Two pieces are planned, each for the phase that holds them:
 * - ingest jobs, by ingest_run from its inputs (pipeline/ingest/ingest_memory.c), once a
 *   batch of one slice is known to fit;
 * - the batch, once the cases are known: a batch of b costs the model's workspace for b
 *   (c2seg_workspace_bytes), the run's per-slice buffers (predict_run_init, case_predict)
 *   and the largest case's source-grid outputs (its mask bytes and their SEG / NIfTI copy).
 * What the process holds already (the model, the libraries, the cache's metadata) is its
 * resident memory, measured. Without --max-memory nothing changes. */
#include "pipeline/ingest/ingest.h"
#include "pipeline/predict/predict.h"

typedef struct batch_cost {
    const c2seg_model *m;
    int S;
    int64_t case_bytes;        /* the largest case's source-grid outputs */
} batch_cost;

static int64_t batch_bytes(const void *user, int b)
{
    const batch_cost *c = user;
    int64_t px = (int64_t)c->S * c->S;
    /* img, src_img (float), src_gt (byte), prob (float) per slice; tokens, mask, pooled */
    int64_t per_slice = px * (4 + 4 + 1 + 4) + (int64_t)TEXT_MAX_TOKENS * (TEXT_DIM * 4 + 4) + TEXT_DIM * 4;
    return (int64_t)c2seg_workspace_bytes(c->m, b) + b * per_slice + c->case_bytes;
}

int predict_plan_jobs(int64_t limit, const c2seg_model *m, int size, ingest_ctx *c, c2_err *e)
{
    if (limit <= 0)
        return C2_OK;
    mem_plan p = {.limit = limit, .held = mem_resident_bytes(), .what_held = "the process with its model",
                  .piece = "slice per forward pass"};
    batch_cost one = {.m = m, .S = size};
    if (!mem_plan_count(&p, 1, batch_bytes, &one, e))   /* no use reading inputs that cannot be predicted */
        return C2_ELIMIT;
    c->max_memory = limit; /* the jobs are planned by ingest_run, from the inputs */
    c->jobs_fixed = 0;
    c->what_held = "the process with its model";
    return C2_OK;
}

int predict_plan_batch(int64_t limit, int fixed, predict_options *opt, const c2seg_model *m, const cache *ch,
                       const predict_case *cases, int n_cases, c2_err *e)
{
    if (limit <= 0)
        return C2_OK;
    batch_cost cost = {.m = m, .S = ch->size};
    for (int k = 0; k < n_cases; k++) {
        int64_t voxels = 0;
        for (int64_t i = 0; i < cases[k].n; i++) {
            const cache_sample *s = &ch->samples[cases[k].idx[i]];
            voxels += (int64_t)(s->source_rows > 0 ? s->source_rows : ch->size) *
                      (s->source_cols > 0 ? s->source_cols : ch->size);
        }
        int64_t bytes = 2 * voxels * (opt->fractional ? 4 : 1);
        cost.case_bytes = bytes > cost.case_bytes ? bytes : cost.case_bytes;
    }
    mem_plan p = {.limit = limit, .held = mem_resident_bytes(), .what_held = "the process with its model and cases",
                  .piece = "slice per forward pass"};
    int b = mem_plan_count(&p, opt->batch, batch_bytes, &cost, e);
    if (!b)
        return C2_ELIMIT;
    if (b < opt->batch && fixed) {
        char need[32], lim[32];
        mem_format(need, sizeof need, batch_bytes(&cost, opt->batch));
        mem_format(lim, sizeof lim, limit);
        return c2_fail(e, C2_ELIMIT, "--batch %d needs %s more than is held, over --max-memory %s: drop --batch (the "
                       "planner then takes %d) or raise the limit", opt->batch, need, lim, b);
    }
    if (b < opt->batch)
        c2_warn("--max-memory: batch %d instead of %d", b, opt->batch);
    opt->batch = b;
    return C2_OK;
}
