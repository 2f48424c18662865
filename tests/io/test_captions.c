/* dicom-sr/captions + zones on the real files: SGSeg annotation.json (every caption parses,
 * zones equal pseudo_label, count equals infected_area), LViT xlsx workbooks (checked
 * against python3's zipfile + xml reading), a quoted GuideDecoder-style CSV, name matching,
 * and the zone extractor's agreement with pseudo_label on the QaTa train / valid masks
 * (METHOD.md §7 table: train zone-exact 0.662, valid 0.580, valid laterality 0.985). */
#include "dicom-sr/dicom_sr.h"
#include "tests/support/check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void annotation_json_parses_and_matches_pseudo_label(void)
{
    caption_table *t;
    c2_err e = {0};
    int rc = caption_table_load(shared_path("data/text/sgseg_qata/annotation.json"), NULL, &t, &e);
    CHECK_MSG(rc == C2_OK, "%s", e.msg);
    if (rc != C2_OK)
        return;
    CHECK(t->format == CAPTIONS_JSON && t->convention == CONV_IMAGE);
    CHECK_MSG(t->n == 9258, "%d rows", t->n);
    int ok = 0, zones_eq = 0, count_eq = 0, lat_eq = 0;
    for (int i = 0; i < t->n; i++) {
        caption_attrs a;
        caption_parse(t->rows[i].caption, t->convention, &a);
        ok += a.status == CAPTION_OK;
        zones_eq += t->rows[i].has_pseudo && memcmp(a.zones, t->rows[i].pseudo, ZONE_COUNT) == 0;
        count_eq += a.count == t->rows[i].infected_area;
        lat_eq += (a.lat == LAT_BILATERAL ? 2 : 1) == t->rows[i].pulmonary_infection;
    }
    CHECK_MSG(ok == t->n && zones_eq == t->n && count_eq == t->n && lat_eq == t->n, "ok %d zones %d count %d lat %d",
              ok, zones_eq, count_eq, lat_eq);
    printf("annotation.json: %d captions, %d parsed ok, 0 contradictions expected, zones == pseudo_label %d\n", t->n,
           ok, zones_eq);
    caption_row *r = caption_table_find(t, "/some/dir/COVID_1.PNG");   /* image name, no prefix, other case */
    CHECK(r && strcmp(r->file, "mask_covid_1.png") == 0);
    CHECK(caption_table_find(t, "mask_covid_1.png") == r && r->matched == 2);
    CHECK(caption_table_find(t, "nothere.png") == NULL);
    CHECK(caption_table_unmatched(t) == t->n - 1);
    caption_table_free(t);
    rc = caption_table_load(shared_path("data/text/sgseg_qata/annotation.json"), "valid", &t, &e);
    CHECK(rc == C2_OK && t->n == 1429 && strcmp(t->rows[0].split, "valid") == 0);
    caption_table_free(t);
    CHECK(caption_table_load(shared_path("data/text/sgseg_qata/annotation.json"), "nosuch", &t, &e) == C2_ENOTFOUND);
}

static void lvit_xlsx_matches_python(void)
{
    static const char *books[] = {"Train_text.xlsx", "Val_text.xlsx", "Test_text.xlsx"};
    for (int b = 0; b < 3; b++) {
        char rel[256];
        snprintf(rel, sizeof rel, "data/text/lvit_monuseg/%s", books[b]);
        const char *path = shared_path(rel);
        caption_table *t;
        c2_err e = {0};
        int rc = caption_table_load(path, NULL, &t, &e);
        CHECK_MSG(rc == C2_OK, "%s", e.msg);
        if (rc != C2_OK)
            continue;
        /* independent reader: python3 zipfile + ElementTree, rows "file<TAB>caption" */
        char *py = run_capture(
            "python3 - '%s' <<'PY'\n"
            "import sys,zipfile,xml.etree.ElementTree as ET\n"
            "ns={'m':'http://schemas.openxmlformats.org/spreadsheetml/2006/main'}\n"
            "z=zipfile.ZipFile(sys.argv[1])\n"
            "ss=[''.join(t.text or '' for t in si.iter('{%%s}t'%%ns['m'])) for si in "
            "ET.fromstring(z.read('xl/sharedStrings.xml')).findall('m:si',ns)]\n"
            "rows=ET.fromstring(z.read('xl/worksheets/sheet1.xml')).find('m:sheetData',ns).findall('m:row',ns)\n"
            "def val(c):\n"
            "  v=c.find('m:v',ns)\n"
            "  return ss[int(v.text)] if c.get('t')=='s' else (v.text if v is not None else '')\n"
            "for r in rows[1:]:\n"
            "  cs={c.get('r').rstrip('0123456789'):val(c) for c in r.findall('m:c',ns)}\n"
            "  if cs.get('B'): print(cs.get('A',''),cs['B'],sep='\\t')\n"
            "PY",
            path);
        CHECK(py != NULL);
        int n = 0, same = 1;
        for (char *line = py ? strtok(py, "\n") : NULL; line; line = strtok(NULL, "\n"), n++) {
            char *tab = strchr(line, '\t');
            if (!tab || n >= t->n) {
                same = 0;
                break;
            }
            *tab = 0;
            same &= strcmp(line, t->rows[n].file) == 0 && strcmp(tab + 1, t->rows[n].caption) == 0;
        }
        CHECK_MSG(same && n == t->n && n > 0, "%s: %d python rows vs %d", books[b], n, t->n);
        CHECK(t->format == CAPTIONS_XLSX);
        free(py);
        caption_table_free(t);
    }
}

