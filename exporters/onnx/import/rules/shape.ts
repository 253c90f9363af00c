/**
 * Import rules: shapes and data movement (Reshape, Squeeze, Slice, Gather, Concat, Split,
 * Pad, Tile, Expand, Transpose…), constants and shape arithmetic (Constant, Shape, Size,
 * ConstantOfShape, Range), Cast, and the ops built from them.
 *
 * Shape tensors: an integer tensor whose elements are known at import time (a constant, or
 * dims of a symbolic shape read by Shape) is tracked element by element by the Builder, so
 * Reshape(x, Concat(Shape(x)[0:1], [-1])) works on a graph with a symbolic batch dim.
 */
import type { Dim } from '../../../../ir/dim.js';
import { dimAdd, dimEq, dimToString, isStatic, shapeToString } from '../../../../ir/dim.js';
import type { DType } from '../../../../ir/dtype.js';
import { typedArrayFor } from '../../../../ir/dtype.js';
import type { Value } from '../../../../ir/graph.js';
import { broadcastShapes } from '../../../../ir/shape_util.js';
import type { TensorData } from '../../../../ir/tensor_data.js';
import { elementAt, sizeOf, tensorData } from '../../../../ir/tensor_data.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import { dimProduct as product } from '../../../../ir/dim.js';
import { irDTypeOf, onnxTypeName } from '../../dtypes.js';
import type { MadeBy } from '../made_by.js';

/** Small constants are computed at import; bigger ones stay ops. */
const CONST_LIMIT = 1 << 16;

/** ONNX's "to the end" sentinels for slice ends (INT_MAX, INT64_MAX and the like). */
const HUGE = 2 ** 30;

function dimsString(ds: readonly Dim[]): string {
  return `[${ds.map(dimToString).join(',')}]`;
}

// ---- Reshape and friends ----------------------------------------------------------------

/** The IR target of an ONNX Reshape: 0 copies the input dim (unless allowzero), -1 is inferred. */
function reshapeTarget(c: NodeCtx, x: Value, target: Dim[], allowZero: boolean): Dim[] {
  const out = target.map((d, i) => {
    if (d === 0 && !allowZero) {
      if (i >= x.shape.length) fail(`shape ${dimsString(target)} copies dim ${i}, but the operand has rank ${x.shape.length}`);
      return x.shape[i]!;
    }
    return d;
  });
  const neg = out.findIndex((d) => d === -1);
  if (neg >= 0) {
    // Resolve -1 here when possible, so the IR target is explicit.
    const total = product(x.shape), known = product(out.filter((_, i) => i !== neg));
    if (total !== undefined && known !== undefined && isStatic(known) && known !== 0) {
      const rest = isStatic(total) ? (total % known === 0 ? total / known : undefined)
        : (total.k % known === 0 && total.c % known === 0 ? { sym: total.sym, k: total.k / known, c: total.c / known } : undefined);
      if (rest !== undefined) out[neg] = rest;
    } else if (total !== undefined && known !== undefined && !isStatic(known) && !isStatic(total)
      && known.sym === total.sym && known.c === 0 && total.c === 0 && total.k % known.k === 0) {
      out[neg] = total.k / known.k;
    }
  }
  return out;
}

function flattenShape(c: NodeCtx, x: Value, axis: number): Dim[] {
  const outer = product(x.shape.slice(0, axis)), inner = product(x.shape.slice(axis));
  if (outer === undefined && inner === undefined) fail(`cannot flatten ${shapeToString(x.shape)} at axis ${axis}: two symbolic factors on each side`);
  return outer === undefined ? [-1, inner!] : [outer, inner ?? -1];
}

/** Axes of Squeeze / Unsqueeze: an attribute before opset 13, an operand since. */
function axesOf(c: NodeCtx): number[] | undefined {
  if (c.opset >= 13) return c.has(1) ? c.ints(1, 'axes') : undefined;
  return c.attr.ints('axes');
}

const squeeze: ImportRule = (c) => {
  const x = c.input(0);
  const r = x.shape.length;
  const given = axesOf(c);
  const axes = given === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : given.map((a) => c.axis(a, r));
  for (const a of axes) if (x.shape[a] !== 1) fail(`cannot squeeze axis ${a} of ${shapeToString(x.shape)}: its size is not 1`);
  const y = c.b.squeeze(x, axes);
  const k = c.b.dimsOf(x);
  return k ? c.b.setDims(y, k) : y;
};

