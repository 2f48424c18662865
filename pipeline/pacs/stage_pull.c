/* `c2seg pull SOURCE -o FOLDER [query]`: a cohort from a PACS. The studies matching the
 * query (C-FIND or QIDO-RS), their series (filtered by modality) and instances are listed
 * first, so the progress has a total; then each series is retrieved (C-GET on one
 * association, or WADO-RS) into FOLDER/<patient>/<study>/<series>/<SOP instance>.dcm,
 * every component made by c2_safe_name. Instances whose file is already there are not
 * asked for again (a series with some missing is retrieved instance by instance), so an
 * interrupted pull resumes (with --move-port, C-MOVE to a storage SCP of ours instead of
 * C-GET). A transport failure is retried with a doubling back-off; a
 * study that still fails is marked in the status table (stderr and FOLDER/.c2seg-pull-status.tsv,
 * hidden so that ingest and predict, which skip hidden entries, can read FOLDER as it is)
 * and, when the server cannot be reached at all, the remaining studies are left for a re-run. */
#include "pipeline/pacs/pacs.h"
#include "pipeline/pipeline.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: c2seg pull SOURCE -o FOLDER [query] [options]\n"
               "\n"
               "Retrieves the studies matching the query from SOURCE = dicom://AET@host:port (C-FIND, then\n"
               "C-GET, or C-MOVE with --move-port: our AE title must be known to the server) or\n"
               "http(s)://host:port/dicom-web (QIDO-RS, WADO-RS) into FOLDER/PATIENT/STUDY/SERIES/SOPINSTANCE.dcm\n"
               "(names made safe). Instances already there are skipped, so a re-run completes an interrupted\n"
               "pull. A status table per study goes to\n"
               "stderr and FOLDER/.c2seg-pull-status.tsv (hidden: c2seg ingest / predict read FOLDER as it is).\n"
               "\n"
               "query (combined with AND; at least one, or --all):\n"
               "  --patient ID         Patient ID\n"
               "  --study UID          Study Instance UID\n"
               "  --accession A        Accession Number\n"
               "  --date RANGE         Study Date YYYYMMDD or YYYYMMDD-YYYYMMDD (either end may be left open)\n"
               "  --modality LIST      only series of these modalities, e.g. CT,CR,DX\n"
               "  --list FILE          one study per line: a Study Instance UID, else an Accession Number\n"
               "                       ('#' comments and blank lines ignored)\n"
               "  --all                every study of the server\n"
               "options:\n"
               "  -o, --output FOLDER  where the files go (required)\n" PACS_ENDPOINT_HELP
               "  -q, --quiet          no progress, info lines or table\n"
               "\n"
               "exit codes: 0 every study complete, 1 some studies failed or are incomplete, 2 usage,\n"
               "3 nothing retrieved (no match, server down, association rejected, ...).\n");
}

typedef struct pull_series {
    pacs_record rec;
    pacs_record *inst;
    int n_inst;
    int n_missing;
} pull_series;

typedef struct pull_study {
    pacs_record rec;
    pull_series *series;
    int n_series;
    int n_inst, n_present, n_new;
    char dir[4096];
    char status[600];
    int done;
} pull_study;

typedef struct pull_ctx {
    const pacs_endpoint *ep;
    int retries;
    int quiet;
    progress prog;
    pull_study *study; /* the one being retrieved */
    pull_series *series;
} pull_ctx;


static int find_retry(pull_ctx *c, pacs_level level, const pacs_query *q, pacs_record **out, int *n, c2_err *e)
{
    double wait = 1.0;
    for (int attempt = 0;; attempt++) {
        int rc = pacs_find(c->ep, level, q, out, n, e);
        if (rc != C2_EIO || attempt >= c->retries)
            return rc;
        if (!c->quiet)
            cli_log("%s; retrying in %.0f s (attempt %d of %d)", e->msg, wait, attempt + 2, c->retries + 1);
        pacs_sleep(wait);
        wait *= 2;
    }
}

static void file_path(char *out, size_t cap, const pull_study *st, const char *series_uid, const char *sop_uid)
{
    char se[80], sop[80], tmp[4200];
    c2_safe_name(se, sizeof se, series_uid);
    c2_safe_name(sop, sizeof sop, sop_uid);
    c2_path_join(tmp, sizeof tmp, st->dir, se);
    snprintf(out, cap, "%s/%s.dcm", tmp, sop);
}

