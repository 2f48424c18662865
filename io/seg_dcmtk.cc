/* The DCMTK side of DICOM SEG (io/seg.h): SEG writing through dcmseg with the
 * DICOM_NOTES §2.1 workarounds, and SEG reading straight from the dataset (dcmseg's
 * frame accessors unpack wrongly); the source geometry is read by io/seg_source.c.
 * C++17; every entry point is extern "C", catches everything and reports through c2_err. */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcvrui.h"
#include "dcmtk/dcmfg/fgderimg.h"
#include "dcmtk/dcmfg/fgfracon.h"
#include "dcmtk/dcmfg/fgpixmsr.h"
#include "dcmtk/dcmfg/fgplanor.h"
#include "dcmtk/dcmfg/fgplanpo.h"
#include "dcmtk/dcmiod/iodreferences.h"
#include "dcmtk/dcmseg/segdoc.h"
#include "dcmtk/dcmseg/segment.h"
#include "dcmtk/oflog/oflog.h"

#include "io/dcmtk_log.h"
#include "io/dicom_load_dcmtk.h"
extern "C" {
#include "io/dicom.h"
#include "io/seg.h"
}

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char *const SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4";
const char *const LABELMAP_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.7";

/* DCMTK's own log through our route (io/dcmtk_log.h: dcmseg's harmless "Will not
 * check dimension consistency ..." of every write, DICOM_NOTES §2.1 item 4, stays out). */
void quiet_dcmtk_log()
{
    dcmtk_log_setup();
}

std::string get_str(DcmItem *it, const DcmTagKey &tag)
{
    OFString v;
    if (it && it->findAndGetOFStringArray(tag, v).good())
        return std::string(v.c_str());
    return std::string();
}

bool get_f64(DcmItem *it, const DcmTagKey &tag, double *out, int n)
{
    if (!it)
        return false;
    for (int i = 0; i < n; i++) {
        Float64 v;
        if (it->findAndGetFloat64(tag, v, (unsigned long)i).bad())
            return false;
        out[i] = v;
    }
    return true;
}

/* item 0 of seq inside it, or NULL */
DcmItem *sub(DcmItem *it, const DcmTagKey &seq, long idx = 0)
{
    DcmItem *r = NULL;
    if (it && it->findAndGetSequenceItem(seq, r, idx).good())
        return r;
    return NULL;
}

void copy_str(char *dst, size_t cap, const std::string &s)
{
    snprintf(dst, cap, "%s", s.c_str());
}

/* ---- writing ---- */

std::string fmt_num(double v)
{
    char b[32];
    snprintf(b, sizeof b, "%.10g", v);
    return b;
}

/* PixelSpacing value "row\\column" of the source */
std::string spacing_string(const seg_source *src)
{
    return fmt_num(src->spacing[0]) + "\\" + fmt_num(src->spacing[1]);
}

/* Source values that dcmseg's checks refuse, set aside. A hospital file's Patient Name with a
 * control byte, a Study Description with a line break, a Patient ID with a NUL: dcmseg would
 * import them and then refuse to write the whole SEG ("Value Representation violated"). The SEG
 * must carry the very values of its source (a PACS files it by Patient ID and the study's
 * values), so they are taken out of the source dataset before the import (emptied: every such
 * element of the modules dcmseg copies is type 2 or 3, UIDs excepted, which are left to fail)
 * and put back, byte for byte, into the written dataset. */
struct kept_value {
    DcmTagKey tag;
    OFString value;
};

std::vector<kept_value> set_aside_refused_values(DcmDataset *sds, const char *file)
{
    std::vector<kept_value> kept;
    for (unsigned long i = 0; i < sds->card(); i++) {
        DcmElement *el = sds->getElement(i);
        if (!el || !el->isaString() || el->ident() == EVR_UI || el->getTag().getGroup() < 0x0008)
            continue;
        const DcmDataDictionary &dict = dcmDataDict.rdlock();
        const DcmDictEntry *de = dict.findEntry(el->getTag().getXTag(), NULL);
        bool single = de && de->getVMMax() == 1;   /* a backslash in it would make two values */
        dcmDataDict.rdunlock();
        if (el->checkValue(single ? "1" : "1-n", OFFalse).good())
            continue;
        kept_value k{el->getTag().getXTag(), OFString()};
        if (el->getOFStringArray(k.value, OFFalse).bad() || el->putString("").bad())
            continue;
        DcmTag tag(el->getTag());
        c2_warn("%s: %s has a value its VR does not allow; the SEG carries it as it is", file, tag.getTagName());
        kept.push_back(k);
    }
    return kept;
}

/* Why a source file cannot be referenced: the first of its four UIDs that is missing or no
 * UID (a component with a leading zero, more than 64 characters: found in real archives). */
