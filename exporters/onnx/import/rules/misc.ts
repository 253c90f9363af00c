/**
 * Import rules composed from IR ops: Einsum (diagonals, reductions, pairwise products as
 * batched matmuls), TopK (ranks by pairwise comparison), ReverseSequence, Det (Leibniz
 * formula for small matrices).
 */
import type { Dim } from '../../../../ir/dim.js';
import { dimProduct, isStatic, shapeToString } from '../../../../ir/dim.js';
import type { Value } from '../../../../ir/graph.js';
import { elementAt, tensorData } from '../../../../ir/tensor_data.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import type { MadeBy } from '../made_by.js';

// ---- Einsum ------------------------------------------------------------------------------

/** An operand with one letter per axis. */
interface Term { v: Value; letters: string[] }

function parseEinsum(c: NodeCtx, eq: string, ranks: number[]): { ins: string[][]; out: string[] } {
  const clean = eq.replace(/\s+/g, '');
  const [lhs, rhs] = clean.split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (terms.length !== ranks.length) fail(`equation '${eq}' has ${terms.length} operands, the node ${ranks.length}`);
  // '...' stands for the leading dims not named; give them letters of their own.
  const ellipsisRank = Math.max(0, ...terms.map((t, i) => (t.includes('...') ? ranks[i]! - t.replace('...', '').length : 0)));
  const ell = Array.from({ length: ellipsisRank }, (_, i) => `#${i}`);
  const expand = (t: string, rank: number): string[] => {
    if (!t.includes('...')) return [...t];
    const [a, b] = t.split('...') as [string, string];
    const n = rank - a.length - b.length;
    return [...a, ...ell.slice(ell.length - n), ...b];
  };
  const ins = terms.map((t, i) => expand(t, ranks[i]!));
  ins.forEach((l, i) => { if (l.length !== ranks[i]) fail(`term '${terms[i]}' does not match operand rank ${ranks[i]}`); });
  let out: string[];
  if (rhs !== undefined) {
    out = rhs.includes('...') ? expand(rhs, ellipsisRank + rhs.replace('...', '').length) : [...rhs];
  } else {
    const counts = new Map<string, number>();
    for (const l of ins.flat()) counts.set(l, (counts.get(l) ?? 0) + 1);
    out = [...ell, ...[...counts].filter(([l, n]) => n === 1 && !l.startsWith('#')).map(([l]) => l).sort()];
  }
  return { ins, out };
}

/** Takes the diagonal of repeated letters within one operand. */
function diagonals(c: NodeCtx, t: Term): Term {
  let { v, letters } = t;
  for (;;) {
    const i = letters.findIndex((l, k) => letters.indexOf(l) !== k);
    if (i < 0) return { v, letters };
    const j = letters.indexOf(letters[i]!);                              // j < i
    const n = v.shape[j]!;
    if (!isStatic(n)) fail('a diagonal along a symbolic dim');
    c.b.afford('bool', n * n, `Einsum's ${n}×${n} diagonal mask`);
    const eye = new Uint8Array(n * n);
    for (let k = 0; k < n; k++) eye[k * n + k] = 1;
    const shape = v.shape.map((d, k) => (k === j || k === i ? n : 1));
    const mask = c.b.reshape(c.b.constant({ dtype: 'bool', shape: [n, n], data: eye }), shape);
    v = c.b.op('reduce_sum', [c.b.op('select', [mask, v, c.b.scalar(0, v.dtype)])], { axes: [i], keep_dims: false });
    letters = letters.filter((_, k) => k !== i);
  }
}

function sumOut(c: NodeCtx, t: Term, keep: Set<string>): Term {
  const axes = t.letters.flatMap((l, i) => (keep.has(l) ? [] : [i]));
  if (axes.length === 0) return t;
  return { v: c.b.op('reduce_sum', [t.v], { axes, keep_dims: false }), letters: t.letters.filter((l) => keep.has(l)) };
}

function permuted(c: NodeCtx, t: Term, order: string[]): Value {
  return c.b.transpose(t.v, order.map((l) => t.letters.indexOf(l)));
}

