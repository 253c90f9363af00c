/**
 * ONNX export: every traced graph below is exported, passes onnx.checker (full_check, one
 * python process for the whole file), and runs in onnxruntime-node with the numbers graphc's
 * own Session gives (≤ 1e-5 + 1e-5·|expected|), at two batch sizes. Plus: dim_param names,
 * the CNN's Transpose count, deterministic bytes, opsets 13 and 18, and located errors.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';
import { exportOnnx, GRAPHC_VERSION, toOnnx } from '../../../../exporters/onnx/export/export.js';
import { onnx } from '../../../../exporters/onnx/proto.js';
import { EXPORT_RULES, isUnsupported } from '../../../../exporters/onnx/export/rules.js';
import type { InputGen } from '../harness.js';
import { checkModels, compareWithSession, makeInputs, randomizeWeights, rng as rngFor, runOrt, testCnn } from '../harness.js';

type Fn = (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

interface Case {
  name: string;
  make: () => gc.Graph;
  gens?: Record<string, InputGen>;
  /** Values bound to the symbolic dims, one run per entry (default batch 1 and 5). */
  runs?: Record<string, number>[];
  /** IR ops the graph must contain (the case really covers them). */
  ops?: string[];
  opset?: number;
}

const CASES: Case[] = [];
const trace = (fn: Fn, specs: gc.TensorSpec[]) => () => gc.trace(fn, specs);
const add = (name: string, fn: Fn, specs: gc.TensorSpec[], extra: Partial<Case> = {}) => CASES.push({ name, make: trace(fn, specs), ...extra });
const B = (...dims: (number | string)[]) => gc.spec(['batch', ...dims]);
const consts = (shape: number[], seed: number, lo = -1, hi = 1) => tf.randomUniform(shape, lo, hi, 'float32', seed);

// ---- elementwise -------------------------------------------------------------------------------

add('unary math', (x) => [
  tf.abs(x), tf.acos(x), tf.asin(x), tf.atan(x), tf.atanh(x), tf.asinh(x), tf.ceil(x), tf.cos(x), tf.cosh(x), tf.elu(x),
  tf.erf(x), tf.exp(x), tf.expm1(x), tf.floor(x), tf.log1p(x), tf.neg(x), tf.relu(x), tf.relu6(tf.mul(x, 8)), tf.round(tf.mul(x, 3)),
  tf.selu(x), tf.sigmoid(x), tf.sign(x), tf.sin(x), tf.sinh(x), tf.softplus(x), tf.square(x), tf.tan(x), tf.tanh(x),
  tf.leakyRelu(x, 0.1), tf.step(x, 0.3), tf.clipByValue(x, -0.5, 0.25), tf.reciprocal(tf.add(x, 2)),
], [B(6)], { gens: { x: { range: [-0.95, 0.95] } }, ops: ['acos', 'expm1', 'log1p', 'step', 'clip', 'selu', 'relu6'] });

add('positive-domain unary', (x) => [tf.log(x), tf.sqrt(x), tf.rsqrt(x), tf.acosh(tf.add(x, 1)), tf.isNaN(tf.log(tf.sub(x, 1))), tf.isFinite(tf.div(1, tf.sub(x, x)))],
  [B(5)], { gens: { x: { range: [0.2, 3] } }, ops: ['rsqrt', 'is_nan', 'is_finite'] });

add('binary math with broadcasting', (x, y, z) => [
  tf.add(x, z), tf.sub(x, y), tf.mul(x, z), tf.div(x, y), tf.maximum(x, y), tf.minimum(x, z),
  tf.pow(tf.add(tf.abs(x), 0.5), z), tf.squaredDifference(x, z), tf.atan2(x, y), tf.prelu(x, tf.abs(z)),
  tf.floorDiv(x, y), tf.mod(x, y), tf.addN([x, tf.mul(x, 2), tf.neg(x)]),
], [B(3, 4), gc.spec([3, 1]), gc.spec([4])], { gens: { y: { minAbs: 0.3 } }, ops: ['atan2', 'prelu', 'floor_div', 'mod', 'squared_difference', 'add_n'] });

add('compare and select', (x, y) => {
  const rx = tf.round(tf.mul(x, 2)), ry = tf.round(tf.mul(y, 2));
  return [tf.greater(x, y), tf.less(x, y), tf.equal(rx, ry), tf.notEqual(rx, ry), tf.greaterEqual(rx, ry), tf.lessEqual(rx, ry),
    tf.logicalAnd(tf.greater(x, 0), tf.less(y, 0)), tf.logicalOr(tf.greater(x, 1), tf.less(y, -1)), tf.logicalXor(tf.greater(x, 0), tf.greater(y, 0)),
    tf.logicalNot(tf.greater(x, y)), tf.where(tf.greater(x, y), x, y)];
}, [B(4), B(4)], { ops: ['select', 'logical_and', 'logical_or', 'not_equal'] });

