/**
 * Backend 'auto' with onnxruntime-node installed: each plan and feed shapes is measured on the
 * tfjs engine auto picked and on ONNX Runtime, then runs on the faster; the choice and its
 * reason are visible, results are the same either way, and plans ORT must not take stay on tfjs.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

async function call(f: gc.CompiledFunction<unknown>, ...args: tf.Tensor[]): Promise<number[]> {
  const y = (await f(...args)) as tf.Tensor;
  const v = Array.from(await y.data());
  y.dispose();
  return v;
}

describe("backend 'auto' measures onnxruntime per plan and shapes", () => {
  it('records a choice per feed shapes within 52 runs, with timings in the reason, and every run equals eager', async () => {
    await tf.setBackend('cpu');
    const w = tf.variable(tf.randomNormal([32, 16], 0, 1, 'float32', 3));
    const f = gc.compile((x: tf.Tensor) => tf.relu(tf.matMul(x, w)), { inputs: [gc.spec(['n', 32])] });
    for (const n of [1, 200]) {
      const x = tf.randomNormal([n, 32], 0, 1, 'float32', n);
      const want = Array.from(await tf.relu(tf.matMul(x, w)).data());
      for (let i = 0; i < 52; i++) {
        const got = await call(f, x);
        let worst = 0;
        got.forEach((g, k) => { worst = Math.max(worst, Math.abs(g - want[k]!)); });
        expect(worst).toBeLessThan(1e-4);
      }
    }
    const s = await f.session();
    expect(s.backend.reason).toMatch(/measured per plan against onnxruntime \(cpu\)/);
    const choices = s.engineChoices();
    expect(choices.map((c) => c.shapes)).toEqual(['1x32;', '200x32;']);
    for (const c of choices) {
      expect(['onnxruntime', s.backend.name]).toContain(c.engine);
      const [, a, b, n] = /^measured: \w+ (\d+\.\d+) ms, onnxruntime \(cpu\) (\d+\.\d+) ms \(fastest of (\d+) runs each\)$/.exec(c.reason)!;
      // The engine named is the one whose best run was faster; fewer than 4 runs only for a clear
      // winner (2×); more than 4 (up to 12) only for a near tie (1.3×) on a cheap plan (under 2 ms).
      expect(c.engine === 'onnxruntime').toBe(Number(b) < Number(a));
      expect(Number(n)).toBeGreaterThanOrEqual(2);
      expect(Number(n)).toBeLessThanOrEqual(12);
      if (Number(n) < 4) expect(Math.max(Number(a), Number(b))).toBeGreaterThanOrEqual(2 * Math.min(Number(a), Number(b)));
      if (Number(n) === 4 && Math.max(Number(a), Number(b)) < 2) expect(Math.max(Number(a), Number(b))).toBeGreaterThanOrEqual(1.3 * Math.min(Number(a), Number(b)) - 0.0015);
    }
    // The plan's ORT session is released once the tfjs engine won every shape measured, kept otherwise.
    const ortEngine = (s as unknown as { ort: { sessionCount: number } }).ort;
    expect(ortEngine.sessionCount).toBe(choices.every((c) => c.engine !== 'onnxruntime') ? 0 : 1);
    f.dispose();
    w.dispose();
  });

  it('keeps a seeded random plan on the tfjs engine (reproducible draws), and a plan with a variable update equal to eager', async () => {
    await tf.setBackend('cpu');
    const g = gc.trace((x: tf.Tensor) => tf.add(x, tf.randomUniform([8])), [gc.spec([8])]);
    const a = await gc.Session.create(g, { seed: 3 }), b = await gc.Session.create(g, { seed: 3 });
    const out = g.outputs[0]!.name, feed = { [g.inputs[0]!.name!]: tf.zeros([8]) };
    for (let i = 0; i < 12; i++) {
      const [p, q] = [(await a.run(out, feed)) as tf.Tensor, (await b.run(out, feed)) as tf.Tensor];
      expect(Array.from(await p.data())).toEqual(Array.from(await q.data()));
    }
    expect(a.engineChoices()).toEqual([]);
    // Any plan of a seeded session stays on the tfjs engine (exact repeats), also one without random ops.
    const plain = gc.trace((x: tf.Tensor) => tf.relu(tf.matMul(x, tf.ones([64, 64]))), [gc.spec([256, 64])]);
    const ps = await gc.Session.create(plain, { seed: 3 });
    const px = { [plain.inputs[0]!.name!]: tf.ones([256, 64]) };
    for (let i = 0; i < 24; i++) ((await ps.run(plain.outputs[0]!.name, px)) as tf.Tensor).dispose();
    expect(ps.engineChoices()).toEqual([]);
    expect(ps.engineTrials()).toEqual([]);
    ps.dispose();
    // A plan that only ever runs on tfjs (two shapes, each a clear win for the tfjs engine here) has no ORT session left.
    const tiny = gc.compile((x: tf.Tensor) => tf.add(x, 1), { inputs: [gc.spec(['n'])] });
    for (const n of [1, 2]) for (let i = 0; i < 52; i++) await call(tiny, tf.ones([n]));
    const ts = await tiny.session();
    const won = ts.engineChoices();
    expect(won.map((c) => c.shapes)).toEqual(['1;', '2;']);
    expect((ts as unknown as { ort: { sessionCount: number } }).ort.sessionCount).toBe(won.every((c) => c.engine !== 'onnxruntime') ? 0 : 1);
    tiny.dispose();
    a.dispose(); b.dispose();

    const v = tf.variable(tf.zeros([4]));
    const step = gc.compile((x: tf.Tensor) => { v.assign(tf.add(v, x)); return tf.sum(v); }, { inputs: [gc.spec([4])] });
    const x = tf.tensor1d([1, 2, 3, 4]);
    for (let i = 1; i <= 12; i++) expect(await call(step, x)).toEqual([10 * i]);
    expect(Array.from(await v.data())).toEqual([12, 24, 36, 48]);
    step.dispose();
    v.dispose();
  });

  it('f.sync measures ONNX Runtime for a plan without assignments (its native binding runs synchronously); a training step stays on the tfjs engine, equal to one compiled on wasm alone', async () => {
    const { ortRunsSynchronously } = await import('../../../runtime/backends/onnxruntime.js');
    if (!ortRunsSynchronously()) {
      console.log('skipped: onnxruntime-node\'s native binding is not where 1.20–1.30 keep it, so f.sync runs on the tfjs engine only');
      return;
    }
    await gc.ensureBackend('wasm');
    await tf.setBackend('wasm');
    try {
      const r = (seed: number, shape: number[]) => tf.randomNormal(shape, 0, 0.3, 'float32', seed);
      const make = (backend?: 'wasm') => {
        const [w1, w2] = [tf.variable(r(1, [256, 256])), tf.variable(r(2, [256, 10]))];
        const opt = tf.train.adam(0.01);
        const logits = (x: tf.Tensor) => tf.matMul(tf.relu(tf.matMul(x, w1)), w2);
        const opts = { inputs: [gc.spec(['b', 256]), gc.spec(['b', 10])], ...(backend ? { backend } : {}) };
        const step = gc.compile((x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, logits(x)) as tf.Scalar, true)!, opts);
        const predict = gc.compile((x: tf.Tensor) => tf.softmax(logits(x)), { inputs: [gc.spec(['b', 256])], ...(backend ? { backend } : {}) });
        return { w: [w1, w2], opt, step, predict };
      };
      const auto = make(), ref = make('wasm');
      for (const m of [auto, ref]) { await m.step.ready(); await m.predict.ready(); }
      const x = r(3, [64, 256]), y = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), 'int32'), 10).toFloat();
      let worst = 0;
      for (let i = 0; i < 60; i++) {
        const [a, b] = [auto.step.sync(x, y) as tf.Tensor, ref.step.sync(x, y) as tf.Tensor];
        worst = Math.max(worst, Math.abs(a.dataSync()[0]! - b.dataSync()[0]!));
        tf.dispose([a, b]);
        const [p, q] = [auto.predict.sync(x) as tf.Tensor, ref.predict.sync(x) as tf.Tensor];
        const [pv, qv] = [p.dataSync(), q.dataSync()];
        pv.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - qv[j]!)); });
        tf.dispose([p, q]);
      }
      expect(worst).toBeLessThan(1e-4);
      // The training step: no measurement from f.sync (runtime/session.ts executeSync says why).
      const ss = await auto.step.session();
      expect(ss.engineChoices()).toEqual([]);
      expect(ss.engineTrials()).toEqual([]);
      // The prediction: measured and decided.
      const ps = await auto.predict.session();
      expect(ps.engineTrials()).toEqual([]);
      const [c] = ps.engineChoices();
      expect(c!.reason).toMatch(/^measured: wasm \d+\.\d+ ms, onnxruntime \(cpu\) \d+\.\d+ ms/);
      for (let k = 0; k < 2; k++) {
        const [p, q] = [auto.w[k]!.dataSync(), ref.w[k]!.dataSync()];
        let d = 0;
        p.forEach((v, j) => { d = Math.max(d, Math.abs(v - q[j]!)); });
        expect(d).toBeLessThan(1e-4);
      }
      for (const m of [auto, ref]) { m.step.dispose(); m.predict.dispose(); tf.dispose(m.w); m.opt.dispose(); }
      tf.dispose([x, y]);
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('a training step measured run for run (awaited calls: two on wasm, two on ONNX Runtime, ...) follows the trajectory of one engine: variables handed between engines lose and repeat nothing', async () => {
    // tanh, not ReLU: with a kink, a value within rounding of 0 takes another branch on the
    // other engine and training carries that on (test/accelerate.test.ts says how often); with a
    // smooth network the two trajectories stay within rounding, so a lost, repeated or stale
    // update (about lr = 0.01 on every weight) would stand out.
    await gc.ensureBackend('wasm');
    await tf.setBackend('wasm');
    try {
      const r = (seed: number, shape: number[]) => tf.randomNormal(shape, 0, 0.3, 'float32', seed);
      const make = (backend?: 'wasm') => {
        const w = [tf.variable(r(1, [128, 64])), tf.variable(tf.zeros([64])), tf.variable(r(2, [64, 10]))];
        const opt = tf.train.adam(0.01);
        const logits = (x: tf.Tensor) => tf.matMul(tf.tanh(tf.add(tf.matMul(x, w[0]!), w[1]!)), w[2]!);
        const step = gc.compile((x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, logits(x)) as tf.Scalar, true)!,
          { inputs: [gc.spec(['b', 128]), gc.spec(['b', 10])], ...(backend ? { backend } : {}) });
        return { w, opt, step };
      };
      const auto = make(), ref = make('wasm');
      let worst = 0;
      // 80 batches of 64: enough for auto to decide even a near tie (runs/session.ts: AUTO_MAX_TRIALS).
      for (let i = 0; i < 100; i++) {
        const n = i % 5 === 4 ? 16 : 64;
        const x = r(100 + i, [n, 128]), y = tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, k) => (k * 7 + i) % 10), 'int32'), 10).toFloat();
        const [a, b] = [await call(auto.step, x, y), await call(ref.step, x, y)];
        worst = Math.max(worst, Math.abs(a[0]! - b[0]!));
        tf.dispose([x, y]);
      }
      expect(worst).toBeLessThan(1e-5);
      let dw = 0;
      for (let k = 0; k < 3; k++) {
        const [p, q] = [await auto.w[k]!.data(), await ref.w[k]!.data()];
        p.forEach((v, j) => { dw = Math.max(dw, Math.abs(v - q[j]!)); });
      }
      expect(dw).toBeLessThan(1e-5);
      // The batch of 64 was measured on both engines (at least two timed runs each after two warm-ups each), then decided.
      const c = (await auto.step.session()).engineChoices().find((e) => e.shapes.startsWith('64x'));
      expect(c?.reason).toMatch(/^measured: wasm \d+\.\d+ ms, onnxruntime \(cpu\) \d+\.\d+ ms \(fastest of \d+ runs each\)/);
      for (const m of [auto, ref]) { m.step.dispose(); tf.dispose(m.w); m.opt.dispose(); }
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('a plan the tfjs backend lacks a kernel for (tfjs-wasm has no Conv2DBackpropFilter) runs on ONNX Runtime, await f and f.sync alike, equal to the cpu backend', async () => {
    await gc.ensureBackend('wasm');
    await tf.setBackend('wasm');
    try {
      const make = (backend?: 'cpu') => {
        const k = tf.variable(tf.randomNormal([3, 3, 2, 4], 0, 0.3, 'float32', 5));
        const opt = tf.train.sgd(0.1);
        const step = gc.compile((x: tf.Tensor4D) => opt.minimize(() => tf.mean(tf.square(tf.conv2d(x, k as tf.Tensor4D, 1, 'same'))) as tf.Scalar, true)!,
          { inputs: [gc.spec(['b', 8, 8, 2])], ...(backend ? { backend } : {}) });
        return { k, opt, step };
      };
      const auto = make(), ref = make('cpu');
      const x = tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 6) as tf.Tensor4D;
      await auto.step.ready();
      for (let i = 0; i < 6; i++) {
        // Awaited calls first, then synchronous ones: both reach ONNX Runtime.
        const a = (i < 3 ? await auto.step(x) : auto.step.sync(x)) as tf.Tensor, b = (await ref.step(x)) as tf.Tensor;
        expect(Math.abs(a.dataSync()[0]! - b.dataSync()[0]!)).toBeLessThan(1e-5);
        tf.dispose([a, b]);
      }
      const [p, q] = [auto.k.dataSync(), ref.k.dataSync()];
      p.forEach((v, j) => expect(Math.abs(v - q[j]!)).toBeLessThan(1e-5));
      const choices = (await auto.step.session()).engineChoices();
      expect(choices.map((c) => c.engine)).toEqual(['onnxruntime']);
      expect(choices[0]!.reason).toMatch(/^wasm cannot run it: .*Conv2DBackpropFilter' not registered for backend 'wasm'/);
      for (const m of [auto, ref]) { m.step.dispose(); m.k.dispose(); m.opt.dispose(); }
      x.dispose();
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('a training step ORT runs leaves its variables where ORT\'s results are (tfjs-cpu), not moved into the wasm heap on each step', async () => {
    await gc.ensureBackend('wasm');
    await tf.setBackend('wasm');
    try {
      const r = (seed: number, shape: number[]) => tf.randomNormal(shape, 0, 0.3, 'float32', seed);
      const [w1, w2] = [tf.variable(r(1, [256, 256])), tf.variable(r(2, [256, 10]))];
      const opt = tf.train.adam(0.01);
      const step = gc.compile((x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.relu(tf.matMul(x, w1)), w2)) as tf.Scalar, true)!,
        { inputs: [gc.spec(['b', 256]), gc.spec(['b', 10])] });
      const x = r(3, [64, 256]), y = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), 'int32'), 10).toFloat();
      const s = await step.session();
      for (let i = 0; i < 52 && s.engineChoices().length === 0; i++) (await step(x, y) as tf.Tensor).dispose();
      for (let i = 0; i < 4; i++) (await step(x, y) as tf.Tensor).dispose();
      const chose = s.engineChoices()[0]!.engine;
      const holder = (t: tf.Tensor) => (tf.engine() as unknown as { state: { tensorInfo: { get(id: object): { backend: unknown } } } }).state.tensorInfo.get(t.dataId).backend;
      expect(holder(w1)).toBe(tf.findBackend(chose === 'onnxruntime' ? 'cpu' : 'wasm'));
      step.dispose();
      tf.dispose([w1, w2, x, y]);
      opt.dispose();
    } finally {
      await tf.setBackend('cpu');
    }
  });
});
