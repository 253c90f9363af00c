/**
 * The fused_elementwise kernels against the op-by-op chain of the runtime's own kernels, per
 * backend: cpu (generated JavaScript, bit-exact, special values included), wasm (the chain is
 * the default; the generated JavaScript over the heap is checked too), webgpu (generated WGSL
 * on SwiftShader, within float32 tolerance), and every broadcast access pattern.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPR_OPS, EXPR_SIGNATURES, parseExpr } from '../../../ir/fused_expr.js';
import type { ExprOp } from '../../../ir/fused_expr.js';
import { AttrReader } from '../../../ir/ops.js';
import { ensureBackend } from '../../../runtime/backends/select.js';
import { accessFor, jsKernelSource } from '../../../runtime/fused/js_kernel.js';
import type { ChainOp } from '../../../runtime/fused/fused_elementwise.js';
import { DEFAULT_FUSED_IMPL, programShape, runChain, runJsCpu, runJsWasm, runWebGPU } from '../../../runtime/fused/fused_elementwise.js';
import type { ExecCtx, OpKernel } from '../../../runtime/kernels/kernel_types.js';
import { OP_KERNELS } from '../../../runtime/kernels/op_kernels.js';
import { wgslSource } from '../../../runtime/fused/wgsl_program.js';

const ctx = (backend: string): ExecCtx => ({ backend, dim: () => 0, dims: () => [], seedFor: () => undefined });
const chainOp: ChainOp = (op, ins, attrs) => (OP_KERNELS[op] as OpKernel)(ins, new AttrReader(op, attrs), ctx('chain')) as tf.Tensor;
const ATTRS: Partial<Record<ExprOp, string>> = { leaky_relu: '{alpha=0.2}', step: '{alpha=0.3}', clip: '{max=0.75, min=-0.5}' };

/** One program per expression op, each over operands of the given shapes. */
function opPrograms(): Array<{ op: ExprOp; expr: string }> {
  return EXPR_OPS.map((op) => ({
    op,
    expr: EXPR_SIGNATURES[op].arity === 1 ? `${op}${ATTRS[op] ?? ''}($0)` : `${op}($0, $1)`,
  }));
}

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -2.5, 3, 1e-8, -1e30, 88.7, -88.7, 20, -20];

