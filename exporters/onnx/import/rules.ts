/**
 * The ONNX import table: one rule per ONNX op type of the default domain (the families live
 * in rules/*.ts), and the ops graphc refuses, each with its reason.
 */
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

const UNSUPPORTED: RuleTable = {
  NonZero: dataDependent('NonZero\'s result'), Unique: dataDependent('Unique\'s results'),
  Compress: dataDependent('Compress\'s result'), NonMaxSuppression: dataDependent('NonMaxSuppression\'s result'),
  SequenceAt: sequences, SequenceConstruct: sequences, SequenceEmpty: sequences, SequenceErase: sequences,
  SequenceInsert: sequences, SequenceLength: sequences, SequenceMap: sequences, SplitToSequence: sequences,
  ConcatFromSequence: sequences, Optional: sequences, OptionalGetElement: sequences, OptionalHasElement: sequences,
  Multinomial: { unsupported: 'Multinomial is not supported (graphc has no categorical draw)' },
  StringNormalizer: strings,
};

export const IMPORT_RULES: RuleTable = {
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
};

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
