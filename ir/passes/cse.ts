/**
 * Common subexpression elimination: a pure node with the same op, the same operands (in
 * any order for commutative ops), equal attrs (deep, tensor bytes included, −0 ≠ 0) and
 * the same result types as an earlier node is replaced by that earlier node.
 *
 * Random and stateful ops are never merged (two draws are two draws). A gc.name'd result
 * keeps its name: it moves to the surviving node, and when both are named the nodes stay
 * apart.
 */
import type { Dim } from '../dim.js';
import type { Graph, Node, Value } from '../graph.js';
import type { AttrValue } from '../ops.js';
import { OPS } from '../ops.js';
import { isTensorData } from '../printer.js';
import type { TensorData } from '../tensor_data.js';
import type { Pass } from './pass.js';
import { replaceNode, typeEq } from './rewrite.js';

function bytesOf(t: TensorData): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function tensorEq(a: TensorData, b: TensorData): boolean {
  if (a === b) return true;
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || !a.shape.every((d, i) => d === b.shape[i])) return false;
  const x = bytesOf(a), y = bytesOf(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Deep equality of attr values: numbers by Object.is, dims by parts, tensors by bytes. */
export function attrValueEq(a: AttrValue, b: AttrValue): boolean {
  if (typeof a !== 'object' || typeof b !== 'object') return Object.is(a, b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return (a as readonly AttrValue[]).every((x, i) => attrValueEq(x, (b as readonly AttrValue[])[i]!));
  }
  if (isTensorData(a) || isTensorData(b)) return isTensorData(a) && isTensorData(b) && tensorEq(a, b);
  const da = a as Exclude<Dim, number>, db = b as Exclude<Dim, number>;
  return da.sym === db.sym && da.k === db.k && da.c === db.c;
}

/** A cheap key for an attr value (tensors by dtype, shape and a hash of their first bytes). */
function attrKey(v: AttrValue): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${(v as readonly AttrValue[]).map(attrKey).join(',')}]`;
  if (isTensorData(v)) {
    const b = bytesOf(v);
    let h = 0x811c9dc5;
    for (let i = 0; i < Math.min(b.length, 256); i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    return `${v.dtype}[${v.shape.join(',')}]#${(h >>> 0).toString(16)}`;
  }
  const d = v as Exclude<Dim, number>;
  return `${d.k}*${d.sym}+${d.c}`;
}

function operands(n: Node): Value[] {
  return OPS[n.op].commutative ? [...n.inputs].sort((a, b) => a.id - b.id) : n.inputs;
}

function keyOf(n: Node): string {
  const attrs = Object.keys(n.attrs).filter((k) => n.attrs[k] !== undefined).sort().map((k) => `${k}=${attrKey(n.attrs[k]!)}`);
  return `${n.op}(${operands(n).map((v) => v.id).join(',')}){${attrs.join(',')}}`;
}

function sameNode(a: Node, b: Node): boolean {
  if (a.op !== b.op || a.inputs.length !== b.inputs.length || a.outputs.length !== b.outputs.length) return false;
  const ia = operands(a), ib = operands(b);
  if (!ia.every((v, i) => v === ib[i])) return false;
  const ka = Object.keys(a.attrs).filter((k) => a.attrs[k] !== undefined);
  const kb = Object.keys(b.attrs).filter((k) => b.attrs[k] !== undefined);
  if (ka.length !== kb.length || !ka.every((k) => b.attrs[k] !== undefined && attrValueEq(a.attrs[k]!, b.attrs[k]!))) return false;
  return a.outputs.every((o, i) => typeEq(o.type, b.outputs[i]!.type));
}

export const cse: Pass = {
  name: 'cse',
  run(g: Graph) {
    const seen = new Map<string, Node[]>();
    let changed = false;
    for (const n of [...g.nodes]) {
      if (OPS[n.op].effect !== 'pure' || n.outputs.length === 0) continue;
      const key = keyOf(n);
      const bucket = seen.get(key);
      const m = bucket?.find((c) => sameNode(c, n));
      if (m && replaceNode(g, n, m.outputs)) { changed = true; continue; }
      if (bucket) bucket.push(n); else seen.set(key, [n]);
    }
    return changed;
  },
};
