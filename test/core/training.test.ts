import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import { loss, makeParams } from './two_layer.js';
import type { Params } from './two_layer.js';

const OPTIMIZERS: Record<string, () => tf.Optimizer> = {
  sgd: () => tf.train.sgd(0.1),
  momentum: () => tf.train.momentum(0.05, 0.9),
  rmsprop: () => tf.train.rmsprop(0.01, 0.9, 0.1),
  adam: () => tf.train.adam(0.01),
  adagrad: () => tf.train.adagrad(0.1),
};

describe('training: compiled optimizer steps equal eager steps', () => {
  // wasm runs the compiled step through the direct executor (runtime/executors/wasm_direct.ts) with the
  // wasm lowering (explicit transposes before matmuls): buffers reused across steps must give
  // the same 25 steps as eager.
  for (const backend of ['cpu', 'wasm'] as const) for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(`${name} on ${backend}: 25 steps, same losses and weights within 1e-4`, async () => {
      await gc.ensureBackend(backend);
      await tf.setBackend(backend);
      const eagerP = makeParams(`${name}_eager_${backend}`, 10);
      const compP = makeParams(`${name}_comp_${backend}`, 10);
      const eagerOpt = make();
      const compOpt = make();
      const step = gc.compile(
        (x: tf.Tensor, y: tf.Tensor) => compOpt.minimize(() => loss(compP, x, y), true, Object.values(compP))!,
        { inputs: [gc.spec(['batch', 6]), gc.spec(['batch'], 'int32')], backend },
      );
      // Forward, backward and the update are one graph: it assigns every weight.
      const assigned = step.graph.nodes.filter((n) => n.op === 'assign').map((n) => n.attrs.var as string);
      for (const v of Object.values(compP)) expect(assigned).toContain(v.name);
      for (let i = 0; i < 25; i++) {
        const x = tf.randomNormal([8, 6], 0, 1, 'float32', 100 + i);
        const y = tf.tensor1d(Array.from({ length: 8 }, (_, k) => (k * 7 + i) % 3), 'int32');
        const le = eagerOpt.minimize(() => loss(eagerP, x, y), true, Object.values(eagerP))!;
        const lc = (await step(x, y)) as tf.Tensor;
        expect(Math.abs(lc.dataSync()[0]! - le.dataSync()[0]!)).toBeLessThan(1e-4);
        tf.dispose([x, y, le, lc]);
      }
      for (const k of Object.keys(eagerP) as (keyof Params)[]) {
        const diff = tf.max(tf.abs(tf.sub(eagerP[k], compP[k]))).dataSync()[0]!;
        expect(diff).toBeLessThan(1e-4);
      }
      // The weights moved: a wrong (no-op) update would leave them at their start.
      const start = makeParams(`${name}_start_${backend}`, 10);
      expect(tf.max(tf.abs(tf.sub(start.w1, compP.w1))).dataSync()[0]!).toBeGreaterThan(1e-3);
      expect(step.traceCount).toBe(1);
    });
  }
});
