/**
 * Constant evaluation at import time: whether a node whose operands are all constants is
 * folded, and its results. The evaluator is handed in (src/onnx_import.ts gives the
 * runtime's, as src/optimize.ts gives it to the passes): the importer imports no engine.
 */
import { isStatic } from '../../../ir/dim.js';
import type { TensorType } from '../../../ir/graph.js';
import type { Attrs, OpName } from '../../../ir/ops.js';
import { inferTypes, OPS } from '../../../ir/ops.js';
import type { PassContext } from '../../../ir/passes/pass.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import { sizeOf } from '../../../ir/tensor_data.js';
import type { ImportMeter } from './budget.js';
import { bytesOf } from './budget.js';

/**
 * Computes `op` on constant operands, as a Session would (the same evaluator the constant
 * folding pass gets in `PassContext.evaluate`); throws when it cannot.
 */
export type ConstEvaluator = NonNullable<PassContext['evaluate']>;

/** Folding leaves a node in place when its result would be this much larger than its operands. */
const FOLD_GROWTH_LIMIT = 1 << 16;

/**
 * Folding leaves a node in place when evaluating it would take more element operations
 * than this beyond reading its operands and writing its results (a matmul's multiply-adds,
 * a pool's windows). Linear work is bounded by FOLD_GROWTH_LIMIT and the operands, which
 * the model holds: a 1 GiB weight is still transposed once at import.
 */
const FOLD_WORK_LIMIT = 1 << 26;

/**
 * Element operations to evaluate `op` on operands of `ins` giving `outs` (an upper bound):
 * a matmul does one multiply-add per output element and inner index, a pool or conv one
 * per output element and window element; any other op reads its operands and writes its
 * results a bounded number of times.
 */
export function foldWork(op: OpName, ins: readonly TensorType[], outs: readonly TensorType[], attrs: Attrs): number {
  const size = (t: TensorType) => (t.shape.every(isStatic) ? sizeOf(t.shape as number[]) : Infinity);
  const inN = ins.reduce((s, t) => s + size(t), 0);
  const outN = outs.reduce((s, t) => s + size(t), 0);
  const fusion = OPS[op].fusion;
  let per = 1;
  if (fusion === 'matmul' && ins[0]) {
    const a = ins[0].shape, r = a.length;
    const k = attrs.transpose_a === true ? a[r - 2] : a[r - 1];
    per = typeof k === 'number' ? Math.max(k, 1) : Infinity;
  } else if (fusion === 'pool') {
    const f = attrs.filter_size;
    per = Array.isArray(f) ? Math.max(1, (f as number[]).reduce((p, x) => p * x, 1)) : Infinity;
  } else if (fusion === 'conv') {
    per = ins[1] ? Math.max(1, size(ins[1])) : Infinity;
  }
  return inN + outN * per;
}

/** Magnitudes below this are int32's, with float32's spacing near 2^31 to spare. */
const INT32_SAFE = 2 ** 31 - 2 ** 8;

/**
 * Whether folding `op` (on tfjs, which computes int64 as int32) gave the exact int64
 * results: the same op computed in float32 stays within int32. Integer arithmetic wraps
 * modulo 2^32, so a result that fits int32 is exact even when a step overflowed; one that
 * does not fit is left to run time (ONNX Runtime computes it exactly; tfjs engines refuse
 * it), never folded to a wrapped constant (int64 1572864000 + 1572864000 was -1149239296).
 */
function int64Exact(op: OpName, ins: readonly TensorData[], attrs: Attrs, evaluate: ConstEvaluator): boolean {
  const asFloat = (t: TensorData): TensorData => (t.dtype === 'int64' || t.dtype === 'int32'
    ? { dtype: 'float32', shape: t.shape, data: Float32Array.from(t.data as ArrayLike<number | bigint>, Number) } : t);
  const floatAttrs = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, v === 'int64' || v === 'int32' ? 'float32' : v]));
  let outs: TensorData[];
  try {
    outs = evaluate(op, ins.map(asFloat), floatAttrs);
  } catch {
    return true;                              // no float form of the op: as before
  }
  return outs.every((t) => Array.prototype.every.call(t.data, (x: number | bigint) => Math.abs(Number(x)) < INT32_SAFE || Number.isNaN(Number(x))));
}

/**
 * The results of `op` on constants, or undefined to leave the node to run time. Sizes
 * come first, from the op's type inference: a result that would grow past
 * FOLD_GROWTH_LIMIT (and its operands), an evaluation past FOLD_WORK_LIMIT element
 * operations or past what the import budget has left, is not computed at all (a
 * 20-byte Tile to 2^28 elements is a node, not 29 s and 2 GB at import).
 */
export function tryFold(op: OpName, ins: TensorData[], attrs: Attrs, meter: ImportMeter, evaluate: ConstEvaluator): TensorData[] | undefined {
  let outTypes: TensorType[];
  try {
    outTypes = inferTypes(op, ins.map((t) => ({ dtype: t.dtype, shape: t.shape })), attrs);
  } catch {
    return undefined;                       // left to run time (the node is built and checked as usual)
  }
  if (!outTypes.every((t) => t.shape.every(isStatic))) return undefined;
  const inSize = ins.reduce((s, t) => s + t.data.length, 0);
  const outSize = outTypes.reduce((s, t) => s + sizeOf(t.shape as number[]), 0);
  if (outSize > Math.max(inSize, FOLD_GROWTH_LIMIT)) return undefined;
  const work = foldWork(op, ins, outTypes, attrs);
  const bytes = outTypes.reduce((s, t) => s + bytesOf(t.dtype, sizeOf(t.shape as number[])), 0);
  if (work - inSize - outSize > FOLD_WORK_LIMIT || !meter.fits('elements', work) || !meter.fits('bytes', bytes)) return undefined;
  let outs: TensorData[];
  try {
    outs = evaluate(op, ins, attrs);
  } catch {
    return undefined;
  }
  meter.charge('elements', work, `folding ${op}`);
  if (outs.some((t) => t.dtype === 'int64') && OPS[op].fusion !== 'shape' && !int64Exact(op, ins, attrs, evaluate)) return undefined;
  return outs;
}
