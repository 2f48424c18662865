/* text_encoder: the frozen "hash-text-512" encoder of METHOD.md §1, bit-exact with
 * c2seg_ref.py encode_caption. Every token is a normalised sum of integer Irwin-Hall(4)
 * vectors seeded by FNV-1a hashes of its word, character n-grams and bigrams, plus a
 * sinusoidal position code x 2^-6; pooled is the normalised mean of the valid tokens.
 * Exactness: feature sums are int64 (order-free); the float steps are written one
 * operation per statement so no compiler contracts them into FMAs. */
#include "model/text_encoder.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TXT_SEED 0xC25E600DC25E600DULL
#define GOLDEN_GAMMA 0x9E3779B97F4A7C15ULL
#define IH_CENTER 131070
#define W_WORD 1
#define W_NGRAM 1
#define W_BIGRAM 2
#define NGRAM_MIN 3
#define NGRAM_MAX 5
/* A token longer than this is still encoded exactly; the buffer only bounds one feature string. */
#define FEATURE_CAP 4096

static uint32_t fnv1a32(const char *s, size_t n)
{
    uint32_t h = 0x811C9DC5u;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 0x01000193u;
    }
    return h;
}

/* acc[512] += weight * e(h), e = the Irwin-Hall(4) integer vector of hash h (step 4). */
static void feature_add(int64_t acc[TEXT_DIM], uint32_t h, int64_t weight)
{
    uint64_t s0 = TXT_SEED ^ (uint64_t)h;
    for (int j = 0; j < TEXT_DIM; j++) {
        uint64_t z = s0 + (uint64_t)(j + 1) * GOLDEN_GAMMA;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        int64_t e = (int64_t)(z & 0xFFFF) + (int64_t)((z >> 16) & 0xFFFF) + (int64_t)((z >> 32) & 0xFFFF) +
                    (int64_t)((z >> 48) & 0xFFFF) - IH_CENTER;
        acc[j] += weight * e;
    }
}

/* Hashes prefix+a[+sep+b] without building a heap string. */
static void feature_add_str(int64_t acc[TEXT_DIM], const char *prefix, const char *a, size_t na, const char *b,
                            int64_t weight)
{
    char buf[FEATURE_CAP];
    size_t n = 0, np = strlen(prefix);
    memcpy(buf + n, prefix, np);
    n += np;
    if (na > FEATURE_CAP - n - 1)
        na = FEATURE_CAP - n - 1;
    memcpy(buf + n, a, na);
    n += na;
    if (b) {
        size_t nb = strlen(b);
        if (n + 1 + nb < FEATURE_CAP) {
            buf[n++] = ' ';
            memcpy(buf + n, b, nb);
            n += nb;
        }
    }
    feature_add(acc, fnv1a32(buf, n), weight);
}

int hash_text_tokenize(const char *utf8, char *buf, size_t cap, const char **words, int max_words)
{
    int n = 0;
    size_t used = 0;
    const char *p = utf8;
    for (;; n++) {
        int keep = n < max_words && used < cap;
        size_t len = c2_next_word(&p, keep ? buf + used : NULL, keep ? cap - used : 0);
        if (len == 0)
            break;
        if (keep) {
            words[n] = buf + used;
            used += (len < cap - used - 1 ? len : cap - used - 1) + 1;
        }
    }
    return n;
}

/* pe[24*512] = float(2^-6 * sin/cos(pos * 10000^(-2i/512))), computed in double (step 6). */
static float pos_table[TEXT_MAX_TOKENS * TEXT_DIM];
static pthread_once_t pos_once = PTHREAD_ONCE_INIT;

static void pos_table_init(void)
{
    for (int pos = 0; pos < TEXT_MAX_TOKENS; pos++)
        for (int i = 0; i < TEXT_DIM / 2; i++) {
            double w = pow(10000.0, -(2.0 * i) / TEXT_DIM);
            double a = pos * w;
            double s = sin(a) * 0.015625, c = cos(a) * 0.015625;
            pos_table[pos * TEXT_DIM + 2 * i] = (float)s;
            pos_table[pos * TEXT_DIM + 2 * i + 1] = (float)c;
        }
}

