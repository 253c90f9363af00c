/** The contract of passes over an exported OnnxGraph, and the driver that runs them to a fixed point. */
import type { OnnxGraph } from '../onnx_graph.js';
import { subgraphsOf } from '../onnx_graph.js';

export interface PassCtx {
  /** A fresh value name derived from `base`. */
  freshValue(base: string): string;
  /** A fresh node name derived from `base`. */
  freshNode(base: string): string;
  /** The model's opset: passes that write ops of a later opset (LayerNormalization: 17) check it; undefined writes none of those. */
  readonly opset?: number;
}

export interface OnnxPass {
  readonly name: string;
  /** Rewrites `g` in place; true when anything changed. */
  run(g: OnnxGraph, ctx: PassCtx): boolean;
}

/** Runs the passes in order, repeating the list until none changes the graph. */
export function runOnnxPasses(g: OnnxGraph, passes: readonly OnnxPass[], ctx: PassCtx, maxRounds = 50): void {
  for (let round = 0; round < maxRounds; round++) {
    let changed = false;
    for (const p of passes) {
      try {
        if (p.run(g, ctx)) changed = true;
      } catch (e) {
        (e as Error).message = `in ONNX pass '${p.name}': ${(e as Error).message}`;
        throw e;
      }
    }
    if (!changed) return;
  }
}

/**
 * Runs the passes in every subgraph (innermost first, each as a graph of its own whose outer
 * names are values it cannot see into), then in `g`.
 */
export function runOnnxPassesDeep(g: OnnxGraph, passes: readonly OnnxPass[], ctx: PassCtx, maxRounds = 50): void {
  for (const n of g.nodes) for (const s of subgraphsOf(n)) runOnnxPassesDeep(s, passes, ctx, maxRounds);
  runOnnxPasses(g, passes, ctx, maxRounds);
}
