/* prose_parse: English report prose -> lesion attributes with evidence spans.
 *
 * 1. Tokens: [a-z0-9] runs (letters and digits split, "5mm" = 5 mm, "2.5" one number) with
 *    their byte spans; '%' '<' '>' are tokens; '?' glued to a word is "query" (uncertain);
 *    . ! ? and new lines end sentences; ; : end clauses; , ( ) end chunks.
 * 2. Lexicon classes (prose_lexicon.c, typo tolerant), then phrases: "ground glass (opacity)",
 *    "crazy paving", "air space (disease)", "no longer" (resolved), "no (interval) change"
 *    (stable), "cannot be excluded" / "not excluded" / "rule out" (uncertain), "not seen /
 *    identified / ..." (negation after the finding), "central line", "well aerated".
 * 3. Clause words ("but", "however", "while", "except", "otherwise", "which", ...) split
 *    clauses.
 * 4. Predominance: "more pronounced on the right", "right-sided predominance", "R > L",
 *    "right greater than left": bilateral with right predominance; the side word is not a
 *    location. "predominantly in the lower lobes", "basal predominance": level predominance
 *    (the anatomy stays a location).
 * 5. Anatomy phrases: runs of side / level / lobe / zone words ("right upper and middle
 *    lobes", "RUL and left lower lobe", "lower lobes bilaterally", "posterior basal segment of
 *    the left lower lobe", "both lung bases") become zone masks, or "whole side" when no level
 *    is named. Without a side: plural levels mean both sides ("lower lobes", "bases",
 *    "apices"), "middle lobe" is right, otherwise the phrase has no side.
 * 6. Findings: lung lesions (GGO, consolidation, crazy paving, infiltrate, opacity, nodule,
 *    pneumonia, ...; generic "abnormality", "involved") and non-lesions (effusion,
 *    cardiomegaly, devices, atelectasis, ...). Consecutive finding words are one finding;
 *    "X and Y" lists share their anatomy.
 * 7. Each anatomy phrase attaches to one finding of its clause: after a preposition ("in the
 *    right lower lobe") the nearest finding before it, otherwise the nearest after it
 *    ("right lower lobe consolidation"), else before; a phrase in a clause without a finding
 *    goes to the nearest lesion of the sentence, unless its clause clears it.
 * 8. Negation (NegEx): pre-triggers ("no", "without", "negative for", "free of", "absence
 *    of") reach forward to the end of the clause, across commas only into bare lists
 *    ("no consolidation, effusion or pneumothorax"); post-triggers ("not seen", "absent",
 *    "excluded") reach back within the comma chunk, across "and" only inside a list;
 *    "clear" / "normal" / "unremarkable" clear the findings and regions of their chunk.
 * 9. Uncertainty and time apply to the findings of their chunk, or, when their chunk has no
 *    finding, to the findings of their clause. Time: resolved (not current) > improving >
 *    new / worse (first written) > stable > "previously" alone (not current).
 * 10. Current lesions = lesion findings neither negated nor resolved. Their zones are the
 *    union of their anatomy; "whole side" fills a side only when no current lesion names a
 *    level on that side (so an impression's "both lungs" does not widen the findings).
 *    Count = the sum of counts stated before current lesions ("two nodules", "a focus of",
 *    "multiple" = 2+, "several" = 3+, "a few" = 2-4). Severity words before non-lesions
 *    ("moderate cardiomegaly") are not the lesions' severity. */
#include "dicom-sr/prose_parse.h"
#include "dicom-sr/prose_lexicon.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKS 2048
#define TOK_CAP 32
#define MAX_RUNS 256
#define MAX_FINDS 256

typedef struct tok {
    char w[TOK_CAP];
    int start, end;
    lex_class cls;
    int val, sub;
    int typo;
    double num;        /* numbers */
    int absorbed;      /* consumed by a phrase: no longer a word of its own */
    int sent, clause, chunk;
    int run;           /* anatomy run index, -1 */
    int find;          /* finding index, -1 */
    int neg_trigger;   /* this trigger negated something */
    int predlev;       /* level word of a predominance phrase: 1 after the trigger, 2 before it */
} tok;

typedef struct run {
    int t0, t1;            /* tokens [t0, t1] */
    uint8_t zones;         /* 6-bit mask */
    uint8_t whole;         /* sides named without a level: 1 left 2 right */
    int negated;           /* the region is cleared */
    int find;              /* attached finding, -1 */
    int predom;            /* from a predominance side word ("more on the right"): both sides */
    int cleared;           /* negated by "clear" / "normal" / "not seen" itself (not via a finding) */
    int clear_t;           /* that trigger's token */
    uint8_t orphan;        /* levels named without a side ("in the lower lobe"): bits 1 2 4 */
    uint8_t implied;       /* levels whose sides (both) came from a plural ("in the lower lobes") */
    int excluded;          /* "except the right middle lobe": its zones leave the sentence's places */
    int predlev;           /* a predominance level phrase: 1 "predominantly in the lower lobes",
                              2 "lower zone predominant" (an adjective: its sides, whole) */
    int heading;           /* "Lungs:" a heading naming no side or level: no lesion's place */
    int surgery;           /* "right lower lobectomy": an operation's place (negated, no negation evidence) */
    int exception;         /* "no consolidation other than in the LLL": where the negated finding is */
    int lungs_only;        /* "(the) lungs" with no side word: both lungs, or just the subject */
} run;

typedef struct finding {
    int t0, t1;
    int lesion;        /* 1 lung lesion, 0 non-lesion */
    int kind;          /* PF_* or PN_* */
    int plural;
    int negated, resolved;
    int hypothetical;  /* named as what a test should exclude: not a finding of this study */
    int uncertain;
    prose_temporal temporal;
    int count_lo, count_hi, count_t;   /* count_t: token of the count word, -1 */
    int neg_t, unc_t, tmp_t;           /* evidence tokens, -1 */
} finding;

typedef struct parse_state {
    const char *text;
    tok t[MAX_TOKS];
    int n;
    run r[MAX_RUNS];
    int nr;
    finding f[MAX_FINDS];
    int nf;
    int study_normal;      /* "normal study", "unremarkable chest radiograph" */
    prose_attrs *a;
} parse_state;

/* ---------------------------------------------------------------- tokens */

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }

enum { BRK_NONE, BRK_CHUNK, BRK_CLAUSE, BRK_SENT };

/* A period after word w (lower case) that abbreviates it ("Rt. upper zone", "approx. 30 %"):
 * not a sentence end when the text goes on with a lower-case word or a digit. */
static int abbreviation(const char *w, const unsigned char *rest)
{
    static const char *const ABBR[] = {"rt", "lt", "bilat", "r", "l", "approx", "vs", "incl", "e", "g", "i", "cf",
                                       "resp", "ca", "seg", "pt", "consol", "opac", NULL};
    static const char *const LOBES[] = {"RUL", "RML", "RLL", "LUL", "LLL", NULL};
    while (*rest == ' ')
        rest++;
    /* "consol. RLL": a finding's abbreviation before a lobe's */
    for (int k = 0; LOBES[k] && (strcmp(w, "consol") == 0 || strcmp(w, "opac") == 0); k++)
        if (strncmp((const char *)rest, LOBES[k], 3) == 0 && !is_alpha(rest[3]))
            return 1;
    if (!((*rest >= 'a' && *rest <= 'z') || is_digit(*rest)))
        return 0;
    for (int k = 0; ABBR[k]; k++)
        if (strcmp(w, ABBR[k]) == 0)
            return 1;
    return 0;
}

static void tokenize(parse_state *s)
{
    const unsigned char *p = (const unsigned char *)s->text;
    int sent = 0, clause = 0, chunk = 0, pending = BRK_NONE;
    s->n = 0;
    for (int i = 0; p[i] && s->n < MAX_TOKS;) {
        int c = p[i];
        int brk = BRK_NONE;
        /* "? atypical infection": a query before a lower-case word, not a sentence end */
        int query = c == '?' && (is_alpha(p[i + 1]) || (p[i + 1] == ' ' && p[i + 2] >= 'a' && p[i + 2] <= 'z'));
        /* UTF-8 signs read as their ASCII words: U+00D7 '×' = x, U+2265 '≥' = >, U+2264 '≤' = < */
        int sign = c == 0xC3 && p[i + 1] == 0x97                       ? 'x'
                   : c == 0xE2 && p[i + 1] == 0x89 && p[i + 2] == 0xA5 ? '>'
                   : c == 0xE2 && p[i + 1] == 0x89 && p[i + 2] == 0xA4 ? '<'
                                                                       : 0;
        if (is_alpha(c) || is_digit(c) || c == '%' || c == '<' || c == '>' || query || c == '&' || sign) {
            tok *k = &s->t[s->n];
            memset(k, 0, sizeof *k);
            k->start = i;
            int len = 0;
            if (is_alpha(c)) {
                for (;;) {
                    /* an apostrophe inside a word, ASCII or U+2019 ("can't", "today’s"), is dropped */
                    int apos = p[i] == '\'' ? 1 : p[i] == 0xE2 && p[i + 1] == 0x80 && p[i + 2] == 0x99 ? 3 : 0;
                    if (apos && is_alpha(p[i + apos]) && len > 0) {
                        i += apos;
                        continue;
                    }
                    if (!is_alpha(p[i]))
                        break;
                    if (len + 1 < TOK_CAP)
                        k->w[len++] = (char)(p[i] | 0x20);
                    i++;
                }
            } else if (is_digit(c)) {
                while (is_digit(p[i]) || (p[i] == '.' && is_digit(p[i + 1]) && len > 0)) {
                    if (len + 1 < TOK_CAP)
                        k->w[len++] = (char)p[i];
                    i++;
                }
                k->num = atof(k->w);
            } else if (sign) {
                k->w[len++] = (char)sign;
                i += sign == 'x' ? 2 : 3;
            } else {
                k->w[len++] = (char)c;
                i++;
            }
            k->w[len] = 0;
            k->end = i;
            if (pending != BRK_NONE) {
                if (pending >= BRK_SENT && s->n > 0)
                    sent++;
                if (pending >= BRK_CLAUSE && s->n > 0)
                    clause++;
                if (s->n > 0)
                    chunk++;
                pending = BRK_NONE;
            }
            k->sent = sent;
            k->clause = clause;
            k->chunk = chunk;
            k->run = k->find = -1;
            s->n++;
            continue;
        }
        if (c == '.' && s->n > 0 && s->t[s->n - 1].end == i && abbreviation(s->t[s->n - 1].w, p + i + 1))
            brk = BRK_NONE;   /* "Rt. upper zone", "approx. 30 %" */
        else if (c == '.' || c == '!' || c == '?' || c == '\n')
            brk = BRK_SENT;
        else if (c == ';' || c == ':')
            brk = BRK_CLAUSE;
        else if (c == ',' || c == '(' || c == ')' || c == '[' || c == ']')
            brk = BRK_CHUNK;
        if (brk > pending)
            pending = brk;
        i++;
    }
}

/* "subsolid", "nonsolid", "semisolid": a prefix before a modifier of the lexicon is a modifier
 * (counts reach over it: "a 9 mm subsolid nodule" = 1). Only words the lexicon lacks. */
static void prefixed_modifier(tok *k)
{
    static const char *const PREFIX[] = {"sub", "non", "semi", NULL};
    for (int q = 0; PREFIX[q]; q++) {
        size_t n = strlen(PREFIX[q]);
        lex_word lw;
        int typo = 0;
        if (strncmp(k->w, PREFIX[q], n) == 0 && strlen(k->w + n) >= 4 &&
            prose_lexicon_lookup(k->w + n, &lw, &typo) && !typo && lw.cls == LX_MOD) {
            k->cls = LX_MOD;
            k->val = lw.val;
            k->sub = lw.sub;
            return;
        }
    }
}

static void classify(parse_state *s)
{
    /* "hasn't", "isn't": the verb's "not" (the apostrophe is dropped by the tokenizer) */
    static const char *const NOT_FORMS[] = {"hasnt", "havent", "hadnt", "isnt", "arent", "wasnt", "werent",
                                            "doesnt", "didnt", "dont", NULL};
    for (int i = 0; i < s->n; i++) {
        tok *k = &s->t[i];
        size_t len = strlen(k->w);
        for (int q = 0; len >= 4 && k->w[len - 1] == 't' && k->w[len - 2] == 'n' && NOT_FORMS[q]; q++)
            if (strcmp(k->w, NOT_FORMS[q]) == 0)
                strcpy(k->w, "not");
        if (is_digit((unsigned char)k->w[0])) {
            k->cls = LX_NUMBER;
            k->val = k->num > 1e6 ? 1000000 : (int)k->num;
            continue;
        }
        int typo = 0;
        lex_word lw;
        if (prose_lexicon_lookup(k->w, &lw, &typo)) {
            k->cls = lw.cls;
            k->val = lw.val;
            k->sub = lw.sub;
            k->typo = typo;
            if (k->cls == LX_NUMBER)
                k->num = k->val;   /* "twenty percent" */
        } else {
            prefixed_modifier(k);
        }
        /* "right more then left": "then" after a comparative is "than" */
        if (strcmp(k->w, "then") == 0 && i > 0 &&
            (s->t[i - 1].cls == LX_MORE || strcmp(s->t[i - 1].w, "less") == 0 || strcmp(s->t[i - 1].w, "more") == 0)) {
            strcpy(k->w, "than");
            k->cls = LX_TO;
            k->val = 1;
        }
    }
}

/* ---------------------------------------------------------------- helpers */

static inline int W(const parse_state *s, int i, const char *w)
{
    return i >= 0 && i < s->n && s->t[i].w[0] == w[0] && strcmp(s->t[i].w, w) == 0;
}

/* Next / previous non-absorbed token of the same sentence, or -1. */
static int nx(const parse_state *s, int i)
{
    if (i < 0)
        return -1;
    for (int j = i + 1; j < s->n; j++) {
        if (s->t[j].sent != s->t[i].sent)
            return -1;
        if (!s->t[j].absorbed)
            return j;
    }
    return -1;
}

static int pv(const parse_state *s, int i)
{
    if (i < 0)
        return -1;
    for (int j = i - 1; j >= 0; j--) {
        if (s->t[j].sent != s->t[i].sent)
            return -1;
        if (!s->t[j].absorbed)
            return j;
    }
    return -1;
}

/* Next token of the same clause, or -1. */
static int nxc(const parse_state *s, int i)
{
    int j = nx(s, i);
    return j >= 0 && s->t[j].clause == s->t[i].clause ? j : -1;
}

/* Adjacent in the text: same chunk, next token. */
static int adj(const parse_state *s, int i)
{
    int j = nx(s, i);
    return j >= 0 && s->t[j].chunk == s->t[i].chunk ? j : -1;
}

static int anywhere(const parse_state *s, int i, const char *const *words)
{
    for (int k = 0; words[k]; k++)
        if (W(s, i, words[k]))
            return 1;
    return 0;
}

/* Text right after token i (spaces skipped) is c. */
static int followed_by(const parse_state *s, int i, char c)
{
    const char *p = s->text + s->t[i].end;
    while (*p == ' ')
        p++;
    return *p == c;
}

static void set(tok *k, lex_class cls, int val, int sub)
{
    k->cls = cls;
    k->val = val;
    k->sub = sub;
}

static void add_span(prose_attrs *a, prose_attr attr, int start, int end)
{
    for (int k = 0; k < a->n_spans; k++)
        if (a->spans[k].attr == attr && a->spans[k].start == start && a->spans[k].end == end)
            return;
    if (a->n_spans >= PROSE_MAX_SPANS)
        return;
    a->spans[a->n_spans].attr = (uint8_t)attr;
    a->spans[a->n_spans].start = start;
    a->spans[a->n_spans].end = end;
    a->n_spans++;
}

static void add_tok_span(parse_state *s, prose_attr attr, int t0, int t1)
{
    if (t0 < 0 || t1 < t0)
        return;
    add_span(s->a, attr, s->t[t0].start, s->t[t1].end);
}

static int is_finding_cls(lex_class c) { return c == LX_LESION || c == LX_GENERIC || c == LX_NONLESION; }
static int is_anat_cls(lex_class c)
{
    return c == LX_SIDE || c == LX_LEVEL || c == LX_ZONEWORD || c == LX_REGION || c == LX_ALL || c == LX_SEGNAME ||
           c == LX_SEGMENT;
}

/* ---------------------------------------------------------------- phrases */

/* Words that name a study (a "normal study"; "the prior CT" is a comparison). */
static const char *const STUDY[] = {"study", "chest", "radiograph", "examination", "exam", "ct", "film", "scan", "ray",
                                    "appearances", "cxr", NULL};
static const char *const PRIOR_OF[] = {"imaging", "radiographs", "studies", "one", "x", "comparison", "images",
                                       "exams", "examinations", "films", "scans", "ct's", "cts", NULL};

/* After token i: "previously", "before", "earlier", "on the prior (study)": the last token of
 * that reference to an earlier study, else -1. */
static int earlier_ref(const parse_state *s, int i)
{
    static const char *const EARLIER[] = {"previously", "before", "earlier", "prior", "previous", "last", NULL};
    int j = adj(s, i);
    for (int st = 0; st < 2 && (W(s, j, "on") || W(s, j, "in") || W(s, j, "the") || W(s, j, "at")); st++)
        j = adj(s, j);
    if (W(s, j, "the"))
        j = adj(s, j);
    if (!anywhere(s, j, EARLIER))
        return -1;
    int k = adj(s, j);
    return k >= 0 && (anywhere(s, k, STUDY) || anywhere(s, k, PRIOR_OF)) ? k : j;
}

/* Token i is a size: a number before mm / cm (not "3 x 4"): millimetres, else -1. */
static double size_mm(const parse_state *s, int i)
{
    int u = adj(s, i);
    if (s->t[i].cls != LX_NUMBER || u < 0 || s->t[u].cls != LX_UNIT || W(s, u, "x"))
        return -1;
    return s->t[i].num * (s->t[u].w[0] == 'c' ? 10 : 1);
}

