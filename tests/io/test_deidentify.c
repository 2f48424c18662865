/* io/deidentify: a SEG and its source CT series (highdicom's seg_image_ct_binary.dcm on
 * pydicom's CT2 16x16 series) are de-identified with one key; dcmdump judges what is
 * left, and Python's hmac module recomputes the UID mapping independently. */
#include "io/deidentify.h"
#include "tests/support/check.h"

#include <stdlib.h>
#include <string.h>

static const char *ct_names[4] = {"17106", "17136", "17166", "17196"};

/* All values of one attribute in a file (nested ones too), one per line, via dcmdump. */
static char *dump_values(const char *path, const char *attr)
{
    return run_capture("dcmdump -q -Un -s +P %s '%s' | sed -n 's/^[^[]*\\[\\([^]]*\\)\\].*/\\1/p'", attr, path);
}

static char *first_line(char *s)
{
    if (s) {
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = 0;
    }
    return s;
}

static void copy_sources(const char *dir, char seg[4096], char ct[4][4096])
{
    snprintf(seg, 4096, "%s/seg.dcm", dir);
    CHECK(run_cmd("mkdir -p '%s' && cp '%s' '%s'", dir, shared_path("data/dicom/seg/seg_image_ct_binary.dcm"), seg) ==
          0);
    for (int i = 0; i < 4; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "data/dicom/ct_series/pydicom_CT2_16x16/%s", ct_names[i]);
        snprintf(ct[i], 4096, "%s/%s", dir, ct_names[i]);
        CHECK(run_cmd("cp '%s' '%s' && chmod u+w '%s'", shared_path(rel), ct[i], ct[i]) == 0);
    }
    CHECK(run_cmd("chmod u+w '%s'", seg) == 0);
}

static void identity_attributes_are_removed_or_emptied(void)
{
    char dir[4096], seg[4096], ct[4][4096];
    snprintf(dir, sizeof dir, "%s/profile", test_tmpdir());
    copy_sources(dir, seg, ct);
    char *name_before = first_line(dump_values(ct[0], "PatientName"));
    CHECK(name_before && name_before[0]); /* the source has a patient name to remove */
    free(name_before);
    deidentify_opts o = {"test-key"};
    c2_err e = {0};
    CHECK_MSG(deidentify_file(ct[0], &o, &e) == C2_OK, "%s", e.msg);
    char *dump = run_capture("dcmdump -q '%s'", ct[0]);
    CHECK(dump != NULL);
    if (dump) {
        CHECK(strstr(dump, "(0010,0010) PN (no value available)") != NULL);        /* PatientName emptied */
        CHECK(strstr(dump, "(0010,0030) DA (no value available)") != NULL ||       /* birth date emptied */
              strstr(dump, "(0010,0030)") == NULL);
        CHECK(strstr(dump, "(0008,0080)") == NULL);                               /* InstitutionName gone */
        CHECK(strstr(dump, "(0008,0021)") == NULL);                               /* SeriesDate gone */
        CHECK(strstr(dump, "(0012,0062) CS [YES]") != NULL);                      /* PatientIdentityRemoved */
        CHECK(strstr(dump, "(0008,0100) SH [113100]") != NULL);                   /* method code */
        CHECK(strstr(dump, "[ANON-") != NULL);                                    /* pseudonymous PatientID */
        /* no private attribute (odd group) survives */
        CHECK(run_cmd("dcmdump -q '%s' | grep -Eq '^ *\\([0-9a-f]{3}[13579bdf],'", ct[0]) != 0);
        free(dump);
    }
    /* the original had private attributes, so the last check could fail */
    CHECK(run_cmd("dcmdump -q '%s' | grep -Eq '^ *\\([0-9a-f]{3}[13579bdf],'",
                  shared_path("data/dicom/ct_series/pydicom_CT2_16x16/17106")) == 0 ||
          run_cmd("dcmdump -q '%s' | grep -q '(0008,0080)'",
                  shared_path("data/dicom/ct_series/pydicom_CT2_16x16/17106")) == 0);
}

/* The SEG's references still resolve to the (remapped) source instances, and the study,
 * frame of reference and pseudonymous patient agree between SEG and source. */
