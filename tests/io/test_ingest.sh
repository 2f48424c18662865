#!/bin/sh
# `c2seg ingest` on the real 2D datasets, NIfTI and DICOM folders of ../shared/data, judged by
# h5dump / h5diff and an independent numpy re-implementation of the reference's resize
# (METHOD.md §6; PNG decoded with zlib in python, not by our libpng reader).
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_ingest
S="$C2SEG_SHARED/data"
h5count() { h5dump -H -d "$2" "$1" | sed -n 's/.*DATASPACE  SIMPLE { ( \([0-9]*\).*/\1/p' | head -1; }

# --- covid_ct_slices: 50 non-square JPEG + PNG pairs, split none, all with masks ---
"$BIN" ingest "$S/covid_ct_slices" -o "$T/covid.h5" --preset small -q >"$T/covid.json" 2>"$T/covid.err"
check "covid exit 0" $?
check "covid 50 samples" "$([ "$(h5count "$T/covid.h5" /images)" = 50 ]; echo $?)"
h5dump -d /has_mask -y -w 0 "$T/covid.h5" | grep -q '1, 1, 1' ; check "covid has masks" $?
# source size of the sample of Imgs/0.jpg is its JPEG size (independent: parse the SOF marker in python)
$PY - "$T/covid.h5" "$S/covid_ct_slices/Imgs/0.jpg" <<'EOF' ; check "covid source size = JPEG SOF size" $?
import subprocess, sys, re
h5, jpg = sys.argv[1], sys.argv[2]
b = open(jpg, 'rb').read()
i = 2
while i < len(b):
    m = b[i + 1]; n = b[i + 2] << 8 | b[i + 3]
    if m in (0xC0, 0xC1, 0xC2):
        h, w = b[i + 5] << 8 | b[i + 6], b[i + 7] << 8 | b[i + 8]; break
    i += 2 + n
files = subprocess.run(['h5dump', '-y', '-w', '0', '-d', '/samples/file', h5], capture_output=True, text=True).stdout
names = re.findall(r'"([^"]*)"', files.split('DATA {')[1])
k = [j for j, f in enumerate(names) if f.endswith('/Imgs/0.jpg')][0]
def val(ds):
    out = subprocess.run(['h5dump', '-y', '-w', '0', '-d', ds, '-s', str(k), '-c', '1', h5], capture_output=True, text=True).stdout
    return int(re.findall(r'-?\d+', out.split('DATA {')[1])[0])
assert (val('/samples/source_rows'), val('/samples/source_cols')) == (h, w), (h, w)
assert h != w
EOF

# --- a caption table in the patient's convention (axial CT): --caption-convention patient ---
printf 'Image,Description\n0.jpg,left lung infection\n1.jpg,"bilateral pulmonary infection, two infected areas."\n' >"$T/ct.csv"
"$BIN" ingest "$S/covid_ct_slices" -o "$T/covid_p.h5" --preset small -q --captions "$T/ct.csv" \
    --caption-convention patient >"$T/covid_p.json" 2>"$T/covid_p.err"
check "caption-convention exit 0" $?
$PY - "$T/covid_p.h5" <<'EOF' ; check "captioned samples say patient, the rest nothing" $?
import subprocess, sys, re
def strings(ds):
    out = subprocess.run(['h5dump', '-y', '-w', '0', '-d', ds, sys.argv[1]], capture_output=True, text=True).stdout
    return re.findall(r'"([^"]*)"', out.split('DATA {')[1])
files, conv, raw = strings('/samples/file'), strings('/text/convention'), strings('/text/raw')
by = {f.rsplit('/', 1)[1]: (c, r) for f, c, r in zip(files, conv, raw)}
assert by['0.jpg'] == ('patient', 'left lung infection'), by['0.jpg']
assert by['1.jpg'][0] == 'patient', by['1.jpg']
assert all(c == '' for n, (c, r) in by.items() if n not in ('0.jpg', '1.jpg')), by
EOF
"$BIN" ingest "$S/covid_ct_slices" -o "$T/covid_x.h5" --caption-convention left -q >/dev/null 2>"$T/conv_bad.err"
check "bad --caption-convention is a usage error" "$([ $? -eq 2 ] && grep -q caption-convention "$T/conv_bad.err"; echo $?)"

