/* dicomdir: a DICOMDIR's records and the files they reference (io/dicomdir.h).
 * Referenced File IDs are resolved inside the DICOMDIR's own folder only: a component
 * that is empty, "." or "..", or holds '/', and a path whose real location (symbolic
 * links followed) is not under the folder's real location, are refused. */
#include "io/dicomdir.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The entry of dir named like name (exact, else ASCII case-insensitive) -> out; 0 if none. */
static int find_entry(const char *dir, const char *name, char *out, size_t cap)
{
    char p[4096];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/%s", dir, name) < (int)sizeof p && lstat(p, &st) == 0) {
        snprintf(out, cap, "%s", p);
        return 1;
    }
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int found = 0;
    while (!found && (de = readdir(d)) != NULL)
        if (c2_strcasecmp_ascii(de->d_name, name) == 0 &&
            snprintf(out, cap, "%s/%s", dir, de->d_name) < (int)cap)
            found = 1;
    closedir(d);
    return found;
}

/* Resolves file_id (components joined by '/') under root (real path) -> f. */
static void resolve(const char *dir, const char *root_real, dicomdir_file *f)
{
    char id[512], cur[4096];
    snprintf(id, sizeof id, "%s", f->file_id);
    snprintf(f->path, sizeof f->path, "%s/%s", dir, f->file_id);
    snprintf(cur, sizeof cur, "%s", dir);
    if (!id[0] || id[0] == '/') {
        f->state = DICOMDIR_FILE_OUTSIDE;
        return;
    }
    for (char *save = NULL, *c = strtok_r(id, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, ".") || !strcmp(c, "..") || strchr(c, '\\')) {
            f->state = DICOMDIR_FILE_OUTSIDE;
            return;
        }
        char next[4096];
        if (!find_entry(cur, c, next, sizeof next)) {
            f->state = DICOMDIR_FILE_MISSING;
            return;
        }
        snprintf(cur, sizeof cur, "%s", next);
    }
    /* an empty component ("A//B") collapses in strtok: refuse it explicitly */
    if (strstr(f->file_id, "//") || f->file_id[strlen(f->file_id) - 1] == '/') {
        f->state = DICOMDIR_FILE_OUTSIDE;
        return;
    }
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(cur, real) || stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        f->state = DICOMDIR_FILE_MISSING;   /* a dangling link or a folder */
        return;
    }
    size_t lr = strlen(root_real);
    if (strncmp(real, root_real, lr) != 0 || (real[lr] != '/' && !(lr == 1 && root_real[0] == '/'))) {
        f->state = DICOMDIR_FILE_OUTSIDE;
        return;
    }
    snprintf(f->path, sizeof f->path, "%s", cur);
    f->state = DICOMDIR_FILE_OK;
}

/* The result of the records (recs[n], freed here) read from the DICOMDIR at path. */
static int dicomdir_from_records(const char *path, dicomdir_record *recs, int n, dicomdir_info *d, c2_err *e)
{
    char dir[4096], root_real[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    if (!realpath(dir[0] ? dir : "/", root_real)) {
        free(recs);
        return c2_fail(e, C2_EIO, "%s: cannot resolve the DICOMDIR's folder", path);
    }
    int n_ref = 0;
    for (int i = 0; i < n; i++)
        n_ref += recs[i].file_id[0] != 0;
    d->files = calloc((size_t)(n_ref ? n_ref : 1), sizeof *d->files);
    if (!d->files) {
        free(recs);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for %d referenced files", path, n_ref);
    }
    for (int i = 0; i < n; i++) {
        const dicomdir_record *r = &recs[i];
        d->n_patients += r->type == DICOMDIR_REC_PATIENT;
        d->n_studies += r->type == DICOMDIR_REC_STUDY;
        d->n_series += r->type == DICOMDIR_REC_SERIES;
        d->n_images += r->type == DICOMDIR_REC_IMAGE;
        d->n_other += r->type == DICOMDIR_REC_OTHER;
        if (!r->file_id[0])
            continue;
        dicomdir_file *f = &d->files[d->n_files++];
        snprintf(f->file_id, sizeof f->file_id, "%s", r->file_id);
        snprintf(f->sop_uid, sizeof f->sop_uid, "%s", r->sop_uid);
        resolve(dir[0] ? dir : "/", root_real, f);
        d->n_missing += f->state == DICOMDIR_FILE_MISSING;
        d->n_outside += f->state == DICOMDIR_FILE_OUTSIDE;
    }
    free(recs);
    return C2_OK;
}

/* The DICOMDIR at path with its records from records (in this process or in a worker). */
static int read_with(int (*records)(const char *, dicomdir_record **, int *, c2_err *), const char *path,
                     dicomdir_info *d, c2_err *e)
{
    memset(d, 0, sizeof *d);
    dicomdir_record *recs = NULL;
    int n = 0;
    int rc = records(path, &recs, &n, e);
    return rc ? rc : dicomdir_from_records(path, recs, n, d, e);
}

int dicomdir_read(const char *path, dicomdir_info *d, c2_err *e)
{
    return read_with(dicomdir_records, path, d, e);
}

int dicomdir_read_isolated(const char *path, dicomdir_info *d, c2_err *e)
{
    return read_with(dicomdir_records_isolated, path, d, e);
}

void dicomdir_free(dicomdir_info *d)
{
    if (!d)
        return;
    free(d->files);
    memset(d, 0, sizeof *d);
}