static void quoted_csv_and_bad_files(void)
{
    char path[4096];
    c2_path_join(path, sizeof path, test_tmpdir(), "guide.csv");
    const char *csv = "\xEF\xBB\xBFImage,Description\r\n"
                      "a.png,\"Bilateral pulmonary infection, two infected areas, upper left lung and upper right "
                      "lung.\"\r\n"
                      "MASK_B.png,\"He said \"\"no infection\"\"\nsecond line\"\r\n"
                      "\r\n"
                      "c.png,No infection.\n";
    c2_err e = {0};
    CHECK(c2_write_file(path, csv, strlen(csv), &e) == C2_OK);
    caption_table *t;
    int rc = caption_table_load(path, NULL, &t, &e);
    CHECK_MSG(rc == C2_OK, "%s", e.msg);
    if (rc == C2_OK) {
        CHECK(t->n == 3 && t->format == CAPTIONS_CSV);
        CHECK(t->n == 3 && strcmp(t->rows[1].caption, "He said \"no infection\"\nsecond line") == 0);
        CHECK(caption_table_find(t, "b.PNG") == &t->rows[1]);
        CHECK(caption_table_unmatched(t) == 2);
        caption_table_free(t);
    }
    c2_path_join(path, sizeof path, test_tmpdir(), "bad.xlsx");
    CHECK(c2_write_file(path, "PK\x03\x04garbage", 11, &e) == C2_OK);
    CHECK(caption_table_load(path, NULL, &t, &e) == C2_EINVAL && strstr(e.msg, "bad.xlsx"));
    c2_path_join(path, sizeof path, test_tmpdir(), "bad.json");
    CHECK(c2_write_file(path, "{\"train\": [1,2", 14, &e) == C2_OK);
    CHECK(caption_table_load(path, NULL, &t, &e) == C2_EINVAL && strstr(e.msg, "bad.json"));
}

/* An xlsx (written by python3's zipfile) whose first sheet is worksheets/data.xml, listed
 * before a decoy sheet1.xml: the rows come from the workbook's first sheet. A workbook
 * whose first sheet's relationship is missing is refused with the reason. */
static void xlsx_first_sheet_from_workbook(void)
{
    char script[4096], good[4096], broken[4096];
    c2_path_join(script, sizeof script, test_tmpdir(), "make_xlsx.py");
    c2_path_join(good, sizeof good, test_tmpdir(), "order.xlsx");
    c2_path_join(broken, sizeof broken, test_tmpdir(), "norel.xlsx");
    const char *py =
        "import sys, zipfile\n"
        "R = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'\n"
        "def sheet(rows):\n"
        "    x = ''.join('<row>' + ''.join('<c t=\"inlineStr\"><is><t>%s</t></is></c>' % v for v in r) + '</row>'\n"
        "                for r in rows)\n"
        "    return ('<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">'\n"
        "            '<sheetData>%s</sheetData></worksheet>' % x)\n"
        "def book(path, rels_ids):\n"
        "    with zipfile.ZipFile(path, 'w') as z:\n"
        "        z.writestr('xl/workbook.xml', '<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/"
        "2006/main\" xmlns:r=\"%s\"><sheets><sheet name=\"Captions\" sheetId=\"2\" r:id=\"rId7\"/>'\n"
        "                   '<sheet name=\"Old\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>' % R)\n"
        "        rel = {'rId7': 'worksheets/data.xml', 'rId1': '/xl/worksheets/sheet1.xml'}\n"
        "        z.writestr('xl/_rels/workbook.xml.rels', '<Relationships xmlns=\"http://schemas.openxmlformats.org/"
        "package/2006/relationships\">' + ''.join('<Relationship Id=\"%s\" Type=\"%s/worksheet\" Target=\"%s\"/>'\n"
        "                   % (i, R, rel[i]) for i in rels_ids) + '</Relationships>')\n"
        "        z.writestr('xl/worksheets/data.xml', sheet([('Image', 'Description'), ('a.png', 'No infection.'),\n"
        "                   ('b.png', 'Unilateral pulmonary infection, one infected area, upper left lung.')]))\n"
        "        z.writestr('xl/worksheets/sheet1.xml', sheet([('Image', 'Description'), ('decoy.png', 'Decoy.')]))\n"
        "book(sys.argv[1], ['rId1', 'rId7'])\n"
        "book(sys.argv[2], ['rId1'])\n";
    c2_err e = {0};
    CHECK(c2_write_file(script, py, strlen(py), &e) == C2_OK);
    int rc = run_cmd("/usr/bin/python3 '%s' '%s' '%s'", script, good, broken);
    CHECK_MSG(rc == 0, "python3 make_xlsx.py exited %d", rc);
    if (rc)
        return;
    caption_table *t;
    rc = caption_table_load(good, NULL, &t, &e);
    CHECK_MSG(rc == C2_OK, "%s", e.msg);
    if (rc == C2_OK) {
        CHECK_MSG(t->n == 2 && t->format == CAPTIONS_XLSX, "%d rows", t->n);
        CHECK(caption_table_find(t, "decoy.png") == NULL);
        const caption_row *b = caption_table_find(t, "b.png");
        CHECK(b && strcmp(b->caption, "Unilateral pulmonary infection, one infected area, upper left lung.") == 0);
        caption_table_free(t);
    }
    CHECK(caption_table_load(broken, NULL, &t, &e) == C2_EINVAL && strstr(e.msg, "norel.xlsx") &&
          strstr(e.msg, "rId7"));
}

