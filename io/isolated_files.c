/* io/isolated_files: the whole-file readers of untrusted bytes in sandbox workers
 * (base/sandbox.h): NIfTI volumes (nifticlib, zlib), PNG / JPEG images (libpng,
 * libjpeg), a DICOM SEG read as ground truth and a DICOMDIR's records (DCMTK). Declared
 * beside their direct readers (nifti.h, image2d.h, seg.h, dicomdir.h); same contracts and
 * results, plus the worker's errors ("<file>: the NIfTI reader crashed (signal 11, ...)",
 * "... did not finish within N s (stopped)").
 *
 * The answer of each job is its large array first, then the struct (the SEG: pixels,
 * frames, segments, then the struct). The worker hands the decoder's own buffer to the
 * answer (sandbox_out_adopt: one realloc, no copy) and the caller keeps the received
 * buffer as the array: a volume crosses the socket once and is not copied again.
 * Every count in the struct is checked against the limits and the answer's size
 * before any of it is used or allocated. */
#include "io/dicom.h"
#include "io/dicomdir.h"
#include "io/image2d.h"
#include "io/nifti.h"
#include "io/seg.h"

#include "base/sandbox.h"

#include <stdlib.h>
#include <string.h>

/* ---- the request: an int64 argument, then one path (an image and its mask: two, each
 * ended by a NUL) ---- */

typedef struct file_request {
    int64_t arg;
    char path[2 * 4096];
    const char *second;       /* the second path, "" when none */
} file_request;

static int request_parse(const uint8_t *req, size_t n, file_request *q, c2_err *e)
{
    if (n <= sizeof q->arg || n - sizeof q->arg >= sizeof q->path)
        return c2_fail(e, C2_EINVAL, "bad file read request");
    memcpy(&q->arg, req, sizeof q->arg);
    size_t len = n - sizeof q->arg;
    memcpy(q->path, req + sizeof q->arg, len);
    q->path[len] = 0;
    size_t first = strlen(q->path);
    q->second = first < len ? q->path + first + 1 : "";
    return C2_OK;
}

/* The worker's answer: array[n] (malloc'ed or NULL; owned by the answer now), then
 * tail[tail_n]. */
static int answer(sandbox_out *out, void *array, size_t n, const void *tail, size_t tail_n, const char *path,
                  c2_err *e)
{
    uint64_t max = (uint64_t)c2_limits_get()->max_bytes;
    if ((uint64_t)n + tail_n > max) {
        free(array);
        return c2_fail(e, C2_ELIMIT, "%s: the decoded data (%zu bytes) is over the memory limit of %llu", path,
                       n + tail_n, (unsigned long long)max);
    }
    if (sandbox_out_adopt(out, array, n, tail, tail_n) != C2_OK)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    return C2_OK;
}

/* Runs job(arg, path[, second]) in this thread's worker; what names the file(s) in messages
 * and for the fault hook. On success tail holds the answer's last tail_n bytes and *array
 * the bytes before them (*array_n of them; malloc'ed, the caller owns it, NULL when there
 * are none). */
static int file_call(const char *what, const char *path, const char *second, int64_t arg, const char *reader,
                     const char *parser, sandbox_job job, void *tail, size_t tail_n, uint8_t **array, size_t *array_n,
                     c2_err *e)
{
    *array = NULL;
    *array_n = 0;
    size_t len = strlen(path), len2 = second ? strlen(second) + 1 : 0;
    uint8_t req[sizeof arg + sizeof ((file_request *)0)->path];
    if (len + 1 + len2 >= sizeof req - sizeof arg)
        return c2_fail(e, C2_EINVAL, "%s: path too long", what);
    memcpy(req, &arg, sizeof arg);
    memcpy(req + sizeof arg, path, len + 1);
    if (second)
        memcpy(req + sizeof arg + len + 1, second, len2);
    size_t n = sizeof arg + len + (second ? 1 + len2 : 0);
    sandbox_out r;
    int rc = sandbox_call(what, reader, parser, job, req, n, NULL, &r, e);
    if (rc != C2_OK)
        return rc;
    if (r.n < tail_n) {
        sandbox_out_free(&r);
        return c2_fail(e, C2_EINVAL, "%s: the %s returned a short result", what, parser);
    }
    memcpy(tail, r.data + r.n - tail_n, tail_n);
    *array_n = r.n - tail_n;
    if (*array_n)
        *array = r.data; /* the array stays where the socket put it */
    else
        sandbox_out_free(&r);
    return C2_OK;
}

