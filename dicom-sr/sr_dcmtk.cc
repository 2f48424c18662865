/* sr_dcmtk: the DCMTK shim behind dicom-sr/sr.h. Reads every TEXT content item of an SR
 * document with its concept-name path (strict first, then leniently when items are
 * invalid), and writes a Basic Text SR (DICOM_NOTES.md §3). No C++ type or exception
 * crosses the extern "C" boundary. */
#include "io/dcmtk_log.h"
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmsr/dsrdoc.h"

#include "dicom-sr/sr.h"
#include "dicom-sr/sr_charset_dcmtk.h"
#include "dicom-sr/sr_save_dcmtk.h"
#include "io/dicom.h"
#include "io/dicom_load_dcmtk.h"

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

void copy_uid(char *dst, const OFString &s)
{
    std::snprintf(dst, SR_UID_LEN, "%s", s.c_str());
}

/* Removes ISO 2022 escape sequences (ESC, intermediates 0x20-0x2F, a final 0x30-0x7E)
 * from a value iconv could not convert, keeping its other bytes. */
std::string strip_escapes(const std::string &s)
{
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] == 0x1B) {
            size_t j = i + 1;
            while (j < s.size() && s[j] >= 0x20 && s[j] <= 0x2F)
                j++;
            i = j;   /* skips the final byte too */
            continue;
        }
        out += s[i];
    }
    return out;
}

/* Keeps well-formed UTF-8 sequences and replaces every other byte by U+FFFD, so that a
 * value iconv could not convert still honours the header's "UTF-8 value" promise. */
std::string utf8_repair(const std::string &s)
{
    std::string out;
    for (size_t i = 0; i < s.size();) {
        size_t len = s[i] ? c2_utf8_char_len(s.c_str() + i) : 1;   /* an embedded NUL stays a byte */
        if (len) {
            out.append(s, i, len);
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            i++;
        }
    }
    return out;
}

struct text_item {
    std::string path, concept, text;
    int depth;
};

void add_ref(std::vector<sr_reference> &refs, const OFString &cls, const OFString &inst)
{
    if (inst.empty())
        return;
    for (const sr_reference &r : refs)
        if (inst == r.sop_instance_uid)
            return;
    sr_reference r;
    copy_uid(r.sop_class_uid, cls);
    copy_uid(r.sop_instance_uid, inst);
    refs.push_back(r);
}

/* Referenced instances of Current Requested Procedure / Pertinent Other Evidence. */
void evidence_refs(DcmDataset *ds, const DcmTagKey &seq_tag, std::vector<sr_reference> &refs)
{
    DcmSequenceOfItems *studies = nullptr;
    if (ds->findAndGetSequence(seq_tag, studies).bad() || !studies)
        return;
    for (unsigned long i = 0; i < studies->card(); i++) {
        DcmSequenceOfItems *series = nullptr;
        if (studies->getItem(i)->findAndGetSequence(DCM_ReferencedSeriesSequence, series).bad() || !series)
            continue;
        for (unsigned long j = 0; j < series->card(); j++) {
            DcmSequenceOfItems *sops = nullptr;
            if (series->getItem(j)->findAndGetSequence(DCM_ReferencedSOPSequence, sops).bad() || !sops)
                continue;
            for (unsigned long k = 0; k < sops->card(); k++) {
                OFString cls, inst;
                sops->getItem(k)->findAndGetOFString(DCM_ReferencedSOPClassUID, cls);
                sops->getItem(k)->findAndGetOFString(DCM_ReferencedSOPInstanceUID, inst);
                add_ref(refs, cls, inst);
            }
        }
    }
}

char *dup(const std::string &s)
{
    char *p = static_cast<char *>(std::malloc(s.size() + 1));
    if (p)
        std::memcpy(p, s.c_str(), s.size() + 1);
    return p;
}

