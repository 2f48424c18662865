/* elementwise: activations (ReLU, SiLU, tanh, sigmoid), residual add, channel concat,
 * 2x2 max-pool, bilinear x2 upsampling (align_corners = False) and the map <-> token
 * transposes. All are memory-bound plain loops, so each exists once, in float and in
 * double, compiled by including this file again (see model/conv.c). */
#ifndef C2_REAL

#include "model/layers.h"
#include "model/threads.h"

#include <math.h>

#define C2_REAL float
#define C2_FN(name) name
#define C2_EXP expf
#define C2_TANH tanhf
#include "model/elementwise.c"
#undef C2_REAL
#undef C2_FN
#undef C2_EXP
#undef C2_TANH
#define C2_REAL double
#define C2_FN(name) name##_f64
#define C2_EXP exp
#define C2_TANH tanh
#include "model/elementwise.c"
#undef C2_REAL
#undef C2_FN
#undef C2_EXP
#undef C2_TANH

#else

static C2_REAL C2_FN(sigmoid_of)(C2_REAL x)
{
    return 1 / (1 + C2_EXP(-x));
}

void C2_FN(relu_forward)(C2_REAL *out, const C2_REAL *inp, size_t n)
{
    C2_OMP(parallel for schedule(static) if(n > C2_PAR_MIN))
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0 ? inp[i] : 0;
}

/* Branch-free (a select, so the loop vectorises): the sign of ReLU's input is random, and a
 * mispredicted branch per element made this the costliest elementwise loop of training. */
void C2_FN(relu_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *inp, size_t n)
{
    C2_OMP(parallel for schedule(static) if(n > C2_PAR_MIN))
    for (size_t i = 0; i < n; i++)
        dinp[i] += inp[i] > 0 ? dout[i] : 0;
}

/* d holds dL/d(out) on entry and dL/d(in) on return: for a ReLU whose input and output
 * gradients share one buffer (c2seg_acts.c). */
void C2_FN(relu_backward_inplace)(C2_REAL *d, const C2_REAL *inp, size_t n)
{
    C2_OMP(parallel for schedule(static) if(n > C2_PAR_MIN))
    for (size_t i = 0; i < n; i++)
        d[i] = inp[i] > 0 ? d[i] : 0;
}

void C2_FN(silu_forward)(C2_REAL *out, const C2_REAL *inp, size_t n)
{
    C2_OMP(parallel for schedule(static) if(n > C2_PAR_MIN))
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] * C2_FN(sigmoid_of)(inp[i]);
}

/* d/dx x*s(x) = s(x) * (1 + x*(1 - s(x))) */
void C2_FN(silu_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *inp, size_t n)
{
    C2_OMP(parallel for schedule(static) if(n > C2_PAR_MIN))
    for (size_t i = 0; i < n; i++) {
        C2_REAL s = C2_FN(sigmoid_of)(inp[i]);
        dinp[i] += dout[i] * s * (1 + inp[i] * (1 - s));
    }
}

void C2_FN(tanh_forward)(C2_REAL *out, const C2_REAL *inp, size_t n)
{
    C2_OMP(parallel for schedule(static) if(n > C2_PAR_MIN))
    for (size_t i = 0; i < n; i++)
        out[i] = C2_TANH(inp[i]);
}

void C2_FN(tanh_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *out, size_t n)
{
    C2_OMP(parallel for schedule(static) if(n > C2_PAR_MIN))
    for (size_t i = 0; i < n; i++)
        dinp[i] += dout[i] * (1 - out[i] * out[i]);
}

void C2_FN(sigmoid_forward)(C2_REAL *out, const C2_REAL *inp, size_t n)
{
    C2_OMP(parallel for schedule(static) if(n > C2_PAR_MIN))
    for (size_t i = 0; i < n; i++)
        out[i] = C2_FN(sigmoid_of)(inp[i]);
}

void C2_FN(sigmoid_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *out, size_t n)
{
    C2_OMP(parallel for schedule(static) if(n > C2_PAR_MIN))
    for (size_t i = 0; i < n; i++)
        dinp[i] += dout[i] * out[i] * (1 - out[i]);
}

