#!/bin/sh
# One preset default for every stage, every stage takes every preset, and a checkpoint's
# preset against an explicit --preset (issue 30, defect 3), on a generated cohort
# (c2seg-sample-data NIfTI CT volumes with masks):
#  - ingest without --preset writes 128x128 (small, h5dump of image_size), train without
#    --preset takes that cache; ingest and pretrain take tiny (32x32);
#  - train --init / --resume, eval and predict with a --preset other than the checkpoint's: exit 3,
#    one line naming both presets; with the checkpoint's own preset, or none, they run
#    (train --init without --preset reports the checkpoint's preset);
#  - c2seg run hands its preset to ingest as --preset (dry run).
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_presets
export C2SEG_THREADS=1
size_of() { h5dump -a image_size "$1" 2>/dev/null | sed -n 's/.*(0): *\([0-9]*\).*/\1/p'; }

tl_sample_data "$T/sd" --studies 3 --slices 8 --size 64
"$BIN" ingest "$T/sd/nifti" -o "$T/dflt.h5" -q >/dev/null 2>"$T/err" || bad "ingest: $(cat "$T/err")"
"$BIN" ingest "$T/sd/nifti" -o "$T/n.h5" --preset tiny -q >/dev/null 2>"$T/err" || bad "ingest tiny: $(cat "$T/err")"
[ "$(size_of "$T/dflt.h5")" = 128 ] && ok "ingest's default preset is small (128)" || bad "ingest default: $(size_of "$T/dflt.h5")"
[ "$(size_of "$T/n.h5")" = 32 ] && ok "ingest --preset tiny is 32x32" || bad "ingest tiny: $(size_of "$T/n.h5")"
TR="--epochs 1 --batch 8 --max-steps 1 -q"
"$BIN" train "$T/dflt.h5" -o "$T/dflt.ckpt" $TR >"$T/dflt.json" 2>"$T/err" &&
    grep -q '"preset":"small"' "$T/dflt.json" && ok "train's default preset takes ingest's default cache" ||
    bad "default train: $(cat "$T/err")"
"$BIN" pretrain "$T/n.h5" -o "$T/s1.ckpt" --preset tiny --epochs 1 --batch 16 --max-steps 1 -q >/dev/null 2>"$T/err" &&
    ok "pretrain --preset tiny" || bad "pretrain tiny: $(cat "$T/err")"

refused "--preset small, but .*s1.ckpt is a tiny-preset checkpoint" "train --init: another --preset names both" \
    train "$T/n.h5" -o "$T/x.ckpt" --init "$T/s1.ckpt" --preset small $TR
"$BIN" train "$T/n.h5" -o "$T/i.ckpt" --init "$T/s1.ckpt" $TR >"$T/i.json" 2>"$T/err" &&
    grep -q '"preset":"tiny"' "$T/i.json" && ok "train --init without --preset: the checkpoint's preset" ||
    bad "train --init: $(cat "$T/err") $(cat "$T/i.json")"
"$BIN" train "$T/n.h5" -o "$T/i.ckpt" --init "$T/s1.ckpt" --preset tiny $TR >/dev/null 2>"$T/err" &&
    ok "train --init with the checkpoint's own --preset" || bad "train --init --preset tiny: $(cat "$T/err")"
refused "--preset full, but .*i.ckpt.resume.ckpt is a tiny-preset checkpoint" "train --resume: another --preset names both" \
    train "$T/n.h5" -o "$T/i.ckpt" --resume --preset full $TR
refused "--preset small, but .*i.ckpt is a tiny-preset checkpoint" "eval: another --preset names both" \
    eval "$T/i.ckpt" "$T/n.h5" --preset small -o "$T/x.csv"
"$BIN" eval "$T/i.ckpt" "$T/n.h5" --preset tiny -o "$T/x.csv" >/dev/null 2>"$T/err" &&
    ok "eval with the checkpoint's own --preset" || bad "eval --preset tiny: $(cat "$T/err")"
refused "--preset full, but .*i.ckpt is a tiny-preset checkpoint" "predict: another --preset names both" \
    predict "$T/i.ckpt" "$T/sd/nifti/case01.nii.gz" -o "$T/p" --preset full
"$BIN" predict "$T/i.ckpt" "$T/sd/nifti/case01.nii.gz" -o "$T/p" --preset tiny -q >/dev/null 2>"$T/err" &&
    ok "predict with the checkpoint's own --preset" || bad "predict --preset tiny: $(cat "$T/err")"

mkdir -p "$T/run"
printf 'workdir = w\ntrain = ../sd/nifti\npreset = tiny\n' >"$T/run/run.conf"
"$BIN" run "$T/run/run.conf" --dry-run --only ingest >/dev/null 2>"$T/err"
grep -q "c2seg ingest .*--preset tiny" "$T/err" && ok "run hands its preset to ingest" || bad "run preset: $(cat "$T/err")"

tl_end