const unsqueeze: ImportRule = (c) => {
  const x = c.input(0);
  const axes = axesOf(c);
  if (axes === undefined) fail('axes are missing');
  const r = x.shape.length + axes.length;
  const norm = axes.map((a) => c.axis(a, r));
  if (new Set(norm).size !== norm.length) fail(`axes [${axes.join(',')}] repeat an axis`);
  const y = c.b.unsqueeze(x, norm);
  const k = c.b.dimsOf(x);
  return k ? c.b.setDims(y, k) : y;
};

// ---- Slice -----------------------------------------------------------------------------

interface SliceSpec { starts: number[]; ends: number[]; axes: number[]; steps: number[] }

function sliceSpec(c: NodeCtx, rank: number): SliceSpec {
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (c.opset < 10) {
    starts = c.attr.ints('starts') ?? fail('starts are missing');
    ends = c.attr.ints('ends') ?? fail('ends are missing');
    axes = c.attr.ints('axes');
  } else {
    starts = c.ints(1, 'starts');
    ends = c.ints(2, 'ends');
    axes = c.has(3) ? c.ints(3, 'axes') : undefined;
    steps = c.has(4) ? c.ints(4, 'steps') : undefined;
  }
  axes ??= starts.map((_, i) => i);
  steps ??= starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    fail(`starts, ends, axes and steps differ in length (${starts.length}, ${ends.length}, ${axes.length}, ${steps.length})`);
  }
  return { starts, ends, axes: axes.map((a) => c.axis(a, rank)), steps };
}

/** Begin and end of one sliced axis of size d, clamped as ONNX clamps them. */
function sliceBounds(c: NodeCtx, d: Dim, start: number, end: number, step: number): [Dim, Dim] {
  if (step === 0) fail('a step is 0');
  if (isStatic(d)) {
    let b = start < 0 ? start + d : start, e = end < 0 ? end + d : end;
    if (step > 0) { b = Math.min(Math.max(b, 0), d); e = Math.min(Math.max(e, 0), d); }
    else { b = Math.min(Math.max(b, 0), d - 1); e = Math.min(Math.max(e, -1), d - 1); }
    return [b, e];
  }
  if (step !== 1) fail(`a step of ${step} along the symbolic dim ${dimToString(d)}`);
  const b: Dim | undefined = start < 0 ? dimAdd(d, start) : start;
  const e: Dim | undefined = end >= HUGE ? d : end < 0 ? dimAdd(d, end) : end;
  if (start <= -HUGE) return [0, e!];
  return [b!, e!];
}

function sliceValue(c: NodeCtx, x: Value, spec: SliceSpec): Value {
  const r = x.shape.length;
  const begin: Dim[] = x.shape.map(() => 0), end: Dim[] = [...x.shape], strides = x.shape.map(() => 1);
  spec.axes.forEach((a, i) => {
    const [b, e] = sliceBounds(c, x.shape[a]!, spec.starts[i]!, spec.ends[i]!, spec.steps[i]!);
    begin[a] = b; end[a] = e; strides[a] = spec.steps[i]!;
  });
  if (strides.every((s) => s === 1)) {
    const size = begin.map((b, i) => {
      const e = end[i]!;
      if (isStatic(b) && isStatic(e)) return Math.max(0, e - b);
      const n = dimAdd(e, isStatic(b) ? -b : { sym: b.sym, k: -b.k, c: -b.c });
      if (n === undefined) fail(`cannot size the slice ${dimToString(b)}..${dimToString(e)}`);
      return n;
    });
    if (size.every((s, i) => dimEq(s, x.shape[i]!))) return x;
    const y = c.b.op('slice', [x], { begin, size });
    const k = r === 1 ? c.b.dimsOf(x) : undefined;
    if (k && isStatic(begin[0]!) && isStatic(size[0]!)) c.b.setDims(y, k.slice(begin[0], begin[0] + size[0]));
    return y;
  }
  return c.b.op('strided_slice', [x], { begin, end, strides });
}

// ---- Gather ----------------------------------------------------------------------------

/**
 * Fails when operand `i`, constant indices into an axis of static size n, has one outside
 * [-n, n): ONNX Runtime refuses it at run time, and an int64 index such as 2^32+1 must not
 * wrap to a valid one.
 */