void C2_FN(add_forward)(C2_REAL *out, const C2_REAL *a, const C2_REAL *b, size_t n)
{
    C2_OMP(parallel for schedule(static) if(n > C2_PAR_MIN))
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void C2_FN(add_backward)(C2_REAL *da, C2_REAL *db, const C2_REAL *dout, size_t n)
{
    C2_OMP(parallel for schedule(static) if(n > C2_PAR_MIN))
    for (size_t i = 0; i < n; i++) {
        da[i] += dout[i];
        db[i] += dout[i];
    }
}

void C2_FN(concat_forward)(C2_REAL *out, const C2_REAL *a, const C2_REAL *b,
                           int B, int Ca, int Cb, int HW)
{
    size_t na = (size_t)Ca * HW, nb = (size_t)Cb * HW;
    for (int i = 0; i < B; i++) {
        C2_REAL *y = out + (size_t)i * (na + nb);
        for (size_t j = 0; j < na; j++)
            y[j] = a[(size_t)i * na + j];
        for (size_t j = 0; j < nb; j++)
            y[na + j] = b[(size_t)i * nb + j];
    }
}

void C2_FN(concat_backward)(C2_REAL *da, C2_REAL *db, const C2_REAL *dout,
                            int B, int Ca, int Cb, int HW)
{
    size_t na = (size_t)Ca * HW, nb = (size_t)Cb * HW;
    for (int i = 0; i < B; i++) {
        const C2_REAL *dy = dout + (size_t)i * (na + nb);
        for (size_t j = 0; j < na; j++)
            da[(size_t)i * na + j] += dy[j];
        for (size_t j = 0; j < nb; j++)
            db[(size_t)i * nb + j] += dy[na + j];
    }
}

/* Index (in the plane) of the first maximum of the 2x2 window at output (oy, ox). */
static size_t C2_FN(maxpool2_argmax)(const C2_REAL *plane, int W, int oy, int ox)
{
    size_t best = (size_t)(2 * oy) * W + 2 * ox;
    for (int ky = 0; ky < 2; ky++)
        for (int kx = 0; kx < 2; kx++) {
            size_t at = (size_t)(2 * oy + ky) * W + 2 * ox + kx;
            if (plane[at] > plane[best])
                best = at;
        }
    return best;
}

/* Max-pool 2x2, then (relu) the ReLU of each maximum, in the same pass. */
static void C2_FN(maxpool2_post)(C2_REAL *out, const C2_REAL *inp, int relu, int B, int C, int H, int W)
{
    int Ho = H / 2, Wo = W / 2;
    C2_OMP(parallel for schedule(static) if((size_t)B * C * H * W > C2_PAR_MIN))
    for (size_t bc = 0; bc < (size_t)B * C; bc++) {
        const C2_REAL *x = inp + bc * H * W;
        C2_REAL *y = out + bc * Ho * Wo;
        for (int oy = 0; oy < Ho; oy++) {
            const C2_REAL *r0 = x + (size_t)(2 * oy) * W, *r1 = r0 + W;
            /* the value at maxpool2_argmax, by selects in its order (first maximum; a NaN
             * first element stays), so the loop has no branches */
            for (int ox = 0; ox < Wo; ox++) {
                C2_REAL m = r0[2 * ox];
                m = r0[2 * ox + 1] > m ? r0[2 * ox + 1] : m;
                m = r1[2 * ox] > m ? r1[2 * ox] : m;
                m = r1[2 * ox + 1] > m ? r1[2 * ox + 1] : m;
                y[(size_t)oy * Wo + ox] = relu ? (m > 0 ? m : 0) : m;
            }
        }
    }
}

void C2_FN(maxpool2_forward)(C2_REAL *out, const C2_REAL *inp, int B, int C, int H, int W)
{
    C2_FN(maxpool2_post)(out, inp, 0, B, C, H, W);
}

void C2_FN(maxpool2_relu_forward)(C2_REAL *out, const C2_REAL *inp, int B, int C, int H, int W)
{
    C2_FN(maxpool2_post)(out, inp, 1, B, C, H, W);
}

void C2_FN(maxpool2_backward)(C2_REAL *dinp, const C2_REAL *dout, const C2_REAL *inp,
                              int B, int C, int H, int W)
{
    int Ho = H / 2, Wo = W / 2;
    C2_OMP(parallel for schedule(static) if((size_t)B * C * H * W > C2_PAR_MIN))
    for (size_t bc = 0; bc < (size_t)B * C; bc++) {
        const C2_REAL *x = inp + bc * H * W;
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++)
                dinp[bc * H * W + C2_FN(maxpool2_argmax)(x, W, oy, ox)] +=
                    dout[(bc * Ho + oy) * Wo + ox];
    }
}

