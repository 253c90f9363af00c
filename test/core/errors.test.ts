import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

describe('trace errors', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  it('dataSync() on a traced value names the user file:line', () => {
    let err: unknown;
    try {
      gc.trace((x: tf.Tensor) => {
        const s = tf.sum(x);
        const n = s.dataSync()[0]!; // line 13
        return tf.mul(x, n);
      }, [gc.spec([3])]);
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(gc.GcError);
    expect(String((err as Error).message)).toMatch(/dataSync\(\)\/arraySync\(\) on a traced value/);
    expect(String((err as Error).message)).toMatch(/--> test\/core\/errors\.test\.ts:13:\d+/);
  });

  it('arraySync() is caught the same way', () => {
    expect(() => gc.trace((x: tf.Tensor) => tf.scalar((x.arraySync() as number[])[0]!), [gc.spec([3])])).toThrow(/on a traced value/);
  });

  it('restores the global backend and leaks no tensors when the traced function throws', () => {
    const before = tf.memory().numTensors;
    expect(() => gc.trace((x: tf.Tensor) => { tf.exp(x); throw new Error('user bug'); }, [gc.spec([2])])).toThrow('user bug');
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.memory().numTensors).toBe(before);
    const y = tf.add(tf.scalar(1), tf.scalar(2));
    expect(y.dataSync()[0]).toBe(3);
  });

  it('a function that is not polymorphic in a declared dim fails naming the op and line', () => {
    let err: unknown;
    try {
      // batch² is not affine in batch: the traced constant cannot follow the size.
      gc.trace((x: tf.Tensor) => tf.mul(x, tf.scalar(x.shape[0]! ** 2)), [gc.spec(['batch', 4])]);
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(gc.GcError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/not polymorphic in 'batch'/);
    expect(msg).toMatch(/node: const/);
    expect(msg).toMatch(/observed float32\[\] \/ float32\[\]/);
    expect(msg).toMatch(/test\/core\/errors\.test\.ts:\d+/);
  });

  it('a size used as an op attr (tf.range up to the batch size) is an error, not a baked-in size', () => {
    expect(() => gc.trace((x: tf.Tensor) => tf.add(x, tf.range(0, x.shape[0]!)), [gc.spec(['batch'])])).toThrow(/attr 'stop' of range depends on the traced size/);
  });

  it('affine uses of a size are polymorphic: slice all but the last row', async () => {
    const f = gc.compile((x: tf.Tensor) => x.slice([0, 0], [x.shape[0]! - 1, 2]), { inputs: [gc.spec(['batch', 2])], backend: 'cpu' });
    expect(f.graph.toString()).toMatch(/f32\[batch-1,2\]/);
    const y = (await f(tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]))) as tf.Tensor;
    expect(y.shape).toEqual([3, 2]);
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('an unsupported random op fails at trace time with the op named', () => {
    expect(() => gc.trace((x: tf.Tensor) => tf.add(x, tf.randomGamma([2], 1)), [gc.spec([2])])).toThrow(/randomGamma cannot be kept random/);
  });

  it('a function that returns a Promise is rejected', () => {
    expect(() => gc.trace((async (x: tf.Tensor) => tf.exp(x)) as unknown as (x: tf.Tensor) => tf.Tensor, [gc.spec([2])])).toThrow(/returned a Promise/);
  });
});

describe('unification checks outputs', () => {
  it('unstack along a symbolic dim (a result list whose length follows the size) is not polymorphic', () => {
    expect(() => gc.trace((x: tf.Tensor) => tf.unstack(x), [gc.spec(['batch', 3])])).toThrow(/not polymorphic in 'batch'/);
  });
  it('a negative-stride slice over a symbolic dim keeps the symbol', async () => {
    const f = gc.compile((x: tf.Tensor) => tf.stridedSlice(x, [-1, 0], [0, 3], [-1, 1], 0, 0), { inputs: [gc.spec(['batch', 3])], backend: 'cpu' });
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]);
    const y = (await f(x)) as tf.Tensor;
    expect(y.shape).toEqual([3, 3]);
    expect(Array.from(y.dataSync())).toEqual(Array.from(tf.stridedSlice(x, [-1, 0], [0, 3], [-1, 1], 0, 0).dataSync()));
  });
});
