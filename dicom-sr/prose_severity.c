/* prose_severity: how severe and how extensive. mild / moderate / severe ("mild to moderate" =
 * 1..2), the percentage of lung involved and CT-0..CT-4 (stated, else from the percentage).
 * Severity words before non-lesions ("moderate cardiomegaly") are not the lesions' severity. */
#include "dicom-sr/prose_parts.h"

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

void prose_severity(parse_state *s)
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
            prose_add_tok_span(s, PA_SEVERITY, i, i);
        } else if (k->cls == LX_CT) {
            int j = adj(s, i);
            if (j >= 0 && s->t[j].cls == LX_NUMBER && s->t[j].num >= 0 && s->t[j].num <= 4 &&
                s->t[j].num == (double)(int)s->t[j].num) {
                a->ct_category = (int)s->t[j].num;
                a->ct_stated = 1;
                s->t[j].absorbed = 1;
                prose_add_tok_span(s, PA_SEVERITY, i, j);
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
            prose_add_tok_span(s, PA_SEVERITY, t0, pct);
        }
    }
    if (a->pct_lo >= 0 && !a->ct_stated)
        a->ct_category = pct_category(a->pct_lo == a->pct_hi ? a->pct_lo : (a->pct_lo + a->pct_hi) / 2);
}
