/* base/cpus: how many CPUs this process may use: the CPUs of its affinity mask
 * (sched_getaffinity), capped by its cgroup's CPU quota (cgroup v2 cpu.max "QUOTA PERIOD"
 * of its cgroup and every ancestor, or cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us),
 * rounded up, at least 1. Used for default thread counts (ingest --jobs). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "base/base.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* CPUs allowed by a quota / period pair; 0 when unlimited or unreadable. */
static int quota_cpus(double quota, double period)
{
    return quota > 0 && period > 0 ? (int)ceil(quota / period) : 0;
}

/* The cgroup v2 quota along the path of this process's cgroup (the smallest wins). */
static int cgroup2_cpus(void)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[4096], path[4096] = "";
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0) {
            snprintf(path, sizeof path, "%s", line + 3);
            path[strcspn(path, "\n")] = 0;
        }
    if (f)
        fclose(f);
    int best = 0;
    for (;;) {
        char file[4200], max[64] = "";
        snprintf(file, sizeof file, "/sys/fs/cgroup%s/cpu.max", strcmp(path, "/") == 0 ? "" : path);
        FILE *m = fopen(file, "r");
        double quota = 0, period = 0;
        if (m && fscanf(m, "%63s %lf", max, &period) == 2 && strcmp(max, "max") != 0 && sscanf(max, "%lf", &quota) == 1) {
            int n = quota_cpus(quota, period);
            best = n && (!best || n < best) ? n : best;
        }
        if (m)
            fclose(m);
        char *slash = strrchr(path, '/');
        if (!slash || slash == path)
            break;
        *slash = 0;
    }
    return best;
}

static int cgroup1_cpus(void)
{
    double quota = 0, period = 0;
    FILE *q = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r"), *p = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r");
    int ok = q && p && fscanf(q, "%lf", &quota) == 1 && fscanf(p, "%lf", &period) == 1;
    if (q)
        fclose(q);
    if (p)
        fclose(p);
    return ok ? quota_cpus(quota, period) : 0;
}

int c2_cpus_available(void)
{
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > 0 ? (int)online : 1;
    }
    int quota = cgroup2_cpus();
    if (!quota)
        quota = cgroup1_cpus();
    if (quota > 0 && quota < n)
        n = quota;
    return n > 0 ? n : 1;
}
