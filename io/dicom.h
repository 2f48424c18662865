/* dicom: reading DICOM image objects into plain C structs and float pixels.
 *
 * Three steps, in the order ingest uses them:
 *   1. dicom_probe()       is this file DICOM at all (by content, a few hundred bytes)?
 *   2. dicom_read_meta()   one file's metadata (no pixel data is read) -> dicom_object;
 *      dicom_series_group() groups many objects into sorted series (io/dicom_series.c).
 *   3. dicom_read_frames() decodes frames of one object into float modality values;
 *      dicom_series_read() fills a whole sorted volume; dicom_xray_display() maps a
 *      CR / DX image to display intensities in [0, 1].
 *
 * Decoding: uncompressed (little / big endian, implicit / explicit VR, deflated, odd-length
 * Pixel Data), JPEG baseline / extended / lossless, JPEG-LS and RLE through DCMTK
 * (io/dicom_dcmtk.cc), JPEG 2000 through OpenJPEG (io/jpeg2000.c). Frames are decoded one
 * at a time; the whole object is never decompressed in memory.
 *
 * Pixel value convention of dicom_read_frames (see docs/dicom-input.md):
 *   value = stored * slope + intercept   (per frame when the object has per-frame Pixel Value
 *                                         Transformation; top-level or shared otherwise;
 *                                         slope 1 / intercept 0 when absent)
 *   -> Hounsfield units for CT, modality units otherwise. MONOCHROME1 is NOT inverted here
 *   (modality values keep their meaning); only dicom_xray_display() inverts it.
 *   Stored values equal to Pixel Padding Value (or inside the closed range Pixel Padding
 *   Value .. Pixel Padding Range Limit) become NAN.
 *   Colour sources (RGB, YBR_*) become luminance Y = 0.299 R + 0.587 G + 0.114 B (YBR: the
 *   stored Y channel), with dicom_object.is_color set so callers can refuse them.
 *
 * Ownership: a dicom_object owns its `frame` array (and VOI LUT); release it with
 * dicom_object_free(). Strings are NUL-terminated, truncated to their arrays, with
 * DICOM padding (trailing spaces / NUL) removed. All functions report errors through
 * c2_err with the file name and the reason; none prints or exits. */
#ifndef C2SEG_IO_DICOM_H
#define C2SEG_IO_DICOM_H

#include "base/base.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    DICOM_UID_CAP = 65,   /* 64 characters (the DICOM maximum) + NUL */
    DICOM_SHORT_CAP = 17, /* SH / CS: 16 characters + NUL */
    DICOM_LONG_CAP = 65,  /* LO: 64 characters + NUL */
};

/* What a file holds, from its SOP Class UID (and Pixel Data presence). */
typedef enum dicom_kind {
    DICOM_KIND_IMAGE = 0, /* grayscale or colour image with Pixel Data: ingestible */
    DICOM_KIND_SEG,       /* Segmentation Storage (binary / fractional / label map) */
    DICOM_KIND_SR,        /* any Structured Report (…88.*) */
    DICOM_KIND_OTHER,     /* everything else: RT objects, presentation states, no Pixel Data */
} dicom_kind;

/* Per-frame facts. For single-frame objects there is one entry filled from the top-level
 * attributes; for Enhanced / multi-frame objects from the per-frame functional groups,
 * falling back to the shared functional groups, then the top level. */
typedef struct dicom_frame {
    double position[3];   /* ImagePositionPatient of the first transmitted pixel, mm, LPS */
    int has_position;     /* 0: the file carries no position for this frame (e.g. emri_small) */
    double slope, intercept; /* rescale to modality units (1 / 0 when absent) */
    double thickness;     /* SliceThickness of this frame, mm (per-frame Pixel Measures, shared, top
                             level); 0 when absent */
} dicom_frame;

/* One file's metadata. Plain data, safe to copy by value only when `frame` and
 * `voi_lut` are then owned by exactly one copy. */
