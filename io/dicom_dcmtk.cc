/* dicom_dcmtk: the C++17 shim that reads DICOM image objects with DCMTK (see io/dicom.h).
 *
 * Every entry point is extern "C", wraps its body in try / catch and reports through
 * c2_err; no C++ type crosses the boundary. Metadata comes from a lazily loaded dataset
 * (elements over 4 KiB, i.e. Pixel Data, stay on disk). Frames are decoded one at a time:
 * DCMTK's getUncompressedFrame for native, JPEG, JPEG-LS and RLE data; our own fragment
 * walk + OpenJPEG (io/jpeg2000.c) for JPEG 2000, which Debian's DCMTK cannot decode.
 * Stored values are turned into int32 first (bit masking, sign extension), then into
 * float modality values by one shared step (rescale, padding -> NAN, colour -> luminance).
 * The probe and the X-ray display mapping live here too: they define the same pixel
 * conventions and need no second file. */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/oflog/oflog.h"

#include "io/dcmtk_log.h"
#include "io/dcmtk_module.h"
#include "io/dicom_load_dcmtk.h"
#include "io/dicom.h"
#include "io/jpeg2000.h"

#include <cerrno>
#include <sys/stat.h>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

/* ---- small helpers ---- */

static std::once_flag codecs_once;

/* DCMTK's decoders are process-wide registrations; its log goes through our route
 * (io/dcmtk_log.h), never to stderr directly. RLE's decoder is dcmdata's; the JPEG and
 * JPEG-LS ones are in the module c2seg-dcmseg.so, registered by codecs_for() at the first
 * frame of such a transfer syntax (io/dcmtk_module.h). */
static void codecs_register(void)
{
    std::call_once(codecs_once, [] {
        dcmtk_log_setup();
        DcmRLEDecoderRegistration::registerCodecs();
    });
}

/* The decoders a frame of transfer syntax xs needs, registered: every encapsulated syntax but
 * RLE (dcmdata's) and JPEG 2000 (OpenJPEG, io/jpeg2000.c) is DCMTK's JPEG or JPEG-LS. */
static int codecs_for(E_TransferSyntax xs, c2_err *e)
{
    return DcmXfer(xs).isEncapsulated() && xs != EXS_RLELossless ? dicom_codecs_jpeg(e) : C2_OK;
}

/* Copies a DICOM string into a fixed array, without leading / trailing padding. */
static void copy_trimmed(char *dst, size_t cap, const OFString &s)
{
    size_t b = 0, n = s.length();
    while (b < n && (s[b] == ' ' || s[b] == '\0'))
        b++;
    while (n > b && (s[n - 1] == ' ' || s[n - 1] == '\0'))
        n--;
    size_t k = n - b < cap - 1 ? n - b : cap - 1;
    memcpy(dst, s.c_str() + b, k);
    dst[k] = '\0';
}

static void get_string(DcmItem *it, const DcmTagKey &tag, char *dst, size_t cap)
{
    OFString s;
    dst[0] = '\0';
    if (it && it->findAndGetOFStringArray(tag, s).good())
        copy_trimmed(dst, cap, s);
}

/* A DS / FL / FD value; 1 when present and finite. */
static int get_double(DcmItem *it, const DcmTagKey &tag, double *v, unsigned long pos = 0)
{
    Float64 x;
    if (!it || it->findAndGetFloat64(tag, x, pos).bad() || !std::isfinite(x))
        return 0;
    *v = x;
    return 1;
}

static int get_doubles(DcmItem *it, const DcmTagKey &tag, double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (!get_double(it, tag, &v[i], (unsigned long)i))
            return 0;
    return 1;
}

static int get_uint16(DcmItem *it, const DcmTagKey &tag, int *v)
{
    Uint16 x;
    if (!it || it->findAndGetUint16(tag, x).bad())
        return 0;
    *v = x;
    return 1;
}

/* A US / SS element (Pixel Padding Value is "xs": its sign follows Pixel Representation). */
static int get_us_or_ss(DcmItem *it, const DcmTagKey &tag, int pixel_representation, double *v)
{
    DcmElement *el = NULL;
    if (!it || it->findAndGetElement(tag, el).bad() || !el)
        return 0;
    if (el->ident() == EVR_SS) {
        Sint16 s;
        if (el->getSint16(s).bad())
            return 0;
        *v = s;
        return 1;
    }
    Uint16 u;
    if (el->getUint16(u).bad())
        return 0;
    *v = pixel_representation == 1 ? (double)(Sint16)u : (double)u;
    return 1;
}

static DcmItem *sequence_item(DcmItem *it, const DcmTagKey &seq, long index)
{
    DcmItem *out = NULL;
    if (!it || it->findAndGetSequenceItem(seq, out, index).bad())
        return NULL;
    return out;
}

/* The item of a functional group macro (e.g. PlanePositionSequence) inside one frame's
 * per-frame item, else inside the shared item. */
