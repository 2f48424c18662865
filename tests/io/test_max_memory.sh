#!/bin/sh
# --max-memory (issue 29, resource limits): the planner fits the work to the limit.
#  - predict of a 24-slice CT series (c2seg-sample-data DICOM, small preset, a model trained
#    one step): unlimited at --batch 8, then with a limit half way between that run's peak
#    RSS and a --batch 1 run's (or the planner's own floor, when higher: what it holds plus
#    one slice or one ingest job, as its refusals of 1 MiB say): the summary's batch is lower, the peak resident memory
#    (/usr/bin/time, the largest of c2seg and its sandbox workers) stays under the limit
#    (not checked under the sanitizers: ASan's shadow memory is not planned for),
#    and the SEG's frames (pydicom) and predictions.json's per-case numbers equal the
#    unlimited run's;
#  - a limit too small for one slice: exit 3, one error line naming the limit, no output folder;
#    an explicit --batch that does not fit: exit 3 naming --batch;
#  - ingest: a limit 1.5 jobs above what it holds (its own refusal of 1M says) gives jobs 1
#    (default: the CPUs, 2 here) and the same cache
#    (h5diff), too small: exit 3, one line, no cache; train: 3/4 of the peak of a batch of 8
#    computes the batch in shards (its warning), a too small limit exits 3;
#  - c2seg run's max_memory key reaches the stages (too small: the ingest stage fails).
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_max_memory
export C2SEG_THREADS=1
# peak RSS in bytes of a command (its stdout to $T/out.json, stderr to $T/err)
peak() { /usr/bin/time -f '%M' -o "$T/rss" "$@" >"$T/out.json" 2>"$T/err"; r=$?; echo $(($(tail -1 "$T/rss") * 1024)); return $r; }

"$C2SEG_BUILD/c2seg-sample-data" -o "$T/sd" --studies 2 --slices 24 --size 64 >/dev/null 2>"$T/gen.log" ||
    { cat "$T/gen.log" >&2; echo "FAIL: sample data" >&2; exit 1; }
"$BIN" ingest "$T/sd/nifti" -o "$T/n.h5" --preset small -q >/dev/null 2>"$T/err" &&
    "$BIN" train "$T/n.h5" -o "$T/m.ckpt" --preset small --epochs 1 --max-steps 1 --batch 4 -q >/dev/null 2>>"$T/err" ||
    { cat "$T/err" >&2; echo "FAIL: a model" >&2; exit 1; }
SERIES=$(dirname "$(find "$T/sd/dicom/case01" -name '*.dcm' ! -path '*SEG*' ! -path '*SR*' | head -1)")

R8=$(peak "$BIN" predict "$T/m.ckpt" "$SERIES" -o "$T/p8" --batch 8 -q) || bad "predict --batch 8: $(cat "$T/err")"
R1=$(peak "$BIN" predict "$T/m.ckpt" "$SERIES" -o "$T/p1" --batch 1 -q) || bad "predict --batch 1: $(cat "$T/err")"
# The planner counts before any batch what the process holds plus the larger of one slice per
# forward pass and one ingest job (their refusals of 1 MiB name each): its estimates, not the
# measured peaks, so a limit below that floor is refused however low batch 1 peaks. The limit is
# half way between batch 1's peak (or that floor, when higher) and batch 8's.
"$BIN" predict "$T/m.ckpt" "$SERIES" -o "$T/p0" --max-memory 1M -q >/dev/null 2>"$T/err"
PH=$(sed -n 's/.* \([0-9.]*\) MiB is held already.*/\1/p' "$T/err")
PS=$(sed -n 's/.* needs \([0-9.]*\) MiB more.*/\1/p' "$T/err")
"$BIN" ingest "$SERIES" -o "$T/i0.h5" --max-memory 1M -q >/dev/null 2>"$T/err"
PJ=$(sed -n 's/.* one ingest job needs \([0-9.]*\) MiB more.*/\1/p' "$T/err")
FLOOR=$($PY -c "import sys; print(int((float(sys.argv[1]) + max(float(sys.argv[2]), float(sys.argv[3]))) * 1048576))" \
    "${PH:-0}" "${PS:-0}" "${PJ:-0}")
