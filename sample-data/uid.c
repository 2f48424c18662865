/* Deterministic identities for the sample cohort: a string hash, DICOM UIDs under the
 * 2.25 (UUID) root, and the random number stream. Everything derives from the seed and a
 * name, never from the clock or the process, so two runs give byte-identical files. */
#include "sample-data/sample.h"

#include <stdio.h>
#include <string.h>

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

uint64_t sample_hash(uint64_t seed, const char *what, uint64_t salt)
{
    char text[512];
    snprintf(text, sizeof text, "c2seg-sample-data|%llu|%s", (unsigned long long)seed, what);
    uint64_t h = 0xcbf29ce484222325ULL ^ mix64(salt);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return mix64(h);
}

/* Decimal digits of the 128-bit number hi:lo by long division on 32-bit limbs. */
static void u128_decimal(uint64_t hi, uint64_t lo, char *out, size_t cap)
{
    uint32_t limb[4] = {(uint32_t)(hi >> 32), (uint32_t)hi, (uint32_t)(lo >> 32), (uint32_t)lo};
    char rev[48];
    int n = 0;
    do {
        uint64_t rem = 0;
        for (int i = 0; i < 4; i++) {
            uint64_t cur = (rem << 32) | limb[i];
            limb[i] = (uint32_t)(cur / 10);
            rem = cur % 10;
        }
        rev[n++] = (char)('0' + rem);
    } while ((limb[0] | limb[1] | limb[2] | limb[3]) != 0);
    size_t k = 0;
    while (n > 0 && k + 1 < cap)
        out[k++] = rev[--n];
    out[k] = '\0';
}

void sample_uid(char out[SAMPLE_UID_LEN], uint64_t seed, const char *what)
{
    uint64_t hi = sample_hash(seed, what, 1), lo = sample_hash(seed, what, 2);
    hi = (hi & ~0xf000ULL) | 0x8000ULL;                   /* version 8: custom UUID */
    lo = (lo & ~(3ULL << 62)) | (2ULL << 62);             /* variant 10 (RFC 9562) */
    char digits[48];
    u128_decimal(hi, lo, digits, sizeof digits);
    snprintf(out, SAMPLE_UID_LEN, "2.25.%s", digits);
}

void sample_rng_init(sample_rng *r, uint64_t seed, const char *stream)
{
    r->state = sample_hash(seed, stream, 3);
}

uint64_t sample_rng_next(sample_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double sample_rng_uniform(sample_rng *r)
{
    return (double)(sample_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

double sample_rng_range(sample_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * sample_rng_uniform(r);
}

double sample_rng_normal(sample_rng *r)
{
    /* Sum of 4 uniforms: mean 2, variance 1/3. */
    double s = sample_rng_uniform(r) + sample_rng_uniform(r) + sample_rng_uniform(r) + sample_rng_uniform(r);
    return (s - 2.0) * 1.7320508075688772;
}