/* *bytes = d0 x d1 x d2 elements after c2_check_dims (0 when a count is 0); fails when a
 * count is negative or over the limits. */
static int array_bytes(const char *path, const char *parser, int64_t d0, int64_t d1, int64_t d2, size_t elem,
                       int64_t *bytes, c2_err *e)
{
    *bytes = 0;
    if (d0 < 0 || d1 < 0 || d2 < 0)
        return c2_fail(e, C2_EINVAL, "%s: the %s returned an inconsistent result", path, parser);
    if (d0 == 0 || d1 == 0 || d2 == 0)
        return C2_OK;
    int rc = c2_check_dims(e, path, d0, d1, d2, elem);
    if (rc == C2_OK)
        *bytes = d0 * d1 * d2 * (int64_t)elem;
    return rc;
}

/* ---- NIfTI: arg = the volume index, -1 = the header only; answer = voxels, struct ---- */

static int nifti_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    file_request q;
    nifti_volume v;
    int rc = request_parse(req, n, &q, e);
    if (rc == C2_OK)
        rc = q.arg < 0 ? nifti_volume_read_header(q.path, &v, e) : nifti_volume_read(q.path, q.arg, &v, e);
    if (rc != C2_OK)
        return rc;
    float *data = v.data;
    v.data = NULL;
    return answer(out, data, data ? (size_t)(v.nx * v.ny * v.nz) * sizeof *data : 0, &v, sizeof v, q.path, e);
}

static int nifti_call(const char *path, int64_t t, nifti_volume *v, c2_err *e)
{
    static const char parser[] = "NIfTI reader";
    uint8_t *data;
    size_t data_n;
    int rc = file_call(path, path, NULL, t, "nifti", parser, nifti_job, v, sizeof *v, &data, &data_n, e);
    if (rc != C2_OK) {
        memset(v, 0, sizeof *v);
        return rc;
    }
    v->data = NULL;
    int64_t want = 0;
    if (t >= 0)
        rc = array_bytes(path, parser, v->nx, v->ny, v->nz, sizeof(float), &want, e);
    if (rc == C2_OK && (uint64_t)want != data_n)
        rc = c2_fail(e, C2_EINVAL, "%s: the %s returned %zu voxel bytes for a %lldx%lldx%lld volume", path, parser,
                     data_n, (long long)v->nx, (long long)v->ny, (long long)v->nz);
    if (rc != C2_OK) {
        free(data);
        memset(v, 0, sizeof *v);
        return rc;
    }
    v->data = (float *)data;
    return C2_OK;
}

int nifti_volume_read_isolated(const char *path, int64_t t, nifti_volume *v, c2_err *e)
{
    if (t < 0) {
        memset(v, 0, sizeof *v);
        return c2_fail(e, C2_EINVAL, "%s: volume %lld requested", path, (long long)t);
    }
    return nifti_call(path, t, v, e);
}

int nifti_volume_read_header_isolated(const char *path, nifti_volume *v, c2_err *e)
{
    return nifti_call(path, -1, v, e);
}

/* ---- DICOMDIR: answer = the directory records, then their count ---- */

static int dicomdir_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    file_request q;
    dicomdir_record *recs = NULL;
    int count = 0;
    int rc = request_parse(req, n, &q, e);
    if (rc == C2_OK)
        rc = dicomdir_records(q.path, &recs, &count, e);
    if (rc != C2_OK)
        return rc;
    int64_t c = count;
    return answer(out, recs, (size_t)count * sizeof *recs, &c, sizeof c, q.path, e);
}

