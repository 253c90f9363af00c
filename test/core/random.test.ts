import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

describe('random ops stay random in compiled functions', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  it('dropout draws a new mask on every call', async () => {
    const f = gc.compile((x: tf.Tensor) => tf.dropout(x, 0.5), { inputs: [gc.spec([200])], backend: 'cpu' });
    expect(f.graph.nodes.map((n) => n.op)).toContain('random_uniform');
    const x = tf.ones([200]);
    const a = arr((await f(x)) as tf.Tensor);
    const b = arr((await f(x)) as tf.Tensor);
    expect(a).not.toEqual(b);
    // Kept entries are scaled by 1/(1-rate), dropped are 0; about half are kept.
    for (const v of a) expect(v === 0 || Math.abs(v - 2) < 1e-6).toBe(true);
    const kept = a.filter((v) => v !== 0).length;
    expect(kept).toBeGreaterThan(60);
    expect(kept).toBeLessThan(140);
  });

  it('two dropouts in one graph have independent masks', async () => {
    const f = gc.compile<tf.Tensor[]>((x: tf.Tensor) => [tf.dropout(x, 0.5), tf.dropout(x, 0.5)], { inputs: [gc.spec([200])], backend: 'cpu' });
    const [a, b] = await f(tf.ones([200]));
    expect(arr(a!)).not.toEqual(arr(b!));
  });

  it('recovers the parameters of tf.randomUniform / randomNormal / truncatedNormal', () => {
    const g = gc.trace((x: tf.Tensor) => tf.add(tf.add(tf.add(x, tf.randomUniform([3], -2, 5)), tf.randomNormal([3], 1.5, 0.25)), tf.truncatedNormal([3], -1, 3)), [gc.spec([3])]);
    const byOp = (op: string) => g.nodes.find((n) => n.op === op)!;
    expect(byOp('random_uniform').attrs).toMatchObject({ min: -2, max: 5, dtype: 'float32' });
    const normals = g.nodes.filter((n) => n.op === 'random_normal');
    expect(normals.map((n) => [n.attrs.mean, n.attrs.std, n.attrs.truncated])).toEqual([[1.5, 0.25, false], [-1, 3, true]]);
  });

  it('random values follow their distribution at run time', async () => {
    const f = gc.compile<tf.Tensor[]>(() => [tf.randomUniform([4000], 3, 4), tf.randomNormal([4000], 10, 2)], { inputs: [], backend: 'cpu' });
    const [u, n] = await f();
    const uv = arr(u!);
    expect(Math.min(...uv)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...uv)).toBeLessThan(4);
    expect(tf.mean(n!).dataSync()[0]!).toBeCloseTo(10, 0);
    expect(tf.moments(n!).variance.dataSync()[0]!).toBeGreaterThan(3);
  });

  it('a compile seed makes runs reproducible across sessions, and calls still differ', async () => {
    const make = () => gc.compile((x: tf.Tensor) => tf.dropout(x, 0.5), { inputs: [gc.spec([100])], backend: 'cpu', seed: 1234 });
    const f1 = make(), f2 = make();
    const x = tf.ones([100]);
    const a1 = arr((await f1(x)) as tf.Tensor), a2 = arr((await f1(x)) as tf.Tensor);
    const b1 = arr((await f2(x)) as tf.Tensor), b2 = arr((await f2(x)) as tf.Tensor);
    expect(a1).toEqual(b1);
    expect(a2).toEqual(b2);
    expect(a1).not.toEqual(a2);
  });

  it('an op-level seed gives the same values as eager tfjs on every call', async () => {
    const fn = (x: tf.Tensor) => tf.add(x, tf.randomNormal([5], 0, 1, 'float32', 42));
    const f = gc.compile(fn, { inputs: [gc.spec([5])], backend: 'cpu' });
    const x = tf.zeros([5]);
    const eager = arr(fn(x));
    expect(arr((await f(x)) as tf.Tensor)).toEqual(eager);
    expect(arr((await f(x)) as tf.Tensor)).toEqual(eager);
  });

  it('random ops follow a symbolic batch dim', async () => {
    const f = gc.compile((x: tf.Tensor) => tf.dropout(x, 0.25), { inputs: [gc.spec(['batch', 8])], backend: 'cpu' });
    expect(f.graph.toString()).toMatch(/random_uniform \{dtype = f32, max = 1, min = 0, seed = -1, shape = \[batch, 8\]\}/);
    const y = (await f(tf.ones([33, 8]))) as tf.Tensor;
    expect(y.shape).toEqual([33, 8]);
  });

  it('a seeded draw whose shape follows a symbolic batch is refused with the reason and both ways out; a fixed batch keeps eager values', async () => {
    // tfjs draws the same values per shape and seed on every call (a dropout layer with `seed` does this).
    const fn = (x: tf.Tensor) => tf.dropout(x, 0.5, undefined, 7);
    // compile traces when it is given the input specs (or at the first call): either may throw.
    const failure = async (make: () => gc.CompiledFunction<unknown>) => {
      try {
        await make()(tf.ones([4, 8]));
      } catch (e) {
        return e as gc.GcError;
      }
      return undefined;
    };
    const err = await failure(() => gc.compile(fn, { inputs: [gc.spec(['batch', 8])], backend: 'cpu' }));
    expect(err).toBeInstanceOf(gc.GcError);
    expect(err!.code).toBe('GC0103');
    expect(err!.message).toMatch(/a random draw with a seed .* has the traced size in its shape/);
    expect(err!.help).toMatch(/fixed size in gc\.spec .* or drop the seed/);
    expect(err!.loc?.file).toMatch(/random\.test\.ts$/);
    // A fixed batch: the draw is a constant, the values eager's on every call.
    const fixed = gc.compile(fn, { inputs: [gc.spec([4, 8])], backend: 'cpu' });
    const x = tf.ones([4, 8]);
    const eager = arr(fn(x));
    expect(arr((await fixed(x)) as tf.Tensor)).toEqual(eager);
    expect(arr((await fixed(x)) as tf.Tensor)).toEqual(eager);
    // An unrelated size-dependent constant keeps the general message.
    const err2 = await failure(() => gc.compile((x: tf.Tensor) => tf.add(x, tf.tensor(Array.from({ length: x.shape[0]! * 8 }, (_, i) => i), [x.shape[0]!, 8])), { inputs: [gc.spec(['batch', 8])], backend: 'cpu' }));
    expect(err2!.message).toMatch(/a constant depends on the traced size/);
  });
});
