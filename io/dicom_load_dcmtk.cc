/* The one way the DCMTK shims open a DICOM file (see dicom_load_dcmtk.h). */
#include "io/dcmtk_log.h"
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcfilefo.h"

#include "io/dicom.h"
#include "io/dicom_deflate.h"
#include "io/dicom_load_dcmtk.h"

int dicom_dcmtk_load(DcmFileFormat &ff, const char *path, c2_err *e, int whole)
{
    dcmtk_log_setup();   /* DCMTK's own lines go through our logger (io/dcmtk_log.h) */
    int rc = dicom_deflate_check(path, e);
    if (rc)
        return rc;
    OFCondition st = ff.loadFile(path, EXS_Unknown, EGL_noChange, whole ? (Uint32)1 << 30 : DCM_MaxReadLength, ERM_autoDetect);
    if (st.bad())
        return c2_fail(e, C2_EINVAL, "%s: not a readable DICOM file (%s)", path, st.text());
    return C2_OK;
}
