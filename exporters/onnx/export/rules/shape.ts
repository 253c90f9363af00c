/** Export rules for shape and data-movement ops. Symbolic sizes come from SymDims. */
import type { Dim } from '../../../../ir/dim.js';
import { dimAdd, dimEq, isStatic } from '../../../../ir/dim.js';
import type { OpName } from '../../../../ir/ops.js';
import { normAxis } from '../../../../ir/shape_util.js';
import { attr } from '../onnx_graph.js';
import type { ExportRule, RuleCtx, Unsupported } from '../rule_types.js';
import { cast, INT64_MAX, INT64_MIN, oneHotIndices, valueAttr } from './helpers.js';

/**
 * Reshape's target. ONNX's Reshape reads 0 as "copy the input's dim" and infers -1 by dividing
 * the input's size by the other dims, which fails when those may be 0 (a symbolic dim fed 0).
 * So: static dims as they are, a symbolic dim equal to the input's dim at the same position as 0
 * (a copy is right also when it is 0), and one remaining symbolic dim as -1 only where every
 * other dim is a non-zero constant. Any other target is computed from the inputs' shapes
 * (Shape → Gather → Concat) and read with allowzero = 1 (opset ≥ 14), or, before opset 14,
 * through reshapeAllowingZero.
 */
const reshape: ExportRule = (cx) => {
  const e = cx.e;
  const inShape = cx.inType(0).shape, target = cx.outType().shape;
  if (inShape.length === target.length && inShape.every((d, i) => dimEq(d, target[i]!))) {
    e.op('Identity', [cx.ins[0]!], {}, cx.outs[0]);
    return;
  }
  const spec: Dim[] = target.map((d, i) => (!isStatic(d) && i < inShape.length && dimEq(d, inShape[i]!) ? 0 : d));
  const free = spec.filter((d) => !isStatic(d)).length;
  const literalZero = target.some((d) => d === 0);
  if (!literalZero && free === 0) { e.op('Reshape', [cx.ins[0]!, e.i64(spec as number[])], {}, cx.outs[0]); return; }
  if (!literalZero && free === 1 && spec.every((d) => !isStatic(d) || d > 0)) {
    e.op('Reshape', [cx.ins[0]!, e.i64(spec.map((d) => (isStatic(d) ? d : -1)))], {}, cx.outs[0]);
    return;
  }
  if (squeezeUnsqueeze(cx, inShape, target)) return;
  const shape = cx.dims.shape(target);
  if (cx.opset >= 14) { e.op('Reshape', [cx.ins[0]!, shape], { allowzero: attr.int(1) }, cx.outs[0]); return; }
  reshapeAllowingZero(cx, shape, target.length);
};

/**
 * A reshape that only inserts or removes dims of size 1 (tf.expandDims, tf.squeeze) as
 * Unsqueeze and/or Squeeze: no target to compute, right for any sizes. False otherwise.
 */
function squeezeUnsqueeze(cx: RuleCtx, inShape: readonly Dim[], target: readonly Dim[]): boolean {
  const e = cx.e;
  const rest = (s: readonly Dim[]) => s.filter((d) => d !== 1);
  const [a, b] = [rest(inShape), rest(target)];
  if (a.length !== b.length || !a.every((d, i) => dimEq(d, b[i]!))) return false;
  /** Positions of `long`'s extra 1s when `short` is `long` with some 1s left out, greedily. */
  const extraOnes = (short: readonly Dim[], long: readonly Dim[]): number[] | undefined => {
    const extra: number[] = [];
    let i = 0;
    long.forEach((d, j) => {
      if (i < short.length && dimEq(short[i]!, d)) i++;
      else if (d === 1) extra.push(j);
      else i = Infinity;
    });
    return i === short.length ? extra : undefined;
  };
  const inserted = extraOnes(inShape, target);
  if (inserted) { e.op('Unsqueeze', [cx.ins[0]!, e.i64(inserted)], {}, cx.outs[0]); return true; }
  const removed = extraOnes(target, inShape);
  if (removed) { e.op('Squeeze', [cx.ins[0]!, e.i64(removed)], {}, cx.outs[0]); return true; }
  const ones = (s: readonly Dim[]) => s.flatMap((d, i) => (d === 1 ? [i] : []));
  const squeezed = e.op('Squeeze', [cx.ins[0]!, e.i64(ones(inShape))]);
  e.op('Unsqueeze', [squeezed, e.i64(ones(target))], {}, cx.outs[0]);
  return true;
}

