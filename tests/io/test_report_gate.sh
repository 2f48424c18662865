#!/bin/sh
# `c2seg report` as a quality gate, on constructed predictions.json files whose Dice and
# consistency are set by hand (no model): the precision / recall of "inconsistent" at
# catching Dice < 0.5 (and --gate-dice 0.6) per cohort and per part, worked out by hand
# below; the HTML's gate table, "no text" rows (not shaded inconsistent), marked evidence
# words and the overlay legend. Then a generated 10,000-case cohort: the page stays small
# (thumbnails linked lazily, not embedded) and headless Chromium renders its first page in
# bounded time, with a screenshot kept under build/test-artifacts/ (chromium missing: a
# failure when CI=true).
set -u
fail=0
check() { if eval "$1"; then :; else echo "  CHECK failed: $1" >&2; fail=1; fi; }
T="$C2SEG_BUILD/test-tmp/report_gate.$$"
ART="$C2SEG_BUILD/test-artifacts"
rm -rf "$T"; mkdir -p "$T/small/overlays" "$T/big/overlays" "$ART"
B="$C2SEG_BIN"

# One 4x4 RGB PNG, written with zlib (the overlays of both cohorts are links to it).
python3 - "$T" <<'EOF2' || exit 1
import json, os, struct, sys, zlib
T = sys.argv[1]
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
raw = b"".join(b"\0" + bytes([200, 40, 40] * 4) for _ in range(4))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)) + \
      chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(T + "/one.png", "wb").write(png)

def case(i, part, dice, cons, text="Ground-glass opacity in the right lower lobe.", status="ok"):
    c = {"id": "case-%04d" % i, "kind": "image", "status": status, "outputs": {"overlay": "overlays/case-%04d.png" % i}}
    if part: c["part"] = part
    if status != "ok":
        c["error"] = "unreadable"; return c
    c["text"] = {"text": text, "source": "captions", "convention": "image"}
    agr = {"consistent": cons, "laterality_exact": cons, "zone_exact": cons, "zone_jaccard": 1.0 if cons else 0.0,
           "count_exact_zones": False, "count_exact_components": False}
    c["consistency"] = {"text": {"laterality": "right", "zones": [0, 0, 0, 0, 0, 1]},
                        "mask": {"laterality": "right", "zones": [0, 0, 0, 0, 0, 1]}, "agreement": agr}
    if text is None:
        c["consistency"] = None
    c["ground_truth"] = {"dice": dice} if dice is not None else None
    return c
# part a: TP a2 a6, FP a3, FN a4, TN a1 a8; a5 has no text, a7 failed
# part b: TP b1 b4, FP b2, TN b3; b5 has no ground truth
a = [(1, .9, True), (2, .3, False), (3, .7, False), (4, .2, True), (5, .1, None), (6, .4, False), (7, None, None),
     (8, .6, True)]
b = [(1, .45, False), (2, .55, False), (3, .95, True), (4, .05, False), (5, None, False)]
cases = []
for i, d, k in a:
    if i == 7: cases.append(case(i, "a", d, k, status="failed"))
    elif i == 5: cases.append(case(i, "a", d, False, text=None))
    else: cases.append(case(i, "a", d, k))
for i, d, k in b:
    cases.append(case(i, "b", d, k))
json.dump({"tool": "c2seg predict", "checkpoint": "none", "cases": cases}, open(T + "/small/predictions.json", "w"))
for c in cases:
    p = T + "/small/" + c["outputs"]["overlay"]
    if not os.path.exists(p): os.link(T + "/one.png", p)
# 10,000 cases, no parts
big = [case(i, None, (i % 10) / 10 + 0.05, i % 3 != 0,
            text="Patchy consolidation in the left upper zone and right base, case %d." % i) for i in range(1, 10001)]
json.dump({"tool": "c2seg predict", "checkpoint": "none", "cases": big}, open(T + "/big/predictions.json", "w"))
for i in range(1, 10001): os.link(T + "/one.png", T + "/big/overlays/case-%04d.png" % i)
EOF2

"$B" report "$T/small" -q > /dev/null
check '[ $? -eq 0 ]'
cp "$T/small/report.json" "$T/small/report-05.json"
"$B" report "$T/small" --gate-dice 0.6 -q > /dev/null
check '[ $? -eq 0 ]'
"$B" report "$T/small" --gate-dice 1.5 -q > /dev/null 2> "$T/err"
check '[ $? -eq 2 ] && grep -q "gate-dice" "$T/err"'

