/**
 * Kernel rules against tfjs itself: each case runs the rule on IR inputs through a small
 * TraceCtx over a fresh Graph, and runs the same kernel with the same attrs eagerly on the
 * cpu backend (`engine().runKernel`); the emitted ops, attrs, and output dtypes and shapes
 * must agree. Lowerings (Cumprod, StridedSlice, MirrorPad, GatherNd…) are also evaluated
 * with a tiny tfjs-backed interpreter and compared value by value.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// Prod's gradient calls chained ops (x.reshape); '@tensorflow/tfjs' registers them, tfjs-core alone does not
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DType } from '../../ir/dtype.js';
import { Graph } from '../../ir/graph.js';
import type { Node, Value } from '../../ir/graph.js';
import type { Attrs } from '../../ir/ops.js';
import { tensorData } from '../../ir/tensor_data.js';
import type { TensorData } from '../../ir/tensor_data.js';
import { KERNEL_RULES, TRACED_KERNELS } from '../../src/trace/kernel_rules.js';
import type { TraceCtx } from '../../src/trace/rule_types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

class Unsupported extends Error {}

function makeCtx(g: Graph, kernel: string): TraceCtx {
  return {
    graph: g, loc: undefined, kernel,
    emit: (op, ins, attrs = {}) => g.add(op, ins, attrs),
    emitN: (op, ins, attrs = {}) => g.addNode(op, ins, attrs).outputs,
    constant: (d) => g.add('const', [], { value: d }),
    scalar: (v, dt) => g.add('const', [], { value: tensorData(dt, [], [v]) }),
    unsupported: (what) => { throw new Unsupported(what); },
    unseeded: () => false,
  };
}

function tfDType(d: DType): 'float32' | 'int32' | 'bool' {
  return d === 'int64' ? 'int32' : d;
}

interface Spec { shape: number[]; dtype?: DType; /** int32 values drawn from [0, max) */ max?: number; data?: number[] }

function makeTensor(s: Spec, seed: number): tf.Tensor {
  const dtype = tfDType(s.dtype ?? 'float32');
  const n = s.shape.reduce((a, b) => a * b, 1);
  if (s.data) return tf.tensor(s.data, s.shape, dtype);
  const vals = Array.from({ length: n }, (_, i) => {
    const r = Math.sin(seed * 97 + i * 13.37) * 0.5 + 0.5; // deterministic in [0, 1]
    if (dtype === 'bool') return r > 0.5 ? 1 : 0;
    if (dtype === 'int32') return Math.floor(r * (s.max ?? 5));
    return Math.round((r * 4 - 2) * 100) / 100;
  });
  return tf.tensor(vals, s.shape, dtype);
}

interface Traced { g: Graph; outs: Value[]; feeds: Map<Value, tf.Tensor>; tensors: Record<string, tf.Tensor | tf.Tensor[]> }

/** Runs a rule on fresh graph inputs; `inputs` values may be arrays (variadic kernels). */
function trace(kernel: string, inputs: Record<string, Spec | Spec[]>, attrs: Record<string, unknown>): Traced {
  const rule = KERNEL_RULES[kernel];
  if (!rule) throw new Error(`no rule for ${kernel}`);
  const g = new Graph();
  const feeds = new Map<Value, tf.Tensor>();
  const ins: Record<string, Value | Value[]> = {};
  const tensors: Record<string, tf.Tensor | tf.Tensor[]> = {};
  let seed = 1;
  const one = (name: string, s: Spec): [Value, tf.Tensor] => {
    const v = g.addInput(name, { dtype: s.dtype ?? 'float32', shape: s.shape });
    const t = makeTensor(s, seed++);
    feeds.set(v, t);
    return [v, t];
  };
  for (const [name, s] of Object.entries(inputs)) {
    if (Array.isArray(s)) {
      const pairs = s.map((x, i) => one(`${name}${i}`, x));
      ins[name] = pairs.map((p) => p[0]);
      tensors[name] = pairs.map((p) => p[1]);
    } else {
      const [v, t] = one(name, s);
      ins[name] = v;
      tensors[name] = t;
    }
  }
  const out = rule(makeCtx(g, kernel), ins, attrs);
  return { g, outs: Array.isArray(out) ? out : [out], feeds, tensors };
}

