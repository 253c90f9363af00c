/**
 * The transpose-sinking pass on hand-built ONNX graphs: each case checks the Transpose count
 * after the pass and that onnxruntime computes the same numbers before and after; negative
 * cases check that a Transpose is never duplicated, never moved past a graph output and
 * never pushed into a layout-dependent op.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';
import type { Shape } from '../../../../../ir/dim.js';
import type { TensorData } from '../../../../../ir/tensor_data.js';
import { tensorData } from '../../../../../ir/tensor_data.js';
import { exportOnnx } from '../../../../../exporters/onnx/export/export.js';
import { NameAllocator } from '../../../../../exporters/onnx/export/names.js';
import type { OnnxAttrs, OnnxGraph } from '../../../../../exporters/onnx/export/onnx_graph.js';
import { attr } from '../../../../../exporters/onnx/export/onnx_graph.js';
import type { PassCtx } from '../../../../../exporters/onnx/export/passes/pass.js';
import { runOnnxPasses } from '../../../../../exporters/onnx/export/passes/pass.js';
import { serializeModel } from '../../../../../exporters/onnx/export/serialize.js';
import { eliminateIdentities, removeDeadNodes } from '../../../../../exporters/onnx/export/passes/cleanup.js';
import { sinkTransposes } from '../../../../../exporters/onnx/export/passes/transpose_sinking.js';
import { rng, runOrt } from '../../harness.js';

const NHWC_TO_NCHW = [0, 3, 1, 2], NCHW_TO_NHWC = [0, 2, 3, 1];

type NodeSpec = [opType: string, inputs: string[], output: string, attrs?: OnnxAttrs];

function build(nodes: NodeSpec[], inputs: [string, Shape][], outputs: [string, Shape][], inits: Record<string, TensorData> = {}): OnnxGraph {
  return {
    name: 'g',
    nodes: nodes.map(([opType, ins, out, attrs], i) => ({ opType, inputs: ins, outputs: [out], attrs: attrs ?? {}, name: `n${i}`, doc: '' })),
    initializers: new Map(Object.entries(inits)),
    inputs: inputs.map(([name, shape]) => ({ name, dtype: 'float32', shape })),
    outputs: outputs.map(([name, shape]) => ({ name, dtype: 'float32', shape })),
  };
}

const T = (x: string, perm: number[], out: string): NodeSpec => ['Transpose', [x], out, { perm: attr.ints(perm) }];
const f32 = (shape: number[], seed: number): TensorData => {
  const r = rng(seed);
  return tensorData('float32', shape, Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => r() * 2 - 1));
};

function clone(g: OnnxGraph): OnnxGraph {
  return { ...g, nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })), initializers: new Map(g.initializers), inputs: [...g.inputs], outputs: [...g.outputs] };
}

function ctxFor(g: OnnxGraph): PassCtx {
  const values = new NameAllocator(), nodes = new NameAllocator();
  for (const n of g.nodes) { nodes.claim(n.name); n.outputs.forEach((o) => values.claim(o)); }
  for (const k of g.initializers.keys()) values.claim(k);
  for (const i of g.inputs) values.claim(i.name);
  return { freshValue: (b) => values.fresh(b), freshNode: (b) => nodes.fresh(b) };
}

const count = (g: OnnxGraph, op: string) => g.nodes.filter((n) => n.opType === op).length;

/** Runs the sinking pass (and clean-ups); checks onnxruntime gives the same outputs before and after. */
async function sinkAndCompare(g: OnnxGraph, opset = 17): Promise<OnnxGraph> {
  const before = clone(g);
  const after = clone(g);
  runOnnxPasses(after, [eliminateIdentities, sinkTransposes, removeDeadNodes], ctxFor(after));
  const r = rng(3);
  const feeds = Object.fromEntries(g.inputs.map((i) => {
    const shape = i.shape as number[];
    return [i.name, { dtype: 'float32' as const, shape, data: Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => r() * 4 - 2) }];
  }));
  const names = g.outputs.map((o) => o.name);
  const meta = { opset, irVersion: 8, producerVersion: 'test' };
  const want = await runOrt(serializeModel(before, meta), feeds, names);
  const got = await runOrt(serializeModel(after, meta), feeds, names);
  for (const n of names) {
    expect(got[n]!.dims).toEqual(want[n]!.dims);
    const a = got[n]!.data as Float32Array, b = want[n]!.data as Float32Array;
    for (let k = 0; k < b.length; k++) expect(Math.abs(a[k]! - b[k]!)).toBeLessThanOrEqual(1e-6 + 1e-6 * Math.abs(b[k]!));
  }
  return after;
}