int dicomdir_records_isolated(const char *path, dicomdir_record **recs, int *n, c2_err *e)
{
    static const char parser[] = "DICOMDIR reader";
    *recs = NULL;
    *n = 0;
    int64_t count = 0;
    uint8_t *data;
    size_t data_n;
    int rc = file_call(path, path, NULL, 0, "dicomdir", parser, dicomdir_job, &count, sizeof count, &data, &data_n, e);
    if (rc != C2_OK)
        return rc;
    dicomdir_record *r = (dicomdir_record *)data;
    if (count < 0 || count > INT32_MAX || (uint64_t)count * sizeof *r != data_n)
        rc = c2_fail(e, C2_EINVAL, "%s: the %s returned an inconsistent result", path, parser);
    for (int64_t i = 0; rc == C2_OK && i < count; i++) {
        if (r[i].type < DICOMDIR_REC_PATIENT || r[i].type > DICOMDIR_REC_OTHER ||
            !memchr(r[i].file_id, 0, sizeof r[i].file_id) || !memchr(r[i].sop_uid, 0, sizeof r[i].sop_uid))
            rc = c2_fail(e, C2_EINVAL, "%s: the %s returned an inconsistent record", path, parser);
    }
    if (rc != C2_OK) {
        free(data);
        return rc;
    }
    *recs = r;   /* NULL when there are none */
    *n = (int)count;
    return C2_OK;
}

/* ---- PNG / JPEG: arg = 1 (an image) or 2 (an image and its mask, one call); answer =
 * the gray pixels (the mask's after the image's), then the struct(s) ---- */

static int image_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    file_request q;
    image2d img[2];
    memset(img, 0, sizeof img);
    int rc = request_parse(req, n, &q, e);
    int count = rc == C2_OK && q.arg == 2 && q.second[0] ? 2 : 1;
    if (rc == C2_OK)
        rc = image2d_read(q.path, &img[0], e);
    if (rc == C2_OK && count == 2)
        rc = image2d_read(q.second, &img[1], e);
    size_t n0 = (size_t)img[0].rows * (size_t)img[0].cols * sizeof(uint16_t);
    size_t n1 = (size_t)img[1].rows * (size_t)img[1].cols * sizeof(uint16_t);
    uint16_t *px = rc == C2_OK && count == 2 ? realloc(img[0].pixels, n0 + n1) : img[0].pixels;
    if (rc == C2_OK && !px)
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", q.second);
    if (rc == C2_OK) {
        img[0].pixels = NULL;
        if (count == 2)
            memcpy((uint8_t *)px + n0, img[1].pixels, n1);
        free(img[1].pixels);
        img[1].pixels = NULL;
        return answer(out, px, n0 + n1, img, (size_t)count * sizeof *img, q.path, e);
    }
    image2d_free(&img[0]);
    image2d_free(&img[1]);
    return rc;
}

/* *n = the pixel bytes of the worker's struct img, checked (an empty image is inconsistent). */
static int image_bytes(const char *what, const char *parser, const image2d *img, int64_t *n, c2_err *e)
{
    int rc = array_bytes(what, parser, 1, img->rows, img->cols, sizeof *img->pixels, n, e);
    return rc == C2_OK && *n == 0 ? c2_fail(e, C2_EINVAL, "%s: the %s returned an empty image", what, parser) : rc;
}

int image2d_read_pair_isolated(const char *image_path, const char *mask_path, image2d *img, image2d *mask, c2_err *e)
{
    static const char parser[] = "image decoder";
    char what[2 * 4096 + 32];
    if (mask_path)
        snprintf(what, sizeof what, "%s (and its mask %s)", image_path, mask_path);
    else
        snprintf(what, sizeof what, "%s", image_path);
    int count = mask_path ? 2 : 1;
    if (mask_path && !mask)
        return c2_fail(e, C2_EINVAL, "%s: no place given for the mask", what);
    image2d got[2];
    memset(got, 0, sizeof got);
    memset(img, 0, sizeof *img);
    if (mask)
        memset(mask, 0, sizeof *mask);
    uint8_t *px;
    size_t px_n;
    int rc = file_call(what, image_path, mask_path, count, "image", parser, image_job, got,
                       (size_t)count * sizeof *got, &px, &px_n, e);
    if (rc != C2_OK)
        return rc;
    got[0].pixels = got[1].pixels = NULL;
    int64_t n0 = 0, n1 = 0;
    rc = image_bytes(what, parser, &got[0], &n0, e);
    if (rc == C2_OK && count == 2)
        rc = image_bytes(what, parser, &got[1], &n1, e);
    if (rc == C2_OK && (uint64_t)(n0 + n1) != px_n)
        rc = c2_fail(e, C2_EINVAL, "%s: the %s returned %zu pixel bytes, not %lld", what, parser, px_n,
                     (long long)(n0 + n1));
    if (rc == C2_OK && count == 2 && !(got[1].pixels = malloc((size_t)n1)))
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", what);
    if (rc != C2_OK) {
        free(px);
        return rc;
    }
    if (count == 2) {
        memcpy(got[1].pixels, px + n0, (size_t)n1); /* the mask: small, copied; the image stays in place */
        *mask = got[1];
    }
    got[0].pixels = (uint16_t *)px;
    *img = got[0];
    return C2_OK;
}

