/**
 * The seed's Fashion-MNIST MLP (Flatten 28×28 → Dense 300 relu → Dense 100 relu → Dense 10
 * softmax), trained with Adam through one compiled graph per step, then evaluated through a
 * compiled predict. Run: `npm run example` (needs Debian's dataset-fashion-mnist).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';
import seedrandom from 'seedrandom';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../src/data/idx.js';

const BATCH = 64;
const TRAIN_EXAMPLES = Number(process.env.MLP_EXAMPLES ?? 12800);

async function main(): Promise<void> {
  const t0 = performance.now();
  let data: ReturnType<typeof loadFashionMnist>;
  let real = true;
  try {
    data = loadFashionMnist();
    console.log(`Fashion-MNIST: ${data.train.count} training and ${data.test.count} test images (${((performance.now() - t0) / 1000).toFixed(1)} s to load)`);
  } catch (e) {
    console.log(`${(e as Error).message}\n→ running on a SYNTHETIC stand-in instead (10 classes of noisy prototype images); accuracy figures below are not Fashion-MNIST's.`);
    data = syntheticData();
    real = false;
  }
  const { train, test } = data;

  const choice = await gc.selectBackend('auto');
  console.log(`backend: ${choice.reason}`);
  await gc.ensureBackend(choice.name);
  await tf.setBackend(choice.tfjsName);

  const model = tfl.sequential({ layers: [
    tfl.layers.flatten({ inputShape: [28, 28] }),
    tfl.layers.dense({ units: 300, activation: 'relu' }),
    tfl.layers.dense({ units: 100, activation: 'relu' }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
  const optimizer = tf.train.adam(1e-3);
  // sparse_categorical_crossentropy on the softmax output, as the seed's Keras model compiles it.
  const loss = (x: tf.Tensor, labels: tf.Tensor) =>
    tf.mean(tfl.metrics.categoricalCrossentropy(tf.oneHot(labels as tf.Tensor1D, 10), model.apply(x) as tf.Tensor)) as tf.Scalar;

  const tc = performance.now();
  const trainStep = gc.compile((x: tf.Tensor, labels: tf.Tensor) => optimizer.minimize(() => loss(x, labels), true)!, {
    inputs: [gc.spec(['batch', 28, 28], 'float32', 'images'), gc.spec(['batch'], 'int32', 'labels')],
    backend: choice.name,
  });
  const predict = gc.compile((x: tf.Tensor) => model.predict(x) as tf.Tensor, { inputs: [gc.spec(['batch', 28, 28], 'float32', 'images')], backend: choice.name });
  const ops = new Map<string, number>();
  for (const n of trainStep.graph.nodes) ops.set(n.op, (ops.get(n.op) ?? 0) + 1);
  const hyper = trainStep.graph.states.filter((s) => s.name.startsWith('hyper/')).length;
  console.log(`compiled the train step (${trainStep.graph.nodes.length} nodes, ${trainStep.graph.states.length - hyper} variables incl. Adam slots, ${hyper} optimizer hyperparameters read at each call) and predict (${predict.graph.nodes.length} nodes) in ${((performance.now() - tc) / 1000).toFixed(2)} s`);
  console.log(`train-step ops: ${[...ops].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}×${v}`).join(' ')}`);

  const steps = Math.floor(Math.min(TRAIN_EXAMPLES, train.count) / BATCH);
  const ts = performance.now();
  let running = 0;
  for (let s = 0; s < steps; s++) {
    const x = tf.tensor3d(train.images.subarray(s * BATCH * 784, (s + 1) * BATCH * 784), [BATCH, 28, 28]);
    const y = tf.tensor1d(train.labels.subarray(s * BATCH, (s + 1) * BATCH), 'int32');
    const l = (await trainStep(x, y)) as tf.Tensor;
    running = 0.9 * running + 0.1 * l.dataSync()[0]!;
    tf.dispose([x, y, l]);
    if ((s + 1) % 50 === 0 || s === steps - 1) console.log(`  step ${String(s + 1).padStart(4)}/${steps}  loss ${(running / (1 - 0.9 ** (s + 1))).toFixed(4)}`);
  }
  const trainSec = (performance.now() - ts) / 1000;
  console.log(`trained ${steps} steps of batch ${BATCH} in ${trainSec.toFixed(1)} s (${((trainSec * 1000) / steps).toFixed(1)} ms/step)`);

  // Evaluate on the whole test set in one compiled call (the batch dim is symbolic).
  const xt = tf.tensor3d(test.images, [test.count, 28, 28]);
  const probs = (await predict(xt)) as tf.Tensor;
  const predicted = tf.argMax(probs, 1).dataSync();
  let correct = 0;
  const perClass = new Array(10).fill(0);
  for (let i = 0; i < test.count; i++) if (predicted[i] === test.labels[i]) { correct++; perClass[test.labels[i]!]++; }
  const eager = model.predict(xt) as tf.Tensor;
  const diff = tf.max(tf.abs(tf.sub(eager, probs))).dataSync()[0]!;
  console.log(`test accuracy ${(100 * correct / test.count).toFixed(2)}% on ${test.count} images; compiled vs eager predict max |Δ| = ${diff.toExponential(2)}`);
  const names = real ? FASHION_MNIST_CLASSES : FASHION_MNIST_CLASSES.map((_, i) => `class ${i}`);
  console.log(`per class: ${names.map((c, i) => `${c} ${(perClass[i] / (test.count / 10) * 100).toFixed(0)}%`).join(', ')}`);
  tf.dispose([xt, probs, eager]);
  trainStep.dispose();
  predict.dispose();
  await gc.releaseBackend(choice.name); // a live WebGPU device would keep Node running
}

/** Ten random prototype images plus noise: a stand-in when the real data set is absent. */
function syntheticData(): ReturnType<typeof loadFashionMnist> {
  const rng = seedrandom('graphc-example');
  const protos = Array.from({ length: 10 }, () => Float32Array.from({ length: 784 }, () => rng()));
  const make = (n: number) => {
    const images = new Float32Array(n * 784);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 10;
      for (let k = 0; k < 784; k++) images[i * 784 + k] = Math.min(1, Math.max(0, protos[i % 10]![k]! + 0.8 * (rng() - 0.5)));
    }
    return { images, labels, count: n };
  };
  return { train: make(12800), test: make(10000) };
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
