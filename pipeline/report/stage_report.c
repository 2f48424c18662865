/* `c2seg report OUTDIR`: reads OUTDIR/predictions.json (written by `c2seg predict`) and
 * writes OUTDIR/report.json (per case + cohort, pipeline/report/report_cohort.c),
 * OUTDIR/report.html (pipeline/report/report.html.c) and, for every case whose mask is a DICOM
 * SEG, a Comprehensive SR with its findings in OUTDIR/sr/NAME.sr.dcm
 * (dicom-sr/sr_report.h). One SR that cannot be written does not stop the others.
 * `c2seg report --merge MERGED PART...`: the same report over the cases of several predict
 * folders of one cohort (pipeline/report/report_merge.c), written into MERGED together with the
 * merged MERGED/predictions.json and one status table MERGED/status.tsv (pipeline/run/cohort.h). */
#include "dicom-sr/dicom_sr.h"
#include "pipeline/pacs/pacs.h"
#include "pipeline/run/cohort.h"
#include "pipeline/pipeline.h"
#include "pipeline/report/report.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: c2seg report OUTDIR [--uid-root ROOT] [--gate-dice D] [--deidentify] [STORE]\n"
               "       c2seg report --merge MERGED PART... [--uid-root ROOT] [--gate-dice D] [STORE]\n"
               "STORE: --store DEST [--store-aet AE] [--store-tls] [--store-ca FILE] [--store-cert FILE --store-key FILE]\n"
               "  --deidentify     refuse an OUTDIR that `c2seg predict --deidentify` did not write: the SRs are then\n"
               "                   built from its de-identified SEGs, report.json / .html from its predictions.json\n"
               "                   without source paths (docs/reliability.md); not with --merge yet\n"
               "  --store DEST     then send the SRs (and any DICOM output not yet sent there) to a PACS, as\n"
               "                   c2seg push DEST OUTDIR does (dicom://AET@host:port or http(s)://.../dicom-web)\n"
               "  --store-aet AE   our calling AE title for --store over DIMSE (default C2SEG)\n"
               "  --store-tls      --store over DIMSE with TLS (as c2seg push --tls)\n"
               "  --store-ca FILE  CA certificates (PEM) for --store over https or TLS (default: the system's)\n"
               "  --store-cert FILE  our certificate (PEM) for --store, for a server that asks for one\n"
               "  --store-key FILE   the private key (PEM) of --store-cert\n"
               "  --uid-root ROOT  UID root of the SRs (default: the one `c2seg predict --uid-root` recorded in\n"
               "                   predictions.json, else DCMTK's)\n"
               "  --merge MERGED   report the cases of the predict folders PART... (one cohort predicted in parts\n"
               "                   by the same model, e.g. a Slurm array) as one cohort, written into MERGED\n"
               "  --gate-dice D    Dice threshold of the quality gate (default 0.5): precision and recall of\n"
               "                   \"inconsistent with the text\" at catching the cases with Dice below D\n"
               "\n"
               "OUTDIR is a `c2seg predict` output folder. Writes OUTDIR/report.json (per case and cohort:\n"
               "laterality / zone / count agreement of prediction vs text, prediction vs ground truth and ground\n"
               "truth vs text, Dice split by consistent / inconsistent cases), OUTDIR/report.html (self-contained,\n"
               "overlay thumbnails embedded) and OUTDIR/sr/NAME.sr.dcm (Comprehensive SR) per DICOM SEG.\n"
               "With --merge the same files go to MERGED (SRs as MERGED/sr/PART_NAME.sr.dcm, PART = the part\n"
               "folder's name), plus MERGED/predictions.json (every case of every part with its \"part\", output\n"
               "paths relative to MERGED, summed counts) and MERGED/status.tsv (one row per case and skipped file).\n"
               "The parts' files stay where predict wrote them. Refused: a part without predictions.json, a part\n"
               "given twice or two parts with the same folder name, MERGED being a part or a predict folder, parts\n"
               "predicted with different checkpoints or settings.\n"
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

/* The SR of one DICOM case; fills rel with its path relative to outdir. The SEG is the
 * case's mask: predict's own record names a file in outdir (made a safe name, so an edited
 * record cannot point elsewhere); a merged record (with "part") names it relative to
 * outdir, in its part's folder. The SR is named after the case's label, so the cases of
 * different parts never share a name. */
static int case_sr(const char *outdir, const cJSON *c, const char *uid_root, char *rel, size_t cap, c2_err *e)
{
    const cJSON *mask = report_path_get(report_path_get(c, "consistency", NULL), "mask", NULL);
    sr_finding f = {0};
    char label[600], id[600], seg[4400], path[4400], sentence[300];
    report_case_label(label, sizeof label, c);
    c2_safe_name(id, sizeof id, label);
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
    const char *segfile = report_str(report_path_get(c, "outputs", NULL), "mask");
    char segname[256];
    c2_safe_name(segname, sizeof segname, segfile);
    c2_path_join(seg, sizeof seg, outdir, report_str(c, "part")[0] ? segfile : segname);
    snprintf(rel, cap, "sr/%s.sr.dcm", id);
    c2_path_join(path, sizeof path, outdir, rel);
    return sr_report_write(path, seg, &f, uid_root, e);
}

