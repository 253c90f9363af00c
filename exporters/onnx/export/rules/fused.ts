/**
 * Export rules for graphc's fused ops that ONNX has no node for. A `fused_elementwise`
 * node expands into its program's ops, each exported by that op's own rule (so the ONNX
 * spelling of every op stays in one place): the program is walked in evaluation order and
 * each op gets a RuleCtx whose operands are the ONNX names of its arguments.
 */
import type { Shape } from '../../../../ir/dim.js';
import type { TensorType } from '../../../../ir/graph.js';
import type { Expr, ExprOp } from '../../../../ir/fused_expr.js';
import { parseExpr } from '../../../../ir/fused_expr.js';
import { AttrReader } from '../../../../ir/ops.js';
import { broadcastShapes } from '../../../../ir/shape_util.js';
import type { ExportRule, RuleCtx, Unsupported } from '../rule_types.js';

type Lookup = (op: ExprOp) => ExportRule | Unsupported;

/** The rule for fused_elementwise; `lookup` gives the rule of each op in the program. */
export function fusedElementwiseRule(lookup: Lookup): ExportRule {
  return (cx) => {
    const { program } = parseExpr(cx.a.str('expr'));
    const temps: Array<{ name: string; shape: Shape }> = [];
    const f32 = (shape: Shape): TensorType => ({ dtype: 'float32', shape });
    const emit = (e: Expr, out?: string): { name: string; shape: Shape } => {
      switch (e.kind) {
        case 'in': return { name: cx.ins[e.index]!, shape: cx.inType(e.index).shape };
        case 'tmp': return temps[e.index]!;
        case 'lit': return { name: cx.e.scalar(e.value, 'float32'), shape: [] };
        case 'op': {
          const args = e.args.map((a) => emit(a));
          const shape = args.map((a) => a.shape).reduce((s, x) => broadcastShapes(s, x));
          const rule = lookup(e.op);
          if (typeof rule !== 'function') return cx.fail(`its program uses ${e.op}, which cannot be exported: ${rule.unsupported}`, rule.help);
          const name = out ?? cx.e.fresh(e.op);
          const sub: RuleCtx = {
            ...cx,
            a: new AttrReader(e.op, e.attrs),
            ins: args.map((a) => a.name),
            outs: [name],
            inType: (i) => f32(args[i]!.shape),
            outType: () => f32(shape),
            constOf: () => undefined,
          };
          rule(sub);
          return { name, shape };
        }
      }
    };
    for (const t of program.temps) temps.push(emit(t));
    const r = program.result;
    if (r.kind === 'op') { emit(r, cx.outs[0]); return; }
    // A program that is one operand, temp or literal: copy it (broadcast to the output shape).
    const v = emit(r);
    cx.e.op('Expand', [v.name, cx.dims.shape(cx.outType().shape)], {}, cx.outs[0]);
  };
}
