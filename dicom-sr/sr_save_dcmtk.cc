/* sr_save_dcmtk: completes and writes an SR document; see sr_save_dcmtk.h. */
#include "dicom-sr/sr_save_dcmtk.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"

#include <cstdio>

int sr_document_save(DSRDocument &doc, const char *path, const char *series_uid, const char *sop_uid,
                     const char *root, const char *date, const char *time, DcmItem *own, c2_err *e)
{
    doc.completeDocument();
    DcmFileFormat ff;
    OFCondition st = doc.write(*ff.getDataset());
    if (st.bad())
        return c2_fail(e, C2_EINVAL, "%s: cannot build the SR dataset (%s)", path, st.text());
    DcmDataset *ds = ff.getDataset();
    for (unsigned long i = 0; own && i < own->card(); i++) {
        DcmElement *el = own->getElement(i);
        DcmElement *copy = el && el->getTag() != DCM_SpecificCharacterSet ? OFstatic_cast(DcmElement *, el->clone()) : NULL;
        if (copy && ds->insert(copy, OFTrue).bad())
            delete copy;
    }
    if (date && time) {
        ds->putAndInsertString(DCM_InstanceCreationDate, date);
        ds->putAndInsertString(DCM_InstanceCreationTime, time);
        ds->putAndInsertString(DCM_ContentDate, date);
        ds->putAndInsertString(DCM_ContentTime, time);
    }
    char uid[100];
    ds->putAndInsertString(DCM_SeriesInstanceUID,
                           series_uid && series_uid[0] ? series_uid : dcmGenerateUniqueIdentifier(uid, root));
    ds->putAndInsertString(DCM_SOPInstanceUID, sop_uid && sop_uid[0] ? sop_uid : dcmGenerateUniqueIdentifier(uid, root));
    char tmp[4200];
    c2_temp_name(tmp, sizeof tmp, path);
    st = ff.saveFile(tmp, EXS_LittleEndianExplicit);
    if (st.bad()) {
        std::remove(tmp);
        return c2_fail(e, C2_EIO, "%s: cannot write (%s)", path, st.text());
    }
    return c2_rename_into_place(tmp, path, e);
}
