/**
 * The op vocabulary: one definition per op with its operands, typed attrs, traits
 * (effect, fusion class, commutativity) and shape/dtype inference over symbolic dims.
 * Every other layer (tracer, runtime, exporters, passes) keys its tables by OpName.
 */
import type { DType } from './dtype.js';
import { isDType } from './dtype.js';
import type { Dim, Shape } from './dim.js';
import { dimAdd, dimDiv, dimEq, dimProduct, dimSub, dimToString, isStatic, shapeToString, sym } from './dim.js';
import type { SourceLoc } from './errors.js';
import { Codes, GcError } from './errors.js';
import type { TensorType } from './graph.js';
import type { TensorData } from './tensor_data.js';
import type { Expr } from './fused_expr.js';
import { ExprError, parseExpr } from './fused_expr.js';
import { broadcastShapes, fail, InferError, normAxis, staticDim } from './shape_util.js';
import type { RegionType } from './control_flow.js';
import { condInfer, scanInfer, whileInfer } from './control_flow.js';

export type AttrKind = 'int' | 'ints' | 'float' | 'bool' | 'string' | 'dim' | 'dims' | 'dtype' | 'tensor';
export type AttrValue = number | boolean | string | readonly number[] | Dim | readonly Dim[] | TensorData;
export type Attrs = Readonly<Record<string, AttrValue>>;

/**
 * The `activation` attr of fused_matmul / fused_conv2d / fused_depthwise_conv2d: tfjs's names for
 * the activations its fused kernels apply. Every layer that runs or writes a fused op keys a table
 * by FusedActivation (a missing one is a compile error); the IR op each stands for says so with
 * its `fusedActivation` trait.
 */
export const FUSED_ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;
export type FusedActivation = (typeof FUSED_ACTIVATIONS)[number];

/** The ops that apply a bias and a FusedActivation after a matmul or a convolution (OpDef.fusedForm). */
export const FUSED_OPS = ['fused_matmul', 'fused_conv2d', 'fused_depthwise_conv2d'] as const;
export type FusedOp = (typeof FUSED_OPS)[number];

export function isFusedActivation(s: string): s is FusedActivation {
  return (FUSED_ACTIVATIONS as readonly string[]).includes(s);
}

/** pure; random (draws per run); stateful (assigns a variable); io (prints at run time: kept, never merged or folded). */
export type Effect = 'pure' | 'random' | 'stateful' | 'io';
export type FusionClass = 'elementwise' | 'reduction' | 'matmul' | 'conv' | 'pool' | 'shape' | 'source' | 'opaque';

export interface OpDef {
  /** Number of operands, or [min, max] (max Infinity = variadic). */
  readonly arity: number | readonly [number, number];
  readonly attrs: Readonly<Record<string, AttrKind>>;
  readonly effect: Effect;
  readonly fusion: FusionClass;
  readonly commutative: boolean;
  /** `x op e = x` for this neutral element e: on either side, or only on the right (x − 0, x / 1). */
  readonly neutral?: { readonly value: number; readonly side: 'both' | 'rhs' };
  /** `x op z = z` for this absorbing element (exact for integers and bools; for floats 0·NaN is NaN). */
  readonly absorbing?: number;
  /** `op(op(x)) = x` exactly. */
  readonly involution?: boolean;
  /**
   * May appear in a fused_elementwise program (ir/fused_expr.ts): elementwise, pure, float32 →
   * float32, float attrs only, one or two operands. Set with `exprOp(…)` so that the ExprOp union
   * sees it: each code generator of fused programs (runtime/fused/) is a Record<ExprOp, …>, so
   * marking an op here without its generated forms is a compile error.
   */
  readonly expr?: true;
  /** The op that computes this op followed by a bias add and an activation (matmul → fused_matmul; a fused op is its own). */
  readonly fusedForm?: FusedOp;
  /** This op as the fused ops' `activation` attr (relu → 'relu', leaky_relu → 'leakyrelu'). */
  readonly fusedActivation?: FusedActivation;
  /**
   * The roles of the node's regions, in order (ir/control_flow.ts): a control-flow op has
   * exactly these regions (Node.regions), every other op none.
   */
  readonly regions?: readonly string[];
  /** Attrs of `attrs` that a node may leave out (every other attr is required). */
  readonly optional?: readonly string[];
  /** Output types from operand types, attrs and (control flow) the signatures of the regions. */
  readonly infer: (ins: readonly TensorType[], a: AttrReader, regions: readonly RegionType[]) => TensorType[];
}

/** Typed access to a node's attrs. */
export class AttrReader {
  constructor(readonly op: string, readonly attrs: Attrs) {}
  private get(name: string): AttrValue {
    const v = this.attrs[name];
    if (v === undefined) fail(`${this.op}: missing attr '${name}'`, undefined, Codes.attr);
    return v;
  }
  int(n: string): number { return this.get(n) as number; }
  float(n: string): number { return this.get(n) as number; }
  bool(n: string): boolean { return this.get(n) as boolean; }
  str(n: string): string { return this.get(n) as string; }
  ints(n: string): readonly number[] { return this.get(n) as readonly number[]; }
  dim(n: string): Dim { return this.get(n) as Dim; }
  dims(n: string): readonly Dim[] { return this.get(n) as readonly Dim[]; }
  dtype(n: string): DType { return this.get(n) as DType; }
  tensor(n: string): TensorData { return this.get(n) as TensorData; }
  has(n: string): boolean { return this.attrs[n] !== undefined; }
}

