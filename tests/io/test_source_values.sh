#!/bin/sh
# Patient and study values of a hospital's files that break their own VR (a control byte in
# Patient Name, a backslash in it, a NUL in Patient ID, a line break in Referring Physician's
# Name, an ACR-NEMA style date "2023-01-01", "Male" for Patient's Sex) or that are in another
# character set (ISO_IR 100 "Müller", PS3.5 Annex H's Japanese name under "ISO 2022 IR 13\ISO
# 2022 IR 87", and the Arabic, French, German, Japanese ISO 2022,
# Russian and UTF-8 values of ../shared/data/dicom/charset moved onto a DX image):
# `c2seg predict` writes the SEG all the same (a warning names the file), the SEG carries the
# source's bytes, and `c2seg report`'s SR names the same patient in UTF-8 (its declared set;
# the Japanese ISO 2022 sets read by c2seg, which DCMTK's iconv route refuses). Checked by
# pydicom (an independent reader: each value decoded in its own file's character set) and, for
# the valid sources, dciodvfy (no Error line in the SEG or the SR). A UID no SEG can carry gets
# one line naming it; an SR whose text holds control bytes gives a findings SR without error; a
# Japanese ISO 2022 report SR's text is read in UTF-8.
set -u
B="${C2SEG_BIN:?}"; S="${C2SEG_SHARED:?}"
T="${C2SEG_BUILD:?}/test-tmp/source_values.$$"
PY=/usr/bin/python3
rm -rf "$T"; mkdir -p "$T"
fail=0
"$B" import-torch "$S/reference/golden_tiny_eval" -o "$T/tiny.ckpt" >/dev/null 2>&1 || { echo "FAIL: import-torch"; exit 1; }
$PY -W ignore - "$S/data/dicom/xray/dx_image.dcm" "$T" >"$T/charset_cases" <<'EOF' || { echo "FAIL: sources"; exit 1; }
import os, sys, pydicom
src, out = sys.argv[1:3]
cases = {
    "ctl": {"PatientName": "Doe^J\x01"},
    "backslash": {"PatientName": "A\\B"},
    "nul": {"PatientID": "12\x0034"},
    "newline": {"ReferringPhysicianName": "Dr\nWho"},
    "oldstyle": {"StudyDate": "2023-01-01", "StudyTime": "10:30:00", "PatientSex": "Male"},
    "latin1": {"SpecificCharacterSet": "ISO_IR 100", "PatientName": "Müller^Jürgen", "ReferringPhysicianName": "Dür^Ä"},
}
for name, values in cases.items():
    ds = pydicom.dcmread(src)
    for k, v in values.items():
        setattr(ds, k, v)
    os.makedirs(f"{out}/{name}/in")
    ds.save_as(f"{out}/{name}/in/src.dcm")
# PS3.5 Annex H.3.1's Japanese name under "ISO 2022 IR 13\ISO 2022 IR 87" (half-width katakana
# in G1, JIS X 0208 by escape sequences), the usual setting of Japanese hospitals
ds = pydicom.dcmread(src)
ds.SpecificCharacterSet = ["ISO 2022 IR 13", "ISO 2022 IR 87"]
ds.add_new(0x00100010, "PN", b"\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J="
                              b"\x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J")
os.makedirs(f"{out}/jp13/in")
ds.save_as(f"{out}/jp13/in/src.dcm")
# the real character sets of ../shared/data/dicom/charset (Arabic, French, German, Japanese
# ISO 2022, Russian, UTF-8 Chinese): their Specific Character Set and patient / study elements,
# bytes as they are, moved onto the DX image (their own pixels are OT, which the model refuses)
charset = os.path.join(os.path.dirname(os.path.dirname(src)), "charset")
for f in sorted(os.listdir(charset)):
    if not f.endswith(".dcm"):
        continue
    ds, cs = pydicom.dcmread(src), pydicom.dcmread(os.path.join(charset, f))
    for tag in (0x00080005, 0x00100010, 0x00100020, 0x00080090, 0x00081030, 0x00200010, 0x00080050):
        raw = cs.get_item(tag) if tag in cs else None   # the raw element, before pydicom decodes it
        if raw is not None:
            ds.add_new(tag, raw.VR, raw.value)          # its bytes: pydicom writes bytes as they are
    name = "cs_" + f[:-4]
    os.makedirs(f"{out}/{name}/in")
    ds.save_as(f"{out}/{name}/in/src.dcm", write_like_original=True)
    print(name)
