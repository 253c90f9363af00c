/**
 * Small clean-ups of an exported OnnxGraph: Identity nodes removed (a graph output keeps its
 * name by renaming its producer's output), Reshape of an initializer folded into a new
 * initializer, and dead nodes and initializers dropped.
 */
import type { TensorData } from '../../../../ir/tensor_data.js';
import type { OnnxGraph, OnnxNode } from '../onnx_graph.js';
import { consumers, isGraphOutput, producers, removeDead, replaceUses } from '../onnx_graph.js';
import type { OnnxPass } from './pass.js';

function isGraphInput(g: OnnxGraph, name: string): boolean {
  return g.inputs.some((i) => i.name === name);
}

export const eliminateIdentities: OnnxPass = {
  name: 'eliminate-identities',
  run(g) {
    let changed = false;
    for (const n of [...g.nodes]) {
      if (n.opType !== 'Identity') continue;
      const [src] = n.inputs as [string];
      const [out] = n.outputs as [string];
      if (!isGraphOutput(g, out)) {
        replaceUses(g, out, src);
        g.nodes.splice(g.nodes.indexOf(n), 1);
        changed = true;
        continue;
      }
      // out is a graph output: let src's producer write it directly when nothing else reads src.
      const p = producers(g).get(src);
      const readers = consumers(g).get(src) ?? [];
      if (!p || isGraphOutput(g, src) || isGraphInput(g, src) || readers.length !== 1) continue;
      p.outputs = p.outputs.map((o) => (o === src ? out : o));
      g.nodes.splice(g.nodes.indexOf(n), 1);
      changed = true;
    }
    return changed;
  },
};

/** Reshape(initializer, constant shape) → initializer (0 copies the input dim, -1 is inferred). */
export const foldConstantReshapes: OnnxPass = {
  name: 'fold-constant-reshapes',
  run(g) {
    let changed = false;
    for (const n of [...g.nodes]) {
      if (n.opType !== 'Reshape') continue;
      const data = g.initializers.get(n.inputs[0]!);
      const spec = g.initializers.get(n.inputs[1]!);
      const out = n.outputs[0]!;
      if (!data || !spec || isGraphOutput(g, out)) continue;
      const allowZero = n.attrs.allowzero?.kind === 'int' && n.attrs.allowzero.value === 1;
      const shape = resolveShape(data, Array.from(spec.data as BigInt64Array, Number), allowZero);
      if (!shape) continue;
      g.initializers.set(out, { dtype: data.dtype, shape, data: data.data });
      g.nodes.splice(g.nodes.indexOf(n), 1);
      changed = true;
    }
    return changed;
  },
};

function resolveShape(t: TensorData, spec: number[], allowZero: boolean): number[] | undefined {
  const dims = spec.map((d, i) => (d === 0 && !allowZero ? t.shape[i] : d));
  if (dims.some((d) => d === undefined)) return undefined;
  const known = (dims as number[]).filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const n = t.data.length;
  return (dims as number[]).map((d) => (d === -1 ? (known === 0 ? 0 : n / known) : d));
}

/**
 * Reshape(Reshape(x, s1), s2) → Reshape(x, s2) when s2 is a constant without 0 entries (a 0
 * would copy a dim of the inner result) and nothing else reads the inner result.
 */
export const mergeReshapes: OnnxPass = {
  name: 'merge-reshapes',
  run(g) {
    let changed = false;
    const prod = producers(g);
    for (const n of g.nodes) {
      if (n.opType !== 'Reshape') continue;
      const inner = prod.get(n.inputs[0]!);
      const spec = g.initializers.get(n.inputs[1]!);
      if (inner?.opType !== 'Reshape' || !spec || isGraphOutput(g, inner.outputs[0]!)) continue;
      const allowZero = n.attrs.allowzero?.kind === 'int' && n.attrs.allowzero.value === 1;
      if (!allowZero && Array.from(spec.data as BigInt64Array).some((d) => d === 0n)) continue;
      if (readersOf(g, inner.outputs[0]!).length !== 1) continue;
      n.inputs[0] = inner.inputs[0]!;
      changed = true;
    }
    if (changed) removeDead(g);
    return changed;
  },
};

export const removeDeadNodes: OnnxPass = {
  name: 'remove-dead',
  run: (g) => removeDead(g),
};

/** The nodes reading `name`, each once. */
export function readersOf(g: OnnxGraph, name: string): OnnxNode[] {
  return [...new Set(consumers(g).get(name) ?? [])];
}
