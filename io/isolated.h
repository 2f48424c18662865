/* io/isolated: io's readers of untrusted DICOM bytes, each run in a sandbox worker
 * (base/sandbox.h: long-lived, restarted after a crash). Same contracts as the direct
 * functions, plus the worker's errors: "<file>: the DICOM parser crashed (signal N, ...)"
 * (C2_EINVAL) and "... did not finish within N s (stopped)" (C2_ELIMIT). Fault-hook
 * reader names: dicom-meta, dicom-frames, seg-source, seg-write. Callers that read files of the
 * cohort (ingest, predict, export) use these, never the direct readers. */
#ifndef C2SEG_IO_ISOLATED_H
#define C2SEG_IO_ISOLATED_H

#include "base/sandbox.h"
#include "io/dicom.h"
#include "io/dicom_slice.h"
#include "io/seg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dicom_read_meta in a worker; on success o owns its frame and VOI LUT arrays as usual. */
int dicom_read_meta_isolated(const char *path, dicom_object *o, c2_err *e);
/* dicom_read_meta_plane in a worker (reader dicom-meta): the metadata and, for a single-frame
 * image of at most max_pixels pixels that decodes, *plane = frame 0 (malloc'ed [rows * cols]
 * modality values, as dicom_read_frames gives them), else *plane = NULL. One read of the file
 * for both: the caller keeps the plane for the slice pass instead of a second decoder call. */
int dicom_read_meta_plane_isolated(const char *path, dicom_object *o, float **plane, int64_t max_pixels, c2_err *e);
/* dicom_read_frames in a worker: the pixels come back through the worker's socket. */
int dicom_read_frames_isolated(const dicom_object *o, int first_frame, int n_frames, float *out, c2_err *e);
/* dicom_read_slice in a worker (fault-hook reader name dicom-frames): decode, mapping,
 * orientation and resize run there; only info and the [S,S] image come back. */
int dicom_read_slice_isolated(const dicom_object *o, int frame, const dicom_slice_spec *sp, float *out,
                              dicom_slice_info *info, c2_err *e);
/* Frame `frame` (0-based) of the DICOM file at path, decoded in a worker as
 * dicom_read_frames does (modality units: HU for CT), into bits [(rows * cols + 7) / 8]:
 * bit p (bits[p / 8] >> p % 8) set when pixel p is below `below` (NaN never is). Only the
 * bits cross the worker's socket. C2_EMISMATCH when the file's plane is not rows x cols. */
int dicom_read_below_isolated(const char *path, int frame, int rows, int cols, double below, uint8_t *bits,
                              c2_err *e);
/* seg_source_load_files / seg_source_load in a worker. */
int seg_source_load_files_isolated(const char *const *files, int n, seg_source *src, c2_err *e);
int seg_source_load_isolated(const char *path, seg_source *src, c2_err *e);
/* seg_write / seg_write_bits in a worker (it re-reads the first source file): the worker writes out_path
 * (atomically, as seg_write does) and returns info. Fault-hook reader name: seg-write. */
int seg_write_isolated(const seg_source *src, const uint8_t *mask, const seg_write_opts *opt, const char *out_path,
                       seg_write_info *info, c2_err *e);
int seg_write_bits_isolated(const seg_source *src, const uint8_t *bits, const seg_write_opts *opt,
                            const char *out_path, seg_write_info *info, c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
