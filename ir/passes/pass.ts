/**
 * The pass interface. A pass rewrites a graph in place and says whether it changed
 * anything; the manager (manager.ts) repeats a list of passes to a fixed point.
 */
import type { BackendTraits } from '../backend_traits.js';
import type { Graph } from '../graph.js';
import type { Attrs, OpName } from '../ops.js';
import type { TensorData } from '../tensor_data.js';

export interface PassContext {
  /** Constant evaluator handed in by the caller (ir/ stays free of tfjs). */
  evaluate?: (op: OpName, inputs: TensorData[], attrs: Attrs) => TensorData[];
  /** Largest constant (elements) folding may create. */
  maxFoldElements: number;
  /**
   * What the backend the graph will run on does well, for backend-aware passes (the runtime's
   * traits of that backend, runtime/backends/traits.ts); undefined = unknown (ONNX export,
   * gc.optimize without a backend): backend-aware passes change nothing.
   */
  backend?: BackendTraits;
  /** Verify the graph after each pass (tests, --verify). */
  verify: boolean;
}

export interface Pass {
  readonly name: string;
  /**
   * Runs on the top-level graph only. Otherwise the manager runs the pass on every region of
   * a control-flow node too (runWithRegions), each as a graph of its own.
   */
  readonly topLevelOnly?: boolean;
  /** Rewrites `g` in place; returns true when anything changed. */
  run(g: Graph, ctx: PassContext): boolean;
}

export interface PassReport {
  name: string;
  nodesBefore: number;
  nodesAfter: number;
  ms: number;
  changed: boolean;
  runs: number;
}

/** Default folding limit: 1M elements. */
export const DEFAULT_MAX_FOLD_ELEMENTS = 1 << 20;

/** A context with defaults filled in. */
export function passContext(over: Partial<PassContext> = {}): PassContext {
  return { maxFoldElements: DEFAULT_MAX_FOLD_ELEMENTS, verify: false, ...over };
}
