/**
 * A fused_elementwise program as one WGSL compute shader for tfjs-backend-webgpu, run through
 * the backend's program interface (`backend.runWebGPUProgram(program, inputs, 'float32')`),
 * the way its own UnaryOpProgram / BinaryOpProgram are: a flat dispatch over the output, one
 * invocation per element, operands read with the generated `getX<k>ByOutputIndex` helpers
 * (which broadcast). tfjs compiles the shader once per shaderKey plus the operands' ranks,
 * dtypes and broadcast dims, and caches the pipeline.
 *
 * Each op is WGSL with the formula of tfjs-backend-webgpu's own shader for it (NaN checks
 * included), so fused and unfused agree up to the GPU's rounding.
 */
import type { Expr, ExprOp, ExprProgram } from '../../ir/fused_expr.js';
import { parseExpr } from '../../ir/fused_expr.js';

/** tfjs's SELU constants and softplus threshold. */
const SELU_SCALEALPHA = '1.7580993408473768599402175208123';
const SELU_SCALE = '1.0507009873554804934193349852946';

/** Helper functions, each emitted once when the program uses it. */
/** tanh(a) = a + a³·P(a²) on |a| < 0.55: P's coefficients, lowest first (a relative minimax fit, float32). */
const TANH_POLY = ['-0.3333294689655304', '0.13320724666118622', '-0.05267179757356644', '0.016437552869319916'];

const WGSL_HELPERS: Readonly<Record<string, string>> = {
  gc_elu: 'fn gc_elu(a : f32) -> f32 { if (a >= 0.0) { return a; } return exp(a) - 1.0; }',
  gc_selu: `fn gc_selu(a : f32) -> f32 { if (a >= 0.0) { return ${SELU_SCALE} * a; } return ${SELU_SCALEALPHA} * (exp(a) - 1.0); }`,
  gc_sigmoid: 'fn gc_sigmoid(a : f32) -> f32 { return 1.0 / (1.0 + exp(-1.0 * a)); }',
  // (1 − e)/(1 + e) with e = exp(−2|a|) cancels near 0 (tanh(1e-8) = 0, −0 → +0): there, an odd
  // polynomial (relative error 9.8e-8 in f32 on |a| < 0.55; see ir/passes/lower_for_backend.ts).
  gc_tanh: `fn gc_tanh(a : f32) -> f32 {
  if (abs(a) < 0.55) { let s = a * a; return a + a * s * (((${TANH_POLY[3]} * s + ${TANH_POLY[2]}) * s + ${TANH_POLY[1]}) * s + ${TANH_POLY[0]}); }
  let e2x = exp(-2.0 * abs(a)); return sign(a) * (1.0 - e2x) / (1.0 + e2x);
}`,
  gc_softplus: `fn gc_softplus(a : f32) -> f32 {
  let threshold = log(1.1920928955078125e-7) + 2.0;
  let exp_a = exp(a);
  if (a > -threshold) { return a; }
  if (a < threshold) { return exp_a; }
  return log(exp_a + 1.0);
}`,
  gc_log: 'fn gc_log(a : f32) -> f32 { if (a < 0.0) { return uniforms.NAN; } return log(a); }',
  gc_log1p: 'fn gc_log1p(a : f32) -> f32 { if (isnan(a)) { return a; } return log(1.0 + a); }',
  gc_relu: 'fn gc_relu(a : f32) -> f32 { return select(a, 0.0, a < 0.0); }',
  gc_leaky_relu: 'fn gc_leaky_relu(a : f32, alpha : f32) -> f32 { if (a < 0.0) { return alpha * a; } return a; }',
  gc_prelu: 'fn gc_prelu(a : f32, b : f32) -> f32 { if (a < 0.0) { return b * a; } return a; }',
  gc_step: 'fn gc_step(a : f32, alpha : f32) -> f32 { if (isnan(a)) { return a; } return select(alpha, 1.0, a > 0.0); }',
  gc_clip: 'fn gc_clip(a : f32, lo : f32, hi : f32) -> f32 { if (isnan(a)) { return a; } return clamp(a, lo, hi); }',
  // tfjs's MAX / MIN / POW propagate NaN explicitly (GPUs' max/min need not).
  gc_max: 'fn gc_max(a : f32, b : f32) -> f32 { if (isnan(a) || isnan(b)) { return uniforms.NAN; } return max(a, b); }',
  gc_min: 'fn gc_min(a : f32, b : f32) -> f32 { if (isnan(a) || isnan(b)) { return uniforms.NAN; } return min(a, b); }',
  gc_pow: `fn gc_pow(a : f32, b : f32) -> f32 {
  if (isnan(a) || isnan(b)) { return uniforms.NAN; }
  if (b == 0.0) { return 1.0; }
  if (a < 0.0 && floor(b) < b) { return uniforms.NAN; }
  return select(sign(a) * pow(abs(a), b), pow(abs(a), b), round(abs(b) % 2.0) != 1.0);
}`,
};

type Wgsl = (a: readonly string[], attrs: Readonly<Record<string, number>>) => { code: string; helper?: string };

const call = (helper: string, ...extra: ((attrs: Readonly<Record<string, number>>) => string)[]): Wgsl =>
  (a, attrs) => ({ code: `${helper}(${[...a, ...extra.map((e) => e(attrs))].join(', ')})`, helper });
