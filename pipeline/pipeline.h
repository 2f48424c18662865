/* pipeline: the `c2seg` CLI. Each stage is `int stage_NAME(int argc, char **argv)`
 * (argv[0] is the stage name) returning an exit code:
 *   0 ok, 1 partial (some inputs failed, the rest is done), 2 usage, 3 failed.
 * Stages log to stderr (cli_log), print one JSON summary object to stdout
 * (cli_print_json), and show progress with a bar on a terminal or one line per
 * step otherwise (progress_*). */
#ifndef C2SEG_PIPELINE_H
#define C2SEG_PIPELINE_H

#include "base/base.h"

#include <stdint.h>

enum { EXIT_OK = 0, EXIT_PARTIAL = 1, EXIT_USAGE = 2, EXIT_FAILED = 3 };

typedef struct stage_def {
    const char *name;
    const char *summary;          /* one line for `c2seg --help` */
    int (*run)(int argc, char **argv);
} stage_def;

/* The stage table (pipeline/cli/stages.c), terminated by a {NULL} entry. */
extern const stage_def c2seg_stages[];
int c2seg_main(int argc, char **argv);

/* Logging to stderr: "c2seg <stage>: message". Quiet mode drops info lines. */
void cli_set_stage(const char *stage);
void cli_set_quiet(int quiet);
void cli_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a cJSON object to stdout as one line and deletes it. */
struct cJSON;
void cli_print_json(struct cJSON *obj);
/* 1 when argv[i] is -h or --help anywhere in argv. */
int cli_wants_help(int argc, char **argv);

/* Progress: a bar with rate and ETA on a terminal, else one line every `every`
 * items (and at the end). */
typedef struct progress {
    const char *what;
    int64_t total, done, every, last_line;
    int64_t base;         /* items already done before this run (a resumed run): not in the rate */
    double t0, last_draw;
    int tty;
} progress;
void progress_start(progress *p, const char *what, int64_t total);
void progress_step(progress *p, int64_t n, const char *note);
void progress_finish(progress *p);

/* Stages (one file each: pipeline/stage_NAME.c). */
int stage_ingest(int argc, char **argv);
int stage_pretrain(int argc, char **argv);
int stage_train(int argc, char **argv);
int stage_eval(int argc, char **argv);
int stage_caption(int argc, char **argv);
int stage_sr_text(int argc, char **argv);
int stage_export(int argc, char **argv);
int stage_deidentify(int argc, char **argv);
int stage_import(int argc, char **argv);
int stage_export_onnx(int argc, char **argv);
int stage_parity(int argc, char **argv);
int stage_predict(int argc, char **argv);
int stage_report(int argc, char **argv);
int stage_run(int argc, char **argv);
int stage_pull(int argc, char **argv);
int stage_push(int argc, char **argv);

#endif
