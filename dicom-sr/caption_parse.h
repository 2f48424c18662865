/* caption_parse: report text -> clinical attributes, and the inverse (a canonical caption
 * from attributes or from a mask). METHOD.md §7 defines the captions' grammar:
 *   "<bilateral|unilateral> pulmonary infection, <N> infected area(s), <zones> left lung and <zones> right lung."
 * with zone words upper / middle / lower / all (no zone word = the whole side).
 * The parser also accepts typos ("mmiddle", "higher" = upper, "infectd"), counts one..nine
 * or digits, and report prose: lobes ("right lower lobe", "lingula"), "both lungs",
 * "bilateral lower zones", "no infection" / "clear lungs". It reports what the text
 * says (stated count, stated laterality) next to what the zones imply, and lists every
 * problem (unknown words near a zone phrase, contradictions) per caption.
 * In QaTa captions "N infected areas" = the number of involved zones. */
#ifndef C2SEG_DICOM_SR_CAPTION_PARSE_H
#define C2SEG_DICOM_SR_CAPTION_PARSE_H

#include "dicom-sr/zones.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

typedef enum caption_status {
    CAPTION_OK = 0,          /* parsed, self-consistent */
    CAPTION_CONTRADICTION,   /* parsed, but parts disagree (listed in problems) */
    CAPTION_PARTIAL,         /* some attributes missing (e.g. a count without zones) */
    CAPTION_UNPARSED,        /* nothing recognisable */
} caption_status;

#define CAPTION_MAX_PROBLEMS 6

typedef struct caption_attrs {
    laterality lat;                 /* final laterality: from zones when any, else the keywords */
    laterality lat_stated;          /* what the keywords say (bilateral/unilateral + left/right); LAT_UNKNOWN if nothing */
    int unilateral_stated;          /* "unilateral" present */
    int count;                      /* stated count (0..9), -1 when none is stated */
    uint8_t zones[ZONE_COUNT];      /* zones named by the text */
    int zones_stated;               /* 1 when the text names a side or zone (else zones[] is empty by default) */
    int n_zones;                    /* involved zones */
    int runs[2];                    /* runs of consecutive zones, left / right */
    int count_is_zones;             /* 1: the stated count equals n_zones (the QaTa meaning) */
    int negative;                   /* "no infection", "clear", "normal" */
    lr_convention convention;       /* of the source */
    int derived;                    /* generated from a mask, not written by a person */
    int prose;                      /* parsed by the report-prose parser (prose_parse.h), not the template */
    caption_status status;
    int n_problems;
    char problems[CAPTION_MAX_PROBLEMS][120];
} caption_attrs;

/* Parses utf8 (NULL = ""). Never fails: unparseable text gives CAPTION_UNPARSED.
 * Templated captions (caption_is_template) take the exact template grammar; any other text
 * is report prose (prose_parse.h: clauses, negation scope, time, uncertainty), whose
 * current lesions give the zones, laterality, count and negative flag. */
void caption_parse(const char *utf8, lr_convention conv, caption_attrs *out);
/* The same; when prose != NULL it receives the prose record (with evidence spans), zeroed
 * for a templated caption. Returns 1 when the prose parser was used, 0 for the template. */
struct prose_attrs;
int caption_parse_full(const char *utf8, lr_convention conv, caption_attrs *out, struct prose_attrs *prose);
/* 1 when the text carries the templated captions' markers ("N infected area(s)",
 * "pulmonary infection", "no infection"; typos as the template reads them). */
int caption_is_template(const char *utf8);

/* The canonical QaTa-style caption of the attributes (uses zones; lat/count follow from them):
 *   "Bilateral pulmonary infection, two infected areas, upper left lung and middle lower right lung."
 *   "No infection." when no zone is involved.
 * Returns the length written (truncated to cap-1), like snprintf. */
int caption_generate(const caption_attrs *a, char *out, size_t cap);

/* Attributes of a mask (zones from mask_zones, count = involved zones), marked derived. */
void caption_attrs_from_zones(const mask_zones *z, lr_convention conv, caption_attrs *out);

/* {"laterality":..,"laterality_stated":..,"count":..,"zones":[6],"zone_names":[..],"runs":[2],
 *  "n_zones":..,"count_is_zones":..,"convention":..,"derived":..,"parser":"template"|"prose",
 *  "status":..,"problems":[..],
 *  "canonical":".."}  (new object; NULL on allocation failure) */
struct cJSON *caption_attrs_json(const caption_attrs *a);
const char *caption_status_name(caption_status s);   /* "ok" "contradiction" "partial" "unparsed" */

#ifdef __cplusplus
}
#endif
#endif
