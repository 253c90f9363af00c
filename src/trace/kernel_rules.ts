/**
 * The trace table: one rule per tfjs kernel, mapping the kernel's inputs and tfjs attrs
 * onto IR nodes. Rules normalize tfjs's loose attrs (a number or an array, negative axes,
 * -1 sizes, masks) into the IR's explicit attrs, and insert casts where the IR needs
 * equal operand dtypes or where tfjs's kernel changes the dtype (Exp, Mean, FloorDiv…).
 * The value(s) a rule returns have exactly the dtype and shape tfjs's own kernel gives.
 *
 * A kernel without an entry is reported by the tracing backend as unsupported.
 */
import {
  Abs, Acos, Acosh, Add, AddN, All, Any, ArgMax, ArgMin, Asin, Asinh, Atan, Atan2, Atanh,
  AvgPool, AvgPool3D, AvgPoolGrad, BatchMatMul, BatchToSpaceND, BroadcastTo, Cast, Ceil, CropAndResize, ClipByValue, Concat, Conv2D, Conv3D,
  Conv2DBackpropFilter, Conv2DBackpropInput, Cos, Cosh, Cumprod, Cumsum, DepthToSpace,
  DepthwiseConv2dNative, DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput, Diag,
  Einsum, Elu, EluGrad, Equal, Erf, Exp, ExpandDims, Expm1, Fill, FlipLeftRight, Floor, FloorDiv,
  FusedBatchNorm, FusedConv2D, FusedDepthwiseConv2D, GatherNd, GatherV2, Greater, GreaterEqual,
  Identity, IsFinite, IsInf, IsNan, LeakyRelu, Less, LessEqual, LinSpace, Log, Log1p, LogicalAnd,
  LogicalNot, LogicalOr, LogicalXor, LogSoftmax, LRN, LRNGrad, Max, Maximum, MaxPool, MaxPoolGrad, Mean, Min,
  MaxPool3D, Minimum, MirrorPad, Mod, Multinomial, Multiply, Neg, NotEqual, OneHot, OnesLike, Pack, PadV2, Pow, Prelu,
  Prod, Range, RealDiv, Reciprocal, Relu, Relu6, Reshape, ResizeBilinear, ResizeBilinearGrad, ResizeNearestNeighbor,
  ResizeNearestNeighborGrad, Reverse, Round, Rsqrt, ScatterNd, SearchSorted, Select,
  Selu, Sigmoid, Sign, Sin, Sinh, Slice, Softmax, Softplus, SpaceToBatchND, SplitV, Sqrt, Square, SquaredDifference,
  Step, StridedSlice, Sub, Sum, Tan, Tanh, TensorScatterUpdate, Tile, TopK, Transpose, Unpack, UnsortedSegmentSum, ZerosLike,
  _FusedMatMul,
  backend_util, slice_util, util,
} from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import { nextFloat32 } from './random.js';
import type { DType } from '../../ir/dtype.js';
import { isDType, upcast } from '../../ir/dtype.js';
import type { Dim } from '../../ir/dim.js';
import { isStaticShape, shapeToString } from '../../ir/dim.js';
import type { Value } from '../../ir/graph.js';
import type { Attrs, OpName } from '../../ir/ops.js';
import { isFusedActivation } from '../../ir/ops.js';
import { tensorData } from '../../ir/tensor_data.js';
import type { TensorData } from '../../ir/tensor_data.js';
import type { KernelRule, TraceCtx } from './rule_types.js';

type Inputs = Parameters<KernelRule>[1];
type KAttrs = Record<string, unknown>;

// ---- reading inputs and attrs ---------------------------------------------------------

function input(ctx: TraceCtx, ins: Inputs, name: string): Value {
  const v = ins[name];
  if (v === undefined || Array.isArray(v)) return ctx.unsupported(`${ctx.kernel}: expected a tensor input '${name}'`);
  return v;
}

function optInput(ins: Inputs, name: string): Value | undefined {
  const v = ins[name];
  return v === undefined || Array.isArray(v) ? undefined : v;
}

/** The operands of a variadic kernel (Concat, Pack, AddN): an array under any name, or numbered keys. */
function listInput(ctx: TraceCtx, ins: Inputs): Value[] {
  for (const v of Object.values(ins)) if (Array.isArray(v)) return v;
  const keys = Object.keys(ins).filter((k) => /^\d+$/.test(k)).sort((a, b) => Number(a) - Number(b));
  const vs = keys.map((k) => ins[k]).filter((v): v is Value => v !== undefined && !Array.isArray(v));
  if (vs.length === 0) return ctx.unsupported(`${ctx.kernel}: no operands`);
  return vs;
}

/** Concrete shape of a value: tfjs computes shapes concretely, so a single trace has them. */
function dimsOf(ctx: TraceCtx, v: Value): number[] {
  if (!isStaticShape(v.shape)) {
    return ctx.unsupported(`${ctx.kernel}: needs a concrete shape, got ${shapeToString(v.shape)}`,
      'trace with concrete input shapes');
  }
  return [...v.shape];
}

function num(ctx: TraceCtx, attrs: KAttrs, name: string, dflt?: number): number {
  const v = attrs[name];
  if (v === undefined || v === null) {
    if (dflt !== undefined) return dflt;
    return ctx.unsupported(`${ctx.kernel}: missing attr '${name}'`);
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'number') return ctx.unsupported(`${ctx.kernel}: attr '${name}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function flag(attrs: KAttrs, name: string): boolean {
  return attrs[name] === true;
}

function numList(ctx: TraceCtx, attrs: KAttrs, name: string): number[] {
  const v = attrs[name];
  if (typeof v === 'number') return [v];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) {
    return ctx.unsupported(`${ctx.kernel}: attr '${name}' must be a list of numbers, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

/** A tfjs `[h, w] | number` attr as an [h, w] pair. */
function pair(ctx: TraceCtx, attrs: KAttrs, name: string, dflt?: number): [number, number] {
  const v = attrs[name] ?? dflt;
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0] as number, v[1] as number];
  return ctx.unsupported(`${ctx.kernel}: attr '${name}' must be a number or an [h, w] pair, got ${JSON.stringify(v)}`);
}

/**
 * tfjs's `axis` params (a number, an array, or null for every axis; negative counts from
 * the end) as sorted, distinct, non-negative axes.
 */