int read_document(const char *path, sr_document *out, c2_err *e)
{
    dcmtk_log_setup();
    DcmFileFormat ff;
    int rc = dicom_dcmtk_load(ff, path, e);
    if (rc)
        return rc;
    DcmDataset *ds = ff.getDataset();
    OFString s;
    if (ds->findAndGetOFStringArray(DCM_SpecificCharacterSet, s).good())
        std::snprintf(out->charset, sizeof out->charset, "%s", s.c_str());
    ds->findAndGetOFString(DCM_SOPClassUID, s);
    copy_uid(out->sop_class_uid, s);
    if (!DSRTypes::sopClassUIDToDocumentType(s.c_str()))
        return c2_fail(e, C2_EINVAL, "%s: not a Structured Report (SOP Class UID '%s')", path, s.c_str());
    /* Japanese ISO 2022 read here (sr_charset_dcmtk.h), every other set through DCMTK */
    OFCondition st = sr_convert_iso2022_jp(*ds);
    if (st.bad())
        st = ds->convertToUTF8();
    if (st.bad()) {
        out->charset_failed = 1;
        c2_warn("%s: cannot convert Specific Character Set '%s' to UTF-8 (%s); values kept raw without escape "
                "sequences", path, out->charset, st.text());
    }
    DSRDocument doc;
    st = doc.read(*ds);
    if (st.bad()) {
        out->lenient = 1;
        c2_warn("%s: SR content is invalid (%s); read leniently, invalid items skipped", path, st.text());
        st = doc.read(*ds, DSRTypes::RF_ignoreContentItemErrors | DSRTypes::RF_acceptUnknownRelationshipType |
                                DSRTypes::RF_ignoreRelationshipConstraints | DSRTypes::RF_skipInvalidContentItems);
        if (st.bad())
            return c2_fail(e, C2_EINVAL, "%s: SR document cannot be read even leniently (%s)", path, st.text());
    }
    std::snprintf(out->document_type, sizeof out->document_type, "%s",
                  DSRTypes::documentTypeToReadableName(doc.getDocumentType()));
    doc.getStudyInstanceUID(s);
    copy_uid(out->study_uid, s);
    doc.getSeriesInstanceUID(s);
    copy_uid(out->series_uid, s);
    doc.getSOPInstanceUID(s);
    copy_uid(out->sop_uid, s);

    std::vector<text_item> items;
    std::vector<sr_reference> refs;
    std::vector<std::string> names;
    int max_depth = c2_limits_get()->max_depth, too_deep = 0;
    DSRDocumentTree &t = doc.getTree();
    if (t.gotoRoot() > 0) {
        do {
            size_t level = t.getLevel();
            if (level == 0)
                continue;
            if ((int)level > max_depth) {
                too_deep++;
                continue;
            }
            const DSRContentItem &ci = t.getCurrentContentItem();
            names.resize(level);
            names[level - 1] = ci.getConceptName().getCodeMeaning().c_str();
            if (level == 1)
                std::snprintf(out->title, sizeof out->title, "%s", names[0].c_str());
            DSRTypes::E_ValueType vt = ci.getValueType();
            if (vt == DSRTypes::VT_Text) {
                text_item it;
                for (size_t k = 0; k < level; k++) {
                    if (names[k].empty())   /* unnamed containers add no path element */
                        continue;
                    if (!it.path.empty())
                        it.path += " > ";
                    it.path += names[k];
                }
                it.concept = names[level - 1];
                it.text = ci.getStringValue().c_str();
                if (out->charset_failed)
                    it.text = utf8_repair(strip_escapes(it.text));
                it.depth = (int)level - 1;
                items.push_back(it);
            } else if (vt == DSRTypes::VT_Image || vt == DSRTypes::VT_Composite) {
                const DSRCompositeReferenceValue &ref =
                    vt == DSRTypes::VT_Image ? static_cast<const DSRCompositeReferenceValue &>(ci.getImageReference())
                                             : ci.getCompositeReference();
                add_ref(refs, ref.getSOPClassUID(), ref.getSOPInstanceUID());
            }
        } while (t.iterate() > 0);
    }
    if (too_deep)
        c2_warn("%s: %d content items deeper than %d levels skipped", path, too_deep, max_depth);
    evidence_refs(ds, DCM_CurrentRequestedProcedureEvidenceSequence, refs);
    evidence_refs(ds, DCM_PertinentOtherEvidenceSequence, refs);

    out->items = static_cast<sr_text_item *>(std::calloc(items.size() ? items.size() : 1, sizeof(sr_text_item)));
    out->refs = static_cast<sr_reference *>(std::calloc(refs.size() ? refs.size() : 1, sizeof(sr_reference)));
    if (!out->items || !out->refs)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    for (const text_item &it : items) {
        sr_text_item *o = &out->items[out->n_items++];
        o->path = dup(it.path);
        o->concept = dup(it.concept);
        o->text = dup(it.text);
        o->depth = it.depth;
        if (!o->path || !o->concept || !o->text)
            return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    }
    for (const sr_reference &r : refs)
        out->refs[out->n_refs++] = r;
    return C2_OK;
}

