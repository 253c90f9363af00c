/**
 * tf.tensorScatterUpdate traced (rows replaced in order, the later of two updates of a row
 * wins): generated tensors, index depths and updates with duplicate rows, float32 (−0 and NaN
 * among the values), int32 and bool, compiled on cpu, wasm, onnxruntime and auto, equal eager
 * tfjs-cpu; the input stays as it was; a KV-cache decoding step writes its row by a traced
 * position; the export runs in ONNX Runtime.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import * as gc from 'graphc';
import { eagerOnCpuWithWasm, lcg } from './support.js';

eagerOnCpuWithWasm();


/** Values with their sign of zero spelled out (toEqual treats −0 and 0 as different already; this keeps the message readable). */
const spelled = (xs: ArrayLike<number>) => Array.from(xs, (v) => (Object.is(v, -0) ? '-0' : String(v)));

describe('tensorScatterUpdate traced', () => {
  it('property: equals eager tfjs-cpu on cpu, wasm, onnxruntime and auto; duplicates resolved as tfjs resolves them', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 8 }), fc.constantFrom('float32', 'int32', 'bool'), fc.integer({ min: 1, max: 1e6 }),
      async (shape, k0, n, dtype, seed) => {
        const k = Math.min(k0, shape.length);
        const r = lcg(seed);
        const size = shape.reduce((p, q) => p * q, 1);
        const slice = shape.slice(k), sliceSize = slice.reduce((p, q) => p * q, 1);
        const value = () => (dtype === 'bool' ? (r() < 0.5 ? 1 : 0) : dtype === 'int32' ? Math.floor(r() * 200) - 100
          : r() < 0.1 ? -0 : r() < 0.05 ? NaN : Math.round((r() * 20 - 10) * 8) / 8);
        const base = Array.from({ length: size }, value);
        // Rows drawn from few choices: duplicates are common.
        const idx = Array.from({ length: n }, () => shape.slice(0, k).map((d) => Math.floor(r() * Math.min(d, 2))));
        const upd = Array.from({ length: n * sliceSize }, value);
        const make = () => [tf.tensor(base, shape, dtype), tf.tensor(idx.flat(), [n, k], 'int32'), tf.tensor(upd, [n, ...slice], dtype)] as const;
        await tf.setBackend('cpu');
        const want = Array.from(tf.tensorScatterUpdate(...make()).dataSync());
        for (const backend of ['cpu', 'wasm', 'onnxruntime', 'auto'] as const) {
          const f = gc.compile((t: tf.Tensor, i: tf.Tensor, u: tf.Tensor) => tf.tensorScatterUpdate(t, i, u), { backend });
          const [t, i, u] = make();
          const got = (await f(t, i, u)) as tf.Tensor;
          const where = `${backend} ${dtype} shape [${shape}] k ${k} indices ${JSON.stringify(idx)}`;
          expect(got.dtype, where).toBe(dtype);
          expect(got.shape, where).toEqual(shape);
          // ONNX Runtime's Where writes +0 for a selected −0: the sign of zero is compared on the tfjs engines.
          if (backend === 'cpu' || backend === 'wasm') expect(spelled(got.dataSync()), where).toEqual(spelled(want));
          else expect(Array.from(got.dataSync()).map((v) => (Object.is(v, -0) ? 0 : v)), where).toEqual(want.map((v) => (Object.is(v, -0) ? 0 : v)));
          // The input stays as it was (eager tfjs-cpu 4.22 writes the updates into it).
          expect(spelled(t.dataSync()), `${where}: input`).toEqual(spelled(Float32Array.from(base)));
          f.dispose();
        }
      }), { numRuns: 50, seed: 17 });
  });

  it('a KV-cache decoding step: each call writes its row at a traced position, the cache a variable', async () => {
    const cache = tf.variable(tf.zeros([6, 3]));
    const step = gc.compile((pos: tf.Tensor, row: tf.Tensor) => {
      cache.assign(tf.tensorScatterUpdate(cache, tf.reshape(pos, [1, 1]), tf.reshape(row, [1, 3])));
      return tf.sum(cache, 0);
    }, { inputs: [gc.spec([], 'int32'), gc.spec([3])], backend: 'auto' });
    const sums: number[][] = [];
    for (let p = 0; p < 6; p++) sums.push(Array.from(((await step(tf.scalar(p, 'int32'), tf.tensor1d([p, 10 * p, 100 - p]))) as tf.Tensor).dataSync()));
    expect(Array.from(cache.dataSync())).toEqual([0, 0, 100, 1, 10, 99, 2, 20, 98, 3, 30, 97, 4, 40, 96, 5, 50, 95]);
    expect(sums[5]).toEqual([15, 150, 585]);
    expect(sums[2]).toEqual([3, 30, 297]);
    expect(step.traceCount).toBe(1);
  });

  it('exports to ONNX: ONNX Runtime writes the rows as eager tfjs does', async () => {
    const f = gc.compile((t: tf.Tensor, i: tf.Tensor, u: tf.Tensor) => tf.tensorScatterUpdate(t, i, u),
      { inputs: [gc.spec([4, 2], 'float32', 't'), gc.spec([3, 1], 'int32', 'i'), gc.spec([3, 2], 'float32', 'u')] });
    const s = await ort.InferenceSession.create(f.toOnnx());
    const t = [1, 2, 3, 4, 5, 6, 7, 8], i = [1, 3, 1], u = [10, 11, 12, 13, 14, 15];
    const out = await s.run({ t: new ort.Tensor('float32', Float32Array.from(t), [4, 2]), i: new ort.Tensor('int32', Int32Array.from(i), [3, 1]), u: new ort.Tensor('float32', Float32Array.from(u), [3, 2]) });
    expect(Array.from(out[s.outputNames[0]!]!.data as Float32Array)).toEqual([1, 2, 14, 15, 5, 6, 12, 13]);
  });
});