typedef struct dicom_object {
    char path[4096];
    dicom_kind kind;
    char sop_class_uid[DICOM_UID_CAP];
    char sop_instance_uid[DICOM_UID_CAP];
    char study_uid[DICOM_UID_CAP];
    char series_uid[DICOM_UID_CAP];
    char frame_of_reference_uid[DICOM_UID_CAP]; /* "" for CR / DX without one */
    char transfer_syntax[DICOM_UID_CAP];
    char patient_id[DICOM_LONG_CAP];
    char study_id[DICOM_SHORT_CAP];
    char accession_number[DICOM_SHORT_CAP];
    char modality[DICOM_SHORT_CAP];        /* "CT", "MR", "CR", "DX", ... */
    char image_type[128];                  /* ImageType values joined by '\\' */
    char photometric[DICOM_SHORT_CAP];     /* PhotometricInterpretation as stored */
    char patient_orientation[DICOM_LONG_CAP]; /* PatientOrientation as stored, e.g. "L\\F"; "" when absent */
    char series_description[DICOM_LONG_CAP]; /* SeriesDescription as stored (a raw tag value: make it
                                                c2_safe_name before it names anything) */
    int is_localizer;                      /* ImageType contains LOCALIZER or SCOUT */
    int is_xray;                           /* modality CR, DX or MG (projection images) */

    /* Pixel description (Image Pixel module) */
    int rows, cols, frames;                /* frames = NumberOfFrames, 1 when absent */
    int samples_per_pixel;                 /* 1 grayscale, 3 colour */
    int planar_configuration;              /* 0 interleaved RGBRGB, 1 planar RR..GG..BB */
    int bits_allocated, bits_stored, high_bit;
    int pixel_representation;              /* 0 unsigned, 1 two's complement */
    int monochrome1;                       /* 1: low values are displayed white */
    int is_color;                          /* samples_per_pixel == 3 (RGB / YBR_*) */
    int has_pixel_data;
    uint32_t private_pixel_tag;            /* no Pixel Data but a binary element of >= 1 KB in a private
                                              group (vendor pixel storage): its tag (group << 16 | element) */
    int is_encapsulated;                   /* compressed transfer syntax */

    /* Geometry */
    int instance_number, has_instance_number;
    int series_number, has_series_number;
    double orientation[6];                 /* ImageOrientationPatient: row then column cosines */
    int has_orientation;
    dicom_frame *frame;                    /* [frames], owned; never NULL after a successful read */
    double pixel_spacing[2];               /* mm between rows (vertical), between columns */
    int has_pixel_spacing;
    int spacing_is_imager;                 /* 1: from ImagerPixelSpacing (CR / DX, at the detector) */
    double slice_thickness;                /* mm, 0 when absent */
    double spacing_between_slices;         /* mm, 0 when absent (informative only) */
    double gantry_tilt;                    /* GantryDetectorTilt, degrees, 0 when absent */

    /* Values (top-level / shared; per-frame rescale is in frame[]) */
    char rescale_type[DICOM_SHORT_CAP];    /* "HU", "US", "" */
    int has_padding;                       /* Pixel Padding Value present */
    int has_padding_range;                 /* Pixel Padding Range Limit present too */
    double padding_value, padding_range_limit; /* stored-value units */
    int has_window;                        /* first WindowCenter / WindowWidth pair present */
    double window_center, window_width;    /* modality units */
    int has_voi_lut;                       /* first item of the VOI LUT Sequence usable */
    int voi_lut_entries;                   /* LUT Descriptor: number of entries */
    double voi_lut_first;                  /* LUT Descriptor: first input value mapped */
    int voi_lut_bits;                      /* LUT Descriptor: bits per output entry */
    uint16_t *voi_lut;                     /* [voi_lut_entries], owned; NULL when absent */
} dicom_object;

/* 1 if the file looks like DICOM by content: 128-byte preamble + "DICM", or no preamble
 * but a plausible first element of group 0002 or 0008 in explicit or implicit VR little
 * endian. 0 otherwise (also for unreadable files). Reads at most 256 bytes. Files that
 * start with junk before the first tag (pydicom's no_meta.dcm) are rejected (0). */
int dicom_probe(const char *path);

/* Reads the metadata of one file (pixel data is not loaded). On success o is filled and
 * owns o->frame; on failure o holds nothing to free. Non-image objects (SEG, SR, RT, ...)
 * succeed with o->kind set so the caller can skip them with a reason. Errors: C2_EIO
 * (cannot open), C2_EINVAL (not DICOM, truncated, malformed values such as a non-numeric
 * NumberOfFrames), C2_ELIMIT (dimensions over c2_limits). */