add('int32 arithmetic', (a, b) => [
  tf.add(a, b), tf.sub(a, b), tf.mul(a, b), tf.floorDiv(a, b), tf.floorDiv(a, tf.neg(b)), tf.mod(a, b), tf.mod(a, tf.neg(b)),
  tf.neg(a), tf.abs(a), tf.maximum(a, b), tf.relu(a), tf.cast(a, 'float32'), tf.cast(tf.greater(a, b), 'int32'), tf.sum(a, 1),
], [gc.spec(['batch', 4], 'int32'), gc.spec([4], 'int32')],
{ gens: { a: { range: [-9, 10] }, b: { range: [1, 5] } }, ops: ['floor_div', 'mod', 'cast'] });

// ---- matmul --------------------------------------------------------------------------------------

{
  const w = consts([5, 3], 1), w2 = consts([3, 5], 2), bias = consts([3], 3), w3 = consts([1, 5, 3], 4), alpha = consts([3], 5, 0.05, 0.3);
  add('matmul and fused_matmul', (x, x3) => [
    tf.matMul(x, w), tf.matMul(x, w2, false, true), tf.matMul(w2, x, false, true),
    tf.fused.matMul({ a: x, b: w, bias, activation: 'relu' }),
    tf.fused.matMul({ a: x, b: w2, transposeB: true, bias, activation: 'prelu', preluActivationWeights: alpha }),
    tf.fused.matMul({ a: x, b: w, activation: 'elu' }),
    tf.matMul(x3, w3), tf.fused.matMul({ a: x3, b: w3, bias, activation: 'sigmoid' }),
  ], [B(5), B(2, 5)], { ops: ['matmul', 'fused_matmul'] });
}

// ---- reductions, softmax ----------------------------------------------------------------------------

add('reductions', (x) => [
  tf.sum(x, 1), tf.mean(x, [1, 2]), tf.max(x, -1, true), tf.min(x, 0), tf.prod(x, 2), tf.argMax(x, 1), tf.argMin(x, 2),
  tf.all(tf.greater(x, -1.5), 1), tf.any(tf.greater(x, 1), 2), tf.cumsum(x, 1), tf.cumsum(x, 2, true, true), tf.logSumExp(x, 1), tf.sum(x),
], [B(4, 5)], { ops: ['reduce_sum', 'reduce_mean', 'reduce_max', 'reduce_min', 'reduce_prod', 'argmax', 'argmin', 'reduce_all', 'reduce_any', 'cumsum'] });

add('softmax and log_softmax', (x) => [tf.softmax(x), tf.logSoftmax(x), tf.softmax(tf.reshape(x, [-1, 2, 3]))], [B(6)], { ops: ['softmax'] });

// ---- shapes and data movement ----------------------------------------------------------------------

{
  const idx = tf.tensor1d([3, 0, 1, 3], 'int32');
  add('reshape, transpose, concat, slice, pad, tile, reverse, stack, split', (x) => [
    tf.reshape(x, [-1, 24]), tf.reshape(x, [-1, 12]), tf.transpose(x, [0, 2, 1]), tf.concat([x, tf.neg(x)], 2), tf.concat([x, x], 0),
    tf.slice(x, [0, 1, 2], [-1, 2, 3]), tf.stridedSlice(x, [0, 3, 0], [0, 0, 6], [1, -1, 2], 1, 1), tf.gather(x, idx, 1),
    tf.pad(x, [[0, 0], [1, 2], [0, 1]], 0.5), tf.tile(x, [1, 2, 1]), tf.reverse(x, [1, 2]),
    tf.stack([x, tf.exp(x)], 1), ...tf.unstack(tf.slice(x, [0, 0, 0], [-1, 2, 6]), 1), ...tf.split(x, [2, 4], 2),
    tf.expandDims(x, 1), tf.squeeze(tf.slice(x, [0, 0, 0], [-1, 1, 6]), [1]),
    tf.broadcastTo(tf.slice(x, [0, 0, 0], [-1, 1, 6]), [x.shape[0]!, 4, 6]),
  ], [B(4, 6)], { ops: ['reshape', 'transpose', 'concat', 'slice', 'strided_slice', 'gather', 'pad', 'tile', 'reverse', 'pack', 'unpack', 'split', 'broadcast_to'] });
}

add('gather with fed indices, one_hot', (x, i) => [tf.gather(x, i, 0), tf.oneHot(i, 6), tf.oneHot(tf.sub(i, tf.scalar(1, 'int32')), 4, 2, -1)],
  [gc.spec([6, 3]), gc.spec(['batch', 2], 'int32')],
  { gens: { i: { range: [0, 6] } }, ops: ['gather', 'one_hot'] });

