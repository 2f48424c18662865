#!/bin/sh
# Patient and study values of a hospital's files that break their own VR (a control byte in
# Patient Name, a backslash in it, a NUL in Patient ID, a line break in Referring Physician's
# Name) or that are in another character set (ISO_IR 100 "Müller"): `c2seg predict` writes the
# SEG all the same (a warning names the file), the SEG carries the source's bytes, and
# `c2seg report`'s SR names the same patient in UTF-8 (its declared set). Checked by pydicom
# (an independent reader) and, for the valid Latin-1 source, dciodvfy (no Error line in the
# SEG or the SR).
set -u
B="${C2SEG_BIN:?}"; S="${C2SEG_SHARED:?}"
T="${C2SEG_BUILD:?}/test-tmp/source_values.$$"
PY=/usr/bin/python3
rm -rf "$T"; mkdir -p "$T"
fail=0
"$B" import-torch "$S/reference/golden_tiny_eval" -o "$T/tiny.ckpt" >/dev/null 2>&1 || { echo "FAIL: import-torch"; exit 1; }
$PY -W ignore - "$S/data/dicom/xray/dx_image.dcm" "$T" <<'EOF' || { echo "FAIL: sources"; exit 1; }
import os, sys, pydicom
src, out = sys.argv[1:3]
cases = {
    "ctl": {"PatientName": "Doe^J\x01"},
    "backslash": {"PatientName": "A\\B"},
    "nul": {"PatientID": "12\x0034"},
    "newline": {"ReferringPhysicianName": "Dr\nWho"},
    "latin1": {"SpecificCharacterSet": "ISO_IR 100", "PatientName": "Müller^Jürgen", "ReferringPhysicianName": "Dür^Ä"},
}
for name, values in cases.items():
    ds = pydicom.dcmread(src)
    for k, v in values.items():
        setattr(ds, k, v)
    os.makedirs(f"{out}/{name}/in")
    ds.save_as(f"{out}/{name}/in/src.dcm")
EOF
for c in ctl backslash nul newline latin1; do
    "$B" predict "$T/tiny.ckpt" "$T/$c/in" -o "$T/$c/out" -q >"$T/$c/predict.json" 2>"$T/$c/predict.err"
    rc=$?
    [ $rc -eq 0 ] || { echo "FAIL: $c: predict exit $rc: $(head -3 "$T/$c/predict.err")"; fail=1; }
    "$B" report "$T/$c/out" -q >/dev/null 2>"$T/$c/report.err" || { echo "FAIL: $c: report: $(head -3 "$T/$c/report.err")"; fail=1; }
    if [ "$c" != latin1 ]; then
        grep -q "warning: .*src.dcm: .* holds characters its value representation does not allow" "$T/$c/predict.err" ||
            { echo "FAIL: $c: no warning naming the file"; fail=1; }
    else
        [ ! -s "$T/$c/predict.err" ] && [ ! -s "$T/$c/report.err" ] || { echo "FAIL: latin1: lines on stderr"; fail=1; }
        for f in "$T/$c/out"/*.seg.dcm "$T/$c/out"/sr/*.dcm; do
            dciodvfy "$f" 2>&1 | grep '^Error' && { echo "FAIL: latin1: dciodvfy errors in $f"; fail=1; }
        done
    fi
done
$PY -W ignore - "$T" <<'EOF' || fail=1
import glob, sys, pydicom
t = sys.argv[1]
tags = ["PatientName", "PatientID", "ReferringPhysicianName"]
bad = []
for case in ["ctl", "backslash", "nul", "newline", "latin1"]:
    src = pydicom.dcmread(f"{t}/{case}/in/src.dcm")
    seg = glob.glob(f"{t}/{case}/out/*.seg.dcm")
    sr = glob.glob(f"{t}/{case}/out/sr/*.dcm")
    if len(seg) != 1 or len(sr) != 1:
        bad.append((case, "outputs", seg, sr)); continue
    seg, sr = pydicom.dcmread(seg[0]), pydicom.dcmread(sr[0])
    if sr.SpecificCharacterSet != "ISO_IR 192":
        bad.append((case, "SR character set", sr.SpecificCharacterSet))
    for k in tags:
        raw = lambda ds: ds.get_item(k).value if k in ds else None   # the bytes as stored
        if raw(seg) != raw(src) or seg.get(k) != src.get(k):
            bad.append((case, "SEG", k, raw(src), raw(seg)))
        if str(sr.get(k)) != str(src.get(k)):        # the same text, each decoded in its own set
            bad.append((case, "SR", k, src.get(k), sr.get(k)))
if bad:
    print("FAIL: source values:", *bad, sep="\n  ")
    sys.exit(1)
EOF
[ $fail -eq 0 ] && echo "source values: 5 sources, SEG and SR checked" && rm -rf "$T"
exit $fail
