#!/bin/sh
# Hostile-input corpus (tests/hostile/make_hostile.py, generated into the build folder)
# through `c2seg ingest`, `export`, `sr-text` and `caption parse`. Every run must end
# with an exit code below 128 (no signal), within its time limit, without a sanitizer
# report, with the expected "file: reason" line or documented safe behaviour
# (docs/reliability.md), and without writing anything outside its output folder.
set -u
B="${C2SEG_BIN:?}"
T="${C2SEG_BUILD:?}/test-tmp/hostile"
H="$T/corpus"
PY=/usr/bin/python3   # Debian's python with pydicom (a pyenv python may shadow it)
rm -rf "$T"
mkdir -p "$T/out" "$T/work/a/b/c" "$T/logs"
$PY -W ignore "${C2SEG_SOURCE:?}/tests/hostile/make_hostile.py" "${C2SEG_SHARED:?}" "$H" >"$T/corpus.json" ||
    { echo "FAIL: corpus generation"; exit 1; }
touch "$T/stamp"
sleep 1

# No address-space limit under AddressSanitizer (it reserves terabytes of shadow memory).
MEMLIMIT=3000000
if nm -D "$B" 2>/dev/null | grep -q __asan_init || nm "$B" 2>/dev/null | grep -q __asan_init ||
   ldd "$B" 2>/dev/null | grep -q libasan; then
    MEMLIMIT=unlimited
fi

failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# run NAME -- command...: from $T/work/a/b/c (so a "../../x" name would land in $T), with a
# memory and a time limit. Sets rc; stderr in logs/NAME.err, stdout in logs/NAME.out.
run() {
    name="$1"; shift
    (cd "$T/work/a/b/c" && ulimit -v "$MEMLIMIT" && exec timeout -s KILL 120 "$@") \
        >"$T/logs/$name.out" 2>"$T/logs/$name.err"
    rc=$?
    if [ "$rc" -ge 124 ]; then
        fail "$name: exit code $rc (signal, time-out or memory kill): $*"
        tail -5 "$T/logs/$name.err"
    fi
    if grep -Eq 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$T/logs/$name.err"; then
        fail "$name: sanitizer report"
        grep -E -A5 'Sanitizer|runtime error' "$T/logs/$name.err" | head -20
    fi
    echo "$name: exit $rc"
}
# expect NAME REGEX: stderr of the last run of NAME has a matching line
expect() {
    grep -Eq -- "$2" "$T/logs/$1.err" || { fail "$1: no line matching '$2'"; tail -5 "$T/logs/$1.err"; }
}
expect_rc() {   # expect_rc NAME CODES...
    _name="$1"; shift
    for _c in "$@"; do [ "$rc" = "$_c" ] && return 0; done
    fail "$_name: exit code $rc, expected one of $*"
}
# Every stdout line is strict UTF-8 JSON.
expect_json() {
    $PY -c 'import json,sys
for l in open(sys.argv[1], "rb"):
    json.loads(l.decode("utf-8"))' "$T/logs/$1.out" || fail "$1: stdout is not valid UTF-8 JSON lines"
}

# ---- DICOM: truncation at every element boundary, wrong VRs / lengths, limits ----
run trunc "$B" ingest "$H/dicom_truncated" -o "$T/out/trunc.h5" -q
expect_rc trunc 1 3
n_cut=$(ls "$H/dicom_truncated" | wc -l)
n_lines=$(grep -c 'cut_[0-9]*\.dcm: ' "$T/logs/trunc.err")
[ "$n_lines" -ge $((n_cut - 2)) ] || fail "trunc: only $n_lines of $n_cut truncated files got a 'file: reason' line"

