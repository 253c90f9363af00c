import type { Graph } from '../graph.js';

/** Replaces every use of an `identity` result by its operand (named results stay). */
export function forwardIdentity(g: Graph): boolean {
  let changed = false;
  for (const n of [...g.nodes]) {
    if (n.op !== 'identity') continue;
    const out = n.outputs[0]!;
    if (out.name !== undefined) continue;
    g.replaceAllUsesWith(out, n.inputs[0]!, { outputs: true });
    g.removeNode(n);
    changed = true;
  }
  return changed;
}
