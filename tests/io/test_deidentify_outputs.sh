#!/bin/sh
# De-identified outputs end to end (docs/reliability.md, io/deidentify.h), on a real CT
# series (dcmqi_ct-3slice: PatientName JANCT000, PatientID 99000, dates, UIDs):
#  - `c2seg deidentify SRC -o D` copies the series de-identified under one key;
#  - `c2seg export MASK --reference SRC --deidentify` with the same key writes a SEG that
#    dciodvfy accepts (no Error line: Type 1 Content Date / Time and Device Serial Number
#    get dummies, never an empty value);
#  - the SEG's references resolve to D (judged by pydicom): every referenced SOP Instance
#    UID is one of D's, with the same study, series, frame of reference and pseudonymous
#    patient, and each frame's Image Position equals that of the instance it references;
#  - `c2seg predict --deidentify` then `report --deidentify` on the same series with the
#    same key: SEG and SR pass dciodvfy, the SEG references the copies in D, predictions.json
#    has no source path and the remapped UIDs, inputs.h5 is gone; report --deidentify
#    refuses a folder predict did not de-identify (which does hold the patient's name);
#  - every byte of every output (D, the SEGs, the SRs, NIfTI / PNG / JSON / HTML, the JSON
#    printed by the stages) is grepped for the source's identifying values (names, IDs,
#    dates, every instance UID): none is found.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_deidentify_outputs
SRC="$C2SEG_SHARED/data/dicom/ct_series/dcmqi_ct-3slice"
tl_need dciodvfy
export C2SEG_DEIDENTIFY_KEY="test-deidentify-outputs-key"

# the source's identifying values, and a mask on its grid (NIfTI, the series' affine)
$PY - "$SRC" "$T" <<'PY' || { echo "FAIL: could not read the source with pydicom" >&2; exit 1; }
import os, sys
import numpy as np, pydicom, nibabel as nib
src, out = sys.argv[1], sys.argv[2]
ds = [pydicom.dcmread(os.path.join(src, f)) for f in sorted(os.listdir(src))]
values = set()
for d in ds:
    for kw in ("PatientName", "PatientID", "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate",
               "InstanceCreationDate", "StudyTime", "SeriesTime", "AccessionNumber", "InstitutionName",
               "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID",
               "DeviceSerialNumber", "StationName", "ReferringPhysicianName"):
        v = str(d.get(kw, "") or "").strip()
        if len(v) >= 4:           # short values (sex "M", StudyID "1") would match anywhere
            values.add(v)
