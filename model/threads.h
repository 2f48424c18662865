/* threads: the engine's one threading scheme.
 *
 * Our own loops (im2col, norms, activations, losses, optimizers) run on the calling
 * thread; all parallelism comes from OpenBLAS's own worker pool inside cblas_sgemm, which
 * does the bulk of the FLOPs (convolutions, linear, KAN). There is exactly one level of
 * parallelism, so the cores are never oversubscribed, and for a fixed thread count
 * OpenBLAS splits every GEMM the same way, so results are bit-identical run to run.
 * Callers must not call engine functions from several threads at once.
 *
 * The count: threads_init(n) with n > 0, else $C2SEG_THREADS, else the number of online
 * CPUs. (OPENBLAS_NUM_THREADS is overridden on purpose: one knob.) */
#ifndef C2SEG_MODEL_THREADS_H
#define C2SEG_MODEL_THREADS_H

/* Sets OpenBLAS's thread count; returns the count in effect. */
int threads_init(int n);
/* The count in effect (OpenBLAS's own report). */
int threads_count(void);

#endif
