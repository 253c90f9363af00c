import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

const branchy = (x: tf.Tensor) => gc.cond(tf.greater(tf.sum(x), 0), () => tf.mul(x, 2), () => tf.neg(tf.square(x)));

describe('control flow api', () => {
  it('cond both ways', async () => {
    await tf.setBackend('cpu');
    const f = gc.compile(branchy, { inputs: [gc.spec(['batch', 3])], backend: 'cpu' });
    console.log(f.graph.toString());
    for (const x of [tf.tensor2d([[1, 2, 3]]), tf.tensor2d([[-1, -2, -3], [1, 0, 0]])]) {
      const y = (await f(x)) as tf.Tensor;
      expect(Array.from(y.dataSync())).toEqual(Array.from(branchy(x).dataSync()));
    }
  });
});
