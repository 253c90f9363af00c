/**
 * Deprecated: the pre-#4 cleanup pipeline, kept only for bench/scaling.ts's fallback.
 * Everything else uses the pass manager (manager.ts) with the registry (registry.ts);
 * remove this file once nothing imports it.
 */
import type { Graph } from '../graph.js';
import { dce } from './dce.js';
import { forwardIdentity } from './forward_identity.js';

export interface PassRun {
  name: string;
  nodesBefore: number;
  nodesAfter: number;
  ms: number;
  changed: boolean;
}

export const BASIC_PASSES: ReadonlyArray<{ name: string; run: (g: Graph) => boolean }> = [
  { name: 'forward-identity', run: forwardIdentity },
  { name: 'dce', run: dce },
];

/** Runs the passes in order (in place); `onPass` sees the graph after each. */
export function runBasicPasses(g: Graph, onPass?: (name: string, g: Graph) => void): PassRun[] {
  const report: PassRun[] = [];
  for (const p of BASIC_PASSES) {
    const before = g.nodes.length;
    const t = performance.now();
    const changed = p.run(g);
    report.push({ name: p.name, nodesBefore: before, nodesAfter: g.nodes.length, ms: performance.now() - t, changed });
    onPass?.(p.name, g);
  }
  return report;
}