function checkConstIndices(c: NodeCtx, i: number, n: Dim, axis: number): void {
  const k = c.constInput(i);
  if (!k || !isStatic(n)) return;
  for (let j = 0; j < k.data.length; j++) {
    const v = k.data[j]!;
    if (v < -n || v >= n) {
      fail(`index ${String(v)} (element ${j} of '${c.node.input![i]}') is out of range for axis ${axis} of size ${n}`,
        `indices into an axis of size ${n} lie in [${-n}, ${n - 1}]`);
    }
  }
}

/** Indices with negative entries counted from the end of an axis of size n. */
function wrapIndices(c: NodeCtx, idx: Value, n: Dim): Value {
  const k = c.b.constOf(idx);
  if (k) {
    const xs = k.data as ArrayLike<number | bigint>;
    let any = false;
    for (let i = 0; i < xs.length && !any; i++) any = xs[i]! < 0;
    if (!any) return idx;
    if (!isStatic(n)) fail('negative indices into a symbolic dim');
    const data = k.data.slice();                            // a typed copy: indices may be many
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < 0) data[i] = (typeof v === 'bigint' ? v + BigInt(n) : v + n) as never;
    }
    return c.b.constant({ dtype: k.dtype, shape: k.shape, data });
  }
  if (!isStatic(n)) return idx;
  const zero = c.b.scalar(0, idx.dtype);
  return c.b.op('select', [c.b.op('less', [idx, zero]), c.b.op('add', [idx, c.b.scalar(n, idx.dtype)]), idx]);
}

const gather: ImportRule = (c) => {
  const x = c.input(0);
  const axis = c.axis(c.attr.int('axis', 0), x.shape.length);
  let idx = c.input(1);
  if (idx.dtype !== 'int32' && idx.dtype !== 'int64') fail(`indices must be integers, got ${idx.dtype}`);
  checkConstIndices(c, 1, x.shape[axis]!, axis);
  idx = wrapIndices(c, idx, x.shape[axis]!);
  const y = c.b.op('gather', [x, idx], { axis, batch_dims: 0 });
  const k = x.shape.length === 1 ? c.b.dimsOf(x) : undefined, ki = c.b.dimsOf(idx);
  if (k && ki && idx.shape.length <= 1) c.b.setDims(y, ki.map((i) => k[i as number]!));
  return y;
};

/**
 * GatherElements as a one-hot contraction: out[..j..] = Σ_a onehot(idx[..j..])[a] · x[..a..],
 * with the gathered axis of x moved last. Exact for finite values.
 */
const gatherElements: ImportRule = (c) => {
  let x = c.input(0);
  const r = x.shape.length;
  const axis = c.axis(c.attr.int('axis', 0), r);
  const n = x.shape[axis]!;
  if (!isStatic(n)) fail('GatherElements needs a static size along its axis');
  checkConstIndices(c, 1, n, axis);
  let idx = wrapIndices(c, c.b.cast(c.input(1), 'int32'), n);
  if (idx.shape.length !== r) fail(`indices have rank ${idx.shape.length}, data rank ${r}`);
  // Other axes: indices may be shorter than the data.
  if (idx.shape.some((d, i) => i !== axis && !dimEq(d, x.shape[i]!))) {
    const size = x.shape.map((d, i) => (i === axis ? d : idx.shape[i]!));
    x = c.b.op('slice', [x], { begin: x.shape.map(() => 0), size });
  }
  const dtype = x.dtype === 'bool' ? 'int32' : x.dtype;
  const oh = c.b.op('one_hot', [idx], { depth: n, on_value: 1, off_value: 0, dtype });   // [..idx.., n]
  const moved = c.b.unsqueeze(c.b.moveAxis(c.b.cast(x, dtype), axis, r - 1), [axis]);      // [.., 1 at axis, .., n]
  const y = c.b.op('reduce_sum', [c.b.op('mul', [oh, moved])], { axes: [r], keep_dims: false });
  return c.b.cast(y, x.dtype);
};

// ---- Concat / Split ------------------------------------------------------------------------

