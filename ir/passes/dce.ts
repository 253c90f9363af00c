import type { Graph, Node } from '../graph.js';
import { nodeEffect } from '../regions.js';
import type { Pass } from './pass.js';

/**
 * Dead code elimination: removes pure and random nodes whose results nobody uses.
 * Stateful nodes (assignments) are roots and are never removed, and neither are named
 * values (a Session may fetch them). Variables nobody reads or assigns are dropped.
 */
export function dce(g: Graph): boolean {
  const nodes = g.nodes; // removeNode only records the removal: this array stays as it is
  // Liveness by node id (ids are dense): a Set of 100k nodes cost more than the marking.
  let live: Uint8Array = new Uint8Array(g.idBound);
  for (const o of g.outputs) if (o.value.producer) live[o.value.producer.id] = 1;
  // One sweep from the end: in topological order every user of a node comes after it, so
  // its liveness is settled when the sweep gets there. (A walk from the roots chased
  // pointers back through the whole graph: on a 100k-node graph, cache misses all the way.)
  let changed = false, complete = false;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (live[n.id] === 0 && !isRoot(n)) {
      if (!complete && n.outputs.some((o) => o.uses.length > 0)) {
        // A user comes before it: the order is not topological. Mark from the roots instead.
        live = markFromRoots(g, nodes);
        complete = true;
      }
      if (live[n.id] === 0) {
        g.removeNode(n); // its users, all dead, are gone already
        changed = true;
        continue;
      }
    }
    live[n.id] = 1;
    const ins = n.inputs;
    for (let k = 0; k < ins.length; k++) {
      const p = ins[k]!.producer;
      if (p) live[p.id] = 1;
    }
  }
  // Variables nobody reads or assigns any more.
  if (g.states.length > 0) {
    const assigned = new Set(g.nodes.filter((n) => n.op === 'assign').map((n) => n.attrs.var as string));
    for (const st of [...g.states]) {
      if (st.value.uses.length === 0 && !g.isOutput(st.value) && !assigned.has(st.name)) { g.removeState(st.name); changed = true; }
    }
  }
  return changed;
}

/** Roots: assignments, prints, and named values (a Session may fetch them). */
function isRoot(n: Node): boolean {
  const effect = nodeEffect(n);
  if (effect === 'stateful' || effect === 'io') return true;
  const outs = n.outputs;
  for (let k = 0; k < outs.length; k++) if (outs[k]!.name !== undefined) return true;
  return false;
}

/** Liveness by walking back from the roots (graph outputs included), for any order. */
function markFromRoots(g: Graph, nodes: readonly Node[]): Uint8Array {
  const live = new Uint8Array(g.idBound);
  const stack: Node[] = [];
  const mark = (n: Node | null) => { if (n && live[n.id] === 0) { live[n.id] = 1; stack.push(n); } };
  for (const o of g.outputs) mark(o.value.producer);
  for (const n of nodes) if (g.hasNode(n) && isRoot(n)) mark(n);
  while (stack.length) for (const v of stack.pop()!.inputs) mark(v.producer);
  return live;
}

export const dcePass: Pass = { name: 'dce', run: (g) => dce(g) };
