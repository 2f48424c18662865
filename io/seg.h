/* DICOM Segmentation (SEG) objects: writing a mask as a SEG of its source images,
 * and reading any SEG back (binary, fractional, label map).
 *
 * Writing goes through DCMTK 3.6.7's dcmseg (io/seg_dcmtk.cc) with the workarounds
 * of ../shared/docs/DICOM_NOTES.md §2.1: binary frames are packed here as ONE
 * continuous LSB-first bit stream (dcmseg corrupts it when rows*cols % 8 != 0), the
 * Common Instance Reference is filled explicitly, and a dimension organization is
 * always added. Reading never uses dcmseg's frame accessors (wrong for the same
 * sizes): the raw Pixel Data is unpacked by global bit index.
 *
 * Mask layout everywhere: uint8 [n_slices, rows, cols] row-major, slice k = the k-th
 * source slice sorted along the slice normal (ascending normal . ImagePositionPatient;
 * for an axial series slice 0 is the most inferior one). Values are a probability in
 * 0..255; a binary SEG keeps the pixels >= 128. */
#ifndef C2SEG_IO_SEG_H
#define C2SEG_IO_SEG_H

#include "base/base.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One slice of the source geometry = one source frame. */
typedef struct seg_slice {
    int file;                   /* index into seg_source.files */
    int frame;                  /* 1-based frame number in a multi-frame source, 0 for single-frame */
    char sop_class[65];
    char sop_instance[65];
    double ipp[3];              /* ImagePositionPatient (LPS mm); valid when has_ipp */
    int has_ipp;
    double thickness;           /* SliceThickness of this source frame (mm), 0 when absent */
} seg_slice;

/* The images a SEG refers to: one series folder, one multi-frame file or one image. */
typedef struct seg_source {
    int rows, cols, n_slices;
    seg_slice *slices;          /* [n_slices], sorted along the slice normal */
    char **files;               /* [n_files] distinct source file paths */
    int n_files;
    int multiframe;             /* 1 when the slices are frames of one file */
    int projection;             /* 1 for CR / DX / other images without a frame of reference */
    double iop[6];              /* ImageOrientationPatient: row then column direction cosines */
    int has_iop;
    double spacing[2];          /* PixelSpacing: row spacing, column spacing (mm) */
    int has_spacing;
    double thickness;           /* SliceThickness of the first slice, mm, 0 when absent; each
                                   slice's own is seg_slice.thickness */
    char modality[17];
    char patient_orientation[33]; /* (0020,0020) as read, e.g. "L\F"; "" when absent */
    char series_uid[65];
    char for_uid[65];
} seg_source;

/* Loads the metadata (not the pixels) of a source: a folder holding one image series
 * (not recursive; hidden and non-DICOM files skipped; SEG / SR / localizers in it are
 * left out as dicom_series_group does), a multi-frame file, or one single-frame image
 * (CR / DX / one CT slice). Slices are sorted by io/dicom_series.c. Fails with
 * C2_EMISMATCH when a folder holds several series or grids, C2_EUNSUPPORTED when no
 * source image is left (a SEG / SR / non-image object), C2_EINVAL for duplicate
 * slice positions (io/seg_source.c). */
int seg_source_load(const char *path, seg_source *src, c2_err *e);
/* The same from an exact list of n distinct files (e.g. the slices ingest could read,
 * leaving out a broken file of the series folder); they must hold one image series.
 * Positions of files not listed simply have no source slice. */
int seg_source_load_files(const char *const *files, int n, seg_source *src, c2_err *e);
/* The same from a series already grouped (io/dicom.h; objs as given to
 * dicom_series_group): slice k of src is slice k of s. Declared with incomplete types so
 * that this header needs no io/dicom.h. */
struct dicom_series;
struct dicom_object;
int seg_source_from_series(const struct dicom_series *s, const struct dicom_object *objs, int n_objs, seg_source *src,
                           c2_err *e);
void seg_source_free(seg_source *src);

/* Side of the patient that a mask occupies, from the source geometry in PATIENT
 * coordinates (LPS: +x = patient left). The midline is the patient x of the centre of
 * the source grid (for projections: the centre column, with PatientOrientation telling
 * which way the columns run; absent = standard PA display, columns towards patient
 * left). A side counts when it holds at least 5 % of the foreground pixels. */
enum { SEG_SIDE_NONE = 0, SEG_SIDE_LEFT = 1, SEG_SIDE_RIGHT = 2, SEG_SIDE_BILATERAL = 3 };
int seg_mask_side(const seg_source *src, const uint8_t *mask);
int seg_mask_side_bits(const seg_source *src, const uint8_t *bits); /* the same from packed bits (1 = >= 128) */
const char *seg_side_name(int side); /* "none", "left", "right", "bilateral" */

