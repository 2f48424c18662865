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
#  - ingest: a limit 1.5 jobs above its own floor (its JSON summary's memory_plan) gives jobs 1
#    (default: the CPUs, 2 here) and the same cache
#    (h5diff), too small: exit 3, one line, no cache;
#  - ingest's estimate from its inputs (pipeline/ingest/ingest_memory.c) against the measured
#    peaks (tests/support/peak_memory.py: c2seg's high-water mark plus each sandbox worker's
#    own pages) of a 3-slice 512 x 512 CT, the sample cohort, QaTa PNGs, JPEG slices, a 1841 x 1955
#    JPEG 2000 X-ray and a multi-frame CT: the estimate stays above the peak, each worker
#    under its job's estimate; the CT series ingests under a limit that the former 48 MiB a
#    job refused, and peaks under it; the X-ray alone under that limit is refused naming its
#    slice (exit 3, no cache); beside the 3-slice CT under that limit it is one report row
#    "too large to decode under --max-memory" (exit 1, reported_by_reason), the cache the CT's
#    alone (h5diff), the peak under the limit; so is a JPEG 2000 file built with pydicom whose
#    header claims 30000 x 30000 in a few bytes, a PNG whose IHDR claims it beside a QaTa
#    pair (the pair ingested), and predict's reading of that DICOM file beside a series (the
#    series' SEG written); beside the cohort, under a limit between one and two jobs'
#    estimates, it runs with one job (the pool made again after the headers), the same cache;
#  - train: 3/4 of the peak of a batch of 8 computes the batch in shards (its warning, with
#    its estimated peak: above the measured one, gradients' shard accumulator counted), a
#    too small limit exits 3;
#  - c2seg run's max_memory key reaches the stages (too small: the ingest stage fails).
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
. "$C2SEG_SOURCE/tests/support/maxmem.sh"
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

R8=$(peak "$BIN" predict "$T/m.ckpt" "$SERIES" -o "$T/p8" --batch 8 --max-memory 8G -q) || bad "predict --batch 8: $(cat "$T/err")"
PI=$(jget "$T/out.json" memory_plan.floor_bytes)   # the least limit its reading of the inputs accepts
R1=$(peak "$BIN" predict "$T/m.ckpt" "$SERIES" -o "$T/p1" --batch 1 -q) || bad "predict --batch 1: $(cat "$T/err")"
# The planner counts before any batch what the process holds plus one slice per forward pass
# (its refusal of 1 MiB names both), and when it reads the inputs what it holds then plus one
# ingest job (the summary's memory_plan floor): its estimates, not the measured peaks, so a
# limit below the larger floor is refused however low batch 1 peaks. The limit is half way
# between batch 1's peak (or that floor, when higher) and batch 8's.
"$BIN" predict "$T/m.ckpt" "$SERIES" -o "$T/p0" --max-memory 1M -q >/dev/null 2>"$T/err"
PH=$(sed -n 's/.* \([0-9.]*\) MiB is held already.*/\1/p' "$T/err")
PS=$(sed -n 's/.* needs \([0-9.]*\) MiB more.*/\1/p' "$T/err")
FLOOR=$($PY -c "import sys; print(max(int((float(sys.argv[1]) + float(sys.argv[2])) * 1048576), int(sys.argv[3])))" \
    "${PH:-0}" "${PS:-0}" "${PI:-0}")
LOW=$R1
[ "$FLOOR" -gt "$LOW" ] && LOW=$FLOOR
LIMIT=$(((R8 + LOW) / 2))
[ "$FLOOR" -lt "$R8" ] || bad "the planner's floor ($FLOOR bytes: held ${PH:-?} + slice ${PS:-?} MiB, reading ${PI:-?}) is not under batch 8's peak $R8"
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

# ingest: jobs planned. Its plan under a limit it does not need (8G): the floor (what it held
# plus one job) and one job's estimate; room for 1.5 jobs above what it holds
R=$(peak "$BIN" ingest "$T/sd/dicom" -o "$T/d2.h5" --preset small --max-memory 8G -q) || bad "ingest: $(cat "$T/err")"
J=$(jget "$T/out.json" jobs)
IF=$(jget "$T/out.json" memory_plan.floor_bytes)
IJ=$(jget "$T/out.json" memory_plan.job_bytes)
R=$(peak "$BIN" ingest "$T/sd/dicom" -o "$T/d1.h5" --preset small --max-memory $((${IF:-0} + ${IJ:-0} / 2)) -q) ||
    bad "ingest --max-memory (floor ${IF:-?}, job ${IJ:-?}): $(cat "$T/err")"
