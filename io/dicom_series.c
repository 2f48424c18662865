/* dicom_series: grouping DICOM image objects into series and sorting their slices.
 *
 * A series is one SeriesInstanceUID with one geometry (orientation, rows, cols): scanners
 * put localizers and reformats into the same series UID, so the UID alone is not enough.
 * Slices (one per frame of each object) are sorted along the slice normal n = row x column
 * cosines by location = ImagePositionPatient . n, which is independent of file names and
 * of InstanceNumber, both of which lie in practice. Objects without positions keep
 * InstanceNumber / frame order. Spacing is the median neighbour distance; gaps, duplicate
 * positions and gantry tilt are measured and reported, never silently fixed. */
#include "io/dicom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SKIP_CAP = 160 };
static const double DUPLICATE_MM = 0.01;   /* locations closer than this are one slice */
static const double ORIENTATION_EPS = 1e-4;

/* A slice with the keys it sorts by. */
typedef struct slice_key {
    dicom_slice s;
    int has_location;
    int instance;
} slice_key;

static int slice_key_compare(const void *pa, const void *pb)
{
    const slice_key *a = pa, *b = pb;
    if (a->has_location && b->has_location && a->s.location != b->s.location)
        return a->s.location < b->s.location ? -1 : 1;
    if (a->instance != b->instance)
        return a->instance < b->instance ? -1 : 1;
    if (a->s.object != b->s.object)
        return a->s.object < b->s.object ? -1 : 1;
    return a->s.frame < b->s.frame ? -1 : a->s.frame > b->s.frame;
}

static int compare_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : a > b;
}

static void cross3(const double *a, const double *b, double *out)
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

const char *dicom_object_skip_reason(const dicom_object *o)
{
    switch (o->kind) {
    case DICOM_KIND_SEG:
        return "a Segmentation object, not an image";
    case DICOM_KIND_SR:
        return "a Structured Report, not an image";
    case DICOM_KIND_OTHER:
        if (o->has_pixel_data)
            return "not an image object (RT or presentation state)";
        return o->private_pixel_tag ? "pixel data only in a private element: not decodable" : "no Pixel Data (not an image)";
    case DICOM_KIND_IMAGE:
        break;
    }
    if (o->is_localizer)
        return "a localizer / scout image (ImageType LOCALIZER or SCOUT)";
    if (o->rows < 1 || o->cols < 1 || !o->frame)
        return "no image dimensions";
    return NULL;
}

static int same_geometry(const dicom_series *s, const dicom_object *o)
{
    if (strcmp(s->series_uid, o->series_uid) != 0 || s->rows != o->rows || s->cols != o->cols ||
        s->has_orientation != o->has_orientation)
        return 0;
    for (int k = 0; s->has_orientation && k < 6; k++)
        if (fabs(s->orientation[k] - o->orientation[k]) > ORIENTATION_EPS)
            return 0;
    return 1;
}

static void series_init(dicom_series *s, const dicom_object *o)
{
    memset(s, 0, sizeof *s);
    memcpy(s->series_uid, o->series_uid, sizeof s->series_uid);
    memcpy(s->study_uid, o->study_uid, sizeof s->study_uid);
    memcpy(s->frame_of_reference_uid, o->frame_of_reference_uid, sizeof s->frame_of_reference_uid);
    memcpy(s->modality, o->modality, sizeof s->modality);
    memcpy(s->patient_id, o->patient_id, sizeof s->patient_id);
    s->rows = o->rows;
    s->cols = o->cols;
    s->has_orientation = o->has_orientation;
    memcpy(s->orientation, o->orientation, sizeof s->orientation);
    if (o->has_orientation) {
        cross3(o->orientation, o->orientation + 3, s->normal);
        double len = sqrt(s->normal[0] * s->normal[0] + s->normal[1] * s->normal[1] + s->normal[2] * s->normal[2]);
        for (int k = 0; k < 3; k++)
            s->normal[k] = len > 0 ? s->normal[k] / len : 0;
    }
    s->pixel_spacing[0] = o->pixel_spacing[0];
    s->pixel_spacing[1] = o->pixel_spacing[1];
    s->has_pixel_spacing = o->has_pixel_spacing;
    s->spacing_is_imager = o->spacing_is_imager;
    s->gantry_tilt = o->gantry_tilt;
    s->is_xray = o->is_xray;
}