/* After token i ("than"): "(on / in) (the / today's) radiograph / CT / film ...", "yesterday": the
 * last token of a named study it is compared with, else -1. */
static int study_ref(const parse_state *s, int i)
{
    int j = adj(s, i);
    if (W(s, j, "yesterday"))
        return j;
    if (W(s, j, "on") || W(s, j, "in") || W(s, j, "at"))
        j = adj(s, j);
    if (W(s, j, "the") || W(s, j, "that"))
        j = adj(s, j);
    return anywhere(s, j, STUDY) && !W(s, j, "chest") ? j : -1;
}

/* "since the prior", "compared to previous", "than on prior": prior / previous as a
 * comparison (the word before, skipping "the", is a preposition of comparison). */
static int reference_prep(const parse_state *s, int i)
{
    static const char *const PREPS[] = {"since", "to", "from", "with", "than", "on", "vs", "versus", NULL};
    int p = pv(s, i);
    if (W(s, p, "the"))
        p = pv(s, p);
    return p >= 0 && s->t[p].chunk == s->t[i].chunk && anywhere(s, p, PREPS);
}

/* From token j: "change(s/d)" after up to three modifiers ("significant interval change"):
 * the change word's token, else -1. */
static int change_after(const parse_state *s, int j)
{
    static const char *const CHANGE_MOD[] = {"significant", "interval", "appreciable", "definite", "major", "real",
                                             "substantial", "further", "material", "measurable", "significantly",
                                             "appreciably", "substantially", "materially", "radiographic",
                                             "radiological", "visible", "notable", "gross", "discernible", "obvious",
                                             NULL};
    static const char *const CHANGE[] = {"change", "changes", "changed", NULL};
    for (int st = 0; j >= 0 && st < 4; j = adj(s, j), st++) {
        if (anywhere(s, j, CHANGE))
            return j;
        if (!anywhere(s, j, CHANGE_MOD))
            return -1;
    }
    return -1;
}

/* A side, level, lobe or zone word follows token j in its clause (within five words). */
static int anatomy_ahead(const parse_state *s, int j)
{
    for (int q = nx(s, j), st = 0; q >= 0 && st < 5 && s->t[q].clause == s->t[j].clause; q = nx(s, q), st++)
        if (s->t[q].cls == LX_SIDE || s->t[q].cls == LX_LEVEL || s->t[q].cls == LX_ZONEWORD ||
            (s->t[q].cls == LX_REGION && s->t[q].val != 5) || W(s, q, "r") || W(s, q, "l"))
            return 1;
    return 0;
}

/* "not" at token i before a time word ("has not improved", "not significantly increased",
 * "not completely resolved") or in "not as dense / extensive as before": rewrites the phrase as
 * one time word and returns 1, else 0. */
static int not_time(parse_state *s, int i)
{
    static const char *const DEGREE[] = {"significantly", "yet", "substantially", "much", "appreciably", "been",
                                         "materially", "really", NULL};
    static const char *const AS_WHAT[] = {"dense", "extensive", "prominent", "marked", "confluent", "conspicuous",
                                          "large", "widespread", "opaque", NULL};
    tok *k = &s->t[i];
    int m = adj(s, i), complete = 0;
    while (m >= 0 && (anywhere(s, m, DEGREE) || W(s, m, "completely") || W(s, m, "fully") || W(s, m, "entirely"))) {
        complete |= !anywhere(s, m, DEGREE);
        m = adj(s, m);
    }
    if (m >= 0 && s->t[m].cls == LX_TEMPORAL && s->t[m].val == PT_NEW && !W(s, m, "new")) {
        /* "consolidation has not developed": it is not there (a negation after the finding) */
        for (int q = i + 1; q <= m; q++)
            s->t[q].absorbed = 1;
        set(k, LX_NEG_POST, 0, 0);
        k->end = s->t[m].end;
        return 1;
    }
    if (m >= 0 && s->t[m].cls == LX_TEMPORAL && s->t[m].val != PT_STABLE && s->t[m].sub != 1) {
        prose_temporal t = s->t[m].val == PT_RESOLVED && complete ? PT_BETTER : PT_STABLE;
        for (int q = i + 1; q <= m; q++)
            s->t[q].absorbed = 1;
        set(k, LX_TEMPORAL, t, 0);
        k->end = s->t[m].end;
        return 1;
    }
    int a1 = adj(s, i), w = adj(s, a1), a2 = adj(s, w);
    if (W(s, a1, "as") && anywhere(s, w, AS_WHAT) && W(s, a2, "as")) {
        int e = earlier_ref(s, a2);
        if (e < 0)
            e = study_ref(s, a2);
        if (e >= 0) {
            for (int q = i + 1; q <= e; q++)
                s->t[q].absorbed = 1;
            set(k, LX_TEMPORAL, PT_BETTER, 0);
            k->end = s->t[e].end;
            return 1;
        }
    }
    return 0;
}

static void phrases(parse_state *s)
{
    static const char *const GG_TAIL[] = {"opacity", "opacities", "opacification", "opacifications", "attenuation",
                                          "change", "changes", "density", "densities", "shadowing", "opacity's",
                                          "pattern", NULL};
    static const char *const AIR_TAIL[] = {"disease", "opacity", "opacities", "opacification", "shadowing",
                                           "consolidation", "change", "changes", NULL};
    static const char *const SEEN[] = {"seen", "identified", "demonstrated", "visualised", "visualized", "present",
                                       "evident", "appreciated", "detected", "visible", "shown", "noted", NULL};
    static const char *const SURELY[] = {"entirely", "completely", "definitely", "confidently", "reliably",
                                         "definitively", "fully", "totally", NULL};
    static const char *const EXCLUDED[] = {"excluded", "ruled", "exclude", "rule", NULL};
    /* "infection and aspiration cannot be differentiated": the nature is uncertain */
    static const char *const TOLD_APART[] = {"differentiated", "distinguished", "differentiate", "distinguish",
                                             "separated", NULL};
    static const char *const COMPARATIVE[] = {"less", "more", "greater", "larger", "bigger", NULL};
    static const char *const COMPARED[] = {"dense", "opaque", "confluent", "conspicuous", "extensive", "prominent",
                                           "pronounced", "marked", "apparent", "evident", "visible", "widespread",
                                           "hazy", NULL};
    static const char *const ALMOST[] = {"almost", "nearly", "near", "largely", "mostly", "incompletely",
                                         "incomplete", "virtually", NULL};
    static const char *const COMPLETE[] = {"complete", "completely", "total", "totally", "full", "fully", NULL};
    for (int i = 0; i < s->n; i++) {
        tok *k = &s->t[i];
        if (k->absorbed)
            continue;
        int j = adj(s, i);
        if (W(s, i, "ground") && W(s, j, "glass")) {
            set(k, LX_LESION, PF_GGO, 0);
            s->t[j].absorbed = 1;
            k->end = s->t[j].end;
            int m = adj(s, j);
            if (m >= 0 && anywhere(s, m, GG_TAIL)) {
                s->t[m].absorbed = 1;
                k->end = s->t[m].end;
                k->sub = s->t[m].w[strlen(s->t[m].w) - 1] == 's';
            }
        } else if (W(s, i, "crazy") && W(s, j, "paving")) {
            set(k, LX_LESION, PF_CRAZY_PAVING, 0);
            s->t[j].absorbed = 1;
            k->end = s->t[j].end;
        } else if ((W(s, i, "air") && W(s, j, "space")) || W(s, i, "airspace")) {
            set(k, LX_LESION, PF_OPACITY, 0);
            int last = i;
            if (W(s, i, "air")) {
                s->t[j].absorbed = 1;
                last = j;
            }
            int m = adj(s, last);
            if (m >= 0 && anywhere(s, m, AIR_TAIL)) {
                if (W(s, m, "consolidation"))
                    k->val = PF_CONSOLIDATION;
                s->t[m].absorbed = 1;
                last = m;
            }
            k->end = s->t[last].end;
        } else if (W(s, i, "no") && W(s, j, "longer")) {
            set(k, LX_TEMPORAL, PT_RESOLVED, 0);
            s->t[j].absorbed = 1;
            k->end = s->t[j].end;
        } else if ((W(s, i, "no") || W(s, i, "without") || W(s, i, "not")) && change_after(s, j) >= 0) {
            int last = change_after(s, j);   /* "no change", "no significant interval change" */
            for (int m = j; m <= last; m++)
                s->t[m].absorbed = 1;
            set(k, LX_TEMPORAL, PT_STABLE, 0);
            k->end = s->t[last].end;
        } else if (W(s, i, "cannot") || W(s, i, "cant") || ((W(s, i, "can") || W(s, i, "could")) && W(s, j, "not")) ||
                   W(s, i, "not")) {
            /* cannot / can't / can not / could not / not  [be]  excluded / ruled out / entirely excluded */
            int m = W(s, i, "can") || W(s, i, "could") ? adj(s, j) : j;
            for (int pass = 0; pass < 2; pass++) {   /* "cannot entirely be excluded", "be entirely" */
                if (anywhere(s, m, SURELY))
                    m = adj(s, m);
                if (pass == 0 && W(s, m, "be"))
                    m = adj(s, m);
            }
            if (anywhere(s, m, EXCLUDED) || (!W(s, i, "not") && anywhere(s, m, TOLD_APART))) {
                int last = m;
                if (W(s, adj(s, m), "out"))
                    last = adj(s, m);
                for (int q = i + 1; q <= last; q++)
                    s->t[q].absorbed = 1;
                set(k, LX_UNCERTAIN, 0, 0);
                k->end = s->t[last].end;
            } else if (W(s, i, "not") && not_time(s, i)) {
                /* handled in not_time(): "has not improved" = stable, "not as dense as before" = better */
            } else if (W(s, i, "not") && m >= 0 && (W(s, m, "suspicious") || W(s, m, "concerning") || W(s, m, "worrying") ||
                                                  W(s, m, "worrisome"))) {
                set(k, LX_NONE, 0, 0);   /* "not suspicious": no hedge */
                set(&s->t[m], LX_NONE, 0, 0);
            } else if (W(s, i, "not") && m >= 0 && anywhere(s, m, SEEN)) {
                /* "not present previously", "not seen on the prior study": new, not absent */
                int last = m, e = earlier_ref(s, m);
                if (e >= 0)
                    last = e;
                for (int q = i + 1; q <= last; q++)
                    s->t[q].absorbed = 1;
                if (e >= 0)
                    set(k, LX_TEMPORAL, PT_NEW, 0);
                else
                    set(k, LX_NEG_POST, 0, 0);
                k->end = s->t[last].end;
            }
        } else if (W(s, i, "rule") && W(s, j, "out")) {
            set(k, LX_UNCERTAIN, 0, 0);
            s->t[j].absorbed = 1;
            k->end = s->t[j].end;
        } else if (W(s, i, "ruled") && W(s, j, "out")) {
            set(k, LX_NEG_POST, 0, 0);
            s->t[j].absorbed = 1;
            k->end = s->t[j].end;
        } else if (W(s, i, "central") &&
                   (W(s, j, "line") || W(s, j, "venous") || W(s, j, "catheter") || W(s, j, "lines"))) {
            set(k, LX_NONLESION, PN_DEVICE, 0);
            s->t[j].absorbed = 1;
            k->end = s->t[j].end;
        } else if (W(s, i, "covid") || W(s, i, "sars")) {
            set(k, LX_LESION, PF_OTHER, 0);
            int m = j;
            while (m >= 0 && (s->t[m].cls == LX_NUMBER || W(s, m, "cov"))) {
                s->t[m].absorbed = 1;
                k->end = s->t[m].end;
                m = adj(s, m);
            }
        } else if (k->cls == LX_CLEAR && (W(s, i, "aerated") || W(s, i, "expanded"))) {
            int p = pv(s, i);
            if (!(W(s, p, "well") || W(s, p, "normally")))
                set(k, LX_NONE, 0, 0);
        } else if (W(s, i, "x") && W(s, j, "ray")) {
            set(k, LX_NONE, 0, 0);
            s->t[j].absorbed = 1;
        } else if (W(s, i, "per") && W(s, j, "cent")) {
            set(k, LX_PCT, 0, 0);
            s->t[j].absorbed = 1;
        } else if (W(s, i, "to") && (W(s, j, "exclude") || (W(s, j, "rule") && W(s, adj(s, j), "out")))) {
            set(k, LX_UNCERTAIN, 0, 3);   /* "(follow-up) to exclude X": X is a hypothesis (hypotheticals()) */
            s->t[j].absorbed = 1;
            if (W(s, j, "rule"))
                s->t[adj(s, j)].absorbed = 1;
        } else if (W(s, i, "lung") && W(s, j, "markings")) {
            set(k, LX_NONE, 0, 0);
        } else if ((W(s, i, "findings") || W(s, i, "finding")) && k->cls == LX_BOUNDARY && pv(s, i) >= 0 &&
                   s->t[pv(s, i)].clause == k->clause && !(j >= 0 && s->t[j].clause != k->clause)) {
            set(k, LX_GENERIC, PF_OTHER, 1);   /* "no acute findings" (a heading "Findings:" stays a boundary) */
        } else if (W(s, i, "less") && (W(s, j, "likely") || W(s, j, "probable"))) {
            s->t[j].absorbed = 1;              /* "atelectasis less likely": no hedge on the lesion */
        } else if ((W(s, i, "each") || W(s, i, "either")) && j >= 0 &&
                   (s->t[j].cls == LX_LEVEL || s->t[j].cls == LX_REGION)) {
            set(k, LX_SIDE, 3, 0);   /* "each upper lobe", "either lung" */
        } else if (W(s, i, "correction") || W(s, i, "sorry") || (W(s, i, "i") && W(s, j, "mean"))) {
            set(k, LX_NONE, 0, 9);   /* dictation correction: drops the place said just before */
        } else if ((W(s, i, "l") || W(s, i, "r")) && j >= 0 &&
                   (s->t[j].cls == LX_LEVEL || (s->t[j].cls == LX_REGION && s->t[j].val != 2 && s->t[j].val != 5))) {
            set(k, LX_SIDE, W(s, i, "l") ? 1 : 2, 0);   /* "L mid zone", "R lung" */
        } else if ((W(s, i, "write") || W(s, i, "rite") || W(s, i, "wright")) && j >= 0 &&
                   (s->t[j].cls == LX_LEVEL || (s->t[j].cls == LX_REGION && s->t[j].val != 5) ||
                    W(s, j, "sided"))) {
            set(k, LX_SIDE, 2, 0);   /* dictation homophone: "the write lower lobe" */
        } else if (W(s, i, "b") && W(s, j, "l") && s->text[k->end] == '/' && s->t[j].start == k->end + 1) {
            set(k, LX_SIDE, 3, 0);   /* "b/l" */
            s->t[j].absorbed = 1;
            k->end = s->t[j].end;
        } else if ((W(s, i, "strike") || W(s, i, "scratch") || W(s, i, "delete")) && W(s, j, "that")) {
            set(k, LX_NONE, 0, 9);   /* dictation correction, as "correction" */
            s->t[j].absorbed = 1;
        } else if ((W(s, i, "prior") || W(s, i, "previous")) && (anywhere(s, j, STUDY) || anywhere(s, j, PRIOR_OF) ||
                                                                 reference_prep(s, i))) {
            set(k, LX_NONE, 0, 0);   /* "the prior CT", "since the prior": a comparison, not the finding's past */
        } else if (W(s, i, "similar") && (W(s, j, "to") || W(s, j, "in") || W(s, j, "appearance") ||
                                          (pv(s, i) >= 0 && s->t[pv(s, i)].cls == LX_COPULA))) {
            set(k, LX_TEMPORAL, PT_STABLE, 0);   /* "similar to the prior", "are similar in appearance" */
        } else if (k->cls == LX_TEMPORAL && k->sub == 2 &&
                   !((j >= 0 && s->t[j].cls == LX_TEMPORAL) || (adj(s, j) >= 0 && s->t[adj(s, j)].cls == LX_TEMPORAL) ||
                     (pv(s, i) >= 0 && s->t[pv(s, i)].cls == LX_TEMPORAL))) {
            set(k, LX_NONE, 0, 0);   /* "partially collapsed": no time without a resolution word */
        } else if (k->cls == LX_TEMPORAL && (k->val == PT_RESOLVED || k->val == PT_BETTER) && k->sub != 1) {
            /* "almost completely resolved", "near-complete resolution": still there, better;
             * "complete clearing", "completely resolving" without such a word: resolved */
            int hedged = 0, complete = 0;
            for (int q = pv(s, i), st = 0; q >= 0 && st < 3 && s->t[q].chunk == k->chunk; q = pv(s, q), st++) {
                hedged |= anywhere(s, q, ALMOST);
                complete |= anywhere(s, q, COMPLETE);
            }
            if (hedged)
                set(k, LX_TEMPORAL, PT_BETTER, 2);
            else if (complete && k->val == PT_BETTER && k->sub == 0)
                k->val = PT_RESOLVED;
        } else if (W(s, i, "spread") && !(pv(s, i) >= 0 && s->t[pv(s, i)].cls == LX_COPULA) && !W(s, j, "to") &&
                   !W(s, j, "into") && !W(s, pv(s, i), "further")) {
            set(k, LX_NONE, 0, 0);   /* "endobronchial spread of infection": a mechanism, not time */
        } else if ((W(s, i, "changes") || W(s, i, "change")) && pv(s, i) >= 0 && pv(s, i) == i - 1 &&
                   s->t[i - 1].chunk == k->chunk &&
                   (s->t[i - 1].cls == LX_LEVEL || s->t[i - 1].cls == LX_ZONEWORD ||
                    (s->t[i - 1].cls == LX_REGION && s->t[i - 1].val != 5))) {
            set(k, LX_GENERIC, PF_OTHER, W(s, i, "changes"));   /* "left basal changes": an abnormality there */
        } else if ((W(s, i, "previously") || W(s, i, "prior") || W(s, i, "formerly")) && j >= 0 &&
                   s->t[j].cls == LX_NUMBER) {
            /* "now 9 mm (previously 7 mm)": the earlier size, not the finding's past; against the
             * size stated before it in the sentence, a change */
            set(k, LX_NONE, 0, 0);
            double was = size_mm(s, j), now = -1;
            for (int q = pv(s, i); q >= 0 && now < 0; q = pv(s, q))
                now = size_mm(s, q);
            if (was > 0 && now > 0)
                set(k, LX_TEMPORAL, now > was ? PT_WORSE : now < was ? PT_BETTER : PT_STABLE, 0);
        } else if (W(s, i, "re") && j >= 0 && s->t[j].start == k->end + 1 && s->text[k->end] == '-' &&
                   (W(s, j, "demonstrated") || W(s, j, "demonstration") || W(s, j, "identified") ||
                    W(s, j, "demonstrates") || W(s, j, "visualised") || W(s, j, "visualized"))) {
            set(k, LX_TEMPORAL, PT_STABLE, 0);   /* "re-demonstrated": seen again */
            s->t[j].absorbed = 1;
            k->end = s->t[j].end;
        } else if (W(s, i, "rather") && W(s, j, "than")) {
            set(k, LX_NEG_PRE, 0, 0);   /* "atelectasis rather than consolidation": the second is not there */
            s->t[j].absorbed = 1;
            k->end = s->t[j].end;
        } else if ((W(s, i, "minor") || W(s, i, "major") || W(s, i, "horizontal") || W(s, i, "oblique")) &&
                   (W(s, j, "fissure") || W(s, j, "fissures"))) {
            set(k, LX_NONE, 0, 0);   /* "the minor fissure": anatomy, no severity */
        } else if (k->cls == LX_NUMBER && s->text[k->end] == ')' && is_digit((unsigned char)k->w[0]) &&
                   (i == 0 || s->t[i - 1].clause != k->clause)) {
            int o = k->start - 1;
            while (o >= 0 && s->text[o] == ' ')
                o--;
            if (o < 0 || s->text[o] != '(')
                set(k, LX_NONE, 0, 0);   /* "1) Right upper lobe pneumonia": an enumerator, no count */
        } else if ((W(s, i, "evolved") || W(s, i, "evolving") || W(s, i, "evolve") || W(s, i, "evolves")) &&
                   W(s, j, "into")) {
            set(k, LX_TEMPORAL, PT_WORSE, 0);   /* "ground glass has evolved into consolidation" */
        } else if ((W(s, i, "w") || W(s, i, "r")) && W(s, j, "o") && s->text[k->end] == '/' &&
                   s->t[j].start == k->end + 1) {
            /* "w/o" = without, "r/o" = rule out */
            set(k, W(s, i, "w") ? LX_NEG_PRE : LX_UNCERTAIN, 0, 0);
            s->t[j].absorbed = 1;
            k->end = s->t[j].end;
        } else if (W(s, i, "both") && !(j >= 0 && (is_anat_cls(s->t[j].cls) || s->t[j].cls == LX_THE ||
                                                   W(s, j, "of") || W(s, j, "l") || W(s, j, "r") ||
                                                   s->t[j].cls == LX_DIST || s->t[j].cls == LX_MOD))) {
            set(k, LX_NONE, 0, 0);   /* "..., both new": a pronoun, no side */
        } else if (W(s, i, "halo")) {
            /* "opacity with a reversed halo sign", "consolidation with a ground-glass halo": a sign
             * of the lesion named before "with", not another lesion */
            int with = 0;
            for (int q = pv(s, i); q >= 0 && s->t[q].clause == k->clause; q = pv(s, q)) {
                if (with && (s->t[q].cls == LX_LESION || s->t[q].cls == LX_GENERIC)) {
                    set(k, LX_NONE, 0, 0);
                    break;
                }
                with |= W(s, q, "with");
            }
        } else if (W(s, i, "s") && j >= 0 && s->t[j].start == k->end && s->t[j].cls == LX_NUMBER &&
                   s->t[j].num >= 1 && s->t[j].num <= 10) {
            set(k, LX_SEGMENT, 0, 0);   /* "S6": segment 6 */
        } else if (k->cls == LX_NUMBER && !is_digit((unsigned char)k->w[0]) && k->val >= 20 && k->val % 10 == 0 &&
                   j >= 0 && s->t[j].cls == LX_NUMBER && !is_digit((unsigned char)s->t[j].w[0]) && s->t[j].val <= 9) {
            k->val += s->t[j].val;   /* "twenty-five", "thirty five" */
            k->num = k->val;
            s->t[j].absorbed = 1;
            k->end = s->t[j].end;
        } else if ((W(s, i, "half") && W(s, j, "a") && W(s, adj(s, j), "dozen")) || W(s, i, "dozen")) {
            int half = W(s, i, "half");
            set(k, LX_NUMBER, half ? 6 : 12, 0);
            k->num = k->val;
            if (half) {
                int d = adj(s, j);   /* before "dozen" is absorbed (adj skips absorbed tokens) */
                s->t[j].absorbed = s->t[d].absorbed = 1;
                k->end = s->t[d].end;
            }
        } else if (W(s, i, "increased") && (W(s, j, "density") || W(s, j, "densities") || W(s, j, "attenuation") ||
                                            W(s, pv(s, i), "of"))) {   /* "an area of increased opacity" */
            set(k, LX_MOD, 0, 0);   /* "increased density": how it looks, not a change */
        } else if (anywhere(s, i, COMPARATIVE) && (W(s, j, "than") || W(s, adj(s, j), "than"))) {
            /* "less conspicuous than before", "more extensive than on the previous film": time */
            int than = W(s, j, "than") ? j : adj(s, j), e = earlier_ref(s, than);
            if (e < 0)
                e = study_ref(s, than);   /* "than on the radiograph of 2/14": another (earlier) study */
            if (e >= 0) {
                for (int q = i + 1; q <= e; q++)
                    s->t[q].absorbed = 1;
                set(k, LX_TEMPORAL, W(s, i, "less") ? PT_BETTER : PT_WORSE, 0);
                k->end = s->t[e].end;
            }
        } else if ((W(s, i, "less") || W(s, i, "more")) && anywhere(s, j, COMPARED) && !W(s, adj(s, j), "than") &&
                   !anatomy_ahead(s, j)) {
            /* "is slightly less dense", "now more confluent": a change since the earlier study
             * (with a place after it, "more pronounced on the right", it is a predominance) */
            s->t[j].absorbed = 1;
            set(k, LX_TEMPORAL, W(s, i, "less") ? PT_BETTER : PT_WORSE, 0);
            k->end = s->t[j].end;
        } else if (W(s, i, "a") && W(s, j, "dozen")) {
            k->absorbed = 1;
        } else if (W(s, i, "a") && (W(s, j, "few") || W(s, j, "couple"))) {
            k->absorbed = 1;
            if (W(s, j, "couple") && W(s, adj(s, j), "of"))
                s->t[adj(s, j)].absorbed = 1;
        }
    }
}

