#!/bin/sh
# --threshold for binary masks (issue 30, defect 7), on a generated cohort
# (c2seg-sample-data NIfTI CT volumes with masks, tiny preset, a briefly trained model):
#  - predict --threshold P: the binary NIfTI mask equals predict's own --fractional output
#    (8-bit probabilities on the source grid) > P, judged by nibabel, with P their median
#    so that both classes occur; predictions.json records P; without it P = 0.5;
#  - eval --threshold P: the summary records P and its Dice is the Dice-by-threshold
#    curve's point at P; the curve (0.05 .. 0.95) does not depend on P and its 0.5
#    point is the default eval's Dice;
#  - a threshold outside (0, 1), and --threshold given to train: exit 2, one line.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_threshold
export C2SEG_THREADS=1

tl_sample_data "$T/sd" --studies 3 --slices 8 --size 64
tl_tiny_model "$T/sd/nifti" "$T/n.h5" "$T/m.ckpt" --epochs 2 --batch 8
CASE="$T/sd/nifti/case03.nii.gz"

"$BIN" predict "$T/m.ckpt" "$CASE" -o "$T/pf" --fractional -q >/dev/null 2>"$T/err" || bad "predict --fractional: $(cat "$T/err")"
"$BIN" predict "$T/m.ckpt" "$CASE" -o "$T/p5" -q >/dev/null 2>"$T/err" || bad "predict: $(cat "$T/err")"
TH=$($PY -c "import sys,glob,nibabel as nib,numpy as np; p=np.asarray(nib.load(glob.glob(sys.argv[1]+'/pf/*_mask.nii.gz')[0]).dataobj); print('%.4f' % np.median(p))" "$T")
"$BIN" predict "$T/m.ckpt" "$CASE" -o "$T/pt" --threshold "$TH" -q >/dev/null 2>"$T/err" ||
    bad "predict --threshold $TH: $(cat "$T/err")"
$PY - "$T" "$TH" <<'PY' && ok "predict --threshold $TH and 0.5: mask = probability > threshold (nibabel), recorded" ||
import json, sys, glob
import nibabel as nib, numpy as np
t, th = sys.argv[1], float(sys.argv[2])
prob = np.asarray(nib.load(glob.glob(t + "/pf/*_mask.nii.gz")[0]).dataobj, dtype=np.float32)
v8 = np.rint(prob * 255)                     # the 8-bit source-grid probability
for d, cut in (("pt", th), ("p5", 0.5)):
    mask = np.asarray(nib.load(glob.glob(t + "/" + d + "/*_mask.nii.gz")[0]).dataobj)
    assert prob.shape == mask.shape, (prob.shape, mask.shape)
    want = v8 > cut * 255
    assert 0 < want.sum() < want.size, (d, int(want.sum()))
    assert np.array_equal(mask != 0, want), (d, int((mask != 0).sum()), int(want.sum()))
    assert json.load(open(t + "/" + d + "/predictions.json"))["threshold"] == cut
assert "threshold" not in json.load(open(t + "/pf/predictions.json"))
PY
    bad "predict --threshold"
usage_error "--threshold: '1.5': not a probability strictly between 0 and 1" "predict --threshold 1.5: exit 2" \
    predict "$T/m.ckpt" "$CASE" -o "$T/pb" --threshold 1.5 -q
usage_error "--threshold: unknown option" "train --threshold: exit 2" train "$T/n.h5" -o "$T/x.ckpt" --threshold 0.3 -q

"$BIN" eval "$T/m.ckpt" "$T/n.h5" -o "$T/e.csv" >"$T/e.json" 2>"$T/err" &&
    "$BIN" eval "$T/m.ckpt" "$T/n.h5" -o "$T/e3.csv" --threshold 0.3 >"$T/e3.json" 2>>"$T/err" || bad "eval: $(cat "$T/err")"
$PY - "$T" <<'PY' && ok "eval --threshold and the Dice-by-threshold curve" || bad "eval threshold / curve"
import csv, json, sys
t = sys.argv[1]
a, b = json.load(open(t + "/e.json")), json.load(open(t + "/e3.json"))
assert a["threshold"] == 0.5 and b["threshold"] == 0.3
curve = {round(p["threshold"], 2): p["dice"] for p in a["dice_by_threshold"]}
assert sorted(curve) == [round(0.05 * k, 2) for k in range(1, 20)], sorted(curve)
assert abs(curve[0.5] - a["dice"]) < 1e-12, (curve[0.5], a["dice"])
assert abs(curve[0.3] - b["dice"]) < 1e-12, (curve[0.3], b["dice"])
assert a["dice_by_threshold"] == b["dice_by_threshold"]
rows = list(csv.DictReader(open(t + "/e3.csv")))
assert abs(sum(float(r["dice"]) for r in rows) / len(rows) - b["dice"]) < 1e-5
PY

# c2seg run hands threshold to eval and predict, and seed to eval (the seeded split)
mkdir -p "$T/run"
printf 'workdir = w\ntrain = ../sd/nifti\npredict = ../sd/nifti/case03.nii.gz\nseed = 5\nthreshold = 0.3\n' >"$T/run/run.conf"
"$BIN" run "$T/run/run.conf" --dry-run >/dev/null 2>"$T/err"
grep -q "c2seg eval .*--seed 5" "$T/err" && grep -q "c2seg eval .*--threshold 0.3" "$T/err" &&
    grep -q "c2seg predict .*--threshold 0.3" "$T/err" && ok "run: threshold to eval and predict, seed to eval" ||
    bad "run threshold / seed: $(cat "$T/err")"

tl_end
