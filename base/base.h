/* base: what every folder may use. Error context, warning sink, limits, atomic
 * output files and safe paths. Nothing here knows a file format or a tensor. */
#ifndef C2SEG_BASE_H
#define C2SEG_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: 0 ok, negative = error. Every failing function also fills a c2_err
 * with one human sentence that names the file (when there is one) and the reason. */
enum {
    C2_OK = 0,
    C2_EINVAL = -1,      /* malformed or unsupported input */
    C2_EIO = -2,         /* the operating system refused a read or write */
    C2_ENOMEM = -3,      /* allocation failed */
    C2_ELIMIT = -4,      /* input exceeds a configured limit (checked before allocating) */
    C2_EUNSUPPORTED = -5,/* valid input that this version does not handle */
    C2_ENOTFOUND = -6,   /* a required file, tag or object is absent */
    C2_EMISMATCH = -7,   /* inputs that disagree (grid, domain, schema version) */
    C2_EBUSY = -8,       /* another process writes the same output (c2_lock) */
    C2_ENOSPC = -9,      /* an output does not fit: file system full, quota or file size limit */
};

typedef struct c2_err {
    int code;
    char msg[768];
} c2_err;

/* Fills e (if not NULL) with the formatted message and returns code. */
int c2_fail(c2_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes e->msg with "what: " (e.g. the file name) keeping the code. */
int c2_err_prefix(c2_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void c2_err_clear(c2_err *e);

/* Warnings from lower layers go through one sink that the CLI installs; by default
 * they go to stderr prefixed with "warning: ". */
typedef void (*c2_warn_fn)(void *user, const char *msg);
void c2_set_warn_sink(c2_warn_fn fn, void *user);
void c2_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Resource limits, checked before allocating. Defaults are generous for clinical
 * data; the CLI can lower or raise them (--max-pixels, --max-memory-mb). */
typedef struct c2_limits {
    int64_t max_dim;          /* largest rows / columns / slices, default 65535 */
    int64_t max_pixels;       /* largest pixel count of one image or volume, default 2^31 */
    int64_t max_bytes;        /* largest single allocation for input data, default 8 GiB */
    int max_depth;            /* folder walk / SR tree depth, default 64 */
} c2_limits;
const c2_limits *c2_limits_get(void);
void c2_limits_set(const c2_limits *l);
/* Checks a product of dimensions against the limits; returns C2_OK or C2_ELIMIT. */
int c2_check_dims(c2_err *e, const char *what, int64_t d0, int64_t d1, int64_t d2, size_t elem_size);

/* Atomic output: write to "<path>.tmp.<pid>" in the same folder, then rename.
 * c2_atomic_open returns a FILE* for the temporary; c2_atomic_commit flushes, fsyncs,
 * closes and renames; c2_atomic_abort closes and removes the temporary. */
typedef struct c2_atomic {
    FILE *f;
    char final_path[4096];
    char tmp_path[4096 + 32];
} c2_atomic;
int c2_atomic_open(c2_atomic *a, const char *path, c2_err *e);
int c2_atomic_commit(c2_atomic *a, c2_err *e);
void c2_atomic_abort(c2_atomic *a);
/* For libraries that write by name (HDF5, DCMTK): the temporary name to write to,
 * then c2_rename_into_place / remove(tmp). */
void c2_temp_name(char *out, size_t cap, const char *final_path);
/* The temporary name that process pid uses for final_path (e.g. a sandbox worker's). */
void c2_temp_name_of(char *out, size_t cap, const char *final_path, long pid);
int c2_rename_into_place(const char *tmp, const char *final_path, c2_err *e);
/* The inverse of c2_temp_name, for crash recovery: removes the "<final_path>*.tmp.<pid>"
 * files in final_path's folder whose process is gone (never this process's own, never
 * a live one), warning once per file removed. Returns how many were removed. */
int c2_remove_stale_temps(const char *final_path);
/* The status of a write the system refused with errno err: C2_ENOSPC for a full file system,
 * a quota or a file size limit (ENOSPC, EDQUOT, EFBIG: no later output fits either), else
 * C2_EIO. */
int c2_write_status(int err);

/* Whole-file helpers. c2_write_file is atomic. c2_read_file refuses files larger than max. */
int c2_write_file(const char *path, const void *data, size_t n, c2_err *e);
int c2_read_file(const char *path, size_t max, uint8_t **data, size_t *n, c2_err *e);

/* Paths. c2_mkdirs creates every missing folder (mode 0755). c2_path_join writes
 * a/b into out. c2_safe_name turns any string into a file-name component made only
 * of [A-Za-z0-9._-] that is never "", "." or ".." (for names derived from data). */
int c2_mkdirs(const char *path, c2_err *e);
int c2_path_join(char *out, size_t cap, const char *a, const char *b);
void c2_safe_name(char *out, size_t cap, const char *in);
const char *c2_basename(const char *path);
int c2_strcasecmp_ascii(const char *a, const char *b);
int c2_ends_with_ci(const char *s, const char *suffix);

/* Text of outside origin (file names, DICOM values, a PACS's answers) for a terminal line or a
 * TSV cell: valid UTF-8 passes, every control byte (C0, DEL, C1), tab and newline included, and
 * every byte outside valid UTF-8 is written \xNN. c2_printable fills out (cap bytes, always
 * NUL-terminated, cut before a piece that does not fit) and returns it; c2_fput_printable
 * writes to f (0, or -1 on a write error). */
/* The length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF; controls included), 0 when s starts none or at its NUL. Reads no byte past a
 * NUL. */
size_t c2_utf8_char_len(const char *s);
const char *c2_printable(char *out, size_t cap, const char *s);
int c2_fput_printable(const char *s, FILE *f);
/* A printed JSON text (malloc'd, as cJSON's printer returns it) made valid UTF-8: each byte
 * outside UTF-8 inside a string becomes the escape \udcXX (Python's surrogateescape reads it
 * back as the same byte of a file name). Returns text itself when it was valid, else a new
 * text (text freed); NULL when text was NULL or memory ran out (text freed). */
char *c2_json_utf8(char *text);
/* The inverse for a JSON text read back (n bytes, rewritten in place): each lone \udc80-\udcff
 * escape inside a string becomes its byte again, so the parser (cJSON refuses lone surrogates)
 * sees the file name as it was. Returns the new length. */
size_t c2_json_bytes(char *text, size_t n);

/* Words: lower-cased runs of ASCII letters and digits; every other byte (punctuation,
 * space, UTF-8 sequences) separates them. c2_next_word finds the next word at or after
 * *s, writes its first cap - 1 bytes NUL-terminated into out (nothing when cap is 0),
 * moves *s past it and returns its full length; 0 when no word is left. */
size_t c2_next_word(const char **s, char *out, size_t cap);

/* Growable arrays: makes room for `need` items of `elem` bytes in the array whose
 * pointer is at items_ptr (any T **) and whose capacity is *cap items, growing it
 * geometrically (from 8 items). Returns C2_OK, or C2_ENOMEM leaving the array as it was.
 * Typical use: if (c2_grow(&v, sizeof *v, n + 1, &cap)) fail; v[n++] = x; */
int c2_grow(void *items_ptr, size_t elem, size_t need, size_t *cap);

/* One writer per output (lock.c): an advisory flock on `path` (created if absent), held
 * until c2_lock_release or the process's death (the kernel drops it, kill -9 included, so
 * a stale lock file is taken over by the next caller). The file holds "PID WHAT" of the
 * holder; c2_lock_release removes it (a failed acquire leaves none). Held by another process: C2_EBUSY with a message naming the file and the
 * holder's pid, or with `wait` a c2_warn line and a blocking wait. */
typedef struct c2_lock {
    int fd;
    char path[4200];
} c2_lock;
int c2_lock_acquire(c2_lock *l, const char *path, const char *what, int wait, c2_err *e);
void c2_lock_release(c2_lock *l);

/* Version string of the toolkit ("0.1.0"). */
const char *c2_version(void);

/* The intended-use statement every SEG and SR that c2seg writes carries (SEG: Image
 * Comments; SR: a Comment TEXT item), and the README states. */
#define C2SEG_INTENDED_USE                                                                                      \
    "c2seg research software: for research use only, not for diagnosis or treatment. This object is the "     \
    "automatic output of a research model and has not been reviewed by a clinician."

/* Seconds on the monotonic clock (for durations and rates only). */
double now_seconds(void);

/* CPUs this process may use (base/cpus.c): the smaller of its affinity mask and its control
 * groups' CPU quota (cgroup v2 cpu.max, v1 cfs quota; rounded up), at least 1. The default
 * thread count everywhere (`--threads auto`, ingest's `--jobs`). */
int c2_usable_cpus(void);
/* A cgroup v2 cpu.max text ("200000 100000", "max 100000") as whole CPUs, rounded up;
 * 0 for "max" (no limit) or text that is not a quota. */
int c2_cpu_max_cpus(const char *text);

/* A shared library opened on first use (dlopen by soname, base/lazylib.c), not at program
 * start: libcurl (DICOMweb), libzip (xlsx captions) and Open MPI cost every c2seg command
 * their loading and relocations when linked, and most commands never call them
 * (docs/performance.md, "fixed costs"). `table` is a struct of `n` pointers (functions or
 * data), filled in `names` order from the library's symbols. c2_lazylib_open opens it once
 * (thread-safe; later calls return at once); a library or symbol that cannot be found fails
 * with C2_EUNSUPPORTED and a sentence naming the library and `what` needs it. */
typedef struct c2_lazylib {
    const char *soname;       /* "libcurl.so.4" */
    const char *what;         /* the feature that needs it, for the error: "DICOMweb" */
    int global;               /* RTLD_GLOBAL (a library whose plug-ins need its symbols) */
    const char *const *names; /* the symbols, n of them */
    size_t n;
    void *table;              /* n pointers, filled */
    size_t table_size;        /* sizeof the table: n pointers */
    int opened;               /* 1 once the table is filled */
    int module;               /* soname is one of this build's modules (c2seg-dcmseg.so): opened
                               * from the executable's folder, else from the build folder
                               * (C2SEG_MODULE_DIR), so tests, benchmarks and fuzzers find it */
} c2_lazylib;
int c2_lazylib_open(c2_lazylib *l, c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
