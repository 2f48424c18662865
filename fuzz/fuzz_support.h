/* fuzz/fuzz_support: what every libFuzzer harness shares. Our parsers read files by
 * name (DCMTK, nifticlib and libzip open paths themselves), so each input is written
 * to one temporary file per process, with the extension the parser dispatches on.
 * Limits are lowered so that a declared 60000 x 60000 image is refused by
 * c2_check_dims instead of exhausting libFuzzer's 2 GiB RSS budget, and warnings
 * are dropped (hostile inputs produce thousands). */
#ifndef C2SEG_FUZZ_SUPPORT_H
#define C2SEG_FUZZ_SUPPORT_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's start-up hook, the same for every harness (so they define only
 * LLVMFuzzerTestOneInput): lowers c2_limits and silences c2_warn. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
/* Writes data to "<tmpdir>/c2seg-fuzz-<pid><ext>" and returns that path (static
 * buffer), or NULL when the write failed. */
const char *fuzz_write_temp(const uint8_t *data, size_t size, const char *ext);
/* The input as a NUL-terminated string (malloc'd; the caller frees it), or NULL when out of
 * memory. */
char *fuzz_text(const uint8_t *data, size_t size);

/* Defines the whole harness of a plain file reader: the input is written to a temporary
 * file ending in EXT, read with READ(path, &x, &e) into a TYPE x, and x is freed with
 * FREE(&x) when the read succeeded (ASan / UBSan judge everything in between). */
#define FUZZ_FILE_READER(EXT, TYPE, READ, FREE)                          \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)         \
    {                                                                    \
        const char *path = fuzz_write_temp(data, size, EXT);             \
        TYPE x;                                                          \
        c2_err e = {0};                                                  \
        if (path && READ(path, &x, &e) == C2_OK)                         \
            FREE(&x);                                                    \
        return 0;                                                        \
    }
/* The folder "<tmpdir>/c2seg-fuzz-<pid>.d" (made on first use; static buffer), or NULL. */
const char *fuzz_temp_folder(void);
/* Writes data to the file name inside fuzz_temp_folder() and returns its path (static
 * buffer), or NULL: for parsers that look at their file's folder (a DICOMDIR). */
const char *fuzz_write_in_folder(const uint8_t *data, size_t size, const char *name);

#endif
