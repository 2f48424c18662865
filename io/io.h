/* io: file formats. DICOM image reading (through the C++ DCMTK shim), JPEG 2000
 * through OpenJPEG, NIfTI, PNG / JPEG, the HDF5 cohort cache and checkpoints,
 * DICOM SEG / NIfTI / PNG mask writing, and the reference's tensor dumps.
 * This is the folder's public header; it includes one header per concept. */
#ifndef C2SEG_IO_H
#define C2SEG_IO_H

#include "base/base.h"
#include "io/torch_dump.h"
#include "io/seg.h"
#include "io/nifti.h"
#include "io/image2d.h"
#include "io/preprocess.h"
#include "io/cache.h"
#include "io/h5.h"
#include "io/dicom.h"
#include "io/dicom_write.h"
#include "io/isolated.h"
#include "io/dcmtk_log.h"

#endif
