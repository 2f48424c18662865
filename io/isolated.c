/* io/isolated: the packing of io's isolated readers (isolated.h). Each reader is a job
 * run in a sandbox worker: its request and answer are flat byte strings, and every length
 * in an answer is checked against the answer's size before it is trusted. Decoded pixels
 * (a metadata call's plane, a slice, frames) are written into the worker's shared mapping
 * when it has one (base/sandbox.h: sandbox_call_shared), else appended to the answer; the
 * caller takes them from where the answer's checked lengths say, never from both. */
#include "io/isolated.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- dicom_object <-> bytes: the struct, frame[], voi_lut[entries] ---- */

/* The entries of o->frame: one per frame for an image with pixels, else the reader's one
 * placeholder (a SEG or SR may declare NumberOfFrames all the same: io/dicom_dcmtk.cc). */
static size_t frame_entries(const dicom_object *o)
{
    return o->has_pixel_data && o->kind == DICOM_KIND_IMAGE ? (size_t)o->frames : 1;
}

static int object_pack(sandbox_out *out, const dicom_object *o)
{
    int rc = sandbox_out_append(out, o, sizeof *o);
    if (rc == C2_OK)
        rc = sandbox_out_append(out, o->frame, frame_entries(o) * sizeof *o->frame);
    if (rc == C2_OK && o->voi_lut)
        rc = sandbox_out_append(out, o->voi_lut, (size_t)o->voi_lut_entries * sizeof *o->voi_lut);
    return rc;
}

/* Rebuilds o from in (advancing it); o owns fresh arrays. */
static int object_unpack(sandbox_in *in, const char *path, dicom_object *o, c2_err *e)
{
    sandbox_in_read(in, o, sizeof *o);
    int has_lut = o->voi_lut != NULL;
    o->frame = NULL;
    o->voi_lut = NULL;
    if (in->bad)
        return c2_fail(e, C2_EINVAL, "%s: the DICOM parser returned a short result", path);
    if (has_lut && (o->voi_lut_entries <= 0 || o->voi_lut_entries > 65536))
        return c2_fail(e, C2_EINVAL, "%s: the DICOM parser returned a bad VOI LUT size", path);
    size_t frames_n = frame_entries(o) * sizeof(dicom_frame), lut_n = has_lut ? (size_t)o->voi_lut_entries * 2 : 0;
    if (o->frames <= 0 || frames_n / sizeof(dicom_frame) != frame_entries(o) || in->n - in->at < frames_n + lut_n)
        return c2_fail(e, C2_EINVAL, "%s: the DICOM parser returned an inconsistent result", path);
    o->frame = malloc(frames_n);
    o->voi_lut = has_lut ? malloc(lut_n) : NULL;
    if (!o->frame || (has_lut && !o->voi_lut)) {
        int frames = o->frames;
        dicom_object_free(o);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for %d frames", path, frames);
    }
    sandbox_in_read(in, o->frame, frames_n);
    if (has_lut)
        sandbox_in_read(in, o->voi_lut, lut_n);
    return C2_OK;
}

static int meta_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    char path[4096];
    if (n == 0 || n >= sizeof path)
        return c2_fail(e, C2_EINVAL, "bad DICOM metadata request");
    memcpy(path, req, n);
    path[n] = 0;
    dicom_object *o = malloc(sizeof *o);
    if (!o)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    int rc = dicom_read_meta(path, o, e);
    if (rc == C2_OK) {
        rc = object_pack(out, o);
        if (rc != C2_OK)
            c2_fail(e, rc, "%s: out of memory", path);
        dicom_object_free(o);
    }
    free(o);
    return rc;
}

