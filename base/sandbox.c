/* base/sandbox: worker processes for untrusted reads (sandbox.h). Protocol on the
 * worker's socket: the caller sends one call_header (the job's address, the request
 * length, the file name length, the reader's name, the size of the shared mapping the job
 * may write), the file name and the request, with the mapping's memfd attached
 * (SCM_RIGHTS) when this worker has not got it yet; the worker answers with one
 * answer_header (the job's code and message, the answer length, the bytes written into the
 * mapping) and the answer. A worker that dies before its answer is complete has crashed,
 * whatever its exit status. */
#ifdef __linux__
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
#endif
#include "base/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* AddressSanitizer and ThreadSanitizer reserve terabytes of address space: under either, a
 * worker's RLIMIT_AS would stop its first allocation ("allocator is out of memory"). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANDBOX_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANDBOX_UNDER_SANITIZER 1
#endif
#endif
#ifndef SANDBOX_UNDER_SANITIZER
#define SANDBOX_UNDER_SANITIZER 0
#endif

enum { WORKER_FD = 3, WHAT_MAX = 16384 };

typedef struct call_header {
    sandbox_job job;          /* valid in the worker: fork without exec keeps the addresses */
    uint64_t length;          /* request bytes after the name */
    uint64_t shared_size;     /* the shared mapping's size for this call's job; 0: none */
    uint32_t what_length;
    uint32_t fd_attached;     /* 1: this header carries the mapping's memfd (a new mapping) */
    char reader[24];
} call_header;

typedef struct answer_header {
    int32_t code;
    uint32_t reserved;
    uint64_t length;          /* answer bytes that follow */
    uint64_t shared_length;   /* answer bytes the job wrote at the start of the mapping */
    char msg[sizeof(((c2_err *)0)->msg)];
} answer_header;

typedef struct worker {
    pid_t pid;                /* 0: none running */
    int fd;
    int64_t memory;           /* the limit it was started with */
    /* the caller's side of the shared mapping (kept across calls and restarts) */
    int shm_fd;               /* -1: none */
    uint8_t *shm;
    size_t shm_size;
    pid_t shm_sent_to;        /* the worker that has the memfd (0: none yet) */
} worker;

#define WORKER_NONE {0, -1, 0, -1, NULL, 0, 0}

static _Thread_local worker thread_worker = WORKER_NONE;
static _Thread_local long last_worker_pid;

long sandbox_last_worker_pid(void) { return last_worker_pid; }
static atomic_llong workers_started;

int sandbox_memory_limit_enforced(void) { return !SANDBOX_UNDER_SANITIZER; }

int sandbox_enabled(void)
{
    const char *env = getenv("C2SEG_SANDBOX");
    return !(env && strcmp(env, "0") == 0);
}

int64_t sandbox_workers_started(void) { return atomic_load(&workers_started); }

void sandbox_limits_default(sandbox_limits *lim)
{
    lim->max_memory_bytes = c2_limits_get()->max_bytes + ((int64_t)1 << 30);
    lim->max_seconds = 120;
    const char *s = getenv("C2SEG_SANDBOX_SECONDS"); /* tests: a short limit for the hang hook */
    char *end;
    double v = s ? strtod(s, &end) : 0;
    if (s && *s && !*end && v > 0)
        lim->max_seconds = v;
}

int sandbox_out_append(sandbox_out *o, const void *p, size_t n)
{
    if (n > SIZE_MAX / 2 - o->n || c2_grow(&o->data, 1, o->n + n, &o->cap) != C2_OK)
        return C2_ENOMEM;
    if (n)
        memcpy(o->data + o->n, p, n);
    o->n += n;
    return C2_OK;
}

int sandbox_out_adopt(sandbox_out *o, void *buf, size_t n, const void *tail, size_t tail_n)
{
    sandbox_out_free(o);
    uint8_t *d = tail_n <= SIZE_MAX - n ? realloc(buf, n + tail_n ? n + tail_n : 1) : NULL;
    if (!d) {
        free(buf);
        return C2_ENOMEM;
    }
    if (tail_n)
        memcpy(d + n, tail, tail_n);
    o->data = d;
    o->n = o->cap = n + tail_n;
    return C2_OK;
}

void sandbox_out_free(sandbox_out *o)
{
    free(o->data);
    memset(o, 0, sizeof *o);
}

void sandbox_in_read(sandbox_in *in, void *dst, size_t n)
{
    if (in->bad || n > in->n - in->at) {
        in->bad = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, in->p + in->at, n);
    in->at += n;
}

