/* arena: one allocation per kind of memory (parameters, gradients, activations,
 * optimizer state), carved into tensors by a bump pointer, as llm.c does. A model plans
 * its layout once (arena_plan counts floats without memory), allocates once, then takes
 * the same sequence of tensors; nothing is allocated inside a training step, and
 * zeroing all gradients is one memset. Every tensor starts on a 64-byte boundary. */
#ifndef C2SEG_MODEL_ARENA_H
#define C2SEG_MODEL_ARENA_H

#include "base/base.h"

#include <stddef.h>

typedef struct arena {
    float *base;     /* NULL while planning */
    size_t cap;      /* floats allocated */
    size_t used;     /* floats taken (including alignment padding) */
    const char *what;/* for messages: "parameters", "activations", ... */
    size_t mapped;   /* bytes of an anonymous mapping holding base; 0 when base came from the heap */
} arena;

/* An empty arena in planning mode: arena_take only counts. */
void arena_plan(arena *a, const char *what);
/* Allocates `floats` floats (zeroed, 64-byte aligned) in one allocation, refusing more
 * than the c2_limits max_bytes; resets the bump pointer. From ARENA_MAP_BYTES up the block
 * is an anonymous mapping, which the kernel zeroes a page at a time when first touched:
 * no memset, and a page the layout never uses (a small batch's tail, a workspace that runs
 * one forward) is never made resident. */
#define ARENA_MAP_BYTES ((size_t)1 << 20)
int arena_alloc(arena *a, const char *what, size_t floats, c2_err *e);
/* The next n floats: NULL while planning, or when the arena is full (a layout bug;
 * also reported through c2_warn). */
float *arena_take(arena *a, size_t n);
/* Back to empty (the memory is kept) so the same layout can be taken again. */
void arena_reset(arena *a);
/* Sets every float taken so far to 0 (gradients before a step). */
void arena_zero(arena *a);
void arena_free(arena *a);

#endif
