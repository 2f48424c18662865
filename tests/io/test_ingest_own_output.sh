#!/bin/sh
# An output written inside an input folder is not read back as input: `c2seg ingest DIR -o
# DIR/c.h5` once found its own report's temporary file (c.h5.report.tsv.tmp.PID) in the walk
# and reported it ("empty file (0 bytes)"), and a second run read the first run's cache and
# report. The walk skips this run's own names (the cache, and the cache's name followed by
# "."), nothing else: a file merely starting with the same letters is still an input.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_ingest_own_output

mkdir -p "$T/in"
cp "$DATA/nifti/anatomical.nii" "$T/in/a.nii"
cp "$DATA/nifti/anatomical.nii" "$T/in/c.h5x.nii"   # not ours: shares the prefix only

for run in 1 2; do
    "$BIN" ingest "$T/in" -o "$T/in/c.h5" --preset tiny -q >"$T/r$run.json" 2>"$T/r$run.err"
    check "run $run exits 0" $?
    $PY - "$T/r$run.json" "$T/in/c.h5.report.tsv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
rows = [l for l in open(sys.argv[2]).read().splitlines()[1:] if l]
assert s["files"] == 2 and s["volumes"] == 2, s
assert s["files_reported"] == 0 and rows == [], rows
PY
    check "run $run: both volumes read, nothing of its own reported" $?
    [ ! -s "$T/r$run.err" ]
    check "run $run: no line on stderr" $?
done
# the same when the cache path is given relative to the input folder
(cd "$T/in" && "$BIN" ingest . -o c.h5 --preset tiny -q >"$T/r3.json" 2>"$T/r3.err")
check "relative paths: exits 0" $?
grep -q '"files":2,' "$T/r3.json"
check "relative paths: two files looked at" $?
tl_end