int dicom_read_meta_isolated(const char *path, dicom_object *o, c2_err *e)
{
    memset(o, 0, sizeof *o);
    dicom_dictionary_preload(); /* workers forked later inherit it */
    sandbox_out r;
    int rc = sandbox_call(path, "dicom-meta", "DICOM parser", meta_job, path, strlen(path), NULL, &r, e);
    if (rc == C2_OK) {
        sandbox_in in = {r.data, r.n, 0, 0};
        rc = object_unpack(&in, path, o, e);
        if (rc == C2_OK && in.at != in.n) {
            dicom_object_free(o);
            rc = c2_fail(e, C2_EINVAL, "%s: the DICOM parser returned an inconsistent result", path);
        }
    }
    if (rc != C2_OK)
        memset(o, 0, sizeof *o);
    sandbox_out_free(&r);
    return rc;
}

/* Where a job writes px floats of pixels: the shared mapping when it holds them (set
 * out->shared_n once written), else a malloc'ed buffer (*own = 1) to append to the answer. */
static float *pixels_out(sandbox_out *out, size_t px, int *own)
{
    *own = 0;
    if (out->shared && px <= out->shared_cap / sizeof(float))
        return (float *)(void *)out->shared;
    *own = 1;
    return malloc(px ? px * sizeof(float) : 1);
}

/* The job's answer for the px floats at p (pixels_out): in the mapping or appended. */
static int pixels_answer(sandbox_out *out, const float *p, size_t px, int own)
{
    if (!own) {
        out->shared_n = px * sizeof(float);
        return C2_OK;
    }
    return sandbox_out_append(out, p, px * sizeof(float));
}

/* The caller's side: the want bytes of pixels in the answer r from offset at (all that is left
 * of it), or in its shared part when the socket part ends at `at`; NULL when neither holds
 * exactly want bytes. */
static const uint8_t *pixels_in(const sandbox_out *r, size_t at, size_t want)
{
    if (r->shared_n)
        return r->n == at && r->shared_n == want ? r->shared : NULL;
    return r->n >= at && r->n - at == want ? r->data + at : NULL;
}

/* meta + plane: request = int64 max_pixels, then the path; answer = the object, an int32
 * has_plane, then the plane's floats when it is 1 (in the shared mapping when there is one) */
static int meta_plane_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    char path[4096];
    int64_t max_pixels = 0;
    if (n <= sizeof max_pixels || n - sizeof max_pixels >= sizeof path)
        return c2_fail(e, C2_EINVAL, "bad DICOM metadata request");
    memcpy(&max_pixels, req, sizeof max_pixels);
    memcpy(path, req + sizeof max_pixels, n - sizeof max_pixels);
    path[n - sizeof max_pixels] = 0;
    if (max_pixels < 0 || max_pixels > (int64_t)c2_limits_get()->max_bytes / (int64_t)sizeof(float) ||
        sandbox_fault_armed("dicom-frames", path))
        max_pixels = 0;   /* the fault hook's frame read stays in its own call */
    dicom_object *o = malloc(sizeof *o);
    int own = 0;
    float *plane = max_pixels > 0 ? pixels_out(out, (size_t)max_pixels, &own) : NULL;
    int rc = o && (plane || max_pixels == 0) ? C2_OK : c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    int32_t has_plane = 0;
    if (rc == C2_OK) {
        int has = 0;
        rc = dicom_read_meta_plane(path, o, plane, max_pixels, &has, e);
        has_plane = has;
    }
    if (rc == C2_OK) {
        size_t px = has_plane ? (size_t)o->rows * (size_t)o->cols : 0;
        rc = object_pack(out, o);
        if (rc == C2_OK)
            rc = sandbox_out_append(out, &has_plane, sizeof has_plane);
        if (rc == C2_OK && px)
            rc = pixels_answer(out, plane, px, own);
        if (rc != C2_OK)
            c2_fail(e, rc, "%s: out of memory", path);
        dicom_object_free(o);
    }
    if (own)
        free(plane);
    free(o);
    return rc;
}

