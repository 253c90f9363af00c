/**
 * fused_matmul whose operands' batch dims broadcast ([3,1,4,8] × [1,8,5], the shapes a scan's
 * hoisted input projection has): tfjs-backend-wasm's _FusedMatMul reads the wrong rows there, so
 * the wasm kernel takes the product, then the bias and activation; a right operand without batch
 * dims makes one 2-D product over all rows. Same values on cpu and wasm, fused or not.
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
  // The first three are one 2-D product over all rows (flatBatch); the last broadcasts the left operand.
  for (const [a, b, out] of <[string, string, string][]>[['3,1,4,8', '1,8,5', '3,1,4,5'], ['2,4,8', '8,5', '2,4,5'], ['3,4,8', '1,8,5', '3,4,5'], ['1,4,8', '3,8,5', '3,4,5']]) {
    it(`[${a}] × [${b}] + bias, relu: wasm equals cpu`, async () => {
      const dims = (s: string) => s.split(',').map(Number);
      const feeds = { a: tf.randomNormal(dims(a), 0, 1, 'float32', 1), b: tf.randomNormal(dims(b), 0, 1, 'float32', 2), c: tf.randomNormal([5], 0, 1, 'float32', 3) };
      const want = tf.relu(tf.add(tf.matMul(feeds.a, feeds.b), feeds.c));
      const plain = tf.matMul(feeds.a, feeds.b);
      const matmul = `graph @g(%a: f32[${a}], %b: f32[${b}]) {\n  %0: f32[${out}] = matmul %a, %b {transpose_a = false, transpose_b = false}\n  return y = %0\n}`;
      for (const backend of ['cpu', 'wasm'] as const) {
        for (const executor of ['auto', 'tensors'] as const) {
          for (const [text, expected] of [[graph('relu', a, b, out), want], [matmul, plain]] as const) {
            const s = await Session.create(parseGraph(text), { backend, executor });
            const before = tf.memory().numTensors;
            const y = s.runSync('y', text === matmul ? { a: feeds.a, b: feeds.b } : feeds) as tf.Tensor;
            expect(tf.memory().numTensors).toBe(before + 1);
            expect(y.shape).toEqual(dims(out));
            Array.from(y.dataSync()).forEach((v, i) => expect(v, `${backend}/${executor} [${i}]`).toBeCloseTo(expected.dataSync()[i]!, 4));
            y.dispose();
            s.dispose();
          }
        }
      }
      tf.dispose([want, plain, feeds.a, feeds.b, feeds.c]);
    });
  }
});
