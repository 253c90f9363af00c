import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

describe('smoke', () => {
  it('compiles a small function', async () => {
    await tf.setBackend('cpu');
    const w = tf.variable(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), true, 'w_smoke');
    const f = gc.compile((x: tf.Tensor) => tf.relu(tf.matMul(x, w)).sum(1), { inputs: [gc.spec(['batch', 3])], backend: 'cpu' });
    console.log(f.graph.toString());
    const x = tf.tensor2d([[1, -1, 2], [0.5, 0.5, -3]]);
    const y = (await f(x)) as tf.Tensor;
    const e = tf.relu(tf.matMul(x, w)).sum(1);
    expect(Array.from(y.dataSync())).toEqual(Array.from(e.dataSync()));
  });
});
