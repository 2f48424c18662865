/* prose_collect: the record (prose_attrs) from the findings and the anatomy runs, with its
 * evidence spans. Current lesions = lesion findings neither negated, resolved nor hypothetical;
 * their zones are the union of their anatomy; "whole side" fills a side only when no current
 * lesion names a level on that side (so an impression's "both lungs" does not widen the
 * findings); the count is the sum of the counts stated before current lesions. */
#include "dicom-sr/prose_parts.h"

#include <string.h>

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

void prose_add_tok_span(parse_state *s, prose_attr attr, int t0, int t1)
{
    if (t0 < 0 || t1 < t0)
        return;
    add_span(s->a, attr, s->t[t0].start, s->t[t1].end);
}

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
               (anywhere(s, p, AROUND) || s->t[p].cls == LX_MOD || s->t[p].cls == LX_DIST ||
                prose_hyphen_joined(s, p) || s->t[p].cls == LX_UNCERTAIN || s->t[p].cls == LX_SEVERITY ||
                s->t[p].cls == LX_TEMPORAL ||
                (s->t[p].cls == LX_NONE && prose_adjective_like(s->t[p].w))))
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

void prose_collect(parse_state *s)
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
            prose_add_tok_span(s, PA_NONLESION, f->t0, f->t1);
            continue;
        }
        if (f->negated) {
            a->n_negated++;
            neg_evidence = 1;
            if (f->neg_t >= 0)
                prose_add_tok_span(s, PA_NEGATION, f->neg_t, f->neg_t);
            /* "the previously noted nodule is not seen": gone since the earlier study */
            if (f->resolved && a->temporal == PT_NONE)
                a->temporal = PT_RESOLVED;
            continue;
        }
        if (f->resolved) {
            neg_evidence = 1;
            if (f->tmp_t >= 0)
                prose_add_tok_span(s, PA_TEMPORAL, f->tmp_t, f->tmp_t);
            if (a->temporal == PT_NONE)
                a->temporal = PT_RESOLVED;
            continue;
        }
        a->n_current++;
        a->findings |= f->kind;
        prose_add_tok_span(s, PA_FINDING, f->t0, f->t1);
        if (f->uncertain) {
            a->uncertain = 1;
            prose_add_tok_span(s, PA_UNCERTAINTY, f->unc_t, f->unc_t);
        }
        if (f->temporal != PT_NONE) {
            if (a->temporal == PT_NONE || a->temporal == PT_RESOLVED)
                a->temporal = f->temporal;
            prose_add_tok_span(s, PA_TEMPORAL, f->tmp_t, f->tmp_t);
        }
        if (f->count_t >= 0) {
            if (a->count_lo < 0)
                a->count_lo = a->count_hi = 0;
            a->count_lo += f->count_lo;
            a->count_hi = a->count_hi >= PROSE_COUNT_OPEN || f->count_hi >= PROSE_COUNT_OPEN
                              ? PROSE_COUNT_OPEN
                              : a->count_hi + f->count_hi;
            prose_add_tok_span(s, PA_COUNT, f->count_t, f->t1);
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
            s->r[ri].find = prose_nearest_lesion(s, ri);
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
            while (prose_list_prev(s, head) >= 0 && nm < 8)
                head = prose_list_prev(s, head), nm++;
            nm = 0;
            for (int g = head; g >= 0 && nm < 16; g = prose_list_next(s, g))
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
                prose_add_tok_span(s, PA_ZONES, r->t0, r->t1);
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
            prose_add_tok_span(s, PA_DISTRIBUTION, i, i);
        }
    }
    if ((a->distribution & PD_DIFFUSE) && a->n_current > 0 && zones_count(a->zones) == 0)
        for (int z = 0; z < ZONE_COUNT; z++)
            a->zones[z] = 1;
    /* negation evidence: triggers that cleared a region or negated a lesion */
    for (int ri = 0; ri < s->nr; ri++)
        if (s->r[ri].cleared && s->r[ri].clear_t >= 0)
            prose_add_tok_span(s, PA_NEGATION, s->r[ri].clear_t, s->r[ri].clear_t);
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
            prose_add_tok_span(s, PA_TYPO, i, i);
        }
    int sents = 0, clauses = 0;
    if (s->n > 0) {
        sents = s->t[s->n - 1].sent + 1;
        clauses = s->t[s->n - 1].clause + 1;
    }
    a->n_sentences = sents;
    a->n_clauses = clauses;
}
