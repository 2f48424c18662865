/* io/nifti: NIfTI-1/2 volumes through nifticlib's NIfTI-2 API, converted to float
 * voxels with an LPS geometry; and a NIfTI-1 writer that fills the header by hand so
 * every write error is seen (nifti_image_write returns nothing). See io/nifti.h. */
#include "io/nifti.h"

#include <nifti2_io.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int nifti_path_is_nifti(const char *path)
{
    return c2_ends_with_ci(path, ".nii") || c2_ends_with_ci(path, ".nii.gz") || c2_ends_with_ci(path, ".hdr");
}

void nifti_volume_free(nifti_volume *v)
{
    free(v->data);
    memset(v, 0, sizeof *v);
}

/* nifticlib prints its own "** ERROR" lines unless told not to: our errors say it once. */
static void nifti_quiet(void) { nifti_set_debug_level(0); }

/* The header's voxel -> RAS affine by the documented precedence, converted to LPS. */
static void geometry_from_header(nifti_volume *v, const nifti_image *nim)
{
    nifti_dmat44 A;
    if (nim->sform_code > 0) {
        A = nim->sto_xyz;
        v->geom_source = NIFTI_GEOM_SFORM;
    } else if (nim->qform_code > 0) {
        A = nim->qto_xyz;
        v->geom_source = NIFTI_GEOM_QFORM;
    } else {
        memset(&A, 0, sizeof A);
        A.m[0][0] = nim->dx > 0 ? nim->dx : 1;
        A.m[1][1] = nim->dy > 0 ? nim->dy : 1;
        A.m[2][2] = nim->dz > 0 ? nim->dz : 1;
        A.m[3][3] = 1;
        v->geom_source = NIFTI_GEOM_PIXDIM;
    }
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            v->voxel_to_lps[r][c] = (r < 2 ? -1.0 : 1.0) * A.m[r][c]; /* RAS -> LPS: negate x and y */
}

/* The header as nifti_image_read will see it, checked where Debian's nifticlib 3.0.1 trusts it:
 * its header conversion (nifti_convert_n1hdr2nim / n2hdr2nim) walks dim[1..dim[0]] and
 * pixdim[1..dim[0]] before it checks that dim[0] is at most 7, so a header with dim[0] = 1024
 * (or a byte-swapped 32767) writes past the header it holds on the stack (fuzz_nifti, session
 * 11: glibc's "stack smashing detected", or a crash); an unknown datatype or dim[1] < 1 makes
 * it print its own stderr line. All are refused here, from the raw bytes, with the swap decision the
 * library makes (NIfTI-1: by dim[0]; NIfTI-2: by sizeof_hdr). Sets v->version (1 or 2). */
static int header_check(const char *path, nifti_volume *v, c2_err *e)
{
    char *hname = nifti_findhdrname(path);
    znzFile f = hname ? znzopen(hname, "rb", nifti_is_gzfile(hname)) : NULL;
    free(hname);
    uint8_t h[540];
    int64_t n = znz_isnull(f) ? -1 : (int64_t)znzread(h, 1, sizeof h, f);
    if (!znz_isnull(f))
        znzclose(f);
    int version = n >= 348 ? nifti_header_version((const char *)h, (size_t)n) : -1;
    if ((version != 1 && version != 2) || (version == 2 && n < 540))
        return c2_fail(e, C2_EINVAL, "%s: not a readable NIfTI-1/2 header", path);
    int64_t dim0, dim1;
    int datatype;
    if (version == 1) {
        int16_t d[2], t;
        memcpy(d, h + 40, 4);
        memcpy(&t, h + 70, 2);
        int swap = d[0] < 0 || d[0] > 7;   /* NIFTI_NEEDS_SWAP */
        dim0 = swap ? (int16_t)__builtin_bswap16((uint16_t)d[0]) : d[0];
        dim1 = swap ? (int16_t)__builtin_bswap16((uint16_t)d[1]) : d[1];
        datatype = swap ? (int16_t)__builtin_bswap16((uint16_t)t) : t;
    } else {
        int32_t size;
        int64_t d[2];
        int16_t t;
        memcpy(&size, h, 4);
        memcpy(d, h + 16, 16);
        memcpy(&t, h + 12, 2);
        int swap = size != 540;            /* nifti_header_version took it: 540 byte-swapped */
        dim0 = swap ? (int64_t)__builtin_bswap64((uint64_t)d[0]) : d[0];
        dim1 = swap ? (int64_t)__builtin_bswap64((uint64_t)d[1]) : d[1];
        datatype = swap ? (int16_t)__builtin_bswap16((uint16_t)t) : t;
    }
    if (dim0 < 1 || dim0 > 7)
        return c2_fail(e, C2_EINVAL, "%s: invalid NIfTI header (dim[0] = %lld dimensions, 1 to 7)", path,
                       (long long)dim0);
    if (dim1 < 1)
        return c2_fail(e, C2_EINVAL, "%s: invalid NIfTI header (dim[1] = %lld)", path, (long long)dim1);
    int nbyper = 0, swapsize = 0;
    nifti_datatype_sizes(datatype, &nbyper, &swapsize);
    if (nbyper == 0 || datatype == DT_BINARY)
        return c2_fail(e, C2_EINVAL, "%s: invalid NIfTI header (unknown datatype %d)", path, datatype);
    v->version = version;
    return C2_OK;
}

