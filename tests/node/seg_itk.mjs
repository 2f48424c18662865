// Second independent SEG reader for c2seg's io tests: @itk-wasm/dicom's readSegmentation
// (dcmqi's segimage2itkimage compiled to WebAssembly, the reader behind 3D Slicer's
// QuantitativeReporting). Prints one JSON object:
//   {size: [x, y, z], origin: [x, y, z] (LPS mm), spacing, direction, perSlice: [nonzero pixels per z slice],
//    segments: number of segments dcmqi lists}
// dcmqi reads volume SEGs only: a SEG without a Frame of Reference / plane positions (CR,
// DX) makes it throw, which this script reports as exit 1.
// Usage: node seg_itk.mjs file.dcm
import { readSegmentationNode } from '@itk-wasm/dicom';
import { resolve } from 'node:path';

const path = process.argv[2] ? resolve(process.argv[2]) : '';   // the wasm file system mounts absolute paths only
if (process.argv.length !== 3) {
  process.stderr.write('usage: node seg_itk.mjs file.dcm\n');
  process.exit(2);
}
try {
  const log = console.log;
  console.log = (...a) => process.stderr.write(a.join(' ') + '\n');   // dcmqi's chatter away from stdout
  const r = await readSegmentationNode(path);
  console.log = log;
  const im = r.segImage;
  const [nx, ny, nz] = im.size;
  const perSlice = [];
  for (let z = 0; z < nz; z++) {
    let n = 0;
    for (let i = z * nx * ny; i < (z + 1) * nx * ny; i++) if (im.data[i]) n++;
    perSlice.push(n);
  }
  const attrs = r.metaInfo && r.metaInfo.segmentAttributes ? r.metaInfo.segmentAttributes.flat() : [];
  process.stdout.write(JSON.stringify({
    size: Array.from(im.size), origin: Array.from(im.origin), spacing: Array.from(im.spacing),
    direction: Array.from(im.direction), perSlice: perSlice, segments: attrs.length,
  }) + '\n');
} catch (err) {
  process.stderr.write('seg_itk: ' + path + ': ' + (err && err.message ? err.message : String(err)) + '\n');
  process.exit(1);
}
