import * as tf from '@tensorflow/tfjs-core';
import { parseGraph } from './ir/parser.js';
import { printGraph } from './ir/printer.js';
import { fuseElementwiseIn } from './ir/passes/fuse_elementwise.js';
import { Session } from './runtime/session.js';
const text = `graph @f(%x: f32[batch,4], %b: f32[4]) {
  %h: f32[] = const {value = dense<f32[]> [0.5]}
  %0: f32[batch,4] = mul %x, %h
  %1: f32[batch,4] = add %0, %b
  %2: f32[batch,4] = tanh %1
  %3: f32[batch,4] = sigmoid %x
  %4: f32[batch,4] = mul %2, %3
  %5: f32[batch,4] = mul %4, %4
  return y = %5
}`;
const g = parseGraph(text);
const g2 = parseGraph(text);
console.log(fuseElementwiseIn(g2, { backend: 'cpu' }));
console.log(printGraph(g2));
for (const be of ['cpu', 'wasm', 'webgpu'] as const) {

  const s1 = await Session.create(g, { backend: be }), s2 = await Session.create(g2, { backend: be }); await tf.setBackend(be); const x = tf.randomNormal([3, 4]), b = tf.randomNormal([4]);
  const y1 = await s1.run('y', { x, b }) as tf.Tensor, y2 = await s2.run('y', { x, b }) as tf.Tensor;
  const d1 = await y1.data(), d2 = await y2.data();
  let maxd = 0; for (let i = 0; i < d1.length; i++) maxd = Math.max(maxd, Math.abs(d1[i]! - d2[i]!));
  console.log(be, 'maxdiff', maxd, Array.from(d2).slice(0, 4));
}
