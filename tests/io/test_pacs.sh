#!/bin/sh
# The clinical loop against a real PACS: Debian's Orthanc (with its DICOMweb plugin) is
# started on loopback with free ports and its storage in the test folder, filled with
# dcmsend (the sample cohort, a real CT series and CR / DX images from ../shared/data, one
# of them JPEG 2000), then:
#   - c2seg pull over DIMSE (C-FIND + C-GET) and DICOMweb (QIDO-RS + WADO-RS): every
#     instance arrives (pydicom compares each with the file that was sent), both trees are
#     the same, a re-run after deleting files fetches only those, --modality / --study /
#     --list select what they should; C-MOVE to our own storage SCP (--move-port);
#   - c2seg predict --store (a CT model trained for one epoch here, the imported tiny X-ray
#     model), c2seg report, c2seg push of the SRs, over both transports; c2seg run with the
#     config key store;
#   - Orthanc is asked with QIDO-RS (curl) and C-FIND (findscu) for every SEG and SR
#     written: each is in the right study, the SEG references the source series; getscu
#     and Orthanc's own raw-file route retrieve them and their data sets are byte-identical
#     to what was written (c2seg pull over DIMSE too; WADO-RS values-equal: Orthanc's
#     DICOMweb plugin re-encodes sequence lengths);
#   - faults: server down, wrong called AE (association rejected), unregistered calling
#     AE, a C-MOVE destination port the server does not know, a server that accepts and never answers, the server killed (kill -9) in the
#     middle of a pull and of a push (through a slow python proxy): one clear error each,
#     no partial file, the ledger exact, and a re-run completes with only what was missing.
# Everything runs on 127.0.0.1; the trap stops every server this script started.
set -u
PY=/usr/bin/python3
S="$C2SEG_SHARED/data/dicom"
B="$C2SEG_BIN"
T="$C2SEG_BUILD/test-tmp/test_pacs"
rm -rf "$T" && mkdir -p "$T" || exit 1
. "$C2SEG_SOURCE/tests/support/pacslib.sh"
TOOLS=$PACS_TOOLS
pass=0
fail=0
T0=$(date +%s)
section() { echo "  [$(( $(date +%s) - T0 )) s] $*" >&2; }
check() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "  FAIL: $2" >&2; fi; }
# comparisons of folders by SOP instance (pacs_tools.py), judged together: one python start
want_same() { printf '%s|%s|%s|%s\n' "$4" "$1" "$2" "$3" >>"$T/judge.txt"; }
judge() {
    $PY "$TOOLS" many "$T/judge.txt" >"$T/judge.out" 2>&1 || echo "judge|pacs_tools.py failed: $(tail -1 "$T/judge.out")" >>"$T/judge.out"
    while IFS='|' read -r desc res; do check '[ "$res" = ok ]' "$desc: $res"; done <"$T/judge.out"
    : >"$T/judge.txt"
}