describe('transpose sinking', () => {
  it('cancels an inverse pair', async () => {
    const g = build([T('x', NHWC_TO_NCHW, 'a'), T('a', NCHW_TO_NHWC, 'b'), ['Relu', ['b'], 'y']], [['x', [2, 3, 4, 5]]], [['y', [2, 3, 4, 5]]]);
    const after = await sinkAndCompare(g);
    expect(after.nodes.map((n) => n.opType)).toEqual(['Relu']);
    expect(after.nodes[0]!.inputs).toEqual(['x']);
  });

  it('sinks through unary ops (Relu, Clip with scalar bounds, Cast) and then cancels', async () => {
    const g = build([T('x', NCHW_TO_NHWC, 'a'), ['Relu', ['a'], 'b'], ['Clip', ['b', 'lo', 'hi'], 'c'], ['Sigmoid', ['c'], 'd'], T('d', NHWC_TO_NCHW, 'y')],
      [['x', [2, 3, 4, 5]]], [['y', [2, 3, 4, 5]]], { lo: tensorData('float32', [], [0]), hi: tensorData('float32', [], [0.7]) });
    const after = await sinkAndCompare(g);
    expect(count(after, 'Transpose')).toBe(0);
    expect(after.nodes.map((n) => n.opType)).toEqual(['Relu', 'Clip', 'Sigmoid']);
  });

  it('sinks through a broadcast Add / Mul with per-channel constants, permuting them', async () => {
    const g = build([T('x', NCHW_TO_NHWC, 'a'), ['Add', ['a', 'bias'], 'b'], ['Mul', ['k', 'b'], 'c'], ['Sub', ['c', 'two'], 'd'], T('d', NHWC_TO_NCHW, 'y')],
      [['x', [2, 3, 4, 5]]], [['y', [2, 3, 4, 5]]], { bias: f32([3], 1), k: f32([1, 1, 3], 2), two: tensorData('float32', [], [2]) });
    const after = await sinkAndCompare(g);
    expect(count(after, 'Transpose')).toBe(0);
    const add = after.nodes.find((n) => n.opType === 'Add')!;
    expect(after.initializers.get(add.inputs[1]!)!.shape).toEqual([1, 3, 1, 1]);
    // The scalar is shared as it was.
    expect(after.nodes.find((n) => n.opType === 'Sub')!.inputs[1]).toBe('two');
  });

  it('sinks a pair of same-perm transposes through a binary op (a residual add)', async () => {
    const g = build([T('x', NCHW_TO_NHWC, 'a'), T('z', NCHW_TO_NHWC, 'b'), ['Add', ['a', 'b'], 'c'], ['Relu', ['c'], 'd'], T('d', NHWC_TO_NCHW, 'y')],
      [['x', [1, 2, 3, 3]], ['z', [1, 2, 3, 3]]], [['y', [1, 2, 3, 3]]]);
    const after = await sinkAndCompare(g);
    expect(count(after, 'Transpose')).toBe(0);
  });

  it('sinks through Concat, remapping the axis', async () => {
    const g = build([T('x', NCHW_TO_NHWC, 'a'), T('z', NCHW_TO_NHWC, 'b'), ['Concat', ['a', 'b'], 'c', { axis: attr.int(3) }], T('c', NHWC_TO_NCHW, 'y')],
      [['x', [1, 2, 3, 4]], ['z', [1, 5, 3, 4]]], [['y', [1, 7, 3, 4]]]);
    const after = await sinkAndCompare(g);
    expect(count(after, 'Transpose')).toBe(0);
    expect(after.nodes[0]!.attrs.axis).toEqual(attr.int(1));
  });

  it('sinks through Softmax, remapping the axis', async () => {
    const g = build([T('x', NCHW_TO_NHWC, 'a'), ['Softmax', ['a'], 'b', { axis: attr.int(-1) }], T('b', NHWC_TO_NCHW, 'y')],
      [['x', [2, 3, 2, 2]]], [['y', [2, 3, 2, 2]]]);
    const after = await sinkAndCompare(g);
    expect(count(after, 'Transpose')).toBe(0);
    expect(after.nodes[0]!.attrs.axis).toEqual(attr.int(1));
  });

  for (const opset of [17, 18]) {
    it(`removes the transpose before a global average pool (ReduceMean over H, W; opset ${opset})`, async () => {
      const reduce: NodeSpec = opset >= 18
        ? ['ReduceMean', ['a', 'axes'], 'y', { keepdims: attr.int(0) }]
        : ['ReduceMean', ['a'], 'y', { keepdims: attr.int(0), axes: attr.ints([1, 2]) }];
      const g = build([T('x', NCHW_TO_NHWC, 'a'), reduce], [['x', [2, 3, 4, 5]]], [['y', [2, 3]]],
        opset >= 18 ? { axes: tensorData('int64', [2], [1, 2]) } : {});
      const after = await sinkAndCompare(g, opset);
      expect(after.nodes.map((n) => n.opType)).toEqual(['ReduceMean']);
    });
  }

  it('keeps a transpose after a keepdims reduction', async () => {
    const g = build([T('x', NCHW_TO_NHWC, 'a'), ['ReduceMax', ['a'], 'b', { keepdims: attr.int(1), axes: attr.ints([3]) }], ['Relu', ['b'], 'y']],
      [['x', [2, 3, 4, 5]]], [['y', [2, 4, 5, 1]]]);
    const after = await sinkAndCompare(g);
    expect(after.nodes.map((n) => n.opType)).toEqual(['ReduceMax', 'Relu', 'Transpose']);
  });

  it('folds the transpose of an initializer', async () => {
    const g = build([T('w', [1, 0], 'wt'), ['MatMul', ['x', 'wt'], 'y']], [['x', [2, 3]]], [['y', [2, 4]]], { w: f32([4, 3], 5) });
    const after = await sinkAndCompare(g);
    expect(after.nodes.map((n) => n.opType)).toEqual(['MatMul']);
    expect(after.initializers.get('wt')!.shape).toEqual([3, 4]);
  });

  it('never: past a graph output, into two readers, or into a layout-dependent op', async () => {
    const atOutput = await sinkAndCompare(build([T('x', NCHW_TO_NHWC, 'y')], [['x', [1, 2, 3, 4]]], [['y', [1, 3, 4, 2]]]));
    expect(atOutput.nodes.map((n) => n.opType)).toEqual(['Transpose']);
    const twoReaders = await sinkAndCompare(build([T('x', NCHW_TO_NHWC, 'a'), ['Relu', ['a'], 'y'], ['Sigmoid', ['a'], 'z']],
      [['x', [1, 2, 3, 4]]], [['y', [1, 3, 4, 2]], ['z', [1, 3, 4, 2]]]));
    expect(count(twoReaders, 'Transpose')).toBe(1);
    const reshape = await sinkAndCompare(build([T('x', NCHW_TO_NHWC, 'a'), ['Reshape', ['a', 'shape'], 'y']],
      [['x', [1, 2, 3, 4]]], [['y', [1, 24]]], { shape: tensorData('int64', [2], [1, 24]) }));
    expect(reshape.nodes.map((n) => n.opType)).toEqual(['Transpose', 'Reshape']);
    const nonConst = await sinkAndCompare(build([T('x', NCHW_TO_NHWC, 'a'), ['Add', ['a', 'z'], 'y']],
      [['x', [1, 2, 3, 4]], ['z', [2]]], [['y', [1, 3, 4, 2]]]));
    expect(nonConst.nodes.map((n) => n.opType)).toEqual(['Transpose', 'Add']);
  });
});

