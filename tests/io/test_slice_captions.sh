#!/bin/sh
# Per-slice captions of DICOM CT series (MosMedData+-style), issue 28:
#   - c2seg-sample-data --slice-captions writes dicom/caseNN/captions.csv, one row per CT slice
#     (Image, Description, SOPInstanceUID, Derivation); judged by pydicom (the slice files'
#     UIDs) and the truth JSON's per-slice zones, recounted from the caption words here;
#   - c2seg ingest reads the table beside the series: h5dump's /text/captions and
#     /text/caption_index give every slice its row's caption, the SR stays /text/raw;
#     --captions FILE keyed by file name captions the slices it names;
#   - c2seg predict records per-slice model text in predictions.json (and one text per
#     case without a table).
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_slice_captions
export C2SEG_THREADS=2

tl_sample_data "$T/sd" --studies 3 --slices 12 --size 64 --slice-captions
tl_sample_data "$T/plain" --studies 1 --slices 6 --size 64
[ ! -e "$T/plain/dicom/case01/captions.csv" ]
check "no table without --slice-captions" $?

# --- the table against the CT files (pydicom) and the truth's zones, recounted from the words ---
$PY - "$T/sd" <<'EOF'
import csv, glob, json, os, sys
import pydicom
sd = sys.argv[1]
NUM = {'one': 1, 'two': 2, 'three': 3, 'four': 4, 'five': 5, 'six': 6}
def zones_named(text):
    """[L-up, L-mid, L-low, R-up, R-mid, R-low] named by SGSeg's wording, and the stated count."""
    if text == 'no pulmonary infection.':
        return [0] * 6, 0
    lat, area, places = text.rstrip('.').split(', ', 2)
    count = NUM[area.split()[0]]
    z = [0] * 6
    for part in places.split(' and '):
        words = part.split()
        assert words[-1] == 'lung' and words[-2] in ('left', 'right'), text
        base = 0 if words[-2] == 'left' else 3
        for w in words[:-2]:
            z[base + ['upper', 'middle', 'lower'].index(w)] = 1
    sides = (max(z[:3]) > 0) + (max(z[3:]) > 0)
    assert lat == ('bilateral' if sides == 2 else 'unilateral') + ' pulmonary infection', text
    return z, count
n = lesion = 0
for tf in sorted(glob.glob(sd + '/truth/*.json')):
    t = json.load(open(tf))
    rows = list(csv.DictReader(open(f'{sd}/dicom/{t["name"]}/captions.csv', newline='')))
    assert [*rows[0].keys()] == ['Image', 'Description', 'SOPInstanceUID', 'Derivation'], rows[0].keys()
    assert len(rows) == len(t['slices']) == 12, len(rows)
    for row, sl in zip(rows, t['slices']):
        ds = pydicom.dcmread(f'{sd}/dicom/{t["name"]}/CT/{row["Image"]}', stop_before_pixels=True)
        assert row['SOPInstanceUID'] == ds.SOPInstanceUID == sl['sop_uid'], row
        assert ds.InstanceNumber == sl['instance'], row
        assert 'derived from the known lesion zones' in row['Derivation'], row
        z, count = zones_named(row['Description'])
        assert z == sl['pseudo_label'] and count == sum(z), (row, sl['pseudo_label'])
        n += 1
        lesion += sum(z) > 0
assert 0 < lesion < n, (lesion, n)
print(n, 'rows,', lesion, 'with lesion')
EOF
check "captions.csv rows = CT slices (pydicom UIDs), captions = truth zones" $?

# --- ingest: the beside tables give every slice its caption, the SR stays the report ---
"$BIN" ingest "$T/sd/dicom" -o "$T/c.h5" --preset tiny -q >"$T/ingest.json" 2>"$T/ingest.err"
check "ingest exits 0, no warning ($(cat "$T/ingest.err"))" "$([ $? -eq 0 ] && [ ! -s "$T/ingest.err" ]; echo $?)"
$PY - "$T/c.h5" "$T/sd" "$T/ingest.json" <<'EOF'
import csv, glob, json, re, subprocess, sys
h5, sd, summary = sys.argv[1:4]
def dump(ds):
    out = subprocess.run(['h5dump', '-y', '-w', '0', '-d', ds, h5], capture_output=True, text=True, check=True).stdout
    return out.split('DATA {', 1)[1].rsplit('}', 2)[0]
def strings(ds):
    return [bytes(m, 'latin-1').decode('unicode_escape') for m in re.findall(r'"((?:[^"\\]|\\.)*)"', dump(ds))]
def ints(ds):
    return [int(v) for v in re.findall(r'-?\d+', dump(ds))]
