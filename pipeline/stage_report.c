/* `c2seg report OUTDIR`: reads OUTDIR/predictions.json (written by `c2seg predict`) and
 * writes OUTDIR/report.json (per case + cohort, pipeline/report_cohort.c),
 * OUTDIR/report.html (pipeline/report_html.c) and, for every case whose mask is a DICOM
 * SEG, a Comprehensive SR with its findings in OUTDIR/sr/case-NNNN.sr.dcm
 * (dicom-sr/sr_report.h). One SR that cannot be written does not stop the others. */
#include "dicom-sr/dicom_sr.h"
#include "pipeline/pipeline.h"
#include "pipeline/report.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: c2seg report OUTDIR [--uid-root ROOT]\n"
               "  --uid-root ROOT  UID root of the SRs (default: the one `c2seg predict --uid-root` recorded in\n"
               "                   predictions.json, else DCMTK's)\n"
               "\n"
               "OUTDIR is a `c2seg predict` output folder. Writes OUTDIR/report.json (per case and cohort:\n"
               "laterality / zone / count agreement of prediction vs text, prediction vs ground truth and ground\n"
               "truth vs text, Dice split by consistent / inconsistent cases), OUTDIR/report.html (self-contained,\n"
               "overlay thumbnails embedded) and OUTDIR/sr/case-NNNN.sr.dcm (Comprehensive SR) per DICOM SEG.\n"
               "exit codes: 0 ok, 1 partial (some SR failed), 2 usage, 3 failed.\n");
}

/* One sentence on the agreement of a case's mask with its text. */
static void agreement_sentence(const cJSON *c, char *out, size_t cap)
{
    const cJSON *agr = report_path_get(report_path_get(c, "consistency", NULL), "agreement", NULL);
    if (!cJSON_IsString(report_path_get(c, "text", "text")) || !cJSON_IsObject(agr)) {
        snprintf(out, cap, "No report text was available to compare with.");
        return;
    }
    snprintf(out, cap, "The segmentation is %s with the report text (laterality %s, zones %s, zone Jaccard %.2f).",
             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(agr, "consistent")) ? "consistent" : "not consistent",
             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(agr, "laterality_exact")) ? "agree" : "differ",
             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(agr, "zone_exact")) ? "agree" : "differ",
             cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(agr, "zone_jaccard")));
}

/* The SR of one DICOM case; fills rel with its path relative to outdir. */
static int case_sr(const char *outdir, const cJSON *c, const char *uid_root, char *rel, size_t cap, c2_err *e)
{
    const cJSON *mask = report_path_get(report_path_get(c, "consistency", NULL), "mask", NULL);
    sr_finding f = {0};
    char id[64], seg[4400], path[4400], sentence[300];
    c2_safe_name(id, sizeof id, report_str(c, "id"));
    f.case_id = id;
    f.laterality = report_str(mask, "laterality");
    const cJSON *z = cJSON_GetObjectItemCaseSensitive(mask, "zones");
    for (int k = 0; k < ZONE_COUNT; k++) {
        const cJSON *v = cJSON_GetArrayItem(z, k);
        if (cJSON_IsNumber(v) && v->valueint)
            f.zones[f.n_zones++] = zone_name(k);
    }
    const cJSON *nc = cJSON_GetObjectItemCaseSensitive(mask, "n_components");
    f.lesion_count = cJSON_IsNumber(nc) ? nc->valueint : -1;
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(c, "source_mask");
    const cJSON *vol = cJSON_GetObjectItemCaseSensitive(src, "volume_ml"), *area = cJSON_GetObjectItemCaseSensitive(src, "area_mm2");
    f.volume_ml = cJSON_IsNumber(vol) ? vol->valuedouble : -1;
    f.area_mm2 = cJSON_IsNumber(area) ? area->valuedouble : -1;
    const cJSON *text = report_path_get(c, "text", "text");
    f.text = cJSON_IsString(text) ? text->valuestring : NULL;
    agreement_sentence(c, sentence, sizeof sentence);
    f.agreement = sentence;
    char segname[256];
    c2_safe_name(segname, sizeof segname, report_str(report_path_get(c, "outputs", NULL), "mask"));
    c2_path_join(seg, sizeof seg, outdir, segname);
    snprintf(rel, cap, "sr/%s.sr.dcm", id);
    c2_path_join(path, sizeof path, outdir, rel);
    return sr_report_write(path, seg, &f, uid_root, e);
}

