#!/bin/sh
# `c2seg export-onnx`: checkpoints trained on real QaTa images (one step; their BatchNorm
# running statistics are no longer the initial ones) for both test presets (tiny 32x32,
# small 128x128) and every fusion are written as ONNX graphs and run in onnxruntime-node
# (tests/node/onnx_check.js) on three real CT slices (../shared/data/dicom/ct_series, read
# with pydicom) with three captions; judged against c2seg's own eval forward of the same
# inputs (`export-onnx --logits-for`): max abs difference of the logits <= 1e-4 and the same
# mask (logit > 0) at every pixel. Also: a bad checkpoint gives one clear error line and no
# output file.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
SHARED="$C2SEG_SHARED"
NODE_DIR="$C2SEG_SOURCE/tests/node"
tl_need_node onnxruntime-node
tl_begin test_export_onnx
export C2SEG_THREADS=1

for S in 32 128; do
    "$BIN" ingest "$SHARED/data/qata/valid" -o "$T/c$S.h5" --size $S -q \
        --captions "$SHARED/data/text/sgseg_qata/annotation.json" >/dev/null 2>"$T/ingest$S.err" &&
        ok "ingest QaTa valid at ${S}x$S" || bad "ingest $S: $(cat "$T/ingest$S.err")"
    # three real CT slices, windowed (-600, 1500) and normalised as the model's input
    $PY - "$SHARED/data/dicom/ct_series/dcmqi_ct-3slice" "$T/in$S" $S <<'PY' || bad "inputs at $S"
import os, sys
import numpy as np, pydicom
src, prefix, S = sys.argv[1], sys.argv[2], int(sys.argv[3])
imgs = []
for f in sorted(os.listdir(src))[:3]:
    d = pydicom.dcmread(os.path.join(src, f))
    hu = d.pixel_array.astype(np.float64) * float(getattr(d, 'RescaleSlope', 1)) + float(getattr(d, 'RescaleIntercept', 0))
    r = (np.arange(S) * hu.shape[0] // S)[:, None]; c = (np.arange(S) * hu.shape[1] // S)[None, :]
    x = np.clip((hu[r, c] - (-600 - 750)) / 1500.0, 0, 1)
    imgs.append((x - 0.5) / 0.25)
np.stack(imgs)[:, None].astype('<f4').tofile(prefix + '.image.f32')
open(prefix + '.captions.txt', 'w').write(
    'Bilateral pulmonary infection, two infected areas, upper left lung and lower right lung.\n'
    'No lung infection.\n'
    'Unilateral pulmonary infection, one infected area, middle lower left lung.\n')
PY
    case $S in 32) P=tiny ;; *) P=small ;; esac
    for F in vision duala bcam bcam_kgate; do
        K="$T/${P}_$F"
        if ! "$BIN" train "$T/c$S.h5" --preset $P --fusion $F -o "$K.ckpt" --epochs 1 --batch 4 --max-steps 1 -q \
            >/dev/null 2>"$K.train.err"; then
            bad "$P $F: train: $(cat "$K.train.err")"
            continue
        fi
        cp "$T/in$S.image.f32" "$K.image.f32" && cp "$T/in$S.captions.txt" "$K.captions.txt"
        "$BIN" export-onnx "$K.ckpt" -o "$K.onnx" -q >"$K.json" 2>"$K.err" &&
            "$BIN" export-onnx "$K.ckpt" --logits-for "$K" -q >/dev/null 2>>"$K.err" ||
            { bad "$P $F: export: $(cat "$K.err")"; continue; }
        if node "$NODE_DIR/onnx_check.js" "$K.onnx" "$K" $S 1e-4 >"$K.check.json" 2>"$K.check.err"; then
            ok "$P $F: ONNX Runtime = c2seg eval: $(cat "$K.check.json")"
        else
            bad "$P $F: ONNX Runtime vs c2seg: $(cat "$K.check.json" "$K.check.err")"
        fi
    done
done

# a corrupt checkpoint: one error line, exit 3, no model file left behind
head -c 4000 "$T/tiny_vision.ckpt" >"$T/bad.ckpt" 2>/dev/null
"$BIN" export-onnx "$T/bad.ckpt" -o "$T/bad.onnx" >/dev/null 2>"$T/bad.err"
rc=$?
if [ $rc -eq 3 ] && [ "$(wc -l <"$T/bad.err")" -eq 1 ] && grep -q "bad.ckpt" "$T/bad.err" && [ ! -e "$T/bad.onnx" ] &&
    [ -z "$(ls "$T" | grep 'bad.onnx')" ]; then
    ok "truncated checkpoint: one error line, exit 3, no output"
else
    bad "truncated checkpoint: rc $rc, $(cat "$T/bad.err")"
fi

tl_end