std::string reference_refused_why(DcmDataset *ds)
{
    static const struct {
        DcmTagKey tag;
        const char *name;
    } uids[] = {{DCM_StudyInstanceUID, "Study Instance UID"}, {DCM_SeriesInstanceUID, "Series Instance UID"},
                {DCM_SOPClassUID, "SOP Class UID"}, {DCM_SOPInstanceUID, "SOP Instance UID"}};
    for (const auto &u : uids) {
        OFString v;
        if (ds->findAndGetOFStringArray(u.tag, v).bad() || v.empty())
            return std::string("it has no ") + u.name;
        if (DcmUniqueIdentifier::checkStringValue(v, "1").bad())
            return std::string("its ") + u.name + " '" + v.c_str() +
                   "' is no valid UID (digits and dots, no component with a leading zero, at most 64 characters), "
                   "which a SEG cannot reference";
    }
    return "dcmiod refused its references";
}

/* 1 when every source slice has the first one's SliceThickness (within 1 um) */
bool thickness_uniform(const seg_source *src)
{
    for (int k = 1; k < src->n_slices; k++)
        if (std::fabs(src->slices[k].thickness - src->slices[0].thickness) > 1e-3)
            return false;
    return true;
}

/* Spatial Locations Preserved (0028,135A) = YES in every Source Image item of every
 * frame's Derivation Image: the SEG is on the source grid, so readers (highdicom)
 * may map frames to source slices; dcmfg 3.6.7 has no setter for it. */
OFCondition mark_spatial_locations_preserved(DcmDataset *ds)
{
    DcmSequenceOfItems *pfs = NULL;
    if (ds->findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, pfs).bad() || !pfs)
        return EC_TagNotFound;
    for (unsigned long f = 0; f < pfs->card(); f++) {
        DcmItem *der = sub(pfs->getItem(f), DCM_DerivationImageSequence);
        for (long i = 0; der && sub(der, DCM_SourceImageSequence, i); i++) {
            OFCondition st = sub(der, DCM_SourceImageSequence, i)->putAndInsertString(DCM_SpatialLocationsPreserved, "YES");
            if (st.bad())
                return st;
        }
    }
    return EC_Normal;
}

#define TRY(expr, what)                                                                                    \
    do {                                                                                                   \
        OFCondition st_ = (expr);                                                                          \
        if (st_.bad())                                                                                     \
            return c2_fail(e, C2_EINVAL, "%s: dcmseg failed to %s (%s)", out_path, what, st_.text());      \
    } while (0)

struct seg_owner {
    DcmSegmentation *seg = NULL;
    ~seg_owner() { delete seg; }
};

/* The mask as given: bytes 0..255, or packed bits (seg_write_bits: 1 = foreground). */
struct mask_view {
    const uint8_t *bytes, *bits;
};