LOW=$R1
[ "$FLOOR" -gt "$LOW" ] && LOW=$FLOOR
LIMIT=$(((R8 + LOW) / 2))
[ "$FLOOR" -lt "$R8" ] || bad "the planner's floor ($FLOOR bytes: held ${PH:-?} + max(slice ${PS:-?}, ingest job ${PJ:-?}) MiB) is not under batch 8's peak $R8"
echo "peak RSS: batch 8 $R8, batch 1 $R1, planner's floor $FLOOR, limit $LIMIT" >&2
if [ "$R8" -gt $((R1 + 8 * 1048576)) ]; then ok "batch 8 needs more than batch 1 ($R8 > $R1 bytes)"
else bad "batch 8 ($R8) is not clearly above batch 1 ($R1): the test cannot show the planner"; fi
RL=$(peak "$BIN" predict "$T/m.ckpt" "$SERIES" -o "$T/pl" --max-memory "$LIMIT" -q) ||
    bad "predict --max-memory $LIMIT: $(cat "$T/err")"
B=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['batch'])" "$T/out.json" 2>/dev/null)
if [ -n "$B" ] && [ "$B" -lt 8 ] && [ "$B" -ge 1 ]; then ok "the planner took batch $B under $LIMIT bytes"
else bad "batch '$B' under the limit (wanted 1..7)"; fi
if [ -n "${ASAN_OPTIONS:-}" ]; then   # scripts/test-sanitize: shadow memory and quarantine are not planned for
    echo "  (sanitizer run: peak RSS $RL against the limit $LIMIT not checked)" >&2
elif [ "$RL" -le "$LIMIT" ]; then ok "peak RSS $RL <= limit $LIMIT"; else bad "peak RSS $RL over the limit $LIMIT"; fi
grep -q "max-memory: batch $B instead of 8" "$T/err" && ok "the lowered batch is said" || bad "no warning: $(cat "$T/err")"
$PY - "$T/p8" "$T/pl" >"$T/cmp" 2>&1 <<'PY' && ok "limited run's SEG frames and case records equal the unlimited run's" || bad "outputs differ: $(cat "$T/cmp")"
import glob, json, sys
import numpy as np, pydicom
a, b = sys.argv[1:3]
sa, sb = sorted(glob.glob(a + "/*.seg.dcm")), sorted(glob.glob(b + "/*.seg.dcm"))
assert len(sa) == 1 and [s.split("/")[-1] for s in sa] == [s.split("/")[-1] for s in sb], (sa, sb)
da, db = pydicom.dcmread(sa[0]), pydicom.dcmread(sb[0])
pa, pb = da.pixel_array, db.pixel_array
assert pa.shape == pb.shape and np.array_equal(pa, pb), "frames differ"
ra = [f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID for f in da.PerFrameFunctionalGroupsSequence]
rb = [f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID for f in db.PerFrameFunctionalGroupsSequence]
assert ra == rb, "referenced slices differ"
ca, cb = json.load(open(a + "/predictions.json"))["cases"], json.load(open(b + "/predictions.json"))["cases"]
keys = ("predicted_pixels", "laterality", "zones", "slices")
for x, y in zip(ca, cb):
    for k in keys:
        assert x.get(k) == y.get(k), (k, x.get(k), y.get(k))
print("frames", pa.shape, "lesion pixels", int(pa.sum()))
PY

# too small for one slice: one line, exit 3, nothing left
"$BIN" predict "$T/m.ckpt" "$SERIES" -o "$T/ptiny" --max-memory 20M -q >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 3 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "max-memory 20.0 MiB is too small" "$T/err" && [ ! -e "$T/ptiny" ]
then ok "predict --max-memory 20M: exit 3, one line ($(cat "$T/err"))"
else bad "predict --max-memory 20M: exit $rc, $(cat "$T/err"), $(ls "$T/ptiny" 2>&1)"; fi
"$BIN" predict "$T/m.ckpt" "$SERIES" -o "$T/pfix" --batch 8 --max-memory "$LIMIT" -q >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 3 ] && grep -q -- "--batch 8 needs" "$T/err"; then ok "an explicit --batch over the limit: exit 3, named"
else bad "--batch 8 --max-memory $LIMIT: exit $rc, $(cat "$T/err")"; fi
"$BIN" predict "$T/m.ckpt" "$SERIES" -o "$T/pbad" --max-memory 12X -q >/dev/null 2>"$T/err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "not a memory size" "$T/err" && ok "--max-memory 12X: usage error" || bad "12X: exit $rc $(cat "$T/err")"

