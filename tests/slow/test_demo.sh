#!/bin/sh
# scripts/demo shortened (4 studies, small preset so that the model grid is the CT's 128 x 128
# grid, 1 epoch of at most 3 steps per stage, no install / build: the test's own build),
# judged by independent tools: exit 0; the two headline rows
# (test Dice vs the SEG truth, cases consistent with their text) exist for the text-guided and
# the vision-only model with numbers in range and the gain their difference; the text run
# pre-trained (Stage I) and trained bcam_kgate from captioned DICOM (CT + SEG + SR) whose
# every slice carries its own caption from the generator's captions.csv (the cache's
# /text/captions by SOP Instance UID, h5dump), the test studies predicted with their
# per-slice captions (predictions.json) and their SR as the report; the vision run trained
# --fusion vision (the checkpoints' fusion attribute, h5dump); every SEG
# and SR through dciodvfy (no Error line); each case's Dice recomputed by pydicom from the
# predicted SEG and the generator's truth SEG; status.tsv has one "done" row per case.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_demo

env DEMO_SKIP_INSTALL=1 C2SEG_BUILD_DIR="$C2SEG_BUILD" DEMO_OUT="$T/out" DEMO_EPOCHS=1 DEMO_PRETRAIN_EPOCHS=1 \
    DEMO_MAX_STEPS=3 DEMO_STUDIES=4 "$C2SEG_SOURCE/scripts/demo" >"$T/demo.out" 2>"$T/demo.err"
rc=$?
[ "$rc" = 0 ] && ok || { bad "demo exit $rc"; tail -20 "$T/demo.err" >&2; }
for line in "validation Dice" "SEG files, no Error line" "text-guided  vision-only  text gain" \
    "trains on per-slice captions" "predicted with their per-slice captions too"; do
    grep -q "$line" "$T/demo.out" && ok || bad "no '$line' line in the demo's output"
done

# the two headline rows: numbers in range, the gain is the difference
$PY - "$T/demo.out" <<'PYEOF' && ok || bad "headline rows (see above)"
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"^  test studies: Dice vs SEG truth +([01]\.\d{3}) +([01]\.\d{3}) +([+-]\d\.\d{3}) +\(n = (\d+) studies\)$",
              text, re.M)
assert m, "no 'test studies: Dice vs SEG truth' row with two Dice values and a gain"
t, v, g = float(m.group(1)), float(m.group(2)), float(m.group(3))
assert 0 <= t <= 1 and 0 <= v <= 1 and abs(g - (t - v)) <= 0.0015 and int(m.group(4)) >= 1, m.group(0)
m = re.search(r"^  test: consistent with their text +(\d+) of (\d+) +(\d+) of (\d+) +([+-]\d+)$", text, re.M)
assert m, "no 'consistent with their text' row with two 'a of b' counts and a gain"
a, b, c, d, g = (int(x) for x in m.groups())
assert 0 <= a <= b and 0 <= c <= d and b == d >= 1 and g == a - c, m.group(0)
PYEOF

# Stage I + bcam_kgate from captioned DICOM for the text run, vision-only for the other
$PY - "$T/out" <<'PYEOF' && ok || bad "stages of the two runs (see above)"
import json, os, sys
out = sys.argv[1]
t = {s["name"]: s.get("summary", {}) for s in json.load(open(os.path.join(out, "run-text.json")))["stages"]}
v = {s["name"]: s.get("summary", {}) for s in json.load(open(os.path.join(out, "run-vision.json")))["stages"]}
assert "pretrain" in t and "pretrain" not in v, (list(t), list(v))
splits = json.load(open(os.path.join(out, "cohort.json")))["splits"]
assert t["ingest"]["series_with_seg_truth"] == len(splits["train"] + splits["valid"]) and t["ingest"]["captioned"] == t["ingest"]["samples"] > 0, t["ingest"]
assert t["ingest"]["slice_captioned"] == t["ingest"]["samples"], t["ingest"]
assert t["train"]["fusion"] == "bcam_kgate" and v["train"]["fusion"] == "vision", (t["train"], v["train"])
PYEOF
# the text run's cache: each slice's caption is its captions.csv row (by SOP Instance UID);
# the test studies' predictions read each slice's caption, the SR stays the report
$PY - "$T/out" <<'PYEOF' && ok || bad "per-slice captions in the cache / predictions.json (see above)"
import csv, glob, json, os, re, subprocess, sys
out = sys.argv[1]
h5 = os.path.join(out, "run-text", "cohort.h5")
def strings(ds):
    o = subprocess.run(["h5dump", "-y", "-w", "0", "-d", ds, h5], capture_output=True, text=True, check=True).stdout
    return re.findall(r'"((?:[^"\\]|\\.)*)"', o.split("DATA {", 1)[1])