int dicom_read_meta_plane_isolated(const char *path, dicom_object *o, float **plane, int64_t max_pixels, c2_err *e)
{
    memset(o, 0, sizeof *o);
    *plane = NULL;
    dicom_dictionary_preload(); /* workers forked later inherit it */
    size_t pn = strlen(path);
    uint8_t *req = malloc(sizeof max_pixels + pn);
    if (!req)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    memcpy(req, &max_pixels, sizeof max_pixels);
    memcpy(req + sizeof max_pixels, path, pn);
    sandbox_out r;
    size_t shared = max_pixels > 0 ? (size_t)max_pixels * sizeof(float) : 0;
    int rc = sandbox_call_shared(path, "dicom-meta", "DICOM parser", meta_plane_job, req, sizeof max_pixels + pn,
                                 shared, NULL, &r, e);
    free(req);
    int32_t has_plane = 0;
    if (rc == C2_OK) {
        sandbox_in in = {r.data, r.n, 0, 0};
        rc = object_unpack(&in, path, o, e);
        size_t px = rc == C2_OK ? (size_t)o->rows * (size_t)o->cols : 0;
        if (rc == C2_OK && in.n - in.at >= sizeof has_plane)
            sandbox_in_read(&in, &has_plane, sizeof has_plane);
        else if (rc == C2_OK)
            has_plane = -1;
        const uint8_t *px_at = rc == C2_OK && has_plane == 1 ? pixels_in(&r, in.at, px * sizeof(float)) : NULL;
        if (rc == C2_OK && (has_plane < 0 || has_plane > 1 || (has_plane && (int64_t)px > max_pixels) ||
                            (has_plane ? !px_at : in.n != in.at || r.shared_n != 0))) {
            dicom_object_free(o);
            rc = c2_fail(e, C2_EINVAL, "%s: the DICOM parser returned an inconsistent result", path);
        }
        if (rc == C2_OK && has_plane && r.shared_n) { /* out of the mapping: kept until its series is read */
            *plane = malloc(px * sizeof(float));
            if (*plane)
                memcpy(*plane, px_at, px * sizeof(float));
            else {
                dicom_object_free(o);
                rc = c2_fail(e, C2_ENOMEM, "%s: out of memory for a %dx%d plane", path, o->cols, o->rows);
            }
        } else if (rc == C2_OK && has_plane) { /* the answer's buffer becomes the plane: no fresh copy */
            memmove(r.data, r.data + in.at, px * sizeof(float));
            float *shrunk = realloc(r.data, px * sizeof(float));
            *plane = shrunk ? shrunk : (float *)(void *)r.data;
            r.data = NULL;
        }
    }
    if (rc != C2_OK)
        memset(o, 0, sizeof *o);
    sandbox_out_free(&r);
    return rc;
}

/* ---- the decoder's jobs (frames, slice): request = a fixed head, then the object ---- */

/* The worker's side: the head's head_n bytes, then o (which owns fresh arrays). */
static int decoder_request(const uint8_t *req, size_t n, void *head, size_t head_n, dicom_object *o, c2_err *e)
{
    sandbox_in in = {req, n, 0, 0};
    sandbox_in_read(&in, head, head_n);
    return object_unpack(&in, "DICOM decoder request", o, e);
}

/* The caller's side: runs job on head + o in this thread's worker; an answer of other than
 * `want` bytes is an error. *r holds the answer on success (sandbox_out_free). */
static int decoder_call(const dicom_object *o, sandbox_job job, const void *head, size_t head_n, size_t want,
                        size_t shared, sandbox_out *r, c2_err *e)
{
    sandbox_out req = {0};
    memset(r, 0, sizeof *r);
    int rc = sandbox_out_append(&req, head, head_n);
    if (rc == C2_OK)
        rc = object_pack(&req, o);
    if (rc != C2_OK) {
        sandbox_out_free(&req);
        return c2_fail(e, rc, "%s: out of memory", o->path);
    }
    rc = sandbox_call_shared(o->path, "dicom-frames", "DICOM decoder", job, req.data, req.n, shared, NULL, r, e);
    sandbox_out_free(&req);
    if (rc == C2_OK && r->n + r->shared_n != want) {
        rc = c2_fail(e, C2_EINVAL, "%s: the DICOM decoder returned %zu bytes, not %zu", o->path, r->n + r->shared_n,
                     want);
        sandbox_out_free(r);
    }
    return rc;
}

