/* `c2seg run CONFIG`: the whole chain ([pull ->] ingest -> pretrain -> train -> eval ->
 * predict -> report) for one cohort, from a config file (pipeline/run/run_config.h, docs/run-config.md).
 *
 * Each stage runs as its own `c2seg STAGE ...` process (the same binary), so a crash in
 * one stage is a failed stage, not a dead run, and every command can be copied from the
 * log and run alone. Outputs, logs and stamps live in WORKDIR:
 *   cohort.h5 (+ .report.tsv)   stage1.ckpt   model.ckpt (+ .resume.ckpt, .log.*)
 *   eval.csv   predict/ (predictions.json, masks, report.*)   status.tsv
 *   logs/STAGE.json (the stage's JSON summary)   stamps/STAGE.stamp, STAGE.started
 *
 * Up to date: a stage is skipped when its stamp holds the same key, a 64-bit FNV-1a
 * hash of its command line and of the (name, size, mtime) of every file under its
 * inputs, and its output still has the size and mtime the stamp recorded. A stage
 * that was started but never stamped (killed, crashed) with the same key is resumed
 * (--resume) when it is a training stage whose FILE.resume.ckpt exists. */
#include "pipeline/run/cohort.h"
#include "pipeline/pipeline.h"
#include "pipeline/run/run_config.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_ARGS = 512, PATH_CAP = 4200 };

typedef struct stage_plan {
    int id;                       /* RUN_* */
    int enabled;
    const char *argv[MAX_ARGS];   /* "c2seg", stage, options..., NULL (strings owned elsewhere) */
    int argc;
    const char *inputs[MAX_ARGS]; /* files / folders whose state goes into the key */
    int n_inputs;
    const char *output;           /* the file whose presence says the stage is done */
    int always;                   /* run even when up to date (pull: the source may hold more) */
    char resume[PATH_CAP];        /* training stages: OUTPUT.resume.ckpt, else "" */
    int overflow;                 /* more than MAX_ARGS arguments were asked for */
} stage_plan;

typedef struct run_paths {
    char cohort[PATH_CAP], cohort_report[PATH_CAP], stage1[PATH_CAP], model[PATH_CAP], eval[PATH_CAP];
    char predict_dir[PATH_CAP], predictions[PATH_CAP], predict_report[PATH_CAP], report[PATH_CAP];
    char pulled[PATH_CAP], pull_status[PATH_CAP];
    char logs[PATH_CAP], stamps[PATH_CAP], status[PATH_CAP];
} run_paths;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: c2seg run CONFIG [--only STAGE]... [--force] [--dry-run] [--wait] [-q]\n"
            "\n"
            "Runs [pull ->] ingest -> pretrain -> train -> eval -> predict -> report for the cohort a config\n"
            "file describes (docs/run-config.md). Stages whose outputs are up to date with their inputs and\n"
            "options are skipped (pull, when configured, asks its source every time); a killed training\n"
            "stage resumes from its FILE.resume.ckpt.\n"
            "\n"
            "options:\n"
            "  --only STAGE   run only this stage (repeatable): pull ingest pretrain train eval predict report\n"
            "  --force        run the selected stages even when they are up to date\n"
            "  --dry-run      print each stage's command and whether it is up to date; run nothing\n"
            "  --wait         another c2seg is writing WORKDIR (WORKDIR/.c2seg.lock): wait for it\n"
            "                 instead of exiting 3\n"
            "  -q, --quiet    no progress or info lines (the stages get -q too)\n"
            "\n"
            "config keys (`key = value`, one per line; # comments; list keys repeat):\n");
    run_keys_print(f);
    fprintf(f, "\n"
               "outputs in WORKDIR: pulled/, cohort.h5, stage1.ckpt, model.ckpt, eval.csv, predict/, status.tsv\n"
               "(per-study status: done / skipped / failed with the reason), logs/, stamps/.\n"
               "exit codes: 0 every stage ok, 1 partial (a stage reported failed inputs, or a later stage\n"
               "failed after earlier ones succeeded), 2 usage or config error, 3 nothing succeeded.\n");
}

/* ---- stamps ------------------------------------------------------------------------ */

static uint64_t fnv_add(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s) { return fnv_add(h, s, strlen(s) + 1); }

