/* prose_tokens: report prose as tokens, and what each word is.
 * Tokens are [a-z0-9] runs (letters and digits split, "5mm" = 5 mm, "2.5" one number) with
 * their byte spans; '%' '<' '>' are tokens; '?' glued to a word is "query" (uncertain).
 * . ! ? and new lines end sentences, ; : end clauses, , ( ) [ ] end comma chunks; after the
 * phrases, clause words ("but", "however", "while", "except", "otherwise", "which", ...) split
 * clauses too. Each word takes its lexicon class (prose_lexicon.c, typo tolerant). The
 * word-shape tests that the counts and the record share are here too. */
#include "dicom-sr/prose_parts.h"

#include <stdlib.h>
#include <string.h>

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

void prose_tokenize(parse_state *s)
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

void prose_classify(parse_state *s)
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

/* clause words split clauses (after the tokenizer's punctuation) */
void prose_clause_words(parse_state *s)
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

/* A word outside the lexicon that reads as an adjective ("a cavitating lesion", "two
 * calcified-looking nodules", "a known nodule"): counts reach over it. */
int prose_adjective_like(const char *w)
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
int prose_hyphen_joined(const parse_state *s, int i)
{
    int after = i + 1 < s->n && s->text[s->t[i].end] == '-' && s->t[i + 1].start == s->t[i].end + 1;
    int before = i > 0 && s->t[i].start > 0 && s->text[s->t[i].start - 1] == '-' &&
                 s->t[i - 1].end == s->t[i].start - 1;
    return after || before;
}