/* frames: head = first, count; answer = the floats (in the shared mapping when it holds them) */
static int frames_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    int32_t head[2] = {0, 0};
    dicom_object o;
    int rc = decoder_request(req, n, head, sizeof head, &o, e);
    if (rc != C2_OK)
        return rc;
    int32_t first = head[0], count = head[1];
    int64_t plane = (int64_t)o.rows * o.cols;
    rc = count > 0 ? c2_check_dims(e, o.path, count, o.rows, o.cols, sizeof(float)) : C2_EINVAL;
    int own = 0;
    float *px = rc == C2_OK ? pixels_out(out, (size_t)(plane * count), &own) : NULL;
    if (rc == C2_OK && !px)
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory for %d frames", o.path, count);
    if (rc == C2_OK)
        rc = dicom_read_frames(&o, first, count, px, e);
    if (rc == C2_OK && (rc = pixels_answer(out, px, (size_t)(plane * count), own)) != C2_OK)
        c2_fail(e, rc, "%s: out of memory", o.path);
    if (own)
        free(px);
    dicom_object_free(&o);
    return rc;
}

int dicom_read_frames_isolated(const dicom_object *o, int first_frame, int n_frames, float *out, c2_err *e)
{
    int32_t head[2] = {first_frame, n_frames};
    size_t want = (size_t)o->rows * (size_t)o->cols * (size_t)(n_frames > 0 ? n_frames : 0) * sizeof(float);
    sandbox_out r;
    int rc = decoder_call(o, frames_job, head, sizeof head, want, want, &r, e);
    const uint8_t *px = rc == C2_OK ? pixels_in(&r, 0, want) : NULL;
    if (rc == C2_OK && !px)
        rc = c2_fail(e, C2_EINVAL, "%s: the DICOM decoder returned an inconsistent result", o->path);
    if (rc == C2_OK)
        memcpy(out, px, want);
    sandbox_out_free(&r);
    return rc;
}

/* one slice, decoded, mapped, oriented and resized in the worker (io/dicom_slice.h): head =
 * frame, spec; answer = info, then the [S,S] floats (none for DICOM_SLICE_RANGE; in the
 * shared mapping when it holds them) */
typedef struct slice_head {
    int32_t frame, reserved;
    dicom_slice_spec spec;
} slice_head;

static int slice_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    slice_head h;
    dicom_object o;
    int rc = decoder_request(req, n, &h, sizeof h, &o, e);
    if (rc != C2_OK)
        return rc;
    const dicom_slice_spec *sp = &h.spec;
    size_t px = sp->mapping == DICOM_SLICE_RANGE || sp->size < 1 ? 0 : (size_t)sp->size * (size_t)sp->size;
    int own = 0;
    float *img = px ? pixels_out(out, px, &own) : malloc(1);
    own |= !px;
    dicom_slice_info info;
    rc = img ? dicom_read_slice(&o, h.frame, sp, img, &info, e) : c2_fail(e, C2_ENOMEM, "%s: out of memory", o.path);
    if (rc == C2_OK && (sandbox_out_append(out, &info, sizeof info) != C2_OK ||
                        (px && pixels_answer(out, img, px, own) != C2_OK)))
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", o.path);
    if (own)
        free(img);
    dicom_object_free(&o);
    return rc;
}