static int name_order(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

/* Adds the (name, kind, size, mtime) of path and, for a folder, of everything under it
 * in name order, hidden entries left out (the stages skip them; pull rewrites its status
 * table there on every run). A missing path adds a marker: the stage reports it when it runs. */
static uint64_t tree_hash(uint64_t h, const char *path, const char *name, int depth)
{
    struct stat st;
    h = fnv_str(h, name);
    if (stat(path, &st) != 0)
        return fnv_str(h, "missing");
    int64_t v[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec};
    if (!S_ISDIR(st.st_mode))
        return fnv_add(h, v, sizeof v);
    h = fnv_str(h, "dir");
    struct dirent **list;
    int n = depth < c2_limits_get()->max_depth ? scandir(path, &list, NULL, name_order) : -1;
    for (int i = 0; i < n; i++) {
        const char *d = list[i]->d_name;
        if (d[0] != '.') { /* hidden entries (., .., pull's status table, locks): no stage reads them */
            char child[PATH_CAP];
            if (c2_path_join(child, sizeof child, path, d) == C2_OK)
                h = tree_hash(h, child, d, depth + 1);
        }
        free(list[i]);
    }
    if (n >= 0)
        free(list);
    return h;
}

/* The key of a plan: the version, the command line (without --resume) and its inputs. */
static uint64_t plan_key(const stage_plan *p)
{
    uint64_t h = fnv_str(14695981039346656037ull, c2_version());
    for (int i = 0; i < p->argc; i++)
        if (strcmp(p->argv[i], "-q") != 0) /* quiet or not, the outputs are the same */
            h = fnv_str(h, p->argv[i]);
    for (int i = 0; i < p->n_inputs; i++)
        h = tree_hash(h, p->inputs[i], p->inputs[i], 0);
    return h;
}

typedef struct stamp {
    unsigned long long key;
    long long size, mtime_ns;
    int exit_code;
} stamp;

static int output_state(const char *path, long long *size, long long *mtime_ns)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    *size = (long long)st.st_size;
    *mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
    return 0;
}

static int stamp_read(const char *path, stamp *s)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = fscanf(f, "c2seg-run-stamp 1 key %llx output %lld %lld exit %d", &s->key, &s->size, &s->mtime_ns,
                   &s->exit_code);
    fclose(f);
    return n == 4 ? 0 : -1;
}

static int stamp_write(const char *path, const stamp *s, c2_err *e)
{
    char text[256];
    int n = snprintf(text, sizeof text, "c2seg-run-stamp 1\nkey %016llx\noutput %lld %lld\nexit %d\n", s->key,
                     s->size, s->mtime_ns, s->exit_code);
    return c2_write_file(path, text, (size_t)n, e);
}

/* 1 when the stage's stamp holds key and its output is as the stamp recorded it. */
static int stage_fresh(const char *stamp_path, const char *output, unsigned long long key, stamp *s)
{
    long long size, mtime;
    return stamp_read(stamp_path, s) == 0 && s->key == key && output_state(output, &size, &mtime) == 0 &&
           size == s->size && mtime == s->mtime_ns;
}

/* ---- plans ------------------------------------------------------------------------- */

static void arg_add(stage_plan *p, const char *a)
{
    if (p->argc < MAX_ARGS - 2) /* room for --resume and the NULL */
        p->argv[p->argc++] = a;
    else
        p->overflow = 1;
}

static void input_add(stage_plan *p, const char *path)
{
    if (p->n_inputs < MAX_ARGS)
        p->inputs[p->n_inputs++] = path;
    else
        p->overflow = 1;
}

/* Appends every config value addressed to the plan's stage, as its option. */
static void plan_options(stage_plan *p, const run_config *c)
{
    for (int i = 0; i < c->n; i++) {
        const run_key *k = &run_keys[c->entries[i].key];
        if (!(k->stages & (1u << p->id)) || !k->flag)
            continue;
        if (k->kind == KEY_BOOL) {
            if (run_config_bool(c, k->name, 0))
                arg_add(p, k->flag);
        } else {
            arg_add(p, k->flag);
            arg_add(p, c->entries[i].value);
        }
        if (k->kind == KEY_PATH)
            input_add(p, c->entries[i].value);
    }
}

static void plan_list(stage_plan *p, const run_config *c, const char *key)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(run_keys[c->entries[i].key].name, key) == 0) {
            arg_add(p, c->entries[i].value);
            input_add(p, c->entries[i].value);
        }
}

static int path_set(char *out, const char *dir, const char *name, c2_err *e)
{
    if (c2_path_join(out, PATH_CAP, dir, name) != C2_OK)
        return c2_fail(e, C2_ELIMIT, "%s: path too long", dir);
    return C2_OK;
}

