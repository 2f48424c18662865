/* dicom-sr/sr: TEXT items of the real SR files against the saved dsrdump outputs (same
 * order, same concept names, same values as dsrdump escapes and truncates them), the
 * lenient read of reportsi.dcm, non-SR files refused with one clear error, and a
 * Basic Text SR written, validated by dciodvfy (0 errors) and read back. */
#include "dicom-sr/dicom_sr.h"
#include "tests/support/check.h"

#include <stdlib.h>
#include <string.h>

/* dsrdump prints CR / LF as \r / \n and truncates long values with "...". */
static void escape_like_dsrdump(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 3 < cap; in++) {
        if (*in == '\r' || *in == '\n') {
            out[n++] = '\\';
            out[n++] = *in == '\r' ? 'r' : 'n';
        } else {
            out[n++] = *in;
        }
    }
    out[n] = 0;
}

static void compare_with_dsrdump(const char *dcm, const char *dump, int want_lenient)
{
    sr_document d;
    c2_err e = {0};
    int rc = sr_read_text(shared_path(dcm), &d, &e);
    CHECK_MSG(rc == C2_OK, "%s", e.msg);
    if (rc != C2_OK)
        return;
    CHECK_MSG(d.lenient == want_lenient, "%s lenient %d", dcm, d.lenient);
    uint8_t *txt;
    size_t n;
    CHECK(c2_read_file(shared_path(dump), 1 << 20, &txt, &n, &e) == C2_OK);
    int k = 0;
    for (char *line = strtok((char *)txt, "\n"); line; line = strtok(NULL, "\n")) {
        char *p = strstr(line, " TEXT:(");
        if (!p)
            continue;
        char *name = strstr(p, "\"");                  /* (,,"Concept") */
        char *name_end = name ? strstr(name + 1, "\")=\"") : NULL;
        CHECK(name && name_end);
        if (!name || !name_end)
            continue;
        *name_end = 0;
        char *val = name_end + 4, *val_end = strrchr(val, '"');
        if (val_end)
            *val_end = 0;
        CHECK_MSG(k < d.n_items, "%s: dsrdump has more TEXT items than %d", dcm, d.n_items);
        if (k >= d.n_items)
            break;
        char esc[4096];
        escape_like_dsrdump(d.items[k].text, esc, sizeof esc);
        size_t lv = strlen(val);
        int truncated = lv > 3 && strcmp(val + lv - 3, "...") == 0;
        CHECK_MSG(truncated ? strncmp(esc, val, lv - 3) == 0 : strcmp(esc, val) == 0, "%s item %d: '%s' vs dsrdump '%s'",
                  dcm, k, esc, val);
        CHECK_MSG(strcmp(d.items[k].concept, name + 1) == 0, "%s item %d concept '%s' vs '%s'", dcm, k,
                  d.items[k].concept, name + 1);
        k++;
    }
    CHECK_MSG(k == d.n_items && k > 0, "%s: %d dsrdump TEXT items, %d read", dcm, k, d.n_items);
    free(txt);
    CHECK(d.study_uid[0] && d.sop_uid[0]);
    sr_document_free(&d);
}

static void real_sr_texts_match_dsrdump(void)
{
    compare_with_dsrdump("data/dicom/sr/test-SR.dcm", "data/dicom/sr/test-SR.dsrdump.txt", 0);
    compare_with_dsrdump("data/dicom/sr/sr_document.dcm", "data/dicom/sr/sr_document.dsrdump.txt", 0);
    compare_with_dsrdump("data/dicom/sr/sr_document_with_multiple_groups.dcm",
                         "data/dicom/sr/sr_document_with_multiple_groups.dsrdump.txt", 0);
    compare_with_dsrdump("data/dicom/sr/dcmqi_sr-example/sr.dcm", "data/dicom/sr/dcmqi_sr-example/sr.dsrdump.txt", 0);
    /* invalid IMAGE references: dsrdump needs -Ee, we read leniently and say so */
    compare_with_dsrdump("data/dicom/sr/reportsi.dcm", "data/dicom/sr/reportsi.dsrdump-Ee.txt", 1);
}

static void test_sr_paths_and_references(void)
{
    sr_document d;
    c2_err e = {0};
    CHECK(sr_read_text(shared_path("data/dicom/sr/test-SR.dcm"), &d, &e) == C2_OK);
    CHECK(strcmp(d.document_type, "Comprehensive SR") == 0 && strcmp(d.title, "Diagnosis") == 0);
    CHECK(d.n_items > 0 && strcmp(d.items[0].path, "Diagnosis > Text Code") == 0);
    CHECK(strcmp(d.charset, "ISO_IR 100") == 0 && !d.charset_failed);
    sr_document_free(&d);
    CHECK(sr_read_text(shared_path("data/dicom/sr/sr_document.dcm"), &d, &e) == C2_OK);
    CHECK(d.n_refs >= 1 && strcmp(d.study_uid, "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322") == 0);
    sr_document_free(&d);
}

static void non_sr_files_give_one_clear_error(void)
{
    static const char *files[] = {"data/dicom/charset/chrH31.dcm", "data/dicom/charset/chrX1.dcm",
                                  "data/dicom/sr/test-SR.dsrdump.txt"};
    for (int i = 0; i < 3; i++) {
        sr_document d;
        c2_err e = {0};
        CHECK(sr_read_text(shared_path(files[i]), &d, &e) == C2_EINVAL);
        CHECK_MSG(strstr(e.msg, files[i] + 5) != NULL, "%s", e.msg);
    }
}

static void written_sr_passes_dciodvfy_and_reads_back(void)
{
    char path[4096];
    c2_path_join(path, sizeof path, test_tmpdir(), "report.dcm");
    const char *text = "Bilateral pulmonary infection, two infected areas, upper left lung and lower right lung.\n"
                       "Zweite Zeile: \xc3\x9c" "berpr\xc3\xbc" "fung (patient left).";
    sr_write_info info = {0};
    info.study_uid = "1.2.826.0.1.3680043.8.498.1";
    info.patient_id = "P1";
    info.patient_name = "Test^Patient";
    c2_err e = {0};
    int rc = sr_write_basic_text(path, &info, text, &e);
    CHECK_MSG(rc == C2_OK, "%s", e.msg);
    if (rc != C2_OK)
        return;
    sr_document d;
    CHECK(sr_read_text(path, &d, &e) == C2_OK);
    CHECK(d.n_items == 1 && strcmp(d.items[0].text, text) == 0 && strcmp(d.items[0].concept, "Finding") == 0);
    CHECK(strcmp(d.study_uid, info.study_uid) == 0 && strcmp(d.document_type, "Basic Text SR") == 0);
    sr_document_free(&d);
    if (have_tool("dciodvfy")) {
        char *out = run_capture("dciodvfy '%s' 2>&1", path);
        CHECK(out != NULL);
        CHECK_MSG(out && !strstr(out, "Error"), "%s", out ? out : "");
        free(out);
    }
    sr_write_info none = {0};
    CHECK(sr_write_basic_text(path, &none, "x", &e) == C2_EINVAL);
}

int main(void)
{
    RUN_TEST(real_sr_texts_match_dsrdump);
    RUN_TEST(test_sr_paths_and_references);
    RUN_TEST(non_sr_files_give_one_clear_error);
    RUN_TEST(written_sr_passes_dciodvfy_and_reads_back);
    return test_summary();
}
