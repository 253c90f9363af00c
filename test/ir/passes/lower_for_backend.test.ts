import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../../ir/parser.js';
import { explainLowering } from '../../../ir/passes/lower_for_backend.js';
import { BACKEND_TRAITS } from '../../../runtime/backends/traits.js';
import { checkGolden } from './golden.js';
import { expectSameValues } from './same_values.js';

const TRANSPOSED = `graph @f(%a: f32[batch,784], %g: f32[batch,256], %w: f32[256,784]) {
  %0: f32[784,256] = matmul %a, %g {transpose_a = true, transpose_b = false}
  %1: f32[batch,256] = matmul %a, %w {transpose_a = false, transpose_b = true}
  return dw = %0, y = %1
}`;

describe('lower-for-backend', () => {
  it('wasm: rank-2 transposed matmuls (the gradient dW = aᵀ·g) get explicit transposes', async () => {
    const r = checkGolden(`// RUN: lower-for-backend backend=wasm
${TRANSPOSED}
// EXPECT:
graph @f(%a: f32[batch,784], %g: f32[batch,256], %w: f32[256,784]) {
  %0: f32[784,batch] = transpose %a {perm = [1, 0]}
  %1: f32[784,256] = matmul %0, %g {transpose_a = false, transpose_b = false}
  %2: f32[784,256] = transpose %w {perm = [1, 0]}
  %3: f32[batch,256] = matmul %a, %2 {transpose_a = false, transpose_b = false}
  return dw = %1, y = %3
}`);
    await expectSameValues(r.input, r.output, { dims: { batch: 8 }, atol: 1e-4, rtol: 1e-5 });
  });

  it('wasm and cpu: maximum(x, 0) → relu, pow(x, 2) → square; tanh stays (2·sigmoid(2x) − 1 loses tanh\'s relative accuracy near 0)', async () => {
    const text = `graph @f(%x: f32[batch,4]) {
  %z: f32[] = const {value = dense<f32[]> [0]}
  %t: f32[] = const {value = dense<f32[]> [2]}
  %0: f32[batch,4] = tanh %x
  %1: f32[batch,4] = maximum %z, %x
  %2: f32[batch,4] = pow %x, %t
  return a = %0, b = %1, c = %2
}`;
    const lowered = text.replace('maximum %z, %x', 'relu %x').replace('pow %x, %t', 'square %x');
    for (const backend of ['wasm', 'cpu']) {
      const r = checkGolden(`// RUN: lower-for-backend,dce backend=${backend}\n${text}\n// EXPECT:\n${lowered}`);
      // relu and square are exact.
      await expectSameValues(r.input, r.output, { atol: 0, rtol: 0 });
    }
  });

  it('wasm: tanh(a·x + b) is not rewritten', () => {
    checkGolden(`// RUN: lower-for-backend backend=wasm
graph @f(%x: f32[batch,4]) {
  %h: f32[] = const {value = dense<f32[]> [0.5]}
  %o: f32[] = const {value = dense<f32[]> [1]}
  %0: f32[batch,4] = mul %x, %h
  %1: f32[batch,4] = add %0, %o
  %2: f32[batch,4] = tanh %1
  return a = %2
}
// EXPECT: unchanged`);
  });

  it('negative: no backend, webgpu, small or batched matmuls, non-zero maximum, pow 3, int32', () => {
    checkGolden(`// RUN: lower-for-backend\n${TRANSPOSED}\n// EXPECT: unchanged`);
    checkGolden(`// RUN: lower-for-backend backend=webgpu\n${TRANSPOSED}\n// EXPECT: unchanged`);
    const g = parseGraph(`graph @f(%a: f32[1,784], %w: f32[128,784], %b: f32[8,64,128], %c: f32[8,64,96], %x: f32[4], %i: i32[4]) {
  %0: f32[1,128] = matmul %a, %w {transpose_a = false, transpose_b = true}
  %1: f32[8,128,96] = matmul %b, %c {transpose_a = true, transpose_b = false}
  %h: f32[] = const {value = dense<f32[]> [0.5]}
  %2: f32[4] = maximum %x, %h
  %3: f32[] = const {value = dense<f32[]> [3]}
  %4: f32[4] = pow %x, %3
  %5: i32[] = const {value = dense<i32[]> [0]}
  %6: i32[4] = maximum %i, %5
  return a = %0, b = %1, c = %2, d = %4, e = %6
}`);
    const whys = g.nodes.filter((n) => n.op !== 'const').map((n) => explainLowering(n, BACKEND_TRAITS.wasm).filter((e) => !/^not a/.test(e.why ?? '')));
    expect(whys).toEqual([
      [{ rule: 'matmul-transposed', why: 'm·k·n ≈ 100352 < 262144: the transpose costs more than it saves' }],
      [{ rule: 'matmul-transposed', why: 'batched matmul: wasm is as fast either way (measured rank 3)' }],
      [{ rule: 'maximum-zero-relu', why: "neither operand is a one-element constant 0 (of a broadcast that keeps the other's shape)" }],
      [{ rule: 'pow-two-square', why: 'the exponent is not a one-element constant 2' }],
      [{ rule: 'maximum-zero-relu', why: 'int32 operands' }],
    ]);
    checkGolden(`// RUN: lower-for-backend backend=wasm\n${g.toString()}\n// EXPECT: unchanged`);
  });
});
