/* The c2seg executable: everything lives in the pipeline library. */
#include "pipeline/pipeline.h"
#include "model/threads.h"

#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    /* first: it may run the program again (model/threads.h); stages that never run the
     * engine's OpenMP loops (ingest, export, ...) skip it and the second process start */
    if (c2seg_stage_runs_engine(argc > 1 ? argv[1] : NULL))
        threads_prepare(argv);
    int rc = c2seg_main(argc, argv);
#ifdef C2SEG_FULL_EXIT
    return rc;   /* sanitizer builds: their leak check and race verdict run at exit */
#else
    /* Every output is committed (renamed) and closed by now, HDF5 has no exit hook
     * (cache_library_init) and nothing of ours is registered with atexit: what exit() would
     * still run is the C++ libraries' static destructors, DCMTK's data dictionary above all
     * (thousands of list nodes freed one by one, ~300 copy-on-write page faults of pages a
     * sandbox worker shares): 7 % of a 3-slice ingest's CPU (docs/performance.md). */
    fflush(NULL);
    _exit(rc);
#endif
}