int dicom_read_meta(const char *path, dicom_object *o, c2_err *e);
void dicom_object_free(dicom_object *o);
/* Reads DCMTK's data dictionary now instead of on first use, so that parsers in fork()ed
 * children (pipeline/ingest/sandbox.h) inherit it rather than each reading the 700 KB file again.
 * When DCMDICTPATH is unset and DCMTK's default dictionary files are the ones the build saw
 * (size and modification time), the entries come from a table generated at build time from
 * DCMTK's own parse of those files (io/dicom_dict_dcmtk.cc) instead of the text: the same
 * dictionary, without the ~10 ms parse. Returns 1 when the table was used, 0 otherwise (the
 * text parsed, or the dictionary was loaded already). */
int dicom_dictionary_preload(void);
/* A digest of DCMTK's loaded dictionary (loading it if needed): every entry's tag range, VR,
 * VM, name, version, range restrictions and private creator; the repeating entries in their
 * lookup order. *entries: DcmDataDictionary::numberOfEntries(). For tests and diagnostics. */
uint64_t dicom_dictionary_digest(int *entries);

/* Decodes frames [first_frame, first_frame + n_frames) of o (0-based) into out,
 * shape [n_frames, rows, cols] row-major, float modality values as described at the
 * top of this header (rescale applied, padding NAN, colour -> luminance). out must hold
 * n_frames * rows * cols floats. Errors: C2_EINVAL (frame range, corrupt or truncated
 * data), C2_EUNSUPPORTED (transfer syntax without decoder, bits allocated > 32, SEG / SR),
 * C2_ELIMIT, C2_ENOMEM. */
int dicom_read_frames(const dicom_object *o, int first_frame, int n_frames, float *out, c2_err *e);

/* dicom_read_meta and, for a single-frame image of at most max_pixels pixels, frame 0 as
 * dicom_read_frames gives it into plane [rows * cols] (*has_plane = 1), from one read of the
 * file (a small file is loaded whole). A frame that does not decode leaves *has_plane 0 and
 * is no error here (dicom_read_frames reads it again and says why). Errors: dicom_read_meta's. */
int dicom_read_meta_plane(const char *path, dicom_object *o, float *plane, int64_t max_pixels, int *has_plane,
                          c2_err *e);

/* Display mapping for projection X-ray (CR / DX / MG) images, n pixels of modality values
 * `in` (from dicom_read_frames) -> out01 in [0, 1] where 1 = bright / white = dense (bone),
 * like an 8-bit PNG chest X-ray / 255:
 *   - VOI LUT present: LUT applied to the modality value (clamped to the LUT's input
 *     range), divided by 2^voi_lut_bits - 1;
 *   - else Window Center / Width present: the DICOM linear window (PS3.3 C.11.2.1.2.1),
 *     0 below c - 0.5 - (w-1)/2, 1 above c - 0.5 + (w-1)/2;
 *   - else min / max of the finite values of `in` map to 0 / 1.
 *   Then MONOCHROME1 is inverted (y = 1 - y). NAN input (padding) gives 0 (black).
 *   in and out01 may be the same array (in-place mapping).
 * (A stored window narrower than 1 is ignored at read time: has_window stays 0.)
 * Returns C2_OK, or C2_EINVAL when n <= 0. */
int dicom_xray_display(const dicom_object *o, const float *in, float *out01, int n);

/* ---- series (io/dicom_series.c) ---- */

/* One slice of a series: which object (index into the array given to
 * dicom_series_group) and which frame of it. */
typedef struct dicom_slice {
    int object;
    int frame;
    double position[3];    /* ImagePositionPatient, mm (0 when the source has none) */
    double location;       /* position . normal, mm along the slice normal */
} dicom_slice;

/* A sorted series: the slices of one SeriesInstanceUID with one geometry (orientation,
 * rows, cols). Slices are sorted by increasing location along normal = row x column
 * cosines (for CT in standard orientation: feet to head). Objects without positions
 * (emri_small, CR / DX) keep file / frame order (InstanceNumber, then frame). */
