/* prose_counts: how many lesions the text states. Count words and digits before a finding
 * ("two nodules", "a focus of", "multiple" = 2+, "several" = 3+, "a few" = 2-4), reaching over
 * modifiers, sizes and adjectives ("a 9 mm subsolid nodule" = 1); the record sums the counts of
 * the current lesions. */
#include "dicom-sr/prose_parts.h"

#include <string.h>

/* The clause of token i opens with "which" (a relative clause about the clause before). */
static int relative_opens(const parse_state *s, int i)
{
    while (i > 0 && s->t[i - 1].clause == s->t[i].clause)
        i--;
    return W(s, i, "which");
}

/* Token i is a whole number 1..20 (a count, not a size or a percentage by itself). */
static int count_number(const parse_state *s, int i)
{
    return i >= 0 && s->t[i].cls == LX_NUMBER && s->t[i].val >= 1 && s->t[i].val <= 20 &&
           s->t[i].num == (double)(int)s->t[i].num;
}

void prose_counts(parse_state *s)
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
                  q->cls == LX_AND ||
                  (q->cls == LX_NONE && (prose_adjective_like(q->w) || prose_hyphen_joined(s, j))) ||
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
        int target = prose_nearest_lesion(s, s->t[p].run);
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
