/* io/isolated: the packing of io's isolated readers (isolated.h). Each reader is a job
 * run in a sandbox worker: its request and answer are flat byte strings, and every length
 * in an answer is checked against the answer's size before it is trusted. */
#include "io/isolated.h"

#include <stdlib.h>
#include <string.h>

/* ---- dicom_object <-> bytes: the struct, frame[frames], voi_lut[entries] ---- */

static int object_pack(sandbox_out *out, const dicom_object *o)
{
    int rc = sandbox_out_append(out, o, sizeof *o);
    if (rc == C2_OK)
        rc = sandbox_out_append(out, o->frame, (size_t)o->frames * sizeof *o->frame);
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
    size_t frames_n = (size_t)o->frames * sizeof(dicom_frame), lut_n = has_lut ? (size_t)o->voi_lut_entries * 2 : 0;
    if (o->frames <= 0 || frames_n / sizeof(dicom_frame) != (size_t)o->frames || in->n - in->at < frames_n + lut_n)
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

/* ---- frames: request = first, count, the object; answer = floats ---- */

static int frames_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    sandbox_in in = {req, n, 0, 0};
    int32_t first = 0, count = 0;
    sandbox_in_read(&in, &first, sizeof first);
    sandbox_in_read(&in, &count, sizeof count);
    dicom_object o;
    int rc = object_unpack(&in, "DICOM frames request", &o, e);
    if (rc != C2_OK)
        return rc;
    int64_t plane = (int64_t)o.rows * o.cols;
    rc = count > 0 ? c2_check_dims(e, o.path, count, o.rows, o.cols, sizeof(float)) : C2_EINVAL;
    float *px = rc == C2_OK ? malloc((size_t)(plane * count) * sizeof *px) : NULL;
    if (rc == C2_OK && !px)
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory for %d frames", o.path, count);
    if (rc == C2_OK)
        rc = dicom_read_frames(&o, first, count, px, e);
    if (rc == C2_OK && (rc = sandbox_out_append(out, px, (size_t)(plane * count) * sizeof *px)) != C2_OK)
        c2_fail(e, rc, "%s: out of memory", o.path);
    free(px);
    dicom_object_free(&o);
    return rc;
}

int dicom_read_frames_isolated(const dicom_object *o, int first_frame, int n_frames, float *out, c2_err *e)
{
    sandbox_out req = {0}, r;
    int32_t first = first_frame, count = n_frames;
    int rc = sandbox_out_append(&req, &first, sizeof first);
    if (rc == C2_OK)
        rc = sandbox_out_append(&req, &count, sizeof count);
    if (rc == C2_OK)
        rc = object_pack(&req, o);
    if (rc != C2_OK) {
        sandbox_out_free(&req);
        return c2_fail(e, rc, "%s: out of memory", o->path);
    }
    rc = sandbox_call(o->path, "dicom-frames", "DICOM decoder", frames_job, req.data, req.n, NULL, &r, e);
    sandbox_out_free(&req);
    size_t want = (size_t)o->rows * (size_t)o->cols * (size_t)(n_frames > 0 ? n_frames : 0) * sizeof(float);
    if (rc == C2_OK && r.n != want)
        rc = c2_fail(e, C2_EINVAL, "%s: the DICOM decoder returned %zu bytes, not %zu", o->path, r.n, want);
    if (rc == C2_OK)
        memcpy(out, r.data, want);
    sandbox_out_free(&r);
    return rc;
}

/* ---- seg_source: request = n, paths (n = 0: one path for seg_source_load); answer = the
 * struct, slices, file names ---- */

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
        rc = sandbox_out_append(out, &src, sizeof src);
        if (rc == C2_OK)
            rc = sandbox_out_append(out, src.slices, (size_t)src.n_slices * sizeof *src.slices);
        for (int i = 0; rc == C2_OK && i < src.n_files; i++)
            rc = sandbox_out_string(out, src.files[i]);
        if (rc != C2_OK)
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
        sandbox_in_read(&in, src, sizeof *src);
        int n_slices = src->n_slices, n_files = src->n_files;
        src->slices = NULL;
        src->files = NULL;
        src->n_slices = src->n_files = 0;
        if (in.bad || n_slices < 0 || n_files < 0 || n_files > n ||
            (size_t)n_slices > (in.n - in.at) / sizeof(seg_slice))
            rc = c2_fail(e, C2_EINVAL, "%s: the DICOM parser returned an inconsistent SEG source", what);
        if (rc == C2_OK) {
            src->slices = calloc((size_t)(n_slices ? n_slices : 1), sizeof *src->slices);
            src->files = calloc((size_t)(n_files ? n_files : 1), sizeof *src->files);
            if (!src->slices || !src->files)
                rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", what);
        }
        if (rc == C2_OK) {
            sandbox_in_read(&in, src->slices, (size_t)n_slices * sizeof *src->slices);
            src->n_slices = n_slices;
            for (int i = 0; i < n_files && !in.bad; i++) {
                src->files[i] = sandbox_in_string(&in);
                src->n_files += src->files[i] != NULL;
            }
            for (int i = 0; i < src->n_slices && !in.bad; i++)
                in.bad |= src->slices[i].file < 0 || src->slices[i].file >= src->n_files;
            if (in.bad || in.at != in.n)
                rc = c2_fail(e, C2_EINVAL, "%s: the DICOM parser returned an inconsistent SEG source", what);
        }
        if (rc != C2_OK) {
            seg_source_free(src);
            memset(src, 0, sizeof *src);
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