/* Source taps of output index dst along one axis of length n_in (scale 1/2):
 * src = (dst + 0.5)/2 - 0.5 clamped below at 0; i0 = floor(src), i1 = min(i0+1, n_in-1),
 * lambda = src - i0 (METHOD.md §3, torch's area_pixel_compute_source_index). */
static void C2_FN(upsample2_taps)(int dst, int n_in, int *i0, int *i1, C2_REAL *lambda)
{
    C2_REAL src = (C2_REAL)0.5 * ((C2_REAL)dst + (C2_REAL)0.5) - (C2_REAL)0.5;
    if (src < 0)
        src = 0;
    *i0 = (int)src;
    *i1 = *i0 + (*i0 < n_in - 1 ? 1 : 0);
    *lambda = src - (C2_REAL)*i0;
}

/* Row y of a plane x (W wide) interpolated along x: h[ox] = (1 − lx)·x[x0] + lx·x[x1], the
 * inner sums of upsample2_forward's expression (so a row built once serves every output row
 * that reads it, bit for bit). */
static void C2_FN(upsample2_hrow)(C2_REAL *h, const C2_REAL *r, const int *cx0, const int *cx1, const C2_REAL *clx,
                                  int Wo)
{
    C2_OMP(simd)
    for (int ox = 0; ox < Wo; ox++)
        h[ox] = (1 - clx[ox]) * r[cx0[ox]] + clx[ox] * r[cx1[ox]];
}

/* upsample2_forward's values, then (relu) their ReLU and (skip) + skip, in one pass. */
static void C2_FN(upsample2_post)(C2_REAL *out, const C2_REAL *inp, const C2_REAL *skip, int relu, int B, int C,
                                  int H, int W)
{
    int Ho = 2 * H, Wo = 2 * W;
    /* the column taps are the same for every row and plane: computed once when they fit */
    enum { TAPS_MAX = 2048 };
    int cx0[TAPS_MAX], cx1[TAPS_MAX], tabled = Wo <= TAPS_MAX;
    C2_REAL clx[TAPS_MAX];
    for (int ox = 0; tabled && ox < Wo; ox++)
        C2_FN(upsample2_taps)(ox, W, &cx0[ox], &cx1[ox], &clx[ox]);
    C2_OMP(parallel for schedule(static) if((size_t)B * C * H * W > C2_PAR_MIN))
    for (size_t bc = 0; bc < (size_t)B * C; bc++) {
        const C2_REAL *x = inp + bc * H * W;
        C2_REAL *y = out + bc * Ho * Wo;
        const C2_REAL *s = skip ? skip + bc * Ho * Wo : NULL;
        C2_REAL hrow[2][TAPS_MAX];   /* two input rows interpolated along x (tabled) */
        int have[2] = {-1, -1};
        for (int oy = 0; oy < Ho; oy++) {
            int y0, y1;
            C2_REAL ly;
            C2_FN(upsample2_taps)(oy, H, &y0, &y1, &ly);
            const C2_REAL *r0 = x + (size_t)y0 * W, *r1 = x + (size_t)y1 * W;
            C2_REAL *yr = y + (size_t)oy * Wo;
            if (tabled) {
                int want[2] = {y0, y1};
                const C2_REAL *hp[2];
                for (int k = 0; k < 2; k++) {
                    int slot = have[0] == want[k] ? 0 : have[1] == want[k] ? 1 : -1;
                    if (slot < 0) {   /* the slot the other wanted row does not hold */
                        slot = have[0] == want[1 - k] ? 1 : 0;
                        C2_FN(upsample2_hrow)(hrow[slot], x + (size_t)want[k] * W, cx0, cx1, clx, Wo);
                        have[slot] = want[k];
                    }
                    hp[k] = hrow[slot];
                }
                const C2_REAL *h0 = hp[0], *h1 = hp[1], *sr = s ? s + (size_t)oy * Wo : NULL;
                if (!relu) {   /* one loop per case, each vectorised */
                    C2_OMP(simd)
                    for (int ox = 0; ox < Wo; ox++)
                        yr[ox] = (1 - ly) * h0[ox] + ly * h1[ox];
                } else if (!sr) {
                    C2_OMP(simd)
                    for (int ox = 0; ox < Wo; ox++) {
                        C2_REAL v = (1 - ly) * h0[ox] + ly * h1[ox];
                        yr[ox] = v > 0 ? v : 0;
                    }
                } else {
                    C2_OMP(simd)
                    for (int ox = 0; ox < Wo; ox++) {
                        C2_REAL v = (1 - ly) * h0[ox] + ly * h1[ox];
                        yr[ox] = (v > 0 ? v : 0) + sr[ox];
                    }
                }
                continue;
            }
            for (int ox = 0; ox < Wo; ox++) {
                int x0, x1;
                C2_REAL lx;
                C2_FN(upsample2_taps)(ox, W, &x0, &x1, &lx);
                C2_REAL v = (1 - ly) * ((1 - lx) * r0[x0] + lx * r0[x1]) + ly * ((1 - lx) * r1[x0] + lx * r1[x1]);
                v = relu ? (v > 0 ? v : 0) : v;
                yr[ox] = s ? v + s[(size_t)oy * Wo + ox] : v;
            }
        }
    }
}

