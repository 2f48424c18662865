/* Atomic output files and path helpers. Outputs are never half-written: data goes
 * to "<final>.tmp.<pid>" in the same folder (same file system, so rename is atomic)
 * and is renamed over the final name only after a successful flush and fsync. */
#include "base/base.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void c2_temp_name_of(char *out, size_t cap, const char *final_path, long pid)
{
    snprintf(out, cap, "%s.tmp.%ld", final_path, pid);
}

void c2_temp_name(char *out, size_t cap, const char *final_path)
{
    c2_temp_name_of(out, cap, final_path, (long)getpid());
}

/* The process id of a temporary of final_path's base name (base + anything + ".tmp." +
 * digits), or 0 when name is not one. */
static long temp_owner(const char *name, const char *base)
{
    size_t nb = strlen(base);
    const char *t = strncmp(name, base, nb) == 0 ? strstr(name + nb, ".tmp.") : NULL;
    if (!t)
        return 0;
    char *end;
    long pid = strtol(t + 5, &end, 10);
    return *end || pid <= 0 || t[5] < '0' || t[5] > '9' ? 0 : pid;
}

int c2_remove_stale_temps(const char *final_path)
{
    char dir[4096];
    const char *base = c2_basename(final_path);
    size_t nd = (size_t)(base - final_path);
    snprintf(dir, sizeof dir, "%.*s", nd ? (int)(nd - 1) : 1, nd ? final_path : ".");
    if (nd == 1)
        snprintf(dir, sizeof dir, "/");
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int removed = 0;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        long pid = temp_owner(ent->d_name, base);
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char path[8400];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (remove(path) == 0) {
            c2_warn("removed %s, left by an interrupted run", path);
            removed++;
        }
    }
    closedir(d);
    return removed;
}

int c2_rename_into_place(const char *tmp, const char *final_path, c2_err *e)
{
    if (rename(tmp, final_path) != 0) {
        int err = errno;
        remove(tmp);
        return c2_fail(e, C2_EIO, "%s: cannot rename the finished output into place (%s)", final_path,
                       strerror(err));
    }
    return C2_OK;
}

int c2_write_status(int err)
{
    return err == ENOSPC || err == EDQUOT || err == EFBIG ? C2_ENOSPC : C2_EIO;
}

int c2_atomic_open(c2_atomic *a, const char *path, c2_err *e)
{
    memset(a, 0, sizeof *a);
    if (strlen(path) >= sizeof a->final_path)
        return c2_fail(e, C2_EINVAL, "output path is too long");
    snprintf(a->final_path, sizeof a->final_path, "%s", path);
    c2_temp_name(a->tmp_path, sizeof a->tmp_path, path);
    a->f = fopen(a->tmp_path, "wb");
    if (!a->f)
        return c2_fail(e, c2_write_status(errno), "%s: cannot create (%s)", path, strerror(errno));
    return C2_OK;
}

int c2_atomic_commit(c2_atomic *a, c2_err *e)
{
    int bad = ferror(a->f), err = 0;
    if (fflush(a->f) != 0 || (fsync(fileno(a->f)) != 0 && errno != EINVAL)) {
        bad = 1;
        err = errno;
    }
    if (fclose(a->f) != 0) {
        bad = 1;
        err = err ? err : errno;
    }
    a->f = NULL;
    if (bad) {
        remove(a->tmp_path);
        return c2_fail(e, c2_write_status(err), "%s: write failed (%s)", a->final_path,
                       err ? strerror(err) : "an earlier write failed");
    }
    return c2_rename_into_place(a->tmp_path, a->final_path, e);
}

void c2_atomic_abort(c2_atomic *a)
{
    if (a->f)
        fclose(a->f);
    a->f = NULL;
    if (a->tmp_path[0])
        remove(a->tmp_path);
}

int c2_write_file(const char *path, const void *data, size_t n, c2_err *e)
{
    c2_atomic a;
    int rc = c2_atomic_open(&a, path, e);
    if (rc)
        return rc;
    if (n && fwrite(data, 1, n, a.f) != n) {
        int err = errno;
        c2_atomic_abort(&a);
        return c2_fail(e, c2_write_status(err), "%s: write failed (%s)", path, strerror(err));
    }
    return c2_atomic_commit(&a, e);
}

int c2_read_file(const char *path, size_t max, uint8_t **data, size_t *n, c2_err *e)
{
    *data = NULL;
    *n = 0;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return c2_fail(e, C2_EIO, "%s: cannot open (%s)", path, strerror(err));
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return c2_fail(e, C2_EINVAL, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max) {
        fclose(f);
        return c2_fail(e, C2_ELIMIT, "%s: %lld bytes, over the limit of %zu", path, (long long)st.st_size, max);
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        fclose(f);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    if (got != (size_t)st.st_size) {
        free(buf);
        return c2_fail(e, C2_EIO, "%s: short read", path);
    }
    buf[got] = 0;
    *data = buf;
    *n = got;
    return C2_OK;
}

int c2_mkdirs(const char *path, c2_err *e)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return c2_fail(e, C2_EINVAL, "path is too long: %.64s...", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return c2_fail(e, C2_EIO, "%s: cannot create folder (%s)", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return c2_fail(e, C2_EIO, "%s: cannot create folder (%s)", buf, strerror(errno));
    return C2_OK;
}

int c2_path_join(char *out, size_t cap, const char *a, const char *b)
{
    size_t la = strlen(a);
    int n = (la && a[la - 1] == '/') ? snprintf(out, cap, "%s%s", a, b) : snprintf(out, cap, "%s/%s", a, b);
    return (n < 0 || (size_t)n >= cap) ? C2_EINVAL : C2_OK;
}

void c2_safe_name(char *out, size_t cap, const char *in)
{
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        out[j++] = (isalnum(c) || c == '-' || c == '_' || c == '.') ? (char)c : '_';
    }
    out[j] = 0;
    /* no leading dot: never ".", "..", or a hidden file */
    for (size_t i = 0; i < j && out[i] == '.'; i++)
        out[i] = '_';
    if (j == 0 && cap > 1)
        snprintf(out, cap, "_");
}

const char *c2_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int c2_strcasecmp_ascii(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
        if (ca != cb || !ca)
            return ca - cb;
    }
}

int c2_ends_with_ci(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && c2_strcasecmp_ascii(s + ls - lx, suffix) == 0;
}
