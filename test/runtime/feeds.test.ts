/**
 * Every feed a user can hand over gives eager's numbers or a clear GcError: tensors of every
 * dtype and backing store, living on another backend than the session's; numbers, nested
 * arrays and typed arrays of any kind; zero-size and large batches; NaN/Inf; disposed tensors.
 *
 * Regression: tfjs-cpu keeps whatever store a kernel produced (tf.cast(bool → float32) keeps a
 * Uint8Array), and moving such a tensor to wasm copied its bytes as float bits: the label idiom
 * `tf.cast(tf.greater(x, 0), 'float32')` made on cpu and fed to the default (wasm) session read 4.7e-38.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import * as gc from 'graphc';
import { ensureBackend } from '../../runtime/backends/select.js';

type Maker = (b: string) => tf.Tensor;

/** Runs `f` with tfjs's global backend set to `name` (restored after). */
function on<T>(name: string, f: () => T): T {
  const prev = tf.getBackend();
  tf.setBackend(name);
  try { return f(); } finally { tf.setBackend(prev); }
}

function storeOf(t: tf.Tensor): string {
  const info = (tf.engine() as unknown as { state: { tensorInfo: { get(id: object): { backend: { data?: { get(id: object): { values?: unknown } } } } } } }).state.tensorInfo.get(t.dataId);
  return (info.backend.data?.get(t.dataId)?.values as object | undefined)?.constructor.name ?? 'heap';
}

