/**
 * The course's workflow end to end (shared/seeds, week 7), in TensorFlow.js with graphc
 * compiling every training and evaluation step (`gc.accelerate`):
 *
 *   Fashion-MNIST from Debian's package → a validation split of 5000 → standardised pixels →
 *   a tf.data pipeline (shuffle, batch, prefetch) → a Sequential MLP with dropout and L2 →
 *   Adam with a per-epoch learning-rate decay → early stopping on val_loss that restores the
 *   best weights → a progress bar on stderr → curves.csv + curves.svg → test accuracy →
 *   ONNX export, checked in ONNX Runtime, with the same test accuracy there.
 *   Then the Functional API (two inputs, two outputs) and a subclassed custom layer, each
 *   trained, exported and checked; and ms/step eager against compiled, measured side by side.
 *
 *   npx tsx examples/fashion_course.ts [--epochs N] [--limit N] [--out DIR] [--skip-extras]
 *
 * --limit N uses the first N training images (the validation split is 5000, or N/10 when N is
 * under 10000) and N/6 test images. Results go to stdout, progress to stderr, files to --out
 * (default course_out/).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';
import type * as ortTypes from 'onnxruntime-node';
import { loadCourseData, oneHot, splitTensors, trainDataset } from './lib/course_data.js';
import type { CourseData, CourseSplit } from './lib/course_data.js';
import { EarlyStoppingRestoreBest, LearningRateSchedule, ProgressBar, exponentialDecay } from './lib/course_callbacks.js';
import { writeCurves } from './lib/course_curves.js';

export interface CourseOptions {
  epochs?: number;
  batchSize?: number;
  /** First learning rate and its per-epoch decay factor (rate = lr0 · decay^epoch), unless `rate` is given. */
  lr0?: number;
  decay?: number;
  rate?: (epoch: number) => number;
  patience?: number;
  l2?: number;
  dropout?: number;
  /** Where curves.csv, curves.svg and the ONNX files go (created). */
  out?: string;
  /** The progress bar on stderr (default true). */
  progress?: boolean;
  /** Compile the steps with gc.accelerate (default true); false trains with tfjs eagerly. */
  accelerate?: boolean;
  seed?: number;
}

/** Flatten → Dense 300 relu (L2) → Dropout → Dense 100 relu (L2) → Dropout → Dense 10 softmax. */
export function buildSequential(opts: { l2?: number; dropout?: number } = {}): tfl.Sequential {
  const l2 = opts.l2 ?? 1e-5, rate = opts.dropout ?? 0.2;
  const reg = () => tfl.regularizers.l2({ l2 });
  return tfl.sequential({
    name: 'course_mlp',
    layers: [
      tfl.layers.flatten({ inputShape: [28, 28], name: 'flatten' }),
      tfl.layers.dense({ units: 300, activation: 'relu', kernelRegularizer: reg(), name: 'dense_300' }),
      tfl.layers.dropout({ rate, name: 'dropout_1' }),
      tfl.layers.dense({ units: 100, activation: 'relu', kernelRegularizer: reg(), name: 'dense_100' }),
      tfl.layers.dropout({ rate, name: 'dropout_2' }),
      tfl.layers.dense({ units: 10, activation: 'softmax', name: 'classes' }),
    ],
  });
}

function compileModel(model: tfl.LayersModel, lr: number, accelerate: boolean, loss: tfl.ModelCompileArgs['loss'] = 'categoricalCrossentropy', metrics: tfl.ModelCompileArgs['metrics'] = ['accuracy']): void {
  const args = { optimizer: tf.train.adam(lr), loss, metrics };
  if (accelerate) gc.accelerate(model, args);
  else model.compile(args);
}

export interface CourseRun {
  model: tfl.Sequential;
  history: tfl.History;
  schedule: LearningRateSchedule;
  stopper: EarlyStoppingRestoreBest;
  files: { csv: string; svg: string };
  /** Wall-clock seconds of fitDataset. */
  trainSeconds: number;
  /** Steps run (batches over all epochs). */
  steps: number;
}

