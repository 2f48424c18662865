/* quality_gate: the consistency flag as a detector of poor segmentations. A case with a
 * text and a ground truth is "poor" when its Dice is below a threshold (default 0.5) and
 * "flagged" when its prediction is inconsistent with its text; precision = flagged and
 * poor / flagged, recall = flagged and poor / poor (null when the denominator is 0).
 * One module shared by `c2seg eval` and `c2seg report`, so both count the same way. */
#ifndef C2SEG_DICOM_SR_QUALITY_GATE_H
#define C2SEG_DICOM_SR_QUALITY_GATE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

#define QUALITY_GATE_DICE 0.5

typedef struct quality_gate {
    double dice_threshold;
    int64_t tp, fp, fn, tn; /* flagged & poor, flagged & fine, missed poor, passed fine */
} quality_gate;

void quality_gate_init(quality_gate *g, double dice_threshold);
/* Adds one case with a text and a ground truth (dice in [0,1], consistent 0/1). */
void quality_gate_add(quality_gate *g, int consistent, double dice);
/* {"dice_threshold":..,"n":..,"n_poor":..,"n_flagged":..,"tp":..,"fp":..,"fn":..,"tn":..,
 *  "precision":..|null,"recall":..|null} (new object). */
struct cJSON *quality_gate_json(const quality_gate *g);
/* Parses a Dice threshold in [0,1] from s into *out; -1 when s is not one. */
int quality_gate_parse(const char *s, double *out);

#ifdef __cplusplus
}
#endif
#endif
