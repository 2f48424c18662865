#!/bin/sh
# DCMTK's own log lines go through c2seg's logger (issue 30, defect 5; io/dcmtk_log.h):
# ingest of the real DICOM corpus (SR documents whose character set DCMTK's VR checker
# warns about, SRs with invalid IMAGE items) and of a generated cohort (SRs in ISO_IR 192)
#  - without -q: every stderr line starts with "c2seg ingest: " (no bare "W: " / "E: "
#    line of DCMTK's console appender) and DCMTK's warnings appear as
#    "c2seg ingest: DCMTK warning (dcmtk.dcmsr): ..." (the SRs with invalid IMAGE items),
#    except dcmdata's "VR checker does not support this Specific Character Set" that
#    every UTF-8 file draws, which is dropped;
#  - with -q: none of DCMTK's lines remain (only our own warnings and errors);
#  - with parallel workers (--jobs 4) no line is torn (each log line is one write);
#  - predict writing a SEG keeps dcmiod's harmless per-write warning out.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_dcmtk_log
S="$DATA"
export C2SEG_THREADS=1

tl_sample_data "$T/sd" --studies 2 --slices 6 --size 64
"$BIN" ingest "$S/dicom" "$T/sd/dicom" -o "$T/a.h5" --size 32 >/dev/null 2>"$T/loud.err"
"$BIN" ingest "$S/dicom" "$T/sd/dicom" -o "$T/b.h5" --size 32 -q >/dev/null 2>"$T/quiet.err"
grep -v "^c2seg ingest: " "$T/loud.err" >"$T/stray" && bad "lines without our prefix: $(head -3 "$T/stray")" ||
    ok "every stderr line has the c2seg ingest: prefix"
# parallel workers (--jobs 4) log at the same time: a line is one write, never torn
for i in 1 2 3; do
    "$BIN" ingest "$S/dicom" "$T/sd/dicom" -o "$T/j$i.h5" --size 32 --jobs 4 >/dev/null 2>>"$T/jobs.err"
done
grep -v "^c2seg ingest: " "$T/jobs.err" >"$T/stray" && bad "torn lines with --jobs 4: $(head -3 "$T/stray")" ||
    ok "--jobs 4, three runs: every line whole and prefixed"
# reportsi.dcm (real file) references an image SOP class dcmsr does not know: dcmsr warns
grep -q "^c2seg ingest: DCMTK warning (dcmtk.dcmsr): Invalid or unknown image SOP class referenced from IMAGE content item" "$T/loud.err" &&
    ok "DCMTK's warnings arrive as c2seg ingest: DCMTK warning lines" || bad "no DCMTK line routed: $(head -3 "$T/loud.err")"
# the VR checker's line on every UTF-8 (ISO_IR 192) file says nothing to the user: dropped
grep -q "VR checker does not support this Specific Character Set" "$T/loud.err" "$T/jobs.err" &&
    bad "the VR checker's Specific Character Set line was not dropped" ||
    ok "the VR checker's Specific Character Set line is dropped"
# DCMTK's lines name no file: each distinct one once per run (the real corpus's odd-length
# Pixel Data drew 52 equal lines), with parallel workers too
for f in loud j1 j2 j3; do
    [ $f = loud ] && src="$T/loud.err" || src="$T/$f.only.err"
    [ $f = loud ] || "$BIN" ingest "$S/dicom" "$T/sd/dicom" -o "$T/$f.h5" --size 32 --jobs 4 >/dev/null 2>"$src"
    dup=$(grep "DCMTK" "$src" | sort | uniq -d | head -2)
    [ -z "$dup" ] && ok "$f: no DCMTK line repeated" || bad "$f: repeated DCMTK lines: $dup"
done
grep -q "DCMTK\|^[WEF]: " "$T/quiet.err" && bad "-q kept DCMTK lines: $(grep "DCMTK\|^[WEF]: " "$T/quiet.err" | head -3)" ||
    ok "-q silences DCMTK's lines"
grep -q "^c2seg ingest: warning: " "$T/quiet.err" && ok "-q keeps our own warnings" || bad "-q dropped our warnings"

# a SEG write (predict of a DICOM series): no dcmseg line, every line prefixed
tl_tiny_model "$T/sd/nifti" "$T/n.h5" "$T/m.ckpt" --epochs 1 --batch 4 --max-steps 1
"$BIN" predict "$T/m.ckpt" "$T/sd/dicom/case01" -o "$T/p" >/dev/null 2>"$T/p.err"
rc=$?
[ $rc -eq 0 ] && ls "$T/p"/*.seg.dcm >/dev/null 2>&1 && ! grep -v "^c2seg predict: " "$T/p.err" >/dev/null &&
    ! grep -q "dimension consistency" "$T/p.err" && ok "predict's SEG write: no stray line, no dcmiod per-write warning" ||
    bad "predict: exit $rc: $(grep -v "files\|cases" "$T/p.err" | head -5)"

tl_end
