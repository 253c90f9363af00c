/**
 * The exporter's working form of an ONNX graph: plain nodes over string value names, with
 * initializers held as TensorData. Rules emit into it, layout passes rewrite it, and
 * `serialize.ts` turns it into a ModelProto. Invariant kept by every rewrite: a value name
 * always denotes the same tensor (a rewrite may drop a name, never change what it means),
 * and graph inputs and outputs keep their names.
 */
import type { DType } from '../../../ir/dtype.js';
import type { Shape } from '../../../ir/dim.js';
import type { TensorData } from '../../../ir/tensor_data.js';

export type OnnxAttr =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: TensorData };

export type OnnxAttrs = Record<string, OnnxAttr>;

export const attr = {
  int: (value: number | boolean): OnnxAttr => ({ kind: 'int', value: typeof value === 'boolean' ? (value ? 1 : 0) : value }),
  ints: (value: readonly number[]): OnnxAttr => ({ kind: 'ints', value }),
  float: (value: number): OnnxAttr => ({ kind: 'float', value }),
  floats: (value: readonly number[]): OnnxAttr => ({ kind: 'floats', value }),
  str: (value: string): OnnxAttr => ({ kind: 'string', value }),
  tensor: (value: TensorData): OnnxAttr => ({ kind: 'tensor', value }),
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
}

export interface OnnxValueInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
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
}

/** Producer node of each value name. */
export function producers(g: OnnxGraph): Map<string, OnnxNode> {
  const m = new Map<string, OnnxNode>();
  for (const n of g.nodes) for (const o of n.outputs) if (o !== '') m.set(o, n);
  return m;
}

/** Consumers of each value name (a node appears once per operand slot that reads it). */
export function consumers(g: OnnxGraph): Map<string, OnnxNode[]> {
  const m = new Map<string, OnnxNode[]>();
  for (const n of g.nodes) {
    for (const i of n.inputs) {
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
      for (const x of n.inputs) live.add(x);
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

/** Points every operand that reads `from` at `to` (graph outputs are not touched). */
export function replaceUses(g: OnnxGraph, from: string, to: string): void {
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
}
