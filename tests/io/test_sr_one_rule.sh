#!/bin/sh
# One SR text rule (dicom-sr/sr_text.c: sr_report_text) for training and prediction: an SR
# written here by pydicom (from the real Basic Text SR reportsi.dcm) for the study of the real
# CT series dcmqi_ct-3slice holds an observer name, lower-case "findings" and "impression"
# items and an unrelated "Comment". The text expected is computed by pydicom from the items'
# concept names (findings + impression, in document order, joined by "\n"); it must be the
# cache's /text/raw (c2seg ingest, read by h5dump), predictions.json's text (c2seg predict,
# which before this rule matched "Finding" case-sensitively and took every item, observer
# name included) and sr-text's report_text.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_sr_one_rule
S="$C2SEG_SHARED"
mkdir -p "$T/sr"

CT="$S/data/dicom/ct_series/dcmqi_ct-3slice"
$PY - "$S/data/dicom/sr/reportsi.dcm" "$CT/01.dcm" "$T/sr/report.dcm" "$T/expected.txt" <<'PYEOF'
import sys, pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid
tmpl, ct, out, expected = sys.argv[1:5]
sr, img = pydicom.dcmread(tmpl), pydicom.dcmread(ct, stop_before_pixels=True)
def text(meaning, value):
    d = Dataset()
    d.RelationshipType, d.ValueType = 'CONTAINS', 'TEXT'
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = '99' + meaning[:6].upper(), '99TEST', meaning
    d.ConceptNameCodeSequence = Sequence([c])
    d.TextValue = value
    return d
items = [('Recording Observer Name', 'Dr Example'), ('findings', 'Ground-glass opacity in the right lower lobe.'),
         ('Comment', 'Prior study unavailable.'), ('impression', 'Right lower lobe pneumonia.')]
sr.ContentSequence = Sequence([text(m, v) for m, v in items])
sr.StudyInstanceUID = img.StudyInstanceUID
sr.SOPInstanceUID = generate_uid()
sr.file_meta.MediaStorageSOPInstanceUID = sr.SOPInstanceUID
sr.save_as(out)
# the expectation, from pydicom's view of the written file
back = pydicom.dcmread(out)
want = [it.TextValue for it in back.ContentSequence
        if any(w in it.ConceptNameCodeSequence[0].CodeMeaning.lower() for w in ('finding', 'impression'))]
open(expected, 'w').write('\n'.join(want))
PYEOF
check "SR written by pydicom" $?

"$BIN" ingest "$CT" "$T/sr" -o "$T/train.h5" --preset small -q >/dev/null 2>"$T/ingest.err"
check "ingest exits 0" $?
# a CT-domain (HU) tiny checkpoint: one training step on the real NIfTI volume with its label
tl_tiny_model "$S/data/nifti/anatomical.nii" "$T/ct.h5" "$T/tiny.ckpt" --epochs 1 --max-steps 1
"$BIN" predict "$T/tiny.ckpt" "$CT" "$T/sr" -o "$T/out" -q >/dev/null 2>"$T/predict.err"
check "predict exits 0" $?
"$BIN" sr-text "$T/sr/report.dcm" >"$T/srtext.json" 2>/dev/null
check "sr-text exits 0" $?

$PY - "$T/train.h5" "$T/out/predictions.json" "$T/srtext.json" "$T/expected.txt" <<'PYEOF'
import json, re, subprocess, sys
h5, pred, srtext, expected = sys.argv[1:5]
want = open(expected).read()
out = subprocess.run(['h5dump', '-y', '-w', '0', '-d', '/text/raw', h5], capture_output=True, text=True, check=True).stdout
out = re.sub(r'\n +', '\\\\n', out)  # h5dump breaks a string at its newlines and indents
raw = [bytes(m, 'latin-1').decode('unicode_escape').encode('latin-1').decode('utf-8')
       for m in re.findall(r'"((?:[^"\\]|\\.)*)"', out.split('DATA {', 1)[1])]
assert len(raw) == 3 and all(r == want for r in raw), (raw, want)
cases = json.load(open(pred))['cases']
assert len(cases) == 1 and cases[0]['text']['text'] == want, (cases[0]['text'], want)
assert cases[0]['text']['source'].startswith('SR '), cases[0]['text']
assert json.loads(open(srtext).read().splitlines()[0])['report_text'] == want
assert 'Dr Example' not in want and 'Prior study' not in want and want.count('\n') == 1
print('one text:', repr(want))
PYEOF
check "cache /text/raw == predictions.json text == sr-text report_text == pydicom's findings + impression" $?
tl_end