function axesOf(ctx: TraceCtx, axis: unknown, rank: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axis === 'number' ? [axis] : Array.isArray(axis) ? axis : undefined;
  if (list === undefined || !list.every((a) => typeof a === 'number' && Number.isInteger(a))) {
    return ctx.unsupported(`${ctx.kernel}: axis must be an integer or a list of integers, got ${JSON.stringify(axis)}`);
  }
  const out = new Set<number>();
  for (const a of list as number[]) {
    const n = a < 0 ? a + rank : a;
    if (n < 0 || n >= rank) return ctx.unsupported(`${ctx.kernel}: axis ${a} is out of range for rank ${rank}`);
    out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

function oneAxis(ctx: TraceCtx, axis: unknown, rank: number): number {
  const a = axesOf(ctx, axis ?? 0, rank);
  if (a.length !== 1) return ctx.unsupported(`${ctx.kernel}: expected a single axis, got ${JSON.stringify(axis)}`);
  return a[0]!;
}

/** tfjs dtypes the IR has; complex64 and string are not traced. */
function irDType(ctx: TraceCtx, d: unknown, what = 'dtype'): DType {
  if (isDType(d) && d !== 'int64') return d;
  return ctx.unsupported(`${ctx.kernel}: ${what} '${String(d)}' is not supported`, 'graphc traces float32, int32 and bool tensors');
}

/** A shape stub that tfjs's shape helpers (slice_util, split_util) accept. */
function info(shape: number[]): TensorInfo {
  return { dataId: {}, shape, dtype: 'float32' };
}

// ---- emitting helpers ---------------------------------------------------------------------

function castTo(ctx: TraceCtx, v: Value, dtype: DType): Value {
  return v.dtype === dtype ? v : ctx.emit('cast', [v], { dtype });
}

function f32(ctx: TraceCtx, v: Value): Value {
  return castTo(ctx, v, 'float32');
}

function reshapeTo(ctx: TraceCtx, v: Value, shape: number[]): Value {
  return ctx.emit('reshape', [v], { shape });
}

function sameShape(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Casts both operands to their common (tfjs-upcast) dtype. */
function matchTypes(ctx: TraceCtx, a: Value, b: Value): [Value, Value] {
  const d = upcast(a.dtype, b.dtype);
  return [castTo(ctx, a, d), castTo(ctx, b, d)];
}

// ---- rule families ---------------------------------------------------------------------------

const unary = (op: OpName, attrs?: (ctx: TraceCtx, a: KAttrs) => Attrs): KernelRule =>
  (ctx, ins, a) => ctx.emit(op, [input(ctx, ins, 'x')], attrs ? attrs(ctx, a) : {});

/** A unary kernel whose tfjs implementation always yields `dtype` (Exp: float32). */
const unaryAs = (op: OpName, dtype: DType): KernelRule =>
  (ctx, ins) => ctx.emit(op, [castTo(ctx, input(ctx, ins, 'x'), dtype)]);

/** A unary kernel on booleans (LogicalNot). */
const unaryBool = (op: OpName): KernelRule => unaryAs(op, 'bool');

const binary = (op: OpName, names: [string, string] = ['a', 'b']): KernelRule => (ctx, ins) => {
  const [a, b] = matchTypes(ctx, input(ctx, ins, names[0]), input(ctx, ins, names[1]));
  return ctx.emit(op, [a, b]);
};

const logical = (op: OpName): KernelRule => (ctx, ins) =>
  ctx.emit(op, [castTo(ctx, input(ctx, ins, 'a'), 'bool'), castTo(ctx, input(ctx, ins, 'b'), 'bool')]);

type ReduceOp = 'reduce_sum' | 'reduce_mean' | 'reduce_max' | 'reduce_min' | 'reduce_prod' | 'reduce_all' | 'reduce_any';

/**
 * Reductions. `inDType` gives the dtype tfjs computes in: Sum/Prod upcast bool to int32,
 * Mean computes in float32, All/Any take bool. Reducing no axes is a (typed) identity.
 */
function reduction(op: ReduceOp, axisAttr: string, inDType: (d: DType) => DType): KernelRule {
  return (ctx, ins, a) => {
    const x0 = input(ctx, ins, 'x');
    const x = castTo(ctx, x0, inDType(x0.dtype));
    const axes = axesOf(ctx, a[axisAttr], x.shape.length);
    if (axes.length === 0) return x === x0 ? ctx.emit('identity', [x]) : x;
    return ctx.emit(op, [x], { axes, keep_dims: flag(a, 'keepDims') });
  };
}
const intUp = (d: DType): DType => (d === 'bool' ? 'int32' : d);

const argReduce = (op: 'argmax' | 'argmin'): KernelRule => (ctx, ins, a) => {
  const x = input(ctx, ins, 'x');
  return ctx.emit(op, [x], { axis: oneAxis(ctx, a['axis'], x.shape.length) });
};

// ---- convolution and pooling attrs ------------------------------------------------------------

interface WindowAttrs {
  padding: 'same' | 'valid' | 'explicit';
  pads: number[];
}

/**
 * tfjs `pad`: 'same' | 'valid' | a number (p on every side) | explicit NHWC
 * [[0,0],[t,b],[l,r],[0,0]] → IR {padding, pads: [t,b,l,r]}.
 */
function windowPadding(ctx: TraceCtx, pad: unknown): WindowAttrs {
  if (pad === 'same' || pad === 'valid') return { padding: pad, pads: [0, 0, 0, 0] };
  if (typeof pad === 'number') return { padding: 'explicit', pads: [pad, pad, pad, pad] };
  if (Array.isArray(pad) && pad.length === 4 && pad.every((p) => Array.isArray(p) && p.length === 2)) {
    const [n, h, w, c] = pad as [number, number][];
    if (n![0] !== 0 || n![1] !== 0 || c![0] !== 0 || c![1] !== 0) {
      return ctx.unsupported(`${ctx.kernel}: explicit padding of the batch or channel dims ${JSON.stringify(pad)}`);
    }
    return { padding: 'explicit', pads: [h![0], h![1], w![0], w![1]] };
  }
  return ctx.unsupported(`${ctx.kernel}: padding ${JSON.stringify(pad)}`, "use 'same', 'valid', a number or [[0,0],[t,b],[l,r],[0,0]]");
}

function requireNHWC(ctx: TraceCtx, a: KAttrs): void {
  const f = a['dataFormat'];
  if (f !== undefined && f !== 'NHWC' && f !== 'channelsLast') {
    ctx.unsupported(`${ctx.kernel}: data format ${String(f)}`, 'graphc traces NHWC convolutions; transpose the input to NHWC');
  }
}

/**
 * With a numeric pad, tfjs rounds the output size by `dimRoundingMode`; the IR floors.
 * A mode that would change the size is unsupported.
 */
function checkRounding(ctx: TraceCtx, a: KAttrs, x: Value, effK: [number, number], strides: [number, number]): void {
  const mode = a['dimRoundingMode'];
  const pad = a['pad'];
  if (mode === undefined || mode === null || mode === 'floor' || typeof pad !== 'number') return;
  const s = dimsOf(ctx, x);
  for (const i of [0, 1]) {
    const r = (s[1 + i]! - effK[i]! + 2 * pad) / strides[i]! + 1;
    const rounded = mode === 'ceil' ? Math.ceil(r) : mode === 'round' ? Math.round(r) : Math.floor(r);
    if (rounded !== Math.floor(r)) {
      ctx.unsupported(`${ctx.kernel}: dimRoundingMode '${String(mode)}' changes the output size`, "use explicit padding or dimRoundingMode 'floor'");
    }
  }
}

function convAttrs(ctx: TraceCtx, a: KAttrs, x: Value | undefined, filterHW: [number, number] | undefined): Attrs {
  requireNHWC(ctx, a);
  const strides = pair(ctx, a, 'strides', 1);
  const dilations = pair(ctx, a, 'dilations', 1);
  if (x !== undefined && filterHW !== undefined) {
    checkRounding(ctx, a, x, [(filterHW[0] - 1) * dilations[0] + 1, (filterHW[1] - 1) * dilations[1] + 1], strides);
  }
  const { padding, pads } = windowPadding(ctx, a['pad']);
  return { strides, padding, pads, dilations };
}

function filterHW(ctx: TraceCtx, f: Value): [number, number] {
  const s = dimsOf(ctx, f);
  return [s[0]!, s[1]!];
}

function poolAttrs(ctx: TraceCtx, a: KAttrs, x: Value): Attrs {
  const filter = pair(ctx, a, 'filterSize');
  const strides = pair(ctx, a, 'strides', 1);
  checkRounding(ctx, a, x, filter, strides);
  const { padding, pads } = windowPadding(ctx, a['pad']);
  return { filter_size: filter, strides, padding, pads };
}

/** Operands and attrs shared by _FusedMatMul, FusedConv2D and FusedDepthwiseConv2D. */
function fusedTail(ctx: TraceCtx, ins: Inputs, a: KAttrs, dtype: DType): { extra: Value[]; attrs: Attrs } {
  const activation = typeof a['activation'] === 'string' ? a['activation'] : 'linear';
  if (!isFusedActivation(activation)) return ctx.unsupported(`${ctx.kernel}: fused activation '${activation}'`);
  const bias = optInput(ins, 'bias');
  const extra: Value[] = [];
  if (bias !== undefined) extra.push(castTo(ctx, bias, dtype));
  if (activation === 'prelu') {
    const w = optInput(ins, 'preluActivationWeights');
    if (w === undefined) return ctx.unsupported(`${ctx.kernel}: prelu activation without preluActivationWeights`);
    extra.push(castTo(ctx, w, dtype));
  }
  return { extra, attrs: { has_bias: bias !== undefined, activation, alpha: num(ctx, a, 'leakyreluAlpha', 0.2) } };
}

const fusedConv = (op: 'fused_conv2d' | 'fused_depthwise_conv2d'): KernelRule => (ctx, ins, a) => {
  const [x, f] = matchTypes(ctx, input(ctx, ins, 'x'), input(ctx, ins, 'filter'));
  const { extra, attrs } = fusedTail(ctx, ins, a, x.dtype);
  return ctx.emit(op, [x, f, ...extra], { ...convAttrs(ctx, a, x, filterHW(ctx, f)), ...attrs });
};

// ---- lowerings ------------------------------------------------------------------------------

/**
 * Cumprod has no IR op (nor an ONNX one): out[..i..] = ∏_j x[..j..] over the j that a
 * triangular mask selects along the axis (j ≤ i; j < i exclusive; j ≥ i / j > i reversed).
 */
const cumprod: KernelRule = (ctx, ins, a) => {
  const x0 = input(ctx, ins, 'x');
  const x = castTo(ctx, x0, intUp(x0.dtype));
  const shape = dimsOf(ctx, x);
  const axis = oneAxis(ctx, a['axis'], shape.length);
  const n = shape[axis]!;
  const exclusive = flag(a, 'exclusive'), reverse = flag(a, 'reverse');
  const mask: boolean[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      mask.push(reverse ? (exclusive ? j > i : j >= i) : (exclusive ? j < i : j <= i));
    }
  }
  const trailing = shape.length - axis - 1;
  const m = ctx.constant(tensorData('bool', [n, n, ...new Array<number>(trailing).fill(1)], mask));
  const xj = reshapeTo(ctx, x, [...shape.slice(0, axis), 1, ...shape.slice(axis)]);
  const picked = ctx.emit('select', [m, xj, ctx.scalar(1, x.dtype)]);
  return ctx.emit('reduce_prod', [picked], { axes: [axis + 1], keep_dims: false });
};

/**
 * Row-major flat index into the first K dims of `shape` from `indices[..., K]`
 * (GatherNd, ScatterNd).
 */
function flatIndex(ctx: TraceCtx, indices: Value, shape: number[]): { flat: Value; k: number; outer: number } {
  const idxShape = dimsOf(ctx, indices);
  const k = idxShape[idxShape.length - 1];
  if (k === undefined || k > shape.length) return ctx.unsupported(`${ctx.kernel}: indices of shape [${idxShape.join(',')}] for shape [${shape.join(',')}]`);
  const strides: number[] = [];
  let s = 1;
  for (let i = k - 1; i >= 0; i--) { strides[i] = s; s *= shape[i]!; }
  const idx = castTo(ctx, indices, 'int32');
  const weighted = ctx.emit('mul', [idx, ctx.constant(tensorData('int32', [k], strides))]);
  return { flat: ctx.emit('reduce_sum', [weighted], { axes: [idxShape.length - 1], keep_dims: false }), k, outer: s };
}

const gatherNd: KernelRule = (ctx, ins) => {
  const params = input(ctx, ins, 'params');
  const pShape = dimsOf(ctx, params);
  const { flat, k, outer } = flatIndex(ctx, input(ctx, ins, 'indices'), pShape);
  const p = reshapeTo(ctx, params, [outer, ...pShape.slice(k)]);
  return ctx.emit('gather', [p, flat], { axis: 0, batch_dims: 0 });
};

const scatterNd: KernelRule = (ctx, ins, a) => {
  const shape = numList(ctx, a, 'shape');
  const { flat, outer } = flatIndex(ctx, input(ctx, ins, 'indices'), shape);
  const summed = ctx.emit('unsorted_segment_sum', [input(ctx, ins, 'updates'), flat], { num_segments: outer });
  return reshapeTo(ctx, summed, shape);
};

/**
 * TensorScatterUpdate as tfjs's cpu kernel writes it: the tensor with the rows that `indices`
 * name replaced by `updates`, in order, so that of two updates of one row the later wins. Per
 * update, whether a later one writes its row (pairwise over the updates: up to 4096); per row,
 * the number (1-based) of the update that stays, summed over the updates (0: none); the result
 * gathers that update, or keeps the tensor's row. Values are moved, never added: −0 and NaN
 * payloads arrive as written.
 */
const tensorScatterUpdate: KernelRule = (ctx, ins) => {
  const tensor = input(ctx, ins, 'tensor');
  const updates = input(ctx, ins, 'updates');
  const shape = dimsOf(ctx, tensor);
  const idxShape = dimsOf(ctx, input(ctx, ins, 'indices'));
  const { flat, k, outer } = flatIndex(ctx, input(ctx, ins, 'indices'), shape);
  const n = idxShape.slice(0, -1).reduce((p, q) => p * q, 1);
  const slice = shape.slice(k);
  const uShape = dimsOf(ctx, updates);
  if (uShape.reduce((p, q) => p * q, 1) !== n * slice.reduce((p, q) => p * q, 1)) {
    return ctx.unsupported(`${ctx.kernel}: updates of shape [${uShape.join(',')}] for ${n} rows of [${slice.join(',')}]`, 'pass updates of shape indices.shape[:-1] + tensor.shape[k:]');
  }
  if (n === 0 || shape.includes(0)) return ctx.emit('identity', [tensor]);
  if (n > 4096) return ctx.unsupported(`${ctx.kernel}: ${n} updates (later duplicates are found pairwise: ${n}×${n} comparisons)`, 'scatter at most 4096 rows per call');
  const rows = reshapeTo(ctx, flat, [n]);
  const later = new Uint8Array(n * n);                                     // [i, j]: j > i
  for (let i = 0; i < n; i++) later.fill(1, i * n + i + 1, (i + 1) * n);
  const same = ctx.emit('equal', [reshapeTo(ctx, rows, [n, 1]), reshapeTo(ctx, rows, [1, n])]);
  const superseded = ctx.emit('reduce_any', [ctx.emit('logical_and', [same, ctx.constant(tensorData('bool', [n, n], later))])], { axes: [1], keep_dims: false });
  const number = ctx.constant(tensorData('int32', [n], Array.from({ length: n }, (_, i) => i + 1)));
  const kept = ctx.emit('select', [superseded, ctx.scalar(0, 'int32'), number]);
  const winner = ctx.emit('unsorted_segment_sum', [kept, rows], { num_segments: outer }); // [outer]
  const index = ctx.emit('maximum', [ctx.emit('sub', [winner, ctx.scalar(1, 'int32')]), ctx.scalar(0, 'int32')]);
  const picked = ctx.emit('gather', [reshapeTo(ctx, updates, [n, ...slice]), index], { axis: 0, batch_dims: 0 });
  const written = reshapeTo(ctx, ctx.emit('greater', [winner, ctx.scalar(0, 'int32')]), [outer, ...slice.map(() => 1)]);
  return reshapeTo(ctx, ctx.emit('select', [written, picked, reshapeTo(ctx, tensor, [outer, ...slice])]), shape);
};

/** MirrorPad: per padded axis, concat(reverse(slice), x, reverse(slice)). */
const mirrorPad: KernelRule = (ctx, ins, a) => {
  let x = input(ctx, ins, 'x');
  const paddings = a['paddings'] as [number, number][];
  const offset = a['mode'] === 'reflect' ? 1 : 0;
  paddings.forEach(([before, after], axis) => {
    if (before === 0 && after === 0) return;
    const s = dimsOf(ctx, x);
    const part = (start: number, len: number): Value => {
      const begin = s.map((_, i) => (i === axis ? start : 0));
      const size = s.map((d, i) => (i === axis ? len : d));
      return ctx.emit('reverse', [ctx.emit('slice', [x], { begin, size })], { axes: [axis] });
    };
    const parts: Value[] = [];
    if (before > 0) parts.push(part(offset, before));
    parts.push(x);
    if (after > 0) parts.push(part(s[axis]! - after - offset, after));
    x = ctx.emit('concat', parts, { axis });
  });
  return paddings.every(([b, e]) => b === 0 && e === 0) ? ctx.emit('identity', [x]) : x;
};

/**
 * Einsum as tfjs's cpu kernel computes it, with tfjs's own planner (backend_util's einsum
 * helpers): per step of the compute path, each operand transposed to the equation's dim order
 * and reshaped with size-1 axes for the dims it lacks, multiplied into the running product, then
 * the step's summed dim reduced. The same ops in the same order: the same float32 roundings.
 */
const einsum: KernelRule = (ctx, ins, a) => {
  const xs = listInput(ctx, ins);
  const equation = a['equation'];
  if (typeof equation !== 'string') return ctx.unsupported(`${ctx.kernel}: equation ${JSON.stringify(equation)}`);
  const { allDims, summedDims, idDims } = backend_util.decodeEinsumEquation(equation, xs.length);
  backend_util.checkEinsumDimSizes(allDims.length, idDims, xs.map((x) => ({ shape: dimsOf(ctx, x) })) as unknown as Parameters<typeof backend_util.checkEinsumDimSizes>[2]);
  const { path, steps } = backend_util.getEinsumComputePath(summedDims, idDims);
  let out: Value | undefined;
  let remaining = allDims.length;
  steps.forEach((step, i) => {
    for (const term of step) {
      const { permutationIndices: perm, expandDims } = backend_util.getEinsumPermutation(remaining, idDims[term]!);
      let x = xs[term]!;
      if (!backend_util.isIdentityPermutation(perm)) x = ctx.emit('transpose', [x], { perm });
      const target = dimsOf(ctx, x);
      for (const d of expandDims) target.splice(d, 0, 1);
      if (target.length !== x.shape.length) x = reshapeTo(ctx, x, target);
      if (out === undefined) out = x;
      else if (x.dtype === out.dtype) out = ctx.emit('mul', [x, out]);
      else {
        // tfjs-cpu's multiply writes the product into an array of its first operand's dtype:
        // an int32 term times a float32 product is truncated to int32, a float32 one is float32.
        const d = upcast(x.dtype, out.dtype);
        out = castTo(ctx, ctx.emit('mul', [castTo(ctx, x, d), castTo(ctx, out, d)]), x.dtype);
      }
    }
    if (i < steps.length - 1) {
      if (path[i]! >= 0) out = ctx.emit('reduce_sum', [out!], { axes: [path[i]! - (allDims.length - remaining)], keep_dims: false });
      remaining--;
    }
  });
  return out === undefined ? ctx.unsupported(`${ctx.kernel}: no operands`) : out;
};

/**
 * TopK (sorted) along the last axis, as tfjs orders it (larger values first, ties to the lower
 * index): each element's rank is the number of elements that beat it, pairwise over the axis;
 * output slot s takes the element of rank s. Quadratic in the axis size: up to 4096.
 */
const topK: KernelRule = (ctx, ins, a) => {
  const x = input(ctx, ins, 'x');
  const k = num(ctx, a, 'k');
  if (a['sorted'] === false) return ctx.unsupported(`${ctx.kernel}: sorted = false (tfjs leaves the k values in its selection algorithm's order)`, 'use tf.topk(x, k) with sorted true (the default)');
  const shape = x.shape;
  const r = shape.length;
  const n = shape[r - 1];
  if (r === 0 || typeof n !== 'number') return ctx.unsupported(`${ctx.kernel}: needs a last axis of static size, got ${shapeToString(shape)}`);
  if (n > 4096) return ctx.unsupported(`${ctx.kernel}: an axis of ${n} elements (ranked pairwise: ${n}×${n} comparisons per row)`, 'take the top k outside the compiled function, or of at most 4096 elements');
  if (!Number.isInteger(k) || k < 0 || k > n) return ctx.unsupported(`${ctx.kernel}: k = ${k} for an axis of ${n}`);
  const lead = shape.slice(0, -1);
  if (k === 0) {
    const empty = ctx.emit('slice', [x], { begin: shape.map(() => 0), size: [...dimsOf(ctx, x).slice(0, -1), 0] });
    return [empty, ctx.emit('cast', [empty], { dtype: 'int32' })];
  }
  const xi = ctx.emit('reshape', [x], { shape: [...lead, n, 1] });       // element i
  const xj = ctx.emit('reshape', [x], { shape: [...lead, 1, n] });       // element j
  const before = new Uint8Array(n * n);                                   // j < i
  for (let i = 0; i < n; i++) before.fill(1, i * n, i * n + i);
  const beats = ctx.emit('logical_or', [ctx.emit('greater', [xj, xi]),
    ctx.emit('logical_and', [ctx.emit('equal', [xj, xi]), ctx.constant(tensorData('bool', [n, n], before))])]);
  const rank = ctx.emit('reduce_sum', [ctx.emit('cast', [beats], { dtype: 'int32' })], { axes: [r], keep_dims: false }); // [..., n]
  const pick = ctx.emit('equal', [ctx.emit('reshape', [rank], { shape: [...lead, 1, n] }),
    ctx.constant(tensorData('int32', [k, 1], Array.from({ length: k }, (_, i) => i)))]);                 // [..., k, n]
  // Both branches of the select have xj's shape, and the indices are a product: a select whose
  // branch broadcasts a dim of 1 against an empty batch keeps the 1, as tf.where does (fuzz seed
  // 801334: the indices of a [0, 1] batch came out [1, 1]).
  const values = ctx.emit('reduce_sum', [ctx.emit('select', [pick, xj, ctx.emit('zeros_like', [xj])])], { axes: [r], keep_dims: false });
  const iota = ctx.constant(tensorData('int32', [n], Array.from({ length: n }, (_, i) => i)));
  const indices = ctx.emit('reduce_sum', [ctx.emit('mul', [ctx.emit('cast', [pick], { dtype: 'int32' }), iota])], { axes: [r], keep_dims: false });
  return [values, indices];
};

/** The float32 at or below a float64 (rounding toward −∞): for a float32 c, `floor32(r) < c` exactly when `r < c`. */
function floor32(r: number): number {
  const f = Math.fround(r);
  return f <= r ? f : nextFloat32(f, -1);
}

/**
 * Multinomial as tfjs's cpu kernel draws it: per row the probabilities (softmax of the logits
 * unless normalized), their running sum over all events but the last (float32, in order), and
 * per sample a uniform r; the sample is the first event whose running sum exceeds r, else the
 * last — here argmax over [r < cdf…, 1]. tfjs restarts its generator for every row, so every
 * row takes the same draws: r has one value per sample. A seed the user gave draws the same r
 * on every eager call: they are constants here (alea's float64 values rounded down to float32,
 * which compare with the float32 sums exactly as the float64 values do). An unseeded draw
 * (tfjs seeds it with Math.random) is a random_uniform: fresh values every run.
 */
const multinomial: KernelRule = (ctx, ins, a) => {
  const logits = input(ctx, ins, 'logits');
  const n = num(ctx, a, 'numSamples');
  const seed = num(ctx, a, 'seed');
  if (logits.shape.length !== 2) return ctx.unsupported(`${ctx.kernel}: logits must be rank 2, got ${shapeToString(logits.shape)}`);
  if (!Number.isSafeInteger(n) || n < 0) return ctx.unsupported(`${ctx.kernel}: numSamples = ${n}`, 'numSamples is a whole number ≥ 0');
  const [b, k] = logits.shape as [Dim, Dim];
  if (typeof k !== 'number') return ctx.unsupported(`${ctx.kernel}: needs a static number of events (the last axis), got ${shapeToString(logits.shape)}`, 'give the logits a static last axis in gc.spec');
  const fresh = ctx.unseeded(seed);
  if (k <= 1 || n === 0) return ctx.emit('fill', [], { shape: [b, n], value: 0, dtype: 'int32' });
  const x = logits.dtype === 'float32' ? logits : ctx.emit('cast', [logits], { dtype: 'float32' });
  const probs = a['normalized'] === true ? x : ctx.emit('softmax', [x], { axis: 1 });
  const head = ctx.emit('slice', [probs], { begin: [0, 0], size: [b, k - 1] });
  const cdf = ctx.emit('reshape', [ctx.emit('cumsum', [head], { axis: 1, exclusive: false, reverse: false })], { shape: [b, 1, k - 1] });
  let r: Value;
  if (fresh) {
    r = ctx.emit('random_uniform', [], { shape: [1, n, 1], min: 0, max: 1, dtype: 'float32', seed: -1 });
  } else {
    const rng = seedrandom.alea(String(seed));
    r = ctx.constant(tensorData('float32', [1, n, 1], Array.from({ length: n }, () => floor32(rng()))));
  }
  const below = ctx.emit('cast', [ctx.emit('less', [r, cdf])], { dtype: 'float32' }); // [b, n, k-1]
  return ctx.emit('argmax', [ctx.emit('pad', [below], { paddings: [0, 0, 0, 0, 0, 1], value: 1 })], { axis: 2 });
};

// ---- image resizing: gathers and lerps (forward), matmuls with interpolation matrices (gradients)

/** tfjs's scale for one axis of a resize: effective input size / effective output size. */
function resizeScale(inSize: number, outSize: number, alignCorners: boolean): number {
  return (alignCorners && outSize > 1 ? inSize - 1 : inSize) / (alignCorners && outSize > 1 ? outSize - 1 : outSize);
}

/** The images of a resize kernel: rank 4 (NHWC) with static height and width. */
function resizeImages(ctx: TraceCtx, ins: Inputs): { x: Value; h: number; w: number } {
  const x = input(ctx, ins, 'images');
  if (x.shape.length !== 4) return ctx.unsupported(`${ctx.kernel}: images must be rank 4 (NHWC), got ${shapeToString(x.shape)}`);
  const [, h, w] = dimsOf(ctx, x) as [number, number, number, number];
  return { x, h, w };
}

const intConst = (ctx: TraceCtx, xs: number[]): Value => ctx.constant(tensorData('int32', [xs.length], xs));

/**
 * ResizeBilinear as tfjs's cpu kernel computes it: per output row the rows floor/ceil of its
 * source position, per column likewise, then top = tl + (tr − tl)·colFrac, bottom alike,
 * out = top + (bottom − top)·rowFrac. The positions (alignCorners, halfPixelCenters) are
 * computed here as tfjs computes them; the lerps run in float32 (tfjs-cpu rounds once, from
 * float64: the two differ in the last bit at most per step).
 */
const resizeBilinear: KernelRule = (ctx, ins, a) => {
  const { x: images, h, w } = resizeImages(ctx, ins);
  const [nh, nw] = numList(ctx, a, 'size') as [number, number];
  const align = flag(a, 'alignCorners'), half = flag(a, 'halfPixelCenters');
  const axis = (inSize: number, outSize: number) => {
    const scale = resizeScale(inSize, outSize, align);
    const lo: number[] = [], hi: number[] = [], frac: number[] = [];
    for (let r = 0; r < outSize; r++) {
      const src = half ? scale * (r + 0.5) - 0.5 : scale * r;
      const floor = Math.max(0, Math.floor(src));
      lo.push(floor);
      hi.push(Math.min(inSize - 1, Math.ceil(src)));
      frac.push(src - floor);
    }
    return { lo, hi, frac };
  };
  const rows = axis(h, nh), cols = axis(w, nw);
  const x = castTo(ctx, images, 'float32');
  const top = ctx.emit('gather', [x, intConst(ctx, rows.lo)], { axis: 1, batch_dims: 0 });
  const bottom = ctx.emit('gather', [x, intConst(ctx, rows.hi)], { axis: 1, batch_dims: 0 });
  const colFrac = ctx.constant(tensorData('float32', [1, 1, nw, 1], cols.frac));
  const rowFrac = ctx.constant(tensorData('float32', [1, nh, 1, 1], rows.frac));
  const lerp = (p: Value, q: Value, f: Value) => ctx.emit('add', [p, ctx.emit('mul', [ctx.emit('sub', [q, p]), f])]);
  const across = (r: Value) => lerp(
    ctx.emit('gather', [r, intConst(ctx, cols.lo)], { axis: 2, batch_dims: 0 }),
    ctx.emit('gather', [r, intConst(ctx, cols.hi)], { axis: 2, batch_dims: 0 }), colFrac);
  return lerp(across(top), across(bottom), rowFrac);
};

/** ResizeNearestNeighbor as tfjs's cpu kernel picks the source pixel: two gathers. */
const resizeNearestNeighbor: KernelRule = (ctx, ins, a) => {
  const { x, h, w } = resizeImages(ctx, ins);
  const [nh, nw] = numList(ctx, a, 'size') as [number, number];
  const align = flag(a, 'alignCorners'), half = flag(a, 'halfPixelCenters');
  const nearest = (inSize: number, outSize: number) => {
    const scale = resizeScale(inSize, outSize, align);
    return Array.from({ length: outSize }, (_, r) => {
      const src = half ? scale * (r + 0.5) : scale * r;
      const n = Math.min(inSize - 1, align ? Math.round(src) : Math.floor(src));
      return half ? Math.max(0, n) : n;
    });
  };
  const byRow = ctx.emit('gather', [x, intConst(ctx, nearest(h, nh))], { axis: 1, batch_dims: 0 });
  return ctx.emit('gather', [byRow, intConst(ctx, nearest(w, nw))], { axis: 2, batch_dims: 0 });
};

// ---- 3-D convolution and pooling, as 2-D ones over the depth taps ------------------------------

type Info3D = ReturnType<typeof backend_util.computeConv3DInfo>;

/** A 3-D kernel's input: rank 5 NDHWC (tfjs's only layout for them). */
function input3d(ctx: TraceCtx, ins: Inputs, a: KAttrs): Value {
  const x = input(ctx, ins, 'x');
  const f = a['dataFormat'];
  if (f !== undefined && f !== 'NDHWC' && f !== 'channelsLast') return ctx.unsupported(`${ctx.kernel}: data format ${String(f)}`, 'graphc traces NDHWC 3-D convolutions and pools');
  if (x.shape.length !== 5) return ctx.unsupported(`${ctx.kernel}: x must be rank 5 (NDHWC), got ${shapeToString(x.shape)}`);
  return x;
}

/**
 * The depth taps of a 3-D window, each as a batch of 2-D images [b·outDepth, h, w, c]: x padded
 * along depth (front, back) with `fill`, and per tap t the depths od·strideDepth + t·dilationDepth
 * of every output depth od. Everything runs at rank ≤ 4 (x viewed as [b, d, h·w, c]):
 * tfjs-webgpu's Pad of rank 5 does not compile (WGSL 'vec5').
 */
function depthTaps(ctx: TraceCtx, x: Value, info: Info3D, fill: number): Value[] {
  const { front, back, top, bottom, left, right } = info.padInfo;
  const [b, d, h, w, c] = dimsOf(ctx, x) as [number, number, number, number, number];
  // tfjs's 'same' padding of a 3-D window is negative where the stride exceeds the window (it
  // does not clamp it to 0 as for 2-D): the windows then start inside the input. Negative pads
  // crop; positive ones pad (height and width by the 2-D op, see hwAttrs).
  let v = reshapeTo(ctx, x, [b, d, h * w, c]);
  if (front < 0 || back < 0) {
    const cut0 = Math.max(0, -front), cut1 = Math.max(0, -back);
    v = ctx.emit('slice', [v], { begin: [0, cut0, 0, 0], size: [b, Math.max(0, d - cut0 - cut1), h * w, c] });
  }
  if (front > 0 || back > 0) {
    v = ctx.emit('pad', [v], { paddings: [0, 0, Math.max(0, front), Math.max(0, back), 0, 0, 0, 0], value: fill });
  }
  const od = info.outDepth, sd = info.strideDepth, dd = info.dilationDepth;
  const t0 = Math.max(0, -top), l0 = Math.max(0, -left);
  const hc = Math.max(0, h - t0 - Math.max(0, -bottom)), wc = Math.max(0, w - l0 - Math.max(0, -right));
  const taps: Value[] = [];
  for (let t = 0; t < info.filterDepth; t++) {
    const begin = t * dd;
    const tap = sd === 1
      ? ctx.emit('slice', [v], { begin: [0, begin, 0, 0], size: [b, od, h * w, c] })
      : ctx.emit('strided_slice', [v], { begin: [0, begin, 0, 0], end: [b, begin + (od - 1) * sd + 1, h * w, c], strides: [1, sd, 1, 1] });
    const img = reshapeTo(ctx, tap, [b * od, h, w, c]);
    taps.push(hc !== h || wc !== w ? ctx.emit('slice', [img], { begin: [0, t0, l0, 0], size: [b * od, hc, wc, c] }) : img);
  }
  return taps;
}

/** The 2-D attrs of a 3-D window's height and width: its strides, dilations and explicit pads. */
function hwAttrs(info: Info3D): { strides: number[]; dilations: number[]; padding: string; pads: number[] } {
  const p = info.padInfo;
  const pads = [p.top, p.bottom, p.left, p.right].map((v) => Math.max(0, v));
  return { strides: [info.strideHeight, info.strideWidth], dilations: [info.dilationHeight, info.dilationWidth], padding: 'explicit', pads };
}

/**
 * Conv3D as one conv2d: the depth taps side by side as channels ([b·outDepth, h, w, kd·ci]),
 * the filter [kd, kh, kw, ci, co] as [kh, kw, kd·ci, co]. tfjs-cpu sums the taps in another
 * order (a few ulps apart).
 */
const conv3d: KernelRule = (ctx, ins, a) => {
  const [x, f] = matchTypes(ctx, input3d(ctx, ins, a), input(ctx, ins, 'filter'));
  const xs = dimsOf(ctx, x) as [number, number, number, number, number], fs = dimsOf(ctx, f) as [number, number, number, number, number];
  if (fs.length !== 5) return ctx.unsupported(`${ctx.kernel}: filter must be rank 5, got ${shapeToString(f.shape)}`);
  const pad = a['pad'];
  if (pad !== 'same' && pad !== 'valid') return ctx.unsupported(`${ctx.kernel}: pad ${JSON.stringify(pad)}`, "use 'same' or 'valid'");
  const info = backend_util.computeConv3DInfo(xs, fs, a['strides'] as number | [number, number, number], (a['dilations'] ?? 1) as number | [number, number, number], pad);
  const [kd, kh, kw, ci, co] = fs;
  const { outDepth: od, outHeight: oh, outWidth: ow } = info;
  if (xs.includes(0) || fs.includes(0) || od <= 0 || oh <= 0 || ow <= 0) {
    return ctx.emit('fill', [], { shape: [xs[0], Math.max(0, od), Math.max(0, oh), Math.max(0, ow), co], value: 0, dtype: x.dtype });
  }
  const taps = depthTaps(ctx, x, info, 0);
  const flat = taps.length === 1 ? taps[0]! : ctx.emit('concat', taps, { axis: 3 });      // [b·od, h, w, kd·ci]
  // [kd, kh, kw, ci, co] → [kh, kw, kd·ci, co], by a transpose of rank 4.
  const filter = reshapeTo(ctx, ctx.emit('transpose', [reshapeTo(ctx, f, [kd, kh * kw, ci, co])], { perm: [1, 0, 2, 3] }), [kh, kw, kd * ci, co]);
  const y = ctx.emit('conv2d', [flat, filter], hwAttrs(info));
  return reshapeTo(ctx, y, [xs[0], od, oh, ow, co]);
};

/**
 * MaxPool3D / AvgPool3D: the 2-D pool of every depth tap ([b·outDepth, h, w, c]), then the
 * maximum over the taps (depth padding −∞), or their mean over the taps inside the input (depth
 * padding 0; the 2-D mean counts only pixels inside, as tfjs's does).
 */
function pool3d(max: boolean): KernelRule {
  return (ctx, ins, a) => {
    const x = input3d(ctx, ins, a);
    const xs = dimsOf(ctx, x) as [number, number, number, number, number];
    const mode = a['dimRoundingMode'];
    const info = backend_util.computePool3DInfo(xs, a['filterSize'] as number | [number, number, number], a['strides'] as number | [number, number, number], 1,
      a['pad'] as 'same', (mode ?? undefined) as 'floor' | undefined);
    const { outDepth: od, outHeight: oh, outWidth: ow } = info;
    const [b, , , , c] = xs;
    if (xs.includes(0) || od <= 0 || oh <= 0 || ow <= 0) {
      return ctx.emit('fill', [], { shape: [b, Math.max(0, od), Math.max(0, oh), Math.max(0, ow), c], value: 0, dtype: x.dtype });
    }
    const { strides, padding, pads } = hwAttrs(info);
    const pooled = depthTaps(ctx, x, info, max ? -Infinity : 0).map((t) =>
      ctx.emit(max ? 'max_pool' : 'avg_pool', [t], { filter_size: [info.filterHeight, info.filterWidth], strides, padding, pads }));
    let y = pooled[0]!;
    for (const p of pooled.slice(1)) y = ctx.emit(max ? 'maximum' : 'add', [y, p]);
    if (max) return reshapeTo(ctx, y, [b, od, oh, ow, c]);
    // Per output depth, the taps inside the input.
    const inside = Array.from({ length: od }, (_, o) => {
      let n = 0;
      for (let t = 0; t < info.filterDepth; t++) { const d = o * info.strideDepth - info.padInfo.front + t; if (d >= 0 && d < xs[1]) n++; }
      return n;
    });
    const mean = ctx.emit('div', [reshapeTo(ctx, y, [b, od, oh * ow, c]), ctx.constant(tensorData('float32', [1, od, 1, 1], inside))]);
    return reshapeTo(ctx, mean, [b, od, oh, ow, c]);
  };
}

// ---- searchSorted -----------------------------------------------------------------------------

/**
 * SearchSorted (tf.searchSorted, tf.lowerBound, tf.upperBound) on [b, n] sorted rows and [b, m]
 * values: per value the number of the row's elements below it (side 'left') or at or below it
 * ('right'), which is where tfjs's binary search ends on a sorted row (NaN values: 0; NaN
 * elements sorted last count as above every value, as they do for the search). A row that is not
 * sorted has no defined answer (tfjs returns wherever its probes lead; this, the count).
 * Compares every value with every element: b·m·n booleans.
 */
const searchSorted: KernelRule = (ctx, ins, a) => {
  const seq = input(ctx, ins, 'sortedSequence'), values = input(ctx, ins, 'values');
  if (seq.shape.length !== 2 || values.shape.length !== 2) return ctx.unsupported(`${ctx.kernel}: expects rank-2 operands, got ${shapeToString(seq.shape)} and ${shapeToString(values.shape)}`);
  const [b, n] = dimsOf(ctx, seq) as [number, number];
  const [, m] = dimsOf(ctx, values) as [number, number];
  const side = a['side'] ?? 'left';
  if (side !== 'left' && side !== 'right') return ctx.unsupported(`${ctx.kernel}: side ${JSON.stringify(side)}`, "side is 'left' or 'right'");
  const dtype = upcast(seq.dtype, values.dtype);
  const row = reshapeTo(ctx, castTo(ctx, seq, dtype), [b, 1, n]);
  const v = reshapeTo(ctx, castTo(ctx, values, dtype), [b, m, 1]);
  const below = ctx.emit(side === 'left' ? 'less' : 'less_equal', [row, v]);               // [b, m, n]
  return ctx.emit('reduce_sum', [ctx.emit('cast', [below], { dtype: 'int32' })], { axes: [2], keep_dims: false });
};

// ---- local response normalization ---------------------------------------------------------------

/**
 * Σ over channels c−r … c+r (clipped to the channels) of v (NHWC), added in that order as
 * tfjs's cpu kernel adds them: the channels padded with r zeros each side, 2r + 1 shifted slices.
 */
function channelWindowSum(ctx: TraceCtx, v: Value, radius: number): Value {
  const shape = dimsOf(ctx, v);
  const c = shape[3]!;
  const r = Math.min(radius, Math.max(0, c - 1));
  if (r === 0) return v;
  const padded = ctx.emit('pad', [v], { paddings: [0, 0, 0, 0, 0, 0, r, r], value: 0 });
  let sum: Value | undefined;
  for (let k = 0; k <= 2 * r; k++) {
    const part = ctx.emit('slice', [padded], { begin: [0, 0, 0, k], size: shape });
    sum = sum === undefined ? part : ctx.emit('add', [sum, part]);
  }
  return sum!;
}

/** LRN's attrs and its norm bias + α·Σ x² over each channel's window. */
function lrnNorm(ctx: TraceCtx, x: Value, a: KAttrs): { norm: Value; beta: number; alpha: number } {
  if (x.shape.length !== 4) return ctx.unsupported(`${ctx.kernel}: x must be rank 4 (NHWC), got ${shapeToString(x.shape)}`);
  const radius = num(ctx, a, 'depthRadius', 5), bias = num(ctx, a, 'bias', 1), alpha = num(ctx, a, 'alpha', 1), beta = num(ctx, a, 'beta', 0.5);
  if (!Number.isInteger(radius) || radius < 0) return ctx.unsupported(`${ctx.kernel}: depthRadius ${radius}`, 'depthRadius is a whole number ≥ 0');
  const sum = channelWindowSum(ctx, ctx.emit('square', [x]), radius);
  const norm = ctx.emit('add', [ctx.emit('mul', [sum, ctx.scalar(alpha, 'float32')]), ctx.scalar(bias, 'float32')]);
  return { norm, beta, alpha };
}

/**
 * LRN (tf.localResponseNormalization) as tfjs's cpu kernel computes it: x · (bias + α·Σ x²)^−β,
 * Σ over the channels within depthRadius. float32 steps where tfjs-cpu computes the sum and the
 * power in float64 (a few ulps apart).
 */
const lrn: KernelRule = (ctx, ins, a) => {
  const x = f32(ctx, input(ctx, ins, 'x'));
  const { norm, beta } = lrnNorm(ctx, x, a);
  return ctx.emit('mul', [x, ctx.emit('pow', [norm, ctx.scalar(-beta, 'float32')])]);
};

/**
 * LRNGrad: tfjs's cpu kernel adds, for every output o and every channel k in o's window,
 * dy[o]·(δ(o,k)·norm_o^−β − 2αβ·x[k]·y[o]/norm_o) into dx[k]. The windows are symmetric, so
 * dx = dy·norm^−β − 2αβ·x·Σ_window(dy·y/norm).
 */
const lrnGrad: KernelRule = (ctx, ins, a) => {
  const x = f32(ctx, input(ctx, ins, 'x')), y = f32(ctx, input(ctx, ins, 'y')), dy = f32(ctx, input(ctx, ins, 'dy'));
  const { norm, beta, alpha } = lrnNorm(ctx, x, a);
  const radius = num(ctx, a, 'depthRadius', 5);
  const spread = channelWindowSum(ctx, ctx.emit('div', [ctx.emit('mul', [dy, y]), norm]), radius);
  const direct = ctx.emit('mul', [dy, ctx.emit('pow', [norm, ctx.scalar(-beta, 'float32')])]);
  return ctx.emit('add', [direct, ctx.emit('mul', [ctx.emit('mul', [x, spread]), ctx.scalar(-2 * alpha * beta, 'float32')])]);
};

// ---- CropAndResize: per box, the sample positions as tfjs's cpu kernel computes them, and gathers

/** The values of a value known at trace time (a constant, or a range), else undefined. */
function knownValues(v: Value): ArrayLike<number> | undefined {
  const n = v.producer;
  if (n?.op === 'const') {
    const d = n.attrs['value'] as TensorData;
    return d.dtype === 'int64' ? undefined : (d.data as ArrayLike<number>);
  }
  if (n?.op === 'range' && typeof v.shape[0] === 'number') {
    const start = n.attrs['start'] as number, step = n.attrs['step'] as number;
    return Array.from({ length: v.shape[0] }, (_, i) => start + i * step);
  }
  return undefined;
}

/**
 * One axis of CropAndResize's samples, per box ([boxes, crop]): the rows (or columns) to read
 * (bilinear: floor and ceil; nearest: the rounded one), the lerp fraction, whether the sample
 * lies outside the image (extrapolated) and whether it is NaN.
 */
interface CropAxis { lo: Value; hi: Value; frac: Value; bad: Value; nan: Value | undefined }

/**
 * CropAndResize as tfjs's cpu kernel computes it (TensorFlow's reference): per box (y1, x1, y2,
 * x2) and output pixel the source position y1·(h−1) + y·(y2−y1)·(h−1)/(cropH−1) (the box's centre
 * when cropH is 1), likewise across; a position outside [0, h−1] gives extrapolationValue;
 * bilinear lerps the four pixels around it (top = tl + (tr − tl)·xLerp, bottom alike, then top +
 * (bottom − top)·yLerp), nearest reads the pixel Math.round picks; a box whose boxInd is not an
 * image of the batch gives zeros. Positions are float32, step by step, as TensorFlow's kernel and
 * tfjs-wasm's compute them (boxes known at trace time, such as CenterCrop's, are positioned here
 * with the same float32 steps, so a constant box and a computed one crop alike). tfjs-cpu
 * positions in float64: it differs where a sample lands on the image's edge (a box edge of
 * exactly 1: the last row extrapolated or not, for some sizes) or on a rounding boundary
 * (nearest). Every sample is one gather from the pixels with two rows appended (the
 * extrapolation value, zero): no select over the channels. Box indices are compared with the
 * batch in the graph (a symbolic batch may be 0: every box is then outside it).
 */
const cropAndResize: KernelRule = (ctx, ins, a) => {
  const image = f32(ctx, input(ctx, ins, 'image'));
  const boxes = input(ctx, ins, 'boxes');
  const boxInd = input(ctx, ins, 'boxInd');
  if (image.shape.length !== 4) return ctx.unsupported(`${ctx.kernel}: image must be rank 4 (NHWC), got ${shapeToString(image.shape)}`);
  const [b, h, w, c] = dimsOf(ctx, image) as [number, number, number, number];
  const [n] = dimsOf(ctx, boxInd);
  if (boxes.shape.length !== 2 || boxes.shape[1] !== 4 || boxInd.shape.length !== 1 || boxes.shape[0] !== n) {
    return ctx.unsupported(`${ctx.kernel}: boxes ${shapeToString(boxes.shape)} and boxInd ${shapeToString(boxInd.shape)}`, 'boxes is [numBoxes, 4], boxInd [numBoxes]');
  }
  const [ch, cw] = numList(ctx, a, 'cropSize') as [number, number];
  const nearest = a['method'] === 'nearest';
  const extrapolation = num(ctx, a, 'extrapolationValue', 0);
  if (!Number.isFinite(extrapolation)) return ctx.unsupported(`${ctx.kernel}: extrapolationValue ${extrapolation}`, 'pass a finite extrapolation value');
  if (n! === 0 || b === 0 || c === 0) return ctx.emit('fill', [], { shape: [n!, ch, cw, c], value: 0, dtype: 'float32' });
  const hw = h * w;
  const boxVals = knownValues(boxes), indVals = knownValues(boxInd);
  // Every box the same, the i-th on image i: one crop of the whole batch, whatever its size (CenterCrop).
  const shared = boxVals !== undefined && indVals !== undefined && n === b && Array.from(indVals).every((v, i) => v === i) &&
    Array.from(boxVals).every((v, i) => Object.is(v, boxVals[i % 4]));
  const lead = shared ? 1 : n!;
  const i32 = (v: number) => ctx.scalar(v, 'int32');
  const clampIdx = (v: Value, size: number) => ctx.emit('minimum', [ctx.emit('maximum', [v, i32(0)]), i32(size - 1)]);

  const axis = (k: 0 | 1, size: number, crop: number): CropAxis => {
    if (boxVals !== undefined) {
      const lo: number[] = [], hi: number[] = [], frac: number[] = [], bad: boolean[] = [], nan: boolean[] = [];
      const clamp = (v: number) => (Number.isNaN(v) ? 0 : Math.min(Math.max(v, 0), size - 1));
      const f = Math.fround, last = size - 1;
      for (let r = 0; r < lead; r++) {
        const p1 = boxVals[r * 4 + k]!, p2 = boxVals[r * 4 + k + 2]!;
        // The float32 steps of the graph below, in its order.
        const scale = f(f(f(p2 - p1) * last) / (crop - 1));
        for (let i = 0; i < crop; i++) {
          const pos = crop > 1 ? f(f(p1 * last) + f(i * scale)) : f(f(0.5 * f(p1 + p2)) * last);
          bad.push(pos < 0 || pos > last);
          nan.push(Number.isNaN(pos));
          const fl = Math.floor(pos), fr = pos - fl;
          if (nearest) { lo.push(clamp(fl + (fr >= 0.5 ? 1 : 0))); hi.push(0); frac.push(0); } else {
            lo.push(clamp(fl)); hi.push(clamp(Math.ceil(pos))); frac.push(fr);
          }
        }
      }
      const s = [lead, crop];
      return {
        lo: ctx.constant(tensorData('int32', s, lo)), hi: ctx.constant(tensorData('int32', s, hi)),
        frac: ctx.constant(tensorData('float32', s, frac)), bad: ctx.constant(tensorData('bool', s, bad)),
        nan: nan.some((x) => x) ? ctx.constant(tensorData('bool', s, nan)) : undefined,
      };
    }
    const fb = f32(ctx, boxes);
    const col = (j: number) => ctx.emit('slice', [fb], { begin: [0, j], size: [n!, 1] });     // [n, 1]
    const p1 = col(k), p2 = col(k + 2);
    const last = ctx.scalar(size - 1, 'float32');
    let pos: Value;
    if (crop > 1) {
      const scale = ctx.emit('div', [ctx.emit('mul', [ctx.emit('sub', [p2, p1]), last]), ctx.scalar(crop - 1, 'float32')]);
      const iota = ctx.constant(tensorData('float32', [1, crop], Array.from({ length: crop }, (_, i) => i)));
      pos = ctx.emit('add', [ctx.emit('mul', [p1, last]), ctx.emit('mul', [iota, scale])]);
    } else {
      pos = ctx.emit('mul', [ctx.emit('mul', [ctx.scalar(0.5, 'float32'), ctx.emit('add', [p1, p2])]), last]);
    }
    const bad = ctx.emit('logical_or', [ctx.emit('less', [pos, ctx.scalar(0, 'float32')]), ctx.emit('greater', [pos, last])]);
    const fl = ctx.emit('floor', [pos]);
    const frac = ctx.emit('sub', [pos, fl]);
    const idx = (v: Value) => clampIdx(ctx.emit('cast', [v], { dtype: 'int32' }), size);
    // Math.round: floor, plus one from a fraction of one half up (pos − floor(pos) is exact).
    const lo = nearest ? idx(ctx.emit('add', [fl, f32(ctx, ctx.emit('greater_equal', [frac, ctx.scalar(0.5, 'float32')]))])) : idx(fl);
    // NaN positions: bilinear's NaN fraction carries them; nearest reads a pixel and needs the mask.
    return { lo, hi: nearest ? lo : idx(ctx.emit('ceil', [pos])), frac, bad, nan: nearest ? ctx.emit('is_nan', [pos]) : undefined };
  };
  const ys = axis(0, h, ch), xs = axis(1, w, cw);

  // Per box: the first row of its image in the flattened batch, and whether boxInd is outside the
  // batch (compared in the graph, also for constant indices: the batch may be symbolic, and 0).
  let base: Value | undefined, outside: Value | undefined;
  if (!shared) {
    const bi = reshapeTo(ctx, castTo(ctx, boxInd, 'int32'), [n!, 1, 1]);
    base = ctx.emit('mul', [clampIdx(bi, b), i32(hw)]);
    outside = ctx.emit('logical_or', [ctx.emit('less', [bi, i32(0)]), ctx.emit('greater_equal', [bi, i32(b)])]);
  }
  const rows = (v: Value) => reshapeTo(ctx, v, [lead, ch, 1]);
  const cols = (v: Value) => reshapeTo(ctx, v, [lead, 1, cw]);
  let special: Value = ctx.emit('logical_or', [rows(ys.bad), cols(xs.bad)]);                  // [lead, ch, cw]
  if (outside !== undefined) special = ctx.emit('logical_or', [special, outside]);
  const anyIdx = ctx.emit('add', [rows(ys.lo), cols(xs.lo)]);
  const zeros = ctx.emit('mul', [anyIdx, i32(0)]);                                           // int32 [lead, ch, cw]
  // The two rows after the pixels: the extrapolation value, and zeros (a box outside the batch).
  // Shared: after each image's pixels, gathered per image; else once after the whole batch's, so
  // that an empty batch still has them.
  const pad2 = (x: Value, paddings: number[]) => ctx.emit('pad', [ctx.emit('pad', [x], { paddings, value: extrapolation })], { paddings, value: 0 });
  const source = shared ? pad2(reshapeTo(ctx, image, [b, hw, c]), [0, 0, 0, 1, 0, 0]) : pad2(reshapeTo(ctx, image, [b * hw, c]), [0, 1, 0, 0]);
  let specialRow = ctx.emit('add', [zeros, i32(shared ? hw : b * hw)]);
  if (outside !== undefined) specialRow = ctx.emit('add', [specialRow, ctx.emit('cast', [outside], { dtype: 'int32' })]);
  const pick = (y: Value, x: Value): Value => {
    const pixel = ctx.emit('add', [rows(ctx.emit('mul', [y, i32(w)])), cols(x)]);
    if (shared) return ctx.emit('gather', [source, reshapeTo(ctx, ctx.emit('select', [special, specialRow, pixel]), [ch, cw])], { axis: 1, batch_dims: 0 });
    return ctx.emit('gather', [source, ctx.emit('select', [special, specialRow, ctx.emit('add', [pixel, base!])])], { axis: 0, batch_dims: 0 }); // [n, ch, cw, c]
  };
  const zf = ctx.emit('cast', [zeros], { dtype: 'float32' });
  const full = (v: Value) => reshapeTo(ctx, ctx.emit('add', [v, zf]), [lead, ch, cw, 1]);
  if (nearest) {
    let out = pick(ys.lo, xs.lo);
    const nan = ys.nan !== undefined && xs.nan !== undefined ? ctx.emit('logical_or', [rows(ys.nan), cols(xs.nan)]) : ys.nan !== undefined ? rows(ys.nan) : xs.nan !== undefined ? cols(xs.nan) : undefined;
    if (nan !== undefined) {
      // A NaN position inside the image reads no pixel (tfjs: undefined, stored as NaN): × NaN; every other × 1.
      const nanHere = ctx.emit('logical_and', [nan, ctx.emit('logical_not', [special])]);
      out = ctx.emit('mul', [out, full(ctx.emit('select', [nanHere, ctx.emit('add', [zf, ctx.scalar(NaN, 'float32')]), ctx.emit('add', [zf, ctx.scalar(1, 'float32')])]))]);
    }
    return out;
  }
  // A special sample reads its row at all four corners with lerps of −0: v + (v − v)·(−0) = v exactly.
  const negZero = ctx.emit('neg', [zf]);
  const yf = full(ctx.emit('select', [special, negZero, ctx.emit('add', [rows(ys.frac), zf])]));
  const xf = full(ctx.emit('select', [special, negZero, ctx.emit('add', [cols(xs.frac), zf])]));
  const lerp = (p: Value, q: Value, f: Value) => ctx.emit('add', [p, ctx.emit('mul', [ctx.emit('sub', [q, p]), f])]);
  const top = lerp(pick(ys.lo, xs.lo), pick(ys.lo, xs.hi), xf);
  const bottom = lerp(pick(ys.hi, xs.lo), pick(ys.hi, xs.hi), xf);
  return lerp(top, bottom, yf);
};

/**
 * The gradients of the resizes as tfjs's kernels compute them (they ignore halfPixelCenters,
 * as tfjs's do): dx[n,i,j,c] = Σ_r Σ_s A[i,r]·B[j,s]·dy[n,r,s,c], with A and B each axis's
 * interpolation matrix (bilinear: the two lerp weights; nearest: ones), as two matmuls over dy
 * transposed to [n, c, r, s]. tfjs-cpu 4.22's own kernels are wrong in two places that this
 * is not: ResizeNearestNeighborGrad reads dy at the images' batch stride (batch > 1: garbage,
 * NaN when downsampling), ResizeBilinearGrad returns [n, w, h, c] (non-square images: tfjs's
 * gradient check throws); tfjs-wasm's agree with this rule.
 */
function resizeGrad(bilinear: boolean): KernelRule {
  return (ctx, ins, a) => {
    const { h, w } = resizeImages(ctx, ins);
    const dy = castTo(ctx, input(ctx, ins, 'dy'), 'float32');
    if (dy.shape.length !== 4) return ctx.unsupported(`${ctx.kernel}: dy must be rank 4, got ${shapeToString(dy.shape)}`);
    const [, yh, yw] = dimsOf(ctx, dy) as [number, number, number, number];
    const align = flag(a, 'alignCorners');
    // matrix [outSize, inSize] (row r: the weights dy row r gives each input row), as a constant.
    const weights = (inSize: number, outSize: number): Value => {
      const scale = resizeScale(inSize, outSize, align);
      const m = new Float32Array(outSize * inSize);
      for (let r = 0; r < outSize; r++) {
        const src = scale * r;
        if (bilinear) {
          const lo = Math.floor(src), hi = Math.min(Math.ceil(src), inSize - 1), f = src - lo;
          m[r * inSize + lo] = m[r * inSize + lo]! + (1 - f);
          m[r * inSize + hi] = m[r * inSize + hi]! + f;
        } else {
          const k = r * inSize + Math.min(inSize - 1, align ? Math.round(src) : Math.floor(src));
          m[k] = m[k]! + 1;
        }
      }
      return ctx.constant(tensorData('float32', [outSize, inSize], m));
    };
    const t = ctx.emit('transpose', [dy], { perm: [0, 3, 1, 2] });                               // [n, c, yh, yw]
    const cols = ctx.emit('matmul', [t, weights(w, yw)], { transpose_a: false, transpose_b: false }); // [n, c, yh, w]
    const rows = ctx.emit('matmul', [weights(h, yh), cols], { transpose_a: true, transpose_b: false }); // [n, c, h, w]
    return ctx.emit('transpose', [rows], { perm: [0, 2, 3, 1] });
  };
}

/**
 * SpaceToBatchND and BatchToSpaceND as tfjs's cpu kernels compute them: (pad,) reshape,
 * transpose, reshape (, crop), with tfjs's own shape helpers.
 */
const spaceToBatch: KernelRule = (ctx, ins, a) => {
  const x = input(ctx, ins, 'x');
  const shape = dimsOf(ctx, x);
  const block = numList(ctx, a, 'blockShape');
  const pads = a['paddings'] as [number, number][];
  const prod = util.sizeFromShape(block);
  const full = shape.map((_, i): [number, number] => (i >= 1 && i <= block.length ? pads[i - 1]! : [0, 0]));
  const padded = full.some(([b, e]) => b !== 0 || e !== 0) ? ctx.emit('pad', [x], { paddings: full.flat(), value: 0 }) : x;
  const ps = shape.map((d, i) => d + full[i]![0] + full[i]![1]);
  const r = reshapeTo(ctx, padded, backend_util.getReshaped(ps, block, prod, false));
  const t = ctx.emit('transpose', [r], { perm: backend_util.getPermuted(ps.length + block.length, block.length, false) });
  return reshapeTo(ctx, t, backend_util.getReshapedPermuted(ps, block, prod, false));
};

const batchToSpace: KernelRule = (ctx, ins, a) => {
  const x = input(ctx, ins, 'x');
  const shape = dimsOf(ctx, x);
  const block = numList(ctx, a, 'blockShape');
  const crops = a['crops'] as number[][];
  const prod = util.sizeFromShape(block);
  const reshaped = backend_util.getReshaped(shape, block, prod);
  const r = reshapeTo(ctx, x, reshaped);
  const t = ctx.emit('transpose', [r], { perm: backend_util.getPermuted(reshaped.length, block.length) });
  const rp = backend_util.getReshapedPermuted(shape, block, prod);
  const v = reshapeTo(ctx, t, rp);
  // tfjs's helpers give the batch and block dims only; the remaining dims are kept whole.
  const begin = backend_util.getSliceBeginCoords(crops, block.length);
  const size = backend_util.getSliceSize(rp, crops, block.length);
  while (begin.length < rp.length) { begin.push(0); size.push(rp[size.length]!); }
  return sameShape(size, rp) ? v : ctx.emit('slice', [v], { begin, size });
};

/** Diag: out[i..., j...] = x[i...] where i = j, else 0; shape [...s, ...s]. */
const diag: KernelRule = (ctx, ins) => {
  const x = input(ctx, ins, 'x');
  const shape = dimsOf(ctx, x);
  const n = util.sizeFromShape(shape);
  const eye = ctx.constant(tensorData('bool', [n, n], Array.from({ length: n * n }, (_, k) => Math.floor(k / n) === k % n)));
  const d = ctx.emit('select', [eye, reshapeTo(ctx, x, [n, 1]), ctx.scalar(0, x.dtype)]);
  return reshapeTo(ctx, d, [...shape, ...shape]);
};

/**
 * StridedSlice through tfjs's own `slice_util.sliceInfo` (masks, ellipsis, new and shrunk
 * axes). Each input axis becomes begin/end/stride with 0 ≤ begin ≤ end ≤ dim and a positive
 * stride; negative strides become a `reverse` first. All strides 1 → `slice`. A final
 * `reshape` adds new axes and drops shrunk ones.
 */
const stridedSlice: KernelRule = (ctx, ins, a) => {
  const x = input(ctx, ins, 'x');
  const shape = dimsOf(ctx, x);
  const info_ = slice_util.sliceInfo(shape, numList(ctx, a, 'begin'), numList(ctx, a, 'end'),
    a['strides'] === undefined || a['strides'] === null ? (undefined as unknown as number[]) : numList(ctx, a, 'strides'),
    num(ctx, a, 'beginMask', 0), num(ctx, a, 'endMask', 0), num(ctx, a, 'ellipsisMask', 0),
    num(ctx, a, 'newAxisMask', 0), num(ctx, a, 'shrinkAxisMask', 0));
  const begin: number[] = [], end: number[] = [], strides: number[] = [], size: number[] = [], rev: number[] = [];
  shape.forEach((dim, i) => {
    let b = info_.begin[i]!, e = info_.end[i]!, s = info_.strides[i]!;
    if (s < 0) { rev.push(i); b = dim - 1 - b; e = dim - 1 - e; s = -s; }
    b = Math.min(Math.max(b, 0), dim);
    e = Math.min(Math.max(e, b), dim);
    begin.push(b); end.push(e); strides.push(s);
    size.push(Math.ceil((e - b) / s));
  });
  const finalShape = info_.finalShape;
  if (util.sizeFromShape(finalShape) !== util.sizeFromShape(size)) {
    return ctx.unsupported(`${ctx.kernel}: internal error: slice sizes [${size.join(',')}] do not match tfjs's shape [${finalShape.join(',')}]`);
  }
  let v = rev.length > 0 ? ctx.emit('reverse', [x], { axes: rev }) : x;
  const whole = begin.every((b, i) => b === 0 && size[i] === shape[i] && strides[i] === 1);
  if (!whole) {
    v = strides.every((s) => s === 1)
      ? ctx.emit('slice', [v], { begin, size })
      : ctx.emit('strided_slice', [v], { begin, end, strides });
  }
  if (!sameShape(finalShape, size)) return reshapeTo(ctx, v, finalShape);
  return v === x ? ctx.emit('identity', [x]) : v;
};

/**
 * Range with tfjs's element count: abs(ceil((stop - start) / step)), empty for a step of the
 * wrong sign, and a step of 1 turned to -1 when stop < start (tf.range(5, 1) is [5,4,3,2]).
 * When that differs from the IR's max(0, ceil((stop - start) / step)), `stop` is moved to
 * half a step past the last element.
 */
const rangeRule: KernelRule = (ctx, _ins, a) => {
  const start = num(ctx, a, 'start'), stop = num(ctx, a, 'stop');
  let step = num(ctx, a, 'step', 1);
  const dtype = irDType(ctx, a['dtype'] ?? 'float32');
  if (step === 0) return ctx.unsupported(`${ctx.kernel}: step 0`);
  const empty = start === stop || (start < stop && step < 0) || (stop < start && step > 1);
  const n = empty ? 0 : Math.abs(Math.ceil((stop - start) / step));
  if (stop < start && step === 1) step = -1;
  const irN = Math.max(0, Math.ceil((stop - start) / step));
  return ctx.emit('range', [], { start, stop: irN === n ? stop : start + (n - 0.5) * step, step, dtype });
};

// ---- the table --------------------------------------------------------------------------------

const RULES = {
  // one-to-one kernels
  [Abs]: unary('abs'), [Acos]: unary('acos'), [Acosh]: unary('acosh'), [Asin]: unary('asin'),
  [Asinh]: unary('asinh'), [Atan]: unary('atan'), [Atanh]: unary('atanh'), [Ceil]: unary('ceil'),
  [Cos]: unary('cos'), [Cosh]: unary('cosh'), [Elu]: unary('elu'), [Erf]: unary('erf'),
  [Expm1]: unary('expm1'), [Floor]: unary('floor'), [Log]: unary('log'), [Log1p]: unary('log1p'),
  [Neg]: unary('neg'), [Reciprocal]: unary('reciprocal'), [Relu]: unary('relu'), [Relu6]: unary('relu6'),
  [Round]: unary('round'), [Rsqrt]: unary('rsqrt'), [Selu]: unary('selu'), [Sigmoid]: unary('sigmoid'),
  [Sign]: unary('sign'), [Sin]: unary('sin'), [Sinh]: unary('sinh'), [Softplus]: unary('softplus'),
  [Sqrt]: unary('sqrt'), [Square]: unary('square'), [Tan]: unary('tan'), [Tanh]: unary('tanh'),
  [Identity]: unary('identity'), [IsNan]: unary('is_nan'), [IsInf]: unary('is_inf'),
  [IsFinite]: unary('is_finite'), [ZerosLike]: unary('zeros_like'), [OnesLike]: unary('ones_like'),
  [Add]: binary('add'), [Sub]: binary('sub'), [Multiply]: binary('mul'), [RealDiv]: binary('div'),
  [Mod]: binary('mod'), [Pow]: binary('pow'), [Maximum]: binary('maximum'), [Minimum]: binary('minimum'),
  [SquaredDifference]: binary('squared_difference'), [Atan2]: binary('atan2'), [Equal]: binary('equal'),
  [NotEqual]: binary('not_equal'), [Less]: binary('less'), [LessEqual]: binary('less_equal'),
  [Greater]: binary('greater'), [GreaterEqual]: binary('greater_equal'),

  // elementwise with a twist
  [Exp]: unaryAs('exp', 'float32'),
  [LogicalNot]: unaryBool('logical_not'),
  [LogicalAnd]: logical('logical_and'),
  [LogicalOr]: logical('logical_or'),
  [LogicalXor]: logical('logical_xor'),
  [FloorDiv]: (ctx, ins) => {
    const [a, b] = matchTypes(ctx, input(ctx, ins, 'a'), input(ctx, ins, 'b'));
    return castTo(ctx, ctx.emit('floor_div', [a, b]), 'int32'); // tfjs's FloorDiv yields int32
  },
  // tfjs's Prelu, LeakyRelu and the gradient kernels compute (and yield) float32
  [Prelu]: (ctx, ins) => ctx.emit('prelu', [f32(ctx, input(ctx, ins, 'x')), f32(ctx, input(ctx, ins, 'alpha'))]),
  [EluGrad]: (ctx, ins) => ctx.emit('elu_grad', [f32(ctx, input(ctx, ins, 'dy')), f32(ctx, input(ctx, ins, 'y'))]),
  [LeakyRelu]: (ctx, ins, a) => ctx.emit('leaky_relu', [f32(ctx, input(ctx, ins, 'x'))], { alpha: num(ctx, a, 'alpha', 0.2) }),
  [Step]: unary('step', (ctx, a) => ({ alpha: num(ctx, a, 'alpha', 0) })),
  [ClipByValue]: unary('clip', (ctx, a) => ({ min: num(ctx, a, 'clipValueMin'), max: num(ctx, a, 'clipValueMax') })),
  [Cast]: (ctx, ins, a) => ctx.emit('cast', [input(ctx, ins, 'x')], { dtype: irDType(ctx, a['dtype']) }),
  [Select]: (ctx, ins) => {
    const c = castTo(ctx, input(ctx, ins, 'condition'), 'bool');
    const [t, e] = matchTypes(ctx, input(ctx, ins, 't'), input(ctx, ins, 'e'));
    return ctx.emit('select', [c, t, e]);
  },
  [AddN]: (ctx, ins) => {
    const xs = listInput(ctx, ins);
    const d = xs.map((x) => x.dtype).reduce(upcast);
    return ctx.emit('add_n', xs.map((x) => castTo(ctx, x, d)));
  },

  // sources
  [Fill]: (ctx, _ins, a) => {
    const value = a['value'];
    if (typeof value !== 'number' && typeof value !== 'boolean') return ctx.unsupported(`${ctx.kernel}: fill value ${JSON.stringify(value)}`);
    return ctx.emit('fill', [], { shape: numList(ctx, a, 'shape'), value: Number(value), dtype: irDType(ctx, a['dtype'] ?? 'float32') });
  },
  [Range]: rangeRule,
  [LinSpace]: (ctx, _ins, a) => {
    const start = num(ctx, a, 'start'), stop = num(ctx, a, 'stop'), n = num(ctx, a, 'num');
    if (n === 1) return ctx.emit('fill', [], { shape: [1], value: start, dtype: 'float32' });
    const r = ctx.emit('range', [], { start: 0, stop: n, step: 1, dtype: 'float32' });
    const scaled = ctx.emit('mul', [r, ctx.scalar((stop - start) / (n - 1), 'float32')]);
    return ctx.emit('add', [scaled, ctx.scalar(start, 'float32')]);
  },
  [OneHot]: (ctx, ins, a) => ctx.emit('one_hot', [castTo(ctx, input(ctx, ins, 'indices'), 'int32')], {
    depth: num(ctx, a, 'depth'), on_value: num(ctx, a, 'onValue', 1), off_value: num(ctx, a, 'offValue', 0),
    dtype: irDType(ctx, a['dtype'] ?? 'int32'),
  }),

  // reductions
  [Sum]: reduction('reduce_sum', 'axis', intUp),
  [Prod]: reduction('reduce_prod', 'axis', intUp),
  [Mean]: reduction('reduce_mean', 'axis', () => 'float32'),
  [Max]: reduction('reduce_max', 'reductionIndices', (d) => d),
  [Min]: reduction('reduce_min', 'axis', (d) => d),
  [All]: reduction('reduce_all', 'axis', () => 'bool'),
  [Any]: reduction('reduce_any', 'axis', () => 'bool'),
  [ArgMax]: argReduce('argmax'),
  [ArgMin]: argReduce('argmin'),
  [Cumsum]: (ctx, ins, a) => {
    const x0 = input(ctx, ins, 'x');
    const x = castTo(ctx, x0, intUp(x0.dtype));
    return ctx.emit('cumsum', [x], { axis: oneAxis(ctx, a['axis'], x.shape.length), exclusive: flag(a, 'exclusive'), reverse: flag(a, 'reverse') });
  },
  [Cumprod]: cumprod,
  [Softmax]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'logits');
    return ctx.emit('softmax', [x], { axis: oneAxis(ctx, a['dim'] ?? -1, x.shape.length) });
  },
  [LogSoftmax]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'logits');
    return ctx.emit('log_softmax', [x], { axis: oneAxis(ctx, a['axis'] ?? -1, x.shape.length) });
  },

  // matmul, conv, pool, norm
  [BatchMatMul]: (ctx, ins, a) => {
    const [x, y] = matchTypes(ctx, input(ctx, ins, 'a'), input(ctx, ins, 'b'));
    return ctx.emit('matmul', [x, y], { transpose_a: flag(a, 'transposeA'), transpose_b: flag(a, 'transposeB') });
  },
  [_FusedMatMul]: (ctx, ins, a) => {
    const [x, y] = matchTypes(ctx, input(ctx, ins, 'a'), input(ctx, ins, 'b'));
    const { extra, attrs } = fusedTail(ctx, ins, a, x.dtype);
    return ctx.emit('fused_matmul', [x, y, ...extra], { transpose_a: flag(a, 'transposeA'), transpose_b: flag(a, 'transposeB'), ...attrs });
  },
  [Conv2D]: (ctx, ins, a) => {
    const [x, f] = matchTypes(ctx, input(ctx, ins, 'x'), input(ctx, ins, 'filter'));
    return ctx.emit('conv2d', [x, f], convAttrs(ctx, a, x, filterHW(ctx, f)));
  },
  [DepthwiseConv2dNative]: (ctx, ins, a) => {
    const [x, f] = matchTypes(ctx, input(ctx, ins, 'x'), input(ctx, ins, 'filter'));
    return ctx.emit('depthwise_conv2d', [x, f], convAttrs(ctx, a, x, filterHW(ctx, f)));
  },
  [FusedConv2D]: fusedConv('fused_conv2d'),
  [FusedDepthwiseConv2D]: fusedConv('fused_depthwise_conv2d'),
  [Conv2DBackpropInput]: (ctx, ins, a) => ctx.emit('conv2d_backprop_input', [f32(ctx, input(ctx, ins, 'dy')), f32(ctx, input(ctx, ins, 'filter'))],
    { ...convAttrs(ctx, a, undefined, undefined), input_shape: numList(ctx, a, 'inputShape') }),
  [Conv2DBackpropFilter]: (ctx, ins, a) => ctx.emit('conv2d_backprop_filter', [f32(ctx, input(ctx, ins, 'x')), f32(ctx, input(ctx, ins, 'dy'))],
    { ...convAttrs(ctx, a, undefined, undefined), filter_shape: numList(ctx, a, 'filterShape') }),
  [DepthwiseConv2dNativeBackpropInput]: (ctx, ins, a) => ctx.emit('depthwise_conv2d_backprop_input', [f32(ctx, input(ctx, ins, 'dy')), f32(ctx, input(ctx, ins, 'filter'))],
    { ...convAttrs(ctx, a, undefined, undefined), input_shape: numList(ctx, a, 'inputShape') }),
  [DepthwiseConv2dNativeBackpropFilter]: (ctx, ins, a) => ctx.emit('depthwise_conv2d_backprop_filter', [f32(ctx, input(ctx, ins, 'x')), f32(ctx, input(ctx, ins, 'dy'))],
    { ...convAttrs(ctx, a, undefined, undefined), filter_shape: numList(ctx, a, 'filterShape') }),
  [MaxPool]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'x');
    return ctx.emit('max_pool', [x], poolAttrs(ctx, a, x));
  },
  [AvgPool]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'x');
    return ctx.emit('avg_pool', [x], poolAttrs(ctx, a, x));
  },
  [MaxPoolGrad]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'input');
    return ctx.emit('max_pool_grad', [f32(ctx, input(ctx, ins, 'dy')), f32(ctx, x), f32(ctx, input(ctx, ins, 'output'))], poolAttrs(ctx, a, x));
  },
  [AvgPoolGrad]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'input');
    return ctx.emit('avg_pool_grad', [f32(ctx, input(ctx, ins, 'dy')), f32(ctx, x)], poolAttrs(ctx, a, x));
  },
  // IR batch_norm operands follow tf.batchNorm (and the runtime binding): x, mean, variance, offset, scale.
  [FusedBatchNorm]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'x');
    const p = (name: string, dflt?: number): Value => {
      const v = dflt === undefined ? input(ctx, ins, name) : optInput(ins, name);
      return v === undefined ? ctx.scalar(dflt!, x.dtype) : castTo(ctx, v, x.dtype);
    };
    return ctx.emit('batch_norm', [x, p('mean'), p('variance'), p('offset', 0), p('scale', 1)],
      { epsilon: num(ctx, a, 'varianceEpsilon', 0.001) });
  },

  // shape and data movement
  [Reshape]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'x');
    return reshapeTo(ctx, x, util.inferFromImplicitShape(numList(ctx, a, 'shape'), util.sizeFromShape(dimsOf(ctx, x))));
  },
  [ExpandDims]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'input');
    const s = dimsOf(ctx, x);
    const d = num(ctx, a, 'dim', 0);
    const at = d < 0 ? s.length + d + 1 : d;
    if (at < 0 || at > s.length) return ctx.unsupported(`${ctx.kernel}: axis ${d} out of range for rank ${s.length}`);
    return reshapeTo(ctx, x, [...s.slice(0, at), 1, ...s.slice(at)]);
  },
  [Transpose]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'x');
    const perm = a['perm'] === undefined ? x.shape.map((_, i) => x.shape.length - 1 - i) : numList(ctx, a, 'perm');
    return ctx.emit('transpose', [x], { perm: perm.map((p) => (p < 0 ? p + x.shape.length : p)) });
  },
  [Concat]: (ctx, ins, a) => {
    const xs = listInput(ctx, ins);
    const d = xs[0]!.dtype; // tfjs's Concat writes into the first input's dtype
    return ctx.emit('concat', xs.map((x) => castTo(ctx, x, d)), { axis: oneAxis(ctx, a['axis'], xs[0]!.shape.length) });
  },
  [Pack]: (ctx, ins, a) => {
    const xs = listInput(ctx, ins);
    const rank = xs[0]!.shape.length;
    const d = xs.map((x) => x.dtype).reduce(upcast);
    return ctx.emit('pack', xs.map((x) => castTo(ctx, x, d)), { axis: oneAxis(ctx, a['axis'], rank + 1) });
  },
  [Unpack]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'value');
    return ctx.emitN('unpack', [x], { axis: oneAxis(ctx, a['axis'], x.shape.length) });
  },
  [SplitV]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'x');
    const shape = dimsOf(ctx, x);
    const axis = oneAxis(ctx, a['axis'], shape.length);
    const spec = a['numOrSizeSplits'];
    if (typeof spec !== 'number' && !(Array.isArray(spec) && spec.every((s) => typeof s === 'number'))) {
      return ctx.unsupported(`${ctx.kernel}: numOrSizeSplits ${JSON.stringify(spec)}`);
    }
    const sizes = backend_util.prepareSplitSize(info(shape), spec as number | number[], axis);
    return ctx.emitN('split', [x], { sizes, axis });
  },
  [Slice]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'x');
    const begin = a['begin'] as number | number[];
    const size = a['size'] as number | number[] | undefined;
    const [b, s] = slice_util.parseSliceParams(info(dimsOf(ctx, x)), begin, size);
    return ctx.emit('slice', [x], { begin: b!, size: s! });
  },
  [StridedSlice]: stridedSlice,
  [GatherV2]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'x');
    const idx = castTo(ctx, input(ctx, ins, 'indices'), 'int32');
    const bd = num(ctx, a, 'batchDims', 0);
    return ctx.emit('gather', [x, idx], { axis: oneAxis(ctx, a['axis'], x.shape.length), batch_dims: bd < 0 ? bd + idx.shape.length : bd });
  },
  [GatherNd]: gatherNd,
  [ScatterNd]: scatterNd,
  [TensorScatterUpdate]: tensorScatterUpdate,
  [UnsortedSegmentSum]: (ctx, ins, a) => ctx.emit('unsorted_segment_sum',
    [input(ctx, ins, 'x'), castTo(ctx, input(ctx, ins, 'segmentIds'), 'int32')], { num_segments: num(ctx, a, 'numSegments') }),
  [PadV2]: (ctx, ins, a) => {
    const p = a['paddings'];
    if (!Array.isArray(p)) return ctx.unsupported(`${ctx.kernel}: paddings ${JSON.stringify(p)}`);
    return ctx.emit('pad', [input(ctx, ins, 'x')], { paddings: (p as [number, number][]).flat(), value: num(ctx, a, 'constantValue', 0) });
  },
  [MirrorPad]: mirrorPad,
  [TopK]: topK,
  [Multinomial]: multinomial,
  [Einsum]: einsum,
  [CropAndResize]: cropAndResize,
  [LRN]: lrn,
  [Conv3D]: conv3d,
  [MaxPool3D]: pool3d(true),
  [AvgPool3D]: pool3d(false),
  [SearchSorted]: searchSorted,
  [LRNGrad]: lrnGrad,
  [ResizeBilinear]: resizeBilinear,
  [ResizeBilinearGrad]: resizeGrad(true),
  [ResizeNearestNeighbor]: resizeNearestNeighbor,
  [ResizeNearestNeighborGrad]: resizeGrad(false),
  // Tiling only size-1 axes is a broadcast: broadcast_to's shape is dims, so a rep that is a
  // symbolic size (BatchNorm's gradient tiles [1,1,1,C] by [N,H,W,1]) stays polymorphic.
  [Tile]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'x');
    const reps = numList(ctx, a, 'reps');
    const s = x.shape;
    if (reps.length === s.length && reps.some((r) => r !== 1) && reps.every((r, i) => r === 1 || s[i] === 1)) {
      return ctx.emit('broadcast_to', [x], { shape: s.map((d, i) => (reps[i] === 1 ? d : reps[i]!)) });
    }
    return ctx.emit('tile', [x], { reps });
  },
  [Reverse]: (ctx, ins, a) => {
    const x = input(ctx, ins, 'x');
    const axes = axesOf(ctx, a['dims'], x.shape.length);
    return axes.length === 0 ? ctx.emit('identity', [x]) : ctx.emit('reverse', [x], { axes });
  },
  [SpaceToBatchND]: spaceToBatch,
  [BatchToSpaceND]: batchToSpace,
  [Diag]: diag,
  [FlipLeftRight]: (ctx, ins) => ctx.emit('reverse', [input(ctx, ins, 'image')], { axes: [2] }),
  [BroadcastTo]: (ctx, ins, a) => ctx.emit('broadcast_to', [input(ctx, ins, 'x')], { shape: numList(ctx, a, 'shape') }),
  [DepthToSpace]: (ctx, ins, a) => {
    requireNHWC(ctx, a);
    const x = input(ctx, ins, 'x');
    const [n, h, w, c] = dimsOf(ctx, x) as [number, number, number, number];
    const bs = num(ctx, a, 'blockSize');
    const oc = c / (bs * bs);
    const r = reshapeTo(ctx, x, [n, h, w, bs, bs, oc]);
    const t = ctx.emit('transpose', [r], { perm: [0, 1, 3, 2, 4, 5] });
    return reshapeTo(ctx, t, [n, h * bs, w * bs, oc]);
  },
} satisfies Record<string, KernelRule>;

