"""nifti_two_forms.py write DIR | affine FILE.nii.gz

write: three NIfTI files of one 40 x 24 x 3 volume (a bright block in slice 1, rows
j < 8, columns i < 12), written by nibabel:
  both.nii.gz        sform (code 2) = S, qform (code 1) = Q, S != Q (S flips x, Q does not)
  sform_only.nii.gz  sform S, qform code 0
  qform_only.nii.gz  qform Q, sform code 0
and S.txt (the 4x4 sform, the affine NIfTI's precedence rule says a reader must use).
affine: prints the file's sform if its code is set, else its qform, one row per line."""
import sys
import numpy as np
import nibabel as nib

S = np.array([[-2.0, 0, 0, 40], [0, 1.5, 0, -20], [0, 0, 3, 5], [0, 0, 0, 1]])
Q = np.array([[2.0, 0, 0, -38], [0, 1.5, 0, -20], [0, 0, 3, 5], [0, 0, 0, 1]])

if sys.argv[1] == "write":
    d = sys.argv[2]
    vol = np.full((40, 24, 3), -1000.0, dtype=np.float32)
    vol[:12, :8, 1] = 1000.0
    for name, s, q in (("both", S, Q), ("sform_only", S, None), ("qform_only", None, Q)):
        img = nib.Nifti1Image(vol, None)
        img.set_sform(s, code=2 if s is not None else 0)
        img.set_qform(q, code=1 if q is not None else 0)
        if s is None:
            img.header.set_sform(None, code=0)
        nib.save(img, "%s/%s.nii.gz" % (d, name))
    np.savetxt(d + "/S.txt", S)
else:
    img = nib.load(sys.argv[2])
    h = img.header
    A = h.get_sform() if int(h["sform_code"]) > 0 else h.get_qform()
    for r in A:
        print(" ".join("%.6f" % v for v in r))
