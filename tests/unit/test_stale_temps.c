/* base/files: c2_remove_stale_temps, the crash-recovery inverse of c2_temp_name: it removes
 * the temporaries of an output whose writer is dead, and nothing else (not this process's,
 * not a live process's, not another output's, not the output itself). */
#include "base/base.h"
#include "tests/support/check.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int n_warned;
static void count_warning(void *user, const char *msg)
{
    (void)user;
    n_warned += strstr(msg, "interrupted run") != NULL;
}

static void touch(const char *dir, const char *name)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
}

static int exists(const char *dir, const char *name)
{
    char p[4300];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

/* The id of a process that has ended (a child that exits at once, reaped). */
static long dead_pid(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

static void only_dead_writers_temporaries_go(void)
{
    char dir[4200], out[4300], name[7][256];
    snprintf(dir, sizeof dir, "%s/stale", test_tmpdir());
    CHECK(mkdir(dir, 0755) == 0);
    long dead = dead_pid();
    snprintf(name[0], 256, "m.ckpt.tmp.%ld", dead);                /* removed */
    snprintf(name[1], 256, "m.ckpt.resume.ckpt.tmp.%ld", dead);    /* removed */
    snprintf(name[2], 256, "m.ckpt.tmp.%ld", (long)getpid());      /* ours: kept */
    snprintf(name[3], 256, "m.ckpt.tmp.%ld", (long)getppid());     /* alive: kept */
    snprintf(name[4], 256, "other.ckpt.tmp.%ld", dead);            /* another output: kept */
    snprintf(name[5], 256, "m.ckpt.tmp.12x");                      /* not a pid: kept */
    snprintf(name[6], 256, "m.ckpt");                              /* the output: kept */
    for (int i = 0; i < 7; i++)
        touch(dir, name[i]);
    c2_set_warn_sink(count_warning, NULL);
    snprintf(out, sizeof out, "%s/m.ckpt", dir);
    CHECK(c2_remove_stale_temps(out) == 2);
    c2_set_warn_sink(NULL, NULL);
    CHECK(n_warned == 2);
    CHECK(!exists(dir, name[0]) && !exists(dir, name[1]));
    for (int i = 2; i < 7; i++)
        CHECK_MSG(exists(dir, name[i]), "%s was removed", name[i]);
}

static void a_bare_name_means_the_current_folder(void)
{
    char dir[4200], cwd[4200], name[256];
    snprintf(dir, sizeof dir, "%s/stale_cwd", test_tmpdir());
    CHECK(mkdir(dir, 0755) == 0);
    snprintf(name, sizeof name, "x.h5.tmp.%ld", dead_pid());
    touch(dir, name);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(dir) == 0);
    CHECK(c2_remove_stale_temps("x.h5") == 1);
    CHECK(chdir(cwd) == 0);
    CHECK(!exists(dir, name));
    CHECK(c2_remove_stale_temps("/nonexistent-folder/x.h5") == 0);
}

int main(void)
{
    RUN_TEST(only_dead_writers_temporaries_go);
    RUN_TEST(a_bare_name_means_the_current_folder);
    return test_summary();
}
