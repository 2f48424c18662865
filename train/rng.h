/* rng: the training run's random stream, xoshiro256** seeded by splitmix64. Its state
 * (4 x u64) is saved in checkpoints, so a resumed run draws what the uninterrupted one
 * would have. Internal to train/ (the loops and their shuffling). */
#ifndef C2SEG_TRAIN_RNG_H
#define C2SEG_TRAIN_RNG_H

#include <stdint.h>

void rng_seed(uint64_t s[4], uint64_t seed);
uint64_t rng_next(uint64_t s[4]);
/* Fisher-Yates shuffle of v[0..n) drawing from s (c2seg_ref.py's epoch order). */
void rng_shuffle(int64_t *v, int64_t n, uint64_t s[4]);

#endif