int write_seg(const seg_source *src, const mask_view &mask, const seg_write_opts *opt, const char *out_path,
              seg_write_info *info, c2_err *e)
{
    quiet_dcmtk_log();
    const int R = src->rows, C = src->cols, S = src->n_slices;
    const size_t plane = (size_t)R * (size_t)C;
    const char *label = opt && opt->label && *opt->label ? opt->label : "Lesion";
    const char *desc = opt && opt->description && *opt->description ? opt->description : "c2seg lesion segmentation";
    const char *root = opt ? opt->uid_root : NULL;
    const bool fractional = opt && opt->fractional;
    char label64[65], desc64[65], series_uid[65], sop_uid[65], dim_uid[65];
    seg_utf8_truncate(label64, sizeof label64, label, 64);
    seg_utf8_truncate(desc64, sizeof desc64, desc, 64);
    int rc = C2_OK;
    char *const uids[3] = {series_uid, sop_uid, dim_uid};
    const char *given[3] = {opt ? opt->series_uid : NULL, opt ? opt->sop_uid : NULL, opt ? opt->dimension_uid : NULL};
    for (int i = 0; i < 3 && rc == C2_OK; i++) {
        if (given[i] && *given[i])
            snprintf(uids[i], 65, "%.64s", given[i]);
        else
            rc = seg_uid_make(uids[i], root, e);
    }
    if (rc)
        return rc;

    /* which frames go out: all, or the non-empty ones (at least one) */
    std::vector<int> keep;
    int64_t fg = 0;
    for (int k = 0; k < S; k++) {
        int64_t n = 0;   /* pixels this frame stores as nonzero */
        if (mask.bits) { /* binary: the set bits */
            fg += n = seg_bits_count(mask.bits, (size_t)k * plane, plane);
        } else {
            const uint8_t *m = mask.bytes + (size_t)k * plane;
            for (size_t i = 0; i < plane; i++) {
                uint8_t v = m[i];
                n += fractional ? v > 0 : v >= 128;
                fg += v >= 128;
            }
        }
        if (n > 0 || !(opt && opt->omit_empty_frames))
            keep.push_back(k);
    }
    if (keep.empty())
        keep.push_back(0);

    IODGeneralEquipmentModule::EquipmentInfo eq("c2seg project", "c2seg", "0", c2_version());
    /* free-text fields (label, descriptions) are put in after writeDataset, once the
     * dataset is in UTF-8 (see below); dcmseg's value checks refuse non-ASCII */
    ContentIdentificationMacro ident("1", "LESION", "", "");
    seg_owner own;
    /* binary: dcmseg packs every frame it is given a bit at a time (packBinaryFrame, about a
     * third of the write on 300 x 512^2), and that Pixel Data is replaced below by one
     * continuous stream packed from the mask. So dcmseg gets 1 x 1 frames, and Rows /
     * Columns are set to the source grid's after writeDataset: the other elements are the
     * same as with full frames (tests/io/test_seg_*, test_predict_study). */
    const Uint16 frame_rows = fractional ? (Uint16)R : 1, frame_cols = fractional ? (Uint16)C : 1;
    if (fractional)
        TRY(DcmSegmentation::createFractionalSegmentation(own.seg, (Uint16)R, (Uint16)C, DcmSegTypes::SFT_PROBABILITY,
                                                          255, eq, ident),
            "create a fractional segmentation");
    else
        TRY(DcmSegmentation::createBinarySegmentation(own.seg, frame_rows, frame_cols, eq, ident),
            "create a binary segmentation");
    DcmSegmentation *seg = own.seg;

    /* the references of the Common Instance Reference, read from each source file first: a
     * file whose UIDs a SEG cannot carry is named here, before any frame is built.
     * IODReferences::addFromFiles loads each whole file (300 x 0.5 MiB of pixels on a CT
     * series) for four UIDs: the same reference from each file read without its large
     * values (the Pixel Data is skipped over, not read) */
    IODReferences refs;
    for (int i = 0; i < src->n_files; i++) {
        DcmFileFormat rff;
        int rc = dicom_dcmtk_load(rff, src->files[i], e);
        if (rc)
            return rc;
        IODReference *ref = new IODReference(IODReference::LEVEL_STUDY);
        if (!ref->readFromItem(*rff.getDataset()) || !refs.add(ref)) {
            delete ref;
            return c2_fail(e, C2_EINVAL, "%s: cannot reference the source file %s: %s", out_path, src->files[i],
                           reference_refused_why(rff.getDataset()).c_str());
        }
    }
    std::vector<kept_value> kept;   /* source values dcmseg refuses: put back after writeDataset */
    {   /* patient / study / frame of reference from the first source file */
        DcmFileFormat sff;
        int rc = dicom_dcmtk_load(sff, src->files[0], e);
        if (rc)
            return rc;
        kept = set_aside_refused_values(sff.getDataset(), src->files[0]);
        TRY(seg->importFromSourceImage(*sff.getDataset()), "import patient / study from the source");
    }
    /* dcmseg 3.6.7 insists on a Frame of Reference (type 1). A projection source has
     * none, so the SEG must not have one either: a placeholder satisfies dcmseg and is
     * removed from the dataset after writeDataset below. */
    if (src->projection)
        TRY(seg->getFrameOfReference().setFrameOfReferenceUID(dim_uid), "set the placeholder frame of reference");
    TRY(seg->getSeries().setSeriesNumber("9001"), "set the series number");

    /* the segment: CID 7150 category / CID 7151 type, anatomic region lung + laterality */
    DcmSegment *segment = NULL;
    TRY(DcmSegment::create(segment, "Lesion", CodeSequenceMacro("49755003", "SCT", "Morphologically Altered Structure"),
                           CodeSequenceMacro("52988006", "SCT", "Lesion"), DcmSegTypes::SAT_AUTOMATIC, "c2seg"),
        "create the segment");
    Uint16 seg_no = 0;
    OFCondition ast = seg->addSegment(segment, seg_no);
    if (ast.bad()) {
        delete segment;
        return c2_fail(e, C2_EINVAL, "%s: dcmseg failed to add the segment (%s)", out_path, ast.text());
    }
    AlgorithmIdentificationMacro &alg = segment->getSegmentationAlgorithmIdentification();
    alg.getAlgorithmFamilyCode().set("123110", "DCM", "Artificial Intelligence");
    alg.setAlgorithmName("c2seg");
    alg.setAlgorithmVersion(c2_version());
    segment->setRecommendedDisplayCIELabValue(53255, 46741, 43298);   /* a yellow-orange, like dcmqi's lesions */
    int side = mask.bits ? seg_mask_side_bits(src, mask.bits) : seg_mask_side(src, mask.bytes);
    GeneralAnatomyMacro &anat = segment->getGeneralAnatomyCode();
    anat.getAnatomicRegion().set("39607008", "SCT", "Lung");
    if (side != SEG_SIDE_NONE) {
        CodeSequenceMacro *mod = side == SEG_SIDE_LEFT    ? new CodeSequenceMacro("7771000", "SCT", "Left")
                                 : side == SEG_SIDE_RIGHT ? new CodeSequenceMacro("24028007", "SCT", "Right")
                                                          : new CodeSequenceMacro("51440002", "SCT", "Right and left");
        anat.getAnatomicRegionModifier().push_back(mod);
    }

    /* functional groups: pixel measures and plane orientation. A projection gets
     * placeholders (dcmseg demands them once a frame of reference is set), removed
     * again with that frame of reference after writeDataset. Pixel Measures are shared
     * when every source slice has the same thickness, else per frame (each frame gets
     * its own source slice's thickness). */
    const bool thick_per_frame = !src->projection && src->has_spacing && !thickness_uniform(src);
    {
        FGPixelMeasures pm;
        if (src->projection)
            TRY(pm.setPixelSpacing("1\\1"), "set the placeholder pixel spacing");
        else if (src->has_spacing)
            TRY(pm.setPixelSpacing(spacing_string(src).c_str()), "set the pixel spacing");
        if (src->slices[0].thickness > 0)
            TRY(pm.setSliceThickness(fmt_num(src->slices[0].thickness).c_str()), "set the slice thickness");
        if ((src->has_spacing || src->projection) && !thick_per_frame)
            TRY(seg->addForAllFrames(pm), "add pixel measures");
        static const double axial[6] = {1, 0, 0, 0, 1, 0};
        const double *o = src->projection ? axial : src->iop;
        FGPlaneOrientationPatient *po = FGPlaneOrientationPatient::createMinimal(
            fmt_num(o[0]).c_str(), fmt_num(o[1]).c_str(), fmt_num(o[2]).c_str(), fmt_num(o[3]).c_str(),
            fmt_num(o[4]).c_str(), fmt_num(o[5]).c_str());
        if (!po)
            return c2_fail(e, C2_ENOMEM, "%s: out of memory", out_path);
        OFCondition st = seg->addForAllFrames(*po);
        delete po;
        TRY(st, "add the plane orientation");
    }
    /* dimensions: segment number, then position along the normal (volumes only) */
    TRY(seg->getDimensions().addDimensionIndex(DCM_ReferencedSegmentNumber, dim_uid, DCM_SegmentIdentificationSequence,
                                               "ReferencedSegmentNumber"),
        "add the segment dimension");
    if (!src->projection)
        TRY(seg->getDimensions().addDimensionIndex(DCM_ImagePositionPatient, dim_uid, DCM_PlanePositionSequence,
                                                   "ImagePositionPatient"),
            "add the position dimension");

    std::vector<Uint8> frame((size_t)frame_rows * frame_cols, 0); /* binary: the 1 x 1 placeholder */
    for (int k : keep) {
        const seg_slice *sl = &src->slices[k];
        if (fractional) { /* a bit mask is never fractional (write_checked) */
            const uint8_t *m = mask.bytes + (size_t)k * plane;
            memcpy(frame.data(), m, plane);
        }
        FGFrameContent fc;
        TRY(fc.setDimensionIndexValues(seg_no, 0), "set the segment index");
        if (!src->projection)
            TRY(fc.setDimensionIndexValues((Uint32)k + 1, 1), "set the position index");
        OFVector<ImageSOPInstanceReferenceMacro> refs(1);
        refs[0].setReferencedSOPClassUID(sl->sop_class);
        refs[0].setReferencedSOPInstanceUID(sl->sop_instance);
        if (sl->frame > 0)
            refs[0].addReferencedFrameNumber((Uint16)sl->frame);
        FGDerivationImage *der = DcmSegmentation::createDerivationImageFG(refs, "");
        if (!der)
            return c2_fail(e, C2_EINVAL, "%s: dcmseg failed to build the derivation reference of slice %d", out_path, k);
        FGPlanePosPatient *pp = NULL;
        OFVector<FGBase *> per;
        per.push_back(&fc);
        per.push_back(der);
        pp = FGPlanePosPatient::createMinimal(fmt_num(sl->ipp[0]).c_str(), fmt_num(sl->ipp[1]).c_str(),
                                              fmt_num(sl->ipp[2]).c_str());   /* 0,0,0 placeholder for projections */
        if (pp)
            per.push_back(pp);
        FGPixelMeasures pm;
        if (thick_per_frame) {
            TRY(pm.setPixelSpacing(spacing_string(src).c_str()), "set the pixel spacing");
            if (sl->thickness > 0)
                TRY(pm.setSliceThickness(fmt_num(sl->thickness).c_str()), "set the slice thickness");
            per.push_back(&pm);
        }
        OFCondition st = seg->addFrame(frame.data(), seg_no, per);
        delete der;
        delete pp;
        if (st.bad())
            return c2_fail(e, C2_EINVAL, "%s: dcmseg failed to add frame %d (%s)", out_path, k, st.text());
    }

    /* Common Instance Reference: not filled by dcmseg (DICOM_NOTES §2.1 item 2); the
     * references were read before the frames (below the import) */
    seg->getCommonInstanceReference().addReferences(refs);

    DcmFileFormat ff;
    DcmDataset *ds = ff.getDataset();
    TRY(seg->writeDataset(*ds), "build the dataset");
    for (const kept_value &k : kept) {   /* the source's own bytes, where dcmseg copied the element */
        DcmElement *el = NULL;
        if (ds->findAndGetElement(k.tag, el, OFFalse).good() && el)
            TRY(el->putOFStringArray(k.value), "put back a source value");
    }
    /* binary: replace dcmseg's packing by one continuous LSB-first stream (§2.1 item 1) */
    if (!fractional) {
        TRY(ds->putAndInsertUint16(DCM_Rows, (Uint16)R), "set the rows");
        TRY(ds->putAndInsertUint16(DCM_Columns, (Uint16)C), "set the columns");
        size_t nbits = plane * keep.size();
        size_t nbytes = (nbits + 7) / 8;
        nbytes += nbytes & 1;
        std::vector<Uint8> packed(nbytes, 0); /* packed straight from the mask: no byte-per-pixel copy */
        for (size_t j = 0; j < keep.size(); j++) {
            if (mask.bits) { /* a bit mask's frame is copied, whole bytes where they line up */
                seg_bits_copy(packed.data(), j * plane, mask.bits, (size_t)keep[j] * plane, plane);
                continue;
            }
            const uint8_t *m = mask.bytes + (size_t)keep[j] * plane;
            for (size_t i = 0; i < plane; i++) {
                size_t b = j * plane + i;
                packed[b >> 3] |= (Uint8)((m[i] >= 128) << (b & 7));
            }
        }
        TRY(ds->putAndInsertUint8Array(DCM_PixelData, packed.data(), (unsigned long)nbytes), "replace the pixel data");
    }
    TRY(mark_spatial_locations_preserved(ds), "mark the source references as spatial locations preserved");
    bool ascii = true;
    for (const char *p = label64; *p; p++)
        ascii = ascii && (unsigned char)*p < 0x80;
    for (const char *p = desc64; *p; p++)
        ascii = ascii && (unsigned char)*p < 0x80;
    if (!ascii)
        TRY(ds->convertToUTF8(), "convert the dataset to UTF-8 for the label / description");
    DcmItem *segitem = sub(ds, DCM_SegmentSequence);
    if (!segitem)
        return c2_fail(e, C2_EINVAL, "%s: dcmseg wrote no Segment Sequence", out_path);
    TRY(segitem->putAndInsertString(DCM_SegmentLabel, label64), "set the segment label");
    TRY(segitem->putAndInsertString(DCM_SegmentDescription, desc64), "set the segment description");
    TRY(ds->putAndInsertString(DCM_SeriesDescription, desc64), "set the series description");
    TRY(ds->putAndInsertString(DCM_ContentDescription, desc64), "set the content description");
    TRY(ds->putAndInsertString(DCM_ImageComments, C2SEG_INTENDED_USE), "set the image comments (intended use)");
    TRY(ds->putAndInsertString(DCM_SeriesInstanceUID, series_uid), "set the series UID");
    TRY(ds->putAndInsertString(DCM_SOPInstanceUID, sop_uid), "set the SOP instance UID");
    if (opt && opt->content_date && *opt->content_date)
        TRY(ds->putAndInsertString(DCM_ContentDate, opt->content_date), "set the content date");
    if (opt && opt->content_time && *opt->content_time)
        TRY(ds->putAndInsertString(DCM_ContentTime, opt->content_time), "set the content time");
    if (src->projection) {
        delete ds->remove(DCM_FrameOfReferenceUID);
        delete ds->remove(DCM_PositionReferenceIndicator);
        DcmItem *shared = sub(ds, DCM_SharedFunctionalGroupsSequence);
        if (shared) {
            delete shared->remove(DCM_PixelMeasuresSequence);
            delete shared->remove(DCM_PlaneOrientationSequence);
        }
        for (size_t j = 0; j < keep.size(); j++) {
            DcmItem *pf = sub(ds, DCM_PerFrameFunctionalGroupsSequence, (long)j);
            if (pf)
                delete pf->remove(DCM_PlanePositionSequence);
        }
    }
    /* Patient Orientation is Type 2C when there is no Image Orientation / Position (a
     * projection): copied from the source, present but empty when the source has none */
    if (src->projection)
        TRY(ds->putAndInsertString(DCM_PatientOrientation, src->patient_orientation), "set the patient orientation");

    char tmp[4200];
    c2_temp_name(tmp, sizeof tmp, out_path);
    OFCondition st = ff.saveFile(tmp, EXS_LittleEndianExplicit);
    if (st.bad()) {
        int err = errno, code = c2_write_status(err);   /* DCMTK's text does not say why */
        remove(tmp);
        return c2_fail(e, code, "%s: cannot write (%s)", out_path, code == C2_ENOSPC ? strerror(err) : st.text());
    }
    rc = c2_rename_into_place(tmp, out_path, e);
    if (rc) {
        remove(tmp);
        return rc;
    }
    if (info) {
        info->n_frames = (int)keep.size();
        info->side = side;
        info->n_foreground = fg;
        copy_str(info->sop_instance, sizeof info->sop_instance, sop_uid);
        copy_str(info->series_uid, sizeof info->series_uid, series_uid);
    }
    return C2_OK;
}