run badvalues "$B" ingest "$H/dicom_bad_values" -o "$T/out/bad.h5" -q
expect_rc badvalues 0 1
expect badvalues 'rows_65535\.dcm: .*(limit|65535)'
expect badvalues 'samples_7\.dcm: '
expect badvalues 'rows_len_ffff\.dcm: '
expect badvalues 'pixel_len_beyond_eof\.dcm: '
for vr in un ut of ol ss lo; do expect badvalues "pixel_vr_$vr\\.dcm: .*VR"; done
for f in "$H"/dicom_bad_values/*.dcm; do
    n=$(basename "$f" .dcm)
    run "sr_$n" "$B" sr-text "$f"
    expect_rc "sr_$n" 0 1 3
done

# ---- deflated datasets whose elements claim more than the stream holds (DCMTK would
# allocate the claim before reading: io/dicom_deflate.h) ----
run deflate "$B" ingest "$H/dicom_deflate" -o "$T/out/deflate.h5" -q --modality all   # the valid file is OT
expect_rc deflate 0 1
expect deflate 'top_level_claim\.dcm: an element is longer than the deflated dataset \(element \(7FE1,0010\)'
expect deflate 'undefined_item_claim\.dcm: an element is longer than the deflated dataset \(element \(0029,1010\)'
expect deflate 'defined_item_claim\.dcm: .*surrounding item'
for n in meta_foreign_element meta_no_group_length meta_no_preamble; do
    expect deflate "${n}_claim\\.dcm: an element is longer than the deflated dataset \\(element \\(7FE1,0010\\)"
done
expect deflate 'stream_garbage\.dcm: the deflated dataset is damaged'
expect deflate 'stream_cut\.dcm: '
grep -q '"samples":1,' "$T/logs/deflate.out" || fail "deflate: the valid re-deflated file was not ingested"
for f in "$H"/dicom_deflate/*.dcm; do
    n=$(basename "$f" .dcm)
    run "sr_deflate_$n" "$B" sr-text "$f"
    expect_rc "sr_deflate_$n" 0 1 3
done
run sr_deflate_claim "$B" sr-text "$H/dicom_deflate/top_level_claim.dcm"
expect sr_deflate_claim 'top_level_claim\.dcm: an element is longer than the deflated dataset'

# ---- series: duplicate + missing slice, two series in one folder ----
run dupmiss "$B" ingest "$H/series_duplicate_missing" -o "$T/out/dupmiss.h5" -q
expect_rc dupmiss 0 1
expect dupmiss 'exact copy of'
expect dupmiss 'gap'
run mixed "$B" ingest "$H/series_mixed" -o "$T/out/mixed.h5" -q
expect_rc mixed 0
grep -q '"series":2' "$T/logs/mixed.out" || fail "mixed: expected 2 series in the summary"
run export_mixed "$B" export "$H/mask16.png" --reference "$H/series_mixed" -o "$T/out/mixed_seg.dcm"
expect_rc export_mixed 2 3
expect export_mixed 'series_mixed.*(series|grid)'
[ ! -e "$T/out/mixed_seg.dcm" ] || fail "export_mixed: wrote a SEG from a folder of two series"

# ---- tag values like ../../ that must never reach a file name ----
run paths "$B" ingest "$H/dicom_path_tags" -o "$T/out/paths.h5" -q
expect_rc paths 0
first=$(ls "$H/dicom_path_tags" | head -1)
run export_paths "$B" export "$H/mask16.png" --reference "$H/dicom_path_tags/$first" -o "$T/out/paths_seg.dcm"
expect_rc export_paths 0
[ -s "$T/out/paths_seg.dcm" ] || fail "export_paths: no SEG written"
# --deidentify: the same export leaving the site carries none of those values
run export_deid env C2SEG_DEIDENTIFY_KEY=test "$B" export "$H/mask16.png" --reference "$H/dicom_path_tags/$first" \
    -o "$T/out/deid_seg.dcm" --deidentify
expect_rc export_deid 0
if dcmdump -q "$T/out/deid_seg.dcm" | grep -Eq 'c2seg-escape|etc/passwd|\(0010,0020\) LO \[\.\.'; then
    fail "export_deid: identifying values left in the de-identified SEG"
fi
dcmdump -q "$T/out/deid_seg.dcm" | grep -q '(0010,0020) LO \[ANON-' || fail "export_deid: no pseudonymous PatientID"
dcmdump -q +L +P 0020,4000 "$T/out/deid_seg.dcm" | grep -q '\[c2seg research software: for research use only' ||
    fail "export_deid: the intended-use statement (Image Comments) was removed"
grep -q "\"sop_instance_uid\":\"$(dcmdump -q -Un +P SOPInstanceUID "$T/out/deid_seg.dcm" | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -1)\"" \
    "$T/logs/export_deid.out" || fail "export_deid: the summary does not give the SEG's new SOP Instance UID"

# ---- NIfTI: NaN / Inf, zero and negative spacings and dimensions, huge, truncated ----
run nifti "$B" ingest "$H/nifti_bad" -o "$T/out/nifti.h5" -q
expect_rc nifti 1
expect nifti 'nan_inf\.nii: 4 NaN / Inf voxels'
expect nifti 'huge_dims\.nii: .*limit'
expect nifti 'negative_dims\.nii: '
expect nifti 'five_d\.nii: 5D\+ data \(dims 5\.\.7 = 3 x 1 x 1\)'
expect nifti 'truncated\.nii\.gz: '
expect nifti 'header_only\.nii: '
for n in n2_dim0_1024\\.nii\\.gz n2_dim0_big_endian\\.nii n1_dim0_swapped_32767\\.nii; do
    expect nifti "$n: invalid NIfTI header \\(dim\\[0\\] = [0-9]+ dimensions, 1 to 7\\)"
done
expect nifti 'n2_datatype_1034\.nii: invalid NIfTI header \(unknown datatype 1034\)'
if grep -v ': error: \|: warning: \|^c2seg ingest: ' "$T/logs/nifti.err" | grep -q .; then
    fail "nifti: a stderr line not of ours: $(grep -v ': error: \|: warning: \|^c2seg ingest: ' "$T/logs/nifti.err" | head -2)"
fi

# ---- PNG / JPEG in a slice-dataset layout ----
run images "$B" ingest "$H/images_bad" -o "$T/out/images.h5" -q
expect_rc images 1 3
expect images 'huge_65535\.png: .*limit'
expect images 'not_an_image\.png: '
expect images 'truncated\.png: '

# ---- SR: invalid UTF-8, right-to-left, broken ISO 2022, a 200-level deep tree ----
for f in "$H"/sr_text/*.dcm; do
    n=$(basename "$f" .dcm)
    run "srtext_$n" "$B" sr-text "$f"
    expect_rc "srtext_$n" 0
    expect_json "srtext_$n"
done
expect srtext_deep_tree 'deeper than'
grep -q 'right lower lobe' "$T/logs/srtext_right_to_left.out" || fail "srtext_right_to_left: text lost"

# ---- caption tables: zip bomb, broken zip, deep / broken JSON, odd CSV ----
for f in "$H"/captions_bad/*; do
    n=$(basename "$f" | tr '.' '_')
    run "cap_$n" "$B" caption parse "$f"
    expect_rc "cap_$n" 0 1 3
done
expect cap_bad_json 'bad\.json: '
expect cap_not_a_zip_xlsx 'not_a_zip\.xlsx: '
# report prose: every one parses (exit 0, JSON lines); a line starting with '{' stays a prose line
for n in prose_huge_number.txt prose_long_line.txt prose_brace_line; do
    run "prose_$n" "$B" caption parse "$H/captions_bad/$n"
    expect_rc "prose_$n" 0
    expect_json "prose_$n"
done
grep -q '"parser":"prose"' "$T/logs/prose_prose_brace_line.out" || fail "prose_brace_line: a '{' line not read as prose"

# ---- file system: symlink loops, dangling links, a FIFO, a folder named like a file ----
run fs "$B" ingest "$H/fs_odd" -o "$T/out/fs.h5" -q
expect_rc fs 1
expect fs 'dangling\.dcm: '
expect fs 'loop'
run fifo_sr "$B" sr-text "$H/fs_odd/fifo.dcm"
expect_rc fifo_sr 3
expect fifo_sr 'fifo\.dcm: '
run fifo_caption "$B" caption parse "$H/fs_odd/fifo.dcm"
expect_rc fifo_caption 2 3
expect fifo_caption 'fifo\.dcm: '
run fifo_ingest "$B" ingest "$H/fs_odd/fifo.dcm" -o "$T/out/fifo.h5" -q
expect_rc fifo_ingest 1 3
run dir_sr "$B" sr-text "$H/fs_odd/directory.dcm"
expect_rc dir_sr 0

# ---- names and values with control bytes, tabs, newlines, bytes outside UTF-8 ----
# Every stderr line is one of ours with no control byte; FILE.report.tsv has one row of two
# cells per reported file, and each row's file (its \xNN read back as bytes) exists; the JSON
# on stdout and predictions.json are strict UTF-8 and name the readable file so that Python
# (surrogateescape) finds it; `c2seg report` reads that predictions.json back.
run names "$B" ingest "$H/names_odd" -o "$T/out/names.h5"
expect_rc names 1
expect_json names
"$B" import-torch "${C2SEG_SHARED:?}/reference/golden_tiny_eval" -o "$T/out/tiny.ckpt" >/dev/null 2>&1 ||
    fail "names: import-torch"
run names_predict "$B" predict "$T/out/tiny.ckpt" "$H/names_odd" -o "$T/out/names_pred" -q
expect_rc names_predict 1
expect_json names_predict
run names_report "$B" report "$T/out/names_pred" -q
expect_rc names_report 0
$PY - "$T/logs/names.err" "$T/out/names.h5.report.tsv" "$T/out/names_pred/predictions.json" "$H/names_odd" <<'EOF' || fail "names: see above"
import json, os, re, sys
err, tsv, pred, folder = sys.argv[1:5]
bad = []
for line in open(err, "rb").read().split(b"\n")[:-1]:
    if not line.startswith(b"c2seg ingest: ") or re.search(rb"[\x00-\x1f\x7f]", line):
        bad.append(("stderr line", line[:120]))
rows = open(tsv, "rb").read().split(b"\n")
if rows[0] != b"file\treason" or rows[-1] != b"":
    bad.append(("tsv header or end", rows[0]))
rows = rows[1:-1]
if len(rows) != 6:
    bad.append(("tsv rows", len(rows), rows))
for r in rows:
    cells = r.split(b"\t")
    path = re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), cells[0])
    if len(cells) != 2 or any(re.search(rb"[\x00-\x1f\x7f]", c) for c in cells) or not os.path.exists(path):
        bad.append(("tsv row", r))
doc = json.loads(open(pred, "rb").read().decode("utf-8"))
inputs = [i for c in doc["cases"] for i in c["inputs"]]
if inputs != [os.path.join(folder, os.fsdecode(b"good\xff\x01.dcm"))] or not os.path.exists(inputs[0]):
    bad.append(("predictions.json inputs", inputs))
if bad:
    print("  names:", bad)
    sys.exit(1)
EOF

# ---- nothing was written outside the output folder ----
stray=$(find "$T" -newer "$T/stamp" \( -type f -o -type l \) ! -path "$T/out/*" ! -path "$T/logs/*" | head -5)
[ -z "$stray" ] || fail "files written outside the output folder: $stray"
esc=$(find /tmp "$T" -maxdepth 3 -name 'c2seg-escape*' -newer "$T/stamp" 2>/dev/null | head -3)
[ -z "$esc" ] || fail "a ../ tag value reached a file name: $esc"

echo "hostile corpus: $(sed -n 's/.*"truncations": \([0-9]*\).*/\1/p' "$T/corpus.json") truncations + $(ls "$H" | wc -l) cases, $failed failures"
[ "$failed" -eq 0 ]
