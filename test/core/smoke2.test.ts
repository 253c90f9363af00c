import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';

describe('smoke2', () => {
  it('layers predict at batch 1000', async () => {
    await tf.setBackend('cpu');
    const model = tfl.sequential({ layers: [
      tfl.layers.flatten({ inputShape: [28, 28] }),
      tfl.layers.dense({ units: 30, activation: 'relu' }),
      tfl.layers.dropout({ rate: 0.3 }),
      tfl.layers.dense({ units: 10, activation: 'softmax' }),
    ] });
    const f = gc.compile((x: tf.Tensor) => model.predict(x) as tf.Tensor, { inputs: [gc.spec(['batch', 28, 28])], backend: 'cpu' });
    console.log(f.graph.toString().slice(0, 3000));
    const x = tf.randomNormal([1000, 28, 28]);
    const y = (await f(x)) as tf.Tensor;
    const e = model.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([1000, 10]);
    expect(tf.max(tf.abs(tf.sub(y, e))).dataSync()[0]).toBeLessThan(1e-5);
  });
  it('adam train step', async () => {
    const w = tf.variable(tf.randomNormal([4, 3]), true, 'w_adam');
    const b = tf.variable(tf.zeros([3]), true, 'b_adam');
    const opt = tf.train.adam(0.01);
    const step = (x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => tf.losses.meanSquaredError(y, tf.add(tf.matMul(x, w), b)) as tf.Scalar, true, [w, b]);
    const f = gc.compile(step as (x: tf.Tensor, y: tf.Tensor) => tf.Tensor, { inputs: [gc.spec(['batch', 4]), gc.spec(['batch', 3])], backend: 'cpu' });
    console.log(f.graph.toString().slice(0, 6000));
    const x = tf.randomNormal([8, 4]);
    const y = tf.randomNormal([8, 3]);
    const l = (await f(x, y)) as tf.Tensor;
    console.log(l.dataSync());
  });
});
