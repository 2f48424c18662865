/* gemm_bf16: C (M,N) (+)= op(A) (M,K) op(B) (K,N) with bf16 products and fp32 sums, on
 * AVX512_BF16 (precision.h). Compiled with a target attribute, so the build itself stays
 * portable; precision_cpu_bf16() decides at run time whether it may run.
 *
 * Blocking as in the usual packed GEMMs: K in blocks of GB_KC, A in blocks of GB_MC rows
 * packed once per block into panels of GB_MR rows, B in panels of GB_NR = 32 columns. Both
 * are rounded to bf16 (round to nearest even, vcvtne2ps2bf16) as they are packed, with
 * consecutive k in pairs, the unit `vdpbf16ps` multiplies: a packed A panel holds, per k pair
 * p and row r, the 32-bit pair (A[r,2p], A[r,2p+1]); a packed B panel, per p, the pairs
 * (B[2p,n], B[2p+1,n]) of its 32 columns, two zmm vectors. The micro-kernel keeps a GB_MR x 32
 * block of C in 16 fp32 accumulators: per k pair, two B loads, GB_MR pair broadcasts and
 * 2·GB_MR vdpbf16ps (each 16 lanes x 2 products, summed into the fp32 lane). An odd K, the
 * rows past M and the columns past N are packed as zeros; stores are masked.
 *
 * The packing buffers are per thread (_Thread_local), so every caller (a band of a
 * convolution, a KAN lane) runs it single-threaded on its own thread without scratch.
 * Callers may pass either operand prepacked (gemm_bf16_pack_a / _b, or built a few rows /
 * columns at a time with gemm_bf16_pack_a_rows / _b_cols); a convolution's bias, eval BN and
 * ReLU can run on the registers as the sums leave the kernel (gemm_bf16_post). */
#include "model/precision.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && ((defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10) || \
                            (defined(__clang__) && __clang_major__ >= 9))
#define GB_BUILT 1
#include <immintrin.h>

#define GB_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define GB_MR 8
#define GB_NR 32
#define GB_KC 2048   /* k per block (even): a B panel is GB_KC/2 x 32 pairs = 128 KiB */
#define GB_MC 128    /* rows per A block (a multiple of GB_MR): 512 KiB packed */

static _Thread_local uint32_t gb_apack[GB_MC * GB_KC / 2] __attribute__((aligned(64)));
static _Thread_local uint32_t gb_bpack[GB_KC / 2 * GB_NR] __attribute__((aligned(64)));

/* Scalar float -> bf16, round to nearest even, as vcvtneps2bf16 (NaN stays a quiet NaN;
 * denormal inputs become a signed zero, as the instruction treats them). */
