/**
 * tf.localResponseNormalization traced, and its gradient (LRNGrad): generated shapes, depth
 * radii (0, inside and beyond the channels), bias, alpha and beta, with a symbolic batch,
 * compiled on cpu, wasm, onnxruntime and auto, equal to eager tfjs-cpu within float32 rounding
 * (tfjs-cpu sums and raises to the power in float64); a training step through LRN; the export
 * in ONNX Runtime.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import * as gc from 'graphc';
import { close, eagerOnCpuWithWasm, lcg } from './support.js';

eagerOnCpuWithWasm();



describe('localResponseNormalization traced', () => {
  it('property: forward and gradient equal eager tfjs-cpu on cpu, wasm, onnxruntime and auto, symbolic batch', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 1e6 }), async (seed) => {
      const r = lcg(seed);
      const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
      const b = int(1, 2), h = int(1, 3), w = int(1, 3), c = int(1, 9);
      const radius = int(0, 6), bias = 0.5 + 2 * r(), alpha = 2 * r(), beta = 0.25 + r();
      const fwd = (x: tf.Tensor) => tf.localResponseNormalization(x as tf.Tensor4D, radius, bias, alpha, beta);
      const grad = (x: tf.Tensor, dy: tf.Tensor) => tf.grad((z: tf.Tensor) => tf.sum(tf.mul(fwd(z), dy)))(x);
      const x = tf.tensor4d(Array.from({ length: b * h * w * c }, () => r() * 4 - 2), [b, h, w, c]);
      const dy = tf.tensor4d(Array.from({ length: b * h * w * c }, () => r() * 2 - 1), [b, h, w, c]);
      const want = fwd(x).dataSync(), wantGrad = grad(x, dy).dataSync();
      for (const backend of ['cpu', 'wasm', 'onnxruntime', 'auto'] as const) {
        const where = `${backend} seed ${seed}: [${b},${h},${w},${c}] radius ${radius} bias ${bias} alpha ${alpha} beta ${beta}`;
        const f = gc.compile(fwd, { inputs: [gc.spec(['batch', h, w, c])], backend });
        const g = gc.compile(grad, { inputs: [gc.spec(['batch', h, w, c]), gc.spec(['batch', h, w, c])], backend });
        close(((await f(x)) as tf.Tensor).dataSync(), want, 1e-6, `forward ${where}`);
        close(((await g(x, dy)) as tf.Tensor).dataSync(), wantGrad, 2e-5, `gradient ${where}`);
        f.dispose();
        g.dispose();
      }
    }), { numRuns: 30, seed: 29 });
  });

  it('a training step through LRN (conv, LRN, dense, SGD) equals the eager step over 5 steps', async () => {
    const init = (seed: number, shape: number[]) => { const r = lcg(seed); return tf.tensor(Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => r() - 0.5), shape); };
    const make = () => ({ k: tf.variable(init(1, [3, 3, 2, 6])), d: tf.variable(init(2, [4 * 4 * 6, 3])) });
    const x = init(3, [2, 4, 4, 2]), y = tf.tensor2d([1, 0, 0, 0, 0, 1], [2, 3]);
    const stepOf = (v: { k: tf.Variable; d: tf.Variable }, opt: tf.Optimizer) => (xs: tf.Tensor, ys: tf.Tensor) => opt.minimize(() => {
      const h = tf.localResponseNormalization(tf.relu(tf.conv2d(xs as tf.Tensor4D, v.k as tf.Tensor4D, 1, 'same')), 2, 1, 0.5, 0.75);
      return tf.losses.softmaxCrossEntropy(ys, tf.matMul(tf.reshape(h, [-1, 4 * 4 * 6]), v.d)) as tf.Scalar;
    }, true)!;
    const ev = make(), cv = make();
    const eager = stepOf(ev, tf.train.sgd(0.5));
    const compiled = gc.compile(stepOf(cv, tf.train.sgd(0.5)), { backend: 'auto' });
    for (let i = 0; i < 5; i++) {
      const want = eager(x, y).dataSync()[0]!;
      const got = ((await compiled(x, y)) as tf.Tensor).dataSync()[0]!;
      expect(Math.abs(got - want), `step ${i}: ${got} vs ${want}`).toBeLessThan(1e-5);
    }
    close(cv.k.dataSync(), ev.k.dataSync(), 1e-5, 'conv kernel after 5 steps');
    // The weights moved: the LRN gradient reached the kernel.
    expect(Math.max(...Array.from(tf.sub(cv.k, init(1, [3, 3, 2, 6])).abs().dataSync()))).toBeGreaterThan(1e-3);
  });

  it('exports to ONNX: ONNX Runtime normalizes as eager tfjs does', async () => {
    const fwd = (x: tf.Tensor) => tf.localResponseNormalization(x as tf.Tensor4D, 2, 1.5, 0.3, 0.6);
    const f = gc.compile(fwd, { inputs: [gc.spec(['batch', 2, 2, 5], 'float32', 'x')] });
    const r = lcg(7);
    const xs = Array.from({ length: 3 * 2 * 2 * 5 }, () => r() * 6 - 3);
    const s = await ort.InferenceSession.create(f.toOnnx());
    const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from(xs), [3, 2, 2, 5]) });
    close(out[s.outputNames[0]!]!.data as Float32Array, fwd(tf.tensor4d(xs, [3, 2, 2, 5])).dataSync(), 1e-6, 'ORT');
  });
});
