/* sr_charset_dcmtk: DICOM's Japanese code extensions (Specific Character Set "ISO 2022 IR 87"
 * and / or "ISO 2022 IR 159", with "ISO 2022 IR 6" or an empty first value) converted to UTF-8
 * through glibc's ISO-2022-JP-2 converter. Debian's DCMTK converts through iconv too but does
 * not know these DICOM names ("not supported by the utilized character set conversion library":
 * DICOM_NOTES §3.2), so a Japanese patient name or report text stayed escape sequences. C++
 * only, for the *_dcmtk.cc shims of dicom-sr/ (the SR module). */
#ifndef C2SEG_DICOM_SR_SR_CHARSET_DCMTK_H
#define C2SEG_DICOM_SR_SR_CHARSET_DCMTK_H

#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcitem.h"

/* Converts every text value of item (its sequences' items included) to UTF-8 and sets its
 * Specific Character Set to ISO_IR 192, when that set is one of the Japanese ISO 2022 sets
 * above and every value converts; EC_Normal then. Otherwise item is left as it was (nothing
 * converted, not even in part) and the result is an error. */
OFCondition sr_convert_iso2022_jp(DcmItem &item);

#endif
