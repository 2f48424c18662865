/* pipeline/report_merge: the predictions documents of `c2seg report`. One folder's is
 * OUTDIR/predictions.json as `c2seg predict` wrote it. A cohort predicted in parts (one
 * `c2seg predict` per part folder, e.g. a Slurm array: docs/scale-out.md) is joined into
 * one document for a merged folder, so that one report covers every case:
 *   cases   every part's cases in command-line order, each keeping its id and gaining
 *           "part" (its folder's name); its outputs (mask, overlay) are rewritten relative
 *           to the merged folder, so the report reads the files where predict wrote them
 *   parts   per part: name, folder (relative to the merged folder), its counts
 *   counts  the parts' counts summed: cases, cases_written, cases_failed, files_reported
 * Parts predicted by different models or settings are refused: they are two cohorts. */
#include "pipeline/run/cohort.h"
#include "pipeline/report/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What predict records of its model and settings; every part must agree on each. */
static const char *const model_keys[] = {"checkpoint", "preset", "fusion", "intensity_domain", "size",
                                         "fractional", "text_decode"};
enum { N_MODEL_KEYS = sizeof model_keys / sizeof model_keys[0] };
/* The outputs of a case that are paths relative to its predict folder. */
static const char *const output_paths[] = {"mask", "overlay"};

int report_predictions_read(const char *dir, cJSON **doc, c2_err *e)
{
    char path[4200];
    c2_path_join(path, sizeof path, dir, "predictions.json");
    uint8_t *data = NULL;
    size_t n = 0;
    *doc = NULL;
    int rc = c2_read_file(path, (size_t)1 << 30, &data, &n, e);
    if (rc != C2_OK)
        return rc;
    cJSON *d = cJSON_ParseWithLength((const char *)data, c2_json_bytes((char *)data, n));   /* \udcXX: a byte */
    free(data);
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(d, "cases"))) {
        cJSON_Delete(d);
        return c2_fail(e, C2_EINVAL, "%s: not a c2seg predictions file (no \"cases\" array)", path);
    }
    *doc = d;
    return C2_OK;
}

void report_case_label(char *out, size_t cap, const cJSON *c)
{
    const char *part = report_str(c, "part");
    snprintf(out, cap, "%s%s%s", part, part[0] ? "/" : "", report_str(c, "id"));
}

/* realpath into a fixed buffer; C2_EINVAL naming the path when it does not resolve. */
static int path_resolve(char *out, size_t cap, const char *path, c2_err *e)
{
    char *r = realpath(path, NULL);
    if (!r)
        return c2_fail(e, C2_EINVAL, "%s: cannot open (%s)", path, strerror(errno));
    int n = snprintf(out, cap, "%s", r);
    free(r);
    return n < 0 || (size_t)n >= cap ? c2_fail(e, C2_EINVAL, "%s: path is too long", path) : C2_OK;
}

/* The path of `to` relative to the folder `from` (both absolute and resolved), e.g.
 * from /w/merged to /w/predict/part-00 -> "../predict/part-00". */
static int path_relative(char *out, size_t cap, const char *from, const char *to)
{
    size_t common = 0; /* length of the longest prefix that ends at a component boundary of both */
    for (size_t i = 0;; i++) {
        int end_from = from[i] == '/' || !from[i], end_to = to[i] == '/' || !to[i];
        if (end_from && end_to)
            common = i;
        if (from[i] != to[i] || !from[i])
            break;
    }
    size_t used = 0;
    out[0] = 0;
    for (const char *p = from + common; *p; p++) {
        if (*p == '/' && p[1] && p[1] != '/') {
            int n = snprintf(out + used, cap - used, "../");
            if (n < 0 || (size_t)n >= cap - used)
                return C2_EINVAL;
            used += (size_t)n;
        }
    }
    const char *rest = to + common;
    while (*rest == '/')
        rest++;
    int n = snprintf(out + used, cap - used, "%s", rest);
    if (n < 0 || (size_t)n >= cap - used)
        return C2_EINVAL;
    used += (size_t)n;
    if (used && out[used - 1] == '/')
        out[--used] = 0;
    if (!used)
        snprintf(out, cap, ".");
    return C2_OK;
}

/* A merged folder must not overwrite a predict run's own record: an existing
 * predictions.json there must be an earlier merge (it has "parts"). */
static int merged_check(const char *merged_dir, c2_err *e)
{
    char path[4200];
    struct stat st;
    c2_path_join(path, sizeof path, merged_dir, "predictions.json");
    if (stat(path, &st) != 0)
        return C2_OK;
    cJSON *d = NULL;
    c2_err ignored = {0};
    int merged = report_predictions_read(merged_dir, &d, &ignored) == C2_OK &&
                 cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(d, "parts"));
    cJSON_Delete(d);
    return merged ? C2_OK
                  : c2_fail(e, C2_EINVAL, "%s: holds a predictions.json that is not a merge's (a predict folder?); "
                                          "give a new folder for the merged report", merged_dir);
}