typedef struct seg_write_opts {
    int fractional;             /* 1: FRACTIONAL / PROBABILITY, 8-bit 0..255; 0: BINARY */
    int omit_empty_frames;      /* drop all-zero frames (one is kept if all are empty) */
    const char *uid_root;       /* NULL: 2.25.<128-bit random>; else ROOT.<random digits> */
    const char *label;          /* SegmentLabel, NULL = "Lesion" */
    const char *description;    /* SeriesDescription / ContentDescription, NULL = "c2seg lesion segmentation" */
    /* Reproducible output (the sample-data generator): when set, these are used instead of
     * new random UIDs and the current date / time. */
    const char *series_uid, *sop_uid, *dimension_uid;
    const char *content_date, *content_time;   /* DA "YYYYMMDD", TM "HHMMSS" */
} seg_write_opts;

typedef struct seg_write_info {
    int n_frames;               /* frames written */
    int side;                   /* SEG_SIDE_* of the mask */
    int64_t n_foreground;       /* mask pixels >= 128 */
    char sop_instance[65];
    char series_uid[65];
} seg_write_info;

/* Writes mask [n_slices, rows, cols] as a SEG of src to out_path (atomically: temp name
 * in the same folder, then rename). info may be NULL. */
int seg_write(const seg_source *src, const uint8_t *mask, const seg_write_opts *opt, const char *out_path,
              seg_write_info *info, c2_err *e);
/* The same for a BINARY SEG from packed bits (seg_bits_pack's layout over [n_slices, rows,
 * cols]; 1 = foreground), so a long series never needs a byte per voxel: the same file as
 * seg_write of the mask 255 / 0. opt->fractional must be 0. */
int seg_write_bits(const seg_source *src, const uint8_t *bits, const seg_write_opts *opt, const char *out_path,
                   seg_write_info *info, c2_err *e);

/* ---- reading ---- */
enum { SEG_TYPE_BINARY = 1, SEG_TYPE_FRACTIONAL = 2, SEG_TYPE_LABELMAP = 3 };

typedef struct seg_frame {
    int segment;                /* ReferencedSegmentNumber, 0 for label maps */
    char ref_sop_instance[65];  /* first Source Image reference, "" when absent */
    int ref_frame;              /* its ReferencedFrameNumber, 0 when absent */
    double ipp[3];              /* PlanePositionSequence > ImagePositionPatient */
    int has_ipp;
} seg_frame;

/* One item of the Segment Sequence. Codes are "" when absent. */
typedef struct seg_segment_info {
    int number;                 /* SegmentNumber (label maps: the pixel value) */
    char label[65];             /* SegmentLabel */
    char category_code[17], category_scheme[17];   /* Segmented Property Category */
    char type_code[17], type_scheme[17];           /* Segmented Property Type */
    char type_meaning[65];
} seg_segment_info;

typedef struct seg_image {
    int rows, cols, n_frames, n_segments;
    int type;                   /* SEG_TYPE_* */
    int max_fractional;         /* MaximumFractionalValue (fractional only) */
    uint8_t *pixels;            /* [n_frames, rows, cols]: 0/1 binary, 0..max fractional, labels */
    seg_frame *frames;          /* [n_frames] */
    seg_segment_info *segments; /* [n_segments], in Segment Sequence order */
    char sop_class[65];
    char sop_instance[65];
    char study_uid[65];
    char for_uid[65];           /* FrameOfReferenceUID, "" when absent (X-ray SEGs) */
    char ref_series_uid[65];    /* first Referenced Series Sequence item's SeriesInstanceUID, or "" */
    double iop[6];              /* shared (else first frame's) Plane Orientation; valid when has_iop */
    int has_iop;
} seg_image;

/* Reads a SEG (uncompressed, or RLE Lossless) into s. Fails with one clear reason for
 * anything else. */
int seg_read(const char *path, seg_image *s, c2_err *e);
/* seg_read in a sandbox worker (io/isolated_files.c; base/sandbox.h): the ground-truth
 * read of ingest and predict. A crash, hang or memory blow-up of DCMTK becomes one error
 * naming the file ("<file>: the DICOM SEG parser crashed ..."). Fault-hook reader name:
 * seg-read. */
int seg_read_isolated(const char *path, seg_image *s, c2_err *e);
void seg_image_free(seg_image *s);

