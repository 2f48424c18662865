/* CT Image Storage writer (DCMTK shim behind io/dicom_write.h). Builds the dataset
 * attribute by attribute because DCMTK 3.6.7 has no CT Image IOD class; the attribute list
 * follows the CT Image IOD's module table (PS3.3 A.3), Type 1 and 2 attributes all present
 * so that dciodvfy reports no error. */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"

#include "io/dicom_write.h"

#include <cstdio>
#include <cerrno>
#include <cstring>
#include <string>

namespace {

/* A DS value (at most 16 characters, PS3.5 6.2) with as many significant digits as fit. */
std::string decimal_string(double v)
{
    char buf[64];
    for (int digits = 10; digits >= 1; digits--) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (std::strlen(buf) <= 16)
            break;
    }
    return buf;
}

std::string decimal_strings(const double *v, int n)
{
    std::string s;
    for (int i = 0; i < n; i++) {
        if (i)
            s += "\\";
        s += decimal_string(v[i]);
    }
    return s;
}

const char *or_empty(const char *s) { return s ? s : ""; }

/* Puts one string attribute; DCMTK reports a bad value (wrong VR or length) as a status. */
void put_string(DcmDataset *ds, const DcmTagKey &tag, const std::string &value, OFCondition &status)
{
    if (status.good())
        status = ds->putAndInsertOFStringArray(tag, value.c_str());
}

void put_number(DcmDataset *ds, const DcmTagKey &tag, long value, OFCondition &status)
{
    put_string(ds, tag, std::to_string(value), status);
}

