/* The one argument parser of every stage: a table of options (pipeline.h, cli_option)
 * matched exactly (no prefixes: --epoch is not --epochs), values as `--name VALUE` or
 * `--name=VALUE`, checked by kind (integer / number ranges, choices) before the stage
 * sees them, and one error style for every mistake:
 *   c2seg STAGE: error: --epoch: unknown option (did you mean --epochs?); see c2seg STAGE --help */
#include "pipeline/pipeline.h"
#include "model/precision.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_error("%s; see c2seg %s --help", msg, cli_stage());
    return EXIT_USAGE;
}

/* Edit distance of two short names (insert, delete, substitute: 1 each). */
int cli_name_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    int row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* "learning-rate" -> "lr": the first letter of each hyphenated word. */
static void initials(char *out, size_t cap, const char *name)
{
    size_t j = 0;
    for (size_t i = 0; name[i] && j + 1 < cap; i++)
        if (i == 0 || name[i - 1] == '-')
            out[j++] = name[i];
    out[j] = 0;
}

/* The option a mistyped name most likely meant: one it is a prefix of (or that is a
 * prefix of it), one whose name is its initials (--learning-rate: --lr), else the
 * nearest within 2 edits; NULL when none is close. */
static const cli_option *suggest(const cli_option *opts, const char *name)
{
    const cli_option *best = NULL;
    int best_d = 3;
    size_t n = strlen(name);
    char ini[64];
    initials(ini, sizeof ini, name);
    for (const cli_option *o = opts; o->name; o++) {
        size_t m = strlen(o->name);
        int d = (n >= 2 && strncmp(o->name, name, n < m ? n : m) == 0) ? 1
                : (strchr(name, '-') && strcmp(ini, o->name) == 0) ? 1
                                                                    : cli_name_distance(name, o->name);
        if (d < best_d) {
            best_d = d;
            best = o;
        }
    }
    return best;
}

static void display_name(char *out, size_t cap, const cli_option *o, int as_letter)
{
    if (as_letter)
        snprintf(out, cap, "-%c", o->letter);
    else
        snprintf(out, cap, "--%s", o->name);
}

static int choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *c = choices; *c;) {
        size_t k = strcspn(c, "|");
        if (k == n && strncmp(c, v, n) == 0)
            return 1;
        c += k + (c[k] == '|');
    }
    return 0;
}

/* Stores value into o's destination; returns 0 or EXIT_USAGE after the error line. */
static int store(const cli_option *o, const char *shown, const char *v)
{
    char *end;
    switch (o->kind) {
    case CLI_TEXT:
        *(const char **)o->out = v;
        break;
    case CLI_CHOICE:
        if (!choice_ok(o->choices, v))
            return cli_usage_error("%s: '%s' is not one of %s", shown, v, o->choices);
        *(const char **)o->out = v;
        break;
    case CLI_INT:
    case CLI_LONG: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        double lo = o->lo < o->hi ? o->lo : o->kind == CLI_INT ? -2147483648.0 : -9.2e18;
        double hi = o->lo < o->hi ? o->hi : o->kind == CLI_INT ? 2147483647.0 : 9.2e18;
        if (!*v || *end || errno || x < lo || x > hi)
            return o->lo < o->hi ? cli_usage_error("%s: '%s' is not an integer in %.0f..%.0f", shown, v, o->lo, o->hi)
                                 : cli_usage_error("%s: '%s' is not an integer", shown, v);
        if (o->kind == CLI_INT)
            *(int *)o->out = (int)x;
        else
            *(long long *)o->out = x;
        break;
    }
    case CLI_NUM: {
        errno = 0;
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x) || (o->lo < o->hi && (x < o->lo || x > o->hi))) {
            if (!(o->lo < o->hi))
                return cli_usage_error("%s: '%s' is not a number", shown, v);
            if (o->hi >= CLI_NUM_MAX) /* bounded below only */
                return o->lo > 0 && o->lo <= CLI_NUM_TINY ? cli_usage_error("%s: '%s' is not a positive number", shown, v)
                                                          : cli_usage_error("%s: '%s' is not a number >= %g", shown, v, o->lo);
            return cli_usage_error("%s: '%s' is not a number in [%g, %g]", shown, v, o->lo, o->hi);
        }
        *(double *)o->out = x;
        break;
    }
    case CLI_CALL: {
        char why[256] = "";
        if (o->call(o->out, v, why, sizeof why) != 0)
            return cli_usage_error("%s: '%s': %s", shown, v, why[0] ? why : "invalid value");
        break;
    }
    default:
        break;
    }
    return 0;
}

