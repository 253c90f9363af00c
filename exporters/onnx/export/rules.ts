/**
 * The ONNX export rule of every IR op: `Record<OpName, ExportRule | Unsupported>`, so an op
 * added to ir/ops.ts without a rule (or an explicit Unsupported) is a compile error here.
 * The rules live by family under rules/.
 */
import type { OpName } from '../../../ir/ops.js';
import type { ExportRule, Unsupported } from './rule_types.js';
import { ELEMENTWISE_RULES } from './rules/elementwise.js';
import { fusedElementwiseRule } from './rules/fused.js';
import { NN_RULES } from './rules/nn.js';
import { REDUCTION_RULES } from './rules/reductions.js';
import { SHAPE_RULES } from './rules/shape.js';
import { SOURCE_RULES } from './rules/sources.js';

export const EXPORT_RULES: Record<OpName, ExportRule | Unsupported> = {
  ...SOURCE_RULES,
  ...ELEMENTWISE_RULES,
  ...REDUCTION_RULES,
  ...NN_RULES,
  ...SHAPE_RULES,
  // Expands into its program's ops, each by its own rule above.
  fused_elementwise: fusedElementwiseRule((op) => EXPORT_RULES[op]),
};

export function isUnsupported(r: ExportRule | Unsupported): r is Unsupported {
  return typeof r !== 'function';
}
