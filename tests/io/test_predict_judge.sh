#!/bin/sh
# `c2seg predict`'s mask content and each SEG frame's source slice against an independent
# computation (issue 29): a tiny model trained two steps on generated CT volumes predicts
# the real 3-slice CT series of ../shared/data (dcmqi_ct-3slice, 512 x 512). The judge
# (tests/io/predict_judge.py) preprocesses the slices itself (pydicom + numpy, ingest_truth.py),
# runs the model exported to ONNX in ONNX Runtime (tests/node/onnx_check.js, which also
# compares with c2seg's eval forward), maps the probabilities back to the 512 x 512 grid with
# numpy and thresholds them at their median (so both classes occur); every SEG frame read
# by pydicom must equal that mask (pixels within float noise of the cut excepted) and
# reference, by SOP Instance UID and position, the slice it was computed from.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_need_node onnxruntime-node
NODE_DIR="$C2SEG_SOURCE/tests/node"
tl_begin test_predict_judge
export C2SEG_THREADS=1
JUDGE="$C2SEG_SOURCE/tests/io/predict_judge.py"
SERIES="$C2SEG_SHARED/data/dicom/ct_series/dcmqi_ct-3slice"
TEXT="Bilateral pulmonary infection, two infected areas, upper left lung and lower right lung."

"$C2SEG_BUILD/c2seg-sample-data" -o "$T/sd" --studies 2 --slices 8 --size 64 >/dev/null 2>"$T/err" &&
    "$BIN" ingest "$T/sd/nifti" -o "$T/n.h5" --preset tiny -q >/dev/null 2>>"$T/err" &&
    "$BIN" train "$T/n.h5" -o "$T/m.ckpt" --preset tiny --epochs 1 --max-steps 2 --batch 4 -q >/dev/null 2>>"$T/err" ||
    { cat "$T/err" >&2; echo "FAIL: a model" >&2; exit 1; }
K="$T/k"
$PY "$JUDGE" inputs "$T/m.ckpt" "$SERIES" "$K" "$TEXT" 2>"$T/err" && ok "the judge's inputs" || bad "inputs: $(cat "$T/err")"
"$BIN" export-onnx "$T/m.ckpt" -o "$K.onnx" -q >/dev/null 2>"$T/err" &&
    "$BIN" export-onnx "$T/m.ckpt" --logits-for "$K" -q >/dev/null 2>>"$T/err" || bad "export-onnx: $(cat "$T/err")"
if node "$NODE_DIR/onnx_check.js" "$K.onnx" "$K" 32 1e-4 "$K.ort.f32" >"$T/ort.json" 2>"$T/err"; then
    ok "ONNX Runtime's logits (and c2seg's eval forward agrees): $(cat "$T/ort.json")"
else
    bad "ONNX Runtime: $(cat "$T/ort.json" "$T/err")"
fi
TH=$($PY "$JUDGE" threshold "$K.ort.f32")
"$BIN" predict "$T/m.ckpt" "$SERIES" -o "$T/p" --text "$TEXT" --threshold "$TH" -q >/dev/null 2>"$T/err" ||
    bad "predict: $(cat "$T/err")"
SEG=$(ls "$T"/p/*.seg.dcm 2>/dev/null | head -1)
if [ -n "$SEG" ] && $PY "$JUDGE" seg "$T/m.ckpt" "$SERIES" "$K.ort.f32" "$SEG" "$TH" >"$T/judge" 2>&1; then
    ok "threshold $TH: $(cat "$T/judge")"
else
    bad "threshold $TH: SEG ${SEG:-missing}: $(cat "$T/judge" 2>/dev/null)"
fi

tl_end