static uint16_t gb_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu))
        return (uint16_t)((u >> 16) | 0x40u);
    if ((u & 0x7f800000u) == 0)
        return (uint16_t)((u >> 16) & 0x8000u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static uint32_t gb_pair(float lo, float hi)
{
    return (uint32_t)gb_bf16(lo) | (uint32_t)gb_bf16(hi) << 16;
}

static __mmask16 gb_mask(int n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* 32 consecutive floats (the first n of them; the rest 0) as 16 bf16 pairs. */
GB_TARGET static __m512i gb_cvt32(const float *x, int n)
{
    __m512 lo = _mm512_maskz_loadu_ps(gb_mask(n), x), hi = _mm512_maskz_loadu_ps(gb_mask(n - 16), x + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/* kc consecutive floats as (kc + 1) / 2 bf16 pairs, pair p at dst[p * stride] (a row of A
 * into its panel, a column of a transposed B into its panel). */
GB_TARGET static void gb_pairs_strided(uint32_t *dst, size_t stride, const float *src, int kc)
{
    int kp = (kc + 1) / 2;
    for (int p = 0; p < kp; p += 16) {
        uint32_t tmp[16] __attribute__((aligned(64)));
        _mm512_store_si512(tmp, gb_cvt32(src + 2 * p, kc - 2 * p));
        int np = kp - p < 16 ? kp - p : 16;
        for (int j = 0; j < np; j++)
            dst[(size_t)(p + j) * stride] = tmp[j];
    }
}

/* One whole GB_MR (= 8)-row panel of a row-major A (rows at `a`, lda apart; kc columns):
 * per 8 k pairs, each row's 16 floats become 8 bf16 pairs (one ymm), and an 8 x 8 transpose of
 * 32-bit words gives the panel's layout dst[p * 8 + r]. */
GB_TARGET static void gb_pack_a_panel(uint32_t *dst, const float *a, int lda, int kc)
{
    int kp = (kc + 1) / 2;
    for (int p = 0; p < kp; p += 8) {
        __m256i v[8], t[8], u[8];
        for (int r = 0; r < 8; r++)
            v[r] = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(gb_mask(kc - 2 * p), a + (size_t)r * lda + 2 * p));
        for (int r = 0; r < 8; r += 2) {
            t[r] = _mm256_unpacklo_epi32(v[r], v[r + 1]);
            t[r + 1] = _mm256_unpackhi_epi32(v[r], v[r + 1]);
        }
        for (int h = 0; h < 8; h += 4) {
            u[h] = _mm256_unpacklo_epi64(t[h], t[h + 2]);
            u[h + 1] = _mm256_unpackhi_epi64(t[h], t[h + 2]);
            u[h + 2] = _mm256_unpacklo_epi64(t[h + 1], t[h + 3]);
            u[h + 3] = _mm256_unpackhi_epi64(t[h + 1], t[h + 3]);
        }
        int np = kp - p < 8 ? kp - p : 8;
        for (int j = 0; j < np; j++) {
            __m256i o = j < 4 ? _mm256_permute2x128_si256(u[j], u[j + 4], 0x20)
                              : _mm256_permute2x128_si256(u[j - 4], u[j], 0x31);
            _mm256_storeu_si256((__m256i *)(dst + (size_t)(p + j) * GB_MR), o);
        }
    }
}

/* A rows m0.., k0.. (mc x kc) into GB_MR-row panels: dst[(panel * kp + p) * GB_MR + r]; returns dst. */
GB_TARGET static const uint32_t *gb_pack_a(uint32_t *dst, enum CBLAS_TRANSPOSE ta, const float *A, int lda, int m0, int mc,
                                int k0, int kc)
{
    int kp = (kc + 1) / 2, panels = (mc + GB_MR - 1) / GB_MR;
    for (int i = 0; i < panels; i++) {
        uint32_t *pd = dst + (size_t)i * kp * GB_MR;
        for (int r = 0; r < GB_MR; r++) {
            int m = i * GB_MR + r;
            if (m >= mc) {
                for (int p = 0; p < kp; p++)
                    pd[(size_t)p * GB_MR + r] = 0;
                continue;
            }
            if (ta == CblasNoTrans && i * GB_MR + GB_MR <= mc) {
                if (r == 0)
                    gb_pack_a_panel(pd, A + (size_t)(m0 + m) * lda + k0, lda, kc);
                continue;
            }
            if (ta == CblasNoTrans) {
                gb_pairs_strided(pd + r, GB_MR, A + (size_t)(m0 + m) * lda + k0, kc);
            } else {   /* A[m,k] = A[k*lda + m] */
                const float *col = A + (size_t)k0 * lda + m0 + m;
                for (int p = 0; p < kp; p++)
                    pd[(size_t)p * GB_MR + r] =
                        gb_pair(col[(size_t)2 * p * lda], 2 * p + 1 < kc ? col[(size_t)(2 * p + 1) * lda] : 0.0f);
            }
        }
    }
    return dst;
}

/* B rows k0.. (kc), columns n0.. (nc <= 32) into dst[p * 32 + n]; returns dst. */
GB_TARGET static const uint32_t *gb_pack_b(uint32_t *dst, enum CBLAS_TRANSPOSE tb, const float *B, int ldb, int k0, int kc,
                                int n0, int nc)
{
    int kp = (kc + 1) / 2;
    if (tb == CblasNoTrans) {   /* rows k contiguous in n: interleave two rows per pair */
        const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                             6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        __mmask16 m0 = gb_mask(nc), m1 = gb_mask(nc - 16);
        for (int p = 0; p < kp; p++) {
            const float *r0 = B + (size_t)(k0 + 2 * p) * ldb + n0, *r1 = r0 + ldb;
            int odd = 2 * p + 1 < kc;
            for (int h = 0; h < 2; h++) {
                __mmask16 m = h ? m1 : m0;
                __m512 a = _mm512_maskz_loadu_ps(m, r0 + 16 * h);
                __m512 b = odd ? _mm512_maskz_loadu_ps(m, r1 + 16 * h) : _mm512_setzero_ps();
                __m512i v = (__m512i)_mm512_cvtne2ps_pbh(b, a);   /* a in the low half */
                _mm512_storeu_si512(dst + (size_t)p * GB_NR + 16 * h, _mm512_permutexvar_epi16(idx, v));
            }
        }
        return dst;
    }
    /* B[k,n] = B[n*ldb + k]: each column's k are contiguous, so its pairs are too */
    for (int n = 0; n < GB_NR; n++) {
        if (n >= nc) {
            for (int p = 0; p < kp; p++)
                dst[(size_t)p * GB_NR + n] = 0;
            continue;
        }
        gb_pairs_strided(dst + n, GB_NR, B + (size_t)(n0 + n) * ldb + k0, kc);
    }
    return dst;
}

/* The epilogue (precision.h) on one row's two vectors of sums: row m of C. */
GB_TARGET static void gb_post_row(__m512 v[2], const gemm_bf16_post *post, int m)
{
    for (int h = 0; h < 2; h++) {
        if (post->bias)
            v[h] = _mm512_add_ps(v[h], _mm512_set1_ps(post->bias[m]));
        if (post->mean) {
            __m512 x = _mm512_sub_ps(v[h], _mm512_set1_ps(post->mean[m]));
            x = _mm512_mul_ps(x, _mm512_set1_ps(post->rstd[m]));
            x = _mm512_mul_ps(x, _mm512_set1_ps(post->gamma[m]));
            x = _mm512_add_ps(x, _mm512_set1_ps(post->beta[m]));
            v[h] = _mm512_max_ps(x, _mm512_setzero_ps());   /* NaN and -0 give +0, as v > 0 ? v : 0 */
        }
    }
}

/* C block (mr <= GB_MR rows, nc <= 32 columns) = (acc ? C : 0) + the panels' products, then
 * the epilogue (post, rows row0.. of C) unless post is NULL. */
GB_TARGET static void gb_kernel(int kp, const uint32_t *ap, const uint32_t *bp, float *C, int ldc, int mr, int nc,
                                int acc, const gemm_bf16_post *post, int row0)
{
    __m512 c[GB_MR][2];
#pragma GCC unroll 8
    for (int r = 0; r < GB_MR; r++)
        c[r][0] = _mm512_setzero_ps(), c[r][1] = _mm512_setzero_ps();
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + (size_t)p * GB_NR);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + (size_t)p * GB_NR + 16);
#pragma GCC unroll 8
        for (int r = 0; r < GB_MR; r++) {
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)ap[(size_t)p * GB_MR + r]);
            c[r][0] = _mm512_dpbf16_ps(c[r][0], a, b0);
            c[r][1] = _mm512_dpbf16_ps(c[r][1], a, b1);
        }
    }
    __mmask16 m0 = gb_mask(nc), m1 = gb_mask(nc - 16);
    for (int r = 0; r < mr; r++) {
        float *cr = C + (size_t)r * ldc;
        if (acc) {
            c[r][0] = _mm512_add_ps(c[r][0], _mm512_maskz_loadu_ps(m0, cr));
            c[r][1] = _mm512_add_ps(c[r][1], _mm512_maskz_loadu_ps(m1, cr + 16));
        }
        if (post)
            gb_post_row(c[r], post, row0 + r);
        _mm512_mask_storeu_ps(cr, m0, c[r][0]);
        _mm512_mask_storeu_ps(cr + 16, m1, c[r][1]);
    }
}

