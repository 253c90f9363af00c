/**
 * The ONNX import table: one rule per ONNX op type of the default domain (the families live
 * in rules/*.ts), and the ops graphc refuses, each with its reason.
 */
import type { OpName } from '../../../ir/ops.js';
import type { ImportedInMany, NotImported } from './made_by.js';
import type { ImportRule, ImportUnsupported, RuleTable } from './node_ctx.js';
import { IMPORT_ELEMENTWISE_MAKES, IMPORT_ELEMENTWISE_RULES } from './rules/elementwise.js';
import { IMPORT_LOSS_MAKES, IMPORT_LOSS_RULES } from './rules/loss.js';
import { IMPORT_NN_MAKES, IMPORT_NN_RULES } from './rules/nn.js';
import { IMPORT_REDUCE_MAKES, IMPORT_REDUCE_RULES } from './rules/reduce.js';
import { IMPORT_RESIZE_MAKES, IMPORT_RESIZE_RULES } from './rules/resize.js';
import { IMPORT_RNN_MAKES, IMPORT_RNN_RULES } from './rules/rnn.js';
import { IMPORT_QUANT_MAKES, IMPORT_QUANT_RULES } from './rules/quant.js';
import { IMPORT_SCATTER_MAKES, IMPORT_SCATTER_RULES } from './rules/scatter.js';
import { IMPORT_MISC_MAKES, IMPORT_MISC_RULES } from './rules/misc.js';
import { IMPORT_SIGNAL_MAKES, IMPORT_SIGNAL_RULES } from './rules/signal.js';
import { IMPORT_CONTROL_MAKES, IMPORT_CONTROL_RULES } from './rules/control.js';
import { IMPORT_SAMPLE_MAKES, IMPORT_SAMPLE_RULES } from './rules/sample.js';
import { IMPORT_RANDOM_MAKES, IMPORT_RANDOM_RULES } from './rules/random.js';
import { IMPORT_SHAPE_MAKES, IMPORT_SHAPE_RULES } from './rules/shape.js';
import { TRAINING_DOMAIN, IMPORT_TRAINING_MAKES, IMPORT_TRAINING_RULES } from './rules/training.js';

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

const DECOMPOSITIONS: ImportedInMany = { many: 'a step of many decompositions (constants, casts, reshapes, transposes, arithmetic, masks)' };
const NO_ONNX_OP: NotImported = { notImported: 'ONNX has no such op (graphs with it export it as other ops)' };
const TFJS_GRADIENT: NotImported = { notImported: 'a tfjs gradient kernel (training graphs); ONNX has no such op' };

/** The IR ops no family lists: those no rule makes (and why), and those many rules make as a step. */
export const NOT_LISTED = {
  const: DECOMPOSITIONS,
  assign: { notImported: 'a variable write: ONNX graphs have no variables' },
  print: { notImported: 'printing at run time: ONNX has no such op' },
  log1p: NO_ONNX_OP,
  relu6: { notImported: 'ONNX Clip(0, 6) imports as clip' },
  identity: { notImported: 'ONNX Identity imports as its operand' },
  step: NO_ONNX_OP,
  cast: DECOMPOSITIONS,
  zeros_like: NO_ONNX_OP,
  add: DECOMPOSITIONS,
  sub: DECOMPOSITIONS,
  mul: DECOMPOSITIONS,
  div: DECOMPOSITIONS,
  squared_difference: NO_ONNX_OP,
  atan2: NO_ONNX_OP,
  prelu: { notImported: 'ONNX PRelu imports as select(x < 0, x·slope, x) (ONNX broadcasts the slope its own way)' },
  elu_grad: TFJS_GRADIENT,
  less: DECOMPOSITIONS,
  greater: DECOMPOSITIONS,
  select: DECOMPOSITIONS,
  fused_elementwise: { notImported: 'made by the fuse-elementwise pass' },
  reduce_all: NO_ONNX_OP,
  reduce_any: NO_ONNX_OP,
  fused_matmul: { notImported: 'made by the fuse-matmul-bias-act pass' },
  conv2d_backprop_filter: TFJS_GRADIENT,
  depthwise_conv2d_backprop_input: TFJS_GRADIENT,
  depthwise_conv2d_backprop_filter: TFJS_GRADIENT,
  max_pool_grad: TFJS_GRADIENT,
  avg_pool_grad: TFJS_GRADIENT,
  reshape: DECOMPOSITIONS,
  transpose: DECOMPOSITIONS,
  unpack: NO_ONNX_OP,
  slice: DECOMPOSITIONS,
  unsorted_segment_sum: NO_ONNX_OP,
} satisfies Partial<Record<OpName, NotImported | ImportedInMany>>;

/** Each family's IMPORT_<FAMILY>_MAKES (rules/<family>.ts): the IR ops its rules make, each with its rules. */
export const MAKES_BY_FAMILY = [
  IMPORT_ELEMENTWISE_MAKES,
  IMPORT_REDUCE_MAKES,
  IMPORT_SHAPE_MAKES,
  IMPORT_NN_MAKES,
  IMPORT_LOSS_MAKES,
  IMPORT_RESIZE_MAKES,
  IMPORT_RNN_MAKES,
  IMPORT_QUANT_MAKES,
  IMPORT_SCATTER_MAKES,
  IMPORT_MISC_MAKES,
  IMPORT_SIGNAL_MAKES,
  IMPORT_CONTROL_MAKES,
  IMPORT_SAMPLE_MAKES,
  IMPORT_RANDOM_MAKES,
  IMPORT_TRAINING_MAKES,
] as const;

/** The keys of each element of a tuple of objects, as one union. */
type KeysOfEach<T extends readonly object[]> = T[number] extends infer E ? (E extends unknown ? keyof E : never) : never;
type Listed = keyof typeof NOT_LISTED | KeysOfEach<typeof MAKES_BY_FAMILY>;
/**
 * Compiles only when every IR op is decided: an op of OPS that no family's IMPORT_<FAMILY>_MAKES
 * lists and NOT_LISTED does not name fails here with "Type '"<op>"' does not satisfy the
 * constraint 'never'". Import it (its rule in rules/<family>.ts, and the op in that file's
 * IMPORT_<FAMILY>_MAKES), or say in NOT_LISTED why no rule makes it.
 */
type EveryOpDecided<Undecided extends never> = Undecided;
export type UndecidedImportOps = EveryOpDecided<Exclude<OpName, Listed>>;

/**
 * Per IR op, the ONNX op types whose rules make it (in any branch, directly or through a
 * helper or a Builder method), gathered from the families' lists; or NOT_LISTED's word on it.
 * test/ir/op_coverage.test.ts checks every list against the rules' code (the ops a rule
 * names), both ways.
 */
export const IMPORTED_BY: Readonly<Record<OpName, readonly OnnxOpType[] | NotImported | ImportedInMany>> = (() => {
  const out = { ...NOT_LISTED } as Record<OpName, readonly OnnxOpType[] | NotImported | ImportedInMany>;
  const lists = new Map<OpName, OnnxOpType[]>();
  for (const family of MAKES_BY_FAMILY) {
    for (const [op, keys] of Object.entries(family) as [OpName, readonly OnnxOpType[]][]) lists.set(op, [...(lists.get(op) ?? []), ...keys]);
  }
  for (const [op, keys] of lists) out[op] = keys.sort();
  return out;
})();
