import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import type { Graph } from '../../../ir/graph.js';
import { parseGraph } from '../../../ir/parser.js';
import { matchFusion, matchStepOfRelu } from '../../../ir/passes/fuse_matmul_bias_act.js';
import { ensureBackend } from '../../../runtime/backends/select.js';
import { Session } from '../../../runtime/session.js';
import { checkGolden } from './golden.js';
import { expectSameValues } from './same_values.js';

const webgpu = await ensureBackend('webgpu').then(() => true, () => false);
const BACKENDS = webgpu ? (['cpu', 'wasm', 'webgpu'] as const) : (['cpu', 'wasm'] as const);

describe('fuse-matmul-bias-act', () => {
  it('matmul + bias + relu → one fused_matmul (bias on either side of the add)', async () => {
    const r = checkGolden(`// RUN: fuse-matmul-bias-act
graph @f(%x: f32[batch,3], %w: f32[3,4], %b: f32[4], %w2: f32[4,2], %b2: f32[2]) {
  %0: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %1: f32[batch,4] = add %0, %b
  %2: f32[batch,4] = relu %1
  %3: f32[batch,2] = matmul %2, %w2 {transpose_a = false, transpose_b = false}
  %4: f32[batch,2] = add %b2, %3
  %5: f32[batch,2] = leaky_relu %4 {alpha = 0.1}
  return y = %5
}
// EXPECT:
graph @f(%x: f32[batch,3], %w: f32[3,4], %b: f32[4], %w2: f32[4,2], %b2: f32[2]) {
  %0: f32[batch,4] = fused_matmul %x, %w, %b {activation = "relu", alpha = 0.2, has_bias = true, transpose_a = false, transpose_b = false}
  %1: f32[batch,2] = fused_matmul %0, %w2, %b2 {activation = "leakyrelu", alpha = 0.1, has_bias = true, transpose_a = false, transpose_b = false}
  return y = %1
}`);
    await expectSameValues(r.input, r.output, { backends: BACKENDS });
  });

  it('transposed operands, conv2d + bias + relu6, depthwise + prelu, matmul + sigmoid without bias, elu', async () => {
    const r = checkGolden(`// RUN: fuse-matmul-bias-act
graph @f(%x: f32[3,batch], %w: f32[4,3], %b: f32[4], %im: f32[batch,5,5,2], %f: f32[3,3,2,3], %c: f32[3], %df: f32[3,3,2,2], %a: f32[4]) {
  %0: f32[batch,4] = matmul %x, %w {transpose_a = true, transpose_b = true}
  %1: f32[batch,4] = add %0, %b
  %2: f32[batch,4] = elu %1
  %3: f32[batch,5,5,3] = conv2d %im, %f {dilations = [1, 1], padding = "same", pads = [0, 0, 0, 0], strides = [1, 1]}
  %4: f32[batch,5,5,3] = add %3, %c
  %5: f32[batch,5,5,3] = relu6 %4
  %6: f32[batch,3,3,4] = depthwise_conv2d %im, %df {dilations = [1, 1], padding = "valid", pads = [0, 0, 0, 0], strides = [1, 1]}
  %7: f32[batch,3,3,4] = prelu %6, %a
  %8: f32[batch,4] = matmul %x, %w {transpose_a = true, transpose_b = true}
  %9: f32[batch,4] = sigmoid %8
  return y = %2, z = %5, d = %7, s = %9
}
// EXPECT:
graph @f(%x: f32[3,batch], %w: f32[4,3], %b: f32[4], %im: f32[batch,5,5,2], %f: f32[3,3,2,3], %c: f32[3], %df: f32[3,3,2,2], %a: f32[4]) {
  %0: f32[batch,4] = fused_matmul %x, %w, %b {activation = "elu", alpha = 0.2, has_bias = true, transpose_a = true, transpose_b = true}
  %1: f32[batch,5,5,3] = fused_conv2d %im, %f, %c {activation = "relu6", alpha = 0.2, dilations = [1, 1], has_bias = true, padding = "same", pads = [0, 0, 0, 0], strides = [1, 1]}
  %2: f32[batch,3,3,4] = fused_depthwise_conv2d %im, %df, %a {activation = "prelu", alpha = 0.2, dilations = [1, 1], has_bias = false, padding = "valid", pads = [0, 0, 0, 0], strides = [1, 1]}
  %3: f32[batch,4] = fused_matmul %x, %w {activation = "sigmoid", alpha = 0.2, has_bias = false, transpose_a = true, transpose_b = true}
  return y = %0, z = %1, d = %2, s = %3
}`);
    await expectSameValues(r.input, r.output, { backends: BACKENDS });
  });

  it('negative: other uses, a broadcast bias that is not [C], an activation already applied, int32', () => {
    const g = parseGraph(`graph @f(%x: f32[batch,3], %w: f32[3,4], %b: f32[4], %bb: f32[batch,4], %xi: i32[2,3], %wi: i32[3,4]) {
  %0: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %1: f32[batch,4] = add %0, %b
  %2: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %3: f32[batch,4] = add %2, %bb
  %4: f32[batch,4] = fused_matmul %x, %w {activation = "relu", alpha = 0.2, has_bias = false, transpose_a = false, transpose_b = false}
  %5: f32[batch,4] = add %4, %b
  %6: i32[2,4] = matmul %xi, %wi {transpose_a = false, transpose_b = false}
  %7: i32[2,4] = relu %6
  %8: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %9: f32[batch,4] = tanh %8
  return a = %1, b = %0, c = %3, d = %5, e = %7, f = %9
}`);
    const ops = g.nodes.filter((n) => n.op === 'matmul' || n.op === 'fused_matmul');
    expect(ops.map((n) => { const m = matchFusion(g, n); return 'why' in m ? m.why : 'fuses'; })).toEqual([
      'the result has other uses (or is named or an output)',
      'the bias f32[batch,4] is not f32[4]',
      'fused_matmul already applies relu',
      'the result is int32',
      'its user tanh is neither an add nor a fusable activation',
    ]);
    checkGolden(`// RUN: fuse-matmul-bias-act\n${g.toString()}\n// EXPECT: unchanged`);
  });
});