pacs_need
json_field() { $PY -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
dcm_count() { find "$1" -name '*.dcm' | wc -l; }

set -- $($PY "$TOOLS" ports 12)
DP=$1 HP=$2 PROXY=$3 MUTE=$4 DOWN=$5 DP2=$6 HP2=$7 PROXY2=$8 MOVEP=$9
shift 9
OTHERP=$1 QCAP=$2 TLSP=$3
orthanc_config main "$DP" "$HP" "$MOVEP"
orthanc_config second "$DP2" "$HP2" "$MOVEP"
orthanc_start main "$HP"
DIMSE="dicom://ORTHANC@127.0.0.1:$DP"
WEB="http://127.0.0.1:$HP/dicom-web"

# ---- the source objects: the sample cohort, a real CT series, CR / DX (one JPEG 2000) ----
"$C2SEG_BUILD/c2seg-sample-data" -o "$T/sd" --studies 3 --slices 8 --size 64 >/dev/null 2>&1 ||
    { echo "c2seg-sample-data failed" >&2; exit 1; }
mkdir -p "$T/src/ct" "$T/src/xray"
ln -s "$T/sd/dicom" "$T/src/sd"
for f in 01.dcm 02.dcm 03.dcm; do ln -s "$S/ct_series/dcmqi_ct-3slice/$f" "$T/src/ct/$f"; done
for f in 6154 dx_image.dcm RG3_J2KR.dcm; do ln -s "$S/xray/$f" "$T/src/xray/$f"; done
# pacs_tools indexes files with a DICM preamble (6154 has one)
dcmsend -aet C2SEG -aec ORTHANC 127.0.0.1 "$DP" +sd +r "$T/sd/dicom" "$T/src/ct" "$T/src/xray" >"$T/dcmsend.log" 2>&1
check '[ $? -eq 0 ]' "dcmsend of the sources: $(tail -2 "$T/dcmsend.log")"
N=$($PY "$TOOLS" index "$T/src" | wc -l)
check '[ "$(count_instances "$HP")" -eq "$N" ]' "Orthanc holds $N instances"

# ---- 1. pull over both transports ----
section "pull over both transports"
"$B" pull "$DIMSE" --all -o "$T/pd" -q >"$T/pd.json" 2>"$T/pd.err"
check '[ $? -eq 0 ]' "pull over DIMSE: $(cat "$T/pd.err")"
want_same "$T/src" "$T/pd" values "pull over DIMSE: every source instance arrived, values equal"
check '[ "$(dcm_count "$T/pd")" -eq "$N" ] && [ -s "$T/pd/.c2seg-pull-status.tsv" ]' "pull over DIMSE: $N files and the status table"
"$B" pull "$WEB" --all -o "$T/pw" -q >"$T/pw.json" 2>"$T/pw.err"
check '[ $? -eq 0 ]' "pull over DICOMweb: $(cat "$T/pw.err")"
want_same "$T/src" "$T/pw" values "pull over DICOMweb: every source instance arrived, values equal"
judge
check '[ "$(cd "$T/pd" && find . -name "*.dcm" | sort)" = "$(cd "$T/pw" && find . -name "*.dcm" | sort)" ]' \
    "both transports give the same patient / study / series tree"
# the JPEG 2000 image kept its transfer syntax (no transcoding on the way)
$PY "$TOOLS" index "$T/pd" >"$T/pd.index"
j2k=$(grep "$(dcmdump -q +P 0008,0018 "$S/xray/RG3_J2KR.dcm" | sed 's/.*\[\(.*\)\].*/\1/')" "$T/pd.index" | cut -f2)
check 'dcmdump -q +P 0002,0010 "$j2k" | grep -q JPEG2000' "C-GET kept the JPEG 2000 transfer syntax"

# QIDO-RS paging: a server that answers at most 2 results per request (and says so with
# "Warning: 299") gives the whole tree through limit / offset
$PY "$TOOLS" qidocap "$QCAP" "$HP" 2 "$T/qido.log" & pacs_bg $!
$PY "$TOOLS" waitport "$QCAP"
"$B" pull "http://127.0.0.1:$QCAP/dicom-web" --all -o "$T/pq" -q >/dev/null 2>"$T/pq.err"
check '[ $? -eq 0 ] && [ "$(cd "$T/pq" && find . -name "*.dcm" | sort)" = "$(cd "$T/pw" && find . -name "*.dcm" | sort)" ]' \
    "QIDO-RS capped at 2 results a page: the same tree as the direct pull: $(cat "$T/pq.err")"
check 'grep -q "offset=" "$T/qido.log" && [ "$(grep -c "/studies?.*offset=" "$T/qido.log")" -ge 2 ]' \
    "the capped study list was read in pages ($(grep -c "offset=" "$T/qido.log") requests with an offset)"

# https: Debian's Orthanc 1.10.1 cannot serve TLS (its civetweb worker segfaults after the
# handshake, docs/pacs.md), so a python TLS front (a self-signed certificate made here by
# openssl) passes the requests to Orthanc: libcurl verifies it against --ca, and without
# --ca the pull stops with one certificate error
make_cert tls 127.0.0.1 IP:127.0.0.1
$PY "$TOOLS" qidocap "$TLSP" "$HP" 100000 "$T/tls.log" "$T/tls.pem" & pacs_bg $!
$PY "$TOOLS" waitport "$TLSP"
"$B" pull "https://127.0.0.1:$TLSP/dicom-web" --ca "$T/tls.crt" --all -o "$T/ptls" -q >/dev/null 2>"$T/ptls.err"
check '[ $? -eq 0 ] && [ "$(cd "$T/ptls" && find . -name "*.dcm" | sort)" = "$(cd "$T/pw" && find . -name "*.dcm" | sort)" ]' \
    "pull over https (--ca): the same tree as over http: $(cat "$T/ptls.err")"
want_same "$T/src" "$T/ptls" values "pull over https: every source instance arrived, values equal"
"$B" pull "https://127.0.0.1:$TLSP/dicom-web" --all -o "$T/ptls2" --retries 0 >/dev/null 2>"$T/ptls2.err"
check '[ $? -eq 3 ] && [ "$(grep -c "error:" "$T/ptls2.err")" -eq 1 ] && grep -qi "certificate" "$T/ptls2.err" && [ "$(dcm_count "$T/ptls2" 2>/dev/null || echo 0)" -eq 0 ]' \
    "https with an unknown CA: one certificate error, nothing written: $(cat "$T/ptls2.err")"

# ---- 2. resume: only what is missing is fetched ----
section "resume"
find "$T/pd" -name '*.dcm' | head -3 | xargs rm -f
"$B" pull "$DIMSE" --all -o "$T/pd" -q >"$T/pd2.json" 2>/dev/null
check '[ $? -eq 0 ] && [ "$(json_field instances_retrieved <"$T/pd2.json")" -eq 3 ] && [ "$(json_field instances_already_there <"$T/pd2.json")" -eq $((N - 3)) ]' \
    "a re-run after deleting 3 files retrieves exactly 3"
find "$T/pw" -name '*.dcm' | tail -2 | xargs rm -f
"$B" pull "$WEB" --all -o "$T/pw" -q >"$T/pw2.json" 2>/dev/null
check '[ $? -eq 0 ] && [ "$(json_field instances_retrieved <"$T/pw2.json")" -eq 2 ]' "DICOMweb re-run retrieves exactly 2"

# ---- 3. query keys ----
section "query keys"
"$B" pull "$WEB" --all --modality CR,DX -o "$T/px" -q >/dev/null 2>&1
check '[ $? -eq 0 ] && [ "$(dcm_count "$T/px")" -eq 3 ]' "--modality CR,DX pulls the 3 X-ray images"
"$B" pull "$DIMSE" --move-port "$MOVEP" --all --modality CR,DX -o "$T/pm" -q >/dev/null 2>"$T/pm.err"
check '[ $? -eq 0 ] && [ "$(dcm_count "$T/pm")" -eq 3 ]' "C-MOVE to our storage SCP pulls the 3 X-ray images: $(cat "$T/pm.err")"
want_same "$T/pm" "$T/src" values "C-MOVE: the X-ray images arrived with their values"
want_same "$T/pm" "$T/pd" bytes "C-MOVE and C-GET write the same files"
judge
CT_STUDY=$(dcmdump -q +P 0020,000d "$S/ct_series/dcmqi_ct-3slice/01.dcm" | sed 's/.*\[\(.*\)\].*/\1/')
CT_SERIES=$(dcmdump -q +P 0020,000e "$S/ct_series/dcmqi_ct-3slice/01.dcm" | sed 's/.*\[\(.*\)\].*/\1/')
"$B" pull "$DIMSE" --study "$CT_STUDY" -o "$T/pct" -q >/dev/null 2>&1
check '[ $? -eq 0 ] && [ "$(dcm_count "$T/pct")" -eq 3 ]' "--study pulls the 3-slice CT"
ACC=$(dcmdump -q +P 0008,0050 "$T/sd/dicom/case02/CT/IM0001.dcm" | sed 's/.*\[\(.*\)\].*/\1/')
printf '# a study list\n%s\n\n%s\n9.9.9.9\n' "$CT_STUDY" "$ACC" >"$T/list.txt"
"$B" pull "$WEB" --list "$T/list.txt" -o "$T/plist" -q >/dev/null 2>"$T/plist.err"
# the CT study's 3 slices, and the accession's study: case02's 8 CT slices, its SR and its
# ground-truth SEG (sample-data writes one per study)
check '[ $? -eq 0 ] && [ "$(dcm_count "$T/plist")" -eq $((3 + 8 + 1 + 1)) ] && grep -q "no study matches" "$T/plist.err"' \
    "--list: a study UID and an accession number (an unknown UID is reported)"

# ---- 4. predict --store, report, push the SRs (both transports) ----
section "predict --store, report, push"
# the CT model learns from the NIfTI twins of the series (they carry the masks; train refuses
# a cache without ground truth)
"$B" ingest "$T/sd/nifti" -o "$T/c.h5" --size 32 -q >/dev/null 2>&1 &&
    "$B" train "$T/c.h5" --preset tiny -o "$T/ct.ckpt" --epochs 1 --batch 8 -q >/dev/null 2>&1 &&
    "$B" import-torch "$C2SEG_SHARED/reference/golden_tiny_eval" -o "$T/xray.ckpt" >/dev/null 2>&1 ||
    { echo "could not make the test checkpoints" >&2; exit 1; }
CTDIR_D=$(dirname "$(dirname "$(grep -F "$(dcmdump -q +P 0008,0018 "$S/ct_series/dcmqi_ct-3slice/01.dcm" | sed 's/.*\[\(.*\)\].*/\1/')" "$T/pd.index" | cut -f2)")")
CTDIR_W=$T/pw/${CTDIR_D#"$T/pd/"}
case "$CTDIR_D" in "$T/pd/"?*) ;; *) echo "the pulled CT study is not in $T/pd" >&2; exit 1 ;; esac
"$B" predict "$T/ct.ckpt" "$CTDIR_D" -o "$T/od" --store "$DIMSE" -q >"$T/od.json" 2>"$T/od.err"
check '[ $? -eq 0 ] && [ "$(json_field stored <"$T/od.json")" -eq 1 ]' "predict --store over DIMSE: $(cat "$T/od.err")"
"$B" predict "$T/xray.ckpt" "$T/px" -o "$T/odx" --store "$DIMSE" -q >"$T/odx.json" 2>"$T/odx.err"
check '[ $? -eq 0 ] && [ "$(json_field stored <"$T/odx.json")" -eq 3 ]' "predict --store of CR / DX SEGs: $(cat "$T/odx.err")"
"$B" predict "$T/ct.ckpt" "$CTDIR_W" -o "$T/ow" --store "$WEB" -q >"$T/ow.json" 2>"$T/ow.err"
check '[ $? -eq 0 ] && [ "$(json_field stored <"$T/ow.json")" -eq 1 ]' "predict --store over DICOMweb: $(cat "$T/ow.err")"
for o in od odx ow; do
    "$B" report "$T/$o" -q >/dev/null 2>&1 || { check false "report $o"; continue; }
    dest=$DIMSE
    [ $o = ow ] && dest=$WEB
    "$B" push "$dest" "$T/$o" -q >"$T/$o.push.json" 2>"$T/$o.push.err"
    check '[ $? -eq 0 ] && [ "$(json_field already_there <"$T/$o.push.json")" -ge 1 ] && [ "$(json_field failed <"$T/$o.push.json")" -eq 0 ]' \
        "push $o: the SRs sent, the SEGs known from the ledger: $(cat "$T/$o.push.err")"
    "$B" push "$dest" "$T/$o" -q >"$T/$o.push2.json" 2>/dev/null
    check '[ "$(json_field sent <"$T/$o.push2.json")" -eq 0 ]' "push $o again sends nothing"