/* ---------------------------------------------------------------- predominance */

static int side_lr(const tok *k) { return k->cls == LX_SIDE && (k->val == 1 || k->val == 2) ? k->val : 0; }

/* The one side (1 left, 2 right) a place at token i names: a side word ("left", "left lung"
 * from the region), a lobe word (RLL); 0 when none or both. */
static int place_side(const parse_state *s, int i)
{
    if (i < 0)
        return 0;
    const tok *k = &s->t[i];
    if (k->cls == LX_REGION && pv(s, i) >= 0)
        return side_lr(&s->t[pv(s, i)]);
    if (k->cls == LX_ZONEWORD)
        return (k->val & 7) && !(k->val & 56) ? 1 : (k->val & 56) && !(k->val & 7) ? 2 : 0;
    return side_lr(k);
}

static void predominance(parse_state *s)
{
    /* "most conspicuous in the right lower lobe", "more confluent at the bases" */
    static const char *const CONSPICUOUS[] = {"conspicuous", "evident", "apparent", "noticeable", "obvious", "dense",
                                              "confluent", "notable", "striking", "visible", NULL};
    static const char *const LESS_SO[] = {"so", "marked", "extensive", "pronounced", "prominent", "severe",
                                          "severely", "affected", "involved", NULL};
    prose_attrs *a = s->a;
    for (int i = 0; i < s->n; i++) {
        tok *k = &s->t[i];
        if (k->absorbed)
            continue;
        /* side > side, side greater/more than side */
        if (side_lr(k)) {
            int j = adj(s, i), m = -1, reg = -1;
            if (j >= 0 && s->t[j].cls == LX_REGION && (s->t[j].val == 1 || s->t[j].val == 4)) {
                reg = j;   /* "left lung more than right lung" */
                j = adj(s, j);
            }
            if (j >= 0 && W(s, j, ">"))
                m = adj(s, j);
            else if (j >= 0 && s->t[j].cls == LX_MORE && s->t[j].val != 2) {
                /* "right greater than left", "left worse than right", "left more marked than right" */
                int t = adj(s, j);
                if (t >= 0 && (s->t[t].cls == LX_MORE || s->t[t].cls == LX_SEVERITY))
                    t = adj(s, t);
                if (W(s, t, "than"))
                    m = adj(s, t);
                if (W(s, m, "the"))
                    m = adj(s, m);   /* "the right more than the left" */
            }
            if (m >= 0 && side_lr(&s->t[m]) && s->t[m].val != k->val) {
                a->predominance_side = k->val == 1 ? LAT_LEFT : LAT_RIGHT;
                int end = m;
                if (reg >= 0 && adj(s, m) >= 0 && s->t[adj(s, m)].cls == LX_REGION)
                    end = adj(s, m);
                add_tok_span(s, PA_PREDOMINANCE, i, end);
                for (int q = i + 1; q <= end; q++)
                    s->t[q].absorbed = 1;
                k->val = 3;   /* both sides, as a location */
                k->sub = 7;   /* marker: predominance side word */
                continue;
            }
        }
        if (W(s, i, "r") || W(s, i, "l")) {
            int j = adj(s, i), m = j >= 0 && W(s, j, ">") ? adj(s, j) : -1;
            if (m >= 0 && (W(s, m, "l") || W(s, m, "r")) && strcmp(s->t[m].w, k->w) != 0) {
                a->predominance_side = k->w[0] == 'l' ? LAT_LEFT : LAT_RIGHT;
                add_tok_span(s, PA_PREDOMINANCE, i, m);
                s->t[j].absorbed = s->t[m].absorbed = 1;
                set(k, LX_SIDE, 3, 7);
                continue;
            }
        }
        /* "RLL > LLL", "left lung > right lung": places of both sides either side of '>' */
        if (W(s, i, ">")) {
            int l = place_side(s, pv(s, i)), r = place_side(s, nx(s, i));
            if (l && r && l != r) {
                a->predominance_side = l == 1 ? LAT_LEFT : LAT_RIGHT;
                add_tok_span(s, PA_PREDOMINANCE, i, i);
                k->absorbed = 1;
            }
            continue;
        }
        /* "and to a lesser extent in the left lower lobe", "less marked on the left": the
         * other side predominates; the side named stays a location */
        if ((W(s, i, "lesser") && (W(s, adj(s, i), "extent") || W(s, adj(s, i), "degree"))) ||
            (W(s, i, "less") && anywhere(s, adj(s, i), LESS_SO))) {
            for (int j = nx(s, i), st = 0; j >= 0 && st < 5 && s->t[j].clause == k->clause; j = nx(s, j), st++)
                if (side_lr(&s->t[j])) {
                    /* the other side must be named before ("right upper lobe, and to a lesser
                     * extent the right lower lobe" is one side) */
                    int other = 0;
                    for (int q = pv(s, i); q >= 0 && !other; q = pv(s, q))
                        other = (place_side(s, q) && place_side(s, q) != s->t[j].val) ||
                                (s->t[q].cls == LX_SIDE && s->t[q].val == 3);
                    if (other) {
                        a->predominance_side = s->t[j].val == 1 ? LAT_RIGHT : LAT_LEFT;
                        add_tok_span(s, PA_PREDOMINANCE, i, j);
                    }
                    break;
                }
            continue;
        }
        int trig = k->cls == LX_PREDOM || (k->cls == LX_MORE && k->val != 2);
        if (!trig)
            continue;
        /* forward: "more pronounced on the right", "predominantly right-sided", "worse on the left" */
        int found = 0;
        for (int j = nx(s, i), steps = 0; j >= 0 && steps < 6 && s->t[j].clause == k->clause; j = nx(s, j), steps++) {
            tok *q = &s->t[j];
            int after = adj(s, j);
            if (side_lr(q) && after >= 0 &&
                (s->t[after].cls == LX_LEVEL || s->t[after].cls == LX_ZONEWORD ||
                 (s->t[after].cls == LX_REGION && (s->t[after].val == 2 || s->t[after].val == 3)))) {
                /* "predominantly the right lower lobe", "most marked in the right lower lobe": a place,
                 * and the side it is on predominates */
                a->predominance_side = q->val == 1 ? LAT_LEFT : LAT_RIGHT;
                if (k->cls == LX_PREDOM) {
                    a->predominance_levels |= s->t[after].cls == LX_LEVEL ? s->t[after].val : 0;
                    add_tok_span(s, PA_PREDOMINANCE, i, after);
                    q->predlev = 1;
                } else {
                    for (int r = i; r < j; r++)
                        if (s->t[r].cls == LX_MORE || s->t[r].cls == LX_SEVERITY)
                            s->t[r].absorbed = 1;
                    q->predlev = 1;   /* "worse in the left lower zone": the worst place, not the only one */
                }
                found = 1;
                break;
            }
            if (side_lr(q)) {
                a->predominance_side = q->val == 1 ? LAT_LEFT : LAT_RIGHT;
                add_tok_span(s, PA_PREDOMINANCE, i, j);
                int end = j;
                int m = adj(s, j);
                if (m >= 0 && q->cls == LX_SIDE && (W(s, m, "side") || W(s, m, "sided") || W(s, m, "lung") ||
                                                     W(s, m, "hemithorax")))
                    end = m;
                for (int r = i + 1; r <= end; r++)
                    if (r != j)
                        s->t[r].absorbed = 1;
                q->val = 3;
                q->sub = 7;
                if (k->cls == LX_MORE)
                    k->absorbed = 1;
                found = 1;
                break;
            }
            if (q->cls == LX_LEVEL || q->cls == LX_ZONEWORD) {
                /* "predominantly in the lower lobes", "worse at the bases" */
                a->predominance_levels |= q->cls == LX_LEVEL ? q->val : 0;
                if (q->cls == LX_ZONEWORD)
                    a->predominance_levels |= (q->val & 9 ? 1 : 0) | (q->val & 18 ? 2 : 0) | (q->val & 36 ? 4 : 0);
                add_tok_span(s, PA_PREDOMINANCE, i, j);
                q->predlev = 1;
                if (k->cls == LX_MORE)
                    k->absorbed = 1;
                for (int r = i + 1; r < j; r++)
                    if (s->t[r].cls == LX_SEVERITY)
                        s->t[r].absorbed = 1;   /* "more marked in the lower zones": no severity */
                found = 1;
                break;
            }
            if (!(q->cls == LX_MORE || q->cls == LX_PREP || q->cls == LX_THE || q->cls == LX_SEVERITY ||
                  q->cls == LX_COPULA || ((q->cls == LX_DIST || q->cls == LX_SEGNAME) && k->cls == LX_PREDOM) ||
                  q->cls == LX_AND || W(s, j, "slightly") || W(s, j, "somewhat") || W(s, j, "much") ||
                  W(s, j, "marked") || W(s, j, "extensive") || W(s, j, "affected") || W(s, j, "involved") ||
                  W(s, j, "severe") || anywhere(s, j, CONSPICUOUS)))
                break;
        }
        if (found || k->cls != LX_PREDOM)
            continue;
        /* backward: "right-sided predominance", "right predominant", "lower zone predominance" */
        for (int j = pv(s, i), steps = 0; j >= 0 && steps < 3 && s->t[j].clause == k->clause; j = pv(s, j), steps++) {
            tok *q = &s->t[j];
            if (side_lr(q)) {
                a->predominance_side = q->val == 1 ? LAT_LEFT : LAT_RIGHT;
                add_tok_span(s, PA_PREDOMINANCE, j, i);
                for (int r = j + 1; r < i; r++)
                    s->t[r].absorbed = 1;
                q->val = 3;
                q->sub = 7;
                break;
            }
            if (q->cls == LX_LEVEL || q->cls == LX_ZONEWORD) {
                a->predominance_levels |= q->cls == LX_LEVEL ? q->val : 0;
                if (q->cls == LX_ZONEWORD)
                    a->predominance_levels |= (q->val & 9 ? 1 : 0) | (q->val & 18 ? 2 : 0) | (q->val & 36 ? 4 : 0);
                add_tok_span(s, PA_PREDOMINANCE, j, i);
                q->predlev = 2;
                break;
            }
            if (!(q->cls == LX_REGION || q->cls == LX_THE || W(s, j, "a") || W(s, j, "with")))
                break;
        }
    }
    /* "worse" not used for a side is a time word; so is "larger" said of a finding ("is
     * slightly larger", "now larger") */
    for (int i = 0; i < s->n; i++) {
        if (s->t[i].absorbed || s->t[i].cls != LX_MORE)
            continue;
        int p = pv(s, i);
        if (W(s, i, "worse") ||
            ((W(s, i, "larger") || W(s, i, "bigger")) && p >= 0 &&
             (s->t[p].cls == LX_COPULA || W(s, p, "slightly") || W(s, p, "now") || W(s, p, "somewhat") ||
              W(s, p, "much") || W(s, p, "become") || W(s, p, "became"))))
            set(&s->t[i], LX_TEMPORAL, PT_WORSE, 0);
    }
}

