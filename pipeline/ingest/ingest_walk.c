/* pipeline/ingest/ingest_walk: collects the files of the ingest inputs. Folders are walked
 * to --max-depth levels; hidden entries (".name") and DICOMDIR files are skipped;
 * symbolic links are followed, but a folder already visited (same device and inode)
 * is not entered again, so link loops end. Entries are visited in name order, so
 * the sample order of the cache does not depend on the file system. A file reached
 * twice (the same folder or file given twice, a folder and a file inside it, links)
 * is kept once, at its first place: files are identified by device and inode. */
#include "pipeline/ingest/ingest_parts.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct visited {
    struct folder_id {
        dev_t dev;
        ino_t ino;
    } *ids;
    size_t n, cap;
} visited;

static int visited_add(visited *v, const struct stat *st)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->ids[i].dev == st->st_dev && v->ids[i].ino == st->st_ino)
            return 0;
    if (c2_grow(&v->ids, sizeof *v->ids, v->n + 1, &v->cap) != C2_OK)
        return -1;
    v->ids[v->n].dev = st->st_dev;
    v->ids[v->n++].ino = st->st_ino;
    return 1;
}

static int file_add(ingest_ctx *c, const char *path, const struct stat *st, c2_err *e)
{
    if (c2_grow(&c->files, sizeof *c->files, (size_t)c->n_files + 1, &c->cap_files) != C2_OK)
        return c2_fail(e, C2_ENOMEM, "out of memory listing files");
    if (!(c->files[c->n_files].path = strdup(path)))
        return c2_fail(e, C2_ENOMEM, "out of memory listing files");
    c->files[c->n_files].reason = NULL;
    c->files[c->n_files].dev = st->st_dev;
    c->files[c->n_files].ino = st->st_ino;
    c->files[c->n_files++].state = FILE_PENDING;
    return C2_OK;
}

static int name_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(ingest_ctx *c, visited *v, const char *path, int depth, c2_err *e)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        ingest_error(c, "%s: cannot open (missing file or broken link)", path);
        c->n_failed++;
        return C2_OK;
    }
    if (!S_ISDIR(st.st_mode))
        return S_ISREG(st.st_mode) ? file_add(c, path, &st, e) : C2_OK;
    int fresh = visited_add(v, &st);
    if (fresh < 0)
        return c2_fail(e, C2_ENOMEM, "out of memory walking %s", path);
    if (!fresh) {
        ingest_warn(c, "%s: folder already visited (symbolic link loop?), not entered again", path);
        return C2_OK;
    }
    if (depth > c->max_depth) {
        ingest_warn(c, "%s: deeper than --max-depth %d, not entered", path, c->max_depth);
        return C2_OK;
    }
    DIR *d = opendir(path);
    if (!d) {
        ingest_error(c, "%s: cannot list the folder", path);
        c->n_failed++;
        return C2_OK;
    }
    char **names = NULL;
    int n = 0, rc = C2_OK;
    size_t cap = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.' || c2_strcasecmp_ascii(de->d_name, "DICOMDIR") == 0)
            continue;
        if (c2_grow(&names, sizeof *names, (size_t)n + 1, &cap) != C2_OK) {
            rc = c2_fail(e, C2_ENOMEM, "out of memory walking %s", path);
            break;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = c2_fail(e, C2_ENOMEM, "out of memory walking %s", path);
            break;
        }
        n++;
    }
    closedir(d);
    if (n > 1) /* qsort must not get the NULL array of an empty folder */
        qsort(names, n, sizeof *names, name_compare);
    for (int i = 0; i < n; i++) {
        char child[4096];
        if (rc == C2_OK && c2_path_join(child, sizeof child, path, names[i]) == C2_OK)
            rc = walk(c, v, child, depth + 1, e);
        free(names[i]);
    }
    free(names);
    return rc;
}

static const ingest_file *identity_files;

/* Orders file indices by (device, inode, index): duplicates become neighbours, first place first. */
static int identity_compare(const void *a, const void *b)
{
    const ingest_file *x = &identity_files[*(const int *)a], *y = &identity_files[*(const int *)b];
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return *(const int *)a - *(const int *)b;
}

/* Drops every file whose identity appeared earlier in c->files, keeping the order. */
static int files_dedupe(ingest_ctx *c, c2_err *e)
{
    if (c->n_files < 2)
        return C2_OK;
    int *idx = malloc((size_t)c->n_files * sizeof *idx);
    uint8_t *drop = calloc((size_t)c->n_files, 1);
    if (!idx || !drop) {
        free(idx);
        free(drop);
        return c2_fail(e, C2_ENOMEM, "out of memory listing files");
    }
    for (int i = 0; i < c->n_files; i++)
        idx[i] = i;
    identity_files = c->files;
    qsort(idx, c->n_files, sizeof *idx, identity_compare);
    for (int i = 1; i < c->n_files; i++) {
        const ingest_file *p = &c->files[idx[i - 1]], *f = &c->files[idx[i]];
        drop[idx[i]] = p->dev == f->dev && p->ino == f->ino;
    }
    int n = 0, dropped = 0;
    for (int i = 0; i < c->n_files; i++) {
        if (drop[i]) {
            free(c->files[i].path);
            dropped++;
        } else
            c->files[n++] = c->files[i];
    }
    c->n_files = n;
    if (dropped)
        ingest_warn(c, "%d file(s) reached more than once (an input given twice, or links), ingested once", dropped);
    free(idx);
    free(drop);
    return C2_OK;
}

int ingest_walk(ingest_ctx *c, const char *path, c2_err *e)
{
    visited v = {0};
    int rc = walk(c, &v, path, 0, e);
    free(v.ids);
    return rc == C2_OK ? files_dedupe(c, e) : rc;
}