int dicom_read_slice_isolated(const dicom_object *o, int frame, const dicom_slice_spec *sp, float *out,
                              dicom_slice_info *info, c2_err *e)
{
    slice_head h;
    memset(&h, 0, sizeof h);
    h.frame = frame;
    h.spec = *sp;
    size_t px = sp->mapping == DICOM_SLICE_RANGE ? 0 : (size_t)sp->size * (size_t)sp->size;
    sandbox_out r;
    int rc = decoder_call(o, slice_job, &h, sizeof h, sizeof *info + px * sizeof(float), px * sizeof(float), &r, e);
    const uint8_t *img = rc == C2_OK ? pixels_in(&r, sizeof *info, px * sizeof(float)) : NULL;
    if (rc == C2_OK && (r.n < sizeof *info || !img))
        rc = c2_fail(e, C2_EINVAL, "%s: the DICOM decoder returned an inconsistent result", o->path);
    if (rc == C2_OK) {
        memcpy(info, r.data, sizeof *info);
        if (px)
            memcpy(out, img, px * sizeof(float));
    }
    sandbox_out_free(&r);
    return rc;
}

/* below: head = frame, rows, cols, the value, then the path; answer = the frame's pixels below the
 * value as bits (dicom_read_below_isolated) */
typedef struct below_head {
    int32_t frame, rows, cols, reserved;
    double below;
} below_head;

static int below_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    below_head h;
    char path[4096];
    if (n <= sizeof h || n - sizeof h >= sizeof path)
        return c2_fail(e, C2_EINVAL, "bad DICOM pixel request");
    memcpy(&h, req, sizeof h);
    memcpy(path, req + sizeof h, n - sizeof h);
    path[n - sizeof h] = 0;
    dicom_object o;
    int rc = dicom_read_meta(path, &o, e);
    if (rc != C2_OK)
        return rc;
    if (o.rows != h.rows || o.cols != h.cols)
        rc = c2_fail(e, C2_EMISMATCH, "%s: %dx%d slice in a %dx%d series", path, o.rows, o.cols, h.rows, h.cols);
    if (rc == C2_OK)
        rc = c2_check_dims(e, path, 1, o.rows, o.cols, sizeof(float));
    size_t plane = rc == C2_OK ? (size_t)o.rows * (size_t)o.cols : 0;
    float *v = rc == C2_OK ? malloc(plane * sizeof *v) : NULL;
    uint8_t *bits = rc == C2_OK ? calloc((plane + 7) / 8, 1) : NULL;
    if (rc == C2_OK && (!v || !bits))
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory for a %dx%d slice", path, o.cols, o.rows);
    if (rc == C2_OK)
        rc = dicom_read_frames(&o, h.frame, 1, v, e);
    if (rc == C2_OK) {
        for (size_t p = 0; p < plane; p++) /* NaN compares false: never below */
            bits[p >> 3] |= (uint8_t)(((double)v[p] < h.below) << (p & 7));
        if (sandbox_out_append(out, bits, (plane + 7) / 8) != C2_OK)
            rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    }
    free(v);
    free(bits);
    dicom_object_free(&o);
    return rc;
}

int dicom_read_below_isolated(const char *path, int frame, int rows, int cols, double below, uint8_t *bits,
                              c2_err *e)
{
    below_head h = {frame, rows, cols, 0, below};
    size_t pn = strlen(path), want = ((size_t)rows * (size_t)cols + 7) / 8;
    if (rows < 1 || cols < 1 || pn >= 4096)
        return c2_fail(e, C2_EINVAL, "%s: bad pixel request", path);
    uint8_t *req = malloc(sizeof h + pn);
    if (!req)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    memcpy(req, &h, sizeof h);
    memcpy(req + sizeof h, path, pn);
    dicom_dictionary_preload();
    sandbox_out r;
    int rc = sandbox_call(path, "dicom-frames", "DICOM decoder", below_job, req, sizeof h + pn, NULL, &r, e);
    free(req);
    if (rc == C2_OK && r.n != want)
        rc = c2_fail(e, C2_EINVAL, "%s: the DICOM decoder returned %zu bytes, not %zu", path, r.n, want);
    if (rc == C2_OK)
        memcpy(bits, r.data, want);
    sandbox_out_free(&r);
    return rc;
}