static int header_fill(const char *path, nifti_volume *v, nifti_image **out, c2_err *e)
{
    memset(v, 0, sizeof *v);
    nifti_quiet();
    if (access(path, R_OK) != 0)
        return c2_fail(e, C2_ENOTFOUND, "%s: cannot open the file", path);
    int rc = header_check(path, v, e);
    if (rc != C2_OK)
        return rc;
    nifti_image *nim = nifti_image_read(path, 0);
    if (!nim)
        return c2_fail(e, C2_EINVAL, "%s: not a readable NIfTI-1/2 header", path);
    if (nim->ndim < 1 || nim->nx < 1 || nim->ny < 1 || nim->nz < 1 || nim->nt < 1) {
        nifti_image_free(nim);
        return c2_fail(e, C2_EINVAL, "%s: invalid dimensions in the header", path);
    }
    /* dims 5..7 must be 1: vector / tensor data is not an image (compared one by one: their
     * product can overflow; read before the header is freed) */
    long long nu = (long long)nim->nu, nv = (long long)nim->nv, nw = (long long)nim->nw;
    if (nu != 1 || nv != 1 || nw != 1) {
        nifti_image_free(nim);
        return c2_fail(e, C2_EUNSUPPORTED, "%s: 5D+ data (dims 5..7 = %lld x %lld x %lld) is not a volume", path,
                       nu, nv, nw);
    }
    v->datatype = nim->datatype;
    v->bytes_per_voxel = nim->nbyper;
    v->nx = nim->nx;
    v->ny = nim->ny;
    v->nz = nim->nz;
    v->nt = nim->nt;
    v->pixdim[0] = nim->dx;
    v->pixdim[1] = nim->dy;
    v->pixdim[2] = nim->dz;
    v->scl_slope = (float)nim->scl_slope;
    v->scl_inter = (float)nim->scl_inter;
    geometry_from_header(v, nim);
    *out = nim;
    return C2_OK;
}

int nifti_volume_read_header(const char *path, nifti_volume *v, c2_err *e)
{
    nifti_image *nim = NULL;
    int rc = header_fill(path, v, &nim, e);
    if (rc == C2_OK)
        nifti_image_free(nim);
    return rc;
}

/* Converts n stored values of a NIfTI datatype to float; 0 if the type is not scalar real. */
static int values_to_float(float *out, const void *in, int64_t n, int datatype)
{
#define CONVERT(T)                                      \
    for (int64_t i = 0; i < n; i++)                     \
        out[i] = (float)((const T *)in)[i];             \
    return 1
    switch (datatype) {
    case NIFTI_TYPE_UINT8: CONVERT(uint8_t);
    case NIFTI_TYPE_INT8: CONVERT(int8_t);
    case NIFTI_TYPE_INT16: CONVERT(int16_t);
    case NIFTI_TYPE_UINT16: CONVERT(uint16_t);
    case NIFTI_TYPE_INT32: CONVERT(int32_t);
    case NIFTI_TYPE_UINT32: CONVERT(uint32_t);
    case NIFTI_TYPE_INT64: CONVERT(int64_t);
    case NIFTI_TYPE_UINT64: CONVERT(uint64_t);
    case NIFTI_TYPE_FLOAT32: CONVERT(float);
    case NIFTI_TYPE_FLOAT64: CONVERT(double);
    default: return 0;
    }
#undef CONVERT
}

/* Applies scl_slope / scl_inter, replaces non-finite voxels by the smallest finite
 * value (0 when none is finite) and records the count and range. */
