/* lock: one writer per output. An advisory flock(2) on a lock file beside the output
 * (WORKDIR/.c2seg.lock, OUTDIR/.c2seg.lock, FILE.lock) that the holder keeps open for its
 * whole run. The file also holds the holder's pid and command for the message a second
 * writer gets. The kernel drops a flock when its holder dies (kill -9 included), so a
 * stale lock file is simply locked again by the next run: no pid liveness guess.
 * A release removes the file (so a run leaves no file behind, a failed one included): it
 * is unlinked while still locked, and an acquirer that got the flock checks that its open
 * file is still the one at the path (fstat vs stat, same device and inode), else it
 * opens the path again. So two processes never both hold "the" lock: one holding the
 * flock of an unlinked inode finds out and retries. */
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
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

/* 1 when fd is still the file at path (not unlinked or replaced by a release meanwhile). */
static int still_at_path(int fd, const char *path)
{
    struct stat fs, ps;
    return fstat(fd, &fs) == 0 && stat(path, &ps) == 0 && fs.st_dev == ps.st_dev && fs.st_ino == ps.st_ino;
}

/* Takes the flock of an open lock file: 0 held, 1 held by another process (not waiting),
 * -1 an error (errno). With wait, the first time another holds it: one c2_warn line. */
static int lock_fd(int fd, const char *path, int wait, int *warned, char *holder, size_t cap)
{
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK)
            return -1;
        holder_read(fd, holder, cap);
        if (!wait)
            return 1;
        if (!*warned)
            c2_warn("%s: in use by another c2seg (%s%s); waiting for it (--wait)", path,
                    holder[0] ? "pid " : "pid unknown", holder);
        *warned = 1;
        while (flock(fd, LOCK_EX) != 0)
            if (errno != EINTR)
                return -1;
        return 0;
    }
    return 0;
}

int c2_lock_acquire(c2_lock *l, const char *path, const char *what, int wait, c2_err *e)
{
    l->fd = -1;
    snprintf(l->path, sizeof l->path, "%s", path);
    int fd = -1, warned = 0;
    for (;;) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return c2_fail(e, C2_EIO, "%s: cannot open the lock file (%s)", path, strerror(errno));
        char holder[256];
        int r = lock_fd(fd, path, wait, &warned, holder, sizeof holder);
        if (r < 0) {
            int err = errno;
            close(fd);
            return c2_fail(e, C2_EIO, "%s: cannot lock (%s)", path, strerror(err));
        }
        if (r > 0) {
            close(fd);
            return c2_fail(e, C2_EBUSY, "%s: in use by another c2seg (%s%s); wait for it, or pass --wait", path,
                           holder[0] ? "pid " : "pid unknown", holder);
        }
        if (still_at_path(fd, path))
            break;
        close(fd); /* the holder released (removed) it while we waited: lock the path anew */
    }
    l->fd = fd;
    char line[256];
    int n = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), what ? what : "c2seg");
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) {
        int err = errno;
        c2_lock_release(l); /* a full disk: the file goes again */
        return c2_fail(e, C2_EIO, "%s: cannot write the lock file (%s)", path, strerror(err));
    }
    return C2_OK;
}

void c2_lock_release(c2_lock *l)
{
    if (l->fd >= 0) {
        /* removed while still locked: an acquirer blocked on this inode sees the path gone
         * (or another inode) and retries; the kernel drops the flock on close */
        unlink(l->path);
        close(l->fd);
    }
    l->fd = -1;
}