void C2_FN(upsample2_forward)(C2_REAL *out, const C2_REAL *inp, int B, int C, int H, int W)
{
    C2_FN(upsample2_post)(out, inp, NULL, 0, B, C, H, W);
}

void C2_FN(upsample2_relu_add_forward)(C2_REAL *out, const C2_REAL *inp, const C2_REAL *skip, int B, int C, int H,
                                       int W)
{
    C2_FN(upsample2_post)(out, inp, skip, 1, B, C, H, W);
}

void C2_FN(upsample2_backward)(C2_REAL *dinp, const C2_REAL *dout, int B, int C, int H, int W)
{
    int Ho = 2 * H, Wo = 2 * W;
    C2_OMP(parallel for schedule(static) if((size_t)B * C * H * W > C2_PAR_MIN))
    for (size_t bc = 0; bc < (size_t)B * C; bc++) {
        C2_REAL *dx = dinp + bc * H * W;
        const C2_REAL *dy = dout + bc * Ho * Wo;
        for (int oy = 0; oy < Ho; oy++) {
            int y0, y1;
            C2_REAL ly;
            C2_FN(upsample2_taps)(oy, H, &y0, &y1, &ly);
            for (int ox = 0; ox < Wo; ox++) {
                int x0, x1;
                C2_REAL lx, d = dy[(size_t)oy * Wo + ox];
                C2_FN(upsample2_taps)(ox, W, &x0, &x1, &lx);
                dx[(size_t)y0 * W + x0] += (1 - ly) * (1 - lx) * d;
                dx[(size_t)y0 * W + x1] += (1 - ly) * lx * d;
                dx[(size_t)y1 * W + x0] += ly * (1 - lx) * d;
                dx[(size_t)y1 * W + x1] += ly * lx * d;
            }
        }
    }
}

/* out[b,p,c] (+)= inp[b,c,p]; the one transpose both directions use. */
static void C2_FN(transpose_cp)(C2_REAL *out, const C2_REAL *inp, int B, int C, int P, int add)
{
    C2_OMP(parallel for schedule(static) if((size_t)B * C * P > C2_PAR_MIN))
    for (int bc = 0; bc < B * C; bc++) {   /* each (b, c) writes its own column of y */
        int b = bc / C, c = bc % C;
        const C2_REAL *x = inp + (size_t)b * C * P;
        C2_REAL *y = out + (size_t)b * C * P;
        for (int p = 0; p < P; p++) {
            C2_REAL v = x[(size_t)c * P + p];
            y[(size_t)p * C + c] = add ? y[(size_t)p * C + c] + v : v;
        }
    }
}

void C2_FN(map_to_tokens_forward)(C2_REAL *out, const C2_REAL *inp, int B, int C, int P)
{
    C2_FN(transpose_cp)(out, inp, B, C, P, 0);
}

void C2_FN(map_to_tokens_backward)(C2_REAL *dinp, const C2_REAL *dout, int B, int C, int P)
{
    C2_FN(transpose_cp)(dinp, dout, B, P, C, 1);
}

void C2_FN(tokens_to_map_forward)(C2_REAL *out, const C2_REAL *inp, int B, int C, int P)
{
    C2_FN(transpose_cp)(out, inp, B, P, C, 0);
}

void C2_FN(tokens_to_map_backward)(C2_REAL *dinp, const C2_REAL *dout, int B, int C, int P)
{
    C2_FN(transpose_cp)(dinp, dout, B, C, P, 1);
}

#endif
