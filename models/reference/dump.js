#!/usr/bin/env node
/*
 * face-api reference runner: dumps, for each image, the exact network input
 * tensors face-api builds, the raw network outputs and face-api's final
 * results, so that tests/models can prove our TorchScript exports equal
 * face-api itself.
 *
 *   node models/reference/dump.js --out DIR [--backend cpu|wasm] IMAGE...
 *
 * Writes DIR/manifest.json and DIR/<id>/{*.npy,results.json} where <id> is the
 * image's basename without extension. Tensors are written as .npy (float32
 * little endian, or uint8 for the decoded image) in face-api's own layout
 * (NHWC for images).
 */
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const jpeg = require('jpeg-js');
const { PNG } = require('pngjs');

const MODEL_DIR = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');

function parseArgs(argv) {
  const args = { out: null, backend: 'cpu', images: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') args.out = argv[++i];
    else if (a === '--backend') args.backend = argv[++i];
    else args.images.push(a);
  }
  if (!args.out || args.images.length === 0) {
    console.error('usage: dump.js --out DIR [--backend cpu|wasm] IMAGE...');
    process.exit(2);
  }
  return args;
}

// ---------------------------------------------------------------- npy writer
function writeNpy(file, data, shape, dtype) {
  const descr = dtype === 'uint8' ? '|u1' : '<f4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = 10;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - pre - header.length - 1) + '\n';
  const h = Buffer.alloc(pre);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1; h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  const arr = dtype === 'uint8' ? Uint8Array.from(data) : Float32Array.from(data);
  fs.writeFileSync(file, Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength)]));
}

async function saveTensor(dir, name, t, dtype = 'float32') {
  const data = await t.data();
  writeNpy(path.join(dir, `${name}.npy`), data, t.shape, dtype);
}

async function saveStack(dir, name, tensors, emptyShape) {
  if (tensors.length === 0) {
    writeNpy(path.join(dir, `${name}.npy`), [], [0, ...emptyShape], 'float32');
    return;
  }
  const s = tf.concat(tensors, 0);
  await saveTensor(dir, name, s);
  s.dispose();
}

// ---------------------------------------------------------------- image decode
function decodeImage(file) {
  const buf = fs.readFileSync(file);
  let width; let height; let rgba;
  if (buf[0] === 0x89 && buf[1] === 0x50) {
    const png = PNG.sync.read(buf);
    ({ width, height } = png);
    rgba = png.data;
  } else {
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 2048 });
    ({ width, height } = img);
    rgba = img.data;
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height * 4; i += 4, j += 3) {
    rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2];
  }
  return { width, height, rgb };
}

const boxJson = (b) => ({ x: b.x, y: b.y, width: b.width, height: b.height });

// per-face net inputs + raw outputs exactly as face-api builds them
async function faceNetInputs(tensor, boxes, size) {
  const faces = await faceapi.extractFaceTensors(tensor, boxes);
  const inputs = [];
  const netInputs = [];
  for (const face of faces) {
    const ni = await faceapi.toNetInput(face);
    inputs.push(ni.toBatchTensor(size, true));
    netInputs.push({ ni, face });
  }
  return { faces, inputs, netInputs };
}