/* A path taken as it is: run_config already resolved it against the config's folder
 * (a config in the working directory leaves it relative, which is the same place). */
static int path_copy(char *out, const char *path, c2_err *e)
{
    if (snprintf(out, PATH_CAP, "%s", path) >= PATH_CAP)
        return c2_fail(e, C2_ELIMIT, "%s: path too long", path);
    return C2_OK;
}

static int paths_make(run_paths *r, const run_config *c, c2_err *e)
{
    const char *w = run_config_get(c, "workdir"), *model = run_config_get(c, "model");
    int rc = path_set(r->cohort, w, "cohort.h5", e);
    if (!rc)
        rc = path_set(r->cohort_report, w, "cohort.h5.report.tsv", e);
    if (!rc)
        rc = path_set(r->stage1, w, "stage1.ckpt", e);
    if (!rc)
        rc = model ? path_copy(r->model, model, e) : path_set(r->model, w, "model.ckpt", e);
    if (!rc)
        rc = path_set(r->eval, w, "eval.csv", e);
    if (!rc)
        rc = path_set(r->predict_dir, w, "predict", e);
    if (!rc)
        rc = path_set(r->predictions, r->predict_dir, "predictions.json", e);
    if (!rc)
        rc = path_set(r->predict_report, r->predict_dir, "inputs.h5.report.tsv", e);
    if (!rc)
        rc = path_set(r->report, r->predict_dir, "report.json", e);
    if (!rc)
        rc = path_set(r->pulled, w, "pulled", e);
    if (!rc)
        rc = path_set(r->pull_status, r->pulled, ".c2seg-pull-status.tsv", e);
    if (!rc)
        rc = path_set(r->logs, w, "logs", e);
    if (!rc)
        rc = path_set(r->stamps, w, "stamps", e);
    if (!rc)
        rc = path_set(r->status, w, "status.tsv", e);
    return rc;
}

/* Builds the six plans; enabled says which the config asks for. */
static void plans_make(stage_plan *plans, const run_config *c, const run_paths *r, int quiet)
{
    int training = run_config_get(c, "train") && !run_config_get(c, "model");
    const char *source = run_config_get(c, "pull");
    int predicting = run_config_get(c, "predict") != NULL || source;
    for (int s = 0; s < RUN_STAGE_COUNT; s++) {
        stage_plan *p = &plans[s];
        memset(p, 0, sizeof *p);
        p->id = s;
        arg_add(p, "c2seg");
        arg_add(p, run_stage_names[s]);
    }
    stage_plan *p = &plans[RUN_PULL];
    p->enabled = source != NULL;
    p->always = 1;
    if (source)
        arg_add(p, source);
    arg_add(p, "-o"), arg_add(p, r->pulled);
    p->output = r->pull_status;

    p = &plans[RUN_INGEST];
    p->enabled = training;
    plan_list(p, c, "train");
    arg_add(p, "-o"), arg_add(p, r->cohort);
    p->output = r->cohort;

    p = &plans[RUN_PRETRAIN];
    p->enabled = training && run_config_int(c, "pretrain_epochs", 0) > 0;
    arg_add(p, r->cohort), arg_add(p, "-o"), arg_add(p, r->stage1), input_add(p, r->cohort);
    p->output = r->stage1;

    p = &plans[RUN_TRAIN];
    p->enabled = training;
    arg_add(p, r->cohort), arg_add(p, "-o"), arg_add(p, r->model), input_add(p, r->cohort);
    if (plans[RUN_PRETRAIN].enabled)
        arg_add(p, "--init"), arg_add(p, r->stage1), input_add(p, r->stage1);
    p->output = r->model;

    p = &plans[RUN_EVAL];
    p->enabled = training;
    arg_add(p, r->model), arg_add(p, r->cohort), arg_add(p, "-o"), arg_add(p, r->eval);
    input_add(p, r->model), input_add(p, r->cohort);
    p->output = r->eval;

    p = &plans[RUN_PREDICT];
    p->enabled = predicting;
    arg_add(p, r->model), input_add(p, r->model);
    plan_list(p, c, "predict");
    if (source)
        arg_add(p, r->pulled), input_add(p, r->pulled);
    arg_add(p, "-o"), arg_add(p, r->predict_dir);
    p->output = r->predictions;

    p = &plans[RUN_REPORT];
    p->enabled = predicting && run_config_bool(c, "report", 1);
    arg_add(p, r->predict_dir), input_add(p, r->predictions);
    p->output = r->report;

    for (int s = 0; s < RUN_STAGE_COUNT; s++) {
        plan_options(&plans[s], c);
        if (s == RUN_PRETRAIN || s == RUN_TRAIN)
            snprintf(plans[s].resume, sizeof plans[s].resume, "%s.resume.ckpt", plans[s].output);
        if (quiet)
            arg_add(&plans[s], "-q");
        plans[s].argv[plans[s].argc] = NULL;
    }
}

