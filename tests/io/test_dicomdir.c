/* io/dicomdir.c on a DICOMDIR written by DCMTK's dcmmkdir over copies of
 * ../shared/data files (the 4-slice CT2 series, whose files have no extension, and the
 * CR 6154), then: one referenced file removed, the folder renamed to lower case (copies
 * of ISO 9660 media), one record pointed at "..\OUTSIDE" and one at a symbolic link
 * that leads out of the folder. Record counts are compared with dcmdump's. */
#include "io/dicomdir.h"
#include "tests/support/check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int dump_count(const char *dicomdir, const char *type)
{
    char *out = run_capture("dcmdump -q '%s' | grep -c 'DirectoryRecordType' | tr -d '\\n'; echo; "
                            "dcmdump -q '%s' | grep -c 'CS \\[%s\\] .*DirectoryRecordType'",
                            dicomdir, dicomdir, type);
    int n = -1;
    if (out) {
        char *nl = strchr(out, '\n');
        n = nl ? atoi(nl + 1) : -1;
    }
    free(out);
    return n;
}

/* Reads FOLDER/DICOMDIR under the test folder; its path goes to dd. */
static int read_in(const char *folder, char *dd, size_t cap, dicomdir_info *d, c2_err *e)
{
    snprintf(dd, cap, "%s/%s/DICOMDIR", test_tmpdir(), folder);
    return dicomdir_read(dd, d, e);
}

