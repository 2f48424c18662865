/* pipeline/sandbox: fork a child, limit it, run one parse, read its result through a
 * pipe. Protocol on the pipe: one sandbox_header (the child's code and message, the
 * payload length), then the payload. A child that dies before the header and payload
 * are complete is a crash, whatever its exit status. */
#include "pipeline/ingest/sandbox.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_UNDER_ASAN 1
#endif
#endif
#ifndef SANDBOX_UNDER_ASAN
#define SANDBOX_UNDER_ASAN 0
#endif

typedef struct sandbox_header {
    int32_t code;
    uint32_t reserved;
    uint64_t length;          /* payload bytes that follow */
    char msg[sizeof(((c2_err *)0)->msg)];
} sandbox_header;

int sandbox_memory_limit_enforced(void) { return !SANDBOX_UNDER_ASAN; }

void sandbox_limits_default(sandbox_limits *lim)
{
    lim->max_memory_bytes = c2_limits_get()->max_bytes + ((int64_t)1 << 30);
    lim->max_seconds = 120;
}

int sandbox_out_append(sandbox_out *o, const void *p, size_t n)
{
    if (n > SIZE_MAX / 2 - o->n)
        return C2_ENOMEM;
    if (o->n + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->n + n)
            cap *= 2;
        uint8_t *d = realloc(o->data, cap);
        if (!d)
            return C2_ENOMEM;
        o->data = d;
        o->cap = cap;
    }
    memcpy(o->data + o->n, p, n);
    o->n += n;
    return C2_OK;
}

void sandbox_out_free(sandbox_out *o)
{
    free(o->data);
    memset(o, 0, sizeof *o);
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The child: limits, the parse, the result; never returns. _exit keeps the parent's
 * stdio buffers and atexit handlers from running twice. */
static void child_run(int fd, sandbox_fn fn, void *arg, const sandbox_limits *lim)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    if (lim->max_memory_bytes > 0 && sandbox_memory_limit_enforced()) {
        struct rlimit as = {(rlim_t)lim->max_memory_bytes, (rlim_t)lim->max_memory_bytes};
        setrlimit(RLIMIT_AS, &as);
    }
    sandbox_out out = {0};
    sandbox_header h;
    memset(&h, 0, sizeof h);
    c2_err e = {0};
    h.code = fn(arg, &out, &e);
    if (h.code != C2_OK)
        out.n = 0;
    h.length = out.n;
    memcpy(h.msg, e.msg, sizeof h.msg);
    h.msg[sizeof h.msg - 1] = 0;
    int bad = write_all(fd, &h, sizeof h) != 0 || write_all(fd, out.data, out.n) != 0;
    sandbox_out_free(&out);
    close(fd);
    _exit(bad ? 1 : 0);
}

static double monotonic_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Milliseconds left until deadline (-1 = no deadline), at least 0. */
static int ms_left(double deadline)
{
    if (deadline <= 0)
        return -1;
    double left = deadline - monotonic_seconds();
    return left <= 0 ? 0 : left > 1e6 ? 1000000000 : (int)(left * 1000) + 1;
}

/* Reads the pipe to EOF into buf. Returns 0 at EOF, 1 when the deadline passed,
 * -1 on a read error or when the child sends more than max bytes. */
static int read_until_eof(int fd, sandbox_out *buf, size_t max, double deadline)
{
    uint8_t chunk[65536];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, ms_left(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 1;
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (buf->n + (size_t)n > max || sandbox_out_append(buf, chunk, (size_t)n) != C2_OK)
            return -1;
    }
}

/* Waits for the child until the deadline, then kills it. Returns its wait status and
 * sets *timed_out when it had to be killed. */
static int child_reap(pid_t pid, double deadline, int *timed_out)
{
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return status;
        if (deadline > 0 && monotonic_seconds() > deadline) {
            *timed_out = 1;
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            return status;
        }
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
    }
}

static int run_in_process(sandbox_fn fn, void *arg, sandbox_out *result, c2_err *e)
{
    int rc = fn(arg, result, e);
    if (rc != C2_OK)
        sandbox_out_free(result);
    return rc;
}

