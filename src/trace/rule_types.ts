/**
 * The contract between the tracing backend and its per-kernel rules: a rule receives the
 * kernel's inputs as IR values and its tfjs attrs, and emits IR nodes through the context.
 */
import type { DType } from '../../ir/dtype.js';
import type { Attrs, OpName } from '../../ir/ops.js';
import type { Graph, Value } from '../../ir/graph.js';
import type { TensorData } from '../../ir/tensor_data.js';
import type { SourceLoc } from '../../ir/errors.js';

export interface TraceCtx {
  readonly graph: Graph;
  /** The user's call site of the current kernel. */
  readonly loc: SourceLoc | undefined;
  /** tfjs kernel name being traced (for error messages). */
  readonly kernel: string;
  /** Emits a single-output node at the user's location. */
  emit(op: OpName, inputs: Value[], attrs?: Attrs): Value;
  /** Emits a node and returns all outputs. */
  emitN(op: OpName, inputs: Value[], attrs?: Attrs): Value[];
  constant(data: TensorData): Value;
  scalar(value: number, dtype: DType): Value;
  /** Raises a located trace error: the kernel or attr combination is not supported. */
  unsupported(what: string, help?: string): never;
  /**
   * True when `seed` is a value Math.random handed out during this trace and no write has
   * taken since (tfjs seeds an unseeded op with `seed || Math.random()`): the op draws fresh
   * values on every eager call. False for a seed the user passed.
   */
  unseeded(seed: number): boolean;
}

/**
 * inputs: the kernel's named inputs (`x`, `a`, `b`, `filter`…) as values; variadic kernels
 * (Concat, AddN, Pack) get an array under the name tfjs uses, and missing optional inputs
 * are absent. attrs: the kernel's tfjs attrs as given to runKernel.
 */
export type KernelRule = (ctx: TraceCtx, inputs: Record<string, Value | Value[] | undefined>, attrs: Record<string, unknown>) => Value | Value[];
