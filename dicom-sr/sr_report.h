/* sr_report: the findings of one predicted segmentation as a DICOM Comprehensive SR in
 * the shape of TID 1500 (Imaging Measurement Report), written through DCMTK
 * (sr_report_dcmtk.cc) by the recipe of DICOM_NOTES.md §3.3:
 *   root CONTAINER (126000, DCM, "Imaging Measurement Report"), template 1500 DCMR
 *     language, observer type = device, device observer UID, procedure reported
 *     Image Library > Image Library Group > IMAGE: the SEG
 *     Imaging Measurements > Measurement Group:
 *       tracking identifier / UID, Finding = Lesion (52988006, SCT),
 *       Referenced Segment (121214, DCM) = segment 1 of the SEG,
 *       Laterality (272741003, SCT) = Left / Right / Right and left,
 *       Finding site (363698007, SCT) TEXT per involved zone ("right lung, lower zone"),
 *       NUM lesion count (246205007 "Quantity"), NUM volume (118565006, cm3) or area
 *       (42798000, mm2), TEXT comment: the report text and its agreement with the mask.
 * Patient and study attributes are copied from the SEG, which is listed in Current
 * Requested Procedure Evidence (dciodvfy requires every referenced instance there). */
#ifndef C2SEG_DICOM_SR_SR_REPORT_H
#define C2SEG_DICOM_SR_SR_REPORT_H

#include "base/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sr_finding {
    const char *case_id;        /* tracking identifier (the case name, a safe name, e.g. "CT_chest_3") */
    const char *laterality;     /* "left", "right", "bilateral" or "none" */
    const char *zones[6];       /* involved zones, names as zone_name() ("R-lower") */
    int n_zones;
    int lesion_count;           /* connected components; -1 when unknown */
    double volume_ml;           /* < 0 when unknown */
    double area_mm2;            /* < 0 when unknown (used when there is no volume) */
    const char *text;           /* the report text the mask was compared with, or NULL */
    const char *agreement;      /* one sentence on the text-mask agreement, or NULL */
} sr_finding;

/* Writes the SR for the SEG at seg_path to path, atomically. uid_root NULL = DCMTK's. */
int sr_report_write(const char *path, const char *seg_path, const sr_finding *f, const char *uid_root, c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
