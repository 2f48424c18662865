/* torch_import: a model from a dump of the PyTorch reference (io/torch_dump.h):
 * the config from manifest.json (preset, fusion) and every registry tensor from the
 * dump's `param.<state_dict name>` entries, shapes and dtypes checked. Used by
 * `c2seg import-torch`, `c2seg parity` and their tests. */
#ifndef C2SEG_TRAIN_TORCH_IMPORT_H
#define C2SEG_TRAIN_TORCH_IMPORT_H

#include "base/base.h"
#include "io/torch_dump.h"
#include "model/c2seg.h"

/* Fills cfg from the manifest's preset and fusion. */
int torch_import_config(const torch_dump *d, const char *dir, c2seg_config *cfg, c2_err *e);

/* Creates *m from the dump's config and copies the parameters from `params`, which is
 * the dump itself or (for train dumps, which carry none) the matching eval dump; the
 * two manifests' params_sha256 must then be equal. Caller frees m. */
int torch_import_model(c2seg_model *m, const torch_dump *d, const char *dir, const torch_dump *params,
                       const char *params_dir, c2_err *e);

/* The manifest's string field `key` (NULL when absent). */
const char *torch_manifest_str(const torch_dump *d, const char *key);

#endif