/* Fills, sorts and measures one series from the objects assigned to it (owner[i] == id). */
static int series_build(dicom_series *s, int id, const dicom_object *objs, const int *owner, int n, c2_err *e)
{
    int64_t count = 0;
    for (int i = 0; i < n; i++)
        if (owner[i] == id)
            count += objs[i].frames;
    if (count > c2_limits_get()->max_dim)
        return c2_fail(e, C2_ELIMIT, "series %s has %lld slices, over the limit", s->series_uid, (long long)count);
    slice_key *keys = calloc((size_t)count, sizeof *keys);
    s->slices = calloc((size_t)count, sizeof *s->slices);
    if (!keys || !s->slices) {
        free(keys);
        return c2_fail(e, C2_ENOMEM, "series %s: out of memory for %lld slices", s->series_uid, (long long)count);
    }
    int all_positions = 1, k = 0;
    for (int i = 0; i < n; i++) {
        if (owner[i] != id)
            continue;
        for (int f = 0; f < objs[i].frames; f++, k++) {
            const dicom_frame *fr = &objs[i].frame[f];
            slice_key *q = &keys[k];
            q->s.object = i;
            q->s.frame = f;
            memcpy(q->s.position, fr->position, sizeof q->s.position);
            q->s.location = fr->position[0] * s->normal[0] + fr->position[1] * s->normal[1] + fr->position[2] * s->normal[2];
            q->instance = objs[i].instance_number;
            all_positions &= fr->has_position;
        }
    }
    s->has_positions = all_positions && s->has_orientation;
    for (int j = 0; j < k; j++) {
        double t = objs[keys[j].s.object].frame[keys[j].s.frame].thickness;
        if (j == 0 || t < s->thickness_min)
            s->thickness_min = t;
        if (j == 0 || t > s->thickness_max)
            s->thickness_max = t;
    }
    for (int j = 0; j < k; j++)
        keys[j].has_location = s->has_positions;
    qsort(keys, (size_t)k, sizeof *keys, slice_key_compare);
    for (int j = 0; j < k; j++)
        s->slices[j] = keys[j].s;
    s->n_slices = k;
    free(keys);
    return C2_OK;
}

