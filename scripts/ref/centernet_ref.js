#!/usr/bin/env node
// Reference for vigil-nn on CenterNet: pure @tensorflow/tfjs (CPU backend) in
// Node. Loads centernet.json + its weight shards through tf.io.fromMemory (no
// network), decodes a JPEG with jpeg-js, resizes it to 512x512 with
// tf.image.resizeBilinear (TF.js defaults: no align_corners, no half-pixel
// centres), runs the graph and writes:
//   OUTDIR/input.f32       the [1,512,512,3] float input (RGB 0..255)
//   OUTDIR/detections.f32  the raw tower_0/detections [1,100,6]
// and prints one JSON line: {"image", "width", "height", "ms", "detections":
// [[x1,y1,x2,y2,score,class], ...]} (rows with score >= 0.3).
//
// usage: NODE_PATH=~/.cache/vigil/ref-node/node_modules node centernet_ref.js MODEL.json IMAGE.jpg OUTDIR
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const jpeg = require('jpeg-js');

async function main() {
  const [modelPath, imagePath, outDir] = process.argv.slice(2);
  if (!outDir) {
    console.error('usage: centernet_ref.js MODEL.json IMAGE.jpg OUTDIR');
    process.exit(2);
  }
  await tf.setBackend('cpu');
  const model = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
  const specs = [];
  const shards = [];
  for (const group of model.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) shards.push(fs.readFileSync(path.join(path.dirname(modelPath), p)));
  }
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const graph = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: model.modelTopology,
    weightSpecs: specs,
    weightData,
    format: model.format,
    generatedBy: model.generatedBy,
    convertedBy: model.convertedBy,
    signature: model.signature,
  }));

  const img = jpeg.decode(fs.readFileSync(imagePath), { useTArray: true, formatAsRGBA: false });
  const rgb = tf.tensor4d(Float32Array.from(img.data), [1, img.height, img.width, 3]);
  const input = tf.image.resizeBilinear(rgb, [512, 512]);
  const t0 = Date.now();
  const det = graph.execute(input, 'tower_0/detections');
  const data = await det.data();
  const ms = Date.now() - t0;
  fs.mkdirSync(outDir, { recursive: true });
  const inData = await input.data();
  fs.writeFileSync(path.join(outDir, 'input.f32'), Buffer.from(inData.buffer, inData.byteOffset, inData.byteLength));
  fs.writeFileSync(path.join(outDir, 'detections.f32'), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  // Bisecting against vigil-nn: VIGIL_REF_NODES="node,node:1,..." also dumps
  // those intermediate tensors (TF order) as OUTDIR/node_K.f32 (K = position
  // in the list); vigil's VIGIL_NN_TFJS_OUTPUTS takes the same names.
  const extra = (process.env.VIGIL_REF_NODES || '').split(',').filter((x) => x);
  if (extra.length) {
    const ts = graph.execute(input, extra);
    for (let k = 0; k < extra.length; k++) {
      const t = Array.isArray(ts) ? ts[k] : ts;
      const d = await t.data();
      fs.writeFileSync(path.join(outDir, 'node_' + k + '.f32'), Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    }
  }
  const rows = [];
  for (let i = 0; i < det.shape[1]; i++) {
    const r = Array.from(data.slice(i * 6, i * 6 + 6));
    if (r[4] >= 0.3) rows.push(r.map((v) => Math.round(v * 10000) / 10000));
  }
  console.log(JSON.stringify({
    image: imagePath, width: img.width, height: img.height, dims: det.shape, ms, detections: rows,
  }));
}

main().catch((e) => {
  console.error('centernet_ref: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