/* Zones of the GT masks (128x128, nearest) against pseudo_label, as c2seg_ref.py pseudo_label_agreement. */
static void zone_agreement(const char *split, double want_exact, double want_lat)
{
    caption_table *t;
    c2_err e = {0};
    if (caption_table_load(shared_path("data/text/sgseg_qata/annotation.json"), split, &t, &e) != C2_OK) {
        CHECK_MSG(0, "%s", e.msg);
        return;
    }
    int n = 0, exact = 0, lat = 0, count = 0, per_zone[ZONE_COUNT] = {0};
    double jac = 0;
    for (int i = 0; i < t->n; i++) {
        char rel[512], img[512];
        const char *mname = t->rows[i].file;
        snprintf(rel, sizeof rel, "data/qata/%s/masks/%s", split, mname);
        snprintf(img, sizeof img, "data/qata/%s/images/%s", split, strncmp(mname, "mask_", 5) == 0 ? mname + 5 : mname);
        struct stat st;
        if (stat(shared_path(rel), &st) != 0 || stat(shared_path(img), &st) != 0 || !t->rows[i].has_pseudo)
            continue;
        uint8_t *m;
        int H, W;
        mask_zones z;
        if (mask_read_binary(shared_path(rel), 128, &m, &H, &W, &e) != C2_OK ||
            mask_zones_compute(m, H, W, NULL, NULL, &z, &e) != C2_OK) {
            CHECK_MSG(0, "%s", e.msg);
            continue;
        }
        free(m);
        const uint8_t *p = t->rows[i].pseudo;
        n++;
        exact += memcmp(z.zones, p, ZONE_COUNT) == 0;
        lat += z.lat == zones_laterality(p);
        count += z.n_zones == zones_count(p);
        jac += zones_jaccard(z.zones, p);
        for (int k = 0; k < ZONE_COUNT; k++)
            per_zone[k] += z.zones[k] == p[k];
        mask_zones_free(&z);
    }
    caption_table_free(t);
    CHECK(n > 0);
    if (n == 0)
        return;
    printf("QaTa %s: n=%d zone-exact %.3f zone-Jaccard %.3f laterality %.3f zone-count %.3f per-zone", split, n,
           (double)exact / n, jac / n, (double)lat / n, (double)count / n);
    for (int k = 0; k < ZONE_COUNT; k++)
        printf(" %s %.3f", zone_name(k), (double)per_zone[k] / n);
    printf("\n");
    CHECK_NEAR((double)exact / n, want_exact, 0.01);
    if (want_lat > 0)
        CHECK_NEAR((double)lat / n, want_lat, 0.01);
}

static void qata_zone_agreement_reproduces_method(void)
{
    zone_agreement("train", 0.662, -1);
    zone_agreement("valid", 0.580, 0.985);
}

int main(void)
{
    RUN_TEST(annotation_json_parses_and_matches_pseudo_label);
    RUN_TEST(lvit_xlsx_matches_python);
    RUN_TEST(quoted_csv_and_bad_files);
    RUN_TEST(xlsx_first_sheet_from_workbook);
    RUN_TEST(qata_zone_agreement_reproduces_method);
    return test_summary();
}
