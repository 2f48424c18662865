#!/bin/sh
# OHIF's SEG loader on our SEGs: Cornerstone3D 5.14 (@cornerstonejs/core, tools, adapters,
# dicom-image-loader from npm, bundled by esbuild) in Debian's headless Chromium
# (tests/node/viewer/: page.mjs, driven by run.js over the DevTools protocol, served on
# 127.0.0.1). Inputs written here by c2seg: `c2seg export` of the sample cohort's CT mask
# (8 slices) and `c2seg predict` (the imported tiny X-ray model) on a DX and a CR image from
# ../shared/data/dicom/xray. tests/io/viewer_truth.py (pydicom) gives the truth: segments,
# per SEG frame the referenced SOP Instance UID, pixel count, position-weighted sum and
# centroid. Inside the page: the adapter's segment count and labels, per source image and
# segment the labelmap's pixel count and weighted sum (a frame on the wrong image, or
# flipped, fails), its segmentsOnFrame index, and the overlay on the canvas (centroid
# within 1.5 image pixels, area 0.6-1.5 x). CR / DX SEGs (no Frame of Reference, so no
# Plane Orientation, PS3.3 A.51-2) are refused by the adapter as written: that error is
# asserted (docs/viewers.md says so) and the page checks them with the source's
# orientation put in. A SEG whose frame references are swapped must fail the page's
# checks. Screenshots: build/test-artifacts/viewer_{ct,dx,cr}.png.
# Chromium or the npm modules missing: a failure when CI=true, else the test says so and passes.
set -u
PY=/usr/bin/python3
B="$C2SEG_BIN"
X="$C2SEG_SHARED/data/dicom/xray"
NODE_DIR="$C2SEG_SOURCE/tests/node"
TRUTH="$C2SEG_SOURCE/tests/io/viewer_truth.py"
ART="$C2SEG_BUILD/test-artifacts"
T="$C2SEG_BUILD/test-tmp/test_viewer"
rm -rf "$T" && mkdir -p "$T" "$ART" || exit 1
pass=0 fail=0
check() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "  FAIL: $2" >&2; fi; }

missing=""
command -v chromium >/dev/null || missing="chromium"
for m in @cornerstonejs/core @cornerstonejs/tools @cornerstonejs/adapters @cornerstonejs/dicom-image-loader esbuild dcmjs; do
    [ -d "$NODE_DIR/node_modules/$m" ] || missing="$missing $m"
done
if [ -n "$missing" ]; then
    if [ "${CI:-}" = true ]; then
        echo "missing:$missing (scripts/install-deps) and CI=true: failing" >&2
        exit 1
    fi
    echo "missing:$missing (scripts/install-deps): viewer check not run" >&2
    exit 0
fi

# ---- the SEGs, written by c2seg ----
"$C2SEG_BUILD/c2seg-sample-data" -o "$T/sd" --studies 1 --slices 8 --size 64 >/dev/null 2>&1 ||
    { echo "c2seg-sample-data failed" >&2; exit 1; }
"$B" export "$T/sd/nifti/case01_mask.nii.gz" --reference "$T/sd/dicom/case01/CT" -o "$T/ct.seg.dcm" >/dev/null 2>"$T/export.err"
check '[ $? -eq 0 ]' "c2seg export of the CT mask: $(cat "$T/export.err")"
mkdir -p "$T/xin"
ln -s "$X/dx_image.dcm" "$T/xin/dx_image.dcm"
ln -s "$X/6154" "$T/xin/cr_6154.dcm"
"$B" import-torch "$C2SEG_SHARED/reference/golden_tiny_eval" -o "$T/xray.ckpt" >/dev/null 2>&1 &&
    "$B" predict "$T/xray.ckpt" "$T/xin" -o "$T/xout" -q >/dev/null 2>"$T/predict.err"
