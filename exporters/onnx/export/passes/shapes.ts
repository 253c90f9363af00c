/**
 * What the passes know of each value's shape in an exported OnnxGraph: the rank, and each dim
 * as a number, a symbolic Dim (from the graph inputs), or undefined where it cannot be told.
 * Inferred forward from the graph inputs and initializers for the ops the canonical-form pass
 * rewrites around (matmuls, elementwise, reshapes, windows); any other op gives no shape.
 * Because a value name always denotes the same tensor (onnx_graph.ts), a shape stays true of
 * its name through later rewrites.
 */
import type { Dim } from '../../../../ir/dim.js';
import type { DType } from '../../../../ir/dtype.js';
import { dimDiv, dimEq, dimProduct, isStatic } from '../../../../ir/dim.js';
import type { OnnxGraph, OnnxNode } from '../onnx_graph.js';
import { irDTypeOf } from '../../dtypes.js';
import { LAYOUT_CLASS } from './transpose_sinking.js';

/** A dim that may be unknown. */
export type PDim = Dim | undefined;
/** A shape of known rank whose dims may be unknown. */
export type PShape = readonly PDim[];

const ints = (n: OnnxNode, name: string): readonly number[] | undefined => {
  const a = n.attrs[name];
  return a?.kind === 'ints' ? a.value : undefined;
};
const int = (n: OnnxNode, name: string, dflt: number): number => {
  const a = n.attrs[name];
  return a?.kind === 'int' ? a.value : dflt;
};

/** The int64 contents of a constant operand (an initializer), else undefined. */
export function constInts(g: OnnxGraph, name: string | undefined): number[] | undefined {
  const t = name === undefined ? undefined : g.initializers.get(name);
  if (!t || t.dtype !== 'int64' || t.shape.length !== 1) return undefined;
  return Array.from(t.data as BigInt64Array, Number);
}

export const pdimEq = (a: PDim, b: PDim): boolean => a !== undefined && b !== undefined && dimEq(a, b);

function broadcastDim(a: PDim, b: PDim): PDim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === undefined) return b !== undefined && isStatic(b) ? b : undefined;
  if (b === undefined) return isStatic(a) ? a : undefined;
  return dimEq(a, b) ? a : undefined;
}

function broadcast(shapes: readonly PShape[]): PShape {
  const r = Math.max(...shapes.map((s) => s.length));
  const out: PDim[] = [];
  for (let i = 0; i < r; i++) {
    let d: PDim = 1;
    for (const s of shapes) {
      const k = i - (r - s.length);
      d = broadcastDim(d, k < 0 ? 1 : s[k]);
    }
    out.push(d);
  }
  return out;
}

/** Reshape's result for a constant spec (0 copies the input dim unless allowzero, -1 is the rest). */
export function reshapeResult(x: PShape | undefined, spec: readonly number[], allowZero: boolean): PShape {
  const out: PDim[] = spec.map((d, i) => (d === 0 && !allowZero ? x?.[i] : d === -1 ? undefined : d));
  const hole = spec.indexOf(-1);
  if (hole < 0 || !x || x.some((d) => d === undefined)) return out;
  const known = out.filter((_, i) => i !== hole);
  if (known.some((d) => d === undefined)) return out;
  const total = dimProduct(x as Dim[]);
  const part = dimProduct(known as Dim[]);
  if (total === undefined || part === undefined) return out;
  if (isStatic(part)) {
    if (part !== 0) out[hole] = dimDiv(total, part);
  } else if (!isStatic(total) && total.sym === part.sym && total.c === 0 && part.c === 0 && total.k % part.k === 0) {
    out[hole] = total.k / part.k;
  }
  return out;
}

function windowShape(n: OnnxNode, x: PShape, outC: PDim): PShape | undefined {
  const k = ints(n, 'kernel_shape');
  if (!k || x.length !== k.length + 2) return undefined;
  const s = ints(n, 'strides') ?? k.map(() => 1), d = ints(n, 'dilations') ?? k.map(() => 1);
  const pads = ints(n, 'pads') ?? k.flatMap(() => [0, 0]);
  const auto = n.attrs.auto_pad?.kind === 'string' ? n.attrs.auto_pad.value : 'NOTSET';
  // ceil_mode's last window must start inside the input: not modelled, no shape.
  if (int(n, 'ceil_mode', 0) === 1) return undefined;
  const spatial = k.map((kk, i) => {
    const v = x[i + 2];
    if (v === undefined || !isStatic(v) || (auto !== 'NOTSET' && auto !== 'VALID')) return undefined;
    const p = auto === 'VALID' ? 0 : pads[i]! + pads[i + k.length]!;
    const span = v + p - d[i]! * (kk - 1) - 1;
    return Math.floor(span / s[i]!) + 1;
  });
  return [x[0], outC, ...spatial];
}

