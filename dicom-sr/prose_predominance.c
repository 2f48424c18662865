/* prose_predominance: the side or level the lesions favour. "more pronounced on the right",
 * "right-sided predominance", "R > L", "right greater than left": bilateral with right
 * predominance, and the side word is not a location. "predominantly in the lower lobes",
 * "basal predominance": level predominance (the anatomy stays a location). */
#include "dicom-sr/prose_parts.h"

#include <string.h>

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

/* Level or zone word q is the level the lesions favour, said by tokens [t0, t1]; predlev 1 when
 * the word follows the trigger ("predominantly in the lower lobes"), 2 when it precedes it ("lower
 * zone predominance"). */
static void predominant_level(parse_state *s, tok *q, int t0, int t1, int predlev)
{
    s->a->predominance_levels |= q->cls == LX_LEVEL ? q->val : 0;
    if (q->cls == LX_ZONEWORD)
        s->a->predominance_levels |= (q->val & 9 ? 1 : 0) | (q->val & 18 ? 2 : 0) | (q->val & 36 ? 4 : 0);
    prose_add_tok_span(s, PA_PREDOMINANCE, t0, t1);
    q->predlev = predlev;
}

void prose_predominance(parse_state *s)
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
                prose_add_tok_span(s, PA_PREDOMINANCE, i, end);
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
                prose_add_tok_span(s, PA_PREDOMINANCE, i, m);
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
                prose_add_tok_span(s, PA_PREDOMINANCE, i, i);
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
                        prose_add_tok_span(s, PA_PREDOMINANCE, i, j);
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
                    prose_add_tok_span(s, PA_PREDOMINANCE, i, after);
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
                prose_add_tok_span(s, PA_PREDOMINANCE, i, j);
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
                predominant_level(s, q, i, j, 1);
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
                prose_add_tok_span(s, PA_PREDOMINANCE, j, i);
                for (int r = j + 1; r < i; r++)
                    s->t[r].absorbed = 1;
                q->val = 3;
                q->sub = 7;
                break;
            }
            if (q->cls == LX_LEVEL || q->cls == LX_ZONEWORD) {
                predominant_level(s, q, j, i, 2);
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
