#!/bin/sh
# The sample-data generator, judged by independent tools: dciodvfy (every DICOM, 0 Error
# lines), dcentvfy (CT series + SR of a study agree), dsrdump (the SR text), nifti_tool
# and nibabel (headers, affine = the DICOM geometry read by pydicom, voxels = the DICOM
# HU), a numpy re-implementation of METHOD.md §7's zone rule on the PNG masks (at 128 and
# nearest-resized to 224) against the captions and pseudo_labels, and byte-identical
# output for the same seed.
set -u
BUILD="${C2SEG_BUILD:?C2SEG_BUILD not set}"
GEN="$BUILD/c2seg-sample-data"
TMP="$BUILD/test-tmp/test_sample_data"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
rm -rf "$TMP"
mkdir -p "$TMP"
failed=0
passed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; }

# 1. generation, and usage errors
if "$GEN" -o "$TMP/a" --studies 4 --slices 12 --seed 7 >"$TMP/summary.json" 2>"$TMP/gen.log"; then
    ok "generator ran"
else
    bad "generator failed: $(tail -3 "$TMP/gen.log")"
    echo "0 passed, 1 failed"
    exit 1
fi
"$GEN" -o "$TMP/x" --size 12 >/dev/null 2>&1
[ $? -eq 2 ] && ok "--size 12 is a usage error" || bad "--size 12 should exit 2"
"$GEN" --studies 2 >/dev/null 2>&1
[ $? -eq 2 ] && ok "missing -o is a usage error" || bad "missing -o should exit 2"

# 2. dciodvfy: every DICOM file, no Error line, exit 0
n_dcm=0
n_err=0
for f in $(find "$TMP/a/dicom" -name '*.dcm' | sort); do
    n_dcm=$((n_dcm + 1))
    if ! dciodvfy "$f" 2>"$TMP/vfy.log" >/dev/null || grep -q '^Error' "$TMP/vfy.log"; then
        n_err=$((n_err + 1))
        [ $n_err -le 3 ] && { echo "  $f:"; grep '^Error' "$TMP/vfy.log" | head -5; }
    fi
done
[ "$n_dcm" -eq 56 ] && ok "56 DICOM files (4 x 12 CT + 4 SEG + 4 SR)" || bad "expected 56 DICOM files, found $n_dcm"
[ "$n_err" -eq 0 ] && ok "dciodvfy: no errors in $n_dcm files" || bad "dciodvfy: $n_err files with errors"

