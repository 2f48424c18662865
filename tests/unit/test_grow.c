/* base/grow: c2_grow, the growable-array step: values survive growth, capacity grows
 * geometrically, no reallocation while there is room, overflow refused untouched. */
#include "base/base.h"
#include "tests/support/check.h"

#include <stdint.h>
#include <stdlib.h>

static void appends_keep_every_value(void)
{
    int64_t *v = NULL;
    size_t cap = 0, n = 0, grows = 0, last_cap = 0;
    for (int64_t i = 0; i < 100000; i++) {
        CHECK(c2_grow(&v, sizeof *v, n + 1, &cap) == C2_OK);
        if (cap != last_cap)
            grows++, last_cap = cap;
        v[n++] = i * 7;
    }
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= v[i] == (int64_t)i * 7;
    CHECK(ok);
    CHECK(cap >= n && cap < 2 * n);
    CHECK_MSG(grows <= 16, "%zu reallocations for 100000 appends", grows);
    free(v);
}

static void room_left_means_no_reallocation(void)
{
    char *s = NULL;
    size_t cap = 0;
    CHECK(c2_grow(&s, 1, 100, &cap) == C2_OK && cap >= 100);
    char *before = s;
    size_t cap_before = cap;
    CHECK(c2_grow(&s, 1, cap, &cap) == C2_OK && s == before && cap == cap_before);
    CHECK(c2_grow(&s, 1, 0, &cap) == C2_OK && s == before);
    free(s);
}

static void overflow_is_refused_untouched(void)
{
    double *d = NULL;
    size_t cap = 0;
    CHECK(c2_grow(&d, sizeof *d, 4, &cap) == C2_OK);
    d[0] = 1.5;
    double *before = d;
    size_t cap_before = cap;
    CHECK(c2_grow(&d, sizeof *d, SIZE_MAX / 4, &cap) == C2_ENOMEM);
    CHECK(c2_grow(&d, SIZE_MAX / 2, 16, &cap) == C2_ENOMEM);
    CHECK(d == before && cap == cap_before && d[0] == 1.5);
    free(d);
}

int main(void)
{
    RUN_TEST(appends_keep_every_value);
    RUN_TEST(room_left_means_no_reallocation);
    RUN_TEST(overflow_is_refused_untouched);
    return test_summary();
}