int sandbox_out_string(sandbox_out *o, const char *s)
{
    uint32_t len = s ? (uint32_t)strlen(s) : 0;
    int rc = sandbox_out_append(o, &len, sizeof len);
    return rc == C2_OK ? sandbox_out_append(o, s ? s : "", len) : rc;
}

char *sandbox_in_string(sandbox_in *in)
{
    uint32_t len = 0;
    sandbox_in_read(in, &len, sizeof len);
    if (in->bad || len > in->n - in->at) {
        in->bad = 1;
        return NULL;
    }
    char *s = malloc((size_t)len + 1);
    if (!s) {
        in->bad = 1;
        return NULL;
    }
    memcpy(s, in->p + in->at, len);
    s[len] = 0;
    in->at += len;
    return s;
}

static double monotonic_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Milliseconds left until deadline (deadline 0 = none: -1), at least 0. */
static int ms_left(double deadline)
{
    if (deadline <= 0)
        return -1;
    double left = deadline - monotonic_seconds();
    return left <= 0 ? 0 : left > 1e6 ? 1000000000 : (int)(left * 1000) + 1;
}

/* Sends the n parts of v (a header and its payload) in as few sendmsg calls as the socket
 * takes: one call per message, so the peer wakes once per message, not once per part.
 * pass_fd >= 0 goes with the first bytes (SCM_RIGHTS). v is consumed (its bases and lengths
 * advance). 0 done, -1 error. */
static int send_parts(int fd, struct iovec *v, int n, int pass_fd)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    while (n > 0) {
        if (v->iov_len == 0) {
            v++, n--;
            continue;
        }
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = v;
        m.msg_iovlen = (size_t)n;
        if (pass_fd >= 0) {
            memset(&ctl, 0, sizeof ctl);
            m.msg_control = ctl.buf;
            m.msg_controllen = sizeof ctl.buf;
            struct cmsghdr *c = CMSG_FIRSTHDR(&m);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &pass_fd, sizeof pass_fd);
        }
        ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        pass_fd = -1; /* sent with the first bytes */
        for (size_t left = (size_t)w; left > 0;) {
            size_t k = left < v->iov_len ? left : v->iov_len;
            v->iov_base = (uint8_t *)v->iov_base + k;
            v->iov_len -= k;
            left -= k;
            if (v->iov_len == 0)
                v++, n--;
        }
    }
    return 0;
}

/* Reads exactly n bytes before the deadline: 0 done, 1 deadline passed, -1 end of file or
 * error. Bytes already waiting are taken without a poll (a header's payload follows it in
 * the same message); poll only when the socket is empty. */
static int recv_all(int fd, void *p, size_t n, double deadline)
{
    uint8_t *b = p;
    while (n > 0) {
        ssize_t got = recv(fd, b, n, MSG_DONTWAIT);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd q = {fd, POLLIN, 0};
            int r = poll(&q, 1, ms_left(deadline));
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return -1;
            if (r == 0)
                return 1;
            continue;
        }
        if (got <= 0)
            return -1;
        b += got;
        n -= (size_t)got;
    }
    return 0;
}

/* ---- inside the worker ---------------------------------------------------------------- */

/* The worker's view of the shared mapping (a worker is one thread). */
static uint8_t *worker_map;
static size_t worker_map_size;

/* Reads the call header (blocking), taking a memfd passed with it: 0 done (*fd_got the fd or
 * -1), -1 end of file or error. */
static int recv_header(call_header *h, int *fd_got)
{
    uint8_t *b = (uint8_t *)h;
    size_t n = sizeof *h;
    *fd_got = -1;
    while (n > 0) {
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        struct iovec v = {b, n};
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = &v;
        m.msg_iovlen = 1;
        m.msg_control = ctl.buf;
        m.msg_controllen = sizeof ctl.buf;
        ssize_t got = recvmsg(WORKER_FD, &m, MSG_CMSG_CLOEXEC);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
                if (*fd_got >= 0)
                    close(*fd_got);
                memcpy(fd_got, CMSG_DATA(c), sizeof(int));
            }
        b += got;
        n -= (size_t)got;
    }
    return 0;
}

