/**
 * The public ONNX import: `fromOnnx(bytes, opts)` is exporters/onnx's importer given the
 * runtime's constant evaluator (tfjs-cpu kernels, what a Session runs), the way
 * src/optimize.ts gives it to the passes. exporters/ itself never imports runtime/.
 */
import type { ImportOptions } from '../exporters/onnx/import/import.js';
import { importOnnx, importOnnxModel } from '../exporters/onnx/import/import.js';
import type { ConstEvaluator } from '../exporters/onnx/import/fold.js';
import type { onnx } from '../exporters/onnx/proto.js';
import type { Graph } from '../ir/graph.js';
import { evalNodeConst } from '../runtime/eval_const.js';

/** Folds at import time on tfjs-cpu (ONNX leaves the cases where engines differ undefined; cpu is the reference). */
export const importEvaluator: ConstEvaluator = (op, inputs, attrs) => evalNodeConst(op, inputs, attrs);

/** Reads an ONNX model (ModelProto bytes) into an IR Graph. */
export function fromOnnx(bytes: Uint8Array, opts: ImportOptions = {}): Graph {
  return importOnnx(bytes, importEvaluator, opts);
}

/** Reads a decoded ModelProto into an IR Graph. */
export function fromOnnxModel(model: onnx.IModelProto, opts: ImportOptions = {}): Graph {
  return importOnnxModel(model, importEvaluator, opts);
}
