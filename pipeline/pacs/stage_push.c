/* `c2seg push DEST FILES|FOLDER...`: DICOM files (SEG, SR, images) to a PACS by C-STORE
 * or STOW-RS, with retries and a sent-ledger so that a re-run sends only what did not
 * arrive (pipeline/pacs/pacs_push.c). */
#include "pipeline/pacs/pacs.h"
#include "pipeline/pipeline.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: c2seg push DEST FILE|FOLDER... [options]\n"
               "\n"
               "Sends DICOM files (a folder: every DICOM file under it, e.g. a predict folder's SEGs and its sr/\n"
               "SRs) to DEST = dicom://AET@host:port (C-STORE; presentation contexts per SOP class with the\n"
               "file's transfer syntax and Explicit / Implicit VR Little Endian) or http(s)://host:port/dicom-web\n"
               "(STOW-RS). Each confirmed object is recorded in the ledger; a re-run sends only what is not there.\n"
               "Files are never changed or removed. Objects that did not arrive are listed with their reason.\n"
               "\n"
               "options:\n"
               "  --ledger FILE        the sent-ledger (default: c2seg-sent.tsv in the first folder given, or\n"
               "                       beside the first file)\n" PACS_ENDPOINT_HELP
               "  -q, --quiet          no progress or info lines\n"
               "\n"
               "exit codes: 0 everything arrived (or was there), 1 some objects did not arrive, 2 usage,\n"
               "3 nothing could be sent (server down, association rejected, ...).\n");
}

/* The default ledger: FOLDER/c2seg-sent.tsv, or beside a file. */
void pacs_default_ledger(char *out, size_t cap, const char *input)
{
    struct stat st;
    if (stat(input, &st) == 0 && S_ISDIR(st.st_mode)) {
        c2_path_join(out, cap, input, "c2seg-sent.tsv");
        return;
    }
    const char *base = c2_basename(input);
    if (base == input)
        snprintf(out, cap, "c2seg-sent.tsv");
    else
        snprintf(out, cap, "%.*sc2seg-sent.tsv", (int)(base - input), input);
}

int stage_push(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return EXIT_OK;
    }
    pacs_endpoint ep;
    memset(&ep, 0, sizeof ep);
    pacs_push_options po = {.retries = 3, .backoff_s = 1.0};
    const char *dest = NULL, *ledger = NULL;
    const char **inputs = calloc((size_t)argc, sizeof *inputs);
    int n_inputs = 0;
    if (!inputs)
        return EXIT_FAILED;
    c2_err e = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = pacs_stage_option(&ep, &po.retries, &po.quiet, a, v, &e);
        if (k < 0) {
            cli_error("%s", e.msg);
            free(inputs);
            return EXIT_USAGE;
        }
        if (k > 0) {
            i += k - 1;
            continue;
        }
        if (strcmp(a, "--ledger") == 0 && !v) {
            cli_error("%s needs a value (see c2seg push --help)", a);
            free(inputs);
            return EXIT_USAGE;
        }
        if (strcmp(a, "--ledger") == 0) {
            ledger = v;
            i++;
        } else if (a[0] == '-' && a[1]) {
            cli_error("unknown option %s (see c2seg push --help)", a);
            free(inputs);
            return EXIT_USAGE;
        } else if (!dest) {
            dest = a;
        } else {
            inputs[n_inputs++] = a;
        }
    }
    if (!dest || n_inputs == 0) {
        cli_error(!dest ? "no destination given (dicom://AET@host:port or http(s)://.../dicom-web)"
                        : "no file or folder to send given");
        free(inputs);
        return EXIT_USAGE;
    }
    if (pacs_endpoint_parse(dest, &ep, &e) != C2_OK) {
        cli_error("%s", e.msg);
        free(inputs);
        return EXIT_USAGE;
    }
    char ledger_buf[4200];
    if (!ledger) {
        pacs_default_ledger(ledger_buf, sizeof ledger_buf, inputs[0]);
        ledger = ledger_buf;
    }
    po.ledger = ledger;
    double t0 = now_seconds();
    char **files = NULL;
    size_t files_cap = 0;
    int n_files = 0, rc = C2_OK;
    for (int i = 0; i < n_inputs && rc == C2_OK; i++) {
        char **part = NULL;
        int np = 0;
        rc = pacs_collect_files(inputs[i], &part, &np, &e);
        if (rc != C2_OK)
            break;
        if (c2_grow(&files, sizeof *files, (size_t)(n_files + np + 1), &files_cap) != C2_OK) {
            pacs_free_files(part, np);
            rc = c2_fail(&e, C2_ENOMEM, "out of memory listing files");
            break;
        }
        memcpy(files + n_files, part, (size_t)np * sizeof *part);
        n_files += np;
        free(part);
    }
    if (rc == C2_OK && n_files == 0)
        rc = c2_fail(&e, C2_ENOTFOUND, "no DICOM file found in the inputs");
    pacs_push_result res = {0};
    if (rc == C2_OK) {
        if (!po.quiet)
            cli_log("%d DICOM files to %s (ledger %s)", n_files, pacs_endpoint_name(&ep), ledger);
        rc = pacs_push_files(&ep, (const char *const *)files, n_files, &po, &res, &e);
    }
    if (rc != C2_OK)
        cli_error("%s", e.msg);
    double seconds = now_seconds() - t0;
    cJSON *sum = cJSON_CreateObject();
    cJSON_AddStringToObject(sum, "stage", "push");
    cJSON_AddStringToObject(sum, "destination", pacs_endpoint_name(&ep));
    cJSON_AddStringToObject(sum, "ledger", ledger);
    cJSON_AddNumberToObject(sum, "files", n_files);
    cJSON_AddNumberToObject(sum, "sent", res.n_sent);
    cJSON_AddNumberToObject(sum, "already_there", res.n_skipped);
    cJSON_AddNumberToObject(sum, "failed", res.n_failed);
    cJSON_AddNumberToObject(sum, "seconds", seconds);
    cJSON_AddNumberToObject(sum, "objects_per_s", seconds > 0 ? res.n_sent / seconds : 0);
    cli_print_json(sum);
    pacs_free_files(files, n_files);
    free(inputs);
    if (rc == C2_OK)
        return EXIT_OK;
    return res.n_sent > 0 || res.n_skipped > 0 ? EXIT_PARTIAL : EXIT_FAILED;
}