function eager(kernel: string, tensors: Record<string, tf.Tensor | tf.Tensor[]>, attrs: Record<string, unknown>): tf.Tensor[] {
  const list = Object.values(tensors).find(Array.isArray);
  const ins = (list ?? tensors) as unknown as tf.NamedTensorMap;
  const r = tf.engine().runKernel(kernel, ins, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
  return Array.isArray(r) ? r : [r];
}

const ops = (g: Graph): string[] => g.nodes.filter((n) => n.op !== 'const').map((n) => n.op);
const lastNode = (t: Traced): Node => t.outs[0]!.producer!;

// ---- a tiny interpreter over tfjs, enough for the lowerings ----------------------------------

function constTensor(d: TensorData): tf.Tensor {
  return tf.tensor(Array.from(d.data as ArrayLike<number>, Number), [...d.shape], tfDType(d.dtype));
}

function evalNode(n: Node, xs: tf.Tensor[]): tf.Tensor[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const a = n.attrs as Record<string, any>;
  const x = xs[0]!;
  switch (n.op) {
    case 'const': return [constTensor(a['value'] as TensorData)];
    case 'identity': return [x.clone()];
    case 'cast': return [tf.cast(x, a['dtype'])];
    case 'reshape': return [tf.reshape(x, a['shape'])];
    case 'transpose': return [tf.transpose(x, a['perm'])];
    case 'reverse': return [tf.reverse(x, a['axes'])];
    case 'slice': return [tf.slice(x, a['begin'], a['size'])];
    case 'strided_slice': return [tf.stridedSlice(x, a['begin'], a['end'], a['strides'])];
    case 'concat': return [tf.concat(xs, a['axis'])];
    case 'select': return [tf.where(xs[0]!, xs[1]!, xs[2]!)];
    case 'mul': return [tf.mul(xs[0]!, xs[1]!)];
    case 'add': return [tf.add(xs[0]!, xs[1]!)];
    case 'reduce_prod': return [tf.prod(x, a['axes'], a['keep_dims'])];
    case 'reduce_sum': return [tf.sum(x, a['axes'], a['keep_dims'])];
    case 'gather': return [tf.gather(x, xs[1]!, a['axis'], a['batch_dims'])];
    case 'unsorted_segment_sum': return [tf.unsortedSegmentSum(x, xs[1]! as tf.Tensor1D, a['num_segments'])];
    case 'range': return [tf.range(a['start'], a['stop'], a['step'], a['dtype'])];
    case 'fill': return [tf.fill(a['shape'], a['value'], a['dtype'])];
    default: throw new Error(`test interpreter: no binding for ${n.op}`);
  }
}

function run(t: Traced): tf.Tensor[] {
  const env = new Map<Value, tf.Tensor>(t.feeds);
  for (const n of t.g.nodes) {
    const outs = evalNode(n, n.inputs.map((v) => env.get(v)!));
    n.outputs.forEach((v, i) => env.set(v, outs[i]!));
  }
  return t.outs.map((v) => env.get(v)!);
}

// ---- the comparison ---------------------------------------------------------------------------------

interface Case {
  kernel: string;
  inputs: Record<string, Spec | Spec[]>;
  attrs?: Record<string, unknown>;
  /** non-const ops emitted, in order */
  ops?: string[];
  /** attrs of the op producing the (first) output */
  attrs_out?: Attrs;
  /** evaluate the emitted graph and compare values */
  values?: boolean;
  name?: string;
}

function check(c: Case): Traced {
  const attrs = c.attrs ?? {};
  const t = trace(c.kernel, c.inputs, attrs);
  const ref = eager(c.kernel, t.tensors, attrs);
  expect(t.outs.length).toBe(ref.length);
  t.outs.forEach((v, i) => {
    expect({ shape: [...v.shape], dtype: v.dtype }).toEqual({ shape: ref[i]!.shape, dtype: ref[i]!.dtype });
  });
  if (c.ops) expect(ops(t.g)).toEqual(c.ops);
  if (c.attrs_out) expect(lastNode(t).attrs).toEqual(c.attrs_out);
  if (c.values) {
    const got = run(t);
    got.forEach((g, i) => {
      const want = Array.from(ref[i]!.dataSync());
      const have = Array.from(g.dataSync());
      expect(have.length).toBe(want.length);
      have.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 4));
    });
  }
  return t;
}

const f = (...shape: number[]): Spec => ({ shape });
const i32 = (max: number, ...shape: number[]): Spec => ({ shape, dtype: 'int32', max });
const b = (...shape: number[]): Spec => ({ shape, dtype: 'bool' });

