/**
 * Hostile input at run time (issue 9): sizes are checked before any kernel runs, on every engine,
 * so a tiny model cannot corrupt the wasm heap; feeds are converted exactly or refused; int64
 * values that int32 cannot hold are errors, never wrapped.
 *
 * Regressions: a 98-byte model expanding to [70368744177666, 3, 22] "succeeded" on wasm with a
 * 4.6e15-element tensor (sizes wrapped to int32 into a small block its kernels wrote past) and the
 * next unrelated op aborted the process; MaxPool with a 2^30 or 2^31 window and a ReduceSum of an
 * 8.6e9-element Expand did the same; an int64 Gather index 2^32+1 read element 1; a ragged
 * [[1, 2], [3, 4, 5], [6]] was read as [[1, 2], [3, 4], [5, 6]]; 1.7 and 2^31 fed to an int32
 * input were truncated and wrapped.
 */
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import * as gc from 'graphc';
import { SWIFTSHADER_ICD, ensureBackend, releaseBackend } from '../../runtime/backends/select.js';
import { MAX_TENSOR_BYTES_ENV, WASM_HEAP_MAX, parseBytes, resolveTensorLimit } from '../../runtime/tensor_limits.js';
import { attr, model, node, T, tensor, valueInfo } from '../exporters/onnx/test_util.js';

type Engine = { backend: 'cpu' | 'wasm' | 'auto' | 'webgpu'; executor?: 'auto' | 'tensors' };
const ENGINES: Engine[] = [{ backend: 'cpu' }, { backend: 'wasm' }, { backend: 'wasm', executor: 'tensors' }, { backend: 'auto' }];
/** The engines of the hostile-model tests: with webgpu where SwiftShader gives it an adapter (the suite allows software adapters). */
const ALL_ENGINES: Engine[] = existsSync(SWIFTSHADER_ICD) ? [...ENGINES, { backend: 'webgpu' }] : ENGINES;
const label = (e: Engine) => `${e.backend}${e.executor ? `/${e.executor}` : ''}`;

/** Expand of a [1] input to `shape` (an int64 initializer). */
const expandModel = (shape: number[]) => model({ opset: 13, nodes: [node('Expand', ['x', 's'], ['y'])],
  inputs: [valueInfo('x', T.FLOAT, [1])], outputs: [valueInfo('y', T.FLOAT, shape.map(() => null))],
  initializers: [tensor('s', T.INT64, [shape.length], shape)] });

/** ReduceSum over axis 1 of an Expand to [2, 2^32] (8.6e9 elements). */
const reduceModel = () => model({ opset: 13, nodes: [node('Expand', ['x', 's'], ['e']), node('ReduceSum', ['e', 'ax'], ['y'], [attr.int('keepdims', 0)])],
  inputs: [valueInfo('x', T.FLOAT, [1])], outputs: [valueInfo('y', T.FLOAT, [null])],
  initializers: [tensor('s', T.INT64, [2], [2, 2 ** 32]), tensor('ax', T.INT64, [1], [1])] });

/** MaxPool over a [1,1,2,2] input with a window of k rows and k-1 rows of padding on top (the result is 2×2). */
const poolModel = (k: number) => model({ opset: 13,
  nodes: [node('MaxPool', ['x'], ['y'], [attr.ints('kernel_shape', [k, 1]), attr.ints('pads', [k - 1, 0, 0, 0])])],
  inputs: [valueInfo('x', T.FLOAT, [1, 1, 2, 2])], outputs: [valueInfo('y', T.FLOAT, [null, null, null, null])] });

