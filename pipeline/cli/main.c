/* The c2seg executable: everything lives in the pipeline library. */
#include "pipeline/pipeline.h"
#include "model/threads.h"

int main(int argc, char **argv)
{
    threads_prepare(argv);   /* first: it may run the program again (model/threads.h) */
    return c2seg_main(argc, argv);
}