EOF
cs_cases=$(cat "$T/charset_cases")
[ "$(echo $cs_cases | wc -w)" -eq 6 ] || { echo "FAIL: expected the six charset files, got: $cs_cases"; fail=1; }
for c in ctl backslash nul newline oldstyle latin1 jp13 $cs_cases; do
    "$B" predict "$T/tiny.ckpt" "$T/$c/in" -o "$T/$c/out" -q >"$T/$c/predict.json" 2>"$T/$c/predict.err"
    rc=$?
    [ $rc -eq 0 ] || { echo "FAIL: $c: predict exit $rc: $(head -3 "$T/$c/predict.err")"; fail=1; }
    "$B" report "$T/$c/out" -q >/dev/null 2>"$T/$c/report.err" || { echo "FAIL: $c: report: $(head -3 "$T/$c/report.err")"; fail=1; }
    if [ "$c" = ctl ] || [ "$c" = backslash ] || [ "$c" = nul ] || [ "$c" = newline ] || [ "$c" = oldstyle ]; then
        grep -q "warning: .*src.dcm: .* has a value its VR does not allow" "$T/$c/predict.err" ||
            { echo "FAIL: $c: no warning naming the file"; fail=1; }
    else
        [ ! -s "$T/$c/predict.err" ] && [ ! -s "$T/$c/report.err" ] || { echo "FAIL: $c: lines on stderr"; fail=1; }
        for f in "$T/$c/out"/*.seg.dcm "$T/$c/out"/sr/*.dcm; do
            dciodvfy "$f" 2>&1 | grep '^Error' && { echo "FAIL: $c: dciodvfy errors in $f"; fail=1; }
        done
    fi
done
$PY -W ignore - "$T" $cs_cases <<'EOF' || fail=1
import glob, sys, pydicom
t = sys.argv[1]
tags = ["PatientName", "PatientID", "ReferringPhysicianName", "AccessionNumber", "StudyID", "StudyDate",
        "StudyTime", "PatientSex"]
bad = []
for case in ["ctl", "backslash", "nul", "newline", "oldstyle", "latin1", "jp13"] + sys.argv[2:]:
    src = pydicom.dcmread(f"{t}/{case}/in/src.dcm")
    seg = glob.glob(f"{t}/{case}/out/*.seg.dcm")
    sr = glob.glob(f"{t}/{case}/out/sr/*.dcm")
    if len(seg) != 1 or len(sr) != 1:
        bad.append((case, "outputs", seg, sr)); continue
    seg, sr = pydicom.dcmread(seg[0]), pydicom.dcmread(sr[0])
    if case == "jp13" and str(sr.PatientName) != "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう":
        bad.append((case, "SR Patient Name", str(sr.PatientName)))
    if sr.SpecificCharacterSet != "ISO_IR 192":   # Japanese ISO 2022 IR 87 converted too
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
# A hospital's report SR (test-SR.dcm moved into the DX image's study) whose TEXT items hold
# control bytes: the findings SR written from it has no dciodvfy error, and its report text
# has the words with blanks where the control bytes were.
mkdir -p "$T/srtext/in"
$PY -W ignore - "$S/data/dicom/xray/dx_image.dcm" "$S/data/dicom/sr/test-SR.dcm" "$T/srtext/in" <<'EOF' || fail=1
import sys, pydicom
img, sr = pydicom.dcmread(sys.argv[1]), pydicom.dcmread(sys.argv[2])
sr.StudyInstanceUID = img.StudyInstanceUID
def walk(seq):
    for it in seq:
        if "TextValue" in it:
            it.TextValue = "Consolidation in the right lower lobe\x01 with\x1b[31m effusion\x07."
        walk(it.get("ContentSequence", []))
walk(sr.ContentSequence)
sr.save_as(sys.argv[3] + "/report.dcm")
img.save_as(sys.argv[3] + "/image.dcm")
EOF
"$B" predict "$T/tiny.ckpt" "$T/srtext/in" -o "$T/srtext/out" -q >/dev/null 2>&1 && "$B" report "$T/srtext/out" -q >/dev/null 2>&1 ||
    { echo "FAIL: srtext: predict / report"; fail=1; }
for f in "$T/srtext/out"/sr/*.dcm; do
    dciodvfy "$f" 2>&1 | grep '^Error' && { echo "FAIL: srtext: dciodvfy errors in $f"; fail=1; }
    dsrdump +Pl "$f" | grep -qF 'Report text: Consolidation in the right lower lobe  with [31m effusion .' ||
        { echo "FAIL: srtext: report text: $(dsrdump +Pl "$f" | grep -m1 'Report text')"; fail=1; }
done
# A Japanese report SR (Specific Character Set "\ISO 2022 IR 87", JIS X 0208 in escape
# sequences): `c2seg sr-text` gives its text in UTF-8, as pydicom decodes it (DCMTK's iconv
# route refuses the set; c2seg reads it, dicom-sr/sr_charset_dcmtk.cc).
mkdir -p "$T/jp"
$PY -W ignore - "$S/data/dicom/sr/test-SR.dcm" "$T/jp" <<'EOF' || fail=1
import json, sys, pydicom
sr = pydicom.dcmread(sys.argv[1])
sr.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
sr.VerifyingObserverSequence[0].VerifyingObserverName = "Riesmeier^Joerg"   # its Latin-1 byte is no JIS
def walk(seq):
    for it in seq:
        if "TextValue" in it:
            it["TextValue"].value = b"\x1b$B;3ED\x1b(B consolidation \x1b$B1&2<MU\x1b(B"
        walk(it.get("ContentSequence", []))
walk(sr.ContentSequence)
sr.save_as(sys.argv[2] + "/jp.dcm")
back = pydicom.dcmread(sys.argv[2] + "/jp.dcm")
texts = []
def collect(seq):
    for it in seq:
        if "TextValue" in it:
            texts.append(it.TextValue)
        collect(it.get("ContentSequence", []))
collect(back.ContentSequence)
json.dump(sorted(set(texts)), open(sys.argv[2] + "/want.json", "w"))
EOF
"$B" sr-text "$T/jp/jp.dcm" -q >"$T/jp/out.json" 2>"$T/jp/err" || { echo "FAIL: jp: sr-text: $(cat "$T/jp/err")"; fail=1; }
$PY - "$T/jp" <<'EOF' || fail=1
import json, sys
d = sys.argv[1]
want = json.load(open(d + "/want.json"))
got = json.loads(open(d + "/out.json", "rb").read().decode("utf-8"))
texts = sorted(set(t["text"] for t in got["texts"]))
if texts != want or want != ["山田 consolidation 右下葉"] or not got["charset_converted"]:
    print("FAIL: jp: texts", texts, "want", want, got.get("charset_converted"))
    sys.exit(1)
EOF
[ -s "$T/jp/err" ] && { echo "FAIL: jp: stderr: $(head -2 "$T/jp/err")"; fail=1; }
# A UID a SEG cannot carry (a component with a leading zero, found in real archives): no SEG,
# one line naming the file, the attribute and the value.
mkdir -p "$T/uid/in"
$PY -W ignore -c 'import sys, pydicom
ds = pydicom.dcmread(sys.argv[1]); ds.StudyInstanceUID = "1.2.840.010008.999.1"; ds.save_as(sys.argv[2])' \
    "$S/data/dicom/xray/dx_image.dcm" "$T/uid/in/src.dcm"
"$B" predict "$T/tiny.ckpt" "$T/uid/in" -o "$T/uid/out" -q >/dev/null 2>"$T/uid/predict.err"
rc=$?
[ $rc -eq 3 ] && [ "$(wc -l <"$T/uid/predict.err")" -eq 1 ] &&
    grep -q "src.dcm: its Study Instance UID '1.2.840.010008.999.1' is no valid UID" "$T/uid/predict.err" &&
    ! ls "$T/uid/out"/*.seg.dcm >/dev/null 2>&1 ||
    { echo "FAIL: uid: exit $rc, $(cat "$T/uid/predict.err")"; fail=1; }
[ $fail -eq 0 ] && echo "source values: 7 sources, the 6 character sets and an SR with control bytes, SEG and SR checked" && rm -rf "$T"
exit $fail
