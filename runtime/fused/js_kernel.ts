/**
 * A fused_elementwise program compiled to one JavaScript loop over typed arrays, for the cpu
 * backend (and for wasm, on the wasm heap). The source is generated once per (program, access
 * pattern) with `new Function` and cached.
 *
 * Exactness: every op computes in double and rounds to float32 (Math.fround) exactly where
 * tfjs-backend-cpu stores its float32 result, with the same formula as that backend's kernel,
 * so on cpu a fused program gives the bits the op-by-op chain gives.
 *
 * Access patterns, per operand, for an output of n elements:
 *   'full'    index i                 (same element count as the output)
 *   'scalar'  index 0, read once      (one element)
 *   'suffix'  index i mod m           (the operand is a suffix of the output shape: a bias
 *                                      over the last dims), as a wrapping counter
 * Other broadcasts are materialised by the caller (tf.broadcastTo) and read as 'full'.
 */
import type { Expr, ExprOp, ExprProgram } from '../../ir/fused_expr.js';
import { parseExpr } from '../../ir/fused_expr.js';

export type Access = 'full' | 'scalar' | 'suffix';

/** tfjs's SELU constants and softplus threshold (backend_util; tfjs-backend-cpu's Softplus). */
const SELU_SCALEALPHA = 1.7580993408473768599402175208123;
const SELU_SCALE = 1.0507009873554804934193349852946;
const SOFTPLUS_THRESHOLD = Math.log(1.1920928955078125e-7) + 2.0;

/** Runtime helpers the generated code may call (statements that are not one expression). */
const HELPERS = {
  softplus(x: number): number {
    if (x > -SOFTPLUS_THRESHOLD) return x;
    const e = Math.exp(x);
    return x < SOFTPLUS_THRESHOLD ? e : Math.log(1.0 + e);
  },
  step(x: number, alpha: number): number {
    return Number.isNaN(x) ? NaN : x > 0 ? 1 : alpha;
  },
};

type Js = (a: readonly string[], attrs: Readonly<Record<string, number>>) => string;

/** Each op as a JS expression in double over its argument expressions (tfjs-backend-cpu's formulas). */
const JS_OPS: Readonly<Record<ExprOp, Js>> = {
  abs: ([x]) => `Math.abs(${x})`,
  ceil: ([x]) => `Math.ceil(${x})`,
  cos: ([x]) => `Math.cos(${x})`,
  elu: ([x]) => `(${x} >= 0 ? ${x} : Math.exp(${x}) - 1)`,
  exp: ([x]) => `Math.exp(${x})`,
  expm1: ([x]) => `Math.expm1(${x})`,
  floor: ([x]) => `Math.floor(${x})`,
  log: ([x]) => `Math.log(${x})`,
  log1p: ([x]) => `Math.log1p(${x})`,
  neg: ([x]) => `(${x} * -1)`,
  reciprocal: ([x]) => `(1 / ${x})`,
  relu: ([x]) => `Math.max(0, ${x})`,
  relu6: ([x]) => `Math.min(Math.max(0, ${x}), 6)`,
  rsqrt: ([x]) => `(1 / Math.sqrt(${x}))`,
  selu: ([x]) => `(${x} >= 0 ? ${SELU_SCALE} * ${x} : ${SELU_SCALEALPHA} * (Math.exp(${x}) - 1))`,
  sigmoid: ([x]) => `(1 / (1 + Math.exp(-${x})))`,
  sin: ([x]) => `Math.sin(${x})`,
  softplus: ([x]) => `H.softplus(${x})`,
  sqrt: ([x]) => `Math.sqrt(${x})`,
  square: ([x]) => `(${x} * ${x})`,
  tanh: ([x]) => `Math.tanh(${x})`,
  leaky_relu: ([x], a) => `(${x} < 0 ? ${lit(a['alpha']!)} * ${x} : ${x})`,
  step: ([x], a) => `H.step(${x}, ${lit(a['alpha']!)})`,
  clip: ([x], a) => `(${x} > ${lit(a['max']!)} ? ${lit(a['max']!)} : ${x} < ${lit(a['min']!)} ? ${lit(a['min']!)} : ${x})`,
  add: ([x, y]) => `(${x} + ${y})`,
  sub: ([x, y]) => `(${x} - ${y})`,
  mul: ([x, y]) => `(${x} * ${y})`,
  div: ([x, y]) => `(${x} / ${y})`,
  maximum: ([x, y]) => `Math.max(${x}, ${y})`,
  minimum: ([x, y]) => `Math.min(${x}, ${y})`,
  squared_difference: ([x, y]) => `((${x} - ${y}) * (${x} - ${y}))`,
  pow: ([x, y]) => `Math.pow(${x}, ${y})`,
  prelu: ([x, y]) => `(${x} < 0 ? ${y} * ${x} : ${x})`,
};