/* ---- seg_source: request = n, paths (n = 0: one path for seg_source_load); answer = the
 * struct, slices, file names ---- */

static int seg_source_pack(sandbox_out *out, const seg_source *src)
{
    int rc = sandbox_out_append(out, src, sizeof *src);
    if (rc == C2_OK)
        rc = sandbox_out_append(out, src->slices, (size_t)src->n_slices * sizeof *src->slices);
    for (int i = 0; rc == C2_OK && i < src->n_files; i++)
        rc = sandbox_out_string(out, src->files[i]);
    return rc;
}

/* Rebuilds src from in (at most max_files file names), checking every count and index. */
static int seg_source_unpack(sandbox_in *in, int max_files, const char *what, seg_source *src, c2_err *e)
{
    int rc = C2_OK;
    sandbox_in_read(in, src, sizeof *src);
    int n_slices = src->n_slices, n_files = src->n_files;
    src->slices = NULL;
    src->files = NULL;
    src->n_slices = src->n_files = 0;
    src->modality[sizeof src->modality - 1] = src->patient_orientation[sizeof src->patient_orientation - 1] = 0;
    src->series_uid[sizeof src->series_uid - 1] = src->for_uid[sizeof src->for_uid - 1] = 0;
    if (in->bad || n_slices < 0 || n_files < 0 || n_files > max_files ||
        (size_t)n_slices > (in->n - in->at) / sizeof(seg_slice))
        rc = c2_fail(e, C2_EINVAL, "%s: the DICOM parser returned an inconsistent SEG source", what);
    if (rc == C2_OK) {
        src->slices = calloc((size_t)(n_slices ? n_slices : 1), sizeof *src->slices);
        src->files = calloc((size_t)(n_files ? n_files : 1), sizeof *src->files);
        if (!src->slices || !src->files)
            rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", what);
    }
    if (rc == C2_OK) {
        sandbox_in_read(in, src->slices, (size_t)n_slices * sizeof *src->slices);
        src->n_slices = n_slices;
        for (int i = 0; i < n_files && !in->bad; i++) {
            src->files[i] = sandbox_in_string(in);
            src->n_files += src->files[i] != NULL;
        }
        for (int i = 0; i < src->n_slices && !in->bad; i++)
            in->bad |= src->slices[i].file < 0 || src->slices[i].file >= src->n_files;
        if (in->bad)
            rc = c2_fail(e, C2_EINVAL, "%s: the DICOM parser returned an inconsistent SEG source", what);
    }
    if (rc != C2_OK) {
        seg_source_free(src);
        memset(src, 0, sizeof *src);
    }
    return rc;
}

static int seg_source_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    sandbox_in in = {req, n, 0, 0};
    int32_t count = 0;
    sandbox_in_read(&in, &count, sizeof count);
    if (in.bad || count < 0 || (size_t)count > n)
        return c2_fail(e, C2_EINVAL, "bad SEG source request");
    seg_source src;
    memset(&src, 0, sizeof src);
    int rc = C2_OK;
    char **files = NULL;
    if (count == 0) {
        char *path = sandbox_in_string(&in);
        rc = path ? seg_source_load(path, &src, e) : c2_fail(e, C2_EINVAL, "bad SEG source request");
        free(path);
        goto answer;
    }
    files = calloc((size_t)count, sizeof *files);
    rc = files ? C2_OK : c2_fail(e, C2_ENOMEM, "out of memory for %d source files", count);
    for (int i = 0; rc == C2_OK && i < count; i++)
        if (!(files[i] = sandbox_in_string(&in)))
            rc = c2_fail(e, C2_EINVAL, "bad SEG source request");
    if (rc == C2_OK)
        rc = seg_source_load_files((const char *const *)files, count, &src, e);
