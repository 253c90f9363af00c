/** A two-layer network from raw ops, shared by the training and hyperparameter tests. */
import * as tf from '@tensorflow/tfjs-core';

/** Its variables, each network with its own copy of the same initial weights (by seed). */
export function makeParams(tag: string, seed: number) {
  const init = (shape: number[], s: number) => tf.randomNormal(shape, 0, 0.5, 'float32', seed + s);
  return {
    w1: tf.variable(init([6, 8], 1), true, `w1_${tag}`),
    b1: tf.variable(tf.zeros([8]), true, `b1_${tag}`),
    w2: tf.variable(init([8, 3], 2), true, `w2_${tag}`),
    b2: tf.variable(init([3], 3), true, `b2_${tag}`),
  };
}
export type Params = ReturnType<typeof makeParams>;

export function loss(p: Params, x: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const h = tf.relu(tf.add(tf.matMul(x, p.w1), p.b1));
  const logits = tf.add(tf.matMul(h, p.w2), p.b2);
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels as tf.Tensor1D, 3), logits) as tf.Scalar;
}
