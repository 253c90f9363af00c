/** Building blocks shared by the export rules. */
import type { Shape } from '../../../../ir/dim.js';
import { dimEq } from '../../../../ir/dim.js';
import type { DType } from '../../../../ir/dtype.js';
import type { FusedActivation } from '../../../../ir/ops.js';
import { isFusedActivation } from '../../../../ir/ops.js';
import { broadcastShapes } from '../../../../ir/shape_util.js';
import type { TensorData } from '../../../../ir/tensor_data.js';
import { tensorData } from '../../../../ir/tensor_data.js';
import { onnxDType } from '../../dtypes.js';
import type { Emitter } from '../emitter.js';
import type { OnnxAttrs } from '../onnx_graph.js';
import { attr } from '../onnx_graph.js';
import type { ExportRule, RuleCtx } from '../rule_types.js';

export const INT64_MAX = (1n << 63n) - 1n;
export const INT64_MIN = -(1n << 63n);

export function cast(e: Emitter, x: string, to: DType, out?: string): string {
  return e.op('Cast', [x], { to: attr.int(onnxDType(to)) }, out);
}

/** A 1-element tensor attr (ConstantOfShape's value). */
export function valueAttr(value: number, dtype: DType): TensorData {
  return tensorData(dtype, [1], [value]);
}

/**
 * Runs `f` on float32: operand 0 is cast to float32 when it is not, and the result is cast
 * to the output dtype (for ONNX ops that ONNX Runtime implements for floats only).
 */
export function viaFloat(cx: RuleCtx, f: (x: string, out?: string) => string): void {
  const dt = cx.inType(0).dtype, outDt = cx.outType().dtype;
  if (dt === 'float32' && outDt === 'float32') { f(cx.ins[0]!, cx.outs[0]); return; }
  const x = dt === 'float32' ? cx.ins[0]! : cast(cx.e, cx.ins[0]!, 'float32');
  if (outDt === 'float32') { f(x, cx.outs[0]); return; }
  cast(cx.e, f(x), outDt, cx.outs[0]);
}

/** A one-node unary rule. */
export const unaryOp = (opType: string, attrs: OnnxAttrs = {}): ExportRule => (cx) => { cx.e.op(opType, [cx.ins[0]!], attrs, cx.outs[0]); };

/** A one-node unary rule computed in float32. */
export const floatUnary = (opType: string, attrs: OnnxAttrs = {}): ExportRule => (cx) => viaFloat(cx, (x, out) => cx.e.op(opType, [x], attrs, out));

/** A one-node rule over all operands. */
export const naryOp = (opType: string, attrs: OnnxAttrs = {}): ExportRule => (cx) => { cx.e.op(opType, cx.ins, attrs, cx.outs[0]); };

/** Whether `b` broadcasts to `a` without changing it (ONNX unidirectional broadcasting). */
export function broadcastsTo(b: Shape, a: Shape): boolean {
  if (b.length > a.length) return false;
  try {
    const r = broadcastShapes(a, b);
    return r.length === a.length && r.every((d, i) => dimEq(d, a[i]!));
  } catch {
    return false;
  }
}

/** x < 0 ? x·slope : x, as PRelu where the slope broadcasts to x, else as Where. */
export function prelu(cx: RuleCtx, x: string, xShape: Shape, slope: string, slopeShape: Shape, dtype: DType, out?: string): string {
  const e = cx.e;
  if (dtype === 'float32' && broadcastsTo(slopeShape, xShape)) return e.op('PRelu', [x, slope], {}, out);
  const neg = e.op('Less', [x, e.scalar(0, dtype)]);
  return e.op('Where', [neg, e.op('Mul', [x, slope]), x], {}, out);
}

/** Each fused activation as ONNX ops: applied to `x`, written to `out`. */
const ACTIVATIONS: Readonly<Record<FusedActivation, (cx: RuleCtx, x: string, xShape: Shape, out: string, preluIndex: number) => void>> = {
  linear: (cx, x, _s, out) => { cx.e.op('Identity', [x], {}, out); },
  relu: (cx, x, _s, out) => { cx.e.op('Relu', [x], {}, out); },
  relu6: (cx, x, _s, out) => { const dtype = cx.outType().dtype; cx.e.op('Clip', [x, cx.e.scalar(0, dtype), cx.e.scalar(6, dtype)], {}, out); },
  elu: (cx, x, _s, out) => { cx.e.op('Elu', [x], { alpha: attr.float(1) }, out); },
  leakyrelu: (cx, x, _s, out) => { cx.e.op('LeakyRelu', [x], { alpha: attr.float(cx.a.has('alpha') ? cx.a.float('alpha') : 0.2) }, out); },
  sigmoid: (cx, x, _s, out) => { cx.e.op('Sigmoid', [x], {}, out); },
  prelu: (cx, x, xShape, out, preluIndex) => { prelu(cx, x, xShape, cx.ins[preluIndex]!, cx.inType(preluIndex).shape, cx.outType().dtype, out); },
};

/** The activation of a fused op applied to `x`, written to `out`. */
export function activation(cx: RuleCtx, kind: string, x: string, xShape: Shape, out: string, preluIndex: number): void {
  if (!isFusedActivation(kind)) return cx.fail(`unknown fused activation '${kind}'`);
  ACTIVATIONS[kind](cx, x, xShape, out, preluIndex);
}

/**
 * A Reduce* node: ReduceSum takes its axes as an input from opset 13, the others from
 * opset 18 (an attribute before). Empty axes reduce nothing (tfjs), so give an Identity.
 */
export function reduce(e: Emitter, opType: string, x: string, axes: readonly number[], keep: boolean, out?: string): string {
  if (axes.length === 0) return e.op('Identity', [x], {}, out);
  const keepdims = { keepdims: attr.int(keep) };
  if (opType === 'ReduceSum' || e.opset >= 18) return e.op(opType, [x, e.i64(axes)], keepdims, out);
  return e.op(opType, [x], { ...keepdims, axes: attr.ints(axes) }, out);
}

/** Transposes the last two axes of a rank-r value. */
export function swapLast(e: Emitter, x: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return e.op('Transpose', [x], { perm: attr.ints(perm) });
}

/** Indices as int64 with negative entries mapped to `depth` (tfjs: out of range, all off; ONNX OneHot would wrap them). */
export function oneHotIndices(e: Emitter, idx: string, dtype: DType, depth: number): string {
  const i64 = dtype === 'int64' ? idx : cast(e, idx, 'int64');
  const neg = e.op('Less', [i64, e.scalar(0, 'int64')]);
  return e.op('Where', [neg, e.scalar(depth, 'int64'), i64]);
}
