/* losses: BCE-with-logits (mean) and soft Dice (smoothing 1), the Stage-II loss of
 * METHOD.md §6. Sums run in double in both precisions; the simple kernels are compiled
 * once per precision by including this file again (see model/conv.c). */
#ifndef C2_REAL

#include "model/losses.h"

#include <math.h>

float seg_loss_forward(float *bce, float *dice, const float *logits, const float *gt, int B,
                       size_t n_per)
{
    float b = bce_forward(logits, gt, (size_t)B * n_per);
    float d = dice_forward(logits, gt, B, n_per);
    if (bce)
        *bce = b;
    if (dice)
        *dice = d;
    return b + d;
}

void seg_loss_backward(float *dlogits, const float *logits, const float *gt, int B,
                       size_t n_per, float dloss)
{
    bce_backward(dlogits, logits, gt, (size_t)B * n_per, dloss);
    dice_backward(dlogits, logits, gt, B, n_per, dloss);
}

#define C2_REAL_TWICE "model/losses.c"
#include "model/real_twice.h"

#else

static double C2_FN(loss_sigmoid)(C2_REAL x)
{
    return 1.0 / (1.0 + exp(-(double)x));
}

C2_REAL C2_FN(bce_forward)(const C2_REAL *logits, const C2_REAL *gt, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = logits[i];
        s += (x > 0 ? x : 0.0) - x * gt[i] + log1p(exp(-fabs(x)));
    }
    return (C2_REAL)(s / (double)n);
}

void C2_FN(bce_backward)(C2_REAL *dlogits, const C2_REAL *logits, const C2_REAL *gt, size_t n,
                         C2_REAL dloss)
{
    double scale = (double)dloss / (double)n;
    for (size_t i = 0; i < n; i++)
        dlogits[i] += (C2_REAL)(scale * (C2_FN(loss_sigmoid)(logits[i]) - gt[i]));
}

/* The per-image sums of the Dice term: inter = sum p*g, total = sum p + sum g. */
static void C2_FN(dice_sums)(double *inter, double *total, const C2_REAL *logits,
                             const C2_REAL *gt, size_t n_per)
{
    double in = 0.0, t = 0.0;
    for (size_t i = 0; i < n_per; i++) {
        double p = C2_FN(loss_sigmoid)(logits[i]);
        in += p * gt[i];
        t += p + gt[i];
    }
    *inter = in;
    *total = t;
}

C2_REAL C2_FN(dice_forward)(const C2_REAL *logits, const C2_REAL *gt, int B, size_t n_per)
{
    double s = 0.0;
    for (int b = 0; b < B; b++) {
        double inter, total;
        C2_FN(dice_sums)(&inter, &total, logits + (size_t)b * n_per, gt + (size_t)b * n_per, n_per);
        s += 1.0 - (2.0 * inter + DICE_SMOOTH) / (total + DICE_SMOOTH);
    }
    return (C2_REAL)(s / B);
}

/* d dice_b / d p_i = -(2 g_i (T + 1) - (2 I + 1)) / (T + 1)^2, and dp/dx = p (1 - p). */
void C2_FN(dice_backward)(C2_REAL *dlogits, const C2_REAL *logits, const C2_REAL *gt, int B,
                          size_t n_per, C2_REAL dloss)
{
    for (int b = 0; b < B; b++) {
        const C2_REAL *x = logits + (size_t)b * n_per, *g = gt + (size_t)b * n_per;
        double inter, total;
        C2_FN(dice_sums)(&inter, &total, x, g, n_per);
        double num = 2.0 * inter + DICE_SMOOTH, den = total + DICE_SMOOTH;
        double scale = (double)dloss / B;
        for (size_t i = 0; i < n_per; i++) {
            double p = C2_FN(loss_sigmoid)(x[i]);
            double dp = -(2.0 * g[i] * den - num) / (den * den);
            dlogits[(size_t)b * n_per + i] += (C2_REAL)(scale * dp * p * (1.0 - p));
        }
    }
}

#endif