int sandbox_run(const char *what, const char *parser, sandbox_fn fn, void *arg, const sandbox_limits *lim,
                sandbox_out *result, c2_err *e)
{
    sandbox_limits def;
    if (!lim) {
        sandbox_limits_default(&def);
        lim = &def;
    }
    memset(result, 0, sizeof *result);
    const char *env = getenv("C2SEG_SANDBOX");
    if (env && strcmp(env, "0") == 0)
        return run_in_process(fn, arg, result, e);

    int fds[2];
    if (pipe(fds) != 0)
        return c2_fail(e, C2_EIO, "%s: cannot create a pipe for the %s: %s", what, parser, strerror(errno));
    fflush(stdout);
    fflush(stderr);
    double deadline = lim->max_seconds > 0 ? monotonic_seconds() + lim->max_seconds : 0;
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        return c2_fail(e, C2_EIO, "%s: cannot start a process for the %s: %s", what, parser, strerror(err));
    }
    if (pid == 0) {
        close(fds[0]);
        child_run(fds[1], fn, arg, lim);
    }
    close(fds[1]);
    sandbox_out buf = {0};
    size_t max = sizeof(sandbox_header) + (size_t)c2_limits_get()->max_bytes;
    int rr = read_until_eof(fds[0], &buf, max, deadline);
    close(fds[0]);
    int timed_out = 0;
    if (rr == 1) {
        timed_out = 1;
        kill(pid, SIGKILL);
    }
    int status = child_reap(pid, deadline, &timed_out);

    sandbox_header h;
    int complete = rr == 0 && buf.n >= sizeof h;
    if (complete) {
        memcpy(&h, buf.data, sizeof h);
        complete = h.length == buf.n - sizeof h;
    }
    int rc;
    if (timed_out) {
        rc = c2_fail(e, C2_ELIMIT, "%s: the %s did not finish within %g s (stopped)", what, parser,
                     lim->max_seconds);
    } else if (WIFSIGNALED(status)) {
        rc = c2_fail(e, C2_EINVAL, "%s: the %s crashed (signal %d, %s)", what, parser, WTERMSIG(status),
                     strsignal(WTERMSIG(status)));
    } else if (!complete || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rc = c2_fail(e, C2_EINVAL, "%s: the %s exited with status %d before returning a result", what, parser,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else if (h.code != C2_OK) {
        h.msg[sizeof h.msg - 1] = 0;
        rc = c2_fail(e, h.code < 0 ? h.code : C2_EINVAL, "%s", h.msg);
    } else {
        result->data = buf.data;
        result->n = result->cap = buf.n;
        memmove(result->data, result->data + sizeof h, h.length);
        result->n = h.length;
        return C2_OK;
    }
    sandbox_out_free(&buf);
    return rc;
}

/* ---- dicom_read_meta in a child: payload = dicom_object, frame[frames], voi_lut[entries] ---- */

static int dicom_meta_child(void *arg, sandbox_out *out, c2_err *e)
{
    dicom_object *o = malloc(sizeof *o);
    if (!o)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", (const char *)arg);
    int rc = dicom_read_meta(arg, o, e);
    if (rc == C2_OK) {
        rc = sandbox_out_append(out, o, sizeof *o);
        if (rc == C2_OK)
            rc = sandbox_out_append(out, o->frame, (size_t)o->frames * sizeof *o->frame);
        if (rc == C2_OK && o->voi_lut)
            rc = sandbox_out_append(out, o->voi_lut, (size_t)o->voi_lut_entries * sizeof *o->voi_lut);
        if (rc != C2_OK)
            c2_fail(e, rc, "%s: out of memory", (const char *)arg);
        dicom_object_free(o);
    }
    free(o);
    return rc;
}

/* Rebuilds o from the child's bytes, checking every length against the payload size. */
static int dicom_meta_decode(const char *path, const sandbox_out *r, dicom_object *o, c2_err *e)
{
    if (r->n < sizeof *o)
        return c2_fail(e, C2_EINVAL, "%s: the DICOM parser returned a short result", path);
    memcpy(o, r->data, sizeof *o);
    size_t rest = r->n - sizeof *o, lut_n = 0;
    int has_lut = o->voi_lut != NULL;
    o->frame = NULL;
    o->voi_lut = NULL;
    if (has_lut && (o->voi_lut_entries <= 0 || o->voi_lut_entries > 65536))
        return c2_fail(e, C2_EINVAL, "%s: the DICOM parser returned a bad VOI LUT size", path);
    if (has_lut)
        lut_n = (size_t)o->voi_lut_entries * sizeof(uint16_t);
    if (o->frames <= 0 || rest < lut_n || (rest - lut_n) != (size_t)o->frames * sizeof(dicom_frame))
        return c2_fail(e, C2_EINVAL, "%s: the DICOM parser returned an inconsistent result", path);
    o->frame = malloc((size_t)o->frames * sizeof(dicom_frame));
    o->voi_lut = has_lut ? malloc(lut_n) : NULL;
    if (!o->frame || (has_lut && !o->voi_lut)) {
        dicom_object_free(o);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for %d frames", path, o->frames);
    }
    memcpy(o->frame, r->data + sizeof *o, (size_t)o->frames * sizeof(dicom_frame));
    if (has_lut)
        memcpy(o->voi_lut, r->data + r->n - lut_n, lut_n);
    return C2_OK;
}

int sandbox_dicom_read_meta(const char *path, dicom_object *o, const sandbox_limits *lim, c2_err *e)
{
    sandbox_out r;
    memset(o, 0, sizeof *o);
    dicom_dictionary_preload();
    int rc = sandbox_run(path, "DICOM parser", dicom_meta_child, (void *)path, lim, &r, e);
    if (rc == C2_OK)
        rc = dicom_meta_decode(path, &r, o, e);
    if (rc != C2_OK)
        memset(o, 0, sizeof *o);
    sandbox_out_free(&r);
    return rc;
}
