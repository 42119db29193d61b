#!/usr/bin/env node
// TF.js (pure @tensorflow/tfjs CPU backend, Node) latency for bench/nn.sh.
//
// usage: NODE_PATH=<ref-node>/node_modules node nn_tfjs.js MODEL.json SHAPE THREADS [RUNS]
//
// Loads the graph model through an in-memory IOHandler (as
// scripts/ref/centernet_ref.js does), runs once to warm up, then RUNS
// (default 20) timed runs on a fixed pseudo-random input. The pure-JS CPU
// backend is single-threaded: THREADS is printed, not applied. Prints:
//   tfjs MODEL SHAPE threads T runs R median_ms M min_ms m arena_mib - maxrss_mib S
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

async function main() {
  const [modelPath, shape, threads, runsArg] = process.argv.slice(2);
  if (!threads) {
    console.error('usage: nn_tfjs.js MODEL.json SHAPE THREADS [RUNS]');
    process.exit(2);
  }
  const runs = runsArg ? parseInt(runsArg, 10) : 20;
  await tf.setBackend('cpu');
  const model = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
  const specs = [];
  const shards = [];
  for (const group of model.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) shards.push(fs.readFileSync(path.join(path.dirname(modelPath), p)));
  }
  const all = Buffer.concat(shards);
  const graph = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: model.modelTopology,
    weightSpecs: specs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    format: model.format,
    generatedBy: model.generatedBy,
    convertedBy: model.convertedBy,
    signature: model.signature,
  }));
  const dims = shape.split(/[x,]/).map((d) => parseInt(d, 10));
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let r = 12345;
  for (let i = 0; i < n; i++) {
    r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
    data[i] = ((r >>> 8) / (1 << 24)) * 255; // image-like values 0..255
  }
  const input = tf.tensor(data, dims);
  const once = async () => {
    const out = graph.execute(input);
    const outs = Array.isArray(out) ? out : [out];
    for (const o of outs) await o.data();
    tf.dispose(outs);
  };
  await once();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await once();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(`tfjs ${path.basename(modelPath)} ${shape} threads ${threads} runs ${runs} ` +
    `median_ms ${ms[runs >> 1].toFixed(2)} min_ms ${ms[0].toFixed(2)} arena_mib - maxrss_mib ${rss.toFixed(1)}`);
}

main().catch((e) => {
  console.error('nn_tfjs: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