async function values(t: tf.Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

function sameBits(got: number[], want: number[]): string[] {
  const bad: string[] = [];
  got.forEach((g, i) => {
    if (!Object.is(Math.fround(g), Math.fround(want[i]!))) bad.push(`[${i}] ${g} vs ${want[i]}`);
  });
  return bad;
}

function close(got: number[], want: number[], tol: number): string[] {
  const bad: string[] = [];
  got.forEach((g, i) => {
    const w = want[i]!;
    const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= tol + tol * Math.abs(w);
    if (!ok) bad.push(`[${i}] ${g} vs ${w}`);
  });
  return bad;
}

function run(expr: string, ins: tf.Tensor[], impl: (expr: string, ins: tf.Tensor[], shape: number[]) => tf.Tensor): tf.Tensor {
  const { program } = parseExpr(expr);
  return tf.tidy(() => impl(expr, ins, programShape(program, ins.map((t) => t.shape))));
}
const chain = (expr: string, ins: tf.Tensor[]) => run(expr, ins, (e, xs, s) => runChain(parseExpr(e).program, xs, chainOp, s));

describe('generated JavaScript (cpu)', () => {
  beforeAll(async () => { await ensureBackend('cpu'); await tf.setBackend('cpu'); });

  it('every expression op is bit-exact with its cpu kernel, on special values (NaN, ±Inf, ±0, overflow)', async () => {
    const a = tf.tensor1d(SPECIAL.flatMap((x) => SPECIAL.map(() => x)));
    const b = tf.tensor1d(SPECIAL.flatMap(() => SPECIAL));
    for (const { op, expr } of opPrograms()) {
      const ins = EXPR_SIGNATURES[op].arity === 1 ? [a] : [a, b];
      const want = chain(expr, ins), got = run(expr, ins, runJsCpu);
      expect(sameBits(await values(got), await values(want)).slice(0, 4), op).toEqual([]);
      tf.dispose([want, got]);
    }
  });

  it('a program with temps, literals and every access pattern is bit-exact with the chain', async () => {
    const expr = 't0 = sigmoid(add(mul($0, $1), $2)); mul(sub(t0, 0.25), add(t0, mul($3, $4)))';
    const x = tf.randomNormal([5, 3, 4], 0, 2, 'float32', 1);
    const cases: Array<[string, number[][]]> = [
      ['full + suffix [4] + scalar + column [5,1,1] + [3,4] suffix', [[5, 3, 4], [4], [], [5, 1, 1], [3, 4]]],
      ['leading ones [1,1,4] and [1,3,1] (materialised)', [[5, 3, 4], [1, 1, 4], [1], [1, 3, 1], [1, 1, 1]]],
      ['the big operand last', [[4], [3, 4], [], [1], [5, 3, 4]]],
    ];
    for (const [name, shapes] of cases) {
      const ins = shapes.map((s, i) => (i === 0 && s.length === 3 ? x : tf.randomNormal(s, 0, 1, 'float32', 10 + i)));
      const want = chain(expr, ins), got = run(expr, ins, runJsCpu);
      expect(got.shape, name).toEqual([5, 3, 4]);
      expect(sameBits(await values(got), await values(want)), name).toEqual([]);
    }
    expect(accessFor([5, 3, 4], [5, 3, 4])).toBe('full');
    expect(accessFor([1, 1, 4], [5, 3, 4])).toBe('suffix');
    expect(accessFor([], [5, 3, 4])).toBe('scalar');
    expect(accessFor([5, 1, 1], [5, 3, 4])).toBeUndefined();
  });

  it('generates one loop (the source of swish with a bias)', () => {
    expect(jsKernelSource(parseExpr('mul($0, sigmoid(add($0, $1)))').program, ['full', 'suffix'])).toBe(`"use strict";
return function fusedElementwise(n, out, ins, mods) {
  const f = Math.fround;
  const x0 = ins[0];
  const x1 = ins[1];
  const m1 = mods[1]; let j1 = 0;
  for (let i = 0; i < n; i++) {
    const a0 = x0[i];
    const a1 = x1[j1]; if (++j1 === m1) j1 = 0;
    const v0 = f((a0 + a1));
    const v1 = f((1 / (1 + Math.exp(-v0))));
    out[i] = f((a0 * v1));
  }
};`);
  });

  it('the op kernel picks the generated code on cpu and the chain on wasm and unknown backends', () => {
    expect(DEFAULT_FUSED_IMPL).toEqual({ cpu: 'generated', webgpu: 'generated', wasm: 'chain', tensorflow: 'chain', onnxruntime: 'chain' });
  });
});

describe('wasm', () => {
  let prev: string;
  beforeAll(async () => { prev = tf.getBackend(); await ensureBackend('wasm'); await tf.setBackend('wasm'); });
  afterAll(async () => { await tf.setBackend(prev); });

  it('the chain (the default) and the generated JavaScript over the heap agree with the op kernels', async () => {
    const a = tf.randomUniform([64, 33], -3, 3, 'float32', 3), b = tf.randomUniform([33], 0.25, 2, 'float32', 4);
    for (const { op, expr } of opPrograms()) {
      const ins = EXPR_SIGNATURES[op].arity === 1 ? [op === 'log' || op === 'sqrt' || op === 'rsqrt' || op === 'log1p' ? b : a] : [a, b];
      const one = (OP_KERNELS.fused_elementwise as OpKernel)(ins, new AttrReader('fused_elementwise', { expr }), ctx('wasm')) as tf.Tensor;
      const want = chain(expr, ins), js = run(expr, ins, runJsWasm);
      expect(close(await values(one), await values(want), 0), op).toEqual([]);
      expect(close(await values(js), await values(want), 1e-5).slice(0, 4), op).toEqual([]);
      tf.dispose([one, want, js]);
    }
  });
});

const webgpu = await ensureBackend('webgpu').then(() => undefined, (e: Error) => e.message);

describe('generated WGSL (webgpu)', () => {
  let prev: string;
  beforeAll(async () => {
    if (webgpu !== undefined) return;
    prev = tf.getBackend();
    await tf.setBackend('webgpu');
    tf.env().set('WEBGPU_CPU_FORWARD', false);
  });
  afterAll(async () => { if (webgpu === undefined) await tf.setBackend(prev); });

  it.skipIf(webgpu !== undefined)('every expression op agrees with tfjs-backend-webgpu\'s own kernel, special values included', async () => {
    const a = tf.tensor1d(SPECIAL.flatMap((x) => SPECIAL.map(() => x)));
    const b = tf.tensor1d(SPECIAL.flatMap(() => SPECIAL));
    const finite = tf.tensor2d(Array.from({ length: 96 }, (_, i) => Math.sin(i * 1.7) * 3), [8, 12]);
    const fb = tf.tensor1d(Array.from({ length: 12 }, (_, i) => 0.25 + i / 7));
    const failures: string[] = [];
    for (const { op, expr } of opPrograms()) {
      // Special values: NaN / ±Inf must match exactly. Not for pow and prelu: tfjs's own scalar
      // and vec4 shaders disagree there (vec4 pow converts NaN to i32; vec4 prelu computes
      // 0·(b·a), NaN for a = ∞).
      const ins = EXPR_SIGNATURES[op].arity === 1 ? [a] : [a, b];
      const want = chain(expr, ins), got = run(expr, ins, (e, xs, s) => runWebGPU(e, xs.length, xs, s));
      const gw = await values(want), gg = await values(got);
      const cls = (x: number) => (Number.isNaN(x) ? 'nan' : x === Infinity ? '+inf' : x === -Infinity ? '-inf' : 'finite');
      const classes = gg.map((x, i) => (cls(x) === cls(gw[i]!) ? '' : `[${i}] ${x} vs ${gw[i]}`)).filter((s) => s);
      if (op !== 'pow' && op !== 'prelu' && classes.length) failures.push(`${op}: ${classes.slice(0, 3).join('; ')}`);
      // finite values with a broadcast operand
      const fin = EXPR_SIGNATURES[op].arity === 1 ? [op === 'log' || op === 'sqrt' || op === 'rsqrt' || op === 'log1p' ? tf.abs(finite) : finite] : [finite, fb];
      const w2 = chain(expr, fin), g2 = run(expr, fin, (e, xs, s) => runWebGPU(e, xs.length, xs, s));
      const bad = close(await values(g2), await values(w2), 2e-5);
      if (bad.length) failures.push(`${op} (finite): ${bad.slice(0, 3).join('; ')}`);
      tf.dispose([want, got, w2, g2]);
    }
    expect(failures).toEqual([]);
  });

  it.skipIf(webgpu !== undefined)('a program with temps and broadcasts; the shader source', async () => {
    const expr = 't0 = sigmoid(add(mul($0, $1), $2)); mul(sub(t0, 0.25), maximum(t0, $3))';
    const ins = [[6, 5, 4], [4], [], [6, 1, 1]].map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 20 + i));
    const want = chain(expr, ins), got = run(expr, ins, (e, xs, s) => runWebGPU(e, xs.length, xs, s));
    expect(close(await values(got), await values(want), 1e-5)).toEqual([]);
    expect(wgslSource(parseExpr('mul($0, sigmoid(add($0, -1)))').program, 1)).toBe(`fn gc_sigmoid(a : f32) -> f32 { return 1.0 / (1.0 + exp(-1.0 * a)); }
fn main(index : i32) {
  if (index < uniforms.size) {
    let a0 = getX0ByOutputIndex(index);
    let v0 = (a0 + (-1.0));
    let v1 = gc_sigmoid(v0);
    setOutputAtIndex(index, (a0 * v1));
  }
}`);
  });
});