/**
 * The contents of a 1-D int64 value that holds a shape, as dims: an initializer, Shape(v) of a
 * value whose shape is known, Gather of constant indices from such a value, and Concat of those
 * (how the exporter spells shapes with symbolic dims: sym_dims.ts); else undefined.
 */
export function shapeValue(g: OnnxGraph, name: string | undefined, shapes: ReadonlyMap<string, PShape>, prod: ReadonlyMap<string, OnnxNode>): PShape | undefined {
  if (name === undefined) return undefined;
  const c = constInts(g, name);
  if (c) return c;
  const n = prod.get(name);
  if (!n) return undefined;
  switch (n.opType) {
    case 'Shape':
      return n.attrs.start === undefined && n.attrs.end === undefined ? shapes.get(n.inputs[0]!) : undefined;
    case 'Gather': {
      const src = shapeValue(g, n.inputs[0], shapes, prod);
      const idx = constInts(g, n.inputs[1]);
      if (!src || !idx || int(n, 'axis', 0) !== 0) return undefined;
      const picked = idx.map((i) => src[i < 0 ? i + src.length : i]);
      return idx.every((i) => (i < 0 ? i + src.length : i) < src.length) ? picked : undefined;
    }
    case 'Concat': {
      const parts = n.inputs.map((i) => shapeValue(g, i, shapes, prod));
      return parts.every((p) => p !== undefined) ? (parts as PShape[]).flat() : undefined;
    }
    default:
      return undefined;
  }
}

/** The shape of each value name that can be told (graph inputs, initializers, and what follows from them). */
export function inferShapes(g: OnnxGraph): Map<string, PShape> {
  const m = new Map<string, PShape>();
  const prod = new Map<string, OnnxNode>();
  for (const i of g.inputs) m.set(i.name, i.shape);
  for (const [k, t] of g.initializers) m.set(k, t.shape);
  for (const n of g.nodes) {
    const s = nodeShape(g, n, (i) => (n.inputs[i] === undefined ? undefined : m.get(n.inputs[i]!)), (name) => shapeValue(g, name, m, prod));
    if (s && n.outputs[0] !== undefined) m.set(n.outputs[0], s);
    for (const o of n.outputs) if (o !== '') prod.set(o, n);
  }
  return m;
}

