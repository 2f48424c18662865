#!/bin/sh
# The libraries a command loads at its start (docs/performance.md, "fixed costs"), judged by
# the dynamic loader itself (LD_DEBUG=libs: a "calling init" line per library it starts, at
# program start or by dlopen, one "initialize program" line per program image):
#  1. `c2seg ingest` of the real 3-slice CT series loads none of the libraries that only other
#     stages use: libcurl (DICOMweb; and HDF5's shared library, which needs it for its S3
#     driver: HDF5 is linked from its archive) and the ~25 libraries behind it (gnutls, krb5,
#     ldap, ssh2, ...), libzip (xlsx captions), Open MPI (open-rte, open-pal, hwloc, libevent),
#     OpenBLAS, DCMTK's network libraries (dcmnet, dcmtls: the DIMSE module c2seg-dimse.so)
#     and what they need (OpenSSL, libwrap; not checked: libnsl, libtirpc and Kerberos, which
#     the sanitizer build links directly, DCMTK's exported link interface kept there without
#     --as-needed), DCMTK's SEG / SR / JPEG side (dcmseg, dcmfg, dcmiod, dcmsr, dcmjpeg,
#     dcmjpls, dcmimage, dcmimgle, the IJG and CharLS codecs, libtiff: the modules
#     c2seg-dcmseg.so and c2seg-dcmsr.so). main before this change: 84 libraries, all of these
#     among them;
#  2. `c2seg --version` and `c2seg --help` are one program image (the libgomp spin-policy
#     re-exec of model/threads.h is for stages that run the engine; main before: two) and load
#     none of DCMTK's SEG / SR / JPEG side either;
#  3. the ingest's cache is complete: 3 samples;
#  4. the lazy ones open when used: a pull over DIMSE from a closed port loads the module
#     c2seg-dimse.so (and dcmnet) and fails with dcmnet's "Connection refused"; one over
#     DICOMweb loads libcurl and fails with curl's "Couldn't connect". The PACS tests (DIMSE,
#     TLS and DICOMweb against Orthanc), the xlsx caption tests and tests/slow/test_mpi.sh run
#     the features themselves;
#  5. so do DCMTK's SEG / SR / JPEG modules (io/dcmtk_module.h, dicom-sr/sr_module.c), in the
#     process or sandbox worker that reads such a file: an ingest with dcmqi's liver SEG loads
#     c2seg-dcmseg.so and dcmseg (and its mask reaches the cache), one with an SR loads
#     c2seg-dcmsr.so and dcmsr, a JPEG-LS lossless MR loads c2seg-dcmseg.so and dcmjpls and
#     gives the images of the same MR uncompressed (h5diff), a JPEG baseline one loads dcmjpeg;
#     a module that cannot be loaded (an empty c2seg-dcmseg.so beside a copy of c2seg) is one
#     error naming it and the loader's reason, not a crash. The SEG, SR and compressed-DICOM
#     tests judge what the modules read and write. (LD_DEBUG's lines go to stderr here, not to
#     LD_DEBUG_OUTPUT's file: a sandbox worker closes the descriptors it does not need.)
set -u
. "$C2SEG_SOURCE/tests/support/testlib.sh"
tl_begin test_startup_libs
CT3="$DATA/dicom/ct_series/dcmqi_ct-3slice"
# loaded LOG...: the base names of the libraries the loader initialised in the LD_DEBUG logs
loaded() { sed -n 's/.*calling init: //p' "$@" | sed 's,.*/,,' | sort -u; }

LD_DEBUG=libs LD_DEBUG_OUTPUT="$T/ingest" "$BIN" ingest "$CT3" -o "$T/a.h5" -q >"$T/a.json" 2>"$T/a.err"
rc=$?
loaded "$T"/ingest.* >"$T/ingest.libs"
n=$(wc -l <"$T/ingest.libs")
# DCMTK's SEG / SR / JPEG side (the modules c2seg-dcmseg.so, c2seg-dcmsr.so)
DCMTK_SIDE='^(c2seg-dcm|lib(dcmseg|dcmfg|dcmiod|dcmsr|dcmjpeg|dcmjpls|dcmimage|dcmimgle|ijg|charls|tiff))'
unwanted=$(grep -E "^lib(curl|zip|mpi|open-rte|open-pal|hwloc|event|hdf5|gnutls|ssh|ldap|nghttp|rtmp|psl|openblas|dcmnet|dcmtls|ssl|crypto|wrap)|$DCMTK_SIDE" "$T/ingest.libs" | tr '\n' ' ')
if [ "$rc" -eq 0 ] && [ "$n" -gt 5 ] && [ -z "$unwanted" ]; then
    ok "ingest: $n libraries, none of the ones only other stages use"
else bad "ingest: exit $rc, $n libraries, unwanted: ${unwanted:-none} ($(cat "$T/a.err"))"; fi
grep -q '"samples":3,' "$T/a.json" && ok "ingest: 3 samples" || bad "ingest: $(cat "$T/a.json")"

for opt in --version --help; do
    LD_DEBUG=libs LD_DEBUG_OUTPUT="$T/v$opt" "$BIN" $opt >/dev/null 2>"$T/v.err"
    rc=$?
    k=$(cat "$T/v$opt".* | grep -c 'initialize program:')
    side=$(loaded "$T/v$opt".* | grep -E "$DCMTK_SIDE" | tr '\n' ' ')
    if [ "$rc" -eq 0 ] && [ "$k" -eq 1 ] && [ -z "$side" ]; then ok "c2seg $opt: one program image, no DCMTK SEG / SR / JPEG library"
    else bad "c2seg $opt: exit $rc, $k program images, ${side:-no DCMTK SEG / SR / JPEG library} ($(cat "$T/v.err"))"; fi