size_t gemm_bf16_pack_words(int rows, int K)
{
    return (size_t)(rows + GB_NR - 1) / GB_NR * GB_NR * (size_t)((K + 1) / 2);
}

/* Prepacked layouts: per K block (k0 = 0, GB_KC, ...), all panels of that block, each panel
 * kp x (GB_MR or GB_NR) words; a block starts at word (k0 / 2) * panels * width. */
GB_TARGET void gemm_bf16_pack_a(uint32_t *dst, enum CBLAS_TRANSPOSE ta, const float *A, int lda, int M, int K)
{
    size_t width = (size_t)(M + GB_MR - 1) / GB_MR * GB_MR;
    for (int k0 = 0; k0 < K; k0 += GB_KC)
        gb_pack_a(dst + (size_t)k0 / 2 * width, ta, A, lda, 0, M, k0, K - k0 < GB_KC ? K - k0 : GB_KC);
}

GB_TARGET void gemm_bf16_pack_b(uint32_t *dst, enum CBLAS_TRANSPOSE tb, const float *B, int ldb, int K, int N)
{
    size_t width = (size_t)(N + GB_NR - 1) / GB_NR * GB_NR;
    for (int k0 = 0; k0 < K; k0 += GB_KC) {
        int kc = K - k0 < GB_KC ? K - k0 : GB_KC, kp = (kc + 1) / 2;
        for (int n0 = 0; n0 < N; n0 += GB_NR)
            gb_pack_b(dst + (size_t)k0 / 2 * width + (size_t)n0 * kp, tb, B, ldb, k0, kc, n0,
                      N - n0 < GB_NR ? N - n0 : GB_NR);
    }
}

