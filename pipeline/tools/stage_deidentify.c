/* `c2seg deidentify FOLDER... -o OUT`: copies of the DICOM files under FOLDER (walked
 * recursively, depth bounded by the limits), each de-identified by io/deidentify.h with
 * the key in $C2SEG_DEIDENTIFY_KEY, written as OUT/NNNNNN.dcm (numbered in sorted path
 * order: no name or folder of the source survives). The same key gives `export
 * --deidentify` the same UID mapping, so a de-identified SEG references these copies.
 * Files that are not DICOM are skipped with a warning; the sources are never modified. */
#include "io/deidentify.h"
#include "pipeline/pipeline.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct file_list {
    char **paths;
    size_t n, cap;
} file_list;

static void usage(FILE *f)
{
    fprintf(f, "usage: c2seg deidentify <folder | file>... -o OUTDIR [-q]\n"
               "\n"
               "Copies every DICOM file under the inputs to OUTDIR/NNNNNN.dcm with the DICOM basic application\n"
               "level confidentiality profile applied (docs/reliability.md): identifying attributes removed,\n"
               "emptied or replaced by dummies, PatientID and every instance UID remapped with HMAC-SHA-256\n"
               "under the key in $C2SEG_DEIDENTIFY_KEY (required: `export --deidentify` and `predict\n"
               "--deidentify` with the same key point at these copies). Sources are not modified; files that\n"
               "are not DICOM are skipped.\n"
               "exit codes: 0 every file written, 1 some skipped, 2 usage, 3 none written.\n");
}

static int list_add(file_list *l, const char *path)
{
    if (c2_grow(&l->paths, sizeof *l->paths, l->n + 1, &l->cap) != C2_OK)
        return -1;
    return (l->paths[l->n] = strdup(path)) ? (l->n++, 0) : -1;
}

/* Regular files under path (symbolic links to files followed, to folders not: no loops). */
static int walk(file_list *l, const char *path, int depth)
{
    struct stat st, lst;
    if (stat(path, &st) != 0)
        return 0; /* dangling link: nothing to copy */
    if (S_ISREG(st.st_mode))
        return list_add(l, path);
    if (!S_ISDIR(st.st_mode) || depth > c2_limits_get()->max_depth)
        return 0;
    if (depth > 0 && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
        return 0;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *ent;
    int rc = 0;
    while (rc == 0 && (ent = readdir(d))) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        char sub[4200];
        if (c2_path_join(sub, sizeof sub, path, ent->d_name) == 0)
            rc = walk(l, sub, depth + 1);
    }
    closedir(d);
    return rc;
}

static int path_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Copies src to dst de-identified: the bytes go to a temporary beside dst, which is
 * de-identified in place and then renamed. */
static int copy_deidentified(const char *src, const char *dst, const deidentify_opts *o, c2_err *e)
{
    uint8_t *data;
    size_t n;
    int rc = c2_read_file(src, (size_t)c2_limits_get()->max_bytes, &data, &n, e);
    if (rc != C2_OK)
        return rc;
    char tmp[4300];
    c2_temp_name(tmp, sizeof tmp, dst);
    rc = c2_write_file(tmp, data, n, e);
    free(data);
    if (rc == C2_OK)
        rc = deidentify_file(tmp, o, e);
    if (rc == C2_OK)
        rc = c2_rename_into_place(tmp, dst, e);
    if (rc != C2_OK)
        remove(tmp);
    return rc;
}

int stage_deidentify(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *outdir = NULL;
    file_list l = {0};
    int n_inputs = 0, code = EXIT_OK;
    for (int i = 1; i < argc && code == EXIT_OK; i++) {
        if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) && i + 1 < argc)
            outdir = argv[++i];
        else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
            cli_set_quiet(1);
        else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("unknown option %s (see c2seg deidentify --help)", argv[i]);
            code = EXIT_USAGE;
        } else {
            n_inputs++;
            if (walk(&l, argv[i], 0) != 0) {
                cli_error("out of memory listing %s", argv[i]);
                code = EXIT_FAILED;
            }
        }
    }
    const char *key = getenv("C2SEG_DEIDENTIFY_KEY");
    if (code == EXIT_OK && (!outdir || n_inputs == 0 || !key || !key[0])) {
        cli_error(!outdir ? "no output folder given (-o OUTDIR)"
                  : n_inputs == 0 ? "no input folder or file given"
                                  : "C2SEG_DEIDENTIFY_KEY is not set: the UID mapping needs the key that "
                                    "export / predict --deidentify use");
        code = EXIT_USAGE;
    }
    c2_err e = {0};
    if (code == EXIT_OK && c2_mkdirs(outdir, &e) != C2_OK) {
        cli_error("%s", e.msg);
        code = EXIT_FAILED;
    }
    int written = 0, skipped = 0;
    if (code == EXIT_OK) {
        qsort(l.paths, l.n, sizeof *l.paths, path_cmp);
        deidentify_opts o = {key};
        for (size_t i = 0; i < l.n; i++) {
            char name[32], dst[4300];
            snprintf(name, sizeof name, "%06d.dcm", written + 1);
            c2_path_join(dst, sizeof dst, outdir, name);
            c2_err fe = {0};
            if (copy_deidentified(l.paths[i], dst, &o, &fe) == C2_OK) {
                written++;
            } else {
                cli_log("skipped %s (%s)", l.paths[i], fe.msg);
                skipped++;
            }
        }
        code = written == 0 ? EXIT_FAILED : skipped ? EXIT_PARTIAL : EXIT_OK;
        cJSON *sum = cJSON_CreateObject();
        cJSON_AddStringToObject(sum, "stage", "deidentify");
        cJSON_AddStringToObject(sum, "output", outdir);
        cJSON_AddNumberToObject(sum, "files", (double)l.n);
        cJSON_AddNumberToObject(sum, "written", written);
        cJSON_AddNumberToObject(sum, "skipped", skipped);
        cli_print_json(sum);
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.paths[i]);
    free(l.paths);
    return code;
}