const t = (dtype: DType, shape: Shape): TensorType => ({ dtype, shape });

function def(d: Partial<OpDef> & Pick<OpDef, 'infer'>): OpDef {
  return { arity: 1, attrs: {}, effect: 'pure', fusion: 'opaque', commutative: false, ...d };
}

// ---- families ---------------------------------------------------------------

/** `d` as an expression op (see OpDef.expr), with more traits. */
const exprOp = <D extends OpDef>(d: D, more: Pick<OpDef, 'fusedActivation' | 'involution'> = {}): D & { readonly expr: true } =>
  ({ ...d, ...more, expr: true });

/** Elementwise math on numbers: a bool operand is refused (cast it first), as ONNX and tfjs's kernels do. */
const unary = (attrs: Record<string, AttrKind> = {}): OpDef =>
  def({ fusion: 'elementwise', attrs, infer: ([x], a) => {
    if (x!.dtype === 'bool') fail(`${a.op}: needs a number operand, got bool`, 'cast the operand to float32 or int32 first', Codes.dtype);
    return [x!];
  } });
/** Elementwise ops defined for every dtype, bool included (identity, logical_not, zeros_like, ones_like). */
const unaryAny = (): OpDef =>
  def({ fusion: 'elementwise', infer: ([x]) => [x!] });
const unaryTo = (dtype: DType): OpDef =>
  def({ fusion: 'elementwise', infer: ([x]) => [t(dtype, x!.shape)] });

function binaryInfer(op: string, out?: DType) {
  return ([a, b]: readonly TensorType[]): TensorType[] => {
    if (a!.dtype !== b!.dtype) fail(`${op}: operand dtypes differ (${a!.dtype} vs ${b!.dtype})`, 'cast one operand', Codes.dtype);
    return [t(out ?? a!.dtype, broadcastShapes(a!.shape, b!.shape, op))];
  };
}
const binary = (op: string, commutative = false): OpDef =>
  def({ arity: 2, fusion: 'elementwise', commutative, infer: binaryInfer(op) });
const compare = (op: string, commutative = false): OpDef =>
  def({ arity: 2, fusion: 'elementwise', commutative, infer: binaryInfer(op, 'bool') });

function reduceShape(x: Shape, axes: readonly number[], keep: boolean, op: string): Dim[] {
  const ax = axes.map((a) => normAxis(a, x.length, op));
  const out: Dim[] = [];
  x.forEach((d, i) => {
    if (ax.includes(i)) { if (keep) out.push(1); } else out.push(d);
  });
  return out;
}
const reduce = (op: string, dtype?: DType): OpDef =>
  def({
    fusion: 'reduction', attrs: { axes: 'ints', keep_dims: 'bool' },
    // tfjs's mean of int32 is float32 (its kernels divide in float).
    infer: ([x], a) => [t(dtype ?? (op === 'reduce_mean' && x!.dtype === 'int32' ? 'float32' : x!.dtype), reduceShape(x!.shape, a.ints('axes'), a.bool('keep_dims'), op))],
  });
const argReduce = (op: string): OpDef =>
  def({
    fusion: 'reduction', attrs: { axis: 'int' },
    infer: ([x], a) => [t('int32', reduceShape(x!.shape, [a.int('axis')], false, op))],
  });

// ---- matmul / conv helpers ----------------------------------------------------

function matmulShape(a: Shape, b: Shape, ta: boolean, tb: boolean, op: string): Dim[] {
  if (a.length < 2 || b.length < 2) fail(`${op}: operands must have rank ≥ 2, got ${shapeToString(a)} and ${shapeToString(b)}`);
  const m = ta ? a[a.length - 1]! : a[a.length - 2]!;
  const k1 = ta ? a[a.length - 2]! : a[a.length - 1]!;
  const k2 = tb ? b[b.length - 1]! : b[b.length - 2]!;
  const n = tb ? b[b.length - 2]! : b[b.length - 1]!;
  if (!dimEq(k1, k2)) {
    fail(`${op}: inner dimensions differ (lhs ${shapeToString(a)}, rhs ${shapeToString(b)}: ${dimToString(k1)} ≠ ${dimToString(k2)})`,
      'transpose the right operand or check the weight shape', Codes.matmul);
  }
  const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2), op);
  return [...batch, m, n];
}

export type Padding = 'same' | 'valid' | 'explicit';