/** A normal model whose numbers are known: y = relu(x·W + b) summed over columns. */
async function normalRun(e: Engine, seed: number): Promise<void> {
  const rnd = (n: number, s: number) => Array.from({ length: n }, (_, i) => Math.round(Math.sin(seed * 31 + s * 7 + i) * 8) / 4);
  const xs = rnd(6, 1), ws = rnd(12, 2), bs = rnd(4, 3);
  const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.sum(tf.relu(tf.add(tf.matMul(x, w), b)), 1);
  const g = gc.trace(f, [gc.spec([2, 3]), gc.spec([3, 4]), gc.spec([4])]);
  const s = await gc.Session.create(g, { backend: e.backend, executor: e.executor });
  const [xn, wn, bn] = g.inputs.map((i) => i.name);
  const y = await s.run('output_0', { [xn!]: xs, [wn!]: ws, [bn!]: bs }) as tf.Tensor;
  const expected = [0, 1].map((r) => {
    let sum = 0;
    for (let c = 0; c < 4; c++) {
      let v = bs[c]!;
      for (let k = 0; k < 3; k++) v += xs[r * 3 + k]! * ws[k * 4 + c]!;
      sum += Math.max(0, v);
    }
    return sum;
  });
  const got = Array.from(await y.data());
  got.forEach((v, i) => expect(Math.abs(v - expected[i]!), `${label(e)}: ${got} vs ${expected}`).toBeLessThan(1e-4));
  y.dispose();
  s.dispose();
}

async function runOnnx(bytes: Uint8Array, e: Engine, feeds: Record<string, gc.Feed>, opts: Partial<gc.SessionOptions> = {}): Promise<number[]> {
  const s = await gc.Session.create(gc.fromOnnx(bytes), { backend: e.backend, executor: e.executor, ...opts });
  try {
    const y = await s.run('y', feeds) as tf.Tensor;
    const v = Array.from(await y.data());
    y.dispose();
    return v;
  } finally {
    s.dispose();
  }
}

async function gcErrorOf(p: Promise<unknown>): Promise<gc.GcError> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof gc.GcError)) throw new Error(`expected a GcError, got ${(e as Error).name}: ${(e as Error).message}`);
    return e;
  }
  throw new Error('expected a GcError, the run succeeded');
}

beforeAll(async () => {
  await ensureBackend('cpu');
  await ensureBackend('wasm');
});

afterEach(() => {
  delete process.env[MAX_TENSOR_BYTES_ENV];
});

afterAll(() => releaseBackend('webgpu'));

