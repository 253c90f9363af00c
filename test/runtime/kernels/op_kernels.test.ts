import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dim } from '../../../ir/dim.js';
import { sym } from '../../../ir/dim.js';
import type { Attrs, OpName } from '../../../ir/ops.js';
import { AttrReader, hasRegions, OP_NAMES } from '../../../ir/ops.js';
import { tensorData } from '../../../ir/tensor_data.js';
import { evalNodeConst } from '../../../runtime/eval_const.js';
import type { ExecCtx } from '../../../runtime/kernels/kernel_types.js';
import { isUnsupported, OP_KERNELS } from '../../../runtime/kernels/op_kernels.js';

const bindings: Record<string, number> = { batch: 2, n: 3 };
const dimOf = (d: Dim): number => (typeof d === 'number' ? d : d.k * bindings[d.sym]! + d.c);
const ctx: ExecCtx = { backend: 'cpu', dim: dimOf, dims: (ds) => ds.map(dimOf), seedFor: (s) => (s >= 0 ? s : undefined) };

function run(op: OpName, ins: tf.Tensor[], attrs: Attrs = {}): tf.Tensor[] {
  const k = OP_KERNELS[op];
  if (isUnsupported(k)) throw new Error(`${op} unsupported: ${k.unsupported}`);
  const r = k(ins, new AttrReader(op, attrs), ctx);
  return Array.isArray(r) ? r : [r];
}
const run1 = (op: OpName, ins: tf.Tensor[], attrs: Attrs = {}): tf.Tensor => {
  const [r, ...rest] = run(op, ins, attrs);
  expect(rest).toHaveLength(0);
  return r!;
};

let seed = 1;
/** Random values in [-2, -0.25] ∪ [0.25, 2]: never zero. */
function rnd(shape: number[]): tf.Tensor {
  const u = tf.randomUniform(shape, 0.25, 2, 'float32', seed++);
  const s = tf.sign(tf.randomUniform(shape, -1, 1, 'float32', seed++));
  return tf.mul(u, tf.where(tf.equal(s, 0), tf.onesLike(s), s));
}

function expectClose(actual: tf.Tensor, expected: tf.Tensor | number[], tol = 1e-5): void {
  const e = Array.isArray(expected) ? tf.tensor(expected, actual.shape, actual.dtype) : expected;
  expect(actual.shape).toEqual(e.shape);
  expect(actual.dtype).toBe(e.dtype);
  const a = Array.from(actual.dataSync()), b = Array.from(e.dataSync());
  a.forEach((v, i) => {
    const w = b[i]!;
    if (Number.isNaN(w)) expect(v).toBeNaN();
    else expect(Math.abs(v - w)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w)));
  });
}