GB_TARGET void gemm_bf16_pack_a_rows(uint32_t *dst, int M, int m0, const float *A, int lda, int mr, int K)
{
    size_t width = (size_t)(M + GB_MR - 1) / GB_MR * GB_MR;
    for (int k0 = 0; k0 < K; k0 += GB_KC) {
        int kc = K - k0 < GB_KC ? K - k0 : GB_KC, kp = (kc + 1) / 2;
        gb_pack_a(dst + (size_t)k0 / 2 * width + (size_t)m0 * kp, CblasNoTrans, A, lda, 0, mr, k0, kc);
    }
}

GB_TARGET void gemm_bf16_pack_b_cols(uint32_t *dst, int N, int n0, const float *Bt, int ldb, int nc, int K)
{
    size_t width = (size_t)(N + GB_NR - 1) / GB_NR * GB_NR;
    int tail = n0 + nc == N ? (int)width - N : 0;   /* the last panel's zero columns */
    for (int k0 = 0; k0 < K; k0 += GB_KC) {
        int kc = K - k0 < GB_KC ? K - k0 : GB_KC, kp = (kc + 1) / 2;
        uint32_t *blk = dst + (size_t)k0 / 2 * width;
        for (int j = 0; j < nc + tail; j++) {
            int n = n0 + j;
            uint32_t *pd = blk + (size_t)(n / GB_NR) * GB_NR * kp + n % GB_NR;
            if (j < nc)
                gb_pairs_strided(pd, GB_NR, Bt + (size_t)j * ldb + k0, kc);
            else
                for (int p = 0; p < kp; p++)
                    pd[(size_t)p * GB_NR] = 0;
        }
    }
}

