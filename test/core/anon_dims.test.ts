import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const inputDims = (f: { graph: gc.Graph }) => f.graph.inputs.map((v) => v.type.shape.map((d) => (typeof d === 'number' ? d : d.sym)));

function caught(f: () => unknown): Error {
  try { f(); } catch (e) { return e as Error; }
  throw new Error('expected an error');
}

describe('anonymous dims that the program forces to be equal become one symbol', () => {
  it('x [null,5] and labels [null,3] of a mean squared error: one batch symbol, and compiled equals eager', async () => {
    const w = tf.variable(tf.randomNormal([5, 3], 0, 1, 'float32', 1), true, 'w_mse');
    const fn = (x: tf.Tensor, y: tf.Tensor) => tf.losses.meanSquaredError(y, tf.matMul(x, w));
    const f = gc.compile(fn, { inputs: [gc.spec([null, 5]), gc.spec([null, 3])], backend: 'cpu' });
    const [dx, dy] = inputDims(f);
    expect(dx![0]).toBe(dy![0]);
    expect(typeof dx![0]).toBe('string');
    for (const n of [4, 9]) {
      const x = tf.randomNormal([n, 5], 0, 1, 'float32', n), y = tf.randomNormal([n, 3], 0, 1, 'float32', n + 1);
      const got = (await f(x, y)) as tf.Tensor;
      expect(Math.abs(got.dataSync()[0]! - (fn(x, y) as tf.Tensor).dataSync()[0]!)).toBeLessThan(1e-6);
    }
    // The merged symbol is checked at run time: batches that differ are a clear error.
    await expect(f(tf.zeros([4, 5]), tf.zeros([6, 3]))).rejects.toThrow(/GC04|symbolic dims must agree|earlier input/);
  });

  it('a training step on tf.layers with x [null,4] and one-hot labels [null,2] (meanSquaredError through a model)', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [4], kernelInitializer: 'ones' })] });
    const opt = tf.train.sgd(0.01);
    const f = gc.compile((x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar, true)!,
      { inputs: [gc.spec([null, 4]), gc.spec([null, 2])], backend: 'cpu' });
    const [dx, dy] = inputDims(f);
    expect(dx![0]).toBe(dy![0]);
    const l = (await f(tf.ones([3, 4]), tf.zeros([3, 2]))) as tf.Tensor;
    expect(l.dataSync()[0]).toBeCloseTo(16, 4);
  });

  it('a layer built lazily in the failed first trace keeps working variables for the retry', async () => {
    const dense = tfl.layers.dense({ units: 2, useBias: false });
    const fn = (x: tf.Tensor, y: tf.Tensor) => tf.losses.meanSquaredError(y, dense.apply(x) as tf.Tensor);
    const f = gc.compile(fn, { inputs: [gc.spec([null, 3]), gc.spec([null, 2])], backend: 'cpu' });
    const kernel = dense.getWeights()[0]!;
    expect(kernel.shape).toEqual([3, 2]);
    expect(Number.isFinite(kernel.dataSync()[0]!)).toBe(true); // real data, not a trace placeholder
    const x = tf.randomNormal([4, 3], 0, 1, 'float32', 5), y = tf.randomNormal([4, 2], 0, 1, 'float32', 6);
    const got = (await f(x, y)) as tf.Tensor;
    expect(Math.abs(got.dataSync()[0]! - (fn(x, y) as tf.Tensor).dataSync()[0]!)).toBeLessThan(1e-6);
  });

  it('truly independent anonymous dims stay independent', async () => {
    const f = gc.compile<tf.Tensor[]>((x: tf.Tensor, y: tf.Tensor) => [tf.sum(x, 0), tf.sum(y, 0)], { inputs: [gc.spec([null, 5]), gc.spec([null, 3])], backend: 'cpu' });
    const [dx, dy] = inputDims(f);
    expect(dx![0]).not.toBe(dy![0]);
    const [a, b] = await f(tf.ones([2, 5]), tf.ones([7, 3]));
    expect(Array.from(a!.dataSync())).toEqual([2, 2, 2, 2, 2]);
    expect(Array.from(b!.dataSync())).toEqual([7, 7, 7]);
  });

  it('mixed: two of three anonymous dims must agree, the third stays free', async () => {
    const f = gc.compile<tf.Tensor[]>((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => [tf.add(x, y), tf.sum(z)],
      { inputs: [gc.spec([null, 3]), gc.spec([null, 3]), gc.spec([null])], backend: 'cpu' });
    const [dx, dy, dz] = inputDims(f);
    expect(dx![0]).toBe(dy![0]);
    expect(dz![0]).not.toBe(dx![0]);
    const [s, t] = await f(tf.ones([2, 3]), tf.ones([2, 3]), tf.ones([5]));
    expect(s!.shape).toEqual([2, 3]);
    expect(t!.dataSync()[0]).toBe(5);
  });

  it('an anonymous dim that must equal a named one joins it', async () => {
    const f = gc.compile((x: tf.Tensor, y: tf.Tensor) => tf.sub(tf.sum(x, 1), y),
      { inputs: [gc.spec(['batch', 4]), gc.spec([null])], backend: 'cpu' });
    const [dx, dy] = inputDims(f);
    expect(dx![0]).toBe('batch');
    expect(dy![0]).toBe('batch');
    const r = (await f(tf.ones([3, 4]), tf.tensor1d([1, 2, 3]))) as tf.Tensor;
    expect(Array.from(r.dataSync())).toEqual([3, 2, 1]);
  });

  it("rank-1: an anonymous dim joins 'batch' where tfjs's error prints the shapes as single numbers", async () => {
    // tf.equal checks broadcasting in tfjs ("shapes 17 and 7"), before any kernel; x2 stays free.
    const f = gc.compile<tf.Tensor[]>((x0: tf.Tensor, x1: tf.Tensor, x2: tf.Tensor) => [tf.equal(x1, x0), tf.logicalNot(x2)],
      { inputs: [gc.spec([null]), gc.spec(['batch']), gc.spec([null], 'bool')], backend: 'cpu' });
    const [d0, d1, d2] = inputDims(f);
    expect(d0![0]).toBe('batch');
    expect(d1![0]).toBe('batch');
    expect(d2![0]).not.toBe('batch');
    const [eq] = await f(tf.tensor1d([1, 2]), tf.tensor1d([1, 3]), tf.tensor1d([true], 'bool'));
    expect(Array.from(eq!.dataSync())).toEqual([1, 0]);
  });

  it('two dims of one input (a square matrix [null,null] times itself)', async () => {
    const f = gc.compile((x: tf.Tensor) => tf.matMul(x, x), { inputs: [gc.spec([null, null])], backend: 'cpu' });
    const [dx] = inputDims(f);
    expect(dx![0]).toBe(dx![1]);
    const r = (await f(tf.eye(3))) as tf.Tensor;
    expect(Array.from(r.dataSync())).toEqual(Array.from(tf.eye(3).dataSync()));
  });

  it('two different groupings that both trace: a GcError naming both inputs and suggesting a named dim', () => {
    // Adds whichever input has x's size: either grouping traces, graphc cannot choose.
    const fn = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => (x.shape[0] === y.shape[0] ? tf.add(x, y) : tf.add(x, z));
    const e = caught(() => gc.compile(fn, { inputs: [gc.spec([null]), gc.spec([null]), gc.spec([null])], backend: 'cpu' }));
    expect(e).toBeInstanceOf(gc.GcError);
    expect(e.message).toMatch(/cannot tell which anonymous dims must be equal/);
    expect(e.message).toMatch(/dim 0 of 'x' = dim 0 of 'y'/);
    expect(e.message).toMatch(/dim 0 of 'x' = dim 0 of 'z'/);
    expect(e.message).toMatch(/help: .*name/);
  });

  it('a function failing for a reason unrelated to dim equality keeps its own error', () => {
    const boom = (x: tf.Tensor, y: tf.Tensor) => { void x; void y; throw new Error('boom: user code'); };
    const e = caught(() => gc.compile(boom, { inputs: [gc.spec([null, 5]), gc.spec([null, 3])], backend: 'cpu' }));
    expect(e.message).toBe('boom: user code');
    // A shape error that no grouping fixes (inner dims 5 vs 4 are static) stays the matmul error.
    const w = tf.variable(tf.ones([4, 2]), true, 'w_static_bad');
    const e2 = caught(() => gc.compile((x: tf.Tensor, y: tf.Tensor) => tf.add(tf.matMul(x, w), y), { inputs: [gc.spec([null, 5]), gc.spec([null, 2])], backend: 'cpu' }));
    expect(e2.message).toMatch(/matmul: inner dimensions differ/);
  });

  it('more than five anonymous dims: the dims the error names are joined', async () => {
    const fn = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor, e: tf.Tensor, g: tf.Tensor) => [tf.add(a, b), tf.add(c, d), tf.sum(e), tf.sum(g)];
    const f = gc.compile<tf.Tensor[]>(fn, { inputs: [gc.spec([null]), gc.spec([null]), gc.spec([null]), gc.spec([null]), gc.spec([null]), gc.spec([null])], backend: 'cpu' });
    const d = inputDims(f).map((s) => s[0]);
    expect(d[0]).toBe(d[1]);
    expect(d[2]).toBe(d[3]);
    expect(new Set(d).size).toBe(4);
    const out = await f(tf.ones([2]), tf.ones([2]), tf.ones([3]), tf.ones([3]), tf.ones([4]), tf.ones([5]));
    expect(out.map((t) => t.shape)).toEqual([[2], [3], [], []]);
  });

  it('fuzz seed 224: only the dims the program ties are grouped (five anonymous dims beside a named one)', async () => {
    // x1 [?, ?] − x2 [?, 1] ties dim 0 of x1 to dim 0 of x2 only; a guided join of the first two
    // sizes tfjs's error printed used to tie both dims of x1 and refuse a [1,5] feed.
    const fn = (x0: tf.Tensor, x1: tf.Tensor, x2: tf.Tensor, x3: tf.Tensor, x4: tf.Tensor) => {
      const v2 = tf.expandDims(tf.sub(tf.relu(x1), x2), 0);
      const v4 = tf.tile(tf.broadcastTo(v2, [2, v2.shape[1]!, v2.shape[2]!]), [2, 1, 1]);
      return [v4, tf.conv2d(x3 as tf.Tensor4D, x4 as tf.Tensor4D, 2, 'valid')];
    };
    const f = gc.compile<tf.Tensor[]>(fn, { inputs: [gc.spec([null, null], 'bool'), gc.spec([null, null], 'int32'), gc.spec([null, 1], 'int32'), gc.spec(['batch', 1, 1, 1]), gc.spec([1, 1, 1, 1])], backend: 'cpu' });
    const d = inputDims(f);
    expect(d[1]![0]).toBe(d[2]![0]);
    expect(d[1]![1]).not.toBe(d[1]![0]);
    expect(new Set([d[0]![0], d[0]![1], d[1]![0], d[1]![1]]).size).toBe(4);
    const [v4] = await f(tf.zeros([2, 2], 'bool'), tf.tensor([[1, -2, 3, 4, 5]], [1, 5], 'int32'), tf.tensor([[3]], [1, 1], 'int32'), tf.ones([1, 1, 1, 1]), tf.ones([1, 1, 1, 1]));
    expect(v4!.shape).toEqual([4, 1, 5]);
    expect(Array.from(v4!.dataSync().slice(0, 5))).toEqual([-2, -3, 0, 1, 2]);
  });

  it('fuzz seeds 847 and 2287: seven anonymous dims, two pairs tied by one op, found by the guided search', async () => {
    // add(x0 [?,?], x3 [?,?]) ties dim 0 to dim 0 and dim 1 to dim 1: no single join traces, and
    // joining the first two sizes tfjs's error prints (both dims of x0) used to be taken.
    const fn = (x0: tf.Tensor, x1: tf.Tensor, x2: tf.Tensor, x3: tf.Tensor) => { void x1; void x2; return tf.add(tf.tile(tf.cast(x0, 'int32'), [1, 1]), x3); };
    const f = gc.compile(fn, { inputs: [gc.spec([null, null]), gc.spec([null, 1]), gc.spec([null, null]), gc.spec([null, null], 'int32')], backend: 'cpu' });
    const d = inputDims(f);
    expect(d[0]).toEqual(d[3]);
    expect(d[0]![0]).not.toBe(d[0]![1]);
    const y = await f(tf.tensor([[1.5, 2, 3, 4, 5]]), tf.zeros([2, 1]), tf.zeros([3, 3]), tf.tensor([[1, 1, 1, 1, 1]], [1, 5], 'int32')) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([2, 3, 4, 5, 6]);
    const fn2 = (x0: tf.Tensor, x1: tf.Tensor, x2: tf.Tensor, x3: tf.Tensor) => { void x0; return tf.div(tf.neg(tf.floorDiv(x1, x2)), x3); };
    const f2 = gc.compile(fn2, { inputs: [gc.spec([1, null], 'int32'), gc.spec([null, null], 'int32'), gc.spec([1, null], 'int32'), gc.spec([null, null], 'int32')], backend: 'cpu' });
    const d2 = inputDims(f2);
    expect(d2[1]).toEqual(d2[3]);
    expect(d2[2]![1]).toBe(d2[1]![1]);
    expect(d2[1]![0]).not.toBe(d2[1]![1]);
    const z = await f2(tf.tensor([[-5]], [1, 1], 'int32'), tf.tensor([[7, 9]], [1, 2], 'int32'), tf.tensor([[2, 4]], [1, 2], 'int32'), tf.tensor([[1, 2]], [1, 2], 'int32')) as tf.Tensor;
    expect(Array.from(z.dataSync())).toEqual([-3, -1]);
  });
  it("fuzz seed 1500946: a tfjs op's own check that names no size (searchSorted's leading dims) still finds the grouping", async () => {
    const fn = (s: tf.Tensor, v: tf.Tensor) => tf.searchSorted(s, v, 'right');
    const f = gc.compile(fn, { inputs: [gc.spec([null, 4]), gc.spec([null, 2])], backend: 'cpu' });
    const [ds, dv] = inputDims(f);
    expect(ds![0]).toBe(dv![0]);
    const s = tf.tensor2d([1, 2, 3, 4, 0, 0, 5, 5, -1, 1, 2, 9], [3, 4]), v = tf.tensor2d([2, 0, 5, 1, 1, 10], [3, 2]);
    expect(Array.from(((await f(s, v)) as tf.Tensor).dataSync())).toEqual([2, 0, 4, 2, 2, 4]);
    expect(Array.from(fn(s, v).dataSync())).toEqual([2, 0, 4, 2, 2, 4]);
  });

  it('fuzz seed 1501050: anonymous dims that must agree and two named dims the program ties: the error names the named pair', () => {
    const fn = (x0: tf.Tensor, x1: tf.Tensor, x2: tf.Tensor, x3: tf.Tensor) => {
      const v1 = tf.mul(tf.selu(x1), x2);
      const v2 = tf.div(x0, x1);
      return [tf.atan(tf.concat([v1, x3], 2)), v2];
    };
    const e = caught(() => gc.compile(fn, { inputs: [gc.spec(['batch', 2]), gc.spec([null, 'n', 2]), gc.spec([null, 'n', 2]), gc.spec([null, 'batch', 2])], backend: 'cpu' }));
    expect(e).toBeInstanceOf(gc.GcError);
    const first = e.message.split('\n')[0]!;
    expect(first).toMatch(/\bbatch\b/);
    expect(first).toMatch(/\bn\b/);
    expect(first).not.toMatch(/\?0|\?1/);
  });
});