done

# the same loop from a config file: c2seg run with `store` (predict and report store)
printf 'workdir = %s\nmodel = %s\npredict = %s\nstore = %s\n' "$T/run" "$T/ct.ckpt" "$CTDIR_W" "$WEB" >"$T/run.conf"
"$B" run "$T/run.conf" -q >/dev/null 2>"$T/run.err"
check '[ $? -eq 0 ] && [ "$(find "$T/run/predict" -name "*.dcm" | wc -l)" -eq 2 ]' "c2seg run with store: $(cat "$T/run.err")"
for f in $(find "$T/run/predict" -name '*.dcm'); do
    sop=$(dcmdump -q +P 0008,0018 "$f" | sed 's/.*\[\(.*\)\].*/\1/')
    check 'curl -sf "$WEB/studies/$CT_STUDY/instances" | grep -q "\"$sop\""' "c2seg run stored $(basename "$f") in the CT study"
done

# the loop from a query: c2seg run with `pull` (DIMSE) and the query keys, predict on the
# pulled folder, store back (DICOMweb); a second run pulls nothing new and skips predict
printf 'workdir = %s\nmodel = %s\npull = %s\npull_study = %s\npull_modality = CT\nstore = %s\n' \
    "$T/runp" "$T/ct.ckpt" "$DIMSE" "$CT_STUDY" "$WEB" >"$T/runp.conf"