/* ---- reading ---- */

/* PackBits-style DICOM RLE segment decoder (PS3.5 G.3.1). */
bool rle_segment(const Uint8 *in, size_t n, Uint8 *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n && o < cap) {
        int h = (Sint8)in[i++];
        if (h >= 0) {
            size_t len = (size_t)h + 1;
            if (i + len > n || o + len > cap)
                return false;
            memcpy(out + o, in + i, len);
            i += len;
            o += len;
        } else if (h != -128) {
            size_t len = (size_t)(1 - h);
            if (i >= n || o + len > cap)
                return false;
            memset(out + o, in[i++], len);
            o += len;
        }
    }
    return o == cap;
}

/* RLE Lossless: one fragment per frame, one segment per frame (1- or 8-bit, 1 sample).
 * Writes the frames into raw as frame-aligned bytes of fbytes each. */
int read_rle(const char *path, DcmDataset *ds, int nf, size_t fbytes, std::vector<Uint8> &raw, c2_err *e)
{
    DcmElement *el = NULL;
    if (ds->findAndGetElement(DCM_PixelData, el).bad() || !el)
        return c2_fail(e, C2_EINVAL, "%s: no Pixel Data", path);
    /* another VR gives another class: no downcast (DCMTK 3.6.7 already refuses a top-level
     * Pixel Data of explicit length in a compressed transfer syntax when loading) */
    if (el->ident() != EVR_PixelData)
        return c2_fail(e, C2_EINVAL, "%s: Pixel Data has VR %s, not OB or OW", path, DcmVR(el->getVR()).getVRName());
    DcmPixelData *pd = OFstatic_cast(DcmPixelData *, el);
    DcmPixelSequence *seq = NULL;
    E_TransferSyntax xs = ds->getOriginalXfer();
    if (pd->getEncapsulatedRepresentation(xs, NULL, seq).bad() || !seq)
        return c2_fail(e, C2_EINVAL, "%s: RLE Pixel Data has no fragments", path);
    if ((int)seq->card() != nf + 1)
        return c2_fail(e, C2_EUNSUPPORTED, "%s: RLE with %lu fragments for %d frames (expected one per frame)", path,
                       (unsigned long)seq->card(), nf);
    raw.assign(fbytes * nf, 0);
    for (int f = 0; f < nf; f++) {
        DcmPixelItem *it = NULL;
        Uint8 *b = NULL;
        if (seq->getItem(it, (unsigned long)f + 1).bad() || it->getUint8Array(b).bad() || !b)
            return c2_fail(e, C2_EINVAL, "%s: RLE fragment of frame %d unreadable", path, f + 1);
        size_t len = it->getLength();
        if (len < 64)
            return c2_fail(e, C2_EINVAL, "%s: RLE fragment of frame %d shorter than its header", path, f + 1);
        Uint32 nseg = (Uint32)b[0] | (Uint32)b[1] << 8 | (Uint32)b[2] << 16 | (Uint32)b[3] << 24;
        Uint32 off = (Uint32)b[4] | (Uint32)b[5] << 8 | (Uint32)b[6] << 16 | (Uint32)b[7] << 24;
        if (nseg != 1 || off < 64 || off >= len)
            return c2_fail(e, C2_EUNSUPPORTED, "%s: RLE frame %d has %u segments (one expected)", path, f + 1, nseg);
        if (!rle_segment(b + off, len - off, raw.data() + fbytes * f, fbytes))
            return c2_fail(e, C2_EINVAL, "%s: RLE frame %d does not decode to %zu bytes", path, f + 1, fbytes);
    }
    return C2_OK;
}

