/* The DCMTK side of io/dicomdir.h: the Directory Record Sequence of a DICOMDIR, read
 * as plain records (type, Referenced File ID, SOP Instance UID). Path resolution and
 * the refusal of paths outside the folder are in io/dicomdir.c.
 * C++17; every entry point is extern "C", catches everything and reports through c2_err. */
#include "io/dcmtk_log.h"
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcsequen.h"
#include "dcmtk/dcmdata/dcuid.h"

extern "C" {
#include "io/dicomdir.h"
#include "io/dicom.h"
}

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int read_records(const char *path, dicomdir_record **recs, int *n, c2_err *e)
{
    dcmtk_log_setup();
    DcmFileFormat ff;
    OFCondition st = ff.loadFile(path);
    if (st.bad())
        return c2_fail(e, C2_EINVAL, "%s: not a readable DICOM file (%s)", path, st.text());
    OFString cls;
    ff.getMetaInfo()->findAndGetOFString(DCM_MediaStorageSOPClassUID, cls);
    if (cls != UID_MediaStorageDirectoryStorage)
        return c2_fail(e, C2_EINVAL, "%s: not a DICOMDIR (Media Storage SOP Class %s)", path, cls.c_str());
    DcmSequenceOfItems *seq = NULL;
    if (ff.getDataset()->findAndGetSequence(DCM_DirectoryRecordSequence, seq).bad() || !seq) {
        *recs = NULL;
        *n = 0;
        return C2_OK;   /* an empty media directory */
    }
    unsigned long card = seq->card();
    if (card > (unsigned long)c2_limits_get()->max_dim * 64)
        return c2_fail(e, C2_ELIMIT, "%s: %lu directory records", path, card);
    *recs = (dicomdir_record *)calloc(card ? card : 1, sizeof(dicomdir_record));
    if (!*recs)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for %lu directory records", path, card);
    for (unsigned long i = 0; i < card; i++) {
        DcmItem *it = seq->getItem(i);
        dicomdir_record *r = &(*recs)[i];
        OFString type, v;
        it->findAndGetOFString(DCM_DirectoryRecordType, type);
        r->type = type == "PATIENT" ? DICOMDIR_REC_PATIENT
                  : type == "STUDY" ? DICOMDIR_REC_STUDY
                  : type == "SERIES" ? DICOMDIR_REC_SERIES
                  : type == "IMAGE" ? DICOMDIR_REC_IMAGE
                                    : DICOMDIR_REC_OTHER;
        std::string id;
        for (unsigned long k = 0; it->findAndGetOFString(DCM_ReferencedFileID, v, k).good(); k++)
            id += (k ? "/" : "") + std::string(v.c_str());
        snprintf(r->file_id, sizeof r->file_id, "%s", id.c_str());
        if (it->findAndGetOFString(DCM_ReferencedSOPInstanceUIDInFile, v).good())
            snprintf(r->sop_uid, sizeof r->sop_uid, "%s", v.c_str());
    }
    *n = (int)card;
    return C2_OK;
}

} // namespace

extern "C" int dicomdir_records(const char *path, dicomdir_record **recs, int *n, c2_err *e)
{
    *recs = NULL;
    *n = 0;
    try {
        int rc = read_records(path, recs, n, e);
        if (rc) {
            free(*recs);
            *recs = NULL;
            *n = 0;
        }
        return rc;
    } catch (...) {
        free(*recs);
        *recs = NULL;
        *n = 0;
        return c2_fail(e, C2_EINVAL, "%s: unexpected failure while reading the DICOMDIR", path);
    }
}