describe('fuse-matmul-bias-act through a reshape (tfjs-layers Dense)', () => {
  it('add(reshape(fused_matmul), bias) → reshape(fused_matmul with the bias); locations kept', async () => {
    // As printed for an MLP's last Dense layer (predict).
    const r = checkGolden(`// RUN: fuse-matmul-bias-act
graph @f(%x: f32[batch,100], %k: f32[100,10], %b: f32[10]) {
  %0: f32[1,batch,100] = reshape %x {shape = [1, batch, 100]} @ "mlp.ts":3:1
  %1: f32[1,100,10] = reshape %k {shape = [1, 100, 10]} @ "mlp.ts":3:2
  %2: f32[1,batch,10] = fused_matmul %0, %1 {activation = "linear", alpha = 0.2, has_bias = false, transpose_a = false, transpose_b = false} @ "mlp.ts":3:3
  %3: f32[batch,10] = reshape %2 {shape = [batch, 10]} @ "mlp.ts":3:4
  %4: f32[batch,10] = add %3, %b @ "mlp.ts":3:5
  %5: f32[batch,10] = softmax %4 {axis = 1} @ "mlp.ts":3:6
  return y = %5
}
// EXPECT:
graph @f(%x: f32[batch,100], %k: f32[100,10], %b: f32[10]) {
  %0: f32[1,batch,100] = reshape %x {shape = [1, batch, 100]} @ "mlp.ts":3:1
  %1: f32[1,100,10] = reshape %k {shape = [1, 100, 10]} @ "mlp.ts":3:2
  %2: f32[1,batch,10] = fused_matmul %0, %1, %b {activation = "linear", alpha = 0.2, has_bias = true, transpose_a = false, transpose_b = false} @ "mlp.ts":3:3
  %3: f32[batch,10] = reshape %2 {shape = [batch, 10]} @ "mlp.ts":3:4
  %4: f32[batch,10] = softmax %3 {axis = 1} @ "mlp.ts":3:6
  return y = %4
}`);
    await expectSameValues(r.input, r.output, { backends: BACKENDS });
  });

  it('bias first, a transposed weight, then relu through the reshape; conv2d + bias + relu6 through a flattening reshape', async () => {
    const r = checkGolden(`// RUN: fuse-matmul-bias-act
graph @f(%x: f32[batch,6], %w: f32[4,6], %b: f32[4], %im: f32[2,5,5,2], %f: f32[3,3,2,3], %c: f32[3]) {
  %0: f32[1,batch,6] = reshape %x {shape = [1, batch, 6]}
  %1: f32[1,4,6] = reshape %w {shape = [1, 4, 6]}
  %2: f32[1,batch,4] = matmul %0, %1 {transpose_a = false, transpose_b = true} @ "m.ts":1:1
  %3: f32[batch,4] = reshape %2 {shape = [batch, 4]} @ "m.ts":1:2
  %4: f32[batch,4] = add %b, %3 @ "m.ts":1:3
  %5: f32[batch,4] = relu %4 @ "m.ts":1:4
  %6: f32[2,5,5,3] = conv2d %im, %f {dilations = [1, 1], padding = "same", pads = [0, 0, 0, 0], strides = [1, 1]}
  %7: f32[50,3] = reshape %6 {shape = [-1, 3]}
  %8: f32[50,3] = add %7, %c
  %9: f32[50,3] = relu6 %8
  return y = %5, z = %9
}
// EXPECT:
graph @f(%x: f32[batch,6], %w: f32[4,6], %b: f32[4], %im: f32[2,5,5,2], %f: f32[3,3,2,3], %c: f32[3]) {
  %0: f32[1,batch,6] = reshape %x {shape = [1, batch, 6]}
  %1: f32[1,4,6] = reshape %w {shape = [1, 4, 6]}
  %2: f32[1,batch,4] = fused_matmul %0, %1, %b {activation = "relu", alpha = 0.2, has_bias = true, transpose_a = false, transpose_b = true} @ "m.ts":1:1
  %3: f32[batch,4] = reshape %2 {shape = [batch, 4]} @ "m.ts":1:2
  %4: f32[2,5,5,3] = fused_conv2d %im, %f, %c {activation = "relu6", alpha = 0.2, dilations = [1, 1], has_bias = true, padding = "same", pads = [0, 0, 0, 0], strides = [1, 1]}
  %5: f32[50,3] = reshape %4 {shape = [-1, 3]}
  return y = %3, z = %5
}`);
    await expectSameValues(r.input, r.output, { backends: BACKENDS });
  });

  it('negative: a reshape that changes the last axis, other uses before or after the reshape, a bias of the wrong shape, a bias already there', () => {
    // (A [1,C] bias is not reshaped to [C]: tfjs-backend-wasm's _FusedMatMul checks the rank the
    // bias data was created with, so a reshaped one is refused there.)
    const g = parseGraph(`graph @f(%x: f32[2,3], %w: f32[3,4], %x3: f32[1,2,3], %w3: f32[1,3,4], %b: f32[4], %b2: f32[2], %bb: f32[2,4], %b14: f32[1,4]) {
  %0: f32[2,4] = fused_matmul %x, %w {activation = "linear", alpha = 0.2, has_bias = false, transpose_a = false, transpose_b = false}
  %1: f32[4,2] = reshape %0 {shape = [4, 2]}
  %2: f32[4,2] = add %1, %b2
  %3: f32[1,2,4] = fused_matmul %x3, %w3 {activation = "linear", alpha = 0.2, has_bias = false, transpose_a = false, transpose_b = false}
  %4: f32[2,4] = reshape %3 {shape = [2, 4]}
  %5: f32[2,4] = add %4, %b
  %6: f32[1,2,4] = fused_matmul %x3, %w3 {activation = "linear", alpha = 0.2, has_bias = false, transpose_a = false, transpose_b = false}
  %7: f32[2,4] = reshape %6 {shape = [2, 4]}
  %8: f32[2,4] = add %7, %b
  %9: f32[2,4] = exp %7
  %10: f32[1,2,4] = fused_matmul %x3, %w3 {activation = "linear", alpha = 0.2, has_bias = false, transpose_a = false, transpose_b = false}
  %11: f32[2,4] = reshape %10 {shape = [2, 4]}
  %12: f32[2,4] = add %11, %bb
  %13: f32[1,2,4] = fused_matmul %x3, %w3 {activation = "linear", alpha = 0.2, has_bias = false, transpose_a = false, transpose_b = false}
  %14: f32[2,4] = reshape %13 {shape = [2, 4]}
  %15: f32[2,4] = add %14, %b14
  %16: f32[1,2,4] = fused_matmul %x3, %w3, %b {activation = "linear", alpha = 0.2, has_bias = true, transpose_a = false, transpose_b = false}
  %17: f32[2,4] = reshape %16 {shape = [2, 4]}
  %18: f32[2,4] = add %17, %b
  %19: f32[1,2,4] = fused_matmul %x3, %w3 {activation = "linear", alpha = 0.2, has_bias = false, transpose_a = false, transpose_b = false}
  %20: f32[8] = reshape %19 {shape = [8]}
  %21: f32[8] = relu %20
  return a = %2, b = %5, c = %3, d = %8, e = %9, f = %12, g = %15, h = %18, i = %21
}`);
    const ops = g.nodes.filter((n) => n.op === 'fused_matmul');
    expect(ops.map((n) => { const m = matchFusion(g, n); return 'why' in m ? m.why : 'fuses'; })).toEqual([
      'the reshape to f32[4,2] changes the last axis 4',
      'the result has other uses (or is named or an output)',
      'the reshaped result has other uses (or is named or an output)',
      'the bias f32[2,4] is not f32[4]',
      'the bias f32[1,4] is not f32[4]',
      'fused_matmul already has a bias',
      'the reshape to f32[8] changes the last axis 4',
    ]);
    checkGolden(`// RUN: fuse-matmul-bias-act\n${g.toString()}\n// EXPECT: unchanged`);
  });
});