/* Maps the call's shared mapping (a new memfd, or the one kept): 0 done, -1 a protocol error. */
static int worker_map_update(const call_header *h, int fd)
{
    if (fd >= 0) {
        if (worker_map)
            munmap(worker_map, worker_map_size);
        worker_map = NULL;
        worker_map_size = 0;
        void *p = h->fd_attached && h->shared_size > 0
                      ? mmap(NULL, (size_t)h->shared_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                      : MAP_FAILED;
        close(fd);
        if (p == MAP_FAILED)
            return -1;
        worker_map = p;
        worker_map_size = (size_t)h->shared_size;
        return 0;
    }
    return h->fd_attached || (h->shared_size && h->shared_size != worker_map_size) ? -1 : 0;
}

/* The action (crash, hang, oom; at most cap - 1 characters) that the test-only fault hook
 * (sandbox.h: C2SEG_FAULT=ACTION@READER:TEXT[;...]) names for a job of reader on what, or
 * 0 when none does. */
static int fault_action(const char *reader, const char *what, char *action, size_t cap)
{
    const char *env = getenv("C2SEG_FAULT");
    if (!env || !*env)
        return 0;
    char spec[1024];
    snprintf(spec, sizeof spec, "%s", env);
    char *save = NULL;
    for (char *tok = strtok_r(spec, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        char *at = strchr(tok, '@'), *colon = at ? strchr(at, ':') : NULL;
        if (!at || !colon)
            continue;
        *at = *colon = 0;
        if (strcmp(at + 1, reader) != 0 || !colon[1] || !strstr(what, colon + 1))
            continue;
        snprintf(action, cap, "%s", tok);
        return 1;
    }
    return 0;
}

int sandbox_fault_armed(const char *reader, const char *what)
{
    char action[16];
    return fault_action(reader, what, action, sizeof action);
}

/* The fault hook inside a worker: the job of reader on what crashes, hangs or runs out of
 * memory when C2SEG_FAULT says so. */
static void fault_hook(const char *reader, const char *what)
{
    char action[16];
    if (!fault_action(reader, what, action, sizeof action))
        return;
    if (strcmp(action, "crash") == 0) {
        signal(SIGSEGV, SIG_DFL); /* past a sanitizer's handler: die by the signal itself */
        raise(SIGSEGV);
    }
    if (strcmp(action, "hang") == 0)
        for (;;)
            pause();
    if (strcmp(action, "oom") == 0) { /* as a C++ parser does: allocate until the address-space
                                         limit refuses, then abort (std::bad_alloc -> terminate) */
        while (sandbox_memory_limit_enforced() && malloc((size_t)64 << 20)) {
        }
        abort();
    }
}

static int worker_answer(int code, const c2_err *e, const sandbox_out *out)
{
    answer_header h;
    memset(&h, 0, sizeof h);
    h.code = code;
    h.length = code == C2_OK ? out->n : 0;
    h.shared_length = code == C2_OK && out->shared ? out->shared_n : 0;
    memcpy(h.msg, e->msg, sizeof h.msg);
    h.msg[sizeof h.msg - 1] = 0;
    struct iovec v[2] = {{&h, sizeof h}, {out->data, (size_t)h.length}};
    return send_parts(WORKER_FD, v, 2, -1) != 0;
}

/* The worker: limits, then calls until end of file on the socket; never returns. _exit
 * keeps the parent's stdio buffers and atexit handlers from running twice. */
static void worker_main(int fd, int64_t memory)
{
    if (fd != WORKER_FD) {
        dup2(fd, WORKER_FD);
        close(fd);
    }
    closefrom(WORKER_FD + 1);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    if (memory > 0 && sandbox_memory_limit_enforced()) {
        struct rlimit as = {(rlim_t)memory, (rlim_t)memory};
        setrlimit(RLIMIT_AS, &as);
    }
    size_t max = (size_t)c2_limits_get()->max_bytes;
    for (;;) {
        call_header h;
        int map_fd;
        if (recv_header(&h, &map_fd) != 0)
            _exit(0);
        h.reader[sizeof h.reader - 1] = 0;
        if (h.what_length > WHAT_MAX || h.length > max || h.shared_size > max || worker_map_update(&h, map_fd) != 0)
            _exit(2);
        char *what = malloc((size_t)h.what_length + 1);
        uint8_t *req = malloc(h.length ? (size_t)h.length : 1);
        if (!what || !req || recv_all(WORKER_FD, what, h.what_length, 0) != 0 ||
            recv_all(WORKER_FD, req, (size_t)h.length, 0) != 0)
            _exit(3);
        what[h.what_length] = 0;
        fault_hook(h.reader, what);
        sandbox_out out = {0};
        if (h.shared_size) {
            out.shared = worker_map;
            out.shared_cap = worker_map_size;
        }
        c2_err e = {0};
        int code = h.job(req, (size_t)h.length, &out, &e);
        int bad = worker_answer(code, &e, &out);
        sandbox_out_free(&out);
        free(what);
        free(req);
        if (bad)
            _exit(1);
    }
}

/* ---- the caller's side ---------------------------------------------------------------- */

static int worker_start(worker *w, int64_t memory)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        worker_main(sv[1], memory);
    }
    close(sv[1]);
    w->pid = pid;
    w->fd = sv[0];
    w->memory = memory;
    atomic_fetch_add(&workers_started, 1);
    return 0;
}

