/**
 * Models people can read (issue 13): initializers named after the user's variables, nodes after
 * their layer or gc.name'd value, value_info for every value between the nodes, producer,
 * graph doc and source lines kept — and the model still runs in onnxruntime with tfjs's numbers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';
import { exportOnnx, GRAPHC_VERSION } from '../../../../exporters/onnx/export/export.js';
import { onnx } from '../../../../exporters/onnx/proto.js';
import { checkModels, randomizeWeights, rng, runOrt } from '../harness.js';

const decode = (b: Uint8Array) => onnx.ModelProto.decode(b);

/** Every value a node computes that is not a graph input, initializer or output. */
function intermediates(g: onnx.IGraphProto): string[] {
  const skip = new Set([...(g.input ?? []).map((i) => i.name), ...(g.initializer ?? []).map((t) => t.name), ...(g.output ?? []).map((o) => o.name)]);
  return (g.node ?? []).flatMap((n) => n.output ?? []).filter((o) => o !== '' && !skip.has(o));
}

const dims = (vi: onnx.IValueInfoProto) => vi.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue ?? -1));

async function sameAsTfjs(bytes: Uint8Array, fn: (x: tf.Tensor) => tf.Tensor, inner: number[]): Promise<void> {
  const r = rng(5);
  for (const batch of [1, 4]) {
    const shape = [batch, ...inner];
    const data = Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => r() * 2 - 1);
    const want = tf.tidy(() => fn(tf.tensor(data, shape)).dataSync());
    const m = decode(bytes);
    const out = m.graph!.output![0]!.name!;
    const got = (await runOrt(bytes, { [m.graph!.input![0]!.name!]: { dtype: 'float32', shape, data } }, [out]))[out]!.data as Float32Array;
    expect(got.length).toBe(want.length);
    for (let k = 0; k < want.length; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThanOrEqual(1e-5);
  }
}

