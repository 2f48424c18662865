#!/bin/sh
# Every writing stage on a full file system (ingest, pretrain, train, predict, report,
# export, run): exit 3, one error line on stderr, nothing on stdout, no partial output (no
# file or folder left beside the filler), no crash (HDF5's library
# shutdown used to die with SIGSEGV after a failed close: exit 139). The full file system
# is a 1 MiB tmpfs filled to its last byte when this test may mount one (root);
# otherwise (or with C2SEG_TEST_ULIMIT=1) `ulimit -f 1` with SIGXFSZ ignored, so write()
# fails with EFBIG instead. Then a disk that fills DURING ingest (the report and the
# cache's header fit, its samples do not: about 120 KB left, or `ulimit -f 120`), for each reader
# (DICOM, NIfTI, PNG slices): one error line naming the failed write, not one per file,
# and the same no-partial-output checks.
# Inputs: a 2-study synthetic cohort (c2seg-sample-data), a tiny pretrain / train, one
# predict folder, made on the normal file system first.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
umount "$C2SEG_BUILD/test-tmp/test_disk_full/full" 2>/dev/null   # left mounted by an interrupted run
tl_begin test_disk_full
F="$T/full"
mkdir -p "$F" || exit 1
export C2SEG_THREADS=1

tl_sample_data "$T/sd" --studies 2 --size 64 --slices 6
tl_tiny_model "$T/sd/dicom" "$T/c.h5" "$T/m.ckpt" --epochs 1
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
        if [ -n "${LEAVE:-}" ]; then   # give LEAVE bytes back
            size=$(wc -c <"$F/filler")
            truncate -s $((size - LEAVE)) "$F/filler"
        fi
    else
        : >"$F/filler"
    fi
    find "$F" | sort >"$T/before.txt"
}