static void uids_are_remapped_consistently_across_files(void)
{
    char dir[4096], seg[4096], ct[4][4096];
    snprintf(dir, sizeof dir, "%s/consistent", test_tmpdir());
    copy_sources(dir, seg, ct);
    char *refs_before = dump_values(seg, "ReferencedSOPInstanceUID");
    char *study_before = first_line(dump_values(seg, "StudyInstanceUID"));
    deidentify_opts o = {"site-secret"};
    c2_err e = {0};
    CHECK_MSG(deidentify_file(seg, &o, &e) == C2_OK, "%s", e.msg);
    for (int i = 0; i < 4; i++)
        CHECK_MSG(deidentify_file(ct[i], &o, &e) == C2_OK, "%s", e.msg);

    char *seg_study = first_line(dump_values(seg, "StudyInstanceUID"));
    char *ct_study = first_line(dump_values(ct[0], "StudyInstanceUID"));
    CHECK(seg_study && ct_study && strcmp(seg_study, ct_study) == 0);
    CHECK(seg_study && study_before && strcmp(seg_study, study_before) != 0 && strncmp(seg_study, "2.25.", 5) == 0);
    char *seg_pid = first_line(dump_values(seg, "PatientID")), *ct_pid = first_line(dump_values(ct[0], "PatientID"));
    CHECK(seg_pid && ct_pid && strncmp(seg_pid, "ANON-", 5) == 0 && strcmp(seg_pid, ct_pid) == 0);
    char *seg_for = first_line(dump_values(seg, "FrameOfReferenceUID"));
    char *ct_for = first_line(dump_values(ct[0], "FrameOfReferenceUID"));
    CHECK(seg_for && ct_for && strcmp(seg_for, ct_for) == 0);

    /* every SEG reference names one of the new source SOP Instance UIDs */
    char *refs = dump_values(seg, "ReferencedSOPInstanceUID");
    char sops[4][80] = {{0}};
    for (int i = 0; i < 4; i++) {
        char *s = first_line(dump_values(ct[i], "SOPInstanceUID"));
        char *m = first_line(dump_values(ct[i], "MediaStorageSOPInstanceUID"));
        CHECK(s && m && strcmp(s, m) == 0);
        snprintf(sops[i], sizeof sops[i], "%s", s ? s : "");
        free(s);
        free(m);
    }
    int n_refs = 0, n_resolved = 0;
    for (char *line = refs, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        n_refs++;
        for (int i = 0; i < 4; i++)
            n_resolved += strcmp(line, sops[i]) == 0;
    }
    int n_before = 0;
    for (const char *p = refs_before; p && *p; p++)
        n_before += *p == '\n';
    CHECK_MSG(n_refs > 0 && n_refs == n_before && n_resolved == n_refs, "%d references, %d before, %d resolve",
              n_refs, n_before, n_resolved);

    /* SOP Class UIDs are kept */
    char *cls = first_line(dump_values(seg, "SOPClassUID"));
    CHECK(cls && strcmp(cls, "1.2.840.10008.5.1.4.1.1.66.4") == 0);
    free(cls);
    free(refs);
    free(refs_before);
    free(study_before);
    free(seg_study);
    free(ct_study);
    free(seg_pid);
    free(ct_pid);
    free(seg_for);
    free(ct_for);
}

/* "2.25." + int(HMAC-SHA256(key, "uid:" + uid)[:16]) as computed by Python's hmac module. */
static void uid_mapping_is_the_documented_keyed_hash(void)
{
    const char *uid = "1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.93";
    char *py = run_capture("python3 -c \"import hmac,hashlib;"
                           "d=hmac.new(b'k1',b'uid:%s',hashlib.sha256).digest();"
                           "print('2.25.'+str(int.from_bytes(d[:16],'big')))\"",
                           uid);
    char mine[65], again[65], other[65], kept[65];
    deidentify_opts k1 = {"k1"}, k2 = {"k2"};
    deidentify_uid(&k1, uid, mine);
    deidentify_uid(&k1, uid, again);
    deidentify_uid(&k2, uid, other);
    deidentify_uid(&k1, "1.2.840.10008.5.1.4.1.1.2", kept);
    CHECK(py && strcmp(first_line(py), mine) == 0);
    CHECK(strcmp(mine, again) == 0 && strcmp(mine, other) != 0 && strlen(mine) <= 44);
    CHECK(strcmp(kept, "1.2.840.10008.5.1.4.1.1.2") == 0);
    free(py);
}

static void non_dicom_input_is_a_clear_error(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/not.dcm", test_tmpdir());
    c2_err e = {0};
    CHECK(c2_write_file(path, "hello", 5, &e) == C2_OK);
    CHECK(deidentify_file(path, NULL, &e) == C2_EINVAL);
    CHECK(strstr(e.msg, "not.dcm") != NULL);
    CHECK(run_cmd("test \"$(cat '%s')\" = hello", path) == 0); /* left as it was */
}

int main(void)
{
    if (!have_tool("dcmdump") || !have_tool("python3")) {
        fprintf(stderr, "dcmdump and python3 are required\n");
        return 1;
    }
    RUN_TEST(identity_attributes_are_removed_or_emptied);
    RUN_TEST(uids_are_remapped_consistently_across_files);
    RUN_TEST(uid_mapping_is_the_documented_keyed_hash);
    RUN_TEST(non_dicom_input_is_a_clear_error);
    return test_summary();
}
