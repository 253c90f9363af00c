/**
 * The ONNX export rule of every IR op: `Record<OpName, ExportRule | Unsupported>`, so an op
 * added to ir/ops.ts without a rule (or an explicit Unsupported) is a compile error here.
 * The rules live by family under rules/.
 */
import type { OpName } from '../../../ir/ops.js';
import type { ExportRule, Unsupported } from './rule_types.js';
import { EXPORT_CONTROL_FLOW_RULES } from './rules/control_flow.js';
import { EXPORT_ELEMENTWISE_RULES } from './rules/elementwise.js';
import { fusedElementwiseRule } from './rules/fused.js';
import { EXPORT_NN_RULES } from './rules/nn.js';
import { EXPORT_REDUCTION_RULES } from './rules/reductions.js';
import { EXPORT_SHAPE_RULES } from './rules/shape.js';
import { EXPORT_SOURCE_RULES } from './rules/sources.js';

export const EXPORT_RULES: Record<OpName, ExportRule | Unsupported> = {
  ...EXPORT_SOURCE_RULES,
  ...EXPORT_ELEMENTWISE_RULES,
  ...EXPORT_REDUCTION_RULES,
  ...EXPORT_NN_RULES,
  ...EXPORT_SHAPE_RULES,
  // Structured control flow (ir/control_flow.ts): If / Loop / Scan with their regions as subgraphs.
  ...EXPORT_CONTROL_FLOW_RULES,
  // Expands into its program's ops, each by its own rule above.
  fused_elementwise: fusedElementwiseRule((op) => EXPORT_RULES[op]),
};

export function isUnsupported(r: ExportRule | Unsupported): r is Unsupported {
  return typeof r !== 'function';
}
