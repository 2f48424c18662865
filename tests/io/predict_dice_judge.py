# Independent judge of predict's ground_truth.dice (issue 28): the Dice of each written mask
# against its ground truth, both on the SOURCE grid, by pydicom / nibabel / numpy alone.
# Usage: predict_dice_judge.py OUTDIR
#   DICOM cases: the predicted SEG's frames and the truth SEG's frames (ground_truth.mask_file;
#   its lesion segments: Segmented Property Type lesion 52988006 / infection 40733004,
#   128601007, or category 49755003) go to the source slice named by their Referenced SOP
#   Instance UID; a voxel is foreground where a binary frame is 1 (fractional: >= half the
#   maximum). NIfTI cases: the written mask > 0 (fractional: >= 0.5) against the mask file > 0,
#   voxel for voxel.
# Prints one line per case (c2seg's Dice, ours) and exits 1 when any differs by more than
# 1e-9 or a case with ground truth does not say dice_grid "source".
import json, os, sys
import numpy as np

out = sys.argv[1]
doc = json.load(open(os.path.join(out, "predictions.json")))
LESION = {"52988006", "40733004", "128601007", "M-01100"}
CATEGORY = {"49755003", "M-01000"}


def seg_voxels(path, chosen=None):
    """{SOP Instance UID: boolean frame} merged over the chosen segments."""
    import pydicom
    s = pydicom.dcmread(path)
    rows, cols, nf = int(s.Rows), int(s.Columns), int(getattr(s, "NumberOfFrames", 1))
    px = s.pixel_array.reshape(nf, rows, cols)
    keep = set()
    for seg in s.SegmentSequence:
        typ = seg.SegmentedPropertyTypeCodeSequence[0].CodeValue
        cat = seg.SegmentedPropertyCategoryCodeSequence[0].CodeValue
        if chosen is None or typ in LESION or cat in CATEGORY:
            keep.add(int(seg.SegmentNumber))
    if s.SegmentationType == "FRACTIONAL":
        fg = px >= (int(s.MaximumFractionalValue) + 1) // 2
    else:
        fg = px > 0
    frames = {}
    for f, g in enumerate(s.PerFrameFunctionalGroupsSequence):
        if int(g.SegmentIdentificationSequence[0].ReferencedSegmentNumber) not in keep:
            continue
        uid = g.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        frames[uid] = frames.get(uid, np.zeros((rows, cols), bool)) | fg[f]
    return frames


def dice(inter, a, b):
    return 2.0 * inter / (a + b) if a + b else 1.0


bad = 0
n = 0
for c in doc["cases"]:
    gt = c.get("ground_truth")
    if c.get("status") != "ok" or not gt:
        continue
    n += 1
    mask = os.path.join(out, c["outputs"]["mask"])
    if c["kind"] == "dicom":
        pred, truth = seg_voxels(mask), seg_voxels(gt["mask_file"], chosen=True)
        inter = sum(int((pred[u] & truth[u]).sum()) for u in pred if u in truth)
        ours = dice(inter, sum(int(v.sum()) for v in pred.values()), sum(int(v.sum()) for v in truth.values()))
    elif c["kind"] == "nifti":
        import nibabel as nib
        p = np.asarray(nib.load(mask).dataobj)
        p = p >= 0.5 if p.dtype.kind == "f" else p > 0  # fractional: probability >= 0.5
        t = np.asarray(nib.load(gt["mask_file"]).dataobj)
        t = (t[..., 0] if t.ndim == 4 else t) > 0
        ours = dice(int((p & t).sum()), int(p.sum()), int(t.sum()))
    else:
        continue
    theirs = gt.get("dice_decoded", gt["dice"])  # the written mask is the decoded one with --text-decode
    ok = gt.get("dice_grid") == "source" and abs(theirs - ours) <= 1e-9
    bad += not ok
    print("%-4s %-24s c2seg %.6f (%s grid, model grid %.6f)  judge %.6f" % (
        "ok" if ok else "BAD", c["id"], theirs, gt.get("dice_grid"), gt.get("dice_model_grid", -1), ours))
if n == 0:
    print("no case with ground truth")
    bad = 1
sys.exit(1 if bad else 0)
