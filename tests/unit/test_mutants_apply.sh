#!/bin/sh
# Every hand-made mutant (tests/mutants/*.patch, run by scripts/mutants) still applies to the
# source: a change near a mutant's lines must make the mutant again (same mutation, current
# code), or the evidence that its tests bite is gone without a sign (six had stopped applying
# by 2026-12-08). `git apply --check` on each; each names its tests and exactly one mutated
# file. Outside a git checkout (a source tarball) there is nothing to apply to: skipped.
set -u
S="${C2SEG_SOURCE:?}"
if ! git -C "$S" rev-parse --git-dir >/dev/null 2>&1; then
    echo "not a git checkout: skipped"
    exit 0
fi
fail=0 n=0
for p in "$S"/tests/mutants/*.patch; do
    n=$((n + 1))
    name=$(basename "$p")
    grep -q '^# tests: ' "$p" || { echo "FAIL: $name has no '# tests:' line"; fail=1; }
    [ "$(grep -c '^diff --git ' "$p")" -eq 1 ] || { echo "FAIL: $name mutates more or less than one file"; fail=1; }
    out=$(cd "$S" && git apply --check "$p" 2>&1) ||
        { echo "FAIL: $name no longer applies: $(echo "$out" | head -2 | tr '\n' ' ')"; fail=1; }
done
echo "mutants: $n patches checked"
[ "$n" -gt 0 ] && [ $fail -eq 0 ]
