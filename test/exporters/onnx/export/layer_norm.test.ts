/**
 * LayerNormalization in exported models (passes/layer_norm.ts): tfjs-layers' layerNormalization
 * and the same written with tfjs ops export as one LayerNormalization at opset ≥ 17 and as
 * today's decomposition below; look-alikes that are not a layer norm stay decomposed. Every
 * model runs in onnxruntime-node with graphc's Session's numbers (≤ 1e-5 + 1e-5·|expected|) at
 * two batch sizes, and passes onnx.checker.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import { exportOnnx } from '../../../../exporters/onnx/export/export.js';
import type { OnnxGraph } from '../../../../exporters/onnx/export/onnx_graph.js';
import { onnx } from '../../../../exporters/onnx/proto.js';
import { checkModels, compareWithSession, makeInputs, randomizeWeights, runGraphc, runOrt } from '../harness.js';

await tf.setBackend('cpu');

const ops = (g: OnnxGraph) => g.nodes.map((n) => n.opType);
const count = (g: OnnxGraph, op: string) => ops(g).filter((o) => o === op).length;

/** Exports at `opset`, checks it, and compares ORT with the Session at batch 1 and 5 (state inputs fed the variables' values). */
async function exportAndRun(graph: gc.Graph, opset: number, opts: { state?: 'inputs' } = {}): Promise<OnnxGraph> {
  const ex = exportOnnx(graph, { opset, ...opts });
  const checked = checkModels(new Map([['m', ex.bytes]])).get('m');
  // Debian's onnx 1.12 knows opsets ≤ 17: the harness marks an opset-18 model it cannot check 'skipped: …'.
  if (opset <= 17 || !checked?.startsWith('skipped')) expect(checked, 'onnx.checker').toBeNull();
  for (const [k, batch] of [1, 5].entries()) {
    const inputs = makeInputs(graph, { batch }, 31 + k, { x: { range: [-3, 3] }, ids: { range: [0, 50] } });
    if (opts.state !== 'inputs') {
      expect(await compareWithSession(graph, ex.bytes, inputs), `batch ${batch}`).toEqual([]);
      continue;
    }
    const names = graph.outputs.map((o) => o.name);
    const want = await runGraphc(graph, inputs, names);
    for (const s of ex.state) {
      const init = graph.stateByName(s.variable)!.init;
      inputs[s.input] = { dtype: 'float32', shape: [...init.shape], data: Float32Array.from(init.data as Float32Array) };
    }
    const got = await runOrt(ex.bytes, inputs, names);
    names.forEach((n, i) => {
      const w = want[i]!.dataSync(), o = got[n]!.data as Float32Array;
      expect(o.length).toBe(w.length);
      for (let j = 0; j < w.length; j++) expect(Math.abs(o[j]! - w[j]!), `${n}[${j}]`).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(w[j]!));
    });
    tf.dispose(want);
  }
  return ex.graph;
}

/** The op that computes the graph's (first) output. */
const outputOp = (g: OnnxGraph) => g.nodes.find((n) => n.outputs.includes(g.outputs[0]!.name))!.opType;

const gamma = tf.variable(tf.randomNormal([16], 1, 0.3, 'float32', 1), true, 'ln/gamma');
const beta = tf.variable(tf.randomNormal([16], 0, 0.3, 'float32', 2), true, 'ln/beta');
const gamma2 = tf.variable(tf.randomNormal([12, 16], 1, 0.3, 'float32', 3), true, 'ln/gamma2');
const x3 = [gc.spec(['batch', 12, 16], 'float32', 'x')];
const eps = 1e-5;

function layersModel(): tfl.LayersModel {
  return randomizeWeights(tfl.sequential({ layers: [
    tfl.layers.embedding({ inputDim: 50, outputDim: 16, inputLength: 12 }),
    tfl.layers.layerNormalization({}),
    tfl.layers.conv1d({ filters: 8, kernelSize: 3, activation: 'relu' }),
    tfl.layers.globalAveragePooling1d({}),
    tfl.layers.dense({ units: 4, activation: 'softmax' }),
  ] }), 500);
}

