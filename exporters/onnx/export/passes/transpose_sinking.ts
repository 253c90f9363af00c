/**
 * Transpose sinking: moves Transpose nodes down through layout-agnostic ops and cancels
 * inverse pairs, so that the NHWC↔NCHW transposes the conv / pool / batch-norm rules put
 * around each op vanish between consecutive layers.
 *
 *   T(T(x, p), q)               → T(x, p∘q), or x when p∘q is the identity
 *   T(initializer)              → a transposed initializer
 *   U(T(x, p))                  → T(U(x), p)                 U unary elementwise (Relu, Cast, Clip…)
 *   B(T(x, p), c)               → T(B(x, c'), p)             B broadcasting elementwise, c an initializer
 *                                                            permuted to c' (rank raised first), or
 *                                                            T(y, p) with the same p
 *   Concat(T(a, p), T(b, p), k) → T(Concat(a, b, p[k]), p)
 *   Reduce(T(x, p), axes)       → [T](Reduce(x, p[axes]))    the remaining transpose dropped when trivial
 *   Softmax(T(x, p), k)         → T(Softmax(x, p[k]), p)
 *
 * A Transpose is sunk only into its single reader (it is never duplicated) and never past a
 * graph output. Which ONNX ops are layout-agnostic, and how, is the table LAYOUT_CLASS.
 */
import { composePerm, invertPerm, isIdentityPerm } from '../../../../ir/perm.js';
import type { TensorData } from '../../../../ir/tensor_data.js';
import type { OnnxGraph, OnnxNode } from '../onnx_graph.js';
import { attr, consumers, isGraphOutput, producers, removeDead, replaceUses } from '../onnx_graph.js';
import type { OnnxPass, PassCtx } from './pass.js';
import { transposeData, withRank } from '../tensor_transpose.js';

type LayoutClass = 'unary' | 'broadcast' | 'concat' | 'reduce' | 'softmax';

/** How each layout-agnostic ONNX op commutes with a Transpose of its data operand(s). */
export const LAYOUT_CLASS: Readonly<Record<string, LayoutClass>> = {
  // one data operand (operand 0); any further operands are scalars (Clip's bounds)
  Abs: 'unary', Acos: 'unary', Acosh: 'unary', Asin: 'unary', Asinh: 'unary', Atan: 'unary', Atanh: 'unary',
  Cast: 'unary', Ceil: 'unary', Clip: 'unary', Cos: 'unary', Cosh: 'unary', Elu: 'unary', Erf: 'unary', Exp: 'unary',
  Floor: 'unary', HardSigmoid: 'unary', Identity: 'unary', IsInf: 'unary', IsNaN: 'unary', LeakyRelu: 'unary',
  Log: 'unary', Neg: 'unary', Not: 'unary', Reciprocal: 'unary', Relu: 'unary', Round: 'unary', Selu: 'unary',
  Sigmoid: 'unary', Sign: 'unary', Sin: 'unary', Sinh: 'unary', Softplus: 'unary', Softsign: 'unary', Sqrt: 'unary',
  Tan: 'unary', Tanh: 'unary',
  // every operand is data, broadcast against the others
  Add: 'broadcast', And: 'broadcast', Div: 'broadcast', Equal: 'broadcast', Greater: 'broadcast',
  GreaterOrEqual: 'broadcast', Less: 'broadcast', LessOrEqual: 'broadcast', Max: 'broadcast', Min: 'broadcast',
  Mod: 'broadcast', Mul: 'broadcast', Or: 'broadcast', Pow: 'broadcast', PRelu: 'broadcast', Sub: 'broadcast',
  Sum: 'broadcast', Where: 'broadcast', Xor: 'broadcast',
  Concat: 'concat',
  ReduceMax: 'reduce', ReduceMean: 'reduce', ReduceMin: 'reduce', ReduceProd: 'reduce', ReduceSum: 'reduce',
  Softmax: 'softmax', LogSoftmax: 'softmax',
};

const permOf = (n: OnnxNode): readonly number[] => {
  const p = n.attrs.perm;
  if (p?.kind !== 'ints') throw new Error(`Transpose ${n.name} has no perm`);
  return p.value;
};
const normAxis = (a: number, r: number) => (a < 0 ? a + r : a);
const intAttr = (n: OnnxNode, name: string, dflt: number) => {
  const a = n.attrs[name];
  return a?.kind === 'int' ? a.value : dflt;
};

interface Sinker {
  g: OnnxGraph;
  ctx: PassCtx;
  prod: Map<string, OnnxNode>;
  readers: (name: string) => OnnxNode[];
}

/** Replaces `c`'s output y by a fresh y', and emits y = T(y', perm) right after `c`. */
function transposeAfter(s: Sinker, c: OnnxNode, perm: readonly number[]): void {
  const y = c.outputs[0]!;
  const inner = s.ctx.freshValue(`${y}_t`);
  c.outputs[0] = inner;
  const t: OnnxNode = { opType: 'Transpose', inputs: [inner], outputs: [y], attrs: { perm: attr.ints(perm) }, name: s.ctx.freshNode(`${c.name}_transpose`), doc: c.doc };
  s.g.nodes.splice(s.g.nodes.indexOf(c) + 1, 0, t);
}

/** A new initializer equal to `name` broadcast to rank r and permuted by inverse(perm). */
function permutedInitializer(s: Sinker, name: string, data: TensorData, perm: readonly number[]): string {
  const r = perm.length;
  const full = withRank(data, r);
  if (full.shape.every((d) => d === 1)) return name;
  const out = s.ctx.freshValue(`${name}_perm`);
  s.g.initializers.set(out, transposeData(full, invertPerm(perm)));
  return out;
}

