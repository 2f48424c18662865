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
#     --as-needed). main before this change: 84 libraries, all of these among them;
#  2. `c2seg --version` and `c2seg --help` are one program image (the libgomp spin-policy
#     re-exec of model/threads.h is for stages that run the engine; main before: two);
#  3. the ingest's cache is complete: 3 samples;
#  4. the lazy ones open when used: a pull over DIMSE from a closed port loads the module
#     c2seg-dimse.so (and dcmnet) and fails with dcmnet's "Connection refused"; one over
#     DICOMweb loads libcurl and fails with curl's "Couldn't connect". The PACS tests (DIMSE,
#     TLS and DICOMweb against Orthanc), the xlsx caption tests and tests/slow/test_mpi.sh run
#     the features themselves.
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
unwanted=$(grep -E '^lib(curl|zip|mpi|open-rte|open-pal|hwloc|event|hdf5|gnutls|ssh|ldap|nghttp|rtmp|psl|openblas|dcmnet|dcmtls|ssl|crypto|wrap)' "$T/ingest.libs" | tr '\n' ' ')
if [ "$rc" -eq 0 ] && [ "$n" -gt 5 ] && [ -z "$unwanted" ]; then
    ok "ingest: $n libraries, none of the ones only other stages use"
else bad "ingest: exit $rc, $n libraries, unwanted: ${unwanted:-none} ($(cat "$T/a.err"))"; fi
grep -q '"samples":3,' "$T/a.json" && ok "ingest: 3 samples" || bad "ingest: $(cat "$T/a.json")"

for opt in --version --help; do
    LD_DEBUG=libs LD_DEBUG_OUTPUT="$T/v$opt" "$BIN" $opt >/dev/null 2>"$T/v.err"
    rc=$?
    k=$(cat "$T/v$opt".* | grep -c 'initialize program:')
    if [ "$rc" -eq 0 ] && [ "$k" -eq 1 ]; then ok "c2seg $opt: one program image"
    else bad "c2seg $opt: exit $rc, $k program images ($(cat "$T/v.err"))"; fi
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
tl_end