"$B" run "$T/runp.conf" -q >"$T/runp.json" 2>"$T/runp.err"
check '[ $? -eq 0 ] && [ "$(dcm_count "$T/runp/pulled")" -eq 3 ] && [ "$(find "$T/runp/predict" -name "*.seg.dcm" | wc -l)" -eq 1 ]' \
    "c2seg run with pull: the 3 CT slices pulled, one SEG predicted: $(cat "$T/runp.err")"
want_same "$T/src/ct" "$T/runp/pulled" values "c2seg run with pull: the pulled CT slices are the ones sent"
f=$(find "$T/runp/predict" -name '*.seg.dcm' | head -1)
sop=$(dcmdump -q +P 0008,0018 "$f" 2>/dev/null | sed 's/.*\[\(.*\)\].*/\1/')
check 'curl -sf "$WEB/studies/$CT_STUDY/instances" | grep -q "\"$sop\""' "c2seg run with pull stored its SEG in the CT study"
"$B" run "$T/runp.conf" -q >"$T/runp2.json" 2>"$T/runp2.err"
check '[ $? -eq 0 ] && $PY -c "import json,sys; s={x[\"name\"]: x for x in json.load(open(sys.argv[1]))[\"stages\"]}; sys.exit(not (s[\"pull\"][\"action\"] == \"ran\" and s[\"pull\"][\"summary\"][\"instances_retrieved\"] == 0 and s[\"predict\"][\"action\"] == \"up to date\"))" "$T/runp2.json"' \
    "a second run asks the source again, retrieves nothing, predict up to date: $(cat "$T/runp2.err")"

