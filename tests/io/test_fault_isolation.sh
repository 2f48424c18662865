#!/bin/sh
# Every isolated reader (base/sandbox.h workers: dicom-meta, dicom-frames, sr, seg-source;
# seg-write, the SEG writer that re-reads its source; and the whole-file readers nifti, image
# (PNG / JPEG) and seg-read (a SEG as ground truth), on real NIfTI, PNG, JPEG and SEG files)
# crashed, hung and blown up on purpose through the test-only fault hook C2SEG_FAULT (honoured
# only inside a worker), during `c2seg ingest` and during `c2seg predict`, on real files: the
# CT series dcmqi_ct-3slice (3 slices) and pydicom_CT2_16x16 (4 slices) and an SR for the
# first study written here by pydicom. Each fault gives exactly one report line naming its
# file and what happened; every other file is done (sample counts, predictions.json).
set -u
PY=/usr/bin/python3
B="$C2SEG_BIN"; S="$C2SEG_SHARED"
T="$C2SEG_BUILD/test-tmp/test_fault_isolation"
rm -rf "$T"; mkdir -p "$T/sr"
fail=0
check() { if [ "$2" -eq 0 ]; then :; else echo "  FAILED: $1"; fail=1; fi; }
A="$S/data/dicom/ct_series/dcmqi_ct-3slice"
C="$S/data/dicom/ct_series/pydicom_CT2_16x16"
# The time limit of one read, so a hang costs seconds, not the default minute. Under the
# sanitizers (ASAN_OPTIONS, set by scripts/test-sanitize) on a loaded 2-core machine an
# ordinary read once took over a second, so they get more room.
if [ -n "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ]; then export C2SEG_SANDBOX_SECONDS=8; else export C2SEG_SANDBOX_SECONDS=2; fi

$PY - "$S/data/dicom/sr/reportsi.dcm" "$A/01.dcm" "$T/sr/report.dcm" <<'PYEOF'
import sys, pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid
sr, img = pydicom.dcmread(sys.argv[1]), pydicom.dcmread(sys.argv[2], stop_before_pixels=True)
d, c = Dataset(), Dataset()
d.RelationshipType, d.ValueType, d.TextValue = 'CONTAINS', 'TEXT', 'Opacity in the left lower lobe.'
c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = '121071', 'DCM', 'Finding'
d.ConceptNameCodeSequence = Sequence([c])
sr.ContentSequence = Sequence([d])
sr.StudyInstanceUID, sr.SOPInstanceUID = img.StudyInstanceUID, generate_uid()
sr.file_meta.MediaStorageSOPInstanceUID = sr.SOPInstanceUID
sr.save_as(sys.argv[3])
PYEOF
check "SR written by pydicom" $?

# report_is FILE.report.tsv "substring|reason" ...: exactly these rows (one per fault)
report_is() {
    tsv=$1; shift
    $PY - "$tsv" "$@" <<'PYEOF'
import sys
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1]).readlines()[1:]]
want = [a.split('|') for a in sys.argv[2:]]
assert len(rows) == len(want), rows
for sub, why in want:
    hit = [r for r in rows if sub in r[0]]
    assert len(hit) == 1 and why in hit[0][1], (sub, why, rows)
PYEOF
}
# once ERRFILE TEXT: the text is on exactly one stderr line
once() { [ "$(grep -c "$2" "$1")" -eq 1 ]; }

# --- ingest, run 1: metadata crash, frame decoder hang, SR crash ---
C2SEG_FAULT="crash@dicom-meta:3slice/02.dcm;hang@dicom-frames:16x16/17136;crash@sr:report.dcm" \
    "$B" ingest "$A" "$C" "$T/sr" -o "$T/i1.h5" --preset small -q >"$T/i1.json" 2>"$T/i1.err"
check "ingest 1: exit 1 (partial)" "$([ $? -eq 1 ]; echo $?)"
report_is "$T/i1.h5.report.tsv" "3slice/02.dcm|the DICOM parser crashed (signal 11" \
    "16x16/17136|the DICOM decoder did not finish within $C2SEG_SANDBOX_SECONDS s" "report.dcm|the SR parser crashed (signal 11"