function lit(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '(-Infinity)';
  return Object.is(x, -0) ? '(-0)' : `(${x})`;
}

/**
 * The JS source of a kernel `(n, out, ins, mods) => void`. An op's value is bound to a const
 * before another op reads it (formulas may read an argument twice); every op's value is
 * rounded to float32 (`f`).
 */
export function jsKernelSource(p: ExprProgram, access: readonly Access[]): string {
  const pre: string[] = ['const f = Math.fround;'];
  const loop: string[] = [];
  access.forEach((a, k) => {
    pre.push(`const x${k} = ins[${k}];`);
    if (a === 'scalar') pre.push(`const a${k} = x${k}[0];`);
    if (a === 'suffix') pre.push(`const m${k} = mods[${k}]; let j${k} = 0;`);
  });
  let next = 0;
  const body: string[] = [];
  const emit = (e: Expr): string => {
    switch (e.kind) {
      case 'in': return `a${e.index}`;
      case 'tmp': return `t${e.index}`;
      case 'lit': return lit(e.value);
      case 'op': {
        const args = e.args.map((x) => {
          const s = emit(x);
          if (x.kind !== 'op') return s;                 // operands, temps and literals as they are
          const v = `v${next++}`;
          body.push(`const ${v} = ${s};`);
          return v;
        });
        return `f(${JS_OPS[e.op](args, e.attrs)})`;
      }
    }
  };
  p.temps.forEach((t, k) => {
    const s = emit(t);
    body.push(`const t${k} = ${s};`);
  });
  const result = emit(p.result);
  access.forEach((a, k) => {
    if (a === 'full') loop.push(`const a${k} = x${k}[i];`);
    if (a === 'suffix') loop.push(`const a${k} = x${k}[j${k}]; if (++j${k} === m${k}) j${k} = 0;`);
  });
  return [
    '"use strict";',
    'return function fusedElementwise(n, out, ins, mods) {',
    ...pre.map((l) => `  ${l}`),
    '  for (let i = 0; i < n; i++) {',
    ...[...loop, ...body, `out[i] = ${result};`].map((l) => `    ${l}`),
    '  }',
    '};',
  ].join('\n');
}

export type JsKernel = (n: number, out: Float32Array, ins: readonly Float32Array[], mods: readonly number[]) => void;

const kernels = new Map<string, JsKernel>();

/** The compiled kernel of `expr` for these access patterns (cached). */
export function jsKernel(expr: string, access: readonly Access[]): JsKernel {
  const key = `${expr}|${access.join(',')}`;
  let k = kernels.get(key);
  if (!k) {
    const src = jsKernelSource(parseExpr(expr).program, access);
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    k = new Function('H', src)(HELPERS) as JsKernel;
    if (kernels.size > 1024) kernels.clear();
    kernels.set(key, k);
  }
  return k;
}

/**
 * How operand `shape` is read for an output of `out` (right-aligned broadcasting), or
 * undefined when it must be materialised to the output shape first.
 */
export function accessFor(shape: readonly number[], out: readonly number[]): Access | undefined {
  const size = shape.reduce((a, b) => a * b, 1);
  const outSize = out.reduce((a, b) => a * b, 1);
  if (size === outSize) return 'full';                    // broadcasting keeps the count only when shapes agree up to 1s
  if (size === 1) return 'scalar';
  let k = 0;
  while (k < shape.length && shape[k] === 1) k++;
  const core = shape.slice(k);
  const tail = out.slice(out.length - core.length);
  return core.every((d, i) => d === tail[i]) ? 'suffix' : undefined;
}
