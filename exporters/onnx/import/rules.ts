/**
 * The ONNX import table: one rule per ONNX op type of the default domain (the families live
 * in rules/*.ts), and the ops graphc refuses, each with its reason.
 */
import type { OpName } from '../../../ir/ops.js';
import type { ImportRule, ImportUnsupported, RuleTable } from './node_ctx.js';
import { IMPORT_ELEMENTWISE_RULES } from './rules/elementwise.js';
import { IMPORT_LOSS_RULES } from './rules/loss.js';
import { IMPORT_NN_RULES } from './rules/nn.js';
import { IMPORT_REDUCE_RULES } from './rules/reduce.js';
import { IMPORT_RESIZE_RULES } from './rules/resize.js';
import { IMPORT_RNN_RULES } from './rules/rnn.js';
import { IMPORT_QUANT_RULES } from './rules/quant.js';
import { IMPORT_SCATTER_RULES } from './rules/scatter.js';
import { IMPORT_MISC_RULES } from './rules/misc.js';
import { IMPORT_SIGNAL_RULES } from './rules/signal.js';
import { IMPORT_CONTROL_RULES } from './rules/control.js';
import { IMPORT_SAMPLE_RULES } from './rules/sample.js';
import { IMPORT_RANDOM_RULES } from './rules/random.js';
import { IMPORT_SHAPE_RULES } from './rules/shape.js';
import { TRAINING_DOMAIN, IMPORT_TRAINING_RULES } from './rules/training.js';

const dataDependent = (what: string) => ({
  unsupported: `the shape of ${what} depends on the data; graphc graphs have shapes known before they run`,
});
const sequences = { unsupported: 'sequence and optional values are not supported (graphc values are tensors)' };
const strings = { unsupported: 'string tensors are not supported' };

const UNSUPPORTED = {
  NonZero: dataDependent('NonZero\'s result'), Unique: dataDependent('Unique\'s results'),
  Compress: dataDependent('Compress\'s result'), NonMaxSuppression: dataDependent('NonMaxSuppression\'s result'),
  SequenceAt: sequences, SequenceConstruct: sequences, SequenceEmpty: sequences, SequenceErase: sequences,
  SequenceInsert: sequences, SequenceLength: sequences, SequenceMap: sequences, SplitToSequence: sequences,
  ConcatFromSequence: sequences, Optional: sequences, OptionalGetElement: sequences, OptionalHasElement: sequences,
  Multinomial: { unsupported: 'Multinomial is not supported (graphc has no categorical draw)' },
  StringNormalizer: strings,
} satisfies RuleTable;

export const IMPORT_RULES = {
  ...IMPORT_ELEMENTWISE_RULES,
  ...IMPORT_REDUCE_RULES,
  ...IMPORT_SHAPE_RULES,
  ...IMPORT_NN_RULES,
  ...IMPORT_LOSS_RULES,
  ...IMPORT_RESIZE_RULES,
  ...IMPORT_RNN_RULES,
  ...IMPORT_QUANT_RULES,
  ...IMPORT_SCATTER_RULES,
  ...IMPORT_MISC_RULES,
  ...IMPORT_SIGNAL_RULES,
  ...IMPORT_CONTROL_RULES,
  ...IMPORT_SAMPLE_RULES,
  ...IMPORT_RANDOM_RULES,
  ...UNSUPPORTED,
} satisfies RuleTable;

/**
 * The tables as Maps: an op type read from a file ('constructor', '__proto__', 'toString')
 * must never find a property of Object.prototype.
 */
const DEFAULT_MAP: ReadonlyMap<string, ImportRule | ImportUnsupported> = new Map(Object.entries(IMPORT_RULES));
const TRAINING_MAP: ReadonlyMap<string, ImportRule | ImportUnsupported> = new Map(Object.entries(IMPORT_TRAINING_RULES));

