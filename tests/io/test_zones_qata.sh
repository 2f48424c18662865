#!/bin/sh
# `c2seg caption from-mask` zones on every QaTa mask in ../shared/data (850), mask by mask,
# against an independent numpy / scipy implementation of METHOD.md section 7 (tests/io/zones_judge.py; not against
# an agreement rate): the six zone flags, the zone count and the number of 8-connected
# components >= 0.1 % of the image, at the masks' own 224 x 224, at the small preset's
# 128 x 128 (torch 'nearest' resize) and under the patient convention (sides mirrored).
# A cut moved by one row (dicom-sr/zones.c) changes some of these masks.
set -u
PY=/usr/bin/python3          # Debian's python3 with numpy, scipy, Pillow
BIN="$C2SEG_BIN"
Q="$C2SEG_SHARED/data/qata"
T="$C2SEG_BUILD/test-tmp/test_zones_qata"
rm -rf "$T" && mkdir -p "$T" || exit 1
find "$Q" -path '*/masks/*' -name '*.png' | sort >"$T/masks.txt"
n=$(wc -l <"$T/masks.txt")
if [ "$n" -lt 800 ]; then
    echo "expected the 850 QaTa masks under $Q, found $n" >&2
    exit 1
fi
fail=0
for mode in "image 0" "image 128" "patient 128"; do
    set -- $mode
    # shellcheck disable=SC2046
    "$BIN" caption from-mask --convention "$1" $([ "$2" -gt 0 ] && echo --size "$2") $(cat "$T/masks.txt") \
        >"$T/c_$1_$2.jsonl" 2>"$T/c_$1_$2.err" || { echo "from-mask $mode failed:" >&2; head -3 "$T/c_$1_$2.err" >&2; fail=1; continue; }
    JUDGE_DIR="$C2SEG_SOURCE/tests/io" "$PY" - "$T/c_$1_$2.jsonl" "$1" "$2" <<'PY' || fail=1
import json, os, sys
sys.path.insert(0, os.environ["JUDGE_DIR"])
from zones_judge import load_mask, zones

jsonl, conv, size = sys.argv[1], sys.argv[2], int(sys.argv[3])

bad = 0
n = 0
for line in open(jsonl, encoding="utf-8"):
    o = json.loads(line)
    z, comps = zones(load_mask(o["file"], size), conv)
    got = o["attributes"]["zones"]
    n += 1
    if got != z or o["components"] != comps or o["attributes"]["n_zones"] != sum(z):
        bad += 1
        if bad <= 5:
            print("  FAIL %s (%s, size %d): C zones %s components %d, numpy zones %s components %d"
                  % (o["file"], conv, size, got, o["components"], z, comps), file=sys.stderr)
if n < 800:
    print("  FAIL: only %d results" % n, file=sys.stderr)
    sys.exit(1)
print("%s convention, size %s: %d masks, %d differ" % (conv, size or "native", n, bad))
sys.exit(1 if bad else 0)
PY
done
exit $fail
