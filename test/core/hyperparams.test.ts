import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import { fitAffine } from '../../src/trace/hyperparams.js';
import { onnx } from '../../exporters/onnx/proto.js';

import { loss, makeParams } from './two_layer.js';
import type { Params } from './two_layer.js';

type Opt = tf.Optimizer & Record<string, unknown>;
/** What tf.Optimizer.applyGradients takes (tfjs-core does not export its NamedTensor). */
type Grads = Parameters<tf.Optimizer['applyGradients']>[0];

interface Case {
  make: () => tf.Optimizer;
  /** Changes made between steps (step index → change), the same on the eager and the compiled optimizer. */
  change: (opt: Opt, step: number) => void;
}

const lrEvery = (f: (step: number) => number) => (opt: Opt, step: number) => {
  (opt as unknown as { setLearningRate?: (lr: number) => void }).setLearningRate
    ? (opt as unknown as { setLearningRate: (lr: number) => void }).setLearningRate(f(step))
    : (opt.learningRate = f(step));
};

const CASES: Record<string, Case> = {
  // SGD and Momentum compute with `c = scalar(-lr)`, which setLearningRate replaces.
  sgd: { make: () => tf.train.sgd(0.1), change: (o, s) => { if (s === 3) (o as unknown as tf.SGDOptimizer).setLearningRate(0); if (s === 6) (o as unknown as tf.SGDOptimizer).setLearningRate(0.3); } },
  momentum: { make: () => tf.train.momentum(0.05, 0.9), change: (o, s) => { if (s % 3 === 2) (o as unknown as tf.MomentumOptimizer).setLearningRate(0.05 / (s + 1)); } },
  adam: {
    make: () => tf.train.adam(0.01),
    change: (o, s) => {
      if (s === 2) o.learningRate = 0.05;
      if (s === 4) { o.beta1 = 0.8; o.beta2 = 0.99; }
      if (s === 6) o.epsilon = 1e-3;
      if (s === 8) o.learningRate = 0;
    },
  },
  rmsprop: {
    make: () => tf.train.rmsprop(0.01, 0.9, 0.1),
    change: (o, s) => { if (s === 3) o.learningRate = 0.03; if (s === 5) { o.decay = 0.5; o.momentum = 0.3; } if (s === 7) o.epsilon = 1e-2; },
  },
  adagrad: { make: () => tf.train.adagrad(0.1), change: lrEvery((s) => 0.1 * 0.7 ** s) },
  adamax: {
    make: () => tf.train.adamax(0.02, 0.9, 0.999, undefined, 0.01),
    change: (o, s) => { if (s === 3) o.learningRate = 0.005; if (s === 5) { o.decay = 0.2; o.beta1 = 0.7; o.beta2 = 0.9; } },
  },
  adadelta: {
    make: () => tf.train.adadelta(1, 0.95),
    change: (o, s) => { if (s === 3) o.learningRate = 3; if (s === 6) { o.rho = 0.5; o.epsilon = 1e-4; } },
  },
};

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

async function compare(name: string, c: Case, backend: 'cpu' | 'wasm' | 'onnxruntime' | 'auto', steps = 10) {
  // Eager runs on the tfjs backend the session's data lives on (onnxruntime: tfjs-cpu; auto: wasm).
  const tfjs = backend === 'onnxruntime' ? 'cpu' : backend === 'auto' ? 'wasm' : backend;
  await gc.ensureBackend(tfjs);
  await tf.setBackend(tfjs);
  const eagerP = makeParams(`${name}_eager_${backend}`, 10);
  const compP = makeParams(`${name}_comp_${backend}`, 10);
  const eagerOpt = c.make() as Opt;
  const compOpt = c.make() as Opt;
  const step = gc.compile(
    (x: tf.Tensor, y: tf.Tensor) => compOpt.minimize(() => loss(compP, x, y), true, Object.values(compP))!,
    { inputs: [gc.spec(['batch', 6]), gc.spec(['batch'], 'int32')], backend },
  );
  let worst = 0;
  for (let i = 0; i < steps; i++) {
    c.change(eagerOpt, i);
    c.change(compOpt, i);
    const x = tf.randomNormal([8, 6], 0, 1, 'float32', 100 + i);
    const y = tf.tensor1d(Array.from({ length: 8 }, (_, k) => (k * 7 + i) % 3), 'int32');
    const le = eagerOpt.minimize(() => loss(eagerP, x, y), true, Object.values(eagerP))!;
    const lc = (await step(x, y)) as tf.Tensor;
    worst = Math.max(worst, Math.abs(lc.dataSync()[0]! - le.dataSync()[0]!));
    tf.dispose([x, y, le, lc]);
  }
  for (const k of Object.keys(eagerP) as (keyof Params)[]) worst = Math.max(worst, maxDiff(eagerP[k], compP[k]));
  return { step, worst, eagerP, compP, compOpt };
}

