import { describe, it } from 'vitest';
import { checkGolden } from './golden.js';
import { expectSameValues } from './same_values.js';

describe('freeze-variables', () => {
  it('unassigned variables become constants (the value name moves to the const); assigned ones stay', async () => {
    const r = checkGolden(`// RUN: freeze-variables
graph @f(%x: f32[batch,2]) state(%w: f32[2,2] = "dense/kernel" trainable, %b: f32[2] = "dense/bias" trainable, %n: f32[] = "steps") {
  %0: f32[batch,2] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %1: f32[batch,2] = add %0, %b
  %2: f32[] = const {value = dense<f32[]> [1]}
  %3: f32[] = add %n, %2
  assign %3 {var = "steps"}
  init %w = dense<f32[2,2]> [1, 2, 3, 4]
  init %b = dense<f32[2]> [0.5, -0.5]
  init %n = dense<f32[]> [0]
  return y = %1
}
// EXPECT:
graph @f(%x: f32[batch,2]) state(%n: f32[] = "steps") {
  %w: f32[2,2] = const {value = dense<f32[2,2]> [1, 2, 3, 4]}
  %b: f32[2] = const {value = dense<f32[2]> [0.5, -0.5]}
  %0: f32[batch,2] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %1: f32[batch,2] = add %0, %b
  %2: f32[] = const {value = dense<f32[]> [1]}
  %3: f32[] = add %n, %2
  assign %3 {var = "steps"}
  init %n = dense<f32[]> [0]
  return y = %1
}`);
    await expectSameValues(r.input, r.output, { atol: 0, rtol: 0 });
  });

  it('negative: a graph without variables, or whose variables are all assigned, is unchanged', () => {
    checkGolden(`// RUN: freeze-variables
graph @f(%x: f32[2]) state(%v: f32[2] = "v" trainable) {
  %0: f32[2] = add %v, %x
  assign %0 {var = "v"}
  init %v = dense<f32[2]> [0, 0]
  return y = %0
}
// EXPECT: unchanged`);
  });
});
