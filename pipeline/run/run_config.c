/* The parser of `c2seg run` config files and the table of their keys (the format is
 * described in run_config.h and docs/run-config.md). */
#include "pipeline/run/run_config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

const char *const run_stage_names[RUN_STAGE_COUNT] = {"pull",  "ingest",  "pretrain", "train",
                                                      "eval", "predict", "report"};

#define S(x) (1u << (x))

const run_key run_keys[] = {
    {"workdir", KEY_PATH, 0, NULL, NULL,
     "folder for every output, log and stamp of the run (required)"},
    {"train", KEY_PATHS, S(RUN_INGEST), NULL, NULL,
     "folder or file to train on (repeat the key for more); ingested into WORKDIR/cohort.h5"},
    {"model", KEY_PATH, 0, NULL, NULL,
     "an existing checkpoint to predict with instead of training one (skips ingest..eval)"},
    {"predict", KEY_PATHS, S(RUN_PREDICT), NULL, NULL,
     "folder or file to predict (repeat the key for more); outputs in WORKDIR/predict/"},
    {"pull", KEY_TEXT, S(RUN_PULL), NULL, NULL,
     "source PACS (dicom://AET@host:port or http(s)://host:port/dicom-web): the pull_* query is "
     "retrieved into WORKDIR/pulled, which predict reads too (pulled again on every run: new "
     "instances only)"},
    {"pull_patient", KEY_TEXT, S(RUN_PULL), "--patient", NULL, "pull: Patient ID"},
    {"pull_study", KEY_TEXT, S(RUN_PULL), "--study", NULL, "pull: Study Instance UID"},
    {"pull_accession", KEY_TEXT, S(RUN_PULL), "--accession", NULL, "pull: Accession Number"},
    {"pull_date", KEY_TEXT, S(RUN_PULL), "--date", NULL, "pull: Study Date YYYYMMDD[-YYYYMMDD]"},
    {"pull_modality", KEY_TEXT, S(RUN_PULL), "--modality", NULL, "pull: only series of these modalities (CT,CR,DX)"},
    {"pull_list", KEY_PATH, S(RUN_PULL), "--list", NULL, "pull: file of Study Instance UIDs / Accession Numbers"},
    {"pull_all", KEY_BOOL, S(RUN_PULL), "--all", NULL, "pull: every study of the source (no query)"},
    {"pull_aet", KEY_TEXT, S(RUN_PULL), "--aet", NULL, "pull: our calling AE title over DIMSE (default C2SEG)"},
    {"pull_move_port", KEY_INT, S(RUN_PULL), "--move-port", NULL, "pull: C-MOVE to our storage SCP on this port"},
    {"pull_tls", KEY_BOOL, S(RUN_PULL), "--tls", NULL, "pull: DIMSE over TLS"},
    {"pull_ca", KEY_PATH, S(RUN_PULL), "--ca", NULL, "pull: CA certificates (PEM) the server's must chain to (https, TLS)"},
    {"pull_cert", KEY_PATH, S(RUN_PULL), "--cert", NULL, "pull: our certificate (PEM), with pull_key"},
    {"pull_key", KEY_PATH, S(RUN_PULL), "--key", NULL, "pull: the private key (PEM) of pull_cert"},
    {"preset", KEY_CHOICE, S(RUN_INGEST) | S(RUN_PRETRAIN) | S(RUN_TRAIN), "--preset", "small|full|tiny",
     "model size: small 128x128 (default), full 224x224, tiny 32x32"},
    {"window", KEY_TEXT, S(RUN_INGEST), "--window", NULL, "CT window C,W in HU (ingest default -600,1500)"},
    {"intensity", KEY_CHOICE, S(RUN_INGEST), "--intensity", "hu|raw", "NIfTI values are HU or anything else"},
    {"captions", KEY_PATH, S(RUN_INGEST), "--captions", NULL,
     "caption table for the training images (annotation.json, *_text.xlsx, *.csv)"},
    {"masks", KEY_PATH, S(RUN_INGEST), "--masks", NULL, "folder of NIfTI masks named like the training volumes"},
    {"pretrain_epochs", KEY_INT, S(RUN_PRETRAIN), "--epochs", NULL,
     "Stage-I epochs; 0 or unset skips pre-training (it needs captioned samples)"},
    {"pretrain_batch", KEY_INT, S(RUN_PRETRAIN), "--batch", NULL, "Stage-I batch size"},
    {"objective", KEY_CHOICE, S(RUN_PRETRAIN), "--objective", "cacl|hardcl", "Stage-I objective"},
    {"fusion", KEY_CHOICE, S(RUN_TRAIN), "--fusion", "bcam_kgate|bcam|duala|vision", "text-image fusion"},
    {"epochs", KEY_INT, S(RUN_TRAIN), "--epochs", NULL, "Stage-II epochs"},
    {"batch", KEY_INT, S(RUN_TRAIN) | S(RUN_EVAL), "--batch", NULL, "Stage-II and eval batch size"},
    {"lr", KEY_NUMBER, S(RUN_TRAIN), "--lr", NULL, "Stage-II AdamW learning rate"},
    {"weight_decay", KEY_NUMBER, S(RUN_TRAIN), "--weight-decay", NULL, "Stage-II weight decay"},
    {"clip", KEY_NUMBER, S(RUN_TRAIN), "--clip", NULL, "clip the global gradient norm"},
    {"seed", KEY_INT, S(RUN_PRETRAIN) | S(RUN_TRAIN) | S(RUN_EVAL), "--seed", NULL,
     "shuffling, split and initialisation (eval gets it too: the same seeded split)"},
    {"threads", KEY_TEXT, S(RUN_PRETRAIN) | S(RUN_TRAIN) | S(RUN_EVAL), "--threads", NULL,
     "engine threads: N or auto (default: the CPUs the run may use)"},
    {"max_steps", KEY_INT, S(RUN_PRETRAIN) | S(RUN_TRAIN), "--max-steps", NULL,
     "stop each training stage after N optimizer steps (smoke runs)"},
    {"eval_split", KEY_CHOICE, S(RUN_EVAL), "--split", "valid|test|train", "the cache split eval scores"},
    {"threshold", KEY_NUMBER, S(RUN_EVAL) | S(RUN_PREDICT), "--threshold", NULL,
     "binary masks are probability > this (default 0.5; docs/predict.md, Choosing the threshold)"},
    {"predict_captions", KEY_PATH, S(RUN_PREDICT), "--captions", NULL, "caption table for the predicted images"},
    {"predict_masks", KEY_PATH, S(RUN_PREDICT), "--masks", NULL, "NIfTI ground-truth masks for Dice"},
    {"text", KEY_TEXT, S(RUN_PREDICT), "--text", NULL, "one report text for every predicted case"},
    {"convention", KEY_CHOICE, S(RUN_PREDICT), "--convention", "image|patient", "which 'left' text means"},
    {"predict_batch", KEY_INT, S(RUN_PREDICT), "--batch", NULL, "slices per forward pass in predict"},
    {"overlays", KEY_BOOL, S(RUN_PREDICT), "--overlays", NULL, "write overlay PNGs (the report embeds them)"},
    {"fractional", KEY_BOOL, S(RUN_PREDICT), "--fractional", NULL, "probabilities instead of binary masks"},
    {"text_decode", KEY_BOOL, S(RUN_PREDICT), "--text-decode", NULL, "drop components the text rules out"},
    {"uid_root", KEY_TEXT, S(RUN_PREDICT), "--uid-root", NULL, "UID root for new DICOM UIDs"},
    {"deidentify", KEY_BOOL, S(RUN_PREDICT) | S(RUN_REPORT), "--deidentify", NULL,
     "de-identified SEG / SR / JSON (key in $C2SEG_DEIDENTIFY_KEY)"},
    {"max_memory", KEY_TEXT, S(RUN_INGEST) | S(RUN_TRAIN) | S(RUN_PREDICT), "--max-memory", NULL,
     "fit this memory (512M, 2G): fewer ingest jobs, training shards, predict batch"},
    {"report", KEY_BOOL, S(RUN_REPORT), NULL, NULL,
     "run `c2seg report` on the predictions (default yes)"},
    {"store", KEY_TEXT, S(RUN_PREDICT) | S(RUN_REPORT), "--store", NULL,
     "send the SEGs and SRs to a PACS: dicom://AET@host:port or http(s)://host:port/dicom-web"},
    {"store_aet", KEY_TEXT, S(RUN_PREDICT) | S(RUN_REPORT), "--store-aet", NULL,
     "our calling AE title for store over DIMSE (default C2SEG)"},
    {"store_tls", KEY_BOOL, S(RUN_PREDICT) | S(RUN_REPORT), "--store-tls", NULL, "store over DIMSE with TLS"},
    {"store_ca", KEY_PATH, S(RUN_PREDICT) | S(RUN_REPORT), "--store-ca", NULL,
     "store: CA certificates (PEM) the server's must chain to (https, TLS)"},
    {"store_cert", KEY_PATH, S(RUN_PREDICT) | S(RUN_REPORT), "--store-cert", NULL,
     "store: our certificate (PEM), with store_key"},
    {"store_key", KEY_PATH, S(RUN_PREDICT) | S(RUN_REPORT), "--store-key", NULL, "store: the private key (PEM) of store_cert"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const char *const kind_names[] = {"path", "paths", "text", "int", "number", "bool", "choice"};

void run_keys_print(FILE *f)
{
    fprintf(f, "  %-17s %-7s %-28s %s\n", "key", "kind", "stage option", "meaning");
    for (const run_key *k = run_keys; k->name; k++) {
        char where[96] = "";
        size_t used = 0;
        for (int s = 0; s < RUN_STAGE_COUNT && k->flag; s++)
            if (k->stages & S(s))
                used += (size_t)snprintf(where + used, sizeof where - used, "%s%s", used ? "," : "", run_stage_names[s]);
        if (k->flag)
            snprintf(where + used, sizeof where - used, " %s", k->flag);
        else
            snprintf(where, sizeof where, "(run)");
        fprintf(f, "  %-17s %-7s %-28s %s%s%s%s\n", k->name, kind_names[k->kind], where, k->help,
                k->choices ? " (" : "", k->choices ? k->choices : "", k->choices ? ")" : "");
    }
}

static const run_key *key_find(const char *name, int *index)
{
    for (int i = 0; run_keys[i].name; i++)
        if (strcmp(run_keys[i].name, name) == 0) {
            *index = i;
            return &run_keys[i];
        }
    return NULL;
}

static int bool_parse(const char *v)
{
    static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (c2_strcasecmp_ascii(v, yes[i]) == 0)
            return 1;
        if (c2_strcasecmp_ascii(v, no[i]) == 0)
            return 0;
    }
    return -1;
}

static int choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        p += len + (bar ? 1 : 0);
    }
    return 0;
}

