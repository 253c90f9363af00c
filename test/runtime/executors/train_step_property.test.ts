/**
 * Property: a generated training step — a small MLP (1–2 hidden layers, a smooth or ReLU
 * activation), one of the tf.train optimizers, a loss — trained for a few steps with the batch
 * size changing between steps and the learning rate changed once, compiled on the onnxruntime
 * engine or under 'auto', gives eager tfjs-cpu's losses and weights. Then the step exported with
 * f.toOnnx() (gc.exportOnnx and gc.initialStateModel with the variables as they are now) runs one more step in bare
 * onnxruntime-node with the compiled step's loss, and none of its inputs is a bare number.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import * as gc from 'graphc';
import { ensureBackend } from '../../../runtime/backends/select.js';
import { rng } from '../../exporters/onnx/harness.js';

const OPTIMIZERS: Record<string, (lr: number) => tf.Optimizer> = {
  sgd: (lr) => tf.train.sgd(lr),
  momentum: (lr) => tf.train.momentum(lr, 0.9, true),
  // Not centered: centered RMSProp takes the sqrt of mean(g²) − mean(g)², which rounding can make
  // negative when a gradient repeats (NaN on one backend, a number on another: tfjs's own hazard).
  rmsprop: (lr) => tf.train.rmsprop(lr / 10, 0.9, 0.2, 1e-6, false),
  adagrad: (lr) => tf.train.adagrad(lr),
  adadelta: (lr) => tf.train.adadelta(lr * 10, 0.9),
  adamax: (lr) => tf.train.adamax(lr / 10),
  adam: (lr) => tf.train.adam(lr / 10),
};
const ACTIVATIONS: Record<string, (x: tf.Tensor) => tf.Tensor> = { tanh: tf.tanh, sigmoid: tf.sigmoid, relu: tf.relu, elu: tf.elu };

interface Case {
  opt: string;
  act: string;
  hidden: number[];
  features: number;
  classes: number;
  loss: 'softmax' | 'mse';
  batches: number[];
  lrChangeAt: number;
  backend: 'onnxruntime' | 'auto';
  seed: number;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  opt: fc.constantFrom(...Object.keys(OPTIMIZERS)),
  act: fc.constantFrom(...Object.keys(ACTIVATIONS)),
  hidden: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 2 }),
  features: fc.integer({ min: 1, max: 6 }),
  classes: fc.integer({ min: 2, max: 4 }),
  loss: fc.constantFrom('softmax' as const, 'mse' as const),
  batches: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 3, maxLength: 6 }),
  lrChangeAt: fc.integer({ min: 0, max: 5 }),
  backend: fc.constantFrom('onnxruntime' as const, 'auto' as const),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

/** Builds the model's variables (fresh, from the case's seed) and its step on `opt`. */
function build(c: Case, tag: string) {
  const r = rng(c.seed);
  const sizes = [c.features, ...c.hidden, c.classes];
  const vars: tf.Variable[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    vars.push(tf.variable(tf.tensor2d(Float32Array.from({ length: sizes[i]! * sizes[i + 1]! }, () => (r() - 0.5) * 1.2), [sizes[i]!, sizes[i + 1]!]), true, `${tag}_w${i}`));
    vars.push(tf.variable(tf.tensor1d(Float32Array.from({ length: sizes[i + 1]! }, () => (r() - 0.5) * 0.2)), true, `${tag}_b${i}`));
  }
  const act = ACTIVATIONS[c.act]!;
  const forward = (x: tf.Tensor) => {
    let h = x;
    for (let i = 0; i < vars.length; i += 2) {
      h = tf.add(tf.matMul(h, vars[i]!), vars[i + 1]!);
      if (i + 2 < vars.length) h = act(h);
    }
    return h;
  };
  const opt = OPTIMIZERS[c.opt]!(0.1);
  const lossOf = (x: tf.Tensor, y: tf.Tensor) => (c.loss === 'softmax' ? tf.losses.softmaxCrossEntropy(y, forward(x)) : tf.losses.meanSquaredError(y, forward(x))) as tf.Scalar;
  const step = (x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => lossOf(x, y), true, vars)!;
  return { vars, opt, step };
}

