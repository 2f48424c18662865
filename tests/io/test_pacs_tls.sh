#!/bin/sh
# TLS to a real PACS, both transports, with self-signed certificates made here by openssl
# (a server's, ours, a stranger's):
#   - DIMSE over TLS: Debian's Orthanc (1.10.1) with DicomTlsEnabled, requiring a client
#     certificate it trusts (ours), our AE registered with UseDicomTls for C-MOVE. c2seg push
#     --tls sends a sample study (CT slices, its SEG and SR: Segmentation and Comprehensive SR
#     Storage contexts) and Orthanc's stored files have the same values (C-STORE: Orthanc
#     re-encodes sequence lengths); c2seg pull --tls gives them back byte for byte by C-FIND +
#     C-GET and by C-MOVE to our own storage SCP, itself over TLS; c2seg run stores a predicted
#     SEG and its SR with the config keys store_tls / store_ca / store_cert / store_key.
#   - DICOMweb over https: a python TLS front (pacs_tools.py qidocap) before a second Orthanc:
#     c2seg push of the SEG and SR (STOW-RS: a multipart POST through the front) and predict
#     --store https://... --store-ca arrive byte for byte (Orthanc keeps a STOW-RS upload as it
#     came).
#   - refusals, each one error line, no file written, no hang: a server certificate that does
#     not chain to --ca (DIMSE and https), a certificate of ours Orthanc does not trust, none,
#     plain DIMSE to the TLS port, TLS to a server that accepts and never answers (--timeout),
#     a key that is not our certificate's, and option mistakes (--tls with https, --cert
#     without --key, --tls --move-port without --cert, a --ca file that does not exist).
# Everything runs on 127.0.0.1; the trap stops every server this script started.
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_pacs_tls
. "$C2SEG_SOURCE/tests/support/pacslib.sh"
pacs_need

# ran WHAT RC FILE: a check of exit status RC (0 wanted) naming WHAT and FILE's text if it fails
ran() { if [ "$2" -eq 0 ]; then ok "$1"; else bad "$1 (exit $2): $(cat "$3")"; fi; }
# same A B MODE WHAT: every instance of folder A is in B with equal bytes / values (pacs_tools.py)
same() { if $PY "$PACS_TOOLS" same "$1" "$2" "$3" >"$T/same.out" 2>&1; then ok "$4"; else bad "$4: $(cat "$T/same.out")"; fi; }
# refused_once WHAT PATTERN FILE RC: exit 3, exactly one error line matching PATTERN (grep -i)
refused_once() {
    if [ "$4" -eq 3 ] && [ "$(grep -c "error:" "$3")" -eq 1 ] && grep -qi -- "$2" "$3"; then ok "$1: $(cat "$3")"; else bad "$1 (exit $4): $(cat "$3")"; fi
}
dcm_count() { find "$1" -name '*.dcm' 2>/dev/null | wc -l; }

set -- $($PY "$PACS_TOOLS" ports 7)
DP=$1 HP=$2 DPW=$3 HPW=$4 MOVEP=$5 TLSP=$6 MUTE=$7
make_cert server 127.0.0.1 IP:127.0.0.1
make_cert client C2SEG
make_cert stranger STRANGER
orthanc_config tls "$DP" "$HP" "$MOVEP" ", \"DicomTlsEnabled\": true, \"DicomTlsCertificate\": \"$T/server.crt\",
  \"DicomTlsPrivateKey\": \"$T/server.key\", \"DicomTlsTrustedCertificates\": \"$T/client.crt\",
  \"DicomTlsRemoteCertificateRequired\": true" ', "UseDicomTls": true'
orthanc_config web "$DPW" "$HPW" "$MOVEP"
orthanc_start tls "$HP"
orthanc_start web "$HPW"
$PY "$PACS_TOOLS" qidocap "$TLSP" "$HPW" 100000 "$T/front.log" "$T/server.pem" &
pacs_bg $!
$PY "$PACS_TOOLS" waitport "$TLSP"
DIMSE="dicom://ORTHANC@127.0.0.1:$DP"
HTTPS="https://127.0.0.1:$TLSP/dicom-web"
TLS="--tls --ca $T/server.crt --cert $T/client.crt --key $T/client.key"

