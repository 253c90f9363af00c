import { it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';
const tryit = (label: string, fn: (x: tf.Tensor) => tf.Tensor, shape: (number|string)[]) => {
  try { gc.compile(fn, { inputs: [gc.spec(shape)], backend: 'cpu' }); console.log(label, 'OK'); }
  catch (e) { console.log(label, String(e), (e as any).notes); }
};
it('x', async () => {
  await tf.setBackend('cpu');
  const bn4 = tfl.layers.batchNormalization({});
  tryit('bn4 train', (x) => bn4.apply(x, { training: true }) as tf.Tensor, ['batch', 8, 8, 3]);
  const bn2 = tfl.layers.batchNormalization({});
  tryit('bn2 train', (x) => bn2.apply(x, { training: true }) as tf.Tensor, ['batch', 8]);
  const bn2b = tfl.layers.batchNormalization({});
  tryit('bn2 grad', (x) => tf.grad((t: tf.Tensor) => tf.sum(tf.square(bn2b.apply(t, { training: true }) as tf.Tensor)))(x), ['batch', 8]);
  const mp = tfl.layers.maxPooling2d({poolSize: 2});
  tryit('mp grad', (x) => tf.grad((t: tf.Tensor) => tf.sum(tf.square(mp.apply(t) as tf.Tensor)))(x), ['batch', 8, 8, 3]);
  const dr = tfl.layers.dropout({rate: 0.3, seed: 7});
  tryit('drop grad', (x) => tf.grad((t: tf.Tensor) => tf.sum(tf.square(dr.apply(t, {training: true}) as tf.Tensor)))(x), ['batch', 8, 8, 3]);
  tryit('drop', (x) => dr.apply(x, {training: true}) as tf.Tensor, ['batch', 8, 8, 3]);
  const cv = tfl.layers.conv2d({filters: 4, kernelSize: 3, padding: 'same'});
  tryit('conv grad', (x) => tf.grad((t: tf.Tensor) => tf.sum(tf.square(cv.apply(t) as tf.Tensor)))(x), ['batch', 8, 8, 3]);
});