const concat: ImportRule = (c) => {
  const xs = c.inputs();
  if (xs.length === 0) fail('needs at least one operand');
  const axis = c.axis(c.attr.int('axis') ?? (c.opset < 4 ? 1 : fail('axis is missing')), xs[0]!.shape.length);
  // ONNX allows empty operands along the axis; the IR concat would accept them, tfjs too.
  const parts = xs.filter((x) => !(x.shape[axis] === 0 && xs.length > 1));
  const y = parts.length === 1 ? parts[0]! : c.b.op('concat', parts.length ? parts : [xs[0]!], { axis });
  if (y.shape.length === 1) {
    const ks = xs.map((x) => c.b.dimsOf(x));
    if (ks.every((k) => k !== undefined)) c.b.setDims(y, ks.flat() as Dim[]);
  }
  return y;
};

const split: ImportRule = (c) => {
  const x = c.input(0);
  const axis = c.axis(c.attr.int('axis', 0), x.shape.length);
  const d = x.shape[axis]!;
  let sizes: number[] | undefined;
  if (c.opset < 13) sizes = c.attr.ints('split');
  else if (c.has(1)) sizes = c.ints(1, 'split');
  const outs = c.numOutputs;
  if (sizes === undefined || sizes.length === 0) {
    if (!isStatic(d)) {
      if (outs === 1) return [x];
      fail(`cannot split the symbolic dim ${dimToString(d)} in ${outs}`);
    }
    const num = c.opset >= 18 ? c.attr.int('num_outputs') ?? outs : outs;
    const chunk = c.opset >= 18 ? Math.ceil(d / num) : d / num;
    if (num !== outs) fail(`num_outputs is ${num}, the node has ${outs} outputs`);
    if (!Number.isInteger(chunk)) fail(`${d} elements do not split in ${num} equal parts`);
    sizes = Array.from({ length: num }, (_, i) => Math.max(0, Math.min(chunk, d - i * chunk)));
  }
  if (isStatic(d) && sizes.reduce((a, b) => a + b, 0) !== d) fail(`split sizes [${sizes.join(',')}] do not add up to ${d}`);
  if (sizes.length === 1) return [x];
  return c.b.ops('split', [x], { sizes, axis });
};

// ---- Pad -----------------------------------------------------------------------------------

/** Per-axis [before, after] of an ONNX Pad: an attribute before opset 11, operands since (axes since 18). */
function padSpec(c: NodeCtx, rank: number): { pads: number[]; value: number; mode: string } {
  const mode = c.attr.string('mode', 'constant');
  let flat: number[], value = 0;
  if (c.opset < 11) {
    flat = c.attr.ints('pads') ?? c.attr.ints('paddings') ?? fail('pads are missing');
    value = c.attr.float('value', 0);
  } else {
    flat = c.ints(1, 'pads');
    value = c.floatInput(2, 'constant_value') ?? 0;
  }
  let axes = Array.from({ length: rank }, (_, i) => i);
  if (c.opset >= 18 && c.has(3)) axes = c.ints(3, 'axes').map((a) => c.axis(a, rank));
  if (flat.length !== 2 * axes.length) fail(`pads has ${flat.length} entries for ${axes.length} axes`);
  const pads = new Array<number>(2 * rank).fill(0);
  axes.forEach((a, i) => { pads[2 * a] = flat[i]!; pads[2 * a + 1] = flat[i + axes.length]!; });
  return { pads, value, mode };
}

function padAxis(c: NodeCtx, x: Value, axis: number, before: number, after: number, mode: string): Value {
  if (before === 0 && after === 0) return x;
  const d = x.shape[axis]!;
  if (!isStatic(d)) fail(`${mode} padding along the symbolic dim ${dimToString(d)}`);
  if (before < 0 || after < 0) fail(`negative pads with mode ${mode}`);
  const piece = (start: number, len: number): Value => {
    const begin = x.shape.map((_, i) => (i === axis ? start : 0));
    const size = x.shape.map((s, i) => (i === axis ? len : s));
    return c.b.op('slice', [x], { begin, size });
  };
  const parts: Value[] = [];
  if (mode === 'reflect') {
    if (before >= d || after >= d) fail(`reflect padding of ${Math.max(before, after)} needs more than ${d} elements along axis ${axis}`);
    if (before > 0) parts.push(c.b.op('reverse', [piece(1, before)], { axes: [axis] }));
    parts.push(x);
    if (after > 0) parts.push(c.b.op('reverse', [piece(d - 1 - after, after)], { axes: [axis] }));
  } else {
    const rep = (p: Value, n: number) => c.b.op('tile', [p], { reps: x.shape.map((_, i) => (i === axis ? n : 1)) });
    if (before > 0) parts.push(rep(piece(0, 1), before));
    parts.push(x);
    if (after > 0) parts.push(rep(piece(d - 1, 1), after));
  }
  return c.b.op('concat', parts, { axis });
}