rows = {}
for f in glob.glob(os.path.join(out, "dicom", "case*", "captions.csv")):
    for r in csv.DictReader(open(f, newline="")):
        rows[r["SOPInstanceUID"]] = r["Description"]
sop, caps = strings("/samples/sop_uid"), strings("/text/captions")
idx = [int(v) for v in re.findall(r"-?\d+", subprocess.run(["h5dump", "-y", "-w", "0", "-d", "/text/caption_index", h5],
       capture_output=True, text=True, check=True).stdout.split("DATA {", 1)[1].split("}")[0])]
assert len(sop) == len(idx) > 0 and all(caps[idx[i]] == rows[u] for i, u in enumerate(sop)), "cache captions"
for c in json.load(open(os.path.join(out, "run-text", "predict", "predictions.json")))["cases"]:
    t = c["text"]
    assert t["model_text_mode"] == "per_slice" and len(t["model_text_per_slice"]) >= 6, t
    assert set(t["model_text_per_slice"]) <= set(rows.values()) and t["source"].startswith("SR "), t
PYEOF
for m in text:bcam_kgate vision:vision; do
    h5dump -a /config "$T/out/run-${m%%:*}/model.ckpt" 2>/dev/null | grep -q "\"fusion\":\"${m#*:}\"" && ok ||
        bad "run-${m%%:*}/model.ckpt: fusion attribute is not ${m#*:}"
done

for m in text vision; do
    R="$T/out/run-$m/predict"
    n=0
    find "$R" -name '*.dcm' | sort >"$T/dcm-files.txt"
    while IFS= read -r f; do
        n=$((n + 1))
        if dciodvfy "$f" 2>"$T/vfy.log" >/dev/null && ! grep -q '^Error' "$T/vfy.log"; then ok; else bad "$f: $(grep '^Error' "$T/vfy.log" | head -2)"; fi
    done <"$T/dcm-files.txt"
    [ "$n" -ge 2 ] && ok || bad "run-$m: expected a SEG and an SR, found $n DICOM files"
    [ -s "$R/report.html" ] && ok || bad "run-$m: no report.html"
    $PY - "$T/out" "$m" <<'PYEOF' && ok || bad "run-$m: Dice recomputed from the SEGs / status table (see above)"
import csv, json, os, sys
import numpy as np, pydicom
out, m = sys.argv[1], sys.argv[2]
run = os.path.join(out, "run-" + m)
pred = json.load(open(os.path.join(run, "predict/predictions.json")))
rows = list(csv.DictReader(open(os.path.join(run, "status.tsv")), delimiter="\t"))
assert sum(r["status"] == "done" for r in rows) == len(pred["cases"]) >= 1, rows
def frames(path):
    ds = pydicom.dcmread(path)
    px = ds.pixel_array.reshape(int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns))
    mask = {}
    for i, f in enumerate(ds.PerFrameFunctionalGroupsSequence):
        uid = f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        mask[uid] = mask.get(uid, np.zeros(px[i].shape, bool)) | (px[i] > 0)
    return mask
for c in pred["cases"]:
    assert c["outputs"]["mask_type"] == "dicom-seg", c["outputs"]
    p = frames(os.path.join(run, "predict", c["outputs"]["mask"]))
    g = frames(c["ground_truth"]["mask_file"])
    inter = sum(int((p[u] & g[u]).sum()) for u in p if u in g)
    total = sum(int(x.sum()) for x in p.values()) + sum(int(x.sum()) for x in g.values())
    dice = 2 * inter / total if total else 1.0
    assert abs(dice - c["ground_truth"]["dice"]) <= 1e-3, (c["id"], dice, c["ground_truth"]["dice"])
PYEOF
done
tl_end
