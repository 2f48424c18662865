/* sr_report_dcmtk: the DCMTK shim behind dicom-sr/sr_report.h (TID 1500-style
 * Comprehensive SR of one SEG's findings). No C++ type or exception crosses the
 * extern "C" boundary. */
#include "io/dcmtk_log.h"
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmsr/dsrdoc.h"

#include "dicom-sr/sr_charset_dcmtk.h"
#include "dicom-sr/sr_report.h"
#include "dicom-sr/sr_save_dcmtk.h"
#include "io/dicom.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace {

std::string tag_string(DcmDataset *ds, const DcmTagKey &key)
{
    OFString v;
    return ds->findAndGetOFStringArray(key, v).good() ? std::string(v.c_str()) : std::string();
}

/* The patient and study values of the SEG (its source's, byte for byte) for the SR, which is
 * UTF-8 (ISO_IR 192): converted from the SEG's Specific Character Set (a Latin-1 "Müller" stays
 * "Müller", a Japanese ISO 2022 name through sr_convert_iso2022_jp). Values that cannot be
 * converted (other ISO 2022 code extensions: DICOM_NOTES §3.2; bytes outside the declared set)
 * stay as they are with the SEG's Specific
 * Character Set (an empty one for the default repertoire), which sr_document_save gives the SR
 * when the rest of the SR is ASCII: the SR must name the patient the SEG names. */
void own_patient_study(DcmDataset *sd, DcmItem &own)
{
    static const DcmTagKey tags[] = {DCM_SpecificCharacterSet, DCM_PatientName, DCM_PatientID,
                                     DCM_PatientBirthDate, DCM_PatientSex, DCM_StudyDate, DCM_StudyTime,
                                     DCM_StudyID, DCM_AccessionNumber, DCM_ReferringPhysicianName};
    for (const DcmTagKey &k : tags) {
        DcmElement *el = NULL;
        if (sd->findAndGetElement(k, el, OFFalse, OFTrue).good() && el)   /* a copy */
            own.insert(el, OFTrue);
    }
    if (own.card() == 0)
        return;
    DcmDataset utf8;   /* a dataset: DCMTK converts an item only as part of one */
    for (unsigned long i = 0; i < own.card(); i++)
        utf8.insert(OFstatic_cast(DcmElement *, own.getElement(i)->clone()), OFTrue);
    /* Japanese ISO 2022 read here (sr_charset_dcmtk.h), every other set through DCMTK */
    if (sr_convert_iso2022_jp(utf8).good() || utf8.convertToUTF8().good()) {
        own.clear();
        for (unsigned long i = 0; i < utf8.card(); i++)
            own.insert(OFstatic_cast(DcmElement *, utf8.getElement(i)->clone()), OFTrue);
    } else if (!own.tagExists(DCM_SpecificCharacterSet)) {
        own.putAndInsertString(DCM_SpecificCharacterSet, "");
    }
}

std::string zone_site(const char *zone)
{
    /* "R-lower" -> "right lung, lower zone" */
    std::string z = zone ? zone : "";
    std::string side = !z.empty() && z[0] == 'L' ? "left" : "right";
    std::string band = z.size() > 2 ? z.substr(2) : z;
    return side + " lung, " + band + " zone";
}

int add_num(DSRDocumentTree &t, const DSRCodedEntryValue &concept, double value, const DSRCodedEntryValue &unit)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", value);
    t.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Num, DSRTypes::AM_afterCurrent);
    t.getCurrentContentItem().setConceptName(concept);
    return t.getCurrentContentItem().setNumericValue(DSRNumericMeasurementValue(buf, unit)).good() ? 0 : -1;
}

