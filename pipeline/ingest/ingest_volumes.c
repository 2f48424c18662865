/* pipeline/ingest/ingest_volumes: NIfTI volumes and DICOM series -> canonical planes ->
 * samples. A NIfTI volume is cut along the voxel axis closest to the patient's
 * head-feet axis (inferior -> superior); a DICOM series keeps its acquired planes in
 * their sorted order. Each plane is put into the canonical display orientation
 * (io/preprocess.h) and resized; its sample records the exact model -> source map
 * and the source -> LPS geometry.
 * NIfTI masks: NAME_mask.nii[.gz] or NAME_label.nii[.gz] beside NAME.nii[.gz], or a
 * file of the same name in --masks DIR; the grid must equal the image's (dims and
 * affine within 1e-3 mm); voxels > 0 are lesion. Only volume 0 of a 4D file is read.
 * A volume is read whole; its planes are cut, oriented, resized and compressed on the pool
 * (base/pool.h, --jobs) and written in order by the calling thread. */
#include "base/pool.h"
#include "pipeline/ingest/ingest_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const nifti_exts[] = {".nii.gz", ".nii", ".hdr", NULL};
static const char *const mask_suffixes[] = {"_mask", "_label", NULL};

/* The file name without its NIfTI extension, into out. */
static void nifti_stem(char *out, size_t cap, const char *path)
{
    if (out != path) /* in place is allowed: snprintf must not copy onto its own source */
        snprintf(out, cap, "%s", path);
    for (int i = 0; nifti_exts[i]; i++)
        if (c2_ends_with_ci(out, nifti_exts[i])) {
            out[strlen(out) - strlen(nifti_exts[i])] = 0;
            return;
        }
}

int ingest_nifti_is_mask(const char *path)
{
    char stem[4096];
    nifti_stem(stem, sizeof stem, path);
    for (int i = 0; mask_suffixes[i]; i++)
        if (c2_ends_with_ci(stem, mask_suffixes[i]))
            return 1;
    return 0;
}

int ingest_nifti_mask(const ingest_ctx *c, const char *path, char *out, size_t cap)
{
    char stem[4096];
    nifti_stem(stem, sizeof stem, path);
    for (int s = 0; mask_suffixes[s]; s++)
        for (int x = 0; nifti_exts[x]; x++) {
            snprintf(out, cap, "%s%s%s", stem, mask_suffixes[s], nifti_exts[x]);
            if (x < 2 && access(out, R_OK) == 0)
                return 1;
        }
    if (c->masks_dir) {
        c2_path_join(out, cap, c->masks_dir, c2_basename(path));
        if (access(out, R_OK) == 0)
            return 1;
    }
    return 0;
}

/* Unit direction of voxel axis a of a voxel -> LPS affine. */
static void axis_direction(double d[3], const double A[4][4], int a)
{
    double n = sqrt(A[0][a] * A[0][a] + A[1][a] * A[1][a] + A[2][a] * A[2][a]);
    for (int r = 0; r < 3; r++)
        d[r] = n > 0 ? A[r][a] / n : (r == a);
}

void ingest_resize(const ingest_ctx *c, const float *image01, const uint8_t *mask01, int H, int W, float *image,
                   uint8_t *mask, double model_to_plane[3][3])
{
    int S = c->pp.size;
    resize_bilinear(image, S, S, image01, H, W);
    if (mask01)
        resize_nearest_u8(mask, S, S, mask01, H, W);
    resize_model_to_source(model_to_plane, S, H, W);
}

/* Maps a NIfTI volume's intensities to [0,1] in place (HU window or min / max). */
static void volume_to_unit(const ingest_ctx *c, nifti_volume *v)
{
    int64_t n = v->nx * v->ny * v->nz;
    if (c->intensity == INTENSITY_HU)
        window_apply(v->data, v->data, n, c->pp.window_center, c->pp.window_width);
    else
        intensity_scale(v->data, v->data, n, v->min_value, v->max_value);
}

/* One volume's slicing, shared read-only by its plane jobs. */
typedef struct volume_work {
    ingest_ctx *c;
    const nifti_volume *v, *m;  /* m NULL: no mask */
    const char *path, *mask_path;
    char case_id[256];
    int slice_axis, ax_row, ax_col, H, W, nslice, flip; /* flip: k runs superior -> inferior */
    int64_t stride[3];
    orient_plan plan;
    double orient_m[3][3];
    int rc;                     /* the writer's state */
    c2_err e;
} volume_work;

