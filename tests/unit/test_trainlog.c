/* train/trainlog: the history files are complete, parseable and atomic. */
#include "train/trainlog.h"
#include "tests/support/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void history_files_hold_every_epoch(void)
{
    trainlog l;
    trainlog_init(&l, "train");
    c2_err e = {0};
    for (int i = 1; i <= 5; i++) {
        trainlog_row r = {.epoch = i, .step = i * 10, .loss = 1.0 / i, .lr = 1e-3, .val_dice = 0.1 * i,
                          .val_iou = i == 3 ? NAN : 0.05 * i, .images_per_s = 8, .seconds = 2};
        CHECK(trainlog_add(&l, &r, &e) == C2_OK);
    }
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s/run.log", test_tmpdir());
    CHECK(trainlog_write(&l, prefix, &e) == C2_OK);
    char *lines = run_capture("wc -l < %s.csv", prefix);
    CHECK(lines && atoi(lines) == 6);
    free(lines);
    /* an independent parser must accept the JSON and find the NaN as null */
    CHECK(run_cmd("python3 -c \"import json,sys; d=json.load(open('%s.json')); "
                  "sys.exit(0 if len(d['epochs'])==5 and d['epochs'][2]['val_iou'] is None else 1)\"",
                  prefix) == 0);
    CHECK(run_cmd("python3 -c \"import xml.dom.minidom as m; m.parse('%s.svg')\"", prefix) == 0);
    trainlog_free(&l);
}

int main(void)
{
    RUN_TEST(history_files_hold_every_epoch);
    return test_summary();
}
