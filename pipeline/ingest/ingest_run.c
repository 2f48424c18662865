/* pipeline/ingest_run: the ingest driver (ingest.h). Opens the report and the cache
 * writer, walks the inputs, runs the readers in a fixed order (slice datasets, NIfTI,
 * DICOM with its SRs) and closes both; keeps each file's state and reason and the
 * reason counts in the context, and sends every line and progress step to the sink. */
#include "base/pool.h"
#include "pipeline/ingest/ingest_parts.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void ingest_ctx_init(ingest_ctx *c)
{
    memset(c, 0, sizeof *c);
    preprocess_params_default(&c->pp);
    c->intensity = INTENSITY_HU;
    c->max_depth = c2_limits_get()->max_depth;
}

void ingest_ctx_free(ingest_ctx *c)
{
    for (int i = 0; i < c->n_tables; i++)
        caption_table_free(c->tables[i].table);
    c->n_tables = 0;
    for (int i = 0; i < c->n_files; i++) {
        free(c->files[i].path);
        free(c->files[i].reason);
    }
    free(c->files);
    c->files = NULL;
    c->n_files = c->cap_files = 0;
}

static void sink_line(const ingest_ctx *c, int error, const char *line)
{
    const ingest_sink *s = c->sink;
    void (*fn)(void *, const char *) = s ? (error ? s->error : s->warn) : NULL;
    if (fn)
        fn(s->user, line);
    else
        c2_warn("%s", line);
}

