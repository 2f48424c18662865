/* lock: one writer per output. An advisory flock(2) on a lock file beside the output
 * (WORKDIR/.c2seg.lock, OUTDIR/.c2seg.lock, FILE.lock) that the holder keeps open for its
 * whole run. The file also holds the holder's pid and command for the message a second
 * writer gets. The kernel drops a flock when its holder dies (kill -9 included), so a
 * stale lock file is simply locked again by the next run: no pid liveness guess. The
 * file is never removed (removing it would let two runs lock two different inodes). */
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* The holder's "pid command" line from the lock file, or "" (being written, or none). */
static void holder_read(int fd, char *out, size_t cap)
{
    out[0] = 0;
    ssize_t n = pread(fd, out, cap - 1, 0);
    if (n <= 0) {
        out[0] = 0;
        return;
    }
    out[n] = 0;
    out[strcspn(out, "\n")] = 0;
}

int c2_lock_acquire(c2_lock *l, const char *path, const char *what, int wait, c2_err *e)
{
    l->fd = -1;
    snprintf(l->path, sizeof l->path, "%s", path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return c2_fail(e, C2_EIO, "%s: cannot open the lock file (%s)", path, strerror(errno));
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK) {
            int err = errno;
            close(fd);
            return c2_fail(e, C2_EIO, "%s: cannot lock (%s)", path, strerror(err));
        }
        char holder[256];
        holder_read(fd, holder, sizeof holder);
        if (!wait) {
            close(fd);
            return c2_fail(e, C2_EBUSY, "%s: in use by another c2seg (%s%s); wait for it, or pass --wait", path,
                           holder[0] ? "pid " : "pid unknown", holder);
        }
        c2_warn("%s: in use by another c2seg (%s%s); waiting for it (--wait)", path, holder[0] ? "pid " : "pid unknown",
                holder);
        while (flock(fd, LOCK_EX) != 0)
            if (errno != EINTR) {
                int err = errno;
                close(fd);
                return c2_fail(e, C2_EIO, "%s: cannot lock (%s)", path, strerror(err));
            }
        break;
    }
    char line[256];
    int n = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), what ? what : "c2seg");
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) {
        int err = errno;
        close(fd);
        return c2_fail(e, C2_EIO, "%s: cannot write the lock file (%s)", path, strerror(err));
    }
    l->fd = fd;
    return C2_OK;
}

void c2_lock_release(c2_lock *l)
{
    if (l->fd >= 0) {
        /* an empty file says "no holder" to the next reader; the kernel drops the flock on close */
        (void)!ftruncate(l->fd, 0);
        close(l->fd);
    }
    l->fd = -1;
}
