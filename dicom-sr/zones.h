/* zones: the one zone extractor of METHOD.md §7, shared by the caption generator, the
 * consistency report and evaluation. A binary mask [H,W] (row-major, nonzero = lesion)
 * becomes sides, the 6-zone vector in SGSeg's pseudo_label order
 * [L-upper, L-middle, L-lower, R-upper, R-middle, R-lower], zone runs per side and
 * 8-connected components with their sizes.
 *
 * Rule (chosen on the QaTa train GT masks against pseudo_label, METHOD.md §7):
 *   midline x_mid = W/2, or the mean column of the lung mask when one is given;
 *   rows: the whole image, or the lung mask's row extent [y0, y1); cut into
 *   upper [y0, c1), middle [c1, c2), lower [c2, y1) with c = y0 + round(f*(y1-y0)),
 *   f = (1/3, 0.4);
 *   a zone is involved when its foreground >= 0.5 % of its side's pixels (box rows x side
 *   columns) and >= 1 pixel;
 *   components: 8-connected, counted when area >= 0.1 % of H*W.
 * Left / right: which image half is the text's "left" is a parameter (zone_rule.left_half),
 * never guessed here. QaTa captions: the image's left half (pixel centre x + 0.5 < x_mid).
 * Clinical text (patient left) on a standard PA / AP chest or an axial slice in LPS
 * display: the image's right half; the caller decides from the DICOM orientation. */
#ifndef C2SEG_DICOM_SR_ZONES_H
#define C2SEG_DICOM_SR_ZONES_H

#include "base/base.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { ZONE_L_UPPER, ZONE_L_MIDDLE, ZONE_L_LOWER, ZONE_R_UPPER, ZONE_R_MIDDLE, ZONE_R_LOWER, ZONE_COUNT };

typedef enum laterality { LAT_NONE = 0, LAT_LEFT, LAT_RIGHT, LAT_BILATERAL, LAT_UNKNOWN } laterality;

/* Which "left" a text means. Every text records its convention from its source:
 * public captions (annotation.json, xlsx, csv) = image, SR / clinical reports = patient. */
typedef enum lr_convention { CONV_IMAGE = 0, CONV_PATIENT = 1, CONV_UNKNOWN = 2 } lr_convention;

enum { HALF_IMAGE_LEFT = 0, HALF_IMAGE_RIGHT = 1 };

typedef struct zone_rule {
    double cut_upper;    /* 1/3: end of the upper zone, fraction of the row box */
    double cut_middle;   /* 0.4: end of the middle zone */
    double thr;          /* 0.005: involved fraction of the side's pixels */
    double cc_min_frac;  /* 0.001: smallest counted component, fraction of H*W */
    int left_half;       /* HALF_IMAGE_LEFT: the text's left is x + 0.5 < x_mid */
} zone_rule;

/* The METHOD.md §7 rule with the captions' convention (image left half = left). */
zone_rule zone_rule_default(void);

typedef struct mask_component {
    int64_t area;           /* pixels */
    int x0, y0, x1, y1;     /* bounding box, inclusive-exclusive */
    double cx, cy;          /* centroid, pixels */
} mask_component;

typedef struct mask_zones {
    uint8_t zones[ZONE_COUNT];     /* 1 = involved */
    int64_t zone_fg[ZONE_COUNT];   /* foreground pixels per zone */
    int64_t side_px[2];            /* pixels of the left / right side inside the row box */
    int row_cuts[4];               /* y0, c1, c2, y1 */
    double x_mid;
    laterality lat;                /* from the involved zones */
    int n_zones;                   /* number of involved zones (the captions' count) */
    int runs[2];                   /* runs of consecutive involved zones, left / right side */
    int64_t fg;                    /* foreground pixels */
    int n_components;              /* components with area >= cc_min_frac*H*W */
    int n_components_all;          /* all 8-connected components */
    mask_component *components;    /* all components, largest first (malloc'd) */
} mask_zones;

/* mask [H*W] (nonzero = foreground); lung [H*W] or NULL; rule NULL = zone_rule_default().
 * Fails (C2_EINVAL) on bad sizes or an empty lung mask. Free with mask_zones_free. */
int mask_zones_compute(const uint8_t *mask, int H, int W, const uint8_t *lung, const zone_rule *rule,
                       mask_zones *out, c2_err *e);
void mask_zones_free(mask_zones *z);

/* 8-connected components of mask [H*W], all of them, largest first (*out malloc'd). */
int mask_components(const uint8_t *mask, int H, int W, mask_component **out, int *n, c2_err *e);

/* Laterality of a 6-zone vector; runs of consecutive involved zones on one side (z[3]). */
laterality zones_laterality(const uint8_t z[ZONE_COUNT]);
int zones_side_runs(const uint8_t z3[3]);
int zones_count(const uint8_t z[ZONE_COUNT]);
/* |a & b| / |a | b|, 1 when both are empty. */
double zones_jaccard(const uint8_t a[ZONE_COUNT], const uint8_t b[ZONE_COUNT]);
const char *laterality_name(laterality l);   /* "none" "left" "right" "bilateral" "unknown" */
const char *convention_name(lr_convention c); /* "image" "patient" "unknown" */
const char *zone_name(int zone);              /* "L-upper" ... "R-lower" */

/* Reads a PNG / JPEG mask (io/image2d) and binarises it as the reference does: value > 127
 * for 8-bit (> maxval/2 otherwise), or value != 0 when the file holds only 0 and 1.
 * size > 0 resizes to size x size with io's resize_nearest_u8 (the small preset uses 128).
 * *mask is malloc'd [H*W] of 0/1. */
int mask_read_binary(const char *path, int size, uint8_t **mask, int *H, int *W, c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
