/**
 * The onnxruntime engine without onnxruntime-node's native binding (GRAPHC_ORT_NATIVE=0, as
 * where a future version keeps it elsewhere): sessions run through the public, asynchronous
 * InferenceSession API, with the same results, training steps included.
 */
import { describe, expect, it } from 'vitest';
import type * as tfNs from '@tensorflow/tfjs-core';

process.env.GRAPHC_ORT_NATIVE = '0';
const tf = await import('@tensorflow/tfjs-core');
const gc = await import('graphc');
const { ortRunsSynchronously } = await import('../../../runtime/backends/onnxruntime.js');
const { ensureBackend } = await import('../../../runtime/backends/select.js');
await ensureBackend('cpu');
await tf.setBackend('cpu');

describe('backend onnxruntime through the public API', () => {
  it('predicts and trains as eager tfjs does, results outliving a tf.tidy around the call', async () => {
    expect(ortRunsSynchronously()).toBe(false);
    const w = tf.variable(tf.tensor2d([[0.5, -1], [2, 0.25], [-0.75, 1.5]]));
    const opt = tf.train.sgd(0.1);
    const step = (x: tfNs.Tensor, y: tfNs.Tensor) => opt.minimize(() => tf.losses.meanSquaredError(y, tf.matMul(x, w)) as tfNs.Scalar, true)!;
    const x = tf.tensor2d([[1, 2, 3], [-1, 0.5, 2]]), y = tf.tensor2d([[1, 0], [0, 1]]);
    const w0 = tf.clone(w);
    const eager: number[] = [];
    for (let i = 0; i < 5; i++) eager.push((await step(x, y).data())[0]!);
    const wEager = await w.data();
    w.assign(w0);
    const f = gc.compile(step, { inputs: [gc.spec(['b', 3]), gc.spec(['b', 2])], backend: 'onnxruntime' });
    const got: number[] = [];
    for (let i = 0; i < 5; i++) {
      let p: Promise<unknown> | undefined;
      tf.tidy(() => { p = f(x, y); });
      const l = (await p!) as tfNs.Tensor;
      got.push((await l.data())[0]!);
      l.dispose();
    }
    expect(eager[4]!).toBeLessThan(eager[0]!);
    got.forEach((l, i) => expect(Math.abs(l - eager[i]!)).toBeLessThan(1e-5));
    const wGot = await w.data();
    wEager.forEach((v, i) => expect(Math.abs(v - wGot[i]!)).toBeLessThan(1e-5));
    f.dispose();
  });
});
