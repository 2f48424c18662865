/* train: training, evaluation and what they persist: checkpoints, metrics, logs. */
#ifndef C2SEG_TRAIN_H
#define C2SEG_TRAIN_H

#include "train/checkpoint.h"
#include "train/metrics.h"
#include "train/torch_import.h"
#include "train/trainlog.h"
#include "train/fit.h"
#include "train/evaluate.h"
#include "train/preprocess_match.h"
#include "train/dist.h"

#endif
