/* pipeline/training: the pretrain / train / eval stages (stage_train.c) and what they
 * plan before fitting (train_memory.c). */
#ifndef C2SEG_PIPELINE_TRAINING_H
#define C2SEG_PIPELINE_TRAINING_H

#include "io/cache.h"
#include "train/fit.h"

/* --max-memory for c2seg train (limit 0 = none): o->shards raised until one shard's
 * workspace and buffers fit beside what the process holds (the cohort cache included);
 * C2_ELIMIT when the user's --shards (shards_given) does not fit, or not one sample does. */
int train_plan_shards(int64_t limit, int shards_given, fit_options *o, const cache *c, c2_err *e);

#endif
