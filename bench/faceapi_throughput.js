#!/usr/bin/env node
/*
 * face-api's own pipeline on Node (tfjs wasm backend), for comparison with
 * faceserve: detectAllFaces(SSD MobileNet v1, minConfidence 0.5)
 *   .withFaceLandmarks().withFaceExpressions().withAgeAndGender().withFaceDescriptors()
 * on the given photos, round-robin, one image at a time, for --seconds.
 * Images are decoded once before timing (generous to face-api: faceserve's
 * figures include JPEG decoding). Prints one JSON line.
 *
 *   node bench/faceapi_throughput.js [--seconds 30] [--threads 1] IMAGE...
 *
 * bench/run_cpu.sh runs one such process per core and adds their rates.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

// The npm packages live in models/reference/node_modules (committed lock).
const refRequire = createRequire(path.join(__dirname, '..', 'models', 'reference', 'package.json'));
const faceapi = refRequire('@vladmandic/face-api/dist/face-api.node-wasm.js');
const jpeg = refRequire('jpeg-js');

const MODEL_DIR = path.join(path.dirname(refRequire.resolve('@vladmandic/face-api/package.json')), 'model');

function parseArgs(argv) {
  const args = { seconds: 30, threads: 1, images: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seconds') args.seconds = Number(argv[++i]);
    else if (argv[i] === '--threads') args.threads = Number(argv[++i]);
    else args.images.push(argv[i]);
  }
  if (args.images.length === 0) {
    console.error('usage: faceapi_throughput.js [--seconds S] [--threads T] IMAGE...');
    process.exit(2);
  }
  return args;
}

function decode(file) {
  const img = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 2048 });
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let i = 0, j = 0; i < img.data.length; i += 4, j += 3) {
    rgb[j] = img.data[i]; rgb[j + 1] = img.data[i + 1]; rgb[j + 2] = img.data[i + 2];
  }
  return faceapi.tf.tensor3d(rgb, [img.height, img.width, 3], 'int32');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const wasmDir = path.join(path.dirname(refRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  // Offline: tfjs fetches its .wasm by URL; serve them from node_modules.
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
  if (faceapi.tf.wasm && faceapi.tf.wasm.setThreadsCount) faceapi.tf.wasm.setThreadsCount(args.threads);
  await faceapi.tf.setBackend('wasm');
  await faceapi.tf.ready();
  for (const n of ['ssdMobilenetv1', 'faceLandmark68Net', 'faceExpressionNet', 'ageGenderNet', 'faceRecognitionNet']) {
    await faceapi.nets[n].loadFromDisk(MODEL_DIR);
  }
  const images = args.images.map(decode);
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });
  const analyze = (t) => faceapi.detectAllFaces(t, options)
    .withFaceLandmarks().withFaceExpressions().withAgeAndGender().withFaceDescriptors();
  // Warm-up: one pass over every image (tfjs compiles kernels on first use).
  for (const t of images) await analyze(t);
  let done = 0; let faces = 0;
  const latencies = [];
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(args.seconds * 1e9));
  while (process.hrtime.bigint() < deadline) {
    const t0 = process.hrtime.bigint();
    const r = await analyze(images[done % images.length]);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    faces += r.length; done += 1;
  }
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  console.log(JSON.stringify({
    faceapi: faceapi.version, tfjs: faceapi.tf.version_core, backend: faceapi.tf.getBackend(),
    threads: args.threads, images: done, wall_s: wall, images_per_s: done / wall,
    faces_per_image: faces / Math.max(1, done), latency_ms_p50: latencies[Math.floor(latencies.length / 2)] || 0,
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
