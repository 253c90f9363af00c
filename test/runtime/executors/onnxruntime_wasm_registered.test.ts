/**
 * A program that imports tfjs-backend-wasm but runs on tfjs-cpu (the wasm backend registered,
 * never initialised): the onnxruntime engine must not start initialising it. tf.findBackend('wasm')
 * would, and until that settles every tfjs op throws "Backend 'cpu' has not yet been initialized"
 * — a compiled Adam step on backend 'onnxruntime' failed on its second call that way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as gc from 'graphc';
import { rng } from '../../exporters/onnx/harness.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('backend onnxruntime with tfjs-backend-wasm imported but not in use', () => {
  it('an Adam step runs 10 times and equals eager tfjs-cpu, and tfjs-wasm stays uninitialised', async () => {
    expect(tf.engine().registryFactory['wasm']).toBeDefined();
    const [F, C, B, STEPS] = [6, 3, 8, 10];
    const r = rng(5);
    const w0 = tf.tensor2d(Float32Array.from({ length: F * C }, () => r() - 0.5), [F, C]);
    // Labels of a fixed linear teacher: learnable, so the loss falls.
    const teacher = tf.tensor2d(Float32Array.from({ length: F * C }, () => r() * 2 - 1), [F, C]);
    const data = Array.from({ length: STEPS }, () => {
      const x = tf.tensor2d(Float32Array.from({ length: B * F }, () => r() * 2 - 1), [B, F]);
      return { x, y: tf.oneHot(tf.argMax(tf.matMul(x, teacher), 1), C).toFloat() };
    });
    const run = async (compiled: boolean) => {
      const w = tf.variable(w0.clone());
      const opt = tf.train.adam(0.05);
      const step = (x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, tf.matMul(x, w)) as tf.Scalar, true)!;
      const f = compiled ? gc.compile(step, { inputs: [gc.spec(['batch', F]), gc.spec(['batch', C])], backend: 'onnxruntime' }) : undefined;
      const losses: number[] = [];
      for (const d of data) {
        const l = f ? (await f(d.x, d.y)) as tf.Tensor : step(d.x, d.y);
        losses.push(l.dataSync()[0]!);
        l.dispose();
      }
      const weights = Array.from(w.dataSync());
      f?.dispose();
      w.dispose();
      opt.dispose();
      return { losses, weights };
    };
    const eager = await run(false);
    const ort = await run(true);
    expect(eager.losses[STEPS - 1]!).toBeLessThan(eager.losses[0]!);
    ort.losses.forEach((l, i) => expect(Math.abs(l - eager.losses[i]!)).toBeLessThan(1e-5));
    ort.weights.forEach((v, i) => expect(Math.abs(v - eager.weights[i]!)).toBeLessThan(1e-5));
    expect((tf.engine() as unknown as { registry: Record<string, unknown> }).registry['wasm']).toBeUndefined();
    expect(tf.getBackend()).toBe('cpu');
  });
});