/* ---------------------------------------------------------------- anatomy */

typedef struct sub_phrase {
    int sides;       /* 1 left 2 right */
    int levels;      /* 1 upper 2 middle 4 lower */
    int zones;       /* from zone words */
    int region;      /* region kind of the last region word, 0 none */
    int plural;
    int all;
    int closed;
    int seg_level;
    int middle_lobe;
    int inherit;
    int any;
} sub_phrase;

static void sub_resolve(const sub_phrase *p, int prev_sides, run *r)
{
    if (!p->any)
        return;
    int sides = p->sides & 3;
    int levels = p->levels;
    if (!levels && p->seg_level)
        levels = p->seg_level & 4 ? 4 : p->seg_level;   /* "posterior basal segment": lower lobe */
    if (p->all && !levels && !p->zones)
        levels = 7;   /* "all lobes", "the entire right lung"; "the entire left lower lobe" is that lobe */
    if (!sides && p->inherit)
        sides = prev_sides;
    if (!sides && levels && p->plural) {
        sides = 3;
        r->implied |= (uint8_t)levels;   /* a side named elsewhere for the finding may narrow it */
    }
    if (!sides && levels == 2 && p->middle_lobe)
        sides = 2;
    if (!sides && !levels && p->plural && (p->region == 1 || p->region == 5 || p->region == 4)) {
        sides = 3;   /* "the lungs", "both hemithoraces" */
        r->lungs_only = p->region == 1 && !p->zones;
    }
    if (!sides && p->all && p->plural)
        sides = 3;
    r->zones |= (uint8_t)p->zones;
    if (!sides) {
        r->orphan |= (uint8_t)levels;
        return;
    }
    if (!levels) {
        r->whole |= (uint8_t)sides;
        return;
    }
    for (int sd = 0; sd < 2; sd++)
        if (sides & (1 << sd))
            for (int l = 0; l < 3; l++)
                if (levels & (1 << l))
                    r->zones |= (uint8_t)(1 << (3 * sd + l));
}

/* Segment names count as such only before "segment(s)" (possibly after another name). */
static int segname_here(const parse_state *s, int i)
{
    for (int j = i; j >= 0 && j < s->n && j <= i + 4; j = nx(s, j)) {
        if (s->t[j].cls == LX_SEGMENT)
            return 1;
        if (!(s->t[j].cls == LX_SEGNAME || s->t[j].cls == LX_LEVEL || s->t[j].cls == LX_AND || W(s, j, "lingular")))
            return 0;
    }
    return 0;
}

/* "right upper, middle and lower lobes": after a side and a level (token q) a comma before
 * more bare levels (j) continues the place, the side shared. */
static int level_list(const parse_state *s, int q, int j, const sub_phrase *p)
{
    if (s->t[q].cls != LX_LEVEL || !(p->sides & 3) || p->region || p->closed)
        return 0;
    for (int o = s->t[q].end; o < s->t[j].start; o++)
        if (s->text[o] != ',' && s->text[o] != ' ')
            return 0;
    int m = s->t[j].cls == LX_AND ? adj(s, j) : j;
    return m >= 0 && s->t[m].cls == LX_LEVEL;
}

static void anatomy(parse_state *s)
{
    s->nr = 0;
    for (int i = 0; i < s->n && s->nr < MAX_RUNS;) {
        tok *k = &s->t[i];
        /* a lone "pulmonary" is no anatomy ("pulmonary opacities"); after a side it is a region */
        if (k->absorbed || !is_anat_cls(k->cls) || (k->cls == LX_SEGNAME && !segname_here(s, i)) ||
            (k->cls == LX_REGION && k->val == 5)) {
            i++;
            continue;
        }
        run *r = &s->r[s->nr];
        memset(r, 0, sizeof *r);
        r->find = -1;
        r->t0 = i;
        sub_phrase p;
        memset(&p, 0, sizeof p);
        int prev_sides = 0, last = i, in_segment = 0;
        for (int j = i; j >= 0 && s->t[j].clause == k->clause;) {
            tok *q = &s->t[j];
            int take = 1;
            switch (q->cls) {
            case LX_SIDE:
                if (q->sub == 7)
                    r->predom = 1;
                /* "right lung and left lower zone", "left apex and right base": a new place */
                if (!p.closed && (p.sides & 3) && (p.region || p.levels) && (q->val & 3) != (p.sides & 3) &&
                    q->val != 3)
                    p.closed = 1;
                if (p.closed) {
                    int pp = pv(s, j);
                    int post = (q->val == 3 && (W(s, j, "bilaterally") || W(s, j, "both"))) ||
                               W(s, pp, "the") || W(s, pp, "on");
                    if (post && !(p.sides & 3)) {
                        p.sides |= q->val;
                        break;
                    }
                    sub_resolve(&p, prev_sides, r);
                    prev_sides = p.sides ? p.sides : prev_sides;
                    memset(&p, 0, sizeof p);
                }
                p.sides |= q->val;
                p.any = 1;
                break;
            case LX_LEVEL:
                if (segname_here(s, j) && !W(s, j, "basal") && !W(s, j, "apical")) {
                    p.seg_level |= q->val;
                    in_segment = 1;
                    p.any = 1;
                    break;
                }
                if (in_segment && (W(s, j, "basal") || W(s, j, "apical")) && segname_here(s, j)) {
                    p.seg_level |= q->val;
                    p.any = 1;
                    break;
                }
                if (p.closed && !(p.region == 1 && (q->val == 1 || q->val == 4 || q->val == 2))) {
                    sub_resolve(&p, prev_sides, r);
                    prev_sides = p.sides ? p.sides : prev_sides;
                    memset(&p, 0, sizeof p);
                    p.inherit = 1;
                }
                p.levels |= q->val;
                p.plural |= q->sub;
                p.any = 1;
                if (p.region)
                    p.closed = 1;   /* "right lung base" is complete */
                break;
            case LX_ZONEWORD:
                if (p.closed || p.levels || (p.sides && (p.sides & 3) != 3)) {
                    if (p.closed || p.levels) {
                        sub_resolve(&p, prev_sides, r);
                        prev_sides = p.sides ? p.sides : prev_sides;
                        memset(&p, 0, sizeof p);
                    } else {
                        p.sides = 0;   /* "right RLL" */
                    }
                }
                if (W(s, j, "lingula") || W(s, j, "lingular")) {
                    if (segname_here(s, j)) {
                        p.zones |= q->val;
                        p.any = 1;
                        in_segment = 1;
                        break;
                    }
                }
                p.zones |= q->val;
                p.closed = 1;
                p.any = 1;
                break;
            case LX_REGION:
                if (q->val == 5 && !p.any) {
                    take = 0;
                    break;
                }
                p.region = q->val;
                p.plural |= q->sub;
                if (q->val == 2 && p.levels == 2 && !(p.sides & 3))
                    p.middle_lobe = 1;
                if (q->val != 1 && q->val != 5)
                    p.closed = 1;
                p.any = 1;
                break;
            case LX_ALL:
                p.all = 1;
                p.any = 1;
                break;
            case LX_SEGNAME:
                if (!segname_here(s, j)) {
                    take = 0;
                    break;
                }
                p.seg_level |= q->val;
                in_segment = 1;
                p.any = 1;
                break;
            case LX_SEGMENT:
                in_segment = 1;
                p.any = 1;
                break;
            case LX_NUMBER:
                if (in_segment && q->val >= 1 && q->val <= 10 && q->num == (double)q->val &&
                    !(adj(s, j) >= 0 && (s->t[adj(s, j)].cls == LX_UNIT || s->t[adj(s, j)].cls == LX_PCT))) {
                    /* "segments 6 and 10", "S6": bronchopulmonary segments 1-3 upper, 4-5 middle
                     * (lingula on the left), 6-10 lower */
                    p.levels |= q->val <= 3 ? 1 : q->val <= 5 ? 2 : 4;
                    p.any = 1;
                    break;
                }
                take = p.all && q->val <= 5 && s->t[nx(s, j) >= 0 ? nx(s, j) : j].cls == LX_REGION;
                break;
            case LX_TO:
                /* "mid to lower lung", "upper to mid zones": a range of levels */
                take = q->val == 0 && p.levels && !p.region && adj(s, j) >= 0 && s->t[adj(s, j)].cls == LX_LEVEL &&
                       pv(s, j) >= 0 && s->t[pv(s, j)].cls == LX_LEVEL;
                if (take && (p.levels & 1) && (s->t[adj(s, j)].val & 4))
                    p.levels |= 2;   /* "upper to lower": the middle between */
                if (take && (p.levels & 4) && (s->t[adj(s, j)].val & 1))
                    p.levels |= 2;
                break;
            case LX_AND:
            case LX_THE:
            case LX_PREP: {
                /* glue only between anatomy words */
                int m = nx(s, j);
                while (m >= 0 && (s->t[m].cls == LX_THE || s->t[m].cls == LX_PREP) && s->t[m].clause == q->clause)
                    m = nx(s, m);
                int ok = m >= 0 && s->t[m].clause == q->clause &&
                         (is_anat_cls(s->t[m].cls) || (in_segment && q->cls == LX_AND && s->t[m].cls == LX_NUMBER &&
                                                       s->t[m].val >= 1 && s->t[m].val <= 10)) &&
                         !(s->t[m].cls == LX_SEGNAME && !segname_here(s, m)) && p.any &&
                         !(s->t[m].cls == LX_REGION && s->t[m].val == 5);
                int all_of = p.all && !(p.sides & 3) && !p.levels && !p.zones && !p.region && W(s, j, "of");
                if (q->cls == LX_PREP && !all_of) {
                    /* "segment of the RLL", "lower zone on the right", "lower lobe of the left lung"
                     * ("the whole of the left lower lobe" reads as "the whole left lower lobe") */
                    ok = ok && (W(s, j, "of") || W(s, j, "on") || W(s, j, "in")) &&
                         (in_segment || (side_lr(&s->t[m]) && !(p.sides & 3)) ||
                          (s->t[m].cls == LX_REGION && s->t[m].val == 1 && !(p.sides & 3)) ||
                          (W(s, m, "both") && !(p.sides & 3)));
                    if (ok && side_lr(&s->t[m]) && !in_segment)
                        p.closed = 1;
                    if (ok && W(s, m, "both") && !in_segment)
                        p.closed = 1;
                }
                if (q->cls == LX_AND && ok && s->t[m].chunk != q->chunk)
                    ok = 0;
                take = ok;
                if (ok && q->cls == LX_PREP && in_segment)
                    in_segment = 2;
                break;
            }
            default:
                take = 0;
            }
            if (!take)
                break;
            if (s->t[j].cls != LX_AND && s->t[j].cls != LX_THE && s->t[j].cls != LX_PREP)
                last = j;
            int qi = j;
            j = nx(s, j);
            if (j >= 0 && s->t[j].chunk != q->chunk && q->cls != LX_AND && !level_list(s, qi, j, &p))
                break;
        }
        sub_resolve(&p, prev_sides, r);
        r->t1 = last;
        /* "the largest in the right lower lobe", "the largest measuring 9 mm in the LLL": a place
         * among others, not all of them */
        for (int q = pv(s, r->t0), st = 0; q >= 0 && st < 8 && s->t[q].chunk == s->t[r->t0].chunk; q = pv(s, q), st++)
            if (W(s, q, "largest") || W(s, q, "biggest") || W(s, q, "dominant") || W(s, q, "index") ||
                W(s, q, "now") || W(s, q, "also") || W(s, q, "including") || W(s, q, "includes") ||
                W(s, q, "include"))
                r->predlev = 1;   /* a place among others: does not narrow the side */
        /* "with sparing of the apex", "the apex is spared": not involved */
        for (int q = pv(s, r->t0), st = 0, glue = 1; q >= 0 && st < 4 && s->t[q].chunk == s->t[r->t0].chunk;
             q = pv(s, q), st++) {
            if (W(s, q, "sparing") || W(s, q, "spared") || W(s, q, "sparring")) {
                r->negated = 1;
                r->excluded |= glue;   /* "sparing (of) the apices": out of the sentence's places;
                                          "a small area of sparing at the apex" is not */
            }
            glue &= W(s, q, "of") || W(s, q, "the");
        }
        for (int q = nx(s, r->t1), st = 0; q >= 0 && st < 2 && s->t[q].chunk == s->t[r->t1].chunk; q = nx(s, q), st++)
            if (W(s, q, "spared"))
                r->negated = r->excluded = 1;
        /* "right lower lobectomy", "left upper lobe wedge resection": the place of an operation */
        static const char *const SURGERY[] = {"lobectomy", "bilobectomy", "pneumonectomy", "segmentectomy",
                                              "resection", "wedge", "transplant", "lobectomies", NULL};
        if (anywhere(s, adj(s, last), SURGERY))
            r->negated = r->surgery = 1;
        /* "in all lobes except the right middle lobe": taken out of the places named before */
        int q = pv(s, r->t0);
        while (W(s, q, "the") || W(s, q, "for") || W(s, q, "in") || W(s, q, "at") || W(s, q, "on"))
            q = pv(s, q);
        if (W(s, q, "except") || W(s, q, "excluding") || W(s, q, "excepting") ||
            (W(s, q, "than") && W(s, pv(s, q), "other"))) {
            /* after a negation ("no consolidation other than in the LLL", "free of consolidation
             * except the RLL") the exception is where the finding is; else it is taken out */
            int neg_before = 0;
            for (int b = pv(s, q); b >= 0 && !neg_before; b = pv(s, b))
                neg_before = s->t[b].cls == LX_NEG_PRE || s->t[b].cls == LX_CLEAR;
            if (neg_before)
                r->exception = 1;
            else
                r->negated = r->excluded = 1;
        }
        /* "Lungs:", "Lung parenchyma:": a heading of region words alone, the only words of
         * its clause, locates nothing (it can still be cleared: "Lungs: clear.") */
        int heading = followed_by(s, last, ':') && (r->t0 == 0 || s->t[r->t0 - 1].clause != k->clause);
        for (int q = r->t0; q <= last && heading; q++)
            heading = s->t[q].absorbed || s->t[q].cls == LX_REGION || s->t[q].cls == LX_AND || s->t[q].cls == LX_THE;
        r->heading = heading;
        if (r->zones || r->whole || p.any) {
            for (int q = r->t0; q <= r->t1; q++) {
                s->t[q].run = s->nr;
                if (s->t[q].predlev > r->predlev)
                    r->predlev = s->t[q].predlev;
            }
            s->nr++;
        }
        i = last + 1;
    }
}

/* ---------------------------------------------------------------- findings */

static void findings(parse_state *s)
{
    s->nf = 0;
    for (int i = 0; i < s->n && s->nf < MAX_FINDS; i++) {
        tok *k = &s->t[i];
        if (k->absorbed || !is_finding_cls(k->cls))
            continue;
        /* "pleural" alone before a non-lesion word is part of it; generic words that only
         * modify ("involving") are prepositions in the lexicon */
        finding *f = &s->f[s->nf];
        memset(f, 0, sizeof *f);
        f->t0 = i;
        f->lesion = k->cls != LX_NONLESION;
        f->kind = k->val;
        f->plural = k->sub;
        f->count_lo = f->count_hi = f->count_t = -1;
        f->neg_t = f->unc_t = f->tmp_t = -1;
        int last = i;
        for (int j = adj(s, i); j >= 0 && is_finding_cls(s->t[j].cls) && s->t[j].run < 0; j = adj(s, j)) {
            if (memchr(s->text + s->t[last].end, '/', (size_t)(s->t[j].start - s->t[last].end)))
                break;   /* "collapse/consolidation": two findings, a list (list_next) */
            int les = s->t[j].cls != LX_NONLESION;
            if (les != f->lesion) {
                /* "nodular opacities" both lesions; "pleural thickening", "lesion ... effusion" differ:
                 * a non-lesion head noun after a lesion adjective wins ("inflammatory effusion") */
                if (!les && f->lesion && j == adj(s, last)) {
                    f->lesion = 0;
                    f->kind = s->t[j].val;
                } else {
                    break;
                }
            } else if (f->lesion && (f->kind == PF_OTHER || f->kind == PF_NODULE) && s->t[j].val != PF_OTHER) {
                f->kind = s->t[j].val;   /* the head noun names it: "nodular opacity", "pneumonic consolidation" */
            }
            f->plural = s->t[j].sub;
            last = j;
        }
        f->t1 = last;
        for (int q = i; q <= last; q++)
            s->t[q].find = s->nf;
        s->nf++;
        i = last;
    }
}

/* The finding list that f belongs to: "GGO and consolidation" (joined by and / or / comma
 * inside a chunk). Returns the first finding of the list ending at f going forward. */
static int list_next(const parse_state *s, int fi)
{
    const finding *f = &s->f[fi];
    int j = adj(s, f->t1);
    /* "collapse/consolidation", "collapse-consolidation": a slash or hyphen pair is a list */
    if (j >= 0 && s->t[j].find >= 0 && s->t[j].find != fi) {
        int slash = 0, other = 0;
        for (int o = s->t[f->t1].end; o < s->t[j].start; o++)
            slash |= s->text[o] == '/' || s->text[o] == '-', other |= s->text[o] != '/' && s->text[o] != '-' &&
                                                                      s->text[o] != ' ';
        if (slash && !other)
            return s->t[j].find;
    }
    /* "atelectasis versus early consolidation": the alternatives of a differential share the place */
    if (j < 0 || !(s->t[j].cls == LX_AND || W(s, j, "versus") || W(s, j, "vs")))
        return -1;
    int m = adj(s, j);
    if (m >= 0 && s->t[m].cls == LX_AND)
        m = adj(s, m);   /* "atelectasis and/or consolidation" */
    for (int unk = 0; m >= 0 && (s->t[m].cls == LX_MOD || s->t[m].cls == LX_SEVERITY || s->t[m].cls == LX_DIST ||
                                 s->t[m].cls == LX_TEMPORAL || (s->t[m].cls == LX_NONE && !unk++ && s->t[m].run < 0 &&
                                                                is_alpha((unsigned char)s->t[m].w[0])));)
        m = adj(s, m);   /* one word outside the lexicon: "or early consolidation" */
    return m >= 0 && s->t[m].find >= 0 && s->t[m].find != fi ? s->t[m].find : -1;
}

