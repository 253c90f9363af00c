/**
 * The canonical form of exported dense and conv layers (passes/canonical_matmul.ts): tfjs-layers
 * models export exactly the nodes a model built by hand has (Gemm with its bias, Relu, Conv with
 * its bias, pools, one Reshape to flatten, Softmax), with 2-D weights, and give tfjs's numbers in
 * onnxruntime-node; and on hand-built graphs, each rewrite keeps onnxruntime's numbers (a region
 * value read elsewhere gets an Unsqueeze, transposed operands become transA, int matmuls stay
 * MatMul).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';
import { cnnModel } from '../../../../bench/cases.js';
import type { Shape } from '../../../../ir/dim.js';
import { sym } from '../../../../ir/dim.js';
import type { DType } from '../../../../ir/dtype.js';
import type { TensorData } from '../../../../ir/tensor_data.js';
import { tensorData } from '../../../../ir/tensor_data.js';
import { EXPORT_PASSES, exportOnnx } from '../../../../exporters/onnx/export/export.js';
import { NameAllocator } from '../../../../exporters/onnx/export/names.js';
import type { OnnxAttrs, OnnxGraph } from '../../../../exporters/onnx/export/onnx_graph.js';
import { attr } from '../../../../exporters/onnx/export/onnx_graph.js';
import { runOnnxPasses } from '../../../../exporters/onnx/export/passes/pass.js';
import { inferDTypes, inferShapes } from '../../../../exporters/onnx/export/passes/shapes.js';
import { serializeModel } from '../../../../exporters/onnx/export/serialize.js';
import type { InputData } from '../harness.js';
import { randomizeWeights, rng, runOrt, testCnn } from '../harness.js';

// ---- tfjs-layers models ------------------------------------------------------------------------

function mlp(): tfl.Sequential {
  return tfl.sequential({ layers: [
    tfl.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }),
    tfl.layers.dense({ units: 128, activation: 'relu' }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
}

function cnnFlatten(): tfl.Sequential {
  return tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 128, activation: 'relu' }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
}

function flattenMlp(): tfl.Sequential {
  return tfl.sequential({ layers: [
    tfl.layers.flatten({ inputShape: [28, 28] }),
    tfl.layers.dense({ units: 30, activation: 'sigmoid' }),
    tfl.layers.dense({ units: 10 }),
  ] });
}

interface ModelCase { name: string; model: () => tfl.Sequential; inner: number[]; ops: string[] }

const MODELS: ModelCase[] = [
  { name: 'MLP 784-256-128-10', model: mlp, inner: [784], ops: ['Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm', 'Softmax'] },
  { name: 'CNN conv32-pool-conv64-pool-flatten-dense128-dense10', model: cnnFlatten, inner: [28, 28, 1],
    ops: ['Transpose', 'Conv', 'Relu', 'MaxPool', 'Conv', 'Relu', 'MaxPool', 'Transpose', 'Reshape', 'Gemm', 'Relu', 'Gemm', 'Softmax'] },
  { name: 'CNN conv8-pool-conv16-global average pool-dense10', model: cnnModel, inner: [28, 28, 1],
    ops: ['Transpose', 'Conv', 'Relu', 'MaxPool', 'Conv', 'Relu', 'GlobalAveragePool', 'Reshape', 'Gemm', 'Softmax'] },
  { name: 'Flatten 28×28, dense sigmoid, dense linear', model: flattenMlp, inner: [28, 28], ops: ['Reshape', 'Gemm', 'Sigmoid', 'Gemm'] },
];

describe('ONNX export: tfjs-layers models in the canonical form', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  for (const c of MODELS) {
    it(`${c.name}: ${c.ops.join(',')}, tfjs's numbers in onnxruntime`, async () => {
      const m = randomizeWeights(c.model(), 7) as tfl.Sequential;
      const fn = (x: tf.Tensor) => m.predict(x) as tf.Tensor;
      const specs = [gc.spec(['batch', ...c.inner], 'float32', 'x')];
      // The traced graph and the compiled (optimized) one export the same nodes.
      const traced = exportOnnx(gc.trace(fn, specs));
      const compiled = exportOnnx(gc.compile(fn, { inputs: specs, backend: 'cpu' }).graph);
      for (const ex of [traced, compiled]) {
        expect(ex.graph.nodes.map((n) => n.opType)).toEqual(c.ops);
        // Dense weights are 2-D: no initializer keeps a leading 1 of a batched matmul.
        for (const [name, t] of ex.graph.initializers) expect(t.shape.length === 3 && t.shape[0] === 1, name).toBe(false);
        for (const n of ex.graph.nodes.filter((x) => x.opType === 'Gemm')) {
          expect(n.inputs).toHaveLength(3);
          expect(ex.graph.initializers.get(n.inputs[1]!)!.shape).toHaveLength(2);
        }
      }
      const r = rng(11);
      for (const batch of [1, 5]) {
        const shape = [batch, ...c.inner];
        const data = Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => r() * 2 - 1);
        const want = tf.tidy(() => fn(tf.tensor(data, shape)).dataSync());
        for (const ex of [traced, compiled]) {
          const out = await runOrt(ex.bytes, { x: { dtype: 'float32', shape, data } }, [ex.graph.outputs[0]!.name]);
          const got = out[ex.graph.outputs[0]!.name]!;
          expect(got.dims).toEqual([batch, 10]);
          const a = got.data as Float32Array;
          for (let k = 0; k < want.length; k++) expect(Math.abs(a[k]! - want[k]!)).toBeLessThanOrEqual(1e-5);
        }
      }
      m.dispose();
    });
  }

  it('a 60-layer MLP is 60 Gemms (every layer in one run of the pass, not one per round of the pass driver)', async () => {
    const layers = Array.from({ length: 60 }, (_, i) => tfl.layers.dense({ units: 6, activation: 'tanh', ...(i === 0 ? { inputShape: [5] } : {}) }));
    const m = randomizeWeights(tfl.sequential({ layers }), 3) as tfl.Sequential;
    const fn = (x: tf.Tensor) => m.predict(x) as tf.Tensor;
    const ex = exportOnnx(gc.trace(fn, [gc.spec(['batch', 5], 'float32', 'x')]));
    expect(ex.graph.nodes.map((n) => n.opType)).toEqual(Array.from({ length: 60 }, () => ['Gemm', 'Tanh']).flat());
    const data = Float32Array.from({ length: 3 * 5 }, (_, i) => Math.cos(i));
    const want = tf.tidy(() => fn(tf.tensor(data, [3, 5])).dataSync());
    const got = (await runOrt(ex.bytes, { x: { dtype: 'float32', shape: [3, 5], data } }, [ex.graph.outputs[0]!.name]))[ex.graph.outputs[0]!.name]!.data as Float32Array;
    for (let k = 0; k < want.length; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThanOrEqual(1e-5);
    m.dispose();
  });

  it('a matmul with transpose_a and a bias exports as one Gemm with transA', async () => {
    const w = tf.tensor2d(Float32Array.from({ length: 12 }, (_, i) => (i % 5) - 2), [4, 3]);
    const b = tf.tensor1d([0.5, -1, 2]);
    const fn = (x: tf.Tensor) => tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, w, true, false), b));
    const g = gc.trace(fn, [gc.spec([4, 'batch'], 'float32', 'x')]);
    const ex = exportOnnx(g);
    expect(ex.graph.nodes.map((n) => n.opType)).toEqual(['Gemm', 'Relu']);
    expect(ex.graph.nodes[0]!.attrs.transA).toEqual(attr.int(1));
    const data = Float32Array.from({ length: 4 * 3 }, (_, i) => Math.sin(i));
    const want = tf.tidy(() => fn(tf.tensor(data, [4, 3])).dataSync());
    const got = (await runOrt(ex.bytes, { x: { dtype: 'float32', shape: [4, 3], data } }, [ex.graph.outputs[0]!.name]))[ex.graph.outputs[0]!.name]!;
    expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want));
    tf.dispose([w, b]);
  });

  it('a graph optimized for wasm (matmul operands transposed explicitly) exports its Gemms with transA / transB, no Transpose: an MLP training step, same loss in ORT', async () => {
    await gc.ensureBackend('wasm');
    await tf.setBackend('wasm');
    try {
      const m = mlp();
      const opt = tf.train.sgd(0.1);
      const step = (x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x) as tf.Tensor) as tf.Scalar, true)!;
      const f = gc.compile(step, { inputs: [gc.spec(['b', 784]), gc.spec(['b', 10])], backend: 'wasm' });
      expect(f.graph.nodes.some((n) => n.op === 'transpose')).toBe(true);
      const ex = exportOnnx(f.graph);
      expect(ex.graph.nodes.filter((n) => n.opType === 'Transpose')).toEqual([]);
      expect(ex.graph.nodes.some((n) => n.opType === 'Gemm' && (n.attrs.transA?.kind === 'int' && n.attrs.transA.value === 1))).toBe(true);
      const r = rng(3);
      const xd = Float32Array.from({ length: 8 * 784 }, () => r() - 0.5), yd = new Float32Array(8 * 10).map((_, i) => (i % 10 === i % 7 ? 1 : 0));
      const inputs: Record<string, InputData> = { [f.graph.inputs[0]!.name!]: { dtype: 'float32', shape: [8, 784], data: xd }, [f.graph.inputs[1]!.name!]: { dtype: 'float32', shape: [8, 10], data: yd } };
      const init = await runOrt(gc.initialStateModel(f.graph, ex.state, { stateValues: f.stateValues }), {}, ex.state.map((s) => s.input));
      for (const s of ex.state) inputs[s.input] = { dtype: init[s.input]!.type as 'float32', shape: init[s.input]!.dims as number[], data: init[s.input]!.data as Float32Array };
      const out = await runOrt(ex.bytes, inputs, [ex.graph.outputs[0]!.name]);
      const loss = (await ((await f(tf.tensor2d(xd, [8, 784]), tf.tensor2d(yd, [8, 10]))) as tf.Tensor).data())[0]!;
      expect(Math.abs((out[ex.graph.outputs[0]!.name]!.data as Float32Array)[0]! - loss)).toBeLessThan(1e-5);
      f.dispose();
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

// ---- the passes on hand-built graphs -------------------------------------------------------------

type NodeSpec = [opType: string, inputs: string[], output: string, attrs?: OnnxAttrs];

function build(nodes: NodeSpec[], inputs: [string, Shape, DType?][], outputs: [string, Shape, DType?][], inits: Record<string, TensorData> = {}): OnnxGraph {
  return {
    name: 'g',
    nodes: nodes.map(([opType, ins, out, attrs], i) => ({ opType, inputs: ins, outputs: [out], attrs: attrs ?? {}, name: `n${i}`, doc: '' })),
    initializers: new Map(Object.entries(inits)),
    inputs: inputs.map(([name, shape, dtype]) => ({ name, dtype: dtype ?? 'float32', shape })),
    outputs: outputs.map(([name, shape, dtype]) => ({ name, dtype: dtype ?? 'float32', shape })),
  };
}

const i64 = (...v: number[]) => tensorData('int64', [v.length], v);
const data = (dtype: DType, shape: number[], seed: number): TensorData => {
  const r = rng(seed);
  return tensorData(dtype, shape, Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => (dtype === 'float32' ? r() * 2 - 1 : Math.floor(r() * 7) - 3)));
};

function clone(g: OnnxGraph): OnnxGraph {
  return { ...g, nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })), initializers: new Map(g.initializers), inputs: [...g.inputs], outputs: [...g.outputs] };
}

/** Runs the exporter's passes; onnxruntime gives the same outputs before and after, with `batch` = 3. */
async function passAndCompare(g: OnnxGraph): Promise<OnnxGraph> {
  const after = clone(g);
  const values = new NameAllocator(), nodes = new NameAllocator();
  for (const n of g.nodes) { nodes.claim(n.name); n.outputs.forEach((o) => values.claim(o)); }
  for (const k of g.initializers.keys()) values.claim(k);
  for (const i of g.inputs) values.claim(i.name);
  runOnnxPasses(after, EXPORT_PASSES, { freshValue: (b) => values.fresh(b), freshNode: (b) => nodes.fresh(b) });
  const feeds: Record<string, InputData> = {};
  g.inputs.forEach((i, k) => {
    const shape = i.shape.map((d) => (typeof d === 'number' ? d : 3));
    const t = data(i.dtype, shape, 20 + k);
    feeds[i.name] = { dtype: i.dtype as 'float32' | 'int32', shape, data: t.data as Float32Array | Int32Array };
  });
  const names = g.outputs.map((o) => o.name);
  const meta = { opset: 17, irVersion: 8, producerVersion: 'test' };
  const want = await runOrt(serializeModel(g, meta), feeds, names);
  const got = await runOrt(serializeModel(after, meta), feeds, names);
  for (const n of names) {
    expect(got[n]!.dims).toEqual(want[n]!.dims);
    expect(Array.from(got[n]!.data as Float32Array)).toEqual(Array.from(want[n]!.data as Float32Array));
  }
  return after;
}