int write_report(const char *path, const char *seg_path, const sr_finding *f, const char *uid_root, c2_err *e)
{
    dcmtk_log_setup();
    DcmFileFormat seg;
    if (seg.loadFile(seg_path).bad())
        return c2_fail(e, C2_EIO, "%s: cannot read the SEG the report refers to", seg_path);
    DcmDataset *sd = seg.getDataset();
    std::string seg_class = tag_string(sd, DCM_SOPClassUID), seg_inst = tag_string(sd, DCM_SOPInstanceUID);
    std::string study = tag_string(sd, DCM_StudyInstanceUID), modality = tag_string(sd, DCM_Modality);
    if (seg_class != UID_SegmentationStorage || seg_inst.empty() || study.empty())
        return c2_fail(e, C2_EINVAL, "%s: not a DICOM SEG with a study and instance UID", seg_path);
    const char *root = uid_root && uid_root[0] ? uid_root : SITE_INSTANCE_UID_ROOT;
    char uid[100];

    DSRDocument doc(DSRTypes::DT_ComprehensiveSR);
    doc.setSpecificCharacterSetType(DSRTypes::CS_UTF8);
    doc.createNewSeriesInStudy(study.c_str());
    DcmItem own;   /* the SEG's patient / study values, in UTF-8 as the SR declares, put in as they are */
    own_patient_study(sd, own);
    doc.setManufacturer("c2seg");
    doc.setSeriesDescription("c2seg findings");
    doc.setSeriesNumber("901");
    doc.setInstanceNumber("1");
    doc.getCurrentRequestedProcedureEvidence().addItem(*sd);

    DSRDocumentTree &t = doc.getTree();
    t.addContentItem(DSRTypes::RT_isRoot, DSRTypes::VT_Container);
    t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("126000", "DCM", "Imaging Measurement Report"));
    t.getCurrentContentItem().setTemplateIdentification("1500", "DCMR");
    t.addChildContentItem(DSRTypes::RT_hasConceptMod, DSRTypes::VT_Code,
                          DSRCodedEntryValue("121049", "DCM", "Language of Content Item and Descendants"));
    t.getCurrentContentItem().setCodeValue(DSRCodedEntryValue("en-US", "RFC5646", "English (United States)"));
    t.addContentItem(DSRTypes::RT_hasObsContext, DSRTypes::VT_Code, DSRTypes::AM_afterCurrent);
    t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("121005", "DCM", "Observer Type"));
    t.getCurrentContentItem().setCodeValue(DSRCodedEntryValue("121007", "DCM", "Device"));
    t.addContentItem(DSRTypes::RT_hasObsContext, DSRTypes::VT_UIDRef, DSRTypes::AM_afterCurrent);
    t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("121012", "DCM", "Device Observer UID"));
    t.getCurrentContentItem().setStringValue(dcmGenerateUniqueIdentifier(uid, root));
    t.addContentItem(DSRTypes::RT_hasConceptMod, DSRTypes::VT_Code, DSRTypes::AM_afterCurrent);
    t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("121058", "DCM", "Procedure reported"));
    if (modality == "CT" || modality == "SEG")
        t.getCurrentContentItem().setCodeValue(DSRCodedEntryValue("77477000", "SCT", "Computed Tomography"));
    else
        t.getCurrentContentItem().setCodeValue(DSRCodedEntryValue("363680008", "SCT", "Radiographic imaging procedure"));

    /* Image Library > Image Library Group > the SEG */
    t.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Container, DSRTypes::AM_afterCurrent);
    t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("111028", "DCM", "Image Library"));
    t.addChildContentItem(DSRTypes::RT_contains, DSRTypes::VT_Container,
                          DSRCodedEntryValue("126200", "DCM", "Image Library Group"));
    t.addChildContentItem(DSRTypes::RT_contains, DSRTypes::VT_Image, DSRCodedEntryValue());
    t.getCurrentContentItem().setImageReference(DSRImageReferenceValue(seg_class.c_str(), seg_inst.c_str()));
    t.goUp();
    t.goUp();

    /* Imaging Measurements > Measurement Group */
    t.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Container, DSRTypes::AM_afterCurrent);
    t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("126010", "DCM", "Imaging Measurements"));
    t.addChildContentItem(DSRTypes::RT_contains, DSRTypes::VT_Container,
                          DSRCodedEntryValue("125007", "DCM", "Measurement Group"));
    t.addChildContentItem(DSRTypes::RT_hasObsContext, DSRTypes::VT_Text,
                          DSRCodedEntryValue("112039", "DCM", "Tracking Identifier"));
    t.getCurrentContentItem().setStringValue(f->case_id && f->case_id[0] ? f->case_id : "lesion");
    t.addContentItem(DSRTypes::RT_hasObsContext, DSRTypes::VT_UIDRef, DSRTypes::AM_afterCurrent);
    t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("112040", "DCM", "Tracking Unique Identifier"));
    t.getCurrentContentItem().setStringValue(dcmGenerateUniqueIdentifier(uid, root));
    t.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Code, DSRTypes::AM_afterCurrent);
    t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("121071", "DCM", "Finding"));
    t.getCurrentContentItem().setCodeValue(DSRCodedEntryValue("52988006", "SCT", "Lesion"));
    t.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Image, DSRTypes::AM_afterCurrent);
    t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("121214", "DCM", "Referenced Segment"));
    DSRImageReferenceValue ref(seg_class.c_str(), seg_inst.c_str());
    ref.getSegmentList().addItem(1);
    t.getCurrentContentItem().setImageReference(ref);
    std::string lat = f->laterality ? f->laterality : "";
    if (lat == "left" || lat == "right" || lat == "bilateral") {
        t.addContentItem(DSRTypes::RT_hasConceptMod, DSRTypes::VT_Code, DSRTypes::AM_afterCurrent);
        t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("272741003", "SCT", "Laterality"));
        t.getCurrentContentItem().setCodeValue(lat == "left"    ? DSRCodedEntryValue("7771000", "SCT", "Left")
                                               : lat == "right" ? DSRCodedEntryValue("24028007", "SCT", "Right")
                                                                : DSRCodedEntryValue("51440002", "SCT", "Right and left"));
    }
    for (int z = 0; z < f->n_zones && z < 6; z++) {
        t.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Text, DSRTypes::AM_afterCurrent);
        t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("363698007", "SCT", "Finding site"));
        t.getCurrentContentItem().setStringValue(zone_site(f->zones[z]).c_str());
    }
    int bad = 0;
    if (f->lesion_count >= 0)
        bad |= add_num(t, DSRCodedEntryValue("246205007", "SCT", "Quantity"), f->lesion_count,
                       DSRCodedEntryValue("1", "UCUM", "no units"));
    if (f->volume_ml >= 0)
        bad |= add_num(t, DSRCodedEntryValue("118565006", "SCT", "Volume"), f->volume_ml,
                       DSRCodedEntryValue("cm3", "UCUM", "cubic centimeter"));
    else if (f->area_mm2 >= 0)
        bad |= add_num(t, DSRCodedEntryValue("42798000", "SCT", "Area"), f->area_mm2,
                       DSRCodedEntryValue("mm2", "UCUM", "square millimeter"));
    std::string comment;
    if (f->text && f->text[0])
        comment = std::string("Report text: ") + f->text;
    if (f->agreement && f->agreement[0])
        comment += (comment.empty() ? "" : "\n") + std::string(f->agreement);
    if (!comment.empty()) {
        t.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Text, DSRTypes::AM_afterCurrent);
        t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("121106", "DCM", "Comment"));
        bad |= t.getCurrentContentItem().setStringValue(comment.c_str()).bad();
    }
    t.addContentItem(DSRTypes::RT_contains, DSRTypes::VT_Text, DSRTypes::AM_afterCurrent);
    t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("121106", "DCM", "Comment"));
    bad |= t.getCurrentContentItem().setStringValue(C2SEG_INTENDED_USE).bad();
    if (bad)
        return c2_fail(e, C2_EINVAL, "%s: a finding value is not valid for its SR item", path);
    return sr_document_save(doc, path, NULL, NULL, root, NULL, NULL, &own, e);
}

} // namespace

extern "C" int sr_report_write(const char *path, const char *seg_path, const sr_finding *f, const char *uid_root,
                               c2_err *e)
{
    try {
        return write_report(path, seg_path, f, uid_root, e);
    } catch (...) {
        return c2_fail(e, C2_EIO, "%s: unexpected failure while writing the SR", path);
    }
}