/** Trains the Sequential model through the tf.data pipeline with the course's callbacks; writes the curves. */
export async function trainCourse(data: CourseData, opts: CourseOptions = {}): Promise<CourseRun> {
  const epochs = opts.epochs ?? 25, batchSize = opts.batchSize ?? 64;
  const out = opts.out ?? 'course_out';
  const model = buildSequential(opts);
  const rate = opts.rate ?? exponentialDecay(opts.lr0 ?? 1e-3, opts.decay ?? 0.9);
  compileModel(model, rate(0), opts.accelerate ?? true);
  const pipeline = trainDataset(data.train, { batchSize, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
  const val = splitTensors(data.val);
  const stepsPerEpoch = Math.ceil(data.train.count / batchSize);
  const schedule = new LearningRateSchedule(rate);
  const stopper = new EarlyStoppingRestoreBest({ monitor: 'val_loss', patience: opts.patience ?? 4, restoreBestWeights: true });
  const callbacks: tfl.Callback[] = [schedule, stopper];
  if (opts.progress ?? true) callbacks.push(new ProgressBar(stepsPerEpoch));
  const t = performance.now();
  let history: tfl.History;
  try {
    history = await model.fitDataset(pipeline.dataset, {
      epochs, validationData: [val.xs, val.ys], validationBatchSize: 500, callbacks, verbose: 0,
    });
  } finally {
    pipeline.dispose();
    tf.dispose([val.xs, val.ys]);
  }
  const trainSeconds = (performance.now() - t) / 1000;
  const files = writeCurves(out, history, schedule.rates, stopper.restored ? stopper.bestEpoch : undefined);
  return { model, history, schedule, stopper, files, trainSeconds, steps: history.epoch.length * stepsPerEpoch };
}

/** argmax of each row of `probs` [n, classes]. */
export function argmaxRows(probs: ArrayLike<number>, classes: number): Int32Array {
  const n = probs.length / classes, out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[i * classes + c]! > probs[i * classes + best]!) best = c;
    out[i] = best;
  }
  return out;
}

export function accuracy(pred: Int32Array, labels: Int32Array): number {
  let ok = 0;
  pred.forEach((p, i) => { if (p === labels[i]) ok++; });
  return ok / labels.length;
}

/** The model's class predictions on a split (tfjs, batches of 1000). */
export function tfjsPredict(model: tfl.LayersModel, s: CourseSplit): { probs: Float32Array; classes: Int32Array } {
  const probs = tf.tidy(() => (model.predict(tf.tensor3d(s.images, [s.count, 28, 28]), { batchSize: 1000 }) as tf.Tensor).dataSync() as Float32Array);
  return { probs, classes: argmaxRows(probs, 10) };
}

let ortModule: typeof ortTypes | undefined;
async function ort(): Promise<typeof ortTypes> {
  return ortModule ??= (await import('onnxruntime-node')) as typeof ortTypes;
}

type Feed = { data: Float32Array; shape: number[] };

/**
 * Runs an ONNX model in onnxruntime-node on float32 feeds (by name, or an array in the model's
 * input order), in batches along dim 0; returns each output flattened.
 */
export async function ortRun(onnx: Uint8Array, feedsIn: Record<string, Feed> | Feed[], batch = 1000): Promise<Record<string, Float32Array>> {
  const o = await ort();
  const session = await o.InferenceSession.create(onnx);
  try {
    const feeds = Array.isArray(feedsIn) ? Object.fromEntries(session.inputNames.map((n, i) => [n, feedsIn[i]!])) : feedsIn;
    const n = Object.values(feeds)[0]!.shape[0]!;
    const parts: Record<string, Float32Array[]> = {};
    for (let i = 0; i < n; i += batch) {
      const m = Math.min(batch, n - i);
      const f: Record<string, ortTypes.Tensor> = {};
      for (const [k, v] of Object.entries(feeds)) {
        const row = v.shape.slice(1).reduce((a, b) => a * b, 1);
        f[k] = new o.Tensor('float32', v.data.subarray(i * row, (i + m) * row), [m, ...v.shape.slice(1)]);
      }
      const r = await session.run(f);
      for (const name of session.outputNames) (parts[name] ??= []).push(r[name]!.data as Float32Array);
    }
    return Object.fromEntries(Object.entries(parts).map(([k, ps]) => {
      const all = new Float32Array(ps.reduce((a, p) => a + p.length, 0));
      let off = 0;
      for (const p of ps) { all.set(p, off); off += p.length; }
      return [k, all];
    }));
  } finally {
    await session.release();
  }
}

