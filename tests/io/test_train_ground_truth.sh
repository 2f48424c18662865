#!/bin/sh
# Training needs ground truth (issue 30, defect 2), on a generated cohort
# (c2seg-sample-data: NIfTI CT volumes with masks; its DICOM CT series with their SEG ground
# truth removed, i.e. studies as a PACS holds them before anyone annotated them):
#  - a training split with no mask at all: exit 3, no checkpoint, and the message says
#    how to bring masks (NIfTI pairs, PNG / JPEG folders);
#  - a split where some samples lack one: the run goes on with a warning giving counts
#    (the split's size from the JSON summary);
#  - pretrain (no masks needed) still runs on the unannotated cache.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_train_ground_truth
export C2SEG_THREADS=1

tl_sample_data "$T/sd" --studies 3 --slices 8 --size 64
n_seg=$(find "$T/sd/dicom" -name '*.seg.dcm' | wc -l)
find "$T/sd/dicom" -name '*.seg.dcm' -delete
[ "$n_seg" -gt 0 ] && ok "the generator's SEG ground truth removed ($n_seg files)" || bad "the generator wrote no SEG"
"$BIN" ingest "$T/sd/dicom" -o "$T/d.h5" --size 32 -q >/dev/null 2>"$T/err" &&
    "$BIN" ingest "$T/sd/nifti" "$T/sd/dicom" -o "$T/mix.h5" --size 32 -q >/dev/null 2>>"$T/err" ||
    bad "ingest: $(cat "$T/err")"
TR="--preset tiny --epochs 1 --batch 8 --max-steps 2 -q"

refused "d.h5: none of the [0-9]* training samples has a ground-truth mask.*NAME_mask.nii.gz.*PNG.*DICOM SEG" \
    "no ground truth in the training split: exit 3 naming how to bring masks" train "$T/d.h5" -o "$T/d.ckpt" $TR
[ -e "$T/d.ckpt" ] && bad "a checkpoint was written without ground truth" || ok "no checkpoint without ground truth"
"$BIN" pretrain "$T/d.h5" -o "$T/s1.ckpt" --preset tiny --epochs 1 --batch 16 --max-steps 1 -q >/dev/null 2>"$T/err" &&
    ok "pretrain needs no masks" || bad "pretrain: $(cat "$T/err")"

"$BIN" train "$T/mix.h5" -o "$T/mix.ckpt" $TR >"$T/mix.json" 2>"$T/err"
rc=$?
# the warning's counts: N = the training split of the summary, 0 < X < N
n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['n_train'])" "$T/mix.json" 2>/dev/null)
x=$(sed -n "s/.*mix.h5: \([0-9]*\) of $n training samples have no ground-truth mask.*/\1/p" "$T/err")
[ $rc -eq 0 ] && [ -n "$x" ] && [ "$x" -gt 0 ] && [ "$x" -lt "$n" ] &&
    ok "some samples without ground truth: a warning with the counts ($x of $n)" ||
    bad "partial ground truth: exit $rc, n=$n x=$x: $(cat "$T/err")"

tl_end