# 3. dcentvfy (one study's CT + SR share patient / study) and dsrdump (the report text)
for s in "$TMP"/a/dicom/case*; do
    if dcentvfy "$s"/CT/*.dcm "$s"/SEG/truth.seg.dcm "$s"/SR/report.dcm 2>"$TMP/ent.log"; then :; else
        bad "dcentvfy $(basename "$s"): $(grep '^Error' "$TMP/ent.log" | head -2)"
    fi
    dsrdump "$s/SR/report.dcm" >"$TMP/$(basename "$s").dsr.txt" 2>/dev/null ||
        bad "dsrdump $(basename "$s") failed"
done
ok "dcentvfy / dsrdump ran on every study"

# 3b. the SEG holds the NIfTI mask: pydicom's reading of the SEG (tests/io/seg_truth.py,
# frames placed by their referenced CT instance, slices sorted along the normal) against
# nibabel's mask, slice by slice (NIfTI k = 0 is the most caudal slice = the first along z)
for s in "$TMP"/a/dicom/case*; do
    name=$(basename "$s")
    "$PY" "$C2SEG_SOURCE/tests/io/seg_truth.py" "$s/SEG/truth.seg.dcm" "$s/CT" 1 >"$TMP/$name.seg.json" 2>&1 &&
        "$PY" - "$TMP/$name.seg.json" "$TMP/a/nifti/${name}_mask.nii.gz" <<'EOF'
import json, sys
import numpy as np, nibabel as nib
seg = json.load(open(sys.argv[1]))["slices"]
m = np.asarray(nib.load(sys.argv[2]).dataobj)            # [i, j, k]
want = [int((m[:, :, k] > 0).sum()) for k in range(m.shape[2])]
got = [s["count"] for s in seg]
assert got == want and sum(want) > 0, (got, want)
EOF
    [ $? -eq 0 ] && ok "$name: SEG = NIfTI mask slice by slice" || bad "$name: SEG differs from the NIfTI mask: $(tail -2 "$TMP/$name.seg.json")"
done

# 4. nifti_tool header check on every NIfTI file
n_nii=0
for f in "$TMP"/a/nifti/*.nii.gz; do
    n_nii=$((n_nii + 1))
    nifti_tool -check_hdr -infiles "$f" 2>&1 | grep -q "header IS GOOD" || bad "nifti_tool: $f"
done
[ "$n_nii" -eq 8 ] && ok "nifti_tool: 8 headers checked" || bad "expected 8 NIfTI files, found $n_nii"

# 5. independent python checks (pydicom, nibabel, numpy; PNG decoded with zlib here)
if "$PY" - "$TMP/a" <<'EOF'
import glob, json, os, struct, sys, zlib
import numpy as np, nibabel as nib, pydicom

root = sys.argv[1]
fails = []
def check(cond, msg):
    if not cond:
        fails.append(msg)

def read_png_gray8(path):
    b = open(path, 'rb').read()
    assert b[:8] == b'\x89PNG\r\n\x1a\n', path
    pos, idat = 8, b''
    while pos < len(b):
        n, t = struct.unpack('>I4s', b[pos:pos + 8]); d = b[pos + 8:pos + 8 + n]; pos += 12 + n
        if t == b'IHDR':
            w, h, depth, ctype, _, _, inter = struct.unpack('>IIBBBBB', d)
            assert depth == 8 and ctype == 0 and inter == 0, path
        elif t == b'IDAT':
            idat += d
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, w + 1)
    out = np.zeros((h, w), np.int64); prev = np.zeros(w, np.int64)
    for y in range(h):
        f, line = int(raw[y, 0]), raw[y, 1:].astype(np.int64)
        if f == 0:
            cur = line
        elif f == 1:
            cur = np.cumsum(line) & 255
        elif f == 2:
            cur = (line + prev) & 255
        else:                      # average / Paeth: sequential, plain ints
            L, P, cur = line.tolist(), prev.tolist(), [0] * w
            for x in range(w):
                a = cur[x - 1] if x else 0; c = P[x - 1] if x else 0; up = P[x]
                if f == 3:
                    pr = (a + up) // 2
                else:
                    pa, pb, pc = abs(up - c), abs(a - c), abs(a + up - 2 * c)
                    pr = a if pa <= pb and pa <= pc else up if pb <= pc else c
                cur[x] = (L[x] + pr) & 255
            cur = np.array(cur, np.int64)
        out[y] = cur; prev = cur
    return out

# METHOD.md section 7, written from the text: image-left = "left", rows cut at
# round(H/3) and round(0.4 H), involved when >= 0.5 % of the side's pixels (and >= 1).
def zones_of(mask):
    H, W = mask.shape
    cuts = [0, int(round(H / 3)), int(round(0.4 * H)), H]
    left = np.arange(W) + 0.5 < W / 2.0
    z = []
    for side in (left, ~left):
        side_px = H * int(side.sum())
        for k in range(3):
            n = int(mask[cuts[k]:cuts[k + 1]][:, side].sum())
            z.append(int(n > 0 and n >= 0.005 * side_px))
    return z

WORDS = {'one': 1, 'two': 2, 'three': 3, 'four': 4, 'five': 5, 'six': 6}
def parse_caption(c):
    import re
    z = [0] * 6
    for m in re.finditer(r'((?:(?:upper|middle|lower) )*)(left|right) lung', c):
        for w in m.group(1).split():
            z[(0 if m.group(2) == 'left' else 3) + ['upper', 'middle', 'lower'].index(w)] = 1
    m = re.search(r'(\w+) infected area', c)
    return z, (WORDS[m.group(1)] if m else 0)

def resize_nearest(m, oh, ow):
    h, w = m.shape
    return m[(np.arange(oh) * h) // oh][:, (np.arange(ow) * w) // ow]

cohort = json.load(open(os.path.join(root, 'cohort.json')))
size = cohort['size']
uids = set()
for tpath in sorted(glob.glob(os.path.join(root, 'truth', '*.json'))):
    t = json.load(open(tpath)); name = t['name']
    vol = nib.load(os.path.join(root, 'nifti', name + '.nii.gz'))
    msk = nib.load(os.path.join(root, 'nifti', name + '_mask.nii.gz'))
    V = np.asanyarray(vol.dataobj); M = np.asanyarray(msk.dataobj)
    check(vol.get_data_dtype() == np.int16 and msk.get_data_dtype() == np.uint8, name + ': dtypes')
    check(np.allclose(vol.affine, msk.affine) and np.allclose(vol.affine, vol.get_qform()), name + ': affines differ')
    A = vol.affine
    files = sorted(glob.glob(os.path.join(root, 'dicom', name, 'CT', '*.dcm')))
    check(len(files) == V.shape[2], name + ': slice count')
    for f in files:
        ds = pydicom.dcmread(f)
        for u in (ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID):
            check(u.startswith('2.25.') and len(u) <= 64, name + ': UID root ' + u)
        uids.add(ds.SOPInstanceUID)
        ipp = np.array([float(v) for v in ds.ImagePositionPatient])
        iop = np.array([float(v) for v in ds.ImageOrientationPatient])
        dr, dc = (float(v) for v in ds.PixelSpacing)
        hu = ds.pixel_array.astype(np.int32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        # voxel (i = column, j = row) of this slice in NIfTI: find k by position
        k = int(round(np.linalg.solve(A[:3, :3], np.array([-ipp[0], -ipp[1], ipp[2]]) - A[:3, 3])[2]))
        for (i, j) in ((0, 0), (size - 1, 0), (0, size - 1), (17, 29)):
            lps = ipp + i * dc * iop[:3] + j * dr * iop[3:]
            ras = A @ np.array([i, j, k, 1.0])
            check(np.allclose(ras[:3], [-lps[0], -lps[1], lps[2]], atol=1e-3),
                  '%s %s: voxel (%d,%d) at RAS %s, DICOM LPS %s' % (name, os.path.basename(f), i, j, ras[:3], lps))
        check(np.array_equal(V[:, :, k].T, hu), '%s %s: NIfTI voxels != DICOM HU' % (name, os.path.basename(f)))
        sl = t['slices'][int(ds.InstanceNumber) - 1]
        check(sl['sop_uid'] == ds.SOPInstanceUID, name + ': truth SOP UID')
        mk = M[:, :, k].T.astype(bool)
        check(sl['pseudo_label'] == zones_of(mk), '%s instance %d: truth zones %s, mask zones %s'
              % (name, ds.InstanceNumber, sl['pseudo_label'], zones_of(mk)))
        z, n = parse_caption(sl['caption'])
        check(z == sl['pseudo_label'] and n == sum(z) == sl['infected_area'], name + ': caption ' + sl['caption'])
        if sl['png']:
            split = t['split']
            img = read_png_gray8(os.path.join(root, 'png', split, 'images', sl['png']))
            pm = read_png_gray8(os.path.join(root, 'png', split, 'masks', 'mask_' + sl['png'])) > 127
            check(np.array_equal(pm, mk), name + ': PNG mask != NIfTI mask')
            expect = np.clip(np.rint((hu + 1350.0) / 1500.0 * 255.0), 0, 255)
            check(np.abs(img - expect).max() <= 1, name + ': PNG image is not the lung-windowed HU')
    check(t['report'].startswith('Findings:'), name + ': report text')
    dsr = open(os.path.join(os.path.dirname(root), name + '.dsr.txt')).read()
    check(t['report'][:25] in dsr, name + ': SR text (dsrdump) does not hold the report')
check(len(uids) == sum(len(json.load(open(p))['slices']) for p in glob.glob(os.path.join(root, 'truth', '*.json'))),
      'SOP Instance UIDs are not unique')

# annotation.json: SGSeg's schema, and the captions agree with the PNG masks at 128 and at 224
ann = json.load(open(os.path.join(root, 'png', 'annotation.json')))
check(sorted(ann) == ['test', 'train', 'valid'], 'annotation.json splits')
n = agree128 = agree224 = 0
for split, entries in ann.items():
    for e in entries:
        n += 1
        check(sorted(e) == ['caption', 'image_path', 'infected_area', 'pseudo_label', 'pulmonary_infection'],
              'annotation fields ' + str(sorted(e)))
        m = read_png_gray8(os.path.join(root, 'png', split, 'masks', e['image_path'])) > 127
        check(os.path.exists(os.path.join(root, 'png', split, 'images', e['image_path'][5:])), 'image missing')
        z, cnt = parse_caption(e['caption'])
        lat = int(any(z[:3])) + int(any(z[3:]))
        check(z == e['pseudo_label'] and cnt == e['infected_area'] == sum(z) and lat == e['pulmonary_infection'],
              'annotation entry fields disagree: ' + json.dumps(e))
        check(('bilateral' in e['caption']) == (lat == 2), 'laterality word: ' + e['caption'])
        agree128 += zones_of(m) == z
        agree224 += zones_of(resize_nearest(m, 224, 224)) == z
check(n > 0 and agree128 == n and agree224 == n,
      'caption zones vs mask zones: %d/%d at 128, %d/%d at 224' % (agree128, n, agree224, n))
print('python checks: %d PNG pairs, zone-exact %d/%d at %d, %d/%d at 224' % (n, agree128, n, size, agree224, n))
for f in fails[:20]:
    print('  ' + f)
sys.exit(1 if fails else 0)
EOF
then ok "python: geometry, voxels, masks, PNGs, captions and zones"; else bad "python checks"; fi

# 6. determinism: the same seed gives the same bytes, SR reports included.
"$GEN" -o "$TMP/b" --studies 4 --slices 12 --seed 7 >/dev/null 2>&1
n_diff=0
for f in $(cd "$TMP/a" && find . -type f | sort); do
    cmp -s "$TMP/a/$f" "$TMP/b/$f" || { n_diff=$((n_diff + 1)); echo "  differs: $f"; }
done
n_a=$(cd "$TMP/a" && find . -type f | wc -l)
n_b=$(cd "$TMP/b" && find . -type f | wc -l)
[ "$n_diff" -eq 0 ] && [ "$n_a" -eq "$n_b" ] && ok "two runs with seed 7: $n_a files identical" ||
    bad "two runs differ ($n_diff files differ; $n_a vs $n_b files)"
"$GEN" -o "$TMP/c" --studies 1 --slices 12 --seed 8 >/dev/null 2>&1
cmp -s "$TMP/a/nifti/case01.nii.gz" "$TMP/c/nifti/case01.nii.gz" && bad "seed 8 gave seed 7's volume" ||
    ok "another seed gives another volume"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
