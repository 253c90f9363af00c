/**
 * Compiling a function again and again, and disposing it, leaves tfjs's tensor count where it
 * was (the first compile of a training step creates its optimizer slots, which stay: they are
 * the optimizer's). Covers predict, a training step with dropout and Adam, seeded random ops,
 * feeds made on another backend, and f.sync, on cpu, wasm and the default backend.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';

describe('recompiling leaks nothing', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  for (const backend of ['cpu', 'wasm', undefined] as const) {
    it(`on ${backend ?? 'the default backend'}`, async () => {
      const model = tfl.sequential({ layers: [
        tfl.layers.flatten({ inputShape: [4, 4] }),
        tfl.layers.dense({ units: 8, activation: 'relu' }),
        tfl.layers.dropout({ rate: 0.3 }),
        tfl.layers.dense({ units: 3 }),
      ] });
      const opt = tf.train.adam(1e-2);
      const x = tf.randomNormal([5, 4, 4]);
      const labels = tf.tensor([0, 1, 2, 1, 0], [5], 'int32');
      const specs = [gc.spec(['batch', 4, 4]), gc.spec(['batch'], 'int32')];
      const step = (x: tf.Tensor, l: tf.Tensor) => opt.minimize(() =>
        tf.losses.softmaxCrossEntropy(tf.oneHot(l, 3), model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
      const round = async () => {
        const s = gc.compile(step, { inputs: specs, backend });
        (await s(x, labels) as tf.Tensor).dispose();
        s.dispose();
        const p = gc.compile((x: tf.Tensor) => tf.softmax(model.predict(x) as tf.Tensor), { inputs: [specs[0]!], backend, seed: 3 });
        (await p(x) as tf.Tensor).dispose();
        await p.ready();
        tf.dispose(p.sync(x) as tf.Tensor);
        p.dispose();
        const r = gc.compile((x: tf.Tensor) => tf.add(tf.dropout(x, 0.5), tf.randomUniform([4, 4])), { inputs: [specs[0]!], backend });
        (await r(x) as tf.Tensor).dispose();
        r.dispose();
      };
      await round(); // creates Adam's slots (kept by the optimizer)
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) await round();
      await new Promise((res) => setTimeout(res, 20));
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