check "ingest 1: one report row per fault" $?
grep -q '"samples":5,' "$T/i1.json"; check "ingest 1: the 5 other slices ingested" $?
once "$T/i1.err" "3slice/02.dcm: the DICOM parser crashed" && once "$T/i1.err" "17136: the DICOM decoder did not" &&
    once "$T/i1.err" "report.dcm: the SR parser crashed"
check "ingest 1: one stderr line per fault" $?

# --- ingest, run 2: metadata hang and memory blow-up, decoder crash, SR hang ---
C2SEG_FAULT="hang@dicom-meta:16x16/17166;oom@dicom-meta:16x16/17196;crash@dicom-frames:3slice/03.dcm;hang@sr:report.dcm" \
    "$B" ingest "$A" "$C" "$T/sr" -o "$T/i2.h5" --preset small -q >"$T/i2.json" 2>"$T/i2.err"
check "ingest 2: exit 1 (partial)" "$([ $? -eq 1 ]; echo $?)"
report_is "$T/i2.h5.report.tsv" "16x16/17166|the DICOM parser did not finish within $C2SEG_SANDBOX_SECONDS s" \
    "16x16/17196|the DICOM parser crashed" "3slice/03.dcm|the DICOM decoder crashed (signal 11" \
    "report.dcm|the SR parser did not finish within $C2SEG_SANDBOX_SECONDS s"
check "ingest 2: one report row per fault" $?
grep -q '"samples":4,' "$T/i2.json"; check "ingest 2: the 4 other slices ingested" $?

# --- the same inputs without faults: nothing reported (the hook is off without C2SEG_FAULT) ---
"$B" ingest "$A" "$C" "$T/sr" -o "$T/i0.h5" --preset small -q >"$T/i0.json" 2>/dev/null
check "no fault: exit 0, 7 samples" "$(grep -q '"samples":7,' "$T/i0.json"; echo $?)"

# --- predict: a CT-domain tiny checkpoint (one step on the real NIfTI volume and its label) ---
"$B" ingest "$S/data/nifti/anatomical.nii" --size 32 -o "$T/ct.h5" -q >/dev/null 2>&1 &&
    "$B" train "$T/ct.h5" --preset tiny -o "$T/tiny.ckpt" --epochs 1 --max-steps 1 -q >/dev/null 2>&1
check "tiny CT checkpoint trained" $?
# run 1: metadata crash, decoder hang, SR crash, SEG source crash (the second series' case)
C2SEG_FAULT="crash@dicom-meta:3slice/02.dcm;hang@dicom-frames:3slice/03.dcm;crash@sr:report.dcm;crash@seg-source:16x16/17106" \
    "$B" predict "$T/tiny.ckpt" "$A" "$C" "$T/sr" -o "$T/p1" -q >/dev/null 2>"$T/p1.err"
check "predict 1: exit 1 (partial)" "$([ $? -eq 1 ]; echo $?)"
report_is "$T/p1/inputs.h5.report.tsv" "3slice/02.dcm|the DICOM parser crashed (signal 11" \
    "3slice/03.dcm|the DICOM decoder did not finish within $C2SEG_SANDBOX_SECONDS s" "report.dcm|the SR parser crashed (signal 11"
check "predict 1: one report row per read fault" $?
once "$T/p1.err" "17106: the DICOM parser crashed" && once "$T/p1.err" "3slice/02.dcm: the DICOM parser crashed"
check "predict 1: one line for the SEG source crash, one for the metadata crash" $?
$PY - "$T/p1/predictions.json" <<'PYEOF'
import json, sys
cases = json.load(open(sys.argv[1]))['cases']
st = sorted((c['slices'], c['status']) for c in cases)
assert st == [(1, 'ok'), (4, 'failed')], st
bad = [c for c in cases if c['status'] == 'failed'][0]
assert 'crashed' in bad['error'], bad
PYEOF
check "predict 1: the 1-slice case written, the SEG-source case failed with its reason" $?
# run 2: metadata hang, decoder crash, SR hang, SEG source hang
C2SEG_FAULT="hang@dicom-meta:16x16/17196;crash@dicom-frames:16x16/17136;hang@sr:report.dcm;hang@seg-source:3slice/01.dcm" \
    "$B" predict "$T/tiny.ckpt" "$A" "$C" "$T/sr" -o "$T/p2" -q >/dev/null 2>"$T/p2.err"