/**
 * Reshape to a computed `shape` that may hold zeros, without allowzero (opset 13): the flat
 * input, padded with zeros to the size of max(shape, 1) (no padding unless the input is empty),
 * reshaped to max(shape, 1), then sliced to `shape`. For a non-empty input this is the plain
 * reshape; for an empty one an empty tensor of the shape.
 */
function reshapeAllowingZero(cx: RuleCtx, shape: string, rank: number): void {
  const e = cx.e;
  const flat = e.op('Reshape', [cx.ins[0]!, e.i64([-1])]);
  const atLeast1 = e.op('Max', [shape, e.i64([1])]);
  const size = e.op('ReduceProd', [atLeast1], { keepdims: attr.int(1) });
  const missing = e.op('Sub', [size, e.op('Shape', [flat])]);
  const padding = e.op('ConstantOfShape', [missing], { value: attr.tensor(valueAttr(0, cx.inType(0).dtype)) });
  const padded = e.op('Concat', [flat, padding], { axis: attr.int(0) });
  const full = e.op('Reshape', [padded, atLeast1]);
  const axes = Array.from({ length: rank }, (_, i) => i);
  e.op('Slice', [full, e.i64(axes.map(() => 0)), shape, e.i64(axes)], {}, cx.outs[0]);
}

const transpose: ExportRule = (cx) => { cx.e.op('Transpose', [cx.ins[0]!], { perm: attr.ints(cx.a.ints('perm')) }, cx.outs[0]); };

const concat: ExportRule = (cx) => {
  const axis = normAxis(cx.a.int('axis'), cx.inType(0).shape.length, 'concat');
  cx.e.op('Concat', cx.ins, { axis: attr.int(axis) }, cx.outs[0]);
};

const pack: ExportRule = (cx) => {
  const e = cx.e;
  const axis = normAxis(cx.a.int('axis'), cx.inType(0).shape.length + 1, 'pack');
  const axes = e.i64([axis]);
  if (cx.ins.length === 1) { e.op('Unsqueeze', [cx.ins[0]!, axes], {}, cx.outs[0]); return; }
  e.op('Concat', cx.ins.map((x) => e.op('Unsqueeze', [x, axes])), { axis: attr.int(axis) }, cx.outs[0]);
};

const unpack: ExportRule = (cx) => {
  const e = cx.e;
  const axis = normAxis(cx.a.int('axis'), cx.inType(0).shape.length, 'unpack');
  const axes = e.i64([axis]);
  if (cx.outs.length === 1) { e.op('Squeeze', [cx.ins[0]!, axes], {}, cx.outs[0]); return; }
  const parts = cx.outs.map(() => e.fresh('part'));
  e.opN('Split', [cx.ins[0]!, e.i64(cx.outs.map(() => 1))], { axis: attr.int(axis) }, parts);
  parts.forEach((p, i) => e.op('Squeeze', [p, axes], {}, cx.outs[i]));
};

const split: ExportRule = (cx) => {
  const axis = normAxis(cx.a.int('axis'), cx.inType(0).shape.length, 'split');
  if (cx.outs.length === 1) { cx.e.op('Identity', [cx.ins[0]!], {}, cx.outs[0]); return; }
  cx.e.opN('Split', [cx.ins[0]!, cx.dims.shape(cx.a.dims('sizes'))], { axis: attr.int(axis) }, cx.outs);
};

/** A Slice over the axes that change; `end === undefined` means "to the end". */
function emitSlice(cx: RuleCtx, axes: { axis: number; begin: Dim | bigint; end: Dim | bigint; step: number }[]): void {
  const e = cx.e;
  if (axes.length === 0) { e.op('Identity', [cx.ins[0]!], {}, cx.outs[0]); return; }
  const ins = [cx.ins[0]!, cx.dims.shape(axes.map((a) => a.begin)), cx.dims.shape(axes.map((a) => a.end)), e.i64(axes.map((a) => a.axis))];
  if (axes.some((a) => a.step !== 1)) ins.push(e.i64(axes.map((a) => a.step)));
  e.op('Slice', ins, {}, cx.outs[0]);
}

