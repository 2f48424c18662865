#!/bin/sh
# The preprocessing travels from the cache to the checkpoint and is checked wherever a
# checkpoint meets data (issue 30, defect 6), on a generated cohort (c2seg-sample-data
# NIfTI CT volumes with masks, tiny preset):
#  - train records the cache's CT window, domain and size (h5dump of the checkpoint's
#    preprocess attribute); predict windows with it: its inputs equal those of
#    `ingest --window` with the training window (h5diff /images) and predictions.json
#    records the window;
#  - eval, train --init (a Stage-I checkpoint) and train --resume refuse a cache of
#    another window centre, window width, size or intensity domain: exit 3, one line
#    naming both files and both values, one case per parameter and stage.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_preprocess_match
export C2SEG_THREADS=1
ing() { # OUT ARGS...
    out=$1
    shift
    "$BIN" ingest "$@" -o "$T/$out" -q >/dev/null 2>"$T/ingest.err" || bad "ingest $out: $(cat "$T/ingest.err")"
}

tl_sample_data "$T/sd" --studies 3 --slices 8 --size 64
ing n.h5 "$T/sd/nifti" --preset tiny --window -1000,2000        # the training window
ing n_c.h5 "$T/sd/nifti" --preset tiny --window -600,2000       # another centre
ing n_w.h5 "$T/sd/nifti" --preset tiny --window -1000,1500      # another width
ing n_s.h5 "$T/sd/nifti" --size 48 --window -1000,2000          # another size
ing n_r.h5 "$T/sd/nifti" --preset tiny --intensity raw          # another intensity domain
TR="--preset tiny --epochs 1 --batch 8 --max-steps 1 -q"

"$BIN" train "$T/n.h5" -o "$T/m.ckpt" $TR >/dev/null 2>"$T/err" || bad "train: $(cat "$T/err")"
"$BIN" pretrain "$T/n.h5" -o "$T/s1.ckpt" --preset tiny --epochs 1 --batch 16 --max-steps 1 -q >/dev/null 2>"$T/err" ||
    bad "pretrain: $(cat "$T/err")"
h5dump -a preprocess "$T/m.ckpt" 2>/dev/null | tr -d ' \\' >"$T/pre.txt"
grep -q '"window_center":-1000,"window_width":2000' "$T/pre.txt" && grep -q '"intensity_domain":"ct_hu","size":32' "$T/pre.txt" &&
    ok "the checkpoint records the cache's window, domain and size" || bad "preprocess attribute: $(cat "$T/pre.txt")"
"$BIN" eval "$T/m.ckpt" "$T/n.h5" -o "$T/e.csv" >/dev/null 2>"$T/err" && ok "eval on the training window" ||
    bad "eval: $(cat "$T/err")"
"$BIN" train "$T/n.h5" -o "$T/i.ckpt" --init "$T/s1.ckpt" $TR >/dev/null 2>"$T/err" &&
    ok "train --init on the Stage-I cache" || bad "train --init: $(cat "$T/err")"

W="was trained on CT windowed at centre -1000 HU, width 2000 HU, but"
refused "m.ckpt $W .*n_c.h5 was ingested with centre -600, width 2000; re-ingest it with --window -1000,2000" \
    "eval: window centre" eval "$T/m.ckpt" "$T/n_c.h5" -o "$T/x.csv"
refused "m.ckpt $W .*n_w.h5 was ingested with centre -1000, width 1500" "eval: window width" \
    eval "$T/m.ckpt" "$T/n_w.h5" -o "$T/x.csv"
refused "m.ckpt takes 32x32 input but .*n_s.h5 holds 48x48 samples" "eval: size" eval "$T/m.ckpt" "$T/n_s.h5" -o "$T/x.csv"
refused "m.ckpt was trained on 'ct_hu' input but .*n_r.h5 holds 'raw' input" "eval: intensity domain" \
    eval "$T/m.ckpt" "$T/n_r.h5" -o "$T/x.csv"
refused "s1.ckpt $W .*n_c.h5 was ingested with centre -600" "train --init: window centre" \
    train "$T/n_c.h5" -o "$T/x.ckpt" --init "$T/s1.ckpt" $TR
refused "s1.ckpt $W .*n_w.h5 was ingested with centre -1000, width 1500" "train --init: window width" \
    train "$T/n_w.h5" -o "$T/x.ckpt" --init "$T/s1.ckpt" $TR
refused "s1.ckpt was trained on 'ct_hu' input but .*n_r.h5 holds 'raw'" "train --init: intensity domain" \
    train "$T/n_r.h5" -o "$T/x.ckpt" --init "$T/s1.ckpt" $TR
refused "m.ckpt.resume.ckpt $W .*n_c.h5 was ingested with centre -600" "train --resume: window centre" \
    train "$T/n_c.h5" -o "$T/m.ckpt" --resume $TR
refused "m.ckpt.resume.ckpt $W .*n_w.h5 was ingested with centre -1000, width 1500" "train --resume: window width" \
    train "$T/n_w.h5" -o "$T/m.ckpt" --resume $TR
refused "m.ckpt.resume.ckpt was trained on 'ct_hu' input but .*n_r.h5 holds 'raw'" "train --resume: intensity domain" \
    train "$T/n_r.h5" -o "$T/m.ckpt" --resume $TR
refused "m.ckpt.resume.ckpt takes 32x32 input but .*n_s.h5 holds 48x48" "train --resume: size" \
    train "$T/n_s.h5" -o "$T/m.ckpt" --resume --epochs 1 --batch 8 --max-steps 1 -q

"$BIN" predict "$T/m.ckpt" "$T/sd/nifti/case03.nii.gz" -o "$T/p" -q >/dev/null 2>"$T/err" || bad "predict: $(cat "$T/err")"
ing c3.h5 "$T/sd/nifti/case03.nii.gz" --preset tiny --window -1000,2000
h5diff "$T/c3.h5" "$T/p/inputs.h5" /images /images >/dev/null 2>&1 &&
    ok "predict's inputs are windowed as the training cache (h5diff /images)" || bad "predict window (h5diff)"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d['window_center'], d['window_width']) == (-1000, 2000) else 1)" \
    "$T/p/predictions.json" && ok "predictions.json records the window" || bad "predictions.json window"

tl_end