/* One plane's result; the resized image [S,S] and mask [S,S] follow the header. */
typedef struct plane_slot {
    int rc;
    c2_err e;
    double model_to_source[3][3];
    cache_chunk chunk;          /* the encoded sample (the writer frees it) */
    float image[];
} plane_slot;

/* Plane t (inferior -> superior): cut, orient, resize, compress. */
static void plane_job(void *user, int64_t t, void *slot_mem)
{
    const volume_work *w = user;
    plane_slot *slot = slot_mem;
    const ingest_ctx *c = w->c;
    if (ingest_stopping(c)) {   /* a failed write stopped the run: not read */
        slot->rc = C2_EIO;
        return;
    }
    int H = w->H, W = w->W, S = c->pp.size, k = (int)(w->flip ? w->nslice - 1 - t : t);
    uint8_t *mask = (uint8_t *)(slot->image + (size_t)S * S);
    float *src = malloc((size_t)H * W * sizeof *src), *canon = malloc((size_t)H * W * sizeof *canon);
    uint8_t *msrc = w->m ? malloc((size_t)H * W) : NULL, *mcanon = w->m ? malloc((size_t)H * W) : NULL;
    if (!src || !canon || (w->m && (!msrc || !mcanon))) {
        slot->rc = c2_fail(&slot->e, C2_ENOMEM, "%s: out of memory", w->path);
        goto out;
    }
    for (int r = 0; r < H; r++)
        for (int q = 0; q < W; q++) {
            int64_t at = (int64_t)r * w->stride[w->ax_row] + (int64_t)q * w->stride[w->ax_col] +
                         (int64_t)k * w->stride[w->slice_axis];
            src[(size_t)r * W + q] = w->v->data[at];
            if (w->m)
                msrc[(size_t)r * W + q] = w->m->data[at] > 0;
        }
    orient_apply_f32(canon, src, H, W, &w->plan);
    if (w->m)
        orient_apply_u8(mcanon, msrc, H, W, &w->plan);
    /* plane (row, col, 1) -> voxel (i, j, k): row on ax_row, col on ax_col, k fixed */
    double to_voxel[3][3] = {{0}}, plane_to_source[3][3], model_to_plane[3][3];
    to_voxel[w->ax_row][0] = 1;
    to_voxel[w->ax_col][1] = 1;
    to_voxel[w->slice_axis][2] = k;
    mat3_mul(plane_to_source, to_voxel, w->orient_m);
    int Hc = w->plan.transpose ? W : H, Wc = w->plan.transpose ? H : W;
    ingest_resize(c, canon, mcanon, Hc, Wc, slot->image, mask, model_to_plane);
    mat3_mul(slot->model_to_source, plane_to_source, model_to_plane);
    slot->rc = cache_chunk_encode(S, slot->image, w->m ? mask : NULL, &slot->chunk, &slot->e);
out:
    free(src);
    free(canon);
    free(msrc);
    free(mcanon);
}

/* Plane t's sample, in order (the calling thread: the one writer). */
static void plane_done(void *user, int64_t t, void *slot_mem)
{
    volume_work *w = user;
    plane_slot *slot = slot_mem;
    ingest_ctx *c = w->c;
    if (w->rc == C2_OK && slot->rc != C2_OK) {
        w->rc = slot->rc;
        w->e = slot->e;
    }
    if (w->rc == C2_OK) {
        cache_sample s = {0};
        memcpy(s.model_to_source, slot->model_to_source, sizeof s.model_to_source);
        s.has_mask = w->m != NULL;
        s.file = w->path;
        s.mask_file = w->mask_path;
        s.slice_index = (int)t;
        s.case_id = w->case_id;
        s.modality = "";
        s.domain = c->intensity == INTENSITY_HU ? "ct_hu" : "raw";
        s.source_rows = w->H;
        s.source_cols = w->W;
        memcpy(s.source_to_patient, w->v->voxel_to_lps, sizeof w->v->voxel_to_lps);
        s.has_patient_geometry = 1;
        s.nonfinite_count = t == 0 ? w->v->nonfinite_count : 0;
        w->rc = ingest_add_chunk(c, &s, &slot->chunk, &w->e);
        c->n_slices++;
    }
    cache_chunk_free(&slot->chunk);
}

