/* pipeline/run_config: the config file of `c2seg run` (docs/run-config.md).
 *
 * A small INI-like text file, one `key = value` per line; `#` or `;` starts a comment
 * line; blank lines are ignored; a value may be wrapped in double quotes to keep its
 * leading or trailing blanks. List keys (`train`, `predict`) are repeated, one path per
 * line. Unknown keys, malformed values and scalar keys given twice are errors that name
 * the file and the line. Relative paths are relative to the config file's folder.
 *
 * Every key is described once, in run_keys[] (run_config.c): its kind, the stages that
 * receive it and the stage option it becomes. `c2seg run --help` prints that table, so
 * the documentation cannot drift from the parser. */
#ifndef C2SEG_PIPELINE_RUN_CONFIG_H
#define C2SEG_PIPELINE_RUN_CONFIG_H

#include "base/base.h"

#include <stdio.h>

/* The stages that `c2seg run` chains, in order (pull: from a source PACS into
 * WORKDIR/pulled, which predict then reads). */
enum { RUN_PULL, RUN_INGEST, RUN_PRETRAIN, RUN_TRAIN, RUN_EVAL, RUN_PREDICT, RUN_REPORT, RUN_STAGE_COUNT };
extern const char *const run_stage_names[RUN_STAGE_COUNT];

enum { KEY_PATH, KEY_PATHS, KEY_TEXT, KEY_INT, KEY_NUMBER, KEY_BOOL, KEY_CHOICE };

typedef struct run_key {
    const char *name;
    int kind;              /* KEY_* */
    unsigned stages;       /* bit (1 << RUN_*) per stage that receives the value */
    const char *flag;      /* the option those stages get ("--epochs"), or NULL: used by run */
    const char *choices;   /* "a|b|c" for KEY_CHOICE, else NULL */
    const char *help;
} run_key;

/* The key table, terminated by a {NULL} entry. */
extern const run_key run_keys[];

/* One `key = value` line as parsed: the key's index in run_keys, the value (paths
 * already resolved against the config's folder) and its line number. */
typedef struct run_entry {
    int key;
    char *value;
    int line;
} run_entry;

typedef struct run_config {
    char path[4096];       /* the config file as given */
    run_entry *entries;    /* n entries in file order (owned) */
    int n;
    size_t cap;
} run_config;

/* Parses the file at path. Fails (C2_EINVAL) with "path:LINE: reason" on the first bad
 * line, when a required key (workdir; train or model) is missing, when model has nothing
 * to predict (no predict, no pull) and when a pull_* key comes without pull. */
int run_config_load(run_config *c, const char *path, c2_err *e);
void run_config_free(run_config *c);

/* The value of a scalar key, or NULL when it is not set. */
const char *run_config_get(const run_config *c, const char *key);
/* A boolean key: 1 for yes/true/on/1, 0 for no/false/off/0, dflt when unset. */
int run_config_bool(const run_config *c, const char *key, int dflt);
/* An integer key, or dflt when unset (the value was checked when loading). */
long run_config_int(const run_config *c, const char *key, long dflt);

/* Prints the key table (name, kind, stages, option, help) for --help and the docs. */
void run_keys_print(FILE *f);

#endif
