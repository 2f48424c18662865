/* prose_findings: the findings and their lists. Lung lesions (GGO, consolidation, crazy paving,
 * infiltrate, opacity, nodule, pneumonia, ...; generic "abnormality", "involved") and
 * non-lesions (effusion, cardiomegaly, devices, atelectasis, ...). Consecutive finding words
 * are one finding; "X and Y", "X/Y", "X versus Y" lists share their anatomy; an unspecific
 * opacity the sentence explains as a non-lesion is that non-lesion. */
#include "dicom-sr/prose_parts.h"

#include <string.h>

void prose_findings(parse_state *s)
{
    s->nf = 0;
    for (int i = 0; i < s->n && s->nf < MAX_FINDS; i++) {
        tok *k = &s->t[i];
        if (k->absorbed || !is_finding_cls(k->cls))
            continue;
        /* "pleural" alone before a non-lesion word is part of it; generic words that only
         * modify ("involving") are prepositions in the lexicon */
        finding *f = &s->f[s->nf];
        memset(f, 0, sizeof *f);
        f->t0 = i;
        f->lesion = k->cls != LX_NONLESION;
        f->kind = k->val;
        f->plural = k->sub;
        f->count_lo = f->count_hi = f->count_t = -1;
        f->neg_t = f->unc_t = f->tmp_t = -1;
        int last = i;
        for (int j = adj(s, i); j >= 0 && is_finding_cls(s->t[j].cls) && s->t[j].run < 0; j = adj(s, j)) {
            if (memchr(s->text + s->t[last].end, '/', (size_t)(s->t[j].start - s->t[last].end)))
                break;   /* "collapse/consolidation": two findings, a list (list_next) */
            int les = s->t[j].cls != LX_NONLESION;
            if (les != f->lesion) {
                /* "nodular opacities" both lesions; "pleural thickening", "lesion ... effusion" differ:
                 * a non-lesion head noun after a lesion adjective wins ("inflammatory effusion") */
                if (!les && f->lesion && j == adj(s, last)) {
                    f->lesion = 0;
                    f->kind = s->t[j].val;
                } else {
                    break;
                }
            } else if (f->lesion && (f->kind == PF_OTHER || f->kind == PF_NODULE) && s->t[j].val != PF_OTHER) {
                f->kind = s->t[j].val;   /* the head noun names it: "nodular opacity", "pneumonic consolidation" */
            }
            f->plural = s->t[j].sub;
            last = j;
        }
        f->t1 = last;
        for (int q = i; q <= last; q++)
            s->t[q].find = s->nf;
        s->nf++;
        i = last;
    }
}

/* The finding list that f belongs to: "GGO and consolidation" (joined by and / or / comma
 * inside a chunk). Returns the first finding of the list ending at f going forward. */
int prose_list_next(const parse_state *s, int fi)
{
    const finding *f = &s->f[fi];
    int j = adj(s, f->t1);
    /* "collapse/consolidation", "collapse-consolidation": a slash or hyphen pair is a list */
    if (j >= 0 && s->t[j].find >= 0 && s->t[j].find != fi) {
        int slash = 0, other = 0;
        for (int o = s->t[f->t1].end; o < s->t[j].start; o++)
            slash |= s->text[o] == '/' || s->text[o] == '-', other |= s->text[o] != '/' && s->text[o] != '-' &&
                                                                      s->text[o] != ' ';
        if (slash && !other)
            return s->t[j].find;
    }
    /* "atelectasis versus early consolidation": the alternatives of a differential share the place */
    if (j < 0 || !(s->t[j].cls == LX_AND || W(s, j, "versus") || W(s, j, "vs")))
        return -1;
    int m = adj(s, j);
    if (m >= 0 && s->t[m].cls == LX_AND)
        m = adj(s, m);   /* "atelectasis and/or consolidation" */
    for (int unk = 0; m >= 0 && (s->t[m].cls == LX_MOD || s->t[m].cls == LX_SEVERITY || s->t[m].cls == LX_DIST ||
                                 s->t[m].cls == LX_TEMPORAL || (s->t[m].cls == LX_NONE && !unk++ && s->t[m].run < 0 &&
                                                                is_alpha((unsigned char)s->t[m].w[0])));)
        m = adj(s, m);   /* one word outside the lexicon: "or early consolidation" */
    return m >= 0 && s->t[m].find >= 0 && s->t[m].find != fi ? s->t[m].find : -1;
}

int prose_list_prev(const parse_state *s, int fi)
{
    for (int g = 0; g < s->nf; g++)
        if (g != fi && prose_list_next(s, g) == fi)
            return g;
    return -1;
}

/* "Haziness over the left hemithorax, in keeping with a layering effusion": an opacity that
 * the sentence explains (without a hedge) as a non-lesion is that non-lesion. Only the
 * unspecific lesion words (opacity, haziness, shadowing, changes ...) are explained away. */
void prose_attribution(parse_state *s)
{
    static const char *const BY[] = {"keeping", "consistent", "compatible", "due", "secondary", "representing",
                                     "reflecting", "reflects", "represents", "attributable", NULL};
    static const char *const FIBROTIC[] = {"fibrosis", "fibrotic", "scarring", "scar", "fibrosing", "honeycombing",
                                           "honeycomb", "uip", "ipf", "nsip", "traction", NULL};
    for (int fi = 0; fi < s->nf; fi++) {
        finding *f = &s->f[fi];
        /* "fibrotic changes with subpleural reticulation": reticulation is the fibrosis */
        if (f->lesion && (W(s, f->t0, "reticulation") || W(s, f->t0, "reticular"))) {
            int b, e, fib = 0;
            range_of(s, f->t0, 1, &b, &e);
            for (int q = b; q <= e; q++)
                fib |= anywhere(s, q, FIBROTIC);
            if (fib) {
                f->lesion = 0;
                f->kind = PN_OTHER;
                continue;
            }
        }
        if (!f->lesion || !(f->kind == PF_OPACITY || s->t[f->t0].cls == LX_GENERIC))
            continue;
        int by = -1;
        for (int j = nx(s, f->t1); j >= 0 && s->t[j].clause == s->t[f->t0].clause; j = nx(s, j)) {
            if (s->t[j].cls == LX_UNCERTAIN || (s->t[j].find >= 0 && s->f[s->t[j].find].lesion))
                break;
            if (anywhere(s, j, BY)) {
                by = j;
                break;
            }
        }
        for (int j = nx(s, by), st = 0; by >= 0 && j >= 0 && st < 5; j = nx(s, j), st++) {
            if (s->t[j].cls == LX_UNCERTAIN)
                break;
            if (s->t[j].find >= 0) {
                /* "in keeping with atelectasis or consolidation" names a lesion too: kept */
                int oi = s->t[j].find, lesion_named = 0;
                for (int g = oi, st2 = 0; g >= 0 && st2 < 16; g = prose_list_next(s, g), st2++)
                    lesion_named |= s->f[g].lesion;
                if (!lesion_named) {
                    f->lesion = 0;
                    f->kind = s->f[oi].kind;
                }
                break;
            }
        }
    }
}