const slice: ExportRule = (cx) => {
  const inShape = cx.inType(0).shape;
  const begin = cx.a.dims('begin'), size = cx.a.dims('size');
  const axes: { axis: number; begin: Dim; end: Dim | bigint; step: number }[] = [];
  inShape.forEach((n, i) => {
    const end = dimAdd(begin[i]!, size[i]!);
    if (end === undefined) return cx.fail(`slice: cannot add begin and size on axis ${i}`);
    const toEnd = dimEq(end, n);
    if (begin[i] === 0 && toEnd) return;
    axes.push({ axis: i, begin: begin[i]!, end: toEnd ? INT64_MAX : end, step: 1 });
  });
  emitSlice(cx, axes);
};

/**
 * strided_slice in the IR's normalized form: a positive stride walks [begin, end), a negative
 * one from begin down to end exclusive, end = -1 meaning through index 0 (INT64_MIN in ONNX).
 */
const stridedSlice: ExportRule = (cx) => {
  const inShape = cx.inType(0).shape;
  const begin = cx.a.dims('begin'), end = cx.a.dims('end'), strides = cx.a.ints('strides');
  const axes: { axis: number; begin: Dim; end: Dim | bigint; step: number }[] = [];
  inShape.forEach((n, i) => {
    const s = strides[i]!, b = begin[i]!, en = end[i]!;
    if (s === 0) cx.fail(`strided_slice: stride 0 on axis ${i}`);
    if (s > 0) {
      const toEnd = dimEq(en, n) || (isStatic(en) && isStatic(n) && en >= n);
      if (b === 0 && toEnd && s === 1) return;
      axes.push({ axis: i, begin: b, end: toEnd ? INT64_MAX : en, step: s });
    } else {
      axes.push({ axis: i, begin: b, end: isStatic(en) && en < 0 ? INT64_MIN : en, step: s });
    }
  });
  emitSlice(cx, axes);
};

/** gather: Gather; with batch_dims b and axis b, GatherND over the last index dim. */
const gather: ExportRule = (cx) => {
  const e = cx.e;
  const rank = cx.inType(0).shape.length;
  const axis = normAxis(cx.a.int('axis'), rank, 'gather');
  const bd = cx.a.int('batch_dims');
  if (bd === 0) { e.op('Gather', [cx.ins[0]!, cx.ins[1]!], { axis: attr.int(axis) }, cx.outs[0]); return; }
  if (axis !== bd) cx.fail(`gather with batch_dims ${bd} and axis ${axis} ≠ batch_dims has no ONNX equivalent in graphc yet`);
  const idx = e.op('Unsqueeze', [cast(e, cx.ins[1]!, 'int64'), e.i64([-1])]);
  e.op('GatherND', [cx.ins[0]!, idx], { batch_dims: attr.int(bd) }, cx.outs[0]);
};

/** pad: IR paddings [b0, a0, b1, a1, …] → ONNX pads [b0, b1, …, a0, a1, …] (negative crops). */
const pad: ExportRule = (cx) => {
  const e = cx.e;
  const p = cx.a.ints('paddings');
  const r = p.length / 2;
  const pads = [...Array.from({ length: r }, (_, i) => p[2 * i]!), ...Array.from({ length: r }, (_, i) => p[2 * i + 1]!)];
  if (pads.every((x) => x === 0)) { e.op('Identity', [cx.ins[0]!], {}, cx.outs[0]); return; }
  const dt = cx.inType(0).dtype;
  e.op('Pad', [cx.ins[0]!, e.i64(pads), e.scalar(cx.a.float('value'), dt)], { mode: attr.str('constant') }, cx.outs[0]);
};

const tile: ExportRule = (cx) => { cx.e.op('Tile', [cx.ins[0]!, cx.e.i64(cx.a.ints('reps'))], {}, cx.outs[0]); };

