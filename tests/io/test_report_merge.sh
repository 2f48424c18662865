#!/bin/sh
# `c2seg report --merge`: a cohort (three QaTa PNGs with captions and ground truth, four
# CR / DX DICOM images -> SEG) predicted once whole and once in three parts (1 PNG + 1
# DICOM, 2 PNG + 1 DICOM, 2 DICOM: predict folders whose case names repeat), the parts
# merged. python3 checks that the merged report equals the whole
# run's (cohort block, per-case agreement flags and Dice, cases matched by their inputs),
# that the merged predictions.json has every case of both parts with its part, summed
# counts and only paths that exist, and that every SEG case got its own SR (distinct
# names, pydicom: the SR references its own part's SEG). Bad input: a missing part, a
# part given twice, a predict folder as the merged folder and parts of different models
# each end with one error line naming the folder.
set -u
fail=0
check() { if eval "$1"; then :; else echo "  CHECK failed: $1" >&2; fail=1; fi; }
T="$C2SEG_BUILD/test-tmp/report_merge.$$"
rm -rf "$T"; mkdir -p "$T"
B="$C2SEG_BIN"; S=$(cd "$C2SEG_SHARED" && pwd)
"$B" import-torch "$S/reference/golden_tiny_eval" -o "$T/tiny.ckpt" >/dev/null 2>&1 || { echo "import failed"; exit 1; }
# three QaTa images with their masks in the SGSeg layout, one in qa, two in qb (links)
mkdir -p "$T/qa/valid/images" "$T/qa/valid/masks" "$T/qb/valid/images" "$T/qb/valid/masks"
k=0
for f in $(ls "$S/data/qata/valid/images" | head -3); do
    q=qb; [ $k -eq 0 ] && q=qa; k=$((k + 1))
    ln -s "$S/data/qata/valid/images/$f" "$T/$q/valid/images/$f"
    ln -s "$S/data/qata/valid/masks/mask_$f" "$T/$q/valid/masks/mask_$f"
done
predict() { # OUTDIR INPUTS...
    out=$1; shift
    "$B" predict "$T/tiny.ckpt" "$@" --captions "$S/data/text/sgseg_qata/annotation.json" -o "$out" \
        --overlays --uid-root 1.2.826.0.1.3680043.10.999 -q >/dev/null 2>&1
}
X="$S/data/dicom/xray"
predict "$T/whole" "$T/qa" "$T/qb" "$X"
check '[ $? -eq 0 ]'
"$B" report "$T/whole" -q >/dev/null
check '[ $? -eq 0 ]'
predict "$T/predict/part-00" "$T/qa" "$X/6154"
check '[ $? -eq 0 ]'
predict "$T/predict/part-01" "$T/qb" "$X/RG1_J2KI.dcm"
check '[ $? -eq 0 ]'
predict "$T/predict/part-02" "$X/RG3_J2KR.dcm" "$X/dx_image.dcm"
check '[ $? -eq 0 ]'
# relative folders from another working directory: the merged paths must not depend on it
(cd "$T" && "$B" report --merge merged predict/part-00 predict/part-01 predict/part-02 -q > summary.json)
check '[ $? -eq 0 ]'

python3 - "$T" <<'EOF' || fail=1
import json, os, sys
import pydicom
T = sys.argv[1]
M = T + "/merged"
whole = json.load(open(T + "/whole/report.json"))
merged = json.load(open(M + "/report.json"))
pred = json.load(open(M + "/predictions.json"))
names = ["part-00", "part-01", "part-02"]
parts = [json.load(open(T + "/predict/%s/predictions.json" % p))["cases"] for p in names]
errs = []

def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) <= 1e-9
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b

# the merged gate adds one block per part; their counts sum to the whole cohort's
by_part = merged["cohort"]["quality_gate"].pop("by_part", {})
if sorted(by_part) != ["part-00", "part-01", "part-02"] or any(
        sum(g[k] for g in by_part.values()) != whole["cohort"]["quality_gate"][k] for k in ("tp", "fp", "fn", "tn")):
    errs.append("quality gate by part: %s" % by_part)
if not same(whole["cohort"], merged["cohort"]):
    errs.append("cohort block: whole %s merged %s" % (whole["cohort"], merged["cohort"]))
by_inputs = {tuple(c["inputs"]): c for c in whole["cases"]}
if len(merged["cases"]) != sum(len(p) for p in parts) or len(merged["cases"]) != len(whole["cases"]):
    errs.append("number of cases")
for c in merged["cases"]:
    w = by_inputs.get(tuple(c["inputs"]))
    if w is None:
        errs.append("%s/%s: not a case of the whole run" % (c.get("part"), c["id"])); continue
    for path in (("consistency", "agreement"), ("ground_truth", "dice"),
                 ("ground_truth", "prediction_vs_ground_truth"), ("ground_truth", "consistency", "agreement")):
        a, b = w, c
        for k in path:
            a = a.get(k) if isinstance(a, dict) else None
            b = b.get(k) if isinstance(b, dict) else None
        if not same(a, b):
            errs.append("%s/%s: %s differs" % (c["part"], c["id"], ".".join(path)))