const pad: ImportRule = (c) => {
  const x = c.input(0);
  const { pads, value, mode } = padSpec(c, x.shape.length);
  if (pads.every((p) => p === 0)) return x;
  if (mode === 'constant') return c.b.op('pad', [x], { paddings: pads, value });
  if (mode !== 'reflect' && mode !== 'edge') fail(`pad mode '${mode}' is not supported (constant, reflect, edge)`);
  let y = x;
  for (let a = 0; a < x.shape.length; a++) y = padAxis(c, y, a, pads[2 * a]!, pads[2 * a + 1]!, mode);
  return y;
};

// ---- constants -----------------------------------------------------------------------------

const constant: ImportRule = (c) => {
  const t = c.attr.tensor('value');
  if (t) return c.b.constant(t);
  const f = c.attr.float('value_float');
  if (f !== undefined) return c.b.scalar(f, 'float32');
  const fs = c.attr.floats('value_floats');
  if (fs) return c.b.vector(fs, 'float32');
  const i = c.attr.bigint('value_int');                  // exact: a number would round past 2^53
  if (i !== undefined) return c.b.constant(tensorData('int64', [], [i]));
  const is = c.attr.bigints('value_ints');
  if (is) return c.b.constant(tensorData('int64', [is.length], is));
  if (c.attr.has('sparse_value')) fail('sparse constants are not supported');
  if (c.attr.has('value_string') || c.attr.has('value_strings')) fail('string constants are not supported');
  return fail('has no value attribute');
};

/** A tensor of `shape` filled with one value: a constant when small, else a fill op. */
function filled(c: NodeCtx, shape: Dim[], value: number, dtype: DType): Value {
  if (shape.every(isStatic) && sizeOf(shape) <= CONST_LIMIT) {
    return c.b.constant(tensorData(dtype, shape, new Array<number>(sizeOf(shape)).fill(value)));
  }
  return c.b.op('fill', [], { shape, value, dtype });
}

const constantOfShape: ImportRule = (c) => {
  const shape = c.dims(0, 'shape');
  const v: TensorData = c.attr.tensor('value') ?? tensorData('float32', [1], [0]);
  if (v.data.length !== 1) fail(`value must have one element, got shape [${v.shape.join(',')}]`);
  for (const d of shape) if (isStatic(d) && d < 0) fail(`negative dim in shape ${dimsString(shape)}`);
  return filled(c, shape, elementAt(v, 0), v.dtype);
};

const shapeRule: ImportRule = (c) => {
  const x = c.input(0);
  const r = x.shape.length;
  const clamp = (a: number) => Math.min(Math.max(a < 0 ? a + r : a, 0), r);
  const start = c.opset >= 15 ? clamp(c.attr.int('start', 0)) : 0;
  const end = c.opset >= 15 && c.attr.has('end') ? clamp(c.attr.int('end', r)) : r;
  return c.b.dimsValue(x.shape.slice(start, Math.max(start, end)), 'int64');
};

const size: ImportRule = (c) => {
  const x = c.input(0);
  const n = product(x.shape);
  if (n === undefined) fail(`the size of ${shapeToString(x.shape)} is not affine in one symbol`);
  return c.b.dimsValue([n], 'int64', true);
};

const range: ImportRule = (c) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => c.floatInput(i, ['start', 'limit', 'delta'][i]!)) as [number, number, number];
  if (delta === 0) fail('delta is 0');
  const dtype = c.input(0).dtype;
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  if (n > CONST_LIMIT) return c.b.op('range', [], { start, stop: limit, step: delta, dtype });
  return c.b.constant(tensorData(dtype, [n], Array.from({ length: n }, (_, i) => start + i * delta)));
};

function castTarget(c: NodeCtx, to: number): DType {
  const d = irDTypeOf(to);
  if (d === undefined) fail(`cast to ${onnxTypeName(to)} is not supported`);
  return d;
}

const cast: ImportRule = (c) => {
  const x = c.input(0);
  const to = c.attr.int('to') ?? fail('to is missing');
  const y = c.b.cast(x, castTarget(c, to));
  const k = c.b.dimsOf(x);
  return k && y.dtype !== 'float32' && y.dtype !== 'bool' ? c.b.setDims(y, k) : y;
};

