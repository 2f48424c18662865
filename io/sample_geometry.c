/* Geometry of a cache sample: where its text's "left" lies in the model image and its
 * model pixel spacing, from the sample's model_to_source and source_to_patient (used
 * by `c2seg eval` and `c2seg predict` alike). */
#include "io/cache.h"

#include <math.h>
#include <string.h>

int cache_sample_left_is_image_right(const cache_sample *s)
{
    int patient = s->text_convention && strcmp(s->text_convention, "patient") == 0;
    if (!patient)
        return 0;
    if (!s->has_patient_geometry)
        return 1;
    /* x (LPS: towards patient left) change per model column */
    double dx = 0;
    for (int k = 0; k < 3; k++)
        dx += s->source_to_patient[0][k] * s->model_to_source[k][1];
    return dx > 0;
}

void cache_sample_spacing(const cache_sample *s, double *sy, double *sx)
{
    *sy = *sx = 0;
    if (!s->has_patient_geometry)
        return;
    for (int axis = 0; axis < 2; axis++) {
        double n2 = 0;
        for (int r = 0; r < 3; r++) {
            double d = 0;
            for (int k = 0; k < 3; k++)
                d += s->source_to_patient[r][k] * s->model_to_source[k][axis];
            n2 += d * d;
        }
        *(axis == 0 ? sy : sx) = sqrt(n2);
    }
}