# full NAME CMD...: runs CMD with F full, checks exit 3, one error line, empty stdout, no new file
full() {
    name=$1
    shift
    if [ $mode = tmpfs ]; then
        "$@" >"$T/$name.out" 2>"$T/$name.err"
    else
        sh -c 'trap "" XFSZ; ulimit -f "$0"; exec "$@"' "${BLOCKS:-1}" "$@" >"$T/$name.out" 2>"$T/$name.err"
    fi
    rc=$?
    check "$name: exit 3 (got $rc: $(head -2 "$T/$name.err" | tr '\n' ' '))" "$([ $rc -eq 3 ]; echo $?)"
    ne=$(grep -c 'error: ' "$T/$name.err")
    check "$name: ${MAX_LINES:-1} error line(s) at most ($ne)" "$([ "$ne" -ge 1 ] && [ "$ne" -le "${MAX_LINES:-1}" ]; echo $?)"
    check "$name: no other stderr line but run's command echo" \
        "$([ -z "$(grep -v 'error: ' "$T/$name.err" | grep -v '^  c2seg ')" ]; echo $?)"
    check "$name: nothing on stdout" "$([ ! -s "$T/$name.out" ]; echo $?)"
    find "$F" | sort >"$T/after.txt"
    left=$(comm -13 "$T/before.txt" "$T/after.txt" | tr '\n' ' ')   # new files and folders
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
full predict "$BIN" predict "$T/m.ckpt" "$T/sd/dicom/case01" -o "$F/pred" -q
# run: its first write is a stamp in WORKDIR; under `ulimit -f` that small file may fit and
# the ingest stage fail instead: then its own line and run's "ingest failed" line (2)
printf 'workdir = %s/run\ntrain = %s/sd/dicom\npreset = tiny\nepochs = 1\n' "$F" "$T" >"$T/run.conf"
prepare
MAX_LINES=$([ $mode = tmpfs ] && echo 1 || echo 2) full run "$BIN" run "$T/run.conf" -q
prepare
full export "$BIN" export "$T/sd/nifti/case01_mask.nii.gz" --reference "$T/sd/dicom/case01/CT" -o "$F/seg.dcm"

# the disk fills during ingest: the first failed sample write stops the run
for kind in dicom nifti png; do
    LEAVE=120000 prepare
    BLOCKS=120 full "ingest-$kind-fills" "$BIN" ingest "$T/sd/$kind" -o "$F/c.h5" --size 128 -q
    check "ingest-$kind-fills: the error is a failed write after samples were written ($(head -1 "$T/ingest-$kind-fills.err"))" \
        "$(grep -q 'writing sample [1-9][0-9]* failed' "$T/ingest-$kind-fills.err"; echo $?)"
done

# the disk fills during predict's cases (tmpfs only: under `ulimit -f` inputs.h5, the largest
# file, fails first): free space stepped across the cases' writes; each run either completes
# (exit 0, predictions.json) or stops at its first write that does not fit: exit 3, one line,
# nothing left (the cases' SEG / NIfTI / overlay files written before are removed)
if [ $mode = tmpfs ]; then
    in_cases=0
    for kind in dicom-overlays dicom nifti-overlays; do
        for leave in 100000 110000 120000 130000 140000 150000 160000 170000 180000 190000 200000; do
            name="predict-$kind-$leave"
            LEAVE=$leave prepare
            # shellcheck disable=SC2046 # no word or one
            "$BIN" predict "$T/m.ckpt" "$T/sd/${kind%-overlays}" -o "$F/pred" -q \
                $([ "$kind" != "${kind%-overlays}" ] && echo --overlays) >"$T/$name.out" 2>"$T/$name.err"
            rc=$?
            find "$F" | sort >"$T/after.txt"
            left=$(comm -13 "$T/before.txt" "$T/after.txt" | tr '\n' ' ')
            if [ $rc -eq 0 ]; then
                check "$name: complete (predictions.json)" "$([ -s "$F/pred/predictions.json" ]; echo $?)"
                continue
            fi
            check "$name: exit 3 (got $rc)" "$([ $rc -eq 3 ]; echo $?)"
            check "$name: one line ($(tr '\n' ' ' <"$T/$name.err"))" "$([ "$(wc -l <"$T/$name.err")" -eq 1 ]; echo $?)"
            check "$name: nothing on stdout" "$([ ! -s "$T/$name.out" ]; echo $?)"
            check "$name: no partial output ($left)" "$([ -z "$left" ]; echo $?)"
            grep -Eq '(seg\.dcm|nii\.gz|\.png): (cannot write|write failed|PNG write failed) \(No space|predictions\.json: write failed \(No space' \
                "$T/$name.err" && in_cases=$((in_cases + 1))
        done
    done
    check "a full disk was met during the cases' writes ($in_cases runs)" "$([ $in_cases -ge 3 ]; echo $?)"
    check "a full disk was met writing a SEG (in its sandbox worker)" \
        "$(cat "$T"/predict-dicom-*.err | grep -q 'seg\.dcm: cannot write (No space'; echo $?)"
    # into a folder that holds an earlier run (case01's SEG and predictions.json; its inputs.h5,
    # which this run's would replace and free, removed as a de-identified run removes it): a run that
    # stops at a full disk in its cases' writes leaves no predictions.json (the earlier one
    # listed files this run replaced), so the folder says partial; one that stops before them
    # (inputs.h5, written aside and renamed) leaves the earlier run as it was
    earlier=0
    rm -rf "$T/earlier" && mkdir "$T/earlier" && cp -r "$T/pred" "$T/earlier/" && rm "$T/earlier/pred/inputs.h5"*
    for leave in $(seq 120000 4000 200000); do
        name="predict-earlier-$leave"
        LEAVE=$leave prepare "$T/earlier/pred"
        "$BIN" predict "$T/m.ckpt" "$T/sd/dicom" -o "$F/pred" --overlays -q >"$T/$name.out" 2>"$T/$name.err"
        rc=$?
        [ $rc -eq 0 ] && continue
        check "$name: exit 3 (got $rc)" "$([ $rc -eq 3 ]; echo $?)"
        if grep -Eq '(seg\.dcm|\.png): (cannot write|write failed|PNG write failed) \(No space|predictions\.json: write failed \(No space' \
            "$T/$name.err"; then
            earlier=$((earlier + 1))
            check "$name: no predictions.json of the earlier run" "$([ ! -e "$F/pred/predictions.json" ]; echo $?)"
        else
            check "$name: the earlier run as it was ($(cat "$T/$name.err"))" \
                "$(cmp -s "$T/pred/predictions.json" "$F/pred/predictions.json"; echo $?)"
        fi
    done
    check "a full disk was met during the cases' writes into an earlier run's folder ($earlier runs)" \
        "$([ $earlier -ge 1 ]; echo $?)"
fi

tl_end keep   # F may still be mounted here (the EXIT trap unmounts it)
