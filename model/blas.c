/* model/blas: OpenBLAS loaded on first use (dlopen), not at program start.
 *
 * The engine calls three OpenBLAS functions: cblas_sgemm, cblas_dgemm and
 * openblas_set_num_threads (model/threads.h). Linked at start-up, OpenBLAS costs every c2seg
 * command its relocations (16,000, the most of any of the 86 libraries) and a pool thread that
 * spins in sched_yield before it sleeps: about 8 ms of CPU on a 3-slice `c2seg ingest`, a
 * stage that never multiplies a matrix (docs/cache.md, "third round"). So the executable
 * defines these three names itself (cblas.h's prototypes) and forwards them to the library,
 * which the first GEMM opens; a thread count set before that is applied when it opens.
 * A library that cannot be opened is an installation fault like a missing shared library at
 * start-up: one line through c2_warn, then abort(). */
#include "base/base.h"

#include <cblas.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

#ifndef C2SEG_BLAS_SONAME
#define C2SEG_BLAS_SONAME "libopenblas.so.0"
#endif

static pthread_mutex_t blas_mu = PTHREAD_MUTEX_INITIALIZER;
static __typeof__(cblas_sgemm) *blas_sgemm;
static __typeof__(cblas_dgemm) *blas_dgemm;
static __typeof__(openblas_set_num_threads) *blas_threads;
static int blas_threads_wanted;   /* a count set before the library was opened (0: none) */

/* Opens the library and resolves the three functions (once); aborts when it cannot. */
static void blas_open(void)
{
    pthread_mutex_lock(&blas_mu);
    if (!blas_sgemm) {
        void *h = dlopen(C2SEG_BLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
        union {
            void *p;
            __typeof__(cblas_sgemm) *s;
            __typeof__(cblas_dgemm) *d;
            __typeof__(openblas_set_num_threads) *t;
        } s = {0}, d = {0}, t = {0};
        if (h) {
            s.p = dlsym(h, "cblas_sgemm");
            d.p = dlsym(h, "cblas_dgemm");
            t.p = dlsym(h, "openblas_set_num_threads");
        }
        if (!s.p || !d.p || !t.p) {
            c2_warn("model/blas: cannot use OpenBLAS (%s): %s", C2SEG_BLAS_SONAME, dlerror());
            abort();
        }
        blas_dgemm = d.d;
        blas_threads = t.t;
        if (blas_threads_wanted > 0)
            blas_threads(blas_threads_wanted);
        __atomic_store_n(&blas_sgemm, s.s, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&blas_mu);
}

void openblas_set_num_threads(int num_threads)
{
    pthread_mutex_lock(&blas_mu);
    if (blas_threads)
        blas_threads(num_threads);
    else
        blas_threads_wanted = num_threads;
    pthread_mutex_unlock(&blas_mu);
}

/* cblas_sgemm and cblas_dgemm (cblas.h's prototypes, T float or double): the library is
 * opened by the first call of either. */
#define BLAS_GEMM(name, T, fn)                                                                         \
    void name(OPENBLAS_CONST enum CBLAS_ORDER Order, OPENBLAS_CONST enum CBLAS_TRANSPOSE TransA,       \
              OPENBLAS_CONST enum CBLAS_TRANSPOSE TransB, OPENBLAS_CONST blasint M,                    \
              OPENBLAS_CONST blasint N, OPENBLAS_CONST blasint K, OPENBLAS_CONST T alpha,              \
              OPENBLAS_CONST T *A, OPENBLAS_CONST blasint lda, OPENBLAS_CONST T *B,                    \
              OPENBLAS_CONST blasint ldb, OPENBLAS_CONST T beta, T *C, OPENBLAS_CONST blasint ldc)     \
    {                                                                                                  \
        if (!__atomic_load_n(&blas_sgemm, __ATOMIC_ACQUIRE))                                           \
            blas_open();                                                                               \
        fn(Order, TransA, TransB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);                      \
    }
BLAS_GEMM(cblas_sgemm, float, blas_sgemm)
BLAS_GEMM(cblas_dgemm, double, blas_dgemm)
