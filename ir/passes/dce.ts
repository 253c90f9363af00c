import type { Graph, Node } from '../graph.js';
import { OPS } from '../ops.js';
import type { Pass } from './pass.js';

/**
 * Dead code elimination: removes pure and random nodes whose results nobody uses.
 * Stateful nodes (assignments) are roots and are never removed, and neither are named
 * values (a Session may fetch them). Variables nobody reads or assigns are dropped.
 */
export function dce(g: Graph): boolean {
  const live = new Set<Node>();
  const stack: Node[] = [];
  const mark = (n: Node | null) => { if (n && !live.has(n)) { live.add(n); stack.push(n); } };
  for (const o of g.outputs) mark(o.value.producer);
  // Roots: assignments, and named values (a Session may fetch them).
  for (const n of g.nodes) if (OPS[n.op].effect === 'stateful' || n.outputs.some((v) => v.name !== undefined)) mark(n);
  while (stack.length) for (const v of stack.pop()!.inputs) mark(v.producer);
  let changed = false;
  const nodes = g.nodes; // removeNode only records the removal: this array stays as it is
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (live.has(n)) continue;
    g.removeNode(n); // reverse order: its users, all dead, are gone already
    changed = true;
  }
  // Variables nobody reads or assigns any more.
  const assigned = new Set(g.nodes.filter((n) => OPS[n.op].effect === 'stateful').map((n) => n.attrs.var as string));
  for (const st of [...g.states]) {
    if (st.value.uses.length === 0 && !g.isOutput(st.value) && !assigned.has(st.name)) { g.removeState(st.name); changed = true; }
  }
  return changed;
}

export const dcePass: Pass = { name: 'dce', run: (g) => dce(g) };
