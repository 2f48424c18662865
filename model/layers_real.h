/* layers_real: declarations of the simple kernels, included by model/layers.h once per
 * precision with C2_REAL = float / double and C2_FN(name) = name / name##_f64.
 * No include guard on purpose. Conventions are in model/layers.h: forward writes `out`,
 * backward ACCUMULATES (+=) into dinp and parameter gradients, NULL dinp / dbias skipped. */

/* ---- convolution, plain loops (conv.c) ---- */

/* out (B,OC,Ho,Wo), inp (B,C,H,W), weight (OC,C,K,K), bias (OC) or NULL; padding K/2. */
void C2_FN(conv2d_forward_reference)(C2_REAL *out, const C2_REAL *inp, const C2_REAL *weight,
                                     const C2_REAL *bias, int B, int C, int H, int W, int OC,
                                     int K, int stride);
/* dinp (B,C,H,W) or NULL, dweight (OC,C,K,K), dbias (OC) or NULL; dout (B,OC,Ho,Wo). */
void C2_FN(conv2d_backward_reference)(C2_REAL *dinp, C2_REAL *dweight, C2_REAL *dbias,
                                      const C2_REAL *dout, const C2_REAL *inp,
                                      const C2_REAL *weight, int B, int C, int H, int W,
                                      int OC, int K, int stride);
/* Depthwise 3x3, stride 1, padding 1 (groups = C): out, inp (B,C,H,W), weight (C,1,3,3),
 * bias (C) or NULL. Plain loops are already memory-bound here, so there is no fast twin. */
void C2_FN(dwconv3_forward)(C2_REAL *out, const C2_REAL *inp, const C2_REAL *weight,
                            const C2_REAL *bias, int B, int C, int H, int W);
void C2_FN(dwconv3_backward)(C2_REAL *dinp, C2_REAL *dweight, C2_REAL *dbias,
                             const C2_REAL *dout, const C2_REAL *inp, const C2_REAL *weight,
                             int B, int C, int H, int W);

/* ---- linear, plain loops (linear.c) ---- */

/* out (M,OC) = inp (M,C) weight(OC,C)^T + bias (OC) or NULL. */
void C2_FN(linear_forward_reference)(C2_REAL *out, const C2_REAL *inp, const C2_REAL *weight,
                                     const C2_REAL *bias, int M, int C, int OC);
void C2_FN(linear_backward_reference)(C2_REAL *dinp, C2_REAL *dweight, C2_REAL *dbias,
                                      const C2_REAL *dout, const C2_REAL *inp,
                                      const C2_REAL *weight, int M, int C, int OC);

/* ---- normalisation (norm.c) ---- */

/* BatchNorm2d on inp, out (B,C,HW); gamma, beta (C). mean, rstd (C) receive the
 * statistics used (saved for backward). train != 0: batch mean and biased variance
 * normalise; running_mean / running_var (C) become 0.9*running + 0.1*batch with the
 * unbiased variance (n/(n-1), n = B*HW), and *num_batches_tracked += 1 (may be NULL).
 * train == 0: the running statistics normalise and nothing is updated. */
void C2_FN(batchnorm_forward)(C2_REAL *out, C2_REAL *mean, C2_REAL *rstd, const C2_REAL *inp,
                              const C2_REAL *gamma, const C2_REAL *beta,
                              C2_REAL *running_mean, C2_REAL *running_var,
                              int32_t *num_batches_tracked, int train, int B, int C, int HW);
/* The statistics eval mode normalises with: mean = running_mean, rstd = 1/sqrt(running_var
 * + eps) (computed in double, as batchnorm_forward with train 0 does); all (C). */
void C2_FN(batchnorm_eval_stats)(C2_REAL *mean, C2_REAL *rstd, const C2_REAL *running_mean,
                                 const C2_REAL *running_var, int C);
/* dinp (B,C,HW) or NULL, dgamma, dbeta (C); mean, rstd from the forward; train as in
 * the forward (in train mode the statistics depend on inp). */
void C2_FN(batchnorm_backward)(C2_REAL *dinp, C2_REAL *dgamma, C2_REAL *dbeta,
                               const C2_REAL *dout, const C2_REAL *inp, const C2_REAL *mean,
                               const C2_REAL *rstd, const C2_REAL *gamma, int train,
                               int B, int C, int HW);
/* LayerNorm over the last dim: out, inp (M,C); gamma, beta (C); mean, rstd (M) saved. */
void C2_FN(layernorm_forward)(C2_REAL *out, C2_REAL *mean, C2_REAL *rstd, const C2_REAL *inp,
                              const C2_REAL *gamma, const C2_REAL *beta, int M, int C);
void C2_FN(layernorm_backward)(C2_REAL *dinp, C2_REAL *dgamma, C2_REAL *dbeta,
                               const C2_REAL *dout, const C2_REAL *inp, const C2_REAL *mean,
                               const C2_REAL *rstd, const C2_REAL *gamma, int M, int C);

/* ---- elementwise and reshaping (elementwise.c); n = number of elements ---- */

