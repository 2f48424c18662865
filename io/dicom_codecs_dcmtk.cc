/* dicom_codecs_dcmtk: DCMTK's JPEG (dcmjpeg: IJG 8/12/16 bit) and JPEG-LS (dcmjpls: CharLS)
 * decoders registered into dcmdata's process-wide codec list; part of the module
 * c2seg-dcmseg.so (io/dcmtk_module.h), so that only a process decoding such a file loads them.
 * RLE's decoder is dcmdata's own and is registered by io/dicom_dcmtk.cc. */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"

#include "io/dcmtk_log.h"
#include "io/dcmtk_module.h"

#include <mutex>

static std::once_flag jpeg_once;

extern "C" void dicom_codecs_jpeg_register(void)
{
    std::call_once(jpeg_once, [] {
        dcmtk_log_setup();   /* the codecs' lines go through our route (io/dcmtk_log.h) */
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
    });
}
