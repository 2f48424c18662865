/* The per-study status table of a cohort run, filled from the stages' own outputs
 * (predictions.json and the FILE.report.tsv of skipped files). See cohort.h. */
#include "pipeline/run/cohort.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const cohort_status_names[COHORT_STATUS_COUNT] = {"done", "skipped", "failed"};

/* A copy of s with tabs, line breaks and every other control byte written \xNN (c2_printable),
 * so a row stays one TSV line and one terminal line. */
static char *field_dup(const char *s)
{
    size_t cap = 4 * strlen(s ? s : "") + 1;   /* \xNN is the longest a byte becomes */
    char *d = malloc(cap);
    return d ? (char *)c2_printable(d, cap, s) : NULL;
}

int cohort_add(cohort_table *t, const char *stage, const char *item, int status, const char *reason,
               const char *outputs, c2_err *e)
{
    if (c2_grow(&t->rows, sizeof *t->rows, (size_t)t->n + 1, &t->cap))
        return c2_fail(e, C2_ENOMEM, "out of memory for the status table");
    cohort_row r = {field_dup(stage), field_dup(item), field_dup(reason), field_dup(outputs), status};
    if (!r.stage || !r.item || !r.reason || !r.outputs) {
        free(r.stage), free(r.item), free(r.reason), free(r.outputs);
        return c2_fail(e, C2_ENOMEM, "out of memory for the status table");
    }
    t->rows[t->n++] = r;
    t->count[status]++;
    return C2_OK;
}

int cohort_add_report_tsv(cohort_table *t, const char *stage, const char *tsv_path, c2_err *e)
{
    FILE *f = fopen(tsv_path, "r");
    if (!f)
        return errno == ENOENT ? C2_OK : c2_fail(e, C2_EIO, "%s: %s", tsv_path, strerror(errno));
    char line[8192];
    int rc = C2_OK, first = 1;
    while (rc == C2_OK && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (first) { /* the header "file\treason" */
            first = 0;
            continue;
        }
        char *tab = strchr(line, '\t');
        if (!*line)
            continue;
        if (tab)
            *tab = 0;
        rc = cohort_add(t, stage, line, COHORT_SKIPPED, tab ? tab + 1 : "no reason given", "", e);
    }
    fclose(f);
    return rc;
}

/* The item a case stands for: its series folder for DICOM, else its file. */
static void case_item(char *out, size_t cap, const cJSON *c)
{
    const cJSON *in = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "inputs"), 0);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(c, "kind");
    snprintf(out, cap, "%s", cJSON_IsString(in) ? in->valuestring : cJSON_IsString(id) ? id->valuestring : "?");
    char *slash = strrchr(out, '/');
    if (slash && cJSON_IsString(kind) && strcmp(kind->valuestring, "dicom") == 0)
        *slash = 0;
}

int cohort_add_predictions(cohort_table *t, const char *predictions_json, c2_err *e)
{
    uint8_t *data;
    size_t n;
    int rc = c2_read_file(predictions_json, (size_t)1 << 30, &data, &n, e);
    if (rc != C2_OK)
        return rc;
    cJSON *doc = cJSON_ParseWithLength((const char *)data, c2_json_bytes((char *)data, n));   /* \udcXX: a byte */
    free(data);
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(doc, "cases");
    if (!cJSON_IsArray(cases)) {
        cJSON_Delete(doc);
        return c2_fail(e, C2_EINVAL, "%s: not a predictions.json (no \"cases\" array)", predictions_json);
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        char item[4096];
        case_item(item, sizeof item, c);
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(c, "status");
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(c, "error");
        const cJSON *mask = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "outputs"), "mask");
        int ok = cJSON_IsString(status) && strcmp(status->valuestring, "ok") == 0;
        rc = cohort_add(t, "predict", item, ok ? COHORT_DONE : COHORT_FAILED,
                        ok ? "" : cJSON_IsString(err) ? err->valuestring : "no reason given",
                        cJSON_IsString(mask) ? mask->valuestring : "", e);
        if (rc != C2_OK)
            break;
    }
    cJSON_Delete(doc);
    return rc;
}

int cohort_write_tsv(const cohort_table *t, const char *path, c2_err *e)
{
    c2_atomic a;
    int rc = c2_atomic_open(&a, path, e);
    if (rc != C2_OK)
        return rc;
    fprintf(a.f, "stage\titem\tstatus\treason\toutputs\n");
    for (int i = 0; i < t->n; i++) {
        const cohort_row *r = &t->rows[i];
        fprintf(a.f, "%s\t%s\t%s\t%s\t%s\n", r->stage, r->item, cohort_status_names[r->status], r->reason, r->outputs);
    }
    return c2_atomic_commit(&a, e);
}

void cohort_print(const cohort_table *t, FILE *f, int max_rows)
{
    fprintf(f, "status: %d done, %d skipped, %d failed\n", t->count[COHORT_DONE], t->count[COHORT_SKIPPED],
            t->count[COHORT_FAILED]);
    int shown = 0;
    for (int i = 0; i < t->n; i++) {
        const cohort_row *r = &t->rows[i];
        if (r->status == COHORT_DONE)
            continue;
        if (shown++ == max_rows) {
            fprintf(f, "  ... (%d more in the TSV)\n", t->count[COHORT_SKIPPED] + t->count[COHORT_FAILED] - max_rows);
            break;
        }
        fprintf(f, "  %-8s %-7s %s: %s\n", cohort_status_names[r->status], r->stage, r->item, r->reason);
    }
}

void cohort_free(cohort_table *t)
{
    for (int i = 0; i < t->n; i++) {
        cohort_row *r = &t->rows[i];
        free(r->stage), free(r->item), free(r->reason), free(r->outputs);
    }
    free(t->rows);
    memset(t, 0, sizeof *t);
}