// ---- others ---------------------------------------------------------------------------

const expand: ImportRule = (c) => {
  const x = c.input(0);
  const target = c.dims(1, 'shape');
  let shape: Dim[];
  try {
    shape = broadcastShapes(x.shape, target, 'Expand');
  } catch (e) {
    return fail((e as Error).message);
  }
  if (shape.length === x.shape.length && shape.every((d, i) => dimEq(d, x.shape[i]!))) return x;
  return c.b.op('broadcast_to', [x], { shape });
};

const tile: ImportRule = (c) => {
  const x = c.input(0);
  const reps = c.ints(1, 'repeats');
  if (reps.length !== x.shape.length) fail(`repeats [${reps.join(',')}] do not match rank ${x.shape.length}`);
  if (reps.every((r) => r === 1)) return x;
  return c.b.op('tile', [x], { reps });
};

const transpose: ImportRule = (c) => {
  const x = c.input(0);
  const r = x.shape.length;
  const perm = c.attr.ints('perm', Array.from({ length: r }, (_, i) => r - 1 - i));
  if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) fail(`perm [${perm.join(',')}] is not a permutation of ${r} axes`);
  return c.b.transpose(x, perm);
};

const oneHot: ImportRule = (c) => {
  const depthIn = c.constRequired(1, 'depth');
  const depth = Math.trunc(elementAt(depthIn, 0));
  const values = c.constRequired(2, 'values');
  if (values.data.length !== 2) fail(`values must have 2 elements, got ${values.data.length}`);
  let idx = c.b.cast(c.input(0), 'int32');
  idx = c.b.op('select', [c.b.op('less', [idx, c.b.scalar(0, 'int32')]), c.b.op('add', [idx, c.b.scalar(depth, 'int32')]), idx]);
  const y = c.b.op('one_hot', [idx], { depth, on_value: elementAt(values, 1), off_value: elementAt(values, 0), dtype: values.dtype });
  const r = y.shape.length;
  return c.b.moveAxis(y, r - 1, c.axis(c.attr.int('axis', -1), r));
};

const trilu: ImportRule = (c) => {
  const x = c.input(0);
  const r = x.shape.length;
  if (r < 2) fail(`needs rank ≥ 2, got ${shapeToString(x.shape)}`);
  const n = x.shape[r - 2]!, m = x.shape[r - 1]!;
  if (!isStatic(n) || !isStatic(m)) fail('needs static matrix dims');
  const k = c.has(1) ? c.ints(1, 'k')[0]! : 0;
  const upper = c.attr.int('upper', 1) !== 0;
  c.b.afford('bool', n * m, `Trilu's mask of ${n}×${m}`);
  const mask = new Uint8Array(n * m);                   // a typed array: n·m may be large
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) mask[i * m + j] = (upper ? j - i >= k : j - i <= k) ? 1 : 0;
  const keep = c.b.constant({ dtype: 'bool', shape: [n, m], data: mask });
  return c.b.op('select', [keep, x, c.b.scalar(0, x.dtype)]);
};

const eyeLike: ImportRule = (c) => {
  const x = c.input(0);
  if (x.shape.length !== 2 || !x.shape.every(isStatic)) fail(`needs a static 2-D operand, got ${shapeToString(x.shape)}`);
  const [n, m] = x.shape as [number, number];
  const dtype = c.attr.has('dtype') ? castTarget(c, c.attr.int('dtype', 1)) : x.dtype;
  const k = c.attr.int('k', 0);
  c.b.afford(dtype, n * m, `EyeLike's ${n}×${m} result`);
  const data = typedArrayFor(dtype, n * m);
  for (let i = Math.max(0, -k); i < n && i + k < m; i++) data[i * m + i + k] = (dtype === 'int64' ? 1n : 1) as never;
  return c.b.constant({ dtype, shape: [n, m], data });
};