describe('transpose sinking on an exported CNN', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  it('leaves 2 of the Transposes the conv / BN / pool rules emit, with the same numbers', async () => {
    const model = tfl.sequential({ layers: [
      tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', inputShape: [8, 8, 2], activation: 'relu' }),
      tfl.layers.batchNormalization({}),
      tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.averagePooling2d({ poolSize: 2 }),
      tfl.layers.flatten({}),
      tfl.layers.dense({ units: 3 }),
    ] });
    const g = gc.trace((x: tf.Tensor) => model.predict(x) as tf.Tensor, [gc.spec(['batch', 8, 8, 2])]);
    const raw = exportOnnx(g, { optimize: false });
    const opt = exportOnnx(g);
    expect(count(raw.graph, 'Transpose')).toBeGreaterThanOrEqual(10);
    expect(count(opt.graph, 'Transpose')).toBe(2);
    const r = rng(9);
    const x = { dtype: 'float32' as const, shape: [3, 8, 8, 2], data: Float32Array.from({ length: 384 }, () => r()) };
    const a = (await runOrt(raw.bytes, { x }, ['output_0'])).output_0!.data as Float32Array;
    const b = (await runOrt(opt.bytes, { x }, ['output_0'])).output_0!.data as Float32Array;
    expect(Array.from(b).map((v, i) => Math.abs(v - a[i]!) <= 1e-5 + 1e-5 * Math.abs(a[i]!))).not.toContain(false);
  });
});
