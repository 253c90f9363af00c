/**
 * gc.optimize: runs the pass pipeline (ir/passes/registry.ts) over a copy of a graph, with
 * the tfjs-backed constant evaluator. The caller's graph is never changed.
 */
import type { Graph } from '../ir/graph.js';
import { runPasses } from '../ir/passes/manager.js';
import type { RunPassesOptions } from '../ir/passes/manager.js';
import type { PassContext, PassReport } from '../ir/passes/pass.js';
import { DEFAULT_MAX_FOLD_ELEMENTS } from '../ir/passes/pass.js';
import { passByName, resolvePasses } from '../ir/passes/registry.js';
import { backendTraits } from '../runtime/backends/traits.js';
import { evalNodeConst } from '../runtime/eval_const.js';

export interface OptimizeOptions {
  /** Pass names to run, in order (default: the default pipeline). */
  passes?: string[];
  /** The backend the graph will run on ('cpu', 'wasm', 'webgpu', 'tensorflow'); unknown when absent or 'auto'. */
  backend?: string;
  /** Largest constant, in elements, that folding may create (default 1 << 20). */
  maxFoldElements?: number;
  /** Verify the graph after every pass (default: false, true when the environment sets GRAPHC_VERIFY=1; the test suite does). */
  verify?: boolean;
  /**
   * Turn variables the graph never assigns into constants first (inference export: batch
   * norm then folds into the weights). Never used by compile, which shares state with tf.Variables.
   */
  freeze?: boolean;
  /**
   * The engine whose semantics constant folding computes with (default: the one `backend` runs
   * on, see runtime/eval_const.ts). compile folds with 'cpu' for the graph it shows before the
   * session's backend is ready, and folds again for that backend once it is.
   */
  foldFor?: string;
}

export type { PassReport };

/**
 * The pass context for `opts`, with the tfjs constant evaluator and the traits of the backend
 * (runtime/backends/traits.ts; none for 'auto' or a name graphc does not know).
 */
export function optimizeContext(opts: OptimizeOptions = {}): PassContext {
  const backend = opts.backend === 'auto' ? undefined : opts.backend;
  const foldFor = opts.foldFor ?? backend;
  const traits = backendTraits(backend);
  return {
    evaluate: (op, inputs, attrs) => evalNodeConst(op, inputs, attrs, foldFor),
    maxFoldElements: opts.maxFoldElements ?? DEFAULT_MAX_FOLD_ELEMENTS,
    ...(traits !== undefined ? { backend: traits } : {}),
    verify: opts.verify ?? process.env['GRAPHC_VERIFY'] === '1',
  };
}

/** Optimizes `graph` in place (for callers that own it: compile, the CLI). */
export function optimizeInPlace(graph: Graph, opts: OptimizeOptions = {}, run: RunPassesOptions = {}): PassReport[] {
  const passes = resolvePasses(opts.passes);
  if (opts.freeze && !passes.some((p) => p.name === 'freeze-variables')) passes.unshift(passByName('freeze-variables'));
  return runPasses(graph, passes, optimizeContext(opts), run);
}

/** Optimizes a copy of `graph` (Graph.clone: same ids and names); `graph` itself is unchanged. */
export function optimize(graph: Graph, opts: OptimizeOptions = {}): { graph: Graph; report: PassReport[] } {
  const g = graph.clone();
  const report = optimizeInPlace(g, opts);
  return { graph: g, report };
}