/* Removes dir/rel (a file this run wrote). */
static void remove_in(const char *dir, const char *rel)
{
    char path[4400];
    c2_path_join(path, sizeof path, dir, rel);
    remove(path);
}

/* Writes doc as dir/name (atomically). */
static int json_write(const char *dir, const char *name, const cJSON *doc, c2_err *e)
{
    char path[4200];
    c2_path_join(path, sizeof path, dir, name);
    char *text = c2_json_utf8(cJSON_Print(doc));   /* file names' bytes outside UTF-8: \udcXX */
    int rc = text ? c2_write_file(path, text, strlen(text), e) : c2_fail(e, C2_ENOMEM, "out of memory");
    free(text);
    return rc;
}

/* The report of outdir from its predictions document pred (a predict folder's, or a
 * merge's): the SRs, report.json, report.html and the JSON summary; returns the exit code. */
static int report_write(const char *outdir, cJSON *pred, const char *uid_root, double gate_dice)
{
    cJSON *cases = cJSON_GetObjectItemCaseSensitive(pred, "cases");
    if (!uid_root && report_str(pred, "uid_root")[0])
        uid_root = report_str(pred, "uid_root");
    int n_sr = 0, n_sr_failed = 0;
    char srdir[4200];
    c2_path_join(srdir, sizeof srdir, outdir, "sr");
    struct stat st;
    int srdir_existed = stat(srdir, &st) == 0;
    cJSON *c;
    c2_err e = {0};
    int io_failed = 0;   /* a write failed (disk full, EFBIG): stop, remove what this run wrote */
    cJSON *written = cJSON_CreateArray();   /* the SRs this run wrote, relative to outdir */
    cJSON_ArrayForEach(c, cases)
    {
        if (strcmp(report_str(c, "status"), "ok") != 0 ||
            strcmp(report_str(report_path_get(c, "outputs", NULL), "mask_type"), "dicom-seg") != 0)
            continue;
        char rel[700], label[600];
        c2_err se = {0};
        int rc = c2_mkdirs(srdir, &se);
        if (rc == C2_OK)
            rc = case_sr(outdir, c, uid_root, rel, sizeof rel, &se);
        if (rc == C2_OK) {
            cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(c, "outputs"), "sr", rel);
            cJSON_AddItemToArray(written, cJSON_CreateString(rel));
            n_sr++;
        } else if (rc == C2_EIO) {
            e = se;
            io_failed = 1;
            break;
        } else {
            report_case_label(label, sizeof label, c);
            cli_error("%s: %s", label, se.msg);
            n_sr_failed++;
        }
    }
    cJSON *cohort = report_cohort_json(cases, gate_dice);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "tool", "c2seg report");
    cJSON_AddStringToObject(doc, "version", c2_version());
    cJSON_AddStringToObject(doc, "checkpoint", report_str(pred, "checkpoint"));
    cJSON *parts = cJSON_GetObjectItemCaseSensitive(pred, "parts");
    if (parts)
        cJSON_AddItemReferenceToObject(doc, "parts", parts);
    cJSON_AddItemToObject(doc, "cohort", cohort);
    cJSON_AddItemReferenceToObject(doc, "cases", cases);
    int rc = io_failed ? C2_EIO : json_write(outdir, "report.json", doc, &e);
    if (rc == C2_OK && (rc = report_html_write(outdir, cases, cohort, &e)) != C2_OK)
        remove_in(outdir, "report.json");
    if (rc != C2_OK) {
        /* no partial report: the SRs of this run go too (and the sr folder it made) */
        cJSON_ArrayForEach(c, written)
            remove_in(outdir, c->valuestring);
        if (!srdir_existed)
            rmdir(srdir);
        cli_error("%s", e.msg);
        cJSON_Delete(doc);
        cJSON_Delete(written);
        return EXIT_FAILED;
    }
    cJSON *sum = cJSON_CreateObject();
    cJSON_AddStringToObject(sum, "stage", "report");
    cJSON_AddStringToObject(sum, "output", outdir);
    if (parts)
        cJSON_AddNumberToObject(sum, "parts", cJSON_GetArraySize(parts));
    cJSON_AddNumberToObject(sum, "cases", cJSON_GetArraySize(cases));
    cJSON_AddNumberToObject(sum, "sr_written", n_sr);
    cJSON_AddNumberToObject(sum, "sr_failed", n_sr_failed);
    cJSON_AddItemToObject(sum, "cohort", cJSON_Duplicate(cohort, 1));
    cli_print_json(sum);
    cJSON_Delete(doc);
    cJSON_Delete(written);
    return n_sr_failed ? EXIT_PARTIAL : EXIT_OK;
}