int read_seg(const char *path, seg_image *s, c2_err *e)
{
    quiet_dcmtk_log();
    memset(s, 0, sizeof *s);
    DcmFileFormat ff;
    int rc = dicom_dcmtk_load(ff, path, e);
    if (rc)
        return rc;
    DcmDataset *ds = ff.getDataset();
    std::string cls = get_str(ds, DCM_SOPClassUID);
    if (cls != SEG_SOP_CLASS && cls != LABELMAP_SOP_CLASS)
        return c2_fail(e, C2_EUNSUPPORTED, "%s: not a segmentation (SOP class %s)", path, cls.c_str());
    copy_str(s->sop_class, sizeof s->sop_class, cls);
    copy_str(s->sop_instance, sizeof s->sop_instance, get_str(ds, DCM_SOPInstanceUID));
    Uint16 r = 0, c = 0, ba = 0;
    Sint32 nf = 1;
    ds->findAndGetUint16(DCM_Rows, r);
    ds->findAndGetUint16(DCM_Columns, c);
    ds->findAndGetUint16(DCM_BitsAllocated, ba);
    ds->findAndGetSint32(DCM_NumberOfFrames, nf);
    if (r == 0 || c == 0 || nf < 1)
        return c2_fail(e, C2_EINVAL, "%s: Rows / Columns / Number of Frames missing or zero", path);
    rc = c2_check_dims(e, path, r, c, nf, 1);
    if (rc)
        return rc;
    std::string type = get_str(ds, DCM_SegmentationType);
    if (type == "BINARY" && ba == 1)
        s->type = SEG_TYPE_BINARY;
    else if (type == "FRACTIONAL" && ba == 8)
        s->type = SEG_TYPE_FRACTIONAL;
    else if (type == "LABELMAP" && ba == 8)
        s->type = SEG_TYPE_LABELMAP;
    else
        return c2_fail(e, C2_EUNSUPPORTED, "%s: Segmentation Type \"%s\" with %u bits allocated is not supported", path,
                       type.c_str(), ba);
    if (s->type == SEG_TYPE_FRACTIONAL) {
        Uint16 mx = 0;
        ds->findAndGetUint16(DCM_MaximumFractionalValue, mx);
        s->max_fractional = mx;
    }
    s->rows = r;
    s->cols = c;
    s->n_frames = nf;
    copy_str(s->study_uid, sizeof s->study_uid, get_str(ds, DCM_StudyInstanceUID));
    copy_str(s->for_uid, sizeof s->for_uid, get_str(ds, DCM_FrameOfReferenceUID));
    copy_str(s->ref_series_uid, sizeof s->ref_series_uid,
             get_str(sub(ds, DCM_ReferencedSeriesSequence), DCM_SeriesInstanceUID));
    DcmSequenceOfItems *segs = NULL;
    if (ds->findAndGetSequence(DCM_SegmentSequence, segs).good() && segs && segs->card() > 0) {
        if (segs->card() > 65535)
            return c2_fail(e, C2_ELIMIT, "%s: %lu segments", path, (unsigned long)segs->card());
        s->n_segments = (int)segs->card();
        s->segments = (seg_segment_info *)calloc((size_t)s->n_segments, sizeof(seg_segment_info));
        if (!s->segments)
            return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
        for (int i = 0; i < s->n_segments; i++) {
            DcmItem *it = segs->getItem((unsigned long)i);
            seg_segment_info *g = &s->segments[i];
            Uint16 num = 0;
            g->number = it->findAndGetUint16(DCM_SegmentNumber, num).good() ? num : i + 1;
            copy_str(g->label, sizeof g->label, get_str(it, DCM_SegmentLabel));
            DcmItem *cat = sub(it, DCM_SegmentedPropertyCategoryCodeSequence);
            DcmItem *typ = sub(it, DCM_SegmentedPropertyTypeCodeSequence);
            copy_str(g->category_code, sizeof g->category_code, get_str(cat, DCM_CodeValue));
            copy_str(g->category_scheme, sizeof g->category_scheme, get_str(cat, DCM_CodingSchemeDesignator));
            copy_str(g->type_code, sizeof g->type_code, get_str(typ, DCM_CodeValue));
            copy_str(g->type_scheme, sizeof g->type_scheme, get_str(typ, DCM_CodingSchemeDesignator));
            copy_str(g->type_meaning, sizeof g->type_meaning, get_str(typ, DCM_CodeMeaning));
        }
    }

    const size_t plane = (size_t)r * c, total = plane * (size_t)nf;
    std::vector<Uint8> raw;
    const Uint8 *bytes = NULL;
    size_t nbytes = 0;
    E_TransferSyntax xs = ds->getOriginalXfer();
    if (xs == EXS_RLELossless) {
        /* RLE encodes each frame on its own: 1-bit frames are byte-aligned per frame */
        size_t fbytes = s->type == SEG_TYPE_BINARY ? (plane + 7) / 8 : plane;
        rc = read_rle(path, ds, nf, fbytes, raw, e);
        if (rc)
            return rc;
        s->pixels = (uint8_t *)malloc(total);
        if (!s->pixels)
            return c2_fail(e, C2_ENOMEM, "%s: out of memory for %zu pixels", path, total);
        for (int f = 0; f < nf; f++) {
            if (s->type == SEG_TYPE_BINARY)
                seg_bits_unpack(raw.data() + fbytes * f, plane, s->pixels + plane * f);
            else
                memcpy(s->pixels + plane * f, raw.data() + fbytes * f, plane);
        }
    } else {
        DcmXfer x(xs);
        if (x.isEncapsulated())
            return c2_fail(e, C2_EUNSUPPORTED, "%s: compressed SEG (%s) is not supported", path, x.getXferName());
        if (ds->findAndGetUint8Array(DCM_PixelData, bytes).bad() || !bytes)
            return c2_fail(e, C2_EINVAL, "%s: no Pixel Data", path);
        DcmElement *el = NULL;
        ds->findAndGetElement(DCM_PixelData, el);
        nbytes = el ? el->getLength() : 0;
        size_t need = s->type == SEG_TYPE_BINARY ? (total + 7) / 8 : total;
        if (nbytes < need)
            return c2_fail(e, C2_EINVAL, "%s: Pixel Data has %zu bytes, %zu needed for %dx%dx%d", path, nbytes, need, c, r,
                           nf);
        s->pixels = (uint8_t *)malloc(total);
        if (!s->pixels)
            return c2_fail(e, C2_ENOMEM, "%s: out of memory for %zu pixels", path, total);
        if (s->type == SEG_TYPE_BINARY)
            seg_bits_unpack(bytes, total, s->pixels);   /* global bit index (§2.1 read workaround) */
        else
            memcpy(s->pixels, bytes, total);
    }

    s->frames = (seg_frame *)calloc((size_t)nf, sizeof(seg_frame));
    if (!s->frames)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    DcmItem *shared = sub(ds, DCM_SharedFunctionalGroupsSequence);
    {
        DcmItem *po = sub(shared, DCM_PlaneOrientationSequence);
        if (!po)
            po = sub(sub(ds, DCM_PerFrameFunctionalGroupsSequence), DCM_PlaneOrientationSequence);
        s->has_iop = get_f64(po, DCM_ImageOrientationPatient, s->iop, 6);
    }
    for (int f = 0; f < nf; f++) {
        seg_frame *fr = &s->frames[f];
        DcmItem *pf = sub(ds, DCM_PerFrameFunctionalGroupsSequence, f);
        DcmItem *sid = sub(pf, DCM_SegmentIdentificationSequence);
        if (!sid)
            sid = sub(shared, DCM_SegmentIdentificationSequence);
        Uint16 sn = 0;
        if (sid && sid->findAndGetUint16(DCM_ReferencedSegmentNumber, sn).good())
            fr->segment = sn;
        DcmItem *der = sub(pf, DCM_DerivationImageSequence);
        if (!der)
            der = sub(shared, DCM_DerivationImageSequence);
        DcmItem *si = sub(der, DCM_SourceImageSequence);
        copy_str(fr->ref_sop_instance, sizeof fr->ref_sop_instance, get_str(si, DCM_ReferencedSOPInstanceUID));
        Sint32 rf = 0;
        if (si && si->findAndGetSint32(DCM_ReferencedFrameNumber, rf).good())
            fr->ref_frame = rf;
        fr->has_ipp = get_f64(sub(pf, DCM_PlanePositionSequence), DCM_ImagePositionPatient, fr->ipp, 3);
    }
    return C2_OK;
}

} // namespace

