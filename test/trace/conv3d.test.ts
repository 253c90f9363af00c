/**
 * tf.conv3d, tf.maxPool3d and tf.avgPool3d traced (as 2-D ops over the depth taps): generated
 * shapes, windows, strides (above the window too, where tfjs's 3-D 'same' padding is negative)
 * and paddings, with a symbolic batch, compiled on cpu, wasm, onnxruntime and auto, equal to
 * eager tfjs-cpu within float32 rounding; a tfjs-layers 3-D CNN; the export in ONNX Runtime.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import * as gc from 'graphc';
import { close, eagerOnCpuWithWasm, lcg } from './support.js';

eagerOnCpuWithWasm();



describe('3-D convolution and pooling traced', () => {
  it('property: conv3d, maxPool3d and avgPool3d equal eager tfjs-cpu on cpu, wasm, onnxruntime and auto, symbolic batch', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 1e6 }), async (seed) => {
      const r = lcg(seed);
      const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
      const b = int(1, 2), d = int(1, 5), h = int(1, 5), w = int(1, 5), ci = int(1, 3), co = int(1, 3);
      const k: [number, number, number] = [int(1, 3), int(1, 3), int(1, 3)];
      const s: [number, number, number] = [int(1, 3), int(1, 2), int(1, 3)];
      const pad = r() < 0.5 ? 'same' : 'valid';
      const x = tf.tensor5d(Array.from({ length: b * d * h * w * ci }, () => r() * 4 - 2), [b, d, h, w, ci]);
      const f = tf.tensor5d(Array.from({ length: k[0] * k[1] * k[2] * ci * co }, () => r() * 2 - 1), [...k, ci, co]);
      const fns: [string, (v: tf.Tensor) => tf.Tensor][] = [
        ['conv3d', (v) => tf.conv3d(v as tf.Tensor5D, f, s, pad)],
        ['maxPool3d', (v) => tf.maxPool3d(v as tf.Tensor5D, k, s, pad)],
        ['avgPool3d', (v) => tf.avgPool3d(v as tf.Tensor5D, k, s, pad)],
      ];
      for (const [name, fn] of fns) {
        let want: tf.Tensor;
        try { want = fn(x); } catch { continue; }                  // a window larger than the input: tfjs refuses
        for (const backend of ['cpu', 'wasm', 'onnxruntime', 'auto'] as const) {
          const where = `${name} ${backend} seed ${seed}: x [${b},${d},${h},${w},${ci}] window [${k}] strides [${s}] ${pad}`;
          const g = gc.compile(fn, { inputs: [gc.spec(['batch', d, h, w, ci])], backend });
          close((await g(x)) as tf.Tensor, want, 1e-5, where);
          g.dispose();
        }
      }
    }), { numRuns: 40, seed: 37 });
  });

  it('a tfjs-layers 3-D CNN (conv3d relu, maxPooling3d, averagePooling3d, flatten, dense) predicts as eager at two batch sizes, and exports to ORT', async () => {
    const m = tfl.sequential({ layers: [
      tfl.layers.conv3d({ inputShape: [6, 8, 8, 2], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: 'glorotUniform' }),
      tfl.layers.maxPooling3d({ poolSize: 2 }),
      tfl.layers.averagePooling3d({ poolSize: [1, 2, 2], strides: [1, 2, 2] }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, activation: 'softmax' }),
    ] });
    const x = tf.randomUniform([3, 6, 8, 8, 2], -1, 1, 'float32', 5);
    const f = gc.compile((v: tf.Tensor) => m.predict(v) as tf.Tensor, { inputs: [gc.spec(['batch', 6, 8, 8, 2], 'float32', 'x')], backend: 'auto' });
    close((await f(x)) as tf.Tensor, m.predict(x) as tf.Tensor, 1e-5, 'batch 3');
    const one = tf.slice(x, [0], [1]);
    close((await f(one)) as tf.Tensor, m.predict(one) as tf.Tensor, 1e-5, 'batch 1');
    expect(f.traceCount).toBe(1);
    const s = await ort.InferenceSession.create(f.toOnnx());
    const out = await s.run({ x: new ort.Tensor('float32', x.dataSync() as Float32Array, [3, 6, 8, 8, 2]) });
    close(tf.tensor(out[s.outputNames[0]!]!.data as Float32Array, [3, 3]), m.predict(x) as tf.Tensor, 1e-5, 'ORT');
  });
});
