/**
 * The course's training loop, written as a new user writes it, run eagerly and compiled with
 * graphc's default options side by side in one process (interleaved epochs, medians):
 *
 *   Sequential (Flatten → Dense 300 relu → Dropout → Dense 100 relu → Dropout → Dense 10 softmax),
 *   categorical cross-entropy + L2 on the kernels, Adam with a per-epoch learning-rate decay
 *   (`opt.learningRate = lr0 · 0.8^epoch`), early stopping on the validation loss.
 *
 * No tf.setBackend and no `backend` option: eager runs on tfjs's default backend, the compiled
 * step on what `auto` picks; the data is made eagerly (where a user's data lives).
 *
 *   npx tsx bench/course_loop.ts            (or node dist/bench/course_loop.js after npm run build)
 *   COURSE_EPOCHS=4 COURSE_STEPS=40 COURSE_BATCH=64 COURSE_EAGER_BACKEND=wasm (default: tfjs's own)
 *
 * It also checks that the decay reaches the compiled step without a retrace: after the loop,
 * with the learning rate set to 0, a compiled step leaves every weight unchanged, and
 * `f.traceCount` is 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';
import { loadFashionMnist } from '../src/data/idx.js';

export interface CourseResult {
  eagerBackend: string;
  compiledBackend: string;
  eagerMsPerStep: number;
  compiledMsPerStep: number;
  speedup: number;
  traceCount: number;
  /** Largest weight change of a compiled step taken with learningRate = 0 (0 = the decay reaches the graph). */
  zeroLrMaxChange: number;
  /** Largest weight change of a compiled step with the learning rate restored (> 0). */
  restoredLrMaxChange: number;
  epochs: { epoch: number; lr: number; eagerVal: number; compiledVal: number; eagerMs: number; compiledMs: number }[];
  stoppedEarly: { eager: number | null; compiled: number | null };
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

function data(n: number): { x: Float32Array; y: Int32Array; real: boolean } {
  try {
    const { train } = loadFashionMnist();
    // loadFashionMnist already scales the pixels to [0, 1].
    const x = train.images.slice(0, n * 784);
    return { x, y: Int32Array.from(train.labels.subarray(0, n)), real: true };
  } catch {
    // A labelled synthetic stand-in (the timing does not depend on the values).
    const x = new Float32Array(n * 784), y = new Int32Array(n);
    let s = 7;
    for (let i = 0; i < x.length; i++) { s = (s * 1103515245 + 12345) >>> 0; x[i] = (s >>> 8) / 16777216; }
    for (let i = 0; i < n; i++) y[i] = i % 10;
    return { x, y, real: false };
  }
}

