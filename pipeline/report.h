/* pipeline/report: `c2seg report OUTDIR` over a predict output folder.
 *   report_cohort.c  cohort agreement rates and Dice split (report.json "cohort")
 *   report_html.c    the self-contained HTML page (thumbnails as data URIs, sortable rows)
 *   stage_report.c   options, report.json, one Comprehensive SR per DICOM case */
#ifndef C2SEG_PIPELINE_REPORT_H
#define C2SEG_PIPELINE_REPORT_H

#include "base/base.h"

struct cJSON;

/* The cohort block from the "cases" array of predictions.json (new object). */
struct cJSON *report_cohort_json(const struct cJSON *cases);
/* o[a] (b NULL) or o[a][b]; NULL when absent. */
const struct cJSON *report_path_get(const struct cJSON *o, const char *a, const char *b);
/* o[name] when it is a string, else "". */
const char *report_str(const struct cJSON *o, const char *name);

/* Writes OUTDIR/report.html (atomically) from predictions.json's cases and the cohort
 * block; overlay PNGs named by the cases are read from outdir and embedded. */
int report_html_write(const char *outdir, const struct cJSON *cases, const struct cJSON *cohort, c2_err *e);

#endif