describe('sizes are checked before any kernel runs', () => {
  for (const e of ALL_ENGINES) {
    it(`${label(e)}: hostile models are GcErrors naming node, op, shape and bound; the next unrelated run gives right numbers`, async () => {
      const x1 = { x: tf.tensor([1.5]) };
      const before = tf.memory().numTensors;
      const big = await gcErrorOf(runOnnx(expandModel([70368744177666, 3, 22]), e, x1));
      expect(big.code).toBe(e.backend === 'cpu' ? 'GC0404' : 'GC0405'); // wasm and webgpu index with int32
      expect(big.message).toMatch(/while executing %\w+ = broadcast_to %x: its result/);
      expect(big.message).toContain('[70368744177666,3,22]');
      expect(big.message).toMatch(e.backend === 'cpu' ? /over the limit of 2 GiB per tensor/ : /indexes tensors with int32/);
      await normalRun(e, 1);
      const red = await gcErrorOf(runOnnx(reduceModel(), e, x1));
      expect(red.message).toContain('[2,4294967296]');
      await normalRun(e, 2);
      // Nothing was left behind by the refused runs.
      expect(tf.memory().numTensors).toBe(before);
      const x = tf.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
      for (const k of [2 ** 31, 2 ** 30]) {
        if (e.backend === 'cpu') {
          // tfjs-cpu clamps the window to the input: rows ≤ 0, then rows 0..1.
          expect(await runOnnx(poolModel(k), e, { x })).toEqual([1, 2, 3, 4]);
        } else {
          const p = await gcErrorOf(runOnnx(poolModel(k), e, { x }));
          expect(p.message).toMatch(/while executing %\w+ = max_pool /);
          expect(p.code).toBe(k === 2 ** 31 ? 'GC0406' : 'GC0405');
          expect(p.message).toMatch(k === 2 ** 31 ? /filter_size = \[2147483648, 1\].*int32/ : e.backend === 'webgpu' ? /loop over 4\.29e9 window taps/ : /workspace/);
        }
        await normalRun(e, k);
      }
      // A proper pool still runs everywhere: k = 2 with one row of padding on top.
      expect(await runOnnx(poolModel(2), e, { x })).toEqual([1, 2, 3, 4]);
      await normalRun(e, 3);
    });
  }

  it('the check is per binding of the symbolic dims: a batch too large for the limit is refused, a small one then runs', async () => {
    const f = (x: tf.Tensor) => tf.sum(tf.tile(x, [1, 1 << 20]), 1);
    const g = gc.trace(f, [gc.spec(['n', 1])]);
    for (const e of ENGINES) {
      const s = await gc.Session.create(g, { backend: e.backend, executor: e.executor });
      const name = g.inputs[0]!.name!;
      const err = await gcErrorOf(s.run('output_0', { [name]: tf.ones([600, 1]) }));
      expect(err.code, label(e)).toBe('GC0404');
      expect(err.message).toMatch(/^error\[GC0404\]: while executing %\w+ = broadcast_to %\w+: its result/); // a tile of [n,1] by [1,2^20] is traced as a broadcast
      expect(err.message).toContain('[600,1048576]');
      expect(err.message).toMatch(/2\.34 GiB/);
      expect(err.message).toMatch(/limit: 2147483648 bytes per tensor, from the default/);
      expect(err.help).toMatch(/maxTensorBytes/);
      const y = await s.run('output_0', { [name]: tf.tensor([[2], [-3]]) }) as tf.Tensor;
      expect(Array.from(y.dataSync())).toEqual([2 * 2 ** 20, -3 * 2 ** 20]);
      s.dispose();
    }
  });

  it('property: a result runs iff its bytes are within the limit, set by option, environment or gc.compile', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 64, max: 20000 }),
      fc.constantFrom<Engine>(...ENGINES), fc.constantFrom('option', 'env', 'compile'),
      async (a, b, limit, e, how) => {
        const fn = (x: tf.Tensor) => tf.sum(tf.broadcastTo(x, [a, b]));
        const feed = tf.tensor([0.5]);
        const within = a * b * 4 <= limit;
        let run: () => Promise<tf.Tensor>;
        if (how === 'compile') {
          const f = gc.compile(fn, { inputs: [gc.spec([1])], backend: e.backend, maxTensorBytes: limit });
          run = async () => { try { return await f(feed) as tf.Tensor; } finally { f.dispose(); } };
        } else {
          if (how === 'env') process.env[MAX_TENSOR_BYTES_ENV] = String(limit);
          const s = await gc.Session.create(gc.trace(fn, [gc.spec([1])]), { backend: e.backend, executor: e.executor, ...(how === 'option' ? { maxTensorBytes: limit } : {}) });
          delete process.env[MAX_TENSOR_BYTES_ENV];
          run = async () => { try { return await s.run('output_0', { x: feed }) as tf.Tensor; } finally { s.dispose(); } };
        }
        if (within) {
          expect((await run()).dataSync()[0]).toBe(0.5 * a * b);
        } else {
          const err = await gcErrorOf(run());
          expect(err.code).toBe('GC0404');
          expect(err.message).toContain(`[${a},${b}]`);
          expect(err.message).toContain(`limit: ${limit} bytes per tensor, from ${how === 'env' ? MAX_TENSOR_BYTES_ENV : 'the maxTensorBytes option'}`);
        }
      }), { numRuns: 40, seed: 9 });
  });

  it('limits read from the option and the environment; bad values are GcErrors', () => {
    expect(parseBytes('4GiB')).toBe(4 * 2 ** 30);
    expect(parseBytes('512 MiB')).toBe(512 * 2 ** 20);
    expect(parseBytes('3GB')).toBe(3e9);
    expect(parseBytes('1024')).toBe(1024);
    expect(parseBytes('Infinity')).toBe(Infinity);
    expect(parseBytes('lots')).toBeUndefined();
    expect(resolveTensorLimit(undefined, undefined)).toEqual({ bytes: 2 ** 31, source: 'the default' });
    expect(resolveTensorLimit(undefined, '1MiB')).toEqual({ bytes: 2 ** 20, source: MAX_TENSOR_BYTES_ENV });
    expect(resolveTensorLimit(4096, '1MiB')).toEqual({ bytes: 4096, source: 'the maxTensorBytes option' });
    expect(() => resolveTensorLimit(undefined, 'lots')).toThrow(/GC0409.*GRAPHC_MAX_TENSOR_BYTES="lots" is not a number of bytes/s);
    for (const bad of [0, -1, 1.5, NaN]) expect(() => resolveTensorLimit(bad)).toThrow(gc.GcError);
  });

  it('a raised limit still meets the engine: wasm refuses what it cannot address, cpu runs what fits the limit', async () => {
    const m = expandModel([3, 2 ** 29]); // 1.5 Gi elements, 6 GiB of float32
    const err = await gcErrorOf(runOnnx(m, { backend: 'wasm' }, { x: tf.tensor([1]) }, { maxTensorBytes: Infinity }));
    expect(err.code).toBe('GC0405');
    expect(err.message).toMatch(/heap grows to 4 GiB at most/);
    await normalRun({ backend: 'wasm' }, 4);
  });

  it('the wasm heap guard: an allocation that would wrap or fail is a GcError and nothing is written', async () => {
    // A wasm session's run puts the guard in place.
    await normalRun({ backend: 'wasm' }, 7);
    const wasm = (tf.engine().registry['wasm'] as unknown as { wasm: { _malloc(n: number): number; _free(p: number): void } }).wasm;
    expect(() => wasm._malloc(2 ** 33 + 16)).toThrow(/GC0407.*asked for 8 GiB/s);
    expect(() => wasm._malloc(1.5)).toThrow(gc.GcError);
    // With any heap, this request would wrap the allocator's 32-bit end of heap: it handed back a block in use.
    expect(() => wasm._malloc(WASM_HEAP_MAX)).toThrow(/GC0407.*cannot allocate 4 GiB safely/s);
    const p = wasm._malloc(64);
    expect(p).toBeGreaterThan(0);
    wasm._free(p);
    // tfjs's own allocations go through it too.
    const prev = tf.getBackend();
    await tf.setBackend('wasm');
    try {
      const be = tf.engine().registry['wasm'] as unknown as { makeOutput(shape: number[], dtype: string): unknown };
      expect(() => be.makeOutput([2 ** 31, 2], 'float32')).toThrow(/GC0407/);
      expect(Array.from(tf.add(tf.tensor([1, 2]), tf.tensor([3, 4])).dataSync())).toEqual([4, 6]);
    } finally {
      await tf.setBackend(prev);
    }
    await normalRun({ backend: 'wasm' }, 5);
  });
});