/* `--merge`: joins the parts into merged's predictions.json and status.tsv; *pred is the
 * merged document (new). Returns an exit code (EXIT_OK to go on to the report). */
static int merge_write(const char *merged, const char **part_dirs, int n_parts, int uid_root_given, cJSON **pred)
{
    c2_err e = {0};
    report_part *parts = calloc((size_t)n_parts, sizeof *parts);
    if (!parts) {
        cli_error("out of memory");
        return EXIT_FAILED;
    }
    for (int i = 0; i < n_parts; i++)
        parts[i].dir = part_dirs[i];
    int rc = report_parts_resolve(parts, n_parts, merged, &e);
    if (rc != C2_OK) {
        cli_error("%s", e.msg);
        free(parts);
        return EXIT_USAGE;
    }
    cohort_table status = {0};
    char path[4200];
    rc = report_merge_predictions(parts, n_parts, merged, uid_root_given, &status, pred, &e);
    if (rc == C2_OK)
        rc = json_write(merged, "predictions.json", *pred, &e);
    if (rc == C2_OK && c2_path_join(path, sizeof path, merged, "predictions.json") == C2_OK)
        rc = cohort_add_predictions(&status, path, &e);
    if (rc == C2_OK && c2_path_join(path, sizeof path, merged, "status.tsv") == C2_OK)
        rc = cohort_write_tsv(&status, path, &e);
    if (rc == C2_OK)
        cli_log("%d parts: status %d done, %d skipped, %d failed (%s)", n_parts, status.count[COHORT_DONE],
                status.count[COHORT_SKIPPED], status.count[COHORT_FAILED], path);
    else
        cli_error("%s", e.msg);
    cohort_free(&status);
    free(parts);
    return rc == C2_OK ? EXIT_OK : EXIT_FAILED;
}

/* --gate-dice D: a Dice threshold in [0, 1]. */
static int gate_arg(void *out, const char *value, char *why, size_t cap)
{
    if (quality_gate_parse(value, (double *)out)) {
        snprintf(why, cap, "not a number in [0, 1]");
        return -1;
    }
    return 0;
}

int stage_report(int argc, char **argv)
{
    const char *uid_root = NULL, *merged = NULL;
    pacs_store_options store = {0};
    int deidentify = 0;
    double gate_dice = QUALITY_GATE_DICE;
    const char **dirs = calloc((size_t)argc, sizeof *dirs); /* OUTDIR, or the parts with --merge */
    int n_dirs = 0;
    if (!dirs) {
        cli_error("out of memory");
        return EXIT_FAILED;
    }
    const cli_option opts[] = {CLI_OPT_TEXT("uid-root", 0, &uid_root, "ROOT"), CLI_OPT_TEXT("merge", 0, &merged, "OUTDIR"),
                               PACS_STORE_CLI_OPTIONS(&store),
                               CLI_OPT_CALL("gate-dice", &gate_dice, "D", gate_arg), CLI_OPT_FLAG("deidentify", &deidentify),
                               CLI_OPT_END};
    int code = cli_parse(argc, argv, opts, dirs, argc, &n_dirs, usage);
    if (code < 0) {
        free(dirs);
        return EXIT_OK;
    }
    if (code == EXIT_OK && !merged && n_dirs > 1)
        code = cli_usage_error("unexpected argument '%s' (several folders need --merge OUTDIR)", dirs[1]);
    else if (code == EXIT_OK && !n_dirs)
        code = cli_usage_error("%s", merged ? "the part folders to merge are required"
                                            : "the predict output folder (c2seg predict -o OUTDIR) is required");
    else if (code == EXIT_OK && merged && deidentify)
        code = cli_usage_error("--deidentify is not supported with --merge yet");
    cJSON *pred = NULL;
    c2_err e = {0};
    if (code == EXIT_OK && merged)
        code = merge_write(merged, dirs, n_dirs, uid_root != NULL, &pred);
    else if (code == EXIT_OK && report_predictions_read(dirs[0], &pred, &e) != C2_OK) {
        cli_error("%s", e.msg);
        code = EXIT_FAILED;
    }
    if (code == EXIT_OK && deidentify && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pred, "deidentified"))) {
        cli_error("%s/predictions.json: not written by `c2seg predict --deidentify` (its SEGs and JSON identify "
                  "the patient); rerun predict with --deidentify", dirs[0]);
        code = EXIT_FAILED;
    }
    if (code == EXIT_OK)
        code = report_write(merged ? merged : dirs[0], pred, uid_root, gate_dice);
    if (store.dest && code != EXIT_USAGE && code != EXIT_FAILED) {
        /* the SRs (and whatever DICOM output the ledger does not list as sent yet) */
        pacs_push_result pr;
        if (pacs_store_folder(&store, merged ? merged : dirs[0], &pr, &e) != C2_OK) {
            cli_error("--store: %s (the outputs stay where they are)", e.msg);
            code = EXIT_PARTIAL;
        }
    }
    cJSON_Delete(pred);
    free(dirs);
    return code;
}