int cli_parse(int argc, char **argv, const cli_option *opts, const char **pos, int maxpos, int *npos,
              void (*help)(FILE *f))
{
    *npos = 0;
    int options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == 0) {
            if (*npos == maxpos)
                return maxpos ? cli_usage_error("unexpected argument '%s' (at most %d)", a, maxpos)
                              : cli_usage_error("unexpected argument '%s' (this stage takes none)", a);
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help(stdout);
            return -1;
        }
        if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli_set_quiet(1);
            continue;
        }
        /* --name, --name=value or -x */
        char name[128];
        const char *eq = NULL;
        const cli_option *o = NULL;
        int as_letter = a[1] != '-';
        if (as_letter) {
            if (a[2] == 0)
                for (const cli_option *p = opts; p->name && !o; p++)
                    o = p->letter == a[1] ? p : NULL;
            snprintf(name, sizeof name, "%s", a + 1);
        } else {
            eq = strchr(a + 2, '=');
            size_t n = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), a + 2);
            for (const cli_option *p = opts; p->name && !o; p++)
                o = strcmp(p->name, name) == 0 ? p : NULL;
        }
        if (!o) {
            const cli_option *s = as_letter ? NULL : suggest(opts, name);
            if (as_letter && strlen(a) > 2) /* "-epochs": a long option with one dash? */
                for (const cli_option *p = opts; p->name && !s; p++)
                    s = strcmp(p->name, a + 1) == 0 ? p : NULL;
            if (s)
                return cli_usage_error("%.*s: unknown option (did you mean --%s?)", eq ? (int)(eq - a) : (int)strlen(a),
                                       a, s->name);
            return cli_usage_error("%.*s: unknown option", eq ? (int)(eq - a) : (int)strlen(a), a);
        }
        char shown[140];
        display_name(shown, sizeof shown, o, as_letter);
        if (o->seen)
            *o->seen = 1;
        if (o->kind == CLI_FLAG) {
            if (eq)
                return cli_usage_error("%s takes no value", shown);
            *(int *)o->out = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!v)
            return cli_usage_error("%s needs a value (%s)", shown, o->value ? o->value : "VALUE");
        int rc = store(o, shown, v);
        if (rc)
            return rc;
    }
    return 0;
}

int cli_probability(void *out, const char *value, char *why, size_t cap)
{
    char *end;
    errno = 0;
    double p = strtod(value, &end);
    if (!*value || *end || errno || !(p > 0 && p < 1)) {
        snprintf(why, cap, "not a probability strictly between 0 and 1");
        return -1;
    }
    *(double *)out = p;
    return 0;
}

int cli_require(const char *value, const char *what)
{
    if (value && value[0])
        return 0;
    return cli_usage_error("%s is required", what);
}

int cli_precision_apply(const char *value)
{
    int want = value ? precision_parse(value) : precision_from_env();
    if (want < 0)
        return cli_usage_error("C2SEG_PRECISION: '%s' is not fp32, bf16 or auto", getenv("C2SEG_PRECISION"));
    int got = precision_resolve(want);
    if (want == PRECISION_BF16 && got != PRECISION_BF16)
        cli_log("bf16 was asked for, but this CPU (or OS) lacks AVX512_BF16: inference runs at fp32");
    else if (got == PRECISION_BF16)
        cli_log("inference precision bf16 (bf16 products, fp32 sums)");
    precision_set_inference(got);
    return 0;
}
