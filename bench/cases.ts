/**
 * The benchmark workloads: each case builds (on the current tfjs backend) an eager variant, a
 * function that graphc compiles, the inputs, and what ONNX Runtime is fed.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';

export type CaseKind = 'predict' | 'plain' | 'train';

/** One instance of a case at one size, built on the current global tfjs backend. */
export interface CaseInstance {
  kind: CaseKind;
  /** One eager call; returns the result tensor(s) (the caller reads them back and disposes). */
  eager(): tf.Tensor | tf.Tensor[];
  /** The function graphc traces (same computation as `eager`). */
  fn: (...args: tf.Tensor[]) => unknown;
  /** For train steps, a second independent function (its own optimizer), so that each compiled variant owns its slots. */
  makeFn?: () => (...args: tf.Tensor[]) => unknown;
  specs: gc.TensorSpec[];
  args: tf.Tensor[];
  /** Model weights (train steps: to snapshot and restore for the correctness check). */
  weights?: tf.Variable[];
  /** A fresh eager step with its own optimizer (train correctness check). */
  freshEager?: () => tf.Tensor;
  dispose(): void;
}

export interface CaseDef {
  /** Case name, e.g. mlp_predict. */
  name: string;
  kind: CaseKind;
  /** Size label, e.g. b=64 or n=4194304. */
  size: (n: number) => string;
  /** Benchmark sizes (full run), and the tiny sizes of the smoke test / webgpu check. */
  sizes: number[];
  tinySizes: number[];
  /** ONNX Runtime has no row for this case (train steps). */
  noOrt?: boolean;
  build(n: number, seed: number): CaseInstance;
}

/** Deterministic uniform data in [lo, hi). */
export function randomData(count: number, seed: number, lo = 0, hi = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

function labels(n: number, seed: number): tf.Tensor1D {
  return tf.tensor1d(Int32Array.from(randomData(n, seed), (u) => Math.floor(u * 10)), 'int32');
}

/** The seed's Fashion-MNIST MLP: Flatten 28×28 → Dense 300 relu → Dense 100 relu → Dense 10 softmax. */
export function mlpModel(): tfl.Sequential {
  return tfl.sequential({ layers: [
    tfl.layers.flatten({ inputShape: [28, 28] }),
    tfl.layers.dense({ units: 300, activation: 'relu' }),
    tfl.layers.dense({ units: 100, activation: 'relu' }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
}

/** A small CNN on 28×28×1: conv 3×3×8 relu, maxpool 2, conv 3×3×16 relu, global average pool, dense 10 softmax. */
export function cnnModel(): tfl.Sequential {
  return tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }),
    tfl.layers.globalAveragePooling2d({}),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
}

function predictCase(name: string, model: () => tfl.Sequential, inner: number[], sizes: number[], tinySizes: number[]): CaseDef {
  return {
    name, kind: 'predict', sizes, tinySizes, size: (n) => `b=${n}`,
    build(n, seed) {
      const m = model();
      const x = tf.tensor(randomData(n * inner.reduce((a, b) => a * b, 1), seed), [n, ...inner]);
      return {
        kind: 'predict',
        // One batch: layers predict would otherwise slice the input into batches of 32.
        eager: () => m.predict(x, { batchSize: n }) as tf.Tensor,
        fn: (x: tf.Tensor) => m.predict(x) as tf.Tensor,
        specs: [gc.spec(['batch', ...inner], 'float32', 'x')],
        args: [x],
        dispose: () => { x.dispose(); m.dispose(); },
      };
    },
  };
}

/** y = tanh(0.5·x + 1) · sigmoid(x). */
export function elementwiseChain(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.tanh(tf.add(tf.mul(x, 0.5), 1)), tf.sigmoid(x));
}

export const CASES: CaseDef[] = [
  predictCase('mlp_predict', mlpModel, [28, 28], [1, 64, 1024], [1, 3]),
  predictCase('cnn_predict', cnnModel, [28, 28, 1], [1, 32], [1, 2]),
  {
    name: 'eltwise_chain', kind: 'plain', sizes: [4 * 1024 * 1024], tinySizes: [1000], size: (n) => (n % (1024 * 1024) === 0 ? `n=${n / (1024 * 1024)}M` : `n=${n}`),
    build(n, seed) {
      const x = tf.tensor1d(randomData(n, seed, -3, 3));
      return {
        kind: 'plain',
        eager: () => tf.tidy(() => elementwiseChain(x)),
        fn: elementwiseChain,
        specs: [gc.spec([n], 'float32', 'x')],
        args: [x],
        dispose: () => x.dispose(),
      };
    },
  },
  {
    name: 'mlp_train', kind: 'train', sizes: [64], tinySizes: [4], size: (n) => `b=${n}`, noOrt: true,
    build(n, seed) {
      const m = mlpModel();
      const x = tf.tensor3d(randomData(n * 784, seed), [n, 28, 28]);
      const y = labels(n, seed + 1);
      const optimizers: tf.Optimizer[] = [];
      // sparse categorical cross-entropy on the softmax output, through oneHot (as examples/mlp.ts).
      const loss = (x: tf.Tensor, l: tf.Tensor) =>
        tf.mean(tfl.metrics.categoricalCrossentropy(tf.oneHot(l as tf.Tensor1D, 10), m.apply(x) as tf.Tensor)) as tf.Scalar;
      const makeFn = () => {
        const opt = tf.train.adam(1e-3);
        optimizers.push(opt);
        return (x: tf.Tensor, l: tf.Tensor) => opt.minimize(() => loss(x, l), true)!;
      };
      const eagerStep = makeFn();
      return {
        kind: 'train',
        eager: () => eagerStep(x, y),
        fn: makeFn(),
        makeFn,
        freshEager: () => makeFn()(x, y),
        specs: [gc.spec(['batch', 28, 28], 'float32', 'x'), gc.spec(['batch'], 'int32', 'labels')],
        args: [x, y],
        weights: m.trainableWeights.map((w) => w.read() as tf.Variable),
        dispose: () => { tf.dispose([x, y]); for (const o of optimizers) o.dispose(); m.dispose(); },
      };
    },
  },
];
