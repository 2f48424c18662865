/* The stage table: one line per `c2seg <stage>`. */
#include "pipeline/pipeline.h"

#include <stddef.h>

const stage_def c2seg_stages[] = {
    {"ingest", "read DICOM / NIfTI / slice datasets with their text into an HDF5 cohort cache", stage_ingest},
    {NULL, NULL, NULL},
};
