/* base/cpus: how many CPUs this process may use, the default for every thread count.
 *
 * Not the machine's count (nproc, _SC_NPROCESSORS_ONLN): the smaller of
 * - the CPUs in this thread's affinity mask (sched_getaffinity: taskset, cpusets, a batch
 *   scheduler's binding), and
 * - the CPU quota of this process's control group and of every group above it: cgroup v2
 *   `cpu.max` ("QUOTA PERIOD" or "max PERIOD"), or cgroup v1 `cpu.cfs_quota_us` /
 *   `cpu.cfs_period_us` (-1 = none), rounded up (1.5 CPUs of quota -> 2 threads).
 * Control groups are found through /proc/self/cgroup and /proc/self/mountinfo; anything
 * unreadable counts as "no limit". Always at least 1. */
#define _GNU_SOURCE
#include "base/base.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int c2_cpu_max_cpus(const char *text)
{
    long long quota, period;
    if (!text)
        return 0;
    while (*text == ' ' || *text == '\t')
        text++;
    if (strncmp(text, "max", 3) == 0)
        return 0;
    if (sscanf(text, "%lld %lld", &quota, &period) != 2 || quota <= 0 || period <= 0)
        return 0;
    long long n = (quota + period - 1) / period;
    return n > 4096 ? 4096 : (int)n;
}

/* The first line of a small file into buf; 0 on success. */
static int read_line(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    return ok ? 0 : -1;
}

/* The CPU limit of the group at dir (a mount point + group path) and every parent up to
 * the mount point: the smallest, 0 when none. */
static int group_limit(const char *mount, const char *group, int v2)
{
    char path[4096], dir[4096], a[128], b[128];
    int best = 0;
    if (snprintf(dir, sizeof dir, "%s%s", mount, strcmp(group, "/") == 0 ? "" : group) >= (int)sizeof dir)
        return 0;
    size_t base_len = strlen(mount);
    for (;;) {
        int n = 0;
        if (v2) {
            snprintf(path, sizeof path, "%s/cpu.max", dir);
            if (read_line(path, a, sizeof a) == 0)
                n = c2_cpu_max_cpus(a);
        } else {
            snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
            if (read_line(path, a, sizeof a) == 0) {
                snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
                if (read_line(path, b, sizeof b) == 0) {
                    char both[260];
                    snprintf(both, sizeof both, "%lld %lld", atoll(a), atoll(b));
                    n = c2_cpu_max_cpus(both);
                }
            }
        }
        if (n > 0 && (best == 0 || n < best))
            best = n;
        char *slash = strrchr(dir, '/');
        if (!slash || (size_t)(slash - dir) < base_len)
            break;
        *slash = 0;
    }
    return best;
}

/* This process's group path for cgroup v2 ("0::/x") or for the v1 hierarchy holding the
 * cpu controller; 0 when found. */
static int own_group(int v2, char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[4096];
    int found = -1;
    if (!f)
        return -1;
    while (found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = 0, *c2 = 0;
        int match = 0;
        if (v2)
            match = strcmp(line, "0") == 0 && c1[1] == 0;
        else
            for (char *tok = strtok(c1 + 1, ","); tok && !match; tok = strtok(NULL, ","))
                match = strcmp(tok, "cpu") == 0;
        if (match && strlen(c2 + 1) < cap)
            strcpy(out, c2 + 1), found = 0;
    }
    fclose(f);
    return found;
}

/* The CPU quota over all mounted cgroup hierarchies (v2, and v1 with the cpu controller). */
static int cgroup_limit(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[8192], group[4096];
    int best = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        /* id parent major:minor root mount-point options [optional...] - fstype source super */
        char root[4096], mount[4096], fstype[64], super[1024];
        char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mount) != 2 ||
            sscanf(dash + 3, "%63s %*s %1023s", fstype, super) != 2)
            continue;
        int v2 = strcmp(fstype, "cgroup2") == 0, v1 = strcmp(fstype, "cgroup") == 0;
        if (v1) {
            v1 = 0;
            for (char *tok = strtok(super, ","); tok && !v1; tok = strtok(NULL, ","))
                v1 = strcmp(tok, "cpu") == 0;
        }
        if ((!v2 && !v1) || own_group(v2, group, sizeof group) != 0)
            continue;
        /* the group path is relative to the hierarchy's root; the mount shows `root` of it */
        const char *rel = group;
        size_t rl = strlen(root);
        if (strcmp(root, "/") != 0) {
            if (strncmp(group, root, rl) != 0 || (group[rl] != 0 && group[rl] != '/'))
                continue;   /* our group is not under this mount */
            rel = group[rl] ? group + rl : "/";
        }
        int n = group_limit(mount, rel, v2);
        if (n > 0 && (best == 0 || n < best))
            best = n;
    }
    fclose(f);
    return best;
}

int c2_usable_cpus(void)
{
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0)
        n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    int q = cgroup_limit();
    if (q > 0 && q < n)
        n = q;
    return n > 0 ? n : 1;
}