/* Waits for the worker until the deadline (0: a short grace), then kills it; returns its
 * wait status. */
static int worker_reap(pid_t pid, double deadline)
{
    int status = 0;
    if (deadline <= 0)
        deadline = monotonic_seconds() + 2;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return status;
        if (monotonic_seconds() > deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            return status;
        }
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
    }
}

static void worker_kill(worker *w)
{
    if (!w->pid)
        return;
    close(w->fd);
    kill(w->pid, SIGKILL);
    while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    w->pid = 0;
    w->fd = -1;
}

/* The caller's side of the shared mapping: at least want bytes (a new, larger memfd when
 * the one kept is smaller: sealed so that no process can shrink it under a reader's feet).
 * 0 done, -1 none (the call answers through the socket). */
static int shm_ensure(worker *w, size_t want)
{
#if defined(__linux__) && defined(MFD_ALLOW_SEALING)
    if (w->shm && w->shm_size >= want)
        return 0;
    size_t size = (want + 65535) & ~(size_t)65535;
    if (size < want || size > (size_t)c2_limits_get()->max_bytes)
        return -1;
    int fd = memfd_create("c2seg-sandbox", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    void *p = MAP_FAILED;
    if (ftruncate(fd, (off_t)size) == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        close(fd);
        return -1;
    }
    madvise(p, size, MADV_DONTFORK); /* a worker forked later maps only its own thread's */
    if (w->shm) {
        munmap(w->shm, w->shm_size);
        close(w->shm_fd);
    }
    w->shm = p;
    w->shm_size = size;
    w->shm_fd = fd;
    w->shm_sent_to = 0;
    return 0;
#else
    (void)w;
    (void)want;
    return -1;
#endif
}

static void shm_free(worker *w)
{
    if (w->shm) {
        munmap(w->shm, w->shm_size);
        close(w->shm_fd);
    }
    w->shm = NULL;
    w->shm_size = 0;
    w->shm_fd = -1;
    w->shm_sent_to = 0;
}

void sandbox_worker_stop(void)
{
    worker_kill(&thread_worker);
    shm_free(&thread_worker);
}

int sandbox_worker_start(c2_err *e)
{
    if (!sandbox_enabled() || thread_worker.pid)
        return C2_OK;
    sandbox_limits lim;
    sandbox_limits_default(&lim);
    if (worker_start(&thread_worker, lim.max_memory_bytes) != 0)
        return c2_fail(e, C2_EIO, "cannot start a sandbox worker process: %s", strerror(errno));
    return C2_OK;
}

static int worker_call(worker *w, const char *what, const char *reader, const char *parser, sandbox_job job,
                       const void *req, size_t n, size_t shared_bytes, const sandbox_limits *lim, sandbox_out *result,
                       c2_err *e)
{
    if (w->pid && w->memory != lim->max_memory_bytes)
        worker_kill(w);
    if (!w->pid && worker_start(w, lim->max_memory_bytes) != 0)
        return c2_fail(e, C2_EIO, "%s: cannot start a process for the %s: %s", what, parser, strerror(errno));
    last_worker_pid = (long)w->pid;
    double deadline = lim->max_seconds > 0 ? monotonic_seconds() + lim->max_seconds : 0;
    call_header h;
    memset(&h, 0, sizeof h);
    h.job = job;
    h.length = n;
    size_t what_n = strlen(what);
    h.what_length = (uint32_t)(what_n < WHAT_MAX ? what_n : WHAT_MAX);
    snprintf(h.reader, sizeof h.reader, "%s", reader ? reader : "");
    int pass_fd = -1;
    if (shared_bytes > 0 && shm_ensure(w, shared_bytes) == 0) {
        h.shared_size = w->shm_size;
        if (w->shm_sent_to != w->pid) {
            h.fd_attached = 1;
            pass_fd = w->shm_fd;
        }
    }
    answer_header a;
    struct iovec v[3] = {{&h, sizeof h}, {(void *)what, h.what_length}, {(void *)req, n}};
    int sent = send_parts(w->fd, v, 3, pass_fd) == 0;
    if (sent && pass_fd >= 0)
        w->shm_sent_to = w->pid;
    int rr = sent ? recv_all(w->fd, &a, sizeof a, deadline) : -1;
    size_t max = (size_t)c2_limits_get()->max_bytes;
    if (rr == 0 && a.length > max)
        rr = -1;
    if (rr == 0 && a.shared_length > h.shared_size) { /* a length the mapping cannot hold: never trusted */
        worker_kill(w);
        return c2_fail(e, C2_EINVAL, "%s: the %s returned an inconsistent result (%llu shared bytes)", what, parser,
                       (unsigned long long)a.shared_length);
    }
    if (rr == 0 && a.length > 0) {
        uint8_t *d = malloc((size_t)a.length);
        if (!d) {
            worker_kill(w);
            return c2_fail(e, C2_ENOMEM, "%s: out of memory for the %s's result", what, parser);
        }
        result->data = d;
        result->n = result->cap = (size_t)a.length;
        rr = recv_all(w->fd, d, (size_t)a.length, deadline);
        if (rr != 0)
            sandbox_out_free(result);
    }
    if (rr == 0) {
        if (a.code == C2_OK) {
            result->shared = a.shared_length ? w->shm : NULL;
            result->shared_cap = a.shared_length ? w->shm_size : 0;
            result->shared_n = (size_t)a.shared_length;
            return C2_OK;
        }
        a.msg[sizeof a.msg - 1] = 0;
        return c2_fail(e, a.code < 0 ? a.code : C2_EINVAL, "%s", a.msg);
    }
    /* the worker hung or died: stop it, say how, and start a fresh one next time */
    pid_t pid = w->pid;
    close(w->fd);
    w->pid = 0;
    w->fd = -1;
    if (rr == 1) {
        kill(pid, SIGKILL);
        worker_reap(pid, 0);
        return c2_fail(e, C2_ELIMIT, "%s: the %s did not finish within %g s (stopped)", what, parser,
                       lim->max_seconds);
    }
    int status = worker_reap(pid, 0);
    if (WIFSIGNALED(status))
        return c2_fail(e, C2_EINVAL, "%s: the %s crashed (signal %d, %s)", what, parser, WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
    return c2_fail(e, C2_EINVAL, "%s: the %s exited with status %d before returning a result", what, parser,
                   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int sandbox_call(const char *what, const char *reader, const char *parser, sandbox_job job, const void *req,
                 size_t n, const sandbox_limits *lim, sandbox_out *result, c2_err *e)
{
    return sandbox_call_shared(what, reader, parser, job, req, n, 0, lim, result, e);
}

int sandbox_call_shared(const char *what, const char *reader, const char *parser, sandbox_job job, const void *req,
                        size_t n, size_t shared_bytes, const sandbox_limits *lim, sandbox_out *result, c2_err *e)
{
    sandbox_limits def;
    if (!lim) {
        sandbox_limits_default(&def);
        lim = &def;
    }
    memset(result, 0, sizeof *result);
    int rc;
    if (!sandbox_enabled()) {
        last_worker_pid = 0;
        rc = job(req, n, result, e);
    } else {
        rc = worker_call(&thread_worker, what, reader, parser, job, req, n, shared_bytes, lim, result, e);
    }
    if (rc != C2_OK)
        sandbox_out_free(result);
    return rc;
}

/* sandbox_run: a worker of its own for one call; the request carries fn and arg, valid in
 * a child forked just now. */
typedef struct fn_call {
    sandbox_fn fn;
    void *arg;
} fn_call;

static int fn_call_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    fn_call c;
    if (n != sizeof c)
        return c2_fail(e, C2_EINVAL, "bad sandbox request");
    memcpy(&c, req, sizeof c);
    return c.fn(c.arg, out, e);
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
    fn_call c = {fn, arg};
    int rc;
    if (!sandbox_enabled()) {
        rc = fn(arg, result, e);
    } else {
        worker w = WORKER_NONE;
        rc = worker_call(&w, what, "", parser, fn_call_job, &c, sizeof c, 0, lim, result, e);
        worker_kill(&w);
    }
    if (rc != C2_OK)
        sandbox_out_free(result);
    return rc;
}