/** The rule of an op type in a domain ('' or 'ai.onnx' for the default domain), or undefined. */
export function ruleFor(domain: string, opType: string): ImportRule | ImportUnsupported | undefined {
  const table = domain === '' || domain === 'ai.onnx' ? DEFAULT_MAP : domain === TRAINING_DOMAIN ? TRAINING_MAP : undefined;
  return table?.get(opType);
}

/** ONNX op types with an import rule (not counting the refused ones). */
export function importedOpTypes(): string[] {
  return Object.entries(IMPORT_RULES).filter(([, r]) => typeof r === 'function').map(([k]) => k).sort();
}

// ---- which ONNX ops import to each IR op -------------------------------------------------------

/** An ONNX op type with an entry in the tables (a rule, or a refusal). */
export type OnnxOpType = keyof typeof IMPORT_RULES | keyof typeof IMPORT_TRAINING_RULES;
/** An IR op no ONNX import rule makes, and why. */
export interface NotImported { readonly notImported: string }
/** An IR op many rules make as a step of their decompositions: test/ir/op_coverage checks that one does. */
export interface ImportedInMany { readonly many: string }

const DECOMPOSITIONS: ImportedInMany = { many: 'a step of many decompositions (constants, casts, reshapes, transposes, arithmetic, masks)' };
const NO_ONNX_OP: NotImported = { notImported: 'ONNX has no such op (graphs with it export it as other ops)' };
const TFJS_GRADIENT: NotImported = { notImported: 'a tfjs gradient kernel (training graphs); ONNX has no such op' };

/**
 * Per IR op, the ONNX op types whose rules (rules/*.ts) make it, in any branch, directly or
 * through a helper or a Builder method; or why there are none. A `Record<OpName, …>`: an op
 * added to OPS does not compile until it has its entry here, and test/ir/op_coverage.test.ts
 * checks every list against the rules' code (the ops a rule names), both ways.
 */
