/**
 * ONNX value names for a graph's values, and the map between graphc names and ONNX names.
 *
 * - Graph inputs keep their names, graph outputs get exactly the graph's output names: a
 *   Session's feed and fetch names are the ONNX model's input and output names.
 * - Variables become initializers named after the user's variables (a tfjs-layers Dense's kernel
 *   is `dense_Dense1/kernel`, its tfjs name); exported as inputs (state 'inputs'), they keep
 *   their value names (`dense_Dense1_kernel`), which a Session feeds.
 * - Values named with gc.name keep their names where nothing else claims them first;
 *   other values are `v<id>` (constants `const_<id>`). Helper values the rules create derive
 *   from these; the values nodes compute are renamed after their nodes in the end (readable.ts).
 * - Allocation is deterministic: the same graph always gets the same names.
 */
import type { Graph, Value } from '../../../ir/graph.js';

/** What of a graph is exported: the whole graph, or the part one plan runs (export.ts, ExportSelection). */
export type ExportView = Pick<Graph, 'name' | 'inputs' | 'states' | 'nodes' | 'outputs' | 'values'>;

/** Hands out unique names. */
export class NameAllocator {
  private readonly used = new Set<string>();

  /** Claims `name` exactly; false when it is taken. */
  claim(name: string): boolean {
    if (this.used.has(name)) return false;
    this.used.add(name);
    return true;
  }

  has(name: string): boolean {
    return this.used.has(name);
  }

  /** `base` (sanitized) if free, else `base_1`, `base_2`… */
  fresh(base: string): string {
    const clean = sanitizeName(base);
    if (this.claim(clean)) return clean;
    for (let i = 1; ; i++) if (this.claim(`${clean}_${i}`)) return `${clean}_${i}`;
  }
}

/**
 * A name of letters, digits, `_`, `.`, `/` and `:` (the separators of tfjs variable and layer
 * names, as tf2onnx and torch.onnx write them), starting with a letter, `_` or `/`.
 */
export function sanitizeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_./:]/g, '_').replace(/^(?=[0-9.:])/, '_') || 'v';
}

export interface ValueNaming {
  /** The ONNX name of each graph value. */
  readonly names: Map<Value, string>;
  /** Graph outputs whose name is not their value's ONNX name: an Identity writes each. */
  readonly outputCopies: { from: string; to: string }[];
  readonly alloc: NameAllocator;
}

/**
 * `statesFirst`: variables are inputs and claim their names right after the inputs (export with
 * state 'inputs'). `hint`: a name for a value that has none (graphc optimize: its ONNX name before).
 */
export function nameValues(graph: ExportView, statesFirst = false, hint?: (v: Value) => string | undefined): ValueNaming {
  const alloc = new NameAllocator();
  const names = new Map<Value, string>();
  for (const v of graph.inputs) {
    // A node value made an input (ExportSelection.fed) may have no name of its own.
    if (v.kind !== 'input') { names.set(v, alloc.fresh(v.name ?? `drawn_${v.id}`)); continue; }
    if (!alloc.claim(v.name!)) throw new Error(`onnx export: duplicate input name '${v.name}'`);
    names.set(v, v.name!);
  }
  if (statesFirst) for (const s of graph.states) names.set(s.value, alloc.fresh(s.value.name ?? s.name));
  for (const o of graph.outputs) {
    // An output that is an input under the input's own name needs no claim.
    if (o.value.kind === 'input' && o.value.name === o.name) continue;
    if (!alloc.claim(o.name)) throw new Error(`onnx export: output name '${o.name}' is used twice (or is an input's name)`);
  }
  // A node value returned as an output takes the (first) output's name.
  for (const o of graph.outputs) {
    if (o.value.kind === 'node' && !names.has(o.value)) names.set(o.value, o.name);
  }
  // Initializers: the variable's own name (tfjs's `dense_Dense1/kernel`, not the value name `dense_Dense1_kernel`).
  if (!statesFirst) for (const s of graph.states) names.set(s.value, alloc.fresh(s.name));
  for (const n of graph.nodes) {
    for (const v of n.outputs) if (!names.has(v) && v.name !== undefined) names.set(v, alloc.fresh(v.name));
  }
  for (const n of graph.nodes) {
    for (const v of n.outputs) if (!names.has(v)) names.set(v, alloc.fresh(hint?.(v) ?? (n.op === 'const' ? `const_${v.id}` : `v${v.id}`)));
  }
  const outputCopies = graph.outputs
    .filter((o) => names.get(o.value) !== o.name)
    .map((o) => ({ from: names.get(o.value)!, to: o.name }));
  return { names, outputCopies, alloc };
}

/** graphc value names ↔ ONNX value names, for the names that exist in the exported model. */
export interface NameMap {
  /** graphc name (input, output, variable value, gc.name'd value) → ONNX name. */
  readonly toOnnx: ReadonlyMap<string, string>;
  readonly fromOnnx: ReadonlyMap<string, string>;
}

export function buildNameMap(graph: ExportView, naming: ValueNaming, present: (onnxName: string) => boolean): NameMap {
  const toOnnx = new Map<string, string>();
  const add = (gc: string, ox: string) => { if (present(ox) && !toOnnx.has(gc)) toOnnx.set(gc, ox); };
  for (const o of graph.outputs) add(o.name, o.name);
  for (const v of graph.values()) if (v.name !== undefined) add(v.name, naming.names.get(v)!);
  const fromOnnx = new Map<string, string>();
  for (const [g, o] of toOnnx) if (!fromOnnx.has(o)) fromOnnx.set(o, g);
  return { toOnnx, fromOnnx };
}