/* ---- a SEG as ground truth (io/seg_truth.c) ---- */
/* Picks segments of s by spec, a comma-separated list of terms, each matching:
 *   a number          -> the segment of that SegmentNumber (else a Segmented Property
 *                        Type or Category code of that value, e.g. 52988006);
 *   SCHEME:CODE       -> that Segmented Property Type or Category code (SCT:52988006;
 *                        SCT also matches the retired SRT designator);
 *   anything else     -> a SegmentLabel, ASCII case-insensitive.
 * NULL or "": the segments whose type is lesion (SCT 52988006, SRT M-01100) or infection
 * (SCT 40733004 "Infectious disease", 128601007 "Infection"), or whose category is
 * "Morphologically Altered Structure" (SCT 49755003, SRT M-01000: CID 7150's lesions).
 * chosen[i] = 1 for each picked segments[i]. Fails with C2_ENOTFOUND (naming the
 * segments the SEG has) when a term matches nothing or nothing is picked. */
int seg_select_segments(const seg_image *s, const char *spec, uint8_t *chosen, c2_err *e);

typedef struct seg_map_info {
    int frames_used;            /* frames of chosen segments placed on the source */
    int slices_covered;         /* distinct source slices such frames landed on */
    int by_position;            /* frames placed by Frame of Reference + position (no reference) */
} seg_map_info;

/* The chosen segments of s (seg_select_segments) merged (maximum) into a mask on the
 * source grid: out [src->n_slices, rows, cols], 0..255 (binary 255, fractional value *
 * 255 / MaximumFractionalValue, label map 255 where the label is chosen). Each frame
 * lands on the source slice of its Referenced SOP Instance UID (and Referenced Frame
 * Number for multi-frame sources); a frame without a reference lands by position when
 * the SEG and the source share a Frame of Reference and its Image Position (Patient)
 * is within 0.05 mm of a source slice's. A SEG on another grid (rows, columns, plane
 * orientation), a frame referencing an instance the source does not hold, or a frame
 * that lands nowhere fails with C2_EMISMATCH and the reason; nothing is guessed.
 * info may be NULL. */
int seg_to_source_mask(const seg_image *s, const uint8_t *chosen, const seg_source *src, uint8_t *out,
                       seg_map_info *info, c2_err *e);

/* Resamples a mask volume onto the source grid, exactly: every source pixel (k, r, c)
 * goes to patient LPS (ImagePositionPatient_k + c * col_spacing * row_dir + r *
 * row_spacing * col_dir), then through the inverse of vox_to_lps to a voxel (i, j, k)
 * of vol [nz][ny][nx], which must lie on the grid (within 0.05 voxel and 0.1 mm) and
 * inside it. A reference with uneven slice gaps (no NIfTI can hold it) is matched
 * in-plane through the affine and slice k to mask slice k (with a warning).
 * With vox_to_lps NULL, or a projection source, voxel = (c, r, k) by index. The grid
 * sizes must agree (nx * ny * nz == rows * cols * n_slices), else C2_EMISMATCH.
 * Values: a volume whose maximum is <= 1 is a probability or 0/1 label (x 255); a
 * larger maximum <= 255 is kept as 0..255 when keep_bytes, else any value > 0 is 255.
 * out is [n_slices, rows, cols]. */
int seg_mask_resample(const seg_source *src, const float *vol, int64_t nx, int64_t ny, int64_t nz,
                      const double vox_to_lps[4][4], int keep_bytes, uint8_t *out, c2_err *e);

/* ---- helpers shared by the writer and the reader (io/seg.c) ---- */
/* Packs n values (nonzero = 1) as one continuous LSB-first bit stream:
 * bit i -> byte i >> 3, bit i & 7. out has (n + 7) / 8 bytes. */
void seg_bits_pack(const uint8_t *in, size_t n, uint8_t *out);
/* The inverse: n values 0/1 from the bit stream. */
void seg_bits_unpack(const uint8_t *in, size_t n, uint8_t *out);
/* The n values from bit `start` on (a frame of a bit mask). */
void seg_bits_unpack_range(const uint8_t *in, size_t start, size_t n, uint8_t *out);
/* The set bits among bits start .. start + n - 1 of in. */
int64_t seg_bits_count(const uint8_t *in, size_t start, size_t n);
/* n <= 64 bits of in from bit `at` on as the low bits of a word (bit i = bit at + i, the
 * others 0); reads only the bytes holding them. */
uint64_t seg_bits_word(const uint8_t *in, size_t at, size_t n);
/* ORs n bits of src from bit src_at on into dst from bit dst_at on (dst's bits there are 0). */
void seg_bits_copy(uint8_t *dst, size_t dst_at, const uint8_t *src, size_t src_at, size_t n);
/* Copies src into dst (cap bytes incl. NUL) keeping at most max_chars characters and
 * never splitting a UTF-8 sequence. */
void seg_utf8_truncate(char *dst, size_t cap, const char *src, size_t max_chars);
/* A new UID: "2.25.<decimal of 128 random bits>" when root is NULL or "", else
 * "<root>.<random decimal digits>" within 64 characters. Fails on an invalid root. */
int seg_uid_make(char out[65], const char *root, c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