/** a·b contracted over the letters not in `keep`, as one batched matmul. */
function contract(c: NodeCtx, a: Term, b: Term, keep: Set<string>): Term {
  const inB = new Set(b.letters), inA = new Set(a.letters);
  const batch = a.letters.filter((l) => inB.has(l) && keep.has(l));
  const summed = a.letters.filter((l) => inB.has(l) && !keep.has(l));
  const left = a.letters.filter((l) => !inB.has(l));
  const right = b.letters.filter((l) => !inA.has(l));
  const dim = (t: Term, l: string): Dim => t.v.shape[t.letters.indexOf(l)]!;
  const prod = (ds: Dim[]): Dim => dimProduct(ds) ?? fail(`einsum: cannot multiply the dims ${shapeToString(ds)}`);
  // Broadcast batch dims of size 1 against the other operand.
  const bd = batch.map((l) => { const x = dim(a, l), y = dim(b, l); return x === 1 ? y : x; });
  const av = c.b.reshape(permuted(c, a, [...batch, ...left, ...summed]), [...bd.map((d, i) => (dim(a, batch[i]!) === 1 ? 1 : d)), prod(left.map((l) => dim(a, l))), prod(summed.map((l) => dim(a, l)))]);
  const bv = c.b.reshape(permuted(c, b, [...batch, ...summed, ...right]), [...bd.map((d, i) => (dim(b, batch[i]!) === 1 ? 1 : d)), prod(summed.map((l) => dim(b, l))), prod(right.map((l) => dim(b, l)))]);
  const y = c.b.op('matmul', [av, bv], { transpose_a: false, transpose_b: false });
  const shape = [...bd, ...left.map((l) => dim(a, l)), ...right.map((l) => dim(b, l))];
  return { v: c.b.reshape(y, shape), letters: [...batch, ...left, ...right] };
}

const einsum: ImportRule = (c) => {
  const xs = c.inputs().map((v) => c.b.cast(v, 'float32'));
  const dtype = c.input(0).dtype;
  const eq = c.attr.string('equation') ?? fail('equation is missing');
  const { ins, out } = parseEinsum(c, eq, xs.map((x) => x.shape.length));
  let terms: Term[] = xs.map((v, i) => diagonals(c, { v, letters: ins[i]! }));
  const needed = (rest: Term[]) => new Set([...out, ...rest.flatMap((t) => t.letters)]);
  // Letters only one operand has and nobody needs are summed first.
  terms = terms.map((t, i) => sumOut(c, t, needed(terms.filter((_, k) => k !== i))));
  let acc = terms[0]!;
  for (let i = 1; i < terms.length; i++) acc = contract(c, acc, terms[i]!, needed(terms.slice(i + 1)));
  acc = sumOut(c, acc, new Set(out));
  return c.b.cast(permuted(c, acc, out), dtype);
};

// ---- TopK --------------------------------------------------------------------------------

/** TopK along an axis of static size n: ranks by pairwise comparison (ties to the lower index). */
const topK: ImportRule = (c) => {
  const x0 = c.input(0);
  const r = x0.shape.length;
  const axis = c.axis(c.attr.int('axis', -1), r);
  const k = c.opset >= 10 ? c.ints(1, 'k')[0]! : (c.attr.int('k') ?? fail('k is missing'));
  const largest = c.attr.int('largest', 1) !== 0;
  const n = x0.shape[axis]!;
  if (!isStatic(n)) fail('TopK needs a static size along its axis');
  if (k > n) fail(`k = ${k} is larger than the axis (${n})`);
  const x = c.b.moveAxis(x0, axis, r - 1);                                  // [..., n]
  const xi = c.b.unsqueeze(x, [r]);                                        // [..., n, 1]: element i
  const xj = c.b.unsqueeze(x, [r - 1]);                                    // [..., 1, n]: element j
  c.b.afford('bool', n * n, `TopK's ${n}×${n} tie-break table`);
  const beforeMask = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) beforeMask.fill(1, i * n, i * n + i);
  const before = c.b.constant({ dtype: 'bool', shape: [n, n], data: beforeMask });   // j < i
  const beats = c.b.op('logical_or', [c.b.op(largest ? 'greater' : 'less', [xj, xi]), c.b.op('logical_and', [c.b.op('equal', [xj, xi]), before])]);
  const rank = c.b.op('reduce_sum', [c.b.cast(beats, 'int32')], { axes: [r], keep_dims: false });   // [..., n]
  const slots = c.b.constant(tensorData('int32', [k, 1], Array.from({ length: k }, (_, i) => i)));
  const pick = c.b.op('equal', [c.b.unsqueeze(rank, [r - 1]), slots]);    // [..., k, n]
  const values = c.b.op('reduce_sum', [c.b.op('select', [pick, c.b.unsqueeze(x, [r - 1]), c.b.scalar(0, x.dtype)])], { axes: [r], keep_dims: false });
  const iota = c.b.constant(tensorData('int64', [n], Array.from({ length: n }, (_, i) => i)));
  const indices = c.b.op('reduce_sum', [c.b.op('select', [pick, iota, c.b.scalar(0, 'int64')])], { axes: [r], keep_dims: false });
  return [c.b.moveAxis(values, r - 1, axis), c.b.moveAxis(indices, r - 1, axis)];
};