/* ---- running ----------------------------------------------------------------------- */

/* Runs the plan as a child `c2seg` with stdout (its JSON summary) into summary_path.
 * Returns its exit code, 128 + the signal that killed it, or -1 when it did not start. */
static int plan_exec(const stage_plan *p, const char *summary_path)
{
    char self[PATH_CAP], tmp[PATH_CAP + 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = 0;
    c2_temp_name(tmp, sizeof tmp, summary_path);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
            _exit(126);
        close(fd);
        execv(self, (char *const *)p->argv);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    c2_err e = {0};
    if (c2_rename_into_place(tmp, summary_path, &e) != C2_OK)
        cli_error("%s", e.msg);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void command_print(FILE *f, const stage_plan *p)
{
    for (int i = 0; i < p->argc; i++)
        fprintf(f, strpbrk(p->argv[i], " \t'\"$") ? "%s'%s'" : "%s%s", i ? " " : "  ", p->argv[i]);
    fputc('\n', f);
}

static cJSON *summary_read(const char *path)
{
    uint8_t *data;
    size_t n;
    c2_err e = {0};
    if (c2_read_file(path, (size_t)64 << 20, &data, &n, &e) != C2_OK)
        return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)data, c2_json_bytes((char *)data, n));   /* \udcXX: a byte */
    free(data);
    return j;
}

typedef struct run_flags {
    unsigned only;    /* bit per stage from --only, 0 = all */
    int force, dry_run, quiet, wait;
    const char *config;
} run_flags;

/* --only STAGE (repeatable): one more bit of the stages to run. */
static int only_add(void *out, const char *value, char *why, size_t cap)
{
    for (int s = 0; s < RUN_STAGE_COUNT; s++)
        if (strcmp(value, run_stage_names[s]) == 0) {
            *(unsigned *)out |= 1u << s;
            return 0;
        }
    snprintf(why, cap, "not a stage of run (pull ingest pretrain train eval predict report)");
    return -1;
}

/* Returns EXIT_OK, -1 (help printed) or EXIT_USAGE. */
static int args_parse(int argc, char **argv, run_flags *f)
{
    memset(f, 0, sizeof *f);
    int npos = 0;
    const cli_option opts[] = {CLI_OPT_CALL("only", &f->only, "STAGE", only_add), CLI_OPT_FLAG("force", &f->force),
                               CLI_OPT_FLAG("dry-run", &f->dry_run),
                               CLI_OPT_FLAG("wait", &f->wait), CLI_OPT_END};
    int rc = cli_parse(argc, argv, opts, &f->config, 1, &npos, usage);
    if (rc)
        return rc;
    f->quiet = cli_get_quiet();
    return cli_require(f->config, "the config file");
}

/* Runs (or, up to date, skips) one stage and adds its entry to the summary array.
 * Returns its exit code (the stamped one when skipped). */
