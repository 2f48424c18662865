/* `c2seg sr-text <file|folder>`: the report text of DICOM SR documents as JSON, one object
 * per document (every TEXT item with its concept-name path, document order, UTF-8, and
 * "report_text": the text ingest and predict take from it, dicom-sr's sr_report_text).
 * A folder is walked recursively (depth bounded by the limits); files that are not SR
 * are skipped in a folder and an error for a single file. */
#include "dicom-sr/dicom_sr.h"
#include "pipeline/pipeline.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct sr_walk {
    int documents, skipped, failed;
} sr_walk;

static void print_document(const char *path, const sr_document *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", path);
    cJSON_AddStringToObject(o, "document_type", d->document_type);
    cJSON_AddStringToObject(o, "title", d->title);
    cJSON_AddStringToObject(o, "study_uid", d->study_uid);
    cJSON_AddStringToObject(o, "series_uid", d->series_uid);
    cJSON_AddStringToObject(o, "sop_uid", d->sop_uid);
    cJSON_AddStringToObject(o, "charset", d->charset);
    cJSON_AddBoolToObject(o, "charset_converted", !d->charset_failed);
    cJSON_AddBoolToObject(o, "read_leniently", d->lenient);
    cJSON_AddStringToObject(o, "convention", convention_name(CONV_PATIENT));
    cJSON *items = cJSON_AddArrayToObject(o, "texts");
    for (int i = 0; i < d->n_items; i++) {
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "path", d->items[i].path);
        cJSON_AddStringToObject(it, "concept", d->items[i].concept);
        cJSON_AddStringToObject(it, "text", d->items[i].text);
        cJSON_AddNumberToObject(it, "depth", d->items[i].depth);
        cJSON_AddItemToArray(items, it);
    }
    char *raw = NULL, *source = NULL; /* the report text by dicom-sr's one rule (ingest and predict use it) */
    if (sr_report_text(d, &raw, &source) == C2_OK && raw) {
        cJSON_AddStringToObject(o, "report_text", raw);
        cJSON_AddStringToObject(o, "report_source", source);
    } else
        cJSON_AddNullToObject(o, "report_text");
    free(raw);
    free(source);
    cJSON *refs = cJSON_AddArrayToObject(o, "references");
    for (int i = 0; i < d->n_refs; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "sop_class_uid", d->refs[i].sop_class_uid);
        cJSON_AddStringToObject(r, "sop_instance_uid", d->refs[i].sop_instance_uid);
        cJSON_AddItemToArray(refs, r);
    }
    cli_print_json(o);
}

/* 1 when the file has the DICOM Part 10 signature "DICM" at byte 128. */
static int has_dicm(const char *path)
{
    FILE *f = fopen(path, "rb");
    char sig[4] = {0};
    int ok = f && fseek(f, 128, SEEK_SET) == 0 && fread(sig, 1, 4, f) == 4 && memcmp(sig, "DICM", 4) == 0;
    if (f)
        fclose(f);
    return ok;
}

static void read_one(const char *path, int in_folder, sr_walk *w)
{
    if (in_folder && !has_dicm(path)) {
        w->skipped++;
        return;
    }
    sr_document d;
    c2_err e = {0};
    int rc = sr_read_text_isolated(path, &d, &e);
    if (rc != C2_OK) {
        if (in_folder && strstr(e.msg, "not a Structured Report")) {
            w->skipped++;
            return;
        }
        if (in_folder && strstr(e.msg, "not a readable DICOM")) {
            w->skipped++;
            return;
        }
        cli_error("%s", e.msg);
        w->failed++;
        return;
    }
    print_document(path, &d);
    sr_document_free(&d);
    w->documents++;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void walk(const char *dir, int depth, sr_walk *w)
{
    if (depth > c2_limits_get()->max_depth) {
        cli_error("%s: folder deeper than %d levels, not walked", dir, c2_limits_get()->max_depth);
        w->failed++;
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        cli_error("%s: cannot open folder", dir);
        w->failed++;
        return;
    }
    char **names = NULL;
    int n = 0;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (c2_grow(&names, sizeof *names, (size_t)n + 1, &cap))
            break;
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    if (n > 1) /* deterministic order; an empty folder has no array to sort */
        qsort(names, n, sizeof *names, name_cmp);
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        c2_path_join(path, sizeof path, dir, names[i]);
        if (names[i] && lstat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                walk(path, depth + 1, w);
            else if (S_ISREG(st.st_mode))
                read_one(path, 1, w);
        }
        free(names[i]);
    }
    free(names);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: c2seg sr-text <file|folder>\n\n"
               "Prints one JSON object per DICOM SR document: every TEXT content item with its\n"
               "concept-name path in document order (UTF-8), the study / SOP UIDs and the referenced\n"
               "instances. SR text means the patient's left (convention \"patient\").\n");
}

int stage_sr_text(int argc, char **argv)
{
    const char *path = NULL;
    int npos = 0;
    const cli_option opts[] = {CLI_OPT_END};
    int ex = cli_parse(argc, argv, opts, &path, 1, &npos, usage);
    if (ex)
        return ex < 0 ? EXIT_OK : ex;
    if ((ex = cli_require(path, "an SR file or a folder")))
        return ex;
    sr_walk w = {0, 0, 0};
    struct stat st;
    if (stat(path, &st) != 0) {
        cli_error("%s: no such file or folder", path);
        return EXIT_FAILED;
    }
    if (S_ISDIR(st.st_mode))
        walk(path, 0, &w);
    else if (S_ISREG(st.st_mode))
        read_one(path, 0, &w);
    else {
        cli_error("%s: not a regular file or folder (a FIFO or device would block)", path);
        return EXIT_FAILED;
    }
    cli_log("%d SR documents, %d other files skipped, %d failed", w.documents, w.skipped, w.failed);
    return w.failed == 0 ? EXIT_OK : w.documents > 0 ? EXIT_PARTIAL : EXIT_FAILED;
}