export const IMPORTED_BY: Readonly<Record<OpName, readonly OnnxOpType[] | NotImported | ImportedInMany>> = {
  const: DECOMPOSITIONS,
  sym_const: ['Shape', 'Size'],
  fill: ['ConstantOfShape', 'Dropout'],
  range: ['Range'],
  random_uniform: ['Bernoulli', 'RandomUniform', 'RandomUniformLike'],
  random_normal: ['RandomNormal', 'RandomNormalLike'],
  assign: { notImported: 'a variable write: ONNX graphs have no variables' },
  print: { notImported: 'printing at run time: ONNX has no such op' },
  abs: ['Abs', 'GRU', 'GridSample', 'LSTM', 'LpNormalization', 'Mod', 'RNN', 'ReduceL1', 'Softsign'],
  acos: ['Acos'],
  acosh: ['Acosh'],
  asin: ['Asin'],
  asinh: ['Asinh'],
  atan: ['Atan'],
  atanh: ['Atanh'],
  ceil: ['Ceil'],
  cos: ['Cos'],
  cosh: ['Cosh'],
  elu: ['Elu'],
  erf: ['Erf'],
  exp: ['Exp', 'ReduceLogSumExp'],
  expm1: ['Celu', 'Elu', 'GRU', 'LSTM', 'RNN', 'Selu'],
  floor: ['Floor', 'GridSample', 'Mod', 'RoiAlign'],
  log: ['Log', 'ReduceLogSum', 'ReduceLogSumExp'],
  log1p: NO_ONNX_OP,
  neg: ['DFT', 'Det', 'Neg', 'NegativeLogLikelihoodLoss', 'STFT', 'SoftmaxCrossEntropyLoss'],
  reciprocal: ['Reciprocal'],
  relu: ['Celu', 'GRU', 'LSTM', 'RNN', 'Relu'],
  relu6: { notImported: 'ONNX Clip(0, 6) imports as clip' },
  round: ['DynamicQuantizeLinear', 'GridSample', 'QLinearConv', 'QLinearMatMul', 'QuantizeLinear', 'Resize',
    'Round', 'Upsample'],
  rsqrt: ['GroupNormalization', 'InstanceNormalization', 'LayerNormalization'],
  selu: ['Selu'],
  sigmoid: ['GRU', 'LSTM', 'RNN', 'Sigmoid'],
  sign: ['Mod', 'Sign'],
  sin: ['Sin'],
  sinh: ['Sinh'],
  softplus: ['GRU', 'LSTM', 'Mish', 'RNN', 'Softplus'],
  sqrt: ['Adagrad', 'Adam', 'LpNormalization', 'MeanVarianceNormalization', 'ReduceL2', 'Sqrt'],
  square: ['Adagrad', 'Adam', 'BatchNormalization', 'GroupNormalization', 'InstanceNormalization', 'LRN',
    'LayerNormalization', 'LpNormalization', 'MeanVarianceNormalization', 'ReduceL2', 'ReduceSumSquare'],
  tan: ['Tan'],
  tanh: ['GRU', 'LSTM', 'Mish', 'RNN', 'Tanh'],
  identity: { notImported: 'ONNX Identity imports as its operand' },
  leaky_relu: ['GRU', 'LSTM', 'LeakyRelu', 'RNN'],
  step: NO_ONNX_OP,
  clip: ['Clip', 'DynamicQuantizeLinear', 'GRU', 'GridSample', 'HardSigmoid', 'HardSwish', 'LSTM', 'QLinearConv',
    'QLinearMatMul', 'QuantizeLinear', 'RNN'],
  is_nan: ['IsInf', 'IsNaN'],
  is_inf: ['IsInf'],
  is_finite: ['ReduceLogSumExp'],
  logical_not: ['Not'],
  cast: DECOMPOSITIONS,
  zeros_like: NO_ONNX_OP,
  ones_like: ['NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss'],
  add: DECOMPOSITIONS,
  sub: DECOMPOSITIONS,
  mul: DECOMPOSITIONS,
  div: DECOMPOSITIONS,
  floor_div: ['BitShift'],
  mod: ['GridSample', 'Mod'],
  pow: ['Adam', 'BitShift', 'LRN', 'Pow'],
  maximum: ['Clip', 'DynamicQuantizeLinear', 'Max', 'RoiAlign', 'Scatter', 'ScatterElements', 'ScatterND'],
  minimum: ['Celu', 'Clip', 'DynamicQuantizeLinear', 'Min', 'RoiAlign', 'Scatter', 'ScatterElements', 'ScatterND',
    'TfIdfVectorizer'],
  squared_difference: NO_ONNX_OP,
  atan2: NO_ONNX_OP,
  prelu: { notImported: 'ONNX PRelu imports as select(x < 0, x·slope, x) (ONNX broadcasts the slope its own way)' },
  elu_grad: TFJS_GRADIENT,
  equal: ['Equal', 'GridSample', 'TfIdfVectorizer', 'TopK'],
  not_equal: ['NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss'],
  less: DECOMPOSITIONS,
  less_equal: ['GridSample', 'LessOrEqual', 'RoiAlign'],
  greater: DECOMPOSITIONS,
  greater_equal: ['GreaterOrEqual', 'GridSample', 'RoiAlign'],
  logical_and: ['And', 'GridSample', 'IsInf', 'RoiAlign', 'TfIdfVectorizer', 'TopK'],
  logical_or: ['Or', 'TopK'],
  logical_xor: ['Xor'],
  select: DECOMPOSITIONS,
  fused_elementwise: { notImported: 'made by the fuse-elementwise pass' },
  add_n: ['RoiAlign'],
  reduce_sum: ['Einsum', 'GatherElements', 'GatherND', 'LpNormalization', 'NegativeLogLikelihoodLoss', 'ReduceL1',
    'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSum', 'ReduceSumSquare', 'Scatter', 'ScatterElements',
    'ScatterND', 'SoftmaxCrossEntropyLoss', 'TfIdfVectorizer', 'TopK'],
  reduce_mean: ['BatchNormalization', 'GlobalAveragePool', 'GroupNormalization', 'InstanceNormalization',
    'LayerNormalization', 'MeanVarianceNormalization', 'NegativeLogLikelihoodLoss', 'ReduceMean', 'RoiAlign',
    'SoftmaxCrossEntropyLoss'],
  reduce_max: ['DynamicQuantizeLinear', 'GlobalMaxPool', 'ReduceLogSumExp', 'ReduceMax', 'RoiAlign'],
  reduce_min: ['DynamicQuantizeLinear', 'ReduceMin'],
  reduce_prod: ['ReduceProd'],
  reduce_all: NO_ONNX_OP,
  reduce_any: NO_ONNX_OP,
  argmax: ['ArgMax', 'Hardmax'],
  argmin: ['ArgMin'],
  cumsum: ['CumSum'],
  softmax: ['Softmax'],
  log_softmax: ['LogSoftmax', 'SoftmaxCrossEntropyLoss'],
  matmul: ['DFT', 'Einsum', 'GRU', 'Gemm', 'LSTM', 'MatMul', 'MatMulInteger', 'MaxUnpool', 'QLinearMatMul', 'RNN',
    'Resize', 'STFT', 'Scatter', 'ScatterElements', 'ScatterND', 'TfIdfVectorizer', 'Upsample'],
  fused_matmul: { notImported: 'made by the fuse-matmul-bias-act pass' },
  conv2d: ['Conv', 'ConvInteger', 'QLinearConv'],
  depthwise_conv2d: ['Conv', 'ConvInteger', 'QLinearConv'],
  fused_conv2d: ['Conv', 'ConvInteger', 'QLinearConv'],
  fused_depthwise_conv2d: ['Conv', 'ConvInteger', 'QLinearConv'],
  conv2d_backprop_input: ['ConvTranspose'],
  conv2d_backprop_filter: TFJS_GRADIENT,
  depthwise_conv2d_backprop_input: TFJS_GRADIENT,
  depthwise_conv2d_backprop_filter: TFJS_GRADIENT,
  max_pool: ['AveragePool', 'MaxPool'],
  avg_pool: ['AveragePool', 'LRN', 'MaxPool'],
  max_pool_grad: TFJS_GRADIENT,
  avg_pool_grad: TFJS_GRADIENT,
  batch_norm: ['BatchNormalization'],
  reshape: DECOMPOSITIONS,
  transpose: DECOMPOSITIONS,
  concat: ['Concat', 'Conv', 'ConvInteger', 'Pad', 'QLinearConv'],
  pack: ['DFT', 'GRU', 'LSTM', 'Loop', 'RNN', 'STFT', 'Scan', 'Shape', 'Size', 'TfIdfVectorizer'],
  unpack: NO_ONNX_OP,
  split: ['Conv', 'ConvInteger', 'DFT', 'GRU', 'GridSample', 'LSTM', 'QLinearConv', 'RNN', 'RoiAlign', 'STFT',
    'Split'],
  slice: DECOMPOSITIONS,
  strided_slice: ['AveragePool', 'MaxPool', 'Slice'],
  gather: ['Gather', 'GatherND', 'GridSample', 'NegativeLogLikelihoodLoss', 'ReverseSequence', 'RoiAlign', 'STFT',
    'SoftmaxCrossEntropyLoss'],
  pad: ['AveragePool', 'DFT', 'LRN', 'MaxPool', 'MaxUnpool', 'Pad', 'STFT'],
  tile: ['GroupNormalization', 'Pad', 'Tile'],
  reverse: ['ArgMax', 'ArgMin', 'Pad'],
  broadcast_to: ['Expand', 'GRU', 'LSTM', 'RNN', 'RoiAlign', 'TfIdfVectorizer'],
  one_hot: ['GatherElements', 'Hardmax', 'MaxUnpool', 'NegativeLogLikelihoodLoss', 'OneHot', 'Scatter',
    'ScatterElements', 'ScatterND', 'SoftmaxCrossEntropyLoss'],
  unsorted_segment_sum: NO_ONNX_OP,
};
