/**
 * Constant folding computes with the semantics of the engine that runs the graph: a program
 * gives the same bits whether its inputs are fed or captured as constants (and folded), on
 * every engine. Generated programs over float32, int32 and bool with the values where engines
 * differ: 0, −0, ±0.5, ±1.5, ±2.5, INT_MIN, INT_MAX, NaN, ±Inf, 256, 1e10, long float sums.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as gc from 'graphc';

type D = 'float32' | 'int32' | 'bool';
interface OpDef { ins: D[]; f: (...xs: tf.Tensor[]) => tf.Tensor }

const OPS: Record<string, OpDef> = {
  round: { ins: ['float32'], f: (x) => tf.round(x) },
  floor: { ins: ['float32'], f: (x) => tf.floor(x) },
  ceil: { ins: ['float32'], f: (x) => tf.ceil(x) },
  sign: { ins: ['float32'], f: (x) => tf.sign(x) },
  negF: { ins: ['float32'], f: (x) => tf.neg(x) },
  sqrt: { ins: ['float32'], f: (x) => tf.sqrt(x) },
  exp: { ins: ['float32'], f: (x) => tf.exp(x) },
  log: { ins: ['float32'], f: (x) => tf.log(x) },
  reciprocal: { ins: ['float32'], f: (x) => tf.reciprocal(x) },
  relu: { ins: ['float32'], f: (x) => tf.relu(x) },
  tanh: { ins: ['float32'], f: (x) => tf.tanh(x) },
  addF: { ins: ['float32', 'float32'], f: (x, y) => tf.add(x, y) },
  mulF: { ins: ['float32', 'float32'], f: (x, y) => tf.mul(x, y) },
  divF: { ins: ['float32', 'float32'], f: (x, y) => tf.div(x, y) },
  minF: { ins: ['float32', 'float32'], f: (x, y) => tf.minimum(x, y) },
  maxF: { ins: ['float32', 'float32'], f: (x, y) => tf.maximum(x, y) },
  sumF: { ins: ['float32'], f: (x) => tf.sum(x) },
  meanF: { ins: ['float32'], f: (x) => tf.mean(x) },
  maxR: { ins: ['float32'], f: (x) => tf.max(x) },
  toInt: { ins: ['float32'], f: (x) => tf.cast(x, 'int32') },
  toBoolF: { ins: ['float32'], f: (x) => tf.cast(x, 'bool') },
  lessF: { ins: ['float32', 'float32'], f: (x, y) => tf.less(x, y) },
  equalF: { ins: ['float32', 'float32'], f: (x, y) => tf.equal(x, y) },
  addI: { ins: ['int32', 'int32'], f: (x, y) => tf.add(x, y) },
  mulI: { ins: ['int32', 'int32'], f: (x, y) => tf.mul(x, y) },
  divI: { ins: ['int32', 'int32'], f: (x, y) => tf.div(x, y) },
  floorDivI: { ins: ['int32', 'int32'], f: (x, y) => tf.floorDiv(x, y) },
  modI: { ins: ['int32', 'int32'], f: (x, y) => tf.mod(x, y) },
  negI: { ins: ['int32'], f: (x) => tf.neg(x) },
  absI: { ins: ['int32'], f: (x) => tf.abs(x) },
  sumI: { ins: ['int32'], f: (x) => tf.sum(x) },
  toFloat: { ins: ['int32'], f: (x) => tf.cast(x, 'float32') },
  toBoolI: { ins: ['int32'], f: (x) => tf.cast(x, 'bool') },
  not: { ins: ['bool'], f: (x) => tf.logicalNot(x) },
  and: { ins: ['bool', 'bool'], f: (x, y) => tf.logicalAnd(x, y) },
  boolToF: { ins: ['bool'], f: (x) => tf.cast(x, 'float32') },
  boolToI: { ins: ['bool'], f: (x) => tf.cast(x, 'int32') },
  whereF: { ins: ['bool', 'float32', 'float32'], f: (c, x, y) => tf.where(c, x, y) },
};

const FLOATS = [0, -0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, NaN, Infinity, -Infinity, 256, 1e10, -1e10, 2147483648, 3e38, 1e-45, 7];
const INTS = [0, 1, -1, 7, -7, 2, -2147483648, 2147483647, 256, 3];

interface Program { n: number; a: number[]; b: number[]; c: boolean[]; long: Float32Array; steps: { op: string; args: number[] }[] }

const programArb: fc.Arbitrary<Program> = fc.integer({ min: 1, max: 6 }).chain((n) => fc.record({
  n: fc.constant(n),
  a: fc.array(fc.constantFrom(...FLOATS), { minLength: n, maxLength: n }),
  b: fc.array(fc.constantFrom(...INTS), { minLength: n, maxLength: n }),
  c: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
  // A long sum: its order of additions is each engine's own.
  long: fc.float32Array({ minLength: 1000, maxLength: 1000, noDefaultInfinity: true, noNaN: true }).map((v) => v.map((x, i) => x * (i % 7 === 0 ? 1e6 : 1e-3))),
  steps: fc.array(fc.record({ op: fc.constantFrom(...Object.keys(OPS)), args: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }) }), { minLength: 1, maxLength: 6 }),
}));

/** Runs the program: every value it makes is an output. */
function run(p: Program, a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, long: tf.Tensor): tf.Tensor[] {
  const pool: tf.Tensor[] = [a, b, c, tf.sum(long)];
  const outs: tf.Tensor[] = [pool[3]!];
  for (const s of p.steps) {
    const def = OPS[s.op]!;
    const args = def.ins.map((d, i) => {
      const of = pool.filter((t) => t.dtype === d);
      return of[s.args[i]! % of.length]!;
    });
    const y = def.f(...args);
    pool.push(y);
    outs.push(y);
  }
  return outs;
}

