# Truth for the viewer check (tests/io/test_viewer.sh), by pydicom alone: a case folder for
# tests/node/viewer/run.js. Usage: viewer_truth.py NAME SEG OUT_DIR SOURCE...
#                                  viewer_truth.py swap SEG OUT_SEG
# (swap: a copy of SEG whose first two frames with different pixel counts trade their
# Referenced SOP Instance UIDs: served with the truth of SEG, the page must object)
# OUT_DIR gets links seg.dcm and src/NNN.dcm (the sources in the order given) and case.json:
#   {name, seg, sources: [{url, sop}], segments: [{number, label}],
#    frames: [{segment, refSOP, count, wsum, rsum, csum}]}
# count = pixels != 0 in the SEG frame, wsum = the sum of (flat index + 1) over them, so a
# pixel on another place of the same frame changes it; rsum / csum = the sums of their rows
# and columns (the page places the overlay's centroid with them). SOP UIDs come from the files here,
# never from the page's loader.
import json, os, sys
import numpy as np, pydicom

if sys.argv[1] == "swap":
    s = pydicom.dcmread(sys.argv[2])
    px = s.pixel_array.reshape(int(s.NumberOfFrames), -1)
    counts = [int(np.count_nonzero(f)) for f in px]
    a = 0
    b = next(i for i in range(1, len(counts)) if counts[i] != counts[a])
    ref = [g.DerivationImageSequence[0].SourceImageSequence[0] for g in s.PerFrameFunctionalGroupsSequence]
    ref[a].ReferencedSOPInstanceUID, ref[b].ReferencedSOPInstanceUID = ref[b].ReferencedSOPInstanceUID, ref[a].ReferencedSOPInstanceUID
    s.save_as(sys.argv[3])
    print("swapped the references of frames %d and %d (%d and %d pixels)" % (a + 1, b + 1, counts[a], counts[b]))
    sys.exit(0)
name, seg_path, out, sources = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
os.makedirs(os.path.join(out, "src"), exist_ok=True)
os.symlink(os.path.abspath(seg_path), os.path.join(out, "seg.dcm"))
srcs = []
for i, p in enumerate(sources):
    link = "src/%03d.dcm" % i
    os.symlink(os.path.abspath(p), os.path.join(out, link))
    srcs.append({"url": link, "sop": str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)})
s = pydicom.dcmread(seg_path)
rows, cols, nf = int(s.Rows), int(s.Columns), int(getattr(s, "NumberOfFrames", 1))
px = s.pixel_array.reshape(nf, rows * cols)
frames = []
for f, g in enumerate(s.PerFrameFunctionalGroupsSequence):
    nz = np.flatnonzero(px[f])
    r, c = np.divmod(nz, cols)
    ref = g.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
    frames.append({"segment": int(g.SegmentIdentificationSequence[0].ReferencedSegmentNumber),
                   "refSOP": str(ref), "count": int(nz.size), "wsum": int((nz + 1).sum()),
                   "rsum": int(r.sum()), "csum": int(c.sum())})
segments = [{"number": int(x.SegmentNumber), "label": str(x.SegmentLabel)} for x in s.SegmentSequence]
with open(os.path.join(out, "case.json"), "w") as fh:
    json.dump({"name": name, "seg": "seg.dcm", "sources": srcs, "segments": segments, "frames": frames}, fh)
print("%s: %d segment(s), %d frames, %d with foreground, %d pixels" % (
    name, len(segments), len(frames), sum(1 for f in frames if f["count"]), sum(f["count"] for f in frames)))