static int list_prev(const parse_state *s, int fi)
{
    for (int g = 0; g < s->nf; g++)
        if (g != fi && list_next(s, g) == fi)
            return g;
    return -1;
}

static void range_of(const parse_state *s, int i, int level, int *b, int *e);

/* "Haziness over the left hemithorax, in keeping with a layering effusion": an opacity that
 * the sentence explains (without a hedge) as a non-lesion is that non-lesion. Only the
 * unspecific lesion words (opacity, haziness, shadowing, changes ...) are explained away. */
static void attribution(parse_state *s)
{
    static const char *const BY[] = {"keeping", "consistent", "compatible", "due", "secondary", "representing",
                                     "reflecting", "reflects", "represents", "attributable", NULL};
    static const char *const FIBROTIC[] = {"fibrosis", "fibrotic", "scarring", "scar", "fibrosing", "honeycombing",
                                           "honeycomb", "uip", "ipf", "nsip", "traction", NULL};
    for (int fi = 0; fi < s->nf; fi++) {
        finding *f = &s->f[fi];
        /* "fibrotic changes with subpleural reticulation": reticulation is the fibrosis */
        if (f->lesion && (W(s, f->t0, "reticulation") || W(s, f->t0, "reticular"))) {
            int b, e, fib = 0;
            range_of(s, f->t0, 1, &b, &e);
            for (int q = b; q <= e; q++)
                fib |= anywhere(s, q, FIBROTIC);
            if (fib) {
                f->lesion = 0;
                f->kind = PN_OTHER;
                continue;
            }
        }
        if (!f->lesion || !(f->kind == PF_OPACITY || s->t[f->t0].cls == LX_GENERIC))
            continue;
        int by = -1;
        for (int j = nx(s, f->t1); j >= 0 && s->t[j].clause == s->t[f->t0].clause; j = nx(s, j)) {
            if (s->t[j].cls == LX_UNCERTAIN || (s->t[j].find >= 0 && s->f[s->t[j].find].lesion))
                break;
            if (anywhere(s, j, BY)) {
                by = j;
                break;
            }
        }
        for (int j = nx(s, by), st = 0; by >= 0 && j >= 0 && st < 5; j = nx(s, j), st++) {
            if (s->t[j].cls == LX_UNCERTAIN)
                break;
            if (s->t[j].find >= 0) {
                /* "in keeping with atelectasis or consolidation" names a lesion too: kept */
                int oi = s->t[j].find, lesion_named = 0;
                for (int g = oi, st2 = 0; g >= 0 && st2 < 16; g = list_next(s, g), st2++)
                    lesion_named |= s->f[g].lesion;
                if (!lesion_named) {
                    f->lesion = 0;
                    f->kind = s->f[oi].kind;
                }
                break;
            }
        }
    }
}

/* ---------------------------------------------------------------- attach anatomy */

static void attach(parse_state *s)
{
    for (int ri = 0; ri < s->nr; ri++) {
        run *r = &s->r[ri];
        int cl = s->t[r->t0].clause, before = -1, after = -1;
        for (int fi = 0; fi < s->nf; fi++) {
            finding *f = &s->f[fi];
            if (s->t[f->t0].clause != cl)
                continue;
            if (f->t1 < r->t0)
                before = fi;
            else if (f->t0 > r->t1 && after < 0)
                after = fi;
        }
        int p = pv(s, r->t0);
        while (p >= 0 && (s->t[p].cls == LX_THE || W(s, p, "both")) && s->t[p].clause == cl)
            p = pv(s, p);
        int prep = p >= 0 && s->t[p].clause == cl && (s->t[p].cls == LX_PREP || W(s, p, "with") || W(s, p, "is") ||
                                                       W(s, p, "are"));
        int after_adj = after >= 0 && adj(s, r->t1) == s->f[after].t0;
        int before_adj = before >= 0 && adj(s, s->f[before].t1) == r->t0;
        if (r->predom)
            r->find = before >= 0 ? before : after;
        else if (after_adj)
            r->find = after;          /* "right lower lobe consolidation" */
        else if (before_adj)
            r->find = before;         /* "consolidation right lower lobe" */
        else if (prep && before >= 0)
            r->find = before;         /* "consolidation in the right lower lobe" */
        else if (after >= 0 && (s->t[s->f[after].t0].chunk == s->t[r->t1].chunk || before < 0))
            r->find = after;
        else
            r->find = before >= 0 ? before : after;
    }
}

/* ---------------------------------------------------------------- negation */

/* The token range [*b, *e] of the chunk (level 0), clause (1) or sentence (2) of token i:
 * the ids only grow along the text, so the range is contiguous. */
static void range_of(const parse_state *s, int i, int level, int *b, int *e)
{
    int lo = i, hi = i;
#define SAME(a, c) (level == 0 ? s->t[a].chunk == s->t[c].chunk : level == 1 ? s->t[a].clause == s->t[c].clause \
                                                                             : s->t[a].sent == s->t[c].sent)
    while (lo > 0 && SAME(lo - 1, i))
        lo--;
    while (hi + 1 < s->n && SAME(hi + 1, i))
        hi++;
#undef SAME
    *b = lo;
    *e = hi;
}

/* The chunk of token i holds a finding (a lesion when lesion_only). */
static int chunk_has_finding(const parse_state *s, int i, int lesion_only)
{
    int b, e;
    range_of(s, i, 0, &b, &e);
    for (int j = b; j <= e; j++)
        if (!s->t[j].absorbed && s->t[j].find >= 0 && (!lesion_only || s->f[s->t[j].find].lesion))
            return 1;
    return 0;
}

/* A chunk that continues a negated list: no anatomy, no description, no "there". */
static int bare_chunk(const parse_state *s, int start)
{
    for (int i = start; i < s->n && s->t[i].chunk == s->t[start].chunk; i++) {
        const tok *k = &s->t[i];
        if (k->absorbed)
            continue;
        if (k->run >= 0 || k->cls == LX_MOD || k->cls == LX_THERE || k->cls == LX_SEVERITY ||
            (k->cls == LX_TEMPORAL && k->val == PT_NEW) || k->cls == LX_UNCERTAIN || k->cls == LX_DIST)
            return 0;
    }
    return 1;
}

/* Walking back from a post-trigger over token m: "X and Y" between findings is a list; any
 * other "and" / "with" stops the scope (*all); "otherwise" stops it for findings ("RLL
 * consolidation otherwise clear"), not for regions ("lungs otherwise unremarkable"). */
static void back_block(const parse_state *s, int m, int *all, int *findings)
{
    if (s->t[m].absorbed)
        return;
    if (s->t[m].cls == LX_AND) {
        int a = pv(s, m), b = nx(s, m);
        int fa = a >= 0 && s->t[a].find >= 0, fb = b >= 0 && s->t[b].find >= 0;
        if (!(fa && fb))
            *all = 1;
    }
    if (W(s, m, "with"))
        *all = 1;
    if (W(s, m, "otherwise"))
        *findings = 1;
}

/* Trigger token trig negates finding fi. */
static void negate_finding(parse_state *s, int fi, int trig)
{
    finding *f = &s->f[fi];
    s->t[trig].neg_trigger = 1;
    if (!f->negated) {
        f->negated = 1;
        f->neg_t = trig;
    }
}

/* "Consolidation, ground glass or nodules are not present": a post-trigger whose chunk starts
 * with a finding reaches back over the chunks before it that hold only findings (a list). */
static void negate_list_before(parse_state *s, int trig)
{
    int b, e;
    range_of(s, trig, 0, &b, &e);
    while (b > 0 && s->t[b].absorbed && b < trig)
        b++;
    if (s->t[b].find < 0)
        return;
    while (b > 0 && s->t[b - 1].clause == s->t[trig].clause) {
        int pb, pe, only = 1, any = 0;
        range_of(s, b - 1, 0, &pb, &pe);
        for (int j = pb; j <= pe; j++) {
            const tok *q = &s->t[j];
            if (q->absorbed)
                continue;
            any |= q->find >= 0;
            only &= q->find >= 0 || q->cls == LX_AND || q->cls == LX_MOD || q->cls == LX_THE;
        }
        if (!only || !any)
            return;
        for (int j = pb; j <= pe; j++)
            if (s->t[j].find >= 0)
                negate_finding(s, s->t[j].find, trig);
        b = pb;
    }
}

/* Trigger token trig ("clear", "not seen") clears the region of run ri itself. */
static void clear_run(parse_state *s, int ri, int trig)
{
    s->r[ri].negated = 1;
    s->r[ri].cleared = 1;
    s->r[ri].clear_t = trig;
    s->t[trig].neg_trigger = 1;
}

/* "follow-up CT is recommended to exclude an underlying lesion": the lesions after "to
 * exclude" / "to rule out" in its clause are what a further test looks for, not findings. */
/* "Indication: ?pneumonia.", "Clinical history: cough, ?LLL consolidation.": a sentence opened by
 * a heading of the request (up to four words ending with ':' or '-') names what the study was
 * asked to look at, not what it shows: its findings are hypotheses, up to the sentence's end or
 * the next heading. */
static void request_lines(parse_state *s)
{
    static const char *const REQUEST[] = {"indication", "indications", "history", "hx", "reason", "question",
                                          "request", "details", NULL};
    for (int i = 0; i < s->n; i++) {
        if (i > 0 && s->t[i - 1].sent == s->t[i].sent)
            continue;
        int head = -1;
        for (int j = i, st = 0; j >= 0 && st < 4 && s->t[j].sent == s->t[i].sent; j = nx(s, j), st++) {
            if (followed_by(s, j, ':') || followed_by(s, j, '-')) {
                head = j;
                break;
            }
        }
        int req = 0;
        for (int j = i; head >= 0 && j <= head; j++)
            req |= anywhere(s, j, REQUEST);
        if (!req)
            continue;
        for (int j = nx(s, head); j >= 0 && !(followed_by(s, j, ':') && s->t[j].cls == LX_BOUNDARY); j = nx(s, j)) {
            if (s->t[j].find < 0)
                continue;
            s->f[s->t[j].find].hypothetical = 1;
            for (int ri = 0; ri < s->nr; ri++)
                if (s->r[ri].find == s->t[j].find)
                    s->r[ri].negated = 1;
        }
    }
}

static void hypotheticals(parse_state *s)
{
    request_lines(s);
    for (int i = 0; i < s->n; i++) {
        if (s->t[i].absorbed || s->t[i].cls != LX_UNCERTAIN || s->t[i].sub != 3)
            continue;
        for (int fi = 0; fi < s->nf; fi++) {
            finding *f = &s->f[fi];
            if (f->t0 > i && s->t[f->t0].clause == s->t[i].clause) {
                f->hypothetical = 1;
                for (int ri = 0; ri < s->nr; ri++)
                    if (s->r[ri].find == fi)
                        s->r[ri].negated = 1;
            }
        }
    }
}

static void negation(parse_state *s)
{
    for (int i = 0; i < s->n; i++) {
        tok *k = &s->t[i];
        if (k->absorbed)
            continue;
        if (k->cls == LX_NEG_PRE) {
            int chunk = k->chunk;
            for (int j = i + 1; j < s->n && s->t[j].clause == k->clause; j++) {
                if (s->t[j].absorbed)
                    continue;
                if (s->t[j].cls == LX_NEG_PRE)
                    break;   /* the next trigger covers the rest */
                if (s->t[j].chunk != chunk) {
                    if (!bare_chunk(s, j))
                        break;
                    chunk = s->t[j].chunk;
                }
                if (s->t[j].cls == LX_THERE || (s->t[j].cls == LX_TEMPORAL && s->t[j].val == PT_STABLE))
                    break;
                if (s->t[j].find >= 0)
                    negate_finding(s, s->t[j].find, i);
                if (s->t[j].run >= 0 && s->r[s->t[j].run].find < 0) {
                    s->r[s->t[j].run].negated = 1;
                    k->neg_trigger = 1;
                }
            }
        } else if (k->cls == LX_NEG_POST || k->cls == LX_CLEAR) {
            int blocked = 0, blocked_findings = 0;
            for (int j = i - 1; j >= 0 && s->t[j].chunk == k->chunk && !blocked; j--) {
                if (j + 1 < i)
                    back_block(s, j + 1, &blocked, &blocked_findings);
                if (s->t[j].absorbed || blocked)
                    continue;
                if (s->t[j].find >= 0 && !blocked_findings)
                    negate_finding(s, s->t[j].find, i);
                if (s->t[j].run >= 0)
                    clear_run(s, s->t[j].run, i);
            }
            if (k->cls == LX_NEG_POST && !blocked && !blocked_findings)
                negate_list_before(s, i);
            if (k->cls == LX_CLEAR) {
                for (int j = i - 2; j <= i + 3; j++)
                    if (j >= 0 && j < s->n && s->t[j].chunk == k->chunk && anywhere(s, j, STUDY))
                        s->study_normal = 1;
                /* forward: "clear lungs", "normal heart size", "clear of consolidation" */
                for (int j = i + 1; j < s->n && s->t[j].chunk == k->chunk; j++) {
                    if (s->t[j].absorbed)
                        continue;
                    if (s->t[j].cls == LX_AND && !(W(s, pv(s, j), "heart") || s->t[pv(s, j)].find >= 0))
                        break;
                    if (s->t[j].cls == LX_THERE || W(s, j, "with"))
                        break;
                    if (s->t[j].find >= 0)
                        negate_finding(s, s->t[j].find, i);
                    if (s->t[j].run >= 0)
                        clear_run(s, s->t[j].run, i);
                }
            }
        }
    }
    /* "Lungs: clear.", "Lungs are hyperinflated but clear.": a trigger that found nothing in
     * its chunk clears the regions of the previous chunk of its sentence when that chunk
     * holds no finding */
    for (int i = 0; i < s->n; i++) {
        tok *k = &s->t[i];
        if (k->absorbed || k->neg_trigger || k->cls != LX_CLEAR)
            continue;
        int b, e, has_target = 0;
        range_of(s, i, 0, &b, &e);
        for (int j = b; j <= e; j++)
            has_target |= s->t[j].find >= 0 || s->t[j].run >= 0;
        if (has_target || b == 0 || s->t[b - 1].sent != k->sent)
            continue;
        int pb, pe;
        range_of(s, b - 1, 0, &pb, &pe);
        if (chunk_has_finding(s, pb, 0))
            continue;
        for (int j = pb; j <= pe; j++)
            if (s->t[j].run >= 0)
                clear_run(s, s->t[j].run, i);
    }
    /* "Consolidation: none.", "Nodules: nil.": a lone negative answer after a heading of
     * findings negates them */
    for (int i = 1; i < s->n; i++) {
        tok *k = &s->t[i];
        if (k->absorbed || !(W(s, i, "none") || W(s, i, "nil") || W(s, i, "absent") || W(s, i, "negative")) ||
            s->t[i - 1].clause == k->clause || s->t[i - 1].sent != k->sent || !followed_by(s, i - 1, ':'))
            continue;
        int j = nx(s, i);
        if (j >= 0 && s->t[j].clause == k->clause)
            continue;   /* "Lungs: no consolidation" has its own scope */
        int b, e;
        range_of(s, i - 1, 1, &b, &e);
        for (int q = b; q <= e; q++)
            if (s->t[q].find >= 0 && !s->t[q].absorbed)
                negate_finding(s, s->t[q].find, i);
    }
    /* dictation correction ("in the left, correction, right lower lobe"): the place before it goes */
    for (int i = 0; i < s->n; i++) {
        if (s->t[i].sub != 9 || s->t[i].cls != LX_NONE)
            continue;
        /* opening its sentence ("... RUL consolidation. Correction: LUL consolidation.") it
         * corrects the sentence before */
        int opens = i == 0 || s->t[i - 1].sent != s->t[i].sent;
        for (int j = i - 1; j >= 0 && (s->t[j].sent == s->t[i].sent || (opens && s->t[j].sent == s->t[i].sent - 1));
             j--)
            if (s->t[j].run >= 0) {
                s->r[s->t[j].run].negated = 1;
                /* "Consolidation in the RLL. Correction: left lower lobe.": a correcting sentence that
                 * names only a place gives it to the finding whose place it took back */
                int fi = s->r[s->t[j].run].find, b = i, e = i - 1, bare = 1;
                if (opens && fi >= 0 && s->t[j].sent != s->t[i].sent)
                    range_of(s, i, 2, &b, &e);
                for (int q = b; q <= e; q++)
                    bare &= s->t[q].find < 0 || s->t[q].absorbed;
                for (int q = b; bare && q <= e; q++)
                    if (s->t[q].run >= 0 && s->r[s->t[q].run].find < 0)
                        s->r[s->t[q].run].find = fi;
                break;
            }
    }
    /* "no consolidation other than in the left lower lobe", "free of consolidation except the right
     * lower lobe": the negated lesion (the run's, else the last before it) is there after all */
    for (int ri = 0; ri < s->nr; ri++) {
        run *r = &s->r[ri];
        int fi = r->find;
        for (int q = pv(s, r->t0); fi < 0 && q >= 0; q = pv(s, q))
            fi = s->t[q].find;
        if (!r->exception || fi < 0 || !s->f[fi].lesion || !s->f[fi].negated)
            continue;
        s->f[fi].negated = 0;
        for (int o = 0; o < s->nr; o++)
            if (s->r[o].find == fi && !s->r[o].exception)
                s->r[o].negated = 1;   /* "both lungs are free of X except ...": not there */
        r->find = fi;
        r->negated = 0;
    }
    /* anatomy attached to a negated finding is not a location */
    for (int ri = 0; ri < s->nr; ri++)
        if (s->r[ri].find >= 0 && s->f[s->r[ri].find].negated)
            s->r[ri].negated = 1;
}

