/* The stage table: one line per `c2seg <stage>`. */
#include "pipeline/pipeline.h"

#include <stddef.h>
#include <string.h>

const stage_def c2seg_stages[] = {
    {"ingest", "read DICOM / NIfTI / slice datasets with their text into an HDF5 cohort cache", stage_ingest, 0},
    {"import-torch", "convert a PyTorch reference dump (state_dict names) into a c2seg checkpoint", stage_import, 1},
    {"export", "write a mask (NIfTI / PNG) as a DICOM SEG of its source images", stage_export, 0},
    {"export-onnx", "write a checkpoint's segmentation network as an ONNX graph (opset 17, dynamic batch)",
     stage_export_onnx, 1},
    {"deidentify", "copies of DICOM source series with the basic confidentiality profile (keyed UID remapping)",
     stage_deidentify, 0},
    {"caption", "parse captions into laterality / count / zones, or generate a caption from a mask", stage_caption, 0},
    {"sr-text", "print the report text of DICOM SR documents (file or folder) as JSON", stage_sr_text, 0},
    {"parity", "run a reference dump through the imported model and compare every tensor", stage_parity, 1},
    {"pretrain", "Stage I: contrastive image-text pre-training (CaCL / HardCL) from a cache", stage_pretrain, 1},
    {"train", "Stage II: segmentation training from a cache (BCE + Dice, AdamW, cosine)", stage_train, 1},
    {"eval", "Dice / IoU / HD95 and text-mask consistency of a checkpoint on a cache split", stage_eval, 1},
    {"predict", "predict masks for DICOM / NIfTI / images and write them as SEG / NIfTI / PNG", stage_predict, 1},
    {"report", "report.json / report.html / DICOM SR of a predict folder (or of several, --merge): text-mask consistency", stage_report, 0},
    {"pull", "retrieve a cohort from a PACS (C-FIND + C-GET, or QIDO-RS + WADO-RS) into a patient / study / series tree", stage_pull, 0},
    {"push", "send DICOM files (SEG, SR, ...) to a PACS (C-STORE or STOW-RS); a re-run sends only what did not arrive", stage_push, 0},
    {"run", "the whole chain (ingest .. report) for a cohort from a config file; skips up-to-date stages", stage_run, 1},
    {NULL, NULL, NULL, 0},
};

int c2seg_stage_runs_engine(const char *name)
{
    for (const stage_def *s = c2seg_stages; s->name && name; s++)
        if (!strcmp(s->name, name))
            return s->engine;
    return 0;
}
