/* preprocess_match: a model sees its data preprocessed the way it was trained.
 *
 * Training records the preprocessing of its cache in the checkpoint's preprocess
 * attribute: the samples' intensity domain, the size S and the CT window (centre and
 * width, from the cache's ingest parameters, /:parameters). Every later meeting of a
 * checkpoint and a cache compares them: train --resume and train --init (a Stage-I
 * checkpoint), eval, and predict (whose inputs are preprocessed with the checkpoint's
 * values). A mismatch is refused with one sentence naming both files, both values
 * and what to do: the model would otherwise see other intensities than in training,
 * silently. The window is compared only for CT (ct_hu) data: it does not touch x-ray
 * or raw-scaled images. */
#ifndef C2SEG_TRAIN_PREPROCESS_MATCH_H
#define C2SEG_TRAIN_PREPROCESS_MATCH_H

#include "base/base.h"
#include "io/cache.h"
#include "train/checkpoint.h"

/* Fills domain, size and window of p from the cache (its first sample's domain and
 * its ingest parameters) and sets from_cache; mean / std are left as they are. Fails
 * when the cache's parameters do not record the window. */
int preprocess_from_cache(checkpoint_preprocess *p, const cache *c, const char *cache_path, c2_err *e);

/* C2_OK when the cache was preprocessed as the checkpoint records; else C2_EMISMATCH
 * with "CKPT was trained on ... but CACHE ...; re-ingest CACHE with ...". */
int preprocess_match(const checkpoint_preprocess *p, const char *ckpt_path, const cache *c, const char *cache_path,
                     c2_err *e);

#endif
