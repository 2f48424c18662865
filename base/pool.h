/* base/pool: an ordered parallel map on long-lived threads. pool_map runs job(user, i, slot)
 * for i = 0..n-1 on the pool's threads, each into a slot of slot_size bytes, and calls
 * done(user, i, slot) for every i IN ORDER on the calling thread as soon as job i is
 * finished. At most `window` slots exist (2 per thread), so the memory in flight does not
 * grow with n, and the calling thread (the one writer: HDF5, reports, state) sees results
 * in the same order for any thread count. A pool of 1 thread runs job and done in turn on
 * the calling thread (no threads). With threads, the caller's and each pool thread's sandbox
 * worker (base/sandbox.h) are started at creation, one at a time while the other threads
 * wait (a fork copies only the forking thread); each pool thread ends its worker when the
 * pool is freed. */
#ifndef C2SEG_BASE_POOL_H
#define C2SEG_BASE_POOL_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

typedef struct c2_pool c2_pool;
typedef void (*c2_pool_job)(void *user, int64_t i, void *slot);
typedef void (*c2_pool_done)(void *user, int64_t i, void *slot);

/* threads >= 1. Returns C2_OK or C2_ENOMEM / C2_EIO (thread creation) with e. */
int c2_pool_create(c2_pool **p, int threads, c2_err *e);
int c2_pool_threads(const c2_pool *p);
/* Runs the map; slots are zeroed before each job. Returns C2_ENOMEM when the slots cannot
 * be allocated (nothing ran), else C2_OK. Not reentrant: one map at a time per pool. */
int c2_pool_map(c2_pool *p, int64_t n, size_t slot_size, c2_pool_job job, c2_pool_done done, void *user, c2_err *e);
void c2_pool_free(c2_pool *p);

#endif