static DcmItem *functional_group(DcmItem *per_frame, DcmItem *shared, const DcmTagKey &macro)
{
    DcmItem *it = sequence_item(per_frame, macro, 0);
    return it ? it : sequence_item(shared, macro, 0);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* 1 if the backslash-separated list holds `word` as one of its values. */
static int has_value(const char *list, const char *word)
{
    size_t w = strlen(word);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, '\\');
        size_t k = end ? (size_t)(end - p) : strlen(p);
        while (k > 0 && p[k - 1] == ' ')
            k--;
        while (k > 0 && *p == ' ')
            p++, k--;
        if (k == w && strncmp(p, word, w) == 0)
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

static dicom_kind kind_of(const char *sop_class, int has_pixels)
{
    if (!strcmp(sop_class, "1.2.840.10008.5.1.4.1.1.66.4") || !strcmp(sop_class, "1.2.840.10008.5.1.4.1.1.66.7"))
        return DICOM_KIND_SEG;
    if (starts_with(sop_class, "1.2.840.10008.5.1.4.1.1.88."))
        return DICOM_KIND_SR;
    if (starts_with(sop_class, "1.2.840.10008.5.1.4.1.1.481.") || starts_with(sop_class, "1.2.840.10008.5.1.4.1.1.11.") ||
        !has_pixels)
        return DICOM_KIND_OTHER;
    return DICOM_KIND_IMAGE;
}

static int is_jpeg2000(const char *ts)
{
    return !strcmp(ts, "1.2.840.10008.1.2.4.90") || !strcmp(ts, "1.2.840.10008.1.2.4.91") ||
           !strcmp(ts, "1.2.840.10008.1.2.4.92") || !strcmp(ts, "1.2.840.10008.1.2.4.93");
}

/* Opens the file through DCMTK with lazy loading of large elements (whole: all values). */
static int file_load(DcmFileFormat &ff, const char *path, c2_err *e, int whole = 0)
{
    codecs_register();
    return dicom_dcmtk_load(ff, path, e, whole);
}

/* ---- probe ---- */

static int is_vr(const unsigned char *p)
{
    static const char *vrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "OB",
                                "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM",
                                "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};
    for (const char *v : vrs)
        if (p[0] == (unsigned char)v[0] && p[1] == (unsigned char)v[1])
            return 1;
    return 0;
}

extern "C" int dicom_probe(const char *path)
{
    try {
        unsigned char b[256];
        FILE *f = fopen(path, "rb");
        if (!f)
            return 0;
        size_t n = fread(b, 1, sizeof b, f);
        fclose(f);
        if (n >= 132 && memcmp(b + 128, "DICM", 4) == 0)
            return 1;
        if (n < 8)
            return 0;
        unsigned group = (unsigned)b[0] | (unsigned)b[1] << 8;
        unsigned element = (unsigned)b[2] | (unsigned)b[3] << 8;
        if ((group != 0x0002 && group != 0x0008) || element > 0x0100)
            return 0;
        if (is_vr(b + 4))
            return 1; /* explicit VR little endian */
        uint32_t len = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
        return len < 1024 && (len % 2 == 0 || len == 1); /* implicit VR: a short first value */
    } catch (...) {
        return 0;
    }
}

/* ---- metadata ---- */

static void frame_fill(DcmItem *per_frame, DcmItem *shared, DcmDataset *ds, dicom_frame *fr)
{
    DcmItem *pos = functional_group(per_frame, shared, DCM_PlanePositionSequence);
    fr->has_position = get_doubles(pos ? pos : ds, DCM_ImagePositionPatient, fr->position, 3);
    if (!fr->has_position)
        fr->position[0] = fr->position[1] = fr->position[2] = 0;
    DcmItem *pvt = functional_group(per_frame, shared, DCM_PixelValueTransformationSequence);
    DcmItem *src = pvt ? pvt : ds;
    if (!get_double(src, DCM_RescaleSlope, &fr->slope) || fr->slope == 0)
        fr->slope = 1;
    if (!get_double(src, DCM_RescaleIntercept, &fr->intercept))
        fr->intercept = 0;
    DcmItem *pm = functional_group(per_frame, shared, DCM_PixelMeasuresSequence);
    if (!get_double(pm ? pm : ds, DCM_SliceThickness, &fr->thickness) || !(fr->thickness > 0))
        fr->thickness = 0;
}

static int number_of_frames(DcmDataset *ds, const char *path, int *frames, c2_err *e)
{
    OFString s;
    *frames = 1;
    if (ds->findAndGetOFString(DCM_NumberOfFrames, s).bad())
        return C2_OK;
    char buf[32];
    copy_trimmed(buf, sizeof buf, s);
    if (buf[0] == '\0')
        return C2_OK;
    char *end = NULL;
    long v = strtol(buf, &end, 10);
    if (*end != '\0' || v < 1 || v > c2_limits_get()->max_dim)
        return c2_fail(e, C2_EINVAL, "%s: NumberOfFrames \"%s\" is not a frame count", path, buf);
    *frames = (int)v;
    return C2_OK;
}

static void voi_lut_read(DcmDataset *ds, dicom_object *o)
{
    DcmItem *lut = sequence_item(ds, DCM_VOILUTSequence, 0);
    Uint16 desc[3];
    for (int i = 0; i < 3; i++)
        if (!lut || lut->findAndGetUint16(DCM_LUTDescriptor, desc[i], (unsigned long)i).bad())
            return;
    const Uint16 *data = NULL;
    unsigned long count = 0;
    if (lut->findAndGetUint16Array(DCM_LUTData, data, &count).bad() || !data)
        return;
    int entries = desc[0] == 0 ? 65536 : desc[0];
    int bits = desc[2];
    if ((unsigned long)entries > count || bits < 1 || bits > 16)
        return;
    o->voi_lut = (uint16_t *)malloc(sizeof(uint16_t) * (size_t)entries);
    if (!o->voi_lut)
        return;
    memcpy(o->voi_lut, data, sizeof(uint16_t) * (size_t)entries);
    o->voi_lut_entries = entries;
    o->voi_lut_first = o->pixel_representation == 1 ? (double)(Sint16)desc[1] : (double)desc[1];
    o->voi_lut_bits = bits;
    o->has_voi_lut = 1;
}

static int meta_fill(DcmFileFormat &ff, const char *path, dicom_object *o, c2_err *e)
{
    DcmDataset *ds = ff.getDataset();
    DcmMetaInfo *mi = ff.getMetaInfo();
    snprintf(o->path, sizeof o->path, "%s", path);
    get_string(ds, DCM_SOPClassUID, o->sop_class_uid, sizeof o->sop_class_uid);
    if (!o->sop_class_uid[0])
        get_string(mi, DCM_MediaStorageSOPClassUID, o->sop_class_uid, sizeof o->sop_class_uid);
    get_string(ds, DCM_SOPInstanceUID, o->sop_instance_uid, sizeof o->sop_instance_uid);
    if (!o->sop_instance_uid[0])
        get_string(mi, DCM_MediaStorageSOPInstanceUID, o->sop_instance_uid, sizeof o->sop_instance_uid);
    get_string(ds, DCM_StudyInstanceUID, o->study_uid, sizeof o->study_uid);
    get_string(ds, DCM_SeriesInstanceUID, o->series_uid, sizeof o->series_uid);
    get_string(ds, DCM_FrameOfReferenceUID, o->frame_of_reference_uid, sizeof o->frame_of_reference_uid);
    snprintf(o->transfer_syntax, sizeof o->transfer_syntax, "%s", DcmXfer(ds->getOriginalXfer()).getXferID());
    get_string(ds, DCM_PatientID, o->patient_id, sizeof o->patient_id);
    get_string(ds, DCM_StudyID, o->study_id, sizeof o->study_id);
    get_string(ds, DCM_AccessionNumber, o->accession_number, sizeof o->accession_number);
    get_string(ds, DCM_Modality, o->modality, sizeof o->modality);
    get_string(ds, DCM_ImageType, o->image_type, sizeof o->image_type);
    get_string(ds, DCM_PhotometricInterpretation, o->photometric, sizeof o->photometric);
    get_string(ds, DCM_PatientOrientation, o->patient_orientation, sizeof o->patient_orientation);
    get_string(ds, DCM_SeriesDescription, o->series_description, sizeof o->series_description);
    o->is_localizer = has_value(o->image_type, "LOCALIZER") || has_value(o->image_type, "SCOUT");
    o->is_xray = !strcmp(o->modality, "CR") || !strcmp(o->modality, "DX") || !strcmp(o->modality, "MG");
    o->has_pixel_data = ds->tagExists(DCM_PixelData);
    o->kind = kind_of(o->sop_class_uid, o->has_pixel_data);
    o->is_encapsulated = DcmXfer(ds->getOriginalXfer()).isEncapsulated();

    get_uint16(ds, DCM_Rows, &o->rows);
    get_uint16(ds, DCM_Columns, &o->cols);
    if (!o->has_pixel_data && o->rows > 0 && o->cols > 0) {
        /* an image description without Pixel Data: the largest binary element (>= 1 KB)
         * of a private group is where the pixels went (vendor storage such as GE's
         * (7FE1,xx10), a private compression) and nothing decodes it */
        Uint32 best = 0;
        for (unsigned long i = 0; i < ds->card(); i++) {
            DcmElement *el = ds->getElement(i);
            DcmEVR vr = el ? el->ident() : EVR_UNKNOWN;
            if (el && el->getGTag() % 2 == 1 && el->getLength() >= 1024 && el->getLength() > best &&
                (vr == EVR_OB || vr == EVR_OW || vr == EVR_UN || vr == EVR_SQ)) {
                best = el->getLength();
                o->private_pixel_tag = (uint32_t)el->getGTag() << 16 | el->getETag();
            }
        }
    }
    if (!get_uint16(ds, DCM_SamplesPerPixel, &o->samples_per_pixel))
        o->samples_per_pixel = 1;
    get_uint16(ds, DCM_PlanarConfiguration, &o->planar_configuration);
    get_uint16(ds, DCM_BitsAllocated, &o->bits_allocated);
    if (!get_uint16(ds, DCM_BitsStored, &o->bits_stored))
        o->bits_stored = o->bits_allocated;
    if (!get_uint16(ds, DCM_HighBit, &o->high_bit))
        o->high_bit = o->bits_stored - 1;
    get_uint16(ds, DCM_PixelRepresentation, &o->pixel_representation);
    o->monochrome1 = !strcmp(o->photometric, "MONOCHROME1");
    o->is_color = o->samples_per_pixel == 3;
    int rc = number_of_frames(ds, path, &o->frames, e);
    if (rc)
        return rc;
    if (o->has_pixel_data && o->kind == DICOM_KIND_IMAGE) {
        if (o->rows < 1 || o->cols < 1)
            return c2_fail(e, C2_EINVAL, "%s: Pixel Data without Rows / Columns", path);
        if ((rc = c2_check_dims(e, path, o->rows, o->cols, o->frames, sizeof(float))))
            return rc;
        if (o->samples_per_pixel != 1 && o->samples_per_pixel != 3)
            return c2_fail(e, C2_EUNSUPPORTED, "%s: SamplesPerPixel %d is not 1 or 3", path, o->samples_per_pixel);
        if (o->bits_stored < 1 || o->bits_stored > o->bits_allocated || o->high_bit < o->bits_stored - 1 ||
            o->high_bit >= o->bits_allocated)
            return c2_fail(e, C2_EINVAL, "%s: inconsistent BitsAllocated %d / BitsStored %d / HighBit %d", path,
                           o->bits_allocated, o->bits_stored, o->high_bit);
    }

    DcmItem *shared = sequence_item(ds, DCM_SharedFunctionalGroupsSequence, 0);
    DcmItem *first = sequence_item(ds, DCM_PerFrameFunctionalGroupsSequence, 0);
    if (o->has_pixel_data && o->kind == DICOM_KIND_IMAGE) {
        o->frame = (dicom_frame *)calloc((size_t)o->frames, sizeof(dicom_frame));
        if (!o->frame)
            return c2_fail(e, C2_ENOMEM, "%s: out of memory for %d frames", path, o->frames);
        for (int f = 0; f < o->frames; f++)
            frame_fill(sequence_item(ds, DCM_PerFrameFunctionalGroupsSequence, f), shared, ds, &o->frame[f]);
    } else {
        o->frame = (dicom_frame *)calloc(1, sizeof(dicom_frame));
        if (!o->frame)
            return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    }

    DcmItem *orient = functional_group(first, shared, DCM_PlaneOrientationSequence);
    o->has_orientation = get_doubles(orient ? orient : ds, DCM_ImageOrientationPatient, o->orientation, 6);
    DcmItem *measures = functional_group(first, shared, DCM_PixelMeasuresSequence);
    DcmItem *msrc = measures ? measures : ds;
    o->has_pixel_spacing = get_doubles(msrc, DCM_PixelSpacing, o->pixel_spacing, 2) &&
                           o->pixel_spacing[0] > 0 && o->pixel_spacing[1] > 0;
    if (!o->has_pixel_spacing && get_doubles(ds, DCM_ImagerPixelSpacing, o->pixel_spacing, 2) &&
        o->pixel_spacing[0] > 0 && o->pixel_spacing[1] > 0)
        o->has_pixel_spacing = o->spacing_is_imager = 1;
    if (!o->has_pixel_spacing)
        o->pixel_spacing[0] = o->pixel_spacing[1] = 0;
    if (!get_double(msrc, DCM_SliceThickness, &o->slice_thickness))
        o->slice_thickness = 0;
    if (!get_double(msrc, DCM_SpacingBetweenSlices, &o->spacing_between_slices))
        o->spacing_between_slices = 0;
    if (!get_double(ds, DCM_GantryDetectorTilt, &o->gantry_tilt))
        o->gantry_tilt = 0;

    const char *istr = NULL;
    if (ds->findAndGetString(DCM_InstanceNumber, istr).good() && istr) {
        char *end = NULL;
        long v = strtol(istr, &end, 10);
        o->has_instance_number = end != istr;
        o->instance_number = o->has_instance_number ? (int)v : 0;
    }
    if (ds->findAndGetString(DCM_SeriesNumber, istr).good() && istr) {
        char *end = NULL;
        long v = strtol(istr, &end, 10);
        o->has_series_number = end != istr && v >= 0 && v < 1000000000L;
        o->series_number = o->has_series_number ? (int)v : 0;
    }
    DcmItem *pvt = functional_group(first, shared, DCM_PixelValueTransformationSequence);
    get_string(pvt ? pvt : ds, DCM_RescaleType, o->rescale_type, sizeof o->rescale_type);
    o->has_padding = get_us_or_ss(ds, DCM_PixelPaddingValue, o->pixel_representation, &o->padding_value);
    o->has_padding_range = o->has_padding &&
                           get_us_or_ss(ds, DCM_PixelPaddingRangeLimit, o->pixel_representation, &o->padding_range_limit);
    DcmItem *voi = functional_group(first, shared, DCM_FrameVOILUTSequence);
    DcmItem *wsrc = voi ? voi : ds;
    o->has_window = get_double(wsrc, DCM_WindowCenter, &o->window_center) &&
                    get_double(wsrc, DCM_WindowWidth, &o->window_width) && o->window_width >= 1;
    voi_lut_read(ds, o);
    return C2_OK;
}

extern "C" void dicom_object_free(dicom_object *o)
{
    if (!o)
        return;
    free(o->frame);
    free(o->voi_lut);
    o->frame = NULL;
    o->voi_lut = NULL;
}

/* The probe, the load (whole: every value in the one pass) and the metadata of path into ff
 * and o; o is freed on failure. */
static int meta_load(DcmFileFormat &ff, const char *path, dicom_object *o, int whole, c2_err *e)
{
    if (!dicom_probe(path)) {
        FILE *f = fopen(path, "rb");
        if (!f)
            return c2_fail(e, C2_EIO, "%s: cannot open (%s)", path, strerror(errno));
        fclose(f);
        return c2_fail(e, C2_EINVAL,
                       "%s: not a DICOM file (no \"DICM\" after a 128-byte preamble and no plausible first element)", path);
    }
    int rc = file_load(ff, path, e, whole);
    if (!rc)
        rc = meta_fill(ff, path, o, e);
    if (rc)
        dicom_object_free(o);
    return rc;
}

extern "C" int dicom_read_meta(const char *path, dicom_object *o, c2_err *e)
{
    int has_plane;
    return dicom_read_meta_plane(path, o, NULL, 0, &has_plane, e);
}

/* ---- frames ---- */

/* Native / DCMTK-decoded bytes of one frame -> int32 stored values (mask to BitsStored
 * below HighBit, sign-extend for Pixel Representation 1). Buffer is in host byte order. */
static void stored_from_bytes(const dicom_object *o, const uint8_t *buf, size_t count, int32_t *out)
{
    int shift = o->high_bit - o->bits_stored + 1;
    uint32_t mask = o->bits_stored >= 32 ? 0xFFFFFFFFu : ((1u << o->bits_stored) - 1u);
    uint32_t sign = 1u << (o->bits_stored - 1);
    for (size_t i = 0; i < count; i++) {
        uint32_t v;
        if (o->bits_allocated == 8) {
            v = buf[i];
        } else if (o->bits_allocated == 16) {
            uint16_t t;
            memcpy(&t, buf + 2 * i, 2);
            v = t;
        } else {
            memcpy(&v, buf + 4 * i, 4);
        }
        v = (v >> shift) & mask;
        out[i] = o->pixel_representation == 1 ? (int32_t)((v ^ sign) - sign) : (int32_t)v;
    }
}

/* The fragment indices [start, end) of every frame of an encapsulated pixel sequence:
 * from the Basic Offset Table when it has one entry per frame, one fragment per frame
 * when the counts agree, else by the JPEG 2000 end-of-codestream marker (FF D9). */
static int fragments_of_frames(const dicom_object *o, DcmPixelSequence *seq, std::vector<unsigned long> &start, c2_err *e)
{
    unsigned long n_items = seq->card();
    start.assign((size_t)o->frames + 1, n_items);
    if (n_items < 2)
        return c2_fail(e, C2_EINVAL, "%s: encapsulated Pixel Data has no fragments", o->path);
    if (o->frames == 1) {
        start[0] = 1;
        return C2_OK;
    }
    DcmPixelItem *bot = NULL;
    if (seq->getItem(bot, 0).good() && bot && bot->getLength() >= 4u * (Uint32)o->frames) {
        Uint8 *t = NULL;
        bot->getUint8Array(t);
        unsigned long item = 1;
        uint64_t offset = 0;
        for (int f = 0; f < o->frames && t; f++) {
            uint32_t want = (uint32_t)t[4 * f] | (uint32_t)t[4 * f + 1] << 8 | (uint32_t)t[4 * f + 2] << 16 |
                            (uint32_t)t[4 * f + 3] << 24;
            while (item < n_items && offset < want) {
                DcmPixelItem *it = NULL;
                if (seq->getItem(it, item).bad() || !it)
                    break;
                offset += 8 + (uint64_t)it->getLength();
                item++;
            }
            if (offset != want || item >= n_items)
                return c2_fail(e, C2_EINVAL, "%s: Basic Offset Table entry %d does not point at a fragment", o->path, f);
            start[(size_t)f] = item;
        }
        return C2_OK;
    }
    if (n_items - 1 == (unsigned long)o->frames) {
        for (int f = 0; f < o->frames; f++)
            start[(size_t)f] = (unsigned long)f + 1;
        return C2_OK;
    }
    int f = 0;
    start[0] = 1;
    for (unsigned long i = 1; i < n_items && f < o->frames; i++) {
        DcmPixelItem *it = NULL;
        Uint8 *d = NULL;
        if (seq->getItem(it, i).bad() || !it || it->getUint8Array(d).bad())
            break;
        Uint32 len = it->getLength();
        int ends = len >= 2 && d && ((d[len - 2] == 0xFF && d[len - 1] == 0xD9) ||
                                     (len >= 3 && d[len - 3] == 0xFF && d[len - 2] == 0xD9 && d[len - 1] == 0));
        if (ends)
            start[(size_t)++f] = i + 1;
    }
    if (f < o->frames)
        return c2_fail(e, C2_EINVAL, "%s: cannot find the fragments of %d frames (found %d)", o->path, o->frames, f);
    return C2_OK;
}

static int frame_jpeg2000(const dicom_object *o, DcmPixelSequence *seq, const std::vector<unsigned long> &start,
                          int f, std::vector<uint8_t> &bytes, int32_t *stored, c2_err *e)
{
    bytes.clear();
    for (unsigned long i = start[(size_t)f]; i < start[(size_t)f + 1]; i++) {
        DcmPixelItem *it = NULL;
        Uint8 *d = NULL;
        if (seq->getItem(it, i).bad() || !it || it->getUint8Array(d).bad())
            return c2_fail(e, C2_EINVAL, "%s: fragment %lu of frame %d unreadable", o->path, i, f);
        if (d)
            bytes.insert(bytes.end(), d, d + it->getLength());
    }
    return jpeg2000_decode(o->path, bytes.data(), bytes.size(), o->rows, o->cols, o->samples_per_pixel,
                           o->pixel_representation, stored, e);
}

/* The padding range [lo, hi] of stored values (PixelPaddingValue .. RangeLimit). */
static void padding_range(const dicom_object *o, double *lo, double *hi)
{
    *lo = *hi = o->padding_value;
    if (o->has_padding_range) {
        *lo = fmin(o->padding_value, o->padding_range_limit);
        *hi = fmax(o->padding_value, o->padding_range_limit);
    }
}

/* One single-sample stored value -> its float modality value (padding -> NAN). */
static inline float modality_value(const dicom_object *o, const dicom_frame *fr, double lo, double hi, double v)
{
    if (o->has_padding && v >= lo && v <= hi)
        return NAN;
    return (float)(v * fr->slope + fr->intercept);
}

/* Stored values of one frame -> float modality values (see io/dicom.h). `rgb` says the
 * three samples are R, G, B (else Y, Cb, Cr: Y is used as is). */
static void frame_to_float(const dicom_object *o, int f, const int32_t *stored, int planar, int rgb, float *out)
{
    size_t n = (size_t)o->rows * (size_t)o->cols;
    double lo, hi;
    padding_range(o, &lo, &hi);
    const dicom_frame *fr = &o->frame[f];
    for (size_t i = 0; i < n; i++) {
        if (o->samples_per_pixel == 1) {
            out[i] = modality_value(o, fr, lo, hi, stored[i]);
            continue;
        }
        size_t step = planar ? n : 1, base = planar ? i : 3 * i;
        double a = stored[base], b = stored[base + step], c = stored[base + 2 * step];
        out[i] = (float)((rgb ? 0.299 * a + 0.587 * b + 0.114 * c : a) * fr->slope + fr->intercept);
    }
}

/* Single-sample 8- / 16-bit frames: every possible stored word (256 or 65,536 of them)
 * goes through stored_from_bytes and modality_value once, into a table that then maps
 * each pixel with one load: the same function of the same word, so the same floats as
 * frame_to_float. The table is kept per thread for the next frame with the same
 * decoding parameters (a series' slices usually share them). */
typedef struct word_table {
    int bits_allocated, bits_stored, high_bit, pixel_representation, has_padding;
    double pad_lo, pad_hi, slope, intercept;
    std::vector<float> value;
} word_table;

static const float *word_table_for(const dicom_object *o, const dicom_frame *fr)
{
    static thread_local word_table t;
    double lo, hi;
    padding_range(o, &lo, &hi);
    if (!o->has_padding)
        lo = hi = 0;
    size_t words = (size_t)1 << o->bits_allocated;
    if (t.value.size() == words && t.bits_allocated == o->bits_allocated && t.bits_stored == o->bits_stored &&
        t.high_bit == o->high_bit && t.pixel_representation == o->pixel_representation &&
        t.has_padding == o->has_padding && t.pad_lo == lo && t.pad_hi == hi && t.slope == fr->slope &&
        t.intercept == fr->intercept)
        return t.value.data();
    std::vector<uint8_t> bytes(words * (size_t)(o->bits_allocated / 8));
    for (size_t w = 0; w < words; w++) {
        if (o->bits_allocated == 8) {
            bytes[w] = (uint8_t)w;
        } else {
            uint16_t v = (uint16_t)w;
            memcpy(&bytes[2 * w], &v, 2);
        }
    }
    std::vector<int32_t> stored(words);
    stored_from_bytes(o, bytes.data(), words, stored.data());
    t.value.resize(words);
    for (size_t w = 0; w < words; w++)
        t.value[w] = modality_value(o, fr, lo, hi, stored[w]);
    t.bits_allocated = o->bits_allocated;
    t.bits_stored = o->bits_stored;
    t.high_bit = o->high_bit;
    t.pixel_representation = o->pixel_representation;
    t.has_padding = o->has_padding;
    t.pad_lo = lo;
    t.pad_hi = hi;
    t.slope = fr->slope;
    t.intercept = fr->intercept;
    return t.value.data();
}

/* Native / DCMTK-decoded bytes of frame f -> float modality values. */
static void frame_bytes_to_float(const dicom_object *o, int f, const uint8_t *buf, std::vector<int32_t> &stored,
                                 int planar, int rgb, float *out)
{
    size_t n = (size_t)o->rows * (size_t)o->cols;
    if (o->samples_per_pixel == 1 && (o->bits_allocated == 8 || o->bits_allocated == 16)) {
        const float *table = word_table_for(o, &o->frame[f]);
        if (o->bits_allocated == 8) {
            for (size_t i = 0; i < n; i++)
                out[i] = table[buf[i]];
        } else {
            for (size_t i = 0; i < n; i++) {
                uint16_t w;
                memcpy(&w, buf + 2 * i, 2);
                out[i] = table[w];
            }
        }
        return;
    }
    stored.resize(n * (size_t)o->samples_per_pixel);
    stored_from_bytes(o, buf, stored.size(), stored.data());
    frame_to_float(o, f, stored.data(), planar, rgb, out);
}

/* The checks of a frame request on o (before any file is read). */
static int frames_check(const dicom_object *o, int first, int count, c2_err *e)
{
    if (o->kind != DICOM_KIND_IMAGE || !o->has_pixel_data || !o->frame)
        return c2_fail(e, C2_EUNSUPPORTED, "%s: not an image object with Pixel Data", o->path);
    if (first < 0 || count < 1 || first > o->frames - count)
        return c2_fail(e, C2_EINVAL, "%s: frames %d..%d requested, the object has %d", o->path, first,
                       first + count - 1, o->frames);
    if (o->bits_allocated != 8 && o->bits_allocated != 16 && o->bits_allocated != 32)
        return c2_fail(e, C2_EUNSUPPORTED, "%s: BitsAllocated %d is not 8, 16 or 32", o->path, o->bits_allocated);
    return c2_check_dims(e, o->path, o->rows, o->cols, o->samples_per_pixel, sizeof(int32_t) + 4);
}

/* Frames first .. first + count - 1 of o from its loaded file ff into out. */
static int frames_decode(DcmFileFormat &ff, const dicom_object *o, int first, int count, float *out, c2_err *e)
{
    int rc = frames_check(o, first, count, e);
    if (rc)
        return rc;
    size_t n = (size_t)o->rows * (size_t)o->cols, samples = n * (size_t)o->samples_per_pixel;
    size_t frame_bytes = samples * (size_t)(o->bits_allocated / 8);
    DcmDataset *ds = ff.getDataset();
    DcmElement *el = NULL;
    if (ds->findAndGetElement(DCM_PixelData, el).bad() || !el)
        return c2_fail(e, C2_EINVAL, "%s: Pixel Data missing", o->path);
    if (el->ident() != EVR_PixelData)   /* another VR gives another class: no downcast */
        return c2_fail(e, C2_EINVAL, "%s: Pixel Data has VR %s, not OB or OW", o->path,
                       DcmVR(el->getVR()).getVRName());
    DcmPixelData *pd = OFstatic_cast(DcmPixelData *, el);
    std::vector<int32_t> stored;
    const char *ycc_note = strncmp(o->photometric, "YBR", 3) == 0 ? "YBR" : "RGB";

    if (is_jpeg2000(o->transfer_syntax)) {
        DcmPixelSequence *seq = NULL;
        E_TransferSyntax xs = ds->getOriginalXfer();
        if (pd->getEncapsulatedRepresentation(xs, NULL, seq).bad() || !seq)
            return c2_fail(e, C2_EINVAL, "%s: JPEG 2000 Pixel Data is not encapsulated", o->path);
        std::vector<unsigned long> start;
        if ((rc = fragments_of_frames(o, seq, start, e)))
            return rc;
        std::vector<uint8_t> bytes;
        stored.resize(samples);
        int rgb = strcmp(o->photometric, "YBR_FULL") != 0 && strcmp(o->photometric, "YBR_FULL_422") != 0;
        for (int f = first; f < first + count; f++) {
            if ((rc = frame_jpeg2000(o, seq, start, f, bytes, stored.data(), e)))
                return rc;
            frame_to_float(o, f, stored.data(), 0, rgb, out + (size_t)(f - first) * n);
        }
        return C2_OK;
    }

    /* getUncompressedFrame wants an even buffer; odd-length 8-bit Pixel Data (dx_image.dcm)
     * is read into a buffer one byte longer. */
    std::vector<uint8_t> buf(frame_bytes + 2, 0);
    Uint32 start_fragment = 0;
    if ((rc = codecs_for(ds->getOriginalXfer(), e)))
        return rc;
    for (int f = first; f < first + count; f++) {
        OFString model;
        Uint32 cap = (Uint32)((frame_bytes + 1) & ~(size_t)1);
        OFCondition c = pd->getUncompressedFrame(ds, (Uint32)f, start_fragment, buf.data(), cap, model);
        if (c.bad())
            return c2_fail(e, C2_EINVAL, "%s: frame %d cannot be decoded (%s)", o->path, f, c.text());
        int planar = 0;
        if (o->samples_per_pixel == 3)
            get_uint16(ds, DCM_PlanarConfiguration, &planar);
        const char *m = model.length() ? model.c_str() : ycc_note;
        frame_bytes_to_float(o, f, buf.data(), stored, planar, strncmp(m, "YBR", 3) != 0, out + (size_t)(f - first) * n);
    }
    return C2_OK;
}

static int frames_read(const dicom_object *o, int first, int count, float *out, c2_err *e)
{
    int rc = frames_check(o, first, count, e);
    if (rc)
        return rc;
    /* A single-frame file not much larger than its frame is read whole in one pass (the
     * lazy load re-opens it twice for Pixel Data); anything else keeps large values on disk. */
    size_t n = (size_t)o->rows * (size_t)o->cols, samples = n * (size_t)o->samples_per_pixel;
    size_t frame_bytes = samples * (size_t)(o->bits_allocated / 8);
    struct stat st;
    int whole = o->frames == 1 && stat(o->path, &st) == 0 && (uint64_t)st.st_size <= 2 * (uint64_t)frame_bytes + (1u << 20);
    DcmFileFormat ff;
    if ((rc = file_load(ff, o->path, e, whole)))
        return rc;
    return frames_decode(ff, o, first, count, out, e);
}

extern "C" int dicom_read_frames(const dicom_object *o, int first_frame, int n_frames, float *out, c2_err *e)
{
    try {
        return frames_read(o, first_frame, n_frames, out, e);
    } catch (const std::bad_alloc &) {
        return c2_fail(e, C2_ENOMEM, "%s: out of memory while decoding", o->path);
    } catch (...) {
        return c2_fail(e, C2_EINVAL, "%s: unexpected failure while decoding", o->path);
    }
}

extern "C" int dicom_read_meta_plane(const char *path, dicom_object *o, float *plane, int64_t max_pixels,
                                     int *has_plane, c2_err *e)
{
    memset(o, 0, sizeof *o);
    *has_plane = 0;
    try {
        /* a file that can hold no more than one plane of max_pixels (and its header) is read
         * whole: the metadata and the frame come from the one pass */
        struct stat st;
        int whole = max_pixels > 0 && stat(path, &st) == 0 &&
                    (uint64_t)st.st_size <= 4 * (uint64_t)max_pixels + (1u << 20);
        DcmFileFormat ff;
        int rc = meta_load(ff, path, o, whole, e);
        if (rc || o->kind != DICOM_KIND_IMAGE || !o->has_pixel_data || o->frames != 1 ||
            (int64_t)o->rows * o->cols > max_pixels)
            return rc;
        c2_err de = {};
        try {   /* a frame that does not decode here is read again (and reported) by dicom_read_frames */
            *has_plane = frames_decode(ff, o, 0, 1, plane, &de) == C2_OK;
        } catch (...) {
            *has_plane = 0;
        }
        return C2_OK;
    } catch (const std::bad_alloc &) {
        dicom_object_free(o);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory while reading the header", path);
    } catch (...) {
        dicom_object_free(o);
        return c2_fail(e, C2_EINVAL, "%s: unexpected failure while reading the header", path);
    }
}

/* ---- X-ray display mapping ---- */

extern "C" int dicom_xray_display(const dicom_object *o, const float *in, float *out01, int n)
{
    if (n <= 0)
        return C2_EINVAL;
    double lo = 0, hi = 0;
    if (!o->has_voi_lut && !o->has_window) {
        int seen = 0;
        for (int i = 0; i < n; i++) {
            if (!std::isfinite(in[i]))
                continue;
            if (!seen || in[i] < lo)
                lo = in[i];
            if (!seen || in[i] > hi)
                hi = in[i];
            seen = 1;
        }
    }
    double lut_max = o->has_voi_lut ? (double)((1u << o->voi_lut_bits) - 1u) : 1;
    for (int i = 0; i < n; i++) {
        double x = in[i], y;
        if (!std::isfinite(x)) {
            out01[i] = 0;
            continue;
        }
        if (o->has_voi_lut) {
            double k = floor(x - o->voi_lut_first);
            k = k < 0 ? 0 : k > o->voi_lut_entries - 1 ? o->voi_lut_entries - 1 : k;
            y = o->voi_lut[(int)k] / lut_max;
        } else if (o->has_window) {
            double c = o->window_center - 0.5, w = o->window_width - 1;
            y = w <= 0 ? (x <= c ? 0.0 : 1.0) : (x - c) / w + 0.5;
        } else {
            y = hi > lo ? (x - lo) / (hi - lo) : 0;
        }
        y = y < 0 ? 0 : y > 1 ? 1 : y;
        out01[i] = (float)(o->monochrome1 ? 1 - y : y);
    }
    return C2_OK;
}

