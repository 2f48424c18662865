/* pipeline/ingest/ingest_memory: how many ingest jobs fit --max-memory (the planner of
 * pipeline/cli/memory.c), for c2seg ingest and c2seg predict, estimated from the inputs.
 * n jobs cost what the run adds beside them (RUN_BYTES: the cache writer's and the threads'
 * buffers; the metadata pass's kept planes), n sandbox workers (and, with threads, the
 * calling thread's own), each at what it may come to hold alone (below),
 * and n times the largest piece one job may hold (in its worker and in this process).
 * Planned twice (ingest.h):
 *   before the pool: a PNG or JPEG image's decode from its header (IHDR: width, height,
 *   colour type, depth; SOF: height, width, components), a DICOM file's metadata read (the
 *   file when it is read whole, a kept plane, DCMTK's dataset), a NIfTI volume from its
 *   header and its mask's (nifti_bytes: the volume's reading, held by the calling thread and
 *   its worker once whatever the jobs, since volumes are read one at a time; one plane per
 *   job); images and NIfTI files whose header is not read are counted as
 *   INGEST_UNKNOWN_FILE_BYTES;
 *   after the DICOM headers: one frame's decode (slices are decoded one frame at a time,
 *   multi-frame objects too), from rows x columns x samples x bytes, the transfer syntax
 *   and the file's size (read whole when it is one frame not much larger than its pixels).
 * An image pair, a NIfTI volume or a DICOM slice that does not fit the limit even in one job
 * alone (a large X-ray, a header claiming huge dimensions) is left out of the plan and reported by its
 * reader ("too large to decode under --max-memory"); the run is refused only when nothing
 * fits (the cheapest job is named).
 * The constants are measured (docs/exit-codes-and-limits.md, "Memory"); each estimate is
 * checked against the measured peaks by tests/io/test_max_memory.sh and, for NIfTI volumes,
 * tests/io/test_max_memory_nifti.sh. */
