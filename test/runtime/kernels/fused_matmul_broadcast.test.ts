/**
 * fused_matmul whose operands' batch dims broadcast ([3,1,4,8] × [1,8,5], the shapes a scan's
 * hoisted input projection has): tfjs-backend-wasm's _FusedMatMul reads the wrong rows there, so
 * the wasm kernel takes the product, then the bias and activation. Same values on cpu and wasm.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import 'graphc';
import { parseGraph } from '../../../ir/parser.js';
import { Session } from '../../../runtime/session.js';

const graph = (activation: string, a: string, b: string, out: string) => `graph @f(%a: f32[${a}], %b: f32[${b}], %c: f32[5]) {
  %0: f32[${out}] = fused_matmul %a, %b, %c {activation = "${activation}", alpha = 0.2, has_bias = true, transpose_a = false, transpose_b = false}
  return y = %0
}`;

describe('fused_matmul with broadcast batch dims', () => {
  for (const [a, b, out] of [['3,1,4,8', '1,8,5', '3,1,4,5'], ['2,4,8', '8,5', '2,4,5'], ['3,4,8', '1,8,5', '3,4,5']]) {
    it(`[${a}] × [${b}] + bias, relu: wasm equals cpu`, async () => {
      const dims = (s: string) => s.split(',').map(Number);
      const feeds = { a: tf.randomNormal(dims(a), 0, 1, 'float32', 1), b: tf.randomNormal(dims(b), 0, 1, 'float32', 2), c: tf.randomNormal([5], 0, 1, 'float32', 3) };
      const want = tf.relu(tf.add(tf.matMul(feeds.a, feeds.b), feeds.c));
      for (const backend of ['cpu', 'wasm'] as const) {
        for (const executor of ['auto', 'tensors'] as const) {
          const s = await Session.create(parseGraph(graph('relu', a, b, out)), { backend, executor });
          const y = s.runSync('y', feeds) as tf.Tensor;
          expect(y.shape).toEqual(dims(out));
          Array.from(y.dataSync()).forEach((v, i) => expect(v, `${backend}/${executor} [${i}]`).toBeCloseTo(want.dataSync()[i]!, 4));
          y.dispose();
          s.dispose();
        }
      }
      tf.dispose([want, feeds.a, feeds.b, feeds.c]);
    });
  }
});
