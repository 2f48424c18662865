# tests/support/testlib.sh: what the shell tests (tests/<label>/test_*.sh) share, so that each
# test holds only its own checks. POSIX sh (CMake runs the tests with `sh`). Use:
#
#     set -u
#     . "$C2SEG_SOURCE/tests/support/testlib.sh"
#     tl_begin NAME            # NAME: the test's folder under $C2SEG_BUILD/test-tmp
#     ... checks ...
#     tl_end
#
# Variables (set when sourced): BIN (the c2seg binary, $C2SEG_BIN), PY (Debian's python3 with
# numpy / nibabel / pydicom, never a pyenv or venv one), DATA ($C2SEG_SHARED/data); tl_begin
# sets T (the test's fresh, empty temp folder) and the counters pass / fail.
#
# Functions:
#   tl_begin NAME               T=$C2SEG_BUILD/test-tmp/NAME, emptied and created (exit 1 if it
#                               cannot be); pass=0 fail=0; TL_NAME=NAME
#   ok [WHAT]                   one passed check (WHAT, if given, on stderr as "ok   WHAT")
#   bad WHAT                    one failed check ("FAIL WHAT" on stderr)
#   check WHAT STATUS           ok when STATUS (an exit status, e.g. $?) is 0, else bad WHAT
#   tl_end [keep]               prints "NAME: P passed, F failed"; removes T when nothing failed
#                               (unless "keep"); returns 0 only when nothing failed
#   tl_need TOOL...             exit 1 with a message naming scripts/install-deps when a TOOL
#                               is not on PATH
#   tl_need_node MODULE...      the same for tests/node/node_modules/MODULE (npm ci)
#   tl_sample_data DIR [OPT...] a generated cohort in DIR (c2seg-sample-data -o DIR OPT...);
#                               exit 1 with the generator's log when it fails
#   tl_tiny_model INPUT CACHE CKPT [TRAIN-OPT...]
#                               ingest INPUT into CACHE (--preset tiny) and train CKPT on it
#                               (--preset tiny TRAIN-OPT...): the small model a test predicts or
#                               evaluates with; exit 1 with both stages' stderr when one fails
#   h5_values FILE DATASET      the values of DATASET in the HDF5 FILE (h5dump's first DATA
#                               block, not the attributes after it), blanks and newlines removed
#   refused PATTERN WHAT STAGE [ARG...]
#                               `c2seg STAGE ARG...` must exit 3 with PATTERN (grep) on stderr
#   usage_error PATTERN WHAT STAGE [ARG...]
#                               the same for a usage error: exit 2, PATTERN on stderr

PY=/usr/bin/python3
BIN="${C2SEG_BIN:?C2SEG_BIN is not set (run the tests through ctest)}"
DATA="${C2SEG_SHARED:?C2SEG_SHARED is not set}/data"

tl_begin() {
    TL_NAME=$1
    T="${C2SEG_BUILD:?C2SEG_BUILD is not set}/test-tmp/$1"
    rm -rf "$T" && mkdir -p "$T" || { echo "FAIL: cannot create $T" >&2; exit 1; }
    pass=0
    fail=0
}

ok() {
    pass=$((pass + 1))
    [ $# -eq 0 ] || echo "ok   $*" >&2
}

bad() {
    fail=$((fail + 1))
    echo "FAIL $*" >&2
}

check() {
    if [ "$2" -eq 0 ]; then ok; else bad "$1"; fi
}

tl_end() {
    echo "$TL_NAME: $pass passed, $fail failed"
    [ "$fail" -eq 0 ] || return 1
    [ "${1:-}" = keep ] || rm -rf "$T" || echo "warning: could not remove $T" >&2
    return 0
}

tl_need() {
    for tl_tool in "$@"; do
        command -v "$tl_tool" >/dev/null 2>&1 ||
            { echo "$tl_tool is missing: run scripts/install-deps" >&2; exit 1; }
    done
}

tl_need_node() {
    for tl_mod in "$@"; do
        [ -d "$C2SEG_SOURCE/tests/node/node_modules/$tl_mod" ] ||
            { echo "tests/node/node_modules/$tl_mod is missing: run scripts/install-deps (npm ci --prefix tests/node)" >&2; exit 1; }
    done
}

tl_sample_data() {
    tl_dir=$1
    shift
    "$C2SEG_BUILD/c2seg-sample-data" -o "$tl_dir" "$@" >/dev/null 2>"$T/gen.log" ||
        { cat "$T/gen.log" >&2; echo "FAIL: sample data (c2seg-sample-data -o $tl_dir $*)" >&2; exit 1; }
}

tl_tiny_model() {
    tl_in=$1 tl_cache=$2 tl_ckpt=$3
    shift 3
    "$BIN" ingest "$tl_in" -o "$tl_cache" --preset tiny -q >/dev/null 2>"$T/model.err" &&
        "$BIN" train "$tl_cache" -o "$tl_ckpt" --preset tiny "$@" -q >/dev/null 2>>"$T/model.err" ||
        { cat "$T/model.err" >&2; echo "FAIL: a tiny model from $tl_in" >&2; exit 1; }
}

h5_values() {
    h5dump -y -w 0 -d "$2" "$1" 2>/dev/null | awk '/DATA \{/ {on = 1; next} on && /}/ {exit} on' | tr -d ' \n'
}

# tl_exits WANT PATTERN WHAT STAGE [ARG...]: the stage exits WANT with PATTERN on stderr
tl_exits() {
    tl_want=$1 tl_pat=$2 tl_what=$3
    shift 3
    "$BIN" "$@" >/dev/null 2>"$T/err"
    tl_rc=$?
    if [ $tl_rc -eq "$tl_want" ] && grep -q -- "$tl_pat" "$T/err"; then
        ok "$tl_what"
    else
        bad "$tl_what: exit $tl_rc (want $tl_want): $(cat "$T/err")"
    fi
}

refused() { tl_exits 3 "$@"; }
usage_error() { tl_exits 2 "$@"; }
