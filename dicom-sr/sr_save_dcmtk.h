/* sr_save_dcmtk: the last step both SR writers share (sr_dcmtk.cc's Basic Text SR,
 * sr_report_dcmtk.cc's Comprehensive SR): complete the DSRDocument, give it its series
 * and instance UIDs, and write it atomically. C++ only, for the *_dcmtk.cc shims of
 * dicom-sr/; callers keep it inside their try / catch. */
#ifndef C2SEG_DICOM_SR_SR_SAVE_DCMTK_H
#define C2SEG_DICOM_SR_SR_SAVE_DCMTK_H

#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmsr/dsrdoc.h"

#include "base/base.h"

/* Writes doc (completed here) to path as Explicit VR Little Endian, via a temporary
 * name in path's folder. series_uid / sop_uid: NULL or "" = a new UID under root.
 * date (YYYYMMDD) and time (HHMMSS), when both are given, become the instance creation
 * and content date and time, so a fixed input gives the same bytes. own: NULL, or
 * elements (UTF-8, as the SR declares) put into the written dataset as they are, over the
 * document's: the patient and study values of the images the SR reports on, which the
 * DSRDocument setters would check and refuse (a control byte, a backslash), leaving the SR
 * without the patient's name. A Specific Character Set in own other than ISO_IR 192 (values
 * iconv could not convert; "" for the default repertoire) becomes the SR's when the rest of
 * the SR is ASCII; otherwise the values stay bytes, with a warning. */
int sr_document_save(DSRDocument &doc, const char *path, const char *series_uid, const char *sop_uid,
                     const char *root, const char *date, const char *time, DcmItem *own, c2_err *e);

#endif