/* ---------------------------------------------------------------- modifiers */

/* Tokens of class cls that apply to finding fi: in its chunk, else in finding-less chunks of
 * its clause (the first of them in text order); time words from both ("persistent opacities,
 * slightly improved": apply_time ranks them). Returns the count and fills idx. */
/* Between finding fi and a later word i stands another lesion that is not in fi's list ("the
 * LUL consolidation is unchanged and the RLL opacity has resolved"): the word is that one's. */
static int other_subject(const parse_state *s, int fi, int i)
{
    for (int q = s->f[fi].t1 + 1; q < i; q++) {
        int g = s->t[q].find;
        if (g < 0 || g == fi || s->t[q].absorbed || !s->f[g].lesion)
            continue;
        int member = 0;
        for (int h = fi, st = 0; h >= 0 && st < 16 && !member; h = list_next(s, h), st++)
            member = h == g;
        for (int h = g, st = 0; h >= 0 && st < 16 && !member; h = list_next(s, h), st++)
            member = h == fi;   /* g before fi in the list */
        if (!member)
            return 1;
    }
    return 0;
}

static int scoped(const parse_state *s, int fi, lex_class cls, int *idx, int cap)
{
    const finding *f = &s->f[fi];
    int chunk = s->t[f->t0].chunk, n = 0, b, e;
    range_of(s, f->t0, 1, &b, &e);
    /* "New since the last study: small left basal consolidation": a heading clause of the
     * same sentence without findings reaches the clause after its colon */
    if (b > 0 && s->t[b - 1].sent == s->t[b].sent && followed_by(s, b - 1, ':')) {
        int hb, he;
        range_of(s, b - 1, 1, &hb, &he);
        if (!chunk_has_finding(s, hb, 0) && !chunk_has_finding(s, he, 0))
            b = hb;
    }
    for (int pass = 0; pass < 2 && (n == 0 || cls == LX_TEMPORAL); pass++)
        for (int i = b; i <= e && n < cap; i++) {
            const tok *k = &s->t[i];
            if (k->absorbed || k->cls != cls)
                continue;
            if (pass == 0 && k->chunk != chunk)
                continue;
            if (cls == LX_TEMPORAL && i > f->t1 && other_subject(s, fi, i))
                continue;   /* "X is unchanged and Y has resolved": "resolved" is Y's */
            /* pass 1, time words: chunks without any finding; hedges: chunks without a lesion
             * ("opacity in the lingula, possibly atelectasis") */
            if (pass == 1 && chunk_has_finding(s, i, cls == LX_UNCERTAIN))
                continue;
            idx[n++] = i;
        }
    return n;
}

/* The time of finding f from the time words idx[0..n): resolved (not current) > improving >
 * new / worse (first written) > stable > "previously" alone (not current). */
static void apply_time(parse_state *s, finding *f, const int *idx, int n)
{
    int resolved = -1, better = -1, nw = -1, stable = -1, prior = -1, partial = 0;
    for (int q = 0; q < n; q++) {
        const tok *k = &s->t[idx[q]];
        if (k->sub == 2)
            partial = 1;
        if (k->val == PT_RESOLVED && k->sub == 1 && prior < 0)
            prior = idx[q];
        else if (k->val == PT_RESOLVED && resolved < 0)
            resolved = idx[q];
        else if (k->val == PT_BETTER && better < 0)
            better = idx[q];
        else if ((k->val == PT_NEW || k->val == PT_WORSE) && nw < 0)
            nw = idx[q];
        else if (k->val == PT_STABLE && stable < 0)
            stable = idx[q];
    }
    if (resolved >= 0 && partial) {
        better = better >= 0 ? better : resolved;
        resolved = -1;
    }
    int t = resolved >= 0 ? resolved : better >= 0 ? better : nw >= 0 ? nw : stable >= 0 ? stable : prior;
    if (t >= 0) {
        f->tmp_t = t;
        f->temporal = t == prior ? PT_RESOLVED : (prose_temporal)s->t[t].val;
        if (f->temporal == PT_RESOLVED)
            f->resolved = 1;
    }
}

/* "multifocal pneumonia, ..., which has progressed", "opacity, which may be infective": a
 * relative clause without a lesion of its own hedges or dates the last lesion before it. */
static void relative_clauses(parse_state *s)
{
    int idx[32];
    for (int i = 0; i < s->n; i++) {
        if (s->t[i].absorbed || !W(s, i, "which") || s->t[i].cls != LX_BOUNDARY)
            continue;
        int b, e, own = 0, target = -1;
        range_of(s, i, 1, &b, &e);
        for (int j = b; j <= e; j++)
            own |= s->t[j].find >= 0 && s->f[s->t[j].find].lesion;
        for (int fi = 0; fi < s->nf; fi++)
            if (s->f[fi].lesion && s->f[fi].t1 < i && s->t[s->f[fi].t0].sent == s->t[i].sent)
                target = fi;
        if (own || target < 0)
            continue;
        finding *f = &s->f[target];
        int n = 0;
        for (int j = b; j <= e && n < 32; j++)
            if (!s->t[j].absorbed && s->t[j].cls == LX_UNCERTAIN && !f->uncertain) {
                f->uncertain = 1;
                f->unc_t = j;
            } else if (!s->t[j].absorbed && s->t[j].cls == LX_TEMPORAL) {
                idx[n++] = j;
            }
        if (n && f->temporal == PT_NONE)
            apply_time(s, f, idx, n);
    }
}

/* "Left retrocardiac opacity, atelectasis or pneumonia": a chunk after the first of its clause
 * that is only findings joined by "or" is a differential: it hedges its lesions and the last
 * lesion before it in the clause. One alternative may be a noun phrase outside the lexicon
 * ("dependent change or early infection"): words outside the lexicon on each side of the "or". */
static void differentials(parse_state *s)
{
    for (int i = 0; i < s->n; i++) {
        int b, e, nf = 0, or_t = -1, only = 1, side[2] = {0, 0};
        if (i > 0 && s->t[i - 1].chunk == s->t[i].chunk)
            continue;   /* chunk starts only */
        range_of(s, i, 0, &b, &e);
        if (b == 0 || s->t[b - 1].clause != s->t[b].clause)
            continue;
        for (int j = b; j <= e; j++) {
            const tok *q = &s->t[j];
            if (q->absorbed)
                continue;
            if (q->find >= 0 && (j == b || s->t[j - 1].find != q->find))
                nf++;
            else if (W(s, j, "or"))
                or_t = or_t < 0 ? j : or_t;
            else if (!(q->find >= 0 || q->cls == LX_MOD || q->cls == LX_THE || W(s, j, "and") || q->cls == LX_NONE))
                only = 0;
            side[or_t >= 0] |= q->find >= 0 ? 2 : q->cls == LX_NONE && !W(s, j, "or") ? 1 : 0;
        }
        /* two alternatives, each a finding or a noun phrase outside the lexicon, one a finding */
        if (!only || or_t < 0 || !side[0] || !side[1] || nf < 1)
            continue;
        int last = -1;
        for (int fi = 0; fi < s->nf; fi++) {
            finding *f = &s->f[fi];
            if (!f->lesion || s->t[f->t0].clause != s->t[b].clause || f->t1 > e)
                continue;
            if (f->t0 < b) {
                last = fi;
            } else if (!f->uncertain) {
                f->uncertain = 1;
                f->unc_t = or_t;
            }
        }
        if (last >= 0 && !s->f[last].uncertain) {
            s->f[last].uncertain = 1;
            s->f[last].unc_t = or_t;
        }
        i = e;
    }
}

/* "Consolidation in the RLL. It has increased since ...", "... This is new.": a sentence that
 * opens with a pronoun and names no finding dates or hedges the last lesion before it. */
static void pronoun_sentences(parse_state *s)
{
    static const char *const PRONOUN[] = {"it", "this", "these", "they", "which", NULL};
    int idx[32];
    for (int i = 1; i < s->n; i++) {
        if (s->t[i - 1].sent == s->t[i].sent || !anywhere(s, i, PRONOUN))
            continue;
        int b, e, last = -1, n = 0, unc = -1;
        range_of(s, i, 2, &b, &e);
        int any_find = 0;
        for (int q = b; q <= e; q++)
            any_find |= s->t[q].find >= 0;
        if (any_find)
            continue;
        for (int fi = 0; fi < s->nf; fi++)
            if (s->f[fi].t1 < b && s->f[fi].lesion && s->t[s->f[fi].t0].sent == s->t[i].sent - 1)
                last = fi;
        if (last < 0)
            continue;
        for (int q = b; q <= e && n < 32; q++) {
            if (s->t[q].absorbed)
                continue;
            if (s->t[q].cls == LX_TEMPORAL)
                idx[n++] = q;
            if (s->t[q].cls == LX_UNCERTAIN && unc < 0)
                unc = q;
        }
        finding *f = &s->f[last];
        if (n && f->temporal == PT_NONE)
            apply_time(s, f, idx, n);
        if (unc >= 0 && !f->uncertain) {
            f->uncertain = 1;
            f->unc_t = unc;
        }
    }
}

static void modifiers(parse_state *s)
{
    int idx[32];
    for (int fi = 0; fi < s->nf; fi++) {
        finding *f = &s->f[fi];
        if (!f->lesion)
            continue;
        int n = scoped(s, fi, LX_UNCERTAIN, idx, 32);
        if (n) {
            f->uncertain = 1;
            f->unc_t = idx[0];
        }
        n = scoped(s, fi, LX_TEMPORAL, idx, 32);
        apply_time(s, f, idx, n);
    }
    relative_clauses(s);
    differentials(s);
    pronoun_sentences(s);
}

/* The lesion finding an anatomy run locates: its own, else the nearest lesion of its sentence
 * (as collect() attaches phrases in clauses without findings), -1. */
static int nearest_lesion(const parse_state *s, int ri)
{
    const run *r = &s->r[ri];
    if (r->find >= 0)
        return s->f[r->find].lesion ? r->find : -1;
    int best = -1, bd = 1 << 30;
    for (int fi = 0; fi < s->nf; fi++) {
        const finding *f = &s->f[fi];
        if (!f->lesion || f->hypothetical || s->t[f->t0].sent != s->t[r->t0].sent)
            continue;
        int d = f->t1 < r->t0 ? r->t0 - f->t1 : f->t0 - r->t1 + 1;
        if (d < bd) {
            bd = d;
            best = fi;
        }
    }
    return best;
}

/* The clause of token i opens with "which" (a relative clause about the clause before). */
static int relative_opens(const parse_state *s, int i)
{
    while (i > 0 && s->t[i - 1].clause == s->t[i].clause)
        i--;
    return W(s, i, "which");
}

/* A word outside the lexicon that reads as an adjective ("a cavitating lesion", "two
 * calcified-looking nodules", "a known nodule"): counts reach over it. */
static int adjective_like(const char *w)
{
    static const char *const ENDS[] = {"ing", "ed", "al", "ic", "ous", "ive", "ary", "oid", "ile", NULL};
    size_t n = strlen(w);
    if (strcmp(w, "known") == 0)
        return 1;
    for (int k = 0; ENDS[k]; k++) {
        size_t e = strlen(ENDS[k]);
        if (n > e + 2 && strcmp(w + n - e, ENDS[k]) == 0)
            return 1;
    }
    return 0;
}

/* A word joined by hyphens to its neighbours ("part-solid", "thin-walled", "tree-in-bud"): part of
 * a compound adjective. */
static int hyphen_joined(const parse_state *s, int i)
{
    int after = i + 1 < s->n && s->text[s->t[i].end] == '-' && s->t[i + 1].start == s->t[i].end + 1;
    int before = i > 0 && s->t[i].start > 0 && s->text[s->t[i].start - 1] == '-' &&
                 s->t[i - 1].end == s->t[i].start - 1;
    return after || before;
}

/* Token i is a whole number 1..20 (a count, not a size or a percentage by itself). */
static int count_number(const parse_state *s, int i)
{
    return i >= 0 && s->t[i].cls == LX_NUMBER && s->t[i].val >= 1 && s->t[i].val <= 20 &&
           s->t[i].num == (double)(int)s->t[i].num;
}

