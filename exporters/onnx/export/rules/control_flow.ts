/**
 * Export rules of structured control flow (ir/control_flow.ts) as ONNX's If, Loop and Scan
 * (the same node forms at opsets 13 to 18: If-16 / Loop-16 / Scan-16 only add optional and
 * bfloat16 types). Regions become subgraphs (regions.ts); a region's block argument for a
 * capture is the capture's outer name, which the subgraph reads from its outer scope.
 *
 *   cond        If(pred as a bool scalar) { then_branch, else_branch }: each branch yields the
 *               cond's results.
 *   while_loop  Loop(M, c0, ...loop values): M is maximum_iterations (omitted without it); c0 is
 *               region 'cond' computed on the initial values before the loop; the body runs
 *               region 'body', then region 'cond' on the new values, and yields
 *               [cond, ...new values]. Loop's iteration count and incoming cond are unused.
 *   scan        Scan(...initial carries, ...xs) { body } with num_scan_inputs = num_xs, scanned
 *               along axis 0 (scan_input_axes / scan_output_axes left at 0); reverse sets every
 *               scan_input_direction and scan_output_direction to 1 (walk from the last slice,
 *               and prepend each y, so y stays at the index of its slice). A length that may be
 *               0 (symbolic, or 0) is If(length = 0) { the initial carries, empty ys } else
 *               { Scan }: ONNX Runtime's Scan fails on 0 steps (Loop would not: its stacked
 *               outputs of 0 iterations have no known shape, so Scan in an If it is).
 */
import type { Graph, TensorType } from '../../../../ir/graph.js';
import type { Dim } from '../../../../ir/dim.js';
import { isStatic } from '../../../../ir/dim.js';
import { onnxDType } from '../../dtypes.js';
import type { OnnxAttrs } from '../onnx_graph.js';
import { attr } from '../onnx_graph.js';
import type { EmitScope, ExportRule, RuleCtx } from '../rule_types.js';
import { RuleFailure } from '../rule_types.js';
import { valueAttr } from './helpers.js';

const BOOL_SCALAR: TensorType = { dtype: 'bool', shape: [] };
const I64_SCALAR: TensorType = { dtype: 'int64', shape: [] };

/** A one-element value of `t` as the bool scalar If and Loop take (nonzero is true). */
function boolScalar(at: EmitScope, name: string, t: TensorType): string {
  let p = name;
  if (t.dtype !== 'bool') p = at.e.op('Cast', [p], { to: attr.int(onnxDType('bool')) });
  if (t.shape.length !== 0) p = at.e.op('Reshape', [p, at.e.i64([])]);
  return p;
}

/** Learns the symbolic dims of the node's results from them (a loop value's data-dependent dim). */
function learnResults(cx: RuleCtx): void {
  cx.outs.forEach((o, i) => cx.dims.learn(o, cx.outType(i).shape));
}

const types = (r: Graph): TensorType[] => r.outputs.map((o) => o.value.type);

const condRule: ExportRule = (cx) => {
  const [thenR, elseR] = cx.node.regions as [Graph, Graph];
  const caps = cx.ins.slice(1);
  const base = `${cx.node.op}_${cx.node.id}`;
  const pred = boolScalar(cx.regions.scope, cx.ins[0]!, cx.inType(0));
  const branch = (r: Graph, role: string) => cx.regions.subgraph(`${base}_${role}`, [], (at) => ({ names: cx.regions.inline(r, caps, at), types: types(r) }));
  const thenG = branch(thenR, 'then'), elseG = branch(elseR, 'else');
  cx.e.opN('If', [pred], { then_branch: attr.graph(thenG), else_branch: attr.graph(elseG) }, cx.outs);
  learnResults(cx);
};