/* One token's unit vector t[512] (steps 2, 4, 5). words[n], token i. */
static void token_vector(const char **words, int n, int i, float t[TEXT_DIM])
{
    int64_t acc[TEXT_DIM] = {0};
    const char *w = words[i];
    size_t lw = strlen(w);
    feature_add_str(acc, "w:", w, lw, NULL, W_WORD);
    char bw[FEATURE_CAP];
    size_t lb = lw + 2 < FEATURE_CAP ? lw + 2 : FEATURE_CAP;
    bw[0] = '<';
    memcpy(bw + 1, w, lb - 2);
    bw[lb - 1] = '>';
    for (size_t g = NGRAM_MIN; g <= NGRAM_MAX; g++)
        for (size_t s = 0; s + g <= lb; s++)
            feature_add_str(acc, "c:", bw + s, g, NULL, W_NGRAM);
    const char *left = i > 0 ? words[i - 1] : "<s>";
    const char *right = i + 1 < n ? words[i + 1] : "</s>";
    feature_add_str(acc, "b:", left, strlen(left), w, W_BIGRAM);
    feature_add_str(acc, "b:", w, lw, right, W_BIGRAM);
    /* The reference sums squares in numpy int64, which wraps on overflow (only reachable
     * with words thousands of bytes long); unsigned arithmetic wraps the same way
     * without undefined behaviour, and the two's-complement result is identical. */
    uint64_t uss = 0;
    for (int j = 0; j < TEXT_DIM; j++)
        uss += (uint64_t)acc[j] * (uint64_t)acc[j];
    int64_t ss = (int64_t)uss;
    double norm = sqrt((double)ss);
    for (int j = 0; j < TEXT_DIM; j++)
        t[j] = (float)((double)acc[j] / norm);
}

int hash_text_encode(const char *utf8, float tokens[TEXT_MAX_TOKENS * TEXT_DIM], int32_t mask[TEXT_MAX_TOKENS],
                     float pooled[TEXT_DIM])
{
    pthread_once(&pos_once, pos_table_init);
    /* The first 24 words' bytes fit in the caption's length + 1. */
    size_t len = utf8 ? strlen(utf8) : 0;
    char small[1024];
    char *buf = len + 2 <= sizeof small ? small : malloc(len + 2);
    if (!buf)
        return C2_ENOMEM;
    const char *words[TEXT_MAX_TOKENS];
    int n = hash_text_tokenize(utf8, buf, len + 2, words, TEXT_MAX_TOKENS);
    if (n > TEXT_MAX_TOKENS)
        n = TEXT_MAX_TOKENS;
    if (n == 0) {
        buf[0] = 0;
        words[0] = buf;
        n = 1;
    }
    memset(tokens, 0, sizeof(float) * TEXT_MAX_TOKENS * TEXT_DIM);
    memset(mask, 0, sizeof(int32_t) * TEXT_MAX_TOKENS);
    float t[TEXT_DIM];
    for (int i = 0; i < n; i++) {
        token_vector(words, n, i, t);
        for (int j = 0; j < TEXT_DIM; j++)
            tokens[i * TEXT_DIM + j] = t[j] + pos_table[i * TEXT_DIM + j];
        mask[i] = 1;
    }
    double acc[TEXT_DIM] = {0};
    for (int i = 0; i < n; i++)
        for (int j = 0; j < TEXT_DIM; j++)
            acc[j] += (double)tokens[i * TEXT_DIM + j];
    double ss = 0;
    for (int j = 0; j < TEXT_DIM; j++) {
        acc[j] = acc[j] / (double)n;
        double sq = acc[j] * acc[j];
        ss += sq;
    }
    double norm = sqrt(ss);
    for (int j = 0; j < TEXT_DIM; j++)
        pooled[j] = (float)(acc[j] / norm);
    if (buf != small)
        free(buf);
    return n;
}

static int hash512_encode(const text_encoder *enc, const char *utf8, float *tokens, int32_t *mask, float *pooled,
                          c2_err *e)
{
    (void)enc;
    int n = hash_text_encode(utf8, tokens, mask, pooled);
    if (n < 0)
        return c2_fail(e, n, "hash-text-512: out of memory for a %zu-byte text", strlen(utf8 ? utf8 : ""));
    return n;
}

static const text_encoder hash512 = {
    .name = "hash-text-512",
    .version = "1",
    .params = "fnv1a32+splitmix64 Irwin-Hall(4); features w:1 c3-5:1 bigram:2; pos sinusoid x2^-6; "
              "tokens [a-z0-9]+ lower-case, max 24",
    .dim = TEXT_DIM,
    .max_tokens = TEXT_MAX_TOKENS,
    .encode = hash512_encode,
    .state = NULL,
};

const text_encoder *text_encoder_hash512(void) { return &hash512; }

const text_encoder *text_encoder_find(const char *name)
{
    if (name && strcmp(name, hash512.name) == 0)
        return &hash512;
    return NULL;
}
