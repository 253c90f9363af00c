/**
 * Import rules: GatherND, ScatterND, ScatterElements and Scatter, built on linear indices
 * into the flattened data. Gathers become one `gather`; scatters a one-hot matrix product
 * (reduction none / add) or, for mul / max / min, one select per update in order. Shapes
 * must be static.
 */
import type { Dim } from '../../../../ir/dim.js';
import { isStatic, shapeToString } from '../../../../ir/dim.js';
import type { Value } from '../../../../ir/graph.js';
import type { OpName } from '../../../../ir/ops.js';
import { sizeOf, tensorData } from '../../../../ir/tensor_data.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import type { MadeBy } from '../made_by.js';

/** Updates applied one by one with mul / max / min: at most this many. */
const UNROLL_LIMIT = 256;

function staticShape(v: Value, what: string): number[] {
  if (!v.shape.every(isStatic)) fail(`${what} needs a static shape, got ${shapeToString(v.shape)}`);
  return v.shape as number[];
}

function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

/** Indices [..., k] into the leading dims `dims` → int32 linear indices [...] (negative ones wrapped). */
function linearIndex(c: NodeCtx, idx: Value, dims: readonly number[]): Value {
  const k = dims.length;
  let i = c.b.cast(idx, 'int32');
  const d = c.b.constant(tensorData('int32', [k], dims));
  i = c.b.op('select', [c.b.op('less', [i, c.b.scalar(0, 'int32')]), c.b.op('add', [i, d]), i]);
  const strides = c.b.constant(tensorData('int32', [k], stridesOf(dims)));
  return c.b.op('reduce_sum', [c.b.op('mul', [i, strides])], { axes: [i.shape.length - 1], keep_dims: false });
}

/**
 * Scatters rows of `updates` [P, R] into `data` [M, R] at linear indices `at` [P]:
 * reduction none (later duplicates are summed, as the order is unspecified), add, mul, max, min.
 */
function scatterRows(c: NodeCtx, data: Value, at: Value, updates: Value, reduction: string): Value {
  const [m] = data.shape as [number, number];
  const p = updates.shape[0] as number;
  const dtype = data.dtype;
  const df = c.b.cast(data, 'float32'), uf = c.b.cast(updates, 'float32');
  const oh = c.b.op('one_hot', [at], { depth: m, on_value: 1, off_value: 0, dtype: 'float32' });    // [P, M]
  let out: Value;
  if (reduction === 'none' || reduction === 'add') {
    const contrib = c.b.op('matmul', [oh, uf], { transpose_a: true, transpose_b: false });           // [M, R]
    if (reduction === 'add') {
      out = c.b.op('add', [df, contrib]);
    } else {
      const hit = c.b.op('greater', [c.b.reshape(c.b.op('reduce_sum', [oh], { axes: [0], keep_dims: false }), [m, 1]), c.b.scalar(0, 'float32')]);
      out = c.b.op('select', [hit, contrib, df]);
    }
  } else {
    const ops = new Map<string, OpName>([['mul', 'mul'], ['max', 'maximum'], ['min', 'minimum']]);
    const op = ops.get(reduction) ?? fail(`unknown reduction '${reduction}'`);
    if (p > UNROLL_LIMIT) fail(`reduction '${reduction}' with ${p} updates (at most ${UNROLL_LIMIT})`);
    out = df;
    for (let i = 0; i < p; i++) {
      const row = (v: Value) => c.b.op('slice', [v], { begin: [i, 0], size: [1, v.shape[1]!] });
      const hit = c.b.op('greater', [c.b.reshape(row(oh), [m, 1]), c.b.scalar(0, 'float32')]);
      out = c.b.op('select', [hit, c.b.op(op, [out, row(uf)]), out]);
    }
  }
  return c.b.cast(out, dtype);
}

