/**
 * The models of the ONNX interop suite (test/exporters/onnx/interop.test.ts), shared with the
 * ORT WebGPU check (test/runtime/executors/onnxruntime_webgpu.test.ts): tfjs-layers Sequential,
 * CNN, Functional, a custom subclassed layer, and models written from raw ops with tf.variables.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { randomizeWeights, testCnn } from './harness.js';

/**
 * A subclassed layer with its own call(): y = x + tanh(x·W + b). tfjs-layers has no
 * Keras-style subclassed models (a LayersModel subclass is still built from inputs/outputs
 * and predict() runs that graph, never an overridden call()), so the subclass is a Layer,
 * used inside a Sequential.
 */
class ResidualTanh extends tfl.layers.Layer {
  static className = 'ResidualTanh';
  private w?: tfl.LayerVariable;
  private b?: tfl.LayerVariable;

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const s = inputShape as tfl.Shape;
    const d = s[s.length - 1]!;
    this.w = this.addWeight('w', [d, d], 'float32', tfl.initializers.glorotNormal({ seed: 7 }));
    this.b = this.addWeight('b', [d], 'float32', tfl.initializers.randomNormal({ seed: 8 }));
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      return tf.add(x, tf.tanh(tf.add(tf.matMul(x, this.w!.read()), this.b!.read())));
    });
  }
}

export interface ModelCase {
  name: string;
  /** The function traced; inputs are ['batch', ...shape]. */
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
  shapes: number[][];
  range?: [number, number];
}

function fashionMlp(): tfl.LayersModel {
  return randomizeWeights(tfl.sequential({ layers: [
    tfl.layers.flatten({ inputShape: [28, 28] }),
    tfl.layers.dense({ units: 300, activation: 'relu' }),
    tfl.layers.dense({ units: 100, activation: 'relu' }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] }), 900);
}


/** Two branches off one input, joined by concatenate and by add; two outputs. */
function functional(): tfl.LayersModel {
  const x = tfl.input({ shape: [10] });
  const a = tfl.layers.dense({ units: 12, activation: 'relu' }).apply(x) as tfl.SymbolicTensor;
  const b = tfl.layers.dense({ units: 12, activation: 'tanh' }).apply(x) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate().apply([a, b]) as tfl.SymbolicTensor;
  const sum = tfl.layers.add().apply([a, b]) as tfl.SymbolicTensor;
  const y1 = tfl.layers.dense({ units: 4, activation: 'softmax' }).apply(cat) as tfl.SymbolicTensor;
  const y2 = tfl.layers.dense({ units: 3 }).apply(sum) as tfl.SymbolicTensor;
  return randomizeWeights(tfl.model({ inputs: x, outputs: [y1, y2] }), 300);
}

function subclassed(): tfl.LayersModel {
  return randomizeWeights(tfl.sequential({ layers: [
    tfl.layers.dense({ units: 8, inputShape: [6], activation: 'relu' }),
    new ResidualTanh({}),
    tfl.layers.dense({ units: 2 }),
  ] }), 700);
}

const predict = (m: tfl.LayersModel) => (x: tf.Tensor) => m.predict(x) as tf.Tensor | tf.Tensor[];
const rand = (shape: number[], seed: number, std = 0.5) => tf.randomNormal(shape, 0, std, 'float32', seed);

let MODELS: ModelCase[] | undefined;

/** Built on first call (variables and weights are made then: after the caller chose its tfjs backend). */
export function interopModels(): ModelCase[] {
  if (MODELS !== undefined) return MODELS;
  const logW = tf.variable(rand([8, 1], 41), true, 'logreg/w');
  const logB = tf.variable(tf.scalar(0.1), true, 'logreg/b');
  const w1 = tf.variable(rand([8, 16], 51), true, 'net/w1'), b1 = tf.variable(rand([16], 52, 0.1), true, 'net/b1');
  const w2 = tf.variable(rand([16, 3], 53), true, 'net/w2'), b2 = tf.variable(rand([3], 54, 0.1), true, 'net/b2');
  return MODELS = [
    { name: 'Fashion-MNIST MLP (Sequential: Flatten 28×28, Dense 300 relu, Dense 100 relu, Dense 10 softmax)', fn: predict(fashionMlp()), shapes: [[28, 28]], range: [0, 1] },
    { name: 'CNN (conv2d, batch norm, maxpool, dropout, flatten, dense)', fn: predict(testCnn()), shapes: [[12, 12, 3]], range: [0, 1] },
    { name: 'Functional model with two branches (concatenate and add), two outputs', fn: predict(functional()), shapes: [[10]] },
    { name: 'subclassed layer (ResidualTanh with its own call) in a Sequential', fn: predict(subclassed()), shapes: [[6]] },
    { name: 'logistic regression from raw ops: sigmoid(x·W + b)', fn: (x) => tf.sigmoid(tf.add(tf.matMul(x, logW), logB)), shapes: [[8]] },
    { name: 'two-layer network from raw ops with tf.variables', fn: (x) => {
      const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
      return tf.softmax(tf.add(tf.matMul(h, w2), b2));
    }, shapes: [[8]] },
  ];
}
