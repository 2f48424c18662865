#!/bin/sh
# Crash safety: `c2seg ingest`, `train` (tiny preset, few steps) and `predict` are killed
# with SIGKILL at random points, several times each. After every kill the output folder
# may hold only complete files (judged by h5dump, gzip, Pillow, dcmdump, Python's json)
# or temporaries ("NAME.tmp.PID"); then a rerun (train: --resume) must complete.
# C2SEG_KILL_SEED picks the kill times (printed, so a failure can be replayed).
set -u
B="${C2SEG_BIN:?}"
T="${C2SEG_BUILD:?}/test-tmp/kill"
D="${C2SEG_SHARED:?}/data"
PY=/usr/bin/python3
SEED="${C2SEG_KILL_SEED:-$$}"
ROUNDS="${C2SEG_KILL_ROUNDS:-3}"
rm -rf "$T"
mkdir -p "$T/ref"
echo "kill seed $SEED, $ROUNDS rounds per stage"
# The PNG judge is Pillow (python3-pil, scripts/install-deps): without it every PNG would
# read as "incomplete", so a missing judge stops the test here with its own message.
$PY -c 'from PIL import Image' 2>/dev/null || { echo "FAIL: the PNG judge is missing: $PY has no Pillow (python3-pil)"; exit 1; }
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# A delay in seconds in [lo, hi), from the seed and the counter k (kept by the caller:
# this runs in a subshell).
k=0
delay() {
    awk -v s="$SEED" -v k="$k" -v lo="$1" -v hi="$2" 'BEGIN { srand(s * 1000 + k); printf "%.2f", lo + rand() * (hi - lo) }'
}

# Every file under $1 is a temporary or a complete file of its kind.
check_outputs() {
    find "$1" -type f | while read -r f; do
        case "$f" in
        *.tmp.*) continue ;;
        *.h5 | *.ckpt) h5dump -H "$f" >/dev/null 2>&1 || echo "incomplete HDF5: $f" ;;
        *.json) $PY -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" 2>/dev/null || echo "incomplete JSON: $f" ;;
        *.gz) gzip -t "$f" 2>/dev/null || echo "incomplete gzip: $f" ;;
        *.png) $PY -c 'import sys; from PIL import Image; Image.open(sys.argv[1]).load()' "$f" 2>/dev/null ||
            echo "incomplete PNG: $f" ;;
        *.dcm) dcmdump -q "$f" >/dev/null 2>&1 || echo "incomplete DICOM: $f" ;;
        *.tsv | *.csv) [ ! -s "$f" ] || [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ] ||
            echo "half-written table: $f" ;;
        esac
    done >"$T/check.txt"
    if [ -s "$T/check.txt" ]; then
        fail "$2: $(cat "$T/check.txt" | head -3)"
    fi
}

# kill_run NAME LO HI -- command...: starts the command, SIGKILLs it after a random delay.
kill_run() {
    name="$1"; lo="$2"; hi="$3"; shift 3
    k=$((k + 1))
    d=$(delay "$lo" "$hi")
    "$@" >"$T/$name.out" 2>"$T/$name.err" &
    pid=$!
    sleep "$d"
    if kill -9 "$pid" 2>/dev/null; then
        echo "$name: killed after $d s"
    else
        echo "$name: finished before $d s"
    fi
    wait "$pid" 2>/dev/null
}

# ---- ingest ----
IN="$D/covid_ct_slices"
"$B" ingest "$IN" --size 32 -o "$T/ref/cohort.h5" -q >"$T/ref.json" 2>"$T/ref.err" || { fail "reference ingest"; cat "$T/ref.err"; }
ref_samples=$(sed -n 's/.*"samples":\([0-9]*\).*/\1/p' "$T/ref.json")
for r in $(seq "$ROUNDS"); do
    mkdir -p "$T/ingest"
    kill_run "ingest$r" 0.1 3 "$B" ingest "$IN" --size 32 -o "$T/ingest/cohort.h5" -q
    check_outputs "$T/ingest" "ingest round $r"
    "$B" ingest "$IN" --size 32 -o "$T/ingest/cohort.h5" -q >"$T/ingest_rerun.json" 2>"$T/ingest_rerun.err" ||
        fail "ingest rerun after round $r"
    s=$(sed -n 's/.*"samples":\([0-9]*\).*/\1/p' "$T/ingest_rerun.json")
    [ "$s" = "$ref_samples" ] || fail "ingest rerun: $s samples, the uninterrupted run had $ref_samples"
    check_outputs "$T/ingest" "ingest rerun $r"
    rm -rf "$T/ingest"
done

# ---- train (tiny preset) with --resume ----
TRAIN="--preset tiny --epochs 2 --batch 4 --max-steps 60 --threads 1 -q"
for r in $(seq "$ROUNDS"); do
    rm -rf "$T/train"
    mkdir -p "$T/train"
    # shellcheck disable=SC2086
    kill_run "train$r" 0.3 4 "$B" train "$T/ref/cohort.h5" -o "$T/train/model.ckpt" $TRAIN
    check_outputs "$T/train" "train round $r"
    if [ -f "$T/train/model.ckpt.resume.ckpt" ]; then
        # shellcheck disable=SC2086
        "$B" train "$T/ref/cohort.h5" -o "$T/train/model.ckpt" $TRAIN --resume >"$T/train_resume.out" 2>"$T/train_resume.err" ||
            { fail "train --resume after round $r"; tail -3 "$T/train_resume.err"; }
    else
        # shellcheck disable=SC2086
        "$B" train "$T/ref/cohort.h5" -o "$T/train/model.ckpt" $TRAIN >"$T/train_resume.out" 2>"$T/train_resume.err" ||
            { fail "train rerun after round $r"; tail -3 "$T/train_resume.err"; }
    fi
    [ -f "$T/train/model.ckpt" ] || fail "train round $r: no checkpoint after the rerun"
    check_outputs "$T/train" "train rerun $r"
done
MODEL="$T/train/model.ckpt"

# ---- predict ----
PIN="$D/covid_ct_slices/Imgs"
for r in $(seq "$ROUNDS"); do
    rm -rf "$T/predict"
    kill_run "predict$r" 0.2 4 "$B" predict "$MODEL" "$PIN" --text "Bilateral pulmonary infection." -o "$T/predict" -q
    [ -d "$T/predict" ] && check_outputs "$T/predict" "predict round $r"
    "$B" predict "$MODEL" "$PIN" --text "Bilateral pulmonary infection." -o "$T/predict" -q >"$T/predict_rerun.out" \
        2>"$T/predict_rerun.err" || { fail "predict rerun after round $r"; tail -3 "$T/predict_rerun.err"; }
    [ -f "$T/predict/predictions.json" ] || fail "predict rerun $r: no predictions.json"
    check_outputs "$T/predict" "predict rerun $r"
done

echo "$failed failures"
[ "$failed" -eq 0 ]
