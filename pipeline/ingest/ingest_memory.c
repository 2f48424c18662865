/* pipeline/ingest/ingest_memory: how many ingest jobs fit --max-memory (the planner of
 * pipeline/cli/memory.c), for c2seg ingest and c2seg predict. A job is counted as
 * INGEST_JOB_BYTES: what one job holds while it reads, decodes and resamples a DICOM slice or
 * a 2D image (its pixels at source size in a few forms, DCMTK's dataset) plus its sandbox
 * worker process. A NIfTI volume is read whole by its job, so a cohort of large volumes
 * needs more than this estimate (docs/exit-codes-and-limits.md). */
#include "pipeline/ingest/ingest.h"
#include "pipeline/pipeline.h"

static int64_t jobs_bytes(const void *user, int n)
{
    (void)user;
    return (int64_t)n * INGEST_JOB_BYTES;
}

int ingest_plan_jobs(int64_t limit, int fixed, ingest_ctx *c, c2_err *e)
{
    if (limit <= 0)
        return C2_OK;
    mem_plan p = {.limit = limit, .held = mem_resident_bytes(), .what_held = "the process", .piece = "ingest job"};
    int want = c->jobs > 0 ? c->jobs : c2_usable_cpus();
    int n = mem_plan_count(&p, want, jobs_bytes, NULL, e);
    if (!n)
        return C2_ELIMIT;
    if (n < want && fixed) {
        char lim[32];
        mem_format(lim, sizeof lim, limit);
        return c2_fail(e, C2_ELIMIT, "--jobs %d does not fit --max-memory %s (each job is counted as %d MiB): drop "
                       "--jobs (the planner then takes %d) or raise the limit", want, lim,
                       (int)(INGEST_JOB_BYTES >> 20), n);
    }
    if (n < want)
        c2_warn("--max-memory: %d ingest job%s instead of %d", n, n > 1 ? "s" : "", want);
    c->jobs = n;
    return C2_OK;
}