const near = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i]!)) expect(Number.isNaN(a[i]!), `element ${i}`).toBe(true);
    else if (!Number.isFinite(b[i]!)) expect(a[i], `element ${i}`).toBe(b[i]);
    else expect(Math.abs(a[i]! - b[i]!), `element ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(b[i]!)));
  }
};

describe('feeds by storage and backend', () => {
  beforeAll(async () => {
    await ensureBackend('wasm');
    await ensureBackend('cpu');
    await tf.setBackend('cpu');
  });

  it('the label idiom: a cast-bool float32 made on tfjs-cpu, fed to the default (auto) session', async () => {
    const labels = tf.cast(tf.greater(tf.tensor([1, -1, 2, 3]), 0), 'float32');
    expect(storeOf(labels)).toBe('Uint8Array'); // the store that used to be read as float bits
    const f = gc.compile((y: tf.Tensor) => tf.mul(y, 2), { inputs: [gc.spec([4])] });
    const out = await f(labels) as tf.Tensor;
    expect(Array.from(out.dataSync())).toEqual([2, 0, 2, 2]);
    const asFloat = tf.cast(tf.tensor([1, -2, 3, 40000], [4], 'int32'), 'float32');
    expect(storeOf(asFloat)).toBe('Int32Array');
    expect(Array.from((await f(asFloat) as tf.Tensor).dataSync())).toEqual([2, -4, 6, 80000]);
    // The user's tensors are untouched and stay on their backend.
    expect(Array.from(labels.dataSync())).toEqual([1, 0, 1, 1]);
    f.dispose();
  });

  // Tensors of each dtype, made by kernels that leave different stores on tfjs-cpu.
  const makers: Record<string, Maker> = {
    'f32 plain': () => tf.tensor([[1.5, -2, 0], [3, 1e-3, -7]]),
    'f32 from bool': () => tf.cast(tf.greater(tf.tensor([[1, -1, 0], [2, -3, 4]]), 0), 'float32'),
    'f32 from int32': () => tf.cast(tf.tensor([[1, -2, 3], [4, 2147483, -6]], [2, 3], 'int32'), 'float32'),
    'f32 NaN/Inf': () => tf.tensor([[NaN, Infinity, -Infinity], [0, -0, 3.4e38]]),
    'i32 plain': () => tf.tensor([[1, -2, 3], [4, 5, -6]], [2, 3], 'int32'),
    'i32 from bool': () => tf.cast(tf.less(tf.tensor([[1, -1, 0], [2, -3, 4]]), 0), 'int32'),
    'i32 from f32': () => tf.cast(tf.tensor([[1.7, -2.2, 3.9], [4, 5, -6]]), 'int32'),
    'bool plain': () => tf.tensor([[true, false, true], [false, false, true]], [2, 3], 'bool'),
    'bool from f32': () => tf.cast(tf.tensor([[0.5, 0, -1], [0, 2, 0]]), 'bool'),
  };

  // f32 → scale; i32 → integer arithmetic; bool → logic; all end in a value eager and compiled must share.
  const fns: Record<string, (x: tf.Tensor) => tf.Tensor> = {
    float32: (x) => tf.add(tf.mul(x, 2), tf.sum(tf.where(tf.isFinite(x), x, tf.zerosLike(x)))),
    int32: (x) => tf.add(tf.mul(x, 3), tf.sum(x)),
    bool: (x) => tf.cast(tf.logicalXor(x, tf.tensor([true, false, false], [3], 'bool')), 'int32'),
  };

  for (const src of ['cpu', 'wasm']) {
    for (const dst of ['cpu', 'wasm', 'auto', 'onnxruntime'] as const) {
      it(`tensors made on ${src}, compiled session on ${dst}: every dtype and store gives eager's numbers`, async () => {
        for (const [label, make] of Object.entries(makers)) {
          const x = on(src, () => make(src));
          const fn = fns[x.dtype]!;
          // Eager on the session's own backend, from a copy with a canonical store.
          const sessionBackend = dst === 'auto' ? 'wasm' : dst === 'onnxruntime' ? 'cpu' : dst;
          const expected = on(sessionBackend, () => fn(tf.tensor(Array.from(x.dataSync()), x.shape, x.dtype))).dataSync();
          const f = gc.compile(fn, { inputs: [gc.spec([null, 3], x.dtype as 'float32')], backend: dst });
          const got = (await f(x) as tf.Tensor).dataSync();
          try { near(got, expected); } catch (e) { throw new Error(`${label} (${src} → ${dst}): ${(e as Error).message}`); }
          f.dispose();
        }
      });
    }
  }

  it('variables held on tfjs-cpu in a non-canonical store are read right by a wasm session, and copied once', async () => {
    const w = tf.variable(tf.cast(tf.greater(tf.tensor([[1, -1], [2, 0]]), 0), 'float32'), true, 'feeds_w_bool');
    expect(storeOf(w)).toBe('Uint8Array');
    const f = gc.compile((x: tf.Tensor) => tf.matMul(x, w), { inputs: [gc.spec([1, 2])], backend: 'wasm' });
    for (let i = 0; i < 3; i++) {
      expect(Array.from((await f(tf.tensor([[3, 5]])) as tf.Tensor).dataSync())).toEqual([8, 0]);
    }
    const n = tf.memory().numTensors;
    (await f(tf.tensor([[3, 5]])) as tf.Tensor).dispose();
    expect(tf.memory().numTensors).toBe(n + 1); // only the feed made here: no new copy of w per call
    // A change the user makes between calls is seen.
    w.assign(tf.cast(tf.less(tf.tensor([[1, -1], [2, 0]]), 0), 'float32'));
    expect(Array.from((await f(tf.tensor([[3, 5]])) as tf.Tensor).dataSync())).toEqual([0, 3]);
    f.dispose();
  });

  it('Session.run: numbers, booleans, nested arrays of any rank and typed arrays of every kind', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      const g = gc.trace((a: tf.Tensor, m: tf.Tensor, k: tf.Tensor, b: tf.Tensor) =>
        [tf.mul(a, 2), tf.add(m, 1), tf.mul(k, 2), tf.logicalNot(b)],
      [gc.spec([]), gc.spec(['n', 2, 2]), gc.spec([4], 'int32'), gc.spec([], 'bool')]);
      const s = await gc.Session.create(g, { backend });
      const run = async (feeds: Record<string, gc.Feed>) => (await s.run(['output_0', 'output_1', 'output_2', 'output_3'], feeds) as tf.Tensor[]).map((t) => Array.from(t.dataSync()));
      const m = [[[1, 2], [3, 4]], [[5, 6], [7, 8]]];
      const base = { a: 1.5, m, k: [1, 2, 3, 4], b: true };
      expect(await run(base)).toEqual([[3], [2, 3, 4, 5, 6, 7, 8, 9], [2, 4, 6, 8], [0]]);
      // Typed arrays of every kind, flat: the symbolic dim n follows from the length.
      for (const T of [Float32Array, Float64Array, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array]) {
        const r = await run({ ...base, m: new T([1, 2, 3, 4, 5, 6, 7, 8]), k: new T([1, 2, 3, 4]) });
        expect(r[1], T.name).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
        expect(r[2], T.name).toEqual([2, 4, 6, 8]);
      }
      // int64 data for an int32 input, within range; out of range is an error.
      expect((await run({ ...base, k: new BigInt64Array([1n, -2n, 3n, 4n]) }))[2]).toEqual([2, -4, 6, 8]);
      await expect(run({ ...base, k: new BigInt64Array([1n, 2n, 3n, 2n ** 40n]) })).rejects.toThrow(/input 'k': element 3 is 1099511627776, outside the int32 range/);
      // Float data for an int32 input is an error where it is not whole (no silent truncation); a flat number[] fills a higher rank.
      await expect(run({ ...base, k: [1.7, -2.7, 3, 4] })).rejects.toThrow(/input 'k': element 0 is 1.7, not a whole number/);
      expect((await run({ ...base, k: new Float64Array([1, -2, 3, 4]) }))[2]).toEqual([2, -4, 6, 8]);
      expect((await run({ ...base, m: [1, 2, 3, 4] }))[1]).toEqual([2, 3, 4, 5]);
      // Rank-0 nested as [x] is a shape error, not silently accepted.
      await expect(run({ ...base, a: [1.5] })).rejects.toThrow(/input 'a': expected f32\[\], got an array of shape \[1\]/);
      await expect(run({ ...base, a: [1, 2] as unknown as number })).rejects.toThrow(/input 'a'/);
      await expect(run({ ...base, m: [[1, 2], [3]] })).rejects.toThrow(/input 'm'.*ragged/);
      await expect(run({ ...base, m: new Float32Array(6) })).rejects.toThrow(/input 'm': 6 values cannot fill f32\[n,2,2\] \(not a multiple of 4\)/);
      await expect(run({ ...base, m: ['a'] as unknown as number[] })).rejects.toThrow(/input 'm': element 0 is string/);
      await expect(run({ ...base, a: null as unknown as number })).rejects.toThrow(/input 'a': expected a tensor/);
      await expect(run({ ...base, k: new DataView(new ArrayBuffer(16)) })).rejects.toThrow(/DataView/);
      s.dispose();
    }
  });

  it('zero-size and large batches, compiled on cpu, wasm and onnxruntime', async () => {
    for (const backend of ['cpu', 'wasm', 'onnxruntime'] as const) {
      const w = tf.tensor([[1, 2], [3, 4], [5, 6]]);
      const fn = (x: tf.Tensor) => tf.sum(tf.relu(tf.matMul(x, w)), 1);
      const f = gc.compile(fn, { inputs: [gc.spec(['batch', 3])], backend });
      const empty = await f(tf.zeros([0, 3])) as tf.Tensor;
      expect(empty.shape).toEqual([0]);
      const big = tf.randomNormal([50000, 3], 0, 1, 'float32', 7);
      near((await f(big) as tf.Tensor).dataSync(), on(backend === 'onnxruntime' ? 'cpu' : backend, () => fn(big)).dataSync());
      f.dispose();
    }
  });

  it('property: random shapes, dtypes, stores and source backends agree with eager on wasm, cpu and onnxruntime', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 4 }),
      fc.constantFrom(...Object.keys(makers)), fc.constantFrom('cpu', 'wasm'), fc.constantFrom('cpu', 'wasm', 'onnxruntime'),
      async (rows, reps, label, src, dst) => {
        const x = on(src, () => tf.tile(makers[label]!(src), [reps, 1]).slice([0, 0], [Math.min(rows, 2 * reps), 3]));
        const fn = fns[x.dtype]!;
        const expected = on(dst === 'onnxruntime' ? 'cpu' : dst, () => fn(tf.tensor(Array.from(x.dataSync()), x.shape, x.dtype))).dataSync();
        const f = gc.compile(fn, { inputs: [gc.spec(['b', 3], x.dtype as 'float32')], backend: dst as gc.BackendName });
        near((await f(x) as tf.Tensor).dataSync(), expected);
        f.dispose();
      }), { numRuns: 40, seed: 8 });
  });

  it('cast to bool is x ≠ 0 on every backend and executor (tfjs-backend-wasm\'s Cast truncates bytes: 0.5 → false, 256 → false)', async () => {
    const fn = (x: tf.Tensor) => tf.cast(tf.logicalXor(tf.cast(x, 'bool'), tf.tensor([true, false, false], [3], 'bool')), 'int32');
    const x = tf.tensor([[0.5, 0, -1], [256, NaN, 0]]);
    // x ≠ 0: [T,F,T],[T,T,F]; xor [T,F,F] → [F,F,T],[F,T,F]
    for (const backend of ['cpu', 'wasm'] as const) {
      for (const optimize of [true, false]) {
        const f = gc.compile(fn, { inputs: [gc.spec([2, 3])], backend, optimize });
        expect(Array.from((await f(x) as tf.Tensor).dataSync()), `${backend} optimize=${optimize}`).toEqual([0, 0, 1, 0, 1, 0]);
        f.dispose();
      }
    }
    const g = gc.trace(fn, [gc.spec([2, 3])]);
    const s = await gc.Session.create(g, { backend: 'wasm', executor: 'tensors' });
    expect(Array.from((await s.run('output_0', { x }) as tf.Tensor).dataSync())).toEqual([0, 0, 1, 0, 1, 0]);
    // A bool tensor made by tfjs-wasm's own cast holds 2 and 255 for true: fed, it reads as true.
    const wasmBool = on('wasm', () => tf.cast(tf.tensor([2, 0, -1]), 'bool'));
    const h = gc.compile((b: tf.Tensor) => tf.cast(tf.logicalNot(b), 'int32'), { inputs: [gc.spec([3], 'bool')], backend: 'wasm' });
    expect(Array.from((await h(wasmBool) as tf.Tensor).dataSync())).toEqual([0, 1, 0]);
    s.dispose();
  });

  it('a disposed tensor, a disposed session and a disposed compiled function are GcErrors', async () => {
    const f = gc.compile((x: tf.Tensor) => tf.mul(x, 2), { inputs: [gc.spec([2])], backend: 'wasm' });
    const x = tf.tensor([1, 2]);
    x.dispose();
    await expect(f(x)).rejects.toThrow(gc.GcError);
    await expect(f(x)).rejects.toThrow(/input 'x': the tensor was disposed/);
    const s = await f.session();
    f.dispose();
    await expect(s.run('output_0', { x: [1, 2] })).rejects.toThrow(/Session was disposed/);
    await expect(f(tf.tensor([1, 2]))).rejects.toThrow(/compiled function 'f' was disposed/);
  });
});
