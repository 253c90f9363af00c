/**
 * Compiled ≡ eager for tfjs-layers models: every layer type inside a small model, in
 * inference (model.predict at a symbolic batch) and in training (an optimizer step over a
 * layers model and a tf.losses loss, compiled on one copy of the model and run eagerly on an
 * identical copy).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';

/** The tf.Variable behind a layer weight (tfjs-layers keeps it in a protected field). */
const varOf = (w: tfl.LayerVariable): tf.Variable => (w as unknown as { val: tf.Variable }).val;

type Shape = number[];
type Model = tfl.LayersModel;

const arr = (t: tf.Tensor) => Array.from(t.dataSync());
const maxErr = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

/** max |y - e| - 1e-5·|e| over the elements: ≤ 1e-5 means every element is within 1e-5 + 1e-5·|e|. */
function relExcess(y: tf.Tensor, e: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.sub(tf.abs(tf.sub(y, e)), tf.mul(tf.abs(e), 1e-5))).dataSync()[0]!);
}

const seq = (layers: tfl.layers.Layer[]): Model => tfl.sequential({ layers });

/**
 * Replaces every weight by a random one (seeded), so that biases, BN offsets and moving stats
 * are non-trivial: a kernel that drops the bias or swaps the BN operands gets other numbers.
 */
function randomize(model: Model, seed: number): void {
  const ws = model.weights.map((w, i) => tf.tidy(() => {
    const r = tf.randomNormal(w.shape as number[], 0, 0.5, 'float32', seed + i);
    return /moving_variance|gamma/.test(w.originalName) ? tf.add(tf.abs(r), 0.5) : r;
  }));
  model.setWeights(ws);
  tf.dispose(ws);
}

/** A random input of `dtype` for a shape; int32 inputs are indices in [0, intMax). */
function randomInput(shape: Shape, dtype: 'float32' | 'int32', seed: number, intMax = 10): tf.Tensor {
  if (dtype === 'int32') return tf.randomUniform(shape, 0, intMax, 'int32', seed);
  // Non-zero everywhere: |x| ≥ 0.1.
  return tf.tidy(() => {
    const r = tf.randomNormal(shape, 0, 1, 'float32', seed);
    return tf.add(r, tf.mul(tf.sign(r), 0.1));
  });
}

// ---- inference ---------------------------------------------------------------------------------

interface PredictCase {
  label: string;
  make: () => Model;
  shape: Shape;          // without the batch dim
  dtype?: 'float32' | 'int32';
  /** An op name the graph must contain (the layer was really traced, not folded away). */
  op?: string;
}

const img = [8, 8, 3];
const conv = (cfg: Partial<tfl.layers.Layer> & Record<string, unknown>) =>
  () => seq([tfl.layers.conv2d({ filters: 4, kernelSize: 3, inputShape: img, ...cfg } as never)]);

const ACTIVATIONS = ['relu', 'relu6', 'elu', 'selu', 'sigmoid', 'tanh', 'softmax', 'softplus', 'swish'] as const;

function concatAddModel(): Model {
  const input = tfl.input({ shape: [6] });
  const a = tfl.layers.dense({ units: 4 }).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.dense({ units: 4, activation: 'tanh' }).apply(input) as tfl.SymbolicTensor;
  const sum = tfl.layers.add().apply([a, b]) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate().apply([a, sum]) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3 }).apply(cat) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

function convBranchesModel(): Model {
  const input = tfl.input({ shape: img });
  const a = tfl.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }).apply(input) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate({ axis: -1 }).apply([a, b, input]) as tfl.SymbolicTensor;
  const sum = tfl.layers.add().apply([b, input]) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(cat) as tfl.SymbolicTensor;
  const pooled2 = tfl.layers.globalAveragePooling2d({}).apply(sum) as tfl.SymbolicTensor;
  const out = tfl.layers.concatenate().apply([pooled, pooled2]) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