int write_document(const char *path, const sr_write_info *info, const char *text, c2_err *e)
{
    dcmtk_log_setup();
    if (!info || !info->study_uid || !info->study_uid[0])
        return c2_fail(e, C2_EINVAL, "%s: a Study Instance UID is required to write an SR", path);
    DSRDocument doc(DSRTypes::DT_BasicTextSR);
    doc.setSpecificCharacterSetType(DSRTypes::CS_UTF8);
    char now_date[16], now_time[16];
    std::time_t tt = std::time(nullptr);
    std::tm tmv;
    localtime_r(&tt, &tmv);
    std::strftime(now_date, sizeof now_date, "%Y%m%d", &tmv);
    std::strftime(now_time, sizeof now_time, "%H%M%S", &tmv);
    if (doc.createNewSeriesInStudy(info->study_uid).bad())
        return c2_fail(e, C2_EINVAL, "%s: invalid Study Instance UID '%s'", path, info->study_uid);
    const char *root = info->uid_root && info->uid_root[0] ? info->uid_root : SITE_INSTANCE_UID_ROOT;
    doc.setPatientName(info->patient_name ? info->patient_name : "");
    doc.setPatientID(info->patient_id ? info->patient_id : "");
    doc.setPatientSex("O");
    doc.setStudyDate(info->study_date ? info->study_date : now_date);
    doc.setStudyTime(info->study_time ? info->study_time : now_time);
    doc.setStudyID(info->study_id ? info->study_id : "1");
    doc.setAccessionNumber(info->accession ? info->accession : "");
    doc.setManufacturer("c2seg");
    char num[16];
    std::snprintf(num, sizeof num, "%d", info->series_number > 0 ? info->series_number : 1);
    doc.setSeriesNumber(num);
    std::snprintf(num, sizeof num, "%d", info->instance_number > 0 ? info->instance_number : 1);
    doc.setInstanceNumber(num);
    DSRDocumentTree &t = doc.getTree();
    t.addContentItem(DSRTypes::RT_isRoot, DSRTypes::VT_Container);
    t.getCurrentContentItem().setConceptName(DSRCodedEntryValue("18748-4", "LN", "Diagnostic imaging report"));
    t.addChildContentItem(DSRTypes::RT_contains, DSRTypes::VT_Text,
                          info->concept ? DSRCodedEntryValue("121071", "DCM", info->concept)
                                        : DSRCodedEntryValue("121071", "DCM", "Finding"));
    if (t.getCurrentContentItem().setStringValue(text ? text : "").bad())
        return c2_fail(e, C2_EINVAL, "%s: the report text is not a valid UT value", path);
    /* a caller that fixes the study date and time (the deterministic sample-data
     * generator) gets the same instant for creation and content */
    return sr_document_save(doc, path, info->series_uid, info->sop_uid, root, info->study_date, info->study_time, NULL,
                            e);
}

} // namespace

extern "C" int sr_read_text(const char *path, sr_document *out, c2_err *e)
{
    std::memset(out, 0, sizeof *out);
    int rc;
    try {
        rc = read_document(path, out, e);
    } catch (...) {
        rc = c2_fail(e, C2_EINVAL, "%s: unexpected failure while reading the SR", path);
    }
    if (rc != C2_OK)
        sr_document_free(out);
    return rc;
}

extern "C" int sr_write_basic_text(const char *path, const sr_write_info *info, const char *utf8_text, c2_err *e)
{
    try {
        return write_document(path, info, utf8_text, e);
    } catch (...) {
        return c2_fail(e, C2_EIO, "%s: unexpected failure while writing the SR", path);
    }
}