/** A tfjs kernel the tracer has a rule for. */
export type TracedKernel = keyof typeof RULES;

export const KERNEL_RULES: Partial<Record<string, KernelRule>> = RULES;

/** Every tfjs kernel name the tracer can record. */
export const TRACED_KERNELS: string[] = Object.keys(RULES).sort();

// ---- which kernels make each IR op ----------------------------------------------------------

/** An IR op no tfjs kernel is traced to, and why. */
export interface NotTraced { readonly notTraced: string }
/** An IR op the tracer records outside the kernel rules: the file that does, and when. */
export interface TracedByTracer {
  readonly tracer: string;
  /** Kernel rules that make the op too. */
  readonly kernels?: readonly TracedKernel[];
}
/** An IR op many rules make as a step (the casts that match tfjs's dtypes): test/ir/op_coverage checks that one does. */
export interface TracedInMany { readonly many: string }

const DECOMPOSITIONS: TracedInMany = { many: 'the casts that give operands and results tfjs\'s dtypes' };

/**
 * Per IR op, the tfjs kernels whose rules above make it (in any branch, directly or through
 * a helper), or why there are none. A `Record<OpName, …>`: an op added to OPS does not compile
 * until it has its entry here, and test/ir/op_coverage.test.ts checks every list against the
 * rules' code (the ops a rule names), both ways.
 */
