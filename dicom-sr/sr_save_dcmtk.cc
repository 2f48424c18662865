/* sr_save_dcmtk: completes and writes an SR document; see sr_save_dcmtk.h. */
#include "dicom-sr/sr_save_dcmtk.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcstack.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"

#include <cstdio>

namespace {

/* Whether every text value of ds subject to its character set is ASCII, own's elements at the
 * top level aside. */
bool text_ascii_besides(DcmDataset *ds, DcmItem *own)
{
    DcmStack stack;
    while (ds->nextObject(stack, OFTrue).good()) {
        DcmObject *o = stack.top();
        if (!o->isLeaf())
            continue;
        DcmElement *el = OFstatic_cast(DcmElement *, o);
        if (!el->isAffectedBySpecificCharacterSet() || (el->getParentItem() == ds && own->tagExists(el->getTag())))
            continue;
        char *v = NULL;
        Uint32 n = 0;
        if (el->getString(v, n).good() && v)
            for (Uint32 i = 0; i < n; i++)
                if ((unsigned char)v[i] >= 0x80)
                    return false;
    }
    return true;
}

/* own's Specific Character Set, when it is not the SR's UTF-8 (its values could not be
 * converted), becomes the SR's if the SR's other text is ASCII, which reads the same in any
 * set; else the values stay bytes in a UTF-8 SR, with a warning. */
void take_own_charset(DcmDataset *ds, DcmItem *own, const char *path)
{
    OFString cs;
    if (own->findAndGetOFStringArray(DCM_SpecificCharacterSet, cs).bad() || cs == "ISO_IR 192")
        return;
    if (!text_ascii_besides(ds, own)) {
        c2_warn("%s: the patient / study values are in '%s', which iconv cannot convert to UTF-8, beside UTF-8 text: "
                "their bytes are copied as they are",
                path, cs.c_str());
        return;
    }
    if (cs.empty())
        delete ds->remove(DCM_SpecificCharacterSet);
    else
        ds->putAndInsertOFStringArray(DCM_SpecificCharacterSet, cs);
}

} // namespace

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
    if (own)
        take_own_charset(ds, own, path);
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
