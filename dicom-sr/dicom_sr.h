/* dicom-sr: report text. DICOM SR reading / writing, caption tables (json, xlsx, csv),
 * the clinical-text parser and caption generator, the zone extractor and the text-mask
 * consistency record. This is the folder's public header; it includes one header per concept. */
#ifndef C2SEG_DICOM_SR_H
#define C2SEG_DICOM_SR_H

#include "io/io.h"
#include "dicom-sr/sr.h"
#include "dicom-sr/captions.h"
#include "dicom-sr/zones.h"
#include "dicom-sr/caption_parse.h"
#include "dicom-sr/prose_parse.h"
#include "dicom-sr/consistency.h"
#include "dicom-sr/quality_gate.h"
#include "dicom-sr/lung_mask.h"
#include "dicom-sr/severity.h"
#include "dicom-sr/sr_report.h"

#endif