const sum = (t: tf.Tensor): number => tf.sum(t).dataSync()[0]!;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('OP_KERNELS', () => {
  it('has a kernel for every op, and none is unsupported but control flow (run region by region, runtime/control_flow.ts)', () => {
    for (const op of OP_NAMES) {
      expect(OP_KERNELS[op], op).toBeDefined();
      expect(isUnsupported(OP_KERNELS[op]), op).toBe(hasRegions(op));
    }
    expect(Object.keys(OP_KERNELS).sort()).toEqual([...OP_NAMES].sort());
  });

  it('unary ops', () => {
    const x = rnd([2, 3]);
    expectClose(run1('exp', [x]), tf.exp(x));
    expectClose(run1('sigmoid', [x]), tf.sigmoid(x));
    expectClose(run1('leaky_relu', [x], { alpha: 0.3 }), tf.leakyRelu(x, 0.3));
    expectClose(run1('step', [x], { alpha: 0.5 }), tf.step(x, 0.5));
    expectClose(run1('clip', [x], { min: -0.5, max: 1 }), tf.clipByValue(x, -0.5, 1));
    expectClose(run1('cast', [x], { dtype: 'int64' }), tf.cast(x, 'int32'));
    expect(run1('is_nan', [tf.tensor([1, NaN])]).dtype).toBe('bool');
  });

  it('clip with min = max keeps NaN (the kernel, not tf.clipByValue)', () => {
    expectClose(run1('clip', [tf.tensor([NaN, 3, -3])], { min: 1, max: 1 }), [NaN, 1, 1]);
  });

  it('identity returns a new tensor object', () => {
    const x = rnd([2]);
    const y = run1('identity', [x]);
    expect(y).not.toBe(x);
    x.dispose();
    expect(y.dataSync()).toHaveLength(2);
  });

  it('binary ops broadcast', () => {
    const a = rnd([2, 3]), b = rnd([3]);
    expectClose(run1('add', [a, b]), tf.add(a, b));
    expectClose(run1('sub', [b, a]), tf.sub(b, a));
    expectClose(run1('squared_difference', [a, b]), tf.squaredDifference(a, b));
    expectClose(run1('prelu', [a, b]), tf.prelu(a, b));
    expectClose(run1('add_n', [a, b, tf.scalar(1)]), tf.add(tf.add(a, b), 1));
  });

  it('div is RealDiv: int32 truncates toward zero, unlike tf.div (FloorDiv)', () => {
    const a = tf.tensor([7, -7, 6], [3], 'int32'), b = tf.tensor([2, 2, -4], [3], 'int32');
    expectClose(run1('div', [a, b]), tf.tensor([3, -3, -1], [3], 'int32'));
    expectClose(tf.div(a, b), tf.tensor([3, -4, -2], [3], 'int32'));
    expectClose(run1('floor_div', [a, b]), tf.tensor([3, -4, -2], [3], 'int32'));
    const x = rnd([4]), y = rnd([4]);
    expectClose(run1('div', [x, y]), tf.div(x, y));
  });

  it('compare and select', () => {
    const a = rnd([2, 3]), b = rnd([2, 1]);
    const c = run1('less', [a, b]);
    expect(c.dtype).toBe('bool');
    expectClose(c, tf.less(a, b));
    expectClose(run1('select', [tf.tensor([true, false, true], [3], 'bool'), a, b]),
      tf.where(tf.broadcastTo(tf.tensor([true, false, true], [3], 'bool'), [2, 3]), a, tf.broadcastTo(b, [2, 3])));
  });

  it('reductions, argmax, cumsum, softmax', () => {
    const x = tf.tensor([[1, 5, 2], [-4, 3, 9]]);
    expectClose(run1('reduce_sum', [x], { axes: [1], keep_dims: true }), tf.tensor([[8], [8]]));
    expectClose(run1('reduce_mean', [x], { axes: [0], keep_dims: false }), [-1.5, 4, 5.5]);
    expectClose(run1('reduce_max', [x], { axes: [0, 1], keep_dims: false }), tf.scalar(9));
    expectClose(run1('reduce_prod', [x], { axes: [1], keep_dims: false }), [10, -108]);
    expectClose(run1('argmax', [x], { axis: 1 }), tf.tensor([1, 2], [2], 'int32'));
    expectClose(run1('argmin', [x], { axis: 0 }), tf.tensor([1, 1, 0], [3], 'int32'));
    expectClose(run1('cumsum', [x], { axis: 1, exclusive: true, reverse: true }), tf.tensor([[7, 2, 0], [12, 9, 0]]));
    const r = rnd([3, 4]);
    expectClose(run1('softmax', [r], { axis: -1 }), tf.softmax(r));
    expectClose(run1('softmax', [r], { axis: 0 }), tf.div(tf.exp(r), tf.sum(tf.exp(r), 0, true)));
    expectClose(run1('log_softmax', [r], { axis: 0 }), tf.sub(r, tf.logSumExp(r, 0, true)));
  });

  it('matmul with transposes, fused_matmul with bias + relu', () => {
    const a = rnd([4, 3]), b = rnd([5, 4]);
    expectClose(run1('matmul', [a, b], { transpose_a: true, transpose_b: true }), tf.matMul(tf.transpose(a), tf.transpose(b)));
    const x = rnd([2, 3]), w = rnd([3, 4]), bias = rnd([4]);
    expectClose(run1('fused_matmul', [x, w, bias], { transpose_a: false, transpose_b: false, has_bias: true, activation: 'relu', alpha: 0 }),
      tf.relu(tf.add(tf.matMul(x, w), bias)));
    const alpha = rnd([4]);
    expectClose(run1('fused_matmul', [x, w, alpha], { transpose_a: false, transpose_b: false, has_bias: false, activation: 'prelu', alpha: 0 }),
      tf.prelu(tf.matMul(x, w), alpha));
  });

  it('sources: const (int64, bool), sym_const, fill, range, one_hot', () => {
    expectClose(run1('const', [], { value: tensorData('int64', [2], [3, -4]) }), tf.tensor([3, -4], [2], 'int32'));
    expectClose(run1('const', [], { value: tensorData('bool', [2], [1, 0]) }), tf.tensor([true, false], [2], 'bool'));
    expectClose(run1('sym_const', [], { value: sym('batch', 3, 1), dtype: 'int32' }), tf.scalar(7, 'int32'));
    expectClose(run1('fill', [], { shape: [sym('batch'), 2], value: 1.5, dtype: 'float32' }), tf.fill([2, 2], 1.5));
    expectClose(run1('range', [], { start: 1, stop: 8, step: 3, dtype: 'int32' }), tf.tensor([1, 4, 7], [3], 'int32'));
    const idx = tf.tensor([0, 2, -1], [3], 'int32');
    expectClose(run1('one_hot', [idx], { depth: 3, on_value: 5, off_value: -1, dtype: 'float32' }),
      tf.tensor([[5, -1, -1], [-1, -1, 5], [-1, -1, -1]]));
    expectClose(run1('one_hot', [tf.tensor([0, 1], [2], 'int32')], { depth: 1, on_value: 1, off_value: 0, dtype: 'int32' }),
      tf.tensor([[1], [0]], [2, 1], 'int32'));
  });

  it('random ops: seeded draws repeat, unseeded ones differ', () => {
    const attrs = { shape: [sym('n'), 4], min: -1, max: 1, dtype: 'float32', seed: 7 } as const;
    const a = run1('random_uniform', [], attrs), b = run1('random_uniform', [], attrs);
    expect(a.shape).toEqual([3, 4]);
    expectClose(a, b, 0);
    const c = run1('random_uniform', [], { ...attrs, seed: -1 }), d = run1('random_uniform', [], { ...attrs, seed: -1 });
    expect(Array.from(c.dataSync())).not.toEqual(Array.from(d.dataSync()));
    const n = run1('random_normal', [], { shape: [1000], mean: 2, std: 0.5, dtype: 'float32', truncated: true, seed: 3 });
    expect(tf.max(n).dataSync()[0]).toBeLessThanOrEqual(3 + 1e-6);
    expect(tf.min(n).dataSync()[0]).toBeGreaterThanOrEqual(1 - 1e-6);
  });

  it('assign has no outputs', () => {
    expect(run('assign', [rnd([2])], { var: 'v' })).toEqual([]);
  });

  it('reshape with -1 and symbolic dims', () => {
    const x = rnd([2, 3, 4]);
    expectClose(run1('reshape', [x], { shape: [sym('batch'), -1] }), tf.reshape(x, [2, 12]));
    expectClose(run1('reshape', [x], { shape: [-1, sym('n'), 2] }), tf.reshape(x, [4, 3, 2]));
  });

  it('strided_slice, normalized, with negative strides', () => {
    const x = tf.range(0, 5);
    expectClose(run1('strided_slice', [x], { begin: [4], end: [-1], strides: [-1] }), [4, 3, 2, 1, 0]);
    expectClose(run1('strided_slice', [x], { begin: [3], end: [0], strides: [-2] }), [3, 1]);
    expectClose(run1('strided_slice', [x], { begin: [4], end: [-1], strides: [-3] }), [4, 1]);
    expectClose(run1('strided_slice', [x], { begin: [1], end: [5], strides: [2] }), [1, 3]);
    const m = rnd([3, 4]);
    expectClose(run1('strided_slice', [m], { begin: [2, 0], end: [-1, sym('n', 1, 1)], strides: [-1, 2] }),
      tf.reverse(tf.stridedSlice(m, [0, 0], [3, 4], [1, 2]), 0));
  });

  it('slice, gather, pad, tile, reverse, broadcast_to', () => {
    const x = rnd([3, 4]);
    expectClose(run1('slice', [x], { begin: [1, 0], size: [2, -1] }), tf.slice(x, [1, 0], [2, 4]));
    const idx = tf.tensor([[2, 0], [1, 1]], [2, 2], 'int32');
    expectClose(run1('gather', [x, idx], { axis: 1, batch_dims: 0 }), tf.gather(x, idx, 1));
    const bidx = tf.tensor([[2, 0], [1, 1], [3, 3]], [3, 2], 'int32');
    expectClose(run1('gather', [x, bidx], { axis: 1, batch_dims: 1 }), tf.gather(x, bidx, 1, 1));
    expectClose(run1('pad', [x], { paddings: [1, 0, 0, 2], value: 7 }), tf.pad(x, [[1, 0], [0, 2]], 7));
    expectClose(run1('pad', [x], { paddings: [-1, 1, 2, -3], value: 0 }), tf.pad(tf.slice(x, [1, 0], [2, 1]), [[0, 1], [2, 0]]));
    expectClose(run1('tile', [x], { reps: [2, 1] }), tf.concat([x, x], 0));
    expectClose(run1('reverse', [x], { axes: [1] }), tf.reverse(x, 1));
    expectClose(run1('broadcast_to', [tf.tensor([1, 2])], { shape: [sym('n'), 2] }), tf.tensor([[1, 2], [1, 2], [1, 2]]));
  });

  it('multi-output: split with dims, unpack; concat and pack', () => {
    const x = rnd([2, 5]);
    const parts = run('split', [x], { sizes: [sym('batch'), 3], axis: 1 });
    expect(parts).toHaveLength(2);
    expectClose(parts[0]!, tf.slice(x, [0, 0], [2, 2]));
    expectClose(parts[1]!, tf.slice(x, [0, 2], [2, 3]));
    expectClose(run1('concat', parts, { axis: 1 }), x);
    const rows = run('unpack', [x], { axis: 0 });
    expect(rows).toHaveLength(2);
    expectClose(rows[1]!, tf.reshape(tf.slice(x, [1, 0], [1, 5]), [5]));
    expectClose(run1('pack', rows, { axis: 0 }), x);
  });

  it('unsorted_segment_sum, also with rank-2 ids', () => {
    const x = tf.tensor([[1, 2], [3, 4], [5, 6]]);
    expectClose(run1('unsorted_segment_sum', [x, tf.tensor([1, 0, 1], [3], 'int32')], { num_segments: 3 }),
      tf.tensor([[3, 4], [6, 8], [0, 0]]));
    expectClose(run1('unsorted_segment_sum', [x, tf.tensor([[1, 0], [0, 2], [2, 2]], [3, 2], 'int32')], { num_segments: 3 }),
      tf.tensor([2 + 3, 1, 4 + 5 + 6]));
  });

  it('batch_norm: per-channel (FusedBatchNorm) and general broadcasting', () => {
    const x = rnd([2, 3, 4]);
    const [m, v, o, s] = [rnd([4]), tf.abs(rnd([4])), rnd([4]), rnd([4])] as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    expectClose(run1('batch_norm', [x, m, v, o, s], { epsilon: 1e-3 }), tf.batchNorm(x, m, v, o, s, 1e-3));
    const m2 = rnd([2, 1, 1]);
    const ref = tf.add(tf.div(tf.mul(tf.sub(x, m2), s), tf.sqrt(tf.add(v, 1e-3))), o);
    expectClose(run1('batch_norm', [x, m2, v, o, s], { epsilon: 1e-3 }), ref, 1e-4);
  });
});