describe('StridedSlice', () => {
  const x = { x: f(4, 5, 6) };
  it.each<Case>([
    { name: 'masks and a negative stride', kernel: tf.StridedSlice, inputs: x, values: true,
      attrs: { begin: [1, 0, -1], end: [3, 0, 0], strides: [1, 1, -2], beginMask: 0b010, endMask: 0b110, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 },
      ops: ['reverse', 'strided_slice'] },
    { name: 'ellipsis + shrink', kernel: tf.StridedSlice, inputs: x, values: true,
      attrs: { begin: [0, 1], end: [0, 2], strides: [1, 1], beginMask: 0, endMask: 0, ellipsisMask: 1, newAxisMask: 0, shrinkAxisMask: 2 },
      ops: ['slice', 'reshape'] },
    { name: 'new axis + shrink', kernel: tf.StridedSlice, inputs: x, values: true,
      attrs: { begin: [1, 0, 2], end: [2, 0, 4], strides: [1, 1, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 2, shrinkAxisMask: 1 },
      ops: ['slice'] },
    { name: 'shrink then new axis', kernel: tf.StridedSlice, inputs: x, values: true,
      attrs: { begin: [1, 0, 0], end: [2, 5, 0], strides: [1, 1, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 4, shrinkAxisMask: 1 },
      ops: ['slice', 'reshape'], attrs_out: { shape: [5, 1, 6] } },
    { name: 'strided, new axis', kernel: tf.StridedSlice, inputs: x, values: true,
      attrs: { begin: [1, 0, 0, 1], end: [3, 0, 0, 6], strides: [1, 1, -2, 2], beginMask: 0b0100, endMask: 0b0110, ellipsisMask: 0, newAxisMask: 0b0010, shrinkAxisMask: 0 },
      ops: ['reverse', 'strided_slice', 'reshape'] },
    { name: 'stride 2, negative begin', kernel: tf.StridedSlice, inputs: x, values: true,
      attrs: { begin: [0, -4], end: [4, 5], strides: [2, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 },
      ops: ['strided_slice'], attrs_out: { begin: [0, 1, 0], end: [4, 5, 6], strides: [2, 1, 1] } },
    { name: 'identity', kernel: tf.StridedSlice, inputs: x, values: true,
      attrs: { begin: [0], end: [4], strides: [1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 },
      ops: ['identity'] },
    { name: 'empty range', kernel: tf.StridedSlice, inputs: x,
      attrs: { begin: [3, 0], end: [1, 5], strides: [1, 2], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 } },
    { name: 'full reverse', kernel: tf.StridedSlice, inputs: x, values: true,
      attrs: { begin: [0, 0, 0], end: [0, 0, 0], strides: [-1, 1, -3], beginMask: 7, endMask: 7, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 } },
  ])('$name', (c) => { check(c); });
});

describe('StridedSlice, shrink with strides', () => {
  // tfjs-backend-cpu 4.22 indexes the input with the shrunk output rank when a shrink axis
  // meets a non-unit stride (x[3, newaxis, ::-2, 1::2] yields 3 values for shape [1,3,3]);
  // the reference here is the same slice taken without the shrink, then reshaped.
  it('x[3, newaxis, ::-2, 1::2]', () => {
    const attrs = { begin: [-1, 0, 0, 1], end: [0, 0, 0, 6], strides: [1, 1, -2, 2], beginMask: 0b0100, endMask: 0b0110,
      ellipsisMask: 0, newAxisMask: 0b0010, shrinkAxisMask: 0b0001 };
    const t = trace(tf.StridedSlice, { x: f(4, 5, 6) }, attrs);
    expect([...t.outs[0]!.shape]).toEqual([1, 3, 3]);
    expect(ops(t.g)).toEqual(['reverse', 'strided_slice']);
    const x = t.tensors['x'] as tf.Tensor;
    const ref = tf.reshape(tf.stridedSlice(x, [3, 0, 0, 1], [4, 0, 0, 6], [1, 1, -2, 2], 0b0100, 0b0110, 0, 0b0010, 0), [1, 3, 3]);
    expect(Array.from(run(t)[0]!.dataSync())).toEqual(Array.from(ref.dataSync()));
  });
});

describe('Slice', () => {
  it('resolves size -1 and short begin/size', () => {
    check({ kernel: tf.Slice, inputs: { x: f(4, 5, 6) }, attrs: { begin: [1, 2], size: [-1, 2] },
      ops: ['slice'], attrs_out: { begin: [1, 2, 0], size: [3, 2, 6] } });
    check({ kernel: tf.Slice, inputs: { x: f(4, 5) }, attrs: { begin: 2, size: -1 }, attrs_out: { begin: [2, 0], size: [2, 5] } });
  });
});

describe('convolution and pooling', () => {
  it.each<Case>([
    { name: 'explicit pads', kernel: tf.Conv2D, inputs: { x: f(2, 9, 9, 3), filter: f(3, 3, 3, 4) },
      attrs: { strides: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]], dataFormat: 'NHWC', dilations: 1 },
      ops: ['conv2d'], attrs_out: { strides: [2, 2], padding: 'explicit', pads: [1, 2, 0, 1], dilations: [1, 1] } },
    { name: 'same + dilation', kernel: tf.Conv2D, inputs: { x: f(1, 7, 8, 2), filter: f(3, 3, 2, 5) },
      attrs: { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [2, 2] },
      attrs_out: { strides: [1, 1], padding: 'same', pads: [0, 0, 0, 0], dilations: [2, 2] } },
    { name: 'valid, strided', kernel: tf.Conv2D, inputs: { x: f(1, 10, 7, 2), filter: f(3, 2, 2, 5) },
      attrs: { strides: [3, 2], pad: 'valid', dataFormat: 'NHWC', dilations: 1 } },
    { name: 'numeric pad', kernel: tf.Conv2D, inputs: { x: f(1, 6, 6, 1), filter: f(3, 3, 1, 1) },
      attrs: { strides: 1, pad: 1, dataFormat: 'NHWC', dilations: 1 }, attrs_out: { strides: [1, 1], padding: 'explicit', pads: [1, 1, 1, 1], dilations: [1, 1] } },
    { name: 'depthwise', kernel: tf.DepthwiseConv2dNative, inputs: { x: f(2, 8, 8, 3), filter: f(3, 3, 3, 2) },
      attrs: { strides: 2, pad: 'same', dataFormat: 'NHWC', dilations: 1 }, ops: ['depthwise_conv2d'] },
    { name: 'fused conv + bias + relu', kernel: tf.FusedConv2D, inputs: { x: f(1, 5, 5, 2), filter: f(3, 3, 2, 4), bias: f(4) },
      attrs: { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1, activation: 'relu' }, ops: ['fused_conv2d'],
      attrs_out: { strides: [1, 1], padding: 'valid', pads: [0, 0, 0, 0], dilations: [1, 1], has_bias: true, activation: 'relu', alpha: 0.2 } },
    { name: 'fused depthwise + prelu', kernel: tf.FusedDepthwiseConv2D,
      inputs: { x: f(1, 5, 5, 2), filter: f(3, 3, 2, 1), preluActivationWeights: f(2) },
      attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'prelu' } },
    { name: 'conv backprop input', kernel: tf.Conv2DBackpropInput, inputs: { dy: f(2, 4, 4, 4), filter: f(3, 3, 3, 4) },
      attrs: { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [2, 8, 8, 3] }, ops: ['conv2d_backprop_input'] },
    { name: 'conv backprop filter', kernel: tf.Conv2DBackpropFilter, inputs: { x: f(2, 8, 8, 3), dy: f(2, 4, 4, 4) },
      attrs: { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] }, ops: ['conv2d_backprop_filter'] },
    { name: 'depthwise backprop input', kernel: tf.DepthwiseConv2dNativeBackpropInput, inputs: { dy: f(1, 6, 6, 4), filter: f(3, 3, 2, 2) },
      attrs: { strides: 1, pad: 'valid', dilations: 1, inputShape: [1, 8, 8, 2] } },
    { name: 'depthwise backprop filter', kernel: tf.DepthwiseConv2dNativeBackpropFilter, inputs: { x: f(1, 8, 8, 2), dy: f(1, 6, 6, 4) },
      attrs: { strides: 1, pad: 'valid', dilations: 1, filterShape: [3, 3, 2, 2] } },
    { name: 'max pool same', kernel: tf.MaxPool, inputs: { x: f(2, 7, 7, 3) }, attrs: { filterSize: 3, strides: 2, pad: 'same' },
      ops: ['max_pool'], attrs_out: { filter_size: [3, 3], strides: [2, 2], padding: 'same', pads: [0, 0, 0, 0] } },
    { name: 'avg pool numeric pad', kernel: tf.AvgPool, inputs: { x: f(1, 6, 6, 1) }, attrs: { filterSize: [2, 2], strides: [2, 2], pad: 1 } },
    { name: 'max pool grad', kernel: tf.MaxPoolGrad, inputs: { dy: f(2, 3, 3, 3), input: f(2, 7, 7, 3), output: f(2, 3, 3, 3) },
      attrs: { filterSize: 3, strides: 2, pad: 'valid' }, ops: ['max_pool_grad'] },
    { name: 'avg pool grad', kernel: tf.AvgPoolGrad, inputs: { dy: f(2, 4, 4, 3), input: f(2, 7, 7, 3) },
      attrs: { filterSize: 3, strides: 2, pad: 'same' }, ops: ['avg_pool_grad'] },
  ])('$name', (c) => { check(c); });

  it('rejects NCHW and a size-changing dimRoundingMode', () => {
    expect(() => trace(tf.Conv2D, { x: f(1, 3, 8, 8), filter: f(3, 3, 3, 4) },
      { strides: 1, pad: 'valid', dataFormat: 'NCHW', dilations: 1 })).toThrow(/data format NCHW/);
    expect(() => trace(tf.MaxPool, { x: f(1, 6, 6, 1) }, { filterSize: 2, strides: 2, pad: 0, dimRoundingMode: 'ceil' })).not.toThrow();
    expect(() => trace(tf.MaxPool, { x: f(1, 7, 7, 1) }, { filterSize: 2, strides: 2, pad: 0, dimRoundingMode: 'ceil' })).toThrow(/dimRoundingMode/);
  });
});