done
# lazy_open NAME URL LIB PATTERN: `c2seg pull URL` from a closed port loads LIB (a regular
# expression on the library's base name) and fails with PATTERN on stderr
lazy_open() {
    LD_DEBUG=libs LD_DEBUG_OUTPUT="$T/ld-$1" "$BIN" pull "$2" --all -o "$T/out-$1" --retries 0 --timeout 5 \
        >/dev/null 2>"$T/$1.err"
    rc=$?
    if [ "$rc" -ne 0 ] && loaded "$T/ld-$1".* | grep -Eq "$3" && grep -q "$4" "$T/$1.err"; then
        ok "pull over $1: $(loaded "$T/ld-$1".* | grep -E "$3" | tr '\n' ' ')opened on use"
    else bad "pull over $1: exit $rc, libraries: $(loaded "$T/ld-$1".* | grep -E "$3" | tr '\n' ' ') ($(cat "$T/$1.err"))"; fi
}
lazy_open dimse "dicom://PACS@127.0.0.1:1" '^(c2seg-dimse|libdcmnet)' 'Connection refused'
lazy_open web "http://127.0.0.1:1/dicom-web" '^libcurl' "Couldn't connect"

# module_use NAME EXIT DIR WANT UNWANTED ARGS...: `c2seg ingest DIR ARGS` exits EXIT, loading
# WANT (every one of its space-separated names) and none of UNWANTED (regular expressions)
module_use() {
    name=$1 want_rc=$2 dir=$3 want=$4 unw=$5
    shift 5
    LD_DEBUG=libs "$BIN" ingest "$dir" -o "$T/$name.h5" --size 32 -q "$@" >"$T/$name.json" 2>"$T/$name.err"
    rc=$?
    libs=$(loaded "$T/$name.err" | grep -E "$DCMTK_SIDE" | tr '\n' ' ')
    miss="" extra=$(loaded "$T/$name.err" | grep -E "$unw" | tr '\n' ' ')
    for w in $want; do loaded "$T/$name.err" | grep -q "^$w" || miss="$miss $w"; done
    if [ "$rc" -eq "$want_rc" ] && [ -z "$miss" ] && [ -z "$extra" ]; then ok "ingest $name: $libs"
    else bad "ingest $name: exit $rc, loaded $libs, missing${miss:- none}, unwanted ${extra:-none} ($(grep -v '^ *[0-9]*:' "$T/$name.err"))"; fi
}
CT3FILES=$(ls "$CT3"/*.dcm)
mkdir -p "$T/seg" "$T/sr" "$T/jls" "$T/raw" "$T/jpeg"
# shellcheck disable=SC2086
cp $CT3FILES "$DATA/dicom/seg/dcmqi_liver.dcm" "$T/seg/" && cp $CT3FILES "$DATA/dicom/sr/reportsi.dcm" "$T/sr/" &&
    cp "$DATA/dicom/compressed/MR_small_jpeg_ls_lossless.dcm" "$T/jls/" && cp "$DATA/dicom/compressed/MR_small.dcm" "$T/raw/" &&
    cp "$DATA/dicom/compressed/SC_rgb_jpeg_dcmtk.dcm" "$T/jpeg/" || bad "inputs cannot be copied"
module_use seg 0 "$T/seg" "c2seg-dcmseg.so libdcmseg" '^(c2seg-dcmsr|libdcmsr)' --label Liver
h5_values "$T/seg.h5" /has_mask | grep -q 1 && ok "ingest seg: the liver mask is in the cache" ||
    bad "ingest seg: no mask ($(cat "$T/seg.json"))"
# (exit 1: the SR is read, and reported as not used: it is of another study)
module_use sr 1 "$T/sr" "c2seg-dcmsr.so libdcmsr" '^(c2seg-dcmseg|libdcmseg|libdcmjp)'
grep -q 'reportsi.dcm: Structured Report not used: no image of its study' "$T/sr.err" && ok "ingest sr: the SR was read" ||
    bad "ingest sr: $(grep -v '^ *[0-9]*:' "$T/sr.err")"
module_use jpeg-ls 0 "$T/jls" "c2seg-dcmseg.so libdcmjpls" '^(c2seg-dcmsr|libdcmsr)' --modality MR
module_use raw 0 "$T/raw" "" "$DCMTK_SIDE" --modality MR
module_use jpeg 0 "$T/jpeg" "c2seg-dcmseg.so libdcmjpeg" '^(c2seg-dcmsr|libdcmsr)' --modality OT
h5diff "$T/jpeg-ls.h5" "$T/raw.h5" /images >/dev/null && ok "JPEG-LS lossless = uncompressed: same cache images (h5diff)" ||
    bad "JPEG-LS lossless and uncompressed MR give different cache images"
# a module that cannot be loaded: one error naming it, exit 1 (not a crash)
mkdir -p "$T/bin" && cp "$BIN" "$T/bin/c2seg" && : >"$T/bin/c2seg-dcmseg.so"
"$T/bin/c2seg" ingest "$T/jls" -o "$T/bad.h5" --size 32 -q --modality MR >/dev/null 2>"$T/bad.err"
rc=$?
if [ "$rc" -ge 1 ] && [ "$rc" -lt 128 ] && grep -q "needs c2seg-dcmseg.so, which cannot be used: $T/bin/c2seg-dcmseg.so" "$T/bad.err"; then
    ok "an unusable module: exit $rc, $(grep -m1 'c2seg-dcmseg.so' "$T/bad.err")"
else bad "an unusable module: exit $rc ($(cat "$T/bad.err"))"; fi
tl_end