# --- QaTa train / valid: split labels and counts ---
"$BIN" ingest "$S/qata" -o "$T/qata.h5" --preset small -q >"$T/qata.json" 2>"$T/qata.err"
check "qata exit 0" $?
h5dump -d /split -y -w 0 "$T/qata.h5" >"$T/split.txt"
check "qata 650 train" "$([ "$(grep -o 'train' "$T/split.txt" | wc -l)" -ge 650 ]; echo $?)"
$PY - "$T/qata.json" <<'EOF' ; check "qata summary 650 / 200" $?
import json, sys
s = json.load(open(sys.argv[1]))
assert s['samples_per_split'] == {'none': 0, 'train': 650, 'valid': 200, 'test': 0}, s
EOF
h5dump -a /schema_version "$T/qata.h5" | grep -q '(0): 1' ; check "schema_version attribute" $?
F=$(h5dump -p -H -d /images "$T/qata.h5")
echo "$F" | grep -q 'DEFLATE { LEVEL 1 }' && ! echo "$F" | grep -q 'SHUFFLE' ; check "images deflated at level 1, not shuffled (docs/cache.md)" $?

# --- determinism: a second run gives the same data, time attribute excluded ---
CAP="$S/text/sgseg_qata/annotation.json"
"$BIN" ingest "$S/qata/valid" -o "$T/v1.h5" --preset small -q --captions "$CAP" >"$T/v1.json" 2>/dev/null
"$BIN" ingest "$S/qata/valid" -o "$T/v2.h5" --preset small -q --captions "$CAP" >/dev/null 2>&1
# captions: every valid image has its annotation.json caption; 36 distinct (data/README.md)
check "200 captioned" "$(grep -q '"captioned":200' "$T/v1.json"; echo $?)"
check "36 unique captions" "$([ "$(h5count "$T/v1.h5" /text/captions)" = 36 ]; echo $?)"
h5dump -a /text/encoder_name "$T/v1.h5" | grep -q 'hash-text-512' ; check "encoder name attribute" $?
h5dump -d /text/source -c 1 "$T/v1.h5" | grep -q '"annotation.json:valid"' ; check "text source recorded" $?
h5diff --exclude-attribute /provenance "$T/v1.h5" "$T/v2.h5" >/dev/null ; check "h5diff of two runs exits 0" $?
h5diff "$T/v1.h5" "$T/v2.h5" >/dev/null 2>&1 ; rc=$?
check "h5diff without the exclusion sees the time" "$([ $rc -ne 2 ]; echo $?)"

# --- the preprocessed tensor of one QaTa image equals numpy's torch-style bilinear ---
$PY - "$T/v1.h5" "$T" <<'EOF' ; check "QaTa image + mask match numpy bilinear / nearest" $?
import subprocess, sys, re, zlib, struct, numpy as np
h5, tmp = sys.argv[1], sys.argv[2]
def png_gray8(path):   # minimal PNG decoder: 8-bit gray, non-interlaced (what QaTa uses)
    b = open(path, 'rb').read(); assert b[:8] == b'\x89PNG\r\n\x1a\n'
    i, idat = 8, b''
    while i < len(b):
        n, t = struct.unpack('>I4s', b[i:i + 8]); d = b[i + 8:i + 8 + n]
        if t == b'IHDR': w, h, depth, ctype, _, _, inter = struct.unpack('>IIBBBBB', d); assert (depth, ctype, inter) == (8, 0, 0)
        if t == b'IDAT': idat += d
        i += 12 + n
    raw = zlib.decompress(idat); out = np.zeros((h, w), np.int32); prev = np.zeros(w, np.int32)
    for r in range(h):
        f = raw[r * (w + 1)]; line = np.frombuffer(raw, np.uint8, w, r * (w + 1) + 1).astype(np.int32); cur = np.zeros(w, np.int32)
        for c in range(w):
            a = cur[c - 1] if c else 0; up = prev[c]; ul = prev[c - 1] if c else 0
            if f == 0: p = 0
            elif f == 1: p = a
            elif f == 2: p = up
            elif f == 3: p = (a + up) // 2
            else:
                pa, pb, pc = abs(up - ul), abs(a - ul), abs(a + up - 2 * ul)
                p = a if pa <= pb and pa <= pc else (up if pb <= pc else ul)
            cur[c] = (line[c] + p) & 255
        out[r] = cur; prev = cur
    return out.astype(np.uint8)
