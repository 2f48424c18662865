/* The split policy of training (see split.h): the dataset's own, or a seeded case hash. */
#include "train/split.h"

#include <stdlib.h>
#include <string.h>

static int push(int64_t **v, int64_t *n, size_t *cap, int64_t x)
{
    if (c2_grow(v, sizeof **v, (size_t)*n + 1, cap))
        return C2_ENOMEM;
    (*v)[(*n)++] = x;
    return C2_OK;
}

static uint64_t hash_string(const char *s, uint64_t seed)
{
    uint64_t h = 1469598103934665603ull ^ seed;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h ^= h >> 29;
    return h * 0xBF58476D1CE4E5B9ull;
}

/* The split key of sample i: its case id, or its index when not every sample has one. */
static uint64_t sample_hash(const cache *c, int64_t i, int by_case, uint64_t seed)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)i);
    return hash_string(by_case ? c->samples[i].case_id : key, seed);
}

static int push_valid(fit_split *s, int64_t i) { return push(&s->valid, &s->n_valid, &s->cap_valid, i); }
static int push_train(fit_split *s, int64_t i) { return push(&s->train, &s->n_train, &s->cap_train, i); }

int fit_split_make(const cache *c, uint64_t seed, fit_split *s, c2_err *e)
{
    memset(s, 0, sizeof *s);
    int64_t has_train = 0, has_case = 0;
    for (int64_t i = 0; i < c->n; i++) {
        has_train += c->samples[i].split == CACHE_SPLIT_TRAIN;
        has_case += c->samples[i].case_id && c->samples[i].case_id[0];
    }
    int rc = C2_OK;
    if (has_train) {
        snprintf(s->policy, sizeof s->policy, "the dataset's own split");
        for (int64_t i = 0; i < c->n && !rc; i++) {
            int sp = c->samples[i].split;
            if (sp == CACHE_SPLIT_TRAIN)
                rc = push_train(s, i);
            else if (sp == CACHE_SPLIT_VALID)
                rc = push_valid(s, i);
            else if (sp == CACHE_SPLIT_TEST)
                rc = push(&s->test, &s->n_test, &s->cap_test, i);
        }
    } else {
        int by_case = has_case == c->n;
        snprintf(s->policy, sizeof s->policy, by_case ? "seeded 80/20 split by case (seed %llu)"
                                                      : "seeded 80/20 split by sample (no case ids; seed %llu)",
                 (unsigned long long)seed);
        uint64_t hmax = 0, hmin = UINT64_MAX;
        int64_t n_val = 0;
        for (int64_t i = 0; i < c->n; i++) {
            uint64_t h = sample_hash(c, i, by_case, seed);
            n_val += h % 100 >= 80;
            hmax = h > hmax ? h : hmax;
            hmin = h < hmin ? h : hmin;
        }
        int force = n_val == 0 && hmin != hmax;
        for (int64_t i = 0; i < c->n && !rc; i++) {
            uint64_t h = sample_hash(c, i, by_case, seed);
            int valid = force ? h == hmax : h % 100 >= 80;
            rc = valid ? push_valid(s, i) : push_train(s, i);
        }
    }
    if (rc) {
        fit_split_free(s);
        return c2_fail(e, C2_ENOMEM, "out of memory building the split");
    }
    return C2_OK;
}

void fit_split_free(fit_split *s)
{
    free(s->train);
    free(s->valid);
    free(s->test);
    memset(s, 0, sizeof *s);
}
