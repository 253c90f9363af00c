/**
 * model.fit on Fashion-MNIST, eager tfjs vs gc.accelerate, side by side in one process:
 *
 *   Sequential (Flatten → Dense 300 relu → Dense 100 relu → Dense 10 softmax), Adam 1e-3,
 *   categorical cross-entropy + accuracy, batch 32 (tfjs's default), validation on the last 5000
 *   training images (validationData), shuffle off so that both see the same batches.
 *
 * Eager runs on tfjs's default backend (what a user gets without setBackend), the accelerated model
 * on graphc's default ('auto'); epochs alternate (eager epoch, accelerated epoch, …: one fit call
 * of one epoch each), so the machine's noise hits both. The accelerated first epoch includes its
 * traces. Also: eager on wasm (a tuned tfjs backend, one epoch) and the compiled train step alone
 * (f.sync on one batch in a loop), to show what the fit loop around the step costs.
 *
 *   npx tsx bench/accelerate.ts          ACCEL_N=60000 ACCEL_EPOCHS=2 ACCEL_BATCH=32 ACCEL_EAGER_WASM=1
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';
import { loadFashionMnist } from '../src/data/idx.js';

export interface AccelerateBenchResult {
  samples: number;
  batch: number;
  stepsPerEpoch: number;
  eagerBackend: string;
  accelBackend: string;
  epochs: { epoch: number; eagerMs: number; accelMs: number; eager: Record<string, number>; accel: Record<string, number> }[];
  /** Largest |Δ| between the eager and accelerated history values of the first epoch. */
  firstEpochMaxDiff: number;
  /** Median eager ms/epoch over the accelerated epochs after the first (the first includes tracing; with one epoch, the first). */
  speedup: number;
  eagerWasmMsPerEpoch?: number;
  /** The accelerated model's epoch with wasm as tfjs's backend, alternating with the eager wasm epochs (medians). */
  accelWasmMsPerEpoch?: number;
  /** The compiled train step alone, ms per step (no fit loop around it). */
  stepAloneMs: number;
  traceCount: number;
  /** Under backend 'auto': the engine each compiled step chose, and why (Session.engineChoices). */
  engines: string[];
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