add('unsorted_segment_sum', (x, ids) => tf.unsortedSegmentSum(x, ids as tf.Tensor1D, 4), [gc.spec([6, 3]), gc.spec([6], 'int32')],
  { gens: { ids: { range: [0, 4] } }, runs: [{}], ops: ['unsorted_segment_sum'] });

add('symbolic sizes: a mean over the batch, ones_like, zeros_like', (x) => [
  tf.losses.softmaxCrossEntropy(tf.oneHot(tf.argMax(x, 1), 4), x), tf.mean(x, 0), tf.add(tf.onesLike(x), tf.zerosLike(x)),
  tf.mul(tf.fill([x.shape[0]!, 4], 2.5), x),
], [B(4)], { ops: ['sym_const'] });

// ---- conv, pool, batch norm --------------------------------------------------------------------------

{
  const f = consts([3, 3, 3, 4], 11), dw = consts([3, 3, 3, 2], 12), bias = consts([4], 13);
  const mean = consts([3], 14), variance = consts([3], 15, 0.5, 2), offset = consts([3], 16), scale = consts([3], 17, 0.5, 1.5);
  const img = (x: tf.Tensor) => x as tf.Tensor4D;
  add('conv2d same / valid / strided / dilated', (x) => [
    tf.conv2d(img(x), f as tf.Tensor4D, 1, 'same'), tf.conv2d(img(x), f as tf.Tensor4D, 1, 'valid'),
    tf.conv2d(img(x), f as tf.Tensor4D, 2, 'same'), tf.conv2d(img(x), f as tf.Tensor4D, [2, 1], 'valid'),
    tf.conv2d(img(x), f as tf.Tensor4D, 1, 'same', 'NHWC', 2),
    tf.conv2d(img(x), f as tf.Tensor4D, 1, [[0, 0], [1, 0], [2, 1], [0, 0]]),
    tf.fused.conv2d({ x: img(x), filter: f as tf.Tensor4D, strides: 1, pad: 'same', bias, activation: 'relu6' }),
  ], [B(8, 7, 3)], { ops: ['conv2d', 'fused_conv2d'] });
  add('depthwise conv2d', (x) => [
    tf.depthwiseConv2d(img(x), dw as tf.Tensor4D, 1, 'same'), tf.depthwiseConv2d(img(x), dw as tf.Tensor4D, 2, 'valid'),
    tf.fused.depthwiseConv2d({ x: img(x), filter: dw as tf.Tensor4D, strides: 1, pad: 'valid', bias: consts([6], 18), activation: 'relu' }),
  ], [B(8, 8, 3)], { ops: ['depthwise_conv2d'] });
  add('pools', (x) => [
    tf.maxPool(img(x), 2, 2, 'valid'), tf.maxPool(img(x), 3, 2, 'same'), tf.avgPool(img(x), 2, 2, 'valid'), tf.avgPool(img(x), 3, 1, 'same'),
    tf.avgPool(img(x), 3, 2, 'same'),
  ], [B(7, 8, 3)], { ops: ['max_pool', 'avg_pool'] });
  add('gradient kernels: conv2d, depthwise, max and average pools (tf.grads)', (x, k, d) => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
    const y = tf.depthwiseConv2d(tf.conv2d(img(a), img(b), 2, 'same'), img(c), 1, 'valid');
    return tf.add(tf.sum(tf.maxPool(y, 2, 2, 'same')), tf.sum(tf.avgPool(y, 3, 1, 'same')));
  })([x, k, d]), [B(9, 8, 3), gc.spec([3, 3, 3, 4]), gc.spec([2, 2, 4, 2])],
  { ops: ['conv2d_backprop_input', 'conv2d_backprop_filter', 'depthwise_conv2d_backprop_input', 'depthwise_conv2d_backprop_filter', 'max_pool_grad', 'avg_pool_grad'] });
  add('batch_norm', (x, y) => [
    tf.batchNorm(x, mean, variance, offset, scale, 0.01), tf.batchNorm(x, mean, variance), tf.batchNorm(y, mean, variance, offset, scale),
    tf.batchNorm(x, tf.reshape(mean, [1, 1, 3]), tf.reshape(variance, [1, 1, 3]), undefined, tf.reshape(scale, [1, 1, 3])),
    tf.batchNorm(x, consts([5, 1], 19), consts([5, 1], 20, 0.5, 2), consts([5, 1], 21), consts([5, 1], 22)),
  ], [B(4, 5, 3), B(3)], { ops: ['batch_norm'] });
  add('conv2d with symbolic spatial dims', (x) => tf.relu(tf.conv2d(img(x), f as tf.Tensor4D, 1, 'same')), [gc.spec(['batch', 'h', 'w', 3])],
    { runs: [{ batch: 1, h: 5, w: 6 }, { batch: 3, h: 8, w: 4 }] });
}

// ---- graphs written as IR text: ops and forms a tfjs trace does not give directly --------------------------

