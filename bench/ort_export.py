"""The reference model (../shared/reference/c2seg_ref.py, random weights as its bench builds
them) exported to ONNX with Debian's torch, for the ONNX Runtime anchor of scripts/bench.

usage: ort_export.py REFDIR PRESET FUSION BATCH OUTDIR
Writes OUTDIR/PRESET.onnx (opset 17, dynamic batch; inputs image float32 [B,1,S,S], text
tokens float32 [B,24,512], text mask int32 [B,24]; output logits [B,1,S,S]) and the bench's
inputs for BATCH images as raw little-endian files: PRESET.image.f32, PRESET.tokens.f32,
PRESET.mask.i32, and PRESET.logits.f32 (torch's own eval logits on them, to check ORT).
The model is put in eval mode and exported with TrainingMode.EVAL: otherwise the export
switches BatchNorm back to training mode (batch statistics)."""
import os
import sys

sys.path.insert(0, sys.argv[1])
import numpy as np  # noqa: E402
import torch  # noqa: E402
import c2seg_ref as r  # noqa: E402

preset, fusion, batch, out = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(1)
model = r.build_model(preset, fusion, 0).eval()
L, m, _ = r.encode_batch((r.CAPTIONS * 4)[:batch])
img, _ = r.synth_batch(batch, model.img, 0)
m = m.to(torch.int32)
path = os.path.join(out, preset + '.onnx')
with torch.no_grad():
    torch.onnx.export(model, (img, L, m), path, opset_version=17,
                      training=torch.onnx.TrainingMode.EVAL, do_constant_folding=True,
                      input_names=['image', 'tokens', 'mask'], output_names=['logits'],
                      dynamic_axes={'image': {0: 'batch'}, 'tokens': {0: 'batch'}, 'mask': {0: 'batch'},
                                    'logits': {0: 'batch'}})
    logits = model(img, L, m)
img.numpy().astype('<f4').tofile(os.path.join(out, preset + '.image.f32'))
L.numpy().astype('<f4').tofile(os.path.join(out, preset + '.tokens.f32'))
m.numpy().astype('<i4').tofile(os.path.join(out, preset + '.mask.i32'))
logits.numpy().astype('<f4').tofile(os.path.join(out, preset + '.logits.f32'))
print('exported %s (%d bytes)' % (path, os.path.getsize(path)))
