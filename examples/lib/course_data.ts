/**
 * The course's data preparation for Fashion-MNIST (Debian's `dataset-fashion-mnist`):
 * the last `valSize` training images become the validation split (the course takes the first
 * 5000; tfjs users usually hold out the tail), pixels are standardised with the training
 * split's mean and standard deviation, and the training split is fed through a tf.data
 * pipeline (shuffle, batch, prefetch) that `model.fitDataset` reads.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfd from '@tensorflow/tfjs-data';
import { loadFashionMnist, FASHION_MNIST_CLASSES } from '../../src/data/idx.js';

export { FASHION_MNIST_CLASSES };

export interface CourseSplit {
  /** Standardised pixels, [count, 28, 28] row-major. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export interface CourseData {
  train: CourseSplit;
  val: CourseSplit;
  test: CourseSplit;
  /** The training split's pixel mean and standard deviation (of the [0, 1] pixels) the splits were standardised with. */
  mean: number;
  std: number;
}

export interface CourseDataOptions {
  /** Training images to use before the validation split is taken (default all 60000). */
  limitTrain?: number;
  /** Test images to use (default all 10000). */
  limitTest?: number;
  /** Images held out of the training split for validation (default 5000). */
  valSize?: number;
  dir?: string;
}

const PIXELS = 28 * 28;

function slice(images: Float32Array, labels: Int32Array, from: number, to: number): CourseSplit {
  return { images: images.slice(from * PIXELS, to * PIXELS), labels: labels.slice(from, to), count: to - from };
}

/** Loads, splits and standardises Fashion-MNIST; throws with an install hint when it is missing. */
export function loadCourseData(opts: CourseDataOptions = {}): CourseData {
  const { train, test } = loadFashionMnist(opts.dir);
  const nTrain = Math.min(opts.limitTrain ?? train.count, train.count);
  const nTest = Math.min(opts.limitTest ?? test.count, test.count);
  const valSize = opts.valSize ?? 5000;
  if (valSize <= 0 || valSize >= nTrain) throw new Error(`validation split of ${valSize} images needs more than ${nTrain} training images`);
  const fit = nTrain - valSize;
  const out: CourseData = {
    train: slice(train.images, train.labels, 0, fit),
    val: slice(train.images, train.labels, fit, nTrain),
    test: slice(test.images, test.labels, 0, nTest),
    mean: 0,
    std: 1,
  };
  // Normalisation: statistics of the training split only, applied to every split.
  let sum = 0, sq = 0;
  for (const v of out.train.images) { sum += v; sq += v * v; }
  const n = out.train.images.length;
  out.mean = sum / n;
  out.std = Math.sqrt(Math.max(sq / n - out.mean * out.mean, 1e-12));
  for (const s of [out.train, out.val, out.test]) {
    const im = s.images;
    for (let i = 0; i < im.length; i++) im[i] = (im[i]! - out.mean) / out.std;
  }
  return out;
}

/** One-hot labels, [count, 10]. */
export function oneHot(labels: Int32Array, classes = 10): Float32Array {
  const y = new Float32Array(labels.length * classes);
  labels.forEach((l, i) => { y[i * classes + l] = 1; });
  return y;
}

/** A split as eager tensors: xs [count, 28, 28], ys one-hot [count, 10]. */
export function splitTensors(s: CourseSplit): { xs: tf.Tensor3D; ys: tf.Tensor2D } {
  return { xs: tf.tensor3d(s.images, [s.count, 28, 28]), ys: tf.tensor2d(oneHot(s.labels), [s.count, 10]) };
}

export interface PipelineOptions {
  batchSize?: number;
  /** Shuffle buffer (default: the whole split, a full shuffle every epoch). */
  shuffleBuffer?: number;
  seed?: number;
}

export interface TrainPipeline {
  dataset: tfd.Dataset<{ xs: tf.Tensor; ys: tf.Tensor }>;
  /** Frees the per-example tensors the dataset reads. */
  dispose(): void;
}

/**
 * The tf.data pipeline: one tensor pair per example (xs [28, 28], ys one-hot [10], made once)
 * → shuffle → batch → prefetch. `fitDataset` asks for a new iterator each epoch, which
 * reshuffles. (Rows of typed arrays batch through `tf.tensor(nested arrays)`, 3× slower.)
 */
export function trainDataset(s: CourseSplit, opts: PipelineOptions = {}): TrainPipeline {
  const batchSize = opts.batchSize ?? 64;
  const y = oneHot(s.labels);
  const rows = Array.from({ length: s.count }, (_, i) => ({
    xs: tf.tensor2d(s.images.subarray(i * PIXELS, (i + 1) * PIXELS), [28, 28]),
    ys: tf.tensor1d(y.subarray(i * 10, (i + 1) * 10)),
  }));
  const dataset = tfd.array(rows)
    .shuffle(opts.shuffleBuffer ?? s.count, opts.seed === undefined ? undefined : String(opts.seed))
    .batch(batchSize)
    .prefetch(2) as unknown as tfd.Dataset<{ xs: tf.Tensor; ys: tf.Tensor }>;
  return { dataset, dispose: () => rows.forEach((r) => { r.xs.dispose(); r.ys.dispose(); }) };
}
