// ONNX Runtime anchor of scripts/bench: the reference model exported by bench/ort_export.py,
// run with onnxruntime-node (tests/node/node_modules) on the same inputs as torch's bench.
// Prints one JSON line: inference img/s (one warm-up batch, then ITERS batches), and the max
// abs difference of ORT's logits from torch's (a check that the export is the same model).
// usage: node bench/ort_bench.js DIR PRESET BATCH THREADS ITERS [SPIN]
//   SPIN 0 turns off ORT's spinning intra-op threads (session.intra_op.allow_spinning).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '..', 'tests', 'node', 'node_modules', 'onnxruntime-node'));

function raw(file, Type) {
    const b = fs.readFileSync(file);
    return new Type(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

async function main() {
    const [dir, preset, batchS, threadsS, itersS, spinS] = process.argv.slice(2);
    const batch = +batchS, threads = +threadsS, iters = +itersS, spin = spinS === undefined ? 1 : +spinS;
    const opts = {
        intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        extra: { session: { intra_op: { allow_spinning: spin ? '1' : '0' } } },
    };
    const session = await ort.InferenceSession.create(path.join(dir, preset + '.onnx'), opts);
    const img = raw(path.join(dir, preset + '.image.f32'), Float32Array);
    const tok = raw(path.join(dir, preset + '.tokens.f32'), Float32Array);
    const mask = raw(path.join(dir, preset + '.mask.i32'), Int32Array);
    const want = raw(path.join(dir, preset + '.logits.f32'), Float32Array);
    const S = Math.round(Math.sqrt(img.length / batch)), N = mask.length / batch;
    const feeds = {
        image: new ort.Tensor('float32', img, [batch, 1, S, S]),
        tokens: new ort.Tensor('float32', tok, [batch, N, tok.length / (batch * N)]),
        mask: new ort.Tensor('int32', mask, [batch, N]),
    };
    const first = await session.run(feeds);
    const got = first.logits.data;
    let maxdiff = 0;
    for (let i = 0; i < got.length; i++) maxdiff = Math.max(maxdiff, Math.abs(got[i] - want[i]));
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) await session.run(feeds);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(JSON.stringify({
        impl: 'onnxruntime-node', version: ort.env.versions.node, preset, batch, threads, spin,
        iters, infer_img_per_s: batch * iters / dt, infer_ms_per_batch: 1e3 * dt / iters,
        max_abs_diff_vs_torch: maxdiff,
    }));
}
main().catch((e) => { console.error('ort_bench: ' + e.message); process.exit(3); });