/**
 * A model's inference function as ONNX: gc.compile of `model.predict` with a symbolic batch,
 * exported with the trained weights (f.toOnnx writes the variables as they are now).
 */
export async function exportModel(model: tfl.LayersModel, inputs: gc.TensorSpec[], file: string): Promise<Uint8Array> {
  const f = gc.compile((...xs: tf.Tensor[]) => model.predict(xs.length === 1 ? xs[0]! : xs) as tf.Tensor | tf.Tensor[], { inputs });
  try {
    await f(...inputs.map((s) => tf.zeros(s.shape.map((d) => (typeof d === 'number' ? d : 2)), 'float32')));
    const bytes = f.toOnnx();
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    return bytes;
  } finally {
    f.dispose();
  }
}

export interface OnnxCheck {
  file: string;
  bytes: number;
  tfjsAccuracy: number;
  ortAccuracy: number;
  /** Test images whose predicted class differs between tfjs and ORT. */
  disagreements: number;
  /** Largest |Δ| of the class probabilities. */
  maxAbsDiff: number;
}

/** The test accuracy of an ONNX file (input `images`) in onnxruntime-node, beside the tfjs model's. */
export async function checkOnnx(model: tfl.LayersModel, test: CourseSplit, file: string): Promise<OnnxCheck> {
  const bytes = new Uint8Array(readFileSync(file));
  const mine = tfjsPredict(model, test);
  const outs = await ortRun(bytes, [{ data: test.images, shape: [test.count, 28, 28] }]);
  const probs = Object.values(outs)[0]!;
  const theirs = argmaxRows(probs, 10);
  let disagreements = 0, maxAbsDiff = 0;
  theirs.forEach((c, i) => { if (c !== mine.classes[i]) disagreements++; });
  probs.forEach((p, i) => { maxAbsDiff = Math.max(maxAbsDiff, Math.abs(p - mine.probs[i]!)); });
  return { file, bytes: bytes.length, tfjsAccuracy: accuracy(mine.classes, test.labels), ortAccuracy: accuracy(theirs, test.labels), disagreements, maxAbsDiff };
}

/** Exports the Sequential model in-process (gc.compile + toOnnx) and checks its test accuracy in onnxruntime-node. */
export async function exportAndCheck(model: tfl.LayersModel, test: CourseSplit, file: string): Promise<OnnxCheck> {
  await exportModel(model, [gc.spec(['batch', 28, 28], 'float32', 'images')], file);
  return checkOnnx(model, test, file);
}

/** Saves a LayersModel as tfjs does on disk: model.json + weights.bin in `dir`; returns model.json's path. */
export async function saveLayersModel(model: tfl.LayersModel, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (a) => {
    writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
      format: 'layers-model', generatedBy: 'graphc examples/fashion_course.ts', convertedBy: null,
      modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    }));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return path.join(dir, 'model.json');
}

/**
 * `graphc export model.json -o file --check --output-names probs`, the CLI run through tsx from
 * this checkout (installed: `npx graphc export …`). Returns its stdout (stderr has the status);
 * throws with both when it exits non-zero (a --check over its tolerance exits 1).
 */
