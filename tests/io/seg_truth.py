# Independent judge for io/seg_truth.c: the mask a SEG gives on its source series, by
# pydicom alone. Usage: seg_truth.py SEG SOURCE NUMBERS
#   SOURCE: a folder of single-frame images (sorted along the slice normal here);
#   NUMBERS: comma-separated segment numbers to merge.
# Prints {"slices": [{"count", "sum", "wsum"}]} per sorted source slice, where the mask is
# 0..255 (binary 255, fractional v * 255 / MaximumFractionalValue rounded, label map 255
# where the label is chosen), merged by maximum; wsum = sum of value * (flat index + 1)
# so a pixel in the wrong place changes it. Frames go by Referenced SOP Instance UID,
# else by position (Frame of Reference shared, within 0.05 mm).
import json, os, sys
import numpy as np, pydicom

seg_path, src, numbers = sys.argv[1], sys.argv[2], {int(x) for x in sys.argv[3].split(",")}
srcs = [pydicom.dcmread(os.path.join(src, f)) for f in sorted(os.listdir(src))]
iop = np.array([float(v) for v in srcs[0].ImageOrientationPatient])
n = np.cross(iop[:3], iop[3:])
srcs.sort(key=lambda d: float(np.dot(n, [float(v) for v in d.ImagePositionPatient])))
rows, cols = int(srcs[0].Rows), int(srcs[0].Columns)
s = pydicom.dcmread(seg_path)
px = s.pixel_array.reshape(int(s.NumberOfFrames), rows, cols).astype(np.int64)
typ = s.SegmentationType
out = np.zeros((len(srcs), rows, cols), np.int64)
for f, g in enumerate(s.PerFrameFunctionalGroupsSequence):
    if typ != "LABELMAP":
        sn = int(g.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        if sn not in numbers:
            continue
    k = None
    if "DerivationImageSequence" in g:
        uid = g.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        k = [d.SOPInstanceUID for d in srcs].index(uid)
    else:
        p = np.array([float(v) for v in g.PlanePositionSequence[0].ImagePositionPatient])
        d = [np.linalg.norm(p - np.array([float(v) for v in x.ImagePositionPatient])) for x in srcs]
        assert min(d) <= 0.05 and s.FrameOfReferenceUID == srcs[0].FrameOfReferenceUID
        k = int(np.argmin(d))
    if typ == "BINARY":
        v = np.where(px[f] > 0, 255, 0)
    elif typ == "FRACTIONAL":
        v = np.floor(np.minimum(px[f], int(s.MaximumFractionalValue)) * 255.0 / int(s.MaximumFractionalValue) + 0.5).astype(np.int64)
    else:
        v = np.where(np.isin(px[f], list(numbers)), 255, 0)
    out[k] = np.maximum(out[k], v)
idx = np.arange(1, rows * cols + 1)
print(json.dumps({"slices": [{"count": int((m > 0).sum()), "sum": int(m.sum()), "wsum": int((m.ravel() * idx).sum())}
                             for m in out]}))