const vals = (n: number, seed: number, lo = -1, hi = 1) => {
  const r = rngFor(seed);
  return Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * r()));
};
const dense = (shape: number[], seed: number, lo = -1, hi = 1) =>
  `dense<f32[${shape.join(',')}]> [${vals(shape.reduce((p, d) => p * d, 1), seed, lo, hi).join(', ')}]`;
const addIr = (name: string, text: string, extra: Partial<Case> = {}) => CASES.push({ name, make: () => gc.parseGraph(text), ...extra });

addIr('IR: log_softmax, elu_grad, identity, softmax over axis 0, is_inf, add_n broadcasting, logical_xor', `graph @f(%x: f32[batch,6], %y: f32[batch,6]) {
  %a: f32[batch,6] = log_softmax %x {axis = 1}
  %b: f32[batch,6] = elu_grad %x, %y
  %c: f32[batch,6] = identity %x
  %d: f32[batch,6] = softmax %x {axis = 0}
  %0: f32[batch,6] = div %x, %y
  %e: bool[batch,6] = is_inf %0
  %1: f32[6] = const {value = ${dense([6], 40)}}
  %g: f32[batch,6] = add_n %x, %1, %y
  %h: f32[batch,6] = cumsum %x {axis = 1, exclusive = true, reverse = false}
  %z0: f32[] = const {value = dense<f32[]> [0]}
  %p: bool[batch,6] = greater %x, %z0
  %q: bool[batch,6] = less %y, %z0
  %xo: bool[batch,6] = logical_xor %p, %q
  return a = %a, b = %b, c = %c, d = %d, e = %e, g = %g, h = %h, xo = %xo, "dense/BiasAdd:0" = %x
}`);

addIr('IR: fused_elementwise (temps, literals, attrs, a broadcast operand, a bare operand) expands to standard ops', `graph @fe(%x: f32[batch,6], %b: f32[6]) {
  %0: f32[batch,6] = fused_elementwise %x, %b {expr = "t0 = sigmoid(add(mul($0, 0.5), $1)); t1 = leaky_relu{alpha=0.1}(sub(t0, 0.25)); add(mul(t1, t1), clip{max=0.75, min=-0.5}(tanh($0)))"}
  %1: f32[batch,6] = fused_elementwise %x, %b {expr = "add(prelu($0, $1), maximum(elu($0), squared_difference($0, -0.5)))"}
  %2: f32[batch,6] = fused_elementwise %x {expr = "$0"}
  return y = %0, z = %1, w = %2
}`, { ops: ['fused_elementwise'] });

addIr('IR: symbolic fill, sym_const, range, reshape with two symbols, split and slice by symbols', `graph @g(%x: f32[batch,3], %z: f32[batch,n]) {
  %0: f32[batch,3] = fill {dtype = f32, shape = [batch, 3], value = 1.5}
  %1: f32[batch,3] = add %x, %0
  %2: i32[] = sym_const {dtype = i32, value = 2*batch+1}
  %3: f32[] = sym_const {dtype = f32, value = n}
  %4: f32[5] = range {dtype = f32, start = 0.5, step = 0.3, stop = 2}
  %5: f32[2*batch,3] = concat %x, %1 {axis = 0}
  %6: f32[3,2*batch] = transpose %5 {perm = [1, 0]}
  %7: f32[n,batch] = reshape %z {shape = [n, batch]}
  %8: f32[batch,3], %9: f32[batch,3] = split %5 {axis = 0, sizes = [batch, batch]}
  %10: f32[batch,3,2] = pack %x, %9 {axis = 2}
  %11: f32[batch-1,3] = slice %x {begin = [1, 0], size = [batch-1, 3]}
  %12: f32[batch,2] = strided_slice %x {begin = [0, 2], end = [batch, -1], strides = [1, -2]}
  %13: f32[3] = const {value = ${dense([3], 41)}}
  %14: f32[batch,3] = broadcast_to %13 {shape = [batch, 3]}
  %15: f32[batch,n] = mul %z, %3
  return o1 = %1, o2 = %2, o4 = %4, o6 = %6, o7 = %7, o8 = %8, o10 = %10, o11 = %11, o12 = %12, o14 = %14, o15 = %15
}`, { runs: [{ batch: 2, n: 3 }, { batch: 5, n: 1 }] });