async function dumpImage(file, outDir) {
  const id = path.basename(file).replace(/\.[^.]+$/, '');
  const dir = path.join(outDir, id);
  fs.mkdirSync(dir, { recursive: true });
  const { width, height, rgb } = decodeImage(file);
  writeNpy(path.join(dir, 'image.npy'), rgb, [height, width, 3], 'uint8');
  const tensor = tf.tensor3d(rgb, [height, width, 3], 'int32');
  const res = { id, file, width, height };

  // ------------------------------------------------ SSD MobileNet v1: input + raw outputs
  {
    const ni = await faceapi.toNetInput(tensor);
    const x = ni.toBatchTensor(512, false);
    await saveTensor(dir, 'ssd_input', x);
    x.dispose();
    const { boxes, scores } = faceapi.nets.ssdMobilenetv1.forwardInput(ni);
    await saveTensor(dir, 'ssd_boxes', boxes[0]); // [5118,4] ymin,xmin,ymax,xmax
    await saveTensor(dir, 'ssd_scores', scores[0]);
    boxes.forEach((t) => t.dispose()); scores.forEach((t) => t.dispose());
    res.ssd_reshaped = ni.getReshapedInputDimensions(0);
    const dets = await faceapi.nets.ssdMobilenetv1.locateFaces(tensor, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 }));
    res.ssd = dets.map((d) => ({ score: d.score, box: boxJson(d.box), relativeBox: boxJson(d.relativeBox) }));
  }

  // ------------------------------------------------ Tiny face detector
  {
    const ni = await faceapi.toNetInput(tensor);
    const x = ni.toBatchTensor(416, false);
    await saveTensor(dir, 'tiny_input', x);
    x.dispose();
    const out = faceapi.nets.tinyFaceDetector.forwardInput(ni, 416); // [1,13,13,25]
    await saveTensor(dir, 'tiny_raw', out);
    out.dispose();
    res.tiny_reshaped = ni.getReshapedInputDimensions(0);
    const dets = await faceapi.detectAllFaces(tensor, new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: 0.5 }));
    res.tiny = dets.map((d) => ({ score: d.score, box: boxJson(d.box), relativeBox: boxJson(d.relativeBox) }));
  }

  // ------------------------------------------------ full pipeline (final results)
  const full = await faceapi
    .detectAllFaces(tensor, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 }))
    .withFaceLandmarks()
    .withFaceExpressions()
    .withAgeAndGender()
    .withFaceDescriptors();
  res.full = full.map((r) => ({
    score: r.detection.score,
    box: boxJson(r.detection.box),
    landmarks: r.landmarks.positions.map((p) => [p.x, p.y]),
    unshiftedLandmarks: r.unshiftedLandmarks.positions.map((p) => [p.x, p.y]),
    alignedRect: boxJson(r.alignedRect.box),
    dlibRect: boxJson(r.landmarks.align(null, { useDlibAlignment: true })),
    expressions: faceapi.FACE_EXPRESSION_LABELS.map((k) => r.expressions[k]),
    age: r.age,
    gender: r.gender,
    genderProbability: r.genderProbability,
    descriptor: Array.from(r.descriptor),
  }));

  // ------------------------------------------------ per-face nets: inputs + raw outputs
  const detections = full.map((r) => r.detection);
  // landmarks: crops of the detection boxes, 112 centred
  {
    const { faces, inputs, netInputs } = await faceNetInputs(tensor, detections, 112);
    await saveStack(dir, 'lm_input', inputs, [112, 112, 3]);
    const outs = netInputs.map(({ ni }) => faceapi.nets.faceLandmark68Net.runNet(ni));
    await saveStack(dir, 'lm_raw', outs, [136]);
    res.lm_crop_sizes = faces.map((f) => f.shape.slice(0, 2));
    [...faces, ...inputs, ...outs].forEach((t) => t.dispose());
  }
  // expressions + age/gender: crops of alignedRect, 112 centred
  {
    const { faces, inputs, netInputs } = await faceNetInputs(tensor, full.map((r) => r.alignedRect), 112);
    await saveStack(dir, 'aligned_input', inputs, [112, 112, 3]);
    const ex = netInputs.map(({ ni }) => faceapi.nets.faceExpressionNet.runNet(ni));
    await saveStack(dir, 'expr_logits', ex, [7]);
    const ag = netInputs.map(({ ni }) => faceapi.nets.ageGenderNet.runNet(ni));
    await saveStack(dir, 'age', ag.map((o) => o.age.reshape([-1, 1])), [1]);
    await saveStack(dir, 'gender_logits', ag.map((o) => o.gender), [2]);
    [...faces, ...inputs, ...ex].forEach((t) => t.dispose());
    ag.forEach((o) => { o.age.dispose(); o.gender.dispose(); });
  }
  // descriptors: crops of the dlib-aligned rect, 150 centred
  {
    const rects = full.map((r) => r.landmarks.align(null, { useDlibAlignment: true }));
    const { faces, inputs, netInputs } = await faceNetInputs(tensor, rects, 150);
    await saveStack(dir, 'rec_input', inputs, [150, 150, 3]);
    const outs = netInputs.map(({ ni }) => faceapi.nets.faceRecognitionNet.forwardInput(ni));
    await saveStack(dir, 'rec_desc', outs, [128]);
    [...faces, ...inputs, ...outs].forEach((t) => t.dispose());
  }

  tensor.dispose();
  fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(res));
  return { id, faces: res.full.length, tiny: res.tiny.length };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.backend === 'wasm') {
    const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    // offline: serve the .wasm files from node_modules (tfjs fetches them by URL)
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (url, opts) => {
      const u = String(url);
      if (u.startsWith(wasmDir) || u.startsWith('file://')) {
        const p = u.startsWith('file://') ? new URL(u).pathname : u;
        return new Response(fs.readFileSync(p), { headers: { 'Content-Type': 'application/wasm' } });
      }
      return realFetch(url, opts);
    };
    faceapi.tf.setWasmPaths(wasmDir + path.sep, true);
  }
  await faceapi.tf.setBackend(args.backend);
  await faceapi.tf.ready();
  for (const n of ['ssdMobilenetv1', 'tinyFaceDetector', 'faceLandmark68Net', 'faceExpressionNet', 'ageGenderNet', 'faceRecognitionNet']) {
    await faceapi.nets[n].loadFromDisk(MODEL_DIR);
  }
  fs.mkdirSync(args.out, { recursive: true });
  const manifest = {
    faceapi: faceapi.version, tfjs: faceapi.tf.version_core, backend: faceapi.tf.getBackend(), images: [],
  };
  for (const file of args.images) {
    const t0 = Date.now();
    const r = await dumpImage(file, args.out);
    manifest.images.push(r.id);
    console.log(`${r.id}: ${r.faces} faces (ssd), ${r.tiny} (tiny), ${Date.now() - t0} ms`);
  }
  fs.writeFileSync(path.join(args.out, 'manifest.json'), JSON.stringify(manifest, null, 1));
}

main().catch((e) => { console.error(e); process.exit(1); });
