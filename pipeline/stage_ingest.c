/* `c2seg ingest`: placeholder until the readers land (replaced by the ingest module). */
#include "pipeline/pipeline.h"

int stage_ingest(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("ingest is not built yet");
    return EXIT_FAILED;
}