/* Checks v against the key's kind; returns NULL or the reason it is wrong. */
static const char *value_check(const run_key *k, const char *v)
{
    char *end;
    if (!*v && k->kind != KEY_TEXT)
        return "empty value";
    errno = 0;
    switch (k->kind) {
    case KEY_INT: {
        long x = strtol(v, &end, 10);
        return *end || errno || x < 0 || x > INT_MAX ? "not a non-negative integer" : NULL;
    }
    case KEY_NUMBER: {
        double x = strtod(v, &end);
        return *end || errno || !(x >= 0) ? "not a non-negative number" : NULL;
    }
    case KEY_BOOL: return bool_parse(v) < 0 ? "not yes/no (or true/false, on/off, 1/0)" : NULL;
    case KEY_CHOICE: return choice_ok(k->choices, v) ? NULL : "not one of the allowed values";
    default: return NULL;
    }
}

/* Strips blanks around s in place (and one pair of double quotes); returns the start. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s[n - 1] = 0;
        s++;
    }
    return s;
}

static int entry_add(run_config *c, int key, const char *value, int line)
{
    if (c2_grow(&c->entries, sizeof *c->entries, (size_t)c->n + 1, &c->cap))
        return C2_ENOMEM;
    char *copy = strdup(value);
    if (!copy)
        return C2_ENOMEM;
    c->entries[c->n++] = (run_entry){key, copy, line};
    return C2_OK;
}

/* dir/value for a relative path value, else value as it is. */
static int path_resolve(char *out, size_t cap, const char *dir, const char *value)
{
    int n = value[0] == '/' || !*dir ? snprintf(out, cap, "%s", value) : snprintf(out, cap, "%s/%s", dir, value);
    return n < 0 || (size_t)n >= cap ? C2_ELIMIT : C2_OK;
}