answer:
    if (rc == C2_OK) {
        if ((rc = seg_source_pack(out, &src)) != C2_OK)
            c2_fail(e, rc, "out of memory");
        seg_source_free(&src);
    }
    for (int i = 0; files && i < count; i++)
        free(files[i]);
    free(files);
    return rc;
}

/* Sends a packed SEG source request and unpacks the answer into src. max_files bounds the
 * file names an answer may hold. */
static int seg_source_call(const char *what, sandbox_out *req, int max_files, seg_source *src, c2_err *e)
{
    dicom_dictionary_preload();
    sandbox_out r;
    int n = max_files;
    int rc = sandbox_call(what, "seg-source", "DICOM parser", seg_source_job, req->data, req->n, NULL, &r, e);
    sandbox_out_free(req);
    if (rc == C2_OK) {
        sandbox_in in = {r.data, r.n, 0, 0};
        rc = seg_source_unpack(&in, n, what, src, e);
        if (rc == C2_OK && in.at != in.n) {
            seg_source_free(src);
            memset(src, 0, sizeof *src);
            rc = c2_fail(e, C2_EINVAL, "%s: the DICOM parser returned an inconsistent SEG source", what);
        }
    }
    sandbox_out_free(&r);
    return rc;
}

int seg_source_load_files_isolated(const char *const *files, int n, seg_source *src, c2_err *e)
{
    memset(src, 0, sizeof *src);
    const char *what = n > 0 ? files[0] : "SEG source";
    sandbox_out req = {0};
    int32_t count = n;
    int rc = n > 0 ? sandbox_out_append(&req, &count, sizeof count) : c2_fail(e, C2_EINVAL, "no source files given");
    for (int i = 0; rc == C2_OK && i < n; i++)
        rc = sandbox_out_string(&req, files[i]);
    if (rc != C2_OK) {
        sandbox_out_free(&req);
        return rc == C2_EINVAL ? rc : c2_fail(e, rc, "%s: out of memory", what);
    }
    return seg_source_call(what, &req, n, src, e);
}

int seg_source_load_isolated(const char *path, seg_source *src, c2_err *e)
{
    memset(src, 0, sizeof *src);
    sandbox_out req = {0};
    int32_t zero = 0;
    int rc = sandbox_out_append(&req, &zero, sizeof zero);
    if (rc == C2_OK)
        rc = sandbox_out_string(&req, path);
    if (rc != C2_OK) {
        sandbox_out_free(&req);
        return c2_fail(e, rc, "%s: out of memory", path);
    }
    return seg_source_call(path, &req, c2_limits_get()->max_dim > 0 ? (int)c2_limits_get()->max_dim : 65535, src, e);
}

/* ---- seg_write: request = the source, the options, the output path, the mask; answer =
 * seg_write_info. The writer re-reads the first source file (DCMTK): a worker does it. ---- */

static int opt_string(sandbox_out *o, const char *s)
{
    uint8_t has = s != NULL;
    int rc = sandbox_out_append(o, &has, 1);
    return rc == C2_OK ? sandbox_out_string(o, s) : rc;
}

static char *opt_unstring(sandbox_in *in, int *present)
{
    uint8_t has = 0;
    sandbox_in_read(in, &has, 1);
    *present = has != 0;
    return sandbox_in_string(in);
}

