/* base/lazylib: shared libraries opened on first use (dlopen by soname, or this build's
 * modules by path) and their symbols resolved into a caller's table (base.h, c2_lazylib). */
#include "base/base.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef C2SEG_MODULE_DIR
#define C2SEG_MODULE_DIR "."
#endif

#define LAZYLIB_MAX_SYMS 64

static pthread_mutex_t lazylib_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t lazylib_atfork_once = PTHREAD_ONCE_INIT;

/* A fork (a sandbox worker, base/sandbox.c) waits for an open in progress in another thread,
 * so that the child never inherits the lock held or a table half filled. */
static void lazylib_lock(void) { pthread_mutex_lock(&lazylib_mu); }
static void lazylib_unlock(void) { pthread_mutex_unlock(&lazylib_mu); }
static void lazylib_atfork(void) { pthread_atfork(lazylib_lock, lazylib_unlock, lazylib_unlock); }

/* A module's path: the executable's folder when it is there, else the build folder. */
static void module_path(const char *file, char *out, size_t cap)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash = n > 0 && (size_t)n < sizeof self - 1 ? (self[n] = 0, strrchr(self, '/')) : NULL;
    if (slash) {
        *slash = 0;
        snprintf(out, cap, "%s/%s", self, file);
        if (access(out, F_OK) == 0)
            return;
    }
    snprintf(out, cap, "%s/%s", C2SEG_MODULE_DIR, file);
}

int c2_lazylib_open(c2_lazylib *l, c2_err *e)
{
    if (__atomic_load_n(&l->opened, __ATOMIC_ACQUIRE))
        return C2_OK;
    if (l->n > LAZYLIB_MAX_SYMS || l->table_size != l->n * sizeof(void *))
        return c2_fail(e, C2_EINVAL, "base/lazylib: the table for %s holds %zu bytes for %zu symbols (at most %d)",
                       l->soname, l->table_size, l->n, LAZYLIB_MAX_SYMS);
    int rc = C2_OK;
    pthread_once(&lazylib_atfork_once, lazylib_atfork);
    pthread_mutex_lock(&lazylib_mu);
    if (!l->opened) {
        char path[4200];
        if (l->module)
            module_path(l->soname, path, sizeof path);
        void *h = dlopen(l->module ? path : l->soname, RTLD_NOW | (l->global ? RTLD_GLOBAL : RTLD_LOCAL));
        void *sym[LAZYLIB_MAX_SYMS];
        size_t i = 0;
        for (; h && i < l->n; i++) {
            dlerror();
            if (!(sym[i] = dlsym(h, l->names[i])))
                break;
        }
        if (!h || i < l->n) {
            const char *why = dlerror();
            rc = c2_fail(e, C2_EUNSUPPORTED, "%s needs %s, which cannot be used: %s", l->what, l->soname,
                         why ? why : h ? l->names[i] : "not found");
            if (h)
                dlclose(h);
        } else {   /* the handle stays open for the life of the process */
            memcpy(l->table, sym, l->table_size);
            __atomic_store_n(&l->opened, 1, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&lazylib_mu);
    return rc;
}