#include "base/pool.h"
#include "pipeline/ingest/ingest_parts.h"
#include "pipeline/pipeline.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* A sandbox worker is forked: it shares this process's pages, and each one that either
 * process writes afterwards becomes a page of the worker's own (the writer gets a copy). So
 * a worker is counted as this process's anonymous resident memory when it is forked
 * (mem_anonymous_bytes; file pages stay shared) plus WORKER_OWN_BYTES, its stack and socket
 * buffers (measured, smaps_rollup Private_*: idle workers of c2seg ingest 0.07-6.6 MB beside
 * 4.3-8 MB of their parent's RssAnon, growing as the parent writes its heap). What it
 * allocates to decode is the job's piece. */
#define WORKER_OWN_BYTES ((int64_t)2 << 20)
/* What this process adds while the readers run, beside the jobs' buffers: the HDF5 writer's
 * chunk cache and metadata, the threads' stacks and malloc arenas (measured: 4.6-8.6 MB
 * above the resident size at the plan, jobs 1 and 2, on the inputs of the test). */
#define RUN_BYTES ((int64_t)12 << 20)
/* DCMTK's objects for one file beside its values, and the decoder's heap that is not given
 * back between two calls (freed memory is kept: ingest_run.c keep_freed_memory). */
#define DCMTK_BYTES ((int64_t)4 << 20)

typedef struct job_cost {
    int64_t fixed;              /* once for the run */
    int64_t worker;             /* one sandbox worker when it starts */
    int64_t piece;              /* the largest piece one job holds */
} job_cost;

static int64_t jobs_bytes(const void *user, int n)
{
    const job_cost *k = user;
    /* with threads, the calling thread keeps a worker of its own (base/pool.h) */
    return k->fixed + n * (k->worker + k->piece) + (n > 1 ? k->worker : 0);
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* A PNG image decoded in a job, from its header; -1 when path is not a PNG. The worker
 * holds the gray plane (2 bytes a pixel), the decoded rows (up to 4 channels of 1 or 2 bytes,
 * all of them for an interlaced image) and the answer's copy (2); this process the copy it
 * receives (2), the float plane (4) and, for a mask, its bytes (1). */
static int64_t png_bytes(const char *path, int64_t wh[2])
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char h[26];
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(h, 1, sizeof h, f) : 0;
    if (f)
        fclose(f);
    if (got < sizeof h || memcmp(h, sig, 8) != 0 || memcmp(h + 12, "IHDR", 4) != 0)
        return -1;
    int64_t w = (int64_t)h[16] << 24 | h[17] << 16 | h[18] << 8 | h[19];
    int64_t ht = (int64_t)h[20] << 24 | h[21] << 16 | h[22] << 8 | h[23];
    c2_err ce;
    if (c2_check_dims(&ce, path, ht, w, 1, 8) != C2_OK)
        return 0; /* refused before decoding (io/image2d.c), reported as the file's reason */
    wh[0] = w;
    wh[1] = ht;
    int color = h[25], bytes = h[24] == 16 ? 2 : 1;
    int channels = color == 0 || color == 4 ? 2 : 4; /* gray (+ alpha or tRNS); RGB(A), palette (+ tRNS) */
    return w * ht * (2 + channels * bytes + 2 + 2 + 4 + 1);
}

/* A JPEG image decoded in a job, from its frame header (the SOF segment, found by skipping
 * the segments before it); -1 when path is not a JPEG or no SOF comes before the scan. The
 * worker holds libjpeg's coefficients (2 bytes a sample: a progressive image keeps them all),
 * a row, the gray plane (2) and the answer's copy (2); this process as for a PNG (2 + 4 + 1). */
static int64_t jpeg_bytes(const char *path, int64_t wh[2])
{
    FILE *f = fopen(path, "rb");
    int64_t out = -1;
    unsigned char h[8];
    if (!f || fread(h, 1, 2, f) != 2 || h[0] != 0xff || h[1] != 0xd8) {
        if (f)
            fclose(f);
        return -1;
    }
    for (int seg = 0; seg < 1024 && out < 0; seg++) {
        int m;
        do
            m = fgetc(f);
        while (m == 0xff);
        if (m == EOF || m == 0xd9 || m == 0xda || fread(h, 1, 2, f) != 2)
            break;   /* the end or the scan before a frame header */
        long len = (long)h[0] << 8 | h[1];
        int sof = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
        if (len < 2 || (sof && (len < 8 || fread(h, 1, 6, f) != 6)))
            break;
        if (sof) {
            int64_t rows = h[1] << 8 | h[2], cols = h[3] << 8 | h[4], comps = h[5] ? h[5] : 1;
            c2_err ce;
            out = 0; /* over the limits: refused before decoding (io/image2d.c) */
            if (c2_check_dims(&ce, path, rows, cols, 1, 8) == C2_OK) {
                out = rows * cols * (comps * 2 + 2 + 2 + 2 + 4 + 1) + cols * comps;
                wh[0] = cols;
                wh[1] = rows;
            }
        } else if (fseek(f, len - 2, SEEK_CUR) != 0) {
            break;
        }
    }
    fclose(f);
    return out;
}

/* A NIfTI volume's ingest (pipeline/ingest/ingest_volumes.c) from its header and its mask's,
 * read as the reader reads them (nifticlib in the sandbox worker, base/sandbox.h; a .nii.gz
 * inflated only as far as its header). For n voxels (volume 0 of a 4D file) stored in b bytes
 * each, *volume is what its reading holds while its planes are cut: here the volume and its
 * mask as floats (4n each), in the calling thread's worker the stored values and the floats
 * answered of the larger of the two reads (n b + 4n; kept by the worker's heap after). The
 * returned piece is one plane job: the plane cut and oriented as floats and the mask's bytes
 * (10 bytes a voxel of the two largest dimensions: the slice axis is chosen by the affine) and
 * the pool's two slots of the job, each the resized slice and mask and its encoded chunk.
 * dims (the image's grid) and *mask (1: a mask was read) are filled; -1 when the image's
 * header is not read (its reader reports why), 0 with *volume 0 when the grid is over the
 * limits (refused before reading). */
static int64_t nifti_bytes(const ingest_ctx *c, const char *path, int64_t *volume, int64_t dims[3], int *mask)
{
    nifti_volume v, m;
    c2_err ce;
    char mpath[4200];
    *volume = 0;
    *mask = 0;
    if (nifti_volume_read_header_isolated(path, &v, &ce) != C2_OK)
        return -1;
    dims[0] = v.nx;
    dims[1] = v.ny;
    dims[2] = v.nz;
    int64_t b = v.bytes_per_voxel > 0 ? v.bytes_per_voxel : 8;
    if (c2_check_dims(&ce, path, v.nx, v.ny, v.nz, b > 4 ? (size_t)b : 4) != C2_OK)
        return 0;
    if (ingest_nifti_mask(c, path, mpath, sizeof mpath) && nifti_volume_read_header_isolated(mpath, &m, &ce) == C2_OK &&
        m.nx == v.nx && m.ny == v.ny && m.nz == v.nz) { /* another grid: refused by the reader after the image */
        *mask = 1;
        b = m.bytes_per_voxel > b ? m.bytes_per_voxel : b;
    }
    int64_t n = v.nx * v.ny * v.nz, lo = v.nx < v.ny ? v.nx : v.ny, S = c->pp.size;
    lo = lo < v.nz ? lo : v.nz;
    *volume = 4 * n * (1 + *mask) + n * b + 4 * n;
    return 10 * (n / lo) + 4 * S * S * 5;
}

/* The metadata read of a file that may be DICOM: the file when it is read whole (at most
 * 4 x INGEST_PLANE_PIXELS + 1 MiB), the plane kept from it, DCMTK's dataset. */
static int64_t meta_bytes(const char *path)
{
    int64_t whole = 4 * INGEST_PLANE_PIXELS + (1 << 20), size = file_size(path);
    return (size < whole ? size : whole) + INGEST_PLANE_PIXELS * (int64_t)sizeof(float) + DCMTK_BYTES;
}

static int is_jpeg2000(const char *ts)
{
    return strncmp(ts, "1.2.840.10008.1.2.4.9", 21) == 0 && ts[21] >= '0' && ts[21] <= '3' && !ts[22];
}

/* One frame of o decoded into an S x S slice (io/dicom_slice.c in the worker, the slot and
 * its encoding here). */
static int64_t decode_bytes(const dicom_object *o, int S, int has_truth)
{
    int64_t n = (int64_t)o->rows * o->cols, samples = n * (o->samples_per_pixel > 1 ? o->samples_per_pixel : 1);
    int64_t frame = samples * (o->bits_allocated > 8 ? (o->bits_allocated + 7) / 8 : 1);
    int64_t size = file_size(o->path);
    /* DCMTK's dataset: the file when it is read whole (one frame, at most twice its pixels
     * + 1 MiB: io/dicom_dcmtk.cc frames_read), else the frame's values (native) or, for a
     * compressed object, its fragments (at most the file) */
    int whole = o->frames <= 1 && size <= 2 * frame + (1 << 20);
    int64_t data = whole || o->is_encapsulated ? size : frame;
    int64_t b = DCMTK_BYTES + data + frame; /* + getUncompressedFrame's buffer */
    if (is_jpeg2000(o->transfer_syntax))    /* the fragments' bytes, OpenJPEG's image and tiles, the stored values */
        b += size + 3 * samples * 4;
    else if (o->is_encapsulated)            /* DCMTK's codec: its own copy of the frame */
        b += frame;
    if (o->samples_per_pixel == 1 && (o->bits_allocated == 8 || o->bits_allocated == 16))
        b += 65536 * 4;                     /* the stored value -> modality unit table */
    else
        b += samples * 4;                   /* the stored values as int32 */
    b += n * 4 + 2 * (int64_t)S * S * 4;    /* the float plane; the resized slice and the answer's copy */
    /* this process: two slots of the pool (slice and mask), the answer, the encoded chunk,
     * and the SEG mask's plane in two orientations */
    return b + 4 * (int64_t)S * S * 5 + (has_truth ? 2 * n : 0);
}

/* mem_plan_count on k for c->jobs (kept when the user fixed them) beside held bytes; the
 * plan's estimate kept in c. 0 with e set when none fits. */
static int plan(ingest_ctx *c, int64_t held, const job_cost *k, const char *piece, c2_err *e)
{
    mem_plan p = {.limit = c->max_memory, .held = held,
                  .what_held = c->what_held ? c->what_held : "the process", .piece = piece};
    int want = c->jobs > 0 ? c->jobs : 1;
    int n = mem_plan_count(&p, want, jobs_bytes, k, e);
    if (!n)
        return 0;
    if (n < want && c->jobs_fixed) {
        char lim[32], one[32];
        mem_format(lim, sizeof lim, c->max_memory);
        mem_format(one, sizeof one, k->worker + k->piece);
        c2_fail(e, C2_ELIMIT, "--jobs %d does not fit --max-memory %s (each job is counted as %s: its sandbox "
                "worker and %s): drop --jobs (the planner then takes %d) or raise the limit", want, lim, one,
                piece, n);
        return 0;
    }
    if (n < want)
        c2_warn("--max-memory: %d ingest job%s instead of %d", n, n > 1 ? "s" : "", want);
    int64_t est = p.held + jobs_bytes(k, n), floor = p.held + jobs_bytes(k, 1);
    if (est > c->mem_estimate) {
        c->mem_estimate = est;
        c->mem_job = k->worker + k->piece;
    }
    c->mem_floor = floor > c->mem_floor ? floor : c->mem_floor;
    return n;
}

void ingest_memory_json(cJSON *o, const ingest_ctx *c)
{
    if (c->max_memory <= 0 || c->mem_estimate <= 0)
        return;
    cJSON *m = cJSON_AddObjectToObject(o, "memory_plan");
    cJSON_AddNumberToObject(m, "limit_bytes", (double)c->max_memory);
    cJSON_AddNumberToObject(m, "estimate_bytes", (double)c->mem_estimate);
    cJSON_AddNumberToObject(m, "job_bytes", (double)c->mem_job);
    cJSON_AddNumberToObject(m, "floor_bytes", (double)c->mem_floor);
    if (c->mem_volume > 0)
        cJSON_AddNumberToObject(m, "volume_bytes", (double)c->mem_volume);
}

int ingest_plan_jobs(ingest_ctx *c, c2_err *e)
{
    if (c->max_memory <= 0)
        return C2_OK;
    job_cost k = {.fixed = RUN_BYTES, .worker = mem_anonymous_bytes() + WORKER_OWN_BYTES};
    int64_t metas = 0, volume = 0, named_bytes = 0, held = mem_resident_bytes();
    char piece[400] = "ingest job", cheap_piece[400] = "";
    int fits = 0;               /* inputs a job takes that fit */
    job_cost least = k;         /* the cheapest job of the inputs that do not fit alone */
    ingest_file *cheapest = NULL;
    for (int i = 0; i < c->n_files; i++) {
        const char *path = c->files[i].path;
        if (c->files[i].state != FILE_PENDING)
            continue;
        job_cost one = {.fixed = RUN_BYTES, .worker = k.worker};
        char what[400] = "";    /* the job named, when its input's size was read */
        if (image2d_path_is_image(path)) {
            int64_t dims[2] = {0, 0};
            int64_t b = png_bytes(path, dims);
            if (b < 0)
                b = jpeg_bytes(path, dims);
            if (b < 0)
                b = INGEST_UNKNOWN_FILE_BYTES; /* neither header read: the job will say what it is */
            one.piece = 2 * b; /* an image and its mask in one job */
            if (dims[0])
                snprintf(what, sizeof what, "ingest job reading a %lld x %lld image and its mask (%s)",
                         (long long)dims[0], (long long)dims[1], c2_basename(path));
        } else if (nifti_path_is_nifti(path)) {
            if (ingest_nifti_is_mask(path))
                continue; /* read with its image, counted there (an orphan is reported unread) */
            int64_t dims[3], vol = 0;
            int mask = 0;
            one.piece = nifti_bytes(c, path, &vol, dims, &mask);
            if (one.piece < 0)
                one.piece = INGEST_UNKNOWN_FILE_BYTES; /* no header read: its reader will say why */
            one.fixed += vol;
            if (vol)
                snprintf(what, sizeof what, "ingest job reading a %lld x %lld x %lld volume%s (%s)",
                         (long long)dims[0], (long long)dims[1], (long long)dims[2], mask ? " and its mask" : "",
                         c2_basename(path));
        } else if (c2_ends_with_ci(path, ".json") || c2_ends_with_ci(path, ".csv") || c2_ends_with_ci(path, ".xlsx")) {
            continue; /* caption tables: read by the calling thread, not by a job */
        } else {
            one.piece = meta_bytes(path);
            metas++;
        }
        /* an input alone over the limit (a large image or volume, a header claiming huge
         * dimensions): left out, reported by its reader */
        if (what[0] && held + jobs_bytes(&one, 1) > c->max_memory) {
            c->files[i].over = jobs_bytes(&one, 1);
            if (!cheapest || c->files[i].over < cheapest->over) {
                cheapest = &c->files[i];
                least = one;
                snprintf(cheap_piece, sizeof cheap_piece, "%s", what);
            }
            continue;
        }
        fits++;
        k.piece = one.piece > k.piece ? one.piece : k.piece;
        volume = one.fixed - RUN_BYTES > volume ? one.fixed - RUN_BYTES : volume; /* volumes are read one at a time */
        if (one.fixed + one.piece > named_bytes) { /* the costliest job is named */
            named_bytes = one.fixed + one.piece;
            snprintf(piece, sizeof piece, "%s", what[0] ? what : "ingest job");
        }
    }
    k.fixed += volume;
    /* the metadata pass keeps small decoded planes until their series is ingested */
    int64_t planes = metas * INGEST_PLANE_PIXELS * (int64_t)sizeof(float);
    k.fixed += planes < INGEST_PLANE_BUDGET ? planes : INGEST_PLANE_BUDGET;
    int refuse = !fits && cheapest;
    if (refuse) {   /* no input fits: the run is refused, naming the cheapest job */
        volume = least.fixed - RUN_BYTES;
        k = least;
        snprintf(piece, sizeof piece, "%s", cheap_piece);
    }
    c->mem_held = held;
    c->mem_volume = volume;
    int n = plan(c, held, &k, piece, e);
    if (!n)
        return C2_ELIMIT;
    c->jobs = n;
    return C2_OK;
}

int ingest_plan_decode(ingest_ctx *c, const dicom_series *series, int n_series, const dicom_object *objs,
                       const uint8_t *has_truth, int64_t *over, c2_err *e)
{
    if (c->max_memory <= 0)
        return C2_OK;
    job_cost k = {.fixed = RUN_BYTES, .worker = mem_anonymous_bytes() + WORKER_OWN_BYTES};
    c->mem_held = mem_resident_bytes();
    const dicom_object *largest = NULL, *smallest_over = NULL;
    job_cost least = k;         /* the cheapest job of the slices that do not fit alone */
    for (int s = 0; s < n_series; s++) {
        char why[300];
        c2_err ce;
        if (dicom_series_policy(&series[s], objs, c->modalities, why, sizeof why) ||
            c2_check_dims(&ce, "series", 1, series[s].rows, series[s].cols, sizeof(float)) != C2_OK)
            continue; /* reported, not read (io/dicom_slice.c checks a frame's dimensions the same way) */
        /* the series' SEG mask, held by the calling thread while the series is read */
        int64_t fixed = RUN_BYTES + (has_truth[s] ? 2 * (int64_t)series[s].rows * series[s].cols * series[s].n_slices : 0);
        for (int j = 0; j < series[s].n_slices; j++) {
            int obj = series[s].slices[j].object;
            const dicom_object *o = &objs[obj];
            if (c2_check_dims(&ce, o->path, o->rows, o->cols, o->samples_per_pixel, 8) != C2_OK)
                continue; /* refused before decoding (io/dicom_dcmtk.cc frames_check) */
            job_cost one = {.fixed = fixed, .worker = k.worker, .piece = decode_bytes(o, c->pp.size, has_truth[s])};
            if (c->mem_held + jobs_bytes(&one, 1) > c->max_memory) {   /* not even alone: reported, skipped */
                over[obj] = jobs_bytes(&one, 1);
                if (!smallest_over || over[obj] < jobs_bytes(&least, 1)) {
                    least = one;
                    smallest_over = o;
                }
                continue;
            }
            k.fixed = fixed > k.fixed ? fixed : k.fixed;
            if (one.piece > k.piece) {
                k.piece = one.piece;
                largest = o;
            }
        }
    }
    /* nothing fits and nothing else was ingested: the run is refused, naming the cheapest job */
    int refuse = !largest && smallest_over && cache_writer_count(c->writer) == 0;
    if (!largest && !refuse)
        return C2_OK;
    const dicom_object *named = refuse ? smallest_over : largest;
    char piece[400];
    snprintf(piece, sizeof piece, "ingest job decoding a %d x %d%s slice (%s)", named->cols, named->rows,
             named->is_encapsulated ? " compressed" : "", c2_basename(named->path));
    int want = c->jobs;
    int n = plan(c, c->mem_held, refuse ? &least : &k, piece, e);
    if (!n)
        return C2_ELIMIT;
    if (n < want) {   /* fewer workers: the pool is made again */
        c2_pool_free(c->pool);
        c->pool = NULL;
        c->jobs = n;
        return c2_pool_create(&c->pool, n, e);
    }
    return C2_OK;
}

/* "PATH: too large to decode under --max-memory (needs N to decode WHAT in one ingest job ...)" */
static void over_reason(const ingest_ctx *c, const char *path, const char *what, int64_t need, c2_err *e)
{
    char n[32], lim[32], held[32];
    mem_format(n, sizeof n, need);
    mem_format(lim, sizeof lim, c->max_memory);
    mem_format(held, sizeof held, c->mem_held);
    c2_fail(e, C2_ELIMIT, "%s: too large to decode under --max-memory (needs %s to decode %s in one ingest job "
            "beside the %s held, over --max-memory %s)", path, n, what, held, lim);
}

void ingest_over_reason(const ingest_ctx *c, const dicom_object *o, int64_t need, c2_err *e)
{
    char what[80];
    snprintf(what, sizeof what, "its %d x %d%s slice", o->cols, o->rows, o->is_encapsulated ? " compressed" : "");
    over_reason(c, o->path, what, need, e);
}

void ingest_image_over_reason(const ingest_ctx *c, const char *path, int64_t need, c2_err *e)
{
    over_reason(c, path, "it and a mask of its size", need, e);
}

void ingest_volume_over_reason(const ingest_ctx *c, const char *path, int has_mask, int64_t need, c2_err *e)
{
    over_reason(c, path, has_mask ? "its volume and its mask" : "its volume", need, e);
}
