/**
 * gc.cond / gc.scan / gc.whileLoop at the edges: nested regions capturing values two levels up,
 * gradients through a cond in a scan body and a scan in a branch, array carries and xs, record
 * results, a value escaping its branch, and a gradient asked through a loop.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

function close(a: unknown, b: unknown, tol = 1e-5) {
  const as = a instanceof tf.Tensor ? [a] : (a as tf.Tensor[]);
  const bs = b instanceof tf.Tensor ? [b] : (b as tf.Tensor[]);
  expect(as.length).toBe(bs.length);
  as.forEach((t, i) => {
    expect(t.shape).toEqual(bs[i]!.shape);
    expect(tf.max(tf.abs(tf.sub(t, bs[i]!))).dataSync()[0]).toBeLessThanOrEqual(tol);
  });
}

describe('edge', () => {
  it('nested cond in cond capturing top-level values', async () => {
    await tf.setBackend('cpu');
    const f = (x: tf.Tensor, y: tf.Tensor) => gc.cond(tf.greater(tf.sum(x), 0),
      () => gc.cond(tf.greater(tf.sum(y), 0), () => tf.add(x, y), () => tf.sub(x, y)),
      () => tf.mul(x, y));
    const c = gc.compile(f, { inputs: [gc.spec(['b', 2]), gc.spec(['b', 2])], backend: 'cpu' });
    for (const [sx, sy] of [[1, 1], [1, -1], [-1, 1]]) {
      const x = tf.mul(tf.ones([3, 2]), sx!), y = tf.mul(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), sy!);
      close(await c(x, y), f(x, y));
    }
  });
  it('cond inside scan body under gradient; scan inside cond under gradient', async () => {
    await tf.setBackend('cpu');
    const l1 = (x: tf.Tensor, w: tf.Tensor) => tf.sum(gc.scan((c, xt) => gc.cond(tf.greater(tf.sum(c as tf.Tensor), 0),
      () => tf.mul(tf.add(c as tf.Tensor, xt as tf.Tensor), w), () => tf.sub(xt as tf.Tensor, tf.mul(c as tf.Tensor, w))), tf.ones([x.shape[1]!]), x) as tf.Tensor);
    const l2 = (x: tf.Tensor, w: tf.Tensor) => tf.sum(gc.cond(tf.greater(tf.sum(x), 0),
      () => gc.scan((c, xt) => tf.tanh(tf.add(tf.mul(c as tf.Tensor, w), xt as tf.Tensor)), tf.zeros([x.shape[1]!]), x) as tf.Tensor,
      () => tf.mul(x, w)));
    for (const loss of [l1, l2]) {
      const g = gc.compile((x: tf.Tensor, w: tf.Tensor) => tf.grads(loss)([x, w]), { inputs: [gc.spec(['t', 3]), gc.spec([])], backend: 'cpu' });
      for (const s of [1, -1]) {
        const x = tf.mul(tf.randomNormal([4, 3], 0, 1, 'float32', 5), s), w = tf.scalar(0.6);
        close(await g(x, w), tf.grads(loss)([x, w]));
      }
    }
  });
  it('array carries, array xs, record results', async () => {
    await tf.setBackend('cpu');
    const f = (x: tf.Tensor) => {
      const [[a, b], ys] = gc.scan((c, xs) => {
        const [ca, cb] = c as tf.Tensor[]; const [p, q] = xs as tf.Tensor[];
        return [[tf.add(ca!, p!), tf.mul(cb!, q!)], tf.sub(p!, q!)];
      }, [tf.zeros([2]), tf.ones([2])], [x, tf.add(x, 1)]) as [tf.Tensor[], tf.Tensor];
      const r = gc.cond(tf.greater(tf.sum(a!), 0), () => ({ u: a!, v: b! }), () => ({ u: b!, v: a! }));
      return [r.u, r.v, ys];
    };
    const c = gc.compile(f, { inputs: [gc.spec([5, 2])], backend: 'cpu' });
    for (const s of [1, -1]) {
      const x = tf.mul(tf.randomNormal([5, 2], 0, 1, 'float32', 9), s);
      close(await c(x), f(x));
    }
  });
  it('escaping value and whileLoop gradient are GcErrors', async () => {
    await tf.setBackend('cpu');
    let leaked: tf.Tensor | undefined;
    expect(() => gc.compile((x: tf.Tensor) => { gc.cond(tf.greater(tf.sum(x), 0), () => { leaked = tf.add(x, 1); return x; }, () => x); return tf.mul(leaked!, 2); }, { inputs: [gc.spec([2])], backend: 'cpu' }))
      .toThrow(/computed inside a gc.cond branch or a loop body is used outside it/);
    const loss = (x: tf.Tensor) => tf.sum(gc.whileLoop((v) => tf.less(tf.sum(v), 10), (v) => [tf.mul(v, 2)], [x])[0]!);
    expect(() => gc.compile((x: tf.Tensor) => tf.grad(loss)(x), { inputs: [gc.spec([2])], backend: 'cpu' })).toThrow(/gc.whileLoop has no gradient/);
    // A loop that does not depend on x under a tape: fine.
    const loss2 = (x: tf.Tensor) => tf.mul(tf.sum(x), gc.whileLoop((v) => tf.less(v, 10), (v) => [tf.add(v, 3)], [tf.scalar(1)])[0]!);
    const g = gc.compile((x: tf.Tensor) => tf.grad(loss2)(x), { inputs: [gc.spec([2])], backend: 'cpu' });
    close(await g(tf.tensor1d([1, 2])), tf.tensor1d([10, 10]));
  });

  it('a compiled loop that does not end stops at maxLoopIterations with a GcError; one that ends within it runs', async () => {
    await tf.setBackend('cpu');
    const forever = gc.compile((x: tf.Tensor) => gc.whileLoop((v) => tf.greater(tf.sum(v), -1), (v) => [tf.add(v, 1)], [x])[0]!,
      { inputs: [gc.spec([2])], backend: 'cpu', maxLoopIterations: 50 });
    await expect(forever(tf.tensor1d([0, 0]))).rejects.toThrow(/the loop ran 50 times without ending/);
    const ends = gc.compile((x: tf.Tensor) => gc.whileLoop((v) => tf.less(tf.sum(v), 80), (v) => [tf.add(v, 1)], [x])[0]!,
      { inputs: [gc.spec([2])], backend: 'cpu', maxLoopIterations: 50 });
    close(await ends(tf.tensor1d([0, 0])), tf.tensor1d([40, 40]));
    forever.dispose(); ends.dispose();
  });
});
