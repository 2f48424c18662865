/* trainlog: the per-epoch history of a training run, written beside the checkpoint
 * as CSV, JSON and an SVG picture of the loss and the score curves. The score is the
 * validation Dice (and IoU) for `train` and the in-batch retrieval accuracy for
 * `pretrain`, each in a column named for it (docs/formats.md). Each write replaces the
 * files atomically, so a killed run leaves the last complete history. */
#ifndef C2SEG_TRAIN_TRAINLOG_H
#define C2SEG_TRAIN_TRAINLOG_H

#include "base/base.h"

typedef struct trainlog_row {
    int epoch;            /* 1-based */
    int64_t step;         /* optimizer steps so far */
    double loss;          /* mean training loss of the epoch */
    double lr;            /* learning rate at the end of the epoch (the "rest" group) */
    double val_dice;      /* train: NAN when there is no validation split */
    double val_iou;
    double retrieval_accuracy; /* pretrain: share of images whose most similar text is their own */
    double images_per_s;
    double seconds;       /* wall time of the epoch */
} trainlog_row;

typedef struct trainlog {
    char stage[32];       /* "pretrain" or "train" */
    int n;
    size_t cap;
    trainlog_row *rows;
} trainlog;

void trainlog_init(trainlog *l, const char *stage);
int trainlog_add(trainlog *l, const trainlog_row *row, c2_err *e);
/* Writes PREFIX.csv, PREFIX.json and PREFIX.svg (PREFIX is usually the checkpoint
 * path without its extension, plus ".log"). */
int trainlog_write(const trainlog *l, const char *prefix, c2_err *e);
void trainlog_free(trainlog *l);
/* Reads PREFIX.json back into l (stage and rows; absent numbers are NAN). Reads the
 * logs of earlier versions too, whose pretraining rows held the retrieval accuracy
 * under "val_dice". */
int trainlog_read(trainlog *l, const char *prefix, c2_err *e);
/* Renders an SVG line chart of up to two series against x (NaN points skipped). */
int trainlog_svg(const trainlog *l, char **svg_out, c2_err *e);

#endif