# ---- 5. Orthanc has every SEG and SR, in the right study, referencing the right series ----
section "query and retrieve the SEGs / SRs"
mkdir -p "$T/raw" "$T/gs"
$PY "$TOOLS" refs $(find "$T/od" "$T/odx" "$T/ow" -name '*.dcm' | sort) >"$T/all.refs"
for o in od odx ow; do
    grep "^$T/$o/" "$T/all.refs" >"$T/$o.refs"
    check '[ "$(wc -l <"$T/$o.refs")" -ge 2 ]' "$o: SEG and SR files written"
    while read -r f cname st se sop referenced; do
        q=$(curl -sf "$WEB/studies/$st/series/$se/instances")
        check 'printf "%s" "$q" | grep -q "\"$sop\""' "QIDO-RS finds $(basename "$f") in study $st"
        findscu -S -aet C2SEG -aec ORTHANC -k QueryRetrieveLevel=IMAGE -k "StudyInstanceUID=$st" -k "SeriesInstanceUID=$se" \
            -k SOPInstanceUID -k SOPClassUID 127.0.0.1 "$DP" >"$T/find.log" 2>&1
        check 'grep -q "$sop" "$T/find.log" && grep -q "=$cname" "$T/find.log"' "C-FIND finds $(basename "$f") ($cname)"
        if [ "$o" != odx ]; then
            check '[ "$st" = "$CT_STUDY" ]' "$(basename "$f") is in the CT study"
            case "$f" in *.seg.dcm) check 'echo "$referenced" | grep -q "$CT_SERIES"' "the SEG references the source CT series" ;; esac
        fi
        id=$(curl -sf -X POST --data "$sop" "http://127.0.0.1:$HP/tools/lookup" | sed -n 's/.*"ID" *: *"\([^"]*\)".*/\1/p')
        curl -sf "http://127.0.0.1:$HP/instances/$id/file" -o "$T/raw/$sop.dcm"
        echo "$st" >>"$T/studies.txt"
    done <"$T/$o.refs"