const whileRule: ExportRule = (cx) => {
  const [condR, bodyR] = cx.node.regions as [Graph, Graph];
  const n = bodyR.outputs.length;
  const init = cx.ins.slice(0, n), caps = cx.ins.slice(n);
  const base = `${cx.node.op}_${cx.node.id}`;
  const [c0] = cx.regions.inline(condR, [...init, ...caps], cx.regions.scope);
  const first = boolScalar(cx.regions.scope, c0!, condR.outputs[0]!.value.type);
  const maxIt = cx.node.attrs.maximum_iterations;
  const m = maxIt === undefined ? '' : cx.e.constant({ dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(maxIt as number)) });
  const carried = bodyR.inputs.slice(0, n).map((v, i) => ({ name: cx.regions.fresh(`${base}_v${i}`), dtype: v.dtype, shape: v.shape }));
  const ins = [{ name: cx.regions.fresh(`${base}_iter`), ...I64_SCALAR }, { name: cx.regions.fresh(`${base}_cond`), ...BOOL_SCALAR }, ...carried];
  const body = cx.regions.subgraph(`${base}_body`, ins, (at) => {
    const next = cx.regions.inline(bodyR, [...carried.map((c) => c.name), ...caps], at);
    const [c] = cx.regions.inline(condR, [...next, ...caps], at);
    return { names: [boolScalar(at, c!, condR.outputs[0]!.value.type), ...next], types: [BOOL_SCALAR, ...carried] };
  });
  cx.e.at(cx.node, cx.outs[0] ?? base);
  cx.e.opN('Loop', [m, first, ...init], { body: attr.graph(body) }, cx.outs);
  learnResults(cx);
};

const scanRule: ExportRule = (cx) => {
  const [bodyR] = cx.node.regions as [Graph];
  const nc = cx.a.int('num_carries'), nx = cx.a.int('num_xs');
  const reverse = cx.a.bool('reverse');
  const operands = cx.ins.slice(0, nc + nx), caps = cx.ins.slice(nc + nx);
  const base = `${cx.node.op}_${cx.node.id}`;
  const ins = bodyR.inputs.slice(0, nc + nx).map((v, i) => ({ name: cx.regions.fresh(`${base}_${i < nc ? `v${i}` : `x${i - nc}`}`), dtype: v.dtype, shape: v.shape }));
  const body = cx.regions.subgraph(`${base}_body`, ins, (at) => ({ names: cx.regions.inline(bodyR, [...ins.map((i) => i.name), ...caps], at), types: types(bodyR) }));
  const ny = bodyR.outputs.length - nc;
  const attrs = {
    body: attr.graph(body),
    num_scan_inputs: attr.int(nx),
    ...(reverse ? { scan_input_directions: attr.ints(new Array<number>(nx).fill(1)) } : {}),
    ...(reverse && ny > 0 ? { scan_output_directions: attr.ints(new Array<number>(ny).fill(1)) } : {}),
  };
  const len = cx.inType(nc).shape[0]!;
  if (isStatic(len) && len > 0 || !emptyScanGuard(cx, len, nc, operands, attrs, base)) cx.e.opN('Scan', operands, attrs, cx.outs);
  learnResults(cx);
};

/**
 * A scan whose length may be 0 (symbolic, or 0): If(length = 0) { the initial carries, empty ys }
 * else { Scan } — ONNX Runtime's Scan fails on 0 steps ("Invalid dim0_offset of 0"), where graphc
 * gives the initial carries and empty ys. False (nothing emitted that is used) where a dim of
 * the empty ys cannot be computed here (a dim only the body knows): then a plain Scan.
 */
function emptyScanGuard(cx: RuleCtx, len: Dim, nc: number, operands: readonly string[], attrs: OnnxAttrs, base: string): boolean {
  const outTypes = cx.node.outputs.map((v) => v.type);
  try {
    const empty = cx.regions.subgraph(`${base}_empty`, [], (at) => ({
      names: [...operands.slice(0, nc), ...outTypes.slice(nc).map((t) => at.e.op('ConstantOfShape', [at.dims.shape([0, ...t.shape.slice(1)])], { value: attr.tensor(valueAttr(0, t.dtype)) }))],
      types: outTypes,
    }));
    const steps = cx.regions.subgraph(`${base}_steps`, [], (at) => {
      const outs = cx.outs.map((o) => cx.regions.fresh(`${o}_steps`));
      at.e.opN('Scan', operands, attrs, outs);
      return { names: outs, types: outTypes };
    });
    const isEmpty = boolScalar(cx.regions.scope, cx.e.op('Equal', [cx.dims.dim1(len), cx.e.i64([0])]), { dtype: 'bool', shape: [1] });
    cx.e.opN('If', [isEmpty], { then_branch: attr.graph(empty), else_branch: attr.graph(steps) }, cx.outs);
    return true;
  } catch (err) {
    if (err instanceof RuleFailure) return false;
    throw err;
  }
}

export const EXPORT_CONTROL_FLOW_RULES = {
  cond: condRule,
  while_loop: whileRule,
  scan: scanRule,
};
