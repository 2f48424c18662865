/* The data-parallel shard plan: which rows of a global batch this process computes,
 * how shard gradients and BatchNorm statistics are combined (see shard.h). */
#include "train/shard.h"

#include "model/text_encoder.h"
#include "train/dist.h"

#include <stdlib.h>
#include <string.h>

static int shard_begin(int nb, const shard_plan *p, int g) { return (int)((int64_t)g * nb / p->G); }

int shard_rows(const shard_plan *p, int nb, int j, int *k0)
{
    int g = p->rank * p->L + j;
    *k0 = shard_begin(nb, p, g);
    return shard_begin(nb, p, g + 1) - *k0;
}

int shard_plan_create(shard_plan *p, const c2seg_model *m, int B, int shards, c2_err *e)
{
    memset(p, 0, sizeof *p);
    p->L = shards > 0 ? shards : 1;
    p->rank = dist_rank();
    p->ranks = dist_size();
    p->G = p->L * p->ranks;
    p->cap = (B + p->G - 1) / p->G;
    if (p->G > 1 && B < 2 * p->G)
        return c2_fail(e, C2_EINVAL,
                       "a batch of %d is too small for %d ranks x %d shards: every shard needs at least 2 samples "
                       "(train-mode BatchNorm)", B, p->ranks, p->L);
    if (p->L > 1) {
        p->acc = malloc((m->n_params + m->n_buffers + 1) * sizeof(float));
        p->counters_keep = malloc((m->n_counters + 1) * sizeof(int32_t));
        if (!p->acc || !p->counters_keep)
            return c2_fail(e, C2_ENOMEM, "out of memory for the shard buffers");
        p->bn_keep = p->acc + m->n_params;
    }
    if (p->ranks > 1 && !(p->gather = malloc((size_t)p->ranks * 4 * sizeof(int))))
        return c2_fail(e, C2_ENOMEM, "out of memory for the shard buffers");
    return C2_OK;
}

void shard_plan_free(shard_plan *p)
{
    free(p->acc); /* and bn_keep */
    free(p->counters_keep);
    free(p->gather);
    memset(p, 0, sizeof *p);
}

void shard_bn_keep(shard_plan *p, c2seg_model *m, int j, int last)
{
    if (p->L == 1)
        return;
    if (j == 0) {
        memcpy(p->bn_keep, m->buffers, m->n_buffers * sizeof(float));
        memcpy(p->counters_keep, m->counters, m->n_counters * sizeof(int32_t));
    } else if (last) {
        memcpy(m->buffers, p->bn_keep, m->n_buffers * sizeof(float));
        memcpy(m->counters, p->counters_keep, m->n_counters * sizeof(int32_t));
    }
}

void shard_grads_add(shard_plan *p, c2seg_model *m, int j)
{
    if (p->L > 1) {
        if (j == 0)
            memcpy(p->acc, m->grads, m->n_params * sizeof(float));
        else
            for (size_t i = 0; i < m->n_params; i++)
                p->acc[i] += m->grads[i];
        if (j < p->L - 1)
            return;
        memcpy(m->grads, p->acc, m->n_params * sizeof(float));
    }
    dist_sum_floats(m->grads, m->n_params);
}

void shard_gather_rows(const shard_plan *p, int nb, int D, float *v_raw, float *l_raw, float *pooled)
{
    int *cnt = p->gather, *dsp = cnt + p->ranks, *cnt_t = dsp + p->ranks, *dsp_t = cnt_t + p->ranks;
    for (int r = 0; r < p->ranks; r++) {
        int k0 = shard_begin(nb, p, r * p->L), k1 = shard_begin(nb, p, (r + 1) * p->L);
        cnt[r] = (k1 - k0) * D;
        dsp[r] = k0 * D;
        cnt_t[r] = (k1 - k0) * TEXT_DIM;
        dsp_t[r] = k0 * TEXT_DIM;
    }
    dist_gather_floats(v_raw, cnt, dsp);
    dist_gather_floats(l_raw, cnt, dsp);
    dist_gather_floats(pooled, cnt_t, dsp_t);
}

int shard_agree(const shard_plan *p, int rc, c2_err *e)
{
    int all = dist_agree(rc);
    if (all && !rc)
        c2_fail(e, all, "rank %d stops because another rank failed (rank 0 reports why)", p->rank);
    return all;
}