static int write_checked(const seg_source *src, const mask_view &mask, const seg_write_opts *opt, const char *out_path,
                         seg_write_info *info, c2_err *e)
{
    try {
        if (src->rows > 65535 || src->cols > 65535 || src->n_slices < 1)
            return c2_fail(e, C2_EINVAL, "%s: source grid %dx%dx%d cannot be a SEG", out_path, src->cols, src->rows,
                           src->n_slices);
        if (mask.bits && opt && opt->fractional)
            return c2_fail(e, C2_EINVAL, "%s: a fractional SEG cannot be written from a bit mask", out_path);
        return write_seg(src, mask, opt, out_path, info, e);
    } catch (...) {
        return c2_fail(e, C2_EINVAL, "%s: unexpected failure while writing the SEG", out_path);
    }
}

extern "C" int seg_write(const seg_source *src, const uint8_t *mask, const seg_write_opts *opt, const char *out_path,
                         seg_write_info *info, c2_err *e)
{
    return write_checked(src, mask_view{mask, NULL}, opt, out_path, info, e);
}

extern "C" int seg_write_bits(const seg_source *src, const uint8_t *bits, const seg_write_opts *opt, const char *out_path,
                              seg_write_info *info, c2_err *e)
{
    return write_checked(src, mask_view{NULL, bits}, opt, out_path, info, e);
}

extern "C" int seg_read(const char *path, seg_image *s, c2_err *e)
{
    int rc;
    try {
        rc = read_seg(path, s, e);
    } catch (...) {
        rc = c2_fail(e, C2_EINVAL, "%s: unexpected failure while reading the SEG", path);
    }
    if (rc)
        seg_image_free(s);
    return rc;
}
