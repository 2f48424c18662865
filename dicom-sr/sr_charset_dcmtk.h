/* sr_charset_dcmtk: DICOM's Japanese code extensions (Specific Character Set "ISO 2022 IR 13",
 * "ISO 2022 IR 87", "ISO 2022 IR 159", with "ISO 2022 IR 6" or an empty first value; the usual
 * Japanese hospital setting is "ISO 2022 IR 13\ISO 2022 IR 87") converted to UTF-8: the escape
 * sequences are read here (PS3.5 Annex H) into EUC-JP, which glibc's iconv converts. Debian's
 * DCMTK converts through iconv too but knows no converter for these DICOM names ("not supported
 * by the utilized character set conversion library": DICOM_NOTES §3.2), so a Japanese patient
 * name or report text stayed escape sequences. C++ only, for the *_dcmtk.cc shims of dicom-sr/
 * (the SR module). */
#ifndef C2SEG_DICOM_SR_SR_CHARSET_DCMTK_H
#define C2SEG_DICOM_SR_SR_CHARSET_DCMTK_H

#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcitem.h"

/* Converts every text value of item (its sequences' items included) to UTF-8 and sets its
 * Specific Character Set to ISO_IR 192, when that set declares only the Japanese ISO 2022 sets
 * above (and IR 6) and every value converts; EC_Normal then. Otherwise item is left as it was (nothing
 * converted, not even in part) and the result is an error. */
OFCondition sr_convert_iso2022_jp(DcmItem &item);

#endif
