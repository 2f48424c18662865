"""predict_judge.py STEP ...: an independent judge of `c2seg predict`'s mask content and of
each SEG frame's source slice (issue 29), used by test_predict_judge.sh.

  inputs CKPT SERIES PREFIX TEXT  -> PREFIX.image.f32 [B,1,S,S] and PREFIX.captions.txt:
      the series' slices read with pydicom, ordered along the normal, windowed, put in the
      radiological display and resized as docs/cache.md says (ingest_truth.py, numpy), then
      normalised with the checkpoint's mean / std (read with h5dump), one caption per slice;
  threshold PREFIX.ort.f32        -> prints the median probability of ONNX Runtime's logits
      (3 decimals): the threshold that gives the masks both classes;
  seg CKPT SERIES PREFIX.ort.f32 SEG THRESHOLD -> every SEG frame (pydicom) against the mask
      computed here from ONNX Runtime's logits: sigmoid, bilinear back to the source grid
      (align_corners=False, edges clamped: docs/predict.md), 0..255 rounded, > THRESHOLD x 255,
      undone display orientation; each frame's Referenced SOP Instance UID and Image Position
      (Patient) must be the slice whose logits made it, and a slice whose expected mask is
      empty has no frame. Pixels within 2e-4 of the cut (float noise between ONNX Runtime and
      c2seg) may differ; no other pixel may."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pydicom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingest_truth import bilinear, canonical, dicom_frames  # noqa: E402


def preprocess_of(ckpt):
    out = subprocess.run(["h5dump", "-a", "/preprocess", ckpt], capture_output=True, text=True, check=True).stdout
    return json.loads(re.search(r'\(0\): "(.*)"', out).group(1).replace('\\"', '"'))


def slices(series):
    """[(sop_uid, ipp, hu, iop)] ordered along the normal (single-frame files)."""
    out = []
    for f in sorted(os.listdir(series)):
        ds = pydicom.dcmread(os.path.join(series, f))
        hu, ipp, iop, _ = dicom_frames(ds)[0]
        out.append((ds.SOPInstanceUID, ipp, hu, iop))
    normal = np.cross(out[0][3][:3], out[0][3][3:])
    return sorted(out, key=lambda t: float(np.dot(t[1], normal)))


def inputs(ckpt, series, prefix, text):
    pp = preprocess_of(ckpt)
    S, c, w = int(pp["size"]), float(pp["window_center"]), float(pp["window_width"])
    imgs = []
    for _, _, hu, iop in slices(series):
        x = np.clip((hu - (c - w / 2)) / w, 0, 1).astype(np.float32)
        x = bilinear(canonical(x, iop[:3], iop[3:]), S)
        imgs.append((x - np.float32(pp["mean"])) / np.float32(pp["std"]))
    np.stack(imgs)[:, None].astype("<f4").tofile(prefix + ".image.f32")
    open(prefix + ".captions.txt", "w").write((text + "\n") * len(imgs))


def probs(path, n):
    lg = np.fromfile(path, dtype="<f4").astype(np.float64)
    S = int(round((lg.size // n) ** 0.5))
    return 1.0 / (1.0 + np.exp(-lg.reshape(n, S, S))), S


def up(p, rows, cols):
    """p [S,S] sampled bilinearly at every pixel of a rows x cols grid (align_corners=False)."""
    S = p.shape[0]
    y = np.clip((np.arange(rows) + 0.5) * S / rows - 0.5, 0, S - 1)
    x = np.clip((np.arange(cols) + 0.5) * S / cols - 0.5, 0, S - 1)
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    y1, x1 = np.minimum(y0 + 1, S - 1), np.minimum(x0 + 1, S - 1)
    wy, wx = (y - y0)[:, None], (x - x0)[None, :]
    top = p[y0][:, x0] * (1 - wx) + p[y0][:, x1] * wx
    bot = p[y1][:, x0] * (1 - wx) + p[y1][:, x1] * wx
    return top * (1 - wy) + bot * wy


def seg(ckpt, series, ort, seg_path, threshold):
    th = float(threshold)
    sl = slices(series)
    P, S = probs(ort, len(sl))
    d = pydicom.dcmread(seg_path)
    frames = d.pixel_array.reshape(-1, d.Rows, d.Columns)
    by_uid = {}
    for k, f in enumerate(d.PerFrameFunctionalGroupsSequence):
        uid = f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        ipp = np.array(f.PlanePositionSequence[0].ImagePositionPatient, float)
        assert uid not in by_uid, "two frames reference %s" % uid
        by_uid[uid] = (frames[k], ipp)
    bad, uncertain, fg, total = 0, 0, 0, 0
    for k, (uid, ipp, hu, iop) in enumerate(sl):
        rows, cols = hu.shape
        # where each display pixel comes from in the source plane: the display orientation of an index grid
        where = canonical(np.arange(rows * cols).reshape(rows, cols), iop[:3], iop[3:])
        v = up(P[k], *where.shape)

        def cut(x):
            return np.rint(np.clip(x, 0, 1) * 255) > th * 255
        want_d, lo, hi = cut(v), cut(v - 2e-4), cut(v + 2e-4)
        want, sure = np.zeros(rows * cols, bool), np.zeros(rows * cols, bool)
        want[where.ravel()] = want_d.ravel()
        sure[where.ravel()] = (lo == hi).ravel()
        want, sure = want.reshape(rows, cols), sure.reshape(rows, cols)
        fg += int(want.sum())
        total += want.size
        if uid not in by_uid:
            assert not want[sure].any(), "slice %d (%s): no frame, but %d pixels expected" % (k, uid, want.sum())
            continue
        got, fipp = by_uid.pop(uid)
        assert np.allclose(fipp, ipp, atol=1e-3), "slice %d: frame position %s, slice position %s" % (k, fipp, ipp)
        diff = (got.astype(bool) != want) & sure
        bad += int(diff.sum())
        uncertain += int((~sure).sum())
        if diff.any():
            print("slice %d (%s): %d pixels differ from the judge's mask" % (k, uid, diff.sum()), file=sys.stderr)
    assert not by_uid, "frames reference instances outside the series: %s" % list(by_uid)
    assert bad == 0, "%d pixels differ" % bad
    assert 0.02 < fg / total < 0.98, "expected masks too uniform for the judge to bite (%.3f foreground)" % (fg / total)
    print("%d slices: every frame equals the judge's mask and references its slice (%d foreground pixels, "
          "%d within the float noise band)" % (len(sl), fg, uncertain))


if __name__ == "__main__":
    step = sys.argv[1]
    if step == "inputs":
        inputs(*sys.argv[2:6])
    elif step == "threshold":
        n = os.path.getsize(sys.argv[2]) // 4
        lg = np.fromfile(sys.argv[2], dtype="<f4").astype(np.float64)
        print("%.3f" % float(np.median(1.0 / (1.0 + np.exp(-lg)))))
    elif step == "seg":
        seg(*sys.argv[2:7])
    else:
        raise SystemExit("unknown step " + step)