/** Output spatial size for a window op; `pads` = [before, after] when explicit. */
export function windowOut(inp: Dim, k: number, s: number, d: number, padding: string, pads: readonly number[], op: string): Dim {
  const ek = (k - 1) * d + 1;
  if (padding === 'same') {
    if (isStatic(inp)) return Math.ceil(inp / s);
    if (s === 1) return inp;
    return fail(`${op}: symbolic spatial size ${dimToString(inp)} with stride ${s}`);
  }
  const padTotal = padding === 'explicit' ? pads[0]! + pads[1]! : 0;
  if (isStatic(inp)) return Math.floor((inp + padTotal - ek) / s) + 1;
  if (s === 1) return dimAdd(inp, padTotal - ek + 1)!;
  return fail(`${op}: symbolic spatial size ${dimToString(inp)} with stride ${s}`);
}

const convAttrs = { strides: 'ints', padding: 'string', pads: 'ints', dilations: 'ints' } as const;

function convShape(x: Shape, f: Shape, a: AttrReader, depthwise: boolean, op: string): Dim[] {
  if (x.length !== 4 || f.length !== 4) fail(`${op}: expects NHWC input and 4-D filter, got ${shapeToString(x)} and ${shapeToString(f)}`);
  const [n, h, w, c] = x as [Dim, Dim, Dim, Dim];
  const kh = staticDim(f[0]!, op, 'filter height'), kw = staticDim(f[1]!, op, 'filter width');
  if (!dimEq(c, f[2]!)) fail(`${op}: input channels ${dimToString(c)} ≠ filter in-channels ${dimToString(f[2]!)}`, 'check the filter shape [h, w, in, out]');
  const [sh, sw] = a.ints('strides') as [number, number];
  const [dh, dw] = a.ints('dilations') as [number, number];
  const pads = a.ints('pads');
  const oh = windowOut(h, kh, sh, dh, a.str('padding'), pads.slice(0, 2), op);
  const ow = windowOut(w, kw, sw, dw, a.str('padding'), pads.slice(2, 4), op);
  const oc = depthwise ? dimProduct([c, f[3]!])! : f[3]!;
  return [n, oh, ow, oc];
}

function poolShape(x: Shape, a: AttrReader, op: string): Dim[] {
  if (x.length !== 4) fail(`${op}: expects NHWC input, got ${shapeToString(x)}`);
  const [kh, kw] = a.ints('filter_size') as [number, number];
  const [sh, sw] = a.ints('strides') as [number, number];
  const pads = a.ints('pads');
  return [x[0]!, windowOut(x[1]!, kh, sh, 1, a.str('padding'), pads.slice(0, 2), op),
    windowOut(x[2]!, kw, sw, 1, a.str('padding'), pads.slice(2, 4), op), x[3]!];
}

function fusedInfer(kind: 'matmul' | 'conv' | 'depthwise') {
  return (ins: readonly TensorType[], a: AttrReader): TensorType[] => {
    const [x, w] = ins as [TensorType, TensorType];
    const op = kind === 'matmul' ? 'fused_matmul' : kind === 'conv' ? 'fused_conv2d' : 'fused_depthwise_conv2d';
    const shape = kind === 'matmul'
      ? matmulShape(x.shape, w.shape, a.bool('transpose_a'), a.bool('transpose_b'), op)
      : convShape(x.shape, w.shape, a, kind === 'depthwise', op);
    const expected = 2 + (a.bool('has_bias') ? 1 : 0) + (a.str('activation') === 'prelu' ? 1 : 0);
    if (ins.length !== expected) fail(`${op}: expected ${expected} operands (has_bias=${a.bool('has_bias')}, activation=${a.str('activation')}), got ${ins.length}`);
    for (const extra of ins.slice(2)) broadcastShapes(shape, extra.shape, op);
    return [t(x.dtype, shape)];
  };
}

/** fused_elementwise: the program's shape (broadcast along its ops), float32 operands only. */
function fusedElementwiseInfer(ins: readonly TensorType[], a: AttrReader): TensorType[] {
  const text = a.str('expr');
  let parsed: ReturnType<typeof parseExpr>;
  try {
    parsed = parseExpr(text);
  } catch (e) {
    if (e instanceof ExprError) fail(`fused_elementwise: ${e.message}`, 'see ir/fused_expr.ts for the expression language');
    throw e;
  }
  if (parsed.inputs !== ins.length) fail(`fused_elementwise: the program reads ${parsed.inputs} operand(s) ($0..$${parsed.inputs - 1}), the node has ${ins.length}`);
  ins.forEach((x, i) => {
    if (x.dtype !== 'float32') fail(`fused_elementwise: operand $${i} is ${x.dtype}; fused programs compute float32 only`, undefined, Codes.dtype);
  });
  const temps: Shape[] = [];
  const shapeOf = (e: Expr): Shape => {
    switch (e.kind) {
      case 'in': return ins[e.index]!.shape;
      case 'tmp': return temps[e.index]!;
      case 'lit': return [];
      case 'op': return e.args.map(shapeOf).reduce((s, x) => broadcastShapes(s, x, `fused_elementwise (${e.op})`));
    }
  };
  for (const t of parsed.program.temps) temps.push(shapeOf(t));
  return [t('float32', shapeOf(parsed.program.result))];
}

