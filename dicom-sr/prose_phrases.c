/* prose_phrases: multi-word phrases read as one token (the other words absorbed): "ground glass
 * (opacity)", "crazy paving", "air space (disease)", "no longer" (resolved), "no (interval)
 * change" (stable), "cannot be excluded" / "not excluded" / "rule out" (uncertain), "not seen /
 * identified / ..." (negation after the finding), "central line", "well aerated", comparisons
 * with an earlier study ("less dense than before"), number words ("twenty-five", "half a
 * dozen"), shorthand ("w/o", "b/l") and dictation corrections and homophones. */
#include "dicom-sr/prose_parts.h"

#include <string.h>

/* Words that name a study (a "normal study"; "the prior CT" is a comparison). */
const char *const prose_study_words[] = {"study", "chest", "radiograph", "examination", "exam", "ct", "film",
                                         "scan", "ray", "appearances", "cxr", NULL};
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
    return k >= 0 && (anywhere(s, k, prose_study_words) || anywhere(s, k, PRIOR_OF)) ? k : j;
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
    return anywhere(s, j, prose_study_words) && !W(s, j, "chest") ? j : -1;
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

void prose_phrases(parse_state *s)
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
            set(k, LX_UNCERTAIN, 0, 3);   /* "(follow-up) to exclude X": X is a hypothesis (prose_hypotheticals()) */
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
        } else if ((W(s, i, "prior") || W(s, i, "previous")) &&
                   (anywhere(s, j, prose_study_words) || anywhere(s, j, PRIOR_OF) || reference_prep(s, i))) {
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
