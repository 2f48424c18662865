/* The c2seg executable: everything lives in the pipeline library. */
#include "pipeline/pipeline.h"

int main(int argc, char **argv) { return c2seg_main(argc, argv); }