static int line_parse(run_config *c, char *text, int line, const char *dir, c2_err *e)
{
    char *s = trim(text);
    if (!*s || *s == '#' || *s == ';')
        return C2_OK;
    char *eq = strchr(s, '=');
    if (!eq)
        return c2_fail(e, C2_EINVAL, "%s:%d: expected 'key = value'", c->path, line);
    *eq = 0;
    char *name = trim(s), *value = trim(eq + 1);
    int index;
    const run_key *k = key_find(name, &index);
    if (!k)
        return c2_fail(e, C2_EINVAL, "%s:%d: unknown key '%s' (see c2seg run --help for the keys)", c->path, line,
                       name);
    const char *why = value_check(k, value);
    if (why)
        return c2_fail(e, C2_EINVAL, "%s:%d: %s = '%s': %s%s%s", c->path, line, name, value, why,
                       k->choices ? ": " : "", k->choices ? k->choices : "");
    if (k->kind != KEY_PATHS)
        for (int i = 0; i < c->n; i++)
            if (c->entries[i].key == index)
                return c2_fail(e, C2_EINVAL, "%s:%d: key '%s' is set twice (first on line %d)", c->path, line, name,
                               c->entries[i].line);
    char resolved[4096];
    if (k->kind == KEY_PATH || k->kind == KEY_PATHS) {
        if (path_resolve(resolved, sizeof resolved, dir, value) != C2_OK)
            return c2_fail(e, C2_ELIMIT, "%s:%d: the path is too long", c->path, line);
        value = resolved;
    }
    if (entry_add(c, index, value, line) != C2_OK)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", c->path);
    return C2_OK;
}

