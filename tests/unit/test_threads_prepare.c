/* model/threads: threads_prepare runs the program again (libgomp reads GOMP_SPINCOUNT in its
 * constructor) only when the engine will run more than one thread. The program counts its
 * own starts in the environment: phase 1 asks for one thread (C2SEG_THREADS=1) and must
 * come back from threads_prepare in the same image with nothing set; phase 2 asks for two
 * and, under libgomp, must arrive in a second image with GOMP_SPINCOUNT set (under libomp,
 * which reads its environment late, nothing is run again in either phase). */
#define _GNU_SOURCE
#include "model/threads.h"
#include "tests/support/check.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define PHASE "C2SEG_TEST_PREPARE_PHASE"

static char **args;

static int runs_again(void)
{
#ifdef _OPENMP
    return !dlsym(RTLD_DEFAULT, "kmp_set_blocktime");
#else
    return 0;
#endif
}

static void one_thread_keeps_the_image(void)
{
    unsetenv("GOMP_SPINCOUNT");
    unsetenv("KMP_BLOCKTIME");
    unsetenv("OMP_WAIT_POLICY");
    setenv("C2SEG_THREADS", "1", 1);
    setenv(PHASE, "1", 1);
    threads_prepare(args);   /* a second image would start in phase 1 and fail below */
    int unset = getenv("GOMP_SPINCOUNT") == NULL && getenv("KMP_BLOCKTIME") == NULL;
    CHECK(unset);
    if (!unset)   /* the image phase 2 starts reports it too (this one's summary is lost) */
        setenv(PHASE "_FAILED", "1", 1);
}

static void two_threads_run_again_with_the_short_spin(void)
{
    setenv("C2SEG_THREADS", "2", 1);
    setenv(PHASE, "2", 1);
    threads_prepare(args);   /* libgomp: does not return */
    CHECK(!runs_again());
    CHECK(getenv("GOMP_SPINCOUNT") && strcmp(getenv("GOMP_SPINCOUNT"), THREADS_SPINCOUNT) == 0);
}

static void second_image_has_the_short_spin(void)
{
    CHECK(runs_again());
    CHECK(getenv("GOMP_SPINCOUNT") && strcmp(getenv("GOMP_SPINCOUNT"), THREADS_SPINCOUNT) == 0);
    CHECK(getenv(PHASE "_FAILED") == NULL);
}

int main(int argc, char **argv)
{
    (void)argc;
    args = argv;
    const char *phase = getenv(PHASE);
    if (phase && strcmp(phase, "2") == 0) { /* the image threads_prepare started */
        RUN_TEST(second_image_has_the_short_spin);
        threads_prepare(argv);   /* GOMP_SPINCOUNT is set now: returns */
        return test_summary();
    }
    if (phase) {
        fprintf(stderr, "  threads_prepare ran the program again for one thread\n");
        return 1;
    }
    RUN_TEST(one_thread_keeps_the_image);
    RUN_TEST(two_threads_run_again_with_the_short_spin);
    return test_summary();
}
