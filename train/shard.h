/* shard: the data-parallel plan of one training run (docs/scale-out.md).
 *
 * A global batch of nb samples is cut into G = ranks x L shards, shard g being samples
 * [g*nb/G, (g+1)*nb/G) of the batch. Rank r computes shards r*L .. r*L+L-1 (contiguous
 * rows of the batch) one after the other, each a forward / backward of its own: its
 * BatchNorm layers normalise with the shard's statistics, as torch DDP without
 * SyncBatchNorm. Gradients of the shards are summed (in shard order, into acc when
 * L > 1), then over ranks by one MPI_Allreduce of the contiguous gradient arena. The
 * BatchNorm running statistics kept are those of the rank's first shard (torch DDP
 * broadcasts rank 0's buffers), so rank 0's model is the one written. Internal to train/. */
#ifndef C2SEG_TRAIN_SHARD_H
#define C2SEG_TRAIN_SHARD_H

#include "base/base.h"
#include "model/c2seg.h"

typedef struct shard_plan {
    int G, L, rank, ranks;
    int cap;                  /* the largest shard of a full batch */
    float *acc;               /* [n_params] gradient sum over local shards (L > 1) */
    float *bn_keep;           /* [n_buffers] buffers after the first shard (L > 1; in acc's block) */
    int32_t *counters_keep;   /* [n_counters] */
    int *gather;              /* [4][ranks] gather counts / displacements (ranks > 1) */
} shard_plan;

/* The plan for global batches of up to B samples, `shards` local shards per rank. */
int shard_plan_create(shard_plan *p, const c2seg_model *m, int B, int shards, c2_err *e);
void shard_plan_free(shard_plan *p);
/* Local shard j of a global batch of nb: its first row (*k0) and its row count. */
int shard_rows(const shard_plan *p, int nb, int j, int *k0);
/* After local shard j's forward: keep the running statistics of shard 0, undo the rest. */
void shard_bn_keep(shard_plan *p, c2seg_model *m, int j, int last);
/* After local shard j's backward (into zeroed m->grads): add its gradient to the sum;
 * after the last shard m->grads holds the rank's sum, then the sum over ranks. */
void shard_grads_add(shard_plan *p, c2seg_model *m, int j);
/* Stage I: rows [begin(r*L), begin((r+1)*L)) of v_raw, l_raw [nb,D] and pooled [nb,512]
 * are rank r's; after this every rank holds all rows. */
void shard_gather_rows(const shard_plan *p, int nb, int D, float *v_raw, float *l_raw, float *pooled);
/* Every rank learns of a failure on any rank (rank 0's writes); the ranks that did not
 * fail themselves say so. Returns the agreed code. */
int shard_agree(const shard_plan *p, int rc, c2_err *e);

#endif