s = json.load(open(summary))
sop, captions, idx = strings('/samples/sop_uid'), strings('/text/captions'), ints('/text/caption_index')
raw, src, conv = strings('/text/raw'), strings('/text/source'), strings('/text/convention')
want, report = {}, {}
for tf in glob.glob(sd + '/truth/*.json'):
    t = json.load(open(tf))
    for row in csv.DictReader(open(f'{sd}/dicom/{t["name"]}/captions.csv', newline='')):
        want[row['SOPInstanceUID']] = row['Description']
        report[row['SOPInstanceUID']] = (t['report'], t['sr_uid'])
assert s['samples'] == s['slice_captioned'] == s['captioned'] == len(sop) == len(want) == 36, s
assert len(captions) == len(set(want.values())), (captions, set(want.values()))
for i, u in enumerate(sop):
    assert captions[idx[i]] == want[u], (i, captions[idx[i]], want[u])
    assert raw[i] == report[u][0], raw[i]
    assert src[i].startswith('slice caption captions.csv; report SR %s ' % report[u][1]), src[i]
    assert conv[i] == 'image', conv[i]
print(len(sop), 'slices,', len(captions), 'unique captions')
EOF
check "cache: every slice's /text/captions entry = its table row, /text/raw = the SR report" $?

# --- --captions FILE keyed by file name: the named slices get its rows, the rest the SR ---
mkdir -p "$T/one" && cp -r "$T/sd/dicom/case02" "$T/one/" && rm "$T/one/case02/captions.csv"
printf 'Image,Description\r\nIM0003.dcm,"unilateral pulmonary infection, one infected area, lower left lung."\r\nIM0099.dcm,no such slice\r\n' >"$T/byname.csv"
"$BIN" ingest "$T/one" -o "$T/one.h5" --preset tiny -q --captions "$T/byname.csv" >"$T/one.json" 2>"$T/one.err"
check "ingest --captions FILE exits 0" $?
grep -q '"slice_captioned":1,' "$T/one.json"
check "one slice captioned from the table ($(cat "$T/one.json" | head -c 300))" $?
grep -q "byname.csv: 1 of 2 rows name no ingested DICOM slice" "$T/one.err"
check "the unmatched row is warned about ($(cat "$T/one.err"))" $?
h5dump -y -w 0 -d /text/source "$T/one.h5" | grep -o '"slice caption byname.csv; report SR ' | wc -l >"$T/one.n"
h5dump -y -w 0 -d /text/source "$T/one.h5" | grep -o '"SR ' | wc -l >"$T/one.sr"
check "1 slice from the table, 11 from the SR" "$([ "$(cat "$T/one.n")" -eq 1 ] && [ "$(cat "$T/one.sr")" -eq 11 ]; echo $?)"

# --- predict: per-slice model text recorded; one text per case without a table ---
"$BIN" train "$T/c.h5" -o "$T/m.ckpt" --preset tiny --epochs 1 --max-steps 1 --batch 4 -q >/dev/null 2>"$T/train.err"
check "train (1 step) exits 0 ($(tail -1 "$T/train.err"))" $?
"$BIN" predict "$T/m.ckpt" "$T/sd/dicom/case03" -o "$T/pred" -q >/dev/null 2>"$T/pred.err"
check "predict with the beside table exits 0 ($(cat "$T/pred.err"))" $?
"$BIN" predict "$T/m.ckpt" "$T/one/case02" -o "$T/pred-case" -q >/dev/null 2>"$T/pred-case.err"
check "predict without a table exits 0 ($(cat "$T/pred-case.err"))" $?
$PY - "$T" <<'EOF'
import csv, json, sys
import pydicom
T = sys.argv[1]
truth = json.load(open(T + '/sd/truth/case03.json'))
c = json.load(open(T + '/pred/predictions.json'))['cases']
assert len(c) == 1 and c[0]['status'] == 'ok', c
t = c[0]['text']
rows = list(csv.DictReader(open(T + '/sd/dicom/case03/captions.csv', newline='')))
# the case's slice order (the cache's): along the slice normal, here foot to head (pydicom's z)
z = lambda r: float(pydicom.dcmread(T + '/sd/dicom/case03/CT/' + r['Image'], stop_before_pixels=True).ImagePositionPatient[2])
rows.sort(key=z)
assert t['model_text_mode'] == 'per_slice' and t['model_text_table'] == 'captions.csv', t
assert t['model_text_per_slice'] == [r['Description'] for r in rows], t['model_text_per_slice']
assert t['text'] == truth['report'] and t['convention'] == 'patient', t
assert t['source'].startswith('SR ' + truth['sr_uid']), t['source']
t = json.load(open(T + '/pred-case/predictions.json'))['cases'][0]['text']
assert t['model_text_mode'] == 'case' and 'model_text_per_slice' not in t and t['source'].startswith('SR '), t
print('per-slice', len(rows), 'captions; case mode without a table')
EOF
check "predictions.json: per-slice model text in slice order, the SR as the report" $?

tl_end