static int exists(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 && S_ISREG(s.st_mode) && s.st_size > 0;
}

static int sink_place(void *user, const pacs_record *r, char *path, size_t cap)
{
    pull_ctx *c = user;
    if (strcmp(r->series_uid, c->series->rec.series_uid) != 0)
        return 0;
    file_path(path, cap, c->study, r->series_uid, r->sop_uid);
    if (exists(path))
        return 0;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    c2_err e = {0};
    return c2_mkdirs(dir, &e) == C2_OK ? 1 : 0;
}

static void sink_stored(void *user, const pacs_record *r, const char *path)
{
    (void)path;
    pull_ctx *c = user;
    c->study->n_new++;
    progress_step(&c->prog, 1, r->sop_uid);
}

/* Retrieves what is missing of one series, with retries. */
static int series_pull(pull_ctx *c, pull_study *st, pull_series *se, c2_err *e)
{
    if (se->n_missing == 0)
        return C2_OK;
    const char **sops = NULL;
    int n_sops = 0;
    if (se->n_missing < se->n_inst) {
        sops = malloc((size_t)se->n_missing * sizeof *sops);
        if (!sops)
            return c2_fail(e, C2_ENOMEM, "out of memory");
    }
    double wait = 1.0;
    int rc = C2_OK;
    for (int attempt = 0;; attempt++) {
        /* what is still missing (a broken attempt may have stored some) */
        n_sops = 0;
        int missing = 0;
        for (int i = 0; i < se->n_inst; i++) {
            char path[4300];
            file_path(path, sizeof path, st, se->rec.series_uid, se->inst[i].sop_uid);
            if (!exists(path)) {
                missing++;
                if (sops)
                    sops[n_sops++] = se->inst[i].sop_uid;
            }
        }
        if (missing == 0)
            break;
        int got = 0;
        c->study = st;
        c->series = se;
        pacs_sink sink = {.user = c, .place = sink_place, .stored = sink_stored};
        rc = pacs_retrieve(c->ep, st->rec.study_uid, se->rec.series_uid, sops ? (const char *const *)sops : NULL,
                           n_sops, &sink, &got, e);
        if (rc != C2_EIO || attempt >= c->retries)
            break;
        if (!c->quiet)
            cli_log("%s; retrying in %.0f s (attempt %d of %d)", e->msg, wait, attempt + 2, c->retries + 1);
        pacs_sleep(wait);
        wait *= 2;
    }
    free(sops);
    return rc;
}

static void studies_free(pull_study *s, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < s[i].n_series; k++)
            free(s[i].series[k].inst);
        free(s[i].series);
    }
    free(s);
}

static int modality_wanted(const char *list, const char *m)
{
    if (!list || !list[0])
        return 1;
    size_t ml = strlen(m);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == ml && n > 0 && strncasecmp(p, m, n) == 0)
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

/* The study-level queries: one from the options, or one per line of --list. */
static int studies_find(pull_ctx *c, const pacs_query *base, const char *list_path, pull_study **out, int *n_out,
                        c2_err *e)
{
    *out = NULL;
    *n_out = 0;
    uint8_t *text = NULL;
    size_t tn = 0;
    int rc = C2_OK;
    if (list_path) {
        rc = c2_read_file(list_path, (size_t)16 << 20, &text, &tn, e);
        if (rc != C2_OK)
            return rc;
    }
    pull_study *all = NULL;
    int n = 0;
    size_t cap = 0;
    char *line = list_path ? (char *)text : NULL;
    int lines = 0;
    for (int once = 0; rc == C2_OK; once++) {
        pacs_query q = *base;
        char key[128];
        if (list_path) {
            if (!line || line >= (char *)text + tn)
                break;
            char *nl = memchr(line, '\n', (size_t)((char *)text + tn - line));
            char *next = nl ? nl + 1 : (char *)text + tn;
            size_t len = (size_t)((nl ? nl : (char *)text + tn) - line);
            lines++;
            pacs_copy_text(key, sizeof key, line, len < sizeof key ? len : sizeof key - 1);
            line = next;
            if (!key[0] || key[0] == '#')
                continue;
            if (pacs_is_uid(key))
                q.study_uid = key;
            else
                q.accession = key;
        } else if (once) {
            break;
        }
        pacs_record *r = NULL;
        int nr = 0;
        rc = find_retry(c, PACS_STUDY, &q, &r, &nr, e);
        if (rc == C2_OK && list_path && nr == 0)
            c2_warn("%s line %d: no study matches '%s'", list_path, lines, key);
        for (int i = 0; rc == C2_OK && i < nr; i++) {
            int dup = 0;
            for (int k = 0; k < n && !dup; k++)
                dup = strcmp(all[k].rec.study_uid, r[i].study_uid) == 0;
            if (dup)
                continue;
            if (n >= PACS_MAX_RESULTS) {
                rc = c2_fail(e, C2_ELIMIT, "more than %d studies match", PACS_MAX_RESULTS);
                break;
            }
            if (c2_grow(&all, sizeof *all, (size_t)n + 1, &cap) != C2_OK) {
                rc = c2_fail(e, C2_ENOMEM, "out of memory for %d studies", n + 1);
                break;
            }
            memset(&all[n], 0, sizeof all[n]);
            all[n++].rec = r[i];
        }
        free(r);
    }
    free(text);
    if (rc != C2_OK) {
        studies_free(all, n);
        return rc;
    }
    *out = all;
    *n_out = n;
    return C2_OK;
}