check "predict 2: exit 1 (partial)" "$([ $? -eq 1 ]; echo $?)"
report_is "$T/p2/inputs.h5.report.tsv" "16x16/17196|the DICOM parser did not finish within $C2SEG_SANDBOX_SECONDS s" \
    "16x16/17136|the DICOM decoder crashed (signal 11" "report.dcm|the SR parser did not finish within $C2SEG_SANDBOX_SECONDS s"
check "predict 2: one report row per read fault" $?
$PY - "$T/p2/predictions.json" <<'PYEOF'
import json, sys
cases = json.load(open(sys.argv[1]))['cases']
st = sorted((c['slices'], c['status']) for c in cases)
assert st == [(2, 'ok'), (3, 'failed')], st
bad = [c for c in cases if c['status'] == 'failed'][0]
import os
assert 'did not finish within %s s' % os.environ['C2SEG_SANDBOX_SECONDS'] in bad['error'], bad
ok = [c for c in cases if c['status'] == 'ok'][0]
assert any('17136' in m['file'] for m in ok.get('missing_slices', [])), ok.get('missing_slices')
PYEOF
check "predict 2: the 16x16 case written (its crashed slice listed missing), the SEG-source case failed" $?
# run 3: the SEG writer (it re-reads the source in a worker) crashes for the first series
C2SEG_FAULT="crash@seg-write:3slice" "$B" predict "$T/tiny.ckpt" "$A" "$C" "$T/sr" -o "$T/p3" -q >/dev/null 2>"$T/p3.err"
check "predict 3: exit 1 (partial)" "$([ $? -eq 1 ]; echo $?)"
once "$T/p3.err" "the DICOM SEG writer crashed (signal 11"; check "predict 3: one line for the SEG writer crash" $?
n_seg=$(ls "$T/p3" | grep -c '\.seg\.dcm'); n_tmp=$(ls "$T/p3" | grep -c '\.tmp\.')
check "predict 3: one SEG written (the other case), no temporary left" "$([ "$n_seg" -eq 1 ] && [ "$n_tmp" -eq 0 ]; echo $?)"

# --- export reads its reference in a worker too: a crash there is one error, nothing written ---
$PY -c "import numpy as np, nibabel as nib; nib.save(nib.Nifti1Image(np.zeros((512, 512, 3), np.uint8), np.eye(4)), '$T/m.nii.gz')"
C2SEG_FAULT="crash@seg-source:dcmqi_ct-3slice" "$B" export "$T/m.nii.gz" --reference "$A" -o "$T/e.seg.dcm" \
    >/dev/null 2>"$T/e.err"
check "export, reference reader crashed: exit 3, one line, no output" \
    "$([ $? -eq 3 ] && once "$T/e.err" "the DICOM parser crashed" && [ ! -e "$T/e.seg.dcm" ]; echo $?)"
# ===== the whole-file readers (io/isolated_files.c): nifti, image (PNG / JPEG), seg-read =====
# Inputs linked from real files. CT set: NIfTI volumes (nibabel: anatomical 33x41x25 with its
# label, resampled_anat_moved 17x21x3, standard 4x5x7, reoriented_anat_moved 21x26x22: 25 + 3
# + 7 + 22 slices) and the two CT series above (7 slices) with their real SEGs (dcmqi's liver
# SEG on dcmqi_ct-3slice, highdicom's binary SEG on the 16x16 series; --label 1 picks their one
# segment). Image set (a QaTa layout): three QaTa PNG pairs and two Inf-Net JPEG images with
# their PNG masks. 69 samples, 2 series with SEG truth. Each fault costs exactly its file (an
# image pair: both files; a SEG: only its series' truth).
W="$T/whole"
mkdir -p "$W/nifti" "$W/xr/images" "$W/xr/masks" "$W/seg"
for f in anatomical.nii anatomical_label.nii.gz resampled_anat_moved.nii standard.nii.gz reoriented_anat_moved.nii; do
    ln -s "$S/data/nifti/$f" "$W/nifti/$f"