describe('reductions', () => {
  it.each<Case>([
    { name: 'sum, negative axis, keepDims', kernel: tf.Sum, inputs: { x: f(2, 3, 4) }, attrs: { axis: -1, keepDims: true },
      ops: ['reduce_sum'], attrs_out: { axes: [2], keep_dims: true } },
    { name: 'sum, unsorted axes', kernel: tf.Sum, inputs: { x: f(2, 3, 4) }, attrs: { axis: [-1, 0], keepDims: false },
      attrs_out: { axes: [0, 2], keep_dims: false } },
    { name: 'sum of bool is int32', kernel: tf.Sum, inputs: { x: b(2, 3) }, attrs: { axis: 1, keepDims: false }, ops: ['cast', 'reduce_sum'] },
    { name: 'sum over no axes', kernel: tf.Sum, inputs: { x: f(2, 3) }, attrs: { axis: [], keepDims: false }, ops: ['identity'] },
    { name: 'mean of int32 is float32', kernel: tf.Mean, inputs: { x: i32(9, 4, 3) }, attrs: { axis: null, keepDims: false }, ops: ['cast', 'reduce_mean'],
      attrs_out: { axes: [0, 1], keep_dims: false } },
    { name: 'max', kernel: tf.Max, inputs: { x: f(2, 3, 4) }, attrs: { reductionIndices: [1, 2], keepDims: true }, attrs_out: { axes: [1, 2], keep_dims: true } },
    { name: 'min', kernel: tf.Min, inputs: { x: i32(9, 2, 3) }, attrs: { axis: 0, keepDims: false } },
    { name: 'prod', kernel: tf.Prod, inputs: { x: f(2, 3) }, attrs: { axis: 1, keepDims: false } },
    { name: 'all', kernel: tf.All, inputs: { x: b(2, 3) }, attrs: { axis: 1, keepDims: false } },
    { name: 'any', kernel: tf.Any, inputs: { x: b(2, 3) }, attrs: { axis: null, keepDims: true } },
    { name: 'argmax', kernel: tf.ArgMax, inputs: { x: f(2, 3, 4) }, attrs: { axis: -2 }, attrs_out: { axis: 1 } },
    { name: 'argmin', kernel: tf.ArgMin, inputs: { x: f(2, 3) }, attrs: { axis: 0 } },
    { name: 'cumsum', kernel: tf.Cumsum, inputs: { x: f(3, 4) }, attrs: { axis: 1, exclusive: true, reverse: false },
      attrs_out: { axis: 1, exclusive: true, reverse: false } },
    { name: 'softmax', kernel: tf.Softmax, inputs: { logits: f(3, 4) }, attrs: { dim: -1 }, attrs_out: { axis: 1 } },
  ])('$name', (c) => { check(c); });

  it.each([[false, false], [true, false], [false, true], [true, true]])('cumprod exclusive=%s reverse=%s (values)', (exclusive, reverse) => {
    check({ kernel: tf.Cumprod, inputs: { x: f(2, 4, 3) }, attrs: { axis: 1, exclusive, reverse }, values: true });
    check({ kernel: tf.Cumprod, inputs: { x: i32(4, 5) }, attrs: { axis: 0, exclusive, reverse }, values: true });
  });

  it('LogSoftmax (no cpu kernel): shape of tf.logSoftmax', () => {
    const t = trace(tf.LogSoftmax, { logits: f(2, 5) }, { axis: -1 });
    expect(lastNode(t).attrs).toEqual({ axis: 1 });
    expect([...t.outs[0]!.shape]).toEqual(tf.logSoftmax(tf.zeros([2, 5])).shape);
  });
});

