/* caption_parse: report text -> clinical attributes (laterality, stated count, 6 zones,
 * runs per side) and the canonical QaTa-style caption regenerated from them.
 * Words are lower-cased [a-z0-9] runs (the encoder's tokeniser), each mapped onto a small
 * vocabulary, with typo tolerance: a doubled letter ("mmiddle") or one edit (Damerau) for
 * words of 5+ letters. A zone phrase is a side word (left / right) with the zone words
 * directly before it ("upper middle left lung", QaTa) or after it ("right lower lobe",
 * prose), or "both" / "bilateral" + zone words + a region noun ("both lower zones").
 * Lobes map onto zones by name (upper lobe = upper zone; lingula = left middle).
 * A region without zone words ("left lung", "both lungs") states laterality; it means the
 * whole side (both sides) only when the text names no zone of that side (no zone at all)
 * elsewhere, so that a summary ("Impression: bilateral pulmonary infection, both lungs")
 * does not widen the zones the findings located. */
#include "dicom-sr/caption_parse.h"
#include "dicom-sr/prose_lexicon.h"
#include "dicom-sr/prose_parse.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_WORDS 256
#define WORD_CAP 32

typedef enum word_kind {
    W_OTHER, W_UPPER, W_MIDDLE, W_LOWER, W_ALL, W_LEFT, W_RIGHT, W_REGION, W_BASE, W_APEX, W_LINGULA,
    W_BILATERAL, W_BOTH, W_UNILATERAL, W_NUMBER, W_NO, W_INFECTED, W_AREA, W_AND, W_NEGATIVE,
} word_kind;

typedef struct vocab_entry {
    const char *word;
    word_kind kind;
    int value;       /* numbers */
} vocab_entry;

/* Canonical words first; the typo matcher only compares against entries with fuzzy = 1. */
static const vocab_entry VOCAB[] = {
    {"upper", W_UPPER, 0}, {"higher", W_UPPER, 0}, {"superior", W_UPPER, 0}, {"top", W_UPPER, 0},
    {"middle", W_MIDDLE, 0}, {"mid", W_MIDDLE, 0}, {"central", W_MIDDLE, 0},
    {"lower", W_LOWER, 0}, {"inferior", W_LOWER, 0}, {"bottom", W_LOWER, 0},
    {"all", W_ALL, 0}, {"entire", W_ALL, 0}, {"whole", W_ALL, 0},
    {"left", W_LEFT, 0}, {"right", W_RIGHT, 0},
    {"lung", W_REGION, 0}, {"lungs", W_REGION, 0}, {"lobe", W_REGION, 0}, {"lobes", W_REGION, 0},
    {"zone", W_REGION, 0}, {"zones", W_REGION, 0}, {"field", W_REGION, 0}, {"fields", W_REGION, 0},
    {"hemithorax", W_REGION, 0}, {"side", W_REGION, 0},
    {"base", W_BASE, 0}, {"bases", W_BASE, 0}, {"basal", W_BASE, 0}, {"basilar", W_BASE, 0},
    {"apex", W_APEX, 0}, {"apices", W_APEX, 0}, {"apical", W_APEX, 0},
    {"lingula", W_LINGULA, 0}, {"lingular", W_LINGULA, 0},
    {"bilateral", W_BILATERAL, 0}, {"bilaterally", W_BILATERAL, 0}, {"both", W_BOTH, 0},
    {"unilateral", W_UNILATERAL, 0},
    {"no", W_NO, 0}, {"zero", W_NUMBER, 0}, {"one", W_NUMBER, 1}, {"two", W_NUMBER, 2}, {"three", W_NUMBER, 3},
    {"four", W_NUMBER, 4}, {"five", W_NUMBER, 5}, {"six", W_NUMBER, 6}, {"seven", W_NUMBER, 7},
    {"eight", W_NUMBER, 8}, {"nine", W_NUMBER, 9}, {"single", W_NUMBER, 1},
    {"ten", W_NUMBER, 10}, {"eleven", W_NUMBER, 11}, {"twelve", W_NUMBER, 12},
    {"infected", W_INFECTED, 0}, {"affected", W_INFECTED, 0}, {"involved", W_INFECTED, 0},
    {"area", W_AREA, 0}, {"areas", W_AREA, 0}, {"region", W_AREA, 0}, {"regions", W_AREA, 0},
    {"lesion", W_AREA, 0}, {"lesions", W_AREA, 0}, {"opacity", W_AREA, 0}, {"opacities", W_AREA, 0},
    {"and", W_AND, 0},
    {"clear", W_NEGATIVE, 0}, {"normal", W_NEGATIVE, 0}, {"unremarkable", W_NEGATIVE, 0},
};
#define NVOCAB ((int)(sizeof VOCAB / sizeof VOCAB[0]))