// ---- convolutions and pools -------------------------------------------------------------

const conv = (strides: number[], padding: string, dilations: number[], pads = [0, 0, 0, 0]): Attrs =>
  ({ strides, padding, pads, dilations });

/** Direct NHWC / HWIO convolution with explicit pads, for checks tfjs's public ops cannot make. */
function naiveConv2d(x: tf.Tensor, f: tf.Tensor, [sh, sw]: number[], [pt, pb, pl, pr]: number[], [dh, dw]: number[]): tf.Tensor {
  const [n, h, w, c] = x.shape as number[];
  const [kh, kw, , co] = f.shape as number[];
  const oh = Math.floor((h! + pt! + pb! - ((kh! - 1) * dh! + 1)) / sh!) + 1;
  const ow = Math.floor((w! + pl! + pr! - ((kw! - 1) * dw! + 1)) / sw!) + 1;
  const xv = x.arraySync() as number[][][][], fv = f.arraySync() as number[][][][];
  const out = tf.buffer([n!, oh, ow, co!]);
  for (let b = 0; b < n!; b++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let o = 0; o < co!; o++) {
    let acc = 0;
    for (let p = 0; p < kh!; p++) for (let q = 0; q < kw!; q++) {
      const y = i * sh! - pt! + p * dh!, z = j * sw! - pl! + q * dw!;
      if (y < 0 || y >= h! || z < 0 || z >= w!) continue;
      for (let ci = 0; ci < c!; ci++) acc += xv[b]![y]![z]![ci]! * fv[p]![q]![ci]![o]!;
    }
    out.set(acc, b, i, j, o);
  }
  return out.toTensor();
}

