#!/bin/sh
# Every isolated reader (base/sandbox.h workers: dicom-meta, dicom-frames, sr, seg-source; and
# seg-write, the SEG writer that re-reads its source)
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
[ "$fail" -eq 0 ] && echo "test_fault_isolation: passed"
exit "$fail"