/* out = max(inp, 0); backward uses inp (gradient 0 at inp <= 0, as torch). */
void C2_FN(relu_forward)(C2_REAL *out, const C2_REAL *inp, size_t n);
void C2_FN(relu_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *inp, size_t n);
/* In place: d = dL/d(out) on entry, dL/d(inp) on return (out and inp gradients sharing d). */
void C2_FN(relu_backward_inplace)(C2_REAL *d, const C2_REAL *inp, size_t n);
/* out = inp * sigmoid(inp); backward uses inp. */
void C2_FN(silu_forward)(C2_REAL *out, const C2_REAL *inp, size_t n);
void C2_FN(silu_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *inp, size_t n);
/* out = tanh(inp); backward uses out. */
void C2_FN(tanh_forward)(C2_REAL *out, const C2_REAL *inp, size_t n);
void C2_FN(tanh_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *out, size_t n);
/* out = 1 / (1 + exp(-inp)); backward uses out. */
void C2_FN(sigmoid_forward)(C2_REAL *out, const C2_REAL *inp, size_t n);
void C2_FN(sigmoid_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *out, size_t n);
/* Residual add: out = a + b (out may alias a or b); backward da += dout, db += dout. */
void C2_FN(add_forward)(C2_REAL *out, const C2_REAL *a, const C2_REAL *b, size_t n);
void C2_FN(add_backward)(C2_REAL *da, C2_REAL *db, const C2_REAL *dout, size_t n);
/* Channel concat: out (B,Ca+Cb,HW) = [a (B,Ca,HW), b (B,Cb,HW)], a first. */
void C2_FN(concat_forward)(C2_REAL *out, const C2_REAL *a, const C2_REAL *b,
                           int B, int Ca, int Cb, int HW);
void C2_FN(concat_backward)(C2_REAL *da, C2_REAL *db, const C2_REAL *dout,
                            int B, int Ca, int Cb, int HW);
/* Max-pool 2x2 stride 2: out (B,C,H/2,W/2), inp (B,C,H,W), H and W even. Backward
 * recomputes the argmax from inp (the first maximum in row-major window order, as
 * torch's CPU kernel), so nothing is saved. */
void C2_FN(maxpool2_forward)(C2_REAL *out, const C2_REAL *inp, int B, int C, int H, int W);
/* maxpool2_forward then relu_forward in one pass (an eval forward: the pooled values unkept). */
void C2_FN(maxpool2_relu_forward)(C2_REAL *out, const C2_REAL *inp, int B, int C, int H, int W);
void C2_FN(maxpool2_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *inp,
                              int B, int C, int H, int W);
/* Bilinear x2, align_corners = False (METHOD.md §3): out (B,C,2H,2W), inp (B,C,H,W). */
void C2_FN(upsample2_forward)(C2_REAL *out, const C2_REAL *inp, int B, int C, int H, int W);
/* out = ReLU(upsample2(inp)) (+ skip (B,C,2H,2W) unless NULL) in one pass, the values of
 * upsample2_forward, relu_forward and add_forward run in turn (an eval forward). */
void C2_FN(upsample2_relu_add_forward)(C2_REAL *out, const C2_REAL *inp, const C2_REAL *skip, int B, int C, int H,
                                       int W);
void C2_FN(upsample2_backward)(C2_REAL *dinp, const C2_REAL *dout, int B, int C, int H, int W);
/* Map (B,C,H,W) -> tokens (B,P,C), P = H*W. Its backward is tokens_to_map's forward
 * accumulated, and vice versa, so each backward is the other's transpose with +=. */
void C2_FN(map_to_tokens_forward)(C2_REAL *out, const C2_REAL *inp, int B, int C, int P);
void C2_FN(map_to_tokens_backward)(C2_REAL *dinp, const C2_REAL *dout, int B, int C, int P);
/* Tokens (B,P,C) -> map (B,C,H,W). */
void C2_FN(tokens_to_map_forward)(C2_REAL *out, const C2_REAL *inp, int B, int C, int P);
void C2_FN(tokens_to_map_backward)(C2_REAL *dinp, const C2_REAL *dout, int B, int C, int P);

/* ---- losses (losses.c); declared here with the layers, documented in model/losses.h ---- */

/* Mean BCE-with-logits over n elements: mean(max(x,0) - x*g + log1p(exp(-|x|))). */
C2_REAL C2_FN(bce_forward)(const C2_REAL *logits, const C2_REAL *gt, size_t n);
/* dlogits (n) += dloss * (sigmoid(x) - g) / n. */
void C2_FN(bce_backward)(C2_REAL *dlogits, const C2_REAL *logits, const C2_REAL *gt, size_t n,
                         C2_REAL dloss);
/* Soft Dice, smoothing 1 (METHOD.md §6): mean over B of 1 - (2*sum p*g + 1) /
 * (sum p + sum g + 1), p = sigmoid(logits); logits, gt (B, n_per). */
C2_REAL C2_FN(dice_forward)(const C2_REAL *logits, const C2_REAL *gt, int B, size_t n_per);
/* dlogits (B, n_per) += dloss * d dice / d logits (the sums are recomputed). */
void C2_FN(dice_backward)(C2_REAL *dlogits, const C2_REAL *logits, const C2_REAL *gt, int B,
                          size_t n_per, C2_REAL dloss);
