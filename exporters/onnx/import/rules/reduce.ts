/** Import rules: reductions, arg-reductions, the softmax family, CumSum. */
import type { Dim } from '../../../../ir/dim.js';
import type { DType } from '../../../../ir/dtype.js';
import type { Value } from '../../../../ir/graph.js';
import type { OpName } from '../../../../ir/ops.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import { dimProduct as product } from '../../../../ir/dim.js';
import type { MadeBy } from '../made_by.js';

/**
 * The axes a Reduce* node reduces: an attribute before `inputSince`, the optional second
 * operand from then on. Empty means all axes unless noop_with_empty_axes is set (then none:
 * undefined is returned).
 */
function reduceAxes(c: NodeCtx, x: Value, inputSince: number): number[] | undefined {
  const rank = x.shape.length;
  let axes: number[];
  if (c.opset >= inputSince) axes = c.has(1) ? c.ints(1, 'axes') : [];
  else axes = c.attr.ints('axes', []);
  if (axes.length === 0) {
    if (c.opset >= inputSince && c.attr.int('noop_with_empty_axes', 0) !== 0) return undefined;
    return Array.from({ length: rank }, (_, i) => i);
  }
  const norm = axes.map((a) => c.axis(a, rank, 'axis'));
  return [...new Set(norm)].sort((a, b) => a - b);
}

type Stage = (c: NodeCtx, x: Value) => Value;

/**
 * A Reduce* rule: `pre` maps the elements, `op` reduces, `post` maps the result. With no
 * axes to reduce only pre and post apply. Results keep the operand's element type.
 */
function reduction(op: OpName, inputSince: number, pre?: Stage, post?: Stage): ImportRule {
  return (c) => {
    const x = c.input(0);
    const keep = c.attr.int('keepdims', 1) !== 0;
    const axes = reduceAxes(c, x, inputSince);
    let y = pre ? pre(c, x) : x;
    if (axes !== undefined && axes.length > 0) y = c.b.op(op, [y], { axes, keep_dims: keep });
    if (post) y = post(c, y);
    return c.b.cast(y, x.dtype);
  };
}

const u = (op: OpName): Stage => (c, x) => c.b.op(op, [x]);

/** log Σ exp x, shifted by the maximum for range. */
const reduceLogSumExp: ImportRule = (c) => {
  const x = c.input(0);
  const keep = c.attr.int('keepdims', 1) !== 0;
  const axes = reduceAxes(c, x, 18);
  if (axes === undefined || axes.length === 0) return x;
  const m = c.b.op('reduce_max', [x], { axes, keep_dims: true });
  // An all -inf slice has max -inf; shift by 0 there (x - m would be NaN).
  const finite = c.b.op('select', [c.b.op('is_finite', [m]), m, c.b.scalar(0, x.dtype)]);
  const s = c.b.op('reduce_sum', [c.b.op('exp', [c.b.op('sub', [x, finite])])], { axes, keep_dims: keep });
  const shift = keep ? finite : c.b.squeeze(finite, axes);
  return c.b.op('add', [c.b.op('log', [s]), shift]);
};

/** ArgMax / ArgMin: int64 indices, keepdims, and the last of equal extremes when select_last_index. */
function argReduction(op: 'argmax' | 'argmin'): ImportRule {
  return (c) => {
    const x = c.input(0);
    const axis = c.axis(c.attr.int('axis', 0), x.shape.length);
    const keep = c.attr.int('keepdims', 1) !== 0;
    let y: Value;
    if (c.attr.int('select_last_index', 0) !== 0) {
      const n = x.shape[axis]!;
      if (typeof n !== 'number') fail('select_last_index needs a static size along the axis');
      const idx = c.b.op(op, [c.b.op('reverse', [x], { axes: [axis] })], { axis });
      y = c.b.op('sub', [c.b.scalar(n - 1, idx.dtype), idx]);
    } else {
      y = c.b.op(op, [x], { axis });
    }
    if (keep) y = c.b.unsqueeze(y, [axis]);
    return c.b.cast(y, 'int64');
  };
}

