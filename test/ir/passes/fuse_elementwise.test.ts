import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../../ir/parser.js';
import { printGraph } from '../../../ir/printer.js';
import { ensureBackend } from '../../../runtime/backends/select.js';
import { checkGolden, runGolden } from './golden.js';
import { expectSameValues } from './same_values.js';

const webgpu = await ensureBackend('webgpu').then(() => true, () => false);
const BACKENDS = webgpu ? (['cpu', 'wasm', 'webgpu'] as const) : (['cpu', 'wasm'] as const);

/** Golden text, then: the fused graph computes what the original does (cpu bit-exact). */
async function goldenAndValues(text: string, range?: [number, number]): Promise<void> {
  const r = checkGolden(text);
  await expectSameValues(r.input, r.output, { backends: ['cpu'], atol: 0, rtol: 0, range });
  await expectSameValues(r.input, r.output, { backends: BACKENDS.filter((b) => b !== 'cpu'), range });
}

describe('fuse-elementwise', () => {
  it('fuses a chain with a broadcast bias and scalar constants into one program', () => goldenAndValues(`// RUN: fuse-elementwise,dce backend=cpu
graph @f(%x: f32[batch,4], %b: f32[4]) {
  %9: f32[] = const {value = dense<f32[]> [0.5]}
  %0: f32[batch,4] = mul %x, %9
  %1: f32[batch,4] = add %0, %b
  %2: f32[batch,4] = tanh %1
  %3: f32[batch,4] = leaky_relu %2 {alpha = 0.2}
  return y = %3
}
// EXPECT:
graph @f(%x: f32[batch,4], %b: f32[4]) {
  %0: f32[batch,4] = fused_elementwise %x, %b {expr = "leaky_relu{alpha=0.2}(tanh(add(mul($0, 0.5), $1)))"}
  return y = %0
}`));

  it('a value used twice inside the group becomes a temp; an operand read twice is one $i', () => goldenAndValues(`// RUN: fuse-elementwise,dce backend=cpu
graph @f(%x: f32[batch,4]) {
  %0: f32[batch,4] = sigmoid %x
  %1: f32[batch,4] = mul %x, %0
  %2: f32[batch,4] = mul %1, %1
  %3: f32[batch,4] = clip %2 {max = 6, min = -1}
  return y = %3
}
// EXPECT:
graph @f(%x: f32[batch,4]) {
  %0: f32[batch,4] = fused_elementwise %x {expr = "t0 = mul($0, sigmoid($0)); clip{max=6, min=-1}(mul(t0, t0))"}
  return y = %0
}`));

  it('gelu (tanh form), per-channel batch-norm-like arithmetic and every expression op compute the same values', async () => {
    await goldenAndValues(`// RUN: fuse-elementwise,dce backend=cpu
graph @f(%x: f32[batch,8]) {
  %10: f32[] = const {value = dense<f32[]> [0.044715]}
  %11: f32[] = const {value = dense<f32[]> [0.7978846]}
  %12: f32[] = const {value = dense<f32[]> [1]}
  %13: f32[] = const {value = dense<f32[]> [0.5]}
  %0: f32[batch,8] = mul %x, %x
  %1: f32[batch,8] = mul %0, %x
  %2: f32[batch,8] = mul %1, %10
  %3: f32[batch,8] = add %x, %2
  %4: f32[batch,8] = mul %3, %11
  %5: f32[batch,8] = tanh %4
  %6: f32[batch,8] = add %5, %12
  %7: f32[batch,8] = mul %x, %13
  %8: f32[batch,8] = mul %7, %6
  return y = %8
}
// EXPECT:
graph @f(%x: f32[batch,8]) {
  %0: f32[batch,8] = fused_elementwise %x {expr = "mul(mul($0, 0.5), add(tanh(mul(add($0, mul(mul(mul($0, $0), $0), 0.044715)), 0.7978846)), 1))"}
  return y = %0
}`);
    const unary = ['abs', 'ceil', 'cos', 'elu', 'exp', 'expm1', 'floor', 'neg', 'reciprocal', 'relu', 'relu6', 'selu', 'sigmoid', 'sin', 'softplus', 'square', 'tanh'];
    // Numbered values only (named ones are fetchable and stay); each unary result gets the
    // bias %y added before the next op.
    let k = 0, prev = '%x';
    const body: string[] = [];
    const line = (rhs: string, type = 'f32[batch,8]'): string => { body.push(`  %${k}: ${type} = ${rhs}`); return `%${k++}`; };
    for (const op of unary) prev = line(`add ${line(`${op} ${prev}`)}, %y`);
    const a = line(`abs ${prev}`), l = line(`log1p ${a}`), q = line(`sqrt ${a}`), r0 = line(`rsqrt ${q}`), g0 = line(`log ${r0}`);
    const d = line(`div ${g0}, %p`), m = line(`maximum ${d}, ${l}`), n = line(`minimum ${m}, %p`), o = line(`squared_difference ${n}, %y`);
    const w = line(`pow ${a}, ${n}`), e = line(`prelu ${w}, ${o}`), st = line(`step ${e} {alpha = 0.25}`), lr = line(`leaky_relu ${e} {alpha = 0.1}`);
    const z = line(`sub ${st}, ${lr}`);
    const text = `graph @g(%x: f32[batch,8], %y: f32[8], %p: f32[batch,8]) {
${body.join('\n')}
  return out = ${z}
}`;
    const before = parseGraph(text);
    const r = runGolden(`// RUN: fuse-elementwise,dce backend=cpu\n${text}\n// EXPECT: unchanged`);
    expect(r.output.nodes.map((n) => n.op)).toEqual(['fused_elementwise']);
    await expectSameValues(before, r.output, { backends: ['cpu'], atol: 0, rtol: 0 });
    await expectSameValues(before, r.output, { backends: BACKENDS.filter((b) => b !== 'cpu'), atol: 1e-5, rtol: 1e-4 });
  });

  it('absorbs an existing fused_elementwise (its program is inlined, temps renumbered)', () => goldenAndValues(`// RUN: fuse-elementwise,dce backend=webgpu
graph @f(%x: f32[batch,4]) {
  %0: f32[batch,4] = fused_elementwise %x {expr = "t0 = exp($0); add(t0, t0)"}
  %1: f32[batch,4] = relu %0
  %2: f32[batch,4] = fused_elementwise %1, %x {expr = "t0 = neg($1); mul(t0, add($0, t0))"}
  return y = %2
}
// EXPECT:
graph @f(%x: f32[batch,4]) {
  %0: f32[batch,4] = fused_elementwise %x {expr = "t0 = exp($0); t1 = neg($0); mul(t1, add(relu(add(t0, t0)), t1))"}
  return y = %0
}`));

  it('negative: multi-use results, named values, other shapes, int32 and non-elementwise ops stay out', () => checkGolden(`// RUN: fuse-elementwise,dce backend=cpu
graph @f(%x: f32[batch,4], %v: f32[4], %i: i32[4]) {
  %0: f32[batch,4] = exp %x
  %1: f32[batch,4] = neg %0
  %2: f32[batch,1] = reduce_sum %0 {axes = [1], keep_dims = true}
  %3: f32[batch,4] = add %1, %2
  %4: f32[4] = sqrt %v
  %5: f32[4] = exp %4
  %h: f32[batch,4] = sigmoid %x
  %6: f32[batch,4] = mul %h, %5
  %7: i32[4] = neg %i
  %8: i32[4] = abs %7
  return y = %3, z = %6, w = %8
}
// EXPECT:
graph @f(%x: f32[batch,4], %v: f32[4], %i: i32[4]) {
  %0: f32[batch,4] = exp %x
  %1: f32[batch,1] = reduce_sum %0 {axes = [1], keep_dims = true}
  %2: f32[batch,4] = fused_elementwise %0, %1 {expr = "add(neg($0), $1)"}
  %3: f32[4] = fused_elementwise %v {expr = "exp(sqrt($0))"}
  %h: f32[batch,4] = sigmoid %x
  %4: f32[batch,4] = mul %h, %3
  %5: i32[4] = neg %i
  %6: i32[4] = abs %5
  return y = %2, z = %4, w = %6
}`));

  it('negative: single ops, and backends without a faster fused kernel (wasm, unknown)', () => {
    checkGolden(`// RUN: fuse-elementwise backend=cpu
graph @f(%x: f32[4]) {
  %c: f32[] = const {value = dense<f32[]> [2]}
  %0: f32[4] = mul %x, %c
  return y = %0
}
// EXPECT: unchanged`);
    const chain = `graph @f(%x: f32[4]) {
  %0: f32[4] = exp %x
  %1: f32[4] = neg %0
  return y = %1
}
// EXPECT: unchanged`;
    checkGolden(`// RUN: fuse-elementwise backend=wasm\n${chain}`);
    checkGolden(`// RUN: fuse-elementwise\n${chain}`);
  });

  it('reaches a fixed point in the default pipeline and round-trips as text', () => {
    const r = checkGolden(`// RUN: fold-constants,simplify,cse,dce,fold-batch-norm,lower-for-backend,fuse-matmul-bias-act,fuse-elementwise backend=cpu
graph @f(%x: f32[batch,4], %w: f32[4,4]) {
  %0: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %1: f32[batch,4] = tanh %0
  %2: f32[batch,4] = sigmoid %1
  %3: f32[batch,4] = mul %1, %2
  return y = %3
}
// EXPECT:
graph @f(%x: f32[batch,4], %w: f32[4,4]) {
  %0: f32[batch,4] = matmul %x, %w {transpose_a = false, transpose_b = false}
  %1: f32[batch,4] = fused_elementwise %0 {expr = "t0 = tanh($0); mul(t0, sigmoid(t0))"}
  return y = %1
}`);
    expect(printGraph(parseGraph(r.actual))).toBe(r.actual);
  });
});