describe('int64 at run time: values int32 cannot hold are errors, never wrapped', () => {
  const gatherModel = (idx: number | undefined) => model({ opset: 13, nodes: [node('Gather', ['x', 'i'], ['y'])],
    inputs: [valueInfo('x', T.FLOAT, [4]), ...(idx === undefined ? [valueInfo('i', T.INT64, [1])] : [])], outputs: [valueInfo('y', T.FLOAT, [1])],
    initializers: idx === undefined ? [] : [tensor('i', T.INT64, [1], [idx])] });
  const x = () => tf.tensor([10, 11, 12, 13]);

  for (const e of ALL_ENGINES) {
    it(`${label(e)}: an int64 index 2^32+1 (initializer, BigInt64Array or number feed) is an error; in-range and negative indices are ONNX's`, async () => {
      // The importer may refuse the initializer itself; either way no element is read.
      expect((await gcErrorOf(runOnnx(gatherModel(2 ** 32 + 1), e, { x: x() }))).message).toMatch(/4294967297/);
      // An int64 constant in the IR (as passes and the importer make them) reaches the engine: refused there.
      const g = gc.parseGraph(`graph @f(%x: f32[4]) {
  %0: i64[1] = const {value = dense<i64[1]> [4294967297]}
  %1: f32[1] = gather %x, %0 {axis = 0, batch_dims = 0}
  return y = %1
}`);
      const s = await gc.Session.create(g, { backend: e.backend, executor: e.executor });
      const init = await gcErrorOf(s.run('y', { x: x() }));
      s.dispose();
      expect(init.code).toBe('GC0408');
      expect(init.message).toMatch(/const %\w+: i64\[1\] \(used by .*gather.*\): element 0 is 4294967297, outside the int32 range/);
      for (const feed of [new BigInt64Array([2n ** 32n + 1n]), [2 ** 32 + 1], new Float64Array([2 ** 32 + 1])]) {
        const err = await gcErrorOf(runOnnx(gatherModel(undefined), e, { x: x(), i: feed }));
        expect(err.message).toMatch(/input 'i': element 0 is 4294967297, outside the int32 range/);
      }
      // ONNX Gather takes -4..3 here; past that ONNX Runtime fails, so does graphc (no garbage read).
      for (const [i, want] of [[3, 13], [-4, 10], [-1, 13]] as const) {
        expect(await runOnnx(gatherModel(i), e, { x: x() })).toEqual([want]);
        expect(await runOnnx(gatherModel(undefined), e, { x: x(), i: new BigInt64Array([BigInt(i)]) })).toEqual([want]);
      }
      for (const i of [4, -5, 2 ** 31 - 1]) {
        // (The importer refuses such constant indices; fed, the engine refuses them.)
        const run = runOnnx(gatherModel(undefined), e, { x: x(), i: new BigInt64Array([BigInt(i)]) });
        // tfjs-webgpu's shader reads 0 for an index out of range (no sync read to check it by): never another element.
        if (e.backend === 'webgpu') expect(await run).toEqual([0]);
        else expect((await gcErrorOf(run)).message).toMatch(/gather.*index value -?\d+ is not in \[0, 3\]/s);
      }
      await normalRun(e, 6);
    });
  }

  for (const e of ENGINES) {
    it(`${label(e)}: a float cast to int64 past int32 is an error (1e10 read 1410065408); within it, truncation as ONNX's Cast`, async () => {
      const m = model({ opset: 13, nodes: [node('Cast', ['x'], ['c'], [attr.int('to', T.INT64)]), node('Cast', ['c'], ['y'], [attr.int('to', T.FLOAT)])],
        inputs: [valueInfo('x', T.FLOAT, [3])], outputs: [valueInfo('y', T.FLOAT, [3])] });
      expect(await runOnnx(m, e, { x: [3.7, -2.5, 2 ** 31 - 128] })).toEqual([3, -2, 2 ** 31 - 128]);
      for (const big of [1e10, -(2 ** 31) - 256, Infinity]) {
        const err = await gcErrorOf(runOnnx(m, e, { x: [1, big, 2] }));
        expect(err.code).toBe('GC0408');
        expect(err.message).toMatch(new RegExp(`cast .*element 1 is ${String(big).replace('+', '\\+')}, which int64 holds but int32`));
      }
      await normalRun(e, 8);
    });
  }

  it('int32 inputs take the whole int32 range from numbers and refuse one past it (2^31 wrapped to -2^31)', async () => {
    const g = gc.trace((a: tf.Tensor) => tf.add(a, tf.scalar(1, 'int32')), [gc.spec([2], 'int32')]);
    for (const e of ENGINES) {
      const s = await gc.Session.create(g, { backend: e.backend, executor: e.executor });
      const name = g.inputs[0]!.name!;
      expect(Array.from((await s.run('output_0', { [name]: [2 ** 31 - 2, -(2 ** 31)] }) as tf.Tensor).dataSync())).toEqual([2 ** 31 - 1, -(2 ** 31) + 1]);
      await expect(s.run('output_0', { [name]: [2 ** 31, 0] })).rejects.toThrow(/element 0 is 2147483648, outside the int32 range/);
      await expect(s.run('output_0', { [name]: new Uint32Array([0, 2 ** 32 - 1]) })).rejects.toThrow(/element 1 is 4294967295, outside the int32 range/);
      s.dispose();
    }
  });
});