check '[ $? -eq 0 ]' "c2seg predict on the DX and CR images: $(cat "$T/predict.err")"
# predict names its SEGs by the source's series / body part; find each by the source it references
seg_of() { for f in "$T"/xout/*.seg.dcm; do
    dcmdump -q +P 0008,1155 "$f" 2>/dev/null | grep -q "$(dcmdump -q +P 0008,0018 "$1" | sed 's/.*\[\(.*\)\].*/\1/')" && echo "$f"; done | head -1; }
DX_SEG=$(seg_of "$X/dx_image.dcm")
CR_SEG=$(seg_of "$X/6154")
check '[ -n "$DX_SEG" ] && [ -n "$CR_SEG" ]' "predict wrote a SEG for the DX and for the CR image"

# ---- the cases: truth by pydicom ----
$PY "$TRUTH" ct "$T/ct.seg.dcm" "$T/case_ct" "$T"/sd/dicom/case01/CT/*.dcm >"$T/truth.log" 2>&1 &&
    $PY "$TRUTH" dx "$DX_SEG" "$T/case_dx" "$X/dx_image.dcm" >>"$T/truth.log" 2>&1 &&
    $PY "$TRUTH" cr "$CR_SEG" "$T/case_cr" "$X/6154" >>"$T/truth.log" 2>&1 &&
    $PY "$TRUTH" ct_swapped "$T/ct.seg.dcm" "$T/case_swap" "$T"/sd/dicom/case01/CT/*.dcm >>"$T/truth.log" 2>&1 &&
    $PY "$TRUTH" swap "$T/ct.seg.dcm" "$T/swapped.seg.dcm" >>"$T/truth.log" 2>&1 &&
    ln -sf "$T/swapped.seg.dcm" "$T/case_swap/seg.dcm" ||
    { echo "viewer_truth.py failed: $(tail -3 "$T/truth.log")" >&2; exit 1; }
sed 's/^/  /' "$T/truth.log" >&2

# ---- the page, in Chromium ----
t0=$(date +%s)
(cd "$NODE_DIR" && node viewer/run.js "$T/shots" "$T/case_ct" "$T/case_dx" "$T/case_cr" "$T/case_swap" --timeout 90) \
    >"$T/verdicts.jsonl" 2>"$T/run.err"
rc=$?
echo "  Chromium + Cornerstone3D, 4 pages: $(( $(date +%s) - t0 )) s (rc $rc)" >&2
check '[ $rc -eq 1 ] && [ "$(wc -l <"$T/verdicts.jsonl")" -eq 4 ]' "run.js: 4 verdicts, one failed (the swapped SEG): rc $rc $(cat "$T/run.err")"
$PY - "$T/verdicts.jsonl" >"$T/judged.txt" 2>&1 <<'PYEOF'
import json, sys
known = "Cannot read properties of undefined (reading 'ImageOrientationPatient')"
for line in open(sys.argv[1]):
    v = json.loads(line)
    n = v["name"]
    print("%s|%s" % ("ok" if v["ok"] == (n != "ct_swapped") else "bad",
                     "%s: ok=%s %s" % (n, v["ok"], "; ".join(v["problems"])[:600])))
    if n == "ct_swapped":
        print("%s|ct_swapped: the page names the swapped source images" %
              ("ok" if sum("source image" in p for p in v["problems"]) >= 2 else "bad"))
        continue
    print("%s|%s: WebGL rendering, %s foreground pixels, overlay offset %s px, area ratio %s" % (
        "ok" if v.get("renderer") == "WebGL" else "bad", n, v.get("foreground"),
        v.get("overlayOffsetPixels"), v.get("overlayAreaRatio")))
    proj = n in ("dx", "cr")
    print("%s|%s: projection %s" % ("ok" if v.get("projection") == proj else "bad", n, v.get("projection")))
    if proj:
        # the documented gap: Cornerstone3D 5.14's adapter reads the SEG's Plane Orientation,
        # which a SEG without Frame of Reference must not carry; when this changes, update
        # docs/viewers.md
        print("%s|%s as written: %s" % ("ok" if v.get("asWritten") == known else "bad", n, v.get("asWritten")))
PYEOF
while IFS='|' read -r res desc; do
    check '[ "$res" = ok ]' "$desc"
    [ "$res" = ok ] && echo "  ok: $desc" >&2
done <"$T/judged.txt"
for n in ct dx cr; do
    cp "$T/shots/viewer_$n.png" "$ART/viewer_$n.png" 2>/dev/null
    check 'head -c 8 "$ART/viewer_$n.png" | grep -q PNG' "screenshot $ART/viewer_$n.png"
done
echo "  screenshots: $ART/viewer_ct.png viewer_dx.png viewer_cr.png" >&2
echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && rm -rf "$T"
[ $fail -eq 0 ]