describe('shape and data movement', () => {
  it.each<Case>([
    { name: 'reshape -1', kernel: tf.Reshape, inputs: { x: f(2, 3, 4) }, attrs: { shape: [-1, 4] }, attrs_out: { shape: [6, 4] } },
    { name: 'expandDims negative', kernel: tf.ExpandDims, inputs: { input: f(2, 3) }, attrs: { dim: -1 }, attrs_out: { shape: [2, 3, 1] } },
    { name: 'transpose', kernel: tf.Transpose, inputs: { x: f(2, 3, 4) }, attrs: { perm: [2, 0, 1] } },
    { name: 'concat, negative axis', kernel: tf.Concat, inputs: { tensors: [f(2, 3), f(2, 1), f(2, 2)] }, attrs: { axis: -1 }, attrs_out: { axis: 1 } },
    { name: 'pack', kernel: tf.Pack, inputs: { tensors: [f(2, 3), f(2, 3)] }, attrs: { axis: -1 }, attrs_out: { axis: 2 } },
    { name: 'unpack', kernel: tf.Unpack, inputs: { value: f(3, 2, 4) }, attrs: { axis: 1 } },
    { name: 'splitV sizes with -1', kernel: tf.SplitV, inputs: { x: f(6, 4) }, attrs: { numOrSizeSplits: [2, -1, 1], axis: 0 },
      attrs_out: { sizes: [2, 3, 1], axis: 0 } },
    { name: 'splitV count, negative axis', kernel: tf.SplitV, inputs: { x: f(3, 4) }, attrs: { numOrSizeSplits: 2, axis: -1 },
      attrs_out: { sizes: [2, 2], axis: 1 } },
    { name: 'gather', kernel: tf.GatherV2, inputs: { x: f(5, 3), indices: i32(5, 2, 2) }, attrs: { axis: 0, batchDims: 0 } },
    { name: 'gather, axis -1', kernel: tf.GatherV2, inputs: { x: f(2, 3, 4), indices: i32(4, 5) }, attrs: { axis: -1, batchDims: 0 }, attrs_out: { axis: 2, batch_dims: 0 } },
    { name: 'gather, batchDims', kernel: tf.GatherV2, inputs: { x: f(2, 3, 4), indices: i32(3, 2, 5) }, attrs: { axis: 1, batchDims: 1 } },
    { name: 'gatherNd (values)', kernel: tf.GatherNd, inputs: { params: f(3, 4, 2), indices: { shape: [2, 2], dtype: 'int32', data: [0, 1, 2, 3] } }, values: true },
    { name: 'scatterNd (values)', kernel: tf.ScatterNd, inputs: { indices: { shape: [3, 1], dtype: 'int32', data: [4, 0, 4] }, updates: f(3, 2) },
      attrs: { shape: [6, 2] }, values: true },
    { name: 'unsortedSegmentSum', kernel: tf.UnsortedSegmentSum, inputs: { x: f(4, 3), segmentIds: i32(3, 4) }, attrs: { numSegments: 3 } },
    { name: 'padV2', kernel: tf.PadV2, inputs: { x: f(2, 3) }, attrs: { paddings: [[1, 0], [2, 3]], constantValue: 1.5 },
      attrs_out: { paddings: [1, 0, 2, 3], value: 1.5 } },
    { name: 'mirrorPad reflect (values)', kernel: tf.MirrorPad, inputs: { x: f(3, 4) }, attrs: { paddings: [[2, 1], [0, 3]], mode: 'reflect' }, values: true },
    { name: 'mirrorPad symmetric (values)', kernel: tf.MirrorPad, inputs: { x: f(3, 4) }, attrs: { paddings: [[1, 3], [2, 0]], mode: 'symmetric' }, values: true },
    { name: 'tile', kernel: tf.Tile, inputs: { x: f(2, 3) }, attrs: { reps: [2, 1] } },
    { name: 'reverse', kernel: tf.Reverse, inputs: { x: f(2, 3) }, attrs: { dims: [-1] }, attrs_out: { axes: [1] } },
    { name: 'flipLeftRight (values)', kernel: tf.FlipLeftRight, inputs: { image: f(1, 2, 3, 2) }, values: true },
    { name: 'depthToSpace (values)', kernel: tf.DepthToSpace, inputs: { x: f(1, 2, 3, 8) }, attrs: { blockSize: 2, dataFormat: 'NHWC' }, values: true },
    { name: 'oneHot', kernel: tf.OneHot, inputs: { indices: i32(4, 3) }, attrs: { depth: 4, onValue: 1, offValue: 0, dtype: 'float32' } },
    { name: 'fill', kernel: tf.Fill, inputs: {}, attrs: { shape: [2, 3], value: 7, dtype: 'int32' } },
    { name: 'range', kernel: tf.Range, inputs: {}, attrs: { start: 1, stop: 10, step: 3, dtype: 'float32' } },
    { name: 'range, implicit -1 step (values)', kernel: tf.Range, inputs: {}, attrs: { start: 5, stop: 1, step: 1, dtype: 'int32' }, values: true },
    { name: 'range, wrong-sign step', kernel: tf.Range, inputs: {}, attrs: { start: 5, stop: 1, step: 2, dtype: 'float32' } },
    { name: 'range, fractional (values)', kernel: tf.Range, inputs: {}, attrs: { start: 0, stop: 1, step: 0.1, dtype: 'float32' }, values: true },
    { name: 'range, tfjs quirk (values)', kernel: tf.Range, inputs: {}, attrs: { start: 3, stop: 1, step: 0.5, dtype: 'float32' }, values: true },
    { name: 'linSpace (values)', kernel: tf.LinSpace, inputs: {}, attrs: { start: 1, stop: 3, num: 5 }, values: true },
    { name: 'cast', kernel: tf.Cast, inputs: { x: f(2) }, attrs: { dtype: 'int32' } },
    { name: 'select', kernel: tf.Select, inputs: { condition: b(2, 3), t: f(2, 3), e: f(2, 3) } },
    { name: 'addN', kernel: tf.AddN, inputs: { tensors: [f(2, 3), f(2, 3), f(2, 3)] } },
    { name: 'clip', kernel: tf.ClipByValue, inputs: { x: f(2, 3) }, attrs: { clipValueMin: -1, clipValueMax: 1 }, attrs_out: { min: -1, max: 1 } },
    { name: 'batchMatMul, transposes + broadcast', kernel: tf.BatchMatMul, inputs: { a: f(2, 1, 4, 3), b: f(3, 5, 4) },
      attrs: { transposeA: true, transposeB: true }, ops: ['matmul'] },
    { name: 'fusedMatMul bias + relu', kernel: tf._FusedMatMul, inputs: { a: f(1, 2, 3), b: f(1, 3, 4), bias: f(4) },
      attrs: { transposeA: false, transposeB: false, activation: 'relu' },
      attrs_out: { transpose_a: false, transpose_b: false, has_bias: true, activation: 'relu', alpha: 0.2 } },
    { name: 'fusedMatMul leakyrelu', kernel: tf._FusedMatMul, inputs: { a: f(1, 2, 3), b: f(1, 4, 3) },
      attrs: { transposeA: false, transposeB: true, activation: 'leakyrelu', leakyreluAlpha: 0.1 },
      attrs_out: { transpose_a: false, transpose_b: true, has_bias: false, activation: 'leakyrelu', alpha: 0.1 } },
  ])('$name', (c) => { check(c); });

  it('variadic operands under numbered keys', () => {
    const g = new Graph();
    const a = g.addInput('a', { dtype: 'float32', shape: [2] });
    const c = g.addInput('c', { dtype: 'int32', shape: [3] });
    const out = KERNEL_RULES[tf.Concat]!(makeCtx(g, tf.Concat), { 0: a, 1: c }, { axis: 0 }) as Value;
    expect(out.type).toEqual({ dtype: 'float32', shape: [5] });
    expect(ops(g)).toEqual(['cast', 'concat']);
  });
});