/** reverse: a Slice with step -1 over each axis. */
const reverse: ExportRule = (cx) => {
  const rank = cx.inType(0).shape.length;
  const axes = [...new Set(cx.a.ints('axes').map((a) => normAxis(a, rank, 'reverse')))].sort((x, y) => x - y);
  emitSlice(cx, axes.map((axis) => ({ axis, begin: -1, end: INT64_MIN, step: -1 })));
};

/** broadcast_to: Expand; a target dim equal to the operand's dim may be given as 1 (Expand broadcasts both ways). */
const broadcastTo: ExportRule = (cx) => {
  const inShape = cx.inType(0).shape, target = cx.a.dims('shape');
  const off = target.length - inShape.length;
  const spec = target.map((d, i) => (!isStatic(d) && i >= off && dimEq(inShape[i - off]!, d) ? 1 : d));
  cx.e.op('Expand', [cx.ins[0]!, cx.dims.shape(spec)], {}, cx.outs[0]);
};

/** one_hot: OneHot over int64 indices (negative ones made out of range) with float values, cast to the dtype. */
const oneHot: ExportRule = (cx) => {
  const e = cx.e;
  const depth = cx.a.int('depth');
  const dtype = cx.a.dtype('dtype');
  // ONNX OneHot needs indices of rank ≥ 1: a scalar index goes through [1] and back.
  const scalar = cx.inType(0).shape.length === 0;
  let idx = oneHotIndices(e, cx.ins[0]!, cx.inType(0).dtype, depth);
  if (scalar) idx = e.op('Unsqueeze', [idx, e.i64([0])]);
  const values = e.constant({ dtype: 'float32', shape: [2], data: Float32Array.from([cx.a.float('off_value'), cx.a.float('on_value')]) });
  const last = !scalar && dtype === 'float32' ? cx.outs[0] : undefined;
  let y = e.op('OneHot', [idx, e.scalar(depth, 'int64'), values], { axis: attr.int(-1) }, last);
  if (scalar) y = e.op('Squeeze', [y, e.i64([0])], {}, dtype === 'float32' ? cx.outs[0] : undefined);
  if (dtype !== 'float32') cast(e, y, dtype, cx.outs[0]);
};

/**
 * unsorted_segment_sum(x, ids): OneHot(ids)ᵀ · x over the flattened ids (ids outside
 * [0, num_segments) contribute nothing, as in tfjs).
 */
const unsortedSegmentSum: ExportRule = (cx) => {
  const e = cx.e;
  const xT = cx.inType(0), idsT = cx.inType(1);
  const n = cx.a.int('num_segments');
  const rest = xT.shape.slice(idsT.shape.length);
  const ids = e.op('Reshape', [cx.ins[1]!, e.i64([-1])]);
  const oh = e.op('OneHot', [oneHotIndices(e, ids, idsT.dtype, n), e.scalar(n, 'int64'), e.constant({ dtype: 'float32', shape: [2], data: Float32Array.from([0, 1]) })], { axis: attr.int(-1) });
  // [ids..., rest...] → [#ids, ∏rest]: Flatten also where ids or rest have symbolic dims.
  const x2 = e.op('Flatten', [cx.ins[0]!], { axis: attr.int(idsT.shape.length) });
  const isFloat = xT.dtype === 'float32';
  const sums = isFloat
    ? e.op('Gemm', [oh, x2], { transA: attr.int(1) })
    : e.op('MatMul', [e.op('Transpose', [cast(e, oh, xT.dtype)], { perm: attr.ints([1, 0]) }), x2]);
  e.op('Reshape', [sums, cx.dims.shape([n, ...rest])], {}, cx.outs[0]);
};

export const EXPORT_SHAPE_RULES = {
  reshape, transpose, concat, pack, unpack, split, slice,
  strided_slice: stridedSlice,
  gather, pad, tile, reverse,
  broadcast_to: broadcastTo,
  one_hot: oneHot,
  unsorted_segment_sum: unsortedSegmentSum,
} satisfies Partial<Record<OpName, ExportRule | Unsupported>>;
