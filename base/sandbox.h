/* base/sandbox: run a read of untrusted bytes in another process (POSIX; knows no format).
 *
 * Debian's DCMTK and HDF5 are not built with our sanitizers and can crash or hang on
 * hostile bytes (dciodvfy aborts on ../shared/data/dicom/broken/badVR.dcm). A cohort run
 * must survive that: the read runs in a worker process with an address-space limit
 * (RLIMIT_AS) and a wall-clock limit per call; its result comes back through a socket,
 * and a crash, a hang or a memory blow-up of the worker becomes one error naming the file
 * ("x.dcm: the DICOM parser crashed (signal 11, Segmentation fault)") while the caller
 * goes on with the next file.
 *
 * Two runners:
 *   sandbox_call  a LONG-LIVED worker per calling thread (forked on first use, reused for
 *                 every call, restarted after a crash, a time-out or a change of limits):
 *                 the cost of a call is two socket round trips, not a fork. Large answers
 *                 (decoded planes) may come through a mapping shared with the worker
 *                 (sandbox_call_shared) instead of the socket. The job is a
 *                 function of this program (fork without exec: the same addresses) and a
 *                 flat request byte string; its answer is a flat byte string. The readers
 *                 (io/isolated.c, dicom-sr/sr_isolated.c) pack and unpack those strings.
 *   sandbox_run   one fork per call, for a callback whose argument is a pointer.
 * The worker keeps only stdin / stdout / stderr and its socket open, and dies with its
 * parent (Linux: PR_SET_PDEATHSIG; elsewhere: end of file on the socket).
 *
 * Environment:
 *   C2SEG_SANDBOX=0   run jobs in-process (a debugger; the in-process benchmark); results
 *                     are the same unless a reader crashes.
 *   C2SEG_FAULT=ACTION@READER:TEXT[;...]   test-only fault hook, honoured only inside a
 *                     worker: a job of READER (the reader's name given to sandbox_call,
 *                     e.g. dicom-meta, dicom-frames, sr, seg-source) on a file whose name
 *                     contains TEXT crashes (ACTION crash: SIGSEGV), hangs (hang) or
 *                     allocates until the memory limit stops it (oom), as a hostile file
 *                     would make the parser do. A worker reads the environment it was
 *                     forked with: set both before the process starts. */
#ifndef C2SEG_BASE_SANDBOX_H
#define C2SEG_BASE_SANDBOX_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sandbox_limits {
    int64_t max_memory_bytes; /* address-space limit of the worker; 0 = none. Not applied
                                 in AddressSanitizer or ThreadSanitizer builds (they
                                 reserve terabytes). */
    double max_seconds;       /* wall-clock limit of one call; 0 = none */
} sandbox_limits;

/* The defaults: c2_limits' max_bytes + 1 GiB of address space, 120 seconds. */
void sandbox_limits_default(sandbox_limits *lim);

/* 1 when the memory limit is enforced in this build (not under ASan or TSan). */
int sandbox_memory_limit_enforced(void);

/* 1 when jobs run in worker processes (C2SEG_SANDBOX is not "0"). */
int sandbox_enabled(void);

/* A growing byte buffer: requests and results. An answer may also carry bytes in the
 * worker's shared mapping (sandbox_call_shared): in the job, shared is the mapping
 * (shared_cap bytes; NULL when the call asked for none or runs in-process) and the job sets
 * shared_n to the bytes it wrote there from its start; in the caller's result, shared points
 * to the caller's view of the same bytes (shared_n of them, checked against the mapping's
 * size), valid until this thread's next sandbox call. */
typedef struct sandbox_out {
    uint8_t *data;
    size_t n, cap;
    uint8_t *shared;
    size_t shared_cap, shared_n;
} sandbox_out;
int sandbox_out_append(sandbox_out *o, const void *p, size_t n);
void sandbox_out_free(sandbox_out *o);

/* Makes the empty answer o buf[n] (malloc'ed; o owns it now, also on failure) followed by
 * tail[tail_n], with one realloc to the exact size and no copy of buf: how a reader returns
 * a large array (a volume, a SEG's frames). The caller finds the tail at the end of the
 * answer and keeps the array in place (adopting the answer's buffer). */
int sandbox_out_adopt(sandbox_out *o, void *buf, size_t n, const void *tail, size_t tail_n);