/** Runs both graphs on `backend` with `feeds`; NaN must meet NaN. */
async function expectSameOnFeeds(before: Graph, after: Graph, backend: 'cpu' | 'wasm' | 'webgpu', feeds: Record<string, tf.Tensor>): Promise<void> {
  const [s1, s2] = [await Session.create(before, { backend }), await Session.create(after, { backend })];
  try {
    const names = before.outputs.map((o) => o.name);
    const want = (await s1.run(names, feeds)) as tf.Tensor[];
    const got = (await s2.run(names, feeds)) as tf.Tensor[];
    for (let k = 0; k < names.length; k++) {
      const w = Array.from(await want[k]!.data()), g = Array.from(await got[k]!.data());
      expect(g.map((v) => (Number.isNaN(v) ? 'NaN' : Math.round(v * 1e4) / 1e4)), `${backend}: ${names[k]}`)
        .toEqual(w.map((v) => (Number.isNaN(v) ? 'NaN' : Math.round(v * 1e4) / 1e4)));
    }
    tf.dispose([...want, ...got]);
  } finally {
    s1.dispose();
    s2.dispose();
  }
}

/** Relu's gradient graph: y = x·w + b is read by relu (forward) and by step (backward). */
const RELU_GRAD = (backend: string) => `// RUN: fuse-matmul-bias-act backend=${backend}
graph @f(%x: f32[batch,3], %w: f32[3,4], %b: f32[4], %dy: f32[batch,4]) {
  %0: f32[batch,4] = fused_matmul %x, %w, %b {activation = "linear", alpha = 0.2, has_bias = true, transpose_a = false, transpose_b = false}
  %1: f32[batch,4] = relu %0
  %2: f32[batch,4] = step %0 {alpha = 0}
  %3: f32[batch,4] = mul %dy, %2
  return y = %1, dx = %3
}
`;

