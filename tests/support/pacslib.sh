# tests/support/pacslib.sh: the PACS scaffolding the shell tests share (tests/io/test_pacs*.sh):
# Debian's Orthanc started on loopback with its storage in the test folder and stopped at the
# end, the python helpers of tests/io/pacs_tools.py, self-signed certificates. POSIX sh. Source
# it once T (the test's folder) and PY are set; it installs an EXIT trap that kills every
# server a test started (their process ids in PIDS).
#
#   pacs_need                    exit 1 naming scripts/install-deps when Orthanc, its DICOMweb
#                                plugin, dcmsend, getscu, findscu, curl or openssl is missing
#   pacs_bg PID                  a background server to kill at the end
#   orthanc_config NAME DICOM_PORT HTTP_PORT MOVE_PORT [EXTRA [MODALITY_EXTRA]]
#                                $T/NAME.json: AE title ORTHANC, storage and index in $T/NAME/db,
#                                our AE C2SEG registered as a modality at 127.0.0.1:MOVE_PORT
#                                (for C-MOVE), the DICOMweb plugin at /dicom-web/; EXTRA: more
#                                members of the configuration (', "Key": value ...'),
#                                MODALITY_EXTRA: more members of our modality's entry
#   orthanc_start NAME HTTP_PORT Orthanc with $T/NAME.json (log $T/NAME.log), waits until its
#                                REST API answers (exit 1 with the log's tail after 15 s)
#   orthanc_kill NAME            kill -9 of that Orthanc
#   count_instances HTTP_PORT    how many instances Orthanc holds
#   orthanc_files HTTP_PORT DIR  every stored file, as Orthanc keeps it, into DIR (REST API)
#   make_cert NAME CN [SAN]      $T/NAME.key and $T/NAME.crt (self-signed, RSA 2048, openssl
#                                req -x509, subjectAltName SAN if given) and $T/NAME.pem (both)
#   uid_of TAG FILE              the value of TAG (gggg,eeee) in a DICOM file (dcmdump)

PACS_TOOLS="$C2SEG_SOURCE/tests/io/pacs_tools.py"
PIDS=""

pacs_need() {
    for pacs_tool in Orthanc dcmsend getscu findscu curl openssl dcmdump; do
        command -v $pacs_tool >/dev/null || { echo "$pacs_tool missing: run scripts/install-deps" >&2; exit 1; }
    done
    PLUGIN=$(dpkg -L orthanc-dicomweb 2>/dev/null | grep 'libOrthancDicomWeb\.so$' | head -1)
    [ -n "$PLUGIN" ] || { echo "orthanc-dicomweb missing: run scripts/install-deps" >&2; exit 1; }
}

pacs_bg() { PIDS="$PIDS $1"; }

pacs_cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
}
trap pacs_cleanup EXIT
trap 'exit 1' INT TERM

orthanc_config() {
    mkdir -p "$T/$1"
    cat >"$T/$1.json" <<EOF
{ "Name": "c2seg-test-$1", "DicomAet": "ORTHANC", "DicomPort": $2, "HttpPort": $3,
  "StorageDirectory": "$T/$1/db", "IndexDirectory": "$T/$1/db",
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
  "DicomCheckCalledAet": true, "DicomAlwaysAllowEcho": true,
  "DicomModalities": { "c2seg": { "AET": "C2SEG", "Host": "127.0.0.1", "Port": $4 ${6:-} } },
  "Plugins": [ "$PLUGIN" ], "DicomWeb": { "Enable": true, "Root": "/dicom-web/" },
  "HttpDescribeErrors": true, "StorageCompression": false ${5:-} }
EOF
}

orthanc_start() {
    Orthanc "$T/$1.json" >>"$T/$1.log" 2>&1 &
    eval "OPID_$1=$!"
    pacs_bg $!
    pacs_i=0
    while ! curl -sf "http://127.0.0.1:$2/system" >/dev/null 2>&1; do
        pacs_i=$((pacs_i + 1))
        [ $pacs_i -gt 150 ] && { echo "Orthanc $1 did not start:" >&2; tail -5 "$T/$1.log" >&2; exit 1; }
        sleep 0.1
    done
}

orthanc_kill() { eval "kill -9 \$OPID_$1; wait \$OPID_$1 2>/dev/null"; }

count_instances() {
    curl -sf "http://127.0.0.1:$1/statistics" | $PY -c 'import json,sys; print(json.load(sys.stdin)["CountInstances"])'
}

orthanc_files() {
    mkdir -p "$2"
    for pacs_id in $(curl -sf "http://127.0.0.1:$1/instances" | tr -d '[]", ' | tr '\n' ' '); do
        curl -sf "http://127.0.0.1:$1/instances/$pacs_id/file" -o "$2/$pacs_id.dcm"
    done
}

make_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$1.key" -out "$T/$1.crt" -days 2 -subj "/CN=$2" \
        ${3:+-addext "subjectAltName=$3"} >/dev/null 2>&1 && cat "$T/$1.crt" "$T/$1.key" >"$T/$1.pem" ||
        { echo "openssl could not make the certificate $1" >&2; exit 1; }
}

uid_of() { dcmdump -q +P "$1" "$2" | sed 's/.*\[\(.*\)\].*/\1/'; }
