/* io/nifti: NIfTI-1 and NIfTI-2 volumes (.nii, .nii.gz, either byte order) read into
 * float voxels with their voxel -> patient geometry, and a small writer for the
 * volumes this toolkit produces (sample data, exported masks).
 *
 * Reading goes through nifticlib's NIfTI-2 API (it reads both versions). What the
 * library leaves to us, and what this module therefore does:
 *   - scl_slope / scl_inter are applied (slope 0 means "not scaled");
 *   - the affine is taken from the sform when sform_code > 0, else from the qform
 *     when qform_code > 0, else the fallback diag(pixdim x, y, z) with origin 0
 *     (ANALYZE convention; the volume's read warns so);
 *   - NaN and +-Inf voxels are replaced by the volume's smallest finite value
 *     (background for CT and masks) and counted in nonfinite_count;
 *   - the version is detected from the header size (348 or 540), not nifti_type;
 *   - dimensions are checked with c2_check_dims before the data is read;
 *   - a header-only pair (.hdr without its .img) is rejected with that reason.
 * NIfTI stores RAS+ world coordinates; this module converts to DICOM LPS
 * (negates the first two rows) so every other module thinks in LPS only. */
#ifndef C2SEG_IO_NIFTI_H
#define C2SEG_IO_NIFTI_H

#include "base/base.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where a volume's geometry came from. */
enum { NIFTI_GEOM_SFORM = 1, NIFTI_GEOM_QFORM = 2, NIFTI_GEOM_PIXDIM = 3 };

typedef struct nifti_volume {
    int version;              /* 1 or 2 (from the header size) */
    int datatype;             /* NIFTI_TYPE_* code stored in the file (2 uint8, 4 int16, 16 float32, ...) */
    int bytes_per_voxel;      /* of that stored type (nifticlib's nbyper: 1, 2, 4, 8, ...) */
    int64_t nx, ny, nz;       /* voxel grid of the volume read: i fastest, then j, then k */
    int64_t nt;               /* volumes in the file (dim[4], 1 for 3D); one of them is read */
    double pixdim[3];         /* voxel size along i, j, k in mm (header pixdim[1..3]) */
    int geom_source;          /* NIFTI_GEOM_* */
    double voxel_to_lps[4][4];/* (i, j, k, 1) -> patient LPS mm */
    float scl_slope, scl_inter;/* as stored (slope 0 = unscaled) */
    int64_t nonfinite_count;  /* NaN / Inf voxels replaced by min_value */
    float min_value, max_value;/* of the finite voxels after scaling */
    float *data;              /* [nz][ny][nx] scaled voxel values; owned, nifti_volume_free */
} nifti_volume;

/* Reads volume t (0-based; 4D files hold nt volumes) of path into v. Values are
 * scaled and cleaned as described above. On error v is left empty and e names the
 * file and the reason (C2_ENOTFOUND, C2_EINVAL, C2_ELIMIT, C2_EUNSUPPORTED for
 * complex / RGB data types). */
int nifti_volume_read(const char *path, int64_t t, nifti_volume *v, c2_err *e);
/* Reads only the header fields (data stays NULL): grid, geometry, version, stored type. It
 * does not warn (a planner reads headers before the volume's reader says what it finds). */
int nifti_volume_read_header(const char *path, nifti_volume *v, c2_err *e);
/* The same two reads in a sandbox worker (io/isolated_files.c; base/sandbox.h): a crash,
 * a hang or a memory blow-up of nifticlib / zlib on hostile bytes becomes one error
 * naming the file ("<file>: the NIfTI reader crashed (signal 11, ...)"). Fault-hook
 * reader name: nifti. Readers of the cohort's files (ingest, predict, export) use these. */
int nifti_volume_read_isolated(const char *path, int64_t t, nifti_volume *v, c2_err *e);
int nifti_volume_read_header_isolated(const char *path, nifti_volume *v, c2_err *e);
void nifti_volume_free(nifti_volume *v);

/* 1 if path names a NIfTI file by extension (.nii, .nii.gz, .hdr; case-insensitive). */
int nifti_path_is_nifti(const char *path);

/* Same grid: equal nx, ny, nz and every affine entry within tol_mm (1e-3 is a good
 * default: the float32 header fields round to about that). Returns C2_OK or
 * C2_EMISMATCH with a sentence naming both files and what differs. */
int nifti_same_grid(const nifti_volume *a, const char *a_name, const nifti_volume *b, const char *b_name,
                    double tol_mm, c2_err *e);

/* Writes a NIfTI-1 volume. data is [nz][ny][nx] of the given datatype
 * (NIFTI_TYPE_UINT8 2, NIFTI_TYPE_INT16 4 or NIFTI_TYPE_FLOAT32 16), voxel_to_lps the
 * voxel -> LPS mm affine (stored as RAS in both sform and qform, codes 1 = scanner;
 * the qform keeps only the rotation part, so pass a rigid affine for a faithful qform).
 * A ".gz" suffix compresses. The file is written to a temporary name and renamed. */
int nifti_volume_write(const char *path, const void *data, int datatype, int64_t nx, int64_t ny, int64_t nz,
                       const double voxel_to_lps[4][4], c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