void ingest_error(ingest_ctx *c, const char *fmt, ...)
{
    char line[4600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sink_line(c, 1, line);
}

void ingest_warn(ingest_ctx *c, const char *fmt, ...)
{
    if (c->abort_rc)
        return;   /* the run is stopping and keeps nothing: no warning about it */
    char line[4600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sink_line(c, 0, line);
}

/* Counts a reason under its key: the text up to the first '(', trailing blanks cut. */
static void reason_count_add(ingest_ctx *c, const char *reason)
{
    char key[160];
    snprintf(key, sizeof key, "%s", reason);
    char *cut = strchr(key, '(');
    if (cut)
        *cut = 0;
    size_t len = strlen(key);
    while (len && key[len - 1] == ' ')
        key[--len] = 0;
    for (int i = 0; i < c->n_reasons; i++)
        if (strcmp(c->reasons[i].reason, key) == 0) {
            c->reasons[i].n++;
            return;
        }
    int cap = (int)(sizeof c->reasons / sizeof c->reasons[0]);
    if (c->n_reasons < cap) {
        snprintf(c->reasons[c->n_reasons].reason, sizeof c->reasons[0].reason, "%s", key);
        c->reasons[c->n_reasons++].n = 1;
    }
}

void ingest_done(ingest_ctx *c, ingest_file *f, int state)
{
    f->state = state;
    if (c->started && c->sink && c->sink->progress_step)   /* files settled in the walk (a DICOMDIR) come first */
        c->sink->progress_step(c->sink->user, 1);
}

void ingest_report(ingest_ctx *c, ingest_file *f, const char *reason)
{
    if (c->abort_rc) {   /* the run is stopping and keeps nothing: its own error is the one line */
        ingest_done(c, f, FILE_FAILED);
        return;
    }
    size_t n = strlen(f->path);
    const char *why = strncmp(reason, f->path, n) == 0 && reason[n] == ':' ? reason + n + 2 : reason;
    ingest_error(c, "%s: %s", f->path, why);
    if (c->report) {   /* one row, two cells, whatever bytes the file's name or value holds */
        c2_fput_printable(f->path, c->report);
        fputc('\t', c->report);
        c2_fput_printable(why, c->report);
        fputc('\n', c->report);
    }
    free(f->reason);
    f->reason = strdup(why); /* NULL on no memory: the report row still names it */
    reason_count_add(c, why);
    c->n_failed++;
    ingest_done(c, f, FILE_FAILED);
}

static void sample_count(ingest_ctx *c, const cache_sample *meta)
{
    c->per_split[meta->split >= 0 && meta->split <= 3 ? meta->split : 0]++;
    c->n_captioned += meta->caption && meta->caption[0];
    c->n_samples++;
}

/* A sample the writer took is counted; a write that failed (a full disk: the cache would be
 * partial whatever follows) stops the whole run with that one error, and every later add
 * returns it without writing. */
static int added(ingest_ctx *c, const cache_sample *meta, int rc, c2_err *e)
{
    if (rc == C2_OK)
        sample_count(c, meta);
    else if (!c->abort_rc) {
        c->abort_rc = rc;
        c->abort_e = *e;
        __atomic_store_n(&c->stopping, 1, __ATOMIC_RELAXED);
    }
    return rc;
}

int ingest_add_chunk(ingest_ctx *c, const cache_sample *meta, const cache_chunk *chunk, c2_err *e)
{
    if (c->abort_rc) {   /* stopped: nothing more is written */
        *e = c->abort_e;
        return c->abort_rc;
    }
    return added(c, meta, cache_writer_add_chunk(c->writer, meta, chunk, e), e);
}

/* Per-slice buffers (a 512x512 slice's decode, transfer and float copies are ~1 MB each)
 * are above glibc's default mmap and trim thresholds: each slice would map, fault in,
 * zero and give back its pages (half the CPU time of a CT series in the kernel). Freed
 * memory is kept for the next slice instead; set before the pool's threads and the sandbox
 * workers (forked from this process) exist, so both inherit it. */
static void keep_freed_memory(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

/* 1 when a walked file may be DICOM: one whose name is not that of a slice-dataset image,
 * a NIfTI file or a caption table (DICOM is found by content, so any other name may be). */
static int may_hold_dicom(const ingest_ctx *c)
{
    static const char *const not_dicom[] = {".png", ".jpg", ".jpeg", ".nii", ".nii.gz", ".hdr", ".img",
                                            ".json", ".csv", ".xlsx", NULL};
    for (int i = 0; i < c->n_files; i++) {
        int known = 0;
        for (int k = 0; not_dicom[k] && !known; k++)
            known = c2_ends_with_ci(c->files[i].path, not_dicom[k]);
        if (!known && c->files[i].state == FILE_PENDING)
            return 1;
    }
    return 0;
}

/* Marks cache_path's folder and name as this run's own outputs for the walk. */
static void own_outputs(ingest_ctx *c, const char *cache_path)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", cache_path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';   /* "/x.h5": the root */
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    struct stat st;
    if (stat(dir, &st) == 0) {
        c->own.dev = st.st_dev;
        c->own.ino = st.st_ino;
        c->own.base = c2_basename(cache_path);
    }
}

int ingest_run(ingest_ctx *c, const char *const *inputs, int n_inputs, const char *cache_path,
               const char *params_json, const cache_encoder *enc, const ingest_sink *sink, c2_err *e)
{
    c->sink = sink;
    char report_path[4200];
    snprintf(report_path, sizeof report_path, "%s.report.tsv", cache_path);
    c2_atomic report;
    int rc = c2_atomic_open(&report, report_path, e);
    if (rc != C2_OK)
        return rc;
    c->report = report.f;
    fprintf(c->report, "file\treason\n");
    own_outputs(c, cache_path);
    for (int i = 0; i < n_inputs && rc == C2_OK; i++)
        rc = ingest_walk(c, inputs[i], e);
    if (rc == C2_OK)
        rc = cache_writer_open(&c->writer, cache_path, c->pp.size, params_json, e);
    if (rc != C2_OK) {
        c2_atomic_abort(&report);
        c->report = NULL;
        return rc;
    }
    int jobs = c->jobs > 0 ? c->jobs : c2_usable_cpus();
    if (c->jobs <= 0 && c->files_per_job > 0) {
        int most = c->n_files / c->files_per_job;
        jobs = most < 1 ? 1 : most < jobs ? most : jobs;
    }
    c->jobs = jobs;
    keep_freed_memory();
    /* DCMTK's data dictionary (thousands of lines parsed) is loaded once, here, so that the
     * sandbox workers the pool forks inherit it instead of each loading its own. */
    if (may_hold_dicom(c))
        dicom_dictionary_preload();
    if ((rc = ingest_plan_jobs(c, e)) != C2_OK || (rc = c2_pool_create(&c->pool, c->jobs, e)) != C2_OK) {
        cache_writer_abort(c->writer);
        c->writer = NULL;
        c2_atomic_abort(&report);
        c->report = NULL;
        return rc;
    }
    c->started = 1;
    if (sink && sink->progress_start)
        sink->progress_start(sink->user, c->n_files);
    ingest_slices(c);
    if (!c->abort_rc)
        ingest_nifti(c);
    if (!c->abort_rc)
        ingest_dicom(c);
    c2_pool_free(c->pool);
    c->pool = NULL;
    if (sink && sink->progress_finish)
        sink->progress_finish(sink->user);
    if (c->abort_rc) {   /* the run was stopped (a plan that does not fit, a full disk): nothing is kept */
        cache_writer_abort(c->writer);
        *e = c->abort_e;
        rc = c->abort_rc;
    } else if (cache_writer_count(c->writer) == 0) {
        cache_writer_abort(c->writer);
        rc = c2_fail(e, C2_ENOTFOUND, "no image, volume or series was found in the inputs");
    } else {
        char *geometry = c->geometry ? c2_json_utf8(cJSON_PrintUnformatted(c->geometry)) : NULL;
        rc = geometry ? cache_writer_set_attr(c->writer, "series_geometry", geometry, e) : C2_OK;
        free(geometry);
        if (rc == C2_OK)
            rc = cache_writer_close(c->writer, enc, e);
        else
            cache_writer_abort(c->writer);
    }
    c->writer = NULL;
    c->report = NULL;
    if (rc != C2_OK && rc != C2_ENOTFOUND) {
        /* a write failed (a full disk): no partial output, the report goes too */
        c2_atomic_abort(&report);
        return rc;
    }
    c2_err re = {0};
    if (c2_atomic_commit(&report, &re) != C2_OK) {
        if (rc == C2_OK) {
            remove(cache_path);   /* a cache without its report is partial output too */
            *e = re;
            return C2_EIO;
        }
        ingest_error(c, "%s", re.msg);
    }
    return rc;
}
