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

/* A pretraining log names its score retrieval_accuracy (no val_dice / val_iou columns);
 * it reads back, and so does a log of an earlier version that held it under val_dice. */
static void pretrain_score_column_and_old_logs(void)
{
    trainlog l;
    trainlog_init(&l, "pretrain");
    c2_err e = {0};
    trainlog_row r = {.epoch = 1, .step = 21, .loss = 2.5, .lr = 1e-4, .val_dice = NAN, .val_iou = NAN,
                      .retrieval_accuracy = 0.25, .images_per_s = 9, .seconds = 1};
    CHECK(trainlog_add(&l, &r, &e) == C2_OK);
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s/pre.log", test_tmpdir());
    CHECK(trainlog_write(&l, prefix, &e) == C2_OK);
    trainlog_free(&l);
    char *head = run_capture("head -1 %s.csv", prefix);
    CHECK_MSG(head && strcmp(head, "epoch,step,loss,lr,retrieval_accuracy,images_per_s,seconds\n") == 0, "%s",
              head ? head : "?");
    free(head);
    CHECK(run_cmd("python3 -c \"import json,sys; d=json.load(open('%s.json')); r=d['epochs'][0]; "
                  "sys.exit(0 if r['retrieval_accuracy']==0.25 and 'val_dice' not in r else 1)\"",
                  prefix) == 0);
    trainlog back;
    CHECK(trainlog_read(&back, prefix, &e) == C2_OK && back.n == 1 && back.rows[0].retrieval_accuracy == 0.25);
    trainlog_free(&back);
    /* an earlier version's pretraining log */
    CHECK(run_cmd("printf '%%s' '{\"stage\":\"pretrain\",\"epochs\":[{\"epoch\":1,\"step\":21,\"loss\":2.5,"
                  "\"lr\":0.0001,\"val_dice\":0.375,\"val_iou\":null,\"images_per_s\":9,\"seconds\":1}]}' "
                  "> %s/old.log.json", test_tmpdir()) == 0);
    snprintf(prefix, sizeof prefix, "%s/old.log", test_tmpdir());
    CHECK(trainlog_read(&back, prefix, &e) == C2_OK && back.n == 1);
    CHECK(back.n == 1 && back.rows[0].retrieval_accuracy == 0.375 && isnan(back.rows[0].val_dice) &&
          back.rows[0].step == 21);
    trainlog_free(&back);
}

int main(void)
{
    RUN_TEST(history_files_hold_every_epoch);
    RUN_TEST(pretrain_score_column_and_old_logs);
    return test_summary();
}
