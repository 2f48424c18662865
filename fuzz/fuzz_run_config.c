/* fuzz/fuzz_run_config: the `c2seg run` config parser (pipeline/run/run_config.h) on
 * arbitrary bytes, then every accessor on what it accepted. */
#include "pipeline/run/run_config.h"
#include "fuzz/fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_temp(data, size, ".conf");
    run_config c;
    c2_err e = {0};
    if (path && run_config_load(&c, path, &e) == C2_OK) {
        for (int k = 0; run_keys[k].name; k++) {
            (void)run_config_get(&c, run_keys[k].name);
            if (run_keys[k].kind == KEY_BOOL)
                (void)run_config_bool(&c, run_keys[k].name, 0);
            else if (run_keys[k].kind == KEY_INT)
                (void)run_config_int(&c, run_keys[k].name, 0);
        }
        run_config_free(&c);
    }
    return 0;
}