# ingest: jobs planned
R=$(peak "$BIN" ingest "$T/sd/dicom" -o "$T/d2.h5" --preset small -q) || bad "ingest: $(cat "$T/err")"
J=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['jobs'])" "$T/out.json")
# what ingest holds before its jobs, as its refusal of a 1 MiB limit says; room for 1.5 jobs above it
"$BIN" ingest "$T/sd/dicom" -o "$T/dx.h5" --max-memory 1M -q >/dev/null 2>"$T/err"
HELD=$(sed -n 's/.* \([0-9.]*\) MiB is held already.*/\1/p' "$T/err")
R=$(peak "$BIN" ingest "$T/sd/dicom" -o "$T/d1.h5" --preset small \
    --max-memory "$($PY -c "import sys; print(int((float(sys.argv[1]) + 72) * 1048576))" "${HELD:-0}")" -q) ||
    bad "ingest --max-memory (held ${HELD:-?} MiB): $(cat "$T/err")"
J1=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['jobs'])" "$T/out.json")
if [ "$J1" -eq 1 ]; then ok "ingest under a one-job limit: jobs 1 (default $J)"; else bad "ingest jobs $J1 (default $J)"; fi
h5diff -q --exclude-path /provenance "$T/d2.h5" "$T/d1.h5" >/dev/null 2>&1 && ok "the same cache (h5diff)" || bad "caches differ"
"$BIN" ingest "$T/sd/dicom" -o "$T/d0.h5" --max-memory 1M -q >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 3 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "too small" "$T/err" && [ ! -e "$T/d0.h5" ]
then ok "ingest --max-memory 1M: exit 3, one line"; else bad "ingest 1M: exit $rc, $(cat "$T/err")"; fi

# train: shards planned
R8T=$(peak "$BIN" train "$T/n.h5" -o "$T/t8.ckpt" --preset small --epochs 1 --max-steps 1 --batch 8 -q) ||
    bad "train --batch 8: $(cat "$T/err")"
RT=$(peak "$BIN" train "$T/n.h5" -o "$T/tl.ckpt" --preset small --epochs 1 --max-steps 1 --batch 8 \
    --max-memory $((R8T * 3 / 4)) -q) || bad "train --max-memory: $(cat "$T/err")"
if grep -q "max-memory: each batch of 8 computed as [0-9]* shards" "$T/err" &&
    { [ -n "${ASAN_OPTIONS:-}" ] || [ "$RT" -le $((R8T * 3 / 4)) ]; }; then
    ok "train under 3/4 of its peak: shards ($(grep -o 'as [0-9]* shards' "$T/err")), peak $RT <= $((R8T * 3 / 4))"
else bad "train shards: peak $RT of $R8T, $(cat "$T/err")"; fi
"$BIN" train "$T/n.h5" -o "$T/t0.ckpt" --preset small --max-steps 1 --max-memory 20M -q >/dev/null 2>"$T/err"
rc=$?
[ "$rc" -eq 3 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && [ ! -e "$T/t0.ckpt" ] && ok "train --max-memory 20M: exit 3, one line" ||
    bad "train 20M: exit $rc, $(cat "$T/err")"

# c2seg run: the key reaches the stages
printf 'workdir = %s/w\ntrain = %s/sd/nifti\npreset = small\nepochs = 1\nmax_memory = 1M\n' "$T" "$T" >"$T/r.conf"
"$BIN" run "$T/r.conf" -q >/dev/null 2>"$T/err"
rc=$?
[ "$rc" -eq 3 ] && grep -q "max-memory 1.0 MiB is too small" "$T/err" && ok "run's max_memory reaches ingest" ||
    bad "run max_memory: exit $rc, $(cat "$T/err")"

tl_end