const batch = sym('batch');

describe('canonical-form passes', () => {
  it('a 3-D region read by a graph output and by a reduction gets an Unsqueeze; the Reshape out of it reads the 2-D value', async () => {
    const g = build([
      ['Reshape', ['x', 's3'], 'a'], ['MatMul', ['a', 'w'], 'm'], ['Add', ['m', 'b'], 'z'], ['Relu', ['z'], 'y3'],
      ['ReduceSum', ['y3', 'ax0'], 'r', { keepdims: attr.int(0) }], ['Reshape', ['y3', 's2'], 'y2'],
    ], [['x', [batch, 4]]], [['y3', [1, batch, 3]], ['r', [batch, 3]], ['y2', [batch, 3]]],
    { s3: i64(1, -1, 4), s2: i64(-1, 3), ax0: i64(0), w: data('float32', [1, 4, 3], 1), b: data('float32', [3], 2) });
    const after = await passAndCompare(g);
    expect(after.nodes.map((n) => n.opType)).toEqual(['Gemm', 'Relu', 'Unsqueeze', 'ReduceSum', 'Identity']);
    const relu = after.nodes.find((n) => n.opType === 'Relu')!;
    expect(after.nodes.find((n) => n.opType === 'Unsqueeze')!.outputs).toEqual(['y3']);
    // y2 is the 2-D Relu result itself: Reshape(·, [-1, 3]) of a [batch, 3] value changes nothing.
    expect(after.nodes.find((n) => n.opType === 'Identity')!.inputs).toEqual(relu.outputs);
  });

  it('a batched matmul of two reshaped inputs (weights fed as inputs, a training step with state inputs) is a Gemm', async () => {
    const g = build([
      ['Reshape', ['x', 's3'], 'a'], ['Reshape', ['w', 'sw'], 'w3'], ['MatMul', ['a', 'w3'], 'm'], ['Reshape', ['m', 's2'], 'y'],
    ], [['x', [batch, 4]], ['w', [4, 3]]], [['y', [batch, 3]]], { s3: i64(1, -1, 4), sw: i64(1, 4, 3), s2: i64(-1, 3) });
    const after = await passAndCompare(g);
    expect(after.nodes.map((n) => n.opType)).toEqual(['Gemm']);
    expect(after.nodes[0]!.inputs).toEqual(['x', 'w']);
  });

  it('weights fed as an input and transposed (transpose_b) give Gemm with transB, the bias as C', async () => {
    const g = build([
      ['Reshape', ['x', 's3'], 'a'], ['Reshape', ['w', 'sw'], 'w3'], ['Transpose', ['w3'], 'wt', { perm: attr.ints([0, 2, 1]) }],
      ['MatMul', ['a', 'wt'], 'm'], ['Reshape', ['m', 's2'], 'r'], ['Add', ['r', 'b'], 'y'],
    ], [['x', [batch, 4]], ['w', [3, 4]], ['b', [3]]], [['y', [batch, 3]]], { s3: i64(1, -1, 4), sw: i64(1, 3, 4), s2: i64(-1, 3) });
    const after = await passAndCompare(g);
    expect(after.nodes.map((n) => n.opType)).toEqual(['Gemm']);
    expect(after.nodes[0]!.inputs).toEqual(['x', 'w', 'b']);
    expect(after.nodes[0]!.attrs).toEqual({ transA: attr.int(0), transB: attr.int(1) });
  });

  it('a Reshape to [1, …] of a region value continues the region', async () => {
    const g = build([
      ['Reshape', ['x', 's3'], 'a'], ['MatMul', ['a', 'w'], 'm'], ['Reshape', ['m', 'r3'], 'b'], ['MatMul', ['b', 'w2'], 'm2'], ['Reshape', ['m2', 's2'], 'y'],
    ], [['x', [batch, 4]]], [['y', [2 * 3, 2]]], { s3: i64(1, -1, 4), w: data('float32', [1, 4, 6], 6), r3: i64(1, -1, 3), w2: data('float32', [1, 3, 2], 7), s2: i64(-1, 2) });
    const after = await passAndCompare(g);
    expect(after.nodes.map((n) => n.opType)).toEqual(['Gemm', 'Reshape', 'Gemm']);
    expect(Array.from(after.initializers.get(after.nodes[1]!.inputs[1]!)!.data as BigInt64Array, Number)).toEqual([-1, 3]);
  });

  it('int32 matmuls lose the leading 1 but stay MatMul (ONNX Runtime has no int Gemm)', async () => {
    const g = build([['Reshape', ['x', 's3'], 'a'], ['MatMul', ['a', 'w'], 'm'], ['Reshape', ['m', 's2'], 'y']],
      [['x', [batch, 4], 'int32']], [['y', [batch, 3], 'int32']], { s3: i64(1, -1, 4), s2: i64(-1, 3), w: data('int32', [1, 4, 3], 3) });
    const after = await passAndCompare(g);
    expect(after.nodes.map((n) => n.opType)).toEqual(['MatMul']);
    expect(after.initializers.get(after.nodes[0]!.inputs[1]!)!.shape).toEqual([4, 3]);
  });

  it('an operand of the region rank that does not broadcast the same way keeps the 3-D form', async () => {
    const g = build([['Reshape', ['x', 's3'], 'a'], ['MatMul', ['a', 'w'], 'm'], ['Add', ['m', 'c'], 'y']],
      [['x', [batch, 4]]], [['y', [2, batch, 3]]], { s3: i64(1, -1, 4), w: data('float32', [1, 4, 3], 4), c: data('float32', [2, 1, 3], 5) });
    const after = await passAndCompare(g);
    expect(after.nodes.map((n) => n.opType)).toEqual(['Gemm', 'Unsqueeze', 'Add']);
  });

  it('a ReduceMean over H and W of an int tensor, or of a 3-D one, is not a global pool', async () => {
    const g = build([['ReduceMean', ['x'], 'y', { keepdims: attr.int(0), axes: attr.ints([2, 3]) }], ['ReduceMean', ['z'], 'u', { keepdims: attr.int(1), axes: attr.ints([2]) }]],
      [['x', [2, 3, 4, 5], 'int32'], ['z', [2, 3, 4]]], [['y', [2, 3], 'int32'], ['u', [2, 3, 1]]]);
    const after = await passAndCompare(g);
    expect(after.nodes.map((n) => n.opType)).toEqual(['ReduceMean', 'ReduceMean']);
  });
});