static int stage_step(stage_plan *p, const run_paths *r, const run_flags *f, cJSON *arr)
{
    const char *name = run_stage_names[p->id];
    char stamp_path[PATH_CAP + 32], started_path[PATH_CAP + 32], summary_path[PATH_CAP + 32];
    snprintf(stamp_path, sizeof stamp_path, "%s/%s.stamp", r->stamps, name);
    snprintf(started_path, sizeof started_path, "%s/%s.started", r->stamps, name);
    snprintf(summary_path, sizeof summary_path, "%s/%s.json", r->logs, name);
    unsigned long long key = plan_key(p);
    stamp s = {0};
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, j);
    cJSON_AddStringToObject(j, "name", name);
    int fresh = !p->always && stage_fresh(stamp_path, p->output, key, &s);
    if (fresh && !f->force) {
        cli_log("%s: up to date (%s), skipped", name, p->output);
        cJSON_AddStringToObject(j, "action", "up to date");
        cJSON_AddNumberToObject(j, "exit", s.exit_code);
        cJSON *sum = summary_read(summary_path);
        if (sum)
            cJSON_AddItemToObject(j, "summary", sum);
        return s.exit_code;
    }
    stamp started = {0};
    int resume = p->resume[0] && stamp_read(started_path, &started) == 0 && started.key == key &&
                 access(p->resume, R_OK) == 0 && !f->force;
    if (resume) /* after the key: resuming does not change what the stage produces */
        p->argv[p->argc++] = "--resume";
    if (f->dry_run) {
        cJSON_AddStringToObject(j, "action", resume ? "would resume" : "would run");
        fprintf(stderr, "%s (%s):\n", name, resume ? "would resume" : "would run");
        command_print(stderr, p);
        return EXIT_OK;
    }
    c2_err e = {0};
    started.key = key;
    if (stamp_write(started_path, &started, &e) != C2_OK) {
        cli_error("%s", e.msg);
        cJSON_AddStringToObject(j, "action", "failed");
        return EXIT_FAILED;
    }
    remove(stamp_path);
    cli_log("%s: %s", name, resume ? "resuming (killed run found)" : "running");
    command_print(stderr, p);
    double t0 = now_seconds();
    int code = plan_exec(p, summary_path);
    cJSON_AddStringToObject(j, "action", code == 0 || code == 1 ? "ran" : "failed");
    cJSON_AddNumberToObject(j, "exit", code);
    cJSON_AddNumberToObject(j, "seconds", now_seconds() - t0);
    cJSON *sum = summary_read(summary_path);
    if (sum)
        cJSON_AddItemToObject(j, "summary", sum);
    if (code < 0) {
        cli_error("%s: could not start c2seg: %s", name, strerror(errno));
        return EXIT_FAILED;
    }
    if (code != 0 && code != 1) {
        cli_error("%s failed (exit %d%s); the stages after it were not run", name, code,
                  code > 128 ? ", killed by a signal" : "");
        return code;
    }
    s = (stamp){key, 0, 0, code};
    if (output_state(p->output, &s.size, &s.mtime_ns) != 0) {
        cli_error("%s exited %d but did not write %s", name, code, p->output);
        return EXIT_FAILED;
    }
    if (stamp_write(stamp_path, &s, &e) != C2_OK)
        cli_error("%s", e.msg);
    remove(started_path);
    return code;
}

/* Fills the status table from the stages' outputs, writes it and prints it. */
static void status_collect(const stage_plan *plans, const run_paths *r, cJSON *out, int quiet)
{
    cohort_table t = {0};
    c2_err e = {0};
    int rc = C2_OK;
    if (plans[RUN_INGEST].enabled)
        rc = cohort_add_report_tsv(&t, "ingest", r->cohort_report, &e);
    if (rc == C2_OK && plans[RUN_PREDICT].enabled) {
        rc = cohort_add_report_tsv(&t, "predict", r->predict_report, &e);
        if (rc == C2_OK && access(r->predictions, R_OK) == 0)
            rc = cohort_add_predictions(&t, r->predictions, &e);
    }
    if (rc == C2_OK)
        rc = cohort_write_tsv(&t, r->status, &e);
    if (rc != C2_OK)
        cli_error("status table: %s", e.msg);
    if (!quiet)
        cohort_print(&t, stderr, 40);
    cJSON *s = cJSON_AddObjectToObject(out, "status");
    for (int i = 0; i < COHORT_STATUS_COUNT; i++)
        cJSON_AddNumberToObject(s, cohort_status_names[i], t.count[i]);
    cJSON_AddStringToObject(out, "status_tsv", r->status);
    cohort_free(&t);
}

/* The folders a run made itself (they did not exist when it started). */
typedef struct made_dirs {
    int workdir, logs, stamps;
} made_dirs;

/* A failed run: removes the folders it made that are left empty (rmdir leaves any other),
 * releasing the workdir lock (which removes WORKDIR/.c2seg.lock) before WORKDIR. */
static void made_remove(const made_dirs *m, const run_paths *r, const char *workdir, c2_lock *lock)
{
    if (m->logs)
        rmdir(r->logs);
    if (m->stamps)
        rmdir(r->stamps);
    c2_lock_release(lock);
    if (m->workdir)
        rmdir(workdir);
}

