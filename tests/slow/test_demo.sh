#!/bin/sh
# scripts/demo shortened (6 studies, tiny preset, 1 epoch, no install / build: the
# test's own build), judged by independent tools: exit 0 and the headline lines; every
# SEG and SR through dciodvfy (no Error line); the NIfTI mask has its source's affine
# (nibabel); report.html and status.tsv exist with one "done" row per predicted case.
set -u
PY=/usr/bin/python3
T="$C2SEG_BUILD/test-tmp/test_demo"
rm -rf "$T" && mkdir -p "$T" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "  FAIL: $*" >&2; }

env DEMO_SKIP_INSTALL=1 C2SEG_BUILD_DIR="$C2SEG_BUILD" DEMO_OUT="$T/out" DEMO_EPOCHS=1 DEMO_PRESET=tiny \
    DEMO_STUDIES=6 "$C2SEG_SOURCE/scripts/demo" >"$T/demo.out" 2>"$T/demo.err"
rc=$?
[ "$rc" = 0 ] && ok || { bad "demo exit $rc"; tail -20 "$T/demo.err" >&2; }
for line in "validation Dice" "Dice vs ground truth" "prediction vs report text" "SEG files, no Error line"; do
    grep -q "$line" "$T/demo.out" && ok || bad "no '$line' line in the demo's output"
done
R="$T/out/run/predict"
n=0
find "$R" -name '*.dcm' | sort >"$T/dcm-files.txt"
while IFS= read -r f; do
    n=$((n + 1))
    if dciodvfy "$f" 2>"$T/vfy.log" >/dev/null && ! grep -q '^Error' "$T/vfy.log"; then ok; else bad "$f: $(grep '^Error' "$T/vfy.log" | head -2)"; fi
done <"$T/dcm-files.txt"
[ "$n" -ge 2 ] && ok || bad "expected a SEG and an SR, found $n DICOM files"
[ -s "$R/report.html" ] && ok || bad "no report.html"
$PY - "$T/out" <<'PYEOF' && ok || bad "NIfTI affine / status table (see above)"
import csv, json, os, sys
import nibabel as nib, numpy as np
out = sys.argv[1]
pred = json.load(open(os.path.join(out, "run/predict/predictions.json")))
rows = list(csv.DictReader(open(os.path.join(out, "run/status.tsv")), delimiter="\t"))
assert sum(r["status"] == "done" for r in rows) == len(pred["cases"]) >= 2, rows
for c in pred["cases"]:
    if c["outputs"]["mask_type"] == "nifti":
        src = nib.load(os.path.realpath(c["inputs"][0]))
        m = nib.load(os.path.join(out, "run/predict", c["outputs"]["mask"]))
        assert m.shape[:3] == src.shape[:3] and np.allclose(m.affine, src.affine, atol=1e-4), c["id"]
PYEOF
echo "test_demo: $pass passed, $fail failed"
[ "$fail" = 0 ]