addIr('IR: gather with batch_dims, int32 matmul, reduce_mean of int32, one_hot to f32, int segment sum', `graph @h(%x: f32[batch,4,3], %i: i32[batch,2], %m: i32[batch,3]) {
  %0: f32[batch,2,3] = gather %x, %i {axis = 1, batch_dims = 1}
  %1: i32[3,2] = const {value = dense<i32[3,2]> [1, -2, 3, 0, 2, 1]}
  %2: i32[batch,2] = matmul %m, %1 {transpose_a = false, transpose_b = false}
  %3: f32[batch] = reduce_mean %m {axes = [1], keep_dims = false}
  %4: f32[batch,2,5] = one_hot %i {depth = 5, dtype = f32, off_value = -1, on_value = 3}
  %5: f32[4,3] = unsorted_segment_sum %0, %i {num_segments = 4}
  %6: bool[batch,3] = cast %m {dtype = bool}
  %7: i32[batch,2] = slice %m {begin = [0, 0], size = [batch, 2]}
  %8: i32[4] = unsorted_segment_sum %7, %i {num_segments = 4}
  return o0 = %0, o2 = %2, o3 = %3, o4 = %4, o5 = %5, o6 = %6, o8 = %8
}`, { gens: { i: { range: [0, 4] }, m: { range: [-4, 5] } } });

addIr('IR: fused conv with prelu and a late bias, explicit pads, fused depthwise leakyrelu, fused matmul on rank 3', `graph @k(%x: f32[batch,6,6,2], %v: f32[batch,2,5]) {
  %w: f32[3,3,2,4] = const {value = ${dense([3, 3, 2, 4], 42)}}
  %b: f32[1,1,1,4] = const {value = ${dense([1, 1, 1, 4], 43)}}
  %a: f32[4] = const {value = ${dense([4], 44, 0.05, 0.4)}}
  %0: f32[batch,6,6,4] = fused_conv2d %x, %w, %b, %a {activation = "prelu", alpha = 0.2, dilations = [1, 1], has_bias = true, padding = "explicit", pads = [1, 1, 2, 0], strides = [1, 1]}
  %dw: f32[2,2,2,3] = const {value = ${dense([2, 2, 2, 3], 45)}}
  %db: f32[6] = const {value = ${dense([6], 46)}}
  %1: f32[batch,3,3,6] = fused_depthwise_conv2d %x, %dw, %db {activation = "leakyrelu", alpha = 0.3, dilations = [1, 1], has_bias = true, padding = "same", pads = [0, 0, 0, 0], strides = [2, 2]}
  %mw: f32[5,3] = const {value = ${dense([5, 3], 47)}}
  %mb: f32[2,3] = const {value = ${dense([2, 3], 48)}}
  %2: f32[batch,2,3] = fused_matmul %v, %mw, %mb {activation = "leakyrelu", alpha = 0.1, has_bias = true, transpose_a = false, transpose_b = false}
  %3: f32[batch,5,2] = transpose %v {perm = [0, 2, 1]}
  %4: f32[batch,2,3] = fused_matmul %3, %mw {activation = "relu6", alpha = 0.2, has_bias = false, transpose_a = true, transpose_b = false}
  return o0 = %0, o1 = %1, o2 = %2, o4 = %4
}`);

// ---- models --------------------------------------------------------------------------------------------

/** Replaces every weight by a seeded random one (BN stats included), so that a dropped bias or swapped BN operand shows. */

function fashionMlp(): tfl.LayersModel {
  const m = tfl.sequential({ layers: [
    tfl.layers.flatten({ inputShape: [28, 28] }),
    tfl.layers.dense({ units: 300, activation: 'relu' }),
    tfl.layers.dense({ units: 100, activation: 'relu' }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
  randomizeWeights(m, 900);
  return m;
}

let cnnModel: tfl.LayersModel | undefined, mlpModel: tfl.LayersModel | undefined;
const cnnGraph = () => gc.trace((x: tf.Tensor) => (cnnModel ??= testCnn()).predict(x) as tf.Tensor, [gc.spec(['batch', 12, 12, 3])]);
const mlpGraph = () => gc.trace((x: tf.Tensor) => (mlpModel ??= fashionMlp()).predict(x) as tf.Tensor, [gc.spec(['batch', 28, 28])]);
CASES.push({ name: 'tfjs-layers CNN (conv, BN, maxpool, dropout, flatten, dense)', make: cnnGraph, runs: [{ batch: 1 }, { batch: 6 }], gens: { x: { range: [0, 1] } } });
CASES.push({ name: 'Fashion-MNIST MLP', make: mlpGraph, runs: [{ batch: 1 }, { batch: 32 }], gens: { x: { range: [0, 1] } } });
for (const opset of [13, 18]) {
  CASES.push({ name: `tfjs-layers CNN at opset ${opset}`, make: cnnGraph, opset, gens: { x: { range: [0, 1] } } });
  CASES.push({ name: `Fashion-MNIST MLP at opset ${opset}`, make: mlpGraph, opset, gens: { x: { range: [0, 1] } } });
  CASES.push({ name: `reductions and shapes at opset ${opset}`, opset, make: trace((x) => [tf.mean(x, [1, 2]), tf.max(x, 1), tf.sum(x, -1), tf.softmax(x), ...tf.split(x, 2, 1), tf.argMax(x, 2)], [B(4, 5)]) });
}

// ---- the run --------------------------------------------------------------------------------------------

interface Exported { graph: gc.Graph; bytes: Uint8Array }
const exported = new Map<string, Exported>();
let checks = new Map<string, string | null>();

const decode = (bytes: Uint8Array) => onnx.ModelProto.decode(bytes);
const dimsOf = (vi: onnx.IValueInfoProto) => vi.type!.tensorType!.shape!.dim!.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));

describe('ONNX export: checker, onnxruntime ≡ graphc Session', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    const models = new Map<string, Uint8Array>();
    for (const c of CASES) {
      const graph = c.make();
      const bytes = toOnnx(graph, c.opset === undefined ? {} : { opset: c.opset });
      exported.set(c.name, { graph, bytes });
      models.set(c.name, bytes);
    }
    checks = checkModels(models);
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const { graph, bytes } = exported.get(c.name)!;
      const ops = new Set(graph.nodes.map((n) => n.op));
      for (const op of c.ops ?? []) expect(ops, `graph has no ${op}`).toContain(op);
      const check = checks.get(c.name) ?? null;
      // onnx 1.12 (Debian) has no opset-18 schemas: there the onnxruntime run is the check.
      if (!(c.opset === 18 && check?.startsWith('skipped:'))) expect(check).toBeNull();
      const runs = c.runs ?? [{ batch: 1 }, { batch: 5 }];
      for (const [k, bindings] of runs.entries()) {
        const inputs = makeInputs(graph, bindings, 31 * k + 7, c.gens);
        expect(await compareWithSession(graph, bytes, inputs)).toEqual([]);
      }
    });
  }
});

