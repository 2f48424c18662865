/* prose_parse: English report prose -> lesion attributes with evidence spans: the stages in
 * their order, each in its file (all sharing the state of prose_parts.h), and the record's
 * strings and JSON.
 *
 * 1. Tokens (prose_tokens.c): [a-z0-9] runs (letters and digits split, "5mm" = 5 mm, "2.5" one
 *    number) with their byte spans; '%' '<' '>' are tokens; '?' glued to a word is "query"
 *    (uncertain); . ! ? and new lines end sentences; ; : end clauses; , ( ) end chunks.
 * 2. Lexicon classes (prose_lexicon.c, typo tolerant), then phrases (prose_phrases.c): "ground
 *    glass (opacity)", "crazy paving", "air space (disease)", "no longer" (resolved), "no
 *    (interval) change" (stable), "cannot be excluded" / "not excluded" / "rule out" (uncertain),
 *    "not seen / identified / ..." (negation after the finding), "central line", "well aerated".
 * 3. Clause words ("but", "however", "while", "except", "otherwise", "which", ...; prose_tokens.c)
 *    split clauses.
 * 4. Predominance (prose_predominance.c): "more pronounced on the right", "right-sided
 *    predominance", "R > L", "right greater than left": bilateral with right predominance; the
 *    side word is not a location. "predominantly in the lower lobes", "basal predominance":
 *    level predominance (the anatomy stays a location).
 * 5. Anatomy phrases (prose_anatomy.c): runs of side / level / lobe / zone words ("right upper
 *    and middle lobes", "RUL and left lower lobe", "lower lobes bilaterally", "posterior basal
 *    segment of the left lower lobe", "both lung bases") become zone masks, or "whole side" when
 *    no level is named. Without a side: plural levels mean both sides ("lower lobes", "bases",
 *    "apices"), "middle lobe" is right, otherwise the phrase has no side.
 * 6. Findings (prose_findings.c): lung lesions (GGO, consolidation, crazy paving, infiltrate,
 *    opacity, nodule, pneumonia, ...; generic "abnormality", "involved") and non-lesions
 *    (effusion, cardiomegaly, devices, atelectasis, ...). Consecutive finding words are one
 *    finding; "X and Y" lists share their anatomy.
 * 7. Each anatomy phrase attaches to one finding of its clause (prose_anatomy.c): after a
 *    preposition ("in the right lower lobe") the nearest finding before it, otherwise the
 *    nearest after it ("right lower lobe consolidation"), else before; a phrase in a clause
 *    without a finding goes to the nearest lesion of the sentence, unless its clause clears it.
 * 8. Negation (NegEx; prose_negation.c): pre-triggers ("no", "without", "negative for", "free
 *    of", "absence of") reach forward to the end of the clause, across commas only into bare
 *    lists ("no consolidation, effusion or pneumothorax"); post-triggers ("not seen", "absent",
 *    "excluded") reach back within the comma chunk, across "and" only inside a list;
 *    "clear" / "normal" / "unremarkable" clear the findings and regions of their chunk.
 * 9. Uncertainty and time (prose_modifiers.c) apply to the findings of their chunk, or, when
 *    their chunk has no finding, to the findings of their clause. Time: resolved (not current)
 *    > improving > new / worse (first written) > stable > "previously" alone (not current).
 * 10. Current lesions = lesion findings neither negated nor resolved (prose_collect.c). Their
 *    zones are the union of their anatomy; "whole side" fills a side only when no current
 *    lesion names a level on that side (so an impression's "both lungs" does not widen the
 *    findings). Count = the sum of counts stated before current lesions ("two nodules", "a
 *    focus of", "multiple" = 2+, "several" = 3+, "a few" = 2-4; prose_counts.c). Severity
 *    words before non-lesions ("moderate cardiomegaly") are not the lesions' severity
 *    (prose_severity.c). */
#include "dicom-sr/prose_parts.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

void prose_parse(const char *utf8, prose_attrs *out)
{
    static _Thread_local parse_state st;
    parse_state *s = &st;
    memset(out, 0, sizeof *out);
    out->count_lo = out->count_hi = -1;
    out->ct_category = -1;
    out->pct_lo = out->pct_hi = -1;
    out->lat = LAT_NONE;
    s->text = utf8 ? utf8 : "";
    s->a = out;
    s->study_normal = 0;
    prose_tokenize(s);
    prose_classify(s);
    prose_phrases(s);
    prose_clause_words(s);
    prose_predominance(s);
    prose_anatomy(s);
    prose_findings(s);
    prose_attribution(s);
    prose_attach(s);
    prose_hypotheticals(s);
    prose_negation(s);
    prose_modifiers(s);
    prose_counts(s);
    prose_severity(s);
    prose_collect(s);
}

const char *prose_temporal_name(prose_temporal t)
{
    static const char *names[] = {"none", "new", "worse", "stable", "better", "resolved"};
    return (unsigned)t <= PT_RESOLVED ? names[t] : "none";
}

const char *prose_attr_name(prose_attr a)
{
    static const char *names[] = {"zones",       "finding",     "nonlesion",    "negation",
                                  "uncertainty", "temporal",    "count",        "severity",
                                  "distribution", "predominance", "typo"};
    return (unsigned)a < PA_COUNT_ATTRS ? names[a] : "?";
}

