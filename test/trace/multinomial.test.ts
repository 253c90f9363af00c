/**
 * tf.multinomial traced as tfjs's cpu kernel draws: a seed the user gives draws the same samples
 * as eager tfjs-cpu on every engine (generated logits, normalized or not, symbolic batch, one
 * event per row); an unseeded draw gives fresh samples on every call with the probabilities'
 * frequencies; both export to ONNX and run in ONNX Runtime.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import seedrandom from 'seedrandom';
import * as gc from 'graphc';
import { eagerOnCpuWithWasm, lcg } from './support.js';

eagerOnCpuWithWasm();


describe('multinomial traced', () => {
  it('property: seeded draws equal eager tfjs-cpu exactly on cpu, wasm, onnxruntime and auto, symbolic batch', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 12 }),
      fc.constantFrom('logits', 'normalized', 'weights', 'peaked', 'rank1'), fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 1e6 }),
      async (rows0, k0, n, kind, dataSeed, seed) => {
        const rank1 = kind === 'rank1';
        const rows = rank1 ? 1 : rows0;
        // tfjs needs at least two outcomes in all.
        const k = rows * k0 < 2 ? 2 : k0;
        const r = lcg(dataSeed);
        let data = Float32Array.from({ length: rows * k }, () => r() * 6 - 3);
        if (kind === 'peaked') data = data.map((v, i) => (i % k === 1 ? 40 : v));
        if (kind === 'normalized' || kind === 'weights') {
          // Probabilities as given: rows that sum to 1, or to anything (zeros among them).
          data = data.map((v) => (v < -2 ? 0 : Math.exp(v)));
          if (kind === 'normalized') {
            for (let b = 0; b < rows; b++) {
              let s = 0;
              for (let j = 0; j < k; j++) s += data[b * k + j]!;
              for (let j = 0; j < k; j++) data[b * k + j] = s > 0 ? data[b * k + j]! / s : 1 / k;
            }
          }
        }
        const normalized = kind === 'normalized' || kind === 'weights';
        const shape: number[] = rank1 ? [k] : [rows, k];
        await tf.setBackend('cpu');
        const want = Array.from(tf.multinomial(tf.tensor(data, shape) as unknown as tf.Tensor2D, n, seed, normalized).dataSync());
        for (const backend of ['cpu', 'wasm', 'onnxruntime', 'auto'] as const) {
          const f = gc.compile((x: tf.Tensor) => tf.multinomial(x as tf.Tensor2D, n, seed, normalized),
            { inputs: [gc.spec(rank1 ? [k] : ['batch', k] as (number | string)[])], backend });
          const where = `${backend} ${kind} rows ${rows} k ${k} n ${n} seed ${seed}`;
          for (let call = 0; call < 2; call++) {
            const got = (await f(tf.tensor(data, shape))) as tf.Tensor;
            expect(got.dtype, where).toBe('int32');
            expect(got.shape, where).toEqual(rank1 ? [n] : [rows, n]);
            expect(Array.from(got.dataSync()), where).toEqual(want);
          }
          f.dispose();
        }
      }), { numRuns: 40, seed: 11 });
  });

  it('a draw that rounds up to a float32 running sum is compared as tfjs compares it (float64 < float32)', async () => {
    // The first draw r of some seed lies just below a float32 c (fround(r) = c > r): tfjs's
    // r < c picks event 0; comparing fround(r) < c would pick event 1.
    let seed = 1;
    let c = 0;
    for (; seed < 1000; seed++) {
      const u = seedrandom.alea(String(seed))();
      if (Math.fround(u) > u) { c = Math.fround(u); break; }
    }
    expect(c).toBeGreaterThan(0);
    const probs = tf.tensor2d([[c, 1 - c]]);
    const want = Array.from(tf.multinomial(probs, 1, seed, true).dataSync());
    expect(want).toEqual([0]);
    for (const backend of ['cpu', 'wasm', 'onnxruntime'] as const) {
      const f = gc.compile((p: tf.Tensor) => tf.multinomial(p as tf.Tensor2D, 1, seed, true), { backend });
      expect(Array.from(((await f(probs)) as tf.Tensor).dataSync()), backend).toEqual(want);
    }
  });

  it('unseeded: fresh samples each call, with the probabilities\' frequencies, on every engine; every row takes the same draws, as in tfjs', async () => {
    const logits = tf.tensor2d([[0, 1, 2, -1, 0.5], [0, 1, 2, -1, 0.5], [3, 0, 0, 0, 0]]);
    const p = tf.softmax(logits).arraySync() as number[][];
    const n = 4000;
    for (const backend of ['cpu', 'wasm', 'onnxruntime', 'auto'] as const) {
      const f = gc.compile((x: tf.Tensor) => tf.multinomial(x as tf.Tensor2D, n), { inputs: [gc.spec(['batch', 5])], backend });
      const a = ((await f(logits)) as tf.Tensor).arraySync() as number[][];
      const b = ((await f(logits)) as tf.Tensor).arraySync() as number[][];
      expect(a, backend).not.toEqual(b);
      // tfjs restarts its generator per row: equal rows give equal samples (eager tfjs too).
      expect(a[0], backend).toEqual(a[1]);
      for (const row of [0, 2]) {
        const freq = [0, 0, 0, 0, 0];
        for (const v of a[row]!) freq[v]!++;
        // 4000 draws: a standard error of at most 0.008 per frequency; 5 of them.
        freq.forEach((c, j) => expect(Math.abs(c / n - p[row]![j]!), `${backend} row ${row} event ${j}`).toBeLessThan(0.04));
      }
      f.dispose();
    }
    const eager = tf.multinomial(logits, 50).arraySync() as number[][];
    expect(eager[0]).toEqual(eager[1]);
  });

  it('exports to ONNX: seeded samples as eager in ONNX Runtime, unseeded ones drawn there fresh', async () => {
    const data = Float32Array.from({ length: 3 * 6 }, (_, i) => Math.sin(i * 1.7) * 2);
    const want = Array.from(tf.multinomial(tf.tensor2d(data, [3, 6]), 8, 7).dataSync());
    const seeded = gc.compile((x: tf.Tensor) => tf.multinomial(x as tf.Tensor2D, 8, 7), { inputs: [gc.spec(['batch', 6], 'float32', 'logits')] });
    const s = await ort.InferenceSession.create(seeded.toOnnx());
    const out = await s.run({ logits: new ort.Tensor('float32', data, [3, 6]) });
    expect(Array.from(out[s.outputNames[0]!]!.data as ArrayLike<number | bigint>, Number)).toEqual(want);

    const fresh = gc.compile((x: tf.Tensor) => tf.multinomial(x as tf.Tensor2D, 200), { inputs: [gc.spec(['batch', 6], 'float32', 'logits')] });
    const u = await ort.InferenceSession.create(fresh.toOnnx());
    const feeds = { logits: new ort.Tensor('float32', data, [3, 6]) };
    const o1 = Array.from((await u.run(feeds))[u.outputNames[0]!]!.data as ArrayLike<number | bigint>, Number);
    const o2 = Array.from((await u.run(feeds))[u.outputNames[0]!]!.data as ArrayLike<number | bigint>, Number);
    expect(o1).toHaveLength(600);
    expect(o1.every((v) => Number.isInteger(v) && v >= 0 && v < 6)).toBe(true);
    expect(o1).not.toEqual(o2);
  });

  it('a symbolic number of events: one graph for every k, a single event included, as eager on every engine', async () => {
    for (const backend of ['cpu', 'wasm', 'onnxruntime'] as const) {
      const f = gc.compile((x: tf.Tensor) => tf.multinomial(x as tf.Tensor2D, 6, 3), { inputs: [gc.spec(['batch', 'k'])], backend });
      for (const [b, k] of [[2, 1], [1, 2], [3, 5], [2, 17]] as const) {
        const data = Float32Array.from({ length: b * k }, (_, i) => Math.cos(i * 2.3));
        const want = Array.from(tf.multinomial(tf.tensor2d(data, [b, k]), 6, 3).dataSync());
        const got = (await f(tf.tensor2d(data, [b, k]))) as tf.Tensor;
        expect(Array.from(got.dataSync()), `${backend} b ${b} k ${k}`).toEqual(want);
      }
      expect(f.traceCount, backend).toBe(1);
      f.dispose();
    }
  });
});