describe('batch norm', () => {
  it('FusedBatchNorm without offset gets a scalar 0', () => {
    const t = check({ kernel: tf.FusedBatchNorm, inputs: { x: f(2, 4, 4, 3), mean: f(3), variance: { shape: [3], data: [1, 2, 3] }, scale: f(3) },
      attrs: { varianceEpsilon: 0.01 }, ops: ['batch_norm'], attrs_out: { epsilon: 0.01 } });
    const bn = lastNode(t);
    const names = bn.inputs.map((v) => v.name);
    expect(names).toEqual(['x', 'mean', 'variance', undefined, 'scale']);
    expect(bn.inputs[3]!.producer!.op).toBe('const');
    expect(Array.from((bn.inputs[3]!.producer!.attrs['value'] as TensorData).data as Float32Array)).toEqual([0]);
  });
  it('without scale and offset', () => {
    const t = check({ kernel: tf.FusedBatchNorm, inputs: { x: f(1, 2, 2, 3), mean: f(3), variance: { shape: [3], data: [1, 2, 3] } } });
    const v = lastNode(t).inputs.map((i) => i.producer?.op === 'const' ? Array.from((i.producer.attrs['value'] as TensorData).data as Float32Array) : i.name);
    expect(v).toEqual(['x', 'mean', 'variance', [0], [1]]);
  });
});

