/**
 * freeze-variables: every variable the graph never assigns becomes a `const` of its initial
 * value, so that the passes that need constant weights (fold-batch-norm, fold-constants) see
 * them. Variables the graph assigns stay state.
 *
 * Sound only where nobody else writes the variables: an exported model (ONNX initializers are
 * constants of the file anyway) or `gc.optimize(graph, { freeze: true })` for inference. Not
 * in `gc.compile`'s default pipeline: a compiled function shares state with the user's
 * tf.Variables like tf.function does, so a frozen graph would miss the user's later
 * `variable.assign`. Not in the default pipeline; asked for by name.
 *
 * The variable's value name (its fetch name) moves to the constant.
 */
import type { Graph, Node } from '../graph.js';
import type { TensorData } from '../tensor_data.js';
import type { Pass } from './pass.js';
import { replaceValue } from './rewrite.js';

/**
 * The variable each frozen constant's data array came from (its name, `dense_Dense1/kernel`, and
 * its value): the ONNX exporter names the initializer of that data after the variable, as it
 * names a variable's (readable.ts). Keyed by the data array, which a folded reshape keeps.
 */
export const frozenVariableNames = new WeakMap<object, { name: string; value: TensorData }>();

export function freezeVariablesIn(g: Graph): boolean {
  const assigned = new Set(g.nodes.filter((n) => n.op === 'assign').map((n) => n.attrs.var as string));
  const first: Node | undefined = g.nodes[0];
  let changed = false;
  for (const st of [...g.states]) {
    if (assigned.has(st.name)) continue;
    const c = g.addNode('const', [], { value: st.init });
    if (typeof st.init.data === 'object') frozenVariableNames.set(st.init.data, { name: st.name, value: st.init });
    if (first) g.moveBefore(c, first);
    replaceValue(g, st.value, c.outputs[0]!);
    g.removeState(st.name);
    changed = true;
  }
  return changed;
}

export const freezeVariables: Pass = { name: 'freeze-variables', run: (g) => freezeVariablesIn(g) };
