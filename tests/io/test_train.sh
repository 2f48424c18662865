#!/bin/sh
# c2seg pretrain / train / eval on real QaTa images (tiny preset, 32x32, a few steps):
# outputs and logs exist and parse, a killed run resumed with --resume ends with the
# same weights as an uninterrupted one (h5diff), a diverging run stops with a clear
# error, and eval's per-case rows match the split.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_train
SHARED="$C2SEG_SHARED"
export C2SEG_THREADS=1

"$BIN" ingest "$SHARED/data/qata/valid" -o "$T/c.h5" --size 32 -q \
    --captions "$SHARED/data/text/sgseg_qata/annotation.json" >/dev/null 2>&1 &&
    ok "ingest QaTa valid at 32x32" || bad "ingest"

# 1. train: JSON summary, checkpoint, history files
"$BIN" train "$T/c.h5" --preset tiny -o "$T/a.ckpt" --epochs 3 --batch 8 -q >"$T/a.json" 2>"$T/a.err" &&
    ok "train runs" || { bad "train: $(cat "$T/a.err")"; }
python3 - "$T" <<'PY' && ok "summary, log CSV / JSON / SVG" || bad "summary or logs"
import json, sys, csv, xml.dom.minidom
t = sys.argv[1]
s = json.load(open(t + "/a.json"))
assert s["stage"] == "train" and s["epochs_run"] == 3 and s["n_train"] + s["n_valid"] == 200, s
assert "by case" in s["split"], s["split"]
assert 0 <= s["best_val_dice"] <= 1
rows = list(csv.DictReader(open(t + "/a.ckpt.log.csv")))
assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
assert json.load(open(t + "/a.ckpt.log.json"))["epochs"][2]["step"] == int(rows[2]["step"])
xml.dom.minidom.parse(t + "/a.ckpt.log.svg")
PY
h5dump -A "$T/a.ckpt" 2>/dev/null | grep -q '"c2seg-checkpoint"' && ok "checkpoint is HDF5 with its format attribute" ||
    bad "checkpoint format attribute"