// ---- ReverseSequence -------------------------------------------------------------------

const reverseSequence: ImportRule = (c) => {
  const x = c.input(0);
  const lensT = c.constRequired(1, 'sequence_lens');
  const batchAxis = c.attr.int('batch_axis', 1), timeAxis = c.attr.int('time_axis', 0);
  if (![batchAxis, timeAxis].every((a) => a === 0 || a === 1) || batchAxis === timeAxis) fail('batch_axis and time_axis must be 0 and 1');
  const [d0, d1] = x.shape as [Dim, Dim];
  if (!isStatic(d0) || !isStatic(d1)) fail('needs static batch and time dims');
  const lens = Array.from({ length: lensT.data.length }, (_, i) => elementAt(lensT, i));
  const idx = Array.from({ length: d0 * d1 }, (_, q) => {
    const i0 = Math.floor(q / d1), i1 = q % d1;
    const [b, t] = batchAxis === 0 ? [i0, i1] : [i1, i0];
    const len = lens[b]!;
    const src = t < len ? len - 1 - t : t;
    return batchAxis === 0 ? b * d1 + src : src * d1 + b;
  });
  const rest = x.shape.slice(2);
  const flat = c.b.reshape(x, [d0 * d1, ...rest]);
  const y = c.b.op('gather', [flat, c.b.constant(tensorData('int32', [d0 * d1], idx))], { axis: 0, batch_dims: 0 });
  return c.b.reshape(y, x.shape);
};

// ---- Det ---------------------------------------------------------------------------------

/** Permutations of 0..n-1 with their signs. */
function permutations(n: number): Array<{ p: number[]; sign: number }> {
  if (n === 1) return [{ p: [0], sign: 1 }];
  const out: Array<{ p: number[]; sign: number }> = [];
  for (const { p, sign } of permutations(n - 1)) {
    for (let i = 0; i <= p.length; i++) {
      const q = [...p.slice(0, i), n - 1, ...p.slice(i)];
      out.push({ p: q, sign: sign * ((p.length - i) % 2 === 0 ? 1 : -1) });
    }
  }
  return out;
}

const det: ImportRule = (c) => {
  const x = c.input(0);
  const r = x.shape.length;
  const n = x.shape[r - 1]!;
  if (!isStatic(n) || n > 4) fail(`Det is composed for static matrices up to 4×4, got ${shapeToString(x.shape)}`);
  const entry = (i: number, j: number): Value => {
    const begin = x.shape.map((_, k) => (k === r - 2 ? i : k === r - 1 ? j : 0));
    const size = x.shape.map((d, k) => (k >= r - 2 ? 1 : d));
    return c.b.squeeze(c.b.op('slice', [x], { begin, size }), [r - 2, r - 1]);
  };
  let acc: Value | undefined;
  for (const { p, sign } of permutations(n)) {
    let term = entry(0, p[0]!);
    for (let i = 1; i < n; i++) term = c.b.op('mul', [term, entry(i, p[i]!)]);
    acc = acc === undefined ? (sign > 0 ? term : c.b.op('neg', [term])) : c.b.op(sign > 0 ? 'add' : 'sub', [acc, term]);
  }
  return acc!;
};

export const IMPORT_MISC_RULES = {
  Einsum: einsum,
  TopK: topK,
  ReverseSequence: reverseSequence,
  Det: det,
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_MISC_MAKES = {
  neg: ['Det'],
  equal: ['TopK'],
  logical_and: ['TopK'],
  logical_or: ['TopK'],
  reduce_sum: ['Einsum', 'TopK'],
  matmul: ['Einsum'],
  gather: ['ReverseSequence'],
} satisfies MadeBy<typeof IMPORT_MISC_RULES>;
