import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

describe('compile shares state with tf.Variables (tf.function semantics)', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  it('after a call the variables hold what fn assigned; user assignments are seen next call', async () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]), true, 'counter_v');
    const f = gc.compile((x: tf.Tensor) => { v.assign(tf.add(v, x)); return tf.mul(v, 2); }, { inputs: [gc.spec([3])], backend: 'cpu' });
    // Tracing never changes the user's variable.
    expect(arr(v)).toEqual([1, 2, 3]);
    const y1 = (await f(tf.tensor1d([1, 1, 1]))) as tf.Tensor;
    expect(arr(y1)).toEqual([4, 6, 8]); // read-after-write inside fn sees the new value
    expect(arr(v)).toEqual([2, 3, 4]);
    v.assign(tf.tensor1d([10, 20, 30]));
    const y2 = (await f(tf.tensor1d([1, 0, -1]))) as tf.Tensor;
    expect(arr(y2)).toEqual([22, 40, 58]);
    expect(arr(v)).toEqual([11, 20, 29]);
    expect(f.traceCount).toBe(1);
  });

  it('a trace leaves variables, their memory and the global backend unchanged', () => {
    const w = tf.variable(tf.tensor2d([[1, 2], [3, 4]]), true, 'untouched_w');
    const before = tf.memory().numTensors;
    const g = gc.trace((x: tf.Tensor) => { w.assign(tf.matMul(x, w)); return w; }, [gc.spec([2, 2])]);
    expect(arr(w)).toEqual([1, 2, 3, 4]);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.getBackend()).toBe('cpu');
    expect(g.nodes.some((n) => n.op === 'assign' && n.attrs.var === 'untouched_w')).toBe(true);
  });

  it('traces once per signature without specs, and a new signature traces again', async () => {
    let calls = 0;
    const f = gc.compile((x: tf.Tensor) => { calls++; return tf.square(x); }, { backend: 'cpu' });
    await f(tf.tensor1d([1, 2]));
    await f(tf.tensor1d([3, 4]));
    expect(f.traceCount).toBe(1);
    const y = (await f(tf.tensor2d([[2]]))) as tf.Tensor;
    expect(arr(y)).toEqual([4]);
    expect(f.traceCount).toBe(2);
    expect(calls).toBe(2); // the function body ran only while tracing
  });

  it('a call that contradicts the spec names the input, the expected and the actual type', async () => {
    const f = gc.compile((images: tf.Tensor) => tf.sum(images), { inputs: [gc.spec(['batch', 4])], backend: 'cpu' });
    await expect(f(tf.zeros([2, 5]))).rejects.toThrow(/input 'images': expected f32\[batch,4\], got float32\[2,5\]/);
    await expect(f(tf.zeros([2, 4], 'int32'))).rejects.toThrow(/input 'images': expected f32\[batch,4\], got int32\[2,4\]/);
  });

  it('variables created in the first trace (optimizer slots) become real variables', async () => {
    const w = tf.variable(tf.tensor1d([1, -2]), true, 'slot_w');
    const opt = tf.train.momentum(0.1, 0.5);
    const before = Object.keys(tf.engine().state.registeredVariables).length;
    const f = gc.compile((x: tf.Tensor) => opt.minimize(() => tf.sum(tf.square(tf.mul(w, x))), true, [w])!, { inputs: [gc.spec([2])], backend: 'cpu' });
    expect(Object.keys(tf.engine().state.registeredVariables).length).toBe(before + 1); // the momentum slot
    await f(tf.tensor1d([1, 1]));
    await f(tf.tensor1d([1, 1]));
    // Two momentum steps on sum(w²): g = 2w; v1 = g0; w1 = w0 - 0.1 v1; v2 = 0.5 v1 + g1; w2 = w1 - 0.1 v2
    const w0 = [1, -2];
    const w1 = w0.map((x) => x - 0.1 * 2 * x);
    const w2 = w1.map((x, i) => x - 0.1 * (0.5 * 2 * w0[i]! + 2 * x));
    arr(w).forEach((x, i) => expect(x).toBeCloseTo(w2[i]!, 5));
  });
});

describe('compiled calls do not leak', () => {
  it('100 training calls leave tf.memory().numTensors unchanged', async () => {
    await tf.setBackend('cpu');
    const w = tf.variable(tf.randomNormal([5, 2], 0, 1, 'float32', 1), true, 'leak_w');
    const opt = tf.train.adam(0.01);
    const f = gc.compile((x: tf.Tensor) => opt.minimize(() => tf.mean(tf.square(tf.matMul(x, w))), true, [w])!, { inputs: [gc.spec(['batch', 5])], backend: 'cpu' });
    const x = tf.randomNormal([4, 5], 0, 1, 'float32', 2);
    ((await f(x)) as tf.Tensor).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) ((await f(x)) as tf.Tensor).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