describe('LayerNormalization export', () => {
  it('tfjs-layers embedding + LayerNorm + conv1d: one LayerNormalization at opset 17 and 18, the decomposition at 16, same numbers', async () => {
    const m = layersModel();
    const graph = gc.trace((ids: tf.Tensor) => m.predict(ids) as tf.Tensor, [gc.spec(['batch', 12], 'int32', 'ids')]);
    const at16 = await exportAndRun(graph, 16);
    expect(count(at16, 'LayerNormalization')).toBe(0);
    expect(count(at16, 'Expand')).toBeGreaterThan(0);
    for (const opset of [17, 18]) {
      const g = await exportAndRun(graph, opset);
      expect(count(g, 'LayerNormalization'), `opset ${opset}`).toBe(1);
      expect(count(g, 'Expand') + count(g, 'ReduceMean') - 1 + count(g, 'Sqrt') + count(g, 'Div'), `opset ${opset}: ${ops(g).join(' ')}`).toBe(0);
      // The scale and bias are the layer's gamma and beta at the normalized shape [16].
      const ln = g.nodes.find((n) => n.opType === 'LayerNormalization')!;
      expect(ln.attrs.axis).toEqual({ kind: 'int', value: 2 });
      expect(ln.attrs.epsilon?.kind === 'float' && Math.abs(ln.attrs.epsilon.value - 1e-3) < 1e-9).toBe(true);
      const lnGamma = m.layers[1]!.getWeights()[0]!.dataSync();
      expect(Array.from(g.initializers.get(ln.inputs[1]!)!.data as Float32Array)).toEqual(Array.from(lnGamma));
      // 16 nodes where the decomposition has 26 (35 before Expands were dropped: shape_chains.ts).
      expect(g.nodes.length, ops(g).join(' ')).toBeLessThanOrEqual(at16.nodes.length - 10);
    }
  });

  const positives: Record<string, { fn: (x: tf.Tensor) => tf.Tensor; k?: number; bias?: boolean }> = {
    'tf.moments, sub, rsqrt, gamma, beta': { fn: (x) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
    } },
    'mean/variance by hand, div by sqrt, gamma first': { fn: (x) => {
      const m = tf.mean(x, -1, true);
      const v = tf.mean(tf.square(tf.sub(x, m)), -1, true);
      return tf.add(beta, tf.mul(gamma, tf.div(tf.sub(x, m), tf.sqrt(tf.add(v, eps)))));
    } },
    'squaredDifference, eps first, no gamma, no beta': { fn: (x) => {
      const m = tf.mean(x, 2, true);
      const v = tf.mean(tf.squaredDifference(x, m), 2, true);
      return tf.div(tf.sub(x, m), tf.sqrt(tf.add(tf.scalar(eps), v)));
    }, bias: false },
    'over the last two axes, gamma [12, 16]': { fn: (x) => {
      const { mean, variance } = tf.moments(x, [1, 2], true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma2), beta);
    }, k: 2 },
    'a computed scale: gamma · 2': { fn: (x) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), tf.mul(gamma, 2));
    }, bias: false },
  };
  for (const [name, c] of Object.entries(positives)) {
    it(`tfjs ops: ${name}`, async () => {
      const graph = gc.trace(c.fn, x3);
      const g = await exportAndRun(graph, 17);
      expect(ops(g), ops(g).join(' ')).toContain('LayerNormalization');
      const ln = g.nodes.find((n) => n.opType === 'LayerNormalization')!;
      expect(ln.attrs.axis).toEqual({ kind: 'int', value: 3 - (c.k ?? 1) });
      expect(ln.inputs.length).toBe(c.bias === false ? 2 : 3);
      expect(count(g, 'ReduceMean')).toBe(0);
      expect(count(await exportAndRun(graph, 16), 'LayerNormalization')).toBe(0);
    });
  }

  it('a training step exported with state inputs: gamma and beta are graph inputs, still one LayerNormalization', async () => {
    const m = layersModel();
    const graph = gc.trace((ids: tf.Tensor) => m.predict(ids) as tf.Tensor, [gc.spec(['batch', 12], 'int32', 'ids')]);
    const g = await exportAndRun(graph, 17, { state: 'inputs' });
    expect(count(g, 'LayerNormalization'), ops(g).join(' ')).toBe(1);
  });

  it('γ and β as graph inputs of other shapes ([1, 16] reshaped, [1] expanded to the normalized shape)', async () => {
    const g16 = tf.variable(tf.randomNormal([1, 16], 1, 0.3, 'float32', 4), true, 'ln/g16');
    const b1 = tf.variable(tf.tensor1d([0.25]), true, 'ln/b1');
    const graph = gc.trace((x: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g16), b1);
    }, x3);
    const g = await exportAndRun(graph, 17, { state: 'inputs' });
    const ln = g.nodes.find((n) => n.opType === 'LayerNormalization');
    expect(ln, ops(g).join(' ')).toBeDefined();
    const prodOf = (x: string) => g.nodes.find((n) => n.outputs.includes(x))?.opType;
    expect([prodOf(ln!.inputs[1]!), prodOf(ln!.inputs[2]!)]).toEqual(['Reshape', 'Expand']);
  });

  it('a training step through a layer norm: 10 SGD steps in ORT give the compiled steps\' losses and weights (LayerNormalization in the forward and backward)', async () => {
    const w = tf.variable(tf.randomNormal([16, 4], 0, 0.5, 'float32', 11), true, 'lnt/w');
    const g = tf.variable(tf.randomNormal([16], 1, 0.2, 'float32', 12), true, 'lnt/gamma');
    const b = tf.variable(tf.randomNormal([16], 0, 0.2, 'float32', 13), true, 'lnt/beta');
    const opt = tf.train.sgd(0.2);
    const step = gc.compile((x: tf.Tensor) => opt.minimize(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const y = tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
      return tf.mean(tf.square(tf.sub(tf.matMul(y, w), 1))) as tf.Scalar;
    }, true)!, { inputs: [gc.spec([6, 16], 'float32', 'x')], backend: 'cpu' });
    const ex = gc.exportOnnx(step.graph, { opset: 17 });
    const model = onnx.ModelProto.decode(ex.bytes);
    expect(model.graph!.node!.filter((n) => n.opType === 'LayerNormalization').length).toBeGreaterThan(0);
    const sess = await ort.InferenceSession.create(ex.bytes);
    const init = await ort.InferenceSession.create(gc.initialStateModel(step.graph, ex.state));
    const state: Record<string, ort.Tensor> = { ...(await init.run({})) };
    const xs = Array.from({ length: 10 }, (_, i) => tf.randomNormal([6, 16], 0.5, 2, 'float32', 100 + i));
    const compiled: number[] = [], inOrt: number[] = [];
    for (const x of xs) {
      const out = await sess.run({ x: new ort.Tensor('float32', x.dataSync() as Float32Array, [6, 16]), ...state });
      inOrt.push((out[step.graph.outputs[0]!.name]!.data as Float32Array)[0]!);
      for (const s of ex.state) if (s.output !== undefined) state[s.input] = out[s.output]!;
      compiled.push((await (await step(x) as tf.Tensor).data())[0]!);
    }
    expect(compiled[9]!).toBeLessThan(compiled[0]! * 0.9);
    inOrt.forEach((l, i) => expect(Math.abs(l - compiled[i]!), `step ${i}`).toBeLessThan(1e-4 * Math.max(1, compiled[i]!)));
    for (const [v, name] of [[w, 'lnt/w'], [g, 'lnt/gamma'], [b, 'lnt/beta']] as const) {
      const s = ex.state.find((e) => e.variable === name)!;
      const got = state[s.input]!.data as Float32Array, want = v.dataSync();
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${name}[${i}]`).toBeLessThan(1e-4);
    }
    tf.dispose(xs);
    step.dispose();
  });

  const negatives: Record<string, (x: tf.Tensor) => tf.Tensor> = {
    'normalized over axis 1, not the last axes': (x) => {
      const { mean, variance } = tf.moments(x, 1, true);
      return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    },
    'the variance about another mean': (x) => {
      const m = tf.mean(x, -1, true);
      const v = tf.mean(tf.square(tf.sub(x, tf.add(m, 0.5))), -1, true);
      return tf.mul(tf.sub(x, m), tf.rsqrt(tf.add(v, eps)));
    },
    'the variance of another tensor': (x) => {
      const m = tf.mean(x, -1, true);
      const y = tf.mul(x, 2);
      const v = tf.mean(tf.square(tf.sub(y, tf.mean(y, -1, true))), -1, true);
      return tf.mul(tf.sub(x, m), tf.rsqrt(tf.add(v, eps)));
    },
    'the unbiased variance (sum / (n − 1))': (x) => {
      const m = tf.mean(x, -1, true);
      const v = tf.div(tf.sum(tf.square(tf.sub(x, m)), -1, true), 15);
      return tf.mul(tf.sub(x, m), tf.rsqrt(tf.add(v, eps)));
    },
    'eps outside the sqrt': (x) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.div(tf.sub(x, mean), tf.add(tf.sqrt(variance), eps));
    },
    'a per-row scale (broadcasts over rows, not the normalized axis)': (x) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), tf.reshape(tf.range(1, 13, 1, 'float32'), [12, 1]));
    },
    'a per-example scale computed from x': (x) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), tf.max(x, -1, true));
    },
    'the std squared (rsqrt twice)': (x) => {
      const { mean, variance } = tf.moments(x, -1, true);
      const r = tf.rsqrt(tf.add(variance, eps));
      return tf.mul(tf.mul(tf.sub(x, mean), r), r);
    },
    'x − mean squared in the numerator': (x) => {
      const { mean, variance } = tf.moments(x, -1, true);
      const d = tf.sub(x, mean);
      return tf.mul(tf.mul(d, d), tf.rsqrt(tf.add(variance, eps)));
    },
  };
  /** Look-alikes that hold a whole layer norm (no scale) times something that is no scale of it. */
  const partial = new Set(['a per-row scale (broadcasts over rows, not the normalized axis)', 'a per-example scale computed from x', 'the std squared (rsqrt twice)']);
  for (const [name, fn] of Object.entries(negatives)) {
    it(`not a layer norm: ${name}`, async () => {
      const graph = gc.trace(fn, x3);
      const g = await exportAndRun(graph, 17);
      // A part of it may be one (x − m)·rsqrt(v + ε) times something else), never the whole.
      expect(outputOp(g), ops(g).join(' ')).not.toBe('LayerNormalization');
      if (!partial.has(name)) expect(count(g, 'LayerNormalization'), ops(g).join(' ')).toBe(0);
    });
  }
});
