/** Import rules: elementwise ONNX ops (unary, binary, variadic, activations, comparisons). */
import type { Value } from '../../../../ir/graph.js';
import type { OpName } from '../../../../ir/ops.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import type { MadeBy } from '../made_by.js';

const unary = (op: OpName): ImportRule => (c) => c.b.op(op, [c.input(0)]);
const binary = (op: OpName): ImportRule => (c) => {
  const [a, b] = legacyBroadcast(c, c.input(0), c.input(1));
  return c.b.op(op, [a, b]);
};

/**
 * Before opset 7 binary ops broadcast only with `broadcast = 1`, the second operand's dims
 * aligned with the first's from `axis` (default: trailing).
 */
function legacyBroadcast(c: NodeCtx, a: Value, b: Value): [Value, Value] {
  if (c.opset >= 7 || c.attr.int('broadcast', 0) === 0 || !c.attr.has('axis')) return [a, b];
  const ra = a.shape.length, rb = b.shape.length;
  const axis = c.axis(c.attr.int('axis', ra - rb), ra);
  if (axis + rb > ra) fail(`broadcast axis ${axis} puts the second operand's ${rb} dims past rank ${ra}`);
  return [a, c.b.reshape(b, [...new Array<number>(axis).fill(1), ...b.shape, ...new Array<number>(ra - axis - rb).fill(1)])];
}

/** Folds a variadic op (Sum, Max, Min) pairwise; one operand is returned as is. */
const variadic = (op: OpName): ImportRule => (c) => {
  const xs = c.inputs();
  if (xs.length === 0) fail('needs at least one operand');
  return xs.slice(1).reduce((acc, x) => c.b.op(op, [acc, x]), xs[0]!);
};

const s = (c: NodeCtx, x: number, like: Value): Value => c.b.scalar(x, like.dtype);

/** `a·x` with the multiply left out when a = 1. */
function scale(c: NodeCtx, x: Value, a: number): Value {
  return a === 1 ? x : c.b.op('mul', [x, s(c, a, x)]);
}

function floatAttrsDiffer(a: number, b: number): boolean {
  return Math.fround(a) !== Math.fround(b);
}

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_GAMMA = 1.0507009873554804934193349852946;

