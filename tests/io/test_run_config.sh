#!/bin/sh
# `c2seg run CONFIG` on a small generated cohort (3 studies, tiny preset, 2 steps):
#  - config errors: unknown key, bad value, duplicate key, missing workdir -> exit 2 and
#    a message naming the file and line;
#  - a full run exits 0, writes the model, eval, SEG (judged by dciodvfy: no Error line),
#    NIfTI mask (judged by nibabel: the source affine), report.json and status.tsv (one
#    "done" row per predicted case, judged against predictions.json by python);
#  - a re-run skips every stage (outputs' mtimes unchanged, judged by stat);
#  - touching one predict input re-runs predict and report only;
#  - --only eval --force runs eval alone;
#  - a run killed during training resumes with --resume and finishes.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_run_config
mtime() { stat -c %Y.%y "$1" 2>/dev/null; }

tl_sample_data "$T/sd" --studies 3 --slices 8 --size 64
mkdir -p "$T/train" && for c in case01 case02; do
    ln -s "$T/sd/nifti/$c.nii.gz" "$T/sd/nifti/${c}_mask.nii.gz" "$T/train/"
done

# 1. config errors
expect_usage() { # NAME EXPECTED-TEXT: config body on stdin
    cat >"$T/$1.conf"
    "$BIN" run "$T/$1.conf" >/dev/null 2>"$T/$1.err"
    rc=$?
    if [ "$rc" = 2 ] && grep -q -- "$2" "$T/$1.err"; then ok; else bad "$1: exit $rc, $(cat "$T/$1.err")"; fi
}
printf 'workdir = w\ntrain = train\nepochz = 3\n' | expect_usage unknown "$T/unknown.conf:3: unknown key 'epochz'"
printf 'workdir = w\ntrain = train\nepochs = many\n' | expect_usage badint "badint.conf:3: epochs = 'many': not a non-negative integer"
printf 'workdir = w\ntrain = train\npreset = huge\n' | expect_usage badchoice "badchoice.conf:3: preset = 'huge'"
printf 'workdir = w\ntrain = train\n\nepochs = 1\nepochs = 2\n' | expect_usage twice "twice.conf:5: key 'epochs' is set twice (first on line 4)"
printf '# no workdir\ntrain = train\n' | expect_usage noworkdir "'workdir' is required"
printf 'workdir = w\ntrain train\n' | expect_usage noequals "noequals.conf:2: expected 'key = value'"
printf 'workdir = w\ntrain = train\n\npull_study = 1.2.3\n' | expect_usage pullquery "pullquery.conf:4: 'pull_study' is a query for 'pull', which is not set"
printf 'workdir = w\nmodel = m.ckpt\n' | expect_usage nothingtodo "'model' is set but neither 'predict' nor 'pull' is"
"$BIN" run "$T/absent.conf" >/dev/null 2>"$T/absent.err"
[ $? = 2 ] && grep -q "absent.conf: cannot open" "$T/absent.err" && ok || bad "missing config: $(cat "$T/absent.err")"

# 2. a full run (paths relative to the config's folder)
cat >"$T/run.conf" <<'EOF'
# tiny smoke run of the whole chain
workdir = work
train = train
predict = sd/dicom/case03
predict = sd/nifti/case03.nii.gz
preset = tiny
epochs = 3
max_steps = 2
batch = 8
threads = 1
overlays = yes
EOF
W="$T/work"
"$BIN" run "$T/run.conf" >"$T/run1.json" 2>"$T/run1.err"
rc=$?
[ "$rc" = 0 ] && ok || { bad "full run exit $rc"; tail -20 "$T/run1.err" >&2; }
for f in cohort.h5 model.ckpt eval.csv predict/predictions.json predict/report.json status.tsv logs/train.json; do
    [ -s "$W/$f" ] && ok || bad "missing $W/$f"
done
seg=$(find "$W/predict" -name '*.seg.dcm' | head -1)
if [ -n "$seg" ] && dciodvfy "$seg" 2>"$T/vfy.log" >/dev/null && ! grep -q '^Error' "$T/vfy.log"; then ok; else
    bad "SEG '$seg' fails dciodvfy: $(grep '^Error' "$T/vfy.log" | head -3)"
