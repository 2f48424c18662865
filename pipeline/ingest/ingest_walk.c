/* pipeline/ingest/ingest_walk: collects the files of the ingest inputs. Folders are walked
 * to --max-depth levels; hidden entries (".name") and this run's own outputs (the cache being
 * written and names that extend it: its report, their temporaries) are skipped; a DICOMDIR is read
 * (io/dicomdir.h): its existing files added, missing ones reported on its line;
 * symbolic links are followed, but a folder already visited (same device and inode)
 * is not entered again, so link loops end. Entries are visited in name order, so
 * the sample order of the cache does not depend on the file system. A file reached
 * twice (the same folder or file given twice, a folder and a file inside it, links)
 * is kept once, at its first place: files are identified by device and inode. */
#include "io/dicomdir.h"
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
    c->files[c->n_files].over = 0;
    c->files[c->n_files++].state = FILE_PENDING;
    return C2_OK;
}

/* 1 when name, in the folder st, is one of this run's own outputs (the cache being written,
 * its report, their temporary names): an output folder inside an input is not read back. */
static int own_output(const ingest_ctx *c, const struct stat *st, const char *name)
{
    const char *b = c->own.base;
    size_t n = b ? strlen(b) : 0;
    return n && st->st_dev == c->own.dev && st->st_ino == c->own.ino && strncmp(name, b, n) == 0 &&
           (name[n] == '\0' || name[n] == '.');
}

static int name_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A DICOMDIR in a walked folder: its records go to the log; the files it references that
 * exist are added (files whose names do not look like anything are still inputs), those
 * missing or refused (a path leading out of its folder) are reported on the DICOMDIR's
 * line: the count, the first three and the record counts. The folder's own files are walked
 * as usual. */
static int dicomdir_add(ingest_ctx *c, const char *path, const struct stat *st, c2_err *e)
{
    int rc = file_add(c, path, st, e);
    if (rc)
        return rc;
    int self = c->n_files - 1;
    dicomdir_info d;
    c2_err de = {0};
    if (dicomdir_read_isolated(path, &d, &de) != C2_OK) {
        ingest_report(c, &c->files[self], de.msg);
        return C2_OK;
    }
    char why[1024];
    size_t o = 0;
    int shown = 0;
    for (int i = 0; i < d.n_files && rc == C2_OK; i++) {
        const dicomdir_file *f = &d.files[i];
        struct stat fs;
        if (f->state == DICOMDIR_FILE_OK && stat(f->path, &fs) == 0) {
            int known = 0;   /* the walk of the folder usually found it already */
            for (int k = 0; k < c->n_files && !known; k++)
                known = c->files[k].dev == fs.st_dev && c->files[k].ino == fs.st_ino;
            if (!known)
                rc = file_add(c, f->path, &fs, e);
        }
        else if (shown < 3 && o < sizeof why) {
            int w = snprintf(why + o, sizeof why - o, "%s%s (%s)", shown ? ", " : "", f->file_id,
                             f->state == DICOMDIR_FILE_OUTSIDE ? "outside its folder" : "missing");
            o += w > 0 ? (size_t)w : 0;
            shown++;
        }
    }
    int bad = d.n_missing + d.n_outside, np = d.n_patients, nst = d.n_studies, nse = d.n_series, nim = d.n_images;
    dicomdir_free(&d);
    if (rc == C2_OK && bad) {
        char line[1200];
        snprintf(line, sizeof line, "DICOMDIR: %d of its referenced files missing or refused: %.900s%s (records: %d "
                 "patients, %d studies, %d series, %d images)", bad, why, bad > 3 ? ", ..." : "", np, nst, nse, nim);
        ingest_report(c, &c->files[self], line);
    } else if (rc == C2_OK) {
        c->files[self].state = FILE_CONSUMED;
    }
    return rc;
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
    char **names = NULL, dicomdir[4096] = "";
    int n = 0, rc = C2_OK;
    size_t cap = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.' || own_output(c, &st, de->d_name))
            continue;
        if (c2_strcasecmp_ascii(de->d_name, "DICOMDIR") == 0) {
            c2_path_join(dicomdir, sizeof dicomdir, path, de->d_name);
            continue;
        }
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
    struct stat ds;
    if (rc == C2_OK && dicomdir[0] && stat(dicomdir, &ds) == 0 && S_ISREG(ds.st_mode))
        rc = dicomdir_add(c, dicomdir, &ds, e);
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