function makeLearner() {
  const model = tfl.sequential({ layers: [
    tfl.layers.flatten({ inputShape: [28, 28] }),
    tfl.layers.dense({ units: 300, activation: 'relu' }),
    tfl.layers.dropout({ rate: 0.2 }),
    tfl.layers.dense({ units: 100, activation: 'relu' }),
    tfl.layers.dropout({ rate: 0.2 }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
  const opt = tf.train.adam(1e-3);
  const l2 = 1e-4;
  const kernels = () => model.trainableWeights.filter((w) => w.name.includes('kernel')).map((w) => w.read());
  const loss = (x: tf.Tensor, labels: tf.Tensor, training: boolean) => {
    const probs = model.apply(x, { training }) as tf.Tensor;
    const ce = tf.mean(tfl.metrics.categoricalCrossentropy(tf.oneHot(labels as tf.Tensor1D, 10), probs));
    return tf.add(ce, tf.mul(l2, tf.addN(kernels().map((k) => tf.sum(tf.square(k)))))) as tf.Scalar;
  };
  const step = (x: tf.Tensor, labels: tf.Tensor) => opt.minimize(() => loss(x, labels, true), true)!;
  const val = (x: tf.Tensor, labels: tf.Tensor) => loss(x, labels, false);
  return { model, opt, step, val };
}

export async function runCourseLoop(cfg: { epochs?: number; steps?: number; batch?: number } = {}): Promise<CourseResult> {
  const epochs = cfg.epochs ?? Number(process.env.COURSE_EPOCHS ?? 4);
  const steps = cfg.steps ?? Number(process.env.COURSE_STEPS ?? 40);
  const batch = cfg.batch ?? Number(process.env.COURSE_BATCH ?? 64);
  const lr0 = 1e-3, decay = 0.8, patience = 2;
  // COURSE_EAGER_BACKEND=wasm: eager on a named backend instead of tfjs's default (a fairer baseline).
  const eagerOn = process.env.COURSE_EAGER_BACKEND;
  if (eagerOn) { await gc.ensureBackend(eagerOn as Parameters<typeof gc.ensureBackend>[0]); await tf.setBackend(eagerOn); }
  const n = (steps + 2) * batch;
  const d = data(n);
  // The user's data: eager tensors on tfjs's default backend.
  const batches = Array.from({ length: steps }, (_, s) => ({
    x: tf.tensor3d(d.x.subarray(s * batch * 784, (s + 1) * batch * 784), [batch, 28, 28]),
    y: tf.tensor1d(d.y.subarray(s * batch, (s + 1) * batch), 'int32'),
  }));
  const valX = tf.tensor3d(d.x.subarray(steps * batch * 784, n * 784), [2 * batch, 28, 28]);
  const valY = tf.tensor1d(d.y.subarray(steps * batch, n), 'int32');

  const eager = makeLearner();
  const compiled = makeLearner();
  const cStep = gc.compile(compiled.step);
  const cVal = gc.compile(compiled.val);
  const eagerMs: number[] = [], compiledMs: number[] = [];
  const res: CourseResult['epochs'] = [];
  const best = { eager: Infinity, compiled: Infinity }, bad = { eager: 0, compiled: 0 };
  const stopped: CourseResult['stoppedEarly'] = { eager: null, compiled: null };

  // Warm-up (tracing, backend init, first-call costs) is not timed: one step each.
  (await cStep(batches[0]!.x, batches[0]!.y) as tf.Tensor).dispose();
  tf.tidy(() => eager.step(batches[0]!.x, batches[0]!.y)).dataSync();

  for (let epoch = 0; epoch < epochs; epoch++) {
    const lr = lr0 * decay ** epoch;
    eager.opt['learningRate'] = lr; // protected in tfjs's typings; bracket access is how TS users reach it
    compiled.opt['learningRate'] = lr;
    // Interleaved: eager epoch, then compiled epoch (the machine's noise hits both).
    let t = performance.now();
    for (const b of batches) {
      const l = tf.tidy(() => eager.step(b.x, b.y));
      await l.data();
      l.dispose();
    }
    const eMs = (performance.now() - t) / steps;
    t = performance.now();
    for (const b of batches) {
      const l = await cStep(b.x, b.y) as tf.Tensor;
      await l.data();
      l.dispose();
    }
    const cMs = (performance.now() - t) / steps;
    eagerMs.push(eMs); compiledMs.push(cMs);
    const ev = tf.tidy(() => eager.val(valX, valY)).dataSync()[0]!;
    const cvT = await cVal(valX, valY) as tf.Tensor;
    const cv = cvT.dataSync()[0]!;
    cvT.dispose();
    res.push({ epoch, lr, eagerVal: ev, compiledVal: cv, eagerMs: eMs, compiledMs: cMs });
    // Early stopping, patience 2 (recorded; both keep running so that the timings stay comparable).
    for (const [k, v] of [['eager', ev], ['compiled', cv]] as const) {
      if (v < best[k] - 1e-4) { best[k] = v; bad[k] = 0; } else if (++bad[k] >= patience && stopped[k] === null) stopped[k] = epoch;
    }
  }

  // The decay reaches the compiled step: learning rate 0 → no weight moves; restored → they move.
  const snapshot = () => compiled.model.trainableWeights.map((w) => w.read().dataSync().slice());
  const maxChange = (a: ArrayLike<number>[], b: ArrayLike<number>[]) => {
    let m = 0;
    a.forEach((x, i) => { for (let j = 0; j < x.length; j++) m = Math.max(m, Math.abs(x[j]! - b[i]![j]!)); });
    return m;
  };
  compiled.opt['learningRate'] = 0;
  const w0 = snapshot();
  (await cStep(batches[1]!.x, batches[1]!.y) as tf.Tensor).dispose();
  const w1 = snapshot();
  compiled.opt['learningRate'] = lr0;
  (await cStep(batches[1]!.x, batches[1]!.y) as tf.Tensor).dispose();
  const w2 = snapshot();

  const s = await cStep.session();
  const out: CourseResult = {
    eagerBackend: tf.getBackend(),
    compiledBackend: s.backend.name,
    eagerMsPerStep: median(eagerMs),
    compiledMsPerStep: median(compiledMs),
    speedup: median(eagerMs) / median(compiledMs),
    traceCount: cStep.traceCount,
    zeroLrMaxChange: maxChange(w0, w1),
    restoredLrMaxChange: maxChange(w1, w2),
    epochs: res,
    stoppedEarly: stopped,
  };
  cStep.dispose(); cVal.dispose();
  for (const b of batches) { b.x.dispose(); b.y.dispose(); }
  valX.dispose(); valY.dispose();
  if (!d.real) console.log('(Fashion-MNIST not installed: a synthetic stand-in; timings are the same, losses are not comparable)');
  return out;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('course_loop.ts') || process.argv[1]?.endsWith('course_loop.js')) {
  const r = await runCourseLoop();
  console.log(`eager on '${r.eagerBackend}' (tfjs's default) vs compiled with default options (auto → '${r.compiledBackend}')`);
  console.log('epoch  lr         eager val  compiled val  eager ms/step  compiled ms/step');
  for (const e of r.epochs) {
    console.log(`${String(e.epoch).padStart(5)}  ${e.lr.toExponential(2)}  ${e.eagerVal.toFixed(4).padStart(9)}  ${e.compiledVal.toFixed(4).padStart(12)}  ${e.eagerMs.toFixed(2).padStart(13)}  ${e.compiledMs.toFixed(2).padStart(16)}`);
  }
  console.log(`median ms/step: eager ${r.eagerMsPerStep.toFixed(2)}, compiled ${r.compiledMsPerStep.toFixed(2)}: ${r.speedup.toFixed(2)}× faster`);
  console.log(`early stopping (patience 2) would stop at epoch: eager ${r.stoppedEarly.eager ?? '—'}, compiled ${r.stoppedEarly.compiled ?? '—'}`);
  console.log(`decay without recompiling: traceCount ${r.traceCount}; a step at learning rate 0 moved weights by ${r.zeroLrMaxChange}, at ${1e-3} by ${r.restoredLrMaxChange.toExponential(2)}`);
  console.log(JSON.stringify({ course_loop: { eager_ms: r.eagerMsPerStep, compiled_ms: r.compiledMsPerStep, speedup: r.speedup, eager_backend: r.eagerBackend, compiled_backend: r.compiledBackend, trace_count: r.traceCount } }));
}