describe('ONNX export: names, types and documentation people can read', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  it("a tfjs-layers MLP: the initializers are exactly its weights' names, nodes are named after their layers, value_info types every value between them", async () => {
    const m = randomizeWeights(tfl.sequential({ layers: [
      tfl.layers.flatten({ inputShape: [6, 5] }),
      tfl.layers.dense({ units: 12, activation: 'relu' }),
      tfl.layers.dense({ units: 4, activation: 'softmax' }),
    ] }), 3);
    const fn = (x: tf.Tensor) => m.predict(x) as tf.Tensor;
    const [d1, d2] = [m.layers[1]!.name, m.layers[2]!.name];
    for (const graph of [gc.trace(fn, [gc.spec(['batch', 6, 5], 'float32', 'x')]), gc.compile(fn, { inputs: [gc.spec(['batch', 6, 5], 'float32', 'x')], backend: 'cpu' }).graph]) {
      const ex = exportOnnx(graph);
      const model = decode(ex.bytes);
      const g = model.graph!;
      // The weights, by their tfjs names (not v12_2d); the one other initializer is Flatten's shape.
      const floats = g.initializer!.filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT).map((t) => t.name).sort();
      expect(floats).toEqual(m.weights.map((w) => w.name).sort());
      expect(floats).toEqual([`${d1}/bias`, `${d1}/kernel`, `${d2}/bias`, `${d2}/kernel`]);
      // Gemm reads the kernel under its own name, with its own shape.
      const gemm1 = g.node!.find((n) => n.name === `${d1}/Gemm`)!;
      expect(gemm1.input).toEqual([expect.any(String), `${d1}/kernel`, `${d1}/bias`]);
      expect(g.initializer!.find((t) => t.name === `${d1}/kernel`)!.dims!.map(Number)).toEqual([30, 12]);
      // Nodes after their layers (the softmax of the second Dense is its activation; the Reshape
      // is the first Dense's, recorded while tfjs-layers applied it: src/trace/layer_scope.ts).
      expect(g.node!.map((n) => n.name)).toEqual([`${d1}/Reshape`, `${d1}/Gemm`, `${d1}/Relu`, `${d2}/Gemm`, `${d2}/Softmax`]);
      // Values computed by the nodes are named after them; input and output names are the Session's.
      expect(g.node!.map((n) => n.output![0])).toEqual([`${d1}/Reshape:0`, `${d1}/Gemm:0`, `${d1}/Relu:0`, `${d2}/Gemm:0`, 'output_0']);
      expect(g.input!.map((i) => i.name)).toEqual(['x']);
      // value_info: every intermediate, float32, with the symbolic batch as dim_param.
      expect(g.valueInfo!.map((v) => v.name)).toEqual(intermediates(g));
      expect(g.valueInfo!.map(dims)).toEqual([['batch', 30], ['batch', 12], ['batch', 12], ['batch', 4]]);
      for (const v of g.valueInfo!) expect(v.type!.tensorType!.elemType).toBe(onnx.TensorProto.DataType.FLOAT);
      // The names map points at what exists.
      expect(ex.names.toOnnx.get(graph.states[0]!.value.name!)).toBe(graph.states[0]!.name);
      await sameAsTfjs(ex.bytes, fn, [6, 5]);
      expect(checkModels(new Map([['mlp', ex.bytes]])).get('mlp')).toBeNull();
    }
    m.dispose();
  });

  it("a CNN with batch norm: each initializer is named after the variable it holds (a conv kernel in ONNX's layout as <kernel>_oihw), convolutions and norms after their layers", async () => {
    const m = randomizeWeights(tfl.sequential({ layers: [
      tfl.layers.conv2d({ inputShape: [10, 10, 2], filters: 4, kernelSize: 3, activation: 'relu' }),
      tfl.layers.batchNormalization({}),
      tfl.layers.activation({ activation: 'relu6' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3 }),
    ] }), 9);
    const fn = (x: tf.Tensor) => m.predict(x) as tf.Tensor;
    const ex = exportOnnx(gc.trace(fn, [gc.spec(['batch', 10, 10, 2], 'float32', 'x')]));
    const g = decode(ex.bytes).graph!;
    const weights = m.weights.map((w) => w.name);
    const conv = m.layers[0]!.name, bn = m.layers[1]!.name, act = m.layers[2]!.name, pool = m.layers[3]!.name, dense = m.layers[5]!.name;
    // relu6's bounds 6 and 0 (its Relu, Min are one Clip: passes/activations.ts) are constants of the function, not variables.
    const T = onnx.TensorProto.DataType;
    expect(g.initializer!.filter((x) => x.name!.startsWith('const_')).map((x) => [x.dataType, x.dims!.length])).toEqual([[T.FLOAT, 0], [T.INT64, 1], [T.FLOAT, 0]]);
    for (const t of g.initializer!.filter((x) => x.dataType === onnx.TensorProto.DataType.FLOAT && !x.name!.startsWith('const_'))) {
      expect(weights.includes(t.name!) || weights.includes(t.name!.replace(/_oihw$/, '')), t.name!).toBe(true);
    }
    expect(g.initializer!.map((t) => t.name)).toContain(`${conv}/kernel_oihw`);
    const byOp = (op: string) => g.node!.filter((n) => n.opType === op).map((n) => n.name);
    expect(byOp('Conv')).toEqual([`${conv}/Conv`]);
    expect(byOp('BatchNormalization')).toEqual([`${bn}/BatchNormalization`]);
    // The conv's fused relu is the conv's; the Activation layer after the batch norm is not the norm's.
    expect(byOp('Relu')).toEqual([`${conv}/Relu`]);
    expect(byOp('Clip')).toEqual([`${act}/Clip`]); // the Activation layer's relu6 (Relu, Min → one Clip: passes/activations.ts)
    // Layers without weights are named after the layer tfjs-layers was applying (src/trace/layer_scope.ts).
    expect(byOp('MaxPool')).toEqual([`${pool}/MaxPool`]);
    expect(byOp('Gemm')).toEqual([`${dense}/Gemm`]);
    const names = g.node!.map((n) => n.name);
    expect(new Set(names).size).toBe(names.length);
    expect(g.valueInfo!.map((v) => v.name)).toEqual(intermediates(g));
    for (const v of g.valueInfo!) expect(dims(v)[0], v.name!).toBe('batch');
    await sameAsTfjs(ex.bytes, fn, [10, 10, 2]);
    expect(checkModels(new Map([['cnn', ex.bytes]])).get('cnn')).toBeNull();
    m.dispose();
  });

  it("a gc.name'd value names its node and keeps its own name; variables of raw ops keep their names; the same graph gives the same bytes", async () => {
    const w = tf.variable(tf.tensor2d([[1, -2, 3], [0.5, 1, -1]]), true, 'encoder/w');
    const b = tf.variable(tf.tensor1d([0.1, 0.2, -0.3]), true, 'encoder/b');
    const fn = (x: tf.Tensor) => tf.sigmoid(tf.mul(gc.name(tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, w), b)), 'hidden'), 2));
    const graph = gc.trace(fn, [gc.spec(['n', 2], 'float32', 'x')]);
    const ex = exportOnnx(graph);
    const g = decode(ex.bytes).graph!;
    expect(g.initializer!.map((t) => t.name).filter((n) => n!.startsWith('encoder'))).toEqual(['encoder/w', 'encoder/b']);
    const producer = g.node!.find((n) => n.output!.includes('hidden'))!;
    expect(producer.name).toBe('hidden/Relu');
    expect(g.node!.filter((n) => n.input!.includes('encoder/w')).map((n) => n.name)).toEqual([expect.stringMatching(/^encoder\//)]);
    expect(ex.names.toOnnx.get('hidden')).toBe('hidden');
    expect(g.valueInfo!.find((v) => v.name === 'hidden')!.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['n', 3]);
    expect(exportOnnx(graph).bytes).toEqual(ex.bytes);
    const x = Float32Array.from([1, 2, -1, 0.5]);
    const out = await runOrt(ex.bytes, { x: { dtype: 'float32', shape: [2, 2], data: x } }, ['output_0']);
    const want = tf.tidy(() => fn(tf.tensor2d(x, [2, 2])).dataSync());
    expect(Array.from(out.output_0!.data as Float32Array).map((v, i) => Math.abs(v - want[i]!) < 1e-6)).toEqual([true, true, true, true, true, true]);
    tf.dispose([w, b]);
  });

  it("producer graphc and its version, a graph doc_string, each node's doc_string the user's file:line:col", () => {
    const g = gc.trace((x: tf.Tensor) => tf.tanh(tf.add(x, 1)), [gc.spec(['batch', 3], 'float32', 'x')]); // the traced line
    const m = decode(exportOnnx(g).bytes);
    expect(m.producerName).toBe('graphc');
    expect(m.producerVersion).toBe(GRAPHC_VERSION);
    expect(m.graph!.docString).toMatch(/exported by graphc/);
    for (const n of m.graph!.node!) expect(n.docString).toMatch(/test\/exporters\/onnx\/export\/readable_names\.test\.ts:\d+:\d+$/);
  });

  it("a training step exported with its state as inputs keeps the inputs' names (a Session's), and names its nodes after the layers", () => {
    const m = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [4] })] });
    const opt = tf.train.sgd(0.1);
    const step = (x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => tf.losses.meanSquaredError(y, m.apply(x) as tf.Tensor) as tf.Scalar, true)!;
    const graph = gc.trace(step, [gc.spec(['b', 4], 'float32', 'x'), gc.spec(['b', 3], 'float32', 'y')]);
    const ex = exportOnnx(graph);
    const g = decode(ex.bytes).graph!;
    const d = m.layers[0]!.name;
    expect(g.input!.map((i) => i.name)).toEqual(['x', 'y', ...graph.states.map((s) => s.value.name)]);
    expect(g.node!.some((n) => n.name!.startsWith(`${d}/`))).toBe(true);
    expect(g.valueInfo!.map((v) => v.name)).toEqual(intermediates(g));
    m.dispose();
  });
});