assert any(v.startswith("JANCT") for v in values) and "99000" in values, values
open(os.path.join(out, "identifying.txt"), "w").write("\n".join(sorted(values)) + "\n")
r = np.array(ds[0].ImageOrientationPatient[:3], float)   # direction of increasing column
c = np.array(ds[0].ImageOrientationPatient[3:], float)   # direction of increasing row
n = np.cross(r, c)
ds.sort(key=lambda d: float(np.dot(n, np.array(d.ImagePositionPatient, float))))
p0 = np.array(ds[0].ImagePositionPatient, float)
dz = float(np.dot(n, np.array(ds[1].ImagePositionPatient, float) - p0))
sr, sc = (float(x) for x in ds[0].PixelSpacing)
A = np.eye(4)
A[:3, 0], A[:3, 1], A[:3, 2], A[:3, 3] = r * sc, c * sr, n * dz, p0
A = np.diag([-1.0, -1.0, 1.0, 1.0]) @ A                 # LPS -> RAS
rows, cols = int(ds[0].Rows), int(ds[0].Columns)
m = np.zeros((cols, rows, len(ds)), np.uint8)
m[cols // 8: cols // 3, rows // 6: rows // 2, 0] = 1
m[cols // 2: cols // 2 + 20, rows // 2: rows // 2 + 10, 2] = 1
nib.save(nib.Nifti1Image(m, A), os.path.join(out, "mask.nii.gz"))
PY

"$BIN" deidentify "$SRC" -o "$T/D" >"$T/deid.json" 2>"$T/deid.err"
rc=$?
n=$(ls "$T/D" 2>/dev/null | grep -c '^[0-9]*\.dcm$')
[ "$rc" = 0 ] && [ "$n" = "$(ls "$SRC" | wc -l)" ] && ok || bad "deidentify: exit $rc, $n files, $(cat "$T/deid.err")"
"$BIN" export "$T/mask.nii.gz" --reference "$SRC" -o "$T/seg.dcm" --deidentify >"$T/export.json" 2>"$T/export.err"
rc=$?
[ "$rc" = 0 ] && [ -s "$T/seg.dcm" ] && ok || bad "export --deidentify: exit $rc, $(cat "$T/export.err")"
dciodvfy "$T/seg.dcm" >"$T/vfy.log" 2>&1
if grep -q '^Error' "$T/vfy.log"; then bad "dciodvfy: $(grep '^Error' "$T/vfy.log" | head -5)"; else ok; fi
for f in "$T"/D/*.dcm; do
    dciodvfy "$f" 2>&1 | grep '^Error' | grep -v -e 'Private' >>"$T/vfy_src.log"
done
# the source itself has dciodvfy errors of its own; the copies must not add empty Type 1 ones
if grep -q -e 'Zero length' -e 'Missing attribute.*Type 1 Required' "$T/vfy_src.log"; then
    bad "de-identified sources: $(grep -e 'Zero length' -e 'Type 1 Required' "$T/vfy_src.log" | sort -u | head -3)"
else ok; fi

# references resolve to the de-identified copies, frame by frame
$PY - "$T/seg.dcm" "$T/D" <<'PY' && ok || bad "the SEG's references do not resolve to the de-identified sources (above)"
import os, sys
import numpy as np, pydicom
seg = pydicom.dcmread(sys.argv[1])
D = {}
for f in os.listdir(sys.argv[2]):
    d = pydicom.dcmread(os.path.join(sys.argv[2], f))
    D[d.SOPInstanceUID] = d
one = next(iter(D.values()))
assert seg.StudyInstanceUID == one.StudyInstanceUID, "study"
assert seg.FrameOfReferenceUID == one.FrameOfReferenceUID, "frame of reference"
assert seg.PatientID == one.PatientID and seg.PatientID.startswith("ANON-"), (seg.PatientID, one.PatientID)
refs = [i.ReferencedSOPInstanceUID for s in seg.ReferencedSeriesSequence for i in s.ReferencedInstanceSequence]
assert refs and all(r in D for r in refs), ("unresolved", [r for r in refs if r not in D])
assert all(s.SeriesInstanceUID == one.SeriesInstanceUID for s in seg.ReferencedSeriesSequence), "series"
for k, fr in enumerate(seg.PerFrameFunctionalGroupsSequence):
    ref = fr.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
    assert ref in D, ("frame", k, ref)
    pos = [float(x) for x in fr.PlanePositionSequence[0].ImagePositionPatient]
    want = [float(x) for x in D[ref].ImagePositionPatient]
    assert np.allclose(pos, want, atol=1e-3), ("frame", k, pos, want)
print("SEG: %d referenced instances, %d frames, all in the de-identified copies" % (len(refs), len(seg.PerFrameFunctionalGroupsSequence)))
PY

# predict --deidentify and report --deidentify on the same source with the same key: a
# tiny model trained for one step on generated data (its weights do not matter here)
"$C2SEG_BUILD/c2seg-sample-data" -o "$T/sd" --studies 2 --slices 8 --size 64 >/dev/null 2>"$T/gen.log" &&
    mkdir -p "$T/train" && for c in case01 case02; do
        ln -s "$T/sd/nifti/$c.nii.gz" "$T/sd/nifti/${c}_mask.nii.gz" "$T/train/"
    done &&
    "$BIN" ingest "$T/train" --size 32 -o "$T/cohort.h5" -q >/dev/null 2>"$T/ingest.err" &&
    "$BIN" train "$T/cohort.h5" -o "$T/model.ckpt" --preset tiny --epochs 1 --max-steps 1 --threads 1 -q \
        >/dev/null 2>"$T/train.err" || { cat "$T/gen.log" "$T/ingest.err" "$T/train.err" >&2; bad "no model"; }
"$BIN" predict "$T/model.ckpt" "$SRC" -o "$T/P" --deidentify --overlays --text 'right upper lobe opacity' \
    >"$T/predict.json" 2>"$T/predict.err"
rc=$?
pseg="$T/P/case-0001.seg.dcm"
[ "$rc" = 0 ] && [ -s "$pseg" ] && [ ! -e "$T/P/inputs.h5" ] && ok ||
    bad "predict --deidentify: exit $rc, $(tail -3 "$T/predict.err")"
"$BIN" report "$T/P" --deidentify >"$T/report.json" 2>"$T/report.err"
rc=$?
[ "$rc" = 0 ] && [ -s "$T/P/report.json" ] && [ -s "$T/P/report.html" ] && ls "$T/P"/sr/*.sr.dcm >/dev/null 2>&1 && ok ||
    bad "report --deidentify: exit $rc, $(tail -3 "$T/report.err")"
for f in "$pseg" "$T"/P/sr/*.sr.dcm; do
    dciodvfy "$f" >"$T/vfy2.log" 2>&1
    if grep -q '^Error' "$T/vfy2.log"; then bad "dciodvfy $f: $(grep '^Error' "$T/vfy2.log" | head -3)"; else ok; fi
done
$PY - "$pseg" "$T/D" "$T/P/predictions.json" <<'PY' && ok || bad "predict's SEG / JSON do not point at the de-identified sources (above)"
import json, os, sys
import pydicom
seg = pydicom.dcmread(sys.argv[1])
D = {pydicom.dcmread(os.path.join(sys.argv[2], f)).SOPInstanceUID: f for f in os.listdir(sys.argv[2])}
one = pydicom.dcmread(os.path.join(sys.argv[2], next(iter(D.values()))))
refs = [i.ReferencedSOPInstanceUID for s in seg.ReferencedSeriesSequence for i in s.ReferencedInstanceSequence]
assert refs and all(r in D for r in refs), "unresolved references"
frames = [fr.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
          for fr in seg.PerFrameFunctionalGroupsSequence]
assert all(f in D for f in frames), "unresolved frame references"
assert seg.StudyInstanceUID == one.StudyInstanceUID and seg.PatientID == one.PatientID
p = json.load(open(sys.argv[3]))
c = p["cases"][0]
assert p["deidentified"] is True and p["inputs_cache"] is None and c["inputs"] == [], c["inputs"]
assert c["study_uid"] == one.StudyInstanceUID and c["series_uid"] == one.SeriesInstanceUID, (c["study_uid"], c["series_uid"])
PY
# report --deidentify refuses a predict folder that was not de-identified
"$BIN" predict "$T/model.ckpt" "$SRC" -o "$T/Pplain" -q >/dev/null 2>&1
"$BIN" report "$T/Pplain" --deidentify >/dev/null 2>"$T/report_plain.err"
rc=$?
[ "$rc" = 3 ] && grep -q "not written by .c2seg predict --deidentify" "$T/report_plain.err" && ok ||
    bad "report --deidentify of an identified folder: exit $rc, $(cat "$T/report_plain.err")"
# ... and that folder does hold the identifying values (so the grep below can find them)
grep -r -l -a -F -e JANCT000 "$T/Pplain" >/dev/null && ok || bad "the identified predict folder has no PatientName: the grep judge is blind"

# no identifying value of the source in any output byte
leaks=0
while IFS= read -r v; do
    [ -n "$v" ] || continue
    # a value of digits only (a time, an age, a number) counts where no digit touches it: inside
    # a fresh random UID (2.25.<random>) its digits are no leak, and a run once failed on one
    case "$v" in
    *[!0-9]*) set -- -F -e "$v" ;;
    *) set -- -P -e "(?<![0-9])$v(?![0-9])" ;;
    esac
    hits=$(grep -r -l -a "$@" "$T/D" "$T/P" "$T/seg.dcm" "$T/deid.json" "$T/export.json" "$T/predict.json" \
        "$T/report.json" 2>/dev/null)
    if [ -n "$hits" ]; then
        leaks=$((leaks + 1))
        echo "  '$v' found in: $hits" >&2
    fi
done <"$T/identifying.txt"
nv=$(grep -c . "$T/identifying.txt")
[ "$leaks" = 0 ] && [ "$nv" -ge 6 ] && ok || bad "$leaks of $nv identifying values found in the outputs"

tl_end
