#!/bin/sh
# `c2seg caption from-mask` zones on every QaTa mask in ../shared/data (850), mask by mask,
# against an independent numpy / scipy implementation of METHOD.md section 7 (not against
# an agreement rate): the six zone flags, the zone count and the number of 8-connected
# components >= 0.1 % of the image, at the masks' own 224 x 224, at the small preset's
# 128 x 128 (torch 'nearest' resize) and under the patient convention (sides mirrored).
# A cut moved by one row (dicom-sr/zones.c) changes some of these masks.
set -u
PY=/usr/bin/python3          # Debian's python3 with numpy, scipy, Pillow
BIN="$C2SEG_BIN"
Q="$C2SEG_SHARED/data/qata"
T="$C2SEG_BUILD/test-tmp/test_zones_qata"
rm -rf "$T" && mkdir -p "$T" || exit 1
find "$Q" -path '*/masks/*' -name '*.png' | sort >"$T/masks.txt"
n=$(wc -l <"$T/masks.txt")
if [ "$n" -lt 800 ]; then
    echo "expected the 850 QaTa masks under $Q, found $n" >&2
    exit 1
fi
fail=0
for mode in "image 0" "image 128" "patient 128"; do
    set -- $mode
    # shellcheck disable=SC2046
    "$BIN" caption from-mask --convention "$1" $([ "$2" -gt 0 ] && echo --size "$2") $(cat "$T/masks.txt") \
        >"$T/c_$1_$2.jsonl" 2>"$T/c_$1_$2.err" || { echo "from-mask $mode failed:" >&2; head -3 "$T/c_$1_$2.err" >&2; fail=1; continue; }
    "$PY" - "$T/c_$1_$2.jsonl" "$1" "$2" <<'PY' || fail=1
import json, sys
import numpy as np
from PIL import Image
from scipy import ndimage

jsonl, conv, size = sys.argv[1], sys.argv[2], int(sys.argv[3])

def load(path):
    im = Image.open(path)
    a = np.asarray(im)
    if a.ndim == 3:                      # not in QaTa, but a judge must not guess
        raise SystemExit("%s: not a grey mask" % path)
    maxval = 65535 if a.dtype == np.uint16 else 255
    thr = 0 if a.max() <= 1 else maxval // 2
    m = (a > thr).astype(np.uint8)
    if size:
        # torch.nn.functional.interpolate(mode='nearest'): src = floor(dst * float32(in / out))
        h, w = m.shape
        ys = np.minimum(np.floor(np.arange(size, dtype=np.float32) * np.float32(h / size)).astype(int), h - 1)
        xs = np.minimum(np.floor(np.arange(size, dtype=np.float32) * np.float32(w / size)).astype(int), w - 1)
        m = m[ys][:, xs]
    return m

def zones(m):
    H, W = m.shape
    c1, c2 = round(H / 3), round(0.4 * H)          # Python round: half to even
    right = (np.arange(W) + 0.5) >= W / 2.0         # image right half
    text_left_cols = right if conv == "patient" else ~right
    rows = [slice(0, c1), slice(c1, c2), slice(c2, H)]
    out = []
    for side_cols in (text_left_cols, ~text_left_cols):
        side_px = H * int(side_cols.sum())
        for r in rows:
            n = int(m[r][:, side_cols].sum())
            out.append(int(n > 0 and n >= 0.005 * side_px))
    lab, k = ndimage.label(m, structure=np.ones((3, 3), int))
    areas = np.bincount(lab.ravel())[1:]
    comps = int((areas >= 0.001 * H * W).sum())
    return out, comps

bad = 0
n = 0
for line in open(jsonl, encoding="utf-8"):
    o = json.loads(line)
    z, comps = zones(load(o["file"]))
    got = o["attributes"]["zones"]
    n += 1
    if got != z or o["components"] != comps or o["attributes"]["n_zones"] != sum(z):
        bad += 1
        if bad <= 5:
            print("  FAIL %s (%s, size %d): C zones %s components %d, numpy zones %s components %d"
                  % (o["file"], conv, size, got, o["components"], z, comps), file=sys.stderr)
if n < 800:
    print("  FAIL: only %d results" % n, file=sys.stderr)
    sys.exit(1)
print("%s convention, size %s: %d masks, %d differ" % (conv, size or "native", n, bad))
sys.exit(1 if bad else 0)
PY
done
exit $fail
