/**
 * tf.einsum traced as tfjs's cpu kernel computes it (transposes, reshapes, products, sums by
 * tfjs's own planner): generated equations of one or two operands (tfjs's limit), compiled on cpu and wasm,
 * equal eager tfjs-cpu (tfjs-wasm has no Einsum kernel: eager einsum fails there, compiled runs);
 * exported to ONNX, ONNX Runtime gives the same values.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import * as gc from 'graphc';
import { ensureBackend } from '../../runtime/backends/select.js';

interface Case { terms: string[]; out: string; sizes: Record<string, number> }

const LETTERS = 'abcdef';
/** Operands: distinct letters each (tfjs refuses repeated axes); the output: distinct letters used by some operand. */
const caseArb: fc.Arbitrary<Case> = fc.record({
  terms: fc.array(fc.uniqueArray(fc.constantFrom(...LETTERS), { minLength: 1, maxLength: 4 }).map((l) => l.join('')), { minLength: 1, maxLength: 2 }),
  pick: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
  sizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 6, maxLength: 6 }),
}).map(({ terms, pick, sizes }) => {
  const used = [...new Set(terms.join(''))];
  return { terms, out: used.filter((_, i) => pick[i]).join(''), sizes: Object.fromEntries([...LETTERS].map((l, i) => [l, sizes[i]!])) };
});

const equation = (k: Case) => `${k.terms.join(',')}->${k.out}`;

function operands(k: Case, seed: number): { shape: number[]; data: Float32Array }[] {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  return k.terms.map((t) => {
    const shape = [...t].map((l) => k.sizes[l]!);
    return { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, r) };
  });
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return m;
}

beforeAll(async () => {
  await ensureBackend('wasm');
  await tf.setBackend('cpu');
});

describe('einsum traced', () => {
  it('property: generated equations compiled on cpu and wasm equal eager tfjs-cpu', async () => {
    let seed = 1;
    await fc.assert(fc.asyncProperty(caseArb, async (k) => {
      const ops = operands(k, seed++);
      const eq = equation(k);
      const fn = (...a: tf.Tensor[]) => tf.einsum(eq, ...a);
      await tf.setBackend('cpu');
      const want = fn(...ops.map((o) => tf.tensor(o.data, o.shape)));
      for (const backend of ['cpu', 'wasm'] as const) {
        await tf.setBackend(backend);
        const xs = ops.map((o) => tf.tensor(o.data, o.shape));
        const f = gc.compile(fn, { inputs: ops.map((o) => gc.spec(o.shape)), backend });
        const got = (await f(...xs)) as tf.Tensor;
        expect(got.shape, eq).toEqual(want.shape);
        expect(maxRel(got.dataSync(), want.dataSync()), `${eq} on ${backend} ${JSON.stringify(k.sizes)}`).toBeLessThan(1e-5);
        f.dispose();
      }
      await tf.setBackend('cpu');
    }), { numRuns: 60, seed: 11 });
  });

  it('attention scores and a batched contraction export to ONNX Runtime with the same values; a symbolic batch stays symbolic', async () => {
    for (const [eq, shapes] of [['bhqd,bhkd->bhqk', [[2, 2, 3, 4], [2, 2, 5, 4]]], ['bij,jk->bik', [[3, 2, 4], [4, 5]]]] as const) {
      const k: Case = { terms: eq.split('->')[0]!.split(','), out: eq.split('->')[1]!, sizes: {} };
      const ops = shapes.map((s, i) => ({ shape: [...s], data: operands({ ...k, terms: [k.terms[i]!], sizes: Object.fromEntries([...k.terms[i]!].map((l, j) => [l, s[j]!])) }, 5 + i)[0]!.data }));
      const fn = (...a: tf.Tensor[]) => tf.einsum(eq, ...a);
      const f = gc.compile(fn, { inputs: ops.map((o, i) => gc.spec(k.terms[i]!.startsWith('b') ? ['batch', ...o.shape.slice(1)] : o.shape, 'float32', `x${i}`)) });
      expect(f.graph.inputs[0]!.shape[0]).toMatchObject({ sym: 'batch' });
      const s = await ort.InferenceSession.create(f.toOnnx());
      const out = await s.run(Object.fromEntries(ops.map((o, i) => [`x${i}`, new ort.Tensor('float32', o.data, o.shape)])));
      const want = fn(...ops.map((o) => tf.tensor(o.data, o.shape))).dataSync();
      expect(maxRel(out[s.outputNames[0]!]!.data as Float32Array, want), eq).toBeLessThan(1e-5);
    }
  });

  it('fuzz seed 1602544: int32 and float32 operands (tf.floorDiv returns int32) multiply as tfjs-cpu does: each product takes its term\'s dtype (an int32 term truncates)', async () => {
    const a = tf.tensor2d([3, -2, 7, 1, 0, 5], [2, 3], 'int32'), b = tf.tensor2d([0.5, 1.25, -2, 3, 0.75, -1], [3, 2]);
    for (const [eq, x, y] of [['ij,jk->ik', a, b], ['ij,ij->i', a, a], ['ij,jk->ik', b, a], ['i,i->', tf.floorDiv(tf.tensor1d([-2, 7]), tf.tensor1d([3, 2])), tf.tensor1d([1.5, -0.25])]] as const) {
      const want = tf.einsum(eq, x, y);
      for (const backend of ['cpu', 'wasm', 'onnxruntime'] as const) {
        const got = (await gc.compile((p: tf.Tensor, q: tf.Tensor) => tf.einsum(eq, p, q), { backend })(x, y)) as tf.Tensor;
        expect(got.dtype, `${eq} ${backend}`).toBe(want.dtype);
        expect(Array.from(got.dataSync()), `${eq} ${backend}`).toEqual(Array.from(want.dataSync()));
      }
    }
  });

  it('an equation tfjs refuses is refused with tfjs\'s reason', async () => {
    const f = () => gc.compile((x: tf.Tensor) => tf.einsum('ii->i', x), { inputs: [gc.spec([3, 3])] });
    expect(f).toThrow(/duplicate axes/);
  });
});