export const IMPORT_ELEMENTWISE_RULES = {
  Abs: unary('abs'), Acos: unary('acos'), Acosh: unary('acosh'), Asin: unary('asin'), Asinh: unary('asinh'),
  Atan: unary('atan'), Atanh: unary('atanh'), Ceil: unary('ceil'), Cos: unary('cos'), Cosh: unary('cosh'),
  Erf: unary('erf'), Exp: unary('exp'), Floor: unary('floor'), Log: unary('log'), Neg: unary('neg'),
  Reciprocal: unary('reciprocal'), Relu: unary('relu'), Round: unary('round'), Sigmoid: unary('sigmoid'),
  Sign: unary('sign'), Sin: unary('sin'), Sinh: unary('sinh'), Softplus: unary('softplus'), Sqrt: unary('sqrt'),
  Tan: unary('tan'), Tanh: unary('tanh'), IsNaN: unary('is_nan'), Not: unary('logical_not'),
  Identity: (c) => c.input(0),

  Add: binary('add'), Sub: binary('sub'), Mul: binary('mul'), Div: binary('div'),
  And: binary('logical_and'), Or: binary('logical_or'), Xor: binary('logical_xor'),
  Equal: binary('equal'), Less: binary('less'), Greater: binary('greater'),
  LessOrEqual: binary('less_equal'), GreaterOrEqual: binary('greater_equal'),
  Sum: variadic('add'), Max: variadic('maximum'), Min: variadic('minimum'),
  Mean: (c) => {
    const xs = c.inputs();
    const sum = variadic('add')(c) as Value;
    return xs.length === 1 ? sum : c.b.op('div', [sum, s(c, xs.length, sum)]);
  },
  Where: (c) => c.b.op('select', [c.b.cast(c.input(0), 'bool'), c.input(1), c.input(2)]),

  // Pow's exponent may have another type than its base; the result has the base's.
  Pow: (c) => {
    const [x, y] = legacyBroadcast(c, c.input(0), c.input(1));
    return c.b.op('pow', [x, c.b.cast(y, x.dtype)]);
  },
  // fmod = 0: the sign of the divisor (floor mod); fmod = 1: the sign of the dividend (C fmod).
  Mod: (c) => {
    const x = c.input(0), y = c.input(1);
    if (c.attr.int('fmod', 0) === 0) return c.b.op('mod', [x, y]);
    const q = c.b.op('div', [x, y]);
    const t = x.dtype === 'float32' ? c.b.op('mul', [c.b.op('sign', [q]), c.b.op('floor', [c.b.op('abs', [q])])]) : q;
    return c.b.op('sub', [x, c.b.op('mul', [t, y])]);
  },
  BitShift: (c) => {
    const x = c.input(0);
    const p = c.b.op('pow', [s(c, 2, x), c.b.cast(c.input(1), x.dtype)]);
    const dir = c.attr.string('direction', '');
    if (dir === 'LEFT') return c.b.op('mul', [x, p]);
    if (dir === 'RIGHT') return c.b.op('floor_div', [x, p]);
    return fail(`direction must be LEFT or RIGHT, got '${dir}'`);
  },

  IsInf: (c) => {
    const x = c.input(0);
    const pos = c.attr.int('detect_positive', 1) !== 0, neg = c.attr.int('detect_negative', 1) !== 0;
    const inf = c.b.op('is_inf', [x]);
    if (pos && neg) return inf;
    if (!pos && !neg) return c.b.op('logical_and', [inf, c.b.op('is_nan', [x])]);   // always false
    return c.b.op('logical_and', [inf, c.b.op(pos ? 'greater' : 'less', [x, s(c, 0, x)])]);
  },

  // Activations.
  LeakyRelu: (c) => c.b.op('leaky_relu', [c.input(0)], { alpha: c.attr.float('alpha', 0.01) }),
  Elu: (c) => {
    const x = c.input(0), alpha = c.attr.float('alpha', 1);
    if (!floatAttrsDiffer(alpha, 1)) return c.b.op('elu', [x]);
    return c.b.op('select', [c.b.op('greater', [x, s(c, 0, x)]), x, scale(c, c.b.op('expm1', [x]), alpha)]);
  },
  Selu: (c) => {
    const x = c.input(0), alpha = c.attr.float('alpha', SELU_ALPHA), gamma = c.attr.float('gamma', SELU_GAMMA);
    if (!floatAttrsDiffer(alpha, SELU_ALPHA) && !floatAttrsDiffer(gamma, SELU_GAMMA)) return c.b.op('selu', [x]);
    const neg = scale(c, c.b.op('expm1', [x]), alpha);
    return scale(c, c.b.op('select', [c.b.op('greater', [x, s(c, 0, x)]), x, neg]), gamma);
  },
  Celu: (c) => {
    const x = c.input(0), alpha = c.attr.float('alpha', 1);
    const neg = scale(c, c.b.op('expm1', [scale(c, x, 1 / alpha)]), alpha);
    return c.b.op('add', [c.b.op('relu', [x]), c.b.op('minimum', [s(c, 0, x), neg])]);
  },
  ThresholdedRelu: (c) => {
    const x = c.input(0);
    return c.b.op('select', [c.b.op('greater', [x, s(c, c.attr.float('alpha', 1), x)]), x, s(c, 0, x)]);
  },
  HardSigmoid: (c) => {
    const x = c.input(0);
    const lin = c.b.op('add', [scale(c, x, c.attr.float('alpha', 0.2)), s(c, c.attr.float('beta', 0.5), x)]);
    return c.b.op('clip', [lin], { min: 0, max: 1 });
  },
  HardSwish: (c) => {
    const x = c.input(0);
    const hs = c.b.op('clip', [c.b.op('add', [scale(c, x, 1 / 6), s(c, 0.5, x)])], { min: 0, max: 1 });
    return c.b.op('mul', [x, hs]);
  },
  Mish: (c) => {
    const x = c.input(0);
    return c.b.op('mul', [x, c.b.op('tanh', [c.b.op('softplus', [x])])]);
  },
  Softsign: (c) => {
    const x = c.input(0);
    return c.b.op('div', [x, c.b.op('add', [c.b.op('abs', [x]), s(c, 1, x)])]);
  },
  Shrink: (c) => {
    const x = c.input(0), bias = c.attr.float('bias', 0), lambd = c.attr.float('lambd', 0.5);
    const below = c.b.op('less', [x, s(c, -lambd, x)]), above = c.b.op('greater', [x, s(c, lambd, x)]);
    const zero = s(c, 0, x);
    const hi = c.b.op('select', [above, c.b.op('sub', [x, s(c, bias, x)]), zero]);
    return c.b.op('select', [below, c.b.op('add', [x, s(c, bias, x)]), hi]);
  },
  PRelu: (c) => {
    const x = c.input(0), slope = c.input(1);
    return c.b.op('select', [c.b.op('less', [x, s(c, 0, x)]), c.b.op('mul', [x, slope]), x]);
  },
  Clip: (c) => {
    const x = c.input(0);
    let lo: Value | number | undefined, hi: Value | number | undefined;
    if (c.opset < 11) {
      lo = c.attr.float('min'); hi = c.attr.float('max');
    } else {
      lo = c.has(1) ? (c.constInput(1) ? c.floatInput(1, 'min') : c.input(1)) : undefined;
      hi = c.has(2) ? (c.constInput(2) ? c.floatInput(2, 'max') : c.input(2)) : undefined;
    }
    if (typeof lo !== 'object' && typeof hi !== 'object') {
      if (lo === undefined && hi === undefined) return x;
      return c.b.op('clip', [x], { min: lo ?? -Infinity, max: hi ?? Infinity });
    }
    const asValue = (v: Value | number) => (typeof v === 'number' ? s(c, v, x) : v);
    let y = x;
    if (lo !== undefined) y = c.b.op('maximum', [y, asValue(lo)]);
    if (hi !== undefined) y = c.b.op('minimum', [y, asValue(hi)]);
    return y;
  },
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_ELEMENTWISE_MAKES = {
  abs: ['Abs', 'Mod', 'Softsign'],
  acos: ['Acos'],
  acosh: ['Acosh'],
  asin: ['Asin'],
  asinh: ['Asinh'],
  atan: ['Atan'],
  atanh: ['Atanh'],
  ceil: ['Ceil'],
  cos: ['Cos'],
  cosh: ['Cosh'],
  elu: ['Elu'],
  erf: ['Erf'],
  exp: ['Exp'],
  expm1: ['Celu', 'Elu', 'Selu'],
  floor: ['Floor', 'Mod'],
  log: ['Log'],
  neg: ['Neg'],
  reciprocal: ['Reciprocal'],
  relu: ['Celu', 'Relu'],
  round: ['Round'],
  selu: ['Selu'],
  sigmoid: ['Sigmoid'],
  sign: ['Mod', 'Sign'],
  sin: ['Sin'],
  sinh: ['Sinh'],
  softplus: ['Mish', 'Softplus'],
  sqrt: ['Sqrt'],
  tan: ['Tan'],
  tanh: ['Mish', 'Tanh'],
  leaky_relu: ['LeakyRelu'],
  clip: ['Clip', 'HardSigmoid', 'HardSwish'],
  is_nan: ['IsInf', 'IsNaN'],
  is_inf: ['IsInf'],
  logical_not: ['Not'],
  floor_div: ['BitShift'],
  mod: ['Mod'],
  pow: ['BitShift', 'Pow'],
  maximum: ['Clip', 'Max'],
  minimum: ['Celu', 'Clip', 'Min'],
  equal: ['Equal'],
  less_equal: ['LessOrEqual'],
  greater_equal: ['GreaterOrEqual'],
  logical_and: ['And', 'IsInf'],
  logical_or: ['Or'],
  logical_xor: ['Xor'],
} satisfies MadeBy<typeof IMPORT_ELEMENTWISE_RULES>;
