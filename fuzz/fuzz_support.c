/* fuzz/fuzz_support: temporary input files and lowered limits for the harnesses. */
#include "fuzz/fuzz_support.h"

#include "base/base.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void drop_warning(void *user, const char *msg)
{
    (void)user;
    (void)msg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    c2_limits l = *c2_limits_get();
    l.max_dim = 16384;
    l.max_pixels = (int64_t)16 << 20;   /* 16 Mpixel: a 4096 x 4096 image */
    l.max_bytes = (int64_t)256 << 20;   /* 256 MiB per allocation of input data */
    l.max_depth = 32;
    c2_limits_set(&l);
    c2_set_warn_sink(drop_warning, NULL);
    return 0;
}

/* TMPDIR, else /tmp */
static const char *tmp_root(void)
{
    const char *dir = getenv("TMPDIR");
    return dir && dir[0] ? dir : "/tmp";
}

/* Writes data to path; 1 on success. */
static int write_bytes(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

const char *fuzz_write_temp(const uint8_t *data, size_t size, const char *ext)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/c2seg-fuzz-%ld%s", tmp_root(), (long)getpid(), ext);
    return write_bytes(path, data, size) ? path : NULL;
}

const char *fuzz_temp_folder(void)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s/c2seg-fuzz-%ld.d", tmp_root(), (long)getpid());
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? dir : NULL;
}

const char *fuzz_write_in_folder(const uint8_t *data, size_t size, const char *name)
{
    static char path[4200];
    const char *dir = fuzz_temp_folder();
    if (!dir)
        return NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return write_bytes(path, data, size) ? path : NULL;
}

char *fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = 0;
    }
    return s;
}
