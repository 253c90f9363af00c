/**
 * tf.searchSorted / tf.lowerBound / tf.upperBound traced: generated sorted rows (duplicates,
 * ±Infinity, NaN sorted last), values on and between the elements and NaN, both
 * sides, float32 and int32, 1-D and batched (tfjs returns [batch, values] for both), compiled on cpu, wasm, onnxruntime and auto, equal
 * to eager tfjs-cpu; symbolic batch, row length and number of values in one graph; the export
 * in ONNX Runtime.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import * as gc from 'graphc';
import { eagerOnCpuWithWasm, lcg } from './support.js';

eagerOnCpuWithWasm();


describe('searchSorted traced', () => {
  it('property: equals eager tfjs-cpu exactly on cpu, wasm, onnxruntime and auto', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 1e6 }), async (seed) => {
      const r = lcg(seed);
      const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
      const dtype = r() < 0.7 ? 'float32' : 'int32';
      const batched = r() < 0.6;
      // tfjs reshapes both to 2-D with -1 (an empty row or no values throw eagerly) and returns [b, m].
      const b = batched ? int(1, 3) : 1, n = int(1, 12), m = int(1, 6);
      const side = r() < 0.5 ? 'left' : 'right';
      const pool = dtype === 'int32' ? [-3, -1, 0, 0, 2, 5, 7] : [-Infinity, -2.5, -1, 0, 0.5, 0.5, 3, Infinity];
      const rows: number[] = [];
      for (let i = 0; i < b; i++) {
        const row = Array.from({ length: n }, () => pool[int(0, pool.length - 1)]!).sort((p, q) => p - q);
        if (dtype === 'float32' && n > 0 && r() < 0.2) row[n - 1] = NaN;             // NaN sorted last
        rows.push(...row);
      }
      const vals = Array.from({ length: b * m }, () => (r() < 0.5 ? pool[int(0, pool.length - 1)]! : dtype === 'int32' ? int(-5, 8) : r() < 0.1 ? NaN : r() * 8 - 4));
      const seqShape = batched ? [b, n] : [n], valShape = batched ? [b, m] : [m];
      const make = () => [tf.tensor(rows, seqShape, dtype), tf.tensor(vals, valShape, dtype)] as const;
      const want = Array.from(tf.searchSorted(...make(), side).dataSync());
      for (const backend of ['cpu', 'wasm', 'onnxruntime', 'auto'] as const) {
        const f = gc.compile((s: tf.Tensor, v: tf.Tensor) => tf.searchSorted(s, v, side), { backend });
        const got = (await f(...make())) as tf.Tensor;
        const where = `${backend} ${dtype} side ${side} rows ${JSON.stringify(rows)} [${seqShape}] values ${JSON.stringify(vals)}`;
        expect(got.dtype, where).toBe('int32');
        expect(got.shape, where).toEqual([b, m]);
        expect(Array.from(got.dataSync()), where).toEqual(want);
        f.dispose();
      }
    }), { numRuns: 60, seed: 31 });
  });

  it('one graph for every batch, row length and number of values; lowerBound and upperBound', async () => {
    const f = gc.compile((s: tf.Tensor, v: tf.Tensor) => [tf.lowerBound(s, v), tf.upperBound(s, v)],
      { inputs: [gc.spec(['batch', 'n']), gc.spec(['batch', 'm'])], backend: 'auto' });
    for (const [rows, vals, shape, vshape] of [
      [[1, 2, 2, 4], [2, 0, 5], [1, 4], [1, 3]],
      [[0, 1, 1, 1, 3, 9, -1, 0, 0.5, 0.5, 0.5, 7], [1, 10, 0.5, 0.25], [2, 6], [2, 2]],
      [[5, 6, 7, 5, 5, 5, 1, 1, 2], [6, 5, 5, 5, 0, 2], [3, 3], [3, 2]],
    ] as [number[], number[], number[], number[]][]) {
      const [lo, hi] = (await f(tf.tensor(rows, shape), tf.tensor(vals, vshape))) as unknown as tf.Tensor[];
      expect(Array.from(lo!.dataSync()), `lower ${rows}`).toEqual(Array.from(tf.lowerBound(tf.tensor(rows, shape), tf.tensor(vals, vshape)).dataSync()));
      expect(Array.from(hi!.dataSync()), `upper ${rows}`).toEqual(Array.from(tf.upperBound(tf.tensor(rows, shape), tf.tensor(vals, vshape)).dataSync()));
    }
    expect(f.traceCount).toBe(1);
    const [lo] = (await f(tf.tensor([1, 2, 2, 4], [1, 4]), tf.tensor([2, 0, 5], [1, 3]))) as unknown as tf.Tensor[];
    expect(Array.from(lo!.dataSync())).toEqual([1, 0, 4]);
  });

  it('inverse-CDF sampling (cumsum of probabilities, search of uniform draws) exports to ONNX and runs in ONNX Runtime', async () => {
    const f = gc.compile((p: tf.Tensor, u: tf.Tensor) => tf.searchSorted(tf.cumsum(p, 1), u, 'right'),
      { inputs: [gc.spec(['batch', 5], 'float32', 'p'), gc.spec(['batch', 4], 'float32', 'u')] });
    const p = [0.1, 0.2, 0.3, 0.25, 0.15, 0.5, 0, 0, 0.5, 0];
    const u = [0.05, 0.3, 0.6, 0.99, 0, 0.5, 0.75, 0.25];
    const s = await ort.InferenceSession.create(f.toOnnx());
    const out = await s.run({ p: new ort.Tensor('float32', Float32Array.from(p), [2, 5]), u: new ort.Tensor('float32', Float32Array.from(u), [2, 4]) });
    const want = Array.from(tf.searchSorted(tf.cumsum(tf.tensor2d(p, [2, 5]), 1), tf.tensor2d(u, [2, 4]), 'right').dataSync());
    expect(want).toEqual([0, 2, 3, 4, 0, 3, 3, 0]);
    expect(Array.from(out[s.outputNames[0]!]!.data as Int32Array, Number)).toEqual(want);
  });
});