/** DepthToSpace (DCR or CRD) and SpaceToDepth: reshape, transpose, reshape. */
const depthToSpace: ImportRule = (c) => {
  const x = c.input(0);
  if (x.shape.length !== 4) fail(`needs a 4-D operand, got ${shapeToString(x.shape)}`);
  const b = c.attr.int('blocksize') ?? fail('blocksize is missing');
  const [n, ch, h, w] = x.shape as [Dim, Dim, Dim, Dim];
  if (!isStatic(ch) || ch % (b * b) !== 0) fail(`channels ${dimToString(ch)} are not a multiple of ${b * b}`);
  const co = ch / (b * b);
  const crd = c.attr.string('mode', 'DCR') === 'CRD';
  const six = crd ? [n, co, b, b, h, w] : [n, b, b, co, h, w];
  const perm = crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2];
  const t = c.b.transpose(c.b.reshape(x, six), perm);
  const scaled = (d: Dim) => (isStatic(d) ? d * b : { sym: d.sym, k: d.k * b, c: d.c * b });
  return c.b.reshape(t, [n, co, scaled(h), scaled(w)]);
};

const spaceToDepth: ImportRule = (c) => {
  const x = c.input(0);
  if (x.shape.length !== 4) fail(`needs a 4-D operand, got ${shapeToString(x.shape)}`);
  const b = c.attr.int('blocksize') ?? fail('blocksize is missing');
  const [n, ch, h, w] = x.shape as [Dim, Dim, Dim, Dim];
  if (!isStatic(h) || !isStatic(w) || !isStatic(ch) || h % b !== 0 || w % b !== 0) fail(`needs static H, W divisible by ${b}, got ${shapeToString(x.shape)}`);
  const t = c.b.transpose(c.b.reshape(x, [n, ch, h / b, b, w / b, b]), [0, 3, 5, 1, 2, 4]);
  return c.b.reshape(t, [n, ch * b * b, h / b, w / b]);
};

/** Dropout at inference: the identity, and an all-true mask when asked for. */
const dropout: ImportRule = (c) => {
  const x = c.input(0);
  if (c.opset >= 12 && c.has(2)) {
    const training = c.constRequired(2, 'training_mode');
    const ratio = c.has(1) ? (c.floatInput(1, 'ratio') ?? 0.5) : 0.5;
    if (elementAt(training, 0) !== 0 && ratio !== 0) fail('training mode draws random masks, which graphc does not import', 'export the model for inference');
  }
  if (!c.wants(1)) return [x];
  return [x, filled(c, [...x.shape], 1, 'bool')];
};

export const IMPORT_SHAPE_RULES = {
  Reshape: (c) => {
    const x = c.input(0);
    const target = c.opset < 5 ? (c.attr.ints('shape') ?? fail('shape is missing')) : c.dims(1, 'shape');
    const out = reshapeTarget(c, x, target, c.opset >= 14 && c.attr.int('allowzero', 0) !== 0);
    const y = c.b.reshape(x, out);
    const k = c.b.dimsOf(x);
    return k && y.shape.length <= 1 ? c.b.setDims(y, k) : y;
  },
  Flatten: (c) => {
    const x = c.input(0);
    const axis = c.attr.int('axis', 1);
    const a = axis < 0 ? axis + x.shape.length : axis;
    if (a < 0 || a > x.shape.length) fail(`axis ${axis} out of range for rank ${x.shape.length}`);
    return c.b.reshape(x, flattenShape(c, x, a));
  },
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: transpose,
  Slice: (c) => {
    const x = c.input(0);
    return sliceValue(c, x, sliceSpec(c, x.shape.length));
  },
  Gather: gather,
  GatherElements: gatherElements,
  Concat: concat,
  Split: split,
  Pad: pad,
  Tile: tile,
  Expand: expand,
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Shape: shapeRule,
  Size: size,
  Range: range,
  Cast: cast,
  CastLike: (c) => c.b.cast(c.input(0), c.input(1).dtype),
  OneHot: oneHot,
  Trilu: trilu,
  EyeLike: eyeLike,
  DepthToSpace: depthToSpace,
  SpaceToDepth: spaceToDepth,
  Dropout: dropout,
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_SHAPE_MAKES = {
  sym_const: ['Shape', 'Size'],
  fill: ['ConstantOfShape', 'Dropout'],
  range: ['Range'],
  reduce_sum: ['GatherElements'],
  concat: ['Concat', 'Pad'],
  pack: ['Shape', 'Size'],
  split: ['Split'],
  strided_slice: ['Slice'],
  gather: ['Gather'],
  pad: ['Pad'],
  tile: ['Pad', 'Tile'],
  reverse: ['Pad'],
  broadcast_to: ['Expand'],
  one_hot: ['GatherElements', 'OneHot'],
} satisfies MadeBy<typeof IMPORT_SHAPE_RULES>;