describe('ONNX export: model contents', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  it('every op with an export rule is run by some case above (random ops: by the distribution test below; control flow: control_flow_export.test.ts)', () => {
    const seen = new Set<string>(['random_uniform', 'random_normal', 'cond', 'while_loop', 'scan']);
    for (const { graph } of exported.values()) for (const n of graph.nodes) seen.add(n.op);
    const missing = gc.OP_NAMES.filter((op) => !isUnsupported(EXPORT_RULES[op]) && !seen.has(op));
    expect(missing).toEqual([]);
  });

  it('the comparison catches a wrong model', async () => {
    const g = gc.trace((x: tf.Tensor) => tf.relu(x), [gc.spec(['batch', 4])]);
    const wrong = toOnnx(gc.trace((x: tf.Tensor) => tf.sigmoid(x), [gc.spec(['batch', 4])]));
    expect((await compareWithSession(g, wrong, makeInputs(g, { batch: 2 }, 1))).length).toBe(1);
  });

  it('gc.toOnnx and a compiled function\'s toOnnx export its graph', async () => {
    const f = gc.compile((x: tf.Tensor) => tf.tanh(tf.mul(x, 3)), { inputs: [gc.spec(['batch', 2])], backend: 'cpu' });
    const bytes = f.toOnnx({ opset: 13 });
    expect(Buffer.from(bytes).equals(Buffer.from(gc.toOnnx(f.graph, { opset: 13 })))).toBe(true);
    const out = await runOrt(bytes, { x: { dtype: 'float32', shape: [1, 2], data: Float32Array.from([0.1, -0.2]) } }, ['output_0']);
    expect(Array.from(out.output_0!.data as Float32Array).map((v) => Number(v.toFixed(5)))).toEqual([Math.tanh(0.3), Math.tanh(-0.6)].map((v) => Number(v.toFixed(5))));
    expect(() => gc.compile((x: tf.Tensor) => x).toOnnx()).toThrow(/has not been traced yet/);
  });

  // fuzz seed 7352: any over a zero-size axis was exported as ReduceMax, whose empty result in
  // ONNX Runtime is the lowest int32 (nonzero): true where tfjs gives false.
  it('any / all over an empty axis are false / true in onnxruntime', async () => {
    const g = gc.trace((m: tf.Tensor) => [tf.any(m, [0]), tf.all(m, [0]), tf.any(m, 1)], [gc.spec(['batch', 2], 'bool')]);
    const run = async (shape: number[], data: number[]) => {
      const out = await runOrt(toOnnx(g), { [g.inputs[0]!.name!]: { dtype: 'bool', shape, data: Uint8Array.from(data) } }, g.outputs.map((o) => o.name));
      return g.outputs.map((o) => Array.from(out[o.name]!.data as Uint8Array).map(Number));
    };
    expect(await run([0, 2], [])).toEqual([[0, 0], [1, 1], []]);
    expect(await run([3, 2], [0, 0, 0, 1, 1, 1])).toEqual([[1, 1], [0, 0], [0, 1, 1]]);
  });

  // fuzz seed 12091: ONNX Runtime broadcasts matmul batch dims as max(a, b) and refuses a batch
  // of 0 against 1 ("left operand cannot broadcast on dim 0"); the export expands the operand
  // that broadcasts where a batch dim may be 0.
  it('batched matmuls that broadcast run in onnxruntime with an empty batch', async () => {
    const w = tf.tensor([1, 2, 3, 4], [1, 2, 2]);
    const g = gc.trace((x: tf.Tensor, v: tf.Tensor) => [tf.matMul(tf.expandDims(x, 2), v, true, true), tf.matMul(v, tf.expandDims(x, 2), true), tf.matMul(w, tf.expandDims(x, 1), false, true)],
      [gc.spec(['batch', 2]), gc.spec([2, 2])]);
    const run = async (b: number, xs: number[]) => {
      const out = await runOrt(toOnnx(g), { [g.inputs[0]!.name!]: { dtype: 'float32', shape: [b, 2], data: Float32Array.from(xs) },
        [g.inputs[1]!.name!]: { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) } }, g.outputs.map((o) => o.name));
      return g.outputs.map((o) => `[${out[o.name]!.dims.join(',')}] ${Array.from(out[o.name]!.data as Float32Array).join(',')}`);
    };
    expect(await run(0, [])).toEqual(['[0,1,2] ', '[0,2,1] ', '[0,2,1] ']);
    expect(await run(2, [1, 0, 0, 1])).toEqual(['[2,1,2] 1,3,2,4', '[2,2,1] 1,2,3,4', '[2,2,1] 1,3,2,4']);
  });

  it('producer_version is the package version', () => {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../../package.json', import.meta.url)), 'utf8')) as { version: string };
    expect(GRAPHC_VERSION).toBe(pkg.version);
  });

  it('inputs and outputs keep the graph names; symbolic dims are dim_param', () => {
    const m = decode(toOnnx(mlpGraph()));
    expect(m.graph!.input!.map((i) => i.name)).toEqual(['x']);
    expect(m.graph!.output!.map((o) => o.name)).toEqual(['output_0']);
    expect(dimsOf(m.graph!.input![0]!)).toEqual(['batch', 28, 28]);
    expect(dimsOf(m.graph!.output![0]!)).toEqual(['batch', 10]);
    expect(m.producerName).toBe('graphc');
    expect(m.producerVersion).toBe(GRAPHC_VERSION);
    expect(Number(m.irVersion)).toBe(8);
    expect(m.opsetImport!.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    // Variables are initializers, not inputs.
    expect(m.graph!.initializer!.length).toBeGreaterThanOrEqual(6);
  });

  it('one symbol is one dim_param across inputs and outputs; affine dims are written as their text', () => {
    const g = gc.trace((a: tf.Tensor, b: tf.Tensor) => [tf.add(a, b), tf.reshape(a, [-1, 2]), tf.concat([a, b], 0)], [gc.spec(['n', 4]), gc.spec(['n', 4])]);
    const m = decode(toOnnx(g));
    expect(m.graph!.input!.map(dimsOf)).toEqual([['n', 4], ['n', 4]]);
    expect(m.graph!.output!.map(dimsOf)).toEqual([['n', 4], ['2*n', 2], ['2*n', 4]]);
  });

  it('the CNN exports with at most 2 Transpose nodes and no custom domains', () => {
    const m = decode(toOnnx(cnnGraph()));
    const ops = m.graph!.node!.map((n) => n.opType);
    expect(ops.filter((o) => o === 'Transpose').length).toBeLessThanOrEqual(2);
    expect(ops).toContain('Conv');
    expect(ops).toContain('BatchNormalization');
    expect(ops).toContain('MaxPool');
    expect(m.graph!.node!.every((n) => !n.domain)).toBe(true);
  });

  it('exports are byte-identical: the same graph twice, and two traces of one function', () => {
    const g = cnnGraph();
    expect(Buffer.from(toOnnx(g)).equals(Buffer.from(toOnnx(g)))).toBe(true);
    expect(Buffer.from(toOnnx(cnnGraph())).equals(Buffer.from(toOnnx(cnnGraph())))).toBe(true);
    expect(Buffer.from(toOnnx(g, { opset: 13 })).equals(Buffer.from(toOnnx(g, { opset: 13 })))).toBe(true);
  });

  it('opset selects the IR version; an unsupported opset is a clear error', () => {
    const g = mlpGraph();
    expect(Number(decode(toOnnx(g, { opset: 13 })).irVersion)).toBe(7);
    expect(Number(decode(toOnnx(g, { opset: 15 })).irVersion)).toBe(8);
    expect(Number(decode(toOnnx(g, { opset: 18 })).irVersion)).toBe(8);
    expect(() => toOnnx(g, { opset: 12 })).toThrow(/opset 12 is not supported.*\n.*13, 14, 15, 16, 17, 18/s);
    expect(() => toOnnx(g, { opset: 19 })).toThrow(gc.GcError);
  });

  it("each node's doc_string is the user's source line", () => {
    const g = gc.trace((x: tf.Tensor) => tf.relu(tf.mul(x, 2)), [gc.spec([3])]); // the traced line
    const line = lineOf('// the traced line');
    const m = decode(toOnnx(g));
    const docs = m.graph!.node!.map((n) => n.docString);
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) expect(d).toMatch(new RegExp(`test/exporters/onnx/export/export\\.test\\.ts:${line}:\\d+$`));
  });

  it("variables become initializers named as the user's variables; gc.name values keep their names", () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]), true, 'my/var:0');
    const g = gc.trace((x: tf.Tensor) => tf.add(gc.name(tf.mul(x, v), 'scaled'), 1), [gc.spec(['batch', 3])]);
    const r = exportOnnx(g);
    const inits = [...r.graph.initializers.keys()];
    const varName = r.names.toOnnx.get(g.states[0]!.value.name!)!;
    expect(inits).toContain(varName);
    expect(varName).toBe('my/var:0');
    expect(r.graph.inputs.map((i) => i.name)).toEqual(['x']);
    expect(r.names.toOnnx.get('scaled')).toBe('scaled');
    expect(r.names.fromOnnx.get('output_0')).toBe('output_0');
    v.dispose();
  });

  it('random ops stay random ops (RandomUniform / RandomNormal) with their parameters', async () => {
    const g = gc.trace((x: tf.Tensor) => [tf.dropout(x, 0.5), tf.add(tf.mul(x, 0), tf.randomUniform([x.shape[0]!, 50], 3, 4)),
      tf.truncatedNormal([400], 10, 2), tf.randomNormal([3, 4], 0, 1, 'float32', 7)], [gc.spec(['batch', 50])]);
    const bytes = toOnnx(g);
    const ops = decode(bytes).graph!.node!.map((n) => n.opType);
    expect(ops).toContain('RandomUniformLike');
    expect(ops).toContain('RandomNormal');
    expect(checkModels(new Map([['random', bytes]])).get('random')).toBeNull();
    const x = new Float32Array(4 * 50).fill(1);
    const out = await runOrt(bytes, { x: { dtype: 'float32', shape: [4, 50], data: x } }, ['output_0', 'output_1', 'output_2', 'output_3']);
    const drop = Array.from(out.output_0!.data as Float32Array);
    expect(drop.every((v) => v === 0 || Math.abs(v - 2) < 1e-6)).toBe(true);
    expect(drop.filter((v) => v === 0).length).toBeGreaterThan(40);
    expect(drop.filter((v) => v !== 0).length).toBeGreaterThan(40);
    const u = Array.from(out.output_1!.data as Float32Array);
    expect(out.output_1!.dims).toEqual([4, 50]);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...u)).toBeLessThan(4);
    const tn = Array.from(out.output_2!.data as Float32Array);
    expect(Math.min(...tn)).toBeGreaterThanOrEqual(6 - 1e-5);
    expect(Math.max(...tn)).toBeLessThanOrEqual(14 + 1e-5);
    expect(Math.abs(tn.reduce((p, v) => p + v, 0) / tn.length - 10)).toBeLessThan(0.5);
    expect(out.output_3!.dims).toEqual([3, 4]);
  });
});