# the merged status table: every case with its part, counts summed, every path there
if [c["part"] for c in pred["cases"]] != sum(([n] * len(p) for n, p in zip(names, parts)), []):
    errs.append("parts of the cases")
n_ok = sum(c["status"] == "ok" for p in parts for c in p)
if (pred["counts"]["cases"], pred["counts"]["cases_written"], pred["counts"]["parts"]) != (7, n_ok, 3):
    errs.append("counts %s" % pred["counts"])
if [p["cases"] for p in pred["parts"]] != [len(p) for p in parts]:
    errs.append("per-part counts")
files = [M + "/" + p[k] for p in pred["parts"] for k in ("predictions", "inputs_cache")]
for c in pred["cases"]:
    files += [M + "/" + c["outputs"][k] for k in ("mask", "overlay")] + c["inputs"]
    if c["ground_truth"]:
        files.append(c["ground_truth"]["mask_file"])
errs += ["missing " + f for f in files if not os.path.isfile(f)]
rows = open(M + "/status.tsv").read().splitlines()
if len(rows) != 8 or sum(r.split("\t")[2] == "done" for r in rows[1:]) != n_ok:
    errs.append("status.tsv rows")
# one SR per SEG case, distinct names, each referencing its own part's SEG
seg_cases = [c for c in merged["cases"] if c["outputs"]["mask_type"] == "dicom-seg"]
srs = [c["outputs"].get("sr") for c in seg_cases]
if (len(seg_cases) != 4 or None in srs or len(set(srs)) != len(srs)
        or sorted(os.listdir(M + "/sr")) != sorted(os.path.basename(s) for s in srs)):
    errs.append("SR names %s" % srs)
for c in seg_cases:
    sr = pydicom.dcmread(M + "/" + c["outputs"]["sr"])
    seg = pydicom.dcmread(M + "/" + c["outputs"]["mask"])
    ref = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    if sr.Modality != "SR" or ref.ReferencedSOPInstanceUID != seg.SOPInstanceUID:
        errs.append("%s: SR does not reference its SEG" % c["outputs"]["sr"])
    if not sr.SOPInstanceUID.startswith("1.2.826.0.1.3680043.10.999."):
        errs.append("%s: uid_root not carried through the merge" % c["outputs"]["sr"])
if errs: print("  merged report disagrees:", errs); sys.exit(1)
EOF
check '[ "$(grep -o "data-case=\"part-0[012]/[^\"]*\"" "$T/merged/report.html" | sort -u | wc -l)" -eq 7 ]'
check '[ "$(grep -o "data:image/png;base64" "$T/merged/report.html" | wc -l)" -eq 7 ]'
for f in "$T"/merged/sr/*.sr.dcm; do
    dciodvfy "$f" 2> "$T/v.log"
    check '[ $? -eq 0 ] && ! grep -q "^Error" "$T/v.log"'
done
# the merged folder reported again as one folder gives the same cohort
"$B" report "$T/merged" -q > "$T/again.json"
check '[ $? -eq 0 ] && python3 -c "import json,sys; a,b=(json.load(open(f))[\"cohort\"] for f in sys.argv[1:]);
sys.exit(a != b)" "$T/summary.json" "$T/again.json"'

# bad input: exit 2 or 3, one error line naming the folder, nothing written
refused() { # EXPECTED-WORD ARGS...
    word=$1; shift
    "$B" report "$@" -q >/dev/null 2> "$T/err.log"
    rc=$?
    check '[ $rc -eq 2 ] || [ $rc -eq 3 ]'
    check '[ "$(wc -l < "$T/err.log")" -eq 1 ] && grep -q -- "$word" "$T/err.log"'
}
refused "$T/predict/part-09" --merge "$T/bad" "$T/predict/part-00" "$T/predict/part-09"
check '[ ! -e "$T/bad" ]'
refused "$T/predict/part-00" --merge "$T/bad" "$T/predict/part-00" "$T/predict/../predict/part-00"
refused "$T/predict/part-01" --merge "$T/predict/part-01" "$T/predict/part-00"
cp -r "$T/predict/part-01" "$T/predict/other"
python3 -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d['preset']='small'; json.dump(d, open(p, 'w'))" \
    "$T/predict/other/predictions.json"
refused "$T/predict/other" --merge "$T/bad" "$T/predict/part-00" "$T/predict/other"
check '[ ! -e "$T/bad" ] && [ ! -e "$T/predict/part-01/report.json" ]'
if [ $fail -eq 0 ]; then echo "1 passed, 0 failed"; rm -rf "$T"; else echo "0 passed, 1 failed"; fi
exit $fail
