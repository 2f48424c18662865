/* dist: the process group of data-parallel training (docs/scale-out.md).
 *
 * A thin layer over MPI. Built with C2SEG_MPI (CMake option, Debian libopenmpi-dev) and
 * started by a launcher (mpirun, srun), dist_init joins MPI_COMM_WORLD; otherwise, and
 * always in a build without MPI, the process is rank 0 of a group of one and every call
 * below is a no-op (the single-process path never touches MPI). A build without MPI
 * refuses to run under a launcher with more than one rank, rather than letting N copies
 * train side by side and overwrite each other's checkpoints.
 *
 * Collectives are blocking and must be called by every rank in the same order. */
#ifndef C2SEG_TRAIN_DIST_H
#define C2SEG_TRAIN_DIST_H

#include "base/base.h"

#include <stddef.h>

/* Joins the launcher's process group when there is one. Idempotent. */
int dist_init(c2_err *e);
/* Leaves MPI (when dist_init joined it). */
void dist_finalize(void);
int dist_rank(void);
int dist_size(void);
/* 1 when this build has MPI. */
int dist_compiled(void);

/* buf[0..n) = the sum over ranks of every rank's buf (in place). */
void dist_sum_floats(float *buf, size_t n);
void dist_sum_doubles(double *buf, size_t n);
/* all[displ[r] .. displ[r] + count[r]) = rank r's rows, for every r, where rank r
 * already holds its own rows there (in place); count / displ in floats, size dist_size(). */
void dist_gather_floats(float *all, const int *count, const int *displ);
/* buf[0..n) = rank 0's buf on every rank. */
void dist_broadcast_floats(float *buf, size_t n);
/* all[displ[r] .. displ[r] + count[r]) rows of row_bytes bytes = rank r's rows, for every r,
 * where rank r already holds its own rows there (in place); count / displ in rows. */
void dist_gather_rows(void *all, size_t row_bytes, const int *count, const int *displ);
/* The lowest (most severe, C2_E* < 0) of every rank's rc: all ranks agree on failure. */
int dist_agree(int rc);

#endif
