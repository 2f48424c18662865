/* io/deidentify: the Basic Application Level Confidentiality Profile over a DCMTK
 * dataset (see io/deidentify.h for what is removed, emptied, kept and remapped).
 * UIDs and PatientID are remapped with HMAC-SHA-256 (FIPS 180-4, RFC 2104), written
 * here because DCMTK exposes no SHA-256 and one small keyed hash is not worth a new
 * library dependency. */
#include "io/dcmtk_log.h"
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcitem.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcsequen.h"
#include "dcmtk/dcmdata/dcvrui.h"

#include "io/dicom_load_dcmtk.h"
#include "io/deidentify.h"
#include "io/dicom.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>

namespace {

/* ---- SHA-256 and HMAC-SHA-256 ---- */

const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

/* digest = SHA-256(a || b) */
void sha256_two(const uint8_t *a, size_t na, const uint8_t *b, size_t nb, uint8_t digest[32])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::string m(reinterpret_cast<const char *>(a), na);
    m.append(reinterpret_cast<const char *>(b), nb);
    uint64_t bits = (uint64_t)m.size() * 8;
    m.push_back((char)0x80);
    while (m.size() % 64 != 56)
        m.push_back(0);
    for (int i = 7; i >= 0; i--)
        m.push_back((char)(bits >> (8 * i)));
    for (size_t off = 0; off < m.size(); off += 64)
        sha256_block(h, reinterpret_cast<const uint8_t *>(m.data()) + off);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++)
            digest[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

void hmac_sha256(const std::string &key, const std::string &msg, uint8_t out[32])
{
    uint8_t k[64] = {0}, ipad[64], opad[64], inner[32];
    if (key.size() > 64)
        sha256_two(reinterpret_cast<const uint8_t *>(key.data()), key.size(), nullptr, 0, k);
    else
        std::memcpy(k, key.data(), key.size());
    for (int i = 0; i < 64; i++) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
    }
    sha256_two(ipad, 64, reinterpret_cast<const uint8_t *>(msg.data()), msg.size(), inner);
    sha256_two(opad, 64, inner, 32, out);
}

/* The key of this process when the caller gives none: 32 bytes from /dev/urandom. */
std::string process_key()
{
    static std::string key;
    static std::once_flag once;
    std::call_once(once, [] {
        char buf[32] = {0};
        FILE *f = std::fopen("/dev/urandom", "rb");
        size_t n = f ? std::fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            std::fclose(f);
        if (n != sizeof buf) { /* no urandom: still unlinkable enough across runs for a pseudonym */
            unsigned long long t = (unsigned long long)(uintptr_t)&n ^ (unsigned long long)std::time(nullptr);
            std::memcpy(buf, &t, sizeof t);
        }
        key.assign(buf, sizeof buf);
    });
    return key;
}

std::string key_of(const deidentify_opts *opt) { return opt && opt->key ? std::string(opt->key) : process_key(); }

