/* The memory planner behind --max-memory SIZE (docs/exit-codes-and-limits.md, "Memory"):
 * a stage measures what it holds already (this process's resident memory), asks each
 * phase's cost of one piece (a slice in a batch, an ingest job, a training shard) and takes
 * the most pieces that fit the limit, never more than the user or the default asked for.
 * When not even one piece fits, the stage stops with one error line naming the limit and
 * what one piece needs (exit 3, before anything is written). */
#include "pipeline/pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int cli_memory_size(void *out, const char *value, char *why, size_t cap)
{
    static const char *const units[] = {"", "K", "M", "G", "T"};
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    int u = -1;
    for (int k = 0; k < 5 && u < 0; k++) {
        size_t n = strlen(units[k]);
        if (strncasecmp(end, units[k], n) != 0)
            continue;
        const char *rest = end + n;
        if (!*rest || (n && (!strcasecmp(rest, "B") || !strcasecmp(rest, "iB"))) || (!n && !strcasecmp(rest, "B")))
            u = k;
    }
    double bytes = v;
    for (int k = 0; k < u; k++)
        bytes *= 1024;
    if (!*value || end == value || errno || u < 0 || !(v > 0) || bytes > 9e18 || bytes < 1) {
        snprintf(why, cap, "not a memory size (a positive number of bytes, or with K, M, G or T: 512M, 2G)");
        return -1;
    }
    *(int64_t *)out = (int64_t)bytes;
    return 0;
}

int64_t mem_resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, resident = 0;
    int ok = f && fscanf(f, "%lld %lld", &size, &resident) == 2;
    if (f)
        fclose(f);
    return ok ? (int64_t)resident * sysconf(_SC_PAGESIZE) : 0;
}

int64_t mem_anonymous_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kb = -1;
    while (f && kb < 0 && fgets(line, sizeof line, f))
        if (sscanf(line, "RssAnon: %lld kB", &kb) != 1)
            kb = -1;
    if (f)
        fclose(f);
    return kb > 0 ? (int64_t)kb * 1024 : 0;
}

void mem_format(char *out, size_t cap, int64_t bytes)
{
    if (bytes >= ((int64_t)1 << 30))
        snprintf(out, cap, "%.1f GiB", bytes / (double)((int64_t)1 << 30));
    else
        snprintf(out, cap, "%.1f MiB", bytes / (double)(1 << 20));
}

int mem_plan_count(const mem_plan *p, int want, int64_t (*cost)(const void *user, int n), const void *user,
                   c2_err *e)
{
    if (want < 1)
        want = 1;
    if (p->limit <= 0)
        return want;
    int64_t room = p->limit - p->held;
    for (int n = want; n >= 1; n = n > 8 ? n * 3 / 4 : n - 1)   /* costs grow with n: a few steps down */
        if (cost(user, n) <= room) {
            /* up again one at a time to the largest that fits */
            while (n < want && cost(user, n + 1) <= room)
                n++;
            return n;
        }
    char lim[32], held[32], one[32];
    mem_format(lim, sizeof lim, p->limit);
    mem_format(held, sizeof held, p->held);
    mem_format(one, sizeof one, cost(user, 1));
    c2_fail(e, C2_ELIMIT, "--max-memory %s is too small: %s is held already (%s) and one %s needs %s more",
            lim, held, p->what_held, p->piece, one);
    return 0;
}