/** The axes of a Reduce node (attribute, or a constant second input), or undefined. */
function reduceAxes(s: Sinker, c: OnnxNode): number[] | undefined {
  const a = c.attrs.axes;
  if (a?.kind === 'ints') return [...a.value];
  if (c.inputs.length < 2 || c.inputs[1] === '') return undefined;
  const t = s.g.initializers.get(c.inputs[1]!);
  return t ? Array.from(t.data as BigInt64Array, Number) : undefined;
}

/** Tries to move Transpose `t` below its only reader `c`. */
function sinkInto(s: Sinker, t: OnnxNode, c: OnnxNode): boolean {
  const perm = permOf(t);
  const r = perm.length;
  const [x] = t.inputs as [string];
  const [tOut] = t.outputs as [string];
  const cls = LAYOUT_CLASS[c.opType];
  if (cls === undefined || c.outputs.length !== 1) return false;
  // A same-perm Transpose read only by c, as a replacement operand.
  const samePermSource = (name: string): string | undefined => {
    const p = s.prod.get(name);
    if (!p || p.opType !== 'Transpose' || isGraphOutput(s.g, name) || s.readers(name).length !== 1) return undefined;
    const q = permOf(p);
    return q.length === r && q.every((v, i) => v === perm[i]) ? p.inputs[0] : undefined;
  };
  switch (cls) {
    case 'unary': {
      if (c.inputs[0] !== tOut || c.inputs.slice(1).includes(tOut)) return false;
      c.inputs[0] = x;
      transposeAfter(s, c, perm);
      return true;
    }
    case 'broadcast': {
      const next: string[] = [];
      for (const name of c.inputs) {
        if (name === tOut) { next.push(x); continue; }
        const init = s.g.initializers.get(name);
        if (init && init.shape.length <= r) { next.push(permutedInitializer(s, name, init, perm)); continue; }
        const src = samePermSource(name);
        if (src === undefined) return false;
        next.push(src);
      }
      c.inputs = next;
      transposeAfter(s, c, perm);
      return true;
    }
    case 'concat': {
      const next: string[] = [];
      for (const name of c.inputs) {
        const src = name === tOut ? x : samePermSource(name);
        if (src === undefined) return false;
        next.push(src);
      }
      c.inputs = next;
      c.attrs = { ...c.attrs, axis: attr.int(perm[normAxis(intAttr(c, 'axis', 0), r)]!) };
      transposeAfter(s, c, perm);
      return true;
    }
    case 'softmax': {
      c.inputs[0] = x;
      c.attrs = { ...c.attrs, axis: attr.int(perm[normAxis(intAttr(c, 'axis', -1), r)]!) };
      transposeAfter(s, c, perm);
      return true;
    }
    case 'reduce': {
      const axes = reduceAxes(s, c);
      if (axes === undefined || axes.length === 0) return false;
      const mapped = axes.map((a) => perm[normAxis(a, r)]!);
      c.inputs[0] = x;
      if (c.attrs.axes) c.attrs = { ...c.attrs, axes: attr.ints(mapped) };
      else {
        const name = s.ctx.freshValue(`${c.outputs[0]}_axes`);
        s.g.initializers.set(name, { dtype: 'int64', shape: [mapped.length], data: BigInt64Array.from(mapped, (v) => BigInt(v)) });
        c.inputs[1] = name;
      }
      if (intAttr(c, 'keepdims', 1) === 1) { transposeAfter(s, c, perm); return true; }
      // Dropped axes: what remains of perm, renumbered within the reduced rank.
      const kept = perm.filter((p) => !mapped.includes(p));
      const sorted = [...kept].sort((a, b) => a - b);
      const rest = kept.map((p) => sorted.indexOf(p));
      if (!isIdentityPerm(rest)) transposeAfter(s, c, rest);
      return true;
    }
  }
}

/** One rewrite somewhere in the graph; false when none applies. */
function rewriteOnce(g: OnnxGraph, ctx: PassCtx): boolean {
  const prod = producers(g);
  const uses = consumers(g);
  const s: Sinker = { g, ctx, prod, readers: (name) => [...new Set(uses.get(name) ?? [])] };
  for (const t of g.nodes) {
    if (t.opType !== 'Transpose') continue;
    const perm = permOf(t);
    const [x] = t.inputs as [string];
    const [out] = t.outputs as [string];
    const remove = () => g.nodes.splice(g.nodes.indexOf(t), 1);
    if (isIdentityPerm(perm)) {
      if (isGraphOutput(g, out)) { t.opType = 'Identity'; t.attrs = {}; } else { replaceUses(g, out, x); remove(); }
      return true;
    }
    const init = g.initializers.get(x);
    if (init && !isGraphOutput(g, out)) {
      g.initializers.set(out, transposeData(init, perm));
      remove();
      return true;
    }
    const p = prod.get(x);
    if (p?.opType === 'Transpose') {
      const q = permOf(p);
      t.inputs = [p.inputs[0]!];
      t.attrs = { ...t.attrs, perm: attr.ints(composePerm(perm, q)) };
      return true;
    }
    const readers = s.readers(out);
    if (readers.length === 1 && !isGraphOutput(g, out) && sinkInto(s, t, readers[0]!)) {
      // t is now unread (its reader reads x); dead-code removal drops it and what it orphaned.
      removeDead(g);
      return true;
    }
  }
  return false;
}

export const sinkTransposes: OnnxPass = {
  name: 'sink-transposes',
  run(g, ctx) {
    let changed = false;
    for (let i = 0; i < 10_000 && rewriteOnce(g, ctx); i++) changed = true;
    return changed;
  },
};
