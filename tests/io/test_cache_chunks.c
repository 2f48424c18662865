/* The cache's pixel chunks (io/cache.c cache_chunk_encode: the zlib streams that /images and
 * /masks store, encoded by igzip): judged by zlib's own uncompress (HDF5's deflate filter
 * inflates with it), for windowed-like floats, incompressible floats (igzip's stored blocks),
 * constant planes and sizes 8..512; an all-zero mask gives the same bytes as no mask (the
 * cached zero chunk); two threads encode the same chunks as one (a cache is the same for any
 * --jobs); incompressible chunks (random float bits, random masks) fit igzip's stored-block
 * bound (the chunk's buffer, io/cache.c zlib_stored_bound) to the byte at sizes around the
 * 65535-byte block boundary and come back bit for bit through HDF5's reader (a cache written
 * and read with cache_pixels_read). */
#include "io/cache.h"
#include "tests/support/check.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t rng_state = 12345u;
static uint32_t rng(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

enum { KIND_WINDOWED, KIND_NOISE, KIND_CONSTANT, N_KINDS };

/* An S x S image: windowed HU-like values (k / 1500, runs of 0 and 1), random 32-bit patterns
 * (incompressible: igzip writes stored blocks), or one constant. */
static void image_fill(float *x, int S, int kind)
{
    for (int i = 0; i < S * S; i++) {
        if (kind == KIND_WINDOWED) {
            int hu = (int)(rng() % 2400) - 1200 + (i % S) * 3;
            double v = (hu + 750) / 1500.0;
            x[i] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
        } else if (kind == KIND_NOISE) {
            uint32_t bits = rng() ^ rng() << 20;
            memcpy(&x[i], &bits, sizeof bits);
        } else {
            x[i] = 0.25f;
        }
    }
}

/* 1 when z[n] inflates (zlib) to exactly want[want_n]. */
static int inflates_to(const uint8_t *z, size_t n, const void *want, size_t want_n)
{
    uLongf got = (uLongf)want_n + 16;
    uint8_t *out = malloc(got);
    int ok = out && uncompress(out, &got, z, (uLong)n) == Z_OK && got == want_n && memcmp(out, want, want_n) == 0;
    free(out);
    return ok;
}

/* A zlib stream of n bytes in stored blocks (RFC 1950 / 1951): the 2-byte header, a 5-byte
 * header for each block of at most 65535 bytes, the 4-byte Adler-32. */
static size_t stored_bound(size_t n)
{
    return 2 + 5 * (n ? (n + 65534) / 65535 : 1) + n + 4;
}

static void test_chunks_inflate_with_zlib(void)
{
    const int sizes[] = {8, 37, 128, 512};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        int S = sizes[si];
        size_t px = (size_t)S * S;
        float *x = malloc(px * sizeof *x);
        uint8_t *m = malloc(px);
        for (int kind = 0; kind < N_KINDS; kind++) {
            image_fill(x, S, kind);
            for (size_t i = 0; i < px; i++)
                m[i] = (uint8_t)(kind == KIND_NOISE ? rng() % 2 : (i / S) > (size_t)S / 2);
            cache_chunk c;
            c2_err e = {0};
            CHECK(cache_chunk_encode(S, x, m, &c, &e) == C2_OK);
            CHECK_MSG(inflates_to(c.image, c.image_n, x, px * sizeof *x), "S %d kind %d image", S, kind);
            CHECK_MSG(inflates_to(c.mask, c.mask_n, m, px), "S %d kind %d mask", S, kind);
            CHECK(c.has_mask == 1);
            /* incompressible floats stay near their size (stored blocks), the rest shrink */
            CHECK_MSG(c.image_n <= stored_bound(px * sizeof *x), "S %d kind %d: %zu bytes", S, kind, c.image_n);
            if (kind == KIND_CONSTANT && S >= 37)
                CHECK_MSG(c.image_n < px, "S %d: a constant plane of %zu floats took %zu bytes", S, px, c.image_n);
            cache_chunk_free(&c);
        }
        free(x);
        free(m);
    }
}

static void test_zero_mask_is_the_no_mask_chunk(void)
{
    int S = 128;
    size_t px = (size_t)S * S;
    float *x = malloc(px * sizeof *x);
    uint8_t *zero = calloc(px, 1);
    image_fill(x, S, KIND_WINDOWED);
    cache_chunk a, b;
    c2_err e = {0};
    CHECK(cache_chunk_encode(S, x, zero, &a, &e) == C2_OK);
    CHECK(cache_chunk_encode(S, x, NULL, &b, &e) == C2_OK);
    CHECK(a.has_mask == 1 && b.has_mask == 0);
    CHECK(a.mask_n == b.mask_n && memcmp(a.mask, b.mask, a.mask_n) == 0);
    CHECK(a.image_n == b.image_n && memcmp(a.image, b.image, a.image_n) == 0);
    CHECK(inflates_to(a.mask, a.mask_n, zero, px));
    zero[px - 1] = 1; /* one set pixel at the very end is not a zero mask */
    cache_chunk c;
    CHECK(cache_chunk_encode(S, x, zero, &c, &e) == C2_OK);
    CHECK(inflates_to(c.mask, c.mask_n, zero, px));
    CHECK(c.mask_n != a.mask_n || memcmp(c.mask, a.mask, a.mask_n) != 0);
    cache_chunk_free(&a);
    cache_chunk_free(&b);
    cache_chunk_free(&c);
    free(x);
    free(zero);
}

