/* dicom_instances: one image per SOP Instance UID (io/dicom.h). Real folders hold exact
 * copies of a slice under another name, half-copied files cut inside Pixel Data, and now
 * and then two different images under one UID. Files of one UID are compared byte by
 * byte: an exact copy is left out (the first path is kept), a file that is a prefix of
 * another is a partial copy and left out (the complete one is kept), the same image with
 * another header (equal geometry and decoded pixels) is left out as well, and different
 * images leave every file of that UID out: which one is the slice cannot be known. */
#include "io/dicom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SAME = 0, A_PREFIX = 1, B_PREFIX = 2, DIFFER = 3 };

/* Byte comparison of two files: SAME, A_PREFIX (a is b cut short), B_PREFIX, DIFFER;
 * -1 when one cannot be read. */
static int compare_files(const char *a, const char *b, long *len_a, long *len_b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int r = -1;
    *len_a = *len_b = 0;
    enum { CHUNK = 65536 };
    unsigned char *ba = malloc(CHUNK), *bb = malloc(CHUNK);
    if (fa && fb && ba && bb) {
        r = SAME;
        for (;;) {
            size_t na = fread(ba, 1, CHUNK, fa), nb = fread(bb, 1, CHUNK, fb);
            size_t m = na < nb ? na : nb;
            if (memcmp(ba, bb, m) != 0) {
                r = DIFFER;
                break;
            }
            *len_a += (long)na;
            *len_b += (long)nb;
            if (na != nb) {
                /* one ended: the other must be at its end too, else it is longer */
                r = na < nb ? A_PREFIX : B_PREFIX;
                FILE *rest = na < nb ? fb : fa;
                long *len = na < nb ? len_b : len_a;
                size_t k;
                while ((k = fread(ba, 1, CHUNK, rest)) > 0)
                    *len += (long)k;
                break;
            }
            if (na == 0)
                break;
        }
        if (ferror(fa) || ferror(fb))
            r = -1;
    }
    free(ba);
    free(bb);
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return r;
}

/* 1 when a and b are the same image: geometry, pixel layout, per-frame positions and
 * every decoded frame equal (header attributes may differ: a re-export with another
 * patient sequence or transfer syntax). */
static int same_image(const dicom_object *a, const dicom_object *b)
{
    if (a->rows != b->rows || a->cols != b->cols || a->frames != b->frames ||
        a->has_orientation != b->has_orientation || memcmp(a->orientation, b->orientation, sizeof a->orientation) ||
        strcmp(a->series_uid, b->series_uid) != 0)
        return 0;
    for (int f = 0; f < a->frames; f++)
        if (a->frame[f].has_position != b->frame[f].has_position ||
            memcmp(a->frame[f].position, b->frame[f].position, sizeof a->frame[f].position))
            return 0;
    size_t plane = (size_t)a->rows * (size_t)a->cols;
    float *pa = malloc(plane * sizeof *pa), *pb = malloc(plane * sizeof *pb);
    int same = pa && pb;
    for (int f = 0; same && f < a->frames; f++) {
        c2_err e = {0};
        same = dicom_read_frames(a, f, 1, pa, &e) == C2_OK && dicom_read_frames(b, f, 1, pb, &e) == C2_OK;
        for (size_t i = 0; same && i < plane; i++)
            same = pa[i] == pb[i] || (pa[i] != pa[i] && pb[i] != pb[i]);   /* NaN padding on both */
    }
    free(pa);
    free(pb);
    return same;
}

typedef struct uid_key {
    const dicom_object *o;
    int i;
} uid_key;

static int by_uid_then_path(const void *pa, const void *pb)
{
    const dicom_object *a = ((const uid_key *)pa)->o, *b = ((const uid_key *)pb)->o;
    int c = strcmp(a->sop_instance_uid, b->sop_instance_uid);
    return c ? c : strcmp(a->path, b->path);
}

int dicom_instances_unique(const dicom_object *objs, int n, char (*left_out)[160], int *n_conflicts, c2_err *e)
{
    *n_conflicts = 0;
    for (int i = 0; i < n; i++)
        left_out[i][0] = 0;
    uid_key *keys = malloc(sizeof(uid_key) * (size_t)(n > 0 ? n : 1));
    int *idx = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!keys || !idx) {
        free(keys);
        free(idx);
        return c2_fail(e, C2_ENOMEM, "out of memory comparing %d DICOM instances", n);
    }
    int m = 0;
    for (int i = 0; i < n; i++)
        if (objs[i].kind == DICOM_KIND_IMAGE && objs[i].sop_instance_uid[0])
            keys[m++] = (uid_key){&objs[i], i};
    qsort(keys, (size_t)m, sizeof *keys, by_uid_then_path);
    for (int j = 0; j < m; j++)
        idx[j] = keys[j].i;
    free(keys);
    for (int a = 0; a < m;) {
        int b = a + 1;
        while (b < m && strcmp(objs[idx[a]].sop_instance_uid, objs[idx[b]].sop_instance_uid) == 0)
            b++;
        if (b - a > 1) {
            /* keep = the longest complete file; the others must be copies or prefixes of it */
            int keep = idx[a], conflict = 0;
            for (int j = a + 1; j < b && !conflict; j++) {
                long la, lb;
                int r = compare_files(objs[keep].path, objs[idx[j]].path, &la, &lb);
                if (r == A_PREFIX)
                    keep = idx[j];
                else if (r != SAME && r != B_PREFIX && !same_image(&objs[keep], &objs[idx[j]]))
                    conflict = 1;
            }
            for (int j = a; j < b && !conflict; j++) {
                int i = idx[j];
                long la, lb;
                if (i == keep)
                    continue;
                int r = compare_files(objs[keep].path, objs[i].path, &la, &lb);
                if (r == SAME)
                    snprintf(left_out[i], 160, "exact copy of %.100s (same SOP Instance UID): one kept",
                             c2_basename(objs[keep].path));
                else if (r == B_PREFIX)
                    snprintf(left_out[i], 160, "partial copy of %.80s (%ld of %ld bytes, same SOP Instance UID)",
                             c2_basename(objs[keep].path), lb, la);
                else if (r == DIFFER && same_image(&objs[keep], &objs[i]))
                    snprintf(left_out[i], 160, "same image as %.80s (same SOP Instance UID and pixels, other header): "
                             "one kept", c2_basename(objs[keep].path));
                else
                    conflict = 1;
            }
            if (conflict) {
                for (int j = a; j < b; j++)
                    snprintf(left_out[idx[j]], 160,
                             "SOP Instance UID also in %.60s with different content: left out, series flagged",
                             c2_basename(objs[idx[j == a ? a + 1 : a]].path));
                (*n_conflicts)++;
            }
        }
        a = b;
    }
    free(idx);
    return C2_OK;
}
