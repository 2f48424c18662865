/* seg_source: the geometry of the images a SEG refers to (io/seg.h), built on the one
 * DICOM series reader (io/dicom.h): dicom_read_meta for each file, dicom_series_group
 * for grouping and sorting along the slice normal. Metadata only; no pixel is decoded. */
#include "io/dicom.h"
#include "io/seg.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_paths(char **paths, int n)
{
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

/* The DICOM files directly in folder `dir` (hidden files and DICOMDIR skipped), sorted by
 * name -> *paths [*n], malloc'd. */
static int list_dicom_files(const char *dir, char ***paths, int *n, c2_err *e)
{
    *paths = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return c2_fail(e, C2_EIO, "%s: cannot list the folder", dir);
    size_t cap = 0;
    int rc = C2_OK;
    struct dirent *de;
    while (rc == C2_OK && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "DICOMDIR") == 0)
            continue;
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= (int)sizeof p)
            continue;
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode) || !dicom_probe(p))
            continue;
        if (*n >= c2_limits_get()->max_dim) {
            rc = c2_fail(e, C2_ELIMIT, "%s: more than %lld DICOM files exceed the slice limit", dir,
                         (long long)c2_limits_get()->max_dim);
            break;
        }
        if (c2_grow(paths, sizeof **paths, (size_t)*n + 1, &cap)) {
            rc = c2_fail(e, C2_ENOMEM, "%s: out of memory listing the folder", dir);
            break;
        }
        if (!((*paths)[*n] = strdup(p)))
            rc = c2_fail(e, C2_ENOMEM, "%s: out of memory listing the folder", dir);
        else
            (*n)++;
    }
    closedir(d);
    if (rc == C2_OK && *n == 0)
        rc = c2_fail(e, C2_ENOTFOUND, "%s: no DICOM files in the folder", dir);
    if (rc) {
        free_paths(*paths, *n);
        *paths = NULL;
        *n = 0;
        return rc;
    }
    qsort(*paths, (size_t)*n, sizeof(char *), compare_paths);
    return C2_OK;
}

/* seg_source from the one sorted series s of objs. */
static int source_fill(const dicom_series *s, const dicom_object *objs, int n_objs, seg_source *src, c2_err *e)
{
    const dicom_object *o0 = &objs[s->slices[0].object];
    src->rows = s->rows;
    src->cols = s->cols;
    src->projection = !o0->frame_of_reference_uid[0] || !s->has_positions;
    if (src->projection && s->n_slices != 1)
        return c2_fail(e, C2_EUNSUPPORTED,
                       "%s: %d frames without a frame of reference or plane positions: cannot order them", o0->path,
                       s->n_slices);
    if (!src->projection && s->n_duplicates > 0)
        return c2_fail(e, C2_EINVAL, "%s: %d slices share a position with their neighbour along the normal", o0->path,
                       s->n_duplicates);
    /* files: the objects this series uses, in index order; file_of[i] = its index or -1 */
    int *file_of = malloc(sizeof(int) * (size_t)n_objs);
    src->slices = calloc((size_t)s->n_slices, sizeof *src->slices);
    src->files = calloc((size_t)n_objs, sizeof(char *));
    if (!file_of || !src->slices || !src->files) {
        free(file_of);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", o0->path);
    }
    for (int i = 0; i < n_objs; i++)
        file_of[i] = -1;
    for (int k = 0; k < s->n_slices; k++)
        file_of[s->slices[k].object] = 0;
    for (int i = 0; i < n_objs; i++) {
        if (file_of[i] < 0)
            continue;
        if (!(src->files[src->n_files] = strdup(objs[i].path))) {
            free(file_of);
            return c2_fail(e, C2_ENOMEM, "%s: out of memory", o0->path);
        }
        file_of[i] = src->n_files++;
    }
    src->n_slices = s->n_slices;
    src->multiframe = src->n_files == 1 && o0->frames > 1;
    for (int k = 0; k < s->n_slices; k++) {
        const dicom_slice *in = &s->slices[k];
        const dicom_object *o = &objs[in->object];
        seg_slice *out = &src->slices[k];
        out->file = file_of[in->object];
        out->frame = o->frames > 1 ? in->frame + 1 : 0;
        snprintf(out->sop_class, sizeof out->sop_class, "%s", o->sop_class_uid);
        snprintf(out->sop_instance, sizeof out->sop_instance, "%s", o->sop_instance_uid);
        memcpy(out->ipp, in->position, sizeof out->ipp);
        out->has_ipp = o->frame[in->frame].has_position;
        out->thickness = o->frame[in->frame].thickness;
    }
    free(file_of);
    memcpy(src->iop, s->orientation, sizeof src->iop);
    src->has_iop = s->has_orientation;
    memcpy(src->spacing, s->pixel_spacing, sizeof src->spacing);
    src->has_spacing = s->has_pixel_spacing && !s->spacing_is_imager; /* PixelSpacing only, not at the detector */
    src->thickness = src->slices[0].thickness;
    snprintf(src->modality, sizeof src->modality, "%s", s->modality);
    snprintf(src->patient_orientation, sizeof src->patient_orientation, "%.32s", o0->patient_orientation);
    snprintf(src->series_uid, sizeof src->series_uid, "%s", s->series_uid);
    snprintf(src->for_uid, sizeof src->for_uid, "%s", s->frame_of_reference_uid);
    return C2_OK;
}