done
Q1=sub-s11228_ses-e19964_run-1_bp-chest_vp-ap_dx Q2=sub-s11234_ses-e19977_run-1_bp-chest_vp-ap_cr
Q3=sub-s11237_ses-e24263_run-1_bp-chest_vp-ap_dx
for q in $Q1 $Q2 $Q3; do
    ln -s "$S/data/qata/valid/images/$q.png" "$W/xr/images/$q.png"
    ln -s "$S/data/qata/valid/masks/mask_$q.png" "$W/xr/masks/mask_$q.png"
done
for k in 0 1; do
    ln -s "$S/data/covid_ct_slices/Imgs/$k.jpg" "$W/xr/images/covid$k.jpg"
    ln -s "$S/data/covid_ct_slices/GT/$k.png" "$W/xr/masks/mask_covid$k.png"
done
ln -s "$S/data/dicom/seg/dcmqi_liver.dcm" "$W/seg/dcmqi_liver.dcm"
ln -s "$S/data/dicom/seg/seg_image_ct_binary.dcm" "$W/seg/seg_image_ct_binary.dcm"
CT_SET="$W/nifti $A $C $W/seg"
# json_is FILE.json KEY VALUE: the stage's JSON summary holds "KEY":VALUE
json_is() { grep -q "\"$2\":$3[,}]" "$1"; }

# shellcheck disable=SC2086
"$B" ingest $CT_SET "$W/xr" --label 1 -o "$T/w0.h5" --size 32 -q >"$T/w0.json" 2>"$T/w0.err"
check "whole-file readers, no fault: exit 0, 69 samples, 2 series with SEG truth" \
    "$([ $? -eq 0 ] && json_is "$T/w0.json" samples 69 && json_is "$T/w0.json" series_with_seg_truth 2; echo $?)"
# an X-ray checkpoint for the image set (predict refuses another domain's input)
"$B" ingest "$W/xr" --size 32 -o "$T/xr.h5" -q >/dev/null 2>&1 &&
    "$B" train "$T/xr.h5" --preset tiny -o "$T/tinyx.ckpt" --epochs 1 --max-steps 1 -q >/dev/null 2>&1
check "tiny X-ray checkpoint trained" $?

# whole RUN STAGE CKPT INPUTS FAULTS SAMPLES SEG_SERIES ROW...: `c2seg STAGE` (ingest | predict
# with CKPT) of INPUTS with the faults: exit 1 (partial), exactly the report rows ROW ("file
# substring|reason"), one stderr line each (the file, then the reason), SAMPLES samples ingested of which SEG_SERIES series
# with SEG truth (ingest), or SAMPLES slices predicted in cases that are all ok (predict).
whole() {
    run=$1 stage=$2 ckpt=$3 inputs=$4 faults=$5 samples=$6 segs=$7; shift 7
    # shellcheck disable=SC2086
    if [ "$stage" = ingest ]; then
        C2SEG_FAULT="$faults" "$B" ingest $inputs --label 1 -o "$T/$run.h5" --size 32 -q >"$T/$run.json" 2>"$T/$run.err"
        rc=$? tsv="$T/$run.h5.report.tsv"
    else
        C2SEG_FAULT="$faults" "$B" predict "$ckpt" $inputs --label 1 -o "$T/$run" -q >"$T/$run.json" 2>"$T/$run.err"
        rc=$? tsv="$T/$run/inputs.h5.report.tsv"
    fi
    check "$run: exit 1 (partial)" "$([ $rc -eq 1 ]; echo $?)"
    report_is "$tsv" "$@"; check "$run: one report row per fault" $?
    for row in "$@"; do
        once "$T/$run.err" "${row%%|*}.*${row#*|}"; check "$run: one stderr line for '$row'" $?
    done
    if [ "$stage" = ingest ]; then
        json_is "$T/$run.json" samples "$samples" && json_is "$T/$run.json" series_with_seg_truth "$segs"
        check "$run: the $samples other samples ingested, $segs series with SEG truth" $?
    else
        $PY - "$T/$run/predictions.json" "$samples" <<'PYEOF'
import json, sys
cases = json.load(open(sys.argv[1]))['cases']
assert all(c['status'] == 'ok' for c in cases), [(c['status'], c.get('error')) for c in cases]
assert sum(c['slices'] for c in cases) == int(sys.argv[2]), [c['slices'] for c in cases]
PYEOF
        check "$run: every other case predicted ($samples slices)" $?
    fi
}
L=$C2SEG_SANDBOX_SECONDS ALL="$CT_SET $W/xr"
# ingest: each reader crashed, hung and blown up once over three runs (the image pair's mask too)
whole w1 ingest - "$ALL" "crash@seg-read:dcmqi_liver;hang@nifti:resampled;oom@image:covid1.jpg" 65 1 \
    "dcmqi_liver.dcm|the DICOM SEG parser crashed (signal 11" \
    "resampled_anat_moved.nii|the NIfTI reader did not finish within $L s" \
    "covid1.jpg|mask_covid1.png): the image decoder crashed (signal 6"