/** The 1-based line of this file that contains `marker`, for checking source locations. */
function lineOf(marker: string): number {
  const src = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  const i = src.findIndex((l) => l.includes(marker) && !l.includes('lineOf('));
  return i + 1;
}

describe('ONNX export: errors name the op and the user line', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  it("a training step (assign) is refused with state: 'initializers'", () => {
    const w = tf.variable(tf.ones([3]), true, 'export_w');
    const opt = tf.train.sgd(0.1);
    const g = gc.trace((x: tf.Tensor) => opt.minimize(() => tf.sum(tf.mul(x, w)) as tf.Scalar, true, [w])!, [gc.spec([3])]); // the training line
    let err: unknown;
    try { toOnnx(g, { state: 'initializers' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(gc.GcError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/assign to variable 'export_w': cannot be exported to ONNX: .*training step/);
    expect(msg).toContain(`--> test/exporters/onnx/export/export.test.ts:${lineOf('// the training line')}:`);
    expect(msg).toMatch(/help: export with state: 'inputs'/);
    w.dispose();
  });

  it('an op that its rule cannot write is refused with the reason', () => {
    const idx = tf.tensor2d([[0, 2], [1, 1]], [2, 2], 'int32');
    const g = gc.trace((x: tf.Tensor) => tf.gather(x, idx, 2, 1), [gc.spec([2, 3, 4])]); // the gather line
    let err: unknown;
    try { toOnnx(g); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(gc.GcError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/gather: cannot be exported to ONNX: gather with batch_dims 1 and axis 2 ≠ batch_dims has no ONNX equivalent/);
    expect(msg).toContain(`--> test/exporters/onnx/export/export.test.ts:${lineOf('// the gather line')}:`);
    expect(msg).toMatch(/node: .*gather/);
    idx.dispose();
  });
});
