/**
 * Backend 'onnxruntime': plans run in ONNX Runtime behind the same Session and gc.compile API,
 * with the same results as the tfjs engines (training steps included), any named value
 * fetchable, variables shared with tfjs, random ops fresh per run and reproducible by seed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import { BackendUnavailableError, ensureBackend } from '../../../runtime/backends/select.js';
import { ortRunsSynchronously } from '../../../runtime/backends/onnxruntime.js';
import { rng } from '../../exporters/onnx/harness.js';

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

beforeAll(async () => {
  await ensureBackend('wasm');
  await tf.setBackend('cpu');
});

describe('backend onnxruntime: training', () => {
  it('an MLP Adam step equals eager tfjs within 1e-4 over 25 steps, and the variables end equal', async () => {
    const [F, H, C, B, STEPS] = [12, 32, 4, 16, 25];
    const r = rng(11);
    const init = [tf.tensor2d(Float32Array.from({ length: F * H }, () => (r() - 0.5) * 0.6), [F, H]), tf.zeros([H]), tf.tensor2d(Float32Array.from({ length: H * C }, () => (r() - 0.5) * 0.6), [H, C])];
    // Labels of a fixed linear teacher: learnable, so the loss falls.
    const teacher = tf.tensor2d(Float32Array.from({ length: F * C }, () => r() * 2 - 1), [F, C]);
    const data = Array.from({ length: STEPS }, () => {
      const x = tf.tensor2d(Float32Array.from({ length: B * F }, () => r() * 2 - 1), [B, F]);
      return { x, y: tf.oneHot(tf.argMax(tf.matMul(x, teacher), 1), C).toFloat() };
    });
    const run = async (compiled: boolean) => {
      const [w1, b1, w2] = init.map((t) => tf.variable(t.clone())) as [tf.Variable, tf.Variable, tf.Variable];
      const opt = tf.train.adam(0.02);
      const step = (x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2)) as tf.Scalar, true)!;
      const f = compiled ? gc.compile(step, { inputs: [gc.spec(['batch', F]), gc.spec(['batch', C])], backend: 'onnxruntime' }) : undefined;
      const losses: number[] = [];
      for (const d of data) losses.push((await (f ? (await f(d.x, d.y)) as tf.Tensor : step(d.x, d.y)).data())[0]!);
      const weights = [await w1.data(), await w2.data()];
      f?.dispose();
      for (const v of [w1, b1, w2]) v.dispose();
      opt.dispose();
      return { losses, weights };
    };
    const eager = await run(false);
    const ort = await run(true);
    expect(eager.losses[STEPS - 1]!).toBeLessThan(eager.losses[0]! * 0.7);
    expect(maxDiff(ort.losses, eager.losses)).toBeLessThan(1e-4);
    expect(maxDiff(ort.weights[0]!, eager.weights[0]!)).toBeLessThan(1e-4);
    expect(maxDiff(ort.weights[1]!, eager.weights[1]!)).toBeLessThan(1e-4);
  });

  it('reads a variable the user assigned between steps, and shares its new value with tfjs', async () => {
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, 'ort_shared_w');
    const f = gc.compile((x: tf.Tensor) => { w.assign(tf.add(w, x)); return tf.sum(w); }, { inputs: [gc.spec([3])], backend: 'onnxruntime' });
    expect(Array.from(await ((await f(tf.tensor1d([1, 1, 1]))) as tf.Tensor).data())).toEqual([9]);
    expect(Array.from(await w.data())).toEqual([2, 3, 4]);
    // Fed again without a copy (the engine's own result), then assigned by the user: the next step reads the user's value.
    expect(Array.from(await ((await f(tf.tensor1d([1, 1, 1]))) as tf.Tensor).data())).toEqual([12]);
    w.assign(tf.tensor1d([10, 20, 30]));
    expect(Array.from(await ((await f(tf.tensor1d([0, 0, 1]))) as tf.Tensor).data())).toEqual([61]);
    expect(Array.from(await w.data())).toEqual([10, 20, 31]);
    // Eager tfjs on another backend reads it too.
    const onWasm = await (async () => { await tf.setBackend('wasm'); try { return Array.from(await tf.mul(w, 2).data()); } finally { await tf.setBackend('cpu'); } })();
    expect(onWasm).toEqual([20, 40, 62]);
    expect(() => f.sync(tf.tensor1d([0, 0, 0]))).toThrow(/runs asynchronously only/);
    f.dispose();
    w.dispose();
  });
});

describe('backend onnxruntime: synchronous runs', () => {
  it('runs on the native binding once the plan\'s session is made: results outlive a tf.tidy around the call, inputs freed by it were read', async () => {
    // onnxruntime-node 1.20–1.30 keep their binding in dist/binding.js; a version that moves it
    // falls back to the public API (onnxruntime_public_api.test.ts) and fails this check first.
    expect(ortRunsSynchronously()).toBe(true);
    const f = gc.compile((x: tf.Tensor) => tf.mul(tf.relu(x), 2), { inputs: [gc.spec([3])], backend: 'onnxruntime' });
    const first = (await f(tf.tensor1d([1, -1, 2]))) as tf.Tensor;
    expect(Array.from(await first.data())).toEqual([2, 0, 4]);
    first.dispose();
    const before = tf.memory().numTensors;
    let p: Promise<unknown> | undefined;
    tf.tidy(() => { p = f(tf.tensor1d([-3, 4, 5])); });
    const y = (await p!) as tf.Tensor;
    expect(y.isDisposed).toBe(false);
    expect(Array.from(await y.data())).toEqual([0, 8, 10]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    f.dispose();
  });
});

describe('backend onnxruntime: feeds held by tfjs-wasm', () => {
  it('are read in place from the wasm heap on synchronous runs: float32 and int32, at several offsets, one tensor fed twice, left unchanged', async () => {
    const f = gc.compile((a: tf.Tensor, b: tf.Tensor, i: tf.Tensor) => tf.add(tf.mul(a, b), tf.cast(i, 'float32')), { inputs: [gc.spec(['n']), gc.spec(['n']), gc.spec(['n'], 'int32')], backend: 'onnxruntime' });
    const r = rng(5);
    for (let round = 0; round < 4; round++) {
      const n = 50 + round * 37;
      const av = Float32Array.from({ length: n }, () => r() * 4 - 2), bv = Float32Array.from({ length: n }, () => r() * 4 - 2), iv = Int32Array.from({ length: n }, () => Math.floor(r() * 20 - 10));
      await tf.setBackend('wasm');
      const pad = tf.zeros([round * 13 + 1]);  // moves later tensors to other heap offsets
      const a = tf.tensor1d(av), b = tf.tensor1d(bv), i = tf.tensor1d(iv, 'int32');
      await tf.setBackend('cpu');
      for (const [x, y] of [[a, b], [a, a]] as const) {
        const yv = x === y ? av : bv;
        const out = (await f(x, y, i)) as tf.Tensor;
        const got = await out.data();
        for (let k = 0; k < n; k++) expect(Math.abs(got[k]! - (av[k]! * yv[k]! + iv[k]!))).toBeLessThan(1e-5);
        out.dispose();
      }
      expect(Array.from(await a.data())).toEqual(Array.from(av));
      expect(Array.from(await i.data())).toEqual(Array.from(iv));
      tf.dispose([pad, a, b, i]);
    }
    f.dispose();
  });
});

describe('backend onnxruntime: sessions', () => {
  it('a matmul whose inner dim is 0 only at run time gives zeros (fuzz seed 200167: ORT left the result uninitialised)', async () => {
    const f = gc.compile((a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, true, false), { inputs: [gc.spec(['batch', 'n', 1]), gc.spec(['batch', 'n', 2])], backend: 'onnxruntime' });
    for (let round = 0; round < 3; round++) {
      const empty = (await f(tf.zeros([3, 0, 1]), tf.zeros([3, 0, 2]))) as tf.Tensor;
      expect(empty.shape).toEqual([3, 1, 2]);
      expect(Array.from(await empty.data())).toEqual([0, 0, 0, 0, 0, 0]);
    }
    const full = (await f(tf.tensor3d([[[1], [2]]]), tf.tensor3d([[[3, 4], [5, 6]]]))) as tf.Tensor;
    expect(Array.from(await full.data())).toEqual([13, 16]);
    const g = gc.compile((a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b), { inputs: [gc.spec([2, 'k']), gc.spec(['k', 3])], backend: 'onnxruntime' });
    expect(Array.from(await ((await g(tf.zeros([2, 0]), tf.zeros([0, 3]))) as tf.Tensor).data())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(await ((await g(tf.ones([2, 2]), tf.ones([2, 3]))) as tf.Tensor).data())).toEqual([2, 2, 2, 2, 2, 2]);
    // 2-D operands are a Gemm, which takes no guard: zeros on an arena that held a product of the same size before.
    for (const [ta, tb] of [[true, false], [false, true], [true, true]] as const) {
      const h = gc.compile((a: tf.Tensor, b: tf.Tensor) => tf.relu(tf.matMul(a, b, ta, tb)), { inputs: [gc.spec(ta ? ['k', 64] : [64, 'k']), gc.spec(tb ? [48, 'k'] : ['k', 48])], backend: 'onnxruntime' });
      for (let round = 0; round < 4; round++) {
        const k = round % 2 === 0 ? 16 : 0;
        const y = (await h(tf.fill(ta ? [k, 64] : [64, k], 1.5), tf.fill(tb ? [48, k] : [k, 48], 2))) as tf.Tensor;
        const v = await y.data();
        expect(y.shape).toEqual([64, 48]);
        expect(v.every((x) => x === 3 * k)).toBe(true);
        y.dispose();
      }
      h.dispose();
    }
    f.dispose(); g.dispose();
  });

  it('a variable baked into a predict session as a constant is read again after the user assigns it, every time', async () => {
    const w = tf.variable(tf.tensor2d([[1, 2], [3, 4]]), true, 'ort_baked_w');
    const f = gc.compile((x: tf.Tensor) => tf.matMul(x, w), { inputs: [gc.spec(['n', 2])], backend: 'onnxruntime' });
    const x = tf.tensor2d([[1, 1]]);
    const run = async () => Array.from(await ((await f(x)) as tf.Tensor).data());
    expect(await run()).toEqual([4, 6]);
    expect(await run()).toEqual([4, 6]);
    for (let k = 1; k <= 4; k++) {
      w.assign(tf.tensor2d([[k, 0], [0, k]]));
      expect(await run()).toEqual([k, k]);
    }
    f.dispose();
    w.dispose();
  });

  it('fetches any named value, inputs and variables, for any batch size, fed from tfjs-wasm, as a tfjs-cpu session computes them', async () => {
    const w = tf.variable(tf.tensor2d([[1, -2], [3, 4], [-5, 6]]), true, 'ort_fetch_w');
    const g = gc.trace((x: tf.Tensor) => {
      const h = gc.name(tf.matMul(x, w), 'pre');
      return tf.sum(tf.relu(h), 1);
    }, [gc.spec(['n', 3])]);
    const ort = await gc.Session.create(g, { backend: 'onnxruntime' });
    const cpu = await gc.Session.create(g, { backend: 'cpu' });
    const out = g.outputs[0]!.name;
    for (const n of [1, 5, 2]) {
      await tf.setBackend('wasm');
      const x = tf.randomNormal([n, 3], 0, 1, 'float32', n);
      await tf.setBackend('cpu');
      const a = (await ort.run([out, 'pre', 'x', 'ort_fetch_w'], { x })) as tf.Tensor[];
      const b = (await cpu.run([out, 'pre', 'x', 'ort_fetch_w'], { x })) as tf.Tensor[];
      expect(a.map((t) => t.shape)).toEqual([[n], [n, 2], [n, 3], [3, 2]]);
      for (let i = 0; i < 4; i++) expect(maxDiff(await a[i]!.data(), await b[i]!.data())).toBeLessThan(1e-5);
      x.dispose();
    }
    expect(() => ort.runSync(out, { x: tf.zeros([1, 3]) })).toThrow(/runs asynchronously/);
    ort.dispose(); cpu.dispose(); w.dispose();
  });

  it('a fetched input or variable is a copy on tfjs-cpu with its values, also where tfjs-cpu keeps a float32 in a Uint8Array or Int32Array and the global backend is wasm (fuzz seeds 588, 884)', async () => {
    // tfjs-cpu keeps a float32 cast from bool in a Uint8Array, from int32 in an Int32Array; tf.clone()
    // under wasm moves that array to wasm as raw bytes (1 reads as 1.4e-45).
    const x = tf.tidy(() => tf.cast(tf.greater(tf.tensor1d([1, 0, 1]), 0.5), 'float32'));
    const w = tf.variable(tf.tidy(() => tf.cast(tf.tensor1d([-5, 7, 2], 'int32'), 'float32')), false, 'ort_fetch_noncanonical_w');
    const f = gc.compile((a: tf.Tensor) => [a, w, tf.add(a, w)], { inputs: [gc.spec([3])], backend: 'onnxruntime' });
    await tf.setBackend('wasm');
    try {
      for (let k = 0; k < 2; k++) {
        const res = (await f(x)) as unknown as tf.Tensor[];
        expect(res.map((t) => t.dtype)).toEqual(['float32', 'float32', 'float32']);
        expect(Array.from(await res[0]!.data())).toEqual([1, 0, 1]);
        expect(Array.from(await res[1]!.data())).toEqual([-5, 7, 2]);
        expect(Array.from(await res[2]!.data())).toEqual([-4, 7, 3]);
        tf.dispose(res);
      }
    } finally {
      await tf.setBackend('cpu');
    }
    expect(Array.from(await x.data())).toEqual([1, 0, 1]);
    f.dispose(); x.dispose(); w.dispose();
  });

  it('int32, int64 and bool values cross both ways', async () => {
    const g = gc.trace((i: tf.Tensor, b: tf.Tensor) => {
      const idx = tf.argMax(tf.cast(i, 'float32'), 1);
      return [tf.add(idx, tf.scalar(1, 'int32')), tf.logicalNot(b), tf.cast(b, 'int32')];
    }, [gc.spec([2, 3], 'int32'), gc.spec([4], 'bool')]);
    const ort = await gc.Session.create(g, { backend: 'onnxruntime' });
    const res = (await ort.run(g.outputs.map((o) => o.name), { i: tf.tensor2d([[1, 9, 3], [7, 2, 8]], [2, 3], 'int32'), b: tf.tensor1d([1, 0, 0, 1], 'bool') })) as tf.Tensor[];
    expect(res.map((t) => t.dtype)).toEqual(['int32', 'bool', 'int32']);
    expect(Array.from(await res[0]!.data())).toEqual([2, 3]);
    expect(Array.from(await res[1]!.data())).toEqual([0, 1, 1, 0]);
    expect(Array.from(await res[2]!.data())).toEqual([1, 0, 0, 1]);
    ort.dispose();
  });

  it('random ops draw fresh values each run; a seed makes the sequence reproducible', async () => {
    const g = gc.trace((x: tf.Tensor) => tf.add(x, tf.randomUniform([64])), [gc.spec([64])]);
    const out = g.outputs[0]!.name;
    const draws = async (seed?: number) => {
      const s = await gc.Session.create(g, { backend: 'onnxruntime', ...(seed !== undefined ? { seed } : {}) });
      const a = [];
      for (let k = 0; k < 3; k++) a.push(Array.from(await ((await s.run(out, { x: tf.zeros([64]) })) as tf.Tensor).data()));
      s.dispose();
      return a;
    };
    const s1 = await draws(5), s2 = await draws(5), s3 = await draws(6), free = await draws();
    expect(s1).toEqual(s2);
    expect(s1[0]).not.toEqual(s1[1]);
    expect(s1[0]).not.toEqual(s3[0]);
    expect(free[0]).not.toEqual(free[1]);
    for (const v of s1.flat()) { expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThan(1); }
  });

  it('an execution provider that does not work here is an error naming it', async () => {
    let err: unknown;
    try { await gc.Session.create(gc.trace((x: tf.Tensor) => tf.neg(x), [gc.spec([2])]), { backend: 'onnxruntime', executionProviders: ['cuda'] }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(/execution provider 'cuda' does not work here/);
    let bad: unknown;
    try { await gc.Session.create(gc.trace((x: tf.Tensor) => tf.neg(x), [gc.spec([2])]), { backend: 'onnxruntime', executionProviders: ['tpu' as 'cpu'] }); } catch (e) { bad = e; }
    expect((bad as Error).message).toMatch(/unknown execution provider 'tpu'/);
  });
});

afterAll(async () => { await tf.setBackend('cpu'); });