whole w2 ingest - "$ALL" "hang@seg-read:seg_image_ct_binary;oom@nifti:anatomical_label;crash@image:mask_$Q1" 43 1 \
    "seg_image_ct_binary.dcm|the DICOM SEG parser did not finish within $L s" \
    "nifti/anatomical.nii|anatomical_label.nii.gz: the NIfTI reader crashed (signal 6" \
    "images/$Q1.png|mask_$Q1.png): the image decoder crashed (signal 11"
whole w3 ingest - "$ALL" "oom@seg-read:dcmqi_liver;crash@nifti:standard;hang@image:images/$Q2" 61 1 \
    "dcmqi_liver.dcm|the DICOM SEG parser crashed (signal 6" \
    "standard.nii.gz|the NIfTI reader crashed (signal 11" \
    "images/$Q2.png|mask_$Q2.png): the image decoder did not finish within $L s"
# predict (its ingest reads every input through the same readers), the CT set and the image set
whole w4 predict "$T/tiny.ckpt" "$CT_SET" \
    "crash@seg-read:seg_image_ct_binary;crash@nifti:anatomical.nii;hang@nifti:resampled;oom@nifti:standard" 29 0 \
    "seg_image_ct_binary.dcm|the DICOM SEG parser crashed (signal 11" \
    "nifti/anatomical.nii|the NIfTI reader crashed (signal 11" \
    "resampled_anat_moved.nii|the NIfTI reader did not finish within $L s" \
    "standard.nii.gz|the NIfTI reader crashed (signal 6"
whole w5 predict "$T/tiny.ckpt" "$CT_SET" "hang@seg-read:dcmqi_liver;oom@seg-read:seg_image_ct_binary" 64 0 \
    "dcmqi_liver.dcm|the DICOM SEG parser did not finish within $L s" \
    "seg_image_ct_binary.dcm|the DICOM SEG parser crashed (signal 6"
whole w6 predict "$T/tinyx.ckpt" "$W/xr" "crash@image:covid0.jpg;hang@image:mask_$Q3;oom@image:images/$Q1" 2 0 \
    "covid0.jpg|mask_covid0.png): the image decoder crashed (signal 11" \
    "images/$Q3.png|mask_$Q3.png): the image decoder did not finish within $L s" \
    "images/$Q1.png|mask_$Q1.png): the image decoder crashed (signal 6"

# the DICOMDIR reader (its records, DCMTK) crashed, hung and blown up: the DICOMDIR is one report
# row, the series beside it is still walked and ingested (a dcmmkdir DICOMDIR of the 16x16 CT)
mkdir -p "$W/dd/CT" && cp "$C"/* "$W/dd/CT/" && chmod -R u+w "$W/dd" &&
    (cd "$W/dd" && dcmmkdir --recurse CT >/dev/null 2>&1) && [ -s "$W/dd/DICOMDIR" ]
check "a DICOMDIR written by dcmmkdir" $?
whole wd1 ingest - "$W/dd" "crash@dicomdir:DICOMDIR" 4 0 "dd/DICOMDIR|the DICOMDIR reader crashed (signal 11"
whole wd2 ingest - "$W/dd" "hang@dicomdir:DICOMDIR" 4 0 "dd/DICOMDIR|the DICOMDIR reader did not finish within $L s"
whole wd3 predict "$T/tiny.ckpt" "$W/dd" "oom@dicomdir:DICOMDIR" 4 0 "dd/DICOMDIR|the DICOMDIR reader crashed (signal 6"

[ "$fail" -eq 0 ] && echo "test_fault_isolation: passed"
exit "$fail"