/* ---- the same bytes from any thread ---- */

enum { N_SAMPLES = 24, TS = 96 };
typedef struct encode_work {
    const float *images;   /* [N_SAMPLES, TS, TS] */
    const uint8_t *masks;
    int first, step;
    cache_chunk out[N_SAMPLES];
} encode_work;

static void *encode_some(void *arg)
{
    encode_work *w = arg;
    for (int i = w->first; i < N_SAMPLES; i += w->step) {
        c2_err e = {0};
        if (cache_chunk_encode(TS, w->images + (size_t)i * TS * TS, i % 3 ? w->masks + (size_t)i * TS * TS : NULL,
                               &w->out[i], &e) != C2_OK)
            memset(&w->out[i], 0, sizeof w->out[i]);
    }
    return NULL;
}

static void test_threads_give_the_same_chunks(void)
{
    size_t px = (size_t)TS * TS;
    float *images = malloc(N_SAMPLES * px * sizeof *images);
    uint8_t *masks = calloc(N_SAMPLES * px, 1);
    for (int i = 0; i < N_SAMPLES; i++) {
        image_fill(images + i * px, TS, i % N_KINDS);
        for (size_t k = 0; i % 2 && k < px; k++)
            masks[i * px + k] = (uint8_t)(rng() % 7 == 0);
    }
    encode_work *one = calloc(1, sizeof *one), *two[2] = {calloc(1, sizeof **two), calloc(1, sizeof **two)};
    *one = (encode_work){.images = images, .masks = masks, .first = 0, .step = 1};
    encode_some(one);
    pthread_t t[2];
    for (int k = 0; k < 2; k++) {
        *two[k] = (encode_work){.images = images, .masks = masks, .first = k, .step = 2};
        CHECK(pthread_create(&t[k], NULL, encode_some, two[k]) == 0);
    }
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    for (int i = 0; i < N_SAMPLES; i++) {
        cache_chunk *a = &one->out[i], *b = &two[i % 2]->out[i];
        CHECK_MSG(a->image && b->image && a->image_n == b->image_n && !memcmp(a->image, b->image, a->image_n) &&
                      a->mask_n == b->mask_n && !memcmp(a->mask, b->mask, a->mask_n),
                  "sample %d differs between one thread and two", i);
        cache_chunk_free(a);
        cache_chunk_free(b);
    }
    free(one);
    free(two[0]);
    free(two[1]);
    free(images);
    free(masks);
}

/* Random float bits and masks written through the cache writer and read back through HDF5
 * (its deflate filter inflates the chunks): the same bits. S 128 (65536 bytes of floats: two
 * blocks, the second of one byte), 181 (131044: two full-ish blocks) and 256. */
static void test_incompressible_chunks_through_hdf5(void)
{
    const int sizes[] = {128, 181, 256};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        int S = sizes[si], n = 3;
        size_t px = (size_t)S * S;
        float *x = malloc(n * px * sizeof *x), *got = malloc(n * px * sizeof *got);
        uint8_t *m = malloc(n * px), *gotm = malloc(n * px);
        char name[64];
        snprintf(name, sizeof name, "cache_chunks_noise_%d.h5", S);
        const char *h5 = tmp_path(name);
        cache_writer *w = NULL;
        c2_err e = {0};
        CHECK_MSG(cache_writer_open(&w, h5, S, "{}", &e) == C2_OK, "%s", e.msg);
        for (int i = 0; i < n; i++) {
            image_fill(x + i * px, S, KIND_NOISE);
            for (size_t j = 0; j < px; j++)
                m[i * px + j] = (uint8_t)(rng() >> 3);
            cache_chunk c;
            CHECK_MSG(cache_chunk_encode(S, x + i * px, m + i * px, &c, &e) == C2_OK, "%s", e.msg);
            CHECK_MSG(c.image_n > px * sizeof(float) && c.image_n <= stored_bound(px * sizeof(float)),
                      "S %d: %zu bytes for %zu incompressible", S, c.image_n, px * sizeof(float));
            cache_sample meta = {.file = "noise", .case_id = "noise", .modality = "", .domain = "raw",
                                 .slice_index = i, .has_mask = 1};
            CHECK_MSG(cache_writer_add_chunk(w, &meta, &c, &e) == C2_OK, "%s", e.msg);
            cache_chunk_free(&c);
        }
        CHECK_MSG(cache_writer_close(w, NULL, &e) == C2_OK, "%s", e.msg);
        cache_pixels *r = NULL;
        int64_t idx[3] = {0, 1, 2};
        CHECK_MSG(cache_pixels_open(&r, h5, &e) == C2_OK, "%s", e.msg);
        CHECK_MSG(r && cache_pixels_read(r, idx, n, got, gotm, &e) == C2_OK, "%s", e.msg);
        CHECK_MSG(memcmp(got, x, n * px * sizeof *x) == 0, "S %d: the floats differ after HDF5", S);
        CHECK_MSG(memcmp(gotm, m, n * px) == 0, "S %d: the masks differ after HDF5", S);
        if (r)
            cache_pixels_close(r);
        remove(h5);
        free(x);
        free(got);
        free(m);
        free(gotm);
    }
}

int main(void)
{
    RUN_TEST(test_incompressible_chunks_through_hdf5);
    RUN_TEST(test_chunks_inflate_with_zlib);
    RUN_TEST(test_zero_mask_is_the_no_mask_chunk);
    RUN_TEST(test_threads_give_the_same_chunks);
    return test_summary();
}