int stage_report(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return EXIT_OK;
    }
    const char *outdir = NULL, *uid_root = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--uid-root") == 0 && i + 1 < argc)
            uid_root = argv[++i];
        else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
            continue;
        else if (argv[i][0] == '-' || outdir) {
            cli_error("unexpected argument %s (see c2seg report --help)", argv[i]);
            return EXIT_USAGE;
        } else
            outdir = argv[i];
    }
    if (!outdir) {
        cli_error("no predict output folder given");
        return EXIT_USAGE;
    }
    c2_err e = {0};
    char path[4200];
    c2_path_join(path, sizeof path, outdir, "predictions.json");
    uint8_t *data = NULL;
    size_t n = 0;
    if (c2_read_file(path, (size_t)1 << 30, &data, &n, &e) != C2_OK) {
        cli_error("%s", e.msg);
        return EXIT_FAILED;
    }
    cJSON *pred = cJSON_ParseWithLength((const char *)data, n);
    free(data);
    cJSON *cases = cJSON_GetObjectItemCaseSensitive(pred, "cases");
    if (!cJSON_IsArray(cases)) {
        cli_error("%s: not a c2seg predictions file (no \"cases\" array)", path);
        cJSON_Delete(pred);
        return EXIT_FAILED;
    }
    if (!uid_root && report_str(pred, "uid_root")[0])
        uid_root = report_str(pred, "uid_root");
    int n_sr = 0, n_sr_failed = 0;
    char srdir[4200];
    c2_path_join(srdir, sizeof srdir, outdir, "sr");
    cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        if (strcmp(report_str(c, "status"), "ok") != 0 ||
            strcmp(report_str(report_path_get(c, "outputs", NULL), "mask_type"), "dicom-seg") != 0)
            continue;
        char rel[256];
        c2_err se = {0};
        int rc = c2_mkdirs(srdir, &se);
        if (rc == C2_OK)
            rc = case_sr(outdir, c, uid_root, rel, sizeof rel, &se);
        if (rc == C2_OK) {
            cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(c, "outputs"), "sr", rel);
            n_sr++;
        } else {
            cli_error("%s: %s", report_str(c, "id"), se.msg);
            n_sr_failed++;
        }
    }
    cJSON *cohort = report_cohort_json(cases);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "tool", "c2seg report");
    cJSON_AddStringToObject(doc, "version", c2_version());
    cJSON_AddStringToObject(doc, "checkpoint", report_str(pred, "checkpoint"));
    cJSON_AddItemToObject(doc, "cohort", cohort);
    cJSON_AddItemReferenceToObject(doc, "cases", cases);
    char *text = cJSON_Print(doc);
    c2_path_join(path, sizeof path, outdir, "report.json");
    int rc = text ? c2_write_file(path, text, strlen(text), &e) : c2_fail(&e, C2_ENOMEM, "out of memory");
    cJSON_free(text);
    if (rc == C2_OK)
        rc = report_html_write(outdir, cases, cohort, &e);
    if (rc != C2_OK)
        cli_error("%s", e.msg);
    cJSON *sum = cJSON_CreateObject();
    cJSON_AddStringToObject(sum, "stage", "report");
    cJSON_AddStringToObject(sum, "output", outdir);
    cJSON_AddNumberToObject(sum, "cases", cJSON_GetArraySize(cases));
    cJSON_AddNumberToObject(sum, "sr_written", n_sr);
    cJSON_AddNumberToObject(sum, "sr_failed", n_sr_failed);
    cJSON_AddItemToObject(sum, "cohort", cJSON_Duplicate(cohort, 1));
    cli_print_json(sum);
    cJSON_Delete(doc);
    cJSON_Delete(pred);
    if (rc != C2_OK)
        return EXIT_FAILED;
    return n_sr_failed ? EXIT_PARTIAL : EXIT_OK;
}
