/**
 * Traces of a loop over a symbolic dim: JavaScript ran the loop once per step, so each traced
 * size gave another number of ops ("traces have different numbers of ops"). Before unification
 * (unify.ts), each trace's loop over its size is rolled into a `scan` (roll_loops.ts); the rolled
 * traces then have one structure and unify like any others. When a loop cannot be rolled, the
 * error says why and what to do instead.
 */
import { Codes, GcError } from '../../ir/errors.js';
import type { Graph, Node } from '../../ir/graph.js';
import { rollLoops } from './roll_loops.js';
import type { TracePlan } from './unify.js';

export interface RolledTraces {
  graphs: Graph[];
  /** Where node i of trace 0 is in graphs[0] (undefined: inside a scan); absent when nothing was rolled. */
  nodeIndex?: (i: number) => number | undefined;
}

/** The traces with their loops over a symbolic dim rolled into scans (the traces themselves when all have the same number of ops). */
export function rollTraces(graphs: readonly Graph[], plan: TracePlan): RolledTraces {
  const n0 = graphs[0]!.nodes.length;
  if (graphs.every((g) => g.nodes.length === n0)) return { graphs: [...graphs] };
  // The symbols whose own traces (2j+1, 2j+2) change the number of ops: the loop's length.
  const loopSyms = plan.symbols.map((_, j) => j).filter((j) => [2 * j + 1, 2 * j + 2].some((i) => graphs[i] !== undefined && graphs[i]!.nodes.length !== n0));
  const sizes = (j: number) => graphs.map((g, i) => `${g.nodes.length} ops at ${plan.display[j]}=${plan.sizes[i]![j]}`).filter((x, i, a) => a.indexOf(x) === i);
  const help = (j: number) => `give '${plan.display[j]}' a fixed size in gc.spec (the loop is then traced step by step), or write the loop with gc.scan`;
  if (loopSyms.length !== 1) {
    const names = loopSyms.map((j) => `'${plan.display[j]}'`).join(' and ');
    throw new GcError({ code: Codes.tracePolymorphic,
      message: `the function is not polymorphic in ${names}: the number of ops follows ${loopSyms.length > 1 ? 'more than one size' : 'the traced sizes'} (${graphs.map((g) => g.nodes.length).join(' / ')} ops), and graphc rolls a loop over one symbolic dim only`,
      help: loopSyms.length > 0 ? help(loopSyms[0]!) : 'declare the dims with fixed sizes in gc.spec' });
  }
  const j = loopSyms[0]!;
  let nodeIndex: RolledTraces['nodeIndex'];
  const rolled = graphs.map((g, i) => {
    const T = plan.sizes[i]![j]!;
    const r = rollLoops(g, { steps: T });
    const failure = r.failures[0];
    if (failure !== undefined || r.rolled === 0) {
      const d = plan.display[j]!;
      const message = failure !== undefined
        ? `the function is not polymorphic in '${d}': a JavaScript loop over '${d}' traces one copy of its step per element, and graphc could not roll it into a scan: ${failure.reason}`
        // Nothing that looks like a loop over slices: a branch on the size, or a loop graphc does not recognise.
        : `the function is not polymorphic in '${d}': its number of ops follows '${d}', from a JavaScript branch on that size or a loop over it that graphc cannot roll into a scan — no tf.unstack into ${T} slices, nor ${T} tf.slice's one step wide of one tensor (graphc rolls a loop whose steps each read one such slice)`;
      throw new GcError({ code: Codes.tracePolymorphic,
        message,
        loc: (failure?.node ?? firstDifference(graphs))?.loc,
        node: (failure?.node ?? firstDifference(graphs))?.op,
        notes: [`traced ${sizes(j).join(', ')}`],
        help: help(j) });
    }
    if (i === 0) nodeIndex = r.nodeIndex;
    return r.graph;
  });
  return { graphs: rolled, nodeIndex };
}

/** The first op of trace 0 that a trace with another number of ops does not have at its place. */
function firstDifference(graphs: readonly Graph[]): Node | undefined {
  const g0 = graphs[0]!;
  const other = graphs.find((g) => g.nodes.length !== g0.nodes.length);
  return other === undefined ? undefined : g0.nodes.find((n, k) => other.nodes[k]?.op !== n.op);
}

/**
 * Entries keyed by node index in the unrolled trace (an optimizer's hyperparameter constants),
 * moved to the indices of the rolled graph. A constant inside a rolled loop has no node of its
 * own there: an error, rather than a changed hyperparameter that would not take effect.
 */
export function remapNodeKeys<T>(byIndex: ReadonlyMap<number, T>, nodeIndex: (i: number) => number | undefined): Map<number, T> {
  const out = new Map<number, T>();
  for (const [i, v] of byIndex) {
    const j = nodeIndex(i);
    if (j === undefined) {
      throw new GcError({ code: Codes.tracePolymorphic,
        message: 'an optimizer hyperparameter (learning rate, beta, …) is read inside a JavaScript loop that graphc rolled into a scan',
        help: 'step the optimizer outside the loop over time steps, or give the loop a fixed length in gc.spec' });
    }
    out.set(j, v);
  }
  return out;
}
