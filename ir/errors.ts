/** A source location in the user's code: file:line:col of the call that built a node. */
export interface SourceLoc {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** The tfjs-layers layer that was being applied (src/trace/layer_scope.ts): exported node names start with it. */
  readonly scope?: string;
}

export function locToString(l: SourceLoc): string {
  return `${l.file}:${l.line}:${l.col}`;
}

export interface GcErrorInfo {
  code: ErrorCode;
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
  readonly code: ErrorCode;
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

/**
 * Every error code graphc raises, one family per layer: GC01xx tracing, GC02xx op signatures
 * (shape, dtype, attrs), GC03xx IR text, verifier and passes, GC04xx sessions and engines,
 * GC05xx ONNX import and export, GC06xx the CLI's files. A GcError takes only codes of this table
 * (ErrorCode), so a new code is added here, with its meaning. Codes are what users and tests
 * match on: never renumber one.
 */
export const Codes = {
  // GC01xx: tracing (src/trace, gc.compile, gc.GradientTape)
  traceRead: 'GC0101', // a traced value read as data (dataSync, arraySync…), or an operand with no value in the trace
  // GC0102 covers what a trace cannot record: an unsupported tfjs kernel, and also a function that is
  // async or returns a Promise or a non-tensor, nested compiled calls, and GradientTape misuse.
  traceUnsupported: 'GC0102',
  tracePolymorphic: 'GC0103', // a function that is not polymorphic in its symbolic dims (two traces disagree)
  traceRandom: 'GC0104', // a random op whose parameters cannot be recovered, or that cannot stay random
  traceVariable: 'GC0105', // variables created per call, from a function input, or disposed while in use
  traceAsync: 'GC0106', // a traced function that left asynchronous work running (a pending Promise, an unawaited data())
  traceEnded: 'GC0107', // a tensor of a trace used after the trace ended (by work the function left running)
  // GC02xx: op signatures (shape and dtype inference, operands and attrs of an op)
  shape: 'GC0201', // operand shapes an op does not accept
  dtype: 'GC0202', // an operand dtype an op does not accept, or a dtype graphc does not support
  matmul: 'GC0203', // matmul inner dimensions that differ
  attr: 'GC0204', // a missing or ill-typed attribute, or a wrong operand count
  // GC03xx: the IR itself
  verify: 'GC0301', // a graph the verifier rejects
  parse: 'GC0302', // IR text that does not parse
  pass: 'GC0303', // a pass that failed, did not reach a fixed point, or is unknown
  // GC04xx: sessions and engines
  // GC0401: an argument or feed that does not match its spec (also a bad gc.spec, an unknown
  // executor option, and f.graph / f.session asked of a function not yet traced).
  inputMismatch: 'GC0401',
  sessionName: 'GC0402', // an unknown or invalid name: fetch, feed, variable, gc.name label, output names
  runtime: 'GC0403', // a node that failed at run time, or a disposed or uninitialised session / backend
  tensorTooLarge: 'GC0404', // a node's result over the per-tensor byte limit (maxTensorBytes / GRAPHC_MAX_TENSOR_BYTES), found when a plan is bound
  engineLimit: 'GC0405', // a result or kernel workspace the engine cannot address whatever the limit (int32 indexing, 4 GiB wasm heap, unsafe integers)
  attrRange: 'GC0406', // an integer attribute outside int32 on an engine whose kernels take int32 (wasm, webgpu)
  wasmAlloc: 'GC0407', // a wasm heap allocation that failed or would wrap (nothing is written)
  int64Range: 'GC0408', // an int64 value that int32 cannot hold where the engine computes int64 as int32
  tensorLimitOption: 'GC0409', // an invalid maxTensorBytes option or GRAPHC_MAX_TENSOR_BYTES value
  // GC05xx: ONNX import and export
  onnxImport: 'GC0501', // an ONNX model the importer cannot turn into IR (unsupported op or attribute, bad operand, malformed file)
  exportUnsupported: 'GC0510', // an IR node the ONNX exporter has no rule for at the requested opset
  exportOptions: 'GC0511', // an invalid toOnnx option (an opset outside the supported range)
  exportInternal: 'GC0512', // a ModelProto the exporter built that is not well formed (a bug in an export rule)
  onnxTooLarge: 'GC0513', // a model over protobuf's 2 GiB limit written as one file (externalData false), or too large even with external data
  importBudget: 'GC0520', // an ONNX import past its budget of nodes, folding work or constant bytes (ImportOptions.budget)
  onnxNames: 'GC0530', // an ONNX model whose names are not well formed: duplicates, undefined operands, cycles
  onnxArity: 'GC0531', // an ONNX node with more or fewer operands or results than its op schema allows
  onnxAttr: 'GC0532', // an ONNX attribute value that is invalid whatever the shapes (a kernel of 0, an LRN size of 0)
  onnxDims: 'GC0533', // a negative dim in an ONNX initializer, graph input/output or value_info
  onnxOpsetTwice: 'GC0534', // an ONNX model that imports one domain twice
  onnxExternalData: 'GC0535', // an ONNX tensor's external data that leaves the model's folder, is not a regular file, lies outside its file, overlaps another, or is past the byte budget
  // GC06xx: files the CLI reads and writes
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
  cliGraphModel: 'GC0613', // a tfjs GraphModel topology graphc cannot convert (malformed nodes, unknown or control-flow ops, shapes)
} as const;

/** A code of the Codes table: GcError refuses any other string at compile time. */
export type ErrorCode = (typeof Codes)[keyof typeof Codes];
