/* prose_parse: English report prose (chest CT and X-ray findings / impressions) ->
 * clinical attributes with evidence. The templated captions of the public datasets keep
 * their own exact grammar (caption_parse.c); caption_parse() sends every other text here.
 *
 * Pipeline (prose_parse.c): tokens with character spans -> lexicon classes (prose_lexicon.c,
 * typo tolerant) -> multi-word phrases -> sentences, clauses (; : but however although
 * while whereas except apart-from otherwise ...) and comma chunks -> anatomy phrases onto
 * the six zones -> findings -> NegEx-style negation with scope -> uncertainty, time,
 * count, severity, distribution, predominance -> one record for the whole text.
 * What each attribute means is documented in docs/text.md ("Report prose"). */
#ifndef C2SEG_DICOM_SR_PROSE_PARSE_H
#define C2SEG_DICOM_SR_PROSE_PARSE_H

#include "dicom-sr/zones.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

/* Which attribute a piece of evidence supports. */
typedef enum prose_attr {
    PA_ZONES,          /* anatomy that located a current lesion (laterality follows from it) */
    PA_FINDING,        /* a current lung-lesion finding */
    PA_NONLESION,      /* effusion, cardiomegaly, devices, atelectasis ... (not a lung lesion) */
    PA_NEGATION,       /* a trigger that negated a lesion or cleared a lung region */
    PA_UNCERTAINTY,    /* possible / cannot be excluded / suspicious for ... */
    PA_TEMPORAL,       /* new / increasing / unchanged / improving / resolved ... */
    PA_COUNT,          /* count words or digits with their finding */
    PA_SEVERITY,       /* mild / moderate / severe, percent, CT-0..CT-4 */
    PA_DISTRIBUTION,   /* peripheral / subpleural / central / diffuse / peribronchovascular */
    PA_PREDOMINANCE,   /* "more pronounced on the right", "lower zone predominance" */
    PA_TYPO,           /* a word read as a lexicon word one or two edits away */
    PA_COUNT_ATTRS
} prose_attr;

typedef enum prose_temporal {
    PT_NONE = 0,
    PT_NEW,       /* new, newly, interval development: current */
    PT_WORSE,     /* increasing, worsening, progression, enlarging: current */
    PT_STABLE,    /* unchanged, stable, persistent, again seen: current */
    PT_BETTER,    /* improving, decreasing, partial resolution: still current (smaller) */
    PT_RESOLVED,  /* resolved, cleared, no longer seen, previously seen (alone): not current */
} prose_temporal;

enum {
    PD_PERIPHERAL = 1,
    PD_SUBPLEURAL = 2,
    PD_CENTRAL = 4,
    PD_DIFFUSE = 8,
    PD_PERIBRONCHOVASCULAR = 16,
};

enum { PF_GGO = 1, PF_CONSOLIDATION = 2, PF_CRAZY_PAVING = 4, PF_INFILTRATE = 8, PF_OPACITY = 16, PF_NODULE = 32,
       PF_OTHER = 64 };
enum { PN_EFFUSION = 1, PN_CARDIOMEGALY = 2, PN_DEVICE = 4, PN_PNEUMOTHORAX = 8, PN_ATELECTASIS = 16,
       PN_OTHER = 32 };

#define PROSE_MAX_SPANS 48
#define PROSE_COUNT_OPEN 99   /* count_hi of "multiple" / "several" / "numerous" */

typedef struct prose_span {
    uint8_t attr;   /* prose_attr */
    int start, end; /* byte offsets into the parsed text, [start, end) */
} prose_span;

typedef struct prose_attrs {
    laterality lat;               /* of the current lesions: zones when located, LAT_UNKNOWN when a
                                     current lesion has no side, LAT_NONE when there is none */
    uint8_t zones[ZONE_COUNT];    /* current lesions' zones (pseudo_label order) */
    int located;                  /* some current lesion has a side */
    int count_lo, count_hi;       /* stated count of current lesions, -1 -1 when none is stated;
                                     a range for "a few" (2-4), open (hi = PROSE_COUNT_OPEN) for
                                     "multiple" (2+) / "several" (3+) */
    int negative;                 /* states no current lung lesion (negated / resolved / clear lungs)
                                     and names no current lesion */
    int n_negated;                /* lesion mentions or lung regions negated */
    int uncertain;                /* a current (not negated) lesion is hedged */
    prose_temporal temporal;      /* of the lesion mentions */
    int sev_lo, sev_hi;           /* 0 none, 1 mild, 2 moderate, 3 severe ("mild to moderate" = 1..2) */
    int ct_category;              /* -1, or CT-0..CT-4: stated, else from the percentage (MosMedData:
                                     0 %, < 25, 25-50, 50-75, >= 75) */
    int ct_stated;                /* the category was written ("CT-2") */
    double pct_lo, pct_hi;        /* percent of lung involved, -1 when none */
    int distribution;             /* PD_* bits */
    laterality predominance_side; /* LAT_LEFT / LAT_RIGHT or LAT_NONE */
    int predominance_levels;      /* bits 1 upper, 2 middle, 4 lower */
    int findings;                 /* PF_* bits of current lesions */
    int nonlesion;                /* PN_* bits recognised (never zones) */
    int n_current;                /* current lesion mentions */
    int summary_sides;            /* sides (1 left, 2 right) a summary sentence names without a level
                                     while other sentences locate the lesions (not widened; a side
                                     the findings never name is a contradiction for caption_parse) */
    int n_sentences, n_clauses;
    int n_typos;
    int n_spans;
    prose_span spans[PROSE_MAX_SPANS];
} prose_attrs;

/* Parses utf8 (NULL = ""). Never fails. */
void prose_parse(const char *utf8, prose_attrs *out);

/* "none" "new" "worse" "stable" "better" "resolved" */
const char *prose_temporal_name(prose_temporal t);
/* Severity as one string: parts joined by '/': the word ("mild", "mild-moderate"), "CT<k>",
 * "pct<lo>[-<hi>]"; "-" when nothing is stated. */
void prose_severity_string(const prose_attrs *a, char *out, size_t cap);
/* Count as "-", "N", "lo-hi" or "lo+". */
void prose_count_string(const prose_attrs *a, char *out, size_t cap);
const char *prose_attr_name(prose_attr a);

/* The attributes with evidence ({"attribute","start","end","text"}) as a new JSON object;
 * text is the parsed string (for the evidence's words). NULL on allocation failure. */
struct cJSON *prose_attrs_json(const prose_attrs *a, const char *text);

#ifdef __cplusplus
}
#endif
#endif
