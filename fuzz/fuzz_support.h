/* fuzz/fuzz_support: what every libFuzzer harness shares. Our parsers read files by
 * name (DCMTK, nifticlib and libzip open paths themselves), so each input is written
 * to one temporary file per process, with the extension the parser dispatches on.
 * Limits are lowered so that a declared 60000 x 60000 image is refused by
 * c2_check_dims instead of exhausting libFuzzer's 2 GiB RSS budget, and warnings
 * are dropped (hostile inputs produce thousands). */
#ifndef C2SEG_FUZZ_SUPPORT_H
#define C2SEG_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's start-up hook, the same for every harness (so they define only
 * LLVMFuzzerTestOneInput): lowers c2_limits and silences c2_warn. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
/* Writes data to "<tmpdir>/c2seg-fuzz-<pid><ext>" and returns that path (static
 * buffer), or NULL when the write failed. */
const char *fuzz_write_temp(const uint8_t *data, size_t size, const char *ext);

#endif
