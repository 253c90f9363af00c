/**
 * tf.topk traced (ranks by pairwise comparison, ties to the lower index as tfjs orders them):
 * generated shapes, k and values with ties, compiled on cpu and wasm, equal eager tfjs-cpu,
 * values and indices; exported to ONNX, ONNX Runtime gives the same; sorted = false and an axis
 * above 4096 are refused with the reason.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import * as gc from 'graphc';
import { ensureBackend } from '../../runtime/backends/select.js';

beforeAll(async () => {
  await ensureBackend('wasm');
  await tf.setBackend('cpu');
});

describe('topk traced', () => {
  it('property: values and indices equal eager tfjs-cpu on cpu and wasm, ties included, symbolic batch', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 9 }), fc.boolean(), fc.integer({ min: 1, max: 1e6 }),
      async (rows, n, k0, ties, seed) => {
        const k = Math.min(k0, n);
        let s = seed;
        const r = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
        // With ties: values from a few levels, so equal values are common.
        const data = Float32Array.from({ length: rows * n }, () => (ties ? Math.floor(r() * 3) - 1 : r() * 2 - 1));
        await tf.setBackend('cpu');
        const x = tf.tensor2d(data, [rows, n]);
        const want = tf.topk(x, k);
        const wv = Array.from(want.values.dataSync()), wi = Array.from(want.indices.dataSync());
        for (const backend of ['cpu', 'wasm'] as const) {
          await tf.setBackend(backend);
          const f = gc.compile((x: tf.Tensor) => { const t = tf.topk(x, k); return [t.values, t.indices]; }, { inputs: [gc.spec(['batch', n])], backend });
          const [v, i] = (await f(tf.tensor2d(data, [rows, n]))) as unknown as tf.Tensor[];
          const where = `${backend} rows ${rows} n ${n} k ${k} data ${Array.from(data)}`;
          expect(Array.from(v!.dataSync()), where).toEqual(wv);
          expect(i!.dtype).toBe('int32');
          expect(Array.from(i!.dataSync()), where).toEqual(wi);
          f.dispose();
        }
        await tf.setBackend('cpu');
      }), { numRuns: 60, seed: 5 });
  });

  it('top-5 of 1000 class scores through ONNX Runtime: the same values and indices', async () => {
    const scores = Float32Array.from({ length: 2 * 1000 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
    const f = gc.compile((x: tf.Tensor) => { const t = tf.topk(x, 5); return [t.values, t.indices]; }, { inputs: [gc.spec(['batch', 1000], 'float32', 'scores')] });
    const want = tf.topk(tf.tensor2d(scores, [2, 1000]), 5);
    const s = await ort.InferenceSession.create(f.toOnnx());
    const out = await s.run({ scores: new ort.Tensor('float32', scores, [2, 1000]) });
    expect(Array.from(out[s.outputNames[0]!]!.data as Float32Array)).toEqual(Array.from(want.values.dataSync()));
    expect(Array.from(out[s.outputNames[1]!]!.data as ArrayLike<number>, Number)).toEqual(Array.from(want.indices.dataSync()));
  });

  // Fuzz seed 801334: tf.topk(x, 1).indices of a [0, 1] batch came out [1, 1] (a select whose
  // branch broadcast a dim of 1 against the empty batch keeps the 1, as tf.where does).
  it('empty batches: values and indices of shape [0, …, k] on every engine, every k', async () => {
    for (const backend of ['cpu', 'wasm', 'onnxruntime'] as const) {
      for (const lead of [[], [2]]) {
        for (const n of [1, 2, 3]) {
          for (let k = 0; k <= n; k++) {
            const f = gc.compile((x: tf.Tensor) => { const t = tf.topk(x, k); return [t.values, t.indices]; }, { inputs: [gc.spec(['batch', ...lead, n])], backend });
            const where = `${backend} lead [${lead}] n ${n} k ${k}`;
            const [v, i] = (await f(tf.zeros([0, ...lead, n]))) as unknown as tf.Tensor[];
            expect([v!.shape, i!.shape], where).toEqual([[0, ...lead, k], [0, ...lead, k]]);
            const one = tf.tensor([...Array((lead[0] ?? 1) * n).keys()], [1, ...lead, n]);
            const [v1, i1] = (await f(one)) as unknown as tf.Tensor[];
            expect(Array.from(v1!.dataSync()), where).toEqual(Array.from(tf.topk(one, k).values.dataSync()));
            expect(Array.from(i1!.dataSync()), where).toEqual(Array.from(tf.topk(one, k).indices.dataSync()));
            f.dispose();
          }
        }
      }
    }
  });

  it('sorted = false and an axis above 4096 are refused with the reason', () => {
    expect(() => gc.compile((x: tf.Tensor) => tf.topk(x, 2, false).values, { inputs: [gc.spec([3, 8])] })).toThrow(/sorted = false/);
    expect(() => gc.compile((x: tf.Tensor) => tf.topk(x, 2).values, { inputs: [gc.spec([1, 5000])] })).toThrow(/an axis of 5000 elements/);
  });
});