static int nifti_ingest_volume(ingest_ctx *c, const char *path, const char *mask_path, c2_err *e)
{
    nifti_volume v = {0}, m = {0};
    int rc = nifti_volume_read_isolated(path, 0, &v, e);
    if (rc != C2_OK)
        return rc;
    if (v.nt > 1)
        ingest_warn(c, "%s: 4D file with %lld volumes, only volume 0 is ingested", path, (long long)v.nt);
    if (v.nonfinite_count)
        ingest_warn(c, "%s: %lld NaN / Inf voxels set to the volume minimum %g", path, (long long)v.nonfinite_count,
                v.min_value);
    if (mask_path && (rc = nifti_volume_read_isolated(mask_path, 0, &m, e)) == C2_OK)
        rc = nifti_same_grid(&v, path, &m, mask_path, 1e-3, e);
    if (rc != C2_OK) {
        nifti_volume_free(&v);
        nifti_volume_free(&m);
        return rc;
    }
    volume_to_unit(c, &v);
    double dir[3][3];
    int slice_axis = 0;
    for (int a = 0; a < 3; a++) {
        axis_direction(dir[a], v.voxel_to_lps, a);
        if (fabs(dir[a][2]) > fabs(dir[slice_axis][2]))
            slice_axis = a;
    }
    int ax_col = slice_axis == 0 ? 1 : 0, ax_row = slice_axis == 2 ? 1 : 2; /* in-plane axes, col faster */
    int64_t dims[3] = {v.nx, v.ny, v.nz}, stride[3] = {1, v.nx, v.nx * v.ny};
    int H = (int)dims[ax_row], W = (int)dims[ax_col], nslice = (int)dims[slice_axis];
    orient_plan plan;
    orient_plan_make(&plan, dir[ax_col], dir[ax_row]);
    volume_work w = {c, &v, m.data ? &m : NULL, path, mask_path, {0}, slice_axis, ax_row, ax_col, H, W, nslice,
                     dir[slice_axis][2] < 0, {stride[0], stride[1], stride[2]}, plan, {{0}}, C2_OK, {0}};
    snprintf(w.case_id, sizeof w.case_id, "%s", c2_basename(path));
    nifti_stem(w.case_id, sizeof w.case_id, w.case_id);
    orient_model_to_source(w.orient_m, H, W, &plan);
    size_t px = (size_t)c->pp.size * c->pp.size;
    rc = c2_pool_map(c->pool, nslice, sizeof(plane_slot) + px * (sizeof(float) + 1), plane_job, plane_done, &w, e);
    if (rc == C2_OK && w.rc != C2_OK)
        rc = c2_fail(e, w.rc, "%s", w.e.msg);
    c->n_volumes += rc == C2_OK;
    nifti_volume_free(&v);
    nifti_volume_free(&m);
    return rc;
}

void ingest_nifti(ingest_ctx *c)
{
    for (int i = 0; i < c->n_files && !c->abort_rc; i++) {
        ingest_file *f = &c->files[i];
        if (f->state != FILE_PENDING || !nifti_path_is_nifti(f->path) || ingest_nifti_is_mask(f->path))
            continue;
        char mask[4200];
        int has_mask = ingest_nifti_mask(c, f->path, mask, sizeof mask);
        c2_err e = {0};
        int rc = f->over ? C2_ELIMIT : nifti_ingest_volume(c, f->path, has_mask ? mask : NULL, &e);
        if (f->over) /* left out by the plan: reported, not read */
            ingest_volume_over_reason(c, f->path, has_mask, f->over, &e);
        if (rc != C2_OK) {
            ingest_report(c, f, e.msg);
        } else {
            ingest_done(c, f, FILE_DONE);
        }
        for (int k = 0; has_mask && k < c->n_files; k++)
            if (c->files[k].state == FILE_PENDING && strcmp(c->files[k].path, mask) == 0)
                ingest_done(c, &c->files[k], rc == C2_OK ? FILE_CONSUMED : FILE_FAILED);
    }
    for (int i = 0; i < c->n_files; i++)
        if (c->files[i].state == FILE_PENDING && nifti_path_is_nifti(c->files[i].path))
            ingest_report(c, &c->files[i], "NIfTI mask without a matching image volume beside it");
}