describe('fuse-matmul-bias-act: step(y) reads relu(y), so relu fuses in training graphs', () => {
  const keepNan = webgpu ? (['cpu', 'webgpu'] as const) : (['cpu'] as const);

  it('cpu / webgpu: step(y; 0) → step(relu(y)), then relu fuses; same values, NaN included', async () => {
    for (const backend of keepNan) {
      const r = checkGolden(`${RELU_GRAD(backend)}// EXPECT:
graph @f(%x: f32[batch,3], %w: f32[3,4], %b: f32[4], %dy: f32[batch,4]) {
  %0: f32[batch,4] = fused_matmul %x, %w, %b {activation = "relu", alpha = 0.2, has_bias = true, transpose_a = false, transpose_b = false}
  %1: f32[batch,4] = step %0 {alpha = 0}
  %2: f32[batch,4] = mul %dy, %1
  return y = %0, dx = %2
}`);
      await expectSameValues(r.input, r.output, { backends: [backend] });
      // NaN (and ±Inf) in x: relu(NaN) = NaN, step(NaN) = NaN, in the fused relu too.
      const x = tf.tensor2d([NaN, 1, 2, -1, -2, -3, Infinity, 0, 1, 0.5, -0.5, 0.25], [4, 3]);
      const feeds = { x, w: tf.randomNormal([3, 4], 0, 1, 'float32', 3), b: tf.randomNormal([4], 0, 1, 'float32', 4), dy: tf.randomNormal([4, 4], 0, 1, 'float32', 5) };
      await expectSameOnFeeds(r.input, r.output, backend, feeds);
      tf.dispose(Object.values(feeds));
    }
  });

  it('the step before the relu in node order, two steps, a conv2d (its bias fused first)', async () => {
    const r = checkGolden(`// RUN: fuse-matmul-bias-act backend=cpu
graph @f(%im: f32[batch,5,5,2], %f: f32[3,3,2,3], %c: f32[3], %dy: f32[batch,5,5,3]) {
  %0: f32[batch,5,5,3] = conv2d %im, %f {dilations = [1, 1], padding = "same", pads = [0, 0, 0, 0], strides = [1, 1]} @ "cnn.ts":2:1
  %1: f32[batch,5,5,3] = add %0, %c @ "cnn.ts":2:2
  %2: f32[batch,5,5,3] = step %1 {alpha = 0} @ "cnn.ts":9:1
  %3: f32[batch,5,5,3] = mul %dy, %2
  %4: f32[batch,5,5,3] = relu %1 @ "cnn.ts":2:3
  %5: f32[batch,5,5,3] = step %1 {alpha = 0} @ "cnn.ts":9:2
  %6: f32[batch,5,5,3] = add %4, %5
  return dx = %3, y = %6
}
// EXPECT:
graph @f(%im: f32[batch,5,5,2], %f: f32[3,3,2,3], %c: f32[3], %dy: f32[batch,5,5,3]) {
  %0: f32[batch,5,5,3] = fused_conv2d %im, %f, %c {activation = "relu", alpha = 0.2, dilations = [1, 1], has_bias = true, padding = "same", pads = [0, 0, 0, 0], strides = [1, 1]} @ "cnn.ts":2:1
  %1: f32[batch,5,5,3] = step %0 {alpha = 0} @ "cnn.ts":9:1
  %2: f32[batch,5,5,3] = mul %dy, %1
  %3: f32[batch,5,5,3] = step %0 {alpha = 0} @ "cnn.ts":9:2
  %4: f32[batch,5,5,3] = add %0, %3
  return dx = %2, y = %4
}`);
    await expectSameValues(r.input, r.output, { backends: ['cpu'] });
  });

  it('negative: wasm (its fused relu turns NaN into 0) and an unknown backend leave the graph as it is', () => {
    checkGolden(`${RELU_GRAD('wasm')}// EXPECT: unchanged`);
    checkGolden(`${RELU_GRAD('cpu').replace(' backend=cpu', '')}// EXPECT: unchanged`);
  });

  it('tfjs-backend-wasm\'s fused relu still turns NaN into 0 (when it keeps NaN, set fusedReluKeepsNaN of wasm in runtime/backends/traits.ts)', async () => {
    await ensureBackend('wasm');
    const prev = tf.getBackend();
    await tf.setBackend('wasm');
    try {
      const [a, b, n] = [tf.tensor2d([NaN, 1], [2, 1]), tf.tensor2d([1], [1, 1]), tf.tensor1d([NaN])];
      const [fused, plain] = [tf.fused.matMul({ a, b, activation: 'relu' }), tf.relu(n)];
      expect(Array.from(await fused.data())).toEqual([0, 1]);
      expect(Array.from(await plain.data())).toEqual([NaN]);
      tf.dispose([a, b, n, fused, plain]);
    } finally {
      await tf.setBackend(prev);
    }
  });

  it('negative: step with alpha ≠ 0, a third reader, no relu, two relus, an activation already fused, a named result', () => {
    const g = parseGraph(`graph @f(%x: f32[batch,3], %w: f32[3,4]) {
  %0: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %1: f32[batch,4] = relu %0
  %2: f32[batch,4] = step %0 {alpha = 0.5}
  %3: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %4: f32[batch,4] = relu %3
  %5: f32[batch,4] = step %3 {alpha = 0}
  %6: f32[batch,4] = exp %3
  %7: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %8: f32[batch,4] = step %7 {alpha = 0}
  %9: f32[batch,4] = tanh %7
  %10: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %11: f32[batch,4] = relu %10
  %12: f32[batch,4] = relu %10
  %13: f32[batch,4] = step %10 {alpha = 0}
  %14: f32[batch,4] = fused_matmul %x, %w {activation = "elu", alpha = 0.2, has_bias = false, transpose_a = false, transpose_b = false}
  %15: f32[batch,4] = relu %14
  %16: f32[batch,4] = step %14 {alpha = 0}
  %h: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %17: f32[batch,4] = relu %h
  %18: f32[batch,4] = step %h {alpha = 0}
  %19: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %20: f32[batch,4] = relu %19
  return a = %1, b = %2, c = %4, d = %5, e = %6, f = %8, g = %9, i = %11, j = %12, k = %13, l = %15, m = %16, n = %17, o = %18, p = %20
}`);
    const ops = g.nodes.filter((n) => n.op === 'matmul' || n.op === 'fused_matmul');
    expect(ops.map((n) => { const m = matchStepOfRelu(g, n); return 'why' in m ? m.why : 'rewrites'; })).toEqual([
      'the result is read by step with alpha 0.5, not only by relu and step(alpha 0)',
      'the result is read by exp, not only by relu and step(alpha 0)',
      'the result is read by tanh, not only by relu and step(alpha 0)',
      'the result is read by 2 relus, not one',
      'fused_matmul already applies elu',
      'the result is named or an output',
      'no step reads the result',
    ]);
    // Nothing but the last matmul's relu fuses (the plain rule).
    const text = g.toString();
    const last = '  %19: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}\n  %20: f32[batch,4] = relu %19\n';
    expect(text).toContain(last);
    checkGolden(`// RUN: fuse-matmul-bias-act backend=cpu\n${text}\n// EXPECT:\n${text.replace(last,
      '  %20: f32[batch,4] = fused_matmul %x, %w {activation = "relu", alpha = 0.2, has_bias = false, transpose_a = false, transpose_b = false}\n')}`);
  });
});

