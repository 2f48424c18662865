#!/bin/sh
# One argument parser and one error style for every stage (issue 30, defect 4;
# pipeline/cli/args.c). Every usage mistake is exit 2, nothing on stdout and exactly one
# line on stderr:  c2seg STAGE: error: WHAT; see c2seg STAGE --help
#  - options match exactly: a prefix (--epoch for --epochs) is unknown, with the
#    option it most likely meant suggested; an unknown option is one line, not the help;
#  - a missing required option names it (-o MODEL.ckpt ...), a missing value names the
#    option, a bad value names the option, the value and what is allowed;
#  - --name=value works like --name value; -h / --help prints the help on stdout, exit 0;
#  - ingest of a folder with nothing usable (exit 3) names the folder and the formats.
# Parsing happens before any input is read, so no data is needed.
set -u
BIN="$C2SEG_BIN"
mkdir -p "$C2SEG_BUILD/test-tmp"
T=$(mktemp -d "$C2SEG_BUILD/test-tmp/cli_args.XXXXXX") || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $1" >&2; }

# usage STAGE PATTERN ARGS...: exit 2, stdout empty, one stderr line in the common style
# that contains PATTERN (grep -E)
usage() {
    stage=$1 pat=$2
    shift 2
    "$BIN" "$stage" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    lines=$(wc -l <"$T/err")
    if [ $rc -eq 2 ] && [ ! -s "$T/out" ] && [ "$lines" -eq 1 ] &&
        grep -Eq "^c2seg $stage: error: .*; see c2seg $stage --help\$" "$T/err" && grep -Eq -- "$pat" "$T/err"; then
        ok
    else
        bad "c2seg $stage $*: exit $rc, $lines lines: $(cat "$T/err") [stdout $(wc -c <"$T/out") bytes]"
    fi
}

# exact matching, with a suggestion
usage train "--epoch: unknown option \(did you mean --epochs\?\)" c.h5 -o m.ckpt --epoch 3
usage train "--learning-rate: unknown option \(did you mean --lr\?\)" c.h5 -o m.ckpt --learning-rate 1e-3
usage pretrain "--object: unknown option \(did you mean --objective\?\)" c.h5 -o s.ckpt --object cacl
usage eval "--tresholds: unknown option \(did you mean --threshold\?\)" m.ckpt c.h5 --tresholds 0.5
usage export "--ref: unknown option \(did you mean --reference\?\)" m.nii.gz --ref d -o s.dcm
usage report "--uid: unknown option \(did you mean --uid-root\?\)" out --uid 1.2
usage run "--dryrun: unknown option \(did you mean --dry-run\?\)" run.conf --dryrun
usage train "-epochs: unknown option \(did you mean --epochs\?\)" c.h5 -o m.ckpt -epochs 3
usage ingest "--windows: unknown option \(did you mean --window\?\)" d -o c.h5 --windows -600,1500
usage predict "--thresh: unknown option \(did you mean --threshold\?\)" m.ckpt d -o out --thresh 0.3
for s in ingest predict train pretrain eval export import-torch parity report run sr-text; do
    usage $s "--no-such-option: unknown option; see" x --no-such-option
done
usage caption "--no-such-option: unknown option; see" parse x --no-such-option
usage caption "--no-such-option: unknown option; see" from-mask x --no-such-option

# required arguments and options, named
usage train "-o MODEL.ckpt \(the checkpoint to write\) is required" c.h5
usage ingest "-o FILE \(the cohort cache to write\) is required" d
usage ingest "no input folder or file given" -o c.h5
usage predict "-o DIR \(the output folder\) is required" m.ckpt d
usage predict "no input folder or file given after m.ckpt" m.ckpt -o out
usage predict "MODEL.ckpt and the inputs to predict are required"
usage pretrain "-o STAGE1.ckpt \(the checkpoint to write\) is required" c.h5
usage train "the cohort cache \(COHORT.h5, written by c2seg ingest\) is required" -o m.ckpt
usage eval "the cohort cache \(COHORT.h5\) is required after MODEL.ckpt" m.ckpt
usage export "-o FILE \(the SEG to write\) is required" m.nii.gz --reference d
usage export "--reference PATH .* is required" m.nii.gz -o s.dcm
usage import-torch "-o FILE \(the checkpoint to write\) is required" dump
usage parity "the reference dump folder is required"
usage report "the predict output folder .* is required"
usage run "the config file is required"
usage sr-text "an SR file or a folder is required"
usage caption "a subcommand is required"
usage caption "--convention image\|patient is required" from-mask m.png

