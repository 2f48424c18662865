/* model/c2seg_init against the PyTorch reference's initialisation (C2Seg._init, KANLinear),
 * tensor by tensor, tiny preset with BCAM + K-Gate ($C2SEG_INIT_PRESET=small checks the small
 * preset's shapes instead; CI runs tiny). Ours: seeds 0..7. Reference: when torch imports,
 * `c2seg_ref.py dump --preset P --mode eval --seed S` for S = 0, 1, 2 at run time; otherwise
 * the committed golden_P_eval (seed 0) from ../shared/reference, said so on stderr (never
 * skipped). Judge: tests/io/init_compare.py (numpy: constants equal, random
 * draws by a two-sample KS test); its table is kept in build/test-artifacts/init_compare.txt. */
#include "model/c2seg.h"
#include "tests/support/check.h"

#include <stdlib.h>
#include <string.h>

enum { OUR_SEEDS = 8 };

static void init_matches_the_reference_per_tensor(void)
{
    char ours[4200], refs[3 * 4300] = "", cmd[16000];
    snprintf(ours, sizeof ours, "%s/init_ours", test_tmpdir());
    CHECK(run_cmd("rm -rf '%s' && mkdir -p '%s'", ours, ours) == 0);
    const char *preset = getenv("C2SEG_INIT_PRESET") ? getenv("C2SEG_INIT_PRESET") : "tiny";
    c2_err e = {0};
    c2seg_config cfg;
    CHECK(c2seg_config_make(&cfg, preset, "bcam_kgate", &e) == C2_OK);
    for (int seed = 0; seed < OUR_SEEDS; seed++) {
        c2seg_model m;
        if (c2seg_model_create(&m, &cfg, &e) != C2_OK) {
            CHECK_MSG(0, "%s", e.msg);
            return;
        }
        c2seg_model_init_weights(&m, (uint64_t)seed);
        for (int i = 0; i < m.n_tensors; i++) {
            const c2seg_tensor_info *t = &m.tensors[i];
            if (t->kind == C2SEG_COUNTER)
                continue;
            char p[4400];
            snprintf(p, sizeof p, "%s/%s.f32", ours, t->name);
            FILE *f = fopen(p, "ab");
            CHECK(f && fwrite(c2seg_tensor_data(&m, t), sizeof(float), (size_t)t->numel, f) == (size_t)t->numel);
            if (f)
                fclose(f);
        }
        c2seg_model_free(&m);
    }
    const char *src = getenv("C2SEG_SOURCE"), *shared = getenv("C2SEG_SHARED");
    if (run_cmd("python3 -c 'import torch' > /dev/null 2>&1") == 0) {
        for (int s = 0; s < 3; s++) {
            char d[4300];
            snprintf(d, sizeof d, "%s/init_ref%d", test_tmpdir(), s);
            CHECK(run_cmd("cd '%s' && python3 '%s/reference/c2seg_ref.py' dump --preset %s --mode eval --seed %d "
                          "-o '%s' > /dev/null 2>&1",
                          test_tmpdir(), shared, preset, s, d) == 0);
            snprintf(refs + strlen(refs), sizeof refs - strlen(refs), " '%s'", d);
        }
    } else {
        fprintf(stderr, "  torch not importable: comparing with the committed golden_%s_eval (seed 0) only\n", preset);
        snprintf(refs, sizeof refs, " '%s/reference/golden_%s_eval'", shared, preset);
    }
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/test-artifacts' && python3 '%s/tests/io/init_compare.py' '%s' %d%s "
             "| tee '%s/test-artifacts/init_compare.txt' | tail -1",
             getenv("C2SEG_BUILD"), src, ours, OUR_SEEDS, refs, getenv("C2SEG_BUILD"));
    char *v = run_capture("%s", cmd);
    CHECK_MSG(v && strncmp(v, "ok ", 3) == 0, "%s (table: build/test-artifacts/init_compare.txt)", v ? v : "");
    free(v);
}

int main(void)
{
    RUN_TEST(init_matches_the_reference_per_tensor);
    return test_summary();
}