# a sample study written by c2seg: 6 CT slices, the ground-truth SEG, the SR
tl_sample_data "$T/sd" --studies 1 --slices 6 --size 64
SD="$T/sd/dicom/case01"
N=$(dcm_count "$SD")
[ "$N" -eq 8 ] && [ -f "$SD/SEG/truth.seg.dcm" ] && [ -f "$SD/SR/report.dcm" ] ||
    { echo "FAIL: the sample study is not 6 CT slices, a SEG and an SR: $(find "$SD" -type f)" >&2; exit 1; }

# ---- DIMSE over TLS: push, then pull by C-GET and C-MOVE ----
"$BIN" push "$DIMSE" "$SD" $TLS --ledger "$T/push.tsv" -q >"$T/push.json" 2>"$T/push.err"
ran "push over TLS (C-STORE of CT, SEG, SR)" $? "$T/push.err"
[ "$(count_instances "$HP")" -eq "$N" ] && ok "Orthanc holds the $N instances" || bad "Orthanc holds $(count_instances "$HP") instances, not $N"
orthanc_files "$HP" "$T/stored"
same "$SD" "$T/stored" values "push over TLS: Orthanc stored the same values"
"$BIN" pull "$DIMSE" --all $TLS -o "$T/pg" -q >/dev/null 2>"$T/pg.err"
ran "pull over TLS (C-FIND + C-GET)" $? "$T/pg.err"
same "$SD" "$T/pg" bytes "pull over TLS (C-GET): the CT, SEG and SR come back byte for byte"
"$BIN" pull "$DIMSE" --all $TLS --move-port "$MOVEP" -o "$T/pm" -q >/dev/null 2>"$T/pm.err"
ran "pull over TLS by C-MOVE to our storage SCP over TLS" $? "$T/pm.err"
same "$SD" "$T/pm" bytes "pull over TLS (C-MOVE): byte for byte"

# without --ca the system's CAs (/etc/ssl/certs) are asked, which do not know the server's
# self-signed certificate; --insecure goes on without checking it
ME="--cert $T/client.crt --key $T/client.key"
"$BIN" pull "$DIMSE" --all --modality SR --tls $ME --retries 0 --timeout 5 -o "$T/f0" >/dev/null 2>"$T/f0.err"
refused_once "no --ca: the system's CAs do not know the server's certificate" "certificate verify failed" "$T/f0.err" $?
"$BIN" pull "$DIMSE" --all --modality SR --tls $ME --insecure -o "$T/pi" -q >/dev/null 2>"$T/pi.err"
ran "--tls --insecure: the SR pulled without checking the server's certificate" $? "$T/pi.err"
same "$SD/SR" "$T/pi" bytes "--tls --insecure: the SR byte for byte"

# ---- refusals: one error line each, nothing written, within the timeout ----
t0=$(date +%s)
"$BIN" pull "$DIMSE" --all --tls --ca "$T/stranger.crt" $ME --retries 0 --timeout 5 -o "$T/f1" >/dev/null 2>"$T/f1.err"
refused_once "a server certificate that does not chain to --ca" "certificate" "$T/f1.err" $?
"$BIN" push "$DIMSE" "$SD" --tls --ca "$T/server.crt" --cert "$T/stranger.crt" --key "$T/stranger.key" --retries 0 \
    --timeout 5 --ledger "$T/f2.tsv" >/dev/null 2>"$T/f2.err"
refused_once "our certificate, which Orthanc does not trust" "TLS" "$T/f2.err" $?
"$BIN" pull "$DIMSE" --all --tls --ca "$T/server.crt" --retries 0 --timeout 5 -o "$T/f3" >/dev/null 2>"$T/f3.err"
refused_once "no certificate of ours where Orthanc requires one" "TLS" "$T/f3.err" $?
"$BIN" pull "$DIMSE" --all --retries 0 --timeout 5 -o "$T/f4" >/dev/null 2>"$T/f4.err"
refused_once "plain DIMSE to the TLS port" "association" "$T/f4.err" $?
$PY "$PACS_TOOLS" mute "$MUTE" &
pacs_bg $!
$PY "$PACS_TOOLS" waitport "$MUTE"
"$BIN" pull "dicom://ORTHANC@127.0.0.1:$MUTE" --all $TLS --retries 0 --timeout 2 -o "$T/f5" >/dev/null 2>"$T/f5.err"
refused_once "TLS to a server that never answers" "association" "$T/f5.err" $?
t1=$(date +%s)
[ "$(dcm_count "$T/f0") $(dcm_count "$T/f1") $(dcm_count "$T/f3") $(dcm_count "$T/f4") $(dcm_count "$T/f5")" = "0 0 0 0 0" ] &&
    [ ! -s "$T/f2.tsv" ] && ok "the refused pulls wrote no file, the refused push confirmed nothing" ||
    bad "files written by refused pulls or a refused push: $(find "$T"/f? "$T/f2.tsv" -type f 2>/dev/null)"