int report_parts_resolve(report_part *parts, int n, const char *merged_dir, c2_err *e)
{
    char merged_real[4096] = "";
    c2_err ignored = {0};
    if (path_resolve(merged_real, sizeof merged_real, merged_dir, &ignored) != C2_OK)
        merged_real[0] = 0; /* not there yet: it is no part */
    for (int i = 0; i < n; i++) {
        report_part *p = &parts[i];
        struct stat st;
        int rc = path_resolve(p->real, sizeof p->real, p->dir, e);
        if (rc != C2_OK)
            return rc;
        if (stat(p->real, &st) != 0 || !S_ISDIR(st.st_mode))
            return c2_fail(e, C2_EINVAL, "%s: not a folder (a part must be a `c2seg predict` output folder)", p->dir);
        c2_safe_name(p->name, sizeof p->name, c2_basename(p->real));
        if (strcmp(p->real, merged_real) == 0)
            return c2_fail(e, C2_EINVAL, "%s: is both a part and the merged folder; give a new folder to merge into",
                           p->dir);
        for (int j = 0; j < i; j++) {
            if (strcmp(p->real, parts[j].real) == 0)
                return c2_fail(e, C2_EINVAL, "%s: given twice (as %s and %s)", p->real, parts[j].dir, p->dir);
            if (strcmp(p->name, parts[j].name) == 0)
                return c2_fail(e, C2_EINVAL, "%s and %s: two parts named '%s' (their merged case names would collide)",
                               parts[j].dir, p->dir, p->name);
        }
    }
    return merged_check(merged_dir, e);
}

static int same_value(const cJSON *a, const cJSON *b)
{
    return (!a && !b) || (a && b && cJSON_Compare(a, b, 1));
}

/* Two checkpoint records name the same model when they are the same path or the same
 * file now (predict records the path it was given, not a digest of the file). */
static int same_checkpoint(const cJSON *a, const cJSON *b)
{
    struct stat sa, sb;
    if (!cJSON_IsString(a) || !cJSON_IsString(b))
        return same_value(a, b);
    return strcmp(a->valuestring, b->valuestring) == 0 ||
           (stat(a->valuestring, &sa) == 0 && stat(b->valuestring, &sb) == 0 && sa.st_dev == sb.st_dev &&
            sa.st_ino == sb.st_ino);
}

/* A record's value for an error message ("absent" when missing). */
static void value_text(char *out, size_t cap, const cJSON *v)
{
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(out, cap, "%s", s ? s : "absent");
    cJSON_free(s);
}

