/* sample-data: the internal interfaces of the deterministic synthetic cohort generator
 * (`c2seg-sample-data`, see sample-data/README.md). A cohort is a list of studies; each
 * study is a chest CT phantom with ground-glass lesions placed in known zones.
 *
 * Zones. A lesion has a patient side and a level (upper / middle / lower). The level is
 * used twice, so that one word describes the lesion everywhere:
 *   - along the cranio-caudal axis: the lesion lies in that third of the slices
 *     (instance 1 is the most cranial slice) -> the study-level report's lobe;
 *   - within each slice: the lesion lies in that level's rows of METHOD.md §7's zone rule
 *     (cuts at round(H/3) and round(0.4 H), kept one margin away from the cuts) -> the
 *     per-slice caption's zone word.
 * Left / right: slices are written with ImageOrientationPatient 1\0\0\0\1\0, so image
 * column 0 is the patient's right. Per-slice captions use the IMAGE convention (QaTa's,
 * METHOD.md §7: "left" = image left half = patient right); the study report uses the
 * PATIENT convention (clinical prose). */
#ifndef C2SEG_SAMPLE_DATA_SAMPLE_H
#define C2SEG_SAMPLE_DATA_SAMPLE_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

#define SAMPLE_MAX_LESIONS 5
#define SAMPLE_UID_LEN 65
#define SAMPLE_HU_AIR (-1000)
#define SAMPLE_RESCALE_INTERCEPT (-1024)   /* stored = HU + 1024, slope 1 */

/* ---- hashing, UIDs and random numbers (sample-data/uid.c) ---- */

/* 2.25.<decimal of a 128-bit UUID> where the UUID is an RFC 9562 version-8 (custom)
 * UUID whose 122 free bits are a hash of "c2seg-sample-data|<seed>|<what>". */
void sample_uid(char out[SAMPLE_UID_LEN], uint64_t seed, const char *what);
/* 64-bit hash of "c2seg-sample-data|<seed>|<what>" (FNV-1a, then a murmur finaliser). */
uint64_t sample_hash(uint64_t seed, const char *what, uint64_t salt);

/* splitmix64 stream. Normal variates are a scaled sum of four uniforms (Irwin-Hall): only
 * integer arithmetic and a multiplication, so no libm call can change the noise between
 * machines. */
typedef struct sample_rng {
    uint64_t state;
} sample_rng;
void sample_rng_init(sample_rng *r, uint64_t seed, const char *stream);
uint64_t sample_rng_next(sample_rng *r);
double sample_rng_uniform(sample_rng *r);          /* [0, 1) */
double sample_rng_range(sample_rng *r, double lo, double hi);
double sample_rng_normal(sample_rng *r);           /* mean 0, variance 1, support +-2 sqrt 3 */

/* ---- the cohort design (sample-data/design.c) ---- */

enum { LEVEL_UPPER = 0, LEVEL_MIDDLE = 1, LEVEL_LOWER = 2 };
enum { SIDE_PATIENT_RIGHT = 0, SIDE_PATIENT_LEFT = 1 };
enum { SPLIT_TRAIN = 0, SPLIT_VALID = 1, SPLIT_TEST = 2 };

typedef struct sample_lesion {
    int side;            /* SIDE_*: the patient's side */
    int level;           /* LEVEL_*: third of the slices and row zone inside each slice */
    int k0, k1;          /* slice range, inclusive, 0 = the most cranial slice */
    double cx, cy;       /* centre at the central slice: fractions of W (columns) and H (rows) */
    double rx, ry;       /* semi-axes at the central slice: fractions of W and H */
    double phase[2];     /* phases of the outline's 3rd and 5th angular harmonics, radians */
    double hu;           /* mean attenuation, HU (ground glass: -300 .. -150) */
} sample_lesion;