static void counts(parse_state *s)
{
    static const char *const EXPLAINS[] = {"consistent", "keeping", "compatible", "suggestive", "representing",
                                           "represents", "reflecting", "reflects", "likely", "probably", "possibly",
                                           "typical", "characteristic", "indicating", "indicative", "represent",
                                           "reflect", "suggests", "suggesting", "indicate", "concerning", "suspicious",
                                           "worrying", "worrisome", NULL};
    for (int i = 0; i < s->n; i++) {
        tok *k = &s->t[i];
        if (k->absorbed)
            continue;
        int lo, hi, from = i;
        if (k->cls == LX_NUMBER) {
            int j = adj(s, i);
            if (!count_number(s, i) || (j >= 0 && (s->t[j].cls == LX_UNIT || s->t[j].cls == LX_PCT)))
                continue;
            int p = pv(s, i);
            if (p >= 0 && s->t[p].chunk == k->chunk &&
                (s->t[p].cls == LX_CT || s->t[p].cls == LX_ALL || s->t[p].cls == LX_NUMBER))
                continue;   /* "CT 2", "all 5 lobes" ("CT: 2 new nodules" is a count) */
            if (p >= 0 && (W(s, p, "or") || W(s, p, "to")) && count_number(s, pv(s, p)))
                continue;   /* the upper end of "two or three" */
            lo = hi = k->val;
            /* "two or three nodules", "2-3 nodules", "two to four foci": a range */
            int m = j >= 0 && (W(s, j, "or") || W(s, j, "to")) ? adj(s, j) : j;
            if (count_number(s, m) && s->t[m].val > k->val &&
                !(adj(s, m) >= 0 && (s->t[adj(s, m)].cls == LX_UNIT || s->t[adj(s, m)].cls == LX_PCT))) {
                hi = s->t[m].val;
                from = m;
            }
        } else if (k->cls == LX_ARTICLE) {
            lo = hi = 1;
        } else if (k->cls == LX_QUANT) {
            lo = k->val;
            hi = k->sub;
        } else {
            continue;
        }
        int target = -1;
        for (int j = nxc(s, from), steps = 0; j >= 0 && steps < 7; j = nxc(s, j), steps++) {
            tok *q = &s->t[j];
            if (q->find >= 0) {
                target = s->f[q->find].lesion ? q->find : -1;
                if (target >= 0 && k->cls == LX_ARTICLE && s->f[target].plural)
                    target = -1;
                break;
            }
            if (q->cls == LX_CONTAINER) {
                if (k->cls == LX_ARTICLE && q->sub)
                    break;
                int m = adj(s, j);
                if (W(s, m, "of")) {
                    for (int r = adj(s, m), st2 = 0; r >= 0 && st2 < 5; r = adj(s, r), st2++) {
                        if (s->t[r].find >= 0) {
                            target = s->f[s->t[r].find].lesion ? s->t[r].find : -1;
                            break;
                        }
                        if (!(s->t[r].cls == LX_MOD || s->t[r].cls == LX_SEVERITY || s->t[r].cls == LX_DIST ||
                              s->t[r].cls == LX_TEMPORAL || s->t[r].cls == LX_UNCERTAIN))
                            break;
                    }
                }
                break;
            }
            if (!(q->cls == LX_MOD || q->cls == LX_SEVERITY || q->cls == LX_DIST || q->run >= 0 || q->cls == LX_REGION ||
                  q->cls == LX_UNIT || q->cls == LX_TEMPORAL || q->cls == LX_UNCERTAIN ||
                  (q->cls == LX_NUMBER && adj(s, j) >= 0 && s->t[adj(s, j)].cls == LX_UNIT) || W(s, j, "well") ||
                  W(s, j, "sub") || W(s, j, "centimetre") || W(s, j, "subcentimetre") || W(s, j, "subcentimeter") ||
                  W(s, j, "more") || W(s, j, "additional") || W(s, j, "further") || W(s, j, "other") ||
                  q->cls == LX_AND || (q->cls == LX_NONE && (adjective_like(q->w) || hyphen_joined(s, j))) ||
                  (q->cls == LX_NUMBER && q->val == k->val && q->chunk != k->chunk && k->cls == LX_NUMBER) ||
                  ((q->cls == LX_LESS || (q->cls == LX_MORE && q->val == 2)) && adj(s, j) >= 0 &&
                   s->t[adj(s, j)].cls == LX_NUMBER)))
                break;   /* "two (2) nodules", "several tiny (<3 mm) nodules" */
        }
        /* "ground glass with a crazy paving pattern", "consolidation with a small cavity": how an
         * earlier lesion looks, no count */
        if (target >= 0 && k->cls == LX_ARTICLE && W(s, pv(s, i), "with") &&
            (W(s, adj(s, s->f[target].t1), "pattern") || W(s, adj(s, s->f[target].t1), "sign") ||
             W(s, adj(s, s->f[target].t1), "appearance") || W(s, adj(s, s->f[target].t1), "component") ||
             W(s, s->f[target].t1, "cavity") || W(s, s->f[target].t1, "cavitation"))) {
            for (int q = pv(s, pv(s, i)); q >= 0 && s->t[q].clause == k->clause; q = pv(s, q))
                if (s->t[q].find >= 0 && s->f[s->t[q].find].lesion) {
                    target = -1;
                    break;
                }
        }
        if (target >= 0 && s->f[target].count_t < 0) {
            s->f[target].count_lo = lo;
            s->f[target].count_hi = hi;
            s->f[target].count_t = i;
        }
    }
    /* "two areas of consolidation in the RLL and one in the LLL": the elliptical count adds to
     * the nearest counted lesion before it */
    for (int i = 0; i < s->n; i++) {
        tok *k = &s->t[i];
        int p = pv(s, i), j = adj(s, i);
        if (k->absorbed || k->cls != LX_NUMBER || k->val < 1 || k->val > 20 || p < 0 || s->t[p].cls != LX_AND ||
            j < 0 || s->t[j].cls != LX_PREP)
            continue;
        /* "three nodules, two in the RUL and one in the LLL": a breakdown of the count (an
         * elliptical number after a comma before it), nothing to add */
        int breakdown = 0;
        for (int q = pv(s, p); q >= 0 && s->t[q].clause == k->clause && s->t[q].find < 0; q = pv(s, q))
            breakdown |= count_number(s, q) && s->t[q].chunk != s->t[pv(s, q) >= 0 ? pv(s, q) : q].chunk &&
                         adj(s, q) >= 0 && s->t[adj(s, q)].cls == LX_PREP;
        if (breakdown)
            continue;
        for (int fi = s->nf - 1; fi >= 0; fi--) {
            finding *f = &s->f[fi];
            if (f->t1 < i && f->lesion && s->t[f->t0].clause == k->clause) {
                if (f->count_t >= 0) {
                    f->count_lo += k->val;
                    f->count_hi = f->count_hi >= PROSE_COUNT_OPEN ? PROSE_COUNT_OPEN : f->count_hi + k->val;
                }
                break;
            }
        }
    }
    /* "Nodules: right upper lobe (two), lingula (one)": a number alone in brackets after a
     * place counts the lesion that place belongs to (its own, else the sentence's nearest) */
    for (int i = 0; i < s->n; i++) {
        tok *k = &s->t[i];
        int p = pv(s, i), b, e;
        if (k->absorbed || !count_number(s, i) || p < 0 || s->t[p].run < 0 || s->t[p].chunk == k->chunk)
            continue;
        range_of(s, i, 0, &b, &e);
        int lone = 1;
        for (int q = b; q <= e; q++)
            lone &= q == i || s->t[q].absorbed;
        int o = k->start - 1;
        while (o > 0 && s->text[o] == ' ')
            o--;
        if (!lone || s->text[o] != '(')
            continue;
        int target = nearest_lesion(s, s->t[p].run);
        if (target < 0)
            continue;
        finding *f = &s->f[target];
        if (f->count_t < 0) {
            f->count_lo = f->count_hi = 0;
            f->count_t = i;
        }
        f->count_lo += k->val;
        f->count_hi = f->count_hi >= PROSE_COUNT_OPEN ? PROSE_COUNT_OPEN : f->count_hi + k->val;
    }
    /* "nodules x 2", "nodules (n = 3)", "nodules in the LUL (x3)": a count written after the lesion
     * (or its place) counts the nearest plural lesion before it in its clause ("3 x 4 mm" is a size) */
    for (int i = 0; i < s->n; i++) {
        int m = nx(s, i);
        if (s->t[i].absorbed || m < 0 || s->t[m].clause != s->t[i].clause || !count_number(s, m) ||
            (adj(s, m) >= 0 && (s->t[adj(s, m)].cls == LX_UNIT || s->t[adj(s, m)].cls == LX_PCT)))
            continue;
        int times = W(s, i, "x") && !(pv(s, i) >= 0 && s->t[pv(s, i)].cls == LX_NUMBER);
        int n_eq = W(s, i, "n") && memchr(s->text + s->t[i].end, '=', (size_t)(s->t[m].start - s->t[i].end));
        if (!times && !n_eq)
            continue;
        for (int q = pv(s, i); q >= 0 && s->t[q].clause == s->t[i].clause; q = pv(s, q)) {
            if (s->t[q].find < 0)
                continue;
            finding *f = &s->f[s->t[q].find];
            if (f->lesion && f->plural && f->count_t < 0) {
                f->count_lo = f->count_hi = s->t[m].val;
                f->count_t = m;
            }
            break;
        }
    }
    /* "nodules measuring 3, 4 and 6 mm": one size each */
    for (int fi = 0; fi < s->nf; fi++) {
        finding *f = &s->f[fi];
        if (!f->lesion || !f->plural || f->count_t >= 0)
            continue;
        int j = nxc(s, f->t1), n = 0, first = -1, ok = 0;
        if (W(s, j, "measuring") || W(s, j, "of") || W(s, j, "sized") || W(s, j, "measure"))
            j = nxc(s, j);
        /* sizes "3, 4 and 6 mm", "4 mm and 6 mm"; "3 x 4 mm" is one size */
        while (j >= 0 && s->t[j].cls == LX_NUMBER && s->t[j].num > 0) {
            n++;
            first = first < 0 ? j : first;
            j = nxc(s, j);
            if (j >= 0 && s->t[j].cls == LX_UNIT) {
                ok = !W(s, j, "x");
                if (!ok)
                    break;
                j = nxc(s, j);
            }
            if (j >= 0 && s->t[j].cls == LX_AND)
                j = nxc(s, j);
        }
        if (ok && n >= 2) {
            f->count_lo = f->count_hi = n;
            f->count_t = first;
        }
    }
    /* "consolidation ..., consistent with an organising pneumonia pattern": a lesion named as
     * what an earlier lesion of its clause is, is that lesion; its article counts nothing */
    for (int fi = 0; fi < s->nf; fi++) {
        finding *f = &s->f[fi];
        if (!f->lesion || f->count_t < 0 || s->t[f->count_t].cls != LX_ARTICLE)
            continue;
        int by = 0, earlier = 0, cl = s->t[f->t0].clause, rel = relative_opens(s, f->t0);
        /* "..., which could represent a round pneumonia": the relative clause names the lesion before */
        for (int j = pv(s, f->count_t); j >= 0 && (s->t[j].clause == cl || (s->t[j].clause == cl - 1 && by && rel));
             j = pv(s, j)) {
            if (s->t[j].find >= 0) {
                earlier = by && s->f[s->t[j].find].lesion;
                break;
            }
            if (s->t[j].cls == LX_AND || s->t[j].cls == LX_NEG_PRE)
                break;
            by |= anywhere(s, j, EXPLAINS);
        }
        if (earlier)
            f->count_t = f->count_lo = f->count_hi = -1;
    }
    /* "focus of consolidation", "small patch of ground glass": a singular container is one */
    for (int i = 0; i < s->n; i++) {
        tok *k = &s->t[i];
        if (k->absorbed || k->cls != LX_CONTAINER || k->sub || !W(s, adj(s, i), "of"))
            continue;
        int r = adj(s, adj(s, i));
        while (r >= 0 && (s->t[r].cls == LX_MOD || s->t[r].cls == LX_SEVERITY || s->t[r].cls == LX_DIST))
            r = adj(s, r);
        if (r < 0 || s->t[r].find < 0 || !s->f[s->t[r].find].lesion || s->f[s->t[r].find].count_t >= 0)
            continue;
        s->f[s->t[r].find].count_lo = s->f[s->t[r].find].count_hi = 1;
        s->f[s->t[r].find].count_t = i;
    }
}

/* ---------------------------------------------------------------- severity */

static int pct_category(double v)
{
    return v <= 0 ? 0 : v < 25 ? 1 : v < 50 ? 2 : v < 75 ? 3 : 4;
}

/* Word i is an adjective of a finding ("new GGO", "increasing bilateral opacities"), not a
 * noun of its own ("increase in", "progression of"). */
static int describes_finding(const parse_state *s, int i)
{
    for (int j = adj(s, i), st = 0; j >= 0 && st < 4; j = adj(s, j), st++) {
        if (s->t[j].find >= 0)
            return 1;
        if (!(s->t[j].cls == LX_MOD || s->t[j].cls == LX_SEVERITY || s->t[j].cls == LX_DIST || s->t[j].run >= 0 ||
              s->t[j].cls == LX_TEMPORAL || s->t[j].cls == LX_AND))
            return 0;
    }
    return 0;
}

static void severity(parse_state *s)
{
    prose_attrs *a = s->a;
    for (int i = 0; i < s->n; i++) {
        tok *k = &s->t[i];
        if (k->absorbed)
            continue;
        if (k->cls == LX_SEVERITY) {
            /* modifying a non-lesion ("moderate cardiomegaly", "small effusion")? */
            int nonles = 0;
            for (int j = adj(s, i), st = 0; j >= 0 && st < 4; j = adj(s, j), st++) {
                if (s->t[j].find >= 0) {
                    nonles = !s->f[s->t[j].find].lesion;
                    break;
                }
                if (!(s->t[j].cls == LX_MOD || s->t[j].cls == LX_SIDE || s->t[j].run >= 0 || s->t[j].cls == LX_DIST ||
                      s->t[j].cls == LX_TO || s->t[j].cls == LX_SEVERITY || s->t[j].cls == LX_AND ||
                      s->t[j].cls == LX_NONE || s->t[j].cls == LX_REGION))
                    break;
            }
            /* or a change or a predominance: "slight interval decrease", "marked progression",
             * "a slight right-sided preponderance" */
            int j = nx(s, i);
            while (j >= 0 && s->t[j].chunk == k->chunk &&
                   (s->t[j].cls == LX_SIDE || s->t[j].cls == LX_REGION || W(s, j, "interval")))
                j = nx(s, j);
            if (j >= 0 && s->t[j].chunk == k->chunk &&
                ((s->t[j].cls == LX_TEMPORAL && s->t[j].val != PT_RESOLVED && !describes_finding(s, j)) ||
                 W(s, j, "change") || W(s, j, "changes") ||
                 s->t[j].cls == LX_PREDOM || (s->t[j].cls == LX_MORE && s->t[j].val != 2)))
                nonles = 1;
            if (!nonles) {
                /* or after one: "cardiomegaly is moderate" */
                int p = pv(s, i);
                while (p >= 0 && s->t[p].cls == LX_COPULA && s->t[p].chunk == k->chunk)
                    p = pv(s, p);
                if (p >= 0 && s->t[p].find >= 0 && !s->f[s->t[p].find].lesion && s->t[p].chunk == k->chunk)
                    nonles = 1;
            }
            if (nonles)
                continue;
            int v = k->val;
            int found_lesion = 0;
            for (int fi = 0; fi < s->nf; fi++)
                found_lesion |= s->f[fi].lesion && s->t[s->f[fi].t0].sent == k->sent;
            if (!found_lesion && !W(s, i, "mild") && !W(s, i, "moderate") && !W(s, i, "severe"))
                continue;
            if (!found_lesion) {
                /* "Severity: moderate." counts only with a severity word nearby */
                int p = pv(s, i);
                if (!(p >= 0 && (W(s, p, "severity") || W(s, p, "grade") || W(s, p, "category") || W(s, p, "is") ||
                                 W(s, p, "degree"))))
                    continue;
            }
            if (a->sev_lo == 0 || v < a->sev_lo)
                a->sev_lo = v;
            if (v > a->sev_hi)
                a->sev_hi = v;
            add_tok_span(s, PA_SEVERITY, i, i);
        } else if (k->cls == LX_CT) {
            int j = adj(s, i);
            if (j >= 0 && s->t[j].cls == LX_NUMBER && s->t[j].num >= 0 && s->t[j].num <= 4 &&
                s->t[j].num == (double)(int)s->t[j].num) {
                a->ct_category = (int)s->t[j].num;
                a->ct_stated = 1;
                s->t[j].absorbed = 1;
                add_tok_span(s, PA_SEVERITY, i, j);
            }
        } else if (k->cls == LX_NUMBER && adj(s, i) >= 0 && s->t[adj(s, i)].cls == LX_PCT && a->pct_lo < 0) {
            int pct = adj(s, i);
            double lo = k->num, hi = k->num;
            int t0 = i;
            int p = pv(s, i);
            if (p >= 0 && (s->t[p].cls == LX_TO || s->t[p].cls == LX_NUMBER) && s->t[p].chunk == k->chunk &&
                !(s->t[p].cls == LX_TO && s->t[p].val == 1)) {
                int p2 = s->t[p].cls == LX_NUMBER ? p : pv(s, p);
                if (p2 >= 0 && s->t[p2].cls == LX_NUMBER && s->t[p2].num < k->num) {
                    lo = s->t[p2].num;
                    t0 = p2;
                    p = pv(s, p2);
                } else if (s->t[p].cls == LX_TO && p2 >= 0 && W(s, p2, "up")) {
                    lo = 0;
                    t0 = p2;
                    p = -1;
                }
            }
            if (p >= 0 && s->t[p].cls == LX_TO && s->t[p].val == 1)
                p = pv(s, p);   /* than */
            if (p >= 0 && s->t[p].chunk == k->chunk && t0 == i) {
                if (s->t[p].cls == LX_LESS) {
                    lo = 0;
                    t0 = p;
                } else if (s->t[p].cls == LX_MORE || W(s, p, "over")) {
                    hi = 100;
                    t0 = p;
                }
            }
            a->pct_lo = lo;
            a->pct_hi = hi;
            add_tok_span(s, PA_SEVERITY, t0, pct);
        }
    }
    if (a->pct_lo >= 0 && !a->ct_stated)
        a->ct_category = pct_category(a->pct_lo == a->pct_hi ? a->pct_lo : (a->pct_lo + a->pct_hi) / 2);
}

/* ---------------------------------------------------------------- the record */

/* Sides (1 left, 2 right) a run names, by a side word or by zones. */
static int run_sides(const run *r)
{
    return r->whole | (r->zones & 7 ? 1 : 0) | (r->zones & 56 ? 2 : 0);
}

/* "Left effusion with overlying basal opacity": a lesion whose places name levels and no
 * side takes the one side its sentence names (on any finding); none when the sentence
 * names both sides or none. */
static void orphan_sides(parse_state *s)
{
    for (int fi = 0; fi < s->nf; fi++) {
        const finding *f = &s->f[fi];
        if (!f->lesion || f->negated || f->resolved || f->hypothetical)
            continue;
        int orph = 0, sides = 0, first = -1, sent = s->t[f->t0].sent, sentence_sides = 0;
        for (int ri = 0; ri < s->nr; ri++) {
            const run *r = &s->r[ri];
            if (r->negated)
                continue;
            if (s->t[r->t0].sent == sent)
                sentence_sides |= run_sides(r);
            if (r->find != fi || r->predlev)
                continue;
            sides |= run_sides(r) | (r->implied ? 3 : 0);
            if (r->orphan && first < 0)
                first = ri;
            orph |= r->orphan;
        }
        if (!orph || sides || (sentence_sides != 1 && sentence_sides != 2))
            continue;
        int sd = sentence_sides == 1 ? 0 : 1;
        for (int l = 0; l < 3; l++)
            if (orph & (1 << l))
                s->r[first].zones |= (uint8_t)(1 << (3 * sd + l));
        s->r[first].orphan = 0;
    }
}

/* "mucus plugging in the right lower lobe, with surrounding tree-in-bud opacities": a lesion
 * that names no place of its own and comes with an earlier finding of its clause is where that
 * finding is (its places are copied to it). */
static void with_hosts(parse_state *s)
{
    static const char *const AROUND[] = {"surrounding", "adjacent", "associated", "accompanying", "overlying",
                                         "underlying", "some", "an", "a", NULL};
    for (int fi = 0; fi < s->nf; fi++) {
        finding *f = &s->f[fi];
        if (!f->lesion || f->negated || f->resolved || f->hypothetical)
            continue;
        int placed = 0;
        for (int ri = 0; ri < s->nr && !placed; ri++)
            placed = s->r[ri].find == fi;
        if (placed)
            continue;
        int p = pv(s, f->t0);
        while (p >= 0 && s->t[p].clause == s->t[f->t0].clause && s->t[p].find < 0 && s->t[p].run < 0 &&
               (anywhere(s, p, AROUND) || s->t[p].cls == LX_MOD || s->t[p].cls == LX_DIST || hyphen_joined(s, p) ||
                s->t[p].cls == LX_UNCERTAIN || s->t[p].cls == LX_SEVERITY || s->t[p].cls == LX_TEMPORAL ||
                (s->t[p].cls == LX_NONE && adjective_like(s->t[p].w))))
            p = pv(s, p);
        if (!W(s, p, "with"))
            continue;
        int host = -1;
        for (int q = pv(s, p); q >= 0 && s->t[q].clause == s->t[p].clause && host < 0; q = pv(s, q))
            host = s->t[q].find;
        for (int ri = 0, nr = s->nr; host >= 0 && ri < nr && s->nr < MAX_RUNS; ri++)
            if (s->r[ri].find == host && !s->r[ri].negated && !s->r[ri].predlev) {
                s->r[s->nr] = s->r[ri];
                s->r[s->nr].find = fi;
                s->nr++;
            }
    }
}

/* The sides of whole-side run ri that only other lesions of its sentence locate ("Bilateral GGO
 * with a focal consolidation in the left lower lobe": the GGO stays bilateral and whole); a level
 * named for the run's own finding (or its list) on a side keeps that side narrowed. */
static uint8_t other_lesion_levels(const parse_state *s, int ri, const int *members, int nm)
{
    const run *r = &s->r[ri];
    uint8_t own = 0, other = 0;
    for (int q = 0; q < s->nr; q++) {
        const run *o = &s->r[q];
        if (q == ri || o->negated || o->predlev || o->find < 0 || !(o->zones & 63) ||
            s->t[o->t0].sent != s->t[r->t0].sent)
            continue;
        const finding *f = &s->f[o->find];
        if (!f->lesion || f->negated || f->resolved || f->hypothetical)
            continue;
        uint8_t sides = (uint8_t)((o->zones & 7 ? 1 : 0) | (o->zones & 56 ? 2 : 0));
        int mine = 0;
        for (int m = 0; m < nm && !mine; m++)
            mine = members[m] == o->find;
        if (mine)
            own |= sides;
        else
            other |= sides;
    }
    return (uint8_t)(r->whole & other & ~own);
}

