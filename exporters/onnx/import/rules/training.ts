/**
 * Import rules of the ai.onnx.preview.training domain: the optimizer update ops Adagrad,
 * Momentum and Adam (one update per (X, G, state…) group), composed from elementwise ops.
 */
import type { Value } from '../../../../ir/graph.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import type { MadeBy } from '../made_by.js';

const s = (c: NodeCtx, x: number) => c.b.scalar(x, 'float32');
const add = (c: NodeCtx, a: Value, b: Value) => c.b.op('add', [a, b]);
const sub = (c: NodeCtx, a: Value, b: Value) => c.b.op('sub', [a, b]);
const mul = (c: NodeCtx, a: Value, b: Value) => c.b.op('mul', [a, b]);
const div = (c: NodeCtx, a: Value, b: Value) => c.b.op('div', [a, b]);

/** Operands 2… split into `groups` equal lists (X…, G…, then the states). */
function groups(c: NodeCtx, count: number): Value[][] {
  const rest = c.inputs().slice(2);
  if (rest.length % count !== 0) fail(`expects ${count} lists of equal length after R and T, got ${rest.length} operands`);
  const n = rest.length / count;
  return Array.from({ length: count }, (_, k) => rest.slice(k * n, (k + 1) * n));
}

/** G + λ·X (the L2-regularized gradient). */
function regularized(c: NodeCtx, x: Value, g: Value, lambda: number): Value {
  return lambda === 0 ? g : add(c, mul(c, x, s(c, lambda)), g);
}

const adagrad: ImportRule = (c) => {
  const r = c.input(0), t = c.b.cast(c.input(1), 'float32');
  const decay = c.attr.float('decay_factor', 0), eps = c.attr.float('epsilon', 0), lambda = c.attr.float('norm_coefficient', 0);
  const [xs, gs, hs] = groups(c, 3) as [Value[], Value[], Value[]];
  const rate = div(c, r, add(c, s(c, 1), mul(c, t, s(c, decay))));
  const out = xs.map((x, i) => {
    const g = regularized(c, x, gs[i]!, lambda);
    const h = add(c, hs[i]!, c.b.op('square', [g]));
    return [sub(c, x, div(c, mul(c, rate, g), add(c, c.b.op('sqrt', [h]), s(c, eps)))), h] as const;
  });
  return [...out.map((o) => o[0]), ...out.map((o) => o[1])];
};

const momentum: ImportRule = (c) => {
  const r = c.input(0), t = c.input(1);
  const alpha = c.attr.float('alpha', 0), beta = c.attr.float('beta', 0), lambda = c.attr.float('norm_coefficient', 0);
  const mode = c.attr.string('mode', 'standard');
  if (mode !== 'standard' && mode !== 'nesterov') fail(`unknown mode '${mode}'`);
  const [xs, gs, vs] = groups(c, 3) as [Value[], Value[], Value[]];
  // The first step (T = 0) takes the gradient at full weight.
  const b = c.b.op('select', [c.b.op('greater', [t, c.b.scalar(0, t.dtype)]), s(c, beta), s(c, 1)]);
  const out = xs.map((x, i) => {
    const g = regularized(c, x, gs[i]!, lambda);
    const v = add(c, mul(c, vs[i]!, s(c, alpha)), mul(c, g, b));
    const step = mode === 'standard' ? v : add(c, g, mul(c, v, s(c, alpha)));
    return [sub(c, x, mul(c, r, step)), v] as const;
  });
  return [...out.map((o) => o[0]), ...out.map((o) => o[1])];
};

const adam: ImportRule = (c) => {
  const r = c.input(0), t = c.input(1);
  const alpha = c.attr.float('alpha', 0.9), beta = c.attr.float('beta', 0.999), eps = c.attr.float('epsilon', 1e-6);
  const lambda = c.attr.float('norm_coefficient', 0), post = c.attr.float('norm_coefficient_post', 0);
  const [xs, gs, vs, hs] = groups(c, 4) as [Value[], Value[], Value[], Value[]];
  const tf = c.b.cast(t, 'float32');
  // Bias correction from the second step on: R·√(1-βᵀ)/(1-αᵀ).
  const corrected = mul(c, r, div(c, c.b.op('sqrt', [sub(c, s(c, 1), c.b.op('pow', [s(c, beta), tf]))]), sub(c, s(c, 1), c.b.op('pow', [s(c, alpha), tf]))));
  const rate = c.b.op('select', [c.b.op('greater', [t, c.b.scalar(0, t.dtype)]), corrected, r]);
  const out = xs.map((x, i) => {
    const g = regularized(c, x, gs[i]!, lambda);
    const v = add(c, mul(c, vs[i]!, s(c, alpha)), mul(c, g, s(c, 1 - alpha)));
    const h = add(c, mul(c, hs[i]!, s(c, beta)), mul(c, c.b.op('square', [g]), s(c, 1 - beta)));
    let xn = sub(c, x, div(c, mul(c, rate, v), add(c, c.b.op('sqrt', [h]), s(c, eps))));
    if (post !== 0) xn = mul(c, xn, s(c, 1 - post));
    return [xn, v, h] as const;
  });
  return [...out.map((o) => o[0]), ...out.map((o) => o[1]), ...out.map((o) => o[2])];
};

export const TRAINING_DOMAIN = 'ai.onnx.preview.training';

export const IMPORT_TRAINING_RULES = {
  Adagrad: adagrad,
  Momentum: momentum,
  Adam: adam,
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_TRAINING_MAKES = {
  sqrt: ['Adagrad', 'Adam'],
  square: ['Adagrad', 'Adam'],
  pow: ['Adam'],
} satisfies MadeBy<typeof IMPORT_TRAINING_RULES>;
