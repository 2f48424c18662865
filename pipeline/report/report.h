/* pipeline/report: `c2seg report OUTDIR` over a predict output folder, and
 * `c2seg report --merge MERGED PART...` over the folders of a cohort predicted in parts.
 *   report_cohort.c  cohort agreement rates and Dice split (report.json "cohort")
 *   report_html.c    the self-contained HTML page (thumbnails as data URIs, sortable rows)
 *   report_merge.c   reading predictions.json; the parts joined into one predictions document
 *   stage_report.c   options, report.json, one Comprehensive SR per DICOM case */
#ifndef C2SEG_PIPELINE_REPORT_H
#define C2SEG_PIPELINE_REPORT_H

#include "base/base.h"

struct cJSON;
struct cohort_table;

/* The cohort block from the "cases" array of predictions.json (new object); gate_dice is
 * the Dice threshold of its "quality_gate" (dicom-sr/quality_gate.h). */
struct cJSON *report_cohort_json(const struct cJSON *cases, double gate_dice);
/* o[a] (b NULL) or o[a][b]; NULL when absent. */
const struct cJSON *report_path_get(const struct cJSON *o, const char *a, const char *b);
/* o[name] when it is a string, else "". */
const char *report_str(const struct cJSON *o, const char *name);

/* Writes OUTDIR/report.html (atomically) from predictions.json's cases and the cohort
 * block; overlay PNGs named by the cases are read from outdir and embedded. */
int report_html_write(const char *outdir, const struct cJSON *cases, const struct cJSON *cohort, c2_err *e);

/* Reads DIR/predictions.json into *doc (new; the caller deletes it); C2_EINVAL when it
 * has no "cases" array. */
int report_predictions_read(const char *dir, struct cJSON **doc, c2_err *e);
/* The name of a case in a report: its "id", or "PART/id" for a case of a merged folder. */
void report_case_label(char *out, size_t cap, const struct cJSON *c);

/* One part folder of `c2seg report --merge`. */
typedef struct report_part {
    const char *dir;      /* as given on the command line (borrowed) */
    char name[256];       /* its folder's base name made a safe file name: the cases' "part" */
    char real[4096];      /* absolute, symbolic links resolved */
} report_part;

/* Fills parts[0..n) from their dir: each must be an existing folder, no two the same
 * folder or the same name, none the merged folder, and merged_dir must not hold the
 * predictions.json of a predict run (only an earlier merge is overwritten). Reads
 * only; C2_EINVAL with one sentence naming the folder otherwise. */
int report_parts_resolve(report_part *parts, int n, const char *merged_dir, c2_err *e);
/* Reads every PART/predictions.json and joins them into *doc (new): the cases of all parts
 * in order, each tagged "part" with its output paths relative to merged_dir, plus "parts"
 * and the summed "counts". Parts must come from the same model and settings, and (unless
 * uid_root_given) the same --uid-root. Appends each part's skipped input files
 * (inputs.h5.report.tsv) to status. Creates merged_dir once every part has been read;
 * writes nothing else. */
int report_merge_predictions(const report_part *parts, int n, const char *merged_dir, int uid_root_given,
                             struct cohort_table *status, struct cJSON **doc, c2_err *e);

#endif