const PREDICT_CASES: PredictCase[] = [
  { label: 'Dense relu + Dense linear', shape: [6], op: 'fused_matmul',
    make: () => seq([tfl.layers.dense({ units: 5, activation: 'relu', inputShape: [6] }), tfl.layers.dense({ units: 3 })]) },
  { label: 'Dense on a rank-3 input', shape: [3, 5],
    make: () => seq([tfl.layers.dense({ units: 4, activation: 'sigmoid', inputShape: [3, 5] })]) },
  { label: 'Conv2D same, relu', shape: img, op: 'fused_conv2d', make: conv({ padding: 'same', activation: 'relu' }) },
  { label: 'Conv2D valid', shape: img, op: 'fused_conv2d', make: conv({ padding: 'valid' }) },
  { label: 'Conv2D valid, strides 2', shape: img, make: conv({ padding: 'valid', strides: 2 }) },
  { label: 'Conv2D same, strides 2', shape: img, make: conv({ padding: 'same', strides: 2 }) },
  { label: 'Conv2D same, dilation 2', shape: img, make: conv({ padding: 'same', dilationRate: 2 }) },
  { label: 'Conv2D valid, dilation 2, no bias', shape: img, make: conv({ padding: 'valid', dilationRate: 2, useBias: false }) },
  { label: 'DepthwiseConv2D same, multiplier 2', shape: img, op: 'depthwise_conv2d',
    make: () => seq([tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', inputShape: img })]) },
  { label: 'DepthwiseConv2D valid, strides 2, relu', shape: img,
    make: () => seq([tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, activation: 'relu', inputShape: img })]) },
  { label: 'MaxPooling2D 2x2', shape: img, op: 'max_pool',
    make: () => seq([tfl.layers.maxPooling2d({ poolSize: 2, inputShape: img })]) },
  { label: 'MaxPooling2D 3x3 same, strides 2', shape: img,
    make: () => seq([tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', inputShape: img })]) },
  { label: 'AveragePooling2D 2x2', shape: img, op: 'avg_pool',
    make: () => seq([tfl.layers.averagePooling2d({ poolSize: 2, inputShape: img })]) },
  { label: 'AveragePooling2D 3x3 same, strides 1', shape: img,
    make: () => seq([tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', inputShape: img })]) },
  { label: 'GlobalAveragePooling2D', shape: img,
    make: () => seq([tfl.layers.conv2d({ filters: 3, kernelSize: 3, inputShape: img }), tfl.layers.globalAveragePooling2d({})]) },
  { label: 'BatchNormalization on images (moving stats)', shape: img, op: 'batch_norm',
    make: () => seq([tfl.layers.batchNormalization({ inputShape: img })]) },
  { label: 'BatchNormalization after Dense', shape: [6],
    make: () => seq([tfl.layers.dense({ units: 5, inputShape: [6] }), tfl.layers.batchNormalization({ epsilon: 0.01 })]) },
  { label: 'Dropout is the identity in predict', shape: [6],
    make: () => seq([tfl.layers.dense({ units: 8, inputShape: [6] }), tfl.layers.dropout({ rate: 0.5 }), tfl.layers.dense({ units: 3 })]) },
  { label: 'Flatten + Dense', shape: [4, 3, 2],
    make: () => seq([tfl.layers.flatten({ inputShape: [4, 3, 2] }), tfl.layers.dense({ units: 3 })]) },
  { label: 'Reshape + Dense', shape: [12],
    make: () => seq([tfl.layers.reshape({ targetShape: [4, 3], inputShape: [12] }), tfl.layers.dense({ units: 2 })]) },
  { label: 'Concatenate + Add (functional, two branches)', shape: [6], op: 'concat', make: concatAddModel },
  { label: 'Concatenate + Add of conv branches', shape: img, make: convBranchesModel },
  { label: 'Embedding (int32 input)', shape: [5], dtype: 'int32', op: 'gather',
    make: () => seq([tfl.layers.embedding({ inputDim: 10, outputDim: 4, inputLength: 5 }), tfl.layers.flatten(), tfl.layers.dense({ units: 3 })]) },
  ...ACTIVATIONS.map((a): PredictCase => ({
    label: `Activation ${a}`, shape: [5],
    make: () => seq([tfl.layers.dense({ units: 6, inputShape: [5] }), tfl.layers.activation({ activation: a })]),
  })),
  ...(['elu', 'sigmoid', 'softmax', 'tanh'] as const).map((a): PredictCase => ({
    label: `Dense with activation ${a}`, shape: [5],
    make: () => seq([tfl.layers.dense({ units: 6, inputShape: [5], activation: a })]),
  })),
];

describe('layers inference: compiled predict ≡ model.predict', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  PREDICT_CASES.forEach((c, ci) => {
    it(`${c.label}: batch 1 and 7`, async () => {
      const model = c.make();
      randomize(model, 1000 + 50 * ci);
      const dtype = c.dtype ?? 'float32';
      const f = gc.compile((x: tf.Tensor) => model.predict(x) as tf.Tensor,
        { inputs: [gc.spec(['batch', ...c.shape], dtype)], backend: 'cpu' });
      if (c.op) expect(f.graph.nodes.map((n) => n.op)).toContain(c.op);
      for (const b of [1, 7]) {
        const x = randomInput([b, ...c.shape], dtype, 17 * ci + b);
        const y = (await f(x)) as tf.Tensor;
        const e = model.predict(x) as tf.Tensor;
        expect(y.shape).toEqual(e.shape);
        expect(relExcess(y, e)).toBeLessThanOrEqual(1e-5);
        // The model computes something: not all outputs equal (a zeroed or constant graph fails).
        const v = arr(e);
        expect(Math.max(...v) - Math.min(...v)).toBeGreaterThan(1e-3);
        tf.dispose([x, y, e]);
      }
      expect(f.traceCount).toBe(1);
      f.dispose();
    });
  });

  it('Dropout in training is random on every call and keeps/drops with 1/(1-rate) scaling', async () => {
    const layer = tfl.layers.dropout({ rate: 0.5 });
    const f = gc.compile((x: tf.Tensor) => layer.apply(x, { training: true }) as tf.Tensor,
      { inputs: [gc.spec(['batch', 50])], backend: 'cpu' });
    expect(f.graph.nodes.map((n) => n.op)).toContain('random_uniform');
    const x = tf.ones([4, 50]);
    const a = arr((await f(x)) as tf.Tensor);
    const b = arr((await f(x)) as tf.Tensor);
    expect(a).not.toEqual(b);
    for (const v of a) expect(v === 0 || Math.abs(v - 2) < 1e-6).toBe(true);
    const kept = a.filter((v) => v !== 0).length;
    expect(kept).toBeGreaterThan(60);
    expect(kept).toBeLessThan(140);
    // Without training it is the identity.
    const g = gc.compile((t: tf.Tensor) => layer.apply(t) as tf.Tensor, { inputs: [gc.spec(['batch', 50])], backend: 'cpu' });
    expect(g.graph.nodes.some((n) => n.op.startsWith('random'))).toBe(false);
    const z = randomInput([3, 50], 'float32', 5);
    expect(arr((await g(z)) as tf.Tensor)).toEqual(arr(z));
  });
});

// ---- training ----------------------------------------------------------------------------------

type LossFn = (labels: tf.Tensor, pred: tf.Tensor) => tf.Scalar;

const LOSSES: Record<string, LossFn> = {
  mse: (y, p) => tf.losses.meanSquaredError(y, p) as tf.Scalar,
  sigmoidCE: (y, p) => tf.losses.sigmoidCrossEntropy(y, p) as tf.Scalar,
  softmaxCE: (y, p) => tf.losses.softmaxCrossEntropy(y, p) as tf.Scalar,
  // Sparse categorical cross-entropy as users write it: int32 labels, one-hot, softmax CE.
  sparseCE: (y, p) => tf.losses.softmaxCrossEntropy(tf.oneHot(y as tf.Tensor1D, p.shape[1]!), p) as tf.Scalar,
};

interface TrainCase {
  label: string;
  make: () => Model;
  shape: Shape;
  dtype?: 'float32' | 'int32';
  /** Label shape without the batch dim, and its dtype. */
  yShape: Shape;
  yDtype?: 'float32' | 'int32';
  /** For int32 labels: classes; for float labels in [0,1): 0. */
  yClasses?: number;
  loss: keyof typeof LOSSES;
  opt: () => tf.Optimizer;
  /** model.apply(x, {training: true}) instead of model.predict. */
  training: boolean;
  steps?: number;
  /** A fixed batch size instead of the symbolic 'batch' (see cnn()). */
  fixedBatch?: number;
}

function cnn(dropout: boolean): Model {
  return seq([
    tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', inputShape: img }),
    tfl.layers.batchNormalization({ momentum: 0.8 }),
    tfl.layers.activation({ activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    // Dropout in training draws a random mask, which cannot match eager tfjs unless both draw
    // the same one: a *seeded* Dropout does. tfjs's seeded draws give the same values on every
    // eager call, and graphc records them as constants, so the compiled step uses exactly
    // eager's mask and can be compared to it. Such a constant has the traced batch size in its
    // shape, so this model is compiled at a fixed batch (a symbolic one is rejected, GC0103).
    // Unseeded Dropout is checked above: random on every call in training, identity in predict.
    ...(dropout ? [tfl.layers.dropout({ rate: 0.3, seed: 7 })] : []),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 3 }),
  ]);
}

const TRAIN_CASES: TrainCase[] = [
  { label: 'CNN conv+BN+relu+maxpool+flatten+dense, softmax CE, adam, training mode (BN batch stats + moving averages)',
    make: () => cnn(false), shape: img, yShape: [3], loss: 'softmaxCE', opt: () => tf.train.adam(0.01), training: true },
  { label: 'CNN conv+BN+relu+maxpool+seeded dropout+flatten+dense, softmax CE, adam, training mode, fixed batch',
    make: () => cnn(true), shape: img, yShape: [3], loss: 'softmaxCE', opt: () => tf.train.adam(0.01), training: true, fixedBatch: 6 },
  { label: 'Embedding + flatten + dense, sparse CE (oneHot of int32 labels), sgd',
    make: () => seq([tfl.layers.embedding({ inputDim: 10, outputDim: 4, inputLength: 5 }), tfl.layers.flatten(), tfl.layers.dense({ units: 4 })]),
    shape: [5], dtype: 'int32', yShape: [], yDtype: 'int32', yClasses: 4, loss: 'sparseCE', opt: () => tf.train.sgd(0.5), training: false },
  { label: 'MLP relu + dense, MSE, momentum',
    make: () => seq([tfl.layers.dense({ units: 8, activation: 'relu', inputShape: [6] }), tfl.layers.dense({ units: 2 })]),
    shape: [6], yShape: [2], loss: 'mse', opt: () => tf.train.momentum(0.05, 0.9), training: false },
  { label: 'MLP tanh, sigmoid CE, rmsprop',
    make: () => seq([tfl.layers.dense({ units: 8, activation: 'tanh', inputShape: [6] }), tfl.layers.dense({ units: 3 })]),
    shape: [6], yShape: [3], loss: 'sigmoidCE', opt: () => tf.train.rmsprop(0.01, 0.9, 0.1), training: false },
  { label: 'depthwise (strides 2) + avgpool + conv (strides 2, valid) + global avgpool + dense, softmax CE, adagrad',
    make: () => seq([
      tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', activation: 'relu', inputShape: img }),
      tfl.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
      tfl.layers.conv2d({ filters: 4, kernelSize: 2, strides: 2, padding: 'valid', activation: 'elu' }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 3 }),
    ]),
    shape: img, yShape: [3], loss: 'softmaxCE', opt: () => tf.train.adagrad(0.1), training: false },
  { label: 'functional Concatenate + Add, reshape, BN in training, MSE, adam',
    make: () => {
      const input = tfl.input({ shape: [6] });
      const a = tfl.layers.dense({ units: 4, activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
      const b = tfl.layers.dense({ units: 4, activation: 'sigmoid' }).apply(input) as tfl.SymbolicTensor;
      const sum = tfl.layers.add().apply([a, b]) as tfl.SymbolicTensor;
      const cat = tfl.layers.concatenate().apply([sum, b]) as tfl.SymbolicTensor;
      const bn = tfl.layers.batchNormalization().apply(cat) as tfl.SymbolicTensor;
      const r = tfl.layers.reshape({ targetShape: [2, 4] }).apply(bn) as tfl.SymbolicTensor;
      const out = tfl.layers.flatten().apply(tfl.layers.dense({ units: 1 }).apply(r) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
      return tfl.model({ inputs: input, outputs: out });
    },
    shape: [6], yShape: [2], loss: 'mse', opt: () => tf.train.adam(0.02), training: true },
  ...ACTIVATIONS.map((a): TrainCase => ({
    label: `Activation ${a} gradient, MSE, sgd`,
    make: () => seq([tfl.layers.dense({ units: 6, inputShape: [5] }), tfl.layers.activation({ activation: a }), tfl.layers.dense({ units: 2 })]),
    shape: [5], yShape: [2], loss: 'mse', opt: () => tf.train.sgd(0.2), training: false, steps: 3,
  })),
];

function labels(c: TrainCase, b: number, seed: number): tf.Tensor {
  if (c.yDtype === 'int32') return tf.randomUniform([b, ...c.yShape], 0, c.yClasses!, 'int32', seed);
  if (c.loss === 'softmaxCE') return tf.oneHot(tf.randomUniform([b], 0, c.yShape[0]!, 'int32', seed) as tf.Tensor1D, c.yShape[0]!).toFloat();
  return tf.randomUniform([b, ...c.yShape], 0, 1, 'float32', seed);
}

/**
 * On tfjs-cpu every case; on ONNX Runtime (backend 'onnxruntime', issue 11) the CNNs: conv, batch
 * norm in training mode, max pool, seeded dropout (an op seed is drawn by tfjs and fed, so the
 * masks are eager's), depthwise, average pool.
 */
for (const backend of ['cpu', 'onnxruntime'] as const) describe(`layers training on ${backend}: a compiled optimizer step ≡ the eager step on an identical model`, () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  TRAIN_CASES.forEach((c, ci) => {
    if (backend === 'onnxruntime' && !/CNN|depthwise/.test(c.label)) return;
    it(c.label, async () => {
      const eagerM = c.make();
      randomize(eagerM, 5000 + 100 * ci);
      // The same architecture again: tfjs gives its layers and variables new unique names.
      const compM = c.make();
      compM.setWeights(eagerM.getWeights());
      const start = eagerM.getWeights().map((w) => tf.clone(w));
      const names = (m: Model) => m.weights.map((w) => w.name);
      expect(names(compM).some((n) => names(eagerM).includes(n))).toBe(false);

      const lossFn = LOSSES[c.loss]!;
      const forward = (m: Model, x: tf.Tensor) =>
        (c.training ? m.apply(x, { training: true }) : m.predict(x)) as tf.Tensor;
      // On ONNX Runtime, Adam's epsilon is 1e-3 instead of 1e-7: a conv's bias right before batch
      // norm has a gradient of zero up to rounding (BN subtracts the batch mean), and with a tiny
      // epsilon Adam turns that rounding noise into steps of ±lr, which another engine's rounding
      // (ORT's kernels, not tfjs's) moves the other way. With 1e-3 the noise stays noise.
      const opt = backend === 'onnxruntime' && c.label.includes('adam') ? () => tf.train.adam(0.01, 0.9, 0.999, 1e-3) : c.opt;
      const eagerOpt = opt(), compOpt = opt();
      const step = gc.compile(
        (x: tf.Tensor, y: tf.Tensor) => compOpt.minimize(() => lossFn(y, forward(compM, x)), true)!,
        { inputs: [gc.spec([c.fixedBatch ?? 'batch', ...c.shape], c.dtype ?? 'float32'), gc.spec([c.fixedBatch ?? 'batch', ...c.yShape], c.yDtype ?? 'float32')], backend },
      );
      // One graph assigns every trainable weight (and, in training mode, BN's moving stats).
      const assigned = new Set(step.graph.nodes.filter((n) => n.op === 'assign').map((n) => n.attrs.var as string));
      for (const w of compM.trainableWeights) expect(assigned).toContain(varOf(w).name);
      if (c.training) for (const w of compM.nonTrainableWeights) expect(assigned).toContain(varOf(w).name);

      const steps = c.steps ?? 4;
      for (let i = 0; i < steps; i++) {
        const b = c.fixedBatch ?? (i % 2 === 0 ? 6 : 3);  // the symbolic batch changes between steps
        const x = randomInput([b, ...c.shape], c.dtype ?? 'float32', 300 + 10 * ci + i);
        const y = labels(c, b, 700 + 10 * ci + i);
        const le = eagerOpt.minimize(() => lossFn(y, forward(eagerM, x)), true)!;
        const lc = (await step(x, y)) as tf.Tensor;
        expect(lc.shape).toEqual([]);
        expect(Math.abs(lc.dataSync()[0]! - le.dataSync()[0]!)).toBeLessThan(1e-4);
        tf.dispose([x, y, le, lc]);
      }
      expect(step.traceCount).toBe(1);

      const we = eagerM.getWeights(), wc = compM.getWeights();
      let moved = 0;
      we.forEach((w, k) => {
        expect(wc[k]!.shape).toEqual(w.shape);
        expect(maxErr(wc[k]!, w)).toBeLessThan(1e-4);
        moved = Math.max(moved, maxErr(wc[k]!, start[k]!));
      });
      // Training changed the weights (a no-op update would pass the comparisons trivially).
      expect(moved).toBeGreaterThan(1e-3);
      if (c.training) {
        // BN's moving mean and variance were updated by the step, as eagerly.
        const stats = compM.nonTrainableWeights;
        expect(stats.length).toBeGreaterThan(0);
        for (const s of stats) {
          const k = compM.weights.indexOf(s);
          expect(maxErr(s.read(), start[k]!)).toBeGreaterThan(1e-3);
          expect(maxErr(s.read(), we[k]!)).toBeLessThan(1e-4);
        }
      }
      tf.dispose(start);
      step.dispose();
    });
  });
});

// ---- lazily built models -----------------------------------------------------------------------

describe('a layers model built inside the compiled function', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  it('the first call creates its weights as real tf.Variables, and later calls use them', async () => {
    let model: Model | undefined;
    let head: tfl.layers.Layer | undefined;
    const fn = (x: tf.Tensor) => {
      // Created while tracing: the Sequential builds its layers at construction (a conv with
      // glorotNormal = truncatedNormal weights, a dense with glorotUniform ones; non-zero bias
      // initializers); `head` has no input shape and builds on its first apply.
      model ??= seq([
        tfl.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', biasInitializer: 'truncatedNormal', inputShape: [6, 6, 2] }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 5, activation: 'tanh', biasInitializer: 'randomNormal' }),
      ]);
      head ??= tfl.layers.dense({ units: 2, biasInitializer: 'randomUniform' });
      return head.apply(model.predict(x)) as tf.Tensor;
    };
    const eager = (x: tf.Tensor) => head!.apply(model!.predict(x)) as tf.Tensor;
    const before = Object.keys(tf.engine().state.registeredVariables).length;
    const f = gc.compile(fn, { inputs: [gc.spec(['batch', 6, 6, 2])], backend: 'cpu' });
    expect(model).toBeDefined();
    expect(head).toBeDefined();
    const weights = [...model!.weights, ...head!.weights];
    expect(weights.length).toBe(6);
    const registered = tf.engine().state.registeredVariables;
    // Traced at several batch sizes, the weights are still created once.
    expect(Object.keys(registered).length).toBe(before + 6);
    for (const w of weights) {
      expect(varOf(w)).toBeInstanceOf(tf.Variable);
      expect(registered[varOf(w).name]).toBe(varOf(w));
      // Real data on the cpu backend, readable eagerly and initialised (not zeros, not NaN).
      const v = arr(w.read());
      expect(v.length).toBe(w.shape.reduce((p, d) => p! * d!, 1));
      expect(v.every((e) => Number.isFinite(e))).toBe(true);
      expect(new Set(v).size).toBeGreaterThan(1);
    }
    // glorotNormal's truncated normal: |w| ≤ 2·std, std = sqrt(2 / (fanIn + fanOut)) / 0.8796…
    const std = Math.sqrt(2 / (3 * 3 * 2 + 3 * 3 * 3)) / 0.87962566103423978;
    expect(Math.max(...arr(model!.weights[0]!.read()).map(Math.abs))).toBeLessThanOrEqual(2 * std + 1e-6);
    for (const b of [1, 7]) {
      const x = randomInput([b, 6, 6, 2], 'float32', 3 + b);
      const y = (await f(x)) as tf.Tensor;
      expect(y.shape).toEqual([b, 2]);
      expect(relExcess(y, eager(x))).toBeLessThanOrEqual(1e-5);
    }
    // The compiled function reads the variables' current values: a user update is seen.
    const x = randomInput([4, 6, 6, 2], 'float32', 11);
    const y1 = (await f(x)) as tf.Tensor;
    const k = head!.weights[0]!;
    k.write(tf.mul(k.read(), -1));
    const y2 = (await f(x)) as tf.Tensor;
    expect(relExcess(y2, eager(x))).toBeLessThanOrEqual(1e-5);
    expect(maxErr(y2, y1)).toBeGreaterThan(1e-3);
    expect(f.traceCount).toBe(1);
  });
});