describe('feeds: converted exactly or a GcError', () => {
  it('a ragged nested array with as many numbers as a rectangle is refused (it was read as the rectangle)', async () => {
    for (const e of ENGINES) {
      const g = gc.trace((a: tf.Tensor) => tf.mul(a, 2), [gc.spec([3, 2])]);
      const s = await gc.Session.create(g, { backend: e.backend, executor: e.executor });
      const name = g.inputs[0]!.name!;
      await expect(s.run('output_0', { [name]: [[1, 2], [3, 4, 5], [6]] })).rejects.toThrow(/the nested array is ragged: element \[1\] has 3 entries where the first has 2/);
      await expect(s.run('output_0', { [name]: [[1, 2], [3, [4]], [5, 6]] })).rejects.toThrow(/element \[1,1\] is an array/);
      await expect(s.run('output_0', { [name]: [[1, 2], 3, [5, 6]] })).rejects.toThrow(/element 1 is number where a row of 2 is expected/);
      const cyclic: unknown[] = [];
      cyclic.push(cyclic, cyclic, cyclic);
      await expect(s.run('output_0', { [name]: cyclic as number[][] })).rejects.toThrow(gc.GcError);
      expect(Array.from((await s.run('output_0', { [name]: [[1, 2], [3, 4], [5, 6]] }) as tf.Tensor).dataSync())).toEqual([2, 4, 6, 8, 10, 12]);
      s.dispose();
    }
  });

  type Kind = { name: string; make: (vals: number[]) => unknown; accepts: (vals: number[], dtype: string) => boolean };
  const int32ok = (v: number) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31;
  const typed = (C: { new (a: ArrayLike<number>): ArrayLike<number> }, name: string): Kind => ({
    name, make: (vals) => new C(vals), accepts: (vals, dtype) => dtype !== 'int32' || Array.from(new C(vals)).every(int32ok),
  });
  const KINDS: Kind[] = [
    { name: 'number[]', make: (v) => v, accepts: (v, d) => d !== 'int32' || v.every(int32ok) },
    { name: 'number[][] for a rank-1 input', make: (v) => [v], accepts: () => false },
    typed(Float64Array, 'Float64Array'), typed(Float32Array, 'Float32Array'), typed(Int8Array, 'Int8Array'), typed(Uint8Array, 'Uint8Array'),
    typed(Uint8ClampedArray, 'Uint8ClampedArray'), typed(Int16Array, 'Int16Array'), typed(Uint16Array, 'Uint16Array'),
    typed(Int32Array, 'Int32Array'), typed(Uint32Array, 'Uint32Array'),
    { name: 'BigInt64Array', make: (v) => BigInt64Array.from(v, (x) => BigInt(Math.trunc(x))), accepts: (v, d) => d !== 'int32' || v.every((x) => int32ok(Math.trunc(x))) },
    { name: 'null', make: () => null, accepts: () => false },
    { name: 'undefined', make: () => undefined, accepts: () => false },
    { name: 'plain object', make: (v) => ({ ...v }), accepts: () => false },
    { name: 'string', make: (v) => v.join(','), accepts: () => false },
    { name: 'disposed tensor', make: (v) => { const t = tf.tensor(v); t.dispose(); return t; }, accepts: () => false },
  ];
  /** What a kind's values become in the input's dtype. */
  const expectedOf = (kind: Kind, vals: number[], dtype: string): number[] => {
    const stored = kind.name === 'BigInt64Array' ? vals.map(Math.trunc) : kind.name.endsWith('Array') && !kind.name.startsWith('number')
      ? Array.from((kind.make(vals) as ArrayLike<number>)) : vals;
    if (dtype === 'bool') return stored.map((v) => (v !== 0 ? 0 : 1)); // logicalNot of x ≠ 0
    if (dtype === 'float32') return stored.map(Math.fround);
    return stored;
  };

  it('property: dtypes × feed kinds × backends (cpu, wasm, auto): right values or a GcError, never another error', async () => {
    const sessions = new Map<string, gc.Session>();
    const sessionFor = async (dtype: 'float32' | 'int32' | 'bool', e: Engine) => {
      const key = `${dtype}/${label(e)}`;
      let s = sessions.get(key);
      if (s === undefined) {
        const fn = dtype === 'bool' ? (x: tf.Tensor) => tf.logicalNot(x) : (x: tf.Tensor) => tf.add(x, tf.scalar(0, dtype));
        s = await gc.Session.create(gc.trace(fn, [gc.spec([3], dtype)]), { backend: e.backend, executor: e.executor });
        sessions.set(key, s);
      }
      return s;
    };
    const value = fc.oneof(fc.integer({ min: -300, max: 300 }), fc.integer(), fc.double({ noNaN: false }), fc.constantFrom(0, 1, 2, 255, 2 ** 31, -(2 ** 31), 2 ** 32 + 1, 0.5, -0.5, NaN));
    await fc.assert(fc.asyncProperty(
      fc.array(value, { minLength: 3, maxLength: 3 }), fc.constantFrom(...KINDS), fc.constantFrom('float32', 'int32', 'bool') as fc.Arbitrary<'float32' | 'int32' | 'bool'>,
      fc.constantFrom(...ENGINES),
      async (vals, kind, dtype, e) => {
        // BigInt(NaN) is the test's own TypeError, and BigInt64Array.from wraps past int64 by itself.
        if (kind.name === 'BigInt64Array' && !vals.every((v) => Number.isFinite(v) && Math.abs(v) < 2 ** 63)) return;
        const s = await sessionFor(dtype, e);
        const feed = kind.make(vals) as gc.Feed;
        const accepted = kind.accepts(vals, dtype);
        let y: tf.Tensor;
        try {
          y = await s.run('output_0', { x: feed }) as tf.Tensor;
        } catch (err) {
          expect(err, `${kind.name} → ${dtype} on ${label(e)}: ${(err as Error).message}`).toBeInstanceOf(gc.GcError);
          expect(accepted, `${kind.name} [${vals}] → ${dtype} on ${label(e)} was refused: ${(err as Error).message}`).toBe(false);
          return;
        }
        expect(accepted, `${kind.name} [${vals}] → ${dtype} on ${label(e)} was accepted`).toBe(true);
        const got = Array.from(y.dataSync());
        y.dispose();
        const want = expectedOf(kind, vals, dtype);
        got.forEach((v, i) => expect(Object.is(v, want[i]) || v === want[i], `${kind.name} [${vals}] → ${dtype} on ${label(e)}: [${got}] vs [${want}]`).toBe(true));
      }), { numRuns: 400, seed: 11 });
    for (const s of sessions.values()) s.dispose();
  });

  it('a Uint8Array of a bool input is x ≠ 0 on every engine (logicalNot [0, 2, 255] is [1, 0, 0])', async () => {
    for (const e of ENGINES) {
      const g = gc.trace((b: tf.Tensor) => tf.logicalNot(b), [gc.spec([3], 'bool')]);
      const s = await gc.Session.create(g, { backend: e.backend, executor: e.executor });
      for (const feed of [new Uint8Array([0, 2, 255]), [0, 2, 255], [false, true, true]]) {
        expect(Array.from((await s.run('output_0', { b: feed as gc.Feed }) as tf.Tensor).dataSync()), label(e)).toEqual([1, 0, 0]);
      }
      s.dispose();
    }
  });
});