# 2. kill after the first epoch, resume, compare with the uninterrupted run
"$BIN" train "$T/c.h5" --preset tiny -o "$T/b.ckpt" --epochs 3 --batch 8 -q >/dev/null 2>&1 &
pid=$!
i=0
while [ ! -f "$T/b.ckpt.resume.ckpt" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
ls "$T" | grep -q '^b.ckpt$' && ok "the killed run left its complete best checkpoint" || bad "no checkpoint after kill"
"$BIN" train "$T/c.h5" --preset tiny -o "$T/b.ckpt" --epochs 3 --batch 8 --resume -q >"$T/b.json" 2>"$T/b.err" &&
    ok "resume completes" || bad "resume: $(cat "$T/b.err")"
h5diff "$T/a.ckpt.resume.ckpt" "$T/b.ckpt.resume.ckpt" /params /params >/dev/null 2>&1 &&
    h5diff "$T/a.ckpt" "$T/b.ckpt" /params /params >/dev/null 2>&1 &&
    ok "resumed run has the same final and best weights as the uninterrupted one" ||
    bad "resumed weights differ (h5diff)"
ls "$T" | grep -q '\.tmp\.' && bad "temporary files left behind" || ok "no temporaries left"

# 3. divergence stops with a clear error and no half-written checkpoint
"$BIN" train "$T/c.h5" --preset tiny -o "$T/n.ckpt" --epochs 2 --batch 8 --lr 1e9 -q >/dev/null 2>"$T/n.err"
rc=$?
[ $rc -eq 3 ] && grep -q "loss became" "$T/n.err" && ok "a NaN loss stops the run with exit 3" ||
    bad "divergence: rc=$rc $(cat "$T/n.err")"

# 4. Stage I, then Stage II from it
"$BIN" pretrain "$T/c.h5" --preset tiny -o "$T/s1.ckpt" --epochs 2 --batch 64 -q >"$T/s1.json" 2>"$T/s1.err" &&
    "$BIN" train "$T/c.h5" --init "$T/s1.ckpt" -o "$T/i.ckpt" --epochs 1 --batch 8 -q >/dev/null 2>>"$T/s1.err" &&
    ok "pretrain then train --init" || bad "pretrain / init: $(cat "$T/s1.err")"
python3 -c "import json,sys; d=json.load(open('$T/s1.json')); sys.exit(0 if d['stage']=='pretrain' and 0<=d['retrieval_accuracy']<=1 else 1)" &&
    ok "pretrain summary reports retrieval accuracy" || bad "pretrain summary"
# pretrain --init starts from the given weights: one step at a vanishing learning rate leaves
# the encoder's convolution weights as they were; a seeded start differs from them
w=/params/enc1.conv1.weight
"$BIN" pretrain "$T/c.h5" --preset tiny --init "$T/s1.ckpt" -o "$T/s1i.ckpt" --max-steps 1 --lr 1e-30 --batch 64 -q \
    >/dev/null 2>"$T/s1i.err" && h5diff "$T/s1.ckpt" "$T/s1i.ckpt" $w $w >/dev/null 2>&1 &&
    ok "pretrain --init starts from the checkpoint's weights" || bad "pretrain --init: $(cat "$T/s1i.err")"
"$BIN" pretrain "$T/c.h5" --preset tiny -o "$T/s1s.ckpt" --max-steps 1 --lr 1e-30 --batch 64 -q >/dev/null 2>&1 &&
    ! h5diff "$T/s1.ckpt" "$T/s1s.ckpt" $w $w >/dev/null 2>&1 &&
    ok "without --init, pretrain starts from the seeded initialisation" || bad "pretrain without --init"

# 5. eval: one CSV row per validation case, summary with consistency
"$BIN" eval "$T/a.ckpt" "$T/c.h5" -o "$T/cases.csv" >"$T/e.json" 2>"$T/e.err" && ok "eval runs" ||
    bad "eval: $(cat "$T/e.err")"
python3 - "$T" <<'PY' && ok "eval rows and summary agree" || bad "eval rows or summary"
import json, sys, csv
t = sys.argv[1]
s = json.load(open(t + "/e.json")); a = json.load(open(t + "/a.json"))
rows = list(csv.DictReader(open(t + "/cases.csv")))
assert len(rows) == s["n"] == a["n_valid"], (len(rows), s["n"], a["n_valid"])
assert abs(sum(float(r["dice"]) for r in rows) / len(rows) - s["dice"]) < 1e-6
assert abs(s["dice"] - a["best_val_dice"]) < 1e-9, (s["dice"], a["best_val_dice"])
assert s["consistency_gt_vs_text"]["n"] == len(rows)
PY
# the quality gate recounted from the CSV rows, at 0.5 and at the rows' median Dice (both
# classes present); a bad threshold is a usage error
med=$(python3 -c "import csv,statistics;print(statistics.median(float(r['dice']) for r in csv.DictReader(open('$T/cases.csv'))))")
"$BIN" eval "$T/a.ckpt" "$T/c.h5" -o "$T/cases2.csv" --gate-dice "$med" >"$T/e2.json" 2>"$T/e.err" ||
    bad "eval --gate-dice: $(cat "$T/e.err")"
"$BIN" eval "$T/a.ckpt" "$T/c.h5" --gate-dice 2 >/dev/null 2>"$T/e.err"
[ $? -eq 2 ] && grep -q gate-dice "$T/e.err" && ok "eval --gate-dice 2 refused" || bad "eval --gate-dice 2 accepted"
python3 - "$T" <<'PY' && ok "eval quality gate equals the recount from its rows" || bad "eval quality gate"
import json, sys, csv
t = sys.argv[1]
for js, cs in (("e.json", "cases.csv"), ("e2.json", "cases2.csv")):
    g = json.load(open(t + "/" + js))["quality_gate"]
    th = g["dice_threshold"]
    rows = [r for r in csv.DictReader(open(t + "/" + cs)) if r["pred_consistent"] != "-1"]
    tp = sum(1 for r in rows if r["pred_consistent"] == "0" and float(r["dice"]) < th)
    fp = sum(1 for r in rows if r["pred_consistent"] == "0" and float(r["dice"]) >= th)
    fn = sum(1 for r in rows if r["pred_consistent"] == "1" and float(r["dice"]) < th)
    assert (g["n"], g["tp"], g["fp"], g["fn"]) == (len(rows), tp, fp, fn), (js, g, tp, fp, fn)
    assert g["precision"] == (tp / (tp + fp) if tp + fp else None), g
    assert g["recall"] == (tp / (tp + fn) if tp + fn else None), g
    print("  gate at %.4f: n %d tp %d fp %d fn %d" % (th, len(rows), tp, fp, fn))
PY

tl_end