typedef struct dicom_series {
    char series_uid[DICOM_UID_CAP];
    char study_uid[DICOM_UID_CAP];
    char frame_of_reference_uid[DICOM_UID_CAP];
    char modality[DICOM_SHORT_CAP];
    char patient_id[DICOM_LONG_CAP];
    int rows, cols;
    int n_slices;
    dicom_slice *slices;     /* [n_slices], owned */
    double orientation[6];
    int has_orientation;
    double normal[3];        /* unit slice normal (row x column cosines); 0 when unknown */
    int has_positions;       /* every slice has a position */
    double pixel_spacing[2]; /* mm, from the first slice's object */
    int has_pixel_spacing, spacing_is_imager;
    double slice_spacing;    /* median distance between neighbouring distinct slices, mm; 0 if < 2 */
    double max_gap;          /* largest neighbour distance, mm */
    int has_gaps;            /* some neighbour distance > 1.5 x slice_spacing */
    int n_duplicates;        /* slices sharing a location with their neighbour (within 0.01 mm) */
    double gantry_tilt;      /* degrees: tag value, or the angle between the normal and the
                                line through the positions when that is larger */
    int is_tilted;           /* |gantry_tilt| > 0.01 degree */
    int is_xray;
    int n_conflicts;         /* files of this series left out because another file holds their SOP
                                Instance UID with different content (dicom_instances_unique): flagged */
    /* geometry record (sorted series with positions; 0 otherwise) */
    double step_min, step_max; /* distances between neighbouring distinct slices along the normal, mm */
    double steps[8];         /* the distinct steps (within 0.01 mm), ascending; at most 8 kept */
    int n_steps;             /* how many distinct steps there are (may exceed 8) */
    double thickness_min, thickness_max; /* SliceThickness over the slices, mm (0 when absent) */
} dicom_series;

/* Why an object cannot be part of an image series (a SEG, an SR, an RT object, no Pixel
 * Data, "pixel data only in a private element: not decodable", a localizer), or NULL. */
const char *dicom_object_skip_reason(const dicom_object *o);

/* One image per SOP Instance UID (io/dicom_instances.c): among the image objects of
 * objs [n], files sharing a SOP Instance UID are compared byte by byte. An exact copy
 * (the first path kept) and a partial copy (a prefix of another file: the complete one
 * kept) and the same image with other header bytes (equal geometry and decoded frames)
 * get a reason in left_out[i]; different images under one UID give every file of that
 * UID a reason (none is kept) and count in *n_conflicts (files). left_out[i]
 * is "" for kept objects. dicom_series_group calls this itself. */
int dicom_instances_unique(const dicom_object *objs, int n, char (*left_out)[160], int *n_conflicts, c2_err *e);

/* Groups objs[0..n) into series: images only, by SeriesInstanceUID + orientation (within
 * 1e-4) + rows + cols; sorts and measures each (see dicom_series). Objects left out get a
 * reason in skip_reasons[i] when skip_reasons is not NULL (array of n strings of 160
 * bytes; "" for grouped objects): SEG / SR / other kinds, localizers, objects without
 * pixel data, and copies of one SOP Instance UID (dicom_instances_unique). Gaps,
 * duplicates, tilt and instance conflicts are also reported through c2_warn(). *out is a
 * malloc'd array of *n_out series (free with dicom_series_free); *n_out may be 0. */
int dicom_series_group(dicom_object *objs, int n, dicom_series **out, int *n_out,
                       char (*skip_reasons)[160], c2_err *e);
void dicom_series_free(dicom_series *s, int n);
/* The geometry record of s as one line of text, e.g. "5 slices; spacing along the
 * normal min 1.1 / median 4 / max 7 mm, steps 1.1, 4, 7 mm; tilt 12 degrees (kept sheared,
 * not resampled); slice thickness 4 to 7 mm". C2_ELIMIT when cut to cap. */
int dicom_series_geometry_text(const dicom_series *s, char *buf, size_t cap);

/* The modality and content policy (io/dicom_series.c): NULL when series s may be used
 * as slices, else the reason (in why, cap bytes) it is not:
 *   - its modality is not in `admit`, a comma-separated list (NULL or "": CT, CR, DX;
 *     "all" admits every modality);
 *   - a multi-frame object gives it several frames without distinct positions along the
 *     normal (no positions at all, or frames sharing one: time / cine frames of classic
 *     MR Image Storage with NumberOfFrames, or an Enhanced object without functional
 *     groups). Such frames are never stacked as slices. */
const char *dicom_series_policy(const dicom_series *s, const dicom_object *objs, const char *admit, char *why,
                                size_t cap);

/* Reads the whole series volume into out, shape [n_slices, rows, cols] in the sorted
 * order, float modality values (dicom_read_frames conventions). objs is the array given
 * to dicom_series_group. */
int dicom_series_read(const dicom_series *s, const dicom_object *objs, float *out, c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
