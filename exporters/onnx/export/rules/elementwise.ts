/** Export rules for elementwise ops (unary, binary with broadcasting, select, add_n). */
import type { OpName } from '../../../../ir/ops.js';
import { attr } from '../onnx_graph.js';
import type { ExportRule, RuleCtx, Unsupported } from '../rule_types.js';
import { cast, floatUnary, naryOp, prelu, unaryOp, valueAttr, viaFloat } from './helpers.js';

/** tfjs's SELU constants (scale·alpha and scale). */
const SELU_SCALE = 1.0507009873554804934193349852946;
const SELU_ALPHA = 1.7580993408473768599402175208123 / SELU_SCALE;

/** A unary op that ONNX Runtime computes on ints too. */
const anyType = unaryOp;
/** A unary op that is the identity on integers (floor, ceil, round). */
const roundLike = (opType: string): ExportRule => (cx) => {
  if (cx.inType(0).dtype === 'float32') cx.e.op(opType, [cx.ins[0]!], {}, cx.outs[0]);
  else cx.e.op('Identity', [cx.ins[0]!], {}, cx.outs[0]);
};

const fillLike = (value: number): ExportRule => (cx) => {
  const t = cx.inType(0);
  cx.e.op('ConstantOfShape', [cx.dims.shape(t.shape)], { value: attr.tensor(valueAttr(value, t.dtype)) }, cx.outs[0]);
};

const relu: ExportRule = (cx) => {
  const dt = cx.inType(0).dtype;
  if (dt === 'float32') cx.e.op('Relu', [cx.ins[0]!], {}, cx.outs[0]);
  else cx.e.op('Max', [cx.ins[0]!, cx.e.scalar(0, dt)], {}, cx.outs[0]);
};

const relu6: ExportRule = (cx) => {
  const dt = cx.inType(0).dtype;
  const e = cx.e;
  if (dt === 'float32') e.op('Clip', [cx.ins[0]!, e.scalar(0, dt), e.scalar(6, dt)], {}, cx.outs[0]);
  else e.op('Min', [e.op('Max', [cx.ins[0]!, e.scalar(0, dt)]), e.scalar(6, dt)], {}, cx.outs[0]);
};

const clip: ExportRule = (cx) => {
  const dt = cx.inType(0).dtype;
  const e = cx.e;
  const lo = e.scalar(cx.a.float('min'), dt), hi = e.scalar(cx.a.float('max'), dt);
  if (dt === 'float32') e.op('Clip', [cx.ins[0]!, lo, hi], {}, cx.outs[0]);
  else e.op('Min', [e.op('Max', [cx.ins[0]!, lo]), hi], {}, cx.outs[0]);
};

/** tf.step: x > 0 ? 1 : alpha, NaN stays NaN. */
const step: ExportRule = (cx) => viaFloat(cx, (x, out) => {
  const e = cx.e;
  const pos = e.op('Where', [e.op('Greater', [x, e.scalar(0, 'float32')]), e.scalar(1, 'float32'), e.scalar(cx.a.float('alpha'), 'float32')]);
  return e.op('Where', [e.op('IsNaN', [x]), x, pos], {}, out);
});

const expm1: ExportRule = (cx) => viaFloat(cx, (x, out) => cx.e.op('Sub', [cx.e.op('Exp', [x]), cx.e.scalar(1, 'float32')], {}, out));
const log1p: ExportRule = (cx) => viaFloat(cx, (x, out) => cx.e.op('Log', [cx.e.op('Add', [x, cx.e.scalar(1, 'float32')])], {}, out));
const rsqrt: ExportRule = (cx) => viaFloat(cx, (x, out) => cx.e.op('Reciprocal', [cx.e.op('Sqrt', [x])], {}, out));
const square: ExportRule = (cx) => { cx.e.op('Mul', [cx.ins[0]!, cx.ins[0]!], {}, cx.outs[0]); };

const isFinite: ExportRule = (cx) => {
  const e = cx.e;
  const x = cx.inType(0).dtype === 'float32' ? cx.ins[0]! : cast(e, cx.ins[0]!, 'float32');
  e.op('Not', [e.op('Or', [e.op('IsNaN', [x]), e.op('IsInf', [x])])], {}, cx.outs[0]);
};
const floatPredicate = (opType: string): ExportRule => (cx) => {
  const x = cx.inType(0).dtype === 'float32' ? cx.ins[0]! : cast(cx.e, cx.ins[0]!, 'float32');
  cx.e.op(opType, [x], {}, cx.outs[0]);
};

