/* base/pool: the ordered parallel map (pool.h). One mutex guards the map's counters:
 * next_job (the next index handed out), next_done (the next index the caller consumes)
 * and the per-slot state; a thread takes index i only while i < next_done + window, so
 * slot i % window is free. */
#include "base/pool.h"
#include "base/sandbox.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_FREE = 0, SLOT_BUSY, SLOT_READY };

struct c2_pool {
    int n_threads;
    pthread_t *threads;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t work, ready;
    int quit, active;
    int warmed;                 /* threads whose sandbox worker runs (started one at a time) */
    int64_t n, next_job, next_done;
    int window;
    size_t slot_size;
    uint8_t *slots, *state;
    c2_pool_job job;
    void *user;
};

static void *pool_thread(void *arg)
{
    c2_pool *p = arg;
    c2_err e = {0};
    if (sandbox_worker_start(&e) != C2_OK) /* while the process is quiet; else on first use */
        c2_warn("%s", e.msg);
    pthread_mutex_lock(&p->mu);
    p->warmed++;
    pthread_cond_broadcast(&p->ready);
    for (;;) {
        while (!p->quit && !(p->active && p->next_job < p->n && p->next_job < p->next_done + p->window))
            pthread_cond_wait(&p->work, &p->mu);
        if (p->quit)
            break;
        int64_t i = p->next_job++;
        int s = (int)(i % p->window);
        p->state[s] = SLOT_BUSY;
        uint8_t *slot = p->slots + (size_t)s * p->slot_size;
        c2_pool_job job = p->job;
        void *user = p->user;
        pthread_mutex_unlock(&p->mu);
        memset(slot, 0, p->slot_size);
        job(user, i, slot);
        pthread_mutex_lock(&p->mu);
        p->state[s] = SLOT_READY;
        if (i == p->next_done) /* the caller waits for no other index: later ones keep */
            pthread_cond_broadcast(&p->ready);
    }
    pthread_mutex_unlock(&p->mu);
    sandbox_worker_stop();
    return NULL;
}

int c2_pool_create(c2_pool **out, int threads, c2_err *e)
{
    *out = NULL;
    c2_pool *p = calloc(1, sizeof *p);
    if (!p)
        return c2_fail(e, C2_ENOMEM, "out of memory for a thread pool");
    p->n_threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->ready, NULL);
    if (p->n_threads > 1) {
        p->threads = calloc((size_t)p->n_threads, sizeof *p->threads);
        if (!p->threads) {
            c2_pool_free(p);
            return c2_fail(e, C2_ENOMEM, "out of memory for a thread pool");
        }
        if (sandbox_worker_start(e) != C2_OK) /* the caller's worker first, while alone */
            c2_warn("%s", e->msg);
        for (; p->started < p->n_threads; p->started++) {
            if (pthread_create(&p->threads[p->started], NULL, pool_thread, p) != 0) {
                c2_pool_free(p);
                return c2_fail(e, C2_EIO, "cannot start %d threads", threads);
            }
            pthread_mutex_lock(&p->mu); /* one fork at a time, each from an idle process */
            while (p->warmed <= p->started)
                pthread_cond_wait(&p->ready, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
    }
    *out = p;
    return C2_OK;
}

int c2_pool_threads(const c2_pool *p) { return p->n_threads; }

int c2_pool_map(c2_pool *p, int64_t n, size_t slot_size, c2_pool_job job, c2_pool_done done, void *user, c2_err *e)
{
    if (n <= 0)
        return C2_OK;
    int window = p->n_threads > 1 ? 2 * p->n_threads : 1;
    slot_size = (slot_size + 15) / 16 * 16; /* each slot aligned like malloc's memory */
    uint8_t *slots = malloc((size_t)window * (slot_size ? slot_size : 1)), *state = calloc((size_t)window, 1);
    if (!slots || !state) {
        free(slots);
        free(state);
        return c2_fail(e, C2_ENOMEM, "out of memory for %d work slots of %zu bytes", window, slot_size);
    }
    if (p->n_threads == 1) {
        for (int64_t i = 0; i < n; i++) {
            memset(slots, 0, slot_size);
            job(user, i, slots);
            done(user, i, slots);
        }
        free(slots);
        free(state);
        return C2_OK;
    }
    pthread_mutex_lock(&p->mu);
    p->n = n;
    p->next_job = p->next_done = 0;
    p->window = window;
    p->slot_size = slot_size;
    p->slots = slots;
    p->state = state;
    p->job = job;
    p->user = user;
    p->active = 1;
    pthread_cond_broadcast(&p->work);
    for (int64_t i = 0; i < n; i++) {
        int s = (int)(i % window);
        while (state[s] != SLOT_READY || p->next_done != i)
            pthread_cond_wait(&p->ready, &p->mu);
        pthread_mutex_unlock(&p->mu);
        done(user, i, slots + (size_t)s * slot_size);
        pthread_mutex_lock(&p->mu);
        state[s] = SLOT_FREE;
        p->next_done++;
        pthread_cond_signal(&p->work); /* one slot freed: one more job for one thread */
    }
    p->active = 0;
    p->slots = p->state = NULL;
    pthread_mutex_unlock(&p->mu);
    free(slots);
    free(state);
    return C2_OK;
}

void c2_pool_free(c2_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->ready);
    free(p);
}
