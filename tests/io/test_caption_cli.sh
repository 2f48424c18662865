#!/bin/sh
# `c2seg caption parse` (pipeline/tools/stage_caption.c): conventions and input kinds.
#   - plain lines default to the patient convention (report prose), the public annotation.json
#     to image; --convention overrides; the JSON says which and why;
#   - report prose prints its prose record whose evidence spans are the words of the text;
#   - the input kind comes from the extension, then the content: a plain line starting with
#     '{' is a line (main read it as JSON and failed), a .json file is JSON, a CSV header is CSV.
# Judged by python3's json module and string slicing of the input, not by our parser.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_caption_cli
S="$C2SEG_SHARED/data"

printf '%s\n' '{RLL} consolidation, no effusion.' 'The left lung is clear; ground-glass opacity in the right upper lobe.' \
    'Bilateral pulmonary infection, two infected areas, upper left lung and upper right lung.' >"$T/lines"
"$BIN" caption parse - <"$T/lines" >"$T/default.json" 2>"$T/default.err"
check "lines from stdin exit 0" $?
"$BIN" caption parse "$T/lines" --convention image >"$T/image.json" 2>/dev/null
check "--convention image exits 0" $?
$PY - "$T/default.json" "$T/image.json" <<'PY' ; check "conventions, parsers and evidence spans" $?
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])]
im = [json.loads(l) for l in open(sys.argv[2])]
assert len(d) == 3 and len(im) == 3, (len(d), len(im))
assert all(o["convention"] == "patient" and o["attributes"]["convention"] == "patient" for o in d), d
assert all(o["convention_source"].startswith("default") for o in d)
assert all(o["convention"] == "image" and o["convention_source"] == "--convention" for o in im)
assert [o["attributes"]["parser"] for o in d] == ["prose", "prose", "template"], [o["attributes"]["parser"] for o in d]
assert "prose" not in d[2]
for o in d[:2]:
    ev = o["prose"]["evidence"]
    assert ev, o
    for e in ev:
        assert o["text"][e["start"]:e["end"]] == e["text"], (o["text"], e)
z = {e["text"] for e in d[1]["prose"]["evidence"] if e["attribute"] == "zones"}
assert z == {"right upper lobe"}, z
assert d[1]["attributes"]["zones"] == [0, 0, 0, 1, 0, 0] and d[1]["attributes"]["negative"] is False
assert d[0]["attributes"]["zones"] == [0, 0, 0, 0, 0, 1]
PY
grep -q "convention patient" "$T/default.err" ; check "log line names the convention" $?

# a .json file is JSON even without '{' first (leading spaces, BOM); annotation.json = image
cp "$S/text/sgseg_qata/annotation.json" "$T/a.json"
"$BIN" caption parse "$T/a.json" >"$T/a.out" 2>"$T/a.err"
check "annotation.json exits 0" $?
$PY - "$T/a.out" <<'PY' ; check "annotation.json: image convention, template, zones == pseudo_label" $?
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 9258, len(rows)
assert all(r["convention"] == "image" and r["attributes"]["parser"] == "template" for r in rows)
assert all(r["zones_equal_pseudo_label"] for r in rows)
PY
# a CSV without the .csv name is recognised by its header line
printf 'Image,Description\nx.png,"Bilateral pulmonary infection, two infected areas, upper left lung and upper right lung."\n' >"$T/table"
"$BIN" caption parse "$T/table" >"$T/table.out" 2>"$T/table.err"
check "csv by content exits 0" $?
grep -q '"file":"x.png"' "$T/table.out" ; check "csv by content: the file column is read" $?
# a bad --convention is a usage error
"$BIN" caption parse "$T/lines" --convention left >/dev/null 2>&1
[ $? -eq 2 ] ; check "--convention left: usage error (2)" $?

tl_end
