/* split: which samples of a cache train, validate and test.
 *
 * The cache's own split labels when it has train samples; otherwise a seeded split by
 * case (patient / study / volume id), 80 / 20, so every slice of a case lands on the
 * same side; by sample (with a note in the policy) when not every sample has a case id.
 * With few cases the hash can send every one to training; then the case with the
 * largest hash becomes the validation set (never the only case). */
#ifndef C2SEG_TRAIN_SPLIT_H
#define C2SEG_TRAIN_SPLIT_H

#include "base/base.h"
#include "io/cache.h"

/* Indices of the samples of each role: the cache's split, or the seeded case split. */
typedef struct fit_split {
    int64_t *train, *valid, *test;
    int64_t n_train, n_valid, n_test;
    size_t cap_train, cap_valid, cap_test;
    char policy[96];
} fit_split;
int fit_split_make(const cache *c, uint64_t seed, fit_split *s, c2_err *e);
void fit_split_free(fit_split *s);

#endif