J1=$(jget "$T/out.json" jobs)
if [ "${J1:-0}" = 1 ]; then ok "ingest under a one-job limit: jobs 1 (default $J)"; else bad "ingest jobs $J1 (default $J)"; fi
h5diff -q --exclude-path /provenance "$T/d2.h5" "$T/d1.h5" >/dev/null 2>&1 && ok "the same cache (h5diff)" || bad "caches differ"
"$BIN" ingest "$T/sd/dicom" -o "$T/d0.h5" --max-memory 1M -q >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 3 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "too small" "$T/err" && [ ! -e "$T/d0.h5" ]
then ok "ingest --max-memory 1M: exit 3, one line"; else bad "ingest 1M: exit $rc, $(cat "$T/err")"; fi

# ingest's estimate from its inputs against the measured peaks (est_check, tests/support/maxmem.sh)
if [ -n "${ASAN_OPTIONS:-}" ]; then
    echo "  (sanitizer run: the estimates against measured peaks not checked)" >&2
else
    est_check "3-slice 512x512 CT" "$DATA/dicom/ct_series/dcmqi_ct-3slice"
    est_check "sample cohort (48 slices 64x64)" "$T/sd/dicom"
    est_check "QaTa PNGs (200 pairs)" "$DATA/qata/valid"
    est_check "Inf-Net JPEG slices (50 pairs)" "$DATA/covid_ct_slices"
    est_check "1841x1955 JPEG 2000 X-ray" "$DATA/dicom/xray/RG1_J2KI.dcm"
    est_check "multi-frame CT (2 frames 512x512)" "$DATA/dicom/multiframe/eCT_Supplemental.dcm"
fi

# a small series under a limit the former constant (48 MiB a job beside what is held) refused
CT3=$DATA/dicom/ct_series/dcmqi_ct-3slice
"$BIN" ingest "$CT3" -o "$T/c0.h5" --max-memory 1M -q >/dev/null 2>"$T/err"
HELD=$(sed -n 's/.* \([0-9.]*\) MiB is held already.*/\1/p' "$T/err")
"$BIN" ingest "$CT3" -o "$T/c8.h5" --max-memory 8G -q >"$T/out.json" 2>"$T/err"
FA=$(jget "$T/out.json" memory_plan.floor_bytes)
MARGIN=4   # MiB above the floor: what is held varies a little from run to run (more under the sanitizers)
[ -z "${ASAN_OPTIONS:-}" ] || MARGIN=16
LA=$((${FA:-0} + MARGIN * 1048576))
OLD=$($PY -c "import sys; print(int((float(sys.argv[1]) + 48) * 1048576))" "${HELD:-0}")
if [ -n "${ASAN_OPTIONS:-}" ]; then :   # the sanitizers' shadow pages: the workers' shares grow with them
elif [ "$((LA + 4 * 1048576))" -lt "$OLD" ]; then ok "3-slice CT: its floor + $MARGIN MiB ($LA) is below held + 48 MiB ($OLD)"
else bad "3-slice CT: limit $LA not below the former constant's $OLD"; fi
if tree_peak "$BIN" ingest "$CT3" -o "$T/c1.h5" --max-memory "$LA" -q; then
    ok "3-slice CT ingests under --max-memory $LA"
    if [ -n "${ASAN_OPTIONS:-}" ]; then :
    elif [ "$(jget "$T/mem.json" total)" -le "$LA" ] 2>/dev/null; then ok "its measured peak $(jget "$T/mem.json" total) <= $LA"
    else bad "3-slice CT: measured peak $(cat "$T/mem.json") over $LA"; fi
else bad "3-slice CT under $LA: $(cat "$T/err")"; fi

# a large X-ray under that limit: refused before any slice is decoded, naming it; beside the
# cohort, under a limit between one and two jobs' estimates: one job, the same cache
"$BIN" ingest "$DATA/dicom/xray/RG1_J2KI.dcm" -o "$T/x0.h5" --max-memory "$LA" -q >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 3 ] && [ "$(wc -l <"$T/err")" -eq 1 ] &&
    grep -q "one ingest job decoding a 1841 x 1955 compressed slice (RG1_J2KI.dcm) needs" "$T/err" &&
    [ ! -e "$T/x0.h5" ] && [ ! -e "$T/x0.h5.report.tsv" ]
