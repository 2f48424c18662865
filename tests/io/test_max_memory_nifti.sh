#!/bin/sh
# --max-memory and NIfTI volumes (issue 29, resource limits): ingest's plan costs a volume
# from its header (pipeline/ingest/ingest_memory.c: nx x ny x nz, the stored type, its mask),
# not a fixed 48 MiB a job.
#  - the real volumes of ../shared/data/nifti (the readable ones: big-endian, gzipped,
#    NIfTI-2, 4D, float64, with masks): the plan's volume_bytes is the largest volume's
#    reading as nibabel's headers give it (4 bytes a voxel for the floats, 4 more for its
#    mask's, and the stored values plus floats of the larger of the two reads), and the
#    measured peak (tests/support/peak_memory.py) stays under the estimate;
#  - two 256 x 256 x 160 int16 volumes with uint8 masks built with nibabel: the same formula,
#    the estimate above the measured peak; under a limit that fits one volume's reading but
#    not two (the floor + 8 MiB) both are ingested (one at a time), the cache equals the
#    unlimited run's (h5diff) and the peak stays under the limit;
#  - a third volume twice as large beside them under that limit: one report row and one
#    error line "too large to decode under --max-memory (... its volume and its mask ...)",
#    exit 1, the two others ingested (the same cache), the peak under the limit; alone under
#    that limit: refused, exit 3, one line naming the volume's job, no cache.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
. "$C2SEG_SOURCE/tests/support/maxmem.sh"
tl_begin test_max_memory_nifti
export C2SEG_THREADS=1
# volume_bytes of the plan in $T/out.json against nibabel's headers of the volumes in DIR
vol_check() {   # WHAT DIR
    $PY - "$T/out.json" "$2" "$1" >"$T/cmp" 2>&1 <<'PY' && ok "$(cat "$T/cmp")" || bad "$(cat "$T/cmp")"
import glob, json, os, sys
import numpy as np, nibabel as nib
plan, d, what = json.load(open(sys.argv[1]))["memory_plan"], sys.argv[2], sys.argv[3]
best = 0
for f in glob.glob(d + "/*.nii*"):
    stem = f.split(".nii")[0]
    if stem.endswith(("_mask", "_label")):
        continue
    h = nib.load(f).header
    n = int(np.prod(h.get_data_shape()[:3]))
    item = h.get_data_dtype().itemsize
    masks = [m for s in ("_mask", "_label") for m in glob.glob(stem + s + ".nii*")]
    if masks:
        item = max(item, nib.load(masks[0]).header.get_data_dtype().itemsize)
    best = max(best, 4 * n * (1 + bool(masks)) + n * item + 4 * n)
print(f"{what}: the plan's volume_bytes {plan.get('volume_bytes')} = the largest volume's reading by nibabel's headers {best}")
assert plan.get("volume_bytes") == best
PY
}

