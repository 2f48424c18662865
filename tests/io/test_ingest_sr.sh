#!/bin/sh
# `c2seg ingest` links DICOM SR report text to images (pipeline/ingest/ingest_sr.c), judged by
# pydicom (Debian's python3-pydicom) and the generator's ground truth (truth/caseNN.json:
# the study's SR UID, the report text and the zones drawn, which were never derived from
# our parser). Also: caption tables are not reported, an input given twice is ingested once.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_ingest_sr
S="$C2SEG_SHARED/data"

tl_sample_data "$T/sd"

# --- the sample cohort's DICOM folder: every slice gets its study's SR text, exit 0 ---
"$BIN" ingest "$T/sd/dicom" -o "$T/sd.h5" --preset small -q >"$T/sd.json" 2>"$T/sd.err"
check "sample dicom ingest exits 0 (SRs are not errors)" $?
cat "$T/sd.err"
$PY - "$T/sd.h5" "$T/sd" "$T/sd.json" <<'EOF' ; check "SR text slot of every sample vs pydicom + truth" $?
import glob, json, re, subprocess, sys
import pydicom
h5, sd, summary = sys.argv[1:4]
def strings(ds):
    out = subprocess.run(['h5dump', '-y', '-w', '0', '-d', ds, h5], capture_output=True, text=True, check=True).stdout
    return [bytes(m, 'latin-1').decode('unicode_escape').encode('latin-1').decode('utf-8')
            for m in re.findall(r'"((?:[^"\\]|\\.)*)"', out.split('DATA {', 1)[1])]
def ints(ds):
    out = subprocess.run(['h5dump', '-y', '-w', '0', '-d', ds, h5], capture_output=True, text=True, check=True).stdout
    return [int(v) for v in re.findall(r'-?\d+', out.split('DATA {', 1)[1].split('}')[0])]
study, raw, src, conv = strings('/samples/study_uid'), strings('/text/raw'), strings('/text/source'), strings('/text/convention')
captions, idx = strings('/text/captions'), ints('/text/caption_index')
truth = {}
for f in glob.glob(sd + '/truth/*.json'):
    t = json.load(open(f))
    sr = pydicom.dcmread(f'{sd}/dicom/{t["name"]}/SR/report.dcm')
    assert sr.SOPInstanceUID == t['sr_uid'] and sr.StudyInstanceUID == t['study_uid']
    truth[t['study_uid']] = (t, sr)
assert len(study) == 288 and json.load(open(summary))['captioned'] == 288, len(study)
side_words = {'left': 0, 'right': 3}
for i, uid in enumerate(study):
    t, sr = truth[uid]
    text = sr.ContentSequence[0].TextValue          # the SR's one TEXT item, as pydicom reads it
    assert raw[i] == text == t['report'], (raw[i], text)
    assert src[i] == f'SR {t["sr_uid"]} Diagnostic imaging report > Finding', src[i]
    assert conv[i] == 'patient'
    cap = captions[idx[i]]
    # zones named by the canonical caption ("upper middle left lung and lower right lung")
    got = [0] * 6
    for words, side in re.findall(r'((?:(?:upper|middle|lower) )+)(left|right) lung', cap):
        for w in words.split():
            got[side_words[side] + ['upper', 'middle', 'lower'].index(w)] = 1
    z = t['study_zones_image']      # image convention; axial display: image left = patient right
    want = z[3:] + z[:3]
    assert got == want, (t['name'], cap, want)
print('samples', len(study), 'unique captions', len(captions))
EOF

# --- --sr-caption raw feeds the report itself ---
"$BIN" ingest "$T/sd/dicom/case01" -o "$T/raw.h5" --preset small -q --sr-caption raw >/dev/null 2>&1
check "--sr-caption raw exits 0" $?
h5dump -d /text/captions "$T/raw.h5" | grep -q '"Findings: ' ; check "--sr-caption raw: caption is the report text" $?