fi
$PY - "$W" "$T/sd/nifti/case03.nii.gz" <<'EOF' && ok || bad "status.tsv / NIfTI affine (see above)"
import csv, json, os, sys
import nibabel as nib, numpy as np
w, src = sys.argv[1], sys.argv[2]
pred = json.load(open(os.path.join(w, "predict/predictions.json")))
rows = list(csv.DictReader(open(os.path.join(w, "status.tsv")), delimiter="\t"))
done = [r for r in rows if r["status"] == "done"]
assert len(pred["cases"]) == 2 and len(done) == 2, (len(pred["cases"]), rows)
assert {r["outputs"] for r in done} == {c["outputs"]["mask"] for c in pred["cases"]}, rows
nii = [c for c in pred["cases"] if c["outputs"]["mask_type"] == "nifti"][0]
m = nib.load(os.path.join(w, "predict", nii["outputs"]["mask"]))
assert np.allclose(m.affine, nib.load(src).affine, atol=1e-4), (m.affine, nib.load(src).affine)
summary = json.loads(open(os.path.join(w, "logs/train.json")).read())
assert summary["steps"] == 2, summary
EOF

# 3. a re-run skips everything and touches no output
m1=$(mtime "$W/model.ckpt") p1=$(mtime "$W/predict/predictions.json")
"$BIN" run "$T/run.conf" >"$T/run2.json" 2>"$T/run2.err"
rc=$?
n=$(grep -c ': up to date' "$T/run2.err")
[ "$rc" = 0 ] && [ "$n" = 5 ] && [ "$(mtime "$W/model.ckpt")" = "$m1" ] && [ "$(mtime "$W/predict/predictions.json")" = "$p1" ] &&
    ok || bad "re-run: exit $rc, $n stages up to date (want 5), outputs touched?"

# 4. a changed predict input re-runs predict and report only
sleep 1 && touch "$T/sd/nifti/case03.nii.gz"
"$BIN" run "$T/run.conf" >"$T/run3.json" 2>"$T/run3.err"
ran=$(grep -o 'run: [a-z]*: running' "$T/run3.err" | awk '{print $2}' | tr -d : | tr '\n' ' ')
[ "$ran" = "predict report " ] && [ "$(mtime "$W/model.ckpt")" = "$m1" ] && ok || bad "after touch ran '$ran'"

# 5. one stage alone
"$BIN" run "$T/run.conf" --only eval --force >"$T/run4.json" 2>"$T/run4.err"
ran=$(grep -o 'run: [a-z]*: running' "$T/run4.err" | awk '{print $2}' | tr -d : | tr '\n' ' ')
[ "$ran" = "eval " ] && ok || bad "--only eval ran '$ran'"
"$BIN" run "$T/run.conf" --only nosuch >/dev/null 2>&1
[ $? = 2 ] && ok || bad "--only nosuch is not a usage error"

# 6. a killed training run resumes (same config: the key must match). The kill waits for
# the observable event (the resume file, written at the end of epoch 1, up to 120 s on a
# slow machine); the run has 20 epochs (an epoch is 30-300 ms here), so the 19 left cannot
# all finish in the 20 ms polling gap before the kill (a margin of 30x or more).
sed -e 's/^epochs = 3$/epochs = 20/' -e '/^max_steps/d' -e 's/^workdir = work/workdir = work2/' \
    -e '/^predict/d' "$T/run.conf" >"$T/long.conf"
grep -q '^epochs = 20$' "$T/long.conf" || bad "long.conf does not ask for 20 epochs"
setsid "$BIN" run "$T/long.conf" >/dev/null 2>"$T/long1.err" &
runner=$!
i=0
while [ ! -s "$T/work2/model.ckpt.resume.ckpt" ] && [ $i -lt 6000 ]; do sleep 0.02; i=$((i + 1)); done
kill -TERM "-$runner" 2>/dev/null
wait "$runner" 2>/dev/null
if [ -s "$T/work2/model.ckpt.resume.ckpt" ] && [ ! -e "$T/work2/stamps/train.stamp" ]; then
    "$BIN" run "$T/long.conf" >"$T/long2.json" 2>"$T/long2.err"
    rc=$?
    [ "$rc" = 0 ] && grep -q 'train: resuming (killed run found)' "$T/long2.err" &&
        grep -q -- 'model.ckpt .*--resume' "$T/long2.err" && [ -s "$T/work2/model.ckpt" ] &&
        ok || bad "resume: exit $rc, $(grep 'run:' "$T/long2.err" | head -5)"
else
    bad "the long run was not killed during training (resume file missing or train finished)"
fi

tl_end