static void values_clean(nifti_volume *v, int64_t n)
{
    double slope = v->scl_slope, inter = v->scl_inter;
    int scaled = slope != 0 && isfinite(slope) && isfinite(inter) && !(slope == 1 && inter == 0);
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        float x = scaled ? (float)(slope * v->data[i] + inter) : v->data[i];
        v->data[i] = x;
        if (isfinite(x)) {
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
    }
    if (lo > hi)
        lo = hi = 0;
    v->nonfinite_count = 0;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v->data[i])) {
            v->data[i] = lo;
            v->nonfinite_count++;
        }
    v->min_value = lo;
    v->max_value = hi;
}

/* Reads the stored bytes of volume t (n voxels) in native byte order. nifticlib's own
 * readers silently turn NaN / Inf into 0, which would hide them from the count. */
static int64_t volume_read_raw(const nifti_image *nim, int64_t t, int64_t n, void **out)
{
    size_t bytes = (size_t)n * (size_t)nim->nbyper;
    uint8_t *buf = malloc(bytes ? bytes : 1);
    znzFile f = buf ? znzopen(nim->iname, "rb", nifti_is_gzfile(nim->iname)) : NULL;
    int64_t got = -1;
    if (!znz_isnull(f)) {
        if (znzseek(f, (long)(nim->iname_offset + t * (int64_t)bytes), SEEK_SET) >= 0)
            got = (int64_t)znzread(buf, 1, bytes, f);
        znzclose(f);
    }
    if (got == (int64_t)bytes && nim->byteorder != nifti_short_order() && nim->swapsize > 1)
        nifti_swap_Nbytes(n, nim->swapsize, buf);
    *out = buf;
    return got;
}

int nifti_volume_read(const char *path, int64_t t, nifti_volume *v, c2_err *e)
{
    nifti_image *nim = NULL;
    int rc = header_fill(path, v, &nim, e);
    if (rc != C2_OK)
        return rc;
    if (v->geom_source == NIFTI_GEOM_PIXDIM)
        c2_warn("%s: neither sform nor qform is set; using the pixdim diagonal as geometry", path);
    if (t < 0 || t >= v->nt) {
        rc = c2_fail(e, C2_EINVAL, "%s: volume %lld requested, the file has %lld", path, (long long)t,
                     (long long)v->nt);
        goto fail;
    }
    if (nim->iname && strcmp(nim->iname, path) != 0 && access(nim->iname, R_OK) != 0) {
        rc = c2_fail(e, C2_ENOTFOUND, "%s: header-only NIfTI pair, its image file %s is missing", path,
                     c2_basename(nim->iname));
        goto fail;
    }
    size_t widest = nim->nbyper > (int)sizeof(float) ? (size_t)nim->nbyper : sizeof(float);
    if ((rc = c2_check_dims(e, path, v->nx, v->ny, v->nz, widest)) != C2_OK)
        goto fail;
    int64_t n = v->nx * v->ny * v->nz;
    if (!values_to_float(NULL, NULL, 0, nim->datatype)) { /* n = 0: only asks whether the type is known */
        rc = c2_fail(e, C2_EUNSUPPORTED, "%s: voxel type %s is not a scalar real type", path,
                     nifti_datatype_to_string(nim->datatype));
        goto fail;
    }
    v->data = malloc((size_t)n * sizeof(float));
    if (!v->data) {
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory for %lld voxels", path, (long long)n);
        goto fail;
    }
    void *raw = NULL;
    int64_t got = volume_read_raw(nim, t, n, &raw);
    if (got != n * nim->nbyper) {
        free(raw);
        rc = c2_fail(e, C2_EINVAL, "%s: voxel data is truncated or unreadable (%lld of %lld bytes)", path,
                     (long long)(got < 0 ? 0 : got), (long long)(n * nim->nbyper));
        goto fail;
    }
    values_to_float(v->data, raw, n, nim->datatype);
    free(raw);
    values_clean(v, n);
    nifti_image_free(nim);
    return C2_OK;
fail:
    nifti_image_free(nim);
    nifti_volume_free(v);
    return rc;
}

int nifti_same_grid(const nifti_volume *a, const char *a_name, const nifti_volume *b, const char *b_name, double tol_mm,
                    c2_err *e)
{
    if (a->nx != b->nx || a->ny != b->ny || a->nz != b->nz)
        return c2_fail(e, C2_EMISMATCH, "%s: grid %lldx%lldx%lld differs from %s (%lldx%lldx%lld)", b_name,
                       (long long)b->nx, (long long)b->ny, (long long)b->nz, a_name, (long long)a->nx,
                       (long long)a->ny, (long long)a->nz);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            if (fabs(a->voxel_to_lps[r][c] - b->voxel_to_lps[r][c]) > tol_mm)
                return c2_fail(e, C2_EMISMATCH,
                               "%s: affine differs from %s's (entry [%d][%d]: %.6g vs %.6g, tolerance %g mm)", b_name,
                               a_name, r, c, b->voxel_to_lps[r][c], a->voxel_to_lps[r][c], tol_mm);
    return C2_OK;
}

