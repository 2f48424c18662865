/* arena: bump allocation of float tensors out of one aligned block (see arena.h). */
#include "model/arena.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA_ALIGN_FLOATS 16 /* 64 bytes: one cache line, one AVX-512 vector */

static size_t arena_round(size_t n)
{
    return (n + ARENA_ALIGN_FLOATS - 1) / ARENA_ALIGN_FLOATS * ARENA_ALIGN_FLOATS;
}

void arena_plan(arena *a, const char *what)
{
    memset(a, 0, sizeof *a);
    a->what = what;
}

int arena_alloc(arena *a, const char *what, size_t floats, c2_err *e)
{
    arena_plan(a, what);
    size_t n = arena_round(floats ? floats : 1);
    if (n > (size_t)c2_limits_get()->max_bytes / sizeof(float))
        return c2_fail(e, C2_ELIMIT, "%s arena: %zu floats exceed the memory limit of %lld bytes",
                       what, floats, (long long)c2_limits_get()->max_bytes);
    size_t bytes = n * sizeof(float);
    if (bytes >= ARENA_MAP_BYTES) { /* page-aligned, zero until written (arena.h) */
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return c2_fail(e, C2_ENOMEM, "%s arena: cannot map %zu MiB", what, bytes >> 20);
        a->base = p;
        a->mapped = bytes;
    } else {
        a->base = aligned_alloc(64, bytes);
        if (!a->base)
            return c2_fail(e, C2_ENOMEM, "%s arena: cannot allocate %zu MiB", what, bytes >> 20);
        memset(a->base, 0, bytes);
    }
    a->cap = n;
    return C2_OK;
}

float *arena_take(arena *a, size_t n)
{
    size_t start = a->used;
    a->used += arena_round(n);
    if (!a->base)
        return NULL;
    if (a->used > a->cap) {
        c2_warn("%s arena: layout needs %zu floats but %zu were allocated", a->what, a->used,
                a->cap);
        a->used = start;
        return NULL;
    }
    return a->base + start;
}

void arena_reset(arena *a)
{
    a->used = 0;
}

void arena_zero(arena *a)
{
    if (a->base)
        memset(a->base, 0, a->used * sizeof(float));
}

void arena_free(arena *a)
{
    if (a->mapped)
        munmap(a->base, a->mapped);
    else
        free(a->base);
    arena_plan(a, a->what);
}
