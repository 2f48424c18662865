#!/bin/sh
# One writer per output (base/lock.c): `c2seg run`, `train` and `predict` hold an flock on
# WORKDIR/.c2seg.lock, CHECKPOINT.lock and OUTDIR/.c2seg.lock for their whole run.
#  - a second `run` on a workdir in use exits 3 at once and names the holder's pid;
#  - a second `train` on the checkpoint the first run's training writes: the same;
#  - `predict` on an output folder locked by another process (flock(1)) exits 3;
#    with --wait it waits for the holder and then completes;
#  - kill -9 of a running `run` (its whole process group), then a run that completes: the
#    kernel dropped the dead holder's lock, the stale lock file is taken over; a finished
#    run leaves no lock file (a holder removes it);
#  - a `train --wait` whose holder removes the lock file as it releases it locks the new
#    file at the path (flock(1) on it then fails), not the removed one.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_lock
tl_need flock

tl_sample_data "$T/sd" --studies 3 --slices 8 --size 64
mkdir -p "$T/train" && for c in case01 case02; do
    ln -s "$T/sd/nifti/$c.nii.gz" "$T/sd/nifti/${c}_mask.nii.gz" "$T/train/"
done
cat >"$T/long.conf" <<'CONF'
workdir = work
train = train
preset = tiny
epochs = 200
batch = 8
threads = 1
CONF
W="$T/work"
# waits (up to 120 s) until FILE holds a holder line; prints its pid
holder_pid() {
    i=0
    while [ $i -lt 6000 ]; do
        p=$(cut -d' ' -f1 "$1" 2>/dev/null)
        [ -n "$p" ] && { echo "$p"; return 0; }
        sleep 0.02
        i=$((i + 1))
    done
    return 1
}

# 1. two runs on one workdir; two trainings of one checkpoint
setsid "$BIN" run "$T/long.conf" >/dev/null 2>"$T/holder.err" &
runner=$!
pid=$(holder_pid "$W/.c2seg.lock") || bad "the first run never wrote $W/.c2seg.lock"
[ "$pid" = "$runner" ] && ok || bad "lock file names pid '$pid', the run is $runner"
"$BIN" run "$T/long.conf" >/dev/null 2>"$T/second.err"
rc=$?
[ "$rc" = 3 ] && grep -q "work/.c2seg.lock: in use by another c2seg (pid $runner run" "$T/second.err" && ok ||
    bad "second run: exit $rc, $(cat "$T/second.err")"
tpid=$(holder_pid "$W/model.ckpt.lock") || bad "the run's training never wrote $W/model.ckpt.lock"
"$BIN" train "$W/cohort.h5" -o "$W/model.ckpt" --preset tiny --epochs 1 -q >/dev/null 2>"$T/train2.err"
rc=$?
[ "$rc" = 3 ] && grep -q "model.ckpt.lock: in use by another c2seg (pid $tpid train" "$T/train2.err" && ok ||
    bad "second train: exit $rc, $(cat "$T/train2.err")"

# 2. kill -9 of the holder (run and its training), then a run that completes
kill -KILL "-$runner" 2>/dev/null
wait "$runner" 2>/dev/null
[ -s "$W/.c2seg.lock" ] && ok || bad "the killed run's lock file should still name it (stale)"
sed -e 's/^epochs = 200$/epochs = 1/' "$T/long.conf" >"$T/short.conf"
"$BIN" run "$T/short.conf" >"$T/after.json" 2>"$T/after.err"
rc=$?
[ "$rc" = 0 ] && [ -s "$W/model.ckpt" ] && ok || bad "run after kill -9: exit $rc, $(tail -5 "$T/after.err")"
[ ! -e "$W/.c2seg.lock" ] && [ ! -e "$W/model.ckpt.lock" ] && ok ||
    bad "a finished run leaves its lock files: $(ls "$W"/*.lock "$W"/.c2seg.lock 2>&1)"

# 2b. a holder removes its lock file while still holding it (as c2_lock_release does): a
# train that waited on that file must lock the path anew, or a third process could lock
# the new file while train believes it holds the lock
P="$T/retry.ckpt.lock"
flock "$P" sh -c 'sleep 1; rm -f "$1"' sh "$P" &
fl=$!
sleep 0.3
"$BIN" train "$W/cohort.h5" -o "$T/retry.ckpt" --preset tiny --epochs 200 --wait -q >/dev/null 2>"$T/retry.err" &
tr=$!
wait "$fl"
i=0
while [ $i -lt 500 ] && [ -z "$(cut -d' ' -f1 "$P" 2>/dev/null)" ]; do sleep 0.02; i=$((i + 1)); done
[ "$(cut -d' ' -f1 "$P" 2>/dev/null)" = "$tr" ] && ok || bad "train --wait never locked the new $P"
flock -n "$P" true && bad "a second process locked $P while train --wait holds the lock" || ok
kill -KILL "$tr" 2>/dev/null
wait "$tr" 2>/dev/null

# 3. predict: refused on a locked output folder, --wait waits for the holder
mkdir -p "$T/pred"
flock "$T/pred/.c2seg.lock" sleep 3 &
fl=$!
sleep 0.5
"$BIN" predict "$W/model.ckpt" "$T/sd/nifti/case03.nii.gz" -o "$T/pred" -q >/dev/null 2>"$T/pred1.err"
rc=$?
[ "$rc" = 3 ] && grep -q "pred/.c2seg.lock: in use by another c2seg (pid unknown)" "$T/pred1.err" && ok ||
    bad "predict on a locked folder: exit $rc, $(cat "$T/pred1.err")"
[ ! -e "$T/pred/predictions.json" ] && ok || bad "the refused predict wrote predictions.json"
t0=$(date +%s)
"$BIN" predict "$W/model.ckpt" "$T/sd/nifti/case03.nii.gz" -o "$T/pred" --wait >/dev/null 2>"$T/pred2.err"
rc=$?
t1=$(date +%s)
kill -0 "$fl" 2>/dev/null && bad "predict --wait finished while the holder still runs"
wait "$fl"
[ "$rc" = 0 ] && [ -s "$T/pred/predictions.json" ] && grep -q "waiting for it" "$T/pred2.err" && ok ||
    bad "predict --wait: exit $rc after $((t1 - t0)) s, $(cat "$T/pred2.err")"

tl_end