GB_TARGET void gemm_bf16_packed(const uint32_t *apack, enum CBLAS_TRANSPOSE ta, const float *A, int lda,
                                const uint32_t *bpack, enum CBLAS_TRANSPOSE tb, const float *B, int ldb, int M, int N,
                                int K, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        if (beta == 0.0f)
            for (int m = 0; m < M; m++)
                memset(C + (size_t)m * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    size_t awidth = (size_t)(M + GB_MR - 1) / GB_MR * GB_MR, bwidth = (size_t)(N + GB_NR - 1) / GB_NR * GB_NR;
    for (int k0 = 0; k0 < K; k0 += GB_KC) {
        int kc = K - k0 < GB_KC ? K - k0 : GB_KC, kp = (kc + 1) / 2;
        int acc = k0 > 0 || beta != 0.0f;
        for (int m0 = 0; m0 < M; m0 += GB_MC) {
            int mc = M - m0 < GB_MC ? M - m0 : GB_MC;
            const uint32_t *ap = apack ? apack + (size_t)k0 / 2 * awidth + (size_t)m0 * kp
                                       : gb_pack_a(gb_apack, ta, A, lda, m0, mc, k0, kc);
            for (int n0 = 0; n0 < N; n0 += GB_NR) {
                int nc = N - n0 < GB_NR ? N - n0 : GB_NR;
                const uint32_t *bp = bpack ? bpack + (size_t)k0 / 2 * bwidth + (size_t)n0 * kp
                                           : gb_pack_b(gb_bpack, tb, B, ldb, k0, kc, n0, nc);
                for (int i = 0; i * GB_MR < mc; i++) {
                    int mr = mc - i * GB_MR < GB_MR ? mc - i * GB_MR : GB_MR;
                    gb_kernel(kp, ap + (size_t)i * kp * GB_MR, bp, C + (size_t)(m0 + i * GB_MR) * ldc + n0, ldc, mr,
                              nc, acc, NULL, 0);
                }
            }
        }
    }
}

/* Prepacked A, B panels from the caller's fill: per K block, per 32-column panel, one fill
 * into this thread's panel buffer, then every row panel of A against it. The sums per C
 * element are those of gemm_bf16_packed (same K blocks, same kernel). */
GB_TARGET void gemm_bf16_packed_fill(const uint32_t *apack, gemm_bf16_fill fill, const void *ctx, int M, int N, int K,
                                     float *C, int ldc, const gemm_bf16_post *post)
{
    if (M <= 0 || N <= 0 || K <= 0)
        return;
    size_t awidth = (size_t)(M + GB_MR - 1) / GB_MR * GB_MR;
    for (int k0 = 0; k0 < K; k0 += GB_KC) {
        int kc = K - k0 < GB_KC ? K - k0 : GB_KC, kp = (kc + 1) / 2;
        for (int n0 = 0; n0 < N; n0 += GB_NR) {
            int nc = N - n0 < GB_NR ? N - n0 : GB_NR;
            fill(gb_bpack, ctx, k0, kc, n0, nc);
            for (int m = 0; m < M; m += GB_MR)
                gb_kernel(kp, apack + (size_t)k0 / 2 * awidth + (size_t)m * kp, gb_bpack, C + (size_t)m * ldc + n0,
                          ldc, M - m < GB_MR ? M - m : GB_MR, nc, k0 > 0, k0 + kc >= K ? post : NULL, m);
        }
    }
}

void gemm_bf16(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc)
{
    gemm_bf16_packed(NULL, ta, A, lda, NULL, tb, B, ldb, M, N, K, beta, C, ldc);
}

int gemm_bf16_built(void)
{
    return 1;
}

#else /* no kernel in this build: precision_cpu_bf16() is 0, so this never runs */

void gemm_bf16(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

size_t gemm_bf16_pack_words(int rows, int K)
{
    (void)rows, (void)K;
    return 0;
}

void gemm_bf16_pack_a(uint32_t *dst, enum CBLAS_TRANSPOSE ta, const float *A, int lda, int M, int K)
{
    (void)dst, (void)ta, (void)A, (void)lda, (void)M, (void)K;
}

void gemm_bf16_pack_b(uint32_t *dst, enum CBLAS_TRANSPOSE tb, const float *B, int ldb, int K, int N)
{
    (void)dst, (void)tb, (void)B, (void)ldb, (void)K, (void)N;
}

void gemm_bf16_pack_a_rows(uint32_t *dst, int M, int m0, const float *A, int lda, int mr, int K)
{
    (void)dst, (void)M, (void)m0, (void)A, (void)lda, (void)mr, (void)K;
}

void gemm_bf16_pack_b_cols(uint32_t *dst, int N, int n0, const float *Bt, int ldb, int nc, int K)
{
    (void)dst, (void)N, (void)n0, (void)Bt, (void)ldb, (void)nc, (void)K;
}

void gemm_bf16_packed(const uint32_t *apack, enum CBLAS_TRANSPOSE ta, const float *A, int lda,
                      const uint32_t *bpack, enum CBLAS_TRANSPOSE tb, const float *B, int ldb, int M, int N, int K,
                      float beta, float *C, int ldc)
{
    (void)apack, (void)bpack;
    gemm_bf16(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

void gemm_bf16_packed_fill(const uint32_t *apack, gemm_bf16_fill fill, const void *ctx, int M, int N, int K,
                           float *C, int ldc, const gemm_bf16_post *post)
{
    (void)apack, (void)fill, (void)ctx, (void)M, (void)N, (void)K, (void)C, (void)ldc, (void)post;
}

int gemm_bf16_built(void)
{
    return 0;
}

#endif
