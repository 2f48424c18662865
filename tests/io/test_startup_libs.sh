#!/bin/sh
# The libraries a command loads at its start (docs/performance.md, "fixed costs"), judged by
# the dynamic loader itself (LD_DEBUG=libs: a "calling init" line per library it starts, at
# program start or by dlopen, one "initialize program" line per program image):
#  1. `c2seg ingest` of the real 3-slice CT series loads none of the libraries that only other
#     stages use: libcurl (DICOMweb; and HDF5's shared library, which needs it for its S3
#     driver: HDF5 is linked from its archive) and the ~25 libraries behind it (gnutls, krb5,
#     ldap, ssh2, ...), libzip (xlsx captions), Open MPI (open-rte, open-pal, hwloc, libevent),
#     OpenBLAS. main before this change: 84 libraries, all of these among them (krb5 stays:
#     DCMTK's network library needs libwrap -> libnsl -> libtirpc -> gssapi_krb5);
#  2. `c2seg --version` and `c2seg --help` are one program image (the libgomp spin-policy
#     re-exec of model/threads.h is for stages that run the engine; main before: two);
#  3. the ingest's cache is complete: 3 samples.
# The lazy libraries still open when used: the DICOMweb tests (pacs), the xlsx caption tests
# and tests/slow/test_mpi.sh run them.
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
unwanted=$(grep -E '^lib(curl|zip|mpi|open-rte|open-pal|hwloc|event|hdf5|gnutls|ssh|ldap|nghttp|rtmp|psl|openblas)' "$T/ingest.libs" | tr '\n' ' ')
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
tl_end
