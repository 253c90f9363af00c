/**
 * The loop roller on two repeated steps: tf.mirrorPad pads with a slice + reverse per padded row,
 * which looks like a loop of two steps. The roller compared the last step against step 1, which
 * two steps do not have (a TypeError in rollAt); now step 0 is the template, and the function
 * compiles with a symbolic batch and gives eager's numbers.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

await tf.setBackend('cpu');

describe('loops of two steps', () => {
  for (const mode of ['reflect', 'symmetric'] as const) {
    it(`tf.mirrorPad '${mode}' with a symbolic batch compiles and matches eager at batch 1 and 3`, async () => {
      const pad = (x: tf.Tensor) => tf.mirrorPad(x as tf.Tensor4D, [[0, 0], [1, 1], [1, 1], [0, 0]], mode);
      const f = gc.compile(pad, { inputs: [gc.spec(['batch', 4, 4, 2])], backend: 'cpu' });
      for (const b of [1, 3]) {
        const x = tf.randomUniform([b, 4, 4, 2], -1, 1, 'float32', 7 + b);
        const y = (await f(x)) as tf.Tensor;
        const e = pad(x);
        expect(y.shape).toEqual([b, 6, 6, 2]);
        expect(Array.from(y.dataSync())).toEqual(Array.from(e.dataSync()));
        tf.dispose([x, y, e]);
      }
      expect(f.traceCount).toBe(1);
    });
  }
});
