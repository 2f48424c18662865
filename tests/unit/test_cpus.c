/* base/cpus: the usable CPU count follows the affinity mask (as `taskset -c 0` sets it) and
 * reads cgroup v2 cpu.max quotas. */
#define _GNU_SOURCE
#include "base/base.h"
#include "tests/support/check.h"

#include <sched.h>
#include <stdio.h>

static void affinity_of_one_cpu_gives_one(void)
{
    cpu_set_t all, one;
    CHECK(sched_getaffinity(0, sizeof all, &all) == 0);
    int before = c2_usable_cpus();
    CHECK(before >= 1 && before <= CPU_COUNT(&all));
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &all)) {
            CPU_SET(c, &one);
            break;
        }
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0);   /* what `taskset -c 0` does */
    CHECK(c2_usable_cpus() == 1);
    CHECK(sched_setaffinity(0, sizeof all, &all) == 0);
    CHECK(c2_usable_cpus() == before);
    printf("usable cpus here: %d (affinity mask %d)\n", before, CPU_COUNT(&all));
}

static void cpu_max_quota_rounds_up(void)
{
    CHECK(c2_cpu_max_cpus("max 100000\n") == 0);
    CHECK(c2_cpu_max_cpus("200000 100000\n") == 2);
    CHECK(c2_cpu_max_cpus("150000 100000") == 2);
    CHECK(c2_cpu_max_cpus("50000 100000") == 1);
    CHECK(c2_cpu_max_cpus("100000 100000") == 1);
    CHECK(c2_cpu_max_cpus("-1 100000") == 0);   /* v1's "no quota" */
    CHECK(c2_cpu_max_cpus("") == 0);
    CHECK(c2_cpu_max_cpus("abc") == 0);
    CHECK(c2_cpu_max_cpus(NULL) == 0);
}

int main(void)
{
    RUN_TEST(affinity_of_one_cpu_gives_one);
    RUN_TEST(cpu_max_quota_rounds_up);
    return test_summary();
}
