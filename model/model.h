/* model: layers (forward / backward pairs), KAN, fusion, losses, optimizers, C2Seg and the frozen text encoder. */
#ifndef C2SEG_MODEL_H
#define C2SEG_MODEL_H

#include "base/base.h"
#include "model/text_encoder.h"
#include "model/layers.h"
#include "model/kan.h"
#include "model/attention.h"
#include "model/fusion.h"
#include "model/cacl.h"
#include "model/losses.h"
#include "model/optim.h"
#include "model/arena.h"
#include "model/threads.h"
#include "model/precision.h"
#include "model/c2seg.h"

#endif
