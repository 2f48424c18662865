#!/usr/bin/python3
"""Generates the hostile-input corpus (docs/reliability.md) into OUT from real files in
SHARED/data. Nothing here is copied into the repository; tests/io/test_hostile.sh runs it
into the build folder at test time and feeds every case to the c2seg stages.

    make_hostile.py SHARED OUT

Each case is a folder OUT/<case>/ (a cohort to ingest) or a single file. The DICOM
manipulations go through pydicom and a small explicit-VR walker written here, so the
corpus does not depend on the code under test."""
import gzip
import io
import json
import os
import shutil
import struct
import sys
import zipfile
import zlib

import numpy as np
import pydicom

SHARED, OUT = sys.argv[1], sys.argv[2]
D = os.path.join(SHARED, "data")
CT_SMALL = os.path.join(D, "dicom/ct_single/CT_small.dcm")
CT2 = os.path.join(D, "dicom/ct_series/pydicom_CT2_16x16")
CT3 = os.path.join(D, "dicom/ct_series/dcmqi_ct-3slice")
SR = os.path.join(D, "dicom/sr/reportsi.dcm")


def case(name):
    p = os.path.join(OUT, name)
    os.makedirs(p, exist_ok=True)
    return p


def element_boundaries(raw):
    """Offsets where an element starts or ends in an explicit VR little endian file
    (preamble + meta + dataset), descending into sequences of undefined length."""
    long_vrs = {b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV"}
    out, pos = [132], 132
    while pos + 8 <= len(raw):
        group, elem = struct.unpack_from("<HH", raw, pos)
        if group == 0xFFFE:                      # item / delimiters: tag + 4-byte length
            length = struct.unpack_from("<I", raw, pos + 4)[0]
            pos += 8
            if elem == 0xE000 and length != 0xFFFFFFFF:
                pos += length
            out.append(pos)
            continue
        vr = raw[pos + 4:pos + 6]
        if vr in long_vrs:
            length = struct.unpack_from("<I", raw, pos + 8)[0]
            head = 12
        else:
            length = struct.unpack_from("<H", raw, pos + 6)[0]
            head = 8
        pos += head
        if length != 0xFFFFFFFF:
            pos += length
        out.append(min(pos, len(raw)))
    return sorted(set(o for o in out if 0 < o < len(raw)))


def truncations():
    raw = open(CT_SMALL, "rb").read()
    d = case("dicom_truncated")
    cuts = set()
    for b in element_boundaries(raw):
        cuts.update((b, b + 1, b + 6))            # at, inside the tag, inside the length
    cuts = sorted(c for c in cuts if c < len(raw))
    for c in cuts:
        open(os.path.join(d, "cut_%06d.dcm" % c), "wb").write(raw[:c])
    return len(cuts)


def save(ds, path):
    ds.save_as(path, write_like_original=True)


def set_raw(ds, tag, vr, value):
    """An attribute with a value pydicom would refuse for its real VR (kept as text)."""
    ds[tag] = pydicom.DataElement(tag, vr, value)


def dicom_variants():
    d = case("dicom_bad_values")
    base = pydicom.dcmread(CT_SMALL)
    variants = {
        "rows_65535.dcm": lambda ds: (setattr(ds, "Rows", 65535), setattr(ds, "Columns", 65535)),
        "rows_0.dcm": lambda ds: setattr(ds, "Rows", 0),
        "bits_allocated_64.dcm": lambda ds: setattr(ds, "BitsAllocated", 64),
        "bits_stored_0.dcm": lambda ds: setattr(ds, "BitsStored", 0),
        "frames_huge.dcm": lambda ds: setattr(ds, "NumberOfFrames", "999999999"),
        "frames_text.dcm": lambda ds: set_raw(ds, 0x00280008, "LO", "abc"),
        "spacing_zero.dcm": lambda ds: setattr(ds, "PixelSpacing", [0, 0]),
        "spacing_negative.dcm": lambda ds: setattr(ds, "PixelSpacing", [-1, -0.5]),
        "thickness_negative.dcm": lambda ds: setattr(ds, "SliceThickness", -5),
        "orientation_zero.dcm": lambda ds: setattr(ds, "ImageOrientationPatient", [0, 0, 0, 0, 0, 0]),
        "orientation_nan.dcm": lambda ds: set_raw(ds, 0x00200037, "LO", "nan\\nan\\nan\\nan\\nan\\nan"),
        "slope_zero.dcm": lambda ds: setattr(ds, "RescaleSlope", 0),
        "slope_inf.dcm": lambda ds: set_raw(ds, 0x00281053, "LO", "inf"),
        "samples_7.dcm": lambda ds: setattr(ds, "SamplesPerPixel", 7),
        "pixeldata_short.dcm": lambda ds: setattr(ds, "PixelData", ds.PixelData[:100]),
        "pixeldata_empty.dcm": lambda ds: setattr(ds, "PixelData", b""),
    }
    # every variant is its own instance (its own SOP Instance UID): files sharing a UID with
    # different content are left out as a conflict before any of them is decoded
    for k, (name, change) in enumerate(variants.items()):
        ds = pydicom.dcmread(CT_SMALL)
        ds.SeriesInstanceUID = ds.SeriesInstanceUID + "." + str(len(name))
        ds.SOPInstanceUID = ds.SOPInstanceUID + "." + str(k + 1)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        change(ds)
        save(ds, os.path.join(d, name))
    base_raw = open(CT_SMALL, "rb").read()
    uid = str(base.SOPInstanceUID).encode()
    n_patched = [0]

    def own_uid(b):   # the same-length UID with its last two digits = a running number
        n_patched[0] += 1
        return b.replace(uid, uid[:-2] + b"%02d" % (n_patched[0] + 50))
    raw = base_raw
    # wrong VR and lengths, byte-patched: Rows (0028,0010) US 2 -> "DS", length 0xFFFF, length 1
    i = raw.find(b"\x28\x00\x10\x00US")
    for name, patch in [("rows_vr_ds.dcm", b"DS\x02\x00"), ("rows_len_ffff.dcm", b"US\xff\xff"),
                        ("rows_len_1.dcm", b"US\x01\x00"), ("rows_vr_garbage.dcm", b"\x00\xff\x02\x00")]:
        open(os.path.join(d, name), "wb").write(own_uid(raw[:i + 4] + patch + raw[i + 8:]))
    # Pixel Data (7FE0,0010) OW with a length beyond the end of the file
    j = raw.find(b"\xe0\x7f\x10\x00OW")
    open(os.path.join(d, "pixel_len_beyond_eof.dcm"), "wb").write(
        own_uid(raw[:j + 8] + struct.pack("<I", 0x7FFFFFF0) + raw[j + 12:]))
    # Pixel Data with a VR no pixel data has: DCMTK then makes a plain element of that VR, not
    # its pixel-data class (fuzz_dicom found the unchecked downcast). Long VRs keep the 4-byte
    # length; SS / LO take a 2-byte one (CT_small's 32768 bytes fit).
    n_px = struct.unpack_from("<I", raw, j + 8)[0]
    for vr in (b"UN", b"UT", b"OF", b"OL"):
        open(os.path.join(d, "pixel_vr_%s.dcm" % vr.decode().lower()), "wb").write(own_uid(raw[:j + 4] + vr + raw[j + 6:]))
    for vr in (b"SS", b"LO"):
        open(os.path.join(d, "pixel_vr_%s.dcm" % vr.decode().lower()), "wb").write(
            own_uid(raw[:j + 4] + vr + struct.pack("<H", n_px) + raw[j + 12:]))
    shutil.copy(os.path.join(D, "dicom/broken/badVR.dcm"), os.path.join(d, "badVR.dcm"))
    return len(variants) + 12


def deflate_cases():
    """Deflated Explicit VR Little Endian files (from image_dfl.dcm) whose elements claim more
    bytes than the inflated dataset holds: at top level, inside a sequence and item of
    undefined length, and inside a defined-length item; plus a valid one re-deflated and one
    whose deflate stream is cut. DCMTK allocates such a claim before it reads (fuzz_dicom)."""
    d = case("dicom_deflate")
    raw = open(os.path.join(D, "dicom/compressed/image_dfl.dcm"), "rb").read()
    at = 132
    while struct.unpack_from("<H", raw, at)[0] == 0x0002:
        vr = raw[at + 4:at + 6]
        if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
            at += 12 + struct.unpack_from("<I", raw, at + 8)[0]
        else:
            at += 8 + struct.unpack_from("<H", raw, at + 6)[0]
    meta, body = raw[:at], zlib.decompress(raw[at:], -15)

    def deflated(name, dataset):
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        open(os.path.join(d, name), "wb").write(meta + c.compress(dataset) + c.flush())

    def elem(group, el, vr, value, length=None):
        n = len(value) if length is None else length
        if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
            return struct.pack("<HH", group, el) + vr + b"\0\0" + struct.pack("<I", n) + value
        return struct.pack("<HH", group, el) + vr + struct.pack("<H", n) + value

    item = lambda value, n=None: struct.pack("<HHI", 0xFFFE, 0xE000, len(value) if n is None else n) + value
    item_end = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    seq_end = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    huge = 0xDBBBBBBC
    bomb = elem(0x0029, 0x1010, b"OB", b"\1\2\3\4", huge)
    deflated("valid_redeflated.dcm", body)
    deflated("top_level_claim.dcm", body + elem(0x7FE1, 0x0010, b"OB", b"\1\2\3\4", huge))
    # (0008,1140) Referenced Image Sequence, inserted at the start of the dataset
    deflated("undefined_item_claim.dcm",
             elem(0x0008, 0x1140, b"SQ", item(bomb + item_end, 0xFFFFFFFF) + seq_end, 0xFFFFFFFF) + body)
    inner = elem(0x0008, 0x1150, b"UI", b"1.2.3\0") + bomb
    deflated("defined_item_claim.dcm", elem(0x0008, 0x1140, b"SQ", item(inner)) + body)
    # The same claim behind File Meta Information that DCMTK reads otherwise than a walk of
    # group 0002 would (fuzz_dicom, session 10): the group length spanning an element of
    # another group that comes before the Transfer Syntax UID; no group length; no preamble.
    metas, k = [], 132
    while k < at:
        n = 12 + struct.unpack_from("<I", raw, k + 8)[0] if raw[k + 4:k + 6] in (b"OB", b"OW", b"SQ", b"UN", b"UT") \
            else 8 + struct.unpack_from("<H", raw, k + 6)[0]
        metas.append(raw[k:k + n])
        k += n
    rest = [m for m in metas if struct.unpack_from("<HH", m)[1] != 0x0000]
    ts_at = next(i for i, m in enumerate(rest) if struct.unpack_from("<HH", m)[1] == 0x0010)
    foreign = rest[:ts_at] + [elem(0x0009, 0x0010, b"LO", b"FOREIGN ")] + rest[ts_at:]
    claim = body + elem(0x7FE1, 0x0010, b"OB", b"\1\2\3\4", huge)

    def with_meta(name, elements, group_length=True, preamble=True):
        group = b"".join(elements)
        gl = elem(0x0002, 0x0000, b"UL", struct.pack("<I", len(group))) if group_length else b""
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        head = raw[:132] if preamble else b""
        open(os.path.join(d, name), "wb").write(head + gl + group + c.compress(claim) + c.flush())
    with_meta("meta_foreign_element_claim.dcm", foreign)
    with_meta("meta_no_group_length_claim.dcm", rest, group_length=False)
    with_meta("meta_no_preamble_claim.dcm", rest, preamble=False)
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    z = c.compress(body) + c.flush()
    open(os.path.join(d, "stream_cut.dcm"), "wb").write(meta + z[:len(z) // 2])
    open(os.path.join(d, "stream_garbage.dcm"), "wb").write(meta + z[:40] + bytes(range(256)) * 8)


def png_gray8(path, rows, cols, value):
    raw = b"".join(b"\x00" + bytes([value]) * cols for _ in range(rows))
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, 8, 0, 0, 0, 0))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + ihdr + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def names_with_paths():
    """Tag values that would escape the output folder if they reached a file name, and a
    16 x 16 mask to export as a SEG of one of those images."""
    png_gray8(os.path.join(OUT, "mask16.png"), 16, 16, 255)
    d = case("dicom_path_tags")
    evil = "../../../../../../tmp/c2seg-escape"
    for k, f in enumerate(sorted(os.listdir(CT2))):
        ds = pydicom.dcmread(os.path.join(CT2, f))
        ds.PatientID = evil
        ds.PatientName = evil
        ds.StudyID = "../../x"
        ds.AccessionNumber = "/etc/passwd"
        ds.SeriesDescription = evil
        ds.StudyDescription = evil
        ds.ProtocolName = evil
        save(ds, os.path.join(d, f + ".dcm"))


def series_cases():
    files = sorted(os.listdir(CT2))
    d = case("series_duplicate_missing")
    for f in files[:1] + files[2:]:                  # the second slice is missing
        shutil.copy(os.path.join(CT2, f), os.path.join(d, f + ".dcm"))
    shutil.copy(os.path.join(CT2, files[0]), os.path.join(d, files[0] + "_copy.dcm"))  # duplicate
    d = case("series_mixed")
    for f in files:
        shutil.copy(os.path.join(CT2, f), os.path.join(d, "a_" + f + ".dcm"))
    for f in sorted(os.listdir(CT3)):
        shutil.copy(os.path.join(CT3, f), os.path.join(d, "b_" + f))


def nifti1(path, data, pixdim=(1, 1, 1), dims=None, datatype=16):
    """A NIfTI-1 single file written byte by byte (348-byte header + 4 bytes + data)."""
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    shape = dims if dims else data.shape[::-1]
    dim = [len(shape)] + list(shape) + [1] * (7 - len(shape))
    struct.pack_into("<8h", h, 40, *dim)
    bitpix = {2: 8, 4: 16, 16: 32}[datatype]
    struct.pack_into("<hh", h, 70, datatype, bitpix)
    struct.pack_into("<8f", h, 76, 1.0, *pixdim, 1, 1, 1, 1)
    struct.pack_into("<f", h, 108, 352.0)                 # vox_offset
    struct.pack_into("<f", h, 112, 1.0)                   # scl_slope
    h[344:348] = b"n+1\x00"
    raw = bytes(h) + b"\x00" * 4 + data.tobytes()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(raw)


def nifti2(path, data, dims=None, datatype=16, big_endian=False):
    """A NIfTI-2 single file written byte by byte (540-byte header + 4 bytes + data)."""
    e = ">" if big_endian else "<"
    h = bytearray(540)
    struct.pack_into(e + "i", h, 0, 540)
    h[4:12] = b"n+2\x00\r\n\x1a\n"
    shape = dims if dims else data.shape[::-1]
    dim = [len(shape)] + list(shape) + [1] * (7 - len(shape))
    struct.pack_into(e + "hh", h, 12, datatype, 32)
    struct.pack_into(e + "8q", h, 16, *dim)
    struct.pack_into(e + "8d", h, 104, 1.0, 1, 1, 1, 1, 1, 1, 1)
    struct.pack_into(e + "q", h, 168, 544)                 # vox_offset
    struct.pack_into(e + "d", h, 176, 1.0)                 # scl_slope
    raw = bytes(h) + b"\x00" * 4 + data.astype(e + "f4").tobytes()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(raw)


def nifti_cases():
    d = case("nifti_bad")
    v = np.zeros((4, 8, 8), np.float32)
    v[1, 2:5, 2:5] = 300
    w = v.copy()
    w[0, 0, :4] = [np.nan, np.inf, -np.inf, np.nan]
    nifti1(os.path.join(d, "nan_inf.nii"), w)
    nifti1(os.path.join(d, "spacing_zero.nii"), v, pixdim=(0, 0, 0))
    nifti1(os.path.join(d, "spacing_negative.nii"), v, pixdim=(-1, -1, -2))
    nifti1(os.path.join(d, "huge_dims.nii"), v[:1, :1, :1], dims=(32767, 32767, 4))   # int16 dims: the largest
    nifti1(os.path.join(d, "negative_dims.nii"), v, dims=(-8, 8, 4))
    # dims 5..7 not 1 (vector data): refused; its message once read the freed header (fuzz_nifti)
    nifti1(os.path.join(d, "five_d.nii"), np.zeros((3, 1, 4, 8, 8), np.float32))
    # dim[0] beyond 7 (the number of dimensions): nifticlib 3.0.1's header conversion walks
    # dim[1..dim[0]] on its stack copy of the header first (fuzz_nifti: stack smashing)
    nifti2(os.path.join(d, "n2_dim0_1024.nii.gz"), v)
    nifti2(os.path.join(d, "n2_dim0_big_endian.nii"), v, big_endian=True)
    nifti1(os.path.join(d, "n1_dim0_swapped_32767.nii"), v)
    nifti2(os.path.join(d, "n2_datatype_1034.nii"), v, datatype=1034)
    for name, off, fmt, value in (("n2_dim0_1024.nii.gz", 16, "<q", 1024), ("n2_dim0_big_endian.nii", 16, ">q", 4096),
                                  ("n1_dim0_swapped_32767.nii", 40, "<h", -129)):
        path = os.path.join(d, name)
        opener = gzip.open if name.endswith(".gz") else open
        raw = bytearray(opener(path, "rb").read())
        struct.pack_into(fmt, raw, off, value)   # -129 is 0xFF7F: NIFTI_NEEDS_SWAP, read as 32767
        with opener(path, "wb") as f:
            f.write(raw)
    nifti1(os.path.join(d, "truncated.nii.gz"), v)
    raw = gzip.open(os.path.join(d, "truncated.nii.gz")).read()
    with gzip.open(os.path.join(d, "truncated.nii.gz"), "wb") as f:
        f.write(raw[:400])
    open(os.path.join(d, "header_only.nii"), "wb").write(raw[:200])


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def image_cases():
    """Inf-Net layout (Imgs/ + GT/) so that the 2D readers are reached."""
    root = case("images_bad")
    d = os.path.join(root, "Imgs")
    os.makedirs(os.path.join(root, "GT"), exist_ok=True)
    os.makedirs(d, exist_ok=True)
    sig = b"\x89PNG\r\n\x1a\n"
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 65535, 65535, 8, 0, 0, 0, 0))
    idat = png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
    open(os.path.join(d, "huge_65535.png"), "wb").write(sig + ihdr + idat + png_chunk(b"IEND", b""))
    real = open(os.path.join(D, "covid_ct_slices/GT/1.png"), "rb").read()
    open(os.path.join(d, "truncated.png"), "wb").write(real[:len(real) // 2])
    jpg = open(os.path.join(D, "covid_ct_slices/Imgs/1.jpg"), "rb").read()
    open(os.path.join(d, "truncated.jpg"), "wb").write(jpg[:len(jpg) // 3])
    open(os.path.join(d, "not_an_image.png"), "wb").write(b"hello, I am text")
    for f in os.listdir(d):
        shutil.copy(os.path.join(D, "covid_ct_slices/GT/1.png"), os.path.join(root, "GT", os.path.splitext(f)[0] + ".png"))


def sr_cases():
    """Non-UTF-8 bytes under a UTF-8 charset, right-to-left text, and a deep tree."""
    d = case("sr_text")

    def text_items(ds):
        for it in ds.get("ContentSequence", []):
            if it.ValueType == "TEXT":
                yield it
            yield from text_items(it)

    ds = pydicom.dcmread(SR)
    ds.SpecificCharacterSet = "ISO_IR 192"
    for it in text_items(ds):
        it["TextValue"].value = b"bad \xff\xfe\xc3 utf-8 \xed\xa0\x80 surrogate"
    save(ds, os.path.join(d, "invalid_utf8.dcm"))
    ds = pydicom.dcmread(SR)
    ds.SpecificCharacterSet = "ISO_IR 192"
    for it in text_items(ds):
        it.TextValue = "\u202eright lower lobe \u05d3\u05dc\u05e7\u05ea \u0627\u0644\u0631\u0626\u0629 \u202c"
    save(ds, os.path.join(d, "right_to_left.dcm"))
    ds = pydicom.dcmread(SR)
    ds.SpecificCharacterSet = "ISO 2022 IR 87"
    for it in text_items(ds):
        it["TextValue"].value = b"\x1b$B\x30\x21\x1b(B abc \x1b$B"   # unterminated escape
    save(ds, os.path.join(d, "iso2022_broken.dcm"))
    ds = pydicom.dcmread(SR)
    item = next(text_items(ds))
    node = item
    for _ in range(200):                                 # a 200-level deep content tree
        child = pydicom.Dataset()
        child.RelationshipType = "CONTAINS"
        child.ValueType = "TEXT"
        code = pydicom.Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "121071", "DCM", "Finding"
        child.ConceptNameCodeSequence = pydicom.Sequence([code])
        child.TextValue = "deeper"
        node.ContentSequence = pydicom.Sequence([child])
        node = child
    save(ds, os.path.join(d, "deep_tree.dcm"))


def caption_cases():
    d = case("captions_bad")
    # zip bomb: sharedStrings.xml of 1 GiB of spaces, about 1 MiB compressed
    with zipfile.ZipFile(os.path.join(d, "bomb_text.xlsx"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook><sheets><sheet name='a' r:id='rId1'/></sheets></workbook>")
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
            f.write(b"<sst><si><t>")
            block = b" " * (1 << 20)
            for _ in range(768):                           # 768 MiB: over the 512 MiB entry limit
                f.write(block)
            f.write(b"</t></si></sst>")
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet><sheetData/></worksheet>")
    open(os.path.join(d, "not_a_zip.xlsx"), "wb").write(b"PK\x03\x04" + b"\xff" * 200)
    open(os.path.join(d, "bad.json"), "w").write('{"train": [{"image_path": "../../../etc/passwd", "caption": ' * 50)
    open(os.path.join(d, "deep.json"), "w").write("[" * 100000 + "]" * 100000)
    open(os.path.join(d, "paths.csv"), "w").write(
        'Image,Description\n"../../../../tmp/c2seg-escape.png","Bilateral pulmonary infection"\n'
        '"/etc/passwd","\xff\xfe"\n"a""b,c","unterminated\n')
    with open(os.path.join(d, "binary.csv"), "wb") as f:
        f.write(b"Image,Description\n" + bytes(range(256)) * 4)
    # report prose (dicom-sr/prose_parse.c): a 32-digit number before a finding (fuzz_caption_parse:
    # int overflow), a plain line starting with '{' (must stay a line), and one 12,000-word line
    open(os.path.join(d, "prose_huge_number.txt"), "w").write("6" * 32 + " ground glass opacities in the upper lobes\n")
    open(os.path.join(d, "prose_brace_line"), "w").write("{RLL} consolidation, no effusion\n")
    words = ("no consolidation in the right lower lobe , and left upper lobes clear ; ground glass opacity "
             "bilateral possibly new resolved two a few 30 % ct 2 otherwise with not seen").split()
    open(os.path.join(d, "prose_long_line.txt"), "w").write(" ".join(words[(i * 7) % len(words)] for i in range(12000)) + "\n")


def odd_names():
    """File names and values with bytes that would break a report row or drive a terminal: a
    newline, a tab, C0 controls, an escape sequence, a byte outside UTF-8; truncated slices
    (each reported), one readable X-ray named with such bytes, and a Modality value holding an
    escape sequence (reported, quoted in the reason)."""
    d = os.fsencode(case("names_odd"))
    raw = open(os.path.join(CT3, sorted(os.listdir(CT3))[0]), "rb").read()
    for name in (b"new\nline.dcm", b"tab\there.dcm", b"ctl\x01.dcm", b"esc\x1b[31m.dcm", b"latin\xff.dcm"):
        open(os.path.join(d, name), "wb").write(raw[:len(raw) // 2])
    shutil.copy(os.path.join(D, "dicom/xray/dx_image.dcm"), os.path.join(d, b"good\xff\x01.dcm"))  # DX: predict takes it
    ds = pydicom.dcmread(os.path.join(CT3, sorted(os.listdir(CT3))[1]))
    ds.SeriesInstanceUID = ds.SeriesInstanceUID + ".7"
    set_raw(ds, (0x0008, 0x0060), "CS", "M\x1b[2J")
    save(ds, os.path.join(os.fsdecode(d), "modality.dcm"))


def filesystem_cases():
    d = case("fs_odd")
    os.makedirs(os.path.join(d, "loop"), exist_ok=True)
    for name, target in [("loop/again", ".."), ("self", "self"), ("dangling.dcm", "no/such/file")]:
        p = os.path.join(d, name)
        if not os.path.lexists(p):
            os.symlink(target, p)
    os.makedirs(os.path.join(d, "directory.dcm"), exist_ok=True)   # a folder named like a file
    fifo = os.path.join(d, "fifo.dcm")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)                                             # open() would block forever
    open(os.path.join(d, "empty.dcm"), "wb").close()
    shutil.copy(os.path.join(CT2, sorted(os.listdir(CT2))[0]), os.path.join(d, "one_good.dcm"))


if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    n = truncations()
    dicom_variants()
    deflate_cases()
    names_with_paths()
    series_cases()
    nifti_cases()
    image_cases()
    sr_cases()
    caption_cases()
    filesystem_cases()
    odd_names()
    print(json.dumps({"truncations": n, "cases": sorted(os.listdir(OUT))}))
