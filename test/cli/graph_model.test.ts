// tfjs GraphModels as `graphc export` input (issue 13): GraphModels the tests write themselves
// (test/cli/graph_model_fixtures.ts) are loaded through graphc's hostile-file reader, traced,
// optimized and exported; onnxruntime-node runs the ONNX file with the numbers tfjs-converter's
// own execute gives eagerly, at batch 1 and 4.
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import '../../src/tfjs_setup.js';
import { onnx } from '../../exporters/onnx/proto.js';
import { exportOnnx } from '../../exporters/onnx/export/export.js';
import { materializeCreated } from '../../src/compile.js';
import { optimizeInPlace } from '../../src/optimize.js';
import { traceFunction } from '../../src/trace/trace_function.js';
import { GcError } from '../../ir/errors.js';
import { isGraphModelJson, loadGraphModelTarget } from '../../src/cli/graph_model.js';
import type { GraphModelBuilder, Signature } from './graph_model_fixtures.js';
import { cnn, ifModel, kerasReshape, mlp, seeded, sequence, twoInTwoOut, whileModel } from './graph_model_fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'graphc-graph-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** tfjs-converter's own GraphModel of the builder's artifacts (not read through graphc's loader). */
async function reference(b: GraphModelBuilder, signature?: Signature, quantize?: 'uint8' | 'float16'): Promise<tfconv.GraphModel> {
  const { json, files } = b.artifacts({ signature, quantize });
  const weightData = new Uint8Array(Buffer.concat(Object.values(files))).buffer; // a copy: Buffer.concat may return a view into a pool
  const manifest = (json.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[])[0]!;
  return tfconv.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs: manifest.weights, weightData, format: 'graph-model', signature: json.signature as object | undefined } as tf.io.ModelArtifacts));
}

/** Exports model.json as `graphc export` does (trace, optimize, ONNX) and returns the ONNX bytes. */
async function exportGraphModel(file: string): Promise<Uint8Array> {
  const t = await loadGraphModelTarget(file);
  const traced = traceFunction(t.fn, t.specs, materializeCreated, t.name);
  optimizeInPlace(traced.graph, { freeze: true });
  return exportOnnx(traced.graph, {}).bytes;
}

type Feed = { data: Float32Array | Int32Array; shape: number[]; dtype: 'float32' | 'int32' };

function randomFeed(shape: number[], dtype: 'float32' | 'int32', seed: number, max = 10): Feed {
  const r = seeded(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float32' ? Float32Array.from({ length: n }, () => r(2)) : Int32Array.from({ length: n }, () => Math.floor((r(1) + 1) / 2 * max));
  return { data, shape, dtype };
}

/** Max |ORT − tfjs-converter eager| over every output, outputs matched by name; also checks ORT's output names and order. */
async function compare(bytes: Uint8Array, ref: tfconv.GraphModel, feeds: Record<string, Feed>, refKeys: Record<string, string>, outNames: string[], async = false): Promise<number> {
  const session = await ort.InferenceSession.create(bytes);
  expect(session.outputNames).toEqual(outNames);
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, f] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(f.dtype, f.data, f.shape);
  const got = await session.run(ortFeeds);
  const tfFeeds: tf.NamedTensorMap = {};
  for (const [k, f] of Object.entries(feeds)) tfFeeds[refKeys[k]!] = tf.tensor(f.data, f.shape, f.dtype);
  // tfjs-converter runs control flow (If, While) only in executeAsync.
  const outs = async ? await ref.executeAsync(tfFeeds, ref.outputNodes) : ref.execute(tfFeeds, ref.outputNodes);
  const list = Array.isArray(outs) ? outs : [outs];
  let worst = 0;
  outNames.forEach((name, i) => {
    const want = list[i]!;
    const have = got[name]!;
    expect(have.dims).toEqual(want.shape);
    const w = want.dataSync();
    const h = have.data as Float32Array;
    for (let k = 0; k < w.length; k++) worst = Math.max(worst, Math.abs(w[k]! - h[k]!));
  });
  tf.dispose([...list, ...Object.values(tfFeeds)]);
  return worst;
}

