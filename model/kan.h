/* kan: KANLinear(in, out) with efficient-kan semantics (METHOD.md §2).
 *
 *   y[m,o] = Σ_i SiLU(x[m,i]) Wb[o,i] + Σ_i Σ_k B_k(x[m,i]) Ws[o,i,k] S[o,i]
 *
 * Wb = base_weight [out,in], Ws = spline_weight [out,in,8], S = spline_scaler [out,in],
 * B_k = the 8 cubic B-spline bases on the 12 knots `grid` (−2.2 … 2.2, step 0.4).
 *
 * Two implementations live here:
 * - the reference (`kan_linear_forward_reference`, `…_backward_reference`): Cox–de Boor in
 *   exactly the float operation order of METHOD.md §2 (half-open intervals, divisions),
 *   plain loops. It also exists in double (`…_f64`) for the finite-difference checks.
 * - the fast path (`kan_linear_forward`, `kan_linear_backward`): the 4 non-zero bases in
 *   closed form from the knot interval, and the base and spline terms as ONE sgemm with
 *   K = 9·in against a fused weight Wf[o, 9i+0] = Wb[o,i], Wf[o, 9i+1+k] = Ws[o,i,k]·S[o,i].
 *   The operand X9 [M, 9·in] is built on the fly in row blocks and never stored; backward
 *   rebuilds it. See docs/kan.md.
 *
 * All backward functions ACCUMULATE (+=) into dinp and into the parameter gradients.
 * Tokens are rows: inp is [M, in] (M = B·P), out is [M, out]. */
#ifndef C2SEG_MODEL_KAN_H
#define C2SEG_MODEL_KAN_H

#include <stddef.h>

#define KAN_NKNOTS 12   /* grid_size 5 + 2·3 extra knots + 1 */
#define KAN_NBASES 8    /* grid_size + spline order */
#define KAN_ORDER 3
#define KAN_FUSED 9     /* 1 SiLU column + 8 spline columns per input */

/* The default knots: float32 of {−2.2, −1.8, …, 2.2}, as torch stores `grid`. */
extern const float kan_default_grid[KAN_NKNOTS];

/* One KANLinear's tensors (parameters, or their gradients); grid is a buffer, not trained. */
typedef struct kan_linear_params {
    float *base_weight;    /* [out, in] */
    float *spline_weight;  /* [out, in, 8] */
    float *spline_scaler;  /* [out, in] */
} kan_linear_params;

/* Number of parameters: 10·in·out (no bias). */
size_t kan_linear_param_count(int in, int out);

/* The 8 bases of one scalar x by Cox–de Boor (reference order of operations). */
void kan_bases_reference(float bases[KAN_NBASES], float x, const float grid[KAN_NKNOTS]);
void kan_bases_reference_f64(double bases[KAN_NBASES], double x, const double grid[KAN_NKNOTS]);

/* The closed form used by the fast path: the knot interval j of x (t_j <= x < t_{j+1},
 * j = 0..10) and the 4 bases B_{j-3..j} (some of which fall outside 0..7) with their
 * derivatives d/dx. Returns j, or −1 when x is outside [t_0, t_11) or NaN (all bases 0). */
int kan_bases_closed_form(float b4[4], float db4[4], float x, const float grid[KAN_NKNOTS]);

/* Reference: inp [M,in] -> out [M,out]. */
void kan_linear_forward_reference(float *out, const float *inp, const kan_linear_params *p,
                                  const float grid[KAN_NKNOTS], int M, int in, int outc);
void kan_linear_backward_reference(float *dinp, const kan_linear_params *dp, const float *dout,
                                   const float *inp, const kan_linear_params *p,
                                   const float grid[KAN_NKNOTS], int M, int in, int outc);

/* Double twins for finite-difference checks (same loops, double arithmetic). */
typedef struct kan_linear_params_f64 {
    double *base_weight;
    double *spline_weight;
    double *spline_scaler;
} kan_linear_params_f64;
void kan_linear_forward_reference_f64(double *out, const double *inp, const kan_linear_params_f64 *p,
                                      const double grid[KAN_NKNOTS], int M, int in, int outc);
void kan_linear_backward_reference_f64(double *dinp, const kan_linear_params_f64 *dp,
                                       const double *dout, const double *inp,
                                       const kan_linear_params_f64 *p,
                                       const double grid[KAN_NKNOTS], int M, int in, int outc);

/* Fast path scratch: floats the caller provides to kan_linear_forward / _backward (the
 * fused weight, then per lane two operand blocks and a fused-weight gradient; kan.c).
 * Independent of M beyond the block size and of the thread count, so one buffer sized
 * for the largest layer serves every call. */
size_t kan_scratch_floats(int M, int in, int outc);

/* Fast: inp [M,in] -> out [M,out] (out is overwritten). */
void kan_linear_forward(float *out, const float *inp, const kan_linear_params *p,
                        const float grid[KAN_NKNOTS], int M, int in, int outc, float *scratch);
/* Fast backward; dinp may be NULL when the input needs no gradient. */
void kan_linear_backward(float *dinp, const kan_linear_params *dp, const float *dout,
                         const float *inp, const kan_linear_params *p,
                         const float grid[KAN_NKNOTS], int M, int in, int outc, float *scratch);

#endif
