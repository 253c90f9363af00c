/**
 * The public ONNX import: `fromOnnx(bytes, opts)` is exporters/onnx's importer given the
 * runtime's constant evaluator (tfjs-cpu kernels, what a Session runs), the way
 * src/optimize.ts gives it to the passes. exporters/ itself never imports runtime/.
 */
import type { ImportOptions } from '../exporters/onnx/import/import.js';
import { importOnnx, importOnnxModel } from '../exporters/onnx/import/import.js';
import type { ConstEvaluator } from '../exporters/onnx/import/fold.js';
import { readOnnxModelFile } from '../exporters/onnx/import/external_data.js';
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

/**
 * Reads the ONNX file at `path` into an IR Graph, with its external data (tensors kept in files
 * beside the model, as writeOnnxModel writes past 2 GiB): locations must stay inside the model's
 * folder and ranges inside their files, within opts.budget.bytes (GC0535 otherwise).
 */
export function fromOnnxFile(path: string, opts: ImportOptions = {}): Graph {
  return importOnnxModel(readOnnxModelFile(path, { budget: opts.budget }), importEvaluator, opts);
}
