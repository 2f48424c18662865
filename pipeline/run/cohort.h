/* pipeline/cohort: the per-study status table of a cohort run (`c2seg run`).
 *
 * One row per item a stage met: a predicted case (a DICOM series, a NIfTI volume or a
 * 2D image: "done", or "failed" with the reason) and every input file a stage could not
 * use ("skipped" with the reason from its FILE.report.tsv). The table is filled from the
 * stages' own outputs (predictions.json, *.report.tsv), so it says what they wrote, and
 * is printed at the end of a run and written as TSV (columns: stage, item, status,
 * reason, outputs). */
#ifndef C2SEG_PIPELINE_COHORT_H
#define C2SEG_PIPELINE_COHORT_H

#include "base/base.h"

#include <stdio.h>

enum { COHORT_DONE, COHORT_SKIPPED, COHORT_FAILED, COHORT_STATUS_COUNT };

typedef struct cohort_row {
    char *stage, *item, *reason, *outputs;   /* owned; reason / outputs may be "" */
    int status;                              /* COHORT_* */
} cohort_row;

typedef struct cohort_table {
    cohort_row *rows;
    int n;
    size_t cap;
    int count[COHORT_STATUS_COUNT];
} cohort_table;

int cohort_add(cohort_table *t, const char *stage, const char *item, int status, const char *reason,
               const char *outputs, c2_err *e);
/* Adds a "skipped" row per line of a stage's report (header "file\treason"). A
 * missing report adds nothing (the stage did not get that far). */
int cohort_add_report_tsv(cohort_table *t, const char *stage, const char *tsv_path, c2_err *e);
/* Adds one row per case of predict's predictions.json: done with its outputs, or failed
 * with its error. */
int cohort_add_predictions(cohort_table *t, const char *predictions_json, c2_err *e);

int cohort_write_tsv(const cohort_table *t, const char *path, c2_err *e);
/* Prints the counts and the rows that are not "done" (at most max_rows of them). */
void cohort_print(const cohort_table *t, FILE *f, int max_rows);
void cohort_free(cohort_table *t);

extern const char *const cohort_status_names[COHORT_STATUS_COUNT];

#endif
