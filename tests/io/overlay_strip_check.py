"""Checks a volume's overlay strip written by `c2seg predict --overlays` (used by
test_predict): argv = OUTDIR LABEL.nii.gz. The ground truth's lesion slices (nibabel,
k axis, 1-based) are all in outputs.overlay_slices (in slice order, at most 10), the PNG is
len * 96 + (len - 1) * 2 wide and 96 high, and the thumbnail of each ground-truth slice
holds green (ground-truth outline) pixels. The PNG is decoded here with zlib (all five
filter types), independent of libpng. Prints "ok" or what differs."""
import json, struct, sys, zlib
import nibabel as nb
import numpy as np


def png_rgb(path):
    b = open(path, "rb").read()
    w, h, depth, ctype = struct.unpack(">IIBB", b[16:26])
    assert depth == 8 and ctype == 2, (depth, ctype)
    idat, i = b"", 8
    while i < len(b):
        n = struct.unpack(">I", b[i:i + 4])[0]
        if b[i + 4:i + 8] == b"IDAT":
            idat += b[i + 8:i + 8 + n]
        i += 12 + n
    raw, bpp, stride = zlib.decompress(idat), 3, 3 * w
    out, prev = [], bytearray(stride)
    for r in range(h):
        f, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            up, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + up) & 255
            elif f == 3: line[x] = (line[x] + (a + up) // 2) & 255
            elif f == 4:
                p = a + up - c
                pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
        out.append(bytes(line))
        prev = line
    return w, h, out


d, lab = sys.argv[1], sys.argv[2]
c = json.load(open(d + "/predictions.json"))["cases"][0]
sl = c["outputs"]["overlay_slices"]
v = np.asanyarray(nb.load(lab).dataobj)
gt = [k + 1 for k in range(v.shape[2]) if v[:, :, k].any()]
w, h, rows = png_rgb(d + "/" + c["outputs"]["overlay"])
errs = []
if not gt or not set(gt) <= set(sl) or sl != sorted(sl) or not 1 <= len(sl) <= 10:
    errs.append("slices %s, ground truth %s" % (sl, gt))
if h != 96 or w != 98 * len(sl) - 2:
    errs.append("size %dx%d for %d slices" % (w, h, len(sl)))
for g in gt:
    if g in sl:
        k = sl.index(g)
        if not any(rows[y][3 * x:3 * x + 3] == b"\x00\xff\x00" for y in range(h) for x in range(98 * k, 98 * k + 96)):
            errs.append("no green in the thumbnail of slice %d" % g)
print("ok" if not errs else "bad: " + "; ".join(errs))