/* Spacing, gaps, duplicates and tilt of a sorted series with positions. */
static int series_measure(dicom_series *s)
{
    if (!s->has_positions || s->n_slices < 2)
        return C2_OK;
    double *d = malloc(sizeof(double) * (size_t)(s->n_slices - 1));
    if (!d)
        return C2_ENOMEM;
    int nd = 0;
    for (int j = 1; j < s->n_slices; j++) {
        double step = s->slices[j].location - s->slices[j - 1].location;
        if (step <= DUPLICATE_MM)
            s->n_duplicates++;
        else
            d[nd++] = step;
        if (step > s->max_gap)
            s->max_gap = step;
    }
    if (nd > 0) {
        qsort(d, (size_t)nd, sizeof *d, compare_double);
        s->slice_spacing = nd % 2 ? d[nd / 2] : 0.5 * (d[nd / 2 - 1] + d[nd / 2]);
        s->has_gaps = s->max_gap > 1.5 * s->slice_spacing;
        s->step_min = d[0];
        s->step_max = d[nd - 1];
        for (int j = 0; j < nd; j++)
            if (j == 0 || d[j] - d[j - 1] > DUPLICATE_MM) {
                if (s->n_steps < (int)(sizeof s->steps / sizeof *s->steps))
                    s->steps[s->n_steps] = d[j];
                s->n_steps++;
            }
    }
    free(d);
    const double *a = s->slices[0].position, *b = s->slices[s->n_slices - 1].position;
    double v[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    double len = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (len > DUPLICATE_MM) {
        double c = fabs(v[0] * s->normal[0] + v[1] * s->normal[1] + v[2] * s->normal[2]) / len;
        double angle = acos(c > 1 ? 1 : c) * 180.0 / M_PI;
        if (angle > fabs(s->gantry_tilt))
            s->gantry_tilt = angle;
    }
    s->is_tilted = fabs(s->gantry_tilt) > 0.01;
    return C2_OK;
}

static void series_warn(const dicom_series *s)
{
    if (s->n_duplicates)
        c2_warn("series %s: %d slices share a position with their neighbour", s->series_uid, s->n_duplicates);
    if (s->has_gaps)
        c2_warn("series %s: gap of %.3g mm between slices (spacing %.3g mm)", s->series_uid, s->max_gap, s->slice_spacing);
    if (s->is_tilted)
        c2_warn("series %s: gantry tilt %.3g degrees (slices are sheared, not resampled)", s->series_uid, s->gantry_tilt);
    if (s->n_conflicts)
        c2_warn("series %s: %d files left out: their SOP Instance UID is held by files of different content",
                s->series_uid, s->n_conflicts);
}

int dicom_series_geometry_text(const dicom_series *s, char *buf, size_t cap)
{
    size_t o = 0;
    int w;
#define PUT(...)                                                                                                   \
    do {                                                                                                           \
        w = snprintf(buf + o, o < cap ? cap - o : 0, __VA_ARGS__);                                                 \
        o += w > 0 ? (size_t)w : 0;                                                                                \
    } while (0)
    if (cap)
        buf[0] = 0;
    PUT("%d slices", s->n_slices);
    if (s->has_positions && s->n_steps > 0) {
        PUT("; spacing along the normal min %.4g / median %.4g / max %.4g mm", s->step_min, s->slice_spacing,
            s->step_max);
        if (s->n_steps > 1) {
            PUT(", steps");
            for (int j = 0; j < s->n_steps && j < (int)(sizeof s->steps / sizeof *s->steps); j++)
                PUT("%s %.4g", j ? "," : "", s->steps[j]);
            if (s->n_steps > (int)(sizeof s->steps / sizeof *s->steps))
                PUT(" and %d more", s->n_steps - (int)(sizeof s->steps / sizeof *s->steps));
            PUT(" mm");
        }
    } else if (s->n_slices > 1) {
        PUT("; no positions (file / frame order)");
    }
    PUT("; tilt %.3g degrees%s", s->gantry_tilt, s->is_tilted ? " (kept sheared, not resampled)" : "");
    if (s->thickness_max > 0) {
        if (s->thickness_max - s->thickness_min > 1e-3)
            PUT("; slice thickness %.4g to %.4g mm", s->thickness_min, s->thickness_max);
        else
            PUT("; slice thickness %.4g mm", s->thickness_max);
    }
    if (s->n_duplicates)
        PUT("; %d duplicate positions", s->n_duplicates);
    if (s->n_conflicts)
        PUT("; %d files left out for SOP Instance UID conflicts", s->n_conflicts);
#undef PUT
    return o < cap ? C2_OK : C2_ELIMIT;
}

void dicom_series_free(dicom_series *s, int n)
{
    if (!s)
        return;
    for (int i = 0; i < n; i++)
        free(s[i].slices);
    free(s);
}

int dicom_series_group(dicom_object *objs, int n, dicom_series **out, int *n_out, char (*skip_reasons)[160], c2_err *e)
{
    *out = NULL;
    *n_out = 0;
    if (n <= 0)
        return C2_OK;
    int *owner = malloc(sizeof(int) * (size_t)n);
    dicom_series *series = calloc((size_t)n, sizeof *series); /* at most one series per object */
    char(*copies)[SKIP_CAP] = calloc((size_t)n, sizeof *copies);
    if (!owner || !series || !copies) {
        free(owner);
        free(series);
        free(copies);
        return c2_fail(e, C2_ENOMEM, "out of memory grouping %d DICOM objects", n);
    }
    int n_conflicts = 0;
    int rc = dicom_instances_unique(objs, n, copies, &n_conflicts, e);
    if (rc) {
        free(owner);
        free(series);
        free(copies);
        return rc;
    }
    int ns = 0;
    for (int i = 0; i < n; i++) {
        const char *why = dicom_object_skip_reason(&objs[i]);
        if (!why && copies[i][0])
            why = copies[i];
        if (skip_reasons)
            snprintf(skip_reasons[i], SKIP_CAP, "%s", why ? why : "");
        owner[i] = -1;
        if (why)
            continue;
        int j = 0;
        while (j < ns && !same_geometry(&series[j], &objs[i]))
            j++;
        if (j == ns)
            series_init(&series[ns++], &objs[i]);
        owner[i] = j;
    }
    /* conflicts flag the series their files would have joined */
    for (int i = 0; i < n && n_conflicts; i++) {
        if (!copies[i][0] || strncmp(copies[i], "SOP Instance UID", 16) != 0 || dicom_object_skip_reason(&objs[i]))
            continue;
        int j = 0;
        while (j < ns && !same_geometry(&series[j], &objs[i]))
            j++;
        if (j < ns)    /* else every file of the series was in conflict: each has its reason */
            series[j].n_conflicts++;
    }
    free(copies);
    for (int j = 0; j < ns && rc == C2_OK; j++) {
        rc = series_build(&series[j], j, objs, owner, n, e);
        if (rc == C2_OK && series_measure(&series[j]) != C2_OK)
            rc = c2_fail(e, C2_ENOMEM, "series %s: out of memory measuring spacing", series[j].series_uid);
        if (rc == C2_OK)
            series_warn(&series[j]);
    }
    free(owner);
    if (rc) {
        dicom_series_free(series, ns);
        return rc;
    }
    *out = series;
    *n_out = ns;
    return C2_OK;
}

int dicom_series_read(const dicom_series *s, const dicom_object *objs, float *out, c2_err *e)
{
    size_t plane = (size_t)s->rows * (size_t)s->cols;
    int j = 0;
    while (j < s->n_slices) {
        /* one decoder call per run of consecutive frames of the same object */
        int run = 1;
        while (j + run < s->n_slices && s->slices[j + run].object == s->slices[j].object &&
               s->slices[j + run].frame == s->slices[j].frame + run)
            run++;
        const dicom_object *o = &objs[s->slices[j].object];
        if (o->rows != s->rows || o->cols != s->cols)
            return c2_fail(e, C2_EMISMATCH, "%s: %dx%d does not match its series (%dx%d)", o->path, o->cols, o->rows,
                           s->cols, s->rows);
        int rc = dicom_read_frames(o, s->slices[j].frame, run, out + (size_t)j * plane, e);
        if (rc)
            return rc;
        j += run;
    }
    return C2_OK;
}

/* 1 when modality m is in the comma-separated list (ASCII case-insensitive). */
static int modality_listed(const char *list, const char *m)
{
    const char *p = list;
    while (*p) {
        const char *q = strchr(p, ',');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        char item[DICOM_SHORT_CAP];
        while (n > 0 && *p == ' ')
            p++, n--;
        while (n > 0 && p[n - 1] == ' ')
            n--;
        snprintf(item, sizeof item, "%.*s", (int)(n < sizeof item ? n : sizeof item - 1), p);
        if (c2_strcasecmp_ascii(item, m) == 0 || c2_strcasecmp_ascii(item, "all") == 0)
            return 1;
        if (!q)
            break;
        p = q + 1;
    }
    return 0;
}

const char *dicom_series_policy(const dicom_series *s, const dicom_object *objs, const char *admit, char *why,
                                size_t cap)
{
    const char *list = admit && *admit ? admit : "CT,CR,DX";
    if (!modality_listed(list, s->modality)) {
        snprintf(why, cap, "modality %s is not admitted (%s%s)", s->modality[0] ? s->modality : "(none)", list,
                 admit && *admit ? "" : " by default; --modality admits others");
        return why;
    }
    for (int j = 0; j < s->n_slices; j++) {
        const dicom_object *o = &objs[s->slices[j].object];
        if (o->frames < 2 || s->slices[j].frame != 0)
            continue;
        int distinct = s->has_positions;
        /* frames of one object sharing a location along the normal */
        for (int a = 0; distinct && a < s->n_slices; a++)
            for (int b = a + 1; distinct && b < s->n_slices; b++)
                if (s->slices[a].object == s->slices[j].object && s->slices[b].object == s->slices[j].object &&
                    fabs(s->slices[a].location - s->slices[b].location) <= DUPLICATE_MM)
                    distinct = 0;
        if (!distinct) {
            snprintf(why, cap, "%d frames of one object without distinct positions along the normal (time / cine "
                     "frames): never stacked as slices", o->frames);
            return why;
        }
    }
    return NULL;
}
