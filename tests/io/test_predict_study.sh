#!/bin/sh
# The study path of `c2seg predict` (issues 27 and 28):
#  - ground_truth.dice is the Dice on the SOURCE grid, where the truth is: recomputed here by
#    pydicom / nibabel / numpy alone (tests/io/predict_dice_judge.py) from the written SEG /
#    NIfTI mask and the truth SEG / NIfTI mask of c2seg-sample-data's cohort, with the
#    default options and with --text-decode --threshold 0.3 and --fractional;
#  - on partial masks (a model trained 20 steps), the severity record of each DICOM CT case (lesion
#    and lung voxels) equals tests/io/severity_judge.py's exact recount (pydicom / numpy / scipy:
#    the lung rule of dicom-sr/lung_mask.h from the source HU), on the sample series and on a
#    real CT series cropped to 509 x 507 (bit packing across unaligned frame boundaries);
#  - the peak memory does not grow with the series: a real CT slice of ../shared/data
#    (dcmqi_ct-3slice, 512 x 512, halved to 256 x 256 here by pydicom) repeated into a 40- and
#    a 160-slice series; predict's peak RSS (the process; its sandbox workers are not counted)
#    on the 160-slice series is at most 12 MiB above the 40-slice one. Before the streaming
#    study path it grew by about 11 bytes a voxel (~ 85 MiB here).
set -u
PY=/usr/bin/python3          # Debian's python3 with pydicom / nibabel / numpy
BIN="$C2SEG_BIN"
T="$C2SEG_BUILD/test-tmp/test_predict_study"
rm -rf "$T" && mkdir -p "$T" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*" >&2; }
bad() { fail=$((fail + 1)); echo "FAIL $*" >&2; }
export C2SEG_THREADS=1

"$C2SEG_BUILD/c2seg-sample-data" -o "$T/sd" --studies 2 --slices 8 --size 64 >/dev/null 2>"$T/gen.log" &&
    "$BIN" ingest "$T/sd/dicom" -o "$T/d.h5" --size 32 -q >/dev/null 2>"$T/err" &&
    "$BIN" train "$T/d.h5" -o "$T/m.ckpt" --preset tiny --epochs 1 --batch 8 --max-steps 2 -q >/dev/null 2>>"$T/err" ||
    { cat "$T/gen.log" "$T/err" >&2; echo "FAIL: sample data / checkpoint" >&2; exit 1; }

# ---- Dice on the source grid, judged independently ----
for opts in "" "--text-decode --threshold 0.3" "--fractional"; do
    rm -rf "$T/p"
    # shellcheck disable=SC2086
    "$BIN" predict "$T/m.ckpt" "$T/sd/dicom" "$T/sd/nifti" -o "$T/p" -q $opts >/dev/null 2>"$T/err"
    rc=$?
    if [ $rc -eq 0 ] && $PY "$C2SEG_SOURCE/tests/io/predict_dice_judge.py" "$T/p" >"$T/judge" 2>&1; then
        ok "source-grid Dice = the judge's ($opts): $(grep -c '^ok' "$T/judge") cases"
    else
        bad "source-grid Dice ($opts): rc=$rc $(cat "$T/err" "$T/judge")"
    fi
done

# ---- series made from the real CT (pydicom): 40 and 160 slices halved to 256 x 256 (peak RSS),
# 6 slices cropped to 509 x 507 (a plane of 258063 pixels, not a multiple of 8) ----
$PY - "$C2SEG_SHARED/data/dicom/ct_series/dcmqi_ct-3slice" "$T" <<'EOF' || { echo "FAIL: series generation" >&2; exit 1; }
import os, sys
import pydicom
from pydicom.uid import generate_uid
src, out = sys.argv[1], sys.argv[2]
files = [pydicom.dcmread(os.path.join(src, f)) for f in sorted(os.listdir(src))]
z0 = float(files[0].ImagePositionPatient[2])


