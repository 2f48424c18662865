/* DICOM CT slice writing: one single-frame CT Image Storage object per call, built with
 * DCMTK behind a C interface (io/dicom_write_dcmtk.cc). The object carries every Type 1
 * and Type 2 attribute of the CT Image IOD's modules (Patient, General Study, General
 * Series, Frame of Reference, General Equipment, General Acquisition, General Image,
 * Image Plane, Image Pixel, CT Image, VOI LUT, SOP Common), so that dciodvfy reports no
 * error. Nothing is taken from the clock: every date, time and UID comes from the
 * caller, so the same description gives a byte-identical file. */
#ifndef C2SEG_IO_DICOM_WRITE_H
#define C2SEG_IO_DICOM_WRITE_H

#include "base/base.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One axial CT slice. Strings are plain ASCII (no charset is declared) and must fit the
 * VR of their attribute (UIDs <= 64 chars, dates YYYYMMDD, times HHMMSS). */
typedef struct dicom_ct_slice {
    const char *patient_name;        /* "Family^Given" */
    const char *patient_id;
    const char *patient_birth_date;  /* YYYYMMDD, or "" (Type 2: empty allowed) */
    const char *patient_sex;         /* "M", "F", "O" or "" */
    const char *study_uid;
    const char *series_uid;
    const char *sop_uid;
    const char *frame_of_reference_uid;
    const char *study_date;          /* YYYYMMDD; also used as series / content date */
    const char *study_time;          /* HHMMSS */
    const char *study_id;
    const char *accession_number;
    const char *study_description;
    const char *series_description;
    const char *manufacturer;
    const char *body_part;           /* e.g. "CHEST" */
    int series_number;
    int instance_number;             /* 1-based position in the series */
    int rows, cols;
    double pixel_spacing[2];         /* mm: [between rows, between columns] (DICOM order) */
    double slice_thickness;          /* mm */
    double position[3];              /* ImagePositionPatient: LPS mm of the centre of pixel (0,0) */
    double orientation[6];           /* ImageOrientationPatient: row then column direction cosines */
    double rescale_slope, rescale_intercept;   /* HU = slope * stored + intercept */
    double window_center, window_width;        /* HU, the default display window */
    const int16_t *pixels;           /* rows * cols stored values, row-major, signed */
} dicom_ct_slice;

/* Writes s to path (atomically: a temporary name in the same folder, then rename) as
 * Explicit VR Little Endian. Returns C2_OK or a negative code with e naming the file. */
int dicom_ct_slice_write(const char *path, const dicom_ct_slice *s, c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
