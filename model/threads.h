/* threads: the engine's one threading scheme.
 *
 * All parallelism is ours, and there is one pool of workers: OpenMP's. OpenBLAS always
 * runs with one thread. Two kinds of parallel work, never nested:
 * - loops over independent rows, channels or planes (C2_OMP(parallel for ...) with static
 *   schedules): every element, and every per-channel reduction, is computed by one thread
 *   in the same order as the serial loop, so these results do not depend on the count;
 * - GEMMs (par_sgemm): the output is cut into one block of rows (or columns) per thread
 *   and each block is one single-threaded cblas_sgemm call. The cut depends only on the
 *   shape and the count, so results are identical run to run for a fixed count.
 * Nothing runs OpenBLAS's threads and ours at the same time, so the cores are never
 * oversubscribed. Callers must not call engine functions from several threads at once.
 *
 * The count: threads_init(n) with n > 0, else $C2SEG_THREADS (a number; "auto"), else the
 * CPUs this process may use (c2_usable_cpus: affinity mask and cgroup CPU quota, not the
 * machine's count). OMP_NUM_THREADS and OPENBLAS_NUM_THREADS are overridden on purpose:
 * one knob. Built without OpenMP, everything runs on the caller's thread.
 *
 * Shared cores: OpenMP's idle threads spin at every join before they sleep (libgomp: 300,000
 * pause loops, several ms; libomp: 200 ms). On a core shared with another busy process a
 * spinning thread holds the core while its partner waits for a time slice, and the whole
 * pool runs at the pace of the slowest thread (2 threads kept 0.27x of their throughput
 * beside one busy process, against 0.9x for 1 thread: docs/performance.md). threads_prepare
 * makes idle threads spin only briefly (THREADS_SPINCOUNT pause loops, tens of us here)
 * and then sleep in the kernel, so a core freed at a join goes to whichever thread waits. */
#ifndef C2SEG_MODEL_THREADS_H
#define C2SEG_MODEL_THREADS_H

#include <cblas.h>

/* Call first in main(), with main's argv, before anything else runs (it may exec the
 * program again): unless the user set OMP_WAIT_POLICY, GOMP_SPINCOUNT or KMP_BLOCKTIME,
 * sets the short spin described above. libgomp reads these variables when it is loaded,
 * before main, so with libgomp the program is run again (execv of the path /proc/self/exe names, the same
 * process id and arguments) with them set; where that fails it carries on with the
 * defaults. Nothing is set and nothing run again when the engine will run one thread
 * ($C2SEG_THREADS=1, or auto on one usable CPU): a second start costs the dynamic loading
 * of every library again (~40 ms of CPU here), for joins a single thread never waits at.
 * (A stage's --threads N > 1 beside C2SEG_THREADS=1 then runs with the default spin.) */
#define THREADS_SPINCOUNT "1000"
#define THREADS_BLOCKTIME_MS "1"
void threads_prepare(char **argv);
/* Sets the engine's thread count (and OpenBLAS's to 1); returns the count in effect. */
int threads_init(int n);
/* The count in effect. */
int threads_count(void);
/* The calling thread's number inside a parallel region (0 outside one, or without OpenMP). */
int thread_index(void);

/* C2_OMP(parallel for schedule(static) if(n > C2_PAR_MIN)): an OpenMP directive, or nothing
 * when the build has no OpenMP. Loops below C2_PAR_MIN elements stay serial (the fork / join
 * costs more than the work). */
#define C2_PAR_MIN 16384
#define C2_PRAGMA_STR(x) _Pragma(#x)
#ifdef _OPENMP
#define C2_OMP(directive) C2_PRAGMA_STR(omp directive)
#else
#define C2_OMP(directive)
#endif

/* cblas_sgemm, same arguments, with the output split over the threads as described above;
 * a call inside a parallel region, below a few MFLOP or column-major is one plain call. */
void par_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K,
               float alpha, const float *A, int lda, const float *B, int ldb, float beta,
               float *C, int ldc);

#endif