const gatherND: ImportRule = (c) => {
  const data = c.input(0), idx = c.input(1);
  const ds = staticShape(data, 'data'), is = staticShape(idx, 'indices');
  const b = c.attr.int('batch_dims', 0);
  const k = is[is.length - 1]!;
  if (b + k > ds.length) fail(`indices address ${b + k} dims of data ${shapeToString(ds)}`);
  const batch = ds.slice(0, b), addressed = ds.slice(b, b + k), rest = ds.slice(b + k);
  const nb = sizeOf(batch), na = sizeOf(addressed);
  let at = linearIndex(c, idx, addressed);                                        // indices.shape[:-1]
  if (b > 0) {
    // Each index row belongs to the batch entry its leading coordinates name.
    const outer = is.slice(0, -1);
    const per = sizeOf(outer.slice(b));
    c.b.afford('int32', sizeOf(outer), `GatherND's table of ${sizeOf(outer)} batch offsets`);
    const base = Int32Array.from({ length: sizeOf(outer) }, (_, i) => Math.floor(i / per) * na);
    at = c.b.op('add', [at, c.b.constant(tensorData('int32', outer, base))]);
  }
  const flat = c.b.reshape(data, [nb * na, ...rest] as Dim[]);
  const y = c.b.op('gather', [flat, at], { axis: 0, batch_dims: 0 });
  return c.b.reshape(y, [...is.slice(0, -1), ...rest]);
};

const scatterND: ImportRule = (c) => {
  const data = c.input(0), idx = c.input(1), upd = c.input(2);
  const ds = staticShape(data, 'data'), is = staticShape(idx, 'indices');
  const k = is[is.length - 1]!;
  const m = sizeOf(ds.slice(0, k)), r = sizeOf(ds.slice(k)), p = sizeOf(is.slice(0, -1));
  const at = c.b.reshape(linearIndex(c, idx, ds.slice(0, k)), [p]);
  const out = scatterRows(c, c.b.reshape(data, [m, r]), at, c.b.reshape(upd, [p, r]), c.attr.string('reduction', 'none'));
  return c.b.reshape(out, ds);
};

const scatterElements: ImportRule = (c) => {
  const data = c.input(0), idx = c.input(1), upd = c.input(2);
  const ds = staticShape(data, 'data'), is = staticShape(idx, 'indices');
  const rank = ds.length;
  const axis = c.axis(c.attr.int('axis', 0), rank);
  const us = staticShape(upd, 'updates');
  if (is.length !== rank) fail(`indices ${shapeToString(is)} must have the rank of data ${shapeToString(ds)}`);
  if (us.length !== is.length || us.some((d, a) => d !== is[a])) fail(`updates ${shapeToString(us)} must have the shape of indices ${shapeToString(is)}`);
  const past = is.findIndex((d, a) => a !== axis && d > ds[a]!);
  if (past >= 0) fail(`indices ${shapeToString(is)} are larger than data ${shapeToString(ds)} along axis ${past}`);
  const strides = stridesOf(ds);
  // Linear index = (own coordinates, axis coordinate from the indices) in the data.
  const n = sizeOf(is);
  c.b.afford('int32', n, `ScatterElements' table of ${n} linear indices`);
  const base = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let rest = i, off = 0;
    for (let a = rank - 1; a >= 0; a--) {
      const coord = rest % is[a]!;
      rest = Math.floor(rest / is[a]!);
      if (a !== axis) off += coord * strides[a]!;
    }
    base[i] = off;
  }
  let i = c.b.cast(idx, 'int32');
  i = c.b.op('select', [c.b.op('less', [i, c.b.scalar(0, 'int32')]), c.b.op('add', [i, c.b.scalar(ds[axis]!, 'int32')]), i]);
  const at = c.b.op('add', [c.b.op('mul', [c.b.reshape(i, [n]), c.b.scalar(strides[axis]!, 'int32')]), c.b.constant(tensorData('int32', [n], base))]);
  const out = scatterRows(c, c.b.reshape(data, [sizeOf(ds), 1]), at, c.b.reshape(upd, [n, 1]), c.attr.string('reduction', 'none'));
  return c.b.reshape(out, ds);
};

export const IMPORT_SCATTER_RULES = {
  GatherND: gatherND,
  ScatterND: scatterND,
  ScatterElements: scatterElements,
  Scatter: scatterElements,
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_SCATTER_MAKES = {
  maximum: ['Scatter', 'ScatterElements', 'ScatterND'],
  minimum: ['Scatter', 'ScatterElements', 'ScatterND'],
  reduce_sum: ['GatherND', 'Scatter', 'ScatterElements', 'ScatterND'],
  matmul: ['Scatter', 'ScatterElements', 'ScatterND'],
  gather: ['GatherND'],
  one_hot: ['Scatter', 'ScatterElements', 'ScatterND'],
} satisfies MadeBy<typeof IMPORT_SCATTER_RULES>;
