/* The c2seg executable: everything lives in the pipeline library. */
#include "pipeline/pipeline.h"
#include "model/threads.h"

int main(int argc, char **argv)
{
    /* first: it may run the program again (model/threads.h); stages that never run the
     * engine's OpenMP loops (ingest, export, ...) skip it and the second process start */
    if (c2seg_stage_runs_engine(argc > 1 ? argv[1] : NULL))
        threads_prepare(argv);
    return c2seg_main(argc, argv);
}
