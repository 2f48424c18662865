#!/bin/sh
# The cache content of `c2seg ingest` on the real DICOM and NIfTI files of ../shared/data,
# judged by pydicom / nibabel / numpy through tests/io/ingest_truth.py (the cache is read
# with h5dump only): slice order along the normal, source_to_patient, HU through the window
# and the documented orientation + resize, multi-frame = its single-frame series, CR / DX
# (MONOCHROME1, odd-length Pixel Data), every compressed file, every broken file reported.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_ingest_dicom
TRUTH="$C2SEG_SOURCE/tests/io/ingest_truth.py"
S="$C2SEG_SHARED/data"
D="$S/dicom"
ingest() { # ingest NAME EXPECTED-EXIT INPUTS... (small preset)
    name=$1 want=$2
    shift 2
    "$BIN" ingest "$@" -o "$T/$name.h5" --preset small -q >"$T/$name.json" 2>"$T/$name.err"
    check "$name: exit $want" "$([ $? -eq "$want" ]; echo $?)"
}

# --- CT series: order, geometry, HU -> window -> orientation -> resize ---
ingest ct3 0 "$D/ct_series/dcmqi_ct-3slice"
$PY "$TRUTH" ct "$T/ct3.h5" "$D"/ct_series/dcmqi_ct-3slice/0*.dcm ; check "dcmqi_ct-3slice vs pydicom" $?
ingest ct16 0 "$D/ct_series/pydicom_CT2_16x16"
$PY "$TRUTH" ct "$T/ct16.h5" "$D"/ct_series/pydicom_CT2_16x16/1* ; check "pydicom_CT2_16x16 vs pydicom" $?

# --- 23x38x3 (odd width) and 24x38x3: the series and its multi-frame object ---
for sz in 23x38x3 24x38x3; do
    ingest "img$sz" 0 "$D/odd_size/$sz/image"
    $PY "$TRUTH" ct "$T/img$sz.h5" "$D/odd_size/$sz"/image/IMG000*.dcm ; check "$sz series vs pydicom" $?
    ingest "mf$sz" 0 "$D/odd_size/$sz/multiframe/mf.dcm"
    $PY "$TRUTH" ct "$T/mf$sz.h5" "$D/odd_size/$sz/multiframe/mf.dcm" ; check "$sz multi-frame vs pydicom" $?
    $PY "$TRUTH" same_images "$T/img$sz.h5" "$T/mf$sz.h5" ; check "$sz multi-frame = its series" $?
done

# --- Enhanced CT with functional groups (rescale only in the shared groups) ---
ingest ect 0 "$D/multiframe/eCT_Supplemental.dcm"
$PY "$TRUTH" ct "$T/ect.h5" "$D/multiframe/eCT_Supplemental.dcm" ; check "eCT_Supplemental vs pydicom" $?
# --- Enhanced MR without functional groups ---
# (its 10 frames have no positions: time / cine frames are never stacked as slices; MR is
# only ingested when --modality admits it; so is a classic MR Image Storage object with 4
# time frames at one Image Position, made here from MR_small.dcm)
ingest emri_default 3 "$D/multiframe/emri_small.dcm"
grep -q 'emri_small.dcm	modality MR is not admitted' "$T/emri_default.h5.report.tsv" ; check "MR not admitted by default" $?
ingest emri 3 "$D/multiframe/emri_small.dcm" --modality MR
grep -q 'emri_small.dcm	10 frames of one object without distinct positions .* never stacked as slices' \
    "$T/emri.h5.report.tsv" ; check "emri_small: frames never stacked" $?
$PY -c 'import sys, pydicom
d = pydicom.dcmread(sys.argv[1]); d.NumberOfFrames = 4; d.PixelData = d.PixelData * 4; d.save_as(sys.argv[2])' \
    "$D/compressed/MR_small.dcm" "$T/mr_cine.dcm"
ingest mr_cine 3 "$T/mr_cine.dcm" --modality all
grep -q 'mr_cine.dcm	4 frames of one object without distinct positions' "$T/mr_cine.h5.report.tsv" ; check "classic MR with time frames: never stacked" $?

# --- CR / DX: MONOCHROME1, odd-length DX, JPEG 2000 CR ---
ingest xray 0 "$D/xray"
$PY "$TRUTH" xray "$T/xray.h5" "$D/xray" ; check "CR / DX vs pydicom" $?

# --- every compressed transfer syntax: frames per file (pydicom) ---
# (the folder holds the same instances in several encodings: one per SOP Instance UID is
# kept, each other one is decoded, compared and reported as the same image)
ingest comp 1 "$D/compressed" --modality all
$PY "$TRUTH" counts "$T/comp.h5" "$T/comp.h5.report.tsv" "$D"/compressed/*.dcm ; check "compressed: frames per file" $?
check "compressed: only the same images under one UID and the multi-frame MR without positions reported" \
    "$([ "$(grep -vcE 'same image as|never stacked as slices' "$T/comp.h5.report.tsv")" -eq 1 ] &&
        [ "$(grep -c 'same image as' "$T/comp.h5.report.tsv")" -eq 7 ]; echo $?)"
# lossless decoders give the original's pixels: 693_J2KR = 693_UNCR, MR_small_* = MR_small
ingest j2kr 0 "$D/compressed/693_J2KR.dcm"
ingest uncr 0 "$D/compressed/693_UNCR.dcm"
$PY "$TRUTH" same_images "$T/j2kr.h5" "$T/uncr.h5" ; check "693 J2K lossless = uncompressed" $?
ingest mr 0 "$D/compressed/MR_small.dcm" --modality MR
for v in RLE bigendian jp2klossless jpeg_ls_lossless; do
    ingest "mr_$v" 0 "$D/compressed/MR_small_$v.dcm" --modality MR
    $PY "$TRUTH" same_images "$T/mr.h5" "$T/mr_$v.h5" ; check "MR_small_$v = MR_small" $?
done

# --- broken files: each one is ingested or has exactly its own report line, no crash ---
ingest broken 1 "$D/broken"
for f in "$D"/broken/*; do
    n=$(grep -c "^$f	" "$T/broken.h5.report.tsv")
    k=0
    h5dump -d /samples/file "$T/broken.h5" 2>/dev/null | grep -q "\"$f\"" && k=1
    check "broken/$(basename "$f"): one report line or ingested" "$([ "$n" -eq 1 ] || [ "$k" -ge 1 ]; echo $?)"
done

# --- NIfTI: slices in the documented orientation vs nibabel's axis codes ---
ingest nii 0 "$S/nifti/anatomical.nii" "$S/nifti/reoriented_anat_moved.nii" "$S/nifti/standard.nii.gz" --intensity raw
$PY "$TRUTH" nifti "$T/nii.h5" "$S/nifti/anatomical.nii" "$S/nifti/reoriented_anat_moved.nii" "$S/nifti/standard.nii.gz"
check "NIfTI slices vs nibabel orientation" $?

tl_end
