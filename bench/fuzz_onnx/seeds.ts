/**
 * Seed models of the ONNX importer fuzzer: the ONNX backend node tests (Debian's
 * libonnx-testdata, when installed) and a few models graphc itself exports (an MLP, a small
 * convolution net, shape arithmetic on a symbolic batch, int32 select).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from '../../src/index.js';
import type { SeedModel } from './cases.js';

export const TESTDATA = '/usr/share/libonnx-testdata/data/node';

function testdataSeeds(): SeedModel[] {
  if (!existsSync(TESTDATA)) return [];
  return readdirSync(TESTDATA).sort().flatMap((d) => {
    const f = `${TESTDATA}/${d}/model.onnx`;
    return existsSync(f) ? [{ name: d, bytes: new Uint8Array(readFileSync(f)) }] : [];
  });
}

function exportedSeeds(): SeedModel[] {
  const w1 = tf.randomNormal([4, 8], 0, 1, 'float32', 1), w2 = tf.randomNormal([8, 3], 0, 1, 'float32', 2);
  const k = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 3);
  const fns: [string, (...xs: tf.Tensor[]) => tf.Tensor, gc.TensorSpec[]][] = [
    ['graphc_mlp', (x) => tf.softmax(tf.matMul(tf.relu(tf.matMul(x as tf.Tensor2D, w1 as tf.Tensor2D)), w2 as tf.Tensor2D)), [gc.spec(['batch', 4])]],
    ['graphc_conv', (x) => tf.maxPool(tf.relu(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'same')), 2, 2, 'valid'), [gc.spec([1, 8, 8, 2])]],
    ['graphc_shape', (x) => tf.reshape(tf.transpose(tf.sum(x, 1, true), [1, 0, 2]), [-1, 3]), [gc.spec(['n', 2, 3])]],
    ['graphc_mixed', (a, b) => tf.where(tf.greater(a, b), tf.cast(tf.add(a, b), 'float32'), tf.mul(tf.cast(a, 'float32'), 2)), [gc.spec([2, 3], 'int32'), gc.spec([1, 3], 'int32')]],
  ];
  const out: SeedModel[] = [];
  for (const [name, fn, specs] of fns) {
    try {
      out.push({ name, bytes: gc.toOnnx(gc.optimize(gc.trace(fn, specs)).graph) });
    } catch (e) {
      process.stderr.write(`fuzz:onnx: seed ${name} could not be exported: ${(e as Error).message.split('\n')[0]}\n`);
    }
  }
  tf.dispose([w1, w2, k]);
  return out;
}

export function loadSeeds(): SeedModel[] {
  return [...exportedSeeds(), ...testdataSeeds()];
}
