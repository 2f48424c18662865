#!/bin/sh
# Log hygiene of the DICOM readers: DCMTK's own "W: ..." / "E: ..." lines (e.g. "The VR
# checker does not support this Specific Character Set: ISO_IR 192" on every UTF-8 SR,
# dcmsr's item-by-item complaints) never reach stderr; our one warning per invalid SR
# does. Inputs: ../shared/data/dicom/sr (UTF-8 and invalid SRs) and an export.
set -u
S="$C2SEG_SHARED/data/dicom"
BIN="$C2SEG_BIN"
T="$C2SEG_BUILD/test-tmp/test_dicom_logs"
rm -rf "$T" && mkdir -p "$T" || exit 1
pass=0
fail=0
check() { if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "  FAILED: $1" >&2; fi; }

"$BIN" sr-text "$S/sr" >"$T/sr.json" 2>"$T/sr.err"
check "sr-text: exit 0 or 1" "$([ $? -le 1 ]; echo $?)"
grep -qE '^(W|E|F|I|D|T): ' "$T/sr.err"
check "sr-text: no DCMTK log lines ($(grep -cE '^(W|E): ' "$T/sr.err") found)" "$([ $? -ne 0 ]; echo $?)"
grep -q 'reportsi.dcm: SR content is invalid' "$T/sr.err"
check "sr-text: our warning for the invalid SR" $?
"$BIN" ingest "$S/sr" "$S/ct_single" -o "$T/c.h5" --preset small -q >/dev/null 2>"$T/ingest.err"
grep -qE '^(W|E|F|I|D|T): ' "$T/ingest.err"
check "ingest of SRs: no DCMTK log lines" "$([ $? -ne 0 ]; echo $?)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
