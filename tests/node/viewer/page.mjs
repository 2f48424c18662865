// The viewer check's page (bundled by esbuild in tests/node/viewer/run.js): OHIF's SEG path,
// Cornerstone3D. It loads the source images through @cornerstonejs/dicom-image-loader
// (wadouri: over loopback HTTP), our SEG through @cornerstonejs/adapters'
// createFromDICOMSegBuffer (what OHIF's cornerstone-dicom-seg extension calls), and compares
// what the adapter made of it with the truth that tests/io/viewer_truth.py computed with
// pydicom: the segment count and labels, and per source image and segment the pixel count
// and a position-weighted sum (a pixel on the wrong source image, or flipped within one,
// changes it). Then it shows the image with the most lesion pixels in a StackViewport with
// the labelmap overlay (@cornerstonejs/tools), checks that the overlay's colour reaches the
// canvas, and writes its verdict as JSON into <pre id="verdict"> and window.c2segVerdict.
import { RenderingEngine, Enums, init as csInit, metaData, imageLoader, utilities as csUtils }
    from '@cornerstonejs/core';
import { init as toolsInit, segmentation, Enums as toolsEnums } from '@cornerstonejs/tools';
import { init as dicomImageLoaderInit } from '@cornerstonejs/dicom-image-loader';
import { adaptersSEG } from '@cornerstonejs/adapters';
import dcmjs from 'dcmjs';

const problems = [];
const notes = {};
function expect(ok, what) { if (!ok) problems.push(what); return ok; }

function finish(extra) {
  const verdict = Object.assign({ ok: problems.length === 0, problems }, notes, extra || {});
  window.c2segVerdict = verdict;
  document.getElementById('verdict').textContent = JSON.stringify(verdict);
}

