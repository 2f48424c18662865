#!/bin/sh
# The build holds the layers (docs/design.md): each folder's library compiles with an
# include path that holds only the folders it may use, so a lower folder's source that
# includes a higher folder's header fails to compile. Checked with the build's own include
# farms and flags, on a throwaway source per (layer, higher folder) pair, plus a control
# that includes an allowed header and must compile.
set -eu
B="${C2SEG_BUILD:?}"
S="${C2SEG_SOURCE:?}"
T="$B/test-tmp/layering"
rm -rf "$T" && mkdir -p "$T"
fail=0
compile() {   # target header -> compiler exit status
    printf '#include "%s"\nint layering_probe;\n' "$2" >"$T/probe.c"
    cc -std=c11 -fsyntax-only -D_POSIX_C_SOURCE=200809L -I"$B/layers/$1" \
        $(pkg-config --cflags openblas 2>/dev/null) -I/usr/include/hdf5/serial -I/usr/include/nifti \
        "$T/probe.c" >"$T/out.txt" 2>&1
}
expect() {    # target header want(ok|fail)
    if compile "$1" "$2"; then got=ok; else got=fail; fi
    if [ "$got" != "$3" ]; then
        echo "FAIL: $1 including $2 should $3 to compile, got $got"; sed 's/^/  /' "$T/out.txt"; fail=1
    fi
}
# every library target's farm exists and the source root itself is on no include path
for lib in c2seg_base c2seg_io c2seg_sr c2seg_model c2seg_train c2seg_pipeline; do
    [ -d "$B/layers/$lib" ] || { echo "FAIL: no include farm for $lib"; fail=1; }
    f="$B/CMakeFiles/$lib.dir/flags.make"
    if grep -E "^(C|CXX)_INCLUDES" "$f" | tr ' ' '\n' | grep -qx -- "-I$S"; then
        echo "FAIL: $lib compiles with -I$S (every folder visible)"; fail=1
    fi
done
expect c2seg_model base/base.h ok
expect c2seg_model model/model.h ok
expect c2seg_model pipeline/pipeline.h fail
expect c2seg_model train/train.h fail
expect c2seg_model io/io.h fail
expect c2seg_model dicom-sr/dicom_sr.h fail
expect c2seg_base io/io.h fail
expect c2seg_io io/io.h ok
expect c2seg_io dicom-sr/dicom_sr.h fail
expect c2seg_io model/model.h fail
expect c2seg_io pipeline/pipeline.h fail
expect c2seg_sr dicom-sr/dicom_sr.h ok
expect c2seg_sr train/train.h fail
expect c2seg_train train/train.h ok
expect c2seg_train pipeline/pipeline.h fail
expect c2seg_pipeline pipeline/pipeline.h ok
[ $fail -eq 0 ] && echo "layering: every lower folder is blind to the higher ones"
exit $fail
