/* base/pool: the ordered parallel map gives every result to the caller in index order for
 * any thread count, with each job's slot intact; base/cpus: the usable CPU count lies between
 * 1 and the online CPUs (sysconf). */
#include "base/pool.h"
#include "tests/support/check.h"

#include <stdlib.h>
#include <unistd.h>

typedef struct order {
    int64_t next, bad;
    int64_t sum;
} order;

static void job(void *user, int64_t i, void *slot)
{
    (void)user;
    int64_t *v = slot;
    for (int k = 0; k < 64; k++) /* the whole slot, so overlapping slots would show */
        v[k] = i * 1000 + k;
    if (i % 7 == 0)
        usleep(200); /* finish out of order */
}

static void done(void *user, int64_t i, void *slot)
{
    order *o = user;
    const int64_t *v = slot;
    o->bad += i != o->next;
    for (int k = 0; k < 64; k++)
        o->bad += v[k] != i * 1000 + k;
    o->next++;
    o->sum += v[0];
}

static void map_is_ordered_for_any_thread_count(void)
{
    for (int threads = 1; threads <= 4; threads++) {
        c2_pool *p;
        c2_err e = {0};
        CHECK(c2_pool_create(&p, threads, &e) == C2_OK);
        for (int round = 0; round < 3; round++) { /* the same threads for several maps */
            order o = {0, 0, 0};
            CHECK(c2_pool_map(p, 500, 64 * sizeof(int64_t), job, done, &o, &e) == C2_OK);
            CHECK_MSG(o.next == 500 && o.bad == 0, "threads %d: %lld of 500 seen, %lld out of order or torn",
                      threads, (long long)o.next, (long long)o.bad);
            CHECK(o.sum == 1000LL * 499 * 500 / 2);
        }
        c2_pool_free(p);
    }
}

static void cpus_available_is_within_the_machine(void)
{
    int n = c2_usable_cpus();
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK_MSG(n >= 1 && n <= online, "%d usable of %ld online", n, online);
}

int main(void)
{
    RUN_TEST(map_is_ordered_for_any_thread_count);
    RUN_TEST(cpus_available_is_within_the_machine);
    return test_summary();
}