def taps(n_in, n_out):  # torch upsample_bilinear2d, align_corners=False, float32 arithmetic
    scale = np.float32(n_in) / np.float32(n_out)
    src = np.maximum(scale * (np.arange(n_out, dtype=np.float32) + np.float32(0.5)) - np.float32(0.5), np.float32(0))
    i0 = src.astype(np.int64); l1 = (src - i0.astype(np.float32)).astype(np.float32)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0); return i0, i1, (np.float32(1) - l1), l1
def bilinear(x, S):
    r0, r1, h0, h1 = taps(x.shape[0], S); c0, c1, w0, w1 = taps(x.shape[1], S)
    t0 = x[r0][:, c0] * w0 + x[r0][:, c1] * w1; t1 = x[r1][:, c0] * w0 + x[r1][:, c1] * w1
    return (t0 * h0[:, None] + t1 * h1[:, None]).astype(np.float32)
def nearest(g, S):
    ri = np.minimum(np.floor(np.arange(S, dtype=np.float32) * (np.float32(g.shape[0]) / np.float32(S))).astype(int), g.shape[0] - 1)
    ci = np.minimum(np.floor(np.arange(S, dtype=np.float32) * (np.float32(g.shape[1]) / np.float32(S))).astype(int), g.shape[1] - 1)
    return g[ri][:, ci]
files = subprocess.run(['h5dump', '-y', '-w', '0', '-d', '/samples/file', h5], capture_output=True, text=True).stdout
masks = subprocess.run(['h5dump', '-y', '-w', '0', '-d', '/samples/mask_file', h5], capture_output=True, text=True).stdout
k = 7
img_path = re.findall(r'"([^"]*)"', files.split('DATA {')[1])[k]; mask_path = re.findall(r'"([^"]*)"', masks.split('DATA {')[1])[k]
S = 128
for ds, fn in (('/images', 'img.bin'), ('/masks', 'mask.bin')):
    subprocess.run(['h5dump', '-d', ds, '-s', f'{k},0,0', '-c', f'1,{S},{S}', '-b', 'LE', '-o', f'{tmp}/{fn}', h5], check=True, capture_output=True)
got = np.fromfile(f'{tmp}/img.bin', np.float32).reshape(S, S)
gotm = np.fromfile(f'{tmp}/mask.bin', np.uint8).reshape(S, S)
x = png_gray8(img_path).astype(np.float32) / np.float32(255.0)
want = bilinear(x, S)
wantm = nearest((png_gray8(mask_path) > 127).astype(np.uint8), S)
err = float(np.abs(got - want).max())
print('max |ours - numpy| =', err, 'mask mismatches =', int((gotm != wantm).sum()))
assert err <= 1e-6 and (gotm == wantm).all()
EOF

