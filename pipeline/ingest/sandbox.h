/* pipeline/sandbox: parse one untrusted file in a fork()ed child process.
 *
 * Debian's DCMTK and HDF5 are not built with our sanitizers and can crash or hang on
 * hostile bytes (dciodvfy aborts on ../shared/data/dicom/broken/badVR.dcm). A cohort
 * run must survive that: the parse runs in a child with a memory limit (RLIMIT_AS) and
 * a wall-clock limit, sends its result back through a pipe, and a crash or a hang of
 * the child becomes one error naming the file ("x.dcm: the DICOM parser crashed
 * (signal 11)") while the parent goes on with the next file.
 *
 * The result is a flat byte string that the callback builds (sandbox_out_append) and
 * the caller decodes; the child's c2_err travels with it. Costs one fork per call
 * (about a millisecond), so use it per file, not per pixel.
 * Setting the environment variable C2SEG_SANDBOX=0 runs callbacks in-process (for a
 * debugger); the results are the same unless the parser crashes. */
#ifndef C2SEG_PIPELINE_SANDBOX_H
#define C2SEG_PIPELINE_SANDBOX_H

#include "base/base.h"
#include "io/dicom.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sandbox_limits {
    int64_t max_memory_bytes; /* address-space limit of the child; 0 = none. Not applied
                                 in AddressSanitizer builds (ASan reserves terabytes). */
    double max_seconds;       /* wall-clock limit of one parse; 0 = none */
} sandbox_limits;

/* The defaults: c2_limits' max_bytes + 1 GiB of address space, 120 seconds. */
void sandbox_limits_default(sandbox_limits *lim);

/* A growing byte buffer: the child's result. */
typedef struct sandbox_out {
    uint8_t *data;
    size_t n, cap;
} sandbox_out;
int sandbox_out_append(sandbox_out *o, const void *p, size_t n);
void sandbox_out_free(sandbox_out *o);

/* Runs in the child: parse arg, append the result to out, return a C2_* code with e. */
typedef int (*sandbox_fn)(void *arg, sandbox_out *out, c2_err *e);

/* Runs fn(arg, out, e) in a child and returns its code, its message in e and its bytes
 * in *result (caller frees with sandbox_out_free; empty on error). When the child dies:
 * C2_EINVAL "<what>: the <parser> crashed (signal N)" (or "exited with status N");
 * when it runs past lim->max_seconds: C2_ELIMIT "<what>: the <parser> did not finish
 * within N s". lim NULL = sandbox_limits_default. */
int sandbox_run(const char *what, const char *parser, sandbox_fn fn, void *arg, const sandbox_limits *lim,
                sandbox_out *result, c2_err *e);

/* 1 when the memory limit is enforced in this build (not under AddressSanitizer). */
int sandbox_memory_limit_enforced(void);

/* dicom_read_meta (io/dicom.h) in a child: same contract, plus the crash / time-out
 * errors of sandbox_run. On success o owns its frame and VOI LUT arrays as usual. */
int sandbox_dicom_read_meta(const char *path, dicom_object *o, const sandbox_limits *lim, c2_err *e);

#endif