/* Lists the series and instances of a study (series filtered by modality). */
static int study_list(pull_ctx *c, pull_study *st, const char *modalities, const char *outdir, c2_err *e)
{
    pacs_query q = {.study_uid = st->rec.study_uid};
    pacs_record *se = NULL;
    int nse = 0;
    int rc = find_retry(c, PACS_SERIES, &q, &se, &nse, e);
    if (rc != C2_OK)
        return rc;
    char pat[80], stu[80], tmp[4200];
    c2_safe_name(pat, sizeof pat, st->rec.patient_id[0] ? st->rec.patient_id : "no-patient-id");
    c2_safe_name(stu, sizeof stu, st->rec.study_uid);
    c2_path_join(tmp, sizeof tmp, outdir, pat);
    c2_path_join(st->dir, sizeof st->dir, tmp, stu);
    st->series = calloc((size_t)(nse ? nse : 1), sizeof *st->series);
    if (!st->series) {
        free(se);
        return c2_fail(e, C2_ENOMEM, "out of memory for %d series", nse);
    }
    for (int i = 0; i < nse && rc == C2_OK; i++) {
        if (!modality_wanted(modalities, se[i].modality))
            continue;
        pull_series *s = &st->series[st->n_series];
        s->rec = se[i];
        pacs_query qi = {.study_uid = st->rec.study_uid, .series_uid = se[i].series_uid};
        rc = find_retry(c, PACS_IMAGE, &qi, &s->inst, &s->n_inst, e);
        if (rc != C2_OK)
            break;
        st->n_series++;
        for (int k = 0; k < s->n_inst; k++) {
            char path[4300];
            file_path(path, sizeof path, st, s->rec.series_uid, s->inst[k].sop_uid);
            if (exists(path))
                st->n_present++;
            else
                s->n_missing++;
        }
        st->n_inst += s->n_inst;
    }
    free(se);
    return rc;
}

static void table_print(FILE *f, const pull_study *s, int n, int tsv)
{
    if (tsv)
        fprintf(f, "patient\tstudy\tdate\tseries\tinstances\talready_there\tretrieved\tstatus\n");
    else
        fprintf(f, "%-16s %-44s %-8s %6s %9s %7s %9s  %s\n", "patient", "study", "date", "series", "instances",
                "present", "retrieved", "status");
    for (int i = 0; i < n; i++) {
        char pat[80], uid[260], date[40], status[2400];   /* the PACS's answers, written as they can be shown */
        c2_safe_name(pat, sizeof pat, s[i].rec.patient_id);
        c2_printable(uid, sizeof uid, s[i].rec.study_uid);
        c2_printable(date, sizeof date, s[i].rec.study_date);
        c2_printable(status, sizeof status, s[i].status);
        if (tsv)
            fprintf(f, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", pat, uid, date, s[i].n_series,
                    s[i].n_inst, s[i].n_present, s[i].n_new, status);
        else
            fprintf(f, "%-16.16s %-44.44s %-8.8s %6d %9d %7d %9d  %s\n", pat, uid, date,
                    s[i].n_series, s[i].n_inst, s[i].n_present, s[i].n_new, status);
    }
}