static void test_dicomdir(void)
{
    const char *t = test_tmpdir();
    int rc = run_cmd("cd '%s' && rm -rf media outside && mkdir -p media/CT2 outside && "
                     "cp '%s'/* media/CT2/ && cp '%s' media/CT2/ && cp '%s' outside/SECRET && chmod -R u+w media && "
                     "cd media && dcmmkdir --recurse CT2 >/dev/null 2>&1 && "
                     "rm CT2/17136 && mv CT2 ct2 && ln -s ../../outside/SECRET ct2/LINK && "
                     "/usr/bin/python3 -c 'import pydicom; d=pydicom.dcmread(\"DICOMDIR\"); r=d.DirectoryRecordSequence; "
                     "r[5].ReferencedFileID=[\"..\",\"OUTSIDE\",\"SECRET\"]; r[6].ReferencedFileID=[\"CT2\",\"LINK\"]; "
                     "d.save_as(\"DICOMDIR\", write_like_original=True)' >/dev/null 2>&1",
                     t, shared_path("data/dicom/ct_series/pydicom_CT2_16x16"), shared_path("data/dicom/xray/6154"),
                     shared_path("data/dicom/ct_single/CT_small.dcm"));
    CHECK_MSG(rc == 0, "building the media folder");
    char dd[4096];
    dicomdir_info d;
    c2_err e = {0};
    rc = read_in("media", dd, sizeof dd, &d, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (rc)
        return;
    CHECK_MSG(d.n_patients == dump_count(dd, "PATIENT") && d.n_studies == dump_count(dd, "STUDY") &&
                  d.n_series == dump_count(dd, "SERIES") && d.n_images == dump_count(dd, "IMAGE"),
              "%d / %d / %d / %d records", d.n_patients, d.n_studies, d.n_series, d.n_images);
    CHECK(d.n_images == 5 && d.n_files == 5);
    CHECK_MSG(d.n_missing == 1 && d.n_outside == 2, "%d missing, %d outside", d.n_missing, d.n_outside);
    int ok = 0;
    for (int i = 0; i < d.n_files; i++) {
        const dicomdir_file *f = &d.files[i];
        if (strcmp(f->file_id, "CT2/17136") == 0)
            CHECK(f->state == DICOMDIR_FILE_MISSING);
        if (strstr(f->file_id, "OUTSIDE") || strstr(f->file_id, "LINK"))
            CHECK_MSG(f->state == DICOMDIR_FILE_OUTSIDE, "%s: state %d", f->file_id, f->state);
        if (f->state == DICOMDIR_FILE_OK) {
            ok++;
            CHECK_MSG(strstr(f->path, "/media/ct2/") != NULL, "%s -> %s", f->file_id, f->path);
            CHECK(f->sop_uid[0] != 0);
        }
    }
    CHECK(ok == 2);
    dicomdir_free(&d);
    /* c2seg ingest of the media folder: the DICOMDIR's line in the report names the count
     * and the first files missing or refused; the images are ingested (exit 1: partial) */
    char h5[4096];
    snprintf(h5, sizeof h5, "%s/media.h5", t);
    rc = run_cmd("'%s' ingest '%s/media' -o '%s' --size 16 -q >/dev/null 2>&1", c2seg_bin(), t, h5);
    CHECK_MSG(rc == 1, "ingest exit %d", rc);
    char *rep = run_capture("cat '%s.report.tsv'", h5);
    CHECK_MSG(rep && strstr(rep, "/media/DICOMDIR\tDICOMDIR: 3 of its referenced files missing or refused: "
                                 "CT2/17136 (missing), ../OUTSIDE/SECRET (outside its folder), CT2/LINK (outside its folder)"),
              "%s", rep ? rep : "");
    free(rep);
    /* not a DICOMDIR */
    CHECK(dicomdir_read(shared_path("data/dicom/ct_single/CT_small.dcm"), &d, &e) == C2_EINVAL &&
          strstr(e.msg, "not a DICOMDIR"));
}

/* name/: a dcmmkdir DICOMDIR over one real CT file (CT/IMG1), its bytes b then changed by the
 * Python statements patch. 0 when built. */
static int patched_dicomdir(const char *name, const char *patch)
{
    return run_cmd("cd '%s' && rm -rf %s && mkdir -p %s/CT && cp '%s'/17106 %s/CT/IMG1 && chmod -R u+w %s && cd %s && "
                   "dcmmkdir --recurse CT >/dev/null 2>&1 && /usr/bin/python3 -c '"
                   "b = bytearray(open(\"DICOMDIR\", \"rb\").read()); %s; open(\"DICOMDIR\", \"wb\").write(b)'",
                   test_tmpdir(), name, name, shared_path("data/dicom/ct_series/pydicom_CT2_16x16"), name, name, name,
                   patch);
}

/* fuzz_dicomdir's finding: a Directory Record Type whose length runs past its item. DCMTK's
 * DcmDirectoryRecord threw std::out_of_range out of its read (dcmdump aborts on such a file)
 * and leaked the records built so far; read as plain items, the file is refused with DCMTK's
 * own length error. Built from a dcmmkdir DICOMDIR of real files, the first record's type
 * length set to 518 (as in the fuzzer's input). */
static void test_record_type_past_its_item(void)
{
    int rc = patched_dicomdir("long", "i = b.index(b\"\\x04\\x00\\x30\\x14CS\"); "
                                      "b[i + 6:i + 8] = (518).to_bytes(2, \"little\")");
    CHECK_MSG(rc == 0, "building the DICOMDIR");
    char dd[4096];
    dicomdir_info d;
    c2_err e = {0};
    rc = read_in("long", dd, sizeof dd, &d, &e);
    CHECK_MSG(rc == C2_EINVAL && strstr(e.msg, "not a readable DICOM file") && strstr(e.msg, "surrounding item"),
              "rc %d: %s", rc, e.msg);
    if (rc == C2_OK)
        dicomdir_free(&d);
}

/* fuzz_dicomdir's finding (session 11): a Referenced File ID encoded as a text VR (the
 * fuzzer's had UT and UL). DCMTK's LT / ST / UT answer every value position with the whole
 * value, and the loop that joined the components ran until memory ran out (3 GB); the
 * components are now counted by the element's VM. Built from a dcmmkdir DICOMDIR of a real
 * file, the ID's VR "CS" rewritten to "LT" (same length field); alarm: the old loop never
 * ends. */
static void test_file_id_text_vr(void)
{
    int rc = patched_dicomdir("lt", "i = b.index(b\"\\x04\\x00\\x00\\x15CS\"); b[i + 4:i + 6] = b\"LT\"");
    CHECK_MSG(rc == 0, "building the DICOMDIR");
    char dd[4096];
    dicomdir_info d;
    c2_err e = {0};
    alarm(60);
    rc = read_in("lt", dd, sizeof dd, &d, &e);
    alarm(0);
    CHECK_MSG(rc == C2_OK, "rc %d: %s", rc, e.msg);
    if (rc == C2_OK) {   /* one component, the backslash in it: not a file of the tree */
        CHECK_MSG(d.n_files == 1 && strncmp(d.files[0].file_id, "CT\\IMG1", 7) == 0 &&
                      d.files[0].state != DICOMDIR_FILE_OK,
                  "%d files, the first '%s' state %d", d.n_files, d.n_files ? d.files[0].file_id : "",
                  d.n_files ? d.files[0].state : -1);
        dicomdir_free(&d);
    }
}

int main(void)
{
    RUN_TEST(test_dicomdir);
    RUN_TEST(test_record_type_past_its_item);
    RUN_TEST(test_file_id_text_vr);
    return test_summary();
}