describe('optimizer hyperparameters are read at every call', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: changed between steps, compiled equals eager within 1e-5, no retrace`, async () => {
      const { step, worst } = await compare(name, c, 'cpu');
      expect(worst).toBeLessThan(1e-5);
      expect(step.traceCount).toBe(1);
      expect(step.graph.states.some((s) => s.name.startsWith('hyper/'))).toBe(true);
    });
  }

  // ONNX Runtime bakes a value the plan only reads into its session; a hyper-parameter changed
  // between calls makes it an input from then on (and under auto each engine must follow it).
  for (const backend of ['onnxruntime', 'auto'] as const) {
    it(`every optimizer on ${backend}: changed between steps, compiled equals eager within 1e-5`, async () => {
      for (const [name, c] of Object.entries(CASES)) {
        const { step, worst } = await compare(`${name}_${backend}`, c, backend);
        expect(worst, name).toBeLessThan(1e-5);
        expect(step.traceCount, name).toBe(1);
        step.dispose();
      }
    });
  }

  it('adam on wasm: a learning-rate change takes effect', async () => {
    const { step, worst } = await compare('adam', CASES.adam!, 'wasm');
    expect(worst).toBeLessThan(1e-5);
    expect(step.traceCount).toBe(1);
  });

  it('setLearningRate(0) stops an SGD step (compiled moves the weights no more)', async () => {
    await tf.setBackend('cpu');
    const w = tf.variable(tf.ones([2]), true, 'w_sgd_zero');
    const opt = tf.train.sgd(0.1);
    const step = gc.compile((x: tf.Tensor) => opt.minimize(() => tf.sum(tf.mul(w, x)) as tf.Scalar, true, [w])!, { inputs: [gc.spec([2])], backend: 'cpu' });
    await step(tf.ones([2]));
    expect(Array.from(w.dataSync())).toEqual([Math.fround(0.9), Math.fround(0.9)]);
    opt.setLearningRate(0);
    await step(tf.ones([2]));
    expect(Array.from(w.dataSync())).toEqual([Math.fround(0.9), Math.fround(0.9)]);
    expect(step.traceCount).toBe(1);
  });

  it('applyGradients called directly (tf.variableGrads, no minimize) also reads the learning rate per call', async () => {
    await tf.setBackend('cpu');
    const w = tf.variable(tf.ones([2]), true, 'w_apply');
    const opt = tf.train.adam(0.1);
    const step = gc.compile((x: tf.Tensor) => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(w, x)) as tf.Scalar, [w]);
      (opt as tf.Optimizer).applyGradients(grads); // AdamOptimizer declares a NamedVariableMap; it reads any tensor map
      return value;
    }, { inputs: [gc.spec([2])], backend: 'cpu' });
    await step(tf.ones([2]));
    (opt as unknown as Opt).learningRate = 0;
    const before = Array.from(w.dataSync());
    await step(tf.ones([2]));
    expect(Array.from(w.dataSync())).toEqual(before);
    expect(step.traceCount).toBe(1);
  });

  it("an optimizer's iteration count moves once per call, as eagerly (tracing is not a step)", async () => {
    // A schedule read from opt.iterations (a common pattern) sees the same count as eagerly.
    const c: Case = { make: () => tf.train.adam(0.05), change: (o) => { o.learningRate = 0.05 * 0.9 ** Math.floor((o as unknown as tf.Optimizer).iterations / 3); } };
    const { step, worst, compOpt } = await compare('iterations', c, 'cpu');
    expect(compOpt.iterations).toBe(10);
    expect(worst).toBeLessThan(1e-5);
    expect(step.traceCount).toBe(1);
  });

  it('a per-epoch exponential decay schedule (Adam) trains as eagerly', async () => {
    const c: Case = { make: () => tf.train.adam(0.05), change: (o, s) => { if (s % 4 === 0) o.learningRate = 0.05 * 0.5 ** (s / 4); } };
    const { step, worst } = await compare('decay', c, 'cpu', 16);
    expect(worst).toBeLessThan(1e-5);
    expect(step.traceCount).toBe(1);
  });

  it('the hyperparameters are scalar state with their current values: ONNX export and a Session work', async () => {
    await tf.setBackend('cpu');
    const p = makeParams('onnx', 3);
    const opt = tf.train.adam(0.01, 0.9, 0.999);
    const step = gc.compile((x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => loss(p, x, y), true, Object.values(p))!,
      { inputs: [gc.spec(['batch', 6]), gc.spec(['batch'], 'int32')], backend: 'cpu' });
    const names = step.graph.states.filter((s) => s.name.startsWith('hyper/')).map((s) => s.name.replace(/^hyper\/Adam_\d+\//, '')).sort();
    expect(names).toEqual(['1-beta1', '1-beta2', 'beta1', 'beta2', 'epsilon', 'learningRate']);
    const lr = step.graph.states.find((s) => s.name.endsWith('/learningRate'))!;
    expect(lr.init.data[0]).toBeCloseTo(0.01, 8);
    expect(lr.value.type.shape).toEqual([]);
    // A training step assigns variables, which ONNX cannot; its forward-and-update computation
    // (the new values as outputs) exports, with the hyperparameters as initializers.
    const g = step.graph.clone();
    g.nodes.filter((n) => n.op === 'assign').forEach((n, i) => { g.setOutput(`new_${i}`, n.inputs[0]!); g.removeNode(n); });
    const bytes = gc.toOnnx(g);
    // An initializer named after the state (readable exports name initializers after the user's
    // variables and state: hyper/Adam_N/learningRate, not the value's sanitized name).
    expect(onnx.ModelProto.decode(bytes).graph!.initializer!.map((t) => t.name)).toContain(lr.name);
    const back = gc.fromOnnx(bytes);
    // A standalone Session runs both with the hyperparameters' initial values: the same numbers.
    const feeds = { x: tf.randomNormal([4, 6], 0, 1, 'float32', 1), y: tf.tensor1d([0, 1, 2, 0], 'int32') };
    const fetch = g.outputs.map((o) => o.name);
    const s1 = await gc.Session.create(g, { backend: 'cpu' });
    const s2 = await gc.Session.create(back, { backend: 'cpu' });
    const o1 = (await s1.run(fetch, feeds)) as tf.Tensor[];
    const o2 = (await s2.run(fetch, feeds)) as tf.Tensor[];
    o1.forEach((t, i) => expect(maxDiff(t, o2[i]!)).toBeLessThan(1e-6));
    expect(Number.isFinite(o1[0]!.dataSync()[0]!)).toBe(true);
    // f.toOnnx() of an inference function still works beside it.
    const predict = gc.compile((x: tf.Tensor) => tf.matMul(x, p.w1), { inputs: [gc.spec(['batch', 6])], backend: 'cpu' });
    expect(predict.toOnnx().length).toBeGreaterThan(100);
    s1.dispose();
    s2.dispose();
  });

  it('1 - beta2 is computed in float64 like eager (not in f32 from f32(beta2))', async () => {
    await tf.setBackend('cpu');
    const p = makeParams('beta2', 3);
    const opt = tf.train.adam(0.01, 0.9, 0.999);
    const step = gc.compile((x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => loss(p, x, y), true, Object.values(p))!,
      { inputs: [gc.spec(['batch', 6]), gc.spec(['batch'], 'int32')], backend: 'cpu', optimize: false });
    const st = step.graph.states.find((s) => s.name.endsWith('/1-beta2'))!;
    expect(st.init.data[0]).toBe(Math.fround(1 - 0.999));
  });

  it('a boolean field (useNesterov) is a guard: changing it retraces', async () => {
    const c: Case = { make: () => tf.train.momentum(0.05, 0.9, false), change: (o, s) => { if (s === 4) o.useNesterov = true; } };
    const { step, worst } = await compare('nesterov', c, 'cpu');
    expect(worst).toBeLessThan(1e-5);
    expect(step.traceCount).toBe(2);
  });

  it('a hyperparameter read non-affinely (a user optimizer) is a guard: changing it retraces', async () => {
    class SquaredLr extends tf.Optimizer {
      constructor(public lr: number) { super(); }
      applyGradients(grads: Grads): void {
        const list = Array.isArray(grads) ? grads : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
        for (const { name, tensor } of list) {
          const v = tf.engine().registeredVariables[name]!;
          v.assign(tf.sub(v, tf.mul(tensor, this.lr * this.lr)));
        }
        this.incrementIterations();
      }
      getConfig() { return { lr: this.lr }; }
      static get className() { return 'SquaredLr'; }
    }
    const c: Case = { make: () => new SquaredLr(0.5), change: (o, s) => { if (s === 5) o.lr = 0.2; } };
    const { step, worst } = await compare('squared', c, 'cpu');
    expect(worst).toBeLessThan(1e-5);
    expect(step.traceCount).toBe(2);
  });

  it('a constant that follows two hyperparameters (lr * scale) makes both guards', async () => {
    class ScaledSgd extends tf.Optimizer {
      constructor(public lr: number, public scale: number) { super(); }
      applyGradients(grads: Grads): void {
        const list = Array.isArray(grads) ? grads : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
        for (const { name, tensor } of list) {
          const v = tf.engine().registeredVariables[name]!;
          v.assign(tf.sub(v, tf.mul(tensor, this.lr * this.scale)));
        }
        this.incrementIterations();
      }
      getConfig() { return { lr: this.lr, scale: this.scale }; }
      static get className() { return 'ScaledSgd'; }
    }
    const c: Case = { make: () => new ScaledSgd(0.5, 0.2), change: (o, s) => { if (s === 3) o.scale = 0.4; if (s === 6) o.lr = 0.1; } };
    const { step, worst } = await compare('scaled', c, 'cpu');
    expect(worst).toBeLessThan(1e-5);
    expect(step.traceCount).toBe(3);
    expect(step.graph.states.some((s) => s.name.startsWith('hyper/'))).toBe(false);
  });
});

describe('fitAffine', () => {
  it('recovers 1 - h, -h, h from f32 observations, and rejects h²', () => {
    const f32 = (xs: number[]) => xs.map(Math.fround);
    expect(fitAffine([0.999, 1.4985], f32([1 - 0.999, 1 - 1.4985]))).toEqual({ a: -1, b: 1 });
    expect(fitAffine([1e-7, 1.5e-7], f32([-1e-7, -1.5e-7]))).toEqual({ a: -1, b: 0 });
    expect(fitAffine([0.01, 0.015], f32([0.01, 0.015]))).toEqual({ a: 1, b: 0 });
    const sq = fitAffine([0.5, 0.75], f32([0.25, 0.5625]))!;
    // Two points always fit a line; the third trace is what rejects it.
    expect(Math.fround(sq.a * 0.375 + sq.b)).not.toBe(Math.fround(0.375 ** 2));
  });
});

describe('non-tensor arguments are part of the trace signature (like Python values for tf.function)', () => {
  it('a number: the same value reuses the trace, another value traces again', async () => {
    await tf.setBackend('cpu');
    const f = gc.compile((x: tf.Tensor, scale: number) => tf.mul(x, scale), { backend: 'cpu' });
    const x = tf.tensor1d([1, 2, 3]);
    expect(Array.from(((await f(x, 2)) as tf.Tensor).dataSync())).toEqual([2, 4, 6]);
    expect(Array.from(((await f(x, 2)) as tf.Tensor).dataSync())).toEqual([2, 4, 6]);
    expect(f.traceCount).toBe(1);
    expect(Array.from(((await f(x, 0.5)) as tf.Tensor).dataSync())).toEqual([0.5, 1, 1.5]);
    expect(f.traceCount).toBe(2);
    // Static arguments are not graph inputs.
    expect(f.graph.inputs.map((v) => v.name)).toEqual(['x']);
  });

  it('booleans and strings (a training flag, a mode), before or between tensors', async () => {
    await tf.setBackend('cpu');
    const f = gc.compile((training: boolean, x: tf.Tensor, mode: string) => {
      const y = training ? tf.mul(x, 10) : x;
      return mode === 'sum' ? tf.sum(y) : tf.mean(y);
    }, { backend: 'cpu' });
    const x = tf.tensor1d([1, 2, 3]);
    expect(((await f(true, x, 'sum')) as tf.Tensor).dataSync()[0]).toBe(60);
    expect(((await f(false, x, 'sum')) as tf.Tensor).dataSync()[0]).toBe(6);
    expect(((await f(false, x, 'mean')) as tf.Tensor).dataSync()[0]).toBe(2);
    expect(f.traceCount).toBe(3);
    expect(f.graph.inputs.map((v) => v.name)).toEqual(['x']);
  });

  it('with inputs: the arguments after the specs are static; other kinds there are a GcError', async () => {
    await tf.setBackend('cpu');
    const f = gc.compile((x: tf.Tensor, k: number) => tf.add(x, k), { inputs: [gc.spec(['n'])], backend: 'cpu' });
    expect(f.traceCount).toBe(0); // traced at the first call, once k is known
    expect(Array.from(((await f(tf.tensor1d([1, 2]), 1)) as tf.Tensor).dataSync())).toEqual([2, 3]);
    expect(Array.from(((await f(tf.tensor1d([1, 2, 3]), 1)) as tf.Tensor).dataSync())).toEqual([2, 3, 4]);
    expect(f.traceCount).toBe(1);
    expect(Array.from(((await f(tf.tensor1d([1]), 5)) as tf.Tensor).dataSync())).toEqual([6]);
    expect(f.traceCount).toBe(2);
    await expect(f(tf.tensor1d([1]), [1, 2] as unknown as number)).rejects.toThrow(/GC0401.*static/);
  });
});