/* "2.25." + the first 128 bits of the HMAC as a decimal integer. */
std::string uid_map(const std::string &key, const std::string &uid)
{
    if (uid.empty() || uid.rfind("1.2.840.10008.", 0) == 0)
        return uid;
    uint8_t d[32];
    hmac_sha256(key, "uid:" + uid, d);
    unsigned __int128 v = 0;
    for (int i = 0; i < 16; i++)
        v = v << 8 | d[i];
    char digits[48];
    int n = 0;
    do {
        digits[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    std::string out = "2.25.";
    while (n)
        out.push_back(digits[--n]);
    return out;
}

std::string pseudonym(const std::string &key, const std::string &patient_id)
{
    uint8_t d[32];
    hmac_sha256(key, "patient:" + patient_id, d);
    char hex[17];
    for (int i = 0; i < 8; i++)
        std::snprintf(hex + 2 * i, 3, "%02X", d[i]);
    return std::string("ANON-") + hex;
}

/* ---- the profile ---- */

/* X: removed wherever they occur. */
const DcmTagKey removed_tags[] = {
    DCM_PatientAge, DCM_RETIRED_OtherPatientIDs, DCM_OtherPatientIDsSequence, DCM_OtherPatientNames,
    DCM_PatientAddress, DCM_PatientTelephoneNumbers, DCM_EthnicGroup, DCM_PatientComments,
    DCM_AdditionalPatientHistory, DCM_PatientWeight, DCM_PatientSize, DCM_Occupation, DCM_PatientBirthName,
    DCM_PatientMotherBirthName, DCM_MilitaryRank, DCM_BranchOfService, DCM_PatientBirthTime, DCM_IssuerOfPatientID,
    DCM_CountryOfResidence, DCM_RegionOfResidence, DCM_PatientState, DCM_PregnancyStatus, DCM_SmokingStatus,
    DCM_MedicalAlerts, DCM_Allergies, DCM_ResponsiblePerson, DCM_ResponsibleOrganization,
    DCM_PatientInsurancePlanCodeSequence, DCM_CurrentPatientLocation, DCM_PatientInstitutionResidence,
    DCM_AdmissionID, DCM_AdmittingDiagnosesDescription, DCM_SeriesDate, DCM_SeriesTime, DCM_AcquisitionDate,
    DCM_AcquisitionTime, DCM_AcquisitionDateTime, DCM_InstanceCreationDate, DCM_InstanceCreationTime,
    DCM_PerformingPhysicianName, DCM_NameOfPhysiciansReadingStudy, DCM_OperatorsName, DCM_PhysiciansOfRecord,
    DCM_RequestingPhysician, DCM_ReferringPhysicianAddress, DCM_ReferringPhysicianTelephoneNumbers,
    DCM_PerformingPhysicianIdentificationSequence, DCM_OperatorIdentificationSequence,
    DCM_ReferringPhysicianIdentificationSequence, DCM_InstitutionName, DCM_InstitutionAddress,
    DCM_InstitutionalDepartmentName, DCM_StationName, DCM_StudyDescription,
    DCM_SeriesDescription, DCM_ProtocolName, DCM_ImageComments, DCM_DerivationDescription,
    DCM_RequestAttributesSequence, DCM_ReferencedPatientSequence, DCM_ReferencedStudySequence,
    DCM_PerformedProcedureStepDescription, DCM_PerformedProcedureStepStartDate,
    DCM_PerformedProcedureStepStartTime, DCM_PerformedProcedureStepID, DCM_ScheduledProcedureStepDescription,
    DCM_RequestedProcedureDescription, DCM_FillerOrderNumberImagingServiceRequest,
    DCM_PlacerOrderNumberImagingServiceRequest, DCM_IssuerOfAccessionNumberSequence, DCM_TimezoneOffsetFromUTC,
    DCM_InstanceCreatorUID, DCM_PrivateInformationCreatorUID, DCM_VerifyingOrganization,
};

/* Z: kept (most are Type 2 in our IODs) but emptied. */
const DcmTagKey emptied_tags[] = {
    DCM_PatientName, DCM_PatientBirthDate, DCM_PatientSex, DCM_AccessionNumber, DCM_StudyID, DCM_StudyDate,
    DCM_StudyTime, DCM_ReferringPhysicianName, DCM_ContentCreatorName, DCM_VerifyingObserverName, DCM_PersonName,
};

/* D: Type 1 in an IOD we write or copy (SEG's Content Date / Time and the Enhanced General
 * Equipment's Device Serial Number; SR's Content Date / Time), so a dummy value replaces
 * them: an empty Type 1 attribute makes the object invalid. The same dummy everywhere:
 * nothing of the original value is kept. */
const struct dummy {
    DcmTagKey tag;
    const char *value;
} dummy_values[] = {
    {DCM_ContentDate, "19000101"},
    {DCM_ContentTime, "000000"},
    {DCM_DeviceSerialNumber, "DEIDENTIFIED"},
};

const char *dummy_of(const DcmTagKey &t)
{
    for (const dummy &d : dummy_values)
        if (d.tag == t)
            return d.value;
    return nullptr;
}

/* UI attributes that name a class or an encoding, never an instance: kept. */
const DcmTagKey class_uid_tags[] = {
    DCM_SOPClassUID, DCM_ReferencedSOPClassUID, DCM_MediaStorageSOPClassUID, DCM_TransferSyntaxUID,
    DCM_ImplementationClassUID, DCM_CodingSchemeUID, DCM_ContextUID, DCM_ReferencedTransferSyntaxUIDInFile,
    DCM_ReferencedSOPClassUIDInFile, DCM_RelatedGeneralSOPClassUID, DCM_OriginalSpecializedSOPClassUID,
    DCM_MappingResourceUID, DCM_ContextGroupExtensionCreatorUID,
};

template <size_t N> bool listed(const DcmTagKey (&list)[N], const DcmTagKey &t)
{
    for (const DcmTagKey &k : list)
        if (k == t)
            return true;
    return false;
}

/* Each backslash-separated value of a UI element through uid_map. */
OFCondition remap_uid_element(DcmElement *el, const std::string &key)
{
    OFString value;
    OFCondition st = el->getOFStringArray(value);
    if (st.bad() || value.empty())
        return EC_Normal;
    std::string in(value.c_str()), out;
    size_t start = 0;
    for (;;) {
        size_t end = in.find('\\', start);
        std::string one = in.substr(start, end == std::string::npos ? std::string::npos : end - start);
        out += uid_map(key, one);
        if (end == std::string::npos)
            break;
        out += '\\';
        start = end + 1;
    }
    return el->putString(out.c_str());
}

/* 1 when el holds exactly c2seg's intended-use statement (C2SEG_INTENDED_USE). */
bool is_intended_use(DcmElement *el)
{
    OFString v;
    return el->getOFStringArray(v).good() && v == C2SEG_INTENDED_USE;
}

/* Applies the profile to every element of item, recursing into sequences; depth-bounded
 * like every tree walk (c2_limits max_depth). */
OFCondition item_deidentify(DcmItem *item, const std::string &key, int depth)
{
    if (depth > c2_limits_get()->max_depth)
        return makeOFCondition(0, 1, OF_error, "sequences nested deeper than the limit");
    for (long i = (long)item->card() - 1; i >= 0; i--) {
        DcmElement *el = item->getElement((unsigned long)i);
        if (!el)
            continue;
        DcmTagKey t = el->getTag();
        if (t == DCM_ImageComments && is_intended_use(el))
            continue; /* c2seg's own statement (base.h) holds no patient data: it stays */
        if ((t.getGroup() & 1) || listed(removed_tags, t)) {
            delete item->remove((unsigned long)i);
            continue;
        }
        OFCondition st = EC_Normal;
        if (listed(emptied_tags, t)) {
            st = el->putString("");
        } else if (const char *dummy = dummy_of(t)) {
            st = el->putString(dummy);
        } else if (t == DCM_PatientID) {
            OFString id;
            el->getOFStringArray(id);
            st = el->putString(pseudonym(key, id.c_str()).c_str());
        } else if (el->ident() == EVR_UI && !listed(class_uid_tags, t)) {
            st = remap_uid_element(el, key);
        } else if (el->ident() == EVR_SQ) {
            DcmSequenceOfItems *sq = static_cast<DcmSequenceOfItems *>(el);
            for (unsigned long k = 0; k < sq->card() && st.good(); k++)
                st = item_deidentify(sq->getItem(k), key, depth + 1);
        }
        if (st.bad())
            return st;
    }
    return EC_Normal;
}

OFCondition mark_deidentified(DcmDataset *ds)
{
    OFCondition st = ds->putAndInsertString(DCM_PatientIdentityRemoved, "YES");
    if (st.good())
        st = ds->putAndInsertString(DCM_DeidentificationMethod, "c2seg: DICOM PS3.15 E.1.1 Basic Profile");
    DcmItem *code = nullptr;
    if (st.good())
        st = ds->findOrCreateSequenceItem(DCM_DeidentificationMethodCodeSequence, code, 0);
    if (st.good())
        st = code->putAndInsertString(DCM_CodeValue, "113100");
    if (st.good())
        st = code->putAndInsertString(DCM_CodingSchemeDesignator, "DCM");
    if (st.good())
        st = code->putAndInsertString(DCM_CodeMeaning, "Basic Application Confidentiality Profile");
    if (st.good())
        st = ds->putAndInsertString(DCM_LongitudinalTemporalInformationModified, "REMOVED");
    return st;
}

} // namespace

extern "C" void deidentify_uid(const deidentify_opts *opt, const char *uid, char out[65])
{
    try {
        std::string m = uid_map(key_of(opt), uid ? uid : "");
        std::snprintf(out, 65, "%s", m.c_str());
    } catch (...) {
        out[0] = 0;
    }
}

extern "C" int deidentify_file(const char *path, const deidentify_opts *opt, c2_err *e)
{
    dcmtk_log_setup();
    try {
        DcmFileFormat ff;
        int rc = dicom_dcmtk_load(ff, path, e);
        if (rc)
            return rc;
        std::string key = key_of(opt);
        E_TransferSyntax xfer = ff.getDataset()->getOriginalXfer();
        OFCondition st = item_deidentify(ff.getDataset(), key, 0);
        if (st.good())
            st = item_deidentify(ff.getMetaInfo(), key, 0);
        if (st.good())
            st = mark_deidentified(ff.getDataset());
        if (st.bad())
            return c2_fail(e, C2_EINVAL, "%s: de-identification failed: %s", path, st.text());
        char tmp[4200];
        c2_temp_name(tmp, sizeof tmp, path);
        st = ff.saveFile(tmp, xfer == EXS_Unknown ? EXS_LittleEndianExplicit : xfer);
        if (st.bad()) {
            std::remove(tmp);
            return c2_fail(e, C2_EIO, "%s: cannot write the de-identified file: %s", path, st.text());
        }
        return c2_rename_into_place(tmp, path, e);
    } catch (...) {
        return c2_fail(e, C2_ENOMEM, "%s: de-identification failed (out of memory)", path);
    }
}
