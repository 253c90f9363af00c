/**
 * The seed's Fashion-MNIST MLP as a module for the CLI:
 *
 *   graphc export examples/fashion_mlp.ts --fn predict -o mlp.onnx
 *   graphc inspect mlp.onnx
 *   graphc run mlp.onnx --input images=random
 *
 * `predict`'s parameter type tells `graphc export` the input signature.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type * as gc from 'graphc';

export const model = tfl.sequential({
  layers: [
    tfl.layers.flatten({ inputShape: [28, 28] }),
    tfl.layers.dense({ units: 300, activation: 'relu' }),
    tfl.layers.dense({ units: 100, activation: 'relu' }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ],
});

export function predict(images: gc.Input<'float32', ['batch', 28, 28]>): tf.Tensor {
  return model.predict(images) as tf.Tensor;
}