static int seg_write_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    sandbox_in in = {req, n, 0, 0};
    seg_source src;
    memset(&src, 0, sizeof src);
    int rc = seg_source_unpack(&in, 1 << 20, "SEG write request", &src, e);
    int32_t flags[3] = {0, 0, 0}; /* fractional, omit empty frames, mask as packed bits */
    sandbox_in_read(&in, flags, sizeof flags);
    int has_root = 0, has_label = 0, has_desc = 0, has_path = 0;
    char *root = opt_unstring(&in, &has_root), *label = opt_unstring(&in, &has_label),
         *desc = opt_unstring(&in, &has_desc), *path = opt_unstring(&in, &has_path);
    size_t mask_n = (size_t)src.n_slices * (size_t)src.rows * (size_t)src.cols;
    if (flags[2])
        mask_n = (mask_n + 7) / 8;
    if (rc == C2_OK && (in.bad || !path || src.rows <= 0 || src.cols <= 0 || in.n - in.at != mask_n))
        rc = c2_fail(e, C2_EINVAL, "bad SEG write request");
    if (rc == C2_OK) {
        seg_write_opts opt = {.fractional = flags[0], .omit_empty_frames = flags[1],
                              .uid_root = has_root ? root : NULL, .label = has_label ? label : NULL,
                              .description = has_desc ? desc : NULL};   /* fixed UIDs / dates: not sent */
        seg_write_info info;
        memset(&info, 0, sizeof info);
        rc = flags[2] ? seg_write_bits(&src, req + in.at, &opt, path, &info, e)
                      : seg_write(&src, req + in.at, &opt, path, &info, e);
        if (rc == C2_OK && (rc = sandbox_out_append(out, &info, sizeof info)) != C2_OK)
            c2_fail(e, rc, "%s: out of memory", path);
    }
    free(root);
    free(label);
    free(desc);
    free(path);
    seg_source_free(&src);
    return rc;
}

static int write_isolated(const seg_source *src, const uint8_t *mask, int bits, const seg_write_opts *opt,
                          const char *out_path, seg_write_info *info, c2_err *e)
{
    const char *what = src->n_files > 0 ? src->files[0] : out_path;
    sandbox_out req = {0}, r;
    int32_t flags[3] = {opt->fractional, opt->omit_empty_frames, bits};
    size_t mask_n = (size_t)src->n_slices * (size_t)src->rows * (size_t)src->cols;
    if (bits)
        mask_n = (mask_n + 7) / 8;
    int rc = seg_source_pack(&req, src);
    if (rc == C2_OK)
        rc = sandbox_out_append(&req, flags, sizeof flags);
    if (rc == C2_OK)
        rc = opt_string(&req, opt->uid_root);
    if (rc == C2_OK)
        rc = opt_string(&req, opt->label);
    if (rc == C2_OK)
        rc = opt_string(&req, opt->description);
    if (rc == C2_OK)
        rc = opt_string(&req, out_path);
    if (rc == C2_OK)
        rc = sandbox_out_append(&req, mask, mask_n);
    if (rc != C2_OK) {
        sandbox_out_free(&req);
        return c2_fail(e, rc, "%s: out of memory", out_path);
    }
    dicom_dictionary_preload();
    rc = sandbox_call(what, "seg-write", "DICOM SEG writer", seg_write_job, req.data, req.n, NULL, &r, e);
    sandbox_out_free(&req);
    long pid = sandbox_last_worker_pid();
    if (rc != C2_OK && pid > 0) { /* a worker that died mid-write leaves its temporary */
        char tmp[4200];
        c2_temp_name_of(tmp, sizeof tmp, out_path, pid);
        remove(tmp);
    }
    if (rc == C2_OK && r.n != sizeof(seg_write_info))
        rc = c2_fail(e, C2_EINVAL, "%s: the DICOM SEG writer returned an inconsistent result", out_path);
    if (rc == C2_OK && info) {
        memcpy(info, r.data, sizeof *info);
        info->sop_instance[sizeof info->sop_instance - 1] = info->series_uid[sizeof info->series_uid - 1] = 0;
    }
    sandbox_out_free(&r);
    return rc;
}

int seg_write_isolated(const seg_source *src, const uint8_t *mask, const seg_write_opts *opt, const char *out_path,
                       seg_write_info *info, c2_err *e)
{
    return write_isolated(src, mask, 0, opt, out_path, info, e);
}

int seg_write_bits_isolated(const seg_source *src, const uint8_t *bits, const seg_write_opts *opt,
                            const char *out_path, seg_write_info *info, c2_err *e)
{
    return write_isolated(src, bits, 1, opt, out_path, info, e);
}