/* Finding fi is said to be diffuse ("diffuse bilateral GGO", "GGO diffusely throughout"). */
static int diffuse_finding(const parse_state *s, int fi)
{
    int b, e;
    range_of(s, s->f[fi].t0, 0, &b, &e);
    for (int q = b; q <= e; q++)
        if (!s->t[q].absorbed && s->t[q].cls == LX_DIST && s->t[q].val == PD_DIFFUSE)
            return 1;
    return 0;
}

static void collect(parse_state *s)
{
    prose_attrs *a = s->a;
    uint8_t side_levels = 0, whole = 0, forced = 0;
    int neg_evidence = 0;
    /* current lesions */
    for (int fi = 0; fi < s->nf; fi++) {
        finding *f = &s->f[fi];
        if (f->hypothetical)
            continue;
        if (!f->lesion) {
            a->nonlesion |= f->kind;
            add_tok_span(s, PA_NONLESION, f->t0, f->t1);
            continue;
        }
        if (f->negated) {
            a->n_negated++;
            neg_evidence = 1;
            if (f->neg_t >= 0)
                add_tok_span(s, PA_NEGATION, f->neg_t, f->neg_t);
            /* "the previously noted nodule is not seen": gone since the earlier study */
            if (f->resolved && a->temporal == PT_NONE)
                a->temporal = PT_RESOLVED;
            continue;
        }
        if (f->resolved) {
            neg_evidence = 1;
            if (f->tmp_t >= 0)
                add_tok_span(s, PA_TEMPORAL, f->tmp_t, f->tmp_t);
            if (a->temporal == PT_NONE)
                a->temporal = PT_RESOLVED;
            continue;
        }
        a->n_current++;
        a->findings |= f->kind;
        add_tok_span(s, PA_FINDING, f->t0, f->t1);
        if (f->uncertain) {
            a->uncertain = 1;
            add_tok_span(s, PA_UNCERTAINTY, f->unc_t, f->unc_t);
        }
        if (f->temporal != PT_NONE) {
            if (a->temporal == PT_NONE || a->temporal == PT_RESOLVED)
                a->temporal = f->temporal;
            add_tok_span(s, PA_TEMPORAL, f->tmp_t, f->tmp_t);
        }
        if (f->count_t >= 0) {
            if (a->count_lo < 0)
                a->count_lo = a->count_hi = 0;
            a->count_lo += f->count_lo;
            a->count_hi = a->count_hi >= PROSE_COUNT_OPEN || f->count_hi >= PROSE_COUNT_OPEN
                              ? PROSE_COUNT_OPEN
                              : a->count_hi + f->count_hi;
            add_tok_span(s, PA_COUNT, f->count_t, f->t1);
        }
    }
    with_hosts(s);
    /* "Lungs unchanged with right basal consolidation": "the lungs" without a side word is the
     * subject, not a place, when the same finding is placed on a side */
    for (int ri = 0; ri < s->nr; ri++) {
        run *r = &s->r[ri];
        if (!r->lungs_only || r->negated || r->find < 0)
            continue;
        for (int o = 0; o < s->nr; o++)
            if (o != ri && s->r[o].find == r->find && !s->r[o].negated && !s->r[o].lungs_only &&
                !s->r[o].predlev && !s->r[o].predom && (s->r[o].zones || s->r[o].whole)) {
                r->negated = 1;
                break;
            }
    }
    /* anatomy phrases in clauses without findings go to the nearest lesion of their sentence */
    for (int ri = 0; ri < s->nr; ri++)
        if (s->r[ri].find < 0 && !s->r[ri].negated && !s->r[ri].heading)
            s->r[ri].find = nearest_lesion(s, ri);
    orphan_sides(s);
    /* "the right lung shows consolidation in the lower lobe", "perihilar haziness on the right":
     * a side without a level and a level without a side on one finding make one place */
    for (int fi = 0; fi < s->nf; fi++) {
        uint8_t orph = 0, sides = 0;
        for (int ri = 0; ri < s->nr; ri++)
            if (s->r[ri].find == fi && !s->r[ri].negated && !s->r[ri].predlev) {
                orph |= s->r[ri].orphan | s->r[ri].implied;
                sides |= s->r[ri].whole;
            }
        if (!orph || !sides)
            continue;
        /* "the right lung shows consolidation in the middle and lower lobes": the plural's
         * "both sides" gives way to the side named for the same finding */
        for (int ri = 0; ri < s->nr; ri++) {
            run *r = &s->r[ri];
            if (r->find != fi || r->negated || r->predlev || !r->implied)
                continue;
            for (int l = 0; l < 3; l++)
                if (r->implied & (1 << l))
                    r->zones &= (uint8_t)~((1 << l) | (1 << (3 + l)));
        }
        for (int ri = 0; ri < s->nr; ri++) {
            run *r = &s->r[ri];
            if (r->find != fi || r->negated || !r->whole)
                continue;
            for (int sd = 0; sd < 2; sd++)
                if (r->whole & (1 << sd))
                    for (int l = 0; l < 3; l++)
                        if (orph & (1 << l))
                            r->zones |= (uint8_t)(1 << (3 * sd + l));
            r->whole = 0;
        }
    }
    /* sentences that locate current lesions (a level on some side) */
    static _Thread_local uint8_t sent_levels[MAX_TOKS];
    int nsent = s->n ? s->t[s->n - 1].sent + 1 : 0, any_levels = 0;
    memset(sent_levels, 0, (size_t)nsent);
    for (int ri = 0; ri < s->nr; ri++) {
        run *r = &s->r[ri];
        if (r->negated || r->find < 0 || r->predlev || !(r->zones & 63))
            continue;
        finding *f = &s->f[r->find];
        if (f->lesion && !f->negated && !f->resolved && !f->hypothetical) {
            sent_levels[s->t[r->t0].sent] = 1;
            any_levels = 1;
        }
    }
    for (int pass = 0; pass < 2; pass++)
        for (int ri = 0; ri < s->nr; ri++) {
            run *r = &s->r[ri];
            if (r->negated) {
                if (pass == 0 && (r->find < 0 || r->cleared) && !r->surgery)
                    neg_evidence = 1;
                continue;
            }
            if (r->find < 0)
                continue;
            /* the run applies to its finding and the list around it */
            int members[16], nm = 0;
            int head = r->find;
            while (list_prev(s, head) >= 0 && nm < 8)
                head = list_prev(s, head), nm++;
            nm = 0;
            for (int g = head; g >= 0 && nm < 16; g = list_next(s, g))
                members[nm++] = g;
            int applies = 0;
            for (int q = 0; q < nm; q++) {
                finding *f = &s->f[members[q]];
                applies |= f->lesion && !f->negated && !f->resolved && !f->hypothetical;
            }
            if (!applies)
                continue;
            if (pass == 0) {
                for (int sd = 0; sd < 2 && !r->predlev; sd++)
                    if (r->zones & (7 << (3 * sd)))
                        side_levels |= (uint8_t)(1 << sd);
                add_tok_span(s, PA_ZONES, r->t0, r->t1);
            } else {
                for (int z = 0; z < ZONE_COUNT; z++)
                    if (r->zones & (1 << z))
                        a->zones[z] = 1;
                /* a summary ("Impression: bilateral pneumonia") after located findings names
                 * sides, it does not widen them */
                if (r->whole && any_levels && !sent_levels[s->t[r->t0].sent])
                    a->summary_sides |= r->whole;
                else
                    whole |= r->whole;
                if (r->whole && diffuse_finding(s, r->find))
                    forced |= r->whole;   /* "diffuse bilateral GGO with consolidation in the lower lobes" */
                if (r->whole)
                    forced |= other_lesion_levels(s, ri, members, nm);
                if (r->predlev == 2)
                    whole |= (uint8_t)((r->zones & 7 ? 1 : 0) | (r->zones & 56 ? 2 : 0));
            }
        }
    for (int sd = 0; sd < 2; sd++)
        if ((whole & (1 << sd)) && (!(side_levels & (1 << sd)) || (forced & (1 << sd))))
            for (int l = 0; l < 3; l++)
                a->zones[3 * sd + l] = 1;
    for (int ri = 0; ri < s->nr; ri++) {
        for (int z = 0; z < ZONE_COUNT && s->r[ri].excluded; z++)
            if (s->r[ri].zones & (1 << z))
                a->zones[z] = 0;
        /* "throughout the left lung, sparing the apex": a level without a side leaves the whole sides */
        for (int sd = 0; sd < 2 && s->r[ri].excluded && !s->r[ri].zones; sd++)
            for (int l = 0; l < 3 && (whole & (1 << sd)); l++)
                if (s->r[ri].orphan & (1 << l))
                    a->zones[3 * sd + l] = 0;
    }
    /* distribution of current lesions */
    for (int i = 0; i < s->n; i++) {
        tok *k = &s->t[i];
        if (k->absorbed || k->cls != LX_DIST)
            continue;
        int near = 0, b, e;
        range_of(s, i, 1, &b, &e);
        for (int j = b; j <= e; j++) {
            const finding *f = s->t[j].find >= 0 ? &s->f[s->t[j].find] : NULL;
            near |= f && f->lesion && !f->negated && !f->resolved && !f->hypothetical;
        }
        if (near) {
            a->distribution |= k->val;
            add_tok_span(s, PA_DISTRIBUTION, i, i);
        }
    }
    if ((a->distribution & PD_DIFFUSE) && a->n_current > 0 && zones_count(a->zones) == 0)
        for (int z = 0; z < ZONE_COUNT; z++)
            a->zones[z] = 1;
    /* negation evidence: triggers that cleared a region or negated a lesion */
    for (int ri = 0; ri < s->nr; ri++)
        if (s->r[ri].cleared && s->r[ri].clear_t >= 0)
            add_tok_span(s, PA_NEGATION, s->r[ri].clear_t, s->r[ri].clear_t);
    a->located = zones_count(a->zones) > 0;
    a->lat = a->located ? zones_laterality(a->zones) : a->n_current > 0 ? LAT_UNKNOWN : LAT_NONE;
    a->negative = a->n_current == 0 && (neg_evidence || s->study_normal);
    if (a->n_current == 0) {
        a->distribution = 0;
        a->predominance_side = LAT_NONE;
        a->predominance_levels = 0;
    }
    for (int i = 0; i < s->n; i++)
        if (s->t[i].typo && !s->t[i].absorbed && s->t[i].cls != LX_NONE) {
            a->n_typos++;
            add_tok_span(s, PA_TYPO, i, i);
        }
    int sents = 0, clauses = 0;
    if (s->n > 0) {
        sents = s->t[s->n - 1].sent + 1;
        clauses = s->t[s->n - 1].clause + 1;
    }
    a->n_sentences = sents;
    a->n_clauses = clauses;
}

/* clause words split clauses (after the tokenizer's punctuation) */
static void clause_words(parse_state *s)
{
    int shift = 0, chunk_shift = 0;
    for (int i = 0; i < s->n; i++) {
        tok *k = &s->t[i];
        int p = pv(s, i);
        int boundary = !k->absorbed && k->cls == LX_BOUNDARY;
        /* "..., and there is", "and the left lung is clear": "and" before "there" */
        if (!k->absorbed && k->cls == LX_THERE && p >= 0 && s->t[p].cls == LX_AND)
            boundary = 1;
        if (boundary && p >= 0 && s->t[p].sent == k->sent) {
            shift++;
            chunk_shift++;
        }
        k->clause += shift;
        k->chunk += chunk_shift;
    }
}

void prose_parse(const char *utf8, prose_attrs *out)
{
    static _Thread_local parse_state st;
    parse_state *s = &st;
    memset(out, 0, sizeof *out);
    out->count_lo = out->count_hi = -1;
    out->ct_category = -1;
    out->pct_lo = out->pct_hi = -1;
    out->lat = LAT_NONE;
    s->text = utf8 ? utf8 : "";
    s->a = out;
    s->study_normal = 0;
    tokenize(s);
    classify(s);
    phrases(s);
    clause_words(s);
    predominance(s);
    anatomy(s);
    findings(s);
    attribution(s);
    attach(s);
    hypotheticals(s);
    negation(s);
    modifiers(s);
    counts(s);
    severity(s);
    collect(s);
}

const char *prose_temporal_name(prose_temporal t)
{
    static const char *names[] = {"none", "new", "worse", "stable", "better", "resolved"};
    return (unsigned)t <= PT_RESOLVED ? names[t] : "none";
}

const char *prose_attr_name(prose_attr a)
{
    static const char *names[] = {"zones",       "finding",     "nonlesion",    "negation",
                                  "uncertainty", "temporal",    "count",        "severity",
                                  "distribution", "predominance", "typo"};
    return (unsigned)a < PA_COUNT_ATTRS ? names[a] : "?";
}

void prose_severity_string(const prose_attrs *a, char *out, size_t cap)
{
    static const char *w[] = {"", "mild", "moderate", "severe"};
    char buf[96] = "";
    size_t n = 0;
    if (a->sev_lo > 0) {
        if (a->sev_hi > a->sev_lo)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s-%s", w[a->sev_lo], w[a->sev_hi]);
        else
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", w[a->sev_lo]);
    }
    if (a->ct_category >= 0 && n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%sCT%d", n ? "/" : "", a->ct_category);
    if (a->pct_lo >= 0 && n < sizeof buf) {
        if (a->pct_hi > a->pct_lo)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%spct%g-%g", n ? "/" : "", a->pct_lo, a->pct_hi);
        else
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%spct%g", n ? "/" : "", a->pct_lo);
    }
    snprintf(out, cap, "%s", n ? buf : "-");
}

void prose_count_string(const prose_attrs *a, char *out, size_t cap)
{
    if (a->count_lo < 0)
        snprintf(out, cap, "-");
    else if (a->count_hi == a->count_lo)
        snprintf(out, cap, "%d", a->count_lo);
    else if (a->count_hi >= PROSE_COUNT_OPEN)
        snprintf(out, cap, "%d+", a->count_lo);
    else
        snprintf(out, cap, "%d-%d", a->count_lo, a->count_hi);
}

cJSON *prose_attrs_json(const prose_attrs *a, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char buf[128];
    cJSON_AddStringToObject(o, "laterality", laterality_name(a->lat));
    int zi[ZONE_COUNT];
    for (int k = 0; k < ZONE_COUNT; k++)
        zi[k] = a->zones[k];
    cJSON_AddItemToObject(o, "zones", cJSON_CreateIntArray(zi, ZONE_COUNT));
    prose_count_string(a, buf, sizeof buf);
    cJSON_AddStringToObject(o, "count", buf);
    cJSON_AddBoolToObject(o, "negative", a->negative);
    cJSON_AddNumberToObject(o, "negated_mentions", a->n_negated);
    cJSON_AddBoolToObject(o, "uncertain", a->uncertain);
    cJSON_AddStringToObject(o, "temporal", prose_temporal_name(a->temporal));
    prose_severity_string(a, buf, sizeof buf);
    cJSON_AddStringToObject(o, "severity", buf);
    if (a->ct_category >= 0)
        cJSON_AddNumberToObject(o, "ct_category", a->ct_category);
    else
        cJSON_AddNullToObject(o, "ct_category");
    cJSON *dist = cJSON_AddArrayToObject(o, "distribution");
    static const char *dn[] = {"peripheral", "subpleural", "central", "diffuse", "peribronchovascular"};
    for (int k = 0; k < 5; k++)
        if (a->distribution & (1 << k))
            cJSON_AddItemToArray(dist, cJSON_CreateString(dn[k]));
    cJSON *pd = cJSON_AddObjectToObject(o, "predominance");
    cJSON_AddStringToObject(pd, "side", laterality_name(a->predominance_side));
    cJSON *pl = cJSON_AddArrayToObject(pd, "levels");
    static const char *ln[] = {"upper", "middle", "lower"};
    for (int k = 0; k < 3; k++)
        if (a->predominance_levels & (1 << k))
            cJSON_AddItemToArray(pl, cJSON_CreateString(ln[k]));
    cJSON *fd = cJSON_AddArrayToObject(o, "findings");
    static const char *fn[] = {"ground-glass", "consolidation", "crazy-paving", "infiltrate", "opacity", "nodule",
                               "other"};
    for (int k = 0; k < 7; k++)
        if (a->findings & (1 << k))
            cJSON_AddItemToArray(fd, cJSON_CreateString(fn[k]));
    cJSON *nl = cJSON_AddArrayToObject(o, "not_lung_lesion");
    static const char *nn[] = {"effusion", "cardiomegaly", "device", "pneumothorax", "atelectasis", "other"};
    for (int k = 0; k < 6; k++)
        if (a->nonlesion & (1 << k))
            cJSON_AddItemToArray(nl, cJSON_CreateString(nn[k]));
    cJSON_AddNumberToObject(o, "current_lesions", a->n_current);
    cJSON_AddNumberToObject(o, "sentences", a->n_sentences);
    cJSON_AddNumberToObject(o, "clauses", a->n_clauses);
    cJSON_AddNumberToObject(o, "typos", a->n_typos);
    cJSON *ev = cJSON_AddArrayToObject(o, "evidence");
    size_t tl = text ? strlen(text) : 0;
    for (int k = 0; k < a->n_spans; k++) {
        const prose_span *sp = &a->spans[k];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "attribute", prose_attr_name((prose_attr)sp->attr));
        cJSON_AddNumberToObject(e, "start", sp->start);
        cJSON_AddNumberToObject(e, "end", sp->end);
        if (text && sp->start >= 0 && (size_t)sp->end <= tl && sp->end > sp->start && sp->end - sp->start < 400) {
            char w[400];
            memcpy(w, text + sp->start, (size_t)(sp->end - sp->start));
            w[sp->end - sp->start] = 0;
            cJSON_AddStringToObject(e, "text", w);
        }
        cJSON_AddItemToArray(ev, e);
    }
    return o;
}