export const TRACED_BY: Readonly<Record<OpName, readonly TracedKernel[] | NotTraced | TracedByTracer | TracedInMany>> = {
  const: { tracer: 'src/trace/backend.ts: a tensor the function reads that is not an input, and ctx.constant / ctx.scalar in the rules' },
  sym_const: { tracer: 'src/trace/unify.ts: a scalar constant that follows a symbolic size across the traces' },
  fill: ['AvgPool3D', 'Conv3D', 'CropAndResize', 'Fill', 'LinSpace', 'MaxPool3D', 'Multinomial'],
  range: ['LinSpace', 'Range'],
  random_uniform: { tracer: 'src/trace/backend.ts: tf.randomUniform (and its kin) called in the function without a seed', kernels: ['Multinomial'] },
  random_normal: { tracer: 'src/trace/backend.ts: tf.randomNormal / tf.truncatedNormal called in the function without a seed' },
  assign: { tracer: 'src/trace/tracer.ts: a tf.Variable assigned in the function' },
  print: { tracer: 'src/trace/print.ts: tensor.print() in the function' },
  cond: { notTraced: 'structured control flow: gc.cond is to come (no tfjs kernel makes it)' },
  while_loop: { notTraced: 'structured control flow: gc.whileLoop is to come (no tfjs kernel makes it)' },
  scan: { notTraced: 'structured control flow: gc.scan is to come (no tfjs kernel makes it)' },
  abs: ['Abs'],
  acos: ['Acos'],
  acosh: ['Acosh'],
  asin: ['Asin'],
  asinh: ['Asinh'],
  atan: ['Atan'],
  atanh: ['Atanh'],
  ceil: ['Ceil', 'CropAndResize'],
  cos: ['Cos'],
  cosh: ['Cosh'],
  elu: ['Elu'],
  erf: ['Erf'],
  exp: ['Exp'],
  expm1: ['Expm1'],
  floor: ['CropAndResize', 'Floor'],
  log: ['Log'],
  log1p: ['Log1p'],
  neg: ['CropAndResize', 'Neg'],
  reciprocal: ['Reciprocal'],
  relu: ['Relu'],
  relu6: ['Relu6'],
  round: ['Round'],
  rsqrt: ['Rsqrt'],
  selu: ['Selu'],
  sigmoid: ['Sigmoid'],
  sign: ['Sign'],
  sin: ['Sin'],
  sinh: ['Sinh'],
  softplus: ['Softplus'],
  sqrt: ['Sqrt'],
  square: ['LRN', 'LRNGrad', 'Square'],
  tan: ['Tan'],
  tanh: ['Tanh'],
  identity: ['All', 'Any', 'Identity', 'Max', 'Mean', 'Min', 'MirrorPad', 'Prod', 'Reverse', 'StridedSlice',
    'Sum', 'TensorScatterUpdate'],
  leaky_relu: ['LeakyRelu'],
  step: ['Step'],
  clip: ['ClipByValue'],
  is_nan: ['CropAndResize', 'IsNan'],
  is_inf: ['IsInf'],
  is_finite: ['IsFinite'],
  logical_not: ['CropAndResize', 'LogicalNot'],
  cast: DECOMPOSITIONS,
  zeros_like: ['TopK', 'ZerosLike'],
  ones_like: ['OnesLike'],
  add: ['Add', 'AvgPool3D', 'CropAndResize', 'LRN', 'LRNGrad', 'LinSpace', 'MaxPool3D', 'ResizeBilinear'],
  sub: ['CropAndResize', 'ResizeBilinear', 'Sub', 'TensorScatterUpdate'],
  mul: ['CropAndResize', 'Einsum', 'GatherNd', 'LRN', 'LRNGrad', 'LinSpace', 'Multiply', 'ResizeBilinear',
    'ScatterNd', 'TensorScatterUpdate', 'TopK'],
  div: ['AvgPool3D', 'CropAndResize', 'LRNGrad', 'MaxPool3D', 'RealDiv'],
  floor_div: ['FloorDiv'],
  mod: ['Mod'],
  pow: ['LRN', 'LRNGrad', 'Pow'],
  maximum: ['AvgPool3D', 'CropAndResize', 'MaxPool3D', 'Maximum', 'TensorScatterUpdate'],
  minimum: ['CropAndResize', 'Minimum'],
  squared_difference: ['SquaredDifference'],
  atan2: ['Atan2'],
  prelu: ['Prelu'],
  elu_grad: ['EluGrad'],
  equal: ['Equal', 'TensorScatterUpdate', 'TopK'],
  not_equal: ['NotEqual'],
  less: ['CropAndResize', 'Less', 'Multinomial', 'SearchSorted'],
  less_equal: ['LessEqual', 'SearchSorted'],
  greater: ['CropAndResize', 'Greater', 'TensorScatterUpdate', 'TopK'],
  greater_equal: ['CropAndResize', 'GreaterEqual'],
  logical_and: ['CropAndResize', 'LogicalAnd', 'TensorScatterUpdate', 'TopK'],
  logical_or: ['CropAndResize', 'LogicalOr', 'TopK'],
  logical_xor: ['LogicalXor'],
  select: ['CropAndResize', 'Cumprod', 'Diag', 'Select', 'TensorScatterUpdate', 'TopK'],
  fused_elementwise: { notTraced: 'made by the fuse-elementwise pass' },
  add_n: ['AddN'],
  reduce_sum: ['Einsum', 'GatherNd', 'ScatterNd', 'SearchSorted', 'Sum', 'TensorScatterUpdate', 'TopK'],
  reduce_mean: ['Mean'],
  reduce_max: ['Max'],
  reduce_min: ['Min'],
  reduce_prod: ['Cumprod', 'Prod'],
  reduce_all: ['All'],
  reduce_any: ['Any', 'TensorScatterUpdate'],
  argmax: ['ArgMax', 'Multinomial'],
  argmin: ['ArgMin'],
  cumsum: ['Cumsum', 'Multinomial'],
  softmax: ['Multinomial', 'Softmax'],
  log_softmax: ['LogSoftmax'],
  matmul: ['BatchMatMul', 'ResizeBilinearGrad', 'ResizeNearestNeighborGrad'],
  fused_matmul: ['_FusedMatMul'],
  conv2d: ['Conv2D', 'Conv3D'],
  depthwise_conv2d: ['DepthwiseConv2dNative'],
  fused_conv2d: ['FusedConv2D'],
  fused_depthwise_conv2d: ['FusedDepthwiseConv2D'],
  conv2d_backprop_input: ['Conv2DBackpropInput'],
  conv2d_backprop_filter: ['Conv2DBackpropFilter'],
  depthwise_conv2d_backprop_input: ['DepthwiseConv2dNativeBackpropInput'],
  depthwise_conv2d_backprop_filter: ['DepthwiseConv2dNativeBackpropFilter'],
  max_pool: ['AvgPool3D', 'MaxPool', 'MaxPool3D'],
  avg_pool: ['AvgPool', 'AvgPool3D', 'MaxPool3D'],
  max_pool_grad: ['MaxPoolGrad'],
  avg_pool_grad: ['AvgPoolGrad'],
  batch_norm: ['FusedBatchNorm'],
  reshape: ['AvgPool3D', 'BatchToSpaceND', 'Conv3D', 'CropAndResize', 'Cumprod', 'DepthToSpace', 'Diag',
    'Einsum', 'ExpandDims', 'GatherNd', 'MaxPool3D', 'Multinomial', 'Reshape', 'ScatterNd', 'SearchSorted',
    'SpaceToBatchND', 'StridedSlice', 'TensorScatterUpdate', 'TopK'],
  transpose: ['BatchToSpaceND', 'Conv3D', 'DepthToSpace', 'Einsum', 'ResizeBilinearGrad',
    'ResizeNearestNeighborGrad', 'SpaceToBatchND', 'Transpose'],
  concat: ['Concat', 'Conv3D', 'MirrorPad'],
  pack: ['Pack'],
  unpack: ['Unpack'],
  split: ['SplitV'],
  slice: ['AvgPool3D', 'BatchToSpaceND', 'Conv3D', 'CropAndResize', 'LRN', 'LRNGrad', 'MaxPool3D',
    'MirrorPad', 'Multinomial', 'Slice', 'StridedSlice', 'TopK'],
  strided_slice: ['AvgPool3D', 'Conv3D', 'MaxPool3D', 'StridedSlice'],
  gather: ['CropAndResize', 'GatherNd', 'GatherV2', 'ResizeBilinear', 'ResizeNearestNeighbor', 'TensorScatterUpdate'],
  pad: ['AvgPool3D', 'Conv3D', 'CropAndResize', 'LRN', 'LRNGrad', 'MaxPool3D', 'Multinomial', 'PadV2',
    'SpaceToBatchND'],
  tile: ['Tile'],
  reverse: ['FlipLeftRight', 'MirrorPad', 'Reverse', 'StridedSlice'],
  broadcast_to: ['BroadcastTo', 'Tile'],
  one_hot: ['OneHot'],
  unsorted_segment_sum: ['ScatterNd', 'TensorScatterUpdate', 'UnsortedSegmentSum'],
};