/* Part i must have come from part 0's model and settings, and be no merged folder. */
static int part_check(const report_part *parts, cJSON *const *docs, int i, int uid_root_given, c2_err *e)
{
    if (cJSON_GetObjectItemCaseSensitive(docs[i], "parts"))
        return c2_fail(e, C2_EINVAL, "%s: is a merged folder; merge its parts instead", parts[i].dir);
    char va[256], vb[256];
    for (int k = 0; k < N_MODEL_KEYS; k++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(docs[0], model_keys[k]);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(docs[i], model_keys[k]);
        if (k == 0 ? same_checkpoint(a, b) : same_value(a, b))
            continue;
        value_text(va, sizeof va, a);
        value_text(vb, sizeof vb, b);
        return c2_fail(e, C2_EMISMATCH,
                       "%s: predicted with %s %s, %s with %s; parts of different models are not merged",
                       parts[i].dir, model_keys[k], vb, parts[0].dir, va);
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(docs[0], "uid_root");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(docs[i], "uid_root");
    if (uid_root_given || same_value(a, b))
        return C2_OK;
    value_text(va, sizeof va, a);
    value_text(vb, sizeof vb, b);
    return c2_fail(e, C2_EMISMATCH, "%s: predicted with uid_root %s, %s with %s; give c2seg report --uid-root",
                   parts[i].dir, vb, parts[0].dir, va);
}

/* Rewrites the case's output paths from relative to its part folder to relative to the
 * merged folder (folder = the part folder relative to the merged one). */
static int case_relocate(cJSON *c, const char *folder, c2_err *e)
{
    cJSON *outs = cJSON_GetObjectItemCaseSensitive(c, "outputs");
    for (size_t k = 0; k < sizeof output_paths / sizeof output_paths[0]; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(outs, output_paths[k]);
        char path[4400];
        if (!cJSON_IsString(v))
            continue;
        if (c2_path_join(path, sizeof path, folder, v->valuestring) != C2_OK ||
            !cJSON_ReplaceItemInObjectCaseSensitive(outs, output_paths[k], cJSON_CreateString(path)))
            return c2_fail(e, C2_ENOMEM, "%s: cannot relocate %s", report_str(c, "id"), output_paths[k]);
    }
    return C2_OK;
}

typedef struct part_counts {
    int cases, written, failed, files_reported;
} part_counts;

static void counts_json(cJSON *o, const part_counts *n)
{
    cJSON_AddNumberToObject(o, "cases", n->cases);
    cJSON_AddNumberToObject(o, "cases_written", n->written);
    cJSON_AddNumberToObject(o, "cases_failed", n->failed);
    cJSON_AddNumberToObject(o, "files_reported", n->files_reported);
}

/* Moves part p's cases into the merged array (tagged, relocated) and adds its "parts"
 * entry; its skipped input files go to status and are counted. */
static int part_move(const report_part *p, cJSON *doc, const char *merged_real, cJSON *merged_cases,
                     cJSON *parts_json, part_counts *total, struct cohort_table *status, c2_err *e)
{
    char folder[4096], file[4400];
    if (path_relative(folder, sizeof folder, merged_real, p->real) != C2_OK)
        return c2_fail(e, C2_EINVAL, "%s: path is too long", p->dir);
    part_counts n = {0};
    c2_path_join(file, sizeof file, p->real, "inputs.h5.report.tsv");
    int skipped = status->count[COHORT_SKIPPED];
    int rc = cohort_add_report_tsv(status, "predict", file, e);
    n.files_reported = status->count[COHORT_SKIPPED] - skipped;
    cJSON *cases = cJSON_GetObjectItemCaseSensitive(doc, "cases");
    while (rc == C2_OK && cJSON_GetArraySize(cases) > 0) {
        cJSON *c = cJSON_DetachItemFromArray(cases, 0);
        cJSON_AddItemToArray(merged_cases, c);
        n.cases++;
        if (strcmp(report_str(c, "status"), "ok") == 0)
            n.written++;
        else
            n.failed++;
        cJSON_AddStringToObject(c, "part", p->name);
        rc = case_relocate(c, folder, e);
    }
    if (rc != C2_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(parts_json, o);
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "folder", folder);
    c2_path_join(file, sizeof file, folder, "predictions.json");
    cJSON_AddStringToObject(o, "predictions", file);
    const char *cache = report_str(doc, "inputs_cache");
    if (cache[0] && c2_path_join(file, sizeof file, folder, cache) == C2_OK)
        cJSON_AddStringToObject(o, "inputs_cache", file);
    counts_json(o, &n);
    total->cases += n.cases, total->written += n.written, total->failed += n.failed;
    total->files_reported += n.files_reported;
    return C2_OK;
}

/* The merged document's head: the model and settings (the same in every part), and the
 * parts' uid_root when they agree (when not, the report's --uid-root names the SRs'). */
static cJSON *merged_head(cJSON *const *docs, int n)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "tool", "c2seg report --merge");
    cJSON_AddStringToObject(doc, "version", c2_version());
    for (int k = 0; k < N_MODEL_KEYS; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(docs[0], model_keys[k]);
        if (v)
            cJSON_AddItemToObject(doc, model_keys[k], cJSON_Duplicate(v, 1));
    }
    const cJSON *root = cJSON_GetObjectItemCaseSensitive(docs[0], "uid_root");
    for (int i = 1; i < n && root; i++)
        if (!same_value(root, cJSON_GetObjectItemCaseSensitive(docs[i], "uid_root")))
            root = NULL;
    if (cJSON_IsString(root))
        cJSON_AddStringToObject(doc, "uid_root", root->valuestring);
    return doc;
}

/* Every part read and checked, then the merged folder created and the document built. */
static int merge_docs(const report_part *parts, cJSON **docs, int n, const char *merged_dir, int uid_root_given,
                      struct cohort_table *status, cJSON **out, c2_err *e)
{
    int rc = C2_OK;
    for (int i = 0; i < n && rc == C2_OK; i++) {
        rc = report_predictions_read(parts[i].dir, &docs[i], e);
        if (rc == C2_OK)
            rc = part_check(parts, docs, i, uid_root_given, e);
    }
    char merged_real[4096];
    if (rc == C2_OK)
        rc = c2_mkdirs(merged_dir, e);
    if (rc == C2_OK)
        rc = path_resolve(merged_real, sizeof merged_real, merged_dir, e);
    if (rc != C2_OK)
        return rc;
    cJSON *doc = merged_head(docs, n);
    cJSON *parts_json = cJSON_AddArrayToObject(doc, "parts");
    cJSON *counts = cJSON_AddObjectToObject(doc, "counts");
    cJSON *cases = cJSON_AddArrayToObject(doc, "cases");
    part_counts total = {0};
    for (int i = 0; i < n && rc == C2_OK; i++)
        rc = part_move(&parts[i], docs[i], merged_real, cases, parts_json, &total, status, e);
    if (rc != C2_OK) {
        cJSON_Delete(doc);
        return rc;
    }
    cJSON_AddNumberToObject(counts, "parts", n);
    counts_json(counts, &total);
    *out = doc;
    return C2_OK;
}

int report_merge_predictions(const report_part *parts, int n, const char *merged_dir, int uid_root_given,
                             struct cohort_table *status, cJSON **out, c2_err *e)
{
    *out = NULL;
    cJSON **docs = calloc((size_t)n, sizeof *docs);
    if (!docs)
        return c2_fail(e, C2_ENOMEM, "out of memory");
    int rc = merge_docs(parts, docs, n, merged_dir, uid_root_given, status, out, e);
    for (int i = 0; i < n; i++)
        cJSON_Delete(docs[i]);
    free(docs);
    return rc;
}