function concatShape(ins: readonly TensorType[], axis: number, op: string): Dim[] {
  const first = ins[0]!;
  const ax = normAxis(axis, first.shape.length, op);
  let total: Dim = 0;
  for (const x of ins) {
    if (x.shape.length !== first.shape.length) fail(`${op}: ranks differ (${shapeToString(first.shape)} vs ${shapeToString(x.shape)})`);
    x.shape.forEach((d, i) => {
      if (i !== ax && !dimEq(d, first.shape[i]!)) fail(`${op}: dim ${i} differs (${shapeToString(first.shape)} vs ${shapeToString(x.shape)})`);
    });
    const s: Dim | undefined = dimAdd(total, x.shape[ax]!);
    if (s === undefined) fail(`${op}: cannot add dims ${dimToString(total)} and ${dimToString(x.shape[ax]!)} along axis ${axis}`);
    total = s;
  }
  const out = [...first.shape];
  out[ax] = total;
  return out;
}

function reshapeInfer([x]: readonly TensorType[], a: AttrReader): TensorType[] {
  const target = a.dims('shape');
  const neg = target.filter((d) => d === -1).length;
  if (neg > 1) fail(`reshape: at most one -1 in target ${shapeToString(target)}`);
  const total = dimProduct(x!.shape);
  if (neg === 1) {
    const known = dimProduct(target.filter((d) => d !== -1));
    if (total === undefined || known === undefined) fail(`reshape: cannot infer -1 in ${shapeToString(target)} from ${shapeToString(x!.shape)}`);
    let rest: Dim | undefined;
    if (isStatic(known)) rest = known === 0 ? 0 : dimDiv(total, known);
    else if (!isStatic(total) && total.sym === known.sym && known.c === 0 && total.c === 0 && total.k % known.k === 0) rest = total.k / known.k;
    if (rest === undefined) fail(`reshape: ${shapeToString(x!.shape)} does not divide into ${shapeToString(target)}`);
    return [t(x!.dtype, target.map((d) => (d === -1 ? rest! : d)))];
  }
  const prod = dimProduct(target);
  if (total !== undefined && prod !== undefined && !dimEq(total, prod)) {
    fail(`reshape: cannot reshape ${shapeToString(x!.shape)} (${dimToString(total)} elements) to ${shapeToString(target)} (${dimToString(prod)})`,
      'the element counts must match; use -1 for one inferred dimension');
  }
  return [t(x!.dtype, target)];
}

function stridedSliceDim(begin: Dim, end: Dim, stride: number): Dim {
  const len = stride > 0 ? dimSub(end, begin) : dimSub(begin, end);
  if (len === undefined) return fail(`strided_slice: unsupported symbolic bounds ${dimToString(begin)}..${dimToString(end)} step ${stride}`);
  if (isStatic(len)) return Math.max(0, Math.ceil(len / Math.abs(stride)));
  if (Math.abs(stride) === 1) return len;
  return fail(`strided_slice: symbolic length ${dimToString(len)} with stride ${stride}`);
}

// ---- the table -------------------------------------------------------------------

const shapeOp = (d: Omit<Partial<OpDef>, 'fusion'> & Pick<OpDef, 'infer'>): OpDef => def({ fusion: 'shape', ...d });

