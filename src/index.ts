/**
 * graphc — tf.function + Grappler + tf2onnx for TypeScript.
 *
 *   import * as gc from 'graphc';
 *   const f = gc.compile((x) => model.predict(x), { inputs: [gc.spec(['batch', 784])] });
 *   const y = await f(x);
 */
import './tfjs_setup.js';
import '../ir/printer.js';
import type * as tf from '@tensorflow/tfjs-core';
import type { DType } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { TensorSpec } from './trace/spec.js';
import { traceFunction } from './trace/trace_function.js';
import type { LoopMode } from './trace/roll_loops.js';
export type { LoopMode } from './trace/roll_loops.js';
import { materializeCreated } from './compile.js';

export { compile } from './compile.js';
export { accelerate, accelerated } from './accelerate.js';
export type { AccelerateOptions, Acceleration } from './accelerate.js';
export { optimize } from './optimize.js';
export type { OptimizeOptions, PassReport } from './optimize.js';
export type { CompileOptions, CompiledFunction } from './compile.js';
export { spec } from './trace/spec.js';
export type { TensorSpec } from './trace/spec.js';
export { name } from './trace/tracer.js';
export { GradientTape } from './gradient_tape.js';
export { item } from './autograph/item.js';
export { cond, whileLoop, scan } from './control_flow.js';
export type { Tensors, WhileLoopOptions } from './control_flow.js';
export { Session } from '../runtime/session.js';
export type { SessionOptions, RunOptions, Feed } from '../runtime/session.js';
export { selectBackend, ensureBackend, releaseBackend } from '../runtime/backends/select.js';
export type { BackendName, BackendChoice } from '../runtime/backends/select.js';
export { Graph, Node, Value } from '../ir/graph.js';
export type { TensorType, StateVar } from '../ir/graph.js';
export { Codes, GcError } from '../ir/errors.js';
export type { ErrorCode, SourceLoc } from '../ir/errors.js';
export { printGraph } from '../ir/printer.js';
export { parseGraph } from '../ir/parser.js';
export { verifyGraph } from '../ir/verify.js';
export { OPS, OP_NAMES } from '../ir/ops.js';
export type { OpName } from '../ir/ops.js';
export type { DType } from '../ir/dtype.js';
export { toOnnx } from '../exporters/onnx/export/export.js';
export { exportOnnx, initialStateModel } from '../exporters/onnx/export/export.js';
export type { OnnxExportOptions, OnnxExport, OnnxStateIO } from '../exporters/onnx/export/export.js';
export { fromOnnx, fromOnnxFile } from './onnx_import.js';
export { writeOnnxModel } from '../exporters/onnx/export/external_data.js';
export type { WriteOnnxOptions, WrittenOnnx } from '../exporters/onnx/export/external_data.js';
export type { ImportOptions } from '../exporters/onnx/import/import.js';
export type { ImportBudget } from '../exporters/onnx/import/budget.js';
export { OnnxImportError } from '../exporters/onnx/import/errors.js';

/** Traces `fn` for the given input specs into a raw (unoptimized) graph; `opts.loops` as for gc.compile. */
export function trace(fn: (...args: tf.Tensor[]) => unknown, inputs: TensorSpec[], opts: { loops?: LoopMode } = {}): Graph {
  return traceFunction(fn, inputs, materializeCreated, undefined, undefined, opts.loops).graph;
}

/**
 * A parameter type that `graphc export` reads the input signature from:
 *   export function predict(x: gc.Input<'float32', ['batch', 784]>) { ... }
 */
export type Input<D extends DType = 'float32', S extends readonly (number | string | null)[] = (number | string | null)[]> = tf.Tensor & {
  readonly __graphcInput?: { dtype: D; shape: S };
};
