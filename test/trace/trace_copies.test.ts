/**
 * A trace copies the tfjs data it captures (variables' values, tensors the function closes over)
 * once per trace call, also when it traces twice for a symbolic batch: the graph holds the values
 * as they were at trace time, whatever later happens to the arrays tfjs handed out.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

describe('captured tfjs data in a trace', () => {
  it('is a copy taken at trace time, on symbolic and concrete traces alike', async () => {
    await tf.setBackend('cpu');
    const c = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    const v = tf.variable(tf.tensor1d([10, 20]), true, 'copies_v');
    for (const spec of [gc.spec(['b', 3]), gc.spec([4, 3])]) {
      const g = gc.trace((x: tf.Tensor) => tf.add(tf.matMul(x, c), v), [spec]);
      const consts = g.nodes.filter((n) => n.op === 'const' && (n.attrs.value as { data: ArrayLike<number> }).data.length === 6);
      expect(consts.length).toBe(1);
      const data = (consts[0]!.attrs.value as { data: Float32Array }).data;
      const init = g.stateByName('copies_v')!.init.data as Float32Array;
      // tfjs-cpu's dataSync() returns the tensor's own array: writing into it (tfjs does not
      // forbid it) changes the tensor, and must not change the graph traced before.
      const cArr = c.dataSync() as Float32Array, vArr = v.dataSync() as Float32Array;
      expect(data).not.toBe(cArr);
      expect(init).not.toBe(vArr);
      const [c0, v0] = [cArr[0]!, vArr[0]!];
      cArr[0] = 99; vArr[0] = 77;
      expect(Array.from(data)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(Array.from(init)).toEqual([10, 20]);
      cArr[0] = c0; vArr[0] = v0;
    }
    c.dispose(); v.dispose();
  });
});