export const OPS = {
  // sources
  const: def({ arity: 0, fusion: 'source', attrs: { value: 'tensor' }, infer: (_, a) => { const v = a.tensor('value'); return [t(v.dtype, v.shape)]; } }),
  sym_const: def({ arity: 0, fusion: 'source', attrs: { value: 'dim', dtype: 'dtype' }, infer: (_, a) => [t(a.dtype('dtype'), [])] }),
  fill: def({ arity: 0, fusion: 'source', attrs: { shape: 'dims', value: 'float', dtype: 'dtype' }, infer: (_, a) => [t(a.dtype('dtype'), a.dims('shape'))] }),
  range: def({ arity: 0, fusion: 'source', attrs: { start: 'float', stop: 'float', step: 'float', dtype: 'dtype' },
    infer: (_, a) => [t(a.dtype('dtype'), [Math.max(0, Math.ceil((a.float('stop') - a.float('start')) / a.float('step')))])] }),
  random_uniform: def({ arity: 0, effect: 'random', fusion: 'source', attrs: { shape: 'dims', min: 'float', max: 'float', dtype: 'dtype', seed: 'int' },
    infer: (_, a) => [t(a.dtype('dtype'), a.dims('shape'))] }),
  random_normal: def({ arity: 0, effect: 'random', fusion: 'source', attrs: { shape: 'dims', mean: 'float', std: 'float', dtype: 'dtype', truncated: 'bool', seed: 'int' },
    infer: (_, a) => [t(a.dtype('dtype'), a.dims('shape'))] }),
  assign: def({ effect: 'stateful', attrs: { var: 'string' }, infer: () => [] }),
  // x.print() inside a compiled function: prints x at run time, as tf.print does in a TF graph.
  print: def({ effect: 'io', attrs: { verbose: 'bool' }, infer: () => [] }),

  // structured control flow (ir/control_flow.ts: operands, regions, types, and how variables and
  // effects inside regions are represented). Pure by definition; a node's effect is the strongest
  // of its regions' nodes (nodeEffect, ir/regions.ts). Regions never assign variables.
  cond: def({ arity: [1, Infinity], regions: ['then', 'else'], infer: (ins, _a, rs) => condInfer(ins, rs) }),
  while_loop: def({ arity: [1, Infinity], regions: ['cond', 'body'], attrs: { maximum_iterations: 'int' }, optional: ['maximum_iterations'],
    infer: (ins, a, rs) => whileInfer(ins, rs, a.has('maximum_iterations') ? a.int('maximum_iterations') : undefined) }),
  scan: def({ arity: [1, Infinity], regions: ['body'], attrs: { num_carries: 'int', num_xs: 'int', reverse: 'bool' },
    infer: (ins, a, rs) => scanInfer(ins, rs, a.int('num_carries'), a.int('num_xs')) }),

  // elementwise unary (exprOp: may be fused into a fused_elementwise program)
  abs: exprOp(unary()), acos: unary(), acosh: unary(), asin: unary(), asinh: unary(), atan: unary(), atanh: unary(),
  ceil: exprOp(unary()), cos: exprOp(unary()), cosh: unary(), elu: exprOp(unary(), { fusedActivation: 'elu' }), erf: unary(),
  exp: exprOp(unaryTo('float32')), expm1: exprOp(unary()),
  floor: exprOp(unary()), log: exprOp(unary()), log1p: exprOp(unary()), neg: exprOp(unary(), { involution: true }), reciprocal: exprOp(unary()),
  relu: exprOp(unary(), { fusedActivation: 'relu' }), relu6: exprOp(unary(), { fusedActivation: 'relu6' }),
  round: unary(), rsqrt: exprOp(unary()), selu: exprOp(unary()), sigmoid: exprOp(unary(), { fusedActivation: 'sigmoid' }), sign: unary(),
  sin: exprOp(unary()), sinh: unary(),
  softplus: exprOp(unary()), sqrt: exprOp(unary()), square: exprOp(unary()), tan: unary(), tanh: exprOp(unary()), identity: unaryAny(),
  leaky_relu: exprOp(unary({ alpha: 'float' }), { fusedActivation: 'leakyrelu' }),
  step: exprOp(unary({ alpha: 'float' })),
  clip: exprOp(unary({ min: 'float', max: 'float' })),
  is_nan: unaryTo('bool'), is_inf: unaryTo('bool'), is_finite: unaryTo('bool'),
  logical_not: { ...unaryAny(), involution: true },
  cast: def({ fusion: 'elementwise', attrs: { dtype: 'dtype' }, infer: ([x], a) => [t(a.dtype('dtype'), x!.shape)] }),
  zeros_like: unaryAny(), ones_like: unaryAny(),

  // elementwise binary
  add: exprOp({ ...binary('add', true), neutral: { value: 0, side: 'both' } }), sub: exprOp({ ...binary('sub'), neutral: { value: 0, side: 'rhs' } }),
  mul: exprOp({ ...binary('mul', true), neutral: { value: 1, side: 'both' }, absorbing: 0 }), div: exprOp({ ...binary('div'), neutral: { value: 1, side: 'rhs' } }),
  floor_div: binary('floor_div'), mod: binary('mod'), pow: exprOp(binary('pow')),
  maximum: exprOp(binary('maximum', true)), minimum: exprOp(binary('minimum', true)),
  squared_difference: exprOp(binary('squared_difference', true)), atan2: binary('atan2'), prelu: exprOp(binary('prelu'), { fusedActivation: 'prelu' }),
  elu_grad: binary('elu_grad'),
  equal: compare('equal', true), not_equal: compare('not_equal', true), less: compare('less'),
  less_equal: compare('less_equal'), greater: compare('greater'), greater_equal: compare('greater_equal'),
  logical_and: { ...binary('logical_and', true), neutral: { value: 1, side: 'both' }, absorbing: 0 },
  logical_or: { ...binary('logical_or', true), neutral: { value: 0, side: 'both' }, absorbing: 1 },
  logical_xor: { ...binary('logical_xor', true), neutral: { value: 0, side: 'both' } },
  select: def({ arity: 3, fusion: 'elementwise', infer: ([c, a, b]) => {
    if (c!.dtype !== 'bool') fail(`select: condition must be bool, got ${c!.dtype}`, undefined, Codes.dtype);
    if (a!.dtype !== b!.dtype) fail(`select: branch dtypes differ (${a!.dtype} vs ${b!.dtype})`, undefined, Codes.dtype);
    return [t(a!.dtype, broadcastShapes(c!.shape, broadcastShapes(a!.shape, b!.shape, 'select'), 'select'))];
  } }),
  // A chain of elementwise ops as one kernel: `expr` is a program over the operands (ir/fused_expr.ts).
  fused_elementwise: def({ arity: [1, Infinity], fusion: 'elementwise', attrs: { expr: 'string' }, infer: fusedElementwiseInfer }),
  add_n: def({ arity: [1, Infinity], fusion: 'elementwise', commutative: true, infer: (ins) => {
    let s: Shape = ins[0]!.shape;
    for (const x of ins) s = broadcastShapes(s, x.shape, 'add_n');
    return [t(ins[0]!.dtype, s)];
  } }),

  // reductions
  reduce_sum: reduce('reduce_sum'), reduce_mean: reduce('reduce_mean'), reduce_max: reduce('reduce_max'),
  reduce_min: reduce('reduce_min'), reduce_prod: reduce('reduce_prod'),
  reduce_all: reduce('reduce_all', 'bool'), reduce_any: reduce('reduce_any', 'bool'),
  argmax: argReduce('argmax'), argmin: argReduce('argmin'),
  cumsum: def({ attrs: { axis: 'int', exclusive: 'bool', reverse: 'bool' }, infer: ([x]) => [x!] }),
  softmax: def({ fusion: 'reduction', attrs: { axis: 'int' }, infer: ([x]) => [x!] }),
  log_softmax: def({ fusion: 'reduction', attrs: { axis: 'int' }, infer: ([x]) => [x!] }),

  // linear algebra and nn
  matmul: def({ arity: 2, fusion: 'matmul', fusedForm: 'fused_matmul', attrs: { transpose_a: 'bool', transpose_b: 'bool' },
    infer: ([a, b], at) => {
      if (a!.dtype !== b!.dtype) fail(`matmul: operand dtypes differ (${a!.dtype} vs ${b!.dtype})`, undefined, Codes.dtype);
      return [t(a!.dtype, matmulShape(a!.shape, b!.shape, at.bool('transpose_a'), at.bool('transpose_b'), 'matmul'))];
    } }),
  fused_matmul: def({ arity: [2, 4], fusion: 'matmul', fusedForm: 'fused_matmul', attrs: { transpose_a: 'bool', transpose_b: 'bool', has_bias: 'bool', activation: 'string', alpha: 'float' },
    infer: fusedInfer('matmul') }),
  conv2d: def({ arity: 2, fusion: 'conv', fusedForm: 'fused_conv2d', attrs: convAttrs, infer: ([x, f], a) => [t(x!.dtype, convShape(x!.shape, f!.shape, a, false, 'conv2d'))] }),
  depthwise_conv2d: def({ arity: 2, fusion: 'conv', fusedForm: 'fused_depthwise_conv2d', attrs: convAttrs, infer: ([x, f], a) => [t(x!.dtype, convShape(x!.shape, f!.shape, a, true, 'depthwise_conv2d'))] }),
  fused_conv2d: def({ arity: [2, 4], fusion: 'conv', fusedForm: 'fused_conv2d', attrs: { ...convAttrs, has_bias: 'bool', activation: 'string', alpha: 'float' }, infer: fusedInfer('conv') }),
  fused_depthwise_conv2d: def({ arity: [2, 4], fusion: 'conv', fusedForm: 'fused_depthwise_conv2d', attrs: { ...convAttrs, has_bias: 'bool', activation: 'string', alpha: 'float' }, infer: fusedInfer('depthwise') }),
  conv2d_backprop_input: def({ arity: 2, fusion: 'conv', attrs: { ...convAttrs, input_shape: 'dims' }, infer: ([dy], a) => [t(dy!.dtype, a.dims('input_shape'))] }),
  conv2d_backprop_filter: def({ arity: 2, fusion: 'conv', attrs: { ...convAttrs, filter_shape: 'ints' }, infer: ([x], a) => [t(x!.dtype, a.ints('filter_shape'))] }),
  depthwise_conv2d_backprop_input: def({ arity: 2, fusion: 'conv', attrs: { ...convAttrs, input_shape: 'dims' }, infer: ([dy], a) => [t(dy!.dtype, a.dims('input_shape'))] }),
  depthwise_conv2d_backprop_filter: def({ arity: 2, fusion: 'conv', attrs: { ...convAttrs, filter_shape: 'ints' }, infer: ([x], a) => [t(x!.dtype, a.ints('filter_shape'))] }),
  max_pool: def({ fusion: 'pool', attrs: { filter_size: 'ints', strides: 'ints', padding: 'string', pads: 'ints' }, infer: ([x], a) => [t(x!.dtype, poolShape(x!.shape, a, 'max_pool'))] }),
  avg_pool: def({ fusion: 'pool', attrs: { filter_size: 'ints', strides: 'ints', padding: 'string', pads: 'ints' }, infer: ([x], a) => [t(x!.dtype, poolShape(x!.shape, a, 'avg_pool'))] }),
  max_pool_grad: def({ arity: 3, fusion: 'pool', attrs: { filter_size: 'ints', strides: 'ints', padding: 'string', pads: 'ints' }, infer: ([, x]) => [x!] }),
  avg_pool_grad: def({ arity: 2, fusion: 'pool', attrs: { filter_size: 'ints', strides: 'ints', padding: 'string', pads: 'ints' }, infer: ([, x]) => [x!] }),
  // Operands: (x, mean, variance, offset, scale); offset/scale are constants 0/1 when absent.
  batch_norm: def({ arity: 5, fusion: 'elementwise', attrs: { epsilon: 'float' }, infer: (ins) => {
    const [x] = ins;
    for (const p of ins.slice(1)) broadcastShapes(x!.shape, p.shape, 'batch_norm');
    return [x!];
  } }),

  // shape and data movement
  reshape: shapeOp({ attrs: { shape: 'dims' }, infer: reshapeInfer }),
  transpose: shapeOp({ attrs: { perm: 'ints' }, infer: ([x], a) => {
    const perm = a.ints('perm');
    if (perm.length !== x!.shape.length) fail(`transpose: perm [${perm.join(',')}] does not match rank ${x!.shape.length}`);
    return [t(x!.dtype, perm.map((p) => x!.shape[p]!))];
  } }),
  concat: shapeOp({ arity: [1, Infinity], attrs: { axis: 'int' }, infer: (ins, a) => [t(ins[0]!.dtype, concatShape(ins, a.int('axis'), 'concat'))] }),
  pack: shapeOp({ arity: [1, Infinity], attrs: { axis: 'int' }, infer: (ins, a) => {
    const s = [...ins[0]!.shape];
    for (const x of ins) if (!x.shape.every((d, i) => dimEq(d, s[i]!))) fail(`pack: shapes differ (${shapeToString(s)} vs ${shapeToString(x.shape)})`);
    const ax = normAxis(a.int('axis'), s.length + 1, 'pack');
    s.splice(ax, 0, ins.length);
    return [t(ins[0]!.dtype, s)];
  } }),
  unpack: shapeOp({ attrs: { axis: 'int' }, infer: ([x], a) => {
    const ax = normAxis(a.int('axis'), x!.shape.length, 'unpack');
    const n = staticDim(x!.shape[ax]!, 'unpack', 'the unpacked dim');
    const s = x!.shape.filter((_, i) => i !== ax);
    return Array.from({ length: n }, () => t(x!.dtype, s));
  } }),
  split: shapeOp({ attrs: { sizes: 'dims', axis: 'int' }, infer: ([x], a) => {
    const ax = normAxis(a.int('axis'), x!.shape.length, 'split');
    return a.dims('sizes').map((d) => { const s = [...x!.shape]; s[ax] = d; return t(x!.dtype, s); });
  } }),
  slice: shapeOp({ attrs: { begin: 'dims', size: 'dims' }, infer: ([x], a) => {
    if (a.dims('size').length !== x!.shape.length) fail(`slice: size ${shapeToString(a.dims('size'))} does not match rank ${x!.shape.length}`);
    return [t(x!.dtype, a.dims('size'))];
  } }),
  strided_slice: shapeOp({ attrs: { begin: 'dims', end: 'dims', strides: 'ints' }, infer: ([x], a) => {
    const b = a.dims('begin'), e = a.dims('end'), s = a.ints('strides');
    if (b.length !== x!.shape.length) fail(`strided_slice: begin has ${b.length} entries for rank ${x!.shape.length}`);
    return [t(x!.dtype, b.map((bi, i) => stridedSliceDim(bi, e[i]!, s[i]!)))];
  } }),
  gather: shapeOp({ arity: 2, attrs: { axis: 'int', batch_dims: 'int' }, infer: ([x, idx], a) => {
    if (idx!.dtype !== 'int32' && idx!.dtype !== 'int64') fail(`gather: indices must be int32, got ${idx!.dtype}`, 'cast the indices to int32', Codes.dtype);
    const ax = normAxis(a.int('axis'), x!.shape.length, 'gather');
    const bd = a.int('batch_dims');
    return [t(x!.dtype, [...x!.shape.slice(0, ax), ...idx!.shape.slice(bd), ...x!.shape.slice(ax + 1)])];
  } }),
  pad: shapeOp({ attrs: { paddings: 'ints', value: 'float' }, infer: ([x], a) => {
    const p = a.ints('paddings');
    if (p.length !== 2 * x!.shape.length) fail(`pad: paddings has ${p.length} entries for rank ${x!.shape.length} (needs ${2 * x!.shape.length})`);
    return [t(x!.dtype, x!.shape.map((d, i) => dimAdd(d, p[2 * i]! + p[2 * i + 1]!)!))];
  } }),
  tile: shapeOp({ attrs: { reps: 'ints' }, infer: ([x], a) => {
    const r = a.ints('reps');
    if (r.length !== x!.shape.length) fail(`tile: reps [${r.join(',')}] does not match rank ${x!.shape.length}`);
    if (r.some((k) => !Number.isSafeInteger(k) || k < 0)) fail(`tile: reps [${r.join(',')}] must be integers ≥ 0`);
    return [t(x!.dtype, x!.shape.map((d, i) => dimProduct([d, r[i]!])!))];
  } }),
  reverse: shapeOp({ attrs: { axes: 'ints' }, infer: ([x]) => [x!] }),
  broadcast_to: shapeOp({ attrs: { shape: 'dims' }, infer: ([x], a) => {
    const s = a.dims('shape');
    const b = broadcastShapes(x!.shape, s, 'broadcast_to');
    if (!b.every((d, i) => dimEq(d, s[i]!))) fail(`broadcast_to: ${shapeToString(x!.shape)} does not broadcast to ${shapeToString(s)}`);
    return [t(x!.dtype, s)];
  } }),
  one_hot: def({ attrs: { depth: 'int', on_value: 'float', off_value: 'float', dtype: 'dtype' }, infer: ([i], a) => [t(a.dtype('dtype'), [...i!.shape, a.int('depth')])] }),
  unsorted_segment_sum: def({ arity: 2, attrs: { num_segments: 'int' }, infer: ([x, ids], a) => [t(x!.dtype, [a.int('num_segments'), ...x!.shape.slice(ids!.shape.length)])] }),
} satisfies Record<string, OpDef>;