int run_config_load(run_config *c, const char *path, c2_err *e)
{
    memset(c, 0, sizeof *c);
    if (snprintf(c->path, sizeof c->path, "%s", path) >= (int)sizeof c->path)
        return c2_fail(e, C2_ELIMIT, "the config path is too long");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        dir[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return c2_fail(e, C2_ENOTFOUND, "%s: cannot open the config: %s", path, strerror(errno));
    char buf[4096];
    int line = 0, rc = C2_OK;
    while (rc == C2_OK && fgets(buf, sizeof buf, f)) {
        line++;
        size_t n = strlen(buf);
        if (n == sizeof buf - 1 && buf[n - 1] != '\n')
            rc = c2_fail(e, C2_ELIMIT, "%s:%d: line longer than %zu bytes", path, line, sizeof buf - 2);
        else
            rc = line_parse(c, buf, line, dir, e);
    }
    if (rc == C2_OK && ferror(f))
        rc = c2_fail(e, C2_EIO, "%s: read error", path);
    fclose(f);
    if (rc == C2_OK && !run_config_get(c, "workdir"))
        rc = c2_fail(e, C2_EINVAL, "%s: 'workdir' is required (the folder for the run's outputs)", path);
    if (rc == C2_OK && !run_config_get(c, "train") && !run_config_get(c, "model"))
        rc = c2_fail(e, C2_EINVAL, "%s: give 'train' (data to train on) or 'model' (a checkpoint to predict with)",
                     path);
    if (rc == C2_OK && run_config_get(c, "model") && !run_config_get(c, "predict") && !run_config_get(c, "pull"))
        rc = c2_fail(e, C2_EINVAL, "%s: 'model' is set but neither 'predict' nor 'pull' is: nothing to do", path);
    for (int i = 0; rc == C2_OK && i < c->n && !run_config_get(c, "pull"); i++)
        if (run_keys[c->entries[i].key].stages == S(RUN_PULL))
            rc = c2_fail(e, C2_EINVAL, "%s:%d: '%s' is a query for 'pull', which is not set", path, c->entries[i].line,
                         run_keys[c->entries[i].key].name);
    if (rc != C2_OK)
        run_config_free(c);
    return rc;
}

void run_config_free(run_config *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->entries[i].value);
    free(c->entries);
    c->entries = NULL;
    c->n = c->cap = 0;
}

const char *run_config_get(const run_config *c, const char *key)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(run_keys[c->entries[i].key].name, key) == 0)
            return c->entries[i].value;
    return NULL;
}

int run_config_bool(const run_config *c, const char *key, int dflt)
{
    const char *v = run_config_get(c, key);
    return v ? bool_parse(v) : dflt;
}

long run_config_int(const run_config *c, const char *key, long dflt)
{
    const char *v = run_config_get(c, key);
    return v ? strtol(v, NULL, 10) : dflt;
}