/** Bits of a result (NaN = NaN), or the error. */
async function bits(f: () => Promise<unknown>): Promise<string> {
  try {
    const ys = (await f()) as tf.Tensor[];
    return JSON.stringify(ys.map((y) => {
      // By dtype, not by store: tfjs-cpu keeps an Int32Array for a cast of int32 to float32.
      const v = y.dtype === 'float32' ? Float32Array.from(y.dataSync()) : Int32Array.from(y.dataSync());
      const u = v instanceof Float32Array ? new Uint32Array(v.buffer) : v;
      return [y.dtype, y.shape, Array.from(u, (x, i) => (v instanceof Float32Array && Number.isNaN(v[i]!) ? 'NaN' : x))];
    }));
  } catch (e) {
    return `error ${e instanceof gc.GcError ? e.code : String(e).split('\n')[0]}`;
  }
}

describe('constant folding computes as the engine that runs the graph: fed ≡ captured', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  for (const backend of ['cpu', 'wasm', 'auto'] as const) {
    it(`on ${backend}`, async () => {
      await fc.assert(fc.asyncProperty(programArb, async (p) => {
        const a = tf.tensor1d(p.a, 'float32'), b = tf.tensor1d(p.b, 'int32'), c = tf.tensor1d(p.c.map(Number), 'bool');
        const long = tf.tensor1d(p.long, 'float32');
        const fed = gc.compile((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor, l: tf.Tensor) => run(p, x, y, z, l), { backend });
        const captured = gc.compile(() => run(p, a, b, c, long), { backend });
        const want = await bits(() => fed(a, b, c, long));
        const got = await bits(() => captured());
        // Captured, everything is a constant: the graph folds to constants (where evaluation succeeds).
        expect(got).toBe(want);
        fed.dispose();
        captured.dispose();
        tf.dispose([a, b, c, long]);
      }), { seed: 42, numRuns: backend === 'cpu' ? 30 : 60 });
    });
  }

  it('int32 7 / 0 on wasm: INT_MIN fed, INT_MIN captured (wasm divides in float and converts)', async () => {
    const a = tf.tensor1d([7, -7, 6], 'int32'), b = tf.tensor1d([0, 0, 4], 'int32');
    const fed = gc.compile((x: tf.Tensor, y: tf.Tensor) => tf.div(x, y), { backend: 'wasm' });
    const captured = gc.compile(() => tf.div(a, b), { backend: 'wasm' });
    const y1 = (await fed(a, b)) as tf.Tensor, y2 = (await captured()) as tf.Tensor;
    expect(Array.from(y2.dataSync())).toEqual(Array.from(y1.dataSync()));
    expect(captured.graph.nodes.every((n) => n.op === 'const')).toBe(true);
  });
});
