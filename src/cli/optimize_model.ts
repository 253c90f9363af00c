/**
 * `graphc optimize`: an ONNX model imported, run through graphc's passes and written again as
 * the model it was — its opset, metadata, doc strings, producer (with graphc appended) and the
 * names of the nodes and values that survive the passes:
 *
 *   const { model, report } = optimizeOnnxModel(onnx.ModelProto.decode(bytes), {});
 *
 * - The opset stays the model's unless `opts.opset` asks for another. graphc writes opsets 13
 *   to 18; below 13 the model is written at 13 and then declared at its own opset where every
 *   op's schema there is the one graphc wrote (or differs only in the types it admits, as most
 *   version-13 schemas do, which added bfloat16). Otherwise the error names the op and the
 *   opset, and `--opset` is the way out.
 * - Node names and doc_strings of the ONNX nodes whose results survive are kept, and so are
 *   the names of the values (exporters/onnx/import's ImportRecord → the exporter's keepNames);
 *   graph inputs and outputs keep their names and order as always.
 */
import { DEFAULT_OPSET, exportOnnx, GRAPHC_VERSION, IR_VERSION_FOR_OPSET } from '../../exporters/onnx/export/export.js';
import type { ImportRecord } from '../../exporters/onnx/import/import.js';
import { defaultOpset } from '../../exporters/onnx/import/import.js';
import { onnx } from '../../exporters/onnx/proto.js';
import { Codes, GcError } from '../../ir/errors.js';
import { formatReport } from '../../ir/passes/manager.js';
import { fromOnnxModel } from '../onnx_import.js';
import { optimizeInPlace } from '../optimize.js';

export interface OptimizeModelOptions {
  /** The opset to write (13 to 18); default the model's own. */
  opset?: number;
  /** Verify the graph after every pass. */
  verify?: boolean;
  /** Called as each pass starts (progress). */
  onPass?: (pass: string) => void;
}

/** The lowest opset graphc's exporter writes; below it a model is written at it and declared at its own opset where the schemas allow. */
const MIN_WRITTEN_OPSET = 13;

/**
 * The versions (since_version) of each default-domain op up to opset 13, from onnx's schema
 * history (onnx.defs.get_all_schemas_with_history, onnx 1.12).
 */
const SINCE: ReadonlyMap<string, readonly number[]> = new Map(
  'Abs:1,6,13 Acos:7 Acosh:9 Add:1,6,7,13 And:1,7 ArgMax:1,11,12,13 ArgMin:1,11,12,13 Asin:7 Asinh:9 Atan:7 Atanh:9 AveragePool:1,7,10,11 BatchNormalization:1,6,7,9 BitShift:11 Cast:1,6,9,13 Ceil:1,6,13 Celu:12 Clip:1,6,11,12,13 Compress:9,11 Concat:1,4,11,13 ConcatFromSequence:11 Constant:1,9,11,12,13 ConstantOfShape:9 Conv:1,11 ConvInteger:10 ConvTranspose:1,11 Cos:7 Cosh:9 CumSum:11 DepthToSpace:1,11,13 DequantizeLinear:10,13 Det:11 Div:1,6,7,13 Dropout:1,6,7,10,12,13 DynamicQuantizeLinear:11 Einsum:12 Elu:1,6 Equal:1,7,11,13 Erf:9,13 Exp:1,6,13 Expand:8,13 EyeLike:9 Flatten:1,9,11,13 Floor:1,6,13 GRU:1,3,7 Gather:1,11,13 GatherElements:11,13 GatherND:11,12,13 Gemm:1,6,7,9,11,13 GlobalAveragePool:1 GlobalLpPool:1,2 GlobalMaxPool:1 Greater:1,7,9,13 GreaterOrEqual:12 HardSigmoid:1,6 Hardmax:1,11,13 Identity:1,13 If:1,11,13 InstanceNormalization:1,6 IsInf:10 IsNaN:9,13 LRN:1,13 LSTM:1,7 LeakyRelu:1,6 Less:1,7,9,13 LessOrEqual:12 Log:1,6,13 LogSoftmax:1,11,13 Loop:1,11,13 LpNormalization:1 LpPool:1,2,11 MatMul:1,9,13 MatMulInteger:10 Max:1,6,8,12,13 MaxPool:1,8,10,11,12 MaxRoiPool:1 MaxUnpool:9,11 Mean:1,6,8,13 MeanVarianceNormalization:9,13 Min:1,6,8,12,13 Mod:10,13 Mul:1,6,7,13 Multinomial:7 Neg:1,6,13 NegativeLogLikelihoodLoss:12,13 NonMaxSuppression:10,11 NonZero:9,13 Not:1 OneHot:9,11 Or:1,7 PRelu:1,6,7,9 Pad:1,2,11,13 Pow:1,7,12,13 QLinearConv:10 QLinearMatMul:10 QuantizeLinear:10,13 RNN:1,7 RandomNormal:1 RandomNormalLike:1 RandomUniform:1 RandomUniformLike:1 Range:11 Reciprocal:1,6,13 ReduceL1:1,11,13 ReduceL2:1,11,13 ReduceLogSum:1,11,13 ReduceLogSumExp:1,11,13 ReduceMax:1,11,12,13 ReduceMean:1,11,13 ReduceMin:1,11,12,13 ReduceProd:1,11,13 ReduceSum:1,11,13 ReduceSumSquare:1,11,13 Relu:1,6,13 Reshape:1,5,13 Resize:10,11,13 ReverseSequence:10 RoiAlign:10 Round:11 Scan:8,9,11 Scatter:9,11 ScatterElements:11,13 ScatterND:11,13 Selu:1,6 SequenceAt:11 SequenceConstruct:11 SequenceEmpty:11 SequenceErase:11 SequenceInsert:11 SequenceLength:11 Shape:1,13 Shrink:9 Sigmoid:1,6,13 Sign:9,13 Sin:7 Sinh:9 Size:1,13 Slice:1,10,11,13 Softmax:1,11,13 SoftmaxCrossEntropyLoss:12,13 Softplus:1 Softsign:1 SpaceToDepth:1,13 Split:1,2,11,13 SplitToSequence:11 Sqrt:1,6,13 Squeeze:1,11,13 StringNormalizer:10 Sub:1,6,7,13 Sum:1,6,8,13 Tan:7 Tanh:1,6,13 TfIdfVectorizer:9 ThresholdedRelu:10 Tile:1,6,13 TopK:1,10,11 Transpose:1,13 Unique:11 Unsqueeze:1,11,13 Upsample:1,7,9,10 Where:9 Xor:1,7'.split(' ').map((e) => { const [op, vs] = e.split(':'); return [op!, vs!.split(',').map(Number)]; }));