done
# Orthanc keeps a STOW-RS upload as it came; a C-STORE data set it re-encodes (explicit
# sequence lengths), so those compare by value
want_same "$T/ow" "$T/raw" bytes "ow (STOW-RS): Orthanc stored the data sets byte for byte"
want_same "$T/od" "$T/raw" values "od (C-STORE): Orthanc stored the same values"
want_same "$T/odx" "$T/raw" values "odx (C-STORE): Orthanc stored the same values"
for st in $(sort -u "$T/studies.txt"); do
    getscu -S -aet C2SEG -aec ORTHANC -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$st" -od "$T/gs" 127.0.0.1 "$DP" >/dev/null 2>&1
done
for o in od odx ow; do
    want_same "$T/$o" "$T/gs" bytes "$o: getscu retrieves the SEGs / SRs byte for byte"
done
"$B" pull "$DIMSE" --study "$CT_STUDY" -o "$T/back_d" -q >/dev/null 2>&1
"$B" pull "$WEB" --study "$CT_STUDY" -o "$T/back_w" -q >/dev/null 2>&1
for o in od ow; do
    want_same "$T/$o" "$T/back_d" bytes "c2seg pull (C-GET) retrieves the $o SEG / SR byte for byte"
    want_same "$T/$o" "$T/back_w" values "c2seg pull (WADO-RS) retrieves the $o SEG / SR (values)"
done
judge

# ---- 6. faults: one clear error each, nothing lost ----
section "faults"
errors() { grep -c "error:" "$1"; }
"$B" pull "dicom://ORTHANC@127.0.0.1:$DOWN" --all -o "$T/f1" --retries 1 >/dev/null 2>"$T/f1.err"
check '[ $? -eq 3 ] && [ "$(errors "$T/f1.err")" -eq 1 ] && grep -q "is the server running" "$T/f1.err" && [ "$(dcm_count "$T/f1")" -eq 0 ]' \
    "server down (pull): $(cat "$T/f1.err")"
cp "$T/od/c2seg-sent.tsv" "$T/ledger.before"
"$B" push "http://127.0.0.1:$DOWN/dicom-web" "$T/od" --retries 0 >/dev/null 2>"$T/f2.err"
check '[ $? -eq 3 ] && [ "$(errors "$T/f2.err")" -eq 1 ] && cmp -s "$T/ledger.before" "$T/od/c2seg-sent.tsv"' \
    "server down (push): one error, the ledger unchanged: $(cat "$T/f2.err")"
"$B" pull "dicom://WRONG@127.0.0.1:$DP" --all -o "$T/f3" --retries 0 >/dev/null 2>"$T/f3.err"
check '[ $? -eq 3 ] && [ "$(errors "$T/f3.err")" -eq 1 ] && grep -q "Association Rejected" "$T/f3.err"' \
    "wrong called AE title: $(cat "$T/f3.err")"
"$B" pull "$DIMSE" --aet STRANGER --all -o "$T/f4" --retries 0 >/dev/null 2>"$T/f4.err"
check '[ $? -eq 3 ] && [ "$(errors "$T/f4.err")" -eq 1 ] && grep -q "STRANGER" "$T/f4.err"' \
    "unregistered calling AE title: $(cat "$T/f4.err")"
"$B" pull "$DIMSE" --move-port "$OTHERP" --all --modality DX -o "$T/f8" --retries 0 >/dev/null 2>"$T/f8.err"
check '[ $? -eq 3 ] && [ "$(errors "$T/f8.err")" -eq 1 ] && grep -q "does the server send to C2SEG" "$T/f8.err" && [ "$(dcm_count "$T/f8")" -eq 0 ]' \
    "C-MOVE to a port the server does not know: $(cat "$T/f8.err")"
$PY "$TOOLS" mute "$MUTE" & pacs_bg $!
$PY "$TOOLS" waitport "$MUTE"
t0=$(date +%s)
"$B" pull "dicom://ORTHANC@127.0.0.1:$MUTE" --all -o "$T/f5" --retries 0 --timeout 2 >/dev/null 2>"$T/f5.err"
check '[ $? -eq 3 ] && [ "$(errors "$T/f5.err")" -eq 1 ] && grep -qi "timeout" "$T/f5.err"' "silent server (DIMSE): $(cat "$T/f5.err")"
"$B" pull "http://127.0.0.1:$MUTE/dicom-web" --all -o "$T/f6" --retries 0 --timeout 2 >/dev/null 2>"$T/f6.err"
check '[ $? -eq 3 ] && [ "$(errors "$T/f6.err")" -eq 1 ]' "silent server (DICOMweb): $(cat "$T/f6.err")"
"$B" push "dicom://ORTHANC@127.0.0.1:$MUTE" "$T/od" --retries 0 --timeout 2 >/dev/null 2>"$T/f7.err"
check '[ $? -eq 3 ] && [ "$(errors "$T/f7.err")" -eq 1 ] && cmp -s "$T/ledger.before" "$T/od/c2seg-sent.tsv"' \
    "silent server (push): $(cat "$T/f7.err")"