static int datatype_size(int datatype)
{
    switch (datatype) {
    case NIFTI_TYPE_UINT8: return 1;
    case NIFTI_TYPE_INT16: return 2;
    case NIFTI_TYPE_FLOAT32: return 4;
    default: return 0;
    }
}

/* A NIfTI-1 header for the volume: sform = the affine, qform = its rigid part
 * (quaternion from nifticlib), both code 1 (scanner anatomical), units mm. */
static void header_make(nifti_1_header *h, int datatype, int64_t nx, int64_t ny, int64_t nz,
                        const double voxel_to_lps[4][4])
{
    memset(h, 0, sizeof *h);
    h->sizeof_hdr = 348;
    h->dim[0] = 3;
    h->dim[1] = (short)nx;
    h->dim[2] = (short)ny;
    h->dim[3] = (short)nz;
    h->dim[4] = h->dim[5] = h->dim[6] = h->dim[7] = 1;
    h->datatype = (short)datatype;
    h->bitpix = (short)(8 * datatype_size(datatype));
    h->vox_offset = 352;
    h->scl_slope = 0;
    h->xyzt_units = NIFTI_UNITS_MM;
    h->qform_code = h->sform_code = NIFTI_XFORM_SCANNER_ANAT;
    nifti_dmat44 R;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            R.m[r][c] = (r < 2 ? -1.0 : 1.0) * voxel_to_lps[r][c]; /* LPS -> RAS */
    for (int c = 0; c < 4; c++) {
        h->srow_x[c] = (float)R.m[0][c];
        h->srow_y[c] = (float)R.m[1][c];
        h->srow_z[c] = (float)R.m[2][c];
    }
    double qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac;
    nifti_dmat44_to_quatern(R, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac);
    h->quatern_b = (float)qb;
    h->quatern_c = (float)qc;
    h->quatern_d = (float)qd;
    h->qoffset_x = (float)qx;
    h->qoffset_y = (float)qy;
    h->qoffset_z = (float)qz;
    h->pixdim[0] = (float)qfac;
    h->pixdim[1] = (float)dx;
    h->pixdim[2] = (float)dy;
    h->pixdim[3] = (float)dz;
    memcpy(h->magic, "n+1", 4);
}

int nifti_volume_write(const char *path, const void *data, int datatype, int64_t nx, int64_t ny, int64_t nz,
                       const double voxel_to_lps[4][4], c2_err *e)
{
    int elem = datatype_size(datatype);
    if (!elem)
        return c2_fail(e, C2_EUNSUPPORTED, "%s: can only write uint8, int16 or float32 NIfTI (datatype %d)", path,
                       datatype);
    if (nx < 1 || ny < 1 || nz < 1 || nx > 32767 || ny > 32767 || nz > 32767)
        return c2_fail(e, C2_EINVAL, "%s: dimensions %lldx%lldx%lld do not fit a NIfTI-1 header", path,
                       (long long)nx, (long long)ny, (long long)nz);
    nifti_1_header h;
    header_make(&h, datatype, nx, ny, nz, voxel_to_lps);
    char tmp[4200];
    c2_temp_name(tmp, sizeof tmp, path);
    znzFile f = znzopen(tmp, "wb", c2_ends_with_ci(path, ".gz"));
    if (znz_isnull(f))
        return c2_fail(e, c2_write_status(errno), "%s: cannot create the file (%s)", path, strerror(errno));
    static const char extender[4] = {0, 0, 0, 0};
    size_t bytes = (size_t)(nx * ny * nz) * (size_t)elem;
    errno = 0;
    int ok = znzwrite(&h, sizeof h, 1, f) == 1 && znzwrite(extender, 4, 1, f) == 1 &&
             znzwrite(data, 1, bytes, f) == bytes;
    int err = ok ? 0 : errno;   /* a successful write may leave a stale errno: only a failure's counts */
    errno = 0;
    ok = (znzclose(f) == 0) && ok;
    err = err ? err : errno;    /* the close's: the last buffered bytes (or gzip's tail) met a full disk */
    if (!ok) {
        remove(tmp);
        return c2_fail(e, c2_write_status(err), "%s: write failed (%s)", path, err ? strerror(err) : "disk full?");
    }
    return c2_rename_into_place(tmp, path, e);
}