/**
 * Op versions that only admit more element types than the version before (a model using the
 * older one reads the same under the newer): version 13 added bfloat16 to these, version 12
 * integer types to Clip, Max, Min, Pow and MaxPool.
 */
const TYPES_ONLY = new Set<string>([
  ...['Abs', 'Add', 'ArgMax', 'ArgMin', 'Cast', 'Ceil', 'Clip', 'Concat', 'Constant', 'DepthToSpace', 'Div', 'Dropout', 'Equal', 'Erf', 'Exp',
    'Expand', 'Flatten', 'Floor', 'Gather', 'GatherElements', 'GatherND', 'Gemm', 'Greater', 'Identity', 'Less', 'Log', 'LRN', 'MatMul', 'Max',
    'Mean', 'Min', 'Mod', 'Mul', 'Neg', 'NonZero', 'Pad', 'Pow', 'Reciprocal', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp',
    'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'Relu', 'Reshape', 'ScatterElements', 'ScatterND', 'Shape',
    'Sigmoid', 'Sign', 'Size', 'Slice', 'SpaceToDepth', 'Sqrt', 'Sub', 'Sum', 'Tanh', 'Tile', 'Transpose'].map((op) => `${op}:13`),
  'Clip:12', 'Max:12', 'Min:12', 'Pow:12', 'MaxPool:12',
]);

/** The IR version declared with an opset below 13 (IR 4 at least: initializers need not be graph inputs). */
const IR_VERSION_BELOW_13: Readonly<Record<number, number>> = { 9: 4, 10: 5, 11: 6, 12: 7 };

const latest = (versions: readonly number[], opset: number): number | undefined => {
  let best: number | undefined;
  for (const v of versions) if (v <= opset && (best === undefined || v > best)) best = v;
  return best;
};

/** Why op `op` as written at opset 13 cannot be declared at `opset`; undefined when it can. */
function whyNotAt(op: string, opset: number): string | undefined {
  const versions = SINCE.get(op);
  if (versions === undefined) return `graphc knows no schema history for ${op}`;
  const written = latest(versions, MIN_WRITTEN_OPSET)!;
  const there = latest(versions, opset);
  if (there === undefined) return `${op} does not exist at opset ${opset} (it came in opset ${Math.min(...versions)})`;
  const changed = versions.filter((v) => v > there && v <= written && !TYPES_ONLY.has(`${op}:${v}`));
  if (changed.length === 0) return undefined;
  return `graphc writes ${op}-${written}, and opset ${opset}'s ${op}-${there} differs from it (${op} changed at opset ${changed.join(', ')})`;
}