typedef struct word {
    char text[WORD_CAP];
    word_kind kind;
    int value;
} word;

static void add_problem(caption_attrs *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_problem(caption_attrs *a, const char *fmt, ...)
{
    if (a->n_problems >= CAPTION_MAX_PROBLEMS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->problems[a->n_problems++], sizeof a->problems[0], fmt, ap);
    va_end(ap);
}

/* Removes doubled letters: "mmiddle" -> "midle", "middle" -> "midle". */
static void squeeze(const char *in, char *out)
{
    size_t n = 0;
    for (size_t i = 0; in[i]; i++)
        if (i == 0 || in[i] != in[i - 1])
            out[n++] = in[i];
    out[n] = 0;
}

/* Real English words one edit away from a vocabulary word, never "corrected". */
static const char *NOT_TYPOS[] = {"there", "these", "where", "power", "tower", "lover", "eighth", "fifth", "lungo",
                                  "areal", "rights", "lefts", "infects", "infect", "zoned", "basis", "legion"};

/* Maps w onto the vocabulary: exact, then doubled letters, then one edit (5+ letters). */
static void word_classify(word *w, caption_attrs *a)
{
    w->kind = W_OTHER;
    w->value = 0;
    for (size_t k = 0; k < sizeof NOT_TYPOS / sizeof NOT_TYPOS[0]; k++)
        if (strcmp(w->text, NOT_TYPOS[k]) == 0)
            return;
    for (int k = 0; k < NVOCAB; k++)
        if (strcmp(w->text, VOCAB[k].word) == 0) {
            w->kind = VOCAB[k].kind;
            w->value = VOCAB[k].value;
            return;
        }
    if (w->text[0] >= '0' && w->text[0] <= '9') {
        int v = 0, digits = 1;
        for (const char *p = w->text; *p; p++)
            digits &= *p >= '0' && *p <= '9';
        if (digits && strlen(w->text) <= 3) {
            sscanf(w->text, "%d", &v);
            w->kind = W_NUMBER;
            w->value = v;
        }
        return;
    }
    char sw[WORD_CAP], sv[WORD_CAP];
    squeeze(w->text, sw);
    size_t lw = strlen(w->text);
    for (int k = 0; k < NVOCAB; k++) {
        size_t lv = strlen(VOCAB[k].word);
        if (lv < 5)
            continue;
        squeeze(VOCAB[k].word, sv);
        if (strcmp(sw, sv) == 0 || (lw >= 5 && lexicon_osa_distance(w->text, VOCAB[k].word) <= 1)) {
            add_problem(a, "typo '%s' read as '%s'", w->text, VOCAB[k].word);
            w->kind = VOCAB[k].kind;
            w->value = VOCAB[k].value;
            return;
        }
    }
}

static int tokenize(const char *s, word *words, int max)
{
    int n = 0;
    while (n < max && c2_next_word(&s, words[n].text, WORD_CAP) > 0)
        n++;
    return n;
}

static int zone_of(word_kind k)
{
    return k == W_UPPER || k == W_APEX ? 0 : k == W_MIDDLE ? 1 : k == W_LOWER || k == W_BASE ? 2 : -1;
}

/* Marks zones [side*3 + k] for the zone words in the bitmask `zw` (bit 3 = all / none). */
static void mark_side(caption_attrs *a, int side, int zw)
{
    for (int k = 0; k < 3; k++)
        if ((zw & 8) || !(zw & 7) || (zw & (1 << k)))
            a->zones[3 * side + k] = 1;
    a->zones_stated = 1;
}

/* Zone words (and "and" between them) ending just before index i; returns their bitmask. */
static int zones_before(const word *w, int i, int stop)
{
    int zw = 0;
    for (int j = i - 1; j >= stop; j--) {
        int z = zone_of(w[j].kind);
        if (z >= 0)
            zw |= 1 << z;
        else if (w[j].kind == W_ALL)
            zw |= 8;
        else if (!(w[j].kind == W_AND && j - 1 >= stop && (zone_of(w[j - 1].kind) >= 0 || w[j - 1].kind == W_ALL) &&
                   zw))
            break;
    }
    return zw;
}

/* Zone words after index i (prose "right lower lobe", "left lung base"); *end = first unused index. */
static int zones_after(const word *w, int n, int i, int *end)
{
    int zw = 0, j = i + 1, region = 0;
    for (; j < n; j++) {
        int z = zone_of(w[j].kind);
        if (z >= 0 && !(region && w[j].kind != W_BASE && w[j].kind != W_APEX))
            zw |= 1 << z;
        else if (w[j].kind == W_ALL && !region)
            zw |= 8;
        else if (w[j].kind == W_LINGULA && !region)
            zw |= 2;
        else if (w[j].kind == W_REGION && !region)
            region = 1;
        else if (w[j].kind == W_AND && j + 1 < n && zone_of(w[j + 1].kind) >= 0 && !region)
            continue;
        else
            break;
    }
    *end = j;
    return zw;
}

static void template_parse(const char *utf8, lr_convention conv, caption_attrs *a)
{
    memset(a, 0, sizeof *a);
    a->convention = conv;
    a->count = -1;
    a->lat_stated = LAT_UNKNOWN;
    static _Thread_local word w[MAX_WORDS];
    int n = tokenize(utf8 ? utf8 : "", w, MAX_WORDS);
    for (int i = 0; i < n; i++)
        word_classify(&w[i], a);
    int said_bilateral = 0, said_left = 0, said_right = 0, stop = 0, count_seen = 0;
    int whole_side[2] = {0, 0}, whole_both = 0; /* regions named without zone words */
    for (int i = 0; i < n; i++) {
        word_kind k = w[i].kind;
        if (k == W_BILATERAL || k == W_BOTH) {
            said_bilateral = 1;
            int end, zw = zones_after(w, n, i, &end);
            /* "both lungs", "bilateral lower zones": a region noun must follow */
            if (end > i + 1 && w[end - 1].kind == W_REGION) {
                if (zw) {
                    mark_side(a, 0, zw);
                    mark_side(a, 1, zw);
                } else {
                    whole_both = 1;
                }
                stop = end;
                i = end - 1;
            }
        } else if (k == W_UNILATERAL) {
            a->unilateral_stated = 1;
        } else if (k == W_LEFT || k == W_RIGHT) {
            int side = k == W_LEFT ? 0 : 1;
            *(side ? &said_right : &said_left) = 1;
            int end, zw = zones_before(w, i, stop) | zones_after(w, n, i, &end);
            if (zw)
                mark_side(a, side, zw);
            else
                whole_side[side] = 1;
            stop = end;
            i = end - 1;
        } else if (k == W_LINGULA) {
            a->zones[ZONE_L_MIDDLE] = 1;
            a->zones_stated = 1;
            said_left = 1;
        } else if ((k == W_NUMBER || k == W_NO) && i + 1 < n &&
                   (w[i + 1].kind == W_AREA || (w[i + 1].kind == W_INFECTED && i + 2 < n && w[i + 2].kind == W_AREA))) {
            int v = k == W_NO ? 0 : w[i].value;
            if (v > 9) {
                add_problem(a, "count '%s' is above nine", w[i].text);
            } else {
                if (count_seen && v != a->count)
                    add_problem(a, "two different counts: %d and %d", a->count, v);
                a->count = v;
                count_seen = 1;
            }
        } else if (k == W_NO && i + 1 < n && (w[i + 1].kind == W_INFECTED || strncmp(w[i + 1].text, "infect", 6) == 0 ||
                                              strcmp(w[i + 1].text, "abnormality") == 0 ||
                                              strcmp(w[i + 1].text, "finding") == 0 ||
                                              strcmp(w[i + 1].text, "findings") == 0)) {
            a->negative = 1;
        } else if (k == W_NEGATIVE) {
            a->negative = 1;
        }
    }
    for (int side = 0; side < 2; side++)
        if (whole_side[side] && zones_side_runs(a->zones + 3 * side) == 0)
            mark_side(a, side, 0);
    if (whole_both && !a->zones_stated) {
        mark_side(a, 0, 0);
        mark_side(a, 1, 0);
    }
    /* what the keywords say */
    if (said_bilateral || (said_left && said_right))
        a->lat_stated = LAT_BILATERAL;
    else if (said_left)
        a->lat_stated = LAT_LEFT;
    else if (said_right)
        a->lat_stated = LAT_RIGHT;
    else if (a->negative || a->count == 0)
        a->lat_stated = LAT_NONE;
    a->n_zones = zones_count(a->zones);
    a->runs[0] = zones_side_runs(a->zones);
    a->runs[1] = zones_side_runs(a->zones + 3);
    a->lat = a->zones_stated ? zones_laterality(a->zones) : a->lat_stated;
    if (a->count < 0 && a->lat == LAT_NONE)
        a->count = 0;   /* "No infection." states zero areas (as the reference) */
    a->count_is_zones = a->count >= 0 && a->zones_stated && a->count == a->n_zones;
    int contradictions = 0;
    if (said_bilateral && a->zones_stated && a->lat != LAT_BILATERAL) {
        add_problem(a, "says bilateral but names zones of the %s side only", laterality_name(a->lat));
        contradictions++;
    }
    if (a->unilateral_stated && a->lat == LAT_BILATERAL) {
        add_problem(a, "says unilateral but names both sides");
        contradictions++;
    }
    if (a->negative && a->n_zones > 0) {
        add_problem(a, "says no infection but names involved zones");
        contradictions++;
    }
    if (a->count >= 0 && a->zones_stated && a->count != a->n_zones) {
        int sides = (a->lat == LAT_BILATERAL) + (a->lat != LAT_NONE);
        add_problem(a, "states %d area%s but names %d zone%s", a->count, a->count == 1 ? "" : "s", a->n_zones,
                    a->n_zones == 1 ? "" : "s");
        if (a->count < sides || a->count > a->n_zones || count_seen)
            contradictions++;
    }
    if (contradictions)
        a->status = CAPTION_CONTRADICTION;
    else if (a->zones_stated || (a->negative && a->n_zones == 0))
        a->status = CAPTION_OK;
    else if (said_bilateral || a->unilateral_stated || a->count >= 0) {
        a->status = CAPTION_PARTIAL;
        add_problem(a, "no zone or side named");
    } else {
        a->status = CAPTION_UNPARSED;
        add_problem(a, "no laterality, count or zone found");
    }
}

/* One sentence holds a templated caption's marker: "<N> infected area(s)", "pulmonary
 * infection", "no infection" (typos included, as the template parser reads them). */
static int sentence_is_template(const char *sent)
{
    static _Thread_local word w[MAX_WORDS];
    caption_attrs scratch;
    memset(&scratch, 0, sizeof scratch);
    int n = tokenize(sent, w, MAX_WORDS);
    for (int i = 0; i < n; i++)
        word_classify(&w[i], &scratch);
    for (int i = 0; i + 1 < n; i++) {
        int infect_next = strncmp(w[i + 1].text, "infect", 6) == 0 ||
                          (w[i + 1].kind == W_INFECTED && strncmp(w[i + 1].text, "inf", 3) == 0) ||
                          lexicon_osa_distance(w[i + 1].text, "infection") <= 1;
        if (w[i].kind == W_INFECTED && strncmp(w[i].text, "inf", 3) == 0 && w[i + 1].kind == W_AREA &&
            strncmp(w[i + 1].text, "area", 4) == 0)
            return 1;
        if ((strcmp(w[i].text, "pulmonary") == 0 || w[i].kind == W_NO) && infect_next)
            return 1;
    }
    return 0;
}

/* A templated caption: every sentence (split at . ! ? and new lines) carries a marker. A
 * report whose impression is worded like a caption ("Findings: ground-glass opacities in the
 * right upper lobe. Impression: unilateral pulmonary infection, right lung.") is prose. */
int caption_is_template(const char *utf8)
{
    const char *p = utf8 ? utf8 : "";
    int sentences = 0;
    while (*p) {
        size_t len = strcspn(p, ".!?\n");
        int text = 0;
        for (size_t i = 0; i < len; i++)
            text |= (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9');
        if (text) {
            char buf[2048];
            if (len >= sizeof buf)
                return 0;
            memcpy(buf, p, len);
            buf[len] = 0;
            if (!sentence_is_template(buf))
                return 0;
            sentences++;
        }
        p += len;
        if (*p)
            p++;
    }
    return sentences > 0;
}

/* Prose attributes onto the caption record: zones and laterality of the current lesions,
 * a stated exact count (0..9), negative; status ok when located or negative, partial when a
 * current lesion has no side, unparsed when no lung lesion is mentioned. */
static void from_prose(const prose_attrs *p, lr_convention conv, caption_attrs *a)
{
    memset(a, 0, sizeof *a);
    a->convention = conv;
    a->prose = 1;
    memcpy(a->zones, p->zones, sizeof a->zones);
    a->zones_stated = p->located || p->negative;
    a->n_zones = zones_count(a->zones);
    a->runs[0] = zones_side_runs(a->zones);
    a->runs[1] = zones_side_runs(a->zones + 3);
    a->negative = p->negative;
    a->count = p->count_lo >= 0 && p->count_lo == p->count_hi && p->count_lo <= 9 ? p->count_lo : -1;
    if (p->negative && a->count < 0)
        a->count = 0;
    a->count_is_zones = a->count >= 0 && a->zones_stated && a->count == a->n_zones;
    if (p->located || p->negative) {
        a->lat = a->lat_stated = p->lat;
        a->status = CAPTION_OK;
    } else if (p->n_current > 0) {
        a->lat = a->lat_stated = LAT_UNKNOWN;
        a->status = CAPTION_PARTIAL;
        add_problem(a, "a lung lesion without a side or zone");
    } else {
        a->lat = a->lat_stated = LAT_UNKNOWN;
        a->status = CAPTION_UNPARSED;
        add_problem(a, "no lung lesion, side or zone found");
    }
    int named = (a->zones[0] | a->zones[1] | a->zones[2] ? 1 : 0) | (a->zones[3] | a->zones[4] | a->zones[5] ? 2 : 0);
    if (p->summary_sides & ~named) {
        add_problem(a, "a summary names %s but the findings locate the %s side only",
                    p->summary_sides == 3 ? "both lungs" : p->summary_sides == 1 ? "the left lung" : "the right lung",
                    laterality_name(p->lat));
        a->status = CAPTION_CONTRADICTION;
    }
    if (p->n_typos)
        add_problem(a, "%d word%s read as lexicon words (typos, see evidence)", p->n_typos, p->n_typos == 1 ? "" : "s");
}

int caption_parse_full(const char *utf8, lr_convention conv, caption_attrs *a, prose_attrs *prose)
{
    if (caption_is_template(utf8)) {
        template_parse(utf8, conv, a);
        if (prose)
            memset(prose, 0, sizeof *prose);
        return 0;
    }
    prose_attrs local;
    prose_attrs *p = prose ? prose : &local;
    prose_parse(utf8, p);
    from_prose(p, conv, a);
    return 1;
}

void caption_parse(const char *utf8, lr_convention conv, caption_attrs *a)
{
    caption_parse_full(utf8, conv, a, NULL);
}

static const char *NUMBER_WORDS[] = {"no", "one", "two", "three", "four", "five", "six"};

static void side_words(const uint8_t *z3, char *out, size_t cap)
{
    static const char *names[3] = {"upper", "middle", "lower"};
    out[0] = 0;
    for (int k = 0; k < 3; k++)
        if (z3[k]) {
            if (out[0])
                strncat(out, " ", cap - strlen(out) - 1);
            strncat(out, names[k], cap - strlen(out) - 1);
        }
}

int caption_generate(const caption_attrs *a, char *out, size_t cap)
{
    int n = zones_count(a->zones);
    int l = a->zones[0] || a->zones[1] || a->zones[2], r = a->zones[3] || a->zones[4] || a->zones[5];
    if (n == 0)
        return snprintf(out, cap, "no infection.");
    char lw[32], rw[32];
    side_words(a->zones, lw, sizeof lw);
    side_words(a->zones + 3, rw, sizeof rw);
    const char *areas = n == 1 ? "area" : "areas";
    if (l && r)
        return snprintf(out, cap, "bilateral pulmonary infection, %s infected %s, %s left lung and %s right lung.",
                        NUMBER_WORDS[n], areas, lw, rw);
    return snprintf(out, cap, "unilateral pulmonary infection, %s infected %s, %s %s lung.", NUMBER_WORDS[n], areas,
                    l ? lw : rw, l ? "left" : "right");
}

void caption_attrs_from_zones(const mask_zones *z, lr_convention conv, caption_attrs *a)
{
    memset(a, 0, sizeof *a);
    memcpy(a->zones, z->zones, sizeof a->zones);
    a->zones_stated = 1;
    a->n_zones = z->n_zones;
    a->count = z->n_zones;
    a->count_is_zones = 1;
    a->runs[0] = z->runs[0];
    a->runs[1] = z->runs[1];
    a->lat = a->lat_stated = z->lat;
    a->unilateral_stated = z->lat == LAT_LEFT || z->lat == LAT_RIGHT;
    a->negative = z->n_zones == 0;
    a->convention = conv;
    a->derived = 1;
    a->status = CAPTION_OK;
}

const char *caption_status_name(caption_status s)
{
    static const char *names[] = {"ok", "contradiction", "partial", "unparsed"};
    return (unsigned)s <= CAPTION_UNPARSED ? names[s] : "unparsed";
}

cJSON *caption_attrs_json(const caption_attrs *a)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "laterality", laterality_name(a->lat));
    cJSON_AddStringToObject(o, "laterality_stated", laterality_name(a->lat_stated));
    if (a->count >= 0)
        cJSON_AddNumberToObject(o, "count", a->count);
    else
        cJSON_AddNullToObject(o, "count");
    int zi[ZONE_COUNT];
    cJSON *names = cJSON_AddArrayToObject(o, "zone_names");
    for (int k = 0; k < ZONE_COUNT; k++) {
        zi[k] = a->zones[k];
        if (a->zones[k])
            cJSON_AddItemToArray(names, cJSON_CreateString(zone_name(k)));
    }
    cJSON_AddItemToObject(o, "zones", cJSON_CreateIntArray(zi, ZONE_COUNT));
    cJSON_AddBoolToObject(o, "zones_stated", a->zones_stated);
    cJSON_AddNumberToObject(o, "n_zones", a->n_zones);
    cJSON_AddItemToObject(o, "runs", cJSON_CreateIntArray(a->runs, 2));
    cJSON_AddBoolToObject(o, "count_is_zones", a->count_is_zones);
    cJSON_AddBoolToObject(o, "negative", a->negative);
    cJSON_AddStringToObject(o, "convention", convention_name(a->convention));
    cJSON_AddBoolToObject(o, "derived", a->derived);
    cJSON_AddStringToObject(o, "parser", a->prose ? "prose" : "template");
    cJSON_AddStringToObject(o, "status", caption_status_name(a->status));
    cJSON *pr = cJSON_AddArrayToObject(o, "problems");
    for (int k = 0; k < a->n_problems; k++)
        cJSON_AddItemToArray(pr, cJSON_CreateString(a->problems[k]));
    char canon[256];
    caption_generate(a, canon, sizeof canon);
    cJSON_AddStringToObject(o, "canonical", canon);
    return o;
}