const expr = (f: (a: readonly string[]) => string): Wgsl => (a) => ({ code: f(a) });
const attr = (name: string) => (attrs: Readonly<Record<string, number>>) => f32Lit(attrs[name]!);

const WGSL_OPS: Readonly<Record<ExprOp, Wgsl>> = {
  abs: expr(([x]) => `abs(${x})`),
  ceil: expr(([x]) => `ceil(${x})`),
  cos: expr(([x]) => `cos(${x})`),
  elu: call('gc_elu'),
  exp: expr(([x]) => `exp(${x})`),
  expm1: expr(([x]) => `(exp(${x}) - 1.0)`),
  floor: expr(([x]) => `floor(${x})`),
  log: call('gc_log'),
  log1p: call('gc_log1p'),
  neg: expr(([x]) => `(-${x})`),
  reciprocal: expr(([x]) => `(1.0 / ${x})`),
  relu: call('gc_relu'),
  relu6: expr(([x]) => `clamp(${x}, 0.0, 6.0)`),
  rsqrt: expr(([x]) => `inverseSqrt(${x})`),
  selu: call('gc_selu'),
  sigmoid: call('gc_sigmoid'),
  sin: expr(([x]) => `sin(${x})`),
  softplus: call('gc_softplus'),
  sqrt: expr(([x]) => `sqrt(${x})`),
  square: expr(([x]) => `(${x} * ${x})`),
  tanh: call('gc_tanh'),
  leaky_relu: call('gc_leaky_relu', attr('alpha')),
  step: call('gc_step', attr('alpha')),
  clip: call('gc_clip', attr('min'), attr('max')),
  add: expr(([x, y]) => `(${x} + ${y})`),
  sub: expr(([x, y]) => `(${x} - ${y})`),
  mul: expr(([x, y]) => `(${x} * ${y})`),
  div: expr(([x, y]) => `(${x} / ${y})`),
  maximum: call('gc_max'),
  minimum: call('gc_min'),
  squared_difference: expr(([x, y]) => `((${x} - ${y}) * (${x} - ${y}))`),
  pow: call('gc_pow'),
  prelu: call('gc_prelu'),
};

/** A float32 literal in WGSL (NaN and infinities through the uniforms tfjs provides). */
function f32Lit(x: number): string {
  if (Number.isNaN(x)) return 'uniforms.NAN';
  if (x === Infinity) return 'uniforms.INFINITY';
  if (x === -Infinity) return '(-uniforms.INFINITY)';
  const s = String(x);
  const lit = /[.eE]/.test(s) ? s : `${s}.0`;
  return x < 0 || Object.is(x, -0) ? `(${Object.is(x, -0) ? '-0.0' : lit})` : lit;
}

export const varName = (k: number): string => `x${k}`;
const getter = (k: number): string => `getX${k}ByOutputIndex(index)`;

/** The shader body (after tfjs's own prelude) of a program with `inputs` operands. */
export function wgslSource(p: ExprProgram, inputs: number): string {
  const helpers = new Set<string>();
  const lines: string[] = [];
  for (let k = 0; k < inputs; k++) lines.push(`let a${k} = ${getter(k)};`);
  let next = 0;
  const emit = (e: Expr): string => {
    switch (e.kind) {
      case 'in': return `a${e.index}`;
      case 'tmp': return `t${e.index}`;
      case 'lit': return f32Lit(e.value);
      case 'op': {
        // An op's value is bound to a name, so that formulas that read an argument twice
        // compute it once; operands, temps and literals are used as they are.
        const args = e.args.map((x) => {
          const s = emit(x);
          if (x.kind !== 'op') return s;
          const v = `v${next++}`;
          lines.push(`let ${v} = ${s};`);
          return v;
        });
        const r = WGSL_OPS[e.op](args, e.attrs);
        if (r.helper) helpers.add(r.helper);
        return r.code;
      }
    }
  };
  p.temps.forEach((t, k) => lines.push(`let t${k} = ${emit(t)};`));
  lines.push(`setOutputAtIndex(index, ${emit(p.result)});`);
  return [
    ...[...helpers].sort().map((h) => WGSL_HELPERS[h]!),
    'fn main(index : i32) {',
    '  if (index < uniforms.size) {',
    ...lines.map((l) => `    ${l}`),
    '  }',
    '}',
  ].join('\n');
}

/** The program object tfjs-backend-webgpu's runWebGPUProgram takes (its WebGPUProgram interface). */
export interface FusedWebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

const WORKGROUP = 128;
const sources = new Map<string, string>();

export function fusedWebGPUProgram(expr: string, inputs: number, outputShape: number[]): FusedWebGPUProgram {
  let src = sources.get(expr);
  if (src === undefined) {
    src = wgslSource(parseExpr(expr).program, inputs);
    if (sources.size > 1024) sources.clear();
    sources.set(expr, src);
  }
  const size = outputShape.reduce((a, b) => a * b, 1);
  const code = src;
  return {
    outputShape,
    // tfjs appends the operands' ranks, dtypes and broadcast dims to this key.
    shaderKey: `graphc_fused_${expr}`,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    variableNames: Array.from({ length: inputs }, (_, k) => varName(k)),
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => code,
  };
}