const castRule: ExportRule = (cx) => {
  if (cx.inType(0).dtype === cx.a.dtype('dtype')) cx.e.op('Identity', [cx.ins[0]!], {}, cx.outs[0]);
  else cast(cx.e, cx.ins[0]!, cx.a.dtype('dtype'), cx.outs[0]);
};

// ---- binary --------------------------------------------------------------------------------

const binary = naryOp;

/** tf.floorDiv: floor(a / b); on integers exactly (ONNX Div truncates toward zero). */
const floorDiv: ExportRule = (cx) => {
  const e = cx.e;
  const [a, b] = cx.ins as [string, string];
  const dt = cx.inType(0).dtype;
  if (dt === 'float32') { e.op('Floor', [e.op('Div', [a, b])], {}, cx.outs[0]); return; }
  const q = e.op('Div', [a, b]);
  const r = e.op('Sub', [a, e.op('Mul', [q, b])]);
  const zero = e.scalar(0, dt);
  const signsDiffer = e.op('Xor', [e.op('Less', [r, zero]), e.op('Less', [b, zero])]);
  const adjust = e.op('And', [e.op('Not', [e.op('Equal', [r, zero])]), signsDiffer]);
  e.op('Sub', [q, cast(e, adjust, dt)], {}, cx.outs[0]);
};

/** tf.mod: the remainder takes the divisor's sign (as Python's %). */
const mod: ExportRule = (cx) => {
  const e = cx.e;
  const [a, b] = cx.ins as [string, string];
  const dt = cx.inType(0).dtype;
  if (dt !== 'float32') { e.op('Mod', [a, b], { fmod: attr.int(0) }, cx.outs[0]); return; }
  // tfjs: rem = a % b; same signs → rem, else (rem + b) % b.
  const zero = e.scalar(0, dt);
  const rem = e.op('Mod', [a, b], { fmod: attr.int(1) });
  const same = e.op('Equal', [e.op('Less', [a, zero]), e.op('Less', [b, zero])]);
  const fixed = e.op('Mod', [e.op('Add', [rem, b]), b], { fmod: attr.int(1) });
  e.op('Where', [same, rem, fixed], {}, cx.outs[0]);
};

const squaredDifference: ExportRule = (cx) => {
  const d = cx.e.op('Sub', [cx.ins[0]!, cx.ins[1]!]);
  cx.e.op('Mul', [d, d], {}, cx.outs[0]);
};

/** atan2(a, b) from Atan(a / b) with the quadrant fixed by the signs. */
const atan2: ExportRule = (cx) => {
  const e = cx.e;
  const [a, b] = cx.ins as [string, string];
  const f = (v: number) => e.scalar(v, 'float32');
  const zero = f(0);
  const r = e.op('Atan', [e.op('Div', [a, b])]);
  const bNeg = e.op('Where', [e.op('GreaterOrEqual', [a, zero]), e.op('Add', [r, f(Math.PI)]), e.op('Sub', [r, f(Math.PI)])]);
  const bZero = e.op('Where', [e.op('Greater', [a, zero]), f(Math.PI / 2), e.op('Where', [e.op('Less', [a, zero]), f(-Math.PI / 2), zero])]);
  const notPos = e.op('Where', [e.op('Less', [b, zero]), bNeg, bZero]);
  e.op('Where', [e.op('Greater', [b, zero]), r, notPos], {}, cx.outs[0]);
};

const preluRule: ExportRule = (cx) => {
  prelu(cx, cx.ins[0]!, cx.inType(0).shape, cx.ins[1]!, cx.inType(1).shape, cx.inType(0).dtype, cx.outs[0]);
};

/** tfjs EluGrad(dy, y): y < 0 ? dy·(y + 1) : dy. */
const eluGrad: ExportRule = (cx) => {
  const e = cx.e;
  const [dy, y] = cx.ins as [string, string];
  const dt = cx.inType(0).dtype;
  const neg = e.op('Less', [y, e.scalar(0, dt)]);
  e.op('Where', [neg, e.op('Mul', [dy, e.op('Add', [y, e.scalar(1, dt)])]), dy], {}, cx.outs[0]);
};