export type OpName = keyof typeof OPS;

// Each fused op is an op of the table (its name in FUSED_OPS is spelled right).
FUSED_OPS satisfies readonly OpName[];

export const OP_NAMES = Object.keys(OPS) as OpName[];

export function isOpName(s: string): s is OpName {
  return Object.prototype.hasOwnProperty.call(OPS, s);
}

export function opDef(op: OpName): OpDef {
  return OPS[op];
}

// ---- derived tables (from the traits above; never written out by hand) ---------------------

/** The ops whose OpDef says `expr` (see OpDef.expr), as a union. */
export type ExprOp = { [K in OpName]: (typeof OPS)[K] extends { readonly expr: true } ? K : never }[OpName];

/** The expression ops, in OPS order. */
export const EXPR_OPS: readonly ExprOp[] = OP_NAMES.filter((op): op is ExprOp => (OPS[op] as OpDef).expr === true);

const EXPR_OP_SET: ReadonlySet<string> = new Set(EXPR_OPS);

export function isExprOp(op: string): op is ExprOp {
  return EXPR_OP_SET.has(op);
}

/** Operand count and attr names (sorted) of each expression op, read off its OpDef. */
export const EXPR_SIGNATURES: Readonly<Record<ExprOp, { readonly arity: 1 | 2; readonly attrs: readonly string[] }>> =
  Object.fromEntries(EXPR_OPS.map((op) => [op, { arity: OPS[op].arity as 1 | 2, attrs: Object.keys(OPS[op].attrs).sort() }])) as Record<ExprOp, { arity: 1 | 2; attrs: string[] }>;

