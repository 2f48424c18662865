/* The stage table: one line per `c2seg <stage>`. */
#include "pipeline/pipeline.h"

#include <stddef.h>

const stage_def c2seg_stages[] = {
    {"ingest", "read DICOM / NIfTI / slice datasets with their text into an HDF5 cohort cache", stage_ingest},
    {"import-torch", "convert a PyTorch reference dump (state_dict names) into a c2seg checkpoint", stage_import},
    {"export", "write a mask (NIfTI / PNG) as a DICOM SEG of its source images", stage_export},
    {"export-onnx", "write a checkpoint's segmentation network as an ONNX graph (opset 17, dynamic batch)",
     stage_export_onnx},
    {"deidentify", "copies of DICOM source series with the basic confidentiality profile (keyed UID remapping)",
     stage_deidentify},
    {"caption", "parse captions into laterality / count / zones, or generate a caption from a mask", stage_caption},
    {"sr-text", "print the report text of DICOM SR documents (file or folder) as JSON", stage_sr_text},
    {"parity", "run a reference dump through the imported model and compare every tensor", stage_parity},
    {"pretrain", "Stage I: contrastive image-text pre-training (CaCL / HardCL) from a cache", stage_pretrain},
    {"train", "Stage II: segmentation training from a cache (BCE + Dice, AdamW, cosine)", stage_train},
    {"eval", "Dice / IoU / HD95 and text-mask consistency of a checkpoint on a cache split", stage_eval},
    {"predict", "predict masks for DICOM / NIfTI / images and write them as SEG / NIfTI / PNG", stage_predict},
    {"report", "report.json / report.html / DICOM SR of a predict folder (or of several, --merge): text-mask consistency", stage_report},
    {"pull", "retrieve a cohort from a PACS (C-FIND + C-GET, or QIDO-RS + WADO-RS) into a patient / study / series tree", stage_pull},
    {"push", "send DICOM files (SEG, SR, ...) to a PACS (C-STORE or STOW-RS); a re-run sends only what did not arrive", stage_push},
    {"run", "the whole chain (ingest .. report) for a cohort from a config file; skips up-to-date stages", stage_run},
    {NULL, NULL, NULL},
};
