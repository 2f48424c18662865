/* prose_anatomy: laterality and zones. Runs of side / level / lobe / zone words ("right upper
 * and middle lobes", "RUL and left lower lobe", "lower lobes bilaterally", "posterior basal
 * segment of the left lower lobe", "both lung bases") become zone masks, or "whole side" when no
 * level is named. Without a side: plural levels mean both sides ("lower lobes", "bases",
 * "apices"), "middle lobe" is right, otherwise the phrase has no side. Each run then attaches to
 * one finding of its clause: after a preposition ("in the right lower lobe") the nearest finding
 * before it, otherwise the nearest after it ("right lower lobe consolidation"), else before. */
#include "dicom-sr/prose_parts.h"

#include <string.h>

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

void prose_anatomy(parse_state *s)
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

void prose_attach(parse_state *s)
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

/* The lesion finding an anatomy run locates: its own, else the nearest lesion of its sentence
 * (as prose_collect() attaches phrases in clauses without findings), -1. */
int prose_nearest_lesion(const parse_state *s, int ri)
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
