#!/bin/sh
# Log hygiene of the DICOM readers: DCMTK's own "W: ..." / "E: ..." lines (e.g. "The VR
# checker does not support this Specific Character Set: ISO_IR 192" on every UTF-8 SR,
# dcmsr's item-by-item complaints) never reach stderr; our one warning per invalid SR
# does. Inputs: ../shared/data/dicom/sr (UTF-8 and invalid SRs). And the specific
# reasons for an empty file and for pixels kept only in a private element.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_dicom_logs
S="$C2SEG_SHARED/data/dicom"

"$BIN" sr-text "$S/sr" >"$T/sr.json" 2>"$T/sr.err"
check "sr-text: exit 0 or 1" "$([ $? -le 1 ]; echo $?)"
grep -qE '^(W|E|F|I|D|T): ' "$T/sr.err"
check "sr-text: no DCMTK log lines ($(grep -cE '^(W|E): ' "$T/sr.err") found)" "$([ $? -ne 0 ]; echo $?)"
grep -q 'reportsi.dcm: SR content is invalid' "$T/sr.err"
check "sr-text: our warning for the invalid SR" $?
"$BIN" ingest "$S/sr" "$S/ct_single" -o "$T/c.h5" --preset small -q >/dev/null 2>"$T/ingest.err"
grep -qE '^(W|E|F|I|D|T): ' "$T/ingest.err"
check "ingest of SRs: no DCMTK log lines" "$([ $? -ne 0 ]; echo $?)"

# specific reasons: an empty file, and a CT whose pixels sit in a private element (pydicom
# moves CT_small's Pixel Data to (7FE1,1010) under a GE creator)
mkdir -p "$T/odd"
: >"$T/odd/empty.dcm"
/usr/bin/python3 -c 'import sys, pydicom
d = pydicom.dcmread(sys.argv[1])
d.private_block(0x7FE1, "GEMS_Ultrasound_MovieGroup_001", create=True).add_new(0x10, "OB", d.PixelData)
del d.PixelData
d.save_as(sys.argv[2])' "$S/ct_single/CT_small.dcm" "$T/odd/private_pixels.dcm"
"$BIN" ingest "$T/odd" -o "$T/odd.h5" -q >/dev/null 2>"$T/odd.err"
grep -q 'empty.dcm	empty file (0 bytes)' "$T/odd.h5.report.tsv"
check "empty file: its own reason" $?
grep -q 'private_pixels.dcm	pixel data only in a private element: not decodable' "$T/odd.h5.report.tsv"
check "pixels in a private element: its own reason" $?

# predict says each series warning once (its ingest and its SEG writer both group the
# series: pydicom_CT2_16x16 has a 202 mm gap). The model: a tiny CT-domain (HU) checkpoint
# trained on the real NIfTI volume with its label (train refuses a cache without ground
# truth, and the CT series has none)
export C2SEG_THREADS=1
"$BIN" ingest "$C2SEG_SHARED/data/nifti/anatomical.nii" -o "$T/ct.h5" --size 32 -q >/dev/null 2>&1 &&
    "$BIN" train "$T/ct.h5" -o "$T/m.ckpt" --preset tiny --epochs 1 -q >/dev/null 2>&1
check "a tiny model" $?
"$BIN" predict "$T/m.ckpt" "$S/ct_series/pydicom_CT2_16x16" -o "$T/pred" -q >/dev/null 2>"$T/pred.err"
check "predict: exit 0" $?
n=$(grep -c 'warning: series .*: gap of 202 mm' "$T/pred.err")
check "predict: the gap warning once (got $n)" "$([ "$n" -eq 1 ]; echo $?)"
check "predict: no warning line twice" "$([ -z "$(grep warning "$T/pred.err" | sort | uniq -d)" ]; echo $?)"

tl_end
