/**
 * The seam between a Session and the engines that run its plans. The Session resolves a run
 * (plan for the signature, feeds adopted as tensors on its backend, symbolic dims bound and the
 * sizes checked, variables read) into a RunFrame and hands it to its executors in order: the
 * first that takes the frame runs it, one that declines (returns undefined) leaves it to the next.
 *
 *   executors/tensors.ts       one tfjs op per node, on any tfjs backend (always takes the frame)
 *   executors/wasm_direct.ts   tfjs-backend-wasm's C kernels on buffers planned ahead (runtime/wasm/)
 *   executors/choose.ts        which executors a session gets, for its backend and options
 *
 * A new engine implements Executor in a file of its own here and is added in choose.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Codes, GcError } from '../../ir/errors.js';
import type { Node, Value } from '../../ir/graph.js';
import { typeToString } from '../../ir/graph.js';
import type { TensorData } from '../../ir/tensor_data.js';
import type { ExecCtx } from '../kernels/kernel_types.js';
import type { Plan } from '../plan.js';
import { tensorFromData } from '../tensor_data.js';
import { Int64Narrowing, describeNode, valueLabel } from '../tensor_limits.js';
import type { ProgramStats } from '../wasm/program.js';

/** One run of a plan, as the Session hands it to an executor. */
export interface RunFrame {
  readonly plan: Plan;
  /**
   * The run's environment by slot: the feeds (slots 0.. in plan.feeds order) and the variables
   * the plan reads (plan.stateSlots) are filled in, as tensors on the session's backend.
   */
  readonly env: (tf.Tensor | undefined)[];
  /** Slots whose tensor this run made and must free (the Session frees what is still owned when the run ends). */
  readonly owned: boolean[];
  /** The binding of the symbolic dims and its key ('' when the graph has none). */
  readonly bindings: Map<string, number>;
  readonly key: string;
  /** What kernels read: dims under the binding, seeds, the backend. */
  readonly ctx: ExecCtx;
  /** The session's kept tensors of `const` values. */
  readonly consts: ConstTensors;
  /** Tells the Session which node runs now (per-node seeds of random ops). */
  onNode(id: number): void;
}

/** What a run gives back: the fetched tensors and, with updates, the new value of each assigned variable (the caller owns them). */
export interface RunResult {
  outputs: tf.Tensor[];
  updates: Map<string, tf.Tensor>;
}

/** What an executor built for a plan, per binding of the symbolic dims (Session.executorStats: the direct wasm programs). */
export type ExecutorStats = ProgramStats & { binding: string };

export interface Executor {
  /** Runs a frame, or returns undefined to leave it to the next executor (called inside tfjs's engine scope of the run, with the session's backend global). */
  run(frame: RunFrame): RunResult | undefined;
  /** What this executor built for a plan (for tests and the bench). */
  statsOf?(plan: Plan): ExecutorStats[];
  /** Frees what the executor keeps across runs. */
  dispose(): void;
}

/** The const node's value as a tensor, an int64 value past int32 named with the node. */
function constTensorOf(n: Node): tf.Tensor {
  const v = n.outputs[0]!;
  const users = v.uses.map((u) => describeNode(u.node));
  return tensorFromData(n.attrs.value as TensorData, () => `const ${valueLabel(v)}: ${typeToString(v.type)}${users.length ? ` (used by ${users.slice(0, 2).join('; ')})` : ''}`);
}

/** Tensors of a graph's constants, made on first use on the session's backend and kept until dispose. */
export class ConstTensors {
  private readonly kept = new Map<Value, tf.Tensor>();

  /** The kept tensor of a const node's value. */
  get(v: Value): tf.Tensor {
    let c = this.kept.get(v);
    if (!c) { c = tf.keep(constTensorOf(v.producer!)); this.kept.set(v, c); }
    return c;
  }

  dispose(): void {
    for (const t of this.kept.values()) t.dispose();
    this.kept.clear();
  }
}

/** A failure of a step, as a GcError that names the node (GC0403; GC0408 for an int64 value past int32). */
export function stepError(n: Node, e: unknown, shapeOf: (j: number) => readonly number[] | undefined): Error {
  if (e instanceof GcError) return e;
  if (e instanceof Int64Narrowing) {
    return new GcError({ code: Codes.int64Range, message: `while executing ${describeNode(n)}: ${e.message}`, loc: n.loc,
      help: 'keep int64 values within ±2^31 (indices and shapes are); ONNX Runtime computes int64 exactly' });
  }
  return new GcError({ code: Codes.runtime, message: `while executing ${describeNode(n)}: ${(e as Error).message}`, loc: n.loc,
    notes: n.inputs.map((v, j) => `${valueLabel(v)}: ${typeToString(v.type)} = [${shapeOf(j)?.join(',')}]`) });
}
