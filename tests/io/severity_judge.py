"""severity_judge.py OUTDIR: the severity record of every DICOM CT case of `c2seg predict`'s
OUTDIR/predictions.json recomputed exactly, by pydicom / numpy / scipy alone (used by
test_predict_study.sh).

The lung by the rule of dicom-sr/lung_mask.h (docs/consistency.md), from the case's source
files: HU = stored value x slope + intercept (pydicom), slices ordered along the normal of
Image Orientation (Patient); air = HU < -320; 3-D 6-connected components of air
(scipy.ndimage.label, numbered in raster order); those touching the first / last row or
column of any slice dropped; the largest remaining ones kept, at most 2, each at least 10 %
of the largest (equal sizes: the lower number first); holes filled slice by slice
(scipy.ndimage.binary_fill_holes, 4-connected). The lesion = the written SEG's frames
(pydicom), each placed on the slice its Referenced SOP Instance UID names. lesion_voxels and
lung_voxels (lung united with the lesion) must equal the record's, and so must
source_mask.foreground_voxels (the SEG's set pixels). Prints "ok CASE lesion lung" per case;
exits 1 when any differs or no case was judged."""
import json
import os
import sys

import numpy as np
import pydicom
from scipy import ndimage

out = sys.argv[1]
doc = json.load(open(os.path.join(out, "predictions.json")))
bad, n = [], 0
for c in doc["cases"]:
    s = c.get("severity")
    if c.get("kind") != "dicom" or s is None:
        continue
    ds = [pydicom.dcmread(f) for f in c["inputs"]]
    iop = np.array([float(v) for v in ds[0].ImageOrientationPatient])
    normal = np.cross(iop[:3], iop[3:])
    ds.sort(key=lambda d: float(np.dot(normal, [float(v) for v in d.ImagePositionPatient])))
    hu = np.stack([d.pixel_array.astype(np.float64) * float(getattr(d, "RescaleSlope", 1)) +
                   float(getattr(d, "RescaleIntercept", 0)) for d in ds])
    D, H, W = hu.shape
    lab, nlab = ndimage.label(hu < -320)
    border = set(np.unique(lab[:, [0, H - 1], :])) | set(np.unique(lab[:, :, [0, W - 1]]))
    sizes = np.bincount(lab.ravel(), minlength=nlab + 1)
    inner = sorted((l for l in range(1, nlab + 1) if l not in border), key=lambda l: (-sizes[l], l))
    kept = [l for l in inner[:2] if sizes[l] >= 0.1 * sizes[inner[0]]]
    lung = np.isin(lab, kept)
    for z in range(D):
        lung[z] = ndimage.binary_fill_holes(lung[z])
    seg = pydicom.dcmread(os.path.join(out, c["outputs"]["mask"]))
    frames = seg.pixel_array.reshape(int(getattr(seg, "NumberOfFrames", 1)), H, W)
    where = {d.SOPInstanceUID: z for z, d in enumerate(ds)}
    lesion = np.zeros_like(lung)
    for f, g in enumerate(seg.PerFrameFunctionalGroupsSequence):
        uid = g.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        lesion[where[uid]] |= frames[f] > 0
    want = (int(lesion.sum()), int((lung | lesion).sum()))
    got = (s["lesion_voxels"], s["lung_voxels"])
    fg = c["source_mask"]["foreground_voxels"]
    if got != want or fg != want[0]:
        bad.append("%s: c2seg lesion %d lung %d foreground %d, judge lesion %d lung %d" % (c["id"], *got, fg, *want))
    else:
        print("ok %s %d %d" % (c["id"], *want))
    n += 1
if n == 0:
    bad.append("no DICOM CT case with a severity record")
print("\n".join(bad))
sys.exit(1 if bad else 0)