describe('elementwise', () => {
  const unaries = [tf.Abs, tf.Acos, tf.Acosh, tf.Asin, tf.Asinh, tf.Atan, tf.Atanh, tf.Ceil, tf.Cos, tf.Cosh, tf.Elu, tf.Erf, tf.Exp,
    tf.Expm1, tf.Floor, tf.Log, tf.Log1p, tf.Neg, tf.Reciprocal, tf.Relu, tf.Relu6, tf.Round, tf.Rsqrt, tf.Selu, tf.Sigmoid, tf.Sign,
    tf.Sin, tf.Sinh, tf.Softplus, tf.Sqrt, tf.Square, tf.Tan, tf.Tanh, tf.Identity, tf.IsNan, tf.IsInf, tf.IsFinite, tf.ZerosLike,
    tf.OnesLike, tf.LogicalNot, tf.LeakyRelu, tf.Step];
  it.each(unaries)('%s on float32 and int32', (k) => {
    const attrs = k === tf.LeakyRelu ? { alpha: 0.3 } : k === tf.Step ? { alpha: 0.5 } : {};
    check({ kernel: k, inputs: { x: f(2, 3) }, attrs });
    if (k !== tf.Erf) check({ kernel: k, inputs: { x: i32(5, 3) }, attrs });
  });
  const binaries = [tf.Add, tf.Sub, tf.Multiply, tf.RealDiv, tf.FloorDiv, tf.Mod, tf.Pow, tf.Maximum, tf.Minimum,
    tf.SquaredDifference, tf.Atan2, tf.Equal, tf.NotEqual, tf.Less, tf.LessEqual, tf.Greater, tf.GreaterEqual, tf.LogicalAnd, tf.LogicalOr];
  it.each(binaries)('%s with broadcasting', (k) => {
    check({ kernel: k, inputs: { a: f(2, 1, 3), b: f(4, 1) } });
    check({ kernel: k, inputs: { a: i32(5, 3), b: i32(5, 1) } });
  });
  it('inserts a cast when operand dtypes differ', () => {
    const t = trace(tf.Add, { a: f(2), b: i32(3, 2) }, {});
    expect(ops(t.g)).toEqual(['cast', 'add']);
    expect(t.outs[0]!.dtype).toBe('float32');
  });
  it('prelu, eluGrad', () => {
    check({ kernel: tf.Prelu, inputs: { x: f(2, 3), alpha: f(3) }, ops: ['prelu'] });
    check({ kernel: tf.EluGrad, inputs: { dy: f(2, 3), y: f(2, 3) }, ops: ['elu_grad'] });
  });
  it('cast to complex64 or string is unsupported', () => {
    expect(() => trace(tf.Cast, { x: f(2) }, { dtype: 'complex64' })).toThrow(Unsupported);
    expect(() => trace(tf.Cast, { x: f(2) }, { dtype: 'string' })).toThrow(Unsupported);
  });
});