int stage_run(int argc, char **argv)
{
    run_flags f;
    int code = args_parse(argc, argv, &f);
    if (code != EXIT_OK)
        return code < 0 ? EXIT_OK : code;
    cli_set_quiet(f.quiet);
    run_config cfg;
    run_paths r;
    c2_err e = {0};
    if (run_config_load(&cfg, f.config, &e) != C2_OK) {
        cli_error("%s", e.msg);
        return EXIT_USAGE;
    }
    const char *workdir = run_config_get(&cfg, "workdir");
    if (paths_make(&r, &cfg, &e) != C2_OK) {
        cli_error("%s", e.msg);
        run_config_free(&cfg);
        return EXIT_FAILED;
    }
    /* what this run makes goes again when it fails (made_remove); one writer per workdir
     * (base/lock.c), locked before logs/ and stamps/ are made; a dry run writes nothing */
    struct stat wst;
    made_dirs made = {.workdir = stat(workdir, &wst) != 0, .logs = stat(r.logs, &wst) != 0,
                      .stamps = stat(r.stamps, &wst) != 0};
    c2_lock lock = {.fd = -1};
    char lock_path[PATH_CAP + 16];
    snprintf(lock_path, sizeof lock_path, "%s/.c2seg.lock", workdir);
    int rc = C2_OK;
    if (!f.dry_run) {
        rc = c2_mkdirs(workdir, &e);
        if (rc == C2_OK)
            rc = c2_lock_acquire(&lock, lock_path, "run", f.wait, &e);
        if (rc == C2_OK)
            rc = c2_mkdirs(r.logs, &e);
        if (rc == C2_OK)
            rc = c2_mkdirs(r.stamps, &e);
    }
    if (rc != C2_OK) {
        cli_error("%s", e.msg);
        if (rc != C2_EBUSY) /* busy: the folders are the holder's */
            made_remove(&made, &r, workdir, &lock);
        run_config_free(&cfg);
        return EXIT_FAILED;
    }
    static stage_plan plans[RUN_STAGE_COUNT];
    plans_make(plans, &cfg, &r, f.quiet);
    int n_selected = 0;
    for (int s = 0; s < RUN_STAGE_COUNT; s++) {
        if (plans[s].overflow) {
            cli_error("%s: too many inputs for %s (at most %d): list their parent folder instead", f.config,
                      run_stage_names[s], MAX_ARGS / 2);
            if (!f.dry_run)
                made_remove(&made, &r, workdir, &lock);
            run_config_free(&cfg);
            return EXIT_USAGE;
        }
        if (f.only && !(f.only & (1u << s)))
            plans[s].enabled = 0;
        n_selected += plans[s].enabled;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "stage", "run");
    cJSON_AddStringToObject(out, "config", f.config);
    cJSON_AddStringToObject(out, "workdir", run_config_get(&cfg, "workdir"));
    cJSON *arr = cJSON_AddArrayToObject(out, "stages");
    progress pr;
    progress_start(&pr, "stages", n_selected);
    int n_ok = 0, n_partial = 0, n_failed = 0;
    for (int s = 0; s < RUN_STAGE_COUNT && !n_failed; s++) {
        if (!plans[s].enabled)
            continue;
        int c = stage_step(&plans[s], &r, &f, arr);
        n_ok += c == 0;
        n_partial += c == 1;
        n_failed += c != 0 && c != 1;
        progress_step(&pr, 1, run_stage_names[s]);
    }
    progress_finish(&pr);
    code = n_failed ? (n_ok + n_partial ? EXIT_PARTIAL : EXIT_FAILED) : n_partial ? EXIT_PARTIAL : EXIT_OK;
    if (!f.dry_run && code == EXIT_FAILED && made.workdir) {
        /* nothing ran (e.g. a full disk refused the first stamp): no status table, no
         * summary, and the folders this run made go again (rmdir leaves any non-empty one) */
        char logs_of_failed[PATH_CAP + 64];
        for (int st = 0; st < RUN_STAGE_COUNT; st++) {
            snprintf(logs_of_failed, sizeof logs_of_failed, "%s/%s.json", r.logs, run_stage_names[st]);
            remove(logs_of_failed);
            snprintf(logs_of_failed, sizeof logs_of_failed, "%s/%s.started", r.stamps, run_stage_names[st]);
            remove(logs_of_failed);
        }
        made_remove(&made, &r, workdir, &lock);
        cJSON_Delete(out);
        run_config_free(&cfg);
        return code;
    }
    if (!f.dry_run)
        status_collect(plans, &r, out, f.quiet);
    cJSON_AddNumberToObject(out, "exit", code);
    cli_print_json(out);
    if (code == EXIT_FAILED && !f.dry_run)
        made_remove(&made, &r, workdir, &lock);
    c2_lock_release(&lock);
    run_config_free(&cfg);
    return code;
}