describe('OP_KERNELS: convolutions and pools', () => {
  const x = rnd([2, 7, 6, 3]);
  const f = rnd([3, 2, 3, 4]);

  it('conv2d same / valid / strided / dilated / explicit, and strides with dilations', () => {
    expectClose(run1('conv2d', [x, f], conv([1, 1], 'same', [1, 1])), tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'), 1e-4);
    expectClose(run1('conv2d', [x, f], conv([1, 1], 'valid', [1, 1])), tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'), 1e-4);
    expectClose(run1('conv2d', [x, f], conv([2, 3], 'same', [1, 1])), tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, [2, 3], 'same'), 1e-4);
    expectClose(run1('conv2d', [x, f], conv([1, 1], 'valid', [2, 2])),
      tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid', 'NHWC', [2, 2]), 1e-4);
    expectClose(run1('conv2d', [x, f], conv([2, 1], 'explicit', [1, 1], [1, 2, 0, 1])), naiveConv2d(x, f, [2, 1], [1, 2, 0, 1], [1, 1]), 1e-4);
    expectClose(run1('conv2d', [x, f], conv([2, 2], 'explicit', [2, 2], [1, 1, 1, 1])), naiveConv2d(x, f, [2, 2], [1, 1, 1, 1], [2, 2]), 1e-4);
  });

  it('fused_conv2d with bias + relu, and explicit pads', () => {
    const bias = rnd([4]);
    const attrs = { ...conv([1, 1], 'explicit', [1, 1], [0, 1, 1, 0]), has_bias: true, activation: 'relu', alpha: 0 };
    expectClose(run1('fused_conv2d', [x, f, bias], attrs), tf.relu(tf.add(naiveConv2d(x, f, [1, 1], [0, 1, 1, 0], [1, 1]), bias)), 1e-4);
    const a2 = { ...conv([2, 2], 'same', [1, 1]), has_bias: false, activation: 'leakyrelu', alpha: 0.2 };
    expectClose(run1('fused_conv2d', [x, f], a2), tf.leakyRelu(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same'), 0.2), 1e-4);
  });

  it('depthwise_conv2d and fused_depthwise_conv2d', () => {
    const df = rnd([3, 3, 3, 2]);
    expectClose(run1('depthwise_conv2d', [x, df], conv([1, 1], 'same', [2, 2])),
      tf.depthwiseConv2d(x as tf.Tensor4D, df as tf.Tensor4D, 1, 'same', 'NHWC', [2, 2]), 1e-4);
    const bias = rnd([6]);
    expectClose(run1('fused_depthwise_conv2d', [x, df, bias], { ...conv([2, 2], 'valid', [1, 1]), has_bias: true, activation: 'relu6', alpha: 0 }),
      tf.relu6(tf.add(tf.depthwiseConv2d(x as tf.Tensor4D, df as tf.Tensor4D, 2, 'valid'), bias)), 1e-4);
    expectClose(run1('fused_depthwise_conv2d', [x, df], { ...conv([1, 1], 'explicit', [1, 1], [1, 1, 1, 1]), has_bias: false, activation: 'linear', alpha: 0 }),
      tf.depthwiseConv2d(x as tf.Tensor4D, df as tf.Tensor4D, 1, 'same'), 1e-4);
  });

  it('pools', () => {
    const p = { filter_size: [3, 2], strides: [2, 2], padding: 'same', pads: [0, 0, 0, 0] };
    expectClose(run1('max_pool', [x], p), tf.maxPool(x as tf.Tensor4D, [3, 2], 2, 'same'));
    expectClose(run1('avg_pool', [x], { ...p, padding: 'valid' }), tf.avgPool(x as tf.Tensor4D, [3, 2], 2, 'valid'), 1e-5);
    expectClose(run1('max_pool', [x], { ...p, padding: 'explicit', pads: [1, 1, 0, 1] }),
      tf.maxPool(x as tf.Tensor4D, [3, 2], 2, [[0, 0], [1, 1], [0, 1], [0, 0]]));
  });

  it('gradient kernels equal tf.grad of the forward ops', () => {
    const x4 = x as tf.Tensor4D, f4 = f as tf.Tensor4D;
    for (const [strides, padding] of [[[1, 1], 'same'], [[2, 2], 'valid'], [[2, 1], 'same']] as const) {
      const fwd = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, [...strides] as [number, number], padding);
      const dy = rnd(fwd(x4, f4).shape);
      const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mul(fwd(a as tf.Tensor4D, b as tf.Tensor4D), dy))([x4, f4]);
      const ca = conv([...strides], padding, [1, 1]);
      expectClose(run1('conv2d_backprop_input', [dy, f], { ...ca, input_shape: [sym('batch'), 7, 6, 3] }), gx!, 1e-4);
      expectClose(run1('conv2d_backprop_filter', [x, dy], { ...ca, filter_shape: [3, 2, 3, 4] }), gf!, 1e-4);
    }
    const df = rnd([3, 3, 3, 2]) as tf.Tensor4D;
    const dfwd = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.depthwiseConv2d(a, b, 2, 'same');
    const ddy = rnd(dfwd(x4, df).shape);
    const [dgx, dgf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mul(dfwd(a as tf.Tensor4D, b as tf.Tensor4D), ddy))([x4, df]);
    expectClose(run1('depthwise_conv2d_backprop_input', [ddy, df], { ...conv([2, 2], 'same', [1, 1]), input_shape: [2, 7, 6, 3] }), dgx!, 1e-4);
    expectClose(run1('depthwise_conv2d_backprop_filter', [x, ddy], { ...conv([2, 2], 'same', [1, 1]), filter_shape: [3, 3, 3, 2] }), dgf!, 1e-4);

    const pool = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, [3, 2], [2, 1], 'same');
    const pdy = rnd(pool(x).shape);
    expectClose(run1('max_pool_grad', [pdy, x, pool(x)], { filter_size: [3, 2], strides: [2, 1], padding: 'same', pads: [0, 0, 0, 0] }),
      tf.grad((a: tf.Tensor) => tf.mul(pool(a), pdy))(x));
    const apool = (a: tf.Tensor) => tf.avgPool(a as tf.Tensor4D, 2, 2, 'valid');
    const ady = rnd(apool(x).shape);
    expectClose(run1('avg_pool_grad', [ady, x], { filter_size: [2, 2], strides: [2, 2], padding: 'valid', pads: [0, 0, 0, 0] }),
      tf.grad((a: tf.Tensor) => tf.mul(apool(a), ady))(x), 1e-5);

    const e = rnd([3, 4]), edy = rnd([3, 4]);
    expectClose(run1('elu_grad', [edy, tf.elu(e)]), tf.grad((a: tf.Tensor) => tf.mul(tf.elu(a), edy))(e), 1e-5);
  });

  it('dilated conv2d gradients are the adjoints of the dilated conv', () => {
    // <conv(x, f), dy> = <x, backprop_input(dy, f)> = <f, backprop_filter(x, dy)>
    for (const [padding, strides] of [['same', [1, 1]], ['valid', [1, 1]], ['explicit', [2, 1]]] as const) {
      const attrs = conv([...strides], padding, [2, 2], [1, 0, 2, 1]);
      const y = run1('conv2d', [x, f], attrs);
      const dy = rnd(y.shape);
      const lhs = sum(tf.mul(y, dy));
      const gx = run1('conv2d_backprop_input', [dy, f], { ...attrs, input_shape: [2, 7, 6, 3] });
      const gf = run1('conv2d_backprop_filter', [x, dy], { ...attrs, filter_shape: [3, 2, 3, 4] });
      expect(gx.shape).toEqual(x.shape);
      expect(gf.shape).toEqual(f.shape);
      expect(sum(tf.mul(x, gx))).toBeCloseTo(lhs, 3);
      expect(sum(tf.mul(f, gf))).toBeCloseTo(lhs, 3);
    }
  });
});

describe('evalNodeConst', () => {
  it('folds on cpu and converts to TensorData (int64 in, int64 out)', () => {
    const [r] = evalNodeConst('add', [tensorData('int64', [2], [1, 2]), tensorData('int64', [2], [10, 20])], {});
    expect(r!.dtype).toBe('int64');
    expect(r!.data).toEqual(BigInt64Array.from([11n, 22n]));
    const parts = evalNodeConst('split', [tensorData('float32', [4], [1, 2, 3, 4])], { sizes: [1, 3], axis: 0 });
    expect(parts.map((p) => [p.dtype, p.shape, p.data])).toEqual([['float32', [1], Float32Array.from([1])], ['float32', [3], Float32Array.from([2, 3, 4])]]);
    const [b] = evalNodeConst('less', [tensorData('float32', [2], [1, 5]), tensorData('float32', [2], [3, 3])], {});
    expect(b).toEqual({ dtype: 'bool', shape: [2], data: Uint8Array.from([1, 0]) });
  });

  it('refuses random and stateful ops and symbolic dims', () => {
    expect(() => evalNodeConst('random_uniform', [], { shape: [2], min: 0, max: 1, dtype: 'float32', seed: 1 })).toThrow(/random/);
    expect(() => evalNodeConst('assign', [tensorData('float32', [1], [1])], { var: 'v' })).toThrow(/stateful/);
    expect(() => evalNodeConst('fill', [], { shape: [sym('batch')], value: 1, dtype: 'float32' })).toThrow(/symbolic dim batch/);
  });

  it('folds an int32 mean to float32, as tfjs computes it', () => {
    const [r] = evalNodeConst('reduce_mean', [tensorData('int32', [2], [1, 2])], { axes: [0], keep_dims: false });
    expect(r!.dtype).toBe('float32');
    expect(Array.from(r!.data as Float32Array)).toEqual([1.5]);
  });

  it('restores the global backend', async () => {
    tf.registerBackend('cpu-other', () => new MathBackendCPU());
    await tf.setBackend('cpu-other');
    try {
      evalNodeConst('neg', [tensorData('float32', [1], [1])], {});
      expect(tf.getBackend()).toBe('cpu-other');
      expect(() => evalNodeConst('random_normal', [], { shape: [1], mean: 0, std: 1, dtype: 'float32', truncated: false, seed: 0 })).toThrow();
      expect(() => evalNodeConst('div', [tensorData('float32', [1], [1])], {})).toThrow();   // arity error
      expect(tf.getBackend()).toBe('cpu-other');
    } finally {
      await tf.setBackend('cpu');
      tf.removeBackend('cpu-other');
    }
  });
});
