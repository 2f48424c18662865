/* prose_modifiers: hedges and time. Uncertainty and time words apply to the findings of their
 * chunk, or, when their chunk has no finding, to the findings of their clause; relative clauses
 * ("..., which has progressed"), differentials ("opacity, atelectasis or pneumonia") and
 * pronoun sentences ("It has increased.") carry them to the finding they are about. Time:
 * resolved (not current) > improving > new / worse (first written) > stable > "previously"
 * alone (not current). */
#include "dicom-sr/prose_parts.h"

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
        for (int h = fi, st = 0; h >= 0 && st < 16 && !member; h = prose_list_next(s, h), st++)
            member = h == g;
        for (int h = g, st = 0; h >= 0 && st < 16 && !member; h = prose_list_next(s, h), st++)
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
        if (!prose_chunk_has_finding(s, hb, 0) && !prose_chunk_has_finding(s, he, 0))
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
            if (pass == 1 && prose_chunk_has_finding(s, i, cls == LX_UNCERTAIN))
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

void prose_modifiers(parse_state *s)
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