/* A job: reads the request req[n], appends its answer to out, returns a C2_* code with e. */
typedef int (*sandbox_job)(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e);

/* Runs job(req, n) in this thread's worker and returns its code, its message in e and its
 * answer in *result (caller frees with sandbox_out_free; empty on error). what names the
 * file (messages, the fault hook), reader is the reader's short name (the fault hook),
 * parser its words in messages ("DICOM parser"). When the worker dies: C2_EINVAL
 * "<what>: the <parser> crashed (signal N, NAME)" (or "exited with status N before
 * returning a result"); past lim->max_seconds: C2_ELIMIT "<what>: the <parser> did not
 * finish within N s (stopped)". The next call starts a fresh worker. lim NULL = defaults. */
int sandbox_call(const char *what, const char *reader, const char *parser, sandbox_job job, const void *req,
                 size_t n, const sandbox_limits *lim, sandbox_out *result, c2_err *e);

/* sandbox_call whose job may write up to shared_bytes of its answer into a mapping that
 * this thread and its worker share (memfd, sealed against shrinking and growing): pixels
 * cross without a socket copy. The mapping is created by this thread at the first such call,
 * kept across calls and worker restarts (sent to each new worker once, over the socket),
 * replaced by a larger one when a call asks for more (at most c2_limits' max_bytes), and
 * freed by sandbox_worker_stop. The answer's lengths still come through the socket and are
 * checked; what the caller reads from the mapping is data the job produced (a crashed or
 * hostile worker can leave any bytes there, never a length the caller trusts). Without a
 * mapping (C2SEG_SANDBOX=0, or a system without memfd) the job sees shared = NULL and
 * answers through the socket as sandbox_call's jobs do. */
int sandbox_call_shared(const char *what, const char *reader, const char *parser, sandbox_job job, const void *req,
                        size_t n, size_t shared_bytes, const sandbox_limits *lim, sandbox_out *result, c2_err *e);

/* 1 when the test-only fault hook (C2SEG_FAULT, above) names a job of reader on what: a job
 * that would do reader's work on the side (ingest's metadata read decoding a small frame)
 * leaves it to reader's own call, so the fault happens where the test expects it. */
int sandbox_fault_armed(const char *reader, const char *what);

/* Starts this thread's worker now (default limits; nothing when C2SEG_SANDBOX=0 or one
 * runs). fork() copies one thread only: a lock another thread holds at that moment (the
 * allocator's, a library's) stays locked in the child. So workers are started while the
 * process is quiet: base/pool.h starts the caller's and every pool thread's worker, one at
 * a time, before any job runs. A restart after a crash forks from a busy process; if it
 * inherits a held lock it hangs, which the time limit reports like any hang. */
int sandbox_worker_start(c2_err *e);

/* Ends this thread's worker (if any) and frees its shared mapping. Threads that used
 * sandbox_call call it before they end; the main thread's worker ends with the process. */
void sandbox_worker_stop(void);

/* The process id of the worker that ran this thread's last sandbox_call (0: none, or
 * in-process): a caller whose job writes files can remove the worker's temporaries
 * (c2_temp_name is per process) after a crash. */
long sandbox_last_worker_pid(void);

/* Workers started by this process so far (all threads): 1 + restarts per thread. */
int64_t sandbox_workers_started(void);

/* Runs fn(arg, out, e) in a fork()ed child (one per call) with the same contract and
 * messages as sandbox_call. */
typedef int (*sandbox_fn)(void *arg, sandbox_out *out, c2_err *e);
int sandbox_run(const char *what, const char *parser, sandbox_fn fn, void *arg, const sandbox_limits *lim,
                sandbox_out *result, c2_err *e);

/* Packing helpers for requests and answers: a cursor over a byte string. */
typedef struct sandbox_in {
    const uint8_t *p;
    size_t n, at;
    int bad;                  /* set when a read ran past the end */
} sandbox_in;
/* Copies n bytes to dst (zeros and bad = 1 when fewer are left). */
void sandbox_in_read(sandbox_in *in, void *dst, size_t n);
/* Appends a length-prefixed string (NULL as ""). */
int sandbox_out_string(sandbox_out *o, const char *s);
/* A malloc'ed copy of the next length-prefixed string, NULL (bad = 1) when malformed. */
char *sandbox_in_string(sandbox_in *in);

#endif
