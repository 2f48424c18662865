#!/bin/sh
# `c2seg run` with a relative `model =` path (issue 30, defect 1): relative paths are
# relative to the config file's folder, also when the config lies in the working
# directory (`c2seg run run.conf`; the folder is then ""). A predict-only config with
# `model = mini/model.ckpt` runs predict and report from both places; predictions.json
# names the checkpoint and the NIfTI mask it wrote loads in nibabel.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_run_model_path
export C2SEG_THREADS=1

tl_sample_data "$T/cfg/sd" --studies 2 --slices 8 --size 64
mkdir -p "$T/cfg/mini"
tl_tiny_model "$T/cfg/sd/nifti" "$T/c.h5" "$T/cfg/mini/model.ckpt" --epochs 1 --batch 8 --max-steps 1
cat >"$T/cfg/run.conf" <<'EOF'
workdir = work
model = mini/model.ckpt
predict = sd/nifti/case02.nii.gz
threads = 1
EOF

run_outputs() { # NAME WORKDIR: the run's outputs
    $PY - "$2" <<'PY' && ok "$1" || bad "$1: $(cat "$T/run.err")"
import glob, json, os, sys
import nibabel as nib
w = sys.argv[1]
d = json.load(open(os.path.join(w, "predict", "predictions.json")))
assert d["checkpoint"].endswith("mini/model.ckpt") and not d["checkpoint"].startswith("/mini"), d["checkpoint"]
masks = glob.glob(os.path.join(w, "predict", "*_mask.nii.gz"))
assert len(masks) == 1 and nib.load(masks[0]).shape[:2] == (64, 64), masks
PY
}
(cd "$T/cfg" && "$BIN" run run.conf -q >"$T/run.json" 2>"$T/run.err")
rc=$?
[ $rc -eq 0 ] && ok "run run.conf in the config's folder: exit 0" || bad "run in the config's folder: exit $rc: $(cat "$T/run.err")"
run_outputs "model = mini/model.ckpt found beside the config (config in the working directory)" "$T/cfg/work"
rm -rf "$T/cfg/work"
(cd "$T" && "$BIN" run cfg/run.conf -q >"$T/run.json" 2>"$T/run.err")
rc=$?
[ $rc -eq 0 ] && ok "run cfg/run.conf from its parent: exit 0" || bad "run from the parent: exit $rc: $(cat "$T/run.err")"
run_outputs "model = mini/model.ckpt found beside the config (config in a sub-folder)" "$T/cfg/work"

tl_end
