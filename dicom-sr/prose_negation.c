/* prose_negation: NegEx-style negation with scope, and hypotheses. Pre-triggers ("no",
 * "without", "negative for", "free of", "absence of") reach forward to the end of the clause,
 * across commas only into bare lists ("no consolidation, effusion or pneumothorax");
 * post-triggers ("not seen", "absent", "excluded") reach back within the comma chunk, across
 * "and" only inside a list; "clear" / "normal" / "unremarkable" clear the findings and regions
 * of their chunk. What a request names ("Indication: ?pneumonia.") or a further test should
 * exclude is a hypothesis, not a finding of the study. */
#include "dicom-sr/prose_parts.h"

/* The chunk of token i holds a finding (a lesion when lesion_only). */
int prose_chunk_has_finding(const parse_state *s, int i, int lesion_only)
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

/* "follow-up CT is recommended to exclude an underlying lesion": the lesions after "to
 * exclude" / "to rule out" in its clause are what a further test looks for, not findings. */
void prose_hypotheticals(parse_state *s)
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

void prose_negation(parse_state *s)
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
                    if (j >= 0 && j < s->n && s->t[j].chunk == k->chunk && anywhere(s, j, prose_study_words))
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
        if (prose_chunk_has_finding(s, pb, 0))
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