def series(name, n, first_only, crop, scale, dz):
    folder = os.path.join(out, name)
    os.makedirs(folder)
    uid, study = generate_uid(), generate_uid()
    for i in range(n):
        d = files[0 if first_only else i % len(files)].copy()
        px = crop(d.pixel_array).copy()
        d.Rows, d.Columns = px.shape
        d.PixelSpacing = [float(v) * scale for v in d.PixelSpacing]
        d.PixelData = px.tobytes()
        d.StudyInstanceUID, d.SeriesInstanceUID = study, uid
        d.SOPInstanceUID = generate_uid()
        d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
        d.InstanceNumber = i + 1
        d.ImagePositionPatient = [float(v) for v in d.ImagePositionPatient[:2]] + [z0 - dz * i]
        d.SliceLocation = z0 - dz * i
        d.save_as(os.path.join(folder, "%04d.dcm" % (i + 1)))


for n in (40, 160):
    series("s%d" % n, n, True, lambda a: a[::2, ::2], 2, 2.0)
series("odd", 6, False, lambda a: a[1:510, 2:509], 1, 1.25)
EOF

# ---- severity and SEG on partial masks, judged independently ----
# A model trained harder (20 steps at lr 0.03) predicts partial masks; on the sample DICOM
# series (64 x 64) and on the cropped real CT ("odd": the bit packing's unaligned paths), each
# case's severity record
# (lesion and lung voxels) must equal tests/io/severity_judge.py's (pydicom / scipy), and the
# sample series' source-grid Dice predict_dice_judge.py's.
"$BIN" train "$T/d.h5" -o "$T/m2.ckpt" --preset tiny --epochs 20 --batch 8 --max-steps 20 --lr 0.03 -q \
    >/dev/null 2>"$T/err" || { cat "$T/err" >&2; echo "FAIL: the second checkpoint" >&2; exit 1; }
rm -rf "$T/p2"
"$BIN" predict "$T/m2.ckpt" "$T/sd/dicom" "$T/odd" -o "$T/p2" -q >/dev/null 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && $PY "$C2SEG_SOURCE/tests/io/severity_judge.py" "$T/p2" >"$T/judge" 2>&1 &&
    $PY "$C2SEG_SOURCE/tests/io/predict_dice_judge.py" "$T/p2" >>"$T/judge" 2>&1; then
    # at least one case whose lesion is neither empty nor the whole lung: the lung is counted
    partial=$(awk '$1 == "ok" && NF == 4 && $3 > 0 && $3 < $4' "$T/judge" | wc -l)
    if [ "$partial" -ge 1 ]; then
        ok "severity records = the judge's on partial masks ($(grep -c '^ok' "$T/judge") checks, $partial partial)"
    else
        bad "no partial mask to judge the severity on: $(cat "$T/judge")"
    fi
else
    bad "severity / Dice on partial masks: rc=$rc $(cat "$T/err" "$T/judge")"
fi

# ---- peak RSS flat in the series length ----
peak() {   # peak RSS (KiB) of one predict run on series $1; 0 when it fails
    $PY - "$BIN" "$T/m.ckpt" "$T/$1" "$T/o$1" <<'EOF'
import resource, subprocess, sys
b, ckpt, series, out = sys.argv[1:]
r = subprocess.run([b, "predict", ckpt, series, "-o", out, "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r.returncode == 0 else 0)
EOF
}
p40=$(peak s40)
p160=$(peak s160)
slices=$($PY -c "import json; print(json.load(open('$T/os160/predictions.json'))['cases'][0]['slices'])" 2>/dev/null)
if [ -n "${ASAN_OPTIONS:-}" ] && [ "$p40" -gt 0 ] && [ "$p160" -gt 0 ] && [ "$slices" = 160 ]; then
    # scripts/test-sanitize: ASan's quarantine keeps freed memory (as in test_ingest_parallel)
    ok "both series predicted (sanitizer run: the peak RSS bound is not checked; ${p40} vs ${p160} KiB)"
elif [ "$p40" -gt 0 ] && [ "$p160" -gt 0 ] && [ "$slices" = 160 ] && [ $((p160 - p40)) -le 12288 ]; then
    ok "peak RSS 40 slices ${p40} KiB, 160 slices ${p160} KiB (+$((p160 - p40)) KiB, at most 12 MiB)"
else
    bad "peak RSS grows with the series: 40 slices ${p40} KiB, 160 slices ${p160} KiB ($slices slices predicted)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