void prose_severity_string(const prose_attrs *a, char *out, size_t cap)
{
    static const char *w[] = {"", "mild", "moderate", "severe"};
    char buf[96] = "";
    size_t n = 0;
    if (a->sev_lo > 0) {
        if (a->sev_hi > a->sev_lo)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s-%s", w[a->sev_lo], w[a->sev_hi]);
        else
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", w[a->sev_lo]);
    }
    if (a->ct_category >= 0 && n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%sCT%d", n ? "/" : "", a->ct_category);
    if (a->pct_lo >= 0 && n < sizeof buf) {
        if (a->pct_hi > a->pct_lo)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%spct%g-%g", n ? "/" : "", a->pct_lo, a->pct_hi);
        else
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%spct%g", n ? "/" : "", a->pct_lo);
    }
    snprintf(out, cap, "%s", n ? buf : "-");
}

void prose_count_string(const prose_attrs *a, char *out, size_t cap)
{
    if (a->count_lo < 0)
        snprintf(out, cap, "-");
    else if (a->count_hi == a->count_lo)
        snprintf(out, cap, "%d", a->count_lo);
    else if (a->count_hi >= PROSE_COUNT_OPEN)
        snprintf(out, cap, "%d+", a->count_lo);
    else
        snprintf(out, cap, "%d-%d", a->count_lo, a->count_hi);
}

cJSON *prose_attrs_json(const prose_attrs *a, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char buf[128];
    cJSON_AddStringToObject(o, "laterality", laterality_name(a->lat));
    int zi[ZONE_COUNT];
    for (int k = 0; k < ZONE_COUNT; k++)
        zi[k] = a->zones[k];
    cJSON_AddItemToObject(o, "zones", cJSON_CreateIntArray(zi, ZONE_COUNT));
    prose_count_string(a, buf, sizeof buf);
    cJSON_AddStringToObject(o, "count", buf);
    cJSON_AddBoolToObject(o, "negative", a->negative);
    cJSON_AddNumberToObject(o, "negated_mentions", a->n_negated);
    cJSON_AddBoolToObject(o, "uncertain", a->uncertain);
    cJSON_AddStringToObject(o, "temporal", prose_temporal_name(a->temporal));
    prose_severity_string(a, buf, sizeof buf);
    cJSON_AddStringToObject(o, "severity", buf);
    if (a->ct_category >= 0)
        cJSON_AddNumberToObject(o, "ct_category", a->ct_category);
    else
        cJSON_AddNullToObject(o, "ct_category");
    cJSON *dist = cJSON_AddArrayToObject(o, "distribution");
    static const char *dn[] = {"peripheral", "subpleural", "central", "diffuse", "peribronchovascular"};
    for (int k = 0; k < 5; k++)
        if (a->distribution & (1 << k))
            cJSON_AddItemToArray(dist, cJSON_CreateString(dn[k]));
    cJSON *pd = cJSON_AddObjectToObject(o, "predominance");
    cJSON_AddStringToObject(pd, "side", laterality_name(a->predominance_side));
    cJSON *pl = cJSON_AddArrayToObject(pd, "levels");
    static const char *ln[] = {"upper", "middle", "lower"};
    for (int k = 0; k < 3; k++)
        if (a->predominance_levels & (1 << k))
            cJSON_AddItemToArray(pl, cJSON_CreateString(ln[k]));
    cJSON *fd = cJSON_AddArrayToObject(o, "findings");
    static const char *fn[] = {"ground-glass", "consolidation", "crazy-paving", "infiltrate", "opacity", "nodule",
                               "other"};
    for (int k = 0; k < 7; k++)
        if (a->findings & (1 << k))
            cJSON_AddItemToArray(fd, cJSON_CreateString(fn[k]));
    cJSON *nl = cJSON_AddArrayToObject(o, "not_lung_lesion");
    static const char *nn[] = {"effusion", "cardiomegaly", "device", "pneumothorax", "atelectasis", "other"};
    for (int k = 0; k < 6; k++)
        if (a->nonlesion & (1 << k))
            cJSON_AddItemToArray(nl, cJSON_CreateString(nn[k]));
    cJSON_AddNumberToObject(o, "current_lesions", a->n_current);
    cJSON_AddNumberToObject(o, "sentences", a->n_sentences);
    cJSON_AddNumberToObject(o, "clauses", a->n_clauses);
    cJSON_AddNumberToObject(o, "typos", a->n_typos);
    cJSON *ev = cJSON_AddArrayToObject(o, "evidence");
    size_t tl = text ? strlen(text) : 0;
    for (int k = 0; k < a->n_spans; k++) {
        const prose_span *sp = &a->spans[k];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "attribute", prose_attr_name((prose_attr)sp->attr));
        cJSON_AddNumberToObject(e, "start", sp->start);
        cJSON_AddNumberToObject(e, "end", sp->end);
        if (text && sp->start >= 0 && (size_t)sp->end <= tl && sp->end > sp->start && sp->end - sp->start < 400) {
            char w[400];
            memcpy(w, text + sp->start, (size_t)(sp->end - sp->start));
            w[sp->end - sp->start] = 0;
            cJSON_AddStringToObject(e, "text", w);
        }
        cJSON_AddItemToArray(ev, e);
    }
    return o;
}
