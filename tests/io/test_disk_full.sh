#!/bin/sh
# Every writing stage on a full file system: exit 3, one error line on stderr, nothing
# on stdout, no partial output (no file left beside the filler), no crash (HDF5's library
# shutdown used to die with SIGSEGV after a failed close: exit 139). The full file system
# is a 1 MiB tmpfs filled to its last byte when this test may mount one (root);
# otherwise (or with C2SEG_TEST_ULIMIT=1) `ulimit -f 1` with SIGXFSZ ignored, so write()
# fails with EFBIG instead.
# Inputs: a 2-study synthetic cohort (c2seg-sample-data), a tiny pretrain / train, one
# predict folder, made on the normal file system first.
set -u
BIN="$C2SEG_BIN"
GEN="$(dirname "$BIN")/c2seg-sample-data"
T="$C2SEG_BUILD/test-tmp/test_disk_full"
F="$T/full"
umount "$F" 2>/dev/null
rm -rf "$T" && mkdir -p "$F" || exit 1
pass=0
fail=0
check() { if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "  FAILED: $1" >&2; fi; }
export C2SEG_THREADS=1

"$GEN" -o "$T/sd" --studies 2 --size 64 --slices 6 >/dev/null 2>&1 &&
    "$BIN" ingest "$T/sd/dicom" -o "$T/c.h5" --size 32 -q >/dev/null 2>&1 &&
    "$BIN" train "$T/c.h5" -o "$T/m.ckpt" --preset tiny --epochs 1 -q >/dev/null 2>&1 &&
    "$BIN" predict "$T/m.ckpt" "$T/sd/dicom/case01" -o "$T/pred" -q >/dev/null 2>&1
check "inputs made on the normal file system" $?

mode=ulimit
if [ -z "${C2SEG_TEST_ULIMIT:-}" ] && mount -t tmpfs -o size=1m tmpfs "$F" 2>/dev/null; then
    mode=tmpfs
    trap 'umount "$F" 2>/dev/null' EXIT INT TERM
fi
echo "full file system: $mode" >&2

# prepare [FILES TO COPY IN...]: empties F, copies what the stage reads from it, fills the rest
prepare() {
    find "$F" -mindepth 1 -delete
    for x in "$@"; do cp -r "$x" "$F/"; done
    if [ $mode = tmpfs ]; then
        head -c 2000000 /dev/zero >"$F/filler" 2>/dev/null   # stops at ENOSPC: not a byte left
    else
        : >"$F/filler"
    fi
    sleep 0.01   # outputs must be newer than the filler
    touch "$F/filler"
}

# full NAME CMD...: runs CMD with F full, checks exit 3, one error line, empty stdout, no new file
full() {
    name=$1
    shift
    if [ $mode = tmpfs ]; then
        "$@" >"$T/$name.out" 2>"$T/$name.err"
    else
        sh -c 'trap "" XFSZ; ulimit -f 1; exec "$@"' sh "$@" >"$T/$name.out" 2>"$T/$name.err"
    fi
    rc=$?
    check "$name: exit 3 (got $rc: $(head -2 "$T/$name.err" | tr '\n' ' '))" "$([ $rc -eq 3 ]; echo $?)"
    check "$name: one line on stderr ($(wc -l <"$T/$name.err"))" "$([ "$(wc -l <"$T/$name.err")" -eq 1 ]; echo $?)"
    grep -q 'error' "$T/$name.err"
    check "$name: it is an error line" $?
    check "$name: nothing on stdout" "$([ ! -s "$T/$name.out" ]; echo $?)"
    left=$(find "$F" -mindepth 1 -newer "$F/filler" -type f | tr '\n' ' ')
    check "$name: no partial output ($left)" "$([ -z "$left" ]; echo $?)"
}

prepare
full ingest "$BIN" ingest "$T/sd/dicom" -o "$F/c.h5" --size 32 -q
prepare
full pretrain "$BIN" pretrain "$T/c.h5" -o "$F/p.ckpt" --preset tiny --epochs 1 -q
prepare
full train "$BIN" train "$T/c.h5" -o "$F/m.ckpt" --preset tiny --epochs 1 -q
prepare "$T/pred"
full report "$BIN" report "$F/pred" -q
prepare
full export "$BIN" export "$T/sd/nifti/case01_mask.nii.gz" --reference "$T/sd/dicom/case01/CT" -o "$F/seg.dcm"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
