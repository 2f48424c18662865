/* pipeline/ingest/ingest_slice_captions: per-slice captions of DICOM series, the way
 * MosMedData+ ships its CT slices (a caption per slice, derived from that slice's lesion
 * zones). A DICOM slice's model text comes from
 *   1. --captions FILE, when it has a row for the slice, else
 *   2. a table named captions.csv in the slice file's folder or the folder above it (the
 *      sample generator's dicom/caseNN/captions.csv beside caseNN/CT/).
 * Rows are keyed by SOP Instance UID when the table has a SOPInstanceUID column, else by
 * the slice's file name (dicom-sr/captions.h). A matched slice gets caption = the row's
 * caption, text_convention = the tables' convention (image unless --caption-convention
 * patient); an SR linked to the same slice (ingest_sr.c) stays its report: text_raw = the
 * SR's text and text_source = "slice caption <table>; report SR <UID> <content path>" (predict
 * reads the case's report from there); without an SR text_raw is the caption and
 * text_source "slice caption <table>". Slices without a row keep the SR's text as today.
 * One beside table is open at a time (series are ingested one after another); a table whose
 * rows name no ingested slice, and a captions.csv met in the walk that no series used, get a
 * warning. Runs on the calling thread (the one writer), like ingest_sr_attach. */
#include "pipeline/ingest/ingest_parts.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLICE_TABLE_NAME "captions.csv"

struct slice_captions {
    char dir[4096];             /* folder of the last slice looked up */
    char path[4200];            /* the open beside table's path ("" none) */
    caption_table *table;       /* owned */
    char **met;                 /* captions.csv files the walk met */
    uint8_t *met_used;
    int n_met;
    size_t cap_met;
};

static struct slice_captions *state(ingest_ctx *c)
{
    if (!c->slice_caps)
        c->slice_caps = calloc(1, sizeof *c->slice_caps);
    return c->slice_caps;
}

int ingest_slice_table_met(ingest_ctx *c, const ingest_file *f)
{
    if (c2_strcasecmp_ascii(c2_basename(f->path), SLICE_TABLE_NAME) != 0)
        return 0;
    struct slice_captions *s = state(c);
    char *p = strdup(f->path);
    if (!s || !p || c2_grow(&s->met, sizeof *s->met, (size_t)s->n_met + 1, &s->cap_met) != C2_OK ||
        !(s->met_used = realloc(s->met_used, (size_t)s->n_met + 1))) {
        free(p);
        return 1;   /* no memory: consumed without the "not used" check */
    }
    s->met[s->n_met] = p;
    s->met_used[s->n_met++] = 0;
    return 1;
}

static void table_warn_unmatched(ingest_ctx *c, const char *path, const caption_table *t)
{
    int unmatched = caption_table_unmatched(t);
    if (unmatched && unmatched < t->n)
        ingest_warn(c, "%s: %d of %d rows name no ingested DICOM slice (not used)", path, unmatched, t->n);
    else if (unmatched)
        ingest_warn(c, "%s: per-slice caption table not used (none of its %d rows names an ingested DICOM slice)",
                    path, t->n);
}

static void beside_close(ingest_ctx *c, struct slice_captions *s)
{
    if (s->table) {
        table_warn_unmatched(c, s->path, s->table);
        caption_table_free(s->table);
    }
    s->table = NULL;
    s->path[0] = 0;
}

/* The captions.csv beside the slice file `file` (its folder, else the one above), or NULL. */
static caption_table *beside_table(ingest_ctx *c, const char *file, const char **path)
{
    struct slice_captions *s = state(c);
    if (!s)
        return NULL;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    *path = s->path;
    if (strcmp(dir, s->dir) == 0)
        return s->table;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    char cand[2][4200];
    snprintf(cand[0], sizeof cand[0], "%s/" SLICE_TABLE_NAME, dir);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    snprintf(cand[1], sizeof cand[1], "%s/" SLICE_TABLE_NAME, slash ? dir : strcmp(dir, ".") ? "." : "..");
    for (int i = 0; i < 2; i++) {
        if (access(cand[i], R_OK) != 0)
            continue;
        if (strcmp(cand[i], s->path) == 0)
            return s->table;
        beside_close(c, s);
        c2_err e = {0};
        if (caption_table_load(cand[i], NULL, &s->table, &e) != C2_OK) {
            ingest_error(c, "%s", e.msg);
            s->table = NULL;
        }
        snprintf(s->path, sizeof s->path, "%s", cand[i]);   /* a failed load is not retried */
        for (int k = 0; k < s->n_met; k++)
            s->met_used[k] |= strcmp(s->met[k], cand[i]) == 0;
        return s->table;
    }
    beside_close(c, s);
    return NULL;
}

static caption_row *row_of(caption_table *t, const cache_sample *m)
{
    if (!t)
        return NULL;
    return caption_table_find(t, t->keyed_by_uid ? (m->sop_uid ? m->sop_uid : "") : c2_basename(m->file));
}

void ingest_slice_caption_attach(ingest_ctx *c, cache_sample *m, char *source, size_t cap)
{
    const char *path = c->captions_path;
    caption_row *row = c->captions_path ? row_of(ingest_table_get(c, c->captions_path, ""), m) : NULL;
    if (!row)
        row = row_of(beside_table(c, m->file, &path), m);
    if (!row)
        return;
    int sr = m->text_source && strncmp(m->text_source, "SR ", 3) == 0 && m->text_raw;
    if (sr)
        snprintf(source, cap, "slice caption %s; report %s", c2_basename(path), m->text_source);
    else
        snprintf(source, cap, "slice caption %s", c2_basename(path));
    m->caption = row->caption;
    m->text_raw = sr ? m->text_raw : row->caption;
    m->text_source = source;
    m->text_convention = c->captions_patient ? "patient" : "image";
    c->n_slice_captioned++;
}

/* 1 when path is a table the 2D layouts or --captions loaded (the same file, by identity). */
static int loaded_elsewhere(const ingest_ctx *c, const char *path)
{
    struct stat a, b;
    if (stat(path, &a) != 0)
        return 0;
    for (int i = 0; i < c->n_tables; i++)
        if (c->tables[i].table && stat(c->tables[i].path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
            return 1;
    return 0;
}

void ingest_slice_captions_finish(ingest_ctx *c)
{
    struct slice_captions *s = c->slice_caps;
    if (c->captions_path && c->n_slice_captioned)
        for (int i = 0; i < c->n_tables; i++)
            if (c->tables[i].table && !c->tables[i].split[0] && strcmp(c->tables[i].path, c->captions_path) == 0)
                table_warn_unmatched(c, c->captions_path, c->tables[i].table);
    if (!s)
        return;
    beside_close(c, s);
    for (int k = 0; k < s->n_met; k++) {
        if (!s->met_used[k] && !loaded_elsewhere(c, s->met[k]))
            ingest_warn(c, "%s: per-slice caption table not used (no DICOM series in its folder or the one below)",
                        s->met[k]);
        free(s->met[k]);
    }
    free(s->met);
    free(s->met_used);
    free(s);
    c->slice_caps = NULL;
}
