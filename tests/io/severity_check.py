"""Judges the severity records `c2seg predict` adds to CT volumes (used by test_predict):
argv = OUTDIR SAMPLE_DIR STATED_CATEGORY. For each NIfTI case (nibabel) the lesion voxels
equal the nonzero voxels of the written mask; the lung (lung mask united with the lesion)
holds at least 99 % of the voxels in the generator's lung band [-950, -750] HU and at most
(band + ground-truth lesion) / 0.95 + lesion voxels (the generator draws lungs at -850 HU,
air at -1000 HU: test_severity_cohort's judge); percent = 100 * lesion / lung, the MosMedData
category of it (0 %, < 25, < 50, < 75, >= 75), stated "CT<k>", agree and category_diff
recomputed here. A DICOM CT case (pydicom) gets a record whose lung holds 99 % of its band.
Then report.json's cohort severity block: n, n_stated and agree_rate recounted. Prints
"ok N" (N cases judged) or what differs."""
import glob, json, os, sys
import nibabel as nb
import numpy as np
import pydicom

out, sample, stated = sys.argv[1], sys.argv[2], int(sys.argv[3])
cases = json.load(open(out + "/predictions.json"))["cases"]
errs, n = [], 0


def cat(p):
    return 0 if p == 0 else 1 if p < 25 else 2 if p < 50 else 3 if p < 75 else 4


for c in cases:
    s = c.get("severity")
    if s is None:
        errs.append("%s: no severity record" % c["id"])
        continue
    n += 1
    src = c["inputs"][0]
    if c["kind"] == "nifti":
        hu = np.asanyarray(nb.load(src).dataobj)
        les = int((np.asanyarray(nb.load(out + "/" + c["outputs"]["mask"]).dataobj) > 0).sum())
        gt = int((np.asanyarray(nb.load(src.replace(".nii.gz", "_mask.nii.gz")).dataobj) > 0).sum())
        if s["lesion_voxels"] != les: errs.append("%s: lesion %d, mask has %d" % (c["id"], s["lesion_voxels"], les))
    else:
        ds = [pydicom.dcmread(f) for f in sorted(c["inputs"])]
        hu = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in ds])
        les, gt = s["lesion_voxels"], None
    band = int(((hu >= -950) & (hu <= -750)).sum())
    lung = s["lung_voxels"]
    if lung < 0.99 * band: errs.append("%s: lung %d < 99 %% of band %d" % (c["id"], lung, band))
    if gt is not None and lung > (band + gt) / 0.95 + les: errs.append("%s: lung %d too large" % (c["id"], lung))
    pct = 100.0 * les / lung if lung else 0.0
    if abs(s["percent"] - pct) > 1e-9 or s["category"] != cat(pct): errs.append("%s: %s vs %.6f" % (c["id"], s, pct))
    if s["stated"] != "CT%d" % stated or s["agree"] != (cat(pct) == stated) or \
            s["category_diff"] != abs(cat(pct) - stated):
        errs.append("%s: statement %s" % (c["id"], s))
rep = json.load(open(out + "/report.json"))["cohort"].get("severity")
agree = [c["severity"]["agree"] for c in cases if c.get("severity")]
if not rep or rep["n"] != len(agree) or rep["n_stated"] != len(agree) or \
        abs(rep["agree_rate"] - sum(agree) / len(agree)) > 1e-12:
    errs.append("report severity %s vs %s" % (rep, agree))
html = open(out + "/report.html").read()
if '<table id="severity">' not in html or "<td>%d</td><td>%d</td>" % (len(agree), len(agree)) not in html:
    errs.append("report.html severity table")
print("ok %d" % n if not errs else "bad: " + "; ".join(errs))
