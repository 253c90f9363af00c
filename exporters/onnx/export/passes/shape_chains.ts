/**
 * Fewer Shape → Gather → Concat chains. The rules already write a reshape or broadcast target's
 * symbolic dims as Reshape's 0 / -1 and Expand's 1 where the operand has the dim (rules/shape.ts);
 * what is left builds a target for an Expand whose operand lacks the dim (tfjs-layers broadcasts
 * γ and β to x's shape before its batchNorm). When every reader of such an Expand is a
 * broadcasting op whose result has the same shape with the Expand's operand in its place, the
 * readers read the operand and the Expand (with the chain that built its target) goes as dead.
 */
import { isGraphOutput, producers } from '../onnx_graph.js';
import type { OnnxPass } from './pass.js';
import { inferShapes, pdimEq } from './shapes.js';
import type { PShape } from './shapes.js';
import { readersOf } from './cleanup.js';
import { LAYOUT_CLASS } from './transpose_sinking.js';

/** Right-aligned broadcast of known shapes; undefined where a dim is unknown or the shapes do not broadcast. */
function broadcastKnown(shapes: readonly PShape[]): PShape | undefined {
  const r = Math.max(...shapes.map((s) => s.length));
  const out: PShape[number][] = [];
  for (let i = 0; i < r; i++) {
    let d: PShape[number] = 1;
    for (const s of shapes) {
      const k = i - (r - s.length);
      const e = k < 0 ? 1 : s[k];
      if (e === undefined) return undefined;
      if (e === 1) continue;
      if (d === 1) d = e;
      else if (!pdimEq(d, e)) return undefined;
    }
    out.push(d);
  }
  return out;
}

const sameShape = (a: PShape | undefined, b: PShape | undefined) => !!a && !!b && a.length === b.length && a.every((d, i) => pdimEq(d, b[i]));

export const dropRedundantExpands: OnnxPass = {
  name: 'drop-redundant-expands',
  run(g) {
    const expands = g.nodes.filter((n) => n.opType === 'Expand' && !isGraphOutput(g, n.outputs[0]!));
    if (expands.length === 0) return false;
    const shapes = inferShapes(g);
    const prod = producers(g);
    let changed = false;
    for (const ex of expands) {
      const y = ex.outputs[0]!, src = ex.inputs[0]!;
      const srcShape = shapes.get(src);
      const readers = readersOf(g, y);
      if (!srcShape || readers.length === 0 || !prod.has(y)) continue;
      const ok = readers.every((r) => {
        if (LAYOUT_CLASS[r.opType] !== 'broadcast' || r.outputs.length !== 1) return false;
        const ins = r.inputs.map((i) => shapes.get(i === y ? src : i));
        if (ins.some((s) => s === undefined)) return false;
        return sameShape(broadcastKnown(ins as PShape[]), shapes.get(r.outputs[0]!));
      });
      if (!ok) continue;
      for (const r of readers) r.inputs = r.inputs.map((i) => (i === y ? src : i));
      changed = true;
    }
    return changed;
  },
};