typedef struct sample_study {
    int index;                          /* 0-based */
    int split;                          /* SPLIT_* (by study, never by slice) */
    char name[16];                      /* "case01": file names */
    char patient_name[64], patient_id[32], patient_sex[2], birth_date[9];
    char study_date[9], study_time[7], study_id[16], accession[16];
    char study_uid[SAMPLE_UID_LEN], series_uid[SAMPLE_UID_LEN], frame_uid[SAMPLE_UID_LEN];
    char sr_series_uid[SAMPLE_UID_LEN], sr_uid[SAMPLE_UID_LEN];
    double body_scale, lung_scale;      /* per-study anatomy variation, ~1 */
    int n_lesions;
    sample_lesion lesions[SAMPLE_MAX_LESIONS];
} sample_study;

typedef struct sample_cohort {
    uint64_t seed;
    int n_studies;
    int size;                           /* rows = columns */
    int n_slices;
    double pixel_mm, slice_mm;          /* in-plane spacing, slice spacing = thickness */
    int cut_upper, cut_middle;          /* METHOD.md §7 row cuts at this size */
    int margin;                         /* rows kept free on each side of a cut */
    int slice_captions;                 /* --slice-captions: write dicom/caseNN/captions.csv */
    sample_study *studies;              /* n_studies, owned */
} sample_cohort;

/* Designs the cohort from (seed, n_studies, size, n_slices). Sizes are validated here.
 * Free with sample_cohort_free. */
int sample_cohort_design(sample_cohort *c, uint64_t seed, int n_studies, int size, int n_slices, c2_err *e);
void sample_cohort_free(sample_cohort *c);
const char *sample_split_name(int split);           /* "train" "valid" "test" */
const char *sample_level_name(int level);           /* "upper" "middle" "lower" */
/* Slice geometry: ImagePositionPatient (LPS mm) of slice k; the orientation is axial. */
void sample_slice_position(const sample_cohort *c, int k, double pos[3]);

/* ---- the phantom (sample-data/phantom.c) ---- */

/* Renders slice k of study s: hu [H*W] in HU, mask [H*W] 0/1 (1 = lesion), and the known
 * zones [6] of the lesions drawn on it in SGSeg pseudo_label order, IMAGE convention
 * ([L-upper, L-middle, L-lower, R-upper, R-middle, R-lower], image left = patient right).
 * A lesion is drawn on a slice only when its clipped area is at least 1 % of a side's
 * pixels, twice METHOD.md §7's 0.5 % threshold, so a drawn lesion always involves its zone. */
void phantom_slice_render(const sample_cohort *c, const sample_study *s, int k, int16_t *hu, uint8_t *mask,
                          uint8_t zones[6]);

/* ---- text (sample-data/report_text.c) ---- */

/* QaTa-style caption of a zone vector (image convention), SGSeg's wording:
 * "bilateral pulmonary infection, two infected areas, upper left lung and lower right lung." */
void caption_of_zones(const uint8_t zones[6], char *out, size_t cap);
/* The study report in clinical prose, PATIENT convention (lobes; the left lung's middle
 * level is the lingula), from the union of the study's slice zones (image convention). */
void report_of_zones(const uint8_t zones[6], char *out, size_t cap);

/* ---- one study's files (sample-data/study_write.c) ---- */

struct cJSON;
typedef struct sample_counts {
    int slices;          /* CT slices written (DICOM files) */
    int lesion_slices;   /* slices with at least one lesion (PNG pairs written) */
    int reports;         /* SR files written */
} sample_counts;

/* Writes study s under out_dir (layout in sample-data/README.md): the DICOM CT series,
 * the SR report, the NIfTI volume + mask, the PNG slice pairs of its lesion slices,
 * truth/NAME.json and, with c->slice_captions, the series' per-slice caption table. Appends the PNG entries to annotation[split] (SGSeg's annotation.json
 * object) and adds to counts. */
int study_write(const sample_cohort *c, const sample_study *s, const char *out_dir, struct cJSON *annotation,
                sample_counts *counts, c2_err *e);

#endif
