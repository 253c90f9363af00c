/**
 * Helpers shared by the rewriting passes: reading constants, comparing types, and
 * replacing a node's results without losing a name a Session may fetch.
 */
import { dimEq } from '../dim.js';
import type { Graph, Node, TensorType, Value } from '../graph.js';
import type { TensorData } from '../tensor_data.js';

/** The tensor of a `const` node's result, else undefined. */
export function constData(v: Value): TensorData | undefined {
  const p = v.producer;
  return p?.op === 'const' ? (p.attrs.value as TensorData) : undefined;
}

/** When every element of a constant (`const`, or `fill`) is the same number, that number. */
export function splatValue(v: Value): number | undefined {
  const p = v.producer;
  if (p?.op === 'fill') return p.attrs.value as number;
  const t = constData(v);
  if (!t || t.data.length === 0) return undefined;
  const first = Number(t.data[0]!);
  for (let i = 1; i < t.data.length; i++) if (!Object.is(Number(t.data[i]!), first)) return undefined;
  return first;
}

export function typeEq(a: TensorType, b: TensorType): boolean {
  if (a === b) return true;
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length) return false;
  for (let i = 0; i < a.shape.length; i++) if (!dimEq(a.shape[i]!, b.shape[i]!)) return false;
  return true;
}

/**
 * Why `from` cannot be replaced by `to`, or undefined when it can. A named `from` passes
 * its name on, which needs `to` to be an unnamed node result (never an input or a variable,
 * whose names are the feeds).
 */
export function replaceBlocker(from: Value, to: Value): string | undefined {
  if (!typeEq(from.type, to.type)) return `the replacement has another type`;
  if (from.name === undefined || from.name === to.name) return undefined;
  if (to.name !== undefined) return `%${from.name} and %${to.name} are both named`;
  if (to.kind !== 'node') return `%${from.name} is named and the replacement is a graph ${to.kind}`;
  return undefined;
}

const WITH_OUTPUTS = { outputs: true } as const;

/** Points every use (graph outputs included) of `from` at `to` and moves `from`'s name to it. */
export function replaceValue(g: Graph, from: Value, to: Value): void {
  g.replaceAllUsesWith(from, to, WITH_OUTPUTS);
  if (from.name !== undefined && from.name !== to.name) g.transferName(from, to);
}

/**
 * Replaces node `n`'s results by `tos` (one per output) and removes `n`. Returns false,
 * changing nothing, when a replacement is blocked (see replaceBlocker).
 */
export function replaceNode(g: Graph, n: Node, tos: readonly Value[]): boolean {
  if (tos.length !== n.outputs.length) throw new Error(`replaceNode: ${tos.length} replacements for ${n.outputs.length} results of ${n.op}`);
  const outs = n.outputs;
  for (let i = 0; i < outs.length; i++) if (replaceBlocker(outs[i]!, tos[i]!) !== undefined) return false;
  for (let i = 0; i < outs.length; i++) replaceValue(g, outs[i]!, tos[i]!);
  g.removeNode(n);
  return true;
}

/** Adds a node just before `before` (the explicit insertion point for rewrites). */
export function insertBefore(g: Graph, before: Node, build: () => Node): Node {
  const m = build();
  g.moveBefore(m, before);
  return m;
}

/** Why a rewrite does not apply: a fixed text, or one worded on demand from the node. */
export type Reason = string | ((n: Node) => string);

/**
 * A rewrite that does not apply at `n`, for matchers that answer an object (matchFusion). Its
 * reason is worded only when read: a pass asks at every node and reads none, and on a
 * 100k-node graph wording them all was most of the passes' garbage. With reasons that are
 * fixed texts or functions of the node, a miss is one small object.
 */
export class Miss {
  constructor(private readonly n: Node, private readonly reason: Reason) {}
  get why(): string { return typeof this.reason === 'string' ? this.reason : this.reason(this.n); }
}