describe('fuse-matmul-bias-act end to end: a tfjs-layers MLP train step on cpu', () => {
  it('relu fuses into both hidden fused_matmuls, the last bias fuses through its reshape; losses and weights equal eager within 1e-4', async () => {
    await tf.setBackend('cpu');
    const model = () => {
      const m = tfl.sequential({ layers: [
        tfl.layers.flatten({ inputShape: [4, 3] }),
        tfl.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tfl.initializers.glorotNormal({ seed: 1 }), biasInitializer: 'randomNormal' }),
        tfl.layers.dense({ units: 6, activation: 'relu', kernelInitializer: tfl.initializers.glorotNormal({ seed: 2 }) }),
        tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotNormal({ seed: 3 }) }),
      ] });
      return m;
    };
    const [me, mc] = [model(), model()];
    mc.setWeights(me.getWeights());
    const loss = (m: tfl.Sequential, x: tf.Tensor, l: tf.Tensor) =>
      tf.mean(tfl.metrics.categoricalCrossentropy(tf.oneHot(l as tf.Tensor1D, 3), m.apply(x) as tf.Tensor)) as tf.Scalar;
    const [oe, oc] = [tf.train.adam(0.01), tf.train.adam(0.01)];
    const step = gc.compile((x: tf.Tensor, l: tf.Tensor) => oc.minimize(() => loss(mc, x, l), true)!,
      { inputs: [gc.spec(['batch', 4, 3]), gc.spec(['batch'], 'int32')], backend: 'cpu' });

    const nodes = step.graph.nodes;
    const mms = nodes.filter((n) => n.op === 'fused_matmul');
    expect(mms.map((n) => [n.attrs.activation, n.attrs.has_bias])).toEqual([['relu', true], ['relu', true], ['linear', true]]);
    expect(nodes.filter((n) => n.op === 'relu')).toEqual([]);
    // The softmax reads the reshaped fused_matmul directly (no add between).
    const sm = nodes.find((n) => n.op === 'softmax')!;
    expect(sm.inputs[0]!.producer?.op).toBe('reshape');
    expect(sm.inputs[0]!.producer?.inputs[0]!.producer).toBe(mms[2]);

    for (let i = 0; i < 10; i++) {
      const x = tf.randomNormal([5, 4, 3], 0, 1, 'float32', 50 + i);
      const l = tf.tensor1d([0, 1, 2, 1, i % 3], 'int32');
      const le = oe.minimize(() => loss(me, x, l), true)!;
      const lc = (await step(x, l)) as tf.Tensor;
      expect(Math.abs(lc.dataSync()[0]! - le.dataSync()[0]!)).toBeLessThan(1e-4);
      tf.dispose([x, l, le, lc]);
    }
    const [we, wc] = [me.getWeights(), mc.getWeights()];
    we.forEach((w, k) => expect(tf.max(tf.abs(tf.sub(w, wc[k]!))).dataSync()[0]!).toBeLessThan(1e-4));
    oe.dispose();
    oc.dispose();
    me.dispose();
    mc.dispose();
  });
});
