/**
 * The exporter's working form of an ONNX graph: plain nodes over string value names, with
 * initializers held as TensorData. Rules emit into it, layout passes rewrite it, and
 * `serialize.ts` turns it into a ModelProto. Invariant kept by every rewrite: a value name
 * always denotes the same tensor (a rewrite may drop a name, never change what it means),
 * and graph inputs and outputs keep their names.
 */
import type { DType } from '../../../ir/dtype.js';
import type { Dim, Shape } from '../../../ir/dim.js';
import type { Node } from '../../../ir/graph.js';
import type { TensorData } from '../../../ir/tensor_data.js';

export type OnnxAttr =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: TensorData }
  | OnnxGraphAttr;

/**
 * A graph-valued attribute (If's branches, Loop's and Scan's body): the subgraph itself, so
 * that passes rewrite it as a graph. Its nodes may read names of the graphs around it (ONNX's
 * outer scope); every name it defines is unique in the whole model.
 */
export interface OnnxGraphAttr extends OnnxGraph {
  readonly kind: 'graph';
}

export type OnnxAttrs = Record<string, OnnxAttr>;

export const attr = {
  int: (value: number | boolean): OnnxAttr => ({ kind: 'int', value: typeof value === 'boolean' ? (value ? 1 : 0) : value }),
  ints: (value: readonly number[]): OnnxAttr => ({ kind: 'ints', value }),
  float: (value: number): OnnxAttr => ({ kind: 'float', value }),
  floats: (value: readonly number[]): OnnxAttr => ({ kind: 'floats', value }),
  str: (value: string): OnnxAttr => ({ kind: 'string', value }),
  tensor: (value: TensorData): OnnxAttr => ({ kind: 'tensor', value }),
  graph: (g: OnnxGraph): OnnxGraphAttr => Object.assign(g, { kind: 'graph' as const }),
};

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  attrs: OnnxAttrs;
  /** Unique node name. */
  name: string;
  /** The user's source location (file:line:col) of the IR node this came from. */
  doc: string;
  /** The IR node a rule emitted this for (readable.ts names the nodes of one IR node alike); passes leave it unset. */
  origin?: Node;
}

export interface OnnxValueInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
}

/** A value's type as far as it is known: a dim or the whole shape may be unknown (value_info). */
export interface OnnxValueType {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly (Dim | undefined)[] | undefined;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  /** Initializers by name, in insertion order. */
  initializers: Map<string, TensorData>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** The model's metadata_props, by key. */
  metadata?: Record<string, string>;
  /** The graph's doc_string. */
  doc?: string;
  /** The types of the values between the nodes (value_info), set by the exporter after its passes. */
  valueInfo?: OnnxValueType[];
}

/** The subgraphs a node holds (graph-valued attributes), in attribute-name order. */
export function subgraphsOf(n: OnnxNode): OnnxGraph[] {
  const out: OnnxGraph[] = [];
  for (const k of Object.keys(n.attrs).sort()) {
    const a = n.attrs[k]!;
    if (a.kind === 'graph') out.push(a);
  }
  return out;
}

/** Whether any node of `g` holds a subgraph. */
export function hasSubgraphs(g: OnnxGraph): boolean {
  return g.nodes.some((n) => subgraphsOf(n).length > 0);
}

/**
 * The names a subgraph reads from the graphs around it (its own nested subgraphs' included):
 * those it reads or yields without defining them as an input, initializer or node output.
 */
export function outerNames(g: OnnxGraph): Set<string> {
  const defined = new Set<string>([...g.inputs.map((i) => i.name), ...g.initializers.keys()]);
  for (const n of g.nodes) for (const o of n.outputs) if (o !== '') defined.add(o);
  const out = new Set<string>();
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i !== '' && !defined.has(i)) out.add(i);
    for (const s of subgraphsOf(n)) for (const i of outerNames(s)) if (!defined.has(i)) out.add(i);
  }
  for (const o of g.outputs) if (!defined.has(o.name)) out.add(o.name);
  return out;
}

/** What node `n` reads: its operands, then the outer names its subgraphs read (each once). */
export function readsOf(n: OnnxNode): string[] {
  const subs = subgraphsOf(n);
  if (subs.length === 0) return n.inputs;
  const extra = new Set<string>();
  for (const s of subs) for (const i of outerNames(s)) if (!n.inputs.includes(i)) extra.add(i);
  return [...n.inputs, ...extra];
}

/** Producer node of each value name. */
export function producers(g: OnnxGraph): Map<string, OnnxNode> {
  const m = new Map<string, OnnxNode>();
  for (const n of g.nodes) for (const o of n.outputs) if (o !== '') m.set(o, n);
  return m;
}

/**
 * Consumers of each value name (a node appears once per operand slot that reads it, and once
 * more for each name its subgraphs read from outside: a pass never sees such a name unread).
 */
export function consumers(g: OnnxGraph): Map<string, OnnxNode[]> {
  const m = new Map<string, OnnxNode[]>();
  for (const n of g.nodes) {
    for (const i of readsOf(n)) {
      if (i === '') continue;
      let l = m.get(i);
      if (!l) m.set(i, (l = []));
      l.push(n);
    }
  }
  return m;
}

export function isGraphOutput(g: OnnxGraph, name: string): boolean {
  return g.outputs.some((o) => o.name === name);
}

/**
 * Removes nodes none of whose outputs is used or a graph output (every op the exporter
 * emits is free of side effects), then initializers nothing reads. Returns whether anything went.
 */
export function removeDead(g: OnnxGraph): boolean {
  const live = new Set<string>(g.outputs.map((o) => o.name));
  const keep: OnnxNode[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.outputs.some((o) => live.has(o))) {
      keep.push(n);
      for (const x of readsOf(n)) live.add(x);
    }
  }
  keep.reverse();
  let changed = keep.length !== g.nodes.length;
  g.nodes = keep;
  for (const name of [...g.initializers.keys()]) {
    if (!live.has(name)) { g.initializers.delete(name); changed = true; }
  }
  return changed;
}

/**
 * Points every operand that reads `from` at `to`, in subgraphs too (names are unique in the
 * model, so a subgraph's `from` is the outer one); graph outputs are not touched.
 */
export function replaceUses(g: OnnxGraph, from: string, to: string): void {
  for (const n of g.nodes) {
    n.inputs = n.inputs.map((i) => (i === from ? to : i));
    for (const s of subgraphsOf(n)) replaceUses(s, from, to);
  }
}