describe('the shapes and dtypes the passes infer', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  const graphs: Array<[string, () => gc.Graph]> = [
    ...MODELS.map((c): [string, () => gc.Graph] => [c.name, () => {
      const m = c.model();
      return gc.trace((x: tf.Tensor) => m.predict(x) as tf.Tensor, [gc.spec(['batch', ...c.inner], 'float32', 'x')]);
    }]),
    ['the export suites\' CNN (conv, batch norm, pools, dropout, flatten, dense)', () => {
      const m = testCnn();
      return gc.trace((x: tf.Tensor) => m.predict(x) as tf.Tensor, [gc.spec(['batch', 12, 12, 3], 'float32', 'x')]);
    }],
  ];
  for (const [name, make] of graphs) {
    it(`${name}: every inferred dim and dtype is what onnxruntime computes (batch 2), before and after the passes`, async () => {
      const g = make();
      for (const optimize of [false, true]) {
        const og = exportOnnx(g, { optimize }).graph;
        const shapes = inferShapes(og), dtypes = inferDTypes(og);
        const inner = og.nodes.flatMap((n) => n.outputs).filter((o) => shapes.has(o));
        expect(inner.length).toBeGreaterThan(og.nodes.length / 2);
        // Every inferred value as a graph output, to read its shape back.
        const probe: OnnxGraph = { ...og, outputs: inner.map((o) => ({ name: o, dtype: dtypes.get(o) ?? 'float32', shape: shapes.get(o)!.map((d, i) => d ?? sym(`u${i}`)) })) };
        const x = og.inputs[0]!;
        const shape = x.shape.map((d) => (typeof d === 'number' ? d : 2));
        const out = await runOrt(serializeModel(probe, { opset: 17, irVersion: 8, producerVersion: 'test' }),
          { [x.name]: { dtype: 'float32', shape, data: Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => Math.sin(i)) } }, inner);
        for (const o of inner) {
          const want = shapes.get(o)!.map((d) => (d === undefined ? undefined : typeof d === 'number' ? d : d.k * 2 + d.c));
          const got = out[o]!.dims.map((d, i) => (want[i] === undefined ? undefined : d));
          expect(got, o).toEqual(want);
          if (dtypes.has(o)) expect(out[o]!.type, o).toBe(dtypes.get(o));
        }
      }
    });
  }
});