# values
usage train "--epochs needs a value \(N\)" c.h5 -o m.ckpt --epochs
usage train "--epochs: '0' is not an integer in 1\.\.1000000" c.h5 -o m.ckpt --epochs 0
usage train "--epochs: 'many' is not an integer" c.h5 -o m.ckpt --epochs=many
usage train "--lr: '0' is not a positive number" c.h5 -o m.ckpt --lr 0
usage train "--weight-decay: '-1' is not a number >= 0" c.h5 -o m.ckpt --weight-decay -1
usage train "--preset: 'huge' is not one of small\|full\|tiny" c.h5 -o m.ckpt --preset huge
usage train "--resume takes no value" c.h5 -o m.ckpt --resume=yes
usage ingest "--window: '1': not CENTRE,WIDTH in HU" d -o c.h5 --window 1
usage ingest "--size: '3' is not an integer in 8\.\.4096" d -o c.h5 --size 3
usage ingest "--preset: 'huge' is not one of small\|full\|tiny" d -o c.h5 --preset huge
usage predict "--threshold: '1.5': not a probability strictly between 0 and 1" m.ckpt d -o out --threshold 1.5
usage predict "--batch: '0' is not an integer in 1\.\.1024" m.ckpt d -o out --batch 0
usage eval "--threshold: '1.5': not a probability strictly between 0 and 1" m.ckpt c.h5 --threshold=1.5
usage eval "--split: 'val' is not one of valid\|test\|train" m.ckpt c.h5 --split val
usage run "--only: 'trian': not a stage of run" run.conf --only trian
usage caption "--convention: 'left' is not one of image\|patient" from-mask m.png --convention left
usage train "unexpected argument 'd.h5' \(at most 1\)" c.h5 d.h5 -o m.ckpt
usage report "unexpected argument 'b' \(several folders need --merge OUTDIR\)" a b

# --name=value is --name value: the value reaches the stage (its file is then missing)
"$BIN" train "$T/absent.h5" --output="$T/m.ckpt" --epochs=1 >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 3 ] && grep -q "absent.h5" "$T/err" && ok || bad "--output=FILE: exit $rc: $(cat "$T/err")"

# an unknown stage: the same style, with the nearest stage
"$BIN" trian x >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] &&
    grep -q "^c2seg: error: 'trian': unknown stage (did you mean train?); see c2seg --help$" "$T/err" && ok ||
    bad "unknown stage: exit $rc: $(cat "$T/err")"

# ingest of a folder with nothing usable: exit 3, the folder and the accepted formats named
mkdir -p "$T/nothing" && echo "not an image" >"$T/nothing/notes.txt"
"$BIN" ingest "$T/nothing" -o "$T/n.h5" -q >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 3 ] && grep -q "error: nothing usable in $T/nothing (1 files looked at, 1 reported in $T/n.h5.report.tsv): c2seg ingest reads DICOM image series, NIfTI volumes (.nii, .nii.gz) and PNG / JPEG slice datasets" "$T/err" &&
    ok || bad "ingest of nothing usable: exit $rc: $(cat "$T/err")"

# help: stdout, exit 0, for every stage of c2seg --help
for s in $("$BIN" --help | awk '/^  [a-z][a-z-]+ / {print $1}'); do
    "$BIN" "$s" --help >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc -eq 0 ] && grep -q "^usage: c2seg $s" "$T/out" && [ ! -s "$T/err" ] && ok || bad "c2seg $s --help: exit $rc"
done

rm -rf "$T"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
