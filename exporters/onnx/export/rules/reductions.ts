/** Export rules for reductions, arg-reductions, cumsum and softmax. */
import type { OpName } from '../../../../ir/ops.js';
import { attr } from '../onnx_graph.js';
import type { ExportRule, Unsupported } from '../rule_types.js';
import { cast, reduce } from './helpers.js';

const reduceRule = (opType: string): ExportRule => (cx) => {
  reduce(cx.e, opType, cx.ins[0]!, cx.a.ints('axes'), cx.a.bool('keep_dims'), cx.outs[0]);
};

/** tfjs's mean of int32 is float32. */
const reduceMean: ExportRule = (cx) => {
  const x = cx.inType(0).dtype === cx.outType().dtype ? cx.ins[0]! : cast(cx.e, cx.ins[0]!, cx.outType().dtype);
  reduce(cx.e, 'ReduceMean', x, cx.a.ints('axes'), cx.a.bool('keep_dims'), cx.outs[0]);
};

/**
 * all / any over bools: min / sum over 0/1 int32. Not max for any: ONNX Runtime's ReduceMax of
 * an empty axis is the lowest int32, nonzero, so any over zero elements would be true (seed
 * 7352); a sum of zero elements is 0 (false), and ReduceMin's empty identity (the largest
 * int32) is nonzero, all's true.
 */
const reduceBool = (opType: 'ReduceMin' | 'ReduceSum'): ExportRule => (cx) => {
  const x = cast(cx.e, cx.ins[0]!, 'int32');
  cast(cx.e, reduce(cx.e, opType, x, cx.a.ints('axes'), cx.a.bool('keep_dims')), 'bool', cx.outs[0]);
};

/** ArgMax / ArgMin give int64 (the first index of ties, as tfjs); the IR's result is int32. */
const argReduce = (opType: string): ExportRule => (cx) => {
  const i = cx.e.op(opType, [cx.ins[0]!], { axis: attr.int(cx.a.int('axis')), keepdims: attr.int(0) });
  cast(cx.e, i, 'int32', cx.outs[0]);
};

const cumsum: ExportRule = (cx) => {
  cx.e.op('CumSum', [cx.ins[0]!, cx.e.scalar(cx.a.int('axis'), 'int64')],
    { exclusive: attr.int(cx.a.bool('exclusive')), reverse: attr.int(cx.a.bool('reverse')) }, cx.outs[0]);
};

const softmaxLike = (opType: string): ExportRule => (cx) => { cx.e.op(opType, [cx.ins[0]!], { axis: attr.int(cx.a.int('axis')) }, cx.outs[0]); };

export const EXPORT_REDUCTION_RULES = {
  reduce_sum: reduceRule('ReduceSum'), reduce_mean: reduceMean, reduce_max: reduceRule('ReduceMax'),
  reduce_min: reduceRule('ReduceMin'), reduce_prod: reduceRule('ReduceProd'),
  reduce_all: reduceBool('ReduceMin'), reduce_any: reduceBool('ReduceSum'),
  argmax: argReduce('ArgMax'), argmin: argReduce('ArgMin'),
  cumsum,
  softmax: softmaxLike('Softmax'), log_softmax: softmaxLike('LogSoftmax'),
} satisfies Partial<Record<OpName, ExportRule | Unsupported>>;
