import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../../ir/parser.js';
import { matchFusion } from '../../../ir/passes/fuse_matmul_bias_act.js';
import { ensureBackend } from '../../../runtime/backends.js';
import { checkGolden } from './golden.js';
import { expectSameValues } from './same_values.js';

const webgpu = await ensureBackend('webgpu').then(() => true, () => false);
const BACKENDS = webgpu ? (['cpu', 'wasm', 'webgpu'] as const) : (['cpu', 'wasm'] as const);

describe('fuse-matmul-bias-act', () => {
  it('matmul + bias + relu → one fused_matmul (bias on either side of the add)', async () => {
    const r = checkGolden(`// RUN: fuse-matmul-bias-act
graph @f(%x: f32[batch,3], %w: f32[3,4], %b: f32[4], %w2: f32[4,2], %b2: f32[2]) {
  %0: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %1: f32[batch,4] = add %0, %b
  %2: f32[batch,4] = relu %1
  %3: f32[batch,2] = matmul %2, %w2 {transpose_a = false, transpose_b = false}
  %4: f32[batch,2] = add %b2, %3
  %5: f32[batch,2] = leaky_relu %4 {alpha = 0.1}
  return y = %5
}
// EXPECT:
graph @f(%x: f32[batch,3], %w: f32[3,4], %b: f32[4], %w2: f32[4,2], %b2: f32[2]) {
  %0: f32[batch,4] = fused_matmul %x, %w, %b {activation = "relu", alpha = 0.2, has_bias = true, transpose_a = false, transpose_b = false}
  %1: f32[batch,2] = fused_matmul %0, %w2, %b2 {activation = "leakyrelu", alpha = 0.1, has_bias = true, transpose_a = false, transpose_b = false}
  return y = %1
}`);
    await expectSameValues(r.input, r.output, { backends: BACKENDS });
  });

  it('transposed operands, conv2d + bias + relu6, depthwise + prelu, matmul + sigmoid without bias, elu', async () => {
    const r = checkGolden(`// RUN: fuse-matmul-bias-act
graph @f(%x: f32[3,batch], %w: f32[4,3], %b: f32[4], %im: f32[batch,5,5,2], %f: f32[3,3,2,3], %c: f32[3], %df: f32[3,3,2,2], %a: f32[4]) {
  %0: f32[batch,4] = matmul %x, %w {transpose_a = true, transpose_b = true}
  %1: f32[batch,4] = add %0, %b
  %2: f32[batch,4] = elu %1
  %3: f32[batch,5,5,3] = conv2d %im, %f {dilations = [1, 1], padding = "same", pads = [0, 0, 0, 0], strides = [1, 1]}
  %4: f32[batch,5,5,3] = add %3, %c
  %5: f32[batch,5,5,3] = relu6 %4
  %6: f32[batch,3,3,4] = depthwise_conv2d %im, %df {dilations = [1, 1], padding = "valid", pads = [0, 0, 0, 0], strides = [1, 1]}
  %7: f32[batch,3,3,4] = prelu %6, %a
  %8: f32[batch,4] = matmul %x, %w {transpose_a = true, transpose_b = true}
  %9: f32[batch,4] = sigmoid %8
  return y = %2, z = %5, d = %7, s = %9
}
// EXPECT:
graph @f(%x: f32[3,batch], %w: f32[4,3], %b: f32[4], %im: f32[batch,5,5,2], %f: f32[3,3,2,3], %c: f32[3], %df: f32[3,3,2,2], %a: f32[4]) {
  %0: f32[batch,4] = fused_matmul %x, %w, %b {activation = "elu", alpha = 0.2, has_bias = true, transpose_a = true, transpose_b = true}
  %1: f32[batch,5,5,3] = fused_conv2d %im, %f, %c {activation = "relu6", alpha = 0.2, dilations = [1, 1], has_bias = true, padding = "same", pads = [0, 0, 0, 0], strides = [1, 1]}
  %2: f32[batch,3,3,4] = fused_depthwise_conv2d %im, %df, %a {activation = "prelu", alpha = 0.2, dilations = [1, 1], has_bias = false, padding = "valid", pads = [0, 0, 0, 0], strides = [1, 1]}
  %3: f32[batch,4] = fused_matmul %x, %w {activation = "sigmoid", alpha = 0.2, has_bias = false, transpose_a = true, transpose_b = true}
  return y = %0, z = %1, d = %2, s = %3
}`);
    await expectSameValues(r.input, r.output, { backends: BACKENDS });
  });

  it('negative: other uses, a broadcast bias that is not [C], an activation already applied, int32', () => {
    const g = parseGraph(`graph @f(%x: f32[batch,3], %w: f32[3,4], %b: f32[4], %bb: f32[batch,4], %xi: i32[2,3], %wi: i32[3,4]) {
  %0: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %1: f32[batch,4] = add %0, %b
  %2: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %3: f32[batch,4] = add %2, %bb
  %4: f32[batch,4] = fused_matmul %x, %w {activation = "relu", alpha = 0.2, has_bias = false, transpose_a = false, transpose_b = false}
  %5: f32[batch,4] = add %4, %b
  %6: i32[2,4] = matmul %xi, %wi {transpose_a = false, transpose_b = false}
  %7: i32[2,4] = relu %6
  %8: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %9: f32[batch,4] = tanh %8
  return a = %1, b = %0, c = %3, d = %5, e = %7, f = %9
}`);
    const ops = g.nodes.filter((n) => n.op === 'matmul' || n.op === 'fused_matmul');
    expect(ops.map((n) => { const m = matchFusion(g, n); return 'why' in m ? m.why : 'fuses'; })).toEqual([
      'the result has other uses (or is named or an output)',
      'the bias f32[batch,4] is not f32[4]',
      'fused_matmul already applies relu',
      'the result is int32',
      'its user tanh is neither an add nor a fusable activation',
    ]);
    checkGolden(`// RUN: fuse-matmul-bias-act\n${g.toString()}\n// EXPECT: unchanged`);
  });
});
