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
#include "io/dicom_load_dcmtk.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

namespace {

/* The Directory Record Sequence under another tag. DCMTK reads the items of (0004,1220) as
 * DcmDirectoryRecord, whose read checks the record type with a cast that can throw
 * std::out_of_range out of DCMTK (fuzz_dicomdir: a Directory Record Type longer than its
 * item; dcmdump aborts on that file) and leaks the records built so far. Read as plain items
 * under the unused tag (0004,1221), the same file gives the same elements, and DCMTK's
 * ordinary length checks refuse the damaged one. DICOMDIRs are Explicit VR Little Endian
 * (PS3.10 section 8.6), so the sequence is the bytes 04 00 20 12 'S' 'Q'. */
static const DcmTagKey RECORDS_AS_ITEMS(0x0004, 0x1221);
#define DICOMDIR_MAX_BYTES ((size_t)256 << 20)

/* path copied with the sequence renamed into a private temporary file ($TMPDIR, else /tmp:
 * the DICOMDIR's own folder may be read-only media), loaded by DCMTK from there, removed.
 * A file, not a memory stream: from a file DCMTK defers values longer than
 * DCM_MaxReadLength and checks lengths against the file, where from memory it allocates
 * whatever length an element claims (fuzz_dicomdir: a 157-byte input claiming 4 GB). */
OFCondition load_as_items(const char *path, DcmFileFormat &ff, c2_err *e, int *rc)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    *rc = c2_read_file(path, DICOMDIR_MAX_BYTES, &buf, &n, e);
    if (*rc)
        return EC_IllegalCall;
    static const uint8_t seq[6] = {0x04, 0x00, 0x20, 0x12, 'S', 'Q'};
    for (size_t i = 0; i + sizeof seq <= n; i++)
        if (memcmp(buf + i, seq, sizeof seq) == 0)
            buf[i + 2] = 0x21;
    const char *tmpdir = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/c2seg-dicomdir-XXXXXX", tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    int fd = mkstemp(tmp);
    bool written = fd >= 0 && write(fd, buf, n) == (ssize_t)n;
    if (fd >= 0)
        written = close(fd) == 0 && written;
    free(buf);
    OFCondition st = EC_IllegalCall;
    if (!written)
        *rc = c2_fail(e, C2_EIO, "%s: cannot write a temporary copy in %s", path, tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    else if ((*rc = dicom_dcmtk_check(tmp, path, e)) == C2_OK)   /* a deflated DICOMDIR too */
        st = ff.loadFile(tmp);
    if (fd >= 0)
        unlink(tmp);
    return st;
}

/* PS3.10 allows 8 components of 8 characters; writers that ignore it are read up to here. */
enum { MAX_FILE_ID_COMPONENTS = 64 };

int read_records(const char *path, dicomdir_record **recs, int *n, c2_err *e)
{
    dcmtk_log_setup();
    DcmFileFormat ff;
    int rc = C2_OK;
    OFCondition st = load_as_items(path, ff, e, &rc);
    if (rc)
        return rc;
    if (st.bad())
        return c2_fail(e, C2_EINVAL, "%s: not a readable DICOM file (%s)", path, st.text());
    OFString cls;
    ff.getMetaInfo()->findAndGetOFString(DCM_MediaStorageSOPClassUID, cls);
    if (cls != UID_MediaStorageDirectoryStorage)
        return c2_fail(e, C2_EINVAL, "%s: not a DICOMDIR (Media Storage SOP Class %s)", path, cls.c_str());
    DcmSequenceOfItems *seq = NULL;
    if ((ff.getDataset()->findAndGetSequence(RECORDS_AS_ITEMS, seq).bad() || !seq) &&
        (ff.getDataset()->findAndGetSequence(DCM_DirectoryRecordSequence, seq).bad() || !seq)) {
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
        /* its components, counted by the element's VM: as LT, ST or UT (a wrong VR) DCMTK
         * answers every value position with the whole value (fuzz_dicomdir: a loop that
         * grew the string to 3 GB) */
        DcmElement *fid = NULL;
        unsigned long vm = it->findAndGetElement(DCM_ReferencedFileID, fid).good() && fid ? fid->getVM() : 0;
        if (vm > MAX_FILE_ID_COMPONENTS)
            return c2_fail(e, C2_EINVAL, "%s: record %lu: a Referenced File ID of %lu components (at most %d)", path,
                           i + 1, vm, MAX_FILE_ID_COMPONENTS);
        std::string id;
        for (unsigned long k = 0; k < vm && fid->getOFString(v, k).good(); k++)
            id += (k ? "/" : "") + std::string(v.c_str());
        if (id.size() >= sizeof r->file_id)
            return c2_fail(e, C2_EINVAL, "%s: record %lu: a Referenced File ID of %zu characters", path, i + 1,
                           id.size());
        memcpy(r->file_id, id.c_str(), id.size() + 1);
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