function data(c: Case): { x: tf.Tensor2D; y: tf.Tensor2D }[] {
  const r = rng(c.seed + 1);
  return [...c.batches, c.batches[0]!].map((b) => {
    const x = tf.tensor2d(Float32Array.from({ length: b * c.features }, () => r() * 2 - 1), [b, c.features]);
    const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: b }, () => Math.floor(r() * c.classes)), 'int32'), c.classes).toFloat() as tf.Tensor2D;
    return { x, y };
  });
}

/** |a − b| ≤ tol·(1 + |b|) everywhere; NaN where eager has NaN. */
function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): string | undefined {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i]!) && Number.isNaN(a[i]!)) continue;
    if (!(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)))) return `[${i}] ${a[i]} vs ${b[i]}`;
  }
  return undefined;
}

beforeAll(async () => {
  await ensureBackend('wasm');
  await tf.setBackend('cpu');
});

describe('generated training steps on ONNX Runtime', () => {
  it('property: compiled on onnxruntime or auto equals eager tfjs-cpu, and the exported step takes one more step in bare ORT', async () => {
    let n = 0;
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const tag = `tsp${n++}`;
      const batches = data(c);
      const train = batches.slice(0, -1), last = batches[batches.length - 1]!;
      const run = async (compiled: boolean) => {
        const m = build(c, `${tag}_${compiled ? 'c' : 'e'}`);
        const f = compiled ? gc.compile(m.step, { inputs: [gc.spec(['batch', c.features]), gc.spec(['batch', c.classes])], backend: c.backend }) : undefined;
        const losses: number[] = [];
        for (const [i, d] of train.entries()) {
          if (i === c.lrChangeAt) {
            // SGD and Momentum compute with a tensor that only setLearningRate replaces (tfjs's
            // instanceof SGDOptimizer is duck-typed and holds for every optimizer: test the method).
            const o = m.opt as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
            if (typeof o.setLearningRate === 'function') o.setLearningRate(o.learningRate / 2);
            else o.learningRate /= 2;
          }
          const l = f ? (await f(d.x, d.y)) as tf.Tensor : m.step(d.x, d.y);
          losses.push(l.dataSync()[0]!);
          l.dispose();
        }
        return { m, f, losses, weights: m.vars.map((v) => Array.from(v.dataSync())) };
      };
      const eager = await run(false);
      const comp = await run(true);
      try {
        const where = `${JSON.stringify(c)}`;
        expect(close(comp.losses, eager.losses, 1e-4), `losses ${where}`).toBeUndefined();
        comp.weights.forEach((w, i) => expect(close(w, eager.weights[i]!, 1e-4), `weights ${i} ${where}`).toBeUndefined());

        // One more step: the exported model fed the state as it is now (initialStateModel), in bare ORT, and the compiled step.
        const ex = gc.exportOnnx(comp.f!.graph, { stateValues: comp.f!.stateValues });
        const sess = await ort.InferenceSession.create(ex.bytes);
        expect(sess.inputNames.filter((x) => /^_?\d+$/.test(x)), where).toEqual([]);
        const init = await ort.InferenceSession.create(gc.initialStateModel(comp.f!.graph, ex.state, { stateValues: comp.f!.stateValues }));
        const state = await init.run({});
        const [xName, yName] = comp.f!.graph.inputs.map((v) => v.name!) as [string, string];
        const out = await sess.run({ ...state, [xName]: new ort.Tensor('float32', Float32Array.from(last.x.dataSync()), last.x.shape), [yName]: new ort.Tensor('float32', Float32Array.from(last.y.dataSync()), last.y.shape) });
        const bare = (out[sess.outputNames[0]!]!.data as Float32Array)[0]!;
        const next = (await comp.f!(last.x, last.y)) as tf.Tensor;
        expect(close([bare], [next.dataSync()[0]!], 1e-4), `exported step ${where}`).toBeUndefined();
        next.dispose();
        await sess.release();
        await init.release();
      } finally {
        comp.f!.dispose();
        for (const r of [eager, comp]) { tf.dispose(r.m.vars); r.m.opt.dispose(); }
      }
    }), { numRuns: 30, seed: 20261203 });
    tf.dispose([]);
  });
});