int image2d_read_isolated(const char *path, image2d *img, c2_err *e)
{
    return image2d_read_pair_isolated(path, NULL, img, NULL, e);
}

/* ---- SEG: answer = pixels, frames, segments, struct ---- */

static int seg_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    file_request q;
    seg_image s;
    int rc = request_parse(req, n, &q, e);
    if (rc == C2_OK)
        rc = seg_read(q.path, &s, e);
    if (rc != C2_OK)
        return rc;
    sandbox_out tail = {0};
    rc = sandbox_out_append(&tail, s.frames, (size_t)s.n_frames * sizeof *s.frames);
    if (rc == C2_OK)
        rc = sandbox_out_append(&tail, s.segments, (size_t)s.n_segments * sizeof *s.segments);
    if (rc == C2_OK)
        rc = sandbox_out_append(&tail, &s, sizeof s);
    uint8_t *px = s.pixels;
    s.pixels = NULL;
    if (rc == C2_OK)
        rc = answer(out, px, (size_t)s.n_frames * (size_t)s.rows * (size_t)s.cols, tail.data, tail.n, q.path, e);
    else {
        free(px);
        c2_fail(e, rc, "%s: out of memory", q.path);
    }
    sandbox_out_free(&tail);
    seg_image_free(&s);
    return rc;
}

/* Ends every fixed-size string of s (the worker's bytes are not trusted to). */
static void seg_strings_end(seg_image *s)
{
    char *uids[] = {s->sop_class, s->sop_instance, s->study_uid, s->for_uid, s->ref_series_uid};
    for (size_t i = 0; i < sizeof uids / sizeof *uids; i++)
        uids[i][64] = 0;
    for (int i = 0; i < s->n_frames; i++)
        s->frames[i].ref_sop_instance[sizeof s->frames[i].ref_sop_instance - 1] = 0;
    for (int i = 0; i < s->n_segments; i++) {
        seg_segment_info *g = &s->segments[i];
        g->label[sizeof g->label - 1] = g->type_meaning[sizeof g->type_meaning - 1] = 0;
        g->category_code[16] = g->category_scheme[16] = g->type_code[16] = g->type_scheme[16] = 0;
    }
}

int seg_read_isolated(const char *path, seg_image *s, c2_err *e)
{
    static const char parser[] = "DICOM SEG parser";
    dicom_dictionary_preload(); /* workers forked later inherit it */
    uint8_t *all;
    size_t all_n;
    int rc = file_call(path, path, NULL, 0, "seg-read", parser, seg_job, s, sizeof *s, &all, &all_n, e);
    if (rc != C2_OK) {
        memset(s, 0, sizeof *s);
        return rc;
    }
    s->pixels = NULL;
    s->frames = NULL;
    s->segments = NULL;
    int64_t px_n = 0;
    rc = array_bytes(path, parser, s->n_frames, s->rows, s->cols, 1, &px_n, e);
    size_t frames_n = rc == C2_OK ? (size_t)s->n_frames * sizeof *s->frames : 0;
    size_t rest = rc == C2_OK && (uint64_t)px_n + frames_n <= all_n ? all_n - (size_t)px_n - frames_n : 0;
    if (rc == C2_OK && (s->n_segments < 0 || (uint64_t)px_n + frames_n > all_n ||
                        rest != (size_t)s->n_segments * sizeof *s->segments))
        rc = c2_fail(e, C2_EINVAL, "%s: the %s returned an inconsistent result", path, parser);
    if (rc == C2_OK) {
        s->frames = malloc(frames_n ? frames_n : 1);
        s->segments = malloc(rest ? rest : 1);
        if (!s->frames || !s->segments)
            rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    }
    if (rc != C2_OK) {
        free(all);
        seg_image_free(s);
        return rc;
    }
    if (frames_n)
        memcpy(s->frames, all + px_n, frames_n);
    if (rest)
        memcpy(s->segments, all + px_n + frames_n, rest);
    s->pixels = all; /* the pixels stay where the socket put them (frames and segments after them unused) */
    seg_strings_end(s);
    return C2_OK;
}
