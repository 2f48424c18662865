#!/bin/sh
# A pure DICOM cohort trains and predicts: `c2seg ingest` of a folder holding CT series,
# their ground truth as DICOM SEG and their SR reports (c2seg-sample-data, 2 studies),
# then train (small preset, 1 epoch) and predict one study back to a DICOM SEG that
# dciodvfy accepts. The cache's masks come from the SEGs (has_mask on every slice).
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_seg_train
export C2SEG_THREADS=2

tl_sample_data "$T/sd" --studies 2 --size 64 --slices 6
"$BIN" ingest "$T/sd/dicom" -o "$T/c.h5" --preset small -q >"$T/ingest.json" 2>"$T/ingest.err"
check "ingest CT + SEG + SR: exit 0 ($(cat "$T/ingest.err"))" $?
grep -q '"series_with_seg_truth":2' "$T/ingest.json" && grep -q '"captioned":12' "$T/ingest.json"
check "masks from the SEGs, text from the SRs ($(cat "$T/ingest.json"))" $?
h5_values "$T/c.h5" /has_mask | grep -q 0
check "has_mask on every slice" "$([ $? -ne 0 ]; echo $?)"
"$BIN" train "$T/c.h5" -o "$T/m.ckpt" --preset small --epochs 1 -q >"$T/train.json" 2>"$T/train.err"
check "train: exit 0 ($(tail -2 "$T/train.err"))" $?
grep -q '"best_val_dice":[0-9]' "$T/train.json"
check "train reports a validation Dice" $?
"$BIN" predict "$T/m.ckpt" "$T/sd/dicom/case01" -o "$T/pred" -q >/dev/null 2>"$T/predict.err"
check "predict: exit 0 ($(tail -2 "$T/predict.err"))" $?
grep -q '"status":[[:space:]]*"ok"' "$T/pred/predictions.json"
check "predictions.json: case ok" $?
# the SEG is named after the series (SeriesDescription "Axial 10 mm", SeriesNumber 1)
seg=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['cases'][0]['outputs']['mask'])" "$T/pred/predictions.json")
[ "$seg" = Axial_10_mm_1.seg.dcm ]
check "SEG named after its series ($seg)" $?
dciodvfy "$T/pred/$seg" 2>"$T/vfy.log" >/dev/null && ! grep -q '^Error' "$T/vfy.log"
check "the predicted SEG passes dciodvfy" $?

tl_end