# --- an SR that references two slices of case01 (evidence sequence, written by pydicom) wins
#     for those slices; the other slices keep case01's study-level SR ---
mkdir -p "$T/ref" && cp -r "$T/sd/dicom/case01" "$T/ref/"
$PY - "$T/sd/dicom" "$T/ref" >"$T/ref.txt" <<'EOF' ; check "referencing SR written" $?
import sys, pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid
src, out = sys.argv[1:3]
cts = [pydicom.dcmread(f'{src}/case01/CT/{n}') for n in sorted(__import__('os').listdir(f'{src}/case01/CT'))[:2]]
sr = pydicom.dcmread(f'{src}/case02/SR/report.dcm')          # another study's report text
sr.SOPInstanceUID = sr.file_meta.MediaStorageSOPInstanceUID = generate_uid()
items = []
for ct in cts:
    s = Dataset(); s.ReferencedSOPClassUID = ct.SOPClassUID; s.ReferencedSOPInstanceUID = ct.SOPInstanceUID; items.append(s)
ser = Dataset(); ser.SeriesInstanceUID = cts[0].SeriesInstanceUID; ser.ReferencedSOPSequence = Sequence(items)
st = Dataset(); st.StudyInstanceUID = cts[0].StudyInstanceUID; st.ReferencedSeriesSequence = Sequence([ser])
sr.CurrentRequestedProcedureEvidenceSequence = Sequence([st])
sr.save_as(f'{out}/case01/SR/keyimages.dcm')
print(sr.SOPInstanceUID, *(ct.SOPInstanceUID for ct in cts))
EOF
"$BIN" ingest "$T/ref" -o "$T/ref.h5" --preset small -q >"$T/ref.json" 2>"$T/ref.err"
check "referencing SR: exit 0" $?
$PY - "$T/ref.h5" "$T/ref.txt" <<'EOF' ; check "referenced slices get the referencing SR, the rest the study SR" $?
import re, subprocess, sys
h5 = sys.argv[1]
ref_sr, *refs = open(sys.argv[2]).read().split()
def strings(ds):
    out = subprocess.run(['h5dump', '-y', '-w', '0', '-d', ds, h5], capture_output=True, text=True, check=True).stdout
    return re.findall(r'"([^"]*)"', out.split('DATA {', 1)[1])
sop, src = strings('/samples/sop_uid'), strings('/text/source')
n_ref = 0
for s, t in zip(sop, src):
    if s in refs:
        assert t.startswith(f'SR {ref_sr} '), (s, t); n_ref += 1
    else:
        assert t.startswith('SR ') and not t.startswith(f'SR {ref_sr} '), (s, t)
assert n_ref == 2 and len(sop) == 24, (n_ref, len(sop))
EOF

# --- the same folder given twice is ingested once; annotation.json of a layout is no error ---
"$BIN" ingest "$T/sd/dicom/case01" "$T/sd/dicom/case01/" -o "$T/twice.h5" --preset small -q >"$T/twice.json" 2>/dev/null
check "folder twice: exit 0" $?
grep -q '"samples":24,' "$T/twice.json" ; check "folder twice: 24 samples, not 48" $?
"$BIN" ingest "$T/sd/png" -o "$T/png.h5" --preset small -q >"$T/png.json" 2>"$T/png.err"
check "png layout with annotation.json: exit 0" $?
grep -q annotation.json "$T/png.h5.report.tsv" ; check "annotation.json not in the report" "$([ $? -ne 0 ]; echo $?)"
"$BIN" ingest --help | grep -q -- '--captions FILE' ; check "--captions in --help" $?

# --- real SR files without images of their study, and TID 1500 without report text: one line each ---
"$BIN" ingest "$S/dicom/ct_single" "$S/dicom/sr" -o "$T/real.h5" -q >/dev/null 2>"$T/real.err"
check "real SRs: exit 1 (partial)" "$([ $? -eq 1 ]; echo $?)"
grep -q 'sr/sr_document.dcm: Structured Report without report text' "$T/real.err" ; check "TID 1500 without text reported" $?
grep -q 'sr/test-SR.dcm: Structured Report not used: no image of its study' "$T/real.err" ; check "SR without its images reported" $?

tl_end
