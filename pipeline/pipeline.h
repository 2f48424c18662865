/* pipeline: the `c2seg` CLI. Each stage is `int stage_NAME(int argc, char **argv)`
 * (argv[0] is the stage name) returning an exit code:
 *   0 ok, 1 partial (some inputs failed, the rest is done), 2 usage, 3 failed.
 * Stages log to stderr (cli_log), print one JSON summary object to stdout
 * (cli_print_json), and show progress with a bar on a terminal or one line per
 * step otherwise (progress_*). */
#ifndef C2SEG_PIPELINE_H
#define C2SEG_PIPELINE_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_PARTIAL = 1, EXIT_USAGE = 2, EXIT_FAILED = 3 };

typedef struct stage_def {
    const char *name;
    const char *summary;          /* one line for `c2seg --help` */
    int (*run)(int argc, char **argv);
    int engine;                   /* 1: may run the engine's OpenMP loops, so main() sets the
                                     threads' spin policy first (model/threads.h: it runs the
                                     program again); 0: never does (one process start saved) */
} stage_def;

/* The stage table (pipeline/cli/stages.c), terminated by a {NULL} entry. */
extern const stage_def c2seg_stages[];
int c2seg_main(int argc, char **argv);
/* 1 when the stage named name (argv[1]) may run the engine's OpenMP loops: its stage_def's
 * engine flag; 0 for NULL or a name that is no stage (--version, --help, a typo: none of
 * them runs the engine, so none pays threads_prepare's second process start). */
int c2seg_stage_runs_engine(const char *name);

/* Logging to stderr: "c2seg <stage>: message". Quiet mode drops info lines. */
void cli_set_stage(const char *stage);
void cli_set_quiet(int quiet);
int cli_get_quiet(void);
void cli_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a cJSON object to stdout as one line and deletes it. */
struct cJSON;
void cli_print_json(struct cJSON *obj);
/* 1 when argv[i] is -h or --help anywhere in argv. */
int cli_wants_help(int argc, char **argv);
/* The stage being run ("train"), for messages. */
const char *cli_stage(void);

/* The argument parser of every stage (pipeline/cli/args.c). A stage describes its
 * options in a table ending with {NULL}; names match exactly (no prefix matching),
 * values come as `--name VALUE` or `--name=VALUE` and are checked by kind. -h / --help
 * (prints help to stdout) and -q / --quiet are understood everywhere. */
enum { CLI_FLAG, CLI_TEXT, CLI_CHOICE, CLI_INT, CLI_LONG, CLI_NUM, CLI_CALL };
typedef struct cli_option {
    const char *name;      /* long name without the dashes */
    char letter;           /* short form (-o), or 0 */
    int kind;              /* CLI_* */
    void *out;             /* FLAG: int (set to 1); TEXT, CHOICE: const char *; INT: int; LONG: long long;
                            * NUM: double; CALL: handed to call */
    const char *value;     /* the value's name in messages ("N", "FILE") */
    double lo, hi;         /* INT / LONG / NUM: the allowed range, inclusive, when lo < hi */
    const char *choices;   /* CHOICE: "a|b|c" */
    int (*call)(void *out, const char *value, char *why, size_t cap); /* CALL: 0, or why it is wrong */
    int *seen;             /* set to 1 when the option is given (NULL: not recorded) */
} cli_option;
/* NUM ranges bounded below only: hi = CLI_NUM_MAX; "positive": lo = CLI_NUM_TINY. */
#define CLI_NUM_MAX 1e300
#define CLI_NUM_TINY 1e-300
/* Table rows (designated initialisers; unset fields are zero). */
#define CLI_OPT_FLAG(n, dst) {.name = (n), .kind = CLI_FLAG, .out = (dst)}
#define CLI_OPT_TEXT(n, letter_, dst, val) {.name = (n), .letter = (letter_), .kind = CLI_TEXT, .out = (dst), .value = (val)}
#define CLI_OPT_CHOICE(n, dst, choices_) {.name = (n), .kind = CLI_CHOICE, .out = (dst), .value = "NAME", .choices = (choices_)}
#define CLI_OPT_INT(n, dst, val, lo_, hi_) {.name = (n), .kind = CLI_INT, .out = (dst), .value = (val), .lo = (lo_), .hi = (hi_)}
#define CLI_OPT_LONG(n, dst, val, lo_, hi_) {.name = (n), .kind = CLI_LONG, .out = (dst), .value = (val), .lo = (lo_), .hi = (hi_)}
#define CLI_OPT_NUM(n, dst, val, lo_, hi_) {.name = (n), .kind = CLI_NUM, .out = (dst), .value = (val), .lo = (lo_), .hi = (hi_)}
#define CLI_OPT_CALL(n, dst, val, fn) {.name = (n), .kind = CLI_CALL, .out = (dst), .value = (val), .call = (fn)}
#define CLI_OPT_END {.name = NULL}
/* Parses argv[1..] (argv[0] is the stage) into the table's destinations and the
 * positional arguments into pos[0..maxpos) (*npos of them). Returns 0; -1 after
 * printing help (exit 0); or EXIT_USAGE after one line in the common style:
 *   c2seg STAGE: error: --epoch: unknown option (did you mean --epochs?); see c2seg STAGE --help */
