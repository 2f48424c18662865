/* model/blas: OpenBLAS is not in the process until the first GEMM (read from
 * /proc/self/maps, the kernel's list of mapped files), a thread count set before that is
 * applied when it opens, and the forwarded cblas_sgemm / cblas_dgemm compute products that
 * match plain double sums. */
#include "model/threads.h"
#include "tests/support/check.h"

#include <stdio.h>
#include <string.h>

/* 1 when a file whose name contains "openblas" is mapped into this process. */
static int openblas_mapped(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "openblas") != NULL;
    fclose(f);
    return found;
}

static void opened_by_the_first_gemm_only(void)
{
    CHECK_MSG(openblas_mapped() == 0, "OpenBLAS mapped before any GEMM (linked at start-up?)");
    threads_init(1); /* openblas_set_num_threads(1) before the library is open: kept for later */
    CHECK(openblas_mapped() == 0);
    enum { M = 5, N = 7, K = 9 };
    float a[M * K], b[K * N], c[M * N];
    double ad[M * K], bd[K * N], cd[M * N];
    for (int i = 0; i < M * K; i++)
        ad[i] = a[i] = (float)((i * 7 % 13) - 6) / 4;
    for (int i = 0; i < K * N; i++)
        bd[i] = b[i] = (float)((i * 5 % 11) - 5) / 8;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    CHECK_MSG(openblas_mapped() == 1, "OpenBLAS not mapped after cblas_sgemm");
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0, ad, K, bd, N, 0.0, cd, N);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double want = 0;
            for (int k = 0; k < K; k++)
                want += (double)a[i * K + k] * b[k * N + j];
            CHECK_NEAR(c[i * N + j], want, 1e-5);
            CHECK_NEAR(cd[i * N + j], want, 1e-12);
        }
}

int main(void)
{
    RUN_TEST(opened_by_the_first_gemm_only);
    return test_summary();
}
