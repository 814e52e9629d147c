// Run one of human's TFJS graph models on float32 NHWC input with the
// pure-JavaScript CPU backend of @tensorflow/tfjs; used by
// benchmarks/verify_human_tfjs.py to check the torch ports.
//
//   NODE_PATH=/path/to/node_modules node human_tfjs_run.js \
//       MODEL_JSON INPUT_BIN N,H,W,C OUTPUT_PREFIX OUTPUT_NAME...
//
// Writes OUTPUT_PREFIX.<k>.bin (float32, little-endian) for each requested
// output, running the images one at a time.
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

async function main() {
  const [modelJson, inputBin, shapeArg, outPrefix, ...outputs] = process.argv.slice(2);
  await tf.setBackend('cpu');
  const spec = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const dir = path.dirname(modelJson);
  const specs = [];
  const buffers = [];
  for (const group of spec.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const model = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: spec.modelTopology,
    weightSpecs: specs,
    weightData,
    format: spec.format,
    generatedBy: spec.generatedBy,
    convertedBy: spec.convertedBy,
    signature: spec.signature,
  }));
  const shape = shapeArg.split(',').map(Number);
  const raw = fs.readFileSync(inputBin);
  const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const per = shape[1] * shape[2] * shape[3];
  const results = outputs.map(() => []);
  for (let i = 0; i < shape[0]; i++) {
    const x = tf.tensor4d(data.slice(i * per, (i + 1) * per), [1, shape[1], shape[2], shape[3]]);
    let res = model.execute(x, outputs);
    if (!Array.isArray(res)) res = [res];
    for (let k = 0; k < res.length; k++) results[k].push(...(await res[k].data()));
    tf.dispose([x, ...res]);
  }
  for (let k = 0; k < outputs.length; k++) {
    fs.writeFileSync(`${outPrefix}.${k}.bin`, Buffer.from(new Float32Array(results[k]).buffer));
  }
  console.log(`tfjs ${tf.version.tfjs} backend ${tf.getBackend()}: ${shape[0]} inputs`);
}

main().catch((err) => { console.error(err); process.exit(1); });
