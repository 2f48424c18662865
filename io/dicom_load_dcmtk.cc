/* The one way the DCMTK shims open a DICOM file (see dicom_load_dcmtk.h). */
#include "io/dcmtk_log.h"
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcistrmf.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcstack.h"
#include "dcmtk/dcmdata/dcxfer.h"

#include "io/dicom.h"
#include "io/dicom_deflate.h"
#include "io/dicom_load_dcmtk.h"

/* Where path's dataset starts when DCMTK will read it as Deflated Explicit VR Little Endian,
 * else -1. The File Meta Information is read here the way DcmFileFormat::loadFile reads it
 * (a file stream, DcmMetaInfo::read with the transfer syntax unknown, then the first (0002,0010)
 * found, as DcmFileFormat::lookForXfer), so that the check walks the bytes DCMTK will
 * inflate: a group length spanning elements of other groups, a file without preamble, a meta
 * header in another encoding are all read as DCMTK reads them. After a meta header DCMTK
 * cannot read, it reads no dataset. */
static int64_t deflated_dataset_start(const char *path)
{
    DcmInputFileStream in(path);
    if (in.status().bad())
        return -1;
    DcmMetaInfo meta;
    meta.transferInit();
    OFCondition st = meta.read(in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
    meta.transferEnd();
    DcmStack stack;
    if (st.bad() || meta.search(DCM_TransferSyntaxUID, stack).bad() || !stack.top()->isLeaf())
        return -1;
    char *uid = NULL;
    if (OFstatic_cast(DcmElement *, stack.top())->getString(uid).bad() || !uid ||
        DcmXfer(uid).getXfer() != EXS_DeflatedLittleEndianExplicit)
        return -1;
    return (int64_t)in.tell();
}

int dicom_dcmtk_check(const char *path, const char *shown, c2_err *e)
{
    int64_t start = deflated_dataset_start(path);
    return start < 0 ? C2_OK : dicom_deflate_check(path, shown, start, e);
}

int dicom_dcmtk_load(DcmFileFormat &ff, const char *path, c2_err *e, int whole)
{
    dcmtk_log_setup();   /* DCMTK's own lines go through our logger (io/dcmtk_log.h) */
    int rc = dicom_dcmtk_check(path, path, e);
    if (rc)
        return rc;
    OFCondition st = ff.loadFile(path, EXS_Unknown, EGL_noChange, whole ? (Uint32)1 << 30 : DCM_MaxReadLength, ERM_autoDetect);
    if (st.bad())
        return c2_fail(e, C2_EINVAL, "%s: not a readable DICOM file (%s)", path, st.text());
    return C2_OK;
}