int stage_pull(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return EXIT_OK;
    }
    pacs_endpoint ep;
    memset(&ep, 0, sizeof ep);
    pacs_query q = {0};
    const char *source = NULL, *outdir = NULL, *modalities = NULL, *list = NULL;
    int retries = 3, quiet = 0, all = 0;
    c2_err e = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = pacs_stage_option(&ep, &retries, &quiet, a, v, &e);
        if (k < 0) {
            cli_error("%s", e.msg);
            return EXIT_USAGE;
        }
        if (k > 0) {
            i += k - 1;
            continue;
        }
        const char **slot = strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ? &outdir
                            : strcmp(a, "--patient") == 0                       ? &q.patient_id
                            : strcmp(a, "--study") == 0                         ? &q.study_uid
                            : strcmp(a, "--accession") == 0                     ? &q.accession
                            : strcmp(a, "--date") == 0                          ? &q.date
                            : strcmp(a, "--modality") == 0                      ? &modalities
                            : strcmp(a, "--list") == 0                          ? &list
                                                                                : NULL;
        if (slot && !v) {
            cli_error("%s needs a value (see c2seg pull --help)", a);
            return EXIT_USAGE;
        }
        if (slot) {
            *slot = v;
            i++;
        } else if (strcmp(a, "--all") == 0) {
            all = 1;
        } else if (a[0] == '-' && a[1]) {
            cli_error("unknown option %s (see c2seg pull --help)", a);
            return EXIT_USAGE;
        } else if (!source) {
            source = a;
        } else {
            cli_error("unexpected argument '%s' (one SOURCE; see c2seg pull --help)", a);
            return EXIT_USAGE;
        }
    }
    if (!source || !outdir) {
        cli_error(!source ? "no source given (dicom://AET@host:port or http(s)://.../dicom-web)"
                          : "no output folder given (-o FOLDER)");
        return EXIT_USAGE;
    }
    if (!all && !list && !q.patient_id && !q.study_uid && !q.accession && !q.date) {
        cli_error("no query given (--patient, --study, --accession, --date, --list, or --all for every study)");
        return EXIT_USAGE;
    }
    if (pacs_endpoint_parse(source, &ep, &e) != C2_OK) {
        cli_error("%s", e.msg);
        return EXIT_USAGE;
    }
    for (const char *m = modalities; m && *m; m++)
        if (!(*m == ',' || (*m >= 'A' && *m <= 'Z') || (*m >= 'a' && *m <= 'z') || (*m >= '0' && *m <= '9'))) {
            cli_error("invalid --modality '%s' (a comma-separated list such as CT,CR,DX)", modalities);
            return EXIT_USAGE;
        }
    double t0 = now_seconds();
    pull_ctx c = {.ep = &ep, .retries = retries, .quiet = quiet};
    pull_study *st = NULL;
    int n_st = 0;
    int rc = c2_mkdirs(outdir, &e);
    if (rc == C2_OK)
        rc = studies_find(&c, &q, list, &st, &n_st, &e);
    if (rc != C2_OK) {
        cli_error("%s", e.msg);
        return rc == C2_EINVAL ? EXIT_USAGE : EXIT_FAILED;
    }
    if (n_st == 0) {
        cli_error("no study on %s matches the query", pacs_endpoint_name(&ep));
        return EXIT_FAILED;
    }
    /* list every study first: the progress total, and what is already there */
    int64_t total = 0, present = 0;
    int stopped = 0;
    c2_err stop_e = {0};
    for (int i = 0; i < n_st; i++) {
        c2_err le = {0};
        if (stopped) {
            snprintf(st[i].status, sizeof st[i].status, "not attempted (server unreachable)");
            continue;
        }
        if (study_list(&c, &st[i], modalities, outdir, &le) != C2_OK) {
            snprintf(st[i].status, sizeof st[i].status, "failed: %s", le.msg);
            st[i].done = -1;
            if (le.code == C2_EIO) {
                stopped = 1;
                stop_e = le;
            }
            continue;
        }
        total += st[i].n_inst - st[i].n_present;
        present += st[i].n_present;
    }
    if (!quiet)
        cli_log("%d studies on %s: %lld instances to retrieve, %lld already in %s", n_st, pacs_endpoint_name(&ep),
                (long long)total, (long long)present, outdir);
    progress_start(&c.prog, "instances", total);
    int n_ok = 0, n_failed = 0, n_skipped = 0;
    int64_t n_new = 0;
    for (int i = 0; i < n_st; i++) {
        pull_study *s = &st[i];
        if (s->status[0]) {
            n_failed++;
            continue;
        }
        if (stopped) {
            snprintf(s->status, sizeof s->status, "not attempted (server unreachable)");
            n_failed++;
            continue;
        }
        if (s->n_series == 0) {
            snprintf(s->status, sizeof s->status, "skipped: no series of the modalities asked");
            n_skipped++;
            continue;
        }
        c2_err se = {0};
        int src = C2_OK;
        for (int k = 0; k < s->n_series && src == C2_OK; k++)
            src = series_pull(&c, s, &s->series[k], &se);
        n_new += s->n_new;
        /* what is on disk now, by the instance lists */
        int have = 0;
        for (int k = 0; k < s->n_series; k++)
            for (int j = 0; j < s->series[k].n_inst; j++) {
                char path[4300];
                file_path(path, sizeof path, s, s->series[k].rec.series_uid, s->series[k].inst[j].sop_uid);
                have += exists(path);
            }
        if (src != C2_OK) {
            snprintf(s->status, sizeof s->status, "failed (%d of %d instances here): %s", have, s->n_inst, se.msg);
            n_failed++;
            if (se.code == C2_EIO) {
                stopped = 1;
                stop_e = se;
            }
        } else if (have < s->n_inst) {
            snprintf(s->status, sizeof s->status, "incomplete: %d of %d instances arrived", have, s->n_inst);
            n_failed++;
        } else {
            snprintf(s->status, sizeof s->status, "ok");
            n_ok++;
        }
    }
    progress_finish(&c.prog);
    pacs_shutdown();
    for (int i = 0; i < n_st; i++) /* one error line per failed study (an unreachable server: one for all) */
        if (strcmp(st[i].status, "ok") != 0 && strncmp(st[i].status, "not attempted", 13) != 0 &&
            strncmp(st[i].status, "skipped", 7) != 0 &&
            !(stopped && strstr(st[i].status, stop_e.msg)))
            cli_error("study %s: %s", st[i].rec.study_uid, st[i].status);
    if (stopped)
        cli_error("%s; %d of %d studies are complete, a re-run retrieves the rest", stop_e.msg, n_ok, n_st);
    if (!quiet)
        table_print(stderr, st, n_st, 0);
    char tsv[4200];
    c2_path_join(tsv, sizeof tsv, outdir, ".c2seg-pull-status.tsv");
    c2_atomic a;
    if (c2_atomic_open(&a, tsv, &e) == C2_OK) {
        table_print(a.f, st, n_st, 1);
        if (c2_atomic_commit(&a, &e) != C2_OK)
            cli_error("%s", e.msg);
    } else {
        cli_error("%s", e.msg);
    }
    double seconds = now_seconds() - t0;
    cJSON *sum = cJSON_CreateObject();
    cJSON_AddStringToObject(sum, "stage", "pull");
    cJSON_AddStringToObject(sum, "source", pacs_endpoint_name(&ep));
    cJSON_AddStringToObject(sum, "output", outdir);
    cJSON_AddNumberToObject(sum, "studies", n_st);
    cJSON_AddNumberToObject(sum, "studies_ok", n_ok);
    cJSON_AddNumberToObject(sum, "studies_failed", n_failed);
    cJSON_AddNumberToObject(sum, "studies_skipped", n_skipped);
    cJSON_AddNumberToObject(sum, "instances_retrieved", (double)n_new);
    cJSON_AddNumberToObject(sum, "instances_already_there", (double)present);
    cJSON_AddNumberToObject(sum, "seconds", seconds);
    cJSON_AddNumberToObject(sum, "instances_per_s", seconds > 0 ? (double)n_new / seconds : 0);
    cJSON *arr = cJSON_AddArrayToObject(sum, "study_status");
    for (int i = 0; i < n_st; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "study", st[i].rec.study_uid);
        cJSON_AddNumberToObject(o, "instances", st[i].n_inst);
        cJSON_AddNumberToObject(o, "retrieved", st[i].n_new);
        cJSON_AddStringToObject(o, "status", st[i].status);
        cJSON_AddItemToArray(arr, o);
    }
    cli_print_json(sum);
    studies_free(st, n_st);
    if (n_ok == 0 && n_failed == 0) {
        cli_error("no study on %s has a series of the modalities %s", pacs_endpoint_name(&ep),
                  modalities ? modalities : "(any)");
        return EXIT_FAILED;
    }
    if (n_failed == 0)
        return EXIT_OK;
    return n_ok > 0 ? EXIT_PARTIAL : EXIT_FAILED;
}