function buildModel(): tfl.Sequential {
  return tfl.sequential({ layers: [
    tfl.layers.flatten({ inputShape: [28, 28] }),
    tfl.layers.dense({ units: 300, activation: 'relu' }),
    tfl.layers.dense({ units: 100, activation: 'relu' }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
}
const compileArgs = () => ({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['acc'] });

export async function runAccelerateBench(cfg: { n?: number; epochs?: number; batch?: number; eagerWasm?: boolean; onEpoch?: (row: AccelerateBenchResult['epochs'][number], stepsPerEpoch: number) => void } = {}): Promise<AccelerateBenchResult> {
  const n = cfg.n ?? Number(process.env.ACCEL_N ?? 60000);
  const epochs = cfg.epochs ?? Number(process.env.ACCEL_EPOCHS ?? 2);
  const batch = cfg.batch ?? Number(process.env.ACCEL_BATCH ?? 32);
  const eagerWasm = cfg.eagerWasm ?? process.env.ACCEL_EAGER_WASM !== '0';
  const { train } = loadFashionMnist();
  const nVal = Math.min(5000, Math.floor(n / 10)); // Keras's usual split: 5000 of 60000
  const nTrain = n - nVal;
  const x = tf.tensor3d(train.images.subarray(0, nTrain * 784), [nTrain, 28, 28]);
  const labels = tf.tensor1d(train.labels.subarray(0, n), 'int32');
  const yAll = tf.cast(tf.oneHot(labels, 10), 'float32');
  const y = tf.slice(yAll, 0, nTrain);
  const valX = tf.tensor3d(train.images.subarray(nTrain * 784, n * 784), [nVal, 28, 28]);
  const valY = tf.slice(yAll, nTrain, nVal);
  const fitArgs = { epochs: 1, batchSize: batch, shuffle: false, verbose: 0, validationData: [valX, valY] as [tf.Tensor, tf.Tensor] };

  const eager = buildModel();
  const accel = buildModel();
  accel.setWeights(eager.getWeights());
  const start = eager.getWeights().map((w) => w.clone());
  eager.compile(compileArgs());
  gc.accelerate(accel, compileArgs());

  const rows: AccelerateBenchResult['epochs'] = [];
  const last = (h: tfl.History) => Object.fromEntries(Object.entries(h.history).map(([k, v]) => [k, v[v.length - 1] as number]));
  for (let epoch = 0; epoch < epochs; epoch++) {
    let t = performance.now();
    const he = await eager.fit(x, y, fitArgs);
    const eagerMs = performance.now() - t;
    t = performance.now();
    const ha = await accel.fit(x, y, fitArgs);
    const accelMs = performance.now() - t;
    rows.push({ epoch, eagerMs, accelMs, eager: last(he), accel: last(ha) });
    cfg.onEpoch?.(rows[rows.length - 1]!, Math.ceil(nTrain / batch));
  }
  const first = rows[0]!;
  const firstEpochMaxDiff = Math.max(...Object.keys(first.eager).map((k) => Math.abs(first.eager[k]! - first.accel[k]!)));
  const steady = rows.length > 1 ? rows.slice(1) : rows;
  const speedup = median(steady.map((r) => r.eagerMs)) / median(steady.map((r) => r.accelMs));

  let eagerWasmMsPerEpoch: number | undefined, accelWasmMsPerEpoch: number | undefined;
  const wasmRounds = Number(process.env.ACCEL_WASM_ROUNDS ?? 3);
  const eagerBackend = tf.getBackend();
  if (eagerWasm) {
    await gc.ensureBackend('wasm');
    await tf.setBackend('wasm');
    const w = buildModel();
    w.setWeights(start);
    w.compile(compileArgs());
    // Eager and accelerated epochs alternate, both with wasm as tfjs's backend (the fit loop's own
    // tfjs work, slicing each batch, then runs on wasm for both: tfjs-cpu's gather took 1.8 ms of
    // each accelerated step above).
    const we: number[] = [], wa: number[] = [];
    for (let r = 0; r < wasmRounds; r++) {
      let t = performance.now();
      await w.fit(x, y, fitArgs);
      we.push(performance.now() - t);
      t = performance.now();
      await accel.fit(x, y, fitArgs);
      wa.push(performance.now() - t);
    }
    eagerWasmMsPerEpoch = median(we);
    accelWasmMsPerEpoch = median(wa);
    await tf.setBackend(eagerBackend);
  }

  // The compiled step alone: what the fit loop around it (batch gathering, callbacks, logs) adds.
  const info = gc.accelerated(accel)!;
  const trainFn = [...info.functions()].find(([k]) => k.startsWith('train '))![1];
  const xb = tf.slice(x, 0, batch), yb = tf.slice(y, 0, batch);
  for (let i = 0; i < 5; i++) tf.dispose(trainFn.sync(xb, yb));
  const reps = 100;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) { const r = trainFn.sync(xb, yb); await r[0]!.data(); tf.dispose(r); }
  const stepAloneMs = (performance.now() - t0) / reps;
  const engines: string[] = [];
  for (const [k, f] of info.functions()) for (const c of (await f.session()).engineChoices()) engines.push(`${k} at ${c.shapes}: ${c.engine} (${c.reason})`);

  const out: AccelerateBenchResult = {
    samples: nTrain,
    batch,
    stepsPerEpoch: Math.ceil(nTrain / batch),
    eagerBackend,
    accelBackend: info.backend ?? '?',
    epochs: rows,
    firstEpochMaxDiff,
    speedup,
    ...(eagerWasmMsPerEpoch !== undefined ? { eagerWasmMsPerEpoch, accelWasmMsPerEpoch: accelWasmMsPerEpoch! } : {}),
    stepAloneMs,
    traceCount: info.traceCount,
    engines,
  };
  tf.dispose([x, y, labels, yAll, valX, valY, xb, yb, ...start]);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/accelerate.ts') || process.argv[1]?.endsWith('bench/accelerate.js')) {
  console.log(`Fashion-MNIST model.fit, batch ${process.env.ACCEL_BATCH ?? 32}: eager tfjs on its default backend vs gc.accelerate on auto`);
  console.log('epoch  eager ms/epoch  accel ms/epoch  eager ms/step  accel ms/step  ratio   eager loss / val_loss         accel loss / val_loss');
  // Each row as its epochs end (a full-size eager epoch on tfjs-cpu takes minutes).
  const r = await runAccelerateBench({ onEpoch: (e, s) => {
    console.log(`${String(e.epoch).padStart(5)}  ${e.eagerMs.toFixed(0).padStart(14)}  ${e.accelMs.toFixed(0).padStart(14)}  ${(e.eagerMs / s).toFixed(2).padStart(13)}  ${(e.accelMs / s).toFixed(2).padStart(13)}  ${(e.eagerMs / e.accelMs).toFixed(1).padStart(5)}×  ${e.eager['loss']!.toFixed(6)} / ${e.eager['val_loss']!.toFixed(6)}   ${e.accel['loss']!.toFixed(6)} / ${e.accel['val_loss']!.toFixed(6)}`);
  } });
  console.log(`${r.samples} training images, ${r.stepsPerEpoch} steps/epoch, validation on ${Number(process.env.ACCEL_N ?? 60000) - r.samples}; eager on '${r.eagerBackend}', accelerated on '${r.accelBackend}'`);
  console.log(`first epoch: largest |Δ| of the history values (loss, acc, val_loss, val_acc) eager vs accelerated: ${r.firstEpochMaxDiff.toExponential(2)}`);
  console.log(`speedup per epoch (median of the epochs after the first, which traces): ${r.speedup.toFixed(2)}×`);
  if (r.eagerWasmMsPerEpoch !== undefined) {
    const accelSteady = median((r.epochs.length > 1 ? r.epochs.slice(1) : r.epochs).map((e) => e.accelMs));
    console.log(`eager on 'wasm' (setBackend): ${r.eagerWasmMsPerEpoch.toFixed(0)} ms/epoch, ${(r.eagerWasmMsPerEpoch / r.stepsPerEpoch).toFixed(2)} ms/step: accelerated (tfjs on 'cpu') ${(r.eagerWasmMsPerEpoch / accelSteady).toFixed(2)}× faster`);
    console.log(`both with tfjs on 'wasm', epochs alternating (medians of ${process.env.ACCEL_WASM_ROUNDS ?? 3}): eager ${r.eagerWasmMsPerEpoch.toFixed(0)} ms/epoch, accelerated ${r.accelWasmMsPerEpoch!.toFixed(0)} ms/epoch (${(r.accelWasmMsPerEpoch! / r.stepsPerEpoch).toFixed(2)} ms/step): ${(r.eagerWasmMsPerEpoch / r.accelWasmMsPerEpoch!).toFixed(2)}× faster`);
  }
  console.log(`the compiled train step alone: ${r.stepAloneMs.toFixed(2)} ms/step; traces: ${r.traceCount}`);
  if (r.engines.length > 0) console.log(`engines chosen under auto:\n${r.engines.map((e) => `  ${e}`).join('\n')}`);
  console.log(JSON.stringify({ accelerate: { eager_ms_epoch: median(r.epochs.map((e) => e.eagerMs)), accel_ms_epoch: median(r.epochs.map((e) => e.accelMs)), speedup: r.speedup, first_epoch_max_diff: r.firstEpochMaxDiff, eager_backend: r.eagerBackend, accel_backend: r.accelBackend, step_alone_ms: r.stepAloneMs } }));
}