function nodeShape(g: OnnxGraph, n: OnnxNode, inp: (i: number) => PShape | undefined, valueOf: (name: string | undefined) => PShape | undefined): PShape | undefined {
  const x = inp(0);
  const cls = LAYOUT_CLASS[n.opType];
  if (cls === 'unary' || n.opType === 'Identity' || n.opType === 'Softmax' || n.opType === 'LogSoftmax' || n.opType === 'BatchNormalization'
    || n.opType === 'LayerNormalization') return x;
  if (cls === 'broadcast') {
    const ins = n.inputs.map((_, i) => inp(i));
    return ins.every((s) => s !== undefined) ? broadcast(ins as PShape[]) : undefined;
  }
  switch (n.opType) {
    case 'Reshape': {
      const spec = constInts(g, n.inputs[1]);
      return spec ? reshapeResult(x, spec, int(n, 'allowzero', 0) === 1) : undefined;
    }
    case 'Flatten': {
      if (!x) return undefined;
      const a = int(n, 'axis', 1), ax = a < 0 ? a + x.length : a;
      const prod = (ds: PShape) => (ds.some((d) => d === undefined) ? undefined : dimProduct(ds as Dim[]));
      return [prod(x.slice(0, ax)), prod(x.slice(ax))];
    }
    case 'Transpose': {
      if (!x) return undefined;
      const perm = ints(n, 'perm') ?? x.map((_, i) => x.length - 1 - i);
      return perm.map((p) => x[p]);
    }
    case 'MatMul': {
      const a = x, b = inp(1);
      if (!a || !b || a.length === 0 || b.length === 0) return undefined;
      const a2 = a.length === 1 ? [1, a[0]] : a, b2 = b.length === 1 ? [b[0], 1] : b;
      const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]);
      return [...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2]]), ...(b.length === 1 ? [] : [b2[b2.length - 1]])];
    }
    case 'Gemm': {
      const a = x, b = inp(1);
      if (!a || !b || a.length !== 2 || b.length !== 2) return undefined;
      return [int(n, 'transA', 0) ? a[1] : a[0], int(n, 'transB', 0) ? b[0] : b[1]];
    }
    case 'Conv': {
      const w = inp(1);
      return x && w ? windowShape(n, x, w[0]) : undefined;
    }
    case 'MaxPool': case 'AveragePool':
      return x && n.outputs.length === 1 ? windowShape(n, x, x[1]) : undefined;
    case 'ReduceMean': case 'ReduceSum': case 'ReduceMax': case 'ReduceMin': case 'ReduceProd': {
      if (!x) return undefined;
      const axes = n.inputs.length > 1 ? constInts(g, n.inputs[1]) : ints(n, 'axes');
      if (!axes || axes.length === 0) return undefined; // none: all axes, or none with noop_with_empty_axes
      const set = new Set(axes.map((a) => (a < 0 ? a + x.length : a)));
      const keep = int(n, 'keepdims', 1) === 1;
      return x.flatMap((d, i) => (set.has(i) ? (keep ? [1] : []) : [d]));
    }
    case 'Gather': {
      const idx = inp(1);
      if (!x || !idx) return undefined;
      const a = int(n, 'axis', 0), ax = a < 0 ? a + x.length : a;
      return [...x.slice(0, ax), ...idx, ...x.slice(ax + 1)];
    }
    case 'Expand': {
      const spec = valueOf(n.inputs[1]);
      return x && spec ? broadcast([x, spec]) : undefined;
    }
    case 'Unsqueeze': case 'Squeeze': {
      const axes = n.inputs.length > 1 ? constInts(g, n.inputs[1]) : ints(n, 'axes');
      if (!x || !axes) return undefined;
      if (n.opType === 'Squeeze') {
        const set = new Set(axes.map((a) => (a < 0 ? a + x.length : a)));
        return set.size === axes.length && [...set].every((a) => x[a] === 1) ? x.filter((_, i) => !set.has(i)) : undefined;
      }
      const r = x.length + axes.length;
      const set = new Set(axes.map((a) => (a < 0 ? a + r : a)));
      if (set.size !== axes.length || [...set].some((a) => a < 0 || a >= r)) return undefined;
      const rest = [...x];
      return Array.from({ length: r }, (_, i) => (set.has(i) ? 1 : rest.shift()));
    }
    case 'GlobalAveragePool': case 'GlobalMaxPool':
      return x ? [x[0], x[1], ...x.slice(2).map(() => 1)] : undefined;
    default:
      return undefined;
  }
}

const BOOL_OUT = new Set(['Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsInf', 'IsNaN']);
/** Ops whose result has the dtype of operand 0. */
const SAME_AS_FIRST = new Set(['Reshape', 'Flatten', 'Transpose', 'MatMul', 'Gemm', 'Conv', 'MaxPool', 'AveragePool', 'GlobalAveragePool',
  'GlobalMaxPool', 'BatchNormalization', 'LayerNormalization', 'Softmax', 'LogSoftmax', 'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd',
  'Squeeze', 'Unsqueeze', 'Expand', 'Concat', 'Slice', 'Pad', 'Gather']);

/** The dtype of each value name that can be told: inputs, initializers, and ops whose result type follows from an operand. */
export function inferDTypes(g: OnnxGraph): Map<string, DType> {
  const m = new Map<string, DType>();
  for (const i of g.inputs) m.set(i.name, i.dtype);
  for (const [k, t] of g.initializers) m.set(k, t.dtype);
  for (const n of g.nodes) {
    const out = n.outputs[0];
    if (out === undefined || n.outputs.length !== 1) continue;
    let dt: DType | undefined;
    if (BOOL_OUT.has(n.opType)) dt = 'bool';
    else if (n.opType === 'Cast') dt = n.attrs.to?.kind === 'int' ? irDTypeOf(n.attrs.to.value) : undefined;
    else if (n.opType === 'Where') dt = m.get(n.inputs[1] ?? '');
    else if (LAYOUT_CLASS[n.opType] !== undefined || SAME_AS_FIRST.has(n.opType)) dt = m.get(n.inputs[0] ?? '');
    if (dt !== undefined) m.set(out, dt);
  }
  return m;
}