int cli_parse(int argc, char **argv, const cli_option *opts, const char **pos, int maxpos, int *npos,
              void (*help)(FILE *f));
/* "c2seg STAGE: error: MESSAGE; see c2seg STAGE --help"; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A CLI_CALL for probabilities strictly between 0 and 1 into a double (--threshold). */
int cli_probability(void *out, const char *value, char *why, size_t cap);
/* Edit distance of two names (for "did you mean" suggestions). */
int cli_name_distance(const char *a, const char *b);
/* --precision fp32|bf16|auto of predict and eval (docs/engine.md, "bf16"): `value` (NULL when
 * the option was not given: $C2SEG_PRECISION, else fp32) resolved against this CPU and made the
 * precision of the inference workspaces created after (precision_set_inference); bf16 asked
 * for on a CPU without it runs fp32, with an info line. EXIT_USAGE for a bad
 * $C2SEG_PRECISION, else 0. */
#define CLI_PRECISION_HELP "fp32|bf16|auto"
int cli_precision_apply(const char *value);
/* EXIT_USAGE with "WHAT is required" when value is NULL or empty, else 0. */
int cli_require(const char *value, const char *what);

/* Memory planning for --max-memory SIZE (pipeline/cli/memory.c). */
/* A CLI_CALL for a size in bytes into an int64_t: 1073741824, 512M, 2G, 1.5GiB (powers of 1024). */
int cli_memory_size(void *out, const char *value, char *why, size_t cap);
/* This process's resident memory now (/proc/self/statm), 0 when unknown. */
int64_t mem_resident_bytes(void);
/* This process's resident anonymous memory now (RssAnon of /proc/self/status), 0 when unknown:
 * what a process forked now shares with it, and may come to hold alone as either writes. */
int64_t mem_anonymous_bytes(void);
/* "512.0 MiB", "1.5 GiB". */
void mem_format(char *out, size_t cap, int64_t bytes);
typedef struct mem_plan {
    int64_t limit;             /* --max-memory in bytes; 0 = no limit */
    int64_t held;              /* what the process holds already (mem_resident_bytes + known buffers) */
    const char *what_held;     /* for the message: "the process with its model" */
    const char *piece;         /* for the message: "slice per forward pass" */
} mem_plan;
/* The largest n in [1, want] with held + cost(user, n) <= limit (want when there is no
 * limit); cost must grow with n. 0 with e set (C2_ELIMIT, one sentence naming the limit,
 * what is held and what one piece needs) when not even n = 1 fits. */
int mem_plan_count(const mem_plan *p, int want, int64_t (*cost)(const void *user, int n), const void *user,
                   c2_err *e);

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