/**
 * Less / LessOrEqual / Greater / GreaterOrEqual: ONNX defines them on numbers only, so bool
 * operands (false < true, as in tfjs) are compared as int32.
 */
const compare = (opType: string): ExportRule => (cx) => {
  const ins = cx.inType(0).dtype === 'bool' ? cx.ins.map((x) => cast(cx.e, x, 'int32')) : cx.ins;
  cx.e.op(opType, ins, {}, cx.outs[0]);
};

/** select(c, a, b): Where, except on bool branches, which ONNX Runtime's Where lacks: (c ∧ a) ∨ (¬c ∧ b). */
const select: ExportRule = (cx) => {
  const e = cx.e;
  const [c, a, b] = cx.ins as [string, string, string];
  if (cx.inType(1).dtype !== 'bool') { e.op('Where', [c, a, b], {}, cx.outs[0]); return; }
  e.op('Or', [e.op('And', [c, a]), e.op('And', [e.op('Not', [c]), b])], {}, cx.outs[0]);
};

const notEqual: ExportRule = (cx) => { cx.e.op('Not', [cx.e.op('Equal', [cx.ins[0]!, cx.ins[1]!])], {}, cx.outs[0]); };

/** Sum broadcasts but is float-only in ONNX Runtime; integers chain Adds. */
const addN: ExportRule = (cx: RuleCtx) => {
  const e = cx.e;
  if (cx.ins.length === 1) { e.op('Identity', [cx.ins[0]!], {}, cx.outs[0]); return; }
  if (cx.inType(0).dtype === 'float32') { e.op('Sum', cx.ins, {}, cx.outs[0]); return; }
  let acc = cx.ins[0]!;
  cx.ins.slice(1).forEach((x, i) => { acc = e.op('Add', [acc, x], {}, i === cx.ins.length - 2 ? cx.outs[0] : undefined); });
};

export const EXPORT_ELEMENTWISE_RULES = {
  abs: anyType('Abs'), acos: floatUnary('Acos'), acosh: floatUnary('Acosh'), asin: floatUnary('Asin'),
  asinh: floatUnary('Asinh'), atan: floatUnary('Atan'), atanh: floatUnary('Atanh'), ceil: roundLike('Ceil'),
  cos: floatUnary('Cos'), cosh: floatUnary('Cosh'), elu: floatUnary('Elu', { alpha: attr.float(1) }), erf: floatUnary('Erf'),
  exp: floatUnary('Exp'), expm1, floor: roundLike('Floor'), log: floatUnary('Log'), log1p, neg: anyType('Neg'),
  reciprocal: floatUnary('Reciprocal'), relu, relu6, round: roundLike('Round'), rsqrt,
  selu: floatUnary('Selu', { alpha: attr.float(SELU_ALPHA), gamma: attr.float(SELU_SCALE) }),
  sigmoid: floatUnary('Sigmoid'), sign: anyType('Sign'), sin: floatUnary('Sin'), sinh: floatUnary('Sinh'),
  softplus: floatUnary('Softplus'), sqrt: floatUnary('Sqrt'), square, tan: floatUnary('Tan'), tanh: floatUnary('Tanh'),
  identity: anyType('Identity'),
  leaky_relu: (cx) => viaFloat(cx, (x, out) => cx.e.op('LeakyRelu', [x], { alpha: attr.float(cx.a.float('alpha')) }, out)),
  step, clip,
  is_nan: floatPredicate('IsNaN'), is_inf: floatPredicate('IsInf'), is_finite: isFinite,
  logical_not: anyType('Not'),
  cast: castRule,
  zeros_like: fillLike(0), ones_like: fillLike(1),

  add: binary('Add'), sub: binary('Sub'), mul: binary('Mul'), div: binary('Div'),
  floor_div: floorDiv, mod, pow: binary('Pow'), maximum: binary('Max'), minimum: binary('Min'),
  squared_difference: squaredDifference, atan2, prelu: preluRule, elu_grad: eluGrad,
  equal: binary('Equal'), not_equal: notEqual, less: compare('Less'), less_equal: compare('LessOrEqual'),
  greater: compare('Greater'), greater_equal: compare('GreaterOrEqual'),
  logical_and: binary('And'), logical_or: binary('Or'), logical_xor: binary('Xor'),
  select,
  add_n: addN,
} satisfies Partial<Record<OpName, ExportRule | Unsupported>>;