describe('graphc export of a tfjs GraphModel', () => {
  it('tells a GraphModel model.json from a LayersModel one', () => {
    expect(isGraphModelJson(mlp().artifacts().json)).toBe(true);
    const { json } = mlp().artifacts();
    delete json.format;
    expect(isGraphModelJson(json)).toBe(true);
    expect(isGraphModelJson({ format: 'layers-model', modelTopology: { class_name: 'Sequential', config: {} } })).toBe(false);
    expect(isGraphModelJson({ modelTopology: { class_name: 'Sequential', config: {} } })).toBe(false);
    expect(isGraphModelJson(null)).toBe(false);
  });

  it('an MLP (_FusedMatMul, MatMul, BiasAdd, Relu, AddV2, Softmax) runs in ORT as tfjs-converter runs it, at batch 1 and 4', async () => {
    const b = mlp();
    const file = b.write(path.join(dir, 'mlp'), { shards: 3 });
    const t = await loadGraphModelTarget(file);
    expect(t.specs).toEqual([{ shape: ['batch', 16], dtype: 'float32', name: 'x' }]);
    expect(t.name).toBe('mlp'); // the folder names a model.json
    const bytes = await exportGraphModel(file);
    const g = onnx.ModelProto.decode(bytes).graph!;
    // The weights are initializers (3 kernels, 3 biases), not nodes.
    const inits = g.initializer!.map((i) => (i.dims ?? []).map(Number).join('x')).sort();
    expect(inits).toEqual(expect.arrayContaining(['16x32', '32', '32x24', '24', '24x10', '10']));
    // Named after their Const nodes (dense_1/kernel → dense_1_kernel), not v14.
    expect(g.initializer!.map((i) => i.name)).toEqual(expect.arrayContaining(['dense_bias', 'dense_1_kernel', 'dense_1_bias', 'dense_2_kernel', 'dense_2_bias']));
    expect(g.input!.map((i) => i.name)).toEqual(['x']);
    expect(g.input![0]!.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 16]);
    const ref = await reference(b);
    for (const n of [1, 4]) {
      const d = await compare(bytes, ref, { x: randomFeed([n, 16], 'float32', 10 + n) }, { x: 'x' }, ['Identity']);
      expect(d).toBeLessThan(1e-5);
    }
  });

  it('a CNN (Conv2D, MaxPool, FusedBatchNormV3, _FusedConv2D with Relu6, Reshape by a Const) runs in ORT as tfjs-converter runs it, at batch 1 and 4', async () => {
    const b = cnn();
    const file = b.write(path.join(dir, 'cnn'));
    // No constant is left unused: the Reshape's int32 target, read with dataSync, is not named into the graph.
    const t = await loadGraphModelTarget(file);
    const traced = traceFunction(t.fn, t.specs, materializeCreated, t.name);
    optimizeInPlace(traced.graph, { freeze: true });
    expect(traced.graph.nodes.filter((n) => n.op === 'const' && n.outputs.every((v) => v.uses.length === 0 && !traced.graph.outputs.some((o) => o.value === v))).map((n) => n.outputs[0]!.name)).toEqual([]);
    const bytes = await exportGraphModel(file);
    const ref = await reference(b);
    for (const n of [1, 4]) {
      const d = await compare(bytes, ref, { image: randomFeed([n, 8, 8, 2], 'float32', 20 + n) }, { image: 'image' }, ['Identity']);
      expect(d).toBeLessThan(1e-5);
    }
  });

  it('two inputs (float and int32) and two outputs keep the signature\'s names and order', async () => {
    const { builder, signature } = twoInTwoOut();
    const file = builder.write(path.join(dir, 'two'), { signature });
    const t = await loadGraphModelTarget(file);
    expect(t.specs.map((s) => [s.name, s.dtype, s.shape])).toEqual([['ids', 'int32', ['batch', 3]], ['features', 'float32', ['batch', 6]]]);
    const bytes = await exportGraphModel(file);
    const ref = await reference(builder, signature);
    for (const n of [1, 4]) {
      const feeds = { ids: randomFeed([n, 3], 'int32', 30 + n), features: randomFeed([n, 6], 'float32', 40 + n) };
      const d = await compare(bytes, ref, feeds, { ids: 'ids', features: 'features' }, ['energy', 'scores']);
      expect(d).toBeLessThan(1e-5);
    }
  });

  it('a dynamic batch and a dynamic length ([-1, -1, 4]) stay symbolic', async () => {
    const b = sequence();
    const file = b.write(path.join(dir, 'seq'));
    const t = await loadGraphModelTarget(file);
    expect(t.specs[0]!.shape).toEqual(['batch', null, 4]);
    const bytes = await exportGraphModel(file);
    const ref = await reference(b);
    for (const [n, len] of [[1, 3], [4, 7]] as const) {
      const d = await compare(bytes, ref, { seq: randomFeed([n, len, 4], 'float32', 50 + n) }, { seq: 'seq' }, ['out']);
      expect(d).toBeLessThan(1e-5);
    }
  });

  it('a Keras Reshape layer (target [Shape(x)[0], 3, 4] by Pack) traces with a symbolic batch; the signature names the ONNX input and output', async () => {
    const { builder, signature } = kerasReshape();
    const file = builder.write(path.join(dir, 'keras_reshape'), { signature });
    const bytes = await exportGraphModel(file);
    const g = onnx.ModelProto.decode(bytes).graph!;
    expect(g.input!.map((i) => i.name)).toEqual(['input_1']);
    const ref = await reference(builder, signature);
    for (const n of [1, 4]) {
      const d = await compare(bytes, ref, { input_1: randomFeed([n, 12], 'float32', 60 + n) }, { input_1: 'input_1' }, ['output_0']);
      expect(d).toBeLessThan(1e-5);
    }
  });

  it('shapes computed on the host: a Fill of [Shape(x)[0], 3, 4] ones traces with a symbolic batch and agrees with tfjs-converter', async () => {
    const { builder, signature } = kerasReshape();
    // ones(Pack(batch, 3, 4)) + the reshaped input: the Pack is read by Fill with dataSync.
    const pk = builder.nodes.find((n) => n.op === 'Pack')!.name;
    const ones = builder.op('ones', 'Fill', [pk, builder.const('one', [], [1])], { index_type: { type: 'DT_INT32' } });
    const r = builder.nodes.find((n) => n.name === 'model/reshape/Reshape')!.name;
    builder.op('plus', 'AddV2', [r, ones]);
    const sig = { inputs: signature.inputs, outputs: { plus: 'plus:0', output_0: 'Identity:0' } };
    const file = builder.write(path.join(dir, 'fill'), { signature: sig });
    const bytes = await exportGraphModel(file);
    const ref = await reference(builder, sig);
    for (const n of [1, 4]) {
      const d = await compare(bytes, ref, { input_1: randomFeed([n, 12], 'float32', 65 + n) }, { input_1: 'input_1' }, ['plus', 'output_0']);
      expect(d).toBeLessThan(1e-5);
    }
  });

  it('a shape operand computed by ops graphc does not run on the host is GC0101 naming the model, with what to do', async () => {
    const { builder, signature } = kerasReshape();
    // Reshape(x, Neg(Neg(Pack(...)))): Neg is not shape arithmetic graphc computes on the host.
    const reshape = builder.nodes.find((n) => n.name === 'model/reshape/Reshape')!;
    const twice = builder.op('negneg', 'Neg', [builder.op('neg', 'Neg', [reshape.input![1]!], { T: { type: 'DT_INT32' } })], { T: { type: 'DT_INT32' } });
    reshape.input![1] = twice;
    const file = builder.write(path.join(dir, 'negneg'), { signature });
    const t = await loadGraphModelTarget(file);
    let err: unknown;
    try {
      traceFunction(t.fn, t.specs, materializeCreated, t.name);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GcError);
    const e = err as GcError;
    expect(e.code).toBe('GC0101');
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/an op reads a shape, size or axis operand that the graph computes/);
    expect(e.loc).toBeUndefined();
  });

  it.each(['uint8', 'float16'] as const)('weights quantized as %s (tensorflowjs_converter --quantize_*) are dequantized as tfjs-converter does', async (q) => {
    const b = mlp(7);
    const file = b.write(path.join(dir, `mlp_${q}`), { quantize: q });
    const bytes = await exportGraphModel(file);
    const ref = await reference(b, undefined, q);
    const d = await compare(bytes, ref, { x: randomFeed([4, 16], 'float32', 70) }, { x: 'x' }, ['Identity']);
    expect(d).toBeLessThan(1e-5);
    // The quantization is real: the float32 model gives other numbers.
    const exact = await compare(await exportGraphModel(b.write(path.join(dir, `mlp_${q}_f32`))), ref, { x: randomFeed([4, 16], 'float32', 70) }, { x: 'x' }, ['Identity']);
    expect(exact).toBeGreaterThan(1e-5);
  });

  it('TF2 If (StatelessIf with then/else functions) becomes gc.cond: an If region, and both branches agree with tfjs-converter\'s executeAsync', async () => {
    const b = ifModel();
    const file = b.write(path.join(dir, 'if'));
    const t = await loadGraphModelTarget(file);
    const traced = traceFunction(t.fn, t.specs, materializeCreated, t.name);
    expect(traced.graph.nodes.map((n) => n.op)).toContain('cond');
    const bytes = await exportGraphModel(file);
    const g = onnx.ModelProto.decode(bytes).graph!;
    expect(g.node!.map((n) => n.opType)).toContain('If');
    const ref = await reference(b);
    for (const n of [1, 4]) {
      for (const shift of [0.7, -0.7]) { // Sum(x) > 0 and < 0: the then and the else branch
        const f = randomFeed([n, 4], 'float32', 80 + n);
        f.data = (f.data as Float32Array).map((v) => v / 4 + shift);
        const d = await compare(bytes, ref, { x: f }, { x: 'x' }, ['Identity'], true);
        expect(d).toBeLessThan(1e-5);
      }
    }
  });

  it('TF2 While (StatelessWhile with cond/body functions) becomes gc.whileLoop and agrees with tfjs-converter\'s executeAsync', async () => {
    const b = whileModel();
    const file = b.write(path.join(dir, 'while'));
    const t = await loadGraphModelTarget(file);
    const traced = traceFunction(t.fn, t.specs, materializeCreated, t.name);
    expect(traced.graph.nodes.map((n) => n.op)).toContain('while_loop');
    const bytes = await exportGraphModel(file);
    const ref = await reference(b);
    for (const n of [1, 4]) {
      const d = await compare(bytes, ref, { x: randomFeed([n, 4], 'float32', 90 + n) }, { x: 'x' }, ['Identity'], true);
      expect(d).toBeLessThan(1e-5);
    }
  });
});