async function main() {
  const base = new URL(new URLSearchParams(location.search).get('case') || './', location.href);
  const tStart = performance.now();
  const truth = await (await fetch(new URL('case.json', base))).json();
  notes.name = truth.name;
  csInit();
  toolsInit();
  dicomImageLoaderInit({ maxWebWorkers: 1 });
  // generalImageModule as OHIF's MetadataProvider gives it (from the instance, with
  // sopInstanceUID), ahead of the default providers of @cornerstonejs/metadata 5.14.0, whose
  // answer lacks sopInstanceUID: with those alone the adapter finds no source image by SOP
  // Instance UID (CT still lands through its position fallback; CR / DX, without positions,
  // not at all).
  metaData.addProvider((type, id) => {
    if (type !== 'generalImageModule' || !String(id).startsWith('wadouri:')) return undefined;
    const inst = metaData.get('instance', id);
    return inst ? { sopInstanceUID: inst.SOPInstanceUID, sopClassUID: inst.SOPClassUID,
      instanceNumber: inst.InstanceNumber } : undefined;
  }, 100000);

  // Source images, in the order of the case file (the adapter must find its frames by UID)
  const imageIds = truth.sources.map((s) => 'wadouri:' + new URL(s.url, base).href);
  for (const id of imageIds) await imageLoader.loadAndCacheImage(id);
  const segBuffer = await (await fetch(new URL(truth.seg, base))).arrayBuffer();
  const load = (buffer) => adaptersSEG.Cornerstone3D.Segmentation.createFromDICOMSegBuffer(
    imageIds, buffer, { metadataProvider: metaData });
  // A SEG without Frame of Reference (CR / DX) must not carry Plane Orientation (PS3.3
  // A.51-2), and Cornerstone3D's adapter reads it unconditionally. Such a SEG is loaded as
  // written first (the outcome goes to the verdict: asWritten), then with the orientation
  // that Cornerstone gives the source image put into its shared functional groups: the
  // checks below then judge our pixels and references, not that gap.
  let buffer = segBuffer;
  const parsed = dcmjs.data.DicomMessage.readFile(segBuffer);
  notes.projection = !parsed.dict['00200052'];
  if (notes.projection) {
    try {
      await load(segBuffer);
      notes.asWritten = 'loaded';
    } catch (e) {
      notes.asWritten = String(e && e.message ? e.message : e);
    }
    const ipm = metaData.get('imagePlaneModule', imageIds[0]);
    const iop = [...ipm.rowCosines, ...ipm.columnCosines].map(Number);
    notes.injectedOrientation = iop;
    const shared = parsed.dict['52009229'] || (parsed.dict['52009229'] = { vr: 'SQ', Value: [{}] });
    if (!shared.Value || !shared.Value[0]) shared.Value = [{}];   // written with one empty item
    shared.Value[0]['00209116'] = { vr: 'SQ', Value: [{ '00200037': { vr: 'DS', Value: iop } }] };
    buffer = parsed.write();
  }
  const t0 = performance.now();
  const result = await load(buffer);
  notes.adapterMs = Math.round(performance.now() - t0);
  notes.msToAdapter = Math.round(performance.now() - tStart);

  // 1. segments: the adapter's segment metadata (index 0 is the background slot)
  const segs = (result.segMetadata.data || []).filter((s) => s);
  notes.segments = segs.length;
  expect(segs.length === truth.segments.length,
    `segment count: adapter ${segs.length}, SEG ${truth.segments.length}`);
  for (const t of truth.segments) {
    const s = result.segMetadata.data[t.number];
    expect(s && s.SegmentLabel === t.label, `segment ${t.number} label: adapter ${s && s.SegmentLabel}, SEG ${t.label}`);
  }

  // 2. per source image and segment: count and position-weighted sum of the labelmap
  const layers = result.labelMapImages;
  expect(layers.length === 1, `labelmap layers: ${layers.length} (one segment, no overlaps expected)`);
  const labelmaps = layers[0];
  expect(labelmaps.length === imageIds.length, `labelmap images: ${labelmaps.length}, sources ${imageIds.length}`);
  const got = {};
  let total = 0;
  labelmaps.forEach((img, i) => {
    const px = img.voxelManager ? img.voxelManager.getScalarData() : img.getPixelData();
    const ref = img.referencedImageId;
    expect(ref === imageIds[i], `labelmap ${i} refers to ${ref}, not to source ${i}`);
    for (let k = 0; k < px.length; k++) {
      const v = px[k];
      if (!v) continue;
      const key = `${truth.sources[i].sop}|${v}`;
      const e = got[key] || (got[key] = { count: 0, wsum: 0 });
      e.count++;
      e.wsum += k + 1;
      total++;
    }
  });
  const want = {};
  let wantTotal = 0;
  for (const f of truth.frames) {
    if (!f.count) continue;
    const key = `${f.refSOP}|${f.segment}`;
    const e = want[key] || (want[key] = { count: 0, wsum: 0, rsum: 0, csum: 0 });
    e.count += f.count;
    e.wsum += f.wsum;
    e.rsum += f.rsum;
    e.csum += f.csum;
    wantTotal += f.count;
  }
  notes.foreground = total;
  notes.framesWithForeground = Object.keys(want).length;
  expect(total === wantTotal, `foreground pixels: adapter ${total}, SEG ${wantTotal}`);
  for (const key of new Set([...Object.keys(want), ...Object.keys(got)])) {
    const w = want[key] || { count: 0, wsum: 0 }, g = got[key] || { count: 0, wsum: 0 };
    expect(w.count === g.count && w.wsum === g.wsum,
      `source image ${key.split('|')[0]} segment ${key.split('|')[1]}: adapter ${g.count} pixels (wsum ${g.wsum}), SEG ${w.count} (wsum ${w.wsum})`);
  }
  // segmentsOnFrame: the adapter's own index of which segment is on which source image
  for (const [i, src] of truth.sources.entries()) {
    const on = (result.segmentsOnFrame[i] || []).slice().sort();
    const should = truth.segments.map((s) => s.number).filter((n) => want[`${src.sop}|${n}`]);
    expect(JSON.stringify(on) === JSON.stringify(should),
      `segmentsOnFrame[${i}] (${src.sop}): adapter [${on}], SEG [${should}]`);
  }

  // 3. render: the source image with most lesion pixels and its labelmap overlay
  let best = 0, bestCount = -1;
  truth.sources.forEach((s, i) => {
    const c = truth.segments.reduce((a, t) => a + ((want[`${s.sop}|${t.number}`] || {}).count || 0), 0);
    if (c > bestCount) { best = i; bestCount = c; }
  });
  notes.shownImage = truth.sources[best].url;
  const element = document.getElementById('viewport');
  const engine = new RenderingEngine('c2seg-engine');
  engine.enableElement({ viewportId: 'vp', type: Enums.ViewportType.STACK, element });
  const vp = engine.getViewport('vp');
  await vp.setStack(imageIds, best);
  segmentation.addSegmentations([{
    segmentationId: 'c2seg',
    representation: {
      type: toolsEnums.SegmentationRepresentations.Labelmap,
      data: { imageIds: labelmaps.map((img) => img.imageId) },
    },
  }]);
  await segmentation.addLabelmapRepresentationToViewport('vp', [{ segmentationId: 'c2seg' }]);
  notes.msToRender = Math.round(performance.now() - tStart);
  // The overlay on the canvas: the image is grey (r = g = b), segment 1 is drawn in colour.
  // Where the coloured canvas pixels are must match where the SEG's pixels are on the shown
  // image (their centroid, taken through the viewport's own image -> world -> canvas
  // transform), and how many there are must match their count times the display scale.
  const canvas = vp.getCanvas();
  const ratio = canvas.width / canvas.clientWidth;
  let coloured = 0, cx = 0, cy = 0, data = null;
  // the labelmap actor arrives asynchronously: render until it shows (at most 10 s)
  for (let tries = 0; tries < 40 && (coloured === 0); tries++) {
    vp.render();
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    coloured = 0;
    for (let k = 0; k < data.length; k += 4)
      if (Math.max(data[k], data[k + 1], data[k + 2]) - Math.min(data[k], data[k + 1], data[k + 2]) > 40) coloured++;
    if (coloured === 0) await new Promise((r) => setTimeout(r, 250));
  }
  coloured = 0;
  for (let k = 0, p = 0; k < data.length; k += 4, p++) {
    const r = data[k], g = data[k + 1], b = data[k + 2];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 40) {
      coloured++;
      cx += p % canvas.width;
      cy += Math.floor(p / canvas.width);
    }
  }
  const shownId = imageIds[best];
  const toCanvas = (col, row) => vp.worldToCanvas(csUtils.imageToWorldCoords(shownId, [col, row])).map((v) => v * ratio);
  const o = toCanvas(0, 0), ox = toCanvas(1, 0);
  const scale = Math.hypot(ox[0] - o[0], ox[1] - o[1]);   // canvas pixels per image pixel
  const w = truth.segments.reduce((a, t) => {
    const e = want[`${truth.sources[best].sop}|${t.number}`];
    return e ? { count: a.count + e.count, rsum: a.rsum + e.rsum, csum: a.csum + e.csum } : a;
  }, { count: 0, rsum: 0, csum: 0 });
  notes.canvas = [canvas.width, canvas.height];
  notes.scale = +scale.toFixed(3);
  notes.colouredCanvasPixels = coloured;
  notes.renderer = vp.useCPURendering ? 'CPU' : 'WebGL';
  if (w.count > 0) {
    // pixel (r, c) covers [c, c + 1) x [r, r + 1) in Cornerstone's image coordinates
    const want2 = toCanvas(w.csum / w.count + 0.5, w.rsum / w.count + 0.5);
    const got2 = [cx / Math.max(coloured, 1), cy / Math.max(coloured, 1)];
    const off = Math.hypot(want2[0] - got2[0], want2[1] - got2[1]) / scale;
    const area = coloured / (w.count * scale * scale);
    notes.overlayOffsetPixels = +off.toFixed(3);
    notes.overlayAreaRatio = +area.toFixed(3);
    expect(off < 1.5, `overlay centroid ${off.toFixed(2)} image pixels from the SEG's on the shown image`);
    expect(area > 0.6 && area < 1.5, `overlay area ${coloured} canvas pixels = ${area.toFixed(2)} x the SEG's ${w.count} pixels`);
  } else {
    expect(coloured === 0, `${coloured} coloured canvas pixels where the SEG has none`);
  }
  notes.msTotal = Math.round(performance.now() - tStart);
  finish();
}

main().catch((e) => { problems.push(`exception: ${e && e.stack ? e.stack : e}`); finish(); });

