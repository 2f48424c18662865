/* threads: OpenBLAS owns the worker threads, our loops stay on the caller (threads.h). */
#include "model/threads.h"

#include <cblas.h>
#include <stdlib.h>
#include <unistd.h>

int threads_init(int n)
{
    if (n <= 0) {
        const char *env = getenv("C2SEG_THREADS");
        n = env ? atoi(env) : 0;
    }
    if (n <= 0)
        n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
        n = 1;
    openblas_set_num_threads(n);
    return threads_count();
}

int threads_count(void)
{
    return openblas_get_num_threads();
}