function opTypes(g: onnx.IGraphProto, out = new Set<string>()): Set<string> {
  for (const n of g.node ?? []) {
    out.add(n.opType ?? '');
    for (const a of n.attribute ?? []) {
      if (a.g) opTypes(a.g, out);
      for (const s of a.graphs ?? []) opTypes(s, out);
    }
  }
  return out;
}

/** Imports `model`, optimizes it with graphc's passes and exports it again as the model it was (see the file comment). */
export function optimizeOnnxModel(model: onnx.ModelProto, opts: OptimizeModelOptions = {}): { model: onnx.ModelProto; report: string[] } {
  const own = defaultOpset(model);
  const opset = opts.opset ?? own;
  if (opts.opset !== undefined && IR_VERSION_FOR_OPSET[opts.opset] === undefined) {
    throw new GcError({ code: Codes.exportOptions, message: `optimize: opset ${opts.opset} is not supported`,
      help: `choose an opset from ${Object.keys(IR_VERSION_FOR_OPSET).join(', ')} (default: the model's own, else ${DEFAULT_OPSET})` });
  }
  if (opset > Math.max(...Object.keys(IR_VERSION_FOR_OPSET).map(Number))) {
    throw new GcError({ code: Codes.exportOptions, message: `optimize: the model is opset ${opset}; graphc writes opsets ${Object.keys(IR_VERSION_FOR_OPSET).join(', ')}`,
      help: 'pass --opset 18 (or lower) to write it at that opset' });
  }
  const record: ImportRecord = { values: new Map(), nodes: new Map() };
  const graph = fromOnnxModel(model, { record });
  const before = graph.nodes.length;
  const passes = optimizeInPlace(graph, { freeze: true, verify: opts.verify }, { onPass: opts.onPass === undefined ? undefined : (p) => opts.onPass!(p) });
  const written = Math.max(opset, MIN_WRITTEN_OPSET);
  const ex = exportOnnx(graph, {
    opset: written,
    keepNames: { value: (v) => record.values.get(v), node: (n) => record.nodes.get(n) },
  });
  const out = onnx.ModelProto.decode(ex.bytes);
  if (opset < MIN_WRITTEN_OPSET) {
    for (const op of [...opTypes(out.graph!)].sort()) {
      const why = whyNotAt(op, opset);
      if (why === undefined) continue;
      throw new GcError({ code: Codes.exportUnsupported, message: `optimize: ${op} cannot be written at opset ${opset} (the model's): ${why}`,
        help: `pass --opset ${MIN_WRITTEN_OPSET} (graphc writes opsets ${Object.keys(IR_VERSION_FOR_OPSET).join(', ')}) to write the model at that opset` });
    }
    out.opsetImport = [onnx.OperatorSetIdProto.create({ domain: '', version: opset })];
    out.irVersion = Math.max(IR_VERSION_BELOW_13[opset] ?? 4, 4);
  }
  // What the model said of itself.
  const producer = model.producerName ?? '';
  out.producerName = producer === '' || producer === 'graphc' ? 'graphc' : `${producer} + graphc`;
  const version = model.producerVersion ?? '';
  out.producerVersion = producer === '' || producer === 'graphc' ? GRAPHC_VERSION : `${version} + graphc ${GRAPHC_VERSION}`;
  if (model.docString) out.docString = model.docString;
  if (model.domain) out.domain = model.domain;
  if (model.modelVersion !== undefined && model.modelVersion !== null && Number(model.modelVersion) !== 0) out.modelVersion = model.modelVersion;
  const meta = new Map<string, string>();
  for (const p of model.metadataProps ?? []) meta.set(p.key ?? '', p.value ?? '');
  for (const p of out.metadataProps ?? []) if (!meta.has(p.key ?? '')) meta.set(p.key ?? '', p.value ?? '');
  out.metadataProps = [...meta].map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }));
  if (model.graph?.docString) out.graph!.docString = model.graph.docString;

  const names = new Set((model.graph?.node ?? []).map((n) => n.name ?? '').filter((n) => n !== ''));
  const keptNodes = (out.graph!.node ?? []).filter((n) => names.has(n.name ?? '')).length;
  const report = [
    `opset ${opset}${opts.opset === undefined ? " (the model's)" : own === opset ? '' : ` (the model's was ${own})`}`,
    `nodes: ${(model.graph?.node ?? []).length} in the model, ${before} imported, ${graph.nodes.length} optimized, ${(out.graph!.node ?? []).length} written (${keptNodes} keep their names)`,
    `passes: ${formatReport(passes)}`,
  ];
  return { model: out, report };
}
