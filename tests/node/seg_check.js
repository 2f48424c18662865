// Independent SEG reader for c2seg's io tests: reads a DICOM SEG with dcmjs (the
// library under OHIF's SEG loader) and prints one JSON object:
//   {rows, columns, frames, type, bitsAllocated, segments: [{number, label}],
//    patientOrientation: string | null (null: attribute absent), frameOfReference: UID | null,
//    perFrame: [{segment, count, sum, bbox: [r0, c0, r1, c1] | null, refSOP, refFrame,
//                spatialPreserved, ipp: [x, y, z] | null, thickness: mm | null}]}
// thickness and ipp come from the frame's own functional groups, else the shared ones.
// count = pixels != 0 in the frame, sum = their values (binary: 255 each, dcmjs's unpack); bbox inclusive (rows then columns).
// Usage: node seg_check.js file.dcm
'use strict';
const fs = require('fs');
const dcmjs = require('dcmjs');

function first(x) { return Array.isArray(x) ? x[0] : x; }

function main(path) {
  const b = fs.readFileSync(path);
  const dict = dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
  const rows = ds.Rows, cols = ds.Columns, nf = Number(ds.NumberOfFrames || 1);
  const ts = dict.meta['00020010'] ? dict.meta['00020010'].Value[0] : '';
  if (ts === '1.2.840.10008.1.2.5') throw new Error(path + ': RLE-compressed SEG: dcmjs cannot read its pixels');
  const raw = new Uint8Array(ds.PixelData[0]);
  const px = ds.BitsAllocated === 1 ? dcmjs.data.BitArray.unpack(raw) : raw;
  const plane = rows * cols;
  if (px.length < plane * nf) throw new Error(path + ': pixel data too short');
  const pf = ds.PerFrameFunctionalGroupsSequence ? [].concat(ds.PerFrameFunctionalGroupsSequence) : [];
  const shared = first(ds.SharedFunctionalGroupsSequence) || {};
  const group = (g, name) => first(g[name]) || first(shared[name]);
  const perFrame = [];
  for (let f = 0; f < nf; f++) {
    let count = 0, sum = 0, r0 = rows, c0 = cols, r1 = -1, c1 = -1;
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++)
        if (px[f * plane + r * cols + c]) {
          count++;
          sum += px[f * plane + r * cols + c];
          if (r < r0) r0 = r;
          if (r > r1) r1 = r;
          if (c < c0) c0 = c;
          if (c > c1) c1 = c;
        }
    const g = pf[f] || {};
    const sid = first(g.SegmentIdentificationSequence);
    const der = first(g.DerivationImageSequence);
    const src = der ? first(der.SourceImageSequence) : undefined;
    perFrame.push({
      segment: sid ? Number(sid.ReferencedSegmentNumber) : 0,
      count: count,
      sum: sum,
      bbox: count ? [r0, c0, r1, c1] : null,
      refSOP: src ? src.ReferencedSOPInstanceUID : '',
      refFrame: src && src.ReferencedFrameNumber !== undefined ? Number(first(src.ReferencedFrameNumber)) : 0,
      spatialPreserved: src && src.SpatialLocationsPreserved !== undefined ? String(src.SpatialLocationsPreserved) : null,
      ipp: group(g, 'PlanePositionSequence') ? [].concat(group(g, 'PlanePositionSequence').ImagePositionPatient).map(Number) : null,
      thickness: group(g, 'PixelMeasuresSequence') && group(g, 'PixelMeasuresSequence').SliceThickness !== undefined
        ? Number(group(g, 'PixelMeasuresSequence').SliceThickness) : null,
    });
  }
  const segs = ds.SegmentSequence ? [].concat(ds.SegmentSequence) : [];
  const out = {
    rows: rows, columns: cols, frames: nf, type: ds.SegmentationType, bitsAllocated: ds.BitsAllocated,
    segments: segs.map(s => ({ number: Number(s.SegmentNumber), label: s.SegmentLabel })),
    patientOrientation: '00200020' in dict.dict ? [].concat(dict.dict['00200020'].Value || []).join('\\') : null,
    frameOfReference: ds.FrameOfReferenceUID || null,
    perFrame: perFrame,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

try {
  if (process.argv.length !== 3) throw new Error('usage: node seg_check.js file.dcm');
  main(process.argv[2]);
} catch (err) {
  process.stderr.write('seg_check: ' + err.message + '\n');
  process.exit(1);
}