/** The op computing `op` followed by a bias and an activation (OpDef.fusedForm), if any. */
export function fusedFormOf(op: OpName): FusedOp | undefined {
  return (OPS[op] as OpDef).fusedForm;
}

/** `op` as a fused activation (OpDef.fusedActivation), if it is one. */
export function fusedActivationOf(op: OpName): FusedActivation | undefined {
  return (OPS[op] as OpDef).fusedActivation;
}

/** Whether `op` is a control-flow op (has regions: OpDef.regions). */
export function hasRegions(op: OpName): boolean {
  return ((OPS[op] as OpDef).regions?.length ?? 0) > 0;
}

/** Infers output types, turning inference failures into located GcErrors. */
export function inferTypes(op: OpName, ins: readonly TensorType[], attrs: Attrs, loc?: SourceLoc, regions: readonly RegionType[] = []): TensorType[] {
  const d = OPS[op] as OpDef;
  const [lo, hi] = typeof d.arity === 'number' ? [d.arity, d.arity] : d.arity;
  if (ins.length < lo || ins.length > hi) {
    throw new GcError({ code: Codes.attr, message: `${op}: expected ${lo === hi ? lo : `${lo}..${hi}`} operands, got ${ins.length}`, loc });
  }
  const roles = d.regions ?? [];
  if (regions.length !== roles.length) {
    throw new GcError({ code: Codes.attr, message: `${op}: expected ${roles.length} region${roles.length === 1 ? '' : 's'}${roles.length ? ` (${roles.join(', ')})` : ''}, got ${regions.length}`, loc });
  }
  for (const name in d.attrs) {
    const kind = d.attrs[name]!;
    const v = attrs[name];
    if (v === undefined && d.optional?.includes(name)) continue;
    if (v === undefined) throw new GcError({ code: Codes.attr, message: `${op}: missing attr '${name}' (${kind})`, loc });
    if (kind === 'dtype' && !isDType(v)) throw new GcError({ code: Codes.attr, message: `${op}: attr '${name}' is not a dtype: ${String(v)}`, loc });
  }
  try {
    return d.infer(ins, new AttrReader(op, attrs), regions);
  } catch (e) {
    if (e instanceof InferError) {
      throw new GcError({ code: e.code, message: e.message, loc, help: e.help,
        notes: [`operands: ${ins.map((x) => `${x.dtype}${shapeToString(x.shape)}`).join(', ') || '(none)'}`] });
    }
    throw e;
  }
}

export { sym };
