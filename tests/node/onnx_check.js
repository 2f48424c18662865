// Runs an ONNX graph written by `c2seg export-onnx` in onnxruntime-node on PREFIX.image.f32,
// PREFIX.tokens.f32 and PREFIX.mask.i32 (written by `c2seg export-onnx --logits-for`) and
// compares its logits with c2seg's own eval forward (PREFIX.logits.f32).
// usage: node onnx_check.js MODEL.onnx PREFIX SIZE [TOL [OUT.f32]]
// With OUT.f32, ONNX Runtime's own logits are written there (float32, [B,1,S,S]) for a judge
// that continues from them (tests/io/test_predict_judge.sh).
// Prints one JSON line; exits 1 when the max abs difference exceeds TOL (default 1e-4) or
// any pixel's mask (logit > 0) differs, 2 on a usage or read error.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function raw(file, Type) {
    const b = fs.readFileSync(file);
    return new Type(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

async function main() {
    const [model, prefix, sizeS, tolS, outPath] = process.argv.slice(2);
    if (!prefix || !sizeS) {
        console.error('usage: node onnx_check.js MODEL.onnx PREFIX SIZE [TOL]');
        process.exit(2);
    }
    const S = +sizeS, tol = tolS ? +tolS : 1e-4;
    const img = raw(prefix + '.image.f32', Float32Array);
    const tok = raw(prefix + '.tokens.f32', Float32Array);
    const mask = raw(prefix + '.mask.i32', Int32Array);
    const want = raw(prefix + '.logits.f32', Float32Array);
    const B = img.length / (S * S), N = mask.length / B;
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const out = await session.run({
        image: new ort.Tensor('float32', img, [B, 1, S, S]),
        tokens: new ort.Tensor('float32', tok, [B, N, tok.length / (B * N)]),
        mask: new ort.Tensor('int32', mask, [B, N]),
    });
    const got = out.logits.data;
    if (outPath)
        fs.writeFileSync(outPath, Buffer.from(got.buffer, got.byteOffset, got.byteLength));
    if (got.length !== want.length) {
        console.log(JSON.stringify({ ok: false, error: `ORT gave ${got.length} logits, c2seg ${want.length}` }));
        process.exit(1);
    }
    let maxdiff = 0, flips = 0, scale = 0;
    for (let i = 0; i < got.length; i++) {
        maxdiff = Math.max(maxdiff, Math.abs(got[i] - want[i]));
        scale = Math.max(scale, Math.abs(want[i]));
        if ((got[i] > 0) !== (want[i] > 0)) flips++;
    }
    const ok = maxdiff <= tol && flips === 0 && Number.isFinite(maxdiff);
    console.log(JSON.stringify({ ok, batch: B, pixels: got.length, max_abs_diff: maxdiff, max_abs_logit: scale,
                                 mask_pixels_differing: flips, inputs: session.inputNames, outputs: session.outputNames }));
    process.exit(ok ? 0 : 1);
}
main().catch((e) => { console.error('onnx_check: ' + e.message); process.exit(2); });