/**
 * Softmax, LogSoftmax, Hardmax. Before opset 13 the operand is read as a matrix
 * [prod(dims before axis), prod(dims from axis)] (axis default 1); from 13 on, the op runs
 * along one axis (default -1).
 */
function softmaxFamily(f: (c: NodeCtx, x: Value, axis: number) => Value): ImportRule {
  return (c) => {
    const x = c.input(0);
    const r = x.shape.length;
    if (c.opset >= 13) return f(c, x, c.axis(c.attr.int('axis', -1), r));
    const axis = r === 0 ? 0 : c.axis(c.attr.int('axis', 1), r);
    if (axis === r - 1) return f(c, x, axis);
    const outer = product(x.shape.slice(0, axis)), inner = product(x.shape.slice(axis));
    const flat: Dim[] = outer === undefined ? [-1, inner!] : [outer, inner ?? -1];
    if (outer === undefined && inner === undefined) fail('cannot flatten two symbolic dims');
    const y = f(c, c.b.reshape(x, flat), 1);
    return c.b.reshape(y, x.shape);
  };
}

function hardmax(c: NodeCtx, x: Value, axis: number): Value {
  const n = x.shape[axis]!;
  if (typeof n !== 'number') fail('Hardmax needs a static size along its axis');
  const idx = c.b.op('argmax', [x], { axis });
  const oh = c.b.op('one_hot', [idx], { depth: n, on_value: 1, off_value: 0, dtype: x.dtype as DType });
  return c.b.moveAxis(oh, x.shape.length - 1, axis);
}

export const IMPORT_REDUCE_RULES = {
  ReduceSum: reduction('reduce_sum', 13),
  ReduceMean: reduction('reduce_mean', 18),
  ReduceMax: reduction('reduce_max', 18),
  ReduceMin: reduction('reduce_min', 18),
  ReduceProd: reduction('reduce_prod', 18),
  ReduceL1: reduction('reduce_sum', 18, u('abs')),
  ReduceL2: reduction('reduce_sum', 18, u('square'), u('sqrt')),
  ReduceSumSquare: reduction('reduce_sum', 18, u('square')),
  ReduceLogSum: reduction('reduce_sum', 18, undefined, u('log')),
  ReduceLogSumExp: reduceLogSumExp,
  ArgMax: argReduction('argmax'),
  ArgMin: argReduction('argmin'),
  Softmax: softmaxFamily((c, x, axis) => c.b.op('softmax', [x], { axis })),
  LogSoftmax: softmaxFamily((c, x, axis) => c.b.op('log_softmax', [x], { axis })),
  Hardmax: softmaxFamily(hardmax),
  CumSum: (c) => {
    const x = c.input(0);
    const [a] = c.ints(1, 'axis');
    return c.b.op('cumsum', [x], { axis: c.axis(a!, x.shape.length), exclusive: c.attr.int('exclusive', 0) !== 0, reverse: c.attr.int('reverse', 0) !== 0 });
  },
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_REDUCE_MAKES = {
  abs: ['ReduceL1'],
  exp: ['ReduceLogSumExp'],
  log: ['ReduceLogSum', 'ReduceLogSumExp'],
  sqrt: ['ReduceL2'],
  square: ['ReduceL2', 'ReduceSumSquare'],
  is_finite: ['ReduceLogSumExp'],
  reduce_sum: ['ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSum', 'ReduceSumSquare'],
  reduce_mean: ['ReduceMean'],
  reduce_max: ['ReduceLogSumExp', 'ReduceMax'],
  reduce_min: ['ReduceMin'],
  reduce_prod: ['ReduceProd'],
  argmax: ['ArgMax', 'Hardmax'],
  argmin: ['ArgMin'],
  cumsum: ['CumSum'],
  softmax: ['Softmax'],
  log_softmax: ['LogSoftmax'],
  reverse: ['ArgMax', 'ArgMin'],
  one_hot: ['Hardmax'],
} satisfies MadeBy<typeof IMPORT_REDUCE_RULES>;