# hand-worked numbers (see the case list above)
python3 - "$T/small" <<'EOF2' || fail=1
import json, sys
d = sys.argv[1]
def gate(f): return json.load(open(d + "/" + f))["cohort"]["quality_gate"]
want = {  # threshold: {scope: (n, poor, flagged, tp, fp, fn, tn, precision, recall)}
    "report-05.json": {"all": (10, 5, 6, 4, 2, 1, 3, 4 / 6, 4 / 5), "a": (6, 3, 3, 2, 1, 1, 2, 2 / 3, 2 / 3),
                       "b": (4, 2, 3, 2, 1, 0, 1, 2 / 3, 1.0)},
    "report.json": {"all": (10, 6, 6, 5, 1, 1, 3, 5 / 6, 5 / 6), "a": (6, 3, 3, 2, 1, 1, 2, 2 / 3, 2 / 3),
                    "b": (4, 3, 3, 3, 0, 0, 1, 1.0, 1.0)},
}
errs = []
for f, scopes in want.items():
    g = gate(f)
    for scope, w in scopes.items():
        o = g if scope == "all" else g["by_part"][scope]
        got = (o["n"], o["n_poor"], o["n_flagged"], o["tp"], o["fp"], o["fn"], o["tn"], o["precision"], o["recall"])
        if any(abs(x - y) > 1e-9 for x, y in zip(got, w)): errs.append((f, scope, got, w))
if abs(gate("report.json")["dice_threshold"] - 0.6) > 1e-12: errs.append("threshold")
if errs: print("  quality gate differs from the hand count:", errs); sys.exit(1)
EOF2

# HTML: gate table (0.6 run: all 0.833 / 0.833), no-text row, evidence marks, legend
H="$T/small/report.html"
check 'grep -q "<table id=\"gate\">" "$H"'
check 'grep -q "<tr><td>all</td><td>10</td><td>6</td><td>6</td><td>5</td><td>1</td><td>1</td><td data-v=\"0.833333\">0.833</td><td data-v=\"0.833333\">0.833</td></tr>" "$H"'
check 'grep -q "<tr><td>b</td><td>4</td><td>3</td><td>3</td><td>3</td><td>0</td><td>0</td>" "$H"'
check 'grep -q "<tr class=\"no-text\" data-case=\"a/case-0005\">.*<td data-v=\"-1\" class=\"no-text\">no text</td>" "$H"'
check '[ "$(grep -c "<tr class=\"inconsistent\"" "$H")" -eq 7 ]'   # a2 a3 a6 b1 b2 b4 b5: not a5, not a7 (failed)
check 'grep -q "<tr class=\"failed\" data-case=\"a/case-0007\"" "$H"'
check 'grep -q "<mark title=\"zones\">right lower lobe</mark>" "$H"'
check 'grep -q "id=\"legend\".*prediction.*ground truth" "$H"'
check 'grep -q "data:image/png;base64," "$H"'   # a small cohort embeds its thumbnails

# the 10,000-case page: linked lazy thumbnails, small, first page rendered
"$B" report "$T/big" -q > /dev/null
check '[ $? -eq 0 ]'
H="$T/big/report.html"
size=$(wc -c < "$H")
echo "  10,000-case report.html: $size bytes"
check '[ "$size" -lt 10000000 ]'
check '! grep -q "data:image" "$H"'
check '[ "$(grep -c "loading=\"lazy\" src=\"overlays/case-" "$H")" -eq 10000 ]'
if command -v chromium >/dev/null; then
    prof="$T/chrome-profile"
    flags="--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run"
    t0=$(date +%s)
    t00=$t0
    # shellcheck disable=SC2086
    dom=$(timeout 120 chromium $flags --user-data-dir="$prof.1" --virtual-time-budget=5000 --dump-dom "file://$H" 2>/dev/null)
    rc=$?
    t1=$(date +%s)
    echo "  chromium --dump-dom of the 10,000-case page: $((t1 - t0)) s (rc $rc)"
    check '[ $rc -eq 0 ]'
    check 'printf "%s" "$dom" | grep -q "page 1 of 50 (10000 cases)"'
    hidden=$(printf '%s' "$dom" | grep -o '<tr class="[a-z-]*" data-case="case-[0-9]*" style="display: \{0,1\}none;\{0,1\}">' | wc -l)
    check '[ "$hidden" -eq 9800 ]'   # 200 rows on the first page
    # shellcheck disable=SC2086
    timeout 120 chromium $flags --user-data-dir="$prof.2" --window-size=1200,1600 \
        --screenshot="$ART/report_gate_10000.png" "file://$H" >/dev/null 2>&1
    check '[ -s "$ART/report_gate_10000.png" ] && head -c 8 "$ART/report_gate_10000.png" | grep -q PNG'
    echo "  chromium render + screenshot: $(( $(date +%s) - t00 )) s"
elif [ "${CI:-}" = true ]; then
    echo "  chromium not installed (scripts/install-deps) and CI=true: failing" >&2
    fail=1
else
    echo "  chromium not installed (scripts/install-deps): render checks not run" >&2
fi
if [ $fail -eq 0 ]; then echo "1 passed, 0 failed"; rm -rf "$T"; else echo "0 passed, 1 failed"; fi
exit $fail