describe('coverage', () => {
  const required = ['Abs', 'Acos', 'Sqrt', 'Square', 'Rsqrt', 'Reciprocal', 'Exp', 'Expm1', 'Log', 'Log1p', 'Sin', 'Cos', 'Tan',
    'Sign', 'Round', 'Floor', 'Ceil', 'Erf', 'IsNan', 'IsInf', 'IsFinite', 'LogicalNot', 'Step', 'LeakyRelu', 'Prelu', 'Relu', 'Relu6',
    'Elu', 'EluGrad', 'Selu', 'Sigmoid', 'Softplus', 'Tanh', 'Add', 'Sub', 'Multiply', 'RealDiv', 'FloorDiv', 'Mod', 'Pow', 'Maximum',
    'Minimum', 'SquaredDifference', 'Atan2', 'Equal', 'NotEqual', 'Less', 'LessEqual', 'Greater', 'GreaterEqual', 'LogicalAnd',
    'LogicalOr', 'LogicalXor', 'Select', 'Cast', 'ClipByValue', 'AddN', 'Identity', 'ZerosLike', 'OnesLike', 'Fill', 'Range', 'OneHot',
    'Sum', 'Mean', 'Max', 'Min', 'Prod', 'All', 'Any', 'ArgMax', 'ArgMin', 'Cumsum', 'Softmax', 'LogSoftmax', 'BatchMatMul',
    '_FusedMatMul', 'Transpose', 'Reshape', 'Concat', 'Pack', 'Unpack', 'SplitV', 'Slice', 'StridedSlice', 'GatherV2', 'PadV2', 'Tile',
    'Reverse', 'BroadcastTo', 'UnsortedSegmentSum', 'Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'DepthwiseConv2dNative',
    'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'FusedConv2D', 'FusedDepthwiseConv2D', 'MaxPool',
    'MaxPoolGrad', 'AvgPool', 'AvgPoolGrad', 'FusedBatchNorm', 'ExpandDims', 'Neg', 'Cumprod'];
  it('covers the required kernels', () => {
    expect(required.filter((k) => !TRACED_KERNELS.includes(k))).toEqual([]);
  });

  /** Every kernel that real layers, losses and optimizers run, forward and backward, has a rule. */
  it('covers what layers, losses and optimizers emit', async () => {
    const seen = new Set<string>();
    const record = async (fn: () => void): Promise<void> => {
      const info = await tf.profile(() => { fn(); return []; });
      // customGrad scopes (`fusedMatMul__op`…) show up too; only registered kernels reach a backend
      for (const k of info.kernels) if (tf.getKernel(k.name, 'cpu') !== undefined) seen.add(k.name);
    };
    const img = tfl.input({ shape: [8, 8, 3] });
    let h = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(img) as tfl.SymbolicTensor;
    h = tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid', dilationRate: 1, activation: 'elu' }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'selu' }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu6' }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.batchNormalization().apply(h) as tfl.SymbolicTensor;
    const p1 = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tfl.SymbolicTensor;
    const p2 = tfl.layers.averagePooling2d({ poolSize: 2 }).apply(h) as tfl.SymbolicTensor;
    const added = tfl.layers.add().apply([p1, p2]) as tfl.SymbolicTensor;
    const g1 = tfl.layers.globalAveragePooling2d({}).apply(added) as tfl.SymbolicTensor;
    const fl = tfl.layers.flatten().apply(added) as tfl.SymbolicTensor;
    const cat = tfl.layers.concatenate().apply([g1, fl]) as tfl.SymbolicTensor;
    let d = tfl.layers.dense({ units: 6, activation: 'sigmoid' }).apply(cat) as tfl.SymbolicTensor;
    d = tfl.layers.dropout({ rate: 0.3 }).apply(d) as tfl.SymbolicTensor;
    d = tfl.layers.activation({ activation: 'swish' }).apply(d) as tfl.SymbolicTensor;
    d = tfl.layers.activation({ activation: 'softplus' }).apply(d) as tfl.SymbolicTensor;
    d = tfl.layers.activation({ activation: 'tanh' }).apply(d) as tfl.SymbolicTensor;
    d = tfl.layers.reshape({ targetShape: [2, 3] }).apply(d) as tfl.SymbolicTensor;
    d = tfl.layers.flatten().apply(d) as tfl.SymbolicTensor;
    const logits = tfl.layers.dense({ units: 4 }).apply(d) as tfl.SymbolicTensor;
    const probs = tfl.layers.activation({ activation: 'softmax' }).apply(logits) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: img, outputs: [logits, probs] });

    const ids = tfl.input({ shape: [5] });
    const emb = tfl.layers.embedding({ inputDim: 10, outputDim: 3 }).apply(ids) as tfl.SymbolicTensor;
    const embModel = tfl.model({ inputs: ids, outputs: tfl.layers.flatten().apply(emb) as tfl.SymbolicTensor });

    const x = tf.randomNormal([2, 8, 8, 3]);
    const labels = tf.oneHot(tf.tensor1d([1, 3], 'int32'), 4);
    const idx = tf.tensor2d([[1, 2, 3, 4, 5], [0, 9, 8, 7, 6]], [2, 5], 'int32');
    const optimizers = [tf.train.sgd(0.1), tf.train.momentum(0.1, 0.9), tf.train.rmsprop(0.01), tf.train.adam(0.01), tf.train.adagrad(0.1)];
    for (const opt of optimizers) {
      await record(() => {
        opt.minimize(() => {
          const [lg, pr] = model.apply(x, { training: true }) as tf.Tensor[];
          const e = embModel.apply(idx) as tf.Tensor;
          return tf.addN([
            tf.losses.softmaxCrossEntropy(labels, lg!),
            tf.losses.sigmoidCrossEntropy(labels, lg!),
            tf.losses.meanSquaredError(labels, pr!),
            tf.mean(tf.square(e)),
            tf.losses.softmaxCrossEntropy(tf.oneHot(tf.argMax(pr!, 1), 4), lg!),
          ]) as tf.Scalar;
        });
      });
    }
    await record(() => { model.predict(x); });
    // gradients of the ops whose backward passes use other kernels (Prod → Cumprod, Max → Equal…)
    await record(() => {
      const a = tf.randomUniform([2, 3, 4], 0.5, 2);
      const w = tf.randomUniform([2, 3, 4], 0.1, 0.3);
      const cond = tf.greater(tf.randomUniform([2, 3, 4]), 0.5);
      tf.grads((v: tf.Tensor, u: tf.Tensor) => {
        const parts = [
          tf.prod(v, [1, 2]), tf.max(v, -1), tf.min(v, 0), tf.cumsum(v, 2), tf.gather(v, tf.tensor1d([0, 2, 2], 'int32'), 1),
          tf.concat(tf.split(v, [1, 3], 2), 2), tf.stack(tf.unstack(v, 1), 0), tf.slice(v, [0, 1, 1], [-1, 2, 2]),
          tf.tile(v, [1, 2, 1]), tf.pad(v, [[0, 0], [1, 1], [0, 2]]), tf.reverse(v, 1), tf.transpose(v),
          tf.pow(v, u), tf.atan2(v, u), tf.clipByValue(v, 0.8, 1.5), tf.prelu(v, u), tf.leakyRelu(v), tf.relu6(v),
          tf.where(cond, v, u), tf.div(v, u), tf.floorDiv(v, u), tf.mod(v, u), tf.maximum(v, u),
          tf.squaredDifference(v, tf.mul(v, 0.5)), tf.sqrt(v), tf.rsqrt(v), tf.reciprocal(v), tf.log(v), tf.expm1(v), tf.erf(v),
          tf.sin(v), tf.cos(v), tf.tan(tf.mul(v, 0.1)), tf.asin(tf.mul(v, 0.1)), tf.acos(tf.mul(v, 0.1)), tf.atan(v),
          tf.sinh(v), tf.cosh(v), tf.asinh(v), tf.acosh(tf.add(v, 1)), tf.atanh(tf.mul(v, 0.1)), tf.abs(v), tf.sign(v),
          tf.round(v), tf.ceil(v), tf.floor(v), tf.softplus(v), tf.sigmoid(v), tf.tanh(v), tf.elu(v), tf.selu(v),
          tf.logSoftmax(v), tf.softmax(v), tf.mean(v, 1, true), tf.broadcastTo(tf.sum(v, 0, true), [3, 2, 3, 4]),
          tf.matMul(tf.reshape(v, [6, 4]), tf.reshape(u, [4, 6])), tf.expandDims(v, 1),
        ];
        return tf.addN(parts.map((p) => tf.sum(tf.cast(p, 'float32')))) as tf.Scalar;
      })([a, w]);
    });
    const missing = [...seen].filter((k) => KERNEL_RULES[k] === undefined).sort();
    expect(missing).toEqual([]);
    expect(seen.size).toBeGreaterThan(30);
  });
});
