/**
 * Slices run as row copies where tfjs copies element by element: every slice on cpu, and
 * slices of rank 5 and up on wasm (fuzz seed 24 case 4099: a 3-D AveragePool's taps took 7 s
 * per engine). Compiled slice and unit-stride strided_slice, ranks 1 to 6, against eager
 * tfjs-cpu, on cpu, wasm and the default 'auto', fed tensors made on tfjs-cpu.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as gc from 'graphc';

const sliceCase = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 6 }).chain((shape) => fc.tuple(
  fc.constant(shape),
  fc.tuple(...shape.map((d) => fc.integer({ min: 0, max: d - 1 }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 1, max: d - b }))))),
  fc.constantFrom('float32', 'int32') as fc.Arbitrary<'float32' | 'int32'>,
  fc.boolean(),
));

describe('slice and unit-stride strided_slice of every rank ≡ eager tfjs-cpu', () => {
  for (const backend of ['cpu', 'wasm', 'auto'] as const) {
    it(`on ${backend}`, async () => {
      const cases = fc.sample(sliceCase, { numRuns: 40, seed: 4099 });
      for (const [shape, bs, dtype, strided] of cases) {
        const begin = bs.map(([b]) => b), size = bs.map(([, s]) => s);
        const end = begin.map((b, i) => b + size[i]!);
        const n = shape.reduce((p, d) => p * d, 1);
        await tf.setBackend('cpu');
        const x = tf.tensor(Array.from({ length: n }, (_, k) => (k * 7919) % 1000 - 500), shape, dtype);
        const op = (t: tf.Tensor) => (strided ? tf.stridedSlice(t, begin, end, begin.map(() => 1)) : tf.slice(t, begin, size));
        const want = op(x);
        const f = gc.compile(op, { inputs: [gc.spec(shape, dtype)], backend });
        const got = (await f(x)) as tf.Tensor;
        expect(got.shape, `${strided ? 'strided_slice' : 'slice'} of ${JSON.stringify(shape)} at ${JSON.stringify(begin)} size ${JSON.stringify(size)}`).toEqual(want.shape);
        expect(Array.from(await got.data())).toEqual(Array.from(await want.data()));
        tf.dispose([x, want, got]);
        f.dispose();
      }
    }, 120_000);
  }
});

describe('broadcast_to as block copies ≡ eager tfjs-cpu (fuzz seed 25 case 8064: a [1] to [2,16777216,2] took 5.2 s on cpu, 8.4 s on wasm)', () => {
  const bcase = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }).chain((target) => fc.tuple(
    fc.constant(target),
    fc.integer({ min: 0, max: target.length - 1 }),                       // leading axes x lacks
    fc.array(fc.boolean(), { minLength: target.length, maxLength: target.length }),   // axes where x has 1
    fc.constantFrom('float32', 'int32', 'bool') as fc.Arbitrary<'float32' | 'int32' | 'bool'>,
  ));
  for (const backend of ['cpu', 'wasm', 'auto'] as const) {
    it(`on ${backend}`, async () => {
      for (const [target, lead, ones, dtype] of fc.sample(bcase, { numRuns: 30, seed: 8064 })) {
        const xs = target.slice(lead).map((d, i) => (ones[i + lead] ? 1 : d));
        const n = xs.reduce((p, d) => p * d, 1);
        await tf.setBackend('cpu');
        const x = tf.tensor(Array.from({ length: n }, (_, k) => (dtype === 'bool' ? k % 2 : k * 3 - 7)), xs, dtype);
        const want = tf.broadcastTo(x, target);
        const f = gc.compile((t: tf.Tensor) => tf.broadcastTo(t, target), { inputs: [gc.spec(xs, dtype)], backend });
        const got = (await f(x)) as tf.Tensor;
        expect(got.shape, `${JSON.stringify(xs)} → ${JSON.stringify(target)}`).toEqual(want.shape);
        expect(Array.from(await got.data())).toEqual(Array.from(await want.data()));
        tf.dispose([x, want, got]);
        f.dispose();
      }
    }, 120_000);
  }
});
