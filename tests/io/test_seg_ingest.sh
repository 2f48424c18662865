#!/bin/sh
# DICOM SEG as ground truth in `c2seg ingest`: the same truth given as NIfTI masks and as
# DICOM SEGs (the sample-data generator writes both for each study) gives identical cache
# masks (and images); real SEGs from ../shared/data with --label (dcmqi's liver, by label
# and by SRT code; highdicom's overlapping segments by number); a SEG whose series is not
# among the inputs, a --label that matches nothing, and a SEG given with the wrong series
# are reported with their reasons, never guessed. Judge of the cache: h5dump.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_seg_ingest
S="$C2SEG_SHARED/data/dicom"
export C2SEG_THREADS=1
ones() { h5_values "$1" /masks | tr -c '1' '\n' | grep -c 1; }

tl_sample_data "$T/sd" --studies 2 --size 64 --slices 6

# 1. NIfTI truth and SEG truth: identical cache masks and images
"$BIN" ingest "$T/sd/nifti" -o "$T/n.h5" --size 32 -q >/dev/null 2>"$T/n.err"
check "ingest NIfTI: exit 0" $?
"$BIN" ingest "$T/sd/dicom" -o "$T/d.h5" --size 32 -q >"$T/d.json" 2>"$T/d.err"
check "ingest CT + SEG + SR: exit 0 ($(cat "$T/d.err"))" $?
grep -q '"series_with_seg_truth":2' "$T/d.json"
check "both series got their SEG masks" $?
[ "$(h5_values "$T/n.h5" /masks)" = "$(h5_values "$T/d.h5" /masks)" ]
check "cache masks: SEG = NIfTI" $?
[ "$(ones "$T/d.h5")" -gt 50 ]
check "cache masks hold the lesions ($(ones "$T/d.h5") pixels)" $?
[ "$(h5_values "$T/n.h5" /has_mask)" = "$(h5_values "$T/d.h5" /has_mask)" ] && ! h5_values "$T/d.h5" /has_mask | grep -q 0
check "has_mask set on every slice" $?
[ "$(h5_values "$T/n.h5" /images)" = "$(h5_values "$T/d.h5" /images)" ]
check "cache images: DICOM = NIfTI" $?
h5_values "$T/d.h5" /samples/mask_file | grep -q 'SEG/truth.seg.dcm'
check "mask_file names the SEG" $?

# 2. real SEGs: dcmqi's liver by label and by its SRT type code; by default it is not a lesion
mkdir -p "$T/liver" && cp "$S"/ct_series/dcmqi_ct-3slice/*.dcm "$S/seg/dcmqi_liver.dcm" "$T/liver/"
"$BIN" ingest "$T/liver" -o "$T/l1.h5" --size 32 --label Liver -q >/dev/null 2>"$T/l1.err"
check "liver --label Liver: exit 0 ($(cat "$T/l1.err"))" $?
[ "$(ones "$T/l1.h5")" -gt 20 ]
check "liver mask in the cache ($(ones "$T/l1.h5") pixels)" $?
"$BIN" ingest "$T/liver" -o "$T/l2.h5" --size 32 --label SRT:T-62000 -q >/dev/null 2>&1
[ "$(h5_values "$T/l1.h5" /masks)" = "$(h5_values "$T/l2.h5" /masks)" ]
check "--label by code = by label" $?
"$BIN" ingest "$T/liver" -o "$T/l3.h5" --size 32 -q >/dev/null 2>"$T/l3.err"
rc=$?
[ $rc -eq 1 ] && grep -q 'dcmqi_liver.dcm: no segment coded as lesion or infection' "$T/l3.err"
check "default --label: the liver SEG is reported, the CT ingested (rc $rc: $(cat "$T/l3.err"))" $?
"$BIN" ingest "$T/liver" -o "$T/l4.h5" --size 32 --label tumour -q >/dev/null 2>"$T/l4.err"
grep -q 'label tumour: no segment matches (segments: 1 "Liver"' "$T/l4.err"
check "--label without a match names the segments" $?

# 3. highdicom's two overlapping segments on CT2: segment 2 alone, and both merged
mkdir -p "$T/overlap" && cp "$S"/ct_series/pydicom_CT2_16x16/* "$S/seg/seg_image_ct_binary_overlap.dcm" "$T/overlap/"
"$BIN" ingest "$T/overlap" -o "$T/o2.h5" --size 16 --label 2 -q >/dev/null 2>&1
"$BIN" ingest "$T/overlap" -o "$T/o12.h5" --size 16 --label 1,2 -q >/dev/null 2>&1
n2=$(ones "$T/o2.h5")
n12=$(ones "$T/o12.h5")
[ "$n2" -gt 0 ] && [ "$n12" -ge "$n2" ]
check "overlapping segments: 2 alone ($n2) within 1+2 merged ($n12)" $?

# 4. a SEG without its series, and one given with another series: reported, not guessed
mkdir -p "$T/alone" && cp "$S/seg/dcmqi_liver.dcm" "$S"/odd_size/23x38x3/image/*.dcm "$T/alone/"
"$BIN" ingest "$T/alone" -o "$T/a.h5" --size 32 --label Liver -q >/dev/null 2>"$T/a.err"
rc=$?
[ $rc -eq 1 ] && grep -q 'dcmqi_liver.dcm: DICOM SEG whose source series .* is not among the inputs' "$T/a.err"
check "SEG without its series: reported (rc $rc: $(cat "$T/a.err"))" $?
/usr/bin/python3 -c 'import sys, pydicom
d = pydicom.dcmread(sys.argv[1])
for g in d.PerFrameFunctionalGroupsSequence:
    p = g.PlanePositionSequence[0]
    p.ImagePositionPatient = [p.ImagePositionPatient[0], p.ImagePositionPatient[1], float(p.ImagePositionPatient[2]) + 3]
    del g.DerivationImageSequence
d.save_as(sys.argv[2])' "$S/seg/dcmqi_liver.dcm" "$T/shifted.dcm"
mkdir -p "$T/shift" && cp "$S"/ct_series/dcmqi_ct-3slice/*.dcm "$T/shifted.dcm" "$T/shift/"
"$BIN" ingest "$T/shift" -o "$T/s.h5" --size 32 --label Liver -q >/dev/null 2>"$T/s.err"
grep -q 'shifted.dcm: SEG .* frame 1 at .* lands on no source slice' "$T/s.err"
check "SEG frames off the slices: reported ($(cat "$T/s.err"))" $?
[ "$(ones "$T/s.h5")" -eq 0 ]
check "no mask was guessed" $?

tl_end
