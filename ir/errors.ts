/** A source location in the user's code: file:line:col of the call that built a node. */
export interface SourceLoc {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export function locToString(l: SourceLoc): string {
  return `${l.file}:${l.line}:${l.col}`;
}

export interface GcErrorInfo {
  code: string;
  message: string;
  loc?: SourceLoc | undefined;
  node?: string | undefined;
  help?: string | undefined;
  notes?: string[] | undefined;
}

/**
 * A compiler-style error: what, where (the user's file:line), the node, and a hint.
 *
 *   error[GC0203]: matmul: inner dimensions differ (lhs f32[batch,3], rhs f32[4,5]: 3 ≠ 4)
 *     --> examples/mlp.ts:14:10
 *     node: %7 = matmul %x, %w
 *     help: transpose the right operand or check the weight shape
 */
export class GcError extends Error {
  readonly code: string;
  readonly loc: SourceLoc | undefined;
  readonly help: string | undefined;
  readonly summary: string;
  /** What it was built from (to re-raise it with context, as the pass manager does). */
  readonly info: GcErrorInfo;
  constructor(info: GcErrorInfo) {
    const lines = [`error[${info.code}]: ${info.message}`];
    if (info.loc) lines.push(`  --> ${locToString(info.loc)}`);
    if (info.node) lines.push(`  node: ${info.node}`);
    for (const n of info.notes ?? []) lines.push(`  note: ${n}`);
    if (info.help) lines.push(`  help: ${info.help}`);
    super(lines.join('\n'));
    this.name = 'GcError';
    this.code = info.code;
    this.loc = info.loc;
    this.help = info.help;
    this.summary = info.message;
    this.info = info;
  }
}

/** Error codes, one family per layer. */
export const Codes = {
  shape: 'GC0201',
  dtype: 'GC0202',
  matmul: 'GC0203',
  attr: 'GC0204',
  verify: 'GC0301',
  parse: 'GC0302',
  pass: 'GC0303',
  traceRead: 'GC0101',
  traceUnsupported: 'GC0102',
  tracePolymorphic: 'GC0103',
  traceRandom: 'GC0104',
  traceVariable: 'GC0105',
  traceAsync: 'GC0106', // a traced function that left asynchronous work running (a pending Promise, an unawaited data())
  traceEnded: 'GC0107', // a tensor of a trace used after the trace ended (by work the function left running)
  inputMismatch: 'GC0401',
  sessionName: 'GC0402',
  runtime: 'GC0403',
  tensorTooLarge: 'GC0404', // a node's result over the per-tensor byte limit (maxTensorBytes / GRAPHC_MAX_TENSOR_BYTES), found when a plan is bound
  engineLimit: 'GC0405', // a result or kernel workspace the engine cannot address whatever the limit (int32 indexing, 4 GiB wasm heap, unsafe integers)
  attrRange: 'GC0406', // an integer attribute outside int32 on an engine whose kernels take int32 (wasm, webgpu)
  wasmAlloc: 'GC0407', // a wasm heap allocation that failed or would wrap (nothing is written)
  int64Range: 'GC0408', // an int64 value that int32 cannot hold where the engine computes int64 as int32
  tensorLimitOption: 'GC0409', // an invalid maxTensorBytes option or GRAPHC_MAX_TENSOR_BYTES value
  importBudget: 'GC0520', // an ONNX import past its budget of nodes, folding work or constant bytes (ImportOptions.budget)
  onnxNames: 'GC0530', // an ONNX model whose names are not well formed: duplicates, undefined operands, cycles
  onnxArity: 'GC0531', // an ONNX node with more or fewer operands or results than its op schema allows
  onnxAttr: 'GC0532', // an ONNX attribute value that is invalid whatever the shapes (a kernel of 0, an LRN size of 0)
  onnxDims: 'GC0533', // a negative dim in an ONNX initializer, graph input/output or value_info
  onnxOpsetTwice: 'GC0534', // an ONNX model that imports one domain twice
  cliWeightPath: 'GC0601', // a weightsManifest path that leaves the model's folder
  cliWeightFile: 'GC0602', // a weight shard that is missing, a directory, or unreadable
  cliWeightSize: 'GC0603', // weight shards whose bytes differ from what the manifest declares
  cliManifest: 'GC0604', // a malformed model.json weightsManifest
  cliOverwrite: 'GC0605', // an output that is the input or a source file (without --force)
  cliWrite: 'GC0606', // a write that failed (the old file is left as it was)
  cliOutputPath: 'GC0607', // an output file that would land outside its folder
  cliNpy: 'GC0608', // a malformed, truncated or unsupported .npy file
  cliNpyRange: 'GC0609', // a .npy value that does not fit the dtype graphc feeds
  cliNotAFile: 'GC0610', // a directory or missing path given where a file is expected
  cliInputCount: 'GC0611', // more --input specs than the function has parameters
  cliProcessExit: 'GC0612', // a user module that called process.exit while loading
} as const;
