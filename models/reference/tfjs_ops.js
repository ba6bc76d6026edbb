#!/usr/bin/env node
/*
 * Per-op reference for the tfjs graph-model importer (models/tfjs).
 *
 *   node models/reference/tfjs_ops.js --out DIR
 *
 * For every case below it builds a tiny graph model in exactly the format of a
 * real model.json (GraphDef nodes + weightsManifest, float32 / float16 / uint8
 * weights), runs it through tfjs' own graph executor (tf.loadGraphModel +
 * tf.io.fromMemory, cpu backend) on a seeded random input, and writes
 * DIR/<case>/{model.json,weights.bin,input.npy,output.npy}. Cases tfjs itself
 * rejects are written with an "error.txt" instead. DIR/manifest.json lists all.
 * tests/models/test_tfjs_ops.py runs the same model.json through the importer.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

// ------------------------------------------------------------------ helpers
function writeNpy(file, data, shape) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = 10;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - pre - header.length - 1) + '\n';
  const h = Buffer.alloc(pre);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1; h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  const arr = Float32Array.from(data);
  fs.writeFileSync(file, Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(arr.buffer)]));
}

function rng(seed) { // mulberry32: reproducible inputs and weights
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const b64 = (s) => Buffer.from(s).toString('base64');
const A = {
  s: (v) => ({ s: b64(v) }),
  i: (v) => ({ i: String(v) }),
  f: (v) => ({ f: v }),
  b: (v) => ({ b: v }),
  ints: (v) => ({ list: { i: v.map(String) } }),
  strs: (v) => ({ list: { s: v.map(b64) } }),
  type: (v) => ({ type: v }),
};

class Graph {
  constructor(seed) {
    this.nodes = [];
    this.specs = [];
    this.chunks = [];
    this.rand = rng(seed);
    this.n = 0;
  }

  uniform(lo, hi) { return lo + (hi - lo) * this.rand(); }

  input(shape) {
    this.inputShape = shape;
    this.nodes.push({ name: 'x', op: 'Placeholder', attr: { dtype: A.type('DT_FLOAT'), shape: { shape: { dim: shape.map((s) => ({ size: String(s) })) } } } });
    return 'x';
  }

  // float const; quant: 'float32' | 'float16' | 'uint8'
  constF(shape, quant = 'float32', lo = -1, hi = 1) {
    const name = `c${this.n++}`;
    const size = shape.reduce((a, b) => a * b, 1);
    const spec = { name, shape, dtype: 'float32' };
    let buf;
    if (quant === 'float16') {
      // random half-precision bit patterns (exponent 10..16 -> |v| in ~[2^-5, 4)), plus 0 and a subnormal
      const u = new Uint16Array(size);
      for (let k = 0; k < size; k++) {
        const sign = this.rand() < 0.5 ? 0x8000 : 0;
        const e = 10 + Math.floor(this.rand() * 7);
        u[k] = sign | (e << 10) | Math.floor(this.rand() * 1024);
      }
      if (size > 2) { u[0] = 0; u[1] = 0x0123; }
      spec.quantization = { dtype: 'float16', original_dtype: 'float32' };
      buf = Buffer.from(u.buffer);
    } else if (quant === 'uint8') {
      const u = new Uint8Array(size);
      for (let k = 0; k < size; k++) u[k] = Math.floor(this.rand() * 256);
      spec.quantization = { dtype: 'uint8', scale: (hi - lo) / 255, min: lo, original_dtype: 'float32' };
      buf = Buffer.from(u.buffer);
    } else {
      const f = new Float32Array(size);
      for (let k = 0; k < size; k++) f[k] = this.uniform(lo, hi);
      buf = Buffer.from(f.buffer);
    }
    return this.addConst(name, spec, buf, 'DT_FLOAT');
  }

  // int32 const (shapes, axes, paddings, perm); quant 'uint8' stores (v - min) as bytes
  constI(values, shape = [values.length], quant = 'int32') {
    const name = `c${this.n++}`;
    const spec = { name, shape, dtype: 'int32' };
    let buf;
    if (quant === 'uint8') {
      const min = Math.min(...values);
      spec.quantization = { dtype: 'uint8', scale: 1, min, original_dtype: 'int32' };
      buf = Buffer.from(Uint8Array.from(values.map((v) => v - min)).buffer);
    } else {
      buf = Buffer.from(Int32Array.from(values).buffer);
    }
    return this.addConst(name, spec, buf, 'DT_INT32');
  }

  addConst(name, spec, buf, dt) {
    this.specs.push(spec);
    this.chunks.push(buf);
    this.nodes.push({ name, op: 'Const', attr: { dtype: A.type(dt), value: { tensor: { dtype: dt, tensorShape: { dim: spec.shape.map((s) => ({ size: String(s) })) } } } } });
    return name;
  }

  op(op, inputs, attr = {}) {
    const name = `${op.toLowerCase()}_${this.n++}`;
    this.nodes.push({ name, op, input: inputs, attr: { T: A.type('DT_FLOAT'), ...attr } });
    return name;
  }

  modelJson() {
    return {
      format: 'graph-model',
      generatedBy: 'models/reference/tfjs_ops.js',
      convertedBy: 'models/reference/tfjs_ops.js',
      modelTopology: { node: this.nodes, library: {}, versions: {} },
      weightsManifest: [{ paths: ['weights.bin'], weights: this.specs }],
    };
  }
}

// ------------------------------------------------------------------ cases
const cases = [];
const add = (name, build, inputShape, inputRange = [-1, 1]) => cases.push({ name, build, inputShape, inputRange });

const convAttrs = (pad, stride, dil = 1, extra = {}) => ({
  padding: A.s(pad), strides: A.ints([1, stride, stride, 1]), dilations: A.ints([1, dil, dil, 1]),
  data_format: A.s('NHWC'), explicit_paddings: A.ints([]), ...extra,
});

// plain convolutions: padding x stride x dilation on odd sizes
for (const pad of ['SAME', 'VALID']) {
  for (const [k, stride, dil] of [[3, 1, 1], [3, 2, 1], [3, 1, 2], [1, 2, 1], [5, 3, 1], [2, 2, 1]]) {
    add(`conv2d_${pad}_k${k}_s${stride}_d${dil}`, (g) => g.op('Conv2D', [g.input([-1, 11, 13, 3]), g.constF([k, k, 3, 5])], convAttrs(pad, stride, dil)), [2, 11, 13, 3]);
  }
}
add('conv2d_EXPLICIT', (g) => g.op('Conv2D', [g.input([-1, 9, 10, 2]), g.constF([3, 3, 2, 4])],
  convAttrs('EXPLICIT', 2, 1, { explicit_paddings: A.ints([0, 0, 1, 2, 0, 1, 0, 0]) })), [1, 9, 10, 2]);
// NCHW with stride 1 only: tfjs' executor reads strides / dilations at indices 1, 2 whatever the
// data_format (TF reads 2, 3 for NCHW); the importer follows TF
add('conv2d_NCHW', (g) => g.op('Conv2D', [g.input([-1, 3, 9, 10]), g.constF([3, 3, 3, 4])],
  { ...convAttrs('SAME', 1), data_format: A.s('NCHW') }), [1, 3, 9, 10]);

// fused convolutions: every activation tfjs fuses
const fusedConv = (g, op, acts, quant, pad = 'SAME', stride = 1, cout = 6, dil = 1) => {
  const x = g.input([-1, 10, 9, 4]);
  const w = op === '_FusedConv2D' ? g.constF([3, 3, 4, cout], quant) : g.constF([3, 3, 4, cout / 4], quant);
  const args = [g.constF([cout])];
  if (acts[1] === 'Prelu') args.push(g.constF([1, 1, cout], 'float32', 0, 0.5));
  const attr = { ...convAttrs(pad, stride, dil), fused_ops: A.strs(acts), num_args: A.i(args.length), epsilon: A.f(0) };
  if (acts[1] === 'LeakyRelu') attr.leakyrelu_alpha = A.f(0.15);
  return g.op(op, [x, w, ...args], attr);
};
for (const op of ['_FusedConv2D', 'FusedDepthwiseConv2dNative']) {
  for (const acts of [['BiasAdd'], ['BiasAdd', 'Relu'], ['BiasAdd', 'Relu6'], ['BiasAdd', 'Prelu'], ['BiasAdd', 'LeakyRelu'], ['BiasAdd', 'Elu'], ['BiasAdd', 'Sigmoid']]) {
    const cout = op === '_FusedConv2D' ? 6 : 8; // depthwise: channel multiplier 2
    add(`${op}_${acts.join('_')}`, (g) => fusedConv(g, op, acts, 'float32', 'SAME', 1, cout), [2, 10, 9, 4], [-3, 3]);
  }
}
add('_FusedConv2D_fp16_VALID_s2', (g) => fusedConv(g, '_FusedConv2D', ['BiasAdd', 'Relu'], 'float16', 'VALID', 2), [2, 10, 9, 4]);
add('_FusedConv2D_uint8_SAME_s2', (g) => fusedConv(g, '_FusedConv2D', ['BiasAdd', 'Prelu'], 'uint8', 'SAME', 2), [2, 10, 9, 4]);
add('FusedDepthwise_fp16_SAME_s2', (g) => fusedConv(g, 'FusedDepthwiseConv2dNative', ['BiasAdd', 'Relu6'], 'float16', 'SAME', 2, 8), [1, 10, 9, 4]);

// depthwise: multiplier 1 and 2
for (const pad of ['SAME', 'VALID']) {
  for (const [stride, dil, mult] of [[1, 1, 1], [2, 1, 1], [1, 2, 1], [2, 1, 2], [1, 1, 2]]) {
    add(`depthwise_${pad}_s${stride}_d${dil}_m${mult}`, (g) => g.op('DepthwiseConv2dNative', [g.input([-1, 11, 12, 3]), g.constF([3, 3, 3, mult])], convAttrs(pad, stride, dil)), [2, 11, 12, 3]);
  }
}
add('depthwise_uint8', (g) => g.op('DepthwiseConv2dNative', [g.input([-1, 8, 8, 3]), g.constF([3, 3, 3, 1], 'uint8')], convAttrs('SAME', 1)), [1, 8, 8, 3]);

// pools
for (const op of ['MaxPool', 'AvgPool']) {
  for (const pad of ['SAME', 'VALID']) {
    for (const [k, s] of [[2, 2], [3, 2], [3, 1], [3, 3]]) {
      add(`${op}_${pad}_k${k}_s${s}`, (g) => g.op(op, [g.input([-1, 11, 12, 3])], { padding: A.s(pad), ksize: A.ints([1, k, k, 1]), strides: A.ints([1, s, s, 1]), data_format: A.s('NHWC') }), [2, 11, 12, 3]);
    }
  }
}

// matmul
const mm = (g, fused, acts, quant, ta = false, tb = false) => {
  const x = g.input(ta ? [7, -1] : [-1, 7]);
  const w = g.constF(tb ? [5, 7] : [7, 5], quant);
  const attr = { transpose_a: A.b(ta), transpose_b: A.b(tb) };
  if (!fused) return g.op('MatMul', [x, w], attr);
  return g.op('_FusedMatMul', [x, w, g.constF([5])], { ...attr, fused_ops: A.strs(acts), num_args: A.i(1), epsilon: A.f(0) });
};
add('MatMul', (g) => mm(g, false), [3, 7]);
add('MatMul_transpose_b', (g) => mm(g, false, [], 'float32', false, true), [3, 7]);
add('MatMul_transpose_a', (g) => mm(g, false, [], 'float32', true, false), [7, 3]);
add('_FusedMatMul_BiasAdd', (g) => mm(g, true, ['BiasAdd']), [3, 7]);
add('_FusedMatMul_BiasAdd_Relu', (g) => mm(g, true, ['BiasAdd', 'Relu']), [3, 7]);
add('_FusedMatMul_BiasAdd_Relu6_tb', (g) => mm(g, true, ['BiasAdd', 'Relu6'], 'float32', false, true), [3, 7], [-4, 4]);
add('_FusedMatMul_fp16', (g) => mm(g, true, ['BiasAdd', 'Relu'], 'float16'), [3, 7]);
add('_FusedMatMul_uint8', (g) => mm(g, true, ['BiasAdd'], 'uint8'), [3, 7]);
add('MatMul_two_inputs', (g) => { const x = g.input([4, 6]); return g.op('MatMul', [x, x], { transpose_a: A.b(false), transpose_b: A.b(true) }); }, [4, 6]);

// element-wise binary: const of shape [C], [1,1,C], scalar, and tensor-tensor
for (const op of ['Add', 'AddV2', 'Sub', 'Mul', 'RealDiv', 'Maximum', 'Minimum', 'SquaredDifference']) {
  add(`${op}_const_C`, (g) => g.op(op, [g.input([-1, 4, 5, 3]), g.constF([3], 'float32', 0.5, 2)]), [2, 4, 5, 3]);
  add(`${op}_const_first_11C`, (g) => { const x = g.input([-1, 4, 5, 3]); return g.op(op, [g.constF([1, 1, 3], 'float32', 0.5, 2), x]); }, [2, 4, 5, 3], [0.5, 2]);
  add(`${op}_scalar`, (g) => g.op(op, [g.input([-1, 4, 5, 3]), g.constF([], 'float32', 0.5, 2)]), [2, 4, 5, 3]);
  add(`${op}_tensors`, (g) => { const x = g.input([-1, 4, 5, 3]); return g.op(op, [x, g.op('Sigmoid', [x])]); }, [2, 4, 5, 3]);
}
add('BiasAdd', (g) => g.op('BiasAdd', [g.input([-1, 4, 5, 3]), g.constF([3])], { data_format: A.s('NHWC') }), [2, 4, 5, 3]);
add('AddN', (g) => { const x = g.input([-1, 4, 3]); return g.op('AddN', [x, g.op('Relu', [x]), g.op('Neg', [x])], { N: A.i(3) }); }, [2, 4, 3]);

// element-wise unary
for (const [op, range] of [['Relu', [-2, 2]], ['Relu6', [-3, 9]], ['Sigmoid', [-6, 6]], ['Tanh', [-3, 3]], ['Elu', [-3, 3]],
  ['Exp', [-3, 3]], ['Sqrt', [0.01, 4]], ['Rsqrt', [0.05, 4]], ['Neg', [-2, 2]], ['Abs', [-2, 2]], ['Square', [-2, 2]],
  ['Softmax', [-4, 4]], ['Identity', [-1, 1]], ['Log', [0.05, 4]], ['Reciprocal', [0.2, 4]]]) {
  add(op, (g) => g.op(op, [g.input([-1, 3, 4, 5])]), [2, 3, 4, 5], range);
}
add('LeakyRelu', (g) => g.op('LeakyRelu', [g.input([-1, 3, 4, 5])], { alpha: A.f(0.1) }), [2, 3, 4, 5]);
add('Softmax_2d', (g) => g.op('Softmax', [g.input([-1, 7])]), [3, 7], [-5, 5]);
add('Prelu', (g) => g.op('Prelu', [g.input([-1, 3, 4, 5]), g.constF([1, 1, 5], 'float32', 0, 0.5)]), [2, 3, 4, 5]);
add('Prelu_fp16', (g) => g.op('Prelu', [g.input([-1, 3, 4, 5]), g.constF([5], 'float16')]), [2, 3, 4, 5]);

// reductions
for (const op of ['Mean', 'Max', 'Min', 'Sum', 'Prod']) {
  for (const [axes, keep] of [[[1, 2], false], [[1, 2], true], [[-1], false], [[3], true], [[1], false]]) {
    add(`${op}_axes${axes.join('_')}_keep${keep}`, (g) => g.op(op, [g.input([-1, 4, 5, 3]), g.constI(axes)], { keep_dims: A.b(keep), Tidx: A.type('DT_INT32') }), [2, 4, 5, 3], [0.5, 1.5]);
  }
}

// shape ops
add('Reshape', (g) => g.op('Reshape', [g.input([-1, 4, 5, 3]), g.constI([-1, 60])]), [2, 4, 5, 3]);
add('Reshape_uint8_shape', (g) => g.op('Reshape', [g.input([-1, 4, 5, 3]), g.constI([-1, 20, 3], [3], 'uint8')]), [2, 4, 5, 3]);
add('Squeeze_dims', (g) => g.op('Squeeze', [g.input([-1, 1, 5, 1])], { squeeze_dims: A.ints([1, 3]) }), [2, 1, 5, 1]);
add('Squeeze_all', (g) => g.op('Squeeze', [g.input([-1, 1, 5, 1])], { squeeze_dims: A.ints([]) }), [2, 1, 5, 1]);
add('ExpandDims', (g) => g.op('ExpandDims', [g.input([-1, 4, 3]), g.constI([-1])]), [2, 4, 3]);
add('Transpose', (g) => g.op('Transpose', [g.input([-1, 4, 5, 3]), g.constI([0, 3, 1, 2])]), [2, 4, 5, 3]);
add('ConcatV2_channels', (g) => { const x = g.input([-1, 4, 5, 3]); return g.op('ConcatV2', [x, g.op('Relu', [x]), g.constI([3])], { N: A.i(2) }); }, [2, 4, 5, 3]);
add('ConcatV2_neg_axis', (g) => { const x = g.input([-1, 4, 5, 3]); return g.op('ConcatV2', [x, g.op('Neg', [x]), g.constI([-3])], { N: A.i(2) }); }, [2, 4, 5, 3]);
add('Concat_axis_first', (g) => { const x = g.input([-1, 4, 5, 3]); return g.op('Concat', [g.constI([2]), x, g.op('Abs', [x])], { N: A.i(2) }); }, [2, 4, 5, 3]);
add('Pad', (g) => g.op('Pad', [g.input([-1, 4, 5, 3]), g.constI([0, 0, 1, 2, 0, 3, 2, 2], [4, 2])], { Tpaddings: A.type('DT_INT32') }), [2, 4, 5, 3]);
add('PadV2', (g) => g.op('PadV2', [g.input([-1, 4, 5, 3]), g.constI([0, 0, 2, 0, 1, 1, 0, 0], [4, 2]), g.constF([], 'float32', 0.5, 0.5)]), [2, 4, 5, 3]);
for (const [ac, hp] of [[false, false], [true, false], [false, true]]) {
  for (const size of [[7, 9], [3, 2], [1, 1], [16, 5]]) {
    add(`ResizeBilinear_ac${ac}_hp${hp}_${size.join('x')}`, (g) => g.op('ResizeBilinear', [g.input([-1, 6, 5, 3]), g.constI(size)], { align_corners: A.b(ac), half_pixel_centers: A.b(hp) }), [2, 6, 5, 3]);
  }
}

// a small chain, as in the real models: Identity-wrapped const, conv -> pool -> mean -> dense -> softmax
add('chain', (g) => {
  const x = g.input([-1, 12, 12, 3]);
  const w = g.op('Identity', [g.constF([3, 3, 3, 8], 'float16')]);
  const c = g.op('_FusedConv2D', [x, w, g.constF([8])], { ...convAttrs('SAME', 2), fused_ops: A.strs(['BiasAdd', 'Relu']), num_args: A.i(1), epsilon: A.f(0) });
  const p = g.op('MaxPool', [c], { padding: A.s('SAME'), ksize: A.ints([1, 3, 3, 1]), strides: A.ints([1, 2, 2, 1]), data_format: A.s('NHWC') });
  const m = g.op('Mean', [p, g.constI([1, 2])], { keep_dims: A.b(false) });
  const d = g.op('_FusedMatMul', [m, g.constF([8, 4], 'uint8'), g.constF([4])], { transpose_a: A.b(false), transpose_b: A.b(false), fused_ops: A.strs(['BiasAdd']), num_args: A.i(1), epsilon: A.f(0) });
  return g.op('Identity', [g.op('Softmax', [d])]);
}, [3, 12, 12, 3], [0, 1]);

// ------------------------------------------------------------------ main
async function main() {
  const argv = process.argv.slice(2);
  const out = argv[argv.indexOf('--out') + 1];
  if (argv.indexOf('--out') < 0 || !out) {
    console.error('usage: tfjs_ops.js --out DIR');
    process.exit(2);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  fs.mkdirSync(out, { recursive: true });
  const manifest = { tfjs: tf.version.tfjs, backend: tf.getBackend(), cases: [] };
  let seed = 1;
  for (const c of cases) {
    const g = new Graph(seed++);
    const outName = c.build(g);
    const dir = path.join(out, c.name);
    fs.mkdirSync(dir, { recursive: true });
    const mj = g.modelJson();
    const weightData = Buffer.concat(g.chunks);
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(mj, null, 1));
    fs.writeFileSync(path.join(dir, 'weights.bin'), weightData);
    const size = c.inputShape.reduce((a, b) => a * b, 1);
    const xv = new Float32Array(size);
    for (let k = 0; k < size; k++) xv[k] = g.uniform(c.inputRange[0], c.inputRange[1]);
    writeNpy(path.join(dir, 'input.npy'), xv, c.inputShape);
    const entry = { name: c.name, output: outName };
    try {
      const ab = weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength);
      const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: mj.modelTopology, weightSpecs: g.specs, weightData: ab, format: 'graph-model' }));
      const x = tf.tensor(xv, c.inputShape);
      const y = model.execute({ x }, outName);
      writeNpy(path.join(dir, 'output.npy'), await y.data(), y.shape);
      tf.dispose([x, y]);
      model.dispose();
    } catch (e) {
      entry.error = String(e.message || e).split('\n')[0];
      fs.writeFileSync(path.join(dir, 'error.txt'), entry.error + '\n');
    }
    manifest.cases.push(entry);
  }
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 1));
  const bad = manifest.cases.filter((c) => c.error);
  console.log(`${manifest.cases.length} cases -> ${out} (tfjs ${manifest.tfjs}, ${manifest.backend}); rejected by tfjs: ${bad.map((c) => `${c.name} (${c.error})`).join(', ') || 'none'}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
