// Runs an exported ONNX model in ONNX Runtime (the npm package onnxruntime-node) for
// tests/export/onnx_export_test.cc and scripts/onnx-bench.sh.
//
//   node ort_run.js ONNXRUNTIME_NODE_DIR MODEL.onnx INPUTS.json OUT_PREFIX [REPEATS] [THREADS]
//
// INPUTS.json: {"name": {"type": "int64" | "float32", "dims": [...], "data": [...]}, ...}.
// Writes each output as raw little-endian data (float32 or int64) to OUT_PREFIX.<name> and
// prints one JSON line: the outputs' dims, and with REPEATS > 0 the mean seconds per run
// over that many more runs.
'use strict';
const fs = require('fs');

async function main() {
  const [ortDir, modelPath, inputsPath, outPath, repeatsArg, threadsArg] = process.argv.slice(2);
  if (!outPath) throw new Error('usage: node ort_run.js ONNXRUNTIME_NODE_DIR MODEL INPUTS OUT_PREFIX [REPEATS] [THREADS]');
  const ort = require(ortDir);
  const options = {graphOptimizationLevel: 'all'};
  if (threadsArg) options.intraOpNumThreads = Number(threadsArg);
  const session = await ort.InferenceSession.create(modelPath, options);
  const spec = JSON.parse(fs.readFileSync(inputsPath, 'utf8'));
  const feeds = {};
  for (const [name, t] of Object.entries(spec)) {
    const data = t.type === 'int64' ? BigInt64Array.from(t.data, (x) => BigInt(x)) : Float32Array.from(t.data);
    feeds[name] = new ort.Tensor(t.type, data, t.dims);
  }
  let result = await session.run(feeds);
  const repeats = Number(repeatsArg || 0);
  let seconds = null;
  if (repeats > 0) {
    const start = process.hrtime.bigint();
    for (let r = 0; r < repeats; ++r) result = await session.run(feeds);
    seconds = Number(process.hrtime.bigint() - start) / 1e9 / repeats;
  }
  const dims = {};
  for (const [name, t] of Object.entries(result)) {
    fs.writeFileSync(`${outPath}.${name}`, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    dims[name] = t.dims;
  }
  console.log(JSON.stringify({dims, seconds_per_run: seconds}));
}

main().catch((e) => {
  console.error('ort_run: ' + (e && e.message ? e.message : e));
  process.exit(1);
});
