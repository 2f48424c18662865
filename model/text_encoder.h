/* text_encoder: the frozen text encoder interface and "hash-text-512" (METHOD.md §1).
 * An encoder maps one UTF-8 caption to tokens f32[24,512] (padding rows 0), a padding
 * mask i32[24] (1 = valid) and a pooled f32[512]. Callers only use the struct, so a real
 * CLIP text tower can plug in later with its own name / version / params recorded wherever
 * embeddings are stored (HDF5 cache attributes, checkpoints). */
#ifndef C2SEG_MODEL_TEXT_ENCODER_H
#define C2SEG_MODEL_TEXT_ENCODER_H

#include "base/base.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TEXT_MAX_TOKENS 24
#define TEXT_DIM 512

typedef struct text_encoder text_encoder;
struct text_encoder {
    const char *name;     /* "hash-text-512" */
    const char *version;  /* bumps whenever outputs change by even one bit */
    const char *params;   /* human-readable parameters, stored with embeddings */
    int dim;              /* Ct = 512 */
    int max_tokens;       /* N = 24 */
    /* tokens [max_tokens*dim], mask [max_tokens], pooled [dim]. Returns the number of
     * valid tokens (>= 1) or a negative C2_E* code with e filled. */
    int (*encode)(const text_encoder *enc, const char *utf8, float *tokens, int32_t *mask, float *pooled,
                  c2_err *e);
    void *state;          /* encoder-private (NULL for hash-text-512) */
};

/* The built-in frozen encoder (no parameters, no state, thread-safe). */
const text_encoder *text_encoder_hash512(void);
/* Encoder by name ("hash-text-512"), or NULL. */
const text_encoder *text_encoder_find(const char *name);

/* hash-text-512, bit-exact with c2seg_ref.py encode_caption. utf8 may be NULL (= "").
 * Returns the number of valid tokens (1..24), or C2_ENOMEM for a huge text. Thread-safe. */
int hash_text_encode(const char *utf8, float tokens[TEXT_MAX_TOKENS * TEXT_DIM], int32_t mask[TEXT_MAX_TOKENS],
                     float pooled[TEXT_DIM]);
/* The tokeniser of §1 step 1: the words of `utf8` (base's c2_next_word: lower-cased
 * [a-z0-9] runs), written into `buf`
 * (NUL-separated words, at most `cap` bytes) with word starts in words[0..max_words).
 * Returns the number of words found before truncation to max_words (0 for none). */
int hash_text_tokenize(const char *utf8, char *buf, size_t cap, const char **words, int max_words);

#ifdef __cplusplus
}
#endif
#endif
