/* threads: one pool (OpenMP's) for our loops and our GEMM blocks; OpenBLAS single-threaded
 * (threads.h). */
#define _GNU_SOURCE
#include "model/threads.h"
#include "model/precision.h"
#include "base/base.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* The count threads_init(0) will pick is 1: $C2SEG_THREADS=1, or auto on one usable CPU. */
static int one_thread_ahead(void)
{
    const char *env = getenv("C2SEG_THREADS");
    int n = env && strcmp(env, "auto") != 0 ? atoi(env) : 0;
    return n == 1 || (n <= 0 && c2_usable_cpus() <= 1);
}

void threads_prepare(char **argv)
{
#ifdef _OPENMP
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT") || getenv("KMP_BLOCKTIME"))
        return;   /* the user chose */
    if (one_thread_ahead())
        return;   /* no join to spin at: not worth a second start (threads.h) */
    setenv("GOMP_SPINCOUNT", THREADS_SPINCOUNT, 1);
    setenv("KMP_BLOCKTIME", THREADS_BLOCKTIME_MS, 1);
    /* libomp reads its environment at the first parallel region: setting it suffices.
     * libgomp read it in its constructor, before main: run this program again with it. */
    if (argv && argv[0] && !dlsym(RTLD_DEFAULT, "kmp_set_blocktime")) {
        /* the executable's own path, so that the process keeps its name (exec of the link
         * /proc/self/exe would rename it "exe" in ps / top) */
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0 && (size_t)n < sizeof self - 1) {
            self[n] = 0;
            execv(self, argv);   /* returns only on failure: carry on as we are */
        }
    }
#else
    (void)argv;
#endif
}

int threads_init(int n)
{
    if (n <= 0) {
        const char *env = getenv("C2SEG_THREADS");
        n = env && strcmp(env, "auto") != 0 ? atoi(env) : 0;
    }
    if (n <= 0)
        n = c2_usable_cpus();
    openblas_set_num_threads(1);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    return threads_count();
}

int threads_count(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int thread_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Below this many multiply-adds a GEMM is not worth splitting. */
#define PAR_GEMM_MIN_MACS (1 << 21)
/* Blocks start at multiples of this (the sgemm kernels' tile sizes divide it). */
#define PAR_GEMM_ALIGN 16

/* One block: engine_gemm (bf16 during an eval forward at that precision) for the row-major,
 * alpha 1 calls every layer makes; cblas_sgemm for anything else. */
static void block_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N,
                        int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C,
                        int ldc)
{
    if (order == CblasRowMajor && alpha == 1.0f && (beta == 0.0f || beta == 1.0f))
        engine_gemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
    else
        cblas_sgemm(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void par_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb, float beta,
               float *C, int ldc)
{
    int T = 1;
#ifdef _OPENMP
    if (!omp_in_parallel())
        T = omp_get_max_threads();
#endif
    int split_rows = M >= N, len = split_rows ? M : N;
    int chunk = (len + T - 1) / T;
    chunk = (chunk + PAR_GEMM_ALIGN - 1) / PAR_GEMM_ALIGN * PAR_GEMM_ALIGN;
    if (T <= 1 || (double)M * N * K < PAR_GEMM_MIN_MACS || chunk >= len || order != CblasRowMajor) {
        block_sgemm(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    int blocks = (len + chunk - 1) / chunk;
    C2_OMP(parallel for schedule(static, 1) num_threads(blocks))
    for (int t = 0; t < blocks; t++) {
        int lo = t * chunk, n = len - lo < chunk ? len - lo : chunk;
        if (split_rows) {   /* rows lo.. of C and of op(A) */
            const float *a = ta == CblasNoTrans ? A + (size_t)lo * lda : A + lo;
            block_sgemm(CblasRowMajor, ta, tb, n, N, K, alpha, a, lda, B, ldb, beta,
                        C + (size_t)lo * ldc, ldc);
        } else {            /* columns lo.. of C and of op(B) */
            const float *b = tb == CblasNoTrans ? B + lo : B + (size_t)lo * ldb;
            block_sgemm(CblasRowMajor, ta, tb, M, n, K, alpha, A, lda, b, ldb, beta, C + lo,
                        ldc);
        }
    }
}