[ $((t1 - t0)) -lt 40 ] && ok "the refusals end within their timeouts ($((t1 - t0)) s)" || bad "the refusals took $((t1 - t0)) s"
usage_error "tls is for dicom://" "--tls with an https address" push "$HTTPS" "$SD" --tls
usage_error "go together" "--cert without --key" pull "$DIMSE" --all -o "$T/f6" --tls --cert "$T/client.crt"
usage_error "needs --cert" "--tls --move-port without --cert" pull "$DIMSE" --all -o "$T/f7" --tls --move-port "$MOVEP"
usage_error "cannot read the file of --ca" "--ca of a missing file" push "$DIMSE" "$SD" --tls --ca "$T/none.crt"
"$BIN" push "$DIMSE" "$SD" --tls --ca "$T/server.crt" --cert "$T/client.crt" --key "$T/stranger.key" --retries 0 \
    --ledger "$T/f8.tsv" >/dev/null 2>"$T/f8.err"
refused_once "--key of another certificate" "does not belong" "$T/f8.err" $?

# ---- DICOMweb over https: STOW-RS through the TLS front ----
"$BIN" push "$HTTPS" "$SD/SEG" "$SD/SR" --ca "$T/server.crt" --ledger "$T/web.tsv" -q >/dev/null 2>"$T/web.err"
ran "push of the SEG and SR over https (STOW-RS)" $? "$T/web.err"
orthanc_files "$HPW" "$T/web"
same "$SD/SEG" "$T/web" bytes "https: Orthanc stored the SEG byte for byte"
same "$SD/SR" "$T/web" bytes "https: Orthanc stored the SR byte for byte"
"$BIN" push "$HTTPS" "$SD/CT" --ca "$T/stranger.crt" --retries 0 --ledger "$T/web2.tsv" >/dev/null 2>"$T/web2.err"
refused_once "https with a certificate that does not chain to --ca" "certificate" "$T/web2.err" $?
[ "$(count_instances "$HPW")" -eq 2 ] && [ ! -s "$T/web2.tsv" ] && ok "nothing arrived over the refused https push" ||
    bad "the refused https push: Orthanc holds $(count_instances "$HPW") instances"

# ---- predict --store over https, and c2seg run storing over DIMSE TLS (config keys) ----
"$BIN" import-torch "$C2SEG_SHARED/reference/golden_tiny_eval" -o "$T/xray.ckpt" >/dev/null 2>"$T/ckpt.err" ||
    { cat "$T/ckpt.err" >&2; echo "FAIL: import-torch" >&2; exit 1; }
"$BIN" predict "$T/xray.ckpt" "$DATA/dicom/xray/dx_image.dcm" -o "$T/pr" --store "$HTTPS" --store-ca "$T/server.crt" -q \
    >/dev/null 2>"$T/pr.err"
ran "predict --store over https (--store-ca)" $? "$T/pr.err"
orthanc_files "$HPW" "$T/web3"
same "$T/pr" "$T/web3" bytes "predict --store over https: the SEG arrived byte for byte"
printf 'workdir = %s\nmodel = %s\npredict = %s\nstore = %s\nstore_tls = yes\nstore_ca = %s\nstore_cert = %s\nstore_key = %s\n' \
    "$T/run" "$T/xray.ckpt" "$DATA/dicom/xray/dx_image.dcm" "$DIMSE" "$T/server.crt" "$T/client.crt" "$T/client.key" >"$T/run.conf"
"$BIN" run "$T/run.conf" -q >/dev/null 2>"$T/run.err"
ran "c2seg run with store over DIMSE TLS (store_tls, store_ca, store_cert, store_key)" $? "$T/run.err"
[ "$(dcm_count "$T/run/predict")" -eq 2 ] && ok "c2seg run wrote a SEG and an SR" || bad "c2seg run wrote $(dcm_count "$T/run/predict") DICOM files"
orthanc_files "$HP" "$T/stored2"
same "$T/run/predict" "$T/stored2" values "c2seg run: Orthanc (TLS) holds the SEG and the SR"

tl_end