export function graphcExportCheck(modelJson: string, file: string): { stdout: string; command: string } {
  const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const args = ['export', modelJson, '-o', file, '--force', '--check', '--output-names', 'probs'];
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  const command = `graphc ${args.join(' ')}`;
  if (r.status !== 0) throw new Error(`${command} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return { stdout: r.stdout, command };
}

// ───────────────────────────── Functional API: two inputs, two outputs ─────────────────────────────

/** Per image: its mean pixel (the scalar input) and the fraction of its top half that is ink (the regression target). */
export function imageFeatures(s: CourseSplit, mean: number, std: number): { brightness: Float32Array; topInk: Float32Array } {
  const brightness = new Float32Array(s.count), topInk = new Float32Array(s.count);
  for (let i = 0; i < s.count; i++) {
    let sum = 0, ink = 0;
    for (let p = 0; p < 784; p++) {
      const v = s.images[i * 784 + p]! * std + mean; // back to [0, 1]
      sum += v;
      if (p < 392 && v > 0.5) ink++;
    }
    brightness[i] = sum / 784;
    topInk[i] = ink / 392;
  }
  return { brightness, topInk };
}

/** image [28,28] + brightness [1] → class probabilities [10] ('class') and the top half's ink fraction [1] ('top_ink'). */
export function buildFunctional(): tfl.LayersModel {
  const image = tfl.input({ shape: [28, 28], name: 'image' });
  const brightness = tfl.input({ shape: [1], name: 'brightness' });
  const flat = tfl.layers.flatten({ name: 'f_flatten' }).apply(image) as tfl.SymbolicTensor;
  const h = tfl.layers.dense({ units: 128, activation: 'relu', name: 'f_dense' }).apply(flat) as tfl.SymbolicTensor;
  const joined = tfl.layers.concatenate({ name: 'f_concat' }).apply([h, brightness]) as tfl.SymbolicTensor;
  const h2 = tfl.layers.dense({ units: 64, activation: 'relu', name: 'f_dense2' }).apply(joined) as tfl.SymbolicTensor;
  const cls = tfl.layers.dense({ units: 10, activation: 'softmax', name: 'class' }).apply(h2) as tfl.SymbolicTensor;
  const reg = tfl.layers.dense({ units: 1, name: 'top_ink' }).apply(h2) as tfl.SymbolicTensor;
  return tfl.model({ inputs: [image, brightness], outputs: [cls, reg], name: 'course_functional' });
}

export interface ExtraCheck {
  name: string;
  file: string;
  history: tfl.History;
  /** Largest |Δ| between tfjs's and ORT's outputs on the test split, per output. */
  maxAbsDiff: number[];
  tfjsAccuracy: number;
  ortAccuracy: number;
}

export async function trainFunctional(data: CourseData, opts: { epochs?: number; out?: string; accelerate?: boolean } = {}): Promise<ExtraCheck> {
  const model = buildFunctional();
  compileModel(model, 1e-3, opts.accelerate ?? true, ['categoricalCrossentropy', 'meanSquaredError'], { class: 'accuracy' } as unknown as tfl.ModelCompileArgs['metrics']);
  const feats = (s: CourseSplit) => imageFeatures(s, data.mean, data.std);
  const tr = feats(data.train), te = feats(data.test);
  const x = [tf.tensor3d(data.train.images, [data.train.count, 28, 28]), tf.tensor2d(tr.brightness, [data.train.count, 1])];
  const y = [tf.tensor2d(oneHot(data.train.labels), [data.train.count, 10]), tf.tensor2d(tr.topInk, [data.train.count, 1])];
  let history: tfl.History;
  try {
    history = await model.fit(x, y, { epochs: opts.epochs ?? 3, batchSize: 64, validationSplit: 0.1, shuffle: true, verbose: 0 });
  } finally {
    tf.dispose([...x, ...y]);
  }
  const file = path.join(opts.out ?? 'course_out', 'functional.onnx');
  const bytes = await exportModel(model, [gc.spec(['batch', 28, 28], 'float32', 'image'), gc.spec(['batch', 1], 'float32', 'brightness')], file);
  const mine = tf.tidy(() => (model.predict([tf.tensor3d(data.test.images, [data.test.count, 28, 28]), tf.tensor2d(te.brightness, [data.test.count, 1])], { batchSize: 1000 }) as tf.Tensor[]).map((t) => t.dataSync() as Float32Array));
  const outs = Object.values(await ortRun(bytes, { image: { data: data.test.images, shape: [data.test.count, 28, 28] }, brightness: { data: te.brightness, shape: [data.test.count, 1] } }));
  const maxAbsDiff = mine.map((m, k) => m.reduce((a, v, i) => Math.max(a, Math.abs(v - outs[k]![i]!)), 0));
  return { name: 'functional', file, history, maxAbsDiff, tfjsAccuracy: accuracy(argmaxRows(mine[0]!, 10), data.test.labels), ortAccuracy: accuracy(argmaxRows(outs[0]!, 10), data.test.labels) };
}

// ───────────────────────────── Subclassing: a custom layer with its own weights ─────────────────────────────

export interface GatedDenseArgs { units: number; name?: string; inputShape?: number[] }

/**
 * relu(x·W + b) · sigmoid(g): a dense layer whose units each have a learned gate. Its weights
 * (kernel, bias, gate) are its own; `getConfig` and `registerClass` let `tf.loadLayersModel`
 * rebuild it from a saved model.json.
 */
export class GatedDense extends tfl.layers.Layer {
  static className = 'GatedDense';
  readonly units: number;
  private kernel!: tfl.LayerVariable;
  private bias!: tfl.LayerVariable;
  private gate!: tfl.LayerVariable;

  constructor(args: GatedDenseArgs) {
    super(args);
    this.units = args.units;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const inDim = shape[shape.length - 1]!;
    this.kernel = this.addWeight('kernel', [inDim, this.units], 'float32', tfl.initializers.glorotUniform({}));
    this.bias = this.addWeight('bias', [this.units], 'float32', tfl.initializers.zeros());
    this.gate = this.addWeight('gate', [this.units], 'float32', tfl.initializers.constant({ value: 2 }));
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [...shape.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const h = tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, this.kernel.read() as tf.Tensor2D), this.bias.read()));
      return tf.mul(h, tf.sigmoid(this.gate.read()));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units };
  }
}
tf.serialization.registerClass(GatedDense);

export function buildSubclassed(): tfl.Sequential {
  return tfl.sequential({
    name: 'course_subclassed',
    layers: [
      tfl.layers.flatten({ inputShape: [28, 28], name: 's_flatten' }),
      new GatedDense({ units: 128, name: 'gated' }),
      tfl.layers.dense({ units: 10, activation: 'softmax', name: 's_classes' }),
    ],
  });
}

/** Saves a model to memory (model.json topology + weights) and loads it back: needs GatedDense registered. */
export async function roundTrip(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => { saved = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  return tfl.loadLayersModel(tf.io.fromMemory(saved!));
}

export interface SubclassedCheck extends ExtraCheck {
  /** After saving to model.json form and loading back (tf.loadLayersModel): the layer classes, and max |Δ| of weights and of predictions. */
  reloaded: { layers: string[]; weightsMaxAbsDiff: number; predictMaxAbsDiff: number };
}

export async function trainSubclassed(data: CourseData, opts: { epochs?: number; out?: string; accelerate?: boolean } = {}): Promise<SubclassedCheck> {
  const model = buildSubclassed();
  compileModel(model, 1e-3, opts.accelerate ?? true);
  const train = splitTensors(data.train);
  let history: tfl.History;
  try {
    history = await model.fit(train.xs, train.ys, { epochs: opts.epochs ?? 3, batchSize: 64, validationSplit: 0.1, shuffle: true, verbose: 0 });
  } finally {
    tf.dispose([train.xs, train.ys]);
  }
  const file = path.join(opts.out ?? 'course_out', 'subclassed.onnx');
  const bytes = await exportModel(model, [gc.spec(['batch', 28, 28], 'float32', 'images')], file);
  const mine = tfjsPredict(model, data.test);
  const back = await roundTrip(model);
  const again = tfjsPredict(back, data.test);
  const w0 = model.getWeights().map((w) => w.dataSync()), w1 = back.getWeights().map((w) => w.dataSync());
  const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!)); return m; };
  const theirs = Object.values(await ortRun(bytes, { images: { data: data.test.images, shape: [data.test.count, 28, 28] } }))[0]!;
  return {
    name: 'subclassed', file, history,
    maxAbsDiff: [maxDiff(mine.probs, theirs)],
    reloaded: {
      layers: back.layers.map((l) => l.getClassName()),
      weightsMaxAbsDiff: w0.length === w1.length ? Math.max(0, ...w0.map((w, i) => maxDiff(w, w1[i]!))) : Infinity,
      predictMaxAbsDiff: maxDiff(mine.probs, again.probs),
    },
    tfjsAccuracy: accuracy(mine.classes, data.test.labels), ortAccuracy: accuracy(argmaxRows(theirs, 10), data.test.labels),
  };
}

// ───────────────────────────── ms/step: eager against compiled, side by side ─────────────────────────────

export interface StepTiming { backend: string; compiledBackend: string; eagerMsPerStep: number; compiledMsPerStep: number; speedup: number; steps: number }

/**
 * The same Sequential model and optimizer, one copy trained by tfjs eagerly and one accelerated,
 * `trainOnBatch` on the same batches, interleaved rounds of `perRound` steps each; medians.
 */
export async function timeSteps(data: CourseData, opts: { rounds?: number; perRound?: number; batchSize?: number } = {}): Promise<StepTiming> {
  const rounds = opts.rounds ?? 5, perRound = opts.perRound ?? 6, bs = opts.batchSize ?? 64;
  const eager = buildSequential(), fast = buildSequential();
  compileModel(eager, 1e-3, false);
  compileModel(fast, 1e-3, true);
  const xs = tf.tensor3d(data.train.images.subarray(0, perRound * bs * 784), [perRound * bs, 28, 28]);
  const ys = tf.tensor2d(oneHot(data.train.labels.subarray(0, perRound * bs)), [perRound * bs, 10]);
  const batches = Array.from({ length: perRound }, (_, i) => [tf.slice(xs, i * bs, bs), tf.slice(ys, i * bs, bs)] as const);
  const run = async (m: tfl.LayersModel) => {
    const t = performance.now();
    for (const [x, y] of batches) await m.trainOnBatch(x, y); // trainOnBatch reads the loss back: each step completes
    return (performance.now() - t) / perRound;
  };
  await run(eager); await run(fast); // warm-up: tracing, compiling, the backends' first calls
  const e: number[] = [], c: number[] = [];
  for (let r = 0; r < rounds; r++) { e.push(await run(eager)); c.push(await run(fast)); }
  tf.dispose([xs, ys, ...batches.flat()]);
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const eagerMsPerStep = med(e), compiledMsPerStep = med(c);
  // Under 'auto' each compiled step runs on the engine measured faster for it (wasm or ONNX Runtime).
  const info = gc.accelerated(fast);
  const engines = new Set<string>();
  for (const [role, f] of info?.functions() ?? []) if (role.startsWith('train ')) for (const ch of (await f.session()).engineChoices()) engines.add(ch.engine);
  return {
    backend: tf.getBackend(), compiledBackend: `${info?.backend ?? '?'}${engines.size > 0 ? ` (train step on ${[...engines].join(', ')})` : ''}`,
    eagerMsPerStep, compiledMsPerStep, speedup: eagerMsPerStep / compiledMsPerStep, steps: rounds * perRound,
  };
}

// ───────────────────────────── the command ─────────────────────────────

function parseArgs(argv: string[]): { epochs: number; limit: number | undefined; out: string; extras: boolean } {
  const a = { epochs: 25, limit: undefined as number | undefined, out: 'course_out', extras: true };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!, v = argv[i + 1];
    const num = () => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) { process.stderr.write(`${k} wants a positive whole number, got ${v ?? 'nothing'}\n`); process.exit(2); }
      i++;
      return n;
    };
    if (k === '--epochs') a.epochs = num();
    else if (k === '--limit') a.limit = num();
    else if (k === '--out') { if (!v) { process.stderr.write('--out wants a folder\n'); process.exit(2); } a.out = v; i++; }
    else if (k === '--skip-extras') a.extras = false;
    else if (k === '--help' || k === '-h') { process.stdout.write('npx tsx examples/fashion_course.ts [--epochs N] [--limit N] [--out DIR] [--skip-extras]\n'); process.exit(0); }
    else { process.stderr.write(`unknown argument ${k} (try --help)\n`); process.exit(2); }
  }
  return a;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const data = loadCourseData(args.limit === undefined ? {} : {
    limitTrain: args.limit, limitTest: Math.max(100, Math.floor(args.limit / 6)), valSize: args.limit < 10000 ? Math.floor(args.limit / 10) : 5000,
  });
  console.log(`Fashion-MNIST: ${data.train.count} training, ${data.val.count} validation, ${data.test.count} test images; standardised with mean ${data.mean.toFixed(4)}, std ${data.std.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  const timing = await timeSteps(data);
  console.log(`ms/step (batch 64, trainOnBatch, median of ${timing.steps} steps each, interleaved): eager on ${timing.backend} ${timing.eagerMsPerStep.toFixed(2)}, compiled on ${timing.compiledBackend} ${timing.compiledMsPerStep.toFixed(2)}: ${timing.speedup.toFixed(2)}× faster`);

  const run = await trainCourse(data, { epochs: args.epochs, out: args.out });
  const h = run.history.history;
  const best = run.stopper.bestEpoch;
  console.log(`trained ${run.history.epoch.length} epochs (${run.steps} steps) in ${run.trainSeconds.toFixed(1)} s (${(1000 * run.trainSeconds / run.steps).toFixed(2)} ms/step with the pipeline and validation)` +
    (run.stopper.stoppedEpoch >= 0 ? `; early stopping after epoch ${run.stopper.stoppedEpoch + 1}` : '') +
    `; restored epoch ${best + 1}'s weights (val_loss ${Number(h['val_loss']![best]).toFixed(4)}, val_acc ${Number(h['val_acc']![best]).toFixed(4)})`);
  console.log(`learning rates: ${run.schedule.rates.map((r) => r.toExponential(2)).join(' ')}`);
  console.log(`curves: ${run.files.csv}, ${run.files.svg}`);

  const modelJson = await saveLayersModel(run.model, path.join(args.out, 'course_mlp'));
  const cli = graphcExportCheck(modelJson, path.join(args.out, 'course_mlp.onnx'));
  console.log(`$ ${cli.command}\n${cli.stdout.trimEnd()}`);
  const check = await checkOnnx(run.model, data.test, path.join(args.out, 'course_mlp.onnx'));
  console.log(`test accuracy: tfjs ${(100 * check.tfjsAccuracy).toFixed(2)}%, ONNX Runtime ${(100 * check.ortAccuracy).toFixed(2)}% on ${data.test.count} images` +
    ` (${check.disagreements} predictions differ; max |Δ| of the probabilities ${check.maxAbsDiff.toExponential(2)}); wrote ${check.file} (${check.bytes} bytes)`);

  if (args.extras) {
    const extraEpochs = Math.min(3, args.epochs);
    const fn = await trainFunctional(data, { epochs: extraEpochs, out: args.out });
    console.log(`functional (image + brightness → class, top_ink): ${extraEpochs} epochs, test accuracy tfjs ${(100 * fn.tfjsAccuracy).toFixed(2)}%, ORT ${(100 * fn.ortAccuracy).toFixed(2)}%, max |Δ| class ${fn.maxAbsDiff[0]!.toExponential(2)}, top_ink ${fn.maxAbsDiff[1]!.toExponential(2)}; wrote ${fn.file}`);
    const sc = await trainSubclassed(data, { epochs: extraEpochs, out: args.out });
    console.log(`subclassed (GatedDense): ${extraEpochs} epochs, test accuracy tfjs ${(100 * sc.tfjsAccuracy).toFixed(2)}%, ORT ${(100 * sc.ortAccuracy).toFixed(2)}%, max |Δ| ${sc.maxAbsDiff[0]!.toExponential(2)}; saved and reloaded as ${sc.reloaded.layers.join(' → ')} (weights max |Δ| ${sc.reloaded.weightsMaxAbsDiff}); wrote ${sc.file}`);
  }
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
