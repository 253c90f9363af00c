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
import type { AttrValue, OpDef, OpName } from '../ops.js';
import { OPS } from '../ops.js';
import { isTensorData } from '../printer.js';
import type { TensorData } from '../tensor_data.js';
import type { Pass } from './pass.js';
import { replaceNode, typeEq } from './rewrite.js';

function bytesOf(t: TensorData): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function bytesEq(a: TensorData, b: TensorData): boolean {
  const x = bytesOf(a), y = bytesOf(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Equal dtype, shape and bytes. */
function tensorEq(a: TensorData, b: TensorData): boolean {
  if (a === b) return true;
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length) return false;
  for (let i = 0; i < a.shape.length; i++) if (a.shape[i] !== b.shape[i]) return false;
  const x = a.data, y = b.data;
  if (x.byteLength !== y.byteLength) return false;
  if (x.constructor !== y.constructor || x instanceof BigInt64Array) return bytesEq(a, b);
  // Element by element (no byte views to allocate; CSE compares every duplicate constant):
  // for numbers that is byte equality, except that 0 and −0 are ===, and NaNs, whose bytes
  // may differ, are not: those go to the bytes.
  const xs = x as Exclude<typeof x, BigInt64Array>, ys = y as Exclude<typeof y, BigInt64Array>;
  for (let i = 0; i < xs.length; i++) {
    const p = xs[i]!, q = ys[i]!;
    if (p === q) {
      if (p === 0 && !Object.is(p, q)) return false;
    } else {
      return Number.isNaN(p) && Number.isNaN(q) && bytesEq(a, b);
    }
  }
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

/*
 * Candidates are found by a numeric hash of what sameNode compares (op, operands, the op's
 * attrs), and sameNode decides. Equal nodes hash alike, so the first earlier equal node is
 * found whatever else shares its hash. A number rather than a string key: on a 100k-node graph
 * building, hashing and keeping one string (and its sorted attr list) per node was most of
 * the pass's time and garbage.
 */

const mix = (h: number, x: number): number => Math.imul(h ^ x, 0x01000193);

/** Final avalanche (murmur3's fmix32): nearby ids land in different buckets. */
function finish(h: number): number {
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** Equal numbers (Object.is, so NaN = NaN and −0 ≠ 0) hash alike. */
function numberHash(x: number): number {
  if ((x | 0) === x && !Object.is(x, -0)) return x;
  f64[0] = Number.isNaN(x) ? NaN : x;
  return mix(u32[0]!, u32[1]!);
}

/** String attrs hashed once per pass run (dtypes, activations and the like repeat). */
class StringHashes {
  private readonly memo = new Map<string, number>();
  of(s: string): number {
    let h = this.memo.get(s);
    if (h === undefined) {
      h = stringHash(s);
      this.memo.set(s, h);
    }
    return h;
  }
}

/** A hash of an attr value consistent with attrValueEq (tensors by dtype, shape and their first bytes). */
function attrHash(v: AttrValue, str: StringHashes): number {
  switch (typeof v) {
    case 'number': return numberHash(v);
    case 'boolean': return v ? 0x5bd1e995 : 0x1b873593;
    case 'string': return str.of(v);
  }
  if (Array.isArray(v)) {
    let h = 0x2545f491 ^ v.length;
    for (const x of v as readonly AttrValue[]) h = mix(h, attrHash(x, str));
    return h;
  }
  if (isTensorData(v)) {
    // Equal bytes are equal elements: hashing the first elements needs no byte view.
    let h = mix(str.of(v.dtype), v.shape.length);
    for (const d of v.shape) h = mix(h, d);
    const data = v.data;
    for (let i = 0; i < Math.min(data.length, 64); i++) h = mix(h, numberHash(Number(data[i]!)));
    return h;
  }
  // A symbolic dim: attrValueEq compares k and c with ===, so −0 and 0 are one.
  const d = v as Exclude<Dim, number>;
  return mix(mix(str.of(d.sym), numberHash(d.k === 0 ? 0 : d.k)), numberHash(d.c === 0 ? 0 : d.c));
}

/** What CSE needs of an op, looked up once per op rather than in OPS per node. */
interface OpInfo {
  /** Pure ops are merged; random and stateful ones never. */
  readonly pure: boolean;
  readonly commutative: boolean;
  readonly hash: number;
  /** The op's declared attrs: hashed by name (equal nodes agree on them). */
  readonly attrs: readonly string[];
}

const OP_INFO = new Map<OpName, OpInfo>();

function stringHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return h;
}

function opInfo(op: OpName): OpInfo {
  let info = OP_INFO.get(op);
  if (info === undefined) {
    const d = OPS[op] as OpDef;
    info = { pure: d.effect === 'pure', commutative: d.commutative, hash: stringHash(op), attrs: Object.keys(d.attrs) };
    OP_INFO.set(op, info);
  }
  return info;
}

/**
 * Consistent with sameNode: op, operand count and ids (as a multiset for commutative ops), and
 * the op's declared attrs. Result counts and types, and attrs the op does not declare, are left
 * to sameNode: they only make a bucket shared.
 */
function nodeHash(n: Node, info: OpInfo, str: StringHashes): number {
  const ins = n.inputs;
  let h = mix(info.hash, ins.length);
  if (info.commutative) {
    // Order-free (a sum), as sameNode compares operands sorted.
    let s = 0;
    for (let i = 0; i < ins.length; i++) s = (s + finish(ins[i]!.id + 1)) | 0;
    h = mix(h, s);
  } else {
    for (let i = 0; i < ins.length; i++) h = mix(h, ins[i]!.id);
  }
  const names = info.attrs;
  if (names.length > 0) {
    const attrs = n.attrs;
    for (let i = 0; i < names.length; i++) {
      const x = attrs[names[i]!];
      h = mix(h, x === undefined ? 0x6b43a9b5 : attrHash(x, str));
    }
  }
  return finish(h);
}

/** Operands equal as sorted by id (commutative ops), else in order. */
function sameOperands(a: Node, b: Node, commutative: boolean): boolean {
  const ia = a.inputs, ib = b.inputs;
  if (!commutative) {
    for (let i = 0; i < ia.length; i++) if (ia[i] !== ib[i]) return false;
    return true;
  }
  if (ia.length === 2) return (ia[0] === ib[0] && ia[1] === ib[1]) || (ia[0] === ib[1] && ia[1] === ib[0]);
  const byId = (x: Value, y: Value) => x.id - y.id;
  const sa = [...ia].sort(byId), sb = [...ib].sort(byId);
  return sa.every((v, i) => v === sb[i]);
}

function sameNode(a: Node, b: Node, info: OpInfo): boolean {
  if (a.op !== b.op || a.inputs.length !== b.inputs.length || a.outputs.length !== b.outputs.length) return false;
  if (!sameOperands(a, b, info.commutative)) return false;
  // The same defined attrs, pairwise equal.
  let ka = 0, kb = 0;
  for (const k in a.attrs) {
    const x = a.attrs[k];
    if (x === undefined) continue;
    ka++;
    const y = b.attrs[k];
    if (y === undefined || !attrValueEq(x, y)) return false;
  }
  for (const k in b.attrs) if (b.attrs[k] !== undefined) kb++;
  if (ka !== kb) return false;
  for (let i = 0; i < a.outputs.length; i++) if (!typeEq(a.outputs[i]!.type, b.outputs[i]!.type)) return false;
  return true;
}

/**
 * The nodes kept so far, chained per hash bucket in insertion order (open hashing on typed
 * arrays: no object per entry).
 */
class NodeTable {
  private readonly nodes: Node[] = [];
  private hashes: Int32Array;
  private next: Int32Array;
  private readonly head: Int32Array;
  private readonly tail: Int32Array;
  private readonly mask: number;

  constructor(expected: number) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.mask = cap - 1;
    this.head = new Int32Array(cap).fill(-1);
    this.tail = new Int32Array(cap);
    this.hashes = new Int32Array(Math.max(16, expected));
    this.next = new Int32Array(Math.max(16, expected));
  }

  /** The first node added with hash `h` that sameNode finds equal to `n`. */
  find(n: Node, h: number, info: OpInfo): Node | undefined {
    for (let i = this.head[h & this.mask]!; i >= 0; i = this.next[i]!) {
      if (this.hashes[i] === h && sameNode(this.nodes[i]!, n, info)) return this.nodes[i];
    }
    return undefined;
  }

  add(n: Node, h: number): void {
    const i = this.nodes.length;
    if (i === this.hashes.length) {
      const hs = new Int32Array(i * 2); hs.set(this.hashes); this.hashes = hs;
      const nx = new Int32Array(i * 2); nx.set(this.next); this.next = nx;
    }
    this.nodes.push(n);
    this.hashes[i] = h;
    this.next[i] = -1;
    const b = h & this.mask;
    if (this.head[b]! < 0) this.head[b] = i; else this.next[this.tail[b]!] = i;
    this.tail[b] = i;
  }
}

export const cse: Pass = {
  name: 'cse',
  run(g: Graph) {
    const nodes = [...g.nodes];
    const table = new NodeTable(nodes.length);
    const str = new StringHashes();
    let changed = false;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      const info = opInfo(n.op);
      // Control flow is not merged here (its regions would have to be compared): cse runs inside them (regions.ts).
      if (!info.pure || n.regions.length > 0) continue;
      const h = nodeHash(n, info, str);
      const m = table.find(n, h, info);
      // A node without results is never merged. Checked only on a match (sameNode compares
      // result counts, so only such nodes match each other): most nodes never read it.
      if (m && n.outputs.length > 0 && replaceNode(g, n, m.outputs)) { changed = true; continue; }
      table.add(n, h);
    }
    return changed;
  },
};
