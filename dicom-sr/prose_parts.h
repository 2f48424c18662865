/* prose_parts: the state the stages of the report-prose parser share (private to the
 * dicom-sr/prose_*.c files; callers use prose_parse.h).
 * One parse_state holds the text's tokens (each with its sentence, clause and comma-chunk id),
 * the anatomy runs and the findings; prose_parse() (prose_parse.c) runs the stages declared at
 * the end in their order, each reading and amending the state. The token walkers every stage
 * calls in its loops (W, nx, pv, adj, range_of ...) are static inline here so that each part
 * inlines them as the single file did. */
#ifndef C2SEG_DICOM_SR_PROSE_PARTS_H
#define C2SEG_DICOM_SR_PROSE_PARTS_H

#include "dicom-sr/prose_lexicon.h"
#include "dicom-sr/prose_parse.h"

#include <stdint.h>
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

/* ---------------------------------------------------------------- token walkers */

static inline int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static inline int is_digit(int c) { return c >= '0' && c <= '9'; }

static inline int W(const parse_state *s, int i, const char *w)
{
    return i >= 0 && i < s->n && s->t[i].w[0] == w[0] && strcmp(s->t[i].w, w) == 0;
}

/* The nearest non-absorbed token of the same sentence after token i (step 1) or before it
 * (step -1), or -1. */
static inline int sentence_step(const parse_state *s, int i, int step)
{
    if (i < 0)
        return -1;
    for (int j = i + step; step > 0 ? j < s->n : j >= 0; j += step) {
        if (s->t[j].sent != s->t[i].sent)
            return -1;
        if (!s->t[j].absorbed)
            return j;
    }
    return -1;
}

/* Next / previous non-absorbed token of the same sentence, or -1. */
static inline int nx(const parse_state *s, int i) { return sentence_step(s, i, 1); }
static inline int pv(const parse_state *s, int i) { return sentence_step(s, i, -1); }

/* Next token of the same clause, or -1. */
static inline int nxc(const parse_state *s, int i)
{
    int j = nx(s, i);
    return j >= 0 && s->t[j].clause == s->t[i].clause ? j : -1;
}

/* Adjacent in the text: same chunk, next token. */
static inline int adj(const parse_state *s, int i)
{
    int j = nx(s, i);
    return j >= 0 && s->t[j].chunk == s->t[i].chunk ? j : -1;
}

static inline int anywhere(const parse_state *s, int i, const char *const *words)
{
    for (int k = 0; words[k]; k++)
        if (W(s, i, words[k]))
            return 1;
    return 0;
}

/* Text right after token i (spaces skipped) is c. */
static inline int followed_by(const parse_state *s, int i, char c)
{
    const char *p = s->text + s->t[i].end;
    while (*p == ' ')
        p++;
    return *p == c;
}

static inline void set(tok *k, lex_class cls, int val, int sub)
{
    k->cls = cls;
    k->val = val;
    k->sub = sub;
}

static inline int is_finding_cls(lex_class c) { return c == LX_LESION || c == LX_GENERIC || c == LX_NONLESION; }
static inline int is_anat_cls(lex_class c)
{
    return c == LX_SIDE || c == LX_LEVEL || c == LX_ZONEWORD || c == LX_REGION || c == LX_ALL || c == LX_SEGNAME ||
           c == LX_SEGMENT;
}

static inline int side_lr(const tok *k) { return k->cls == LX_SIDE && (k->val == 1 || k->val == 2) ? k->val : 0; }

/* The token range [*b, *e] of the chunk (level 0), clause (1) or sentence (2) of token i:
 * the ids only grow along the text, so the range is contiguous. */
static inline void range_of(const parse_state *s, int i, int level, int *b, int *e)
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

/* ---------------------------------------------------------------- stages, in prose_parse()'s order */

void prose_tokenize(parse_state *s);       /* prose_tokens.c: tokens, spans, sentence / clause / chunk ids */
void prose_classify(parse_state *s);       /* prose_tokens.c: lexicon classes */
void prose_phrases(parse_state *s);        /* prose_phrases.c: multi-word phrases as one token */
void prose_clause_words(parse_state *s);   /* prose_tokens.c: clause words split clauses */
void prose_predominance(parse_state *s);   /* prose_predominance.c */
void prose_anatomy(parse_state *s);        /* prose_anatomy.c: anatomy runs -> zones */
void prose_findings(parse_state *s);       /* prose_findings.c */
void prose_attribution(parse_state *s);    /* prose_findings.c: opacities explained as non-lesions */
void prose_attach(parse_state *s);         /* prose_anatomy.c: each run onto one finding */
void prose_hypotheticals(parse_state *s);  /* prose_negation.c: requests, "to exclude ..." */
void prose_negation(parse_state *s);       /* prose_negation.c */
void prose_modifiers(parse_state *s);      /* prose_modifiers.c: hedges and time */
void prose_counts(parse_state *s);         /* prose_counts.c */
void prose_severity(parse_state *s);       /* prose_severity.c */
void prose_collect(parse_state *s);        /* prose_collect.c: the record */

/* ---------------------------------------------------------------- one part's helpers that others call */

int prose_adjective_like(const char *w);                       /* prose_tokens.c */
int prose_hyphen_joined(const parse_state *s, int i);          /* prose_tokens.c */
extern const char *const prose_study_words[];                  /* prose_phrases.c: "study", "chest", "ct" ... */
int prose_list_next(const parse_state *s, int fi);             /* prose_findings.c */
int prose_list_prev(const parse_state *s, int fi);             /* prose_findings.c */
int prose_nearest_lesion(const parse_state *s, int ri);        /* prose_anatomy.c */
int prose_chunk_has_finding(const parse_state *s, int i, int lesion_only);   /* prose_negation.c */
void prose_add_tok_span(parse_state *s, prose_attr attr, int t0, int t1);   /* prose_collect.c: evidence */

#endif