int seg_source_from_series(const dicom_series *s, const dicom_object *objs, int n_objs, seg_source *src, c2_err *e)
{
    memset(src, 0, sizeof *src);
    if (s->n_slices < 1)
        return c2_fail(e, C2_EINVAL, "series %s has no slice", s->series_uid);
    int rc = source_fill(s, objs, n_objs, src, e);
    if (rc)
        seg_source_free(src);
    return rc;
}

/* objs [n] read -> exactly one image series -> src. */
static int source_from_objects(const char *path, dicom_object *objs, int n, seg_source *src, c2_err *e)
{
    char (*why)[160] = calloc((size_t)n, sizeof *why);
    if (!why)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    dicom_series *series = NULL;
    int n_series = 0;
    int rc = dicom_series_group(objs, n, &series, &n_series, why, e);
    if (rc == C2_OK && n_series == 0 && n == 1 && objs[0].kind == DICOM_KIND_SEG)
        rc = c2_fail(e, C2_EUNSUPPORTED, "%s: is a segmentation, not a source image", path);
    else if (rc == C2_OK && n_series == 0 && n == 1 && objs[0].kind == DICOM_KIND_SR)
        rc = c2_fail(e, C2_EUNSUPPORTED, "%s: is a structured report, not a source image", path);
    else if (rc == C2_OK && n_series == 0)
        rc = c2_fail(e, C2_EUNSUPPORTED, "%s: no source image (%s)", path, why[0]);
    else if (rc == C2_OK && n_series > 1)
        rc = c2_fail(e, C2_EMISMATCH, "%s: holds more than one series or grid (%s %dx%d and %s %dx%d); pass one series",
                     path, series[0].series_uid, series[0].cols, series[0].rows, series[1].series_uid, series[1].cols,
                     series[1].rows);
    else if (rc == C2_OK && series[0].n_conflicts)
        rc = c2_fail(e, C2_EINVAL, "%s: series %s has %d files whose SOP Instance UID another file holds with different "
                     "content: which is the slice is unknown", path, series[0].series_uid, series[0].n_conflicts);
    else if (rc == C2_OK)
        rc = source_fill(&series[0], objs, n, src, e);
    /* image files left out of the reference (copies, conflicts, localizers) are said once */
    for (int i = 0; rc == C2_OK && i < n; i++)
        if (objs[i].kind == DICOM_KIND_IMAGE && why[i][0])
            c2_warn("%s: left out of the reference: %s", objs[i].path, why[i]);
    dicom_series_free(series, n_series);
    free(why);
    return rc;
}

/* Reads the metadata of paths [n] (taken over: freed here) and builds src from the one
 * image series they hold; `what` names the input in messages. With several paths, a
 * file that cannot be read (a partial copy, a broken file) is left out with a warning
 * and the readable ones are used; one unreadable path alone fails. */
static int source_from_paths(const char *what, char **paths, int n, seg_source *src, c2_err *e)
{
    dicom_object *objs = calloc((size_t)(n ? n : 1), sizeof *objs);
    int rc = objs ? C2_OK : c2_fail(e, C2_ENOMEM, "%s: out of memory for %d file descriptions", what, n);
    int n_read = 0; /* a failed read leaves nothing to free */
    for (int i = 0; rc == C2_OK && i < n; i++) {
        c2_err fe = {0};
        int r = dicom_read_meta(paths[i], &objs[n_read], &fe);
        if (r == C2_OK)
            n_read++;
        else if (n == 1 || r == C2_ENOMEM)
            rc = c2_fail(e, r, "%s", fe.msg);
        else
            c2_warn("%s (left out of the reference)", fe.msg);
    }
    if (rc == C2_OK && n_read == 0)
        rc = c2_fail(e, C2_EINVAL, "%s: none of its %d DICOM files is readable", what, n);
    if (rc == C2_OK)
        rc = source_from_objects(what, objs, n_read, src, e);
    for (int i = 0; i < n_read; i++)
        dicom_object_free(&objs[i]);
    free(objs);
    free_paths(paths, n);
    if (rc)
        seg_source_free(src);
    return rc;
}

int seg_source_load(const char *path, seg_source *src, c2_err *e)
{
    memset(src, 0, sizeof *src);
    char **paths = NULL;
    int n = 0, rc = C2_OK;
    if (is_dir(path)) {
        rc = list_dicom_files(path, &paths, &n, e);
    } else if (!(paths = malloc(sizeof(char *))) || !(paths[0] = strdup(path))) {
        free(paths);
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    } else {
        n = 1;
    }
    return rc ? rc : source_from_paths(path, paths, n, src, e);
}

int seg_source_load_files(const char *const *files, int n, seg_source *src, c2_err *e)
{
    memset(src, 0, sizeof *src);
    if (n < 1)
        return c2_fail(e, C2_EINVAL, "no source file given for the SEG");
    if (n > c2_limits_get()->max_dim)
        return c2_fail(e, C2_ELIMIT, "%s: %d source files exceed the slice limit %lld", files[0], n,
                       (long long)c2_limits_get()->max_dim);
    char **paths = calloc((size_t)n, sizeof *paths);
    if (!paths)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for %d file names", files[0], n);
    for (int i = 0; i < n; i++)
        if (!(paths[i] = strdup(files[i]))) {
            free_paths(paths, i);
            return c2_fail(e, C2_ENOMEM, "%s: out of memory for %d file names", files[0], n);
        }
    return source_from_paths(files[0], paths, n, src, e);
}

void seg_source_free(seg_source *src)
{
    if (!src)
        return;
    for (int i = 0; i < src->n_files && src->files; i++)
        free(src->files[i]);
    free(src->files);
    free(src->slices);
    memset(src, 0, sizeof *src);
}