/* Fills ds with the CT Image IOD for s; returns the first DCMTK failure. */
OFCondition ct_dataset_fill(DcmDataset *ds, const dicom_ct_slice *s)
{
    OFCondition st = EC_Normal;
    const std::string date = or_empty(s->study_date), time = or_empty(s->study_time);
    /* SOP Common */
    put_string(ds, DCM_SOPClassUID, UID_CTImageStorage, st);
    put_string(ds, DCM_SOPInstanceUID, or_empty(s->sop_uid), st);
    put_string(ds, DCM_InstanceCreationDate, date, st);
    put_string(ds, DCM_InstanceCreationTime, time, st);
    /* Patient */
    put_string(ds, DCM_PatientName, or_empty(s->patient_name), st);
    put_string(ds, DCM_PatientID, or_empty(s->patient_id), st);
    put_string(ds, DCM_PatientBirthDate, or_empty(s->patient_birth_date), st);
    put_string(ds, DCM_PatientSex, or_empty(s->patient_sex), st);
    /* General Study */
    put_string(ds, DCM_StudyInstanceUID, or_empty(s->study_uid), st);
    put_string(ds, DCM_StudyDate, date, st);
    put_string(ds, DCM_StudyTime, time, st);
    put_string(ds, DCM_ReferringPhysicianName, "", st);
    put_string(ds, DCM_StudyID, or_empty(s->study_id), st);
    put_string(ds, DCM_AccessionNumber, or_empty(s->accession_number), st);
    put_string(ds, DCM_StudyDescription, or_empty(s->study_description), st);
    /* General Series (Patient Position is Type 2C: required for CT without an orientation code) */
    put_string(ds, DCM_Modality, "CT", st);
    put_string(ds, DCM_SeriesInstanceUID, or_empty(s->series_uid), st);
    put_number(ds, DCM_SeriesNumber, s->series_number, st);
    put_string(ds, DCM_SeriesDate, date, st);
    put_string(ds, DCM_SeriesTime, time, st);
    put_string(ds, DCM_SeriesDescription, or_empty(s->series_description), st);
    put_string(ds, DCM_BodyPartExamined, or_empty(s->body_part), st);
    put_string(ds, DCM_PatientPosition, "HFS", st);
    /* Frame of Reference */
    put_string(ds, DCM_FrameOfReferenceUID, or_empty(s->frame_of_reference_uid), st);
    put_string(ds, DCM_PositionReferenceIndicator, "", st);
    /* General Equipment */
    put_string(ds, DCM_Manufacturer, or_empty(s->manufacturer), st);
    put_string(ds, DCM_ManufacturerModelName, "c2seg-sample-data", st);
    put_string(ds, DCM_SoftwareVersions, c2_version(), st);
    /* General Acquisition + General Image */
    put_number(ds, DCM_AcquisitionNumber, 1, st);
    put_string(ds, DCM_AcquisitionDate, date, st);
    put_string(ds, DCM_AcquisitionTime, time, st);
    put_number(ds, DCM_InstanceNumber, s->instance_number, st);
    put_string(ds, DCM_PatientOrientation, "", st);
    put_string(ds, DCM_ContentDate, date, st);
    put_string(ds, DCM_ContentTime, time, st);
    put_string(ds, DCM_BurnedInAnnotation, "NO", st);
    /* Image Plane: Slice Location is the z of the position (axial slices) */
    put_string(ds, DCM_PixelSpacing, decimal_strings(s->pixel_spacing, 2), st);
    put_string(ds, DCM_ImageOrientationPatient, decimal_strings(s->orientation, 6), st);
    put_string(ds, DCM_ImagePositionPatient, decimal_strings(s->position, 3), st);
    put_string(ds, DCM_SliceThickness, decimal_string(s->slice_thickness), st);
    put_string(ds, DCM_SliceLocation, decimal_string(s->position[2]), st);
    /* CT Image + Image Pixel: signed 16-bit, all bits stored */
    put_string(ds, DCM_ImageType, "ORIGINAL\\PRIMARY\\AXIAL", st);
    put_string(ds, DCM_KVP, "120", st);
    put_string(ds, DCM_RescaleIntercept, decimal_string(s->rescale_intercept), st);
    put_string(ds, DCM_RescaleSlope, decimal_string(s->rescale_slope), st);
    put_string(ds, DCM_WindowCenter, decimal_string(s->window_center), st);
    put_string(ds, DCM_WindowWidth, decimal_string(s->window_width), st);
    put_string(ds, DCM_PhotometricInterpretation, "MONOCHROME2", st);
    if (st.good())
        st = ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
    if (st.good())
        st = ds->putAndInsertUint16(DCM_Rows, (Uint16)s->rows);
    if (st.good())
        st = ds->putAndInsertUint16(DCM_Columns, (Uint16)s->cols);
    if (st.good())
        st = ds->putAndInsertUint16(DCM_BitsAllocated, 16);
    if (st.good())
        st = ds->putAndInsertUint16(DCM_BitsStored, 16);
    if (st.good())
        st = ds->putAndInsertUint16(DCM_HighBit, 15);
    if (st.good())
        st = ds->putAndInsertUint16(DCM_PixelRepresentation, 1);
    if (st.good()) {
        const unsigned long n = (unsigned long)s->rows * (unsigned long)s->cols;
        st = ds->putAndInsertUint16Array(DCM_PixelData, reinterpret_cast<const Uint16 *>(s->pixels), n);
    }
    return st;
}

} // namespace

extern "C" int dicom_ct_slice_write(const char *path, const dicom_ct_slice *s, c2_err *e)
{
    if (!s || !s->pixels || s->rows <= 0 || s->cols <= 0 || s->rows > 65535 || s->cols > 65535)
        return c2_fail(e, C2_EINVAL, "%s: CT slice has no pixels or an invalid size", path);
    char tmp[4200];
    c2_temp_name(tmp, sizeof tmp, path);
    try {
        DcmFileFormat ff;
        OFCondition st = ct_dataset_fill(ff.getDataset(), s);
        if (st.bad())
            return c2_fail(e, C2_EINVAL, "%s: cannot build the CT dataset (%s)", path, st.text());
        st = ff.saveFile(tmp, EXS_LittleEndianExplicit);
        if (st.bad()) {
            int err = errno, code = c2_write_status(err);   /* DCMTK's text does not say why */
            std::remove(tmp);
            return c2_fail(e, code, "%s: cannot write (%s)", path, code == C2_ENOSPC ? strerror(err) : st.text());
        }
    } catch (...) {
        std::remove(tmp);
        return c2_fail(e, C2_ENOMEM, "%s: DCMTK raised an exception while writing the CT slice", path);
    }
    return c2_rename_into_place(tmp, path, e);
}