# the real volumes (header-only pairs left out: their reader refuses them)
mkdir -p "$T/real" && for f in "$DATA"/nifti/*.nii*; do cp "$f" "$T/real/"; done
# (the estimates against measured peaks are not checked under the sanitizers: their shadow
# memory is not planned for)
[ -n "${ASAN_OPTIONS:-}" ] || est_check "real NIfTI volumes" "$T/real"
"$BIN" ingest "$T/real" -o "$T/r.h5" --max-memory 8G -q >"$T/out.json" 2>"$T/err" || bad "real volumes: $(cat "$T/err")"
vol_check "real NIfTI volumes" "$T/real"

# two volumes of 256 x 256 x 160 int16 with uint8 masks, a third of 256 x 256 x 320
mkdir -p "$T/two" "$T/three" "$T/big"
$PY - "$T" 2>"$T/err" <<'PY' || bad "nibabel volumes: $(cat "$T/err")"
import sys
import numpy as np, nibabel as nib
t = sys.argv[1]
rng = np.random.default_rng(7)
aff = np.diag([0.8, 0.8, 1.5, 1.0])
for name, nz, where in (("a", 160, "two"), ("b", 160, "two"), ("c", 320, "big")):
    img = rng.integers(-1000, 1000, size=(256, 256, nz)).astype(np.int16)
    m = np.zeros(img.shape, np.uint8)
    m[100:150, 90:160, 40:90] = 1
    nib.save(nib.Nifti1Image(img, aff), f"{t}/{where}/{name}.nii")
    nib.save(nib.Nifti1Image(m, aff), f"{t}/{where}/{name}_mask.nii.gz")
PY
cp "$T"/two/* "$T"/big/* "$T/three/"
[ -n "${ASAN_OPTIONS:-}" ] || est_check "two 256x256x160 volumes" "$T/two"
"$BIN" ingest "$T/two" -o "$T/u.h5" --max-memory 8G -q >"$T/out.json" 2>"$T/err" || bad "two volumes: $(cat "$T/err")"
vol_check "two 256x256x160 volumes" "$T/two"
FLOOR=$(jget "$T/out.json" memory_plan.floor_bytes)
VOL=$(jget "$T/out.json" memory_plan.volume_bytes)
MARGIN=8   # MiB above the floor: what is held varies a little from run to run (more under the sanitizers)
[ -z "${ASAN_OPTIONS:-}" ] || MARGIN=32
L=$((${FLOOR:-0} + MARGIN * 1048576))
# the limit holds one volume's reading, not two: FLOOR counts one already
[ "$L" -lt "$((${FLOOR:-0} + ${VOL:-0}))" ] && ok "limit $L: the floor $FLOOR + $MARGIN MiB, under two volumes' readings" ||
    bad "limit $L does not exclude a second volume ($VOL)"
if tree_peak "$BIN" ingest "$T/two" -o "$T/l.h5" --max-memory "$L" -q; then
    [ "$(jget "$T/out.json" samples)" = 320 ] && ok "both volumes ingested under $L (320 slices)" ||
        bad "under $L: $(cat "$T/out.json")"
    h5diff -q --exclude-path /provenance "$T/u.h5" "$T/l.h5" >/dev/null 2>&1 && ok "the same cache (h5diff)" || bad "caches differ"
    if [ -n "${ASAN_OPTIONS:-}" ]; then :
    elif [ "$(jget "$T/mem.json" total)" -le "$L" ] 2>/dev/null; then ok "its measured peak $(jget "$T/mem.json" total) <= $L"
    else bad "two volumes: measured peak $(cat "$T/mem.json") over $L"; fi
else bad "two volumes under $L: $(cat "$T/err")"; fi

# the larger volume beside them: reported, not read; the others ingested
tree_peak "$BIN" ingest "$T/three" -o "$T/t.h5" --max-memory "$L" -q
rc=$?
[ "$rc" -eq 1 ] && [ "$(jget "$T/out.json" samples)" = 320 ] && ok "three volumes under $L: exit 1, 320 slices" ||
    bad "three volumes under $L: exit $rc, $(cat "$T/err") $(cat "$T/out.json")"
over_check "the 256x256x320 volume" "$T/t.h5.report.tsv" "$T/err" c.nii
# (its file names hold the folder: the planes and masks compared)
h5diff -q "$T/u.h5" "$T/t.h5" /images /images >/dev/null 2>&1 && h5diff -q "$T/u.h5" "$T/t.h5" /masks /masks >/dev/null 2>&1 &&
    ok "the two volumes' planes and masks are the cache (h5diff)" || bad "the cache is not the two volumes'"
if [ -n "${ASAN_OPTIONS:-}" ]; then :
elif [ "$(jget "$T/mem.json" total)" -le "$L" ] 2>/dev/null; then ok "its measured peak $(jget "$T/mem.json" total) <= $L"
else bad "three volumes: measured peak $(cat "$T/mem.json") over $L"; fi
# alone: nothing fits, refused naming it
"$BIN" ingest "$T/big" -o "$T/b.h5" --max-memory "$L" -q >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 3 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && [ ! -e "$T/b.h5" ] &&
    grep -q "one ingest job reading a 256 x 256 x 320 volume and its mask (c.nii) needs" "$T/err"
then ok "the large volume alone under $L: exit 3, one line ($(cat "$T/err"))"
else bad "the large volume alone under $L: exit $rc, $(cat "$T/err")"; fi
tl_end
