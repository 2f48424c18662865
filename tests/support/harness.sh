# tests/support/harness.sh: what the shell tests share (sourced, not run).
#   . "$C2SEG_SOURCE/tests/support/harness.sh"
#   harness_start NAME           # $T: a fresh folder build/test-tmp/NAME.XXXXXX; $PY, $BIN;
#                                # one engine thread; ok / bad count the checks
#   harness_need_node PACKAGE    # fails the test when tests/node lacks PACKAGE; sets $NODE_DIR
#   harness_end                  # the summary line; removes $T when every check passed
# Exit status of the test: the last command's, so end the script with harness_end.
PY=/usr/bin/python3
BIN="$C2SEG_BIN"
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1" >&2; }
bad() { fail=$((fail + 1)); echo "FAIL $1" >&2; }
harness_start() {
    mkdir -p "$C2SEG_BUILD/test-tmp"
    T=$(mktemp -d "$C2SEG_BUILD/test-tmp/$1.XXXXXX") || exit 1
    export C2SEG_THREADS=1
}
harness_need_node() {
    NODE_DIR="$C2SEG_SOURCE/tests/node"
    [ -d "$NODE_DIR/node_modules/$1" ] ||
        { echo "tests/node/node_modules/$1 missing: run scripts/install-deps" >&2; exit 1; }
}
harness_end() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] && rm -rf "$T"
    [ "$fail" -eq 0 ]
}