then ok "the X-ray under $LA: exit 3, one line ($(cat "$T/err"))"
else bad "the X-ray under $LA: exit $rc, $(cat "$T/err"), $(ls "$T"/x0.h5* 2>&1)"; fi
# one input too large for the limit even alone, beside one that fits: that file is reported
# (one line, its reason), the rest ingested under the limit (exit 1, as for other reported
# files). The X-ray beside the 3-slice CT under the CT's limit, and a file whose header claims
# 30000 x 30000 (within the dimension limits) in a few bytes of JPEG 2000 (built here).
mkdir -p "$T/big" && cp "$CT3"/*.dcm "$DATA/dicom/xray/RG1_J2KI.dcm" "$T/big/"
$PY - "$DATA/dicom/xray/RG1_J2KI.dcm" "$T/big/huge.dcm" 2>"$T/err" <<'PY' || bad "the huge-header file: $(cat "$T/err")"
import sys, pydicom
from pydicom.encaps import encapsulate
from pydicom.uid import generate_uid
d = pydicom.dcmread(sys.argv[1])
d.Rows = d.Columns = 30000                  # 9e8 pixels: under the limits (65535, 2^31)
d.PixelData = encapsulate([b"\xff\x4f\xff\x51" + bytes(60)])
d.SOPInstanceUID, d.SeriesInstanceUID = generate_uid(), generate_uid()
d.save_as(sys.argv[2])
PY
tree_peak "$BIN" ingest "$T/big" -o "$T/b.h5" --max-memory "$LA" -q
rc=$?
[ "$rc" -eq 1 ] && ok "CT + X-ray + huge header under $LA: exit 1" || bad "CT + X-ray + huge header under $LA: exit $rc, $(cat "$T/err")"
over_check "under $LA" "$T/b.h5.report.tsv" "$T/err" RG1_J2KI.dcm huge.dcm
[ "$(jget "$T/out.json" reported_by_reason.too\ large\ to\ decode\ under\ --max-memory)" = 2 ] &&
    ok "reported_by_reason counts them" || bad "reported_by_reason: $(cat "$T/out.json")"
h5diff -q "$T/c1.h5" "$T/b.h5" /images /images >/dev/null 2>&1 && h5diff -q "$T/c1.h5" "$T/b.h5" /samples/sop_uid /samples/sop_uid >/dev/null 2>&1 &&
    ok "the CT's 3 slices are the cache (h5diff against the CT alone)" || bad "the cache is not the CT's: $(h5dump -d /samples/file "$T/b.h5" 2>&1 | tail -5)"
if [ -n "${ASAN_OPTIONS:-}" ]; then :
elif [ "$(jget "$T/mem.json" total)" -le "$LA" ] 2>/dev/null; then ok "its measured peak $(jget "$T/mem.json" total) <= $LA"
else bad "CT + X-ray: measured peak $(cat "$T/mem.json") over $LA"; fi
# the same for a PNG whose header claims 30000 x 30000 beside a QaTa pair (the first plan, from the headers)
QA=$DATA/qata/valid
QI=$(ls "$QA/images" | head -1)
mkdir -p "$T/qa/valid/images" "$T/qa/valid/masks" && cp "$QA/images/$QI" "$T/qa/valid/images/" && cp "$QA/masks/mask_$QI" "$T/qa/valid/masks/"
$PY - "$QA/images/$QI" "$T/qa/valid/images/huge.png" 2>"$T/err" <<'PY' || bad "the huge PNG: $(cat "$T/err")"
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
ihdr = b[12:16] + struct.pack(">II", 30000, 30000) + b[24:29]   # width, height; depth, colour ... kept
open(sys.argv[2], "wb").write(b[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + b[33:])
PY
"$BIN" ingest "$T/qa" -o "$T/q.h5" --max-memory "$LA" -q >"$T/out.json" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && [ "$(jget "$T/out.json" samples)" = 1 ] && ok "QaTa pair + huge PNG header under $LA: exit 1, the pair ingested" ||
    bad "QaTa pair + huge PNG under $LA: exit $rc, $(cat "$T/err") $(cat "$T/out.json")"
over_check "the PNG" "$T/q.h5.report.tsv" "$T/err" huge.png
# predict reads its inputs through the same plan: the huge header is reported (over 8G too), the series predicted
"$BIN" predict "$T/m.ckpt" "$SERIES" "$T/big/huge.dcm" -o "$T/ph" --max-memory 8G -q >"$T/out.json" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && ls "$T/ph"/*.seg.dcm >/dev/null 2>&1 && ok "predict with the huge header: exit 1, the series' SEG written" ||
    bad "predict with the huge header: exit $rc, $(cat "$T/err"), $(ls "$T/ph" 2>&1)"
over_check "predict" "$T/ph/inputs.h5.report.tsv" "$T/err" huge.dcm
mkdir -p "$T/mix" && cp -r "$T/sd/dicom" "$T/mix/" && cp "$DATA/dicom/xray/RG1_J2KI.dcm" "$T/mix/"
"$BIN" ingest "$T/mix" -o "$T/m2.h5" --max-memory 8G -q >"$T/out.json" 2>"$T/err"
E2=$(jget "$T/out.json" memory_plan.estimate_bytes)
JM=$(jget "$T/out.json" jobs)
"$BIN" ingest "$T/mix" -o "$T/m1.h5" --jobs 1 --max-memory 8G -q >"$T/out.json" 2>"$T/err"
E1=$(jget "$T/out.json" memory_plan.estimate_bytes)
LC=$(((${E2:-0} + ${E1:-0}) / 2))
if ! tree_peak "$BIN" ingest "$T/mix" -o "$T/ml.h5" --max-memory "$LC" -q; then
    bad "cohort + X-ray under $LC: $(cat "$T/err")"
elif [ "${JM:-0}" = 1 ]; then
    echo "  (one usable CPU: one job unlimited, the lowering not shown)" >&2
elif [ "${JM:-0}" = 2 ] && [ "$(jget "$T/out.json" jobs)" = 1 ] && grep -q "max-memory: 1 ingest job instead of 2" "$T/err"
then ok "cohort + X-ray under $LC: 1 job (2 unlimited), said"
else bad "cohort + X-ray under $LC: jobs $(jget "$T/out.json" jobs) (unlimited ${JM:-?}), $(cat "$T/err")"; fi
h5diff -q --exclude-path /provenance "$T/m2.h5" "$T/ml.h5" >/dev/null 2>&1 && ok "the same cache (h5diff)" || bad "caches differ"
if [ -n "${ASAN_OPTIONS:-}" ]; then :
elif [ "$(jget "$T/mem.json" total)" -le "$LC" ] 2>/dev/null; then ok "its measured peak $(jget "$T/mem.json" total) <= $LC"
else bad "cohort + X-ray: measured peak $(cat "$T/mem.json") over $LC"; fi

# train: shards planned
R8T=$(peak "$BIN" train "$T/n.h5" -o "$T/t8.ckpt" --preset small --epochs 1 --max-steps 1 --batch 8 -q) ||
    bad "train --batch 8: $(cat "$T/err")"
RT=$(peak "$BIN" train "$T/n.h5" -o "$T/tl.ckpt" --preset small --epochs 1 --max-steps 1 --batch 8 \
    --max-memory $((R8T * 3 / 4)) -q) || bad "train --max-memory: $(cat "$T/err")"
if grep -q "max-memory: each batch of 8 computed as [0-9]* shards" "$T/err" &&
    { [ -n "${ASAN_OPTIONS:-}" ] || [ "$RT" -le $((R8T * 3 / 4)) ]; }; then
    ok "train under 3/4 of its peak: shards ($(grep -o 'as [0-9]* shards' "$T/err")), peak $RT <= $((R8T * 3 / 4))"
else bad "train shards: peak $RT of $R8T, $(cat "$T/err")"; fi
# its estimate (parameters, gradients, AdamW's moments, the shards' gradient accumulator, two
# workspaces) above the measured peak and under the limit
ET=$(sed -n 's/.*(estimated peak \([0-9.]*\) MiB).*/\1/p' "$T/err")
if [ -n "$ET" ] && $PY -c "import sys; e = float(sys.argv[1]) * 1048576; sys.exit(not (int(sys.argv[2]) <= e <= int(sys.argv[3])))" \
    "$ET" "$RT" $((R8T * 3 / 4)) || { [ -n "$ET" ] && [ -n "${ASAN_OPTIONS:-}" ]; }
then ok "train's estimate $ET MiB: above its measured peak $RT, under the limit"
else bad "train's estimate '${ET}' MiB against the peak $RT and the limit $((R8T * 3 / 4))"; fi
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
