import type { Graph, Node } from '../graph.js';
import { OPS } from '../ops.js';
import type { Pass } from './pass.js';

/**
 * Dead code elimination: removes pure and random nodes whose results nobody uses.
 * Stateful nodes (assignments) are roots and are never removed, and neither are named
 * values (a Session may fetch them). Variables nobody reads or assigns are dropped.
 */
export function dce(g: Graph): boolean {
  const nodes = g.nodes; // removeNode only records the removal: this array stays as it is
  // Liveness by node id (ids are dense): a Set of 100k nodes cost more than the marking.
  const live = new Uint8Array(g.idBound);
  const stack: Node[] = [];
  const mark = (n: Node | null) => { if (n && live[n.id] === 0) { live[n.id] = 1; stack.push(n); } };
  for (const o of g.outputs) mark(o.value.producer);
  // Roots: assignments, and named values (a Session may fetch them).
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (OPS[n.op].effect === 'stateful') { mark(n); continue; }
    const outs = n.outputs;
    for (let k = 0; k < outs.length; k++) if (outs[k]!.name !== undefined) { mark(n); break; }
  }
  while (stack.length) {
    const ins = stack.pop()!.inputs;
    for (let k = 0; k < ins.length; k++) mark(ins[k]!.producer);
  }
  let changed = false;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (live[n.id] === 1) continue;
    g.removeNode(n); // reverse order: its users, all dead, are gone already
    changed = true;
  }
  // Variables nobody reads or assigns any more.
  if (g.states.length > 0) {
    const assigned = new Set(g.nodes.filter((n) => OPS[n.op].effect === 'stateful').map((n) => n.attrs.var as string));
    for (const st of [...g.states]) {
      if (st.value.uses.length === 0 && !g.isOutput(st.value) && !assigned.has(st.name)) { g.removeState(st.name); changed = true; }
    }
  }
  return changed;
}

export const dcePass: Pass = { name: 'dce', run: (g) => dce(g) };
