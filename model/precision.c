/* precision: parsing, the CPUID / XGETBV check and the GEMM dispatch of the inference
 * precision (precision.h). */
#include "model/precision.h"

#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "model/threads.h"

static int g_gemm_precision = PRECISION_FP32, g_inference = PRECISION_FP32;
static uint32_t *g_pack;
static size_t g_pack_words;

int precision_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "fp32") == 0)
        return PRECISION_FP32;
    if (strcmp(s, "bf16") == 0)
        return PRECISION_BF16;
    if (strcmp(s, "auto") == 0)
        return PRECISION_AUTO;
    return -1;
}

const char *precision_name(int mode)
{
    return mode == PRECISION_BF16 ? "bf16" : mode == PRECISION_AUTO ? "auto" : "fp32";
}

/* CPUID.(7,0):EBX bit 16 AVX512F, bit 30 AVX512BW; CPUID.(7,1):EAX bit 5 AVX512_BF16;
 * CPUID.1:ECX bit 27 OSXSAVE, then XCR0 must enable SSE, AVX, opmask, ZMM_Hi256 and
 * Hi16_ZMM state (bits 1, 2, 5, 6, 7). */
static int cpu_bf16_hw(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xe6u) != 0xe6u)
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 16)) || !(b & (1u << 30)))
        return 0;
    unsigned max7 = a;
    if (max7 < 1 || !__get_cpuid_count(7, 1, &a, &b, &c, &d))
        return 0;
    return (a >> 5) & 1u;
#else
    return 0;
#endif
}

int precision_cpu_bf16(void)
{
    const char *fake = getenv("C2SEG_BF16_CPU");
    if (fake && strcmp(fake, "0") == 0)
        return 0;
    static int cached = -1;
    if (cached < 0)
        cached = gemm_bf16_built() && cpu_bf16_hw();
    return cached;
}

int precision_resolve(int requested)
{
    if ((requested == PRECISION_BF16 || requested == PRECISION_AUTO) && precision_cpu_bf16())
        return PRECISION_BF16;
    return PRECISION_FP32;
}

int precision_from_env(void)
{
    const char *s = getenv("C2SEG_PRECISION");
    return s && *s ? precision_parse(s) : PRECISION_FP32;
}

void precision_set_inference(int resolved)
{
    g_inference = precision_resolve(resolved == PRECISION_BF16 ? PRECISION_BF16 : PRECISION_FP32);
}

int precision_inference(void)
{
    return g_inference;
}

int gemm_precision(void)
{
    return g_gemm_precision;
}

void gemm_precision_set(int resolved)
{
    g_gemm_precision = resolved == PRECISION_BF16 && precision_cpu_bf16() ? PRECISION_BF16 : PRECISION_FP32;
}

void engine_gemm(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc)
{
    if (g_gemm_precision == PRECISION_BF16)
        gemm_bf16(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
    else
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

void gemm_pack_arena_set(uint32_t *p, size_t words)
{
    g_pack = p, g_pack_words = p ? words : 0;
}

uint32_t *gemm_pack_arena(size_t words)
{
    return g_gemm_precision == PRECISION_BF16 && g_pack && words > 0 && words <= g_pack_words ? g_pack : NULL;
}

#define PACK_CACHE_MAX 64   /* weights per cache (the full preset's KANLinears: 30) */

struct gemm_pack_cache {
    int n;
    struct {
        const void *key;
        uint64_t stamp;
        size_t words;
        uint32_t *buf;
    } e[PACK_CACHE_MAX];
};

static gemm_pack_cache *g_cache;

gemm_pack_cache *gemm_pack_cache_create(void)
{
    return calloc(1, sizeof(gemm_pack_cache));
}

void gemm_pack_cache_free(gemm_pack_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        free(c->e[i].buf);
    free(c);
}

void gemm_pack_cache_set(gemm_pack_cache *c)
{
    g_cache = c;
}

uint32_t *gemm_pack_cached(const void *key, size_t words, uint64_t stamp, int *stale)
{
    gemm_pack_cache *c = g_cache;
    if (g_gemm_precision != PRECISION_BF16 || !c || !key || !words)
        return NULL;
    int i = 0;
    while (i < c->n && c->e[i].key != key)
        i++;
    if (i == c->n) {
        if (c->n == PACK_CACHE_MAX)
            return NULL;
        c->e[i].key = key, c->e[i].words = 0, c->e[i].buf = NULL;
        c->n++;
    }
    *stale = c->e[i].stamp != stamp || c->e[i].words != words || !c->e[i].buf;
    if (c->e[i].words != words || !c->e[i].buf) {
        free(c->e[i].buf);
        c->e[i].buf = malloc(words * sizeof(uint32_t));
        c->e[i].words = c->e[i].buf ? words : 0;
        if (!c->e[i].buf)
            return NULL;
    }
    c->e[i].stamp = stamp;
    return c->e[i].buf;
}

uint64_t gemm_weights_stamp(const float *const *arrays, const size_t *n, int count)
{
    uint64_t h = 0, pos = 0;
    for (int a = 0; a < count; a++) {
        const float *w = arrays[a];
        uint64_t acc = 0, base = pos;
        C2_OMP(simd reduction(+ : acc))
        for (size_t i = 0; i < n[a]; i++) {
            uint32_t u;
            memcpy(&u, w + i, sizeof u);
            acc += (uint64_t)u * ((2 * (base + i) + 1) * 0x9e3779b97f4a7c15ull);
        }
        h += acc, pos += n[a];
    }
    return h + pos * 0x632be59bd9b4e019ull;   /* and the total count */
}