# --- NIfTI folder: volumes with masks, header-only pairs reported, exit 1 (partial) ---
"$BIN" ingest "$S/nifti" -o "$T/nifti.h5" --preset small -q >"$T/nifti.json" 2>"$T/nifti.err"
check "nifti exit 1 (partial)" "$([ $? -eq 1 ]; echo $?)"
grep -q 'nifti1.hdr: header-only NIfTI pair, its image file nifti1.img is missing' "$T/nifti.err" ; check "nifti1.hdr reason" $?
grep -q 'nifti2.hdr' "$T/nifti.h5.report.tsv" ; check "report file lists nifti2.hdr" $?
# anatomical.nii is 33x41x25 with its z axis head-feet: 25 samples, all with has_mask
$PY - "$T/nifti.h5" <<'EOF' ; check "nifti slices per volume and masks" $?
import subprocess, sys, re
h5 = sys.argv[1]
out = subprocess.run(['h5dump', '-y', '-w', '0', '-d', '/samples/file', h5], capture_output=True, text=True).stdout
files = re.findall(r'"([^"]*)"', out.split('DATA {')[1])
hm = subprocess.run(['h5dump', '-y', '-w', '0', '-d', '/has_mask', h5], capture_output=True, text=True).stdout
has = [int(v) for v in re.findall(r'\d+', hm.split('DATA {')[1].split('}')[0])]
anat = [i for i, f in enumerate(files) if f.endswith('/anatomical.nii')]
assert len(anat) == 25, len(anat)
assert all(has[i] == 1 for i in anat)
std = [i for i, f in enumerate(files) if f.endswith('/standard.nii.gz')]
assert len(std) == 7 and all(has[i] == 0 for i in std), std
# each volume is its own case (the split by case keeps a volume's slices together)
cid = subprocess.run(['h5dump', '-y', '-w', '0', '-d', '/samples/case_id', h5], capture_output=True, text=True).stdout
cases = re.findall(r'"([^"]*)"', cid.split('DATA {')[1])
assert all(cases[i] == 'anatomical' for i in anat), set(cases[i] for i in anat)
assert all(cases[i] == 'standard' for i in std), set(cases[i] for i in std)
EOF

# --- DICOM broken files: one clear line each, no crash, partial ---
"$BIN" ingest "$S/dicom/broken" "$S/dicom/ct_series" -o "$T/dcm.h5" --preset small -q >"$T/dcm.json" 2>"$T/dcm.err"
rc=$?
check "dicom broken: exit 1 (partial), no crash" "$([ $rc -eq 1 ]; echo $?)"
for f in MR_truncated.dcm no_meta.dcm rtplan_truncated.dcm badVR.dcm emri_small_jpeg_2k_lossless_too_short.dcm; do
    grep -q "broken/$f: " "$T/dcm.err" ; check "reason line for $f" $?
done
$PY - "$T/dcm.json" <<'EOF' ; check "ct series ingested (3 + 4 slices)" $?
import json, sys
s = json.load(open(sys.argv[1]))
assert s['samples'] >= 7 and s['series'] >= 2, s
EOF

# --- usage errors ---
"$BIN" ingest -o "$T/x.h5" >/dev/null 2>&1 ; check "no input: exit 2" "$([ $? -eq 2 ]; echo $?)"
"$BIN" ingest "$S/qata" -o "$T/x.h5" --size 3 >/dev/null 2>&1 ; check "bad size: exit 2" "$([ $? -eq 2 ]; echo $?)"
mkdir -p "$T/empty"; echo hello >"$T/empty/a.txt"
"$BIN" ingest "$T/empty" -o "$T/x.h5" -q >/dev/null 2>&1 ; check "nothing usable: exit 3" "$([ $? -eq 3 ]; echo $?)"
# a symbolic-link loop ends
mkdir -p "$T/loop/a" && ln -sf .. "$T/loop/a/up" && cp "$S/covid_ct_slices/Imgs/1.jpg" "$T/loop/a/" 2>/dev/null
"$BIN" ingest "$T/loop" -o "$T/loop.h5" -q >/dev/null 2>&1 ; check "symlink loop terminates" "$([ $? -le 3 ]; echo $?)"

tl_end
