/**
 * Which executors run a session's plans, in the order they are offered each run (the first
 * that takes a run runs it). An engine added beside these (ONNX Runtime) is chosen here.
 */
import type { BackendChoice } from '../backends/select.js';
import { isDynamicDim } from '../../ir/control_flow.js';
import type { ControlFlowOptions } from '../control_flow.js';
import type { Plan } from '../plan.js';
import type { Executor } from './executor.js';
import { TensorExecutor } from './tensors.js';
import { WasmDirectExecutor } from './wasm_direct.js';

/**
 * How a wasm session runs its plans: 'auto' (default) compiles each plan, per binding of its
 * symbolic dims, into direct calls of tfjs-backend-wasm's C kernels (executors/wasm_direct.ts),
 * falling back to 'tensors', one tfjs op per node (executors/tensors.ts). Other backends always
 * run tfjs ops.
 */
export type ExecutorMode = 'auto' | 'tensors';

const dynamicFeeds = new WeakMap<Plan, boolean>();

/** Whether a plan is fed a value with a data-dependent dim (`_dyn…`, ir/control_flow.ts). */
function fedDynamicDims(plan: Plan): boolean {
  let d = dynamicFeeds.get(plan);
  if (d === undefined) {
    d = plan.feeds.some((v) => v.shape.some(isDynamicDim));
    dynamicFeeds.set(plan, d);
  }
  return d;
}

export function executorsFor(backend: BackendChoice, mode: ExecutorMode, control?: ControlFlowOptions): Executor[] {
  if (mode === 'auto' && backend.tfjsName === 'wasm') {
    const direct = new WasmDirectExecutor(), tensors = new TensorExecutor(control);
    // The regions of control flow (loop bodies) run as direct programs too where they can: not
    // a region fed a data-dependent dim, whose binding (and so program) may change every step.
    tensors.runRegion = (f) => (fedDynamicDims(f.plan) ? undefined : direct.run(f)) ?? tensors.run(f);
    return [direct, tensors];
  }
  return [new TensorExecutor(control)];
}