check '[ $(( $(date +%s) - t0 )) -lt 40 ]' "the silent-server cases end within their timeouts"

# killed in the middle of a pull (through a slow proxy), then a re-run completes
section "kill during a pull"
$PY "$TOOLS" proxy "$PROXY" "$DP" 0.02 & pacs_bg $!
$PY "$TOOLS" waitport "$PROXY"
"$B" pull "dicom://ORTHANC@127.0.0.1:$PROXY" --all -o "$T/pk" --retries 0 -q >"$T/pk.json" 2>"$T/pk.err" &
PULL=$!
i=0
while [ "$(dcm_count "$T/pk" 2>/dev/null || echo 0)" -lt 4 ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
orthanc_kill main
wait $PULL
rc=$?
check '[ $rc -ne 0 ] && [ "$(errors "$T/pk.err")" -eq 1 ] && [ "$(dcm_count "$T/pk")" -lt "$N" ]' \
    "Orthanc killed during a pull: one error (rc $rc): $(cat "$T/pk.err")"
check '[ -z "$(find "$T/pk" -name "*.tmp.*")" ] && $PY "$TOOLS" same "$T/pk" "$T/src:$T/od:$T/odx:$T/ow" values >/dev/null' \
    "no partial file: every file that arrived is complete"
orthanc_start main "$HP"
"$B" pull "$DIMSE" --all -o "$T/pk" -q >"$T/pk2.json" 2>"$T/pk2.err"
check '[ $? -eq 0 ] && [ "$(json_field instances_already_there <"$T/pk2.json")" -ge 4 ] && $PY "$TOOLS" same "$T/src" "$T/pk" values >/dev/null && [ "$(dcm_count "$T/pk")" -eq "$(count_instances "$HP")" ]' \
    "the re-run completes the pull: $(cat "$T/pk2.err")"

# killed in the middle of a push (to an empty second Orthanc), then a re-run sends the rest
section "kill during a push"
orthanc_start second "$HP2"
$PY "$TOOLS" proxy "$PROXY2" "$DP2" 0.01 & pacs_bg $!
$PY "$TOOLS" waitport "$PROXY2"
"$B" push "dicom://ORTHANC@127.0.0.1:$PROXY2" "$T/pd" --ledger "$T/push.tsv" --retries 0 -q >/dev/null 2>"$T/pk3.err" &
PUSH=$!
i=0
while [ "$(cat "$T/push.tsv" 2>/dev/null | wc -l)" -lt 4 ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
orthanc_kill second
wait $PUSH
rc=$?
L=$(cat "$T/push.tsv" 2>/dev/null | wc -l)
check '[ $rc -ne 0 ] && [ "$(errors "$T/pk3.err")" -eq 1 ] && [ "$L" -lt "$N" ] && grep -q "did not arrive" "$T/pk3.err"' \
    "Orthanc killed during a push: one error, the objects that did not arrive listed (rc $rc, $L confirmed)"
orthanc_start second "$HP2"
"$B" push "dicom://ORTHANC@127.0.0.1:$PROXY2" "$T/pd" --ledger "$T/push.tsv" -q >"$T/pk4.json" 2>"$T/pk4.err"
check '[ $? -eq 0 ] && [ "$(json_field already_there <"$T/pk4.json")" -eq "$L" ] && [ "$(json_field sent <"$T/pk4.json")" -eq $((N - L)) ]' \
    "the re-run sends only the $((N - L)) missing: $(cat "$T/pk4.err")"
check '[ "$(count_instances "$HP2")" -eq "$N" ]' "the second Orthanc holds all $N instances"

section "done"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && rm -rf "$T"
[ $fail -eq 0 ]
