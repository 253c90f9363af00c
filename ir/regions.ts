/**
 * Building and reading control-flow nodes (ir/control_flow.ts has their rules).
 *
 * A region is a Graph of its own: `inputs` are its block arguments, `outputs` (named 0, 1, …)
 * what it yields. It reads no outer value: the builders below take the outer values a region
 * needs as `captures`, which become operands of the node and block arguments of every region.
 *
 *   const [y] = addCond(g, p, [x, w],
 *     (r, [x, w]) => [r.add('matmul', [x, w], { transpose_a: false, transpose_b: false })],
 *     (r, [x]) => [r.add('neg', [x])]);
 *
 *   const [i, s] = addWhileLoop(g, [i0, s0], [limit],
 *     (r, [i, , limit]) => r.add('less', [i, limit]),
 *     (r, [i, s]) => [r.add('add', [i, one(r)]), r.add('mul', [s, s])]);
 *
 *   const [sum, sums] = addScan(g, [zero], [xs], [],
 *     (r, [c, x]) => { const n = r.add('add', [c, x]); return [n, n]; });
 */
import type { SourceLoc } from './errors.js';
import type { Node, TensorType, Value } from './graph.js';
import { Graph } from './graph.js';
import type { Attrs, Effect } from './ops.js';
import { OPS } from './ops.js';

/** Builds a region's body: it gets the region graph and its block arguments, and returns what the region yields. */
export type RegionBody = (r: Graph, args: Value[]) => Value[];

/** A block argument: a type, or a name and a type. */
export type BlockArg = TensorType | { readonly name: string; readonly type: TensorType };

/** A region graph named `role` with these block arguments, built by `body`. */
export function buildRegion(role: string, args: readonly BlockArg[], body: RegionBody): Graph {
  const r = new Graph(role);
  const values = args.map((a, i) => ('name' in a && 'type' in a ? r.addInput(a.name, a.type) : r.addInput(`a${i}`, a as TensorType)));
  setRegionOutputs(r, body(r, values));
  return r;
}

/** Sets what a region yields, by position (outputs named 0, 1, …). */
export function setRegionOutputs(r: Graph, values: readonly Value[]): void {
  r.outputs = [];
  values.forEach((v, i) => r.setOutput(String(i), v));
}

/** The values a region yields, in order. */
export function regionResults(r: Graph): Value[] {
  return r.outputs.map((o) => o.value);
}

function argsOf(prefix: string, vs: readonly Value[], types?: readonly TensorType[]): BlockArg[] {
  return vs.map((v, i) => ({ name: `${prefix}${i}`, type: types?.[i] ?? v.type }));
}

/**
 * `cond`: the results of `thenBody` when `pred` (one element; nonzero is true) holds, else of
 * `elseBody`. Each branch gets the captures as block arguments, in order.
 */
export function addCond(g: Graph, pred: Value, captures: readonly Value[], thenBody: RegionBody, elseBody: RegionBody, loc?: SourceLoc): Value[] {
  const args = argsOf('c', captures);
  const regions = [buildRegion('then', args, thenBody), buildRegion('else', args, elseBody)];
  return g.addNode('cond', [pred, ...captures], {}, loc, undefined, regions).outputs;
}

export interface WhileOptions {
  /** At most this many runs of the body (attr maximum_iterations). */
  maximumIterations?: number;
  /** The carried types (default: the initial values' types); declare a dim that changes from step to step with dynamicDim. */
  carriedTypes?: readonly TensorType[];
}

/**
 * `while_loop`: runs `body` on the loop values while `cond` holds, and returns the final loop
 * values. Both regions get [...loop values, ...captures]; `cond` returns one bool with one
 * element, `body` the next loop values.
 */
export function addWhileLoop(g: Graph, loopVars: readonly Value[], captures: readonly Value[], cond: (r: Graph, args: Value[]) => Value, body: RegionBody,
  opts: WhileOptions = {}, loc?: SourceLoc): Value[] {
  const args = [...argsOf('v', loopVars, opts.carriedTypes), ...argsOf('c', captures)];
  const regions = [buildRegion('cond', args, (r, a) => [cond(r, a)]), buildRegion('body', args, body)];
  const attrs: Attrs = opts.maximumIterations === undefined ? {} : { maximum_iterations: opts.maximumIterations };
  return g.addNode('while_loop', [...loopVars, ...captures], attrs, loc, undefined, regions).outputs;
}

export interface ScanOptions {
  /** Walk the xs from the last slice to the first (ys stay at the index of their slice). */
  reverse?: boolean;
  /** The carried types (default: the initial carries' types). */
  carriedTypes?: readonly TensorType[];
}

/**
 * `scan`: `body` gets [...carries, ...one slice of each x along axis 0, ...captures] and
 * returns [...next carries, ...ys]; the results are the final carries, then each y stacked
 * along a new axis 0.
 */
export function addScan(g: Graph, inits: readonly Value[], xs: readonly Value[], captures: readonly Value[], body: RegionBody,
  opts: ScanOptions = {}, loc?: SourceLoc): Value[] {
  const slices = xs.map((x, i) => ({ name: `x${i}`, type: { dtype: x.dtype, shape: x.shape.slice(1) } }));
  const args = [...argsOf('v', inits, opts.carriedTypes), ...slices, ...argsOf('c', captures)];
  const attrs: Attrs = { num_carries: inits.length, num_xs: xs.length, reverse: opts.reverse ?? false };
  return g.addNode('scan', [...inits, ...xs, ...captures], attrs, loc, undefined, [buildRegion('body', args, body)]).outputs;
}

const EFFECT_RANK: Readonly<Record<Effect, number>> = { pure: 0, random: 1, io: 2, stateful: 3 };

/**
 * A node's effect: its op's (OpDef.effect), or for a control-flow node the strongest effect of
 * the nodes of its regions (a cond that prints is 'io', a loop that draws is 'random'). Passes
 * decide by this, never by OpDef.effect alone.
 */
export function nodeEffect(n: Node): Effect {
  const own = OPS[n.op].effect;
  if (n.regions.length === 0) return own;
  let best = own;
  for (const r of n.regions) {
    for (const m of r.nodes) {
      const e = nodeEffect(m);
      if (EFFECT_RANK[e] > EFFECT_RANK[best]) best = e;
    }
  }
  return best;
}

/** Every node of `g` and of its regions, outer before inner, with the graph it is in and its depth (0 = g). */
export function* walkNodes(g: Graph, depth = 0): Iterable<{ node: Node; graph: Graph; depth: number }> {
  for (const node of g.nodes) {
    yield { node, graph: g, depth };
    for (const r of node.regions) yield* walkNodes(r, depth + 1);
  }
}

/** Whether any node of `g` has regions. */
export function hasControlFlow(g: Graph): boolean {
  for (const n of g.nodes) if (n.regions.length > 0) return true;
  return false;
}

export type { RegionType } from './control_flow.js';
export { dynamicDim, isDynamicDim, mergeDims } from './control_flow.js';
