/**
 * Import rules: control flow, resolved at import time. An If with a constant condition is
 * its chosen branch, inline; a Loop with a constant trip count (and a condition that stays
 * constant) and a Scan over a static length are unrolled. Conditions and trip counts
 * computed at run time fail with NeedsConstant (graphc graphs have no control flow).
 */
import { isStatic, shapeToString } from '../../../../ir/dim.js';
import type { Value } from '../../../../ir/graph.js';
import { elementAt, tensorData } from '../../../../ir/tensor_data.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { ruleFail as fail } from '../errors.js';
import type { MadeBy } from '../made_by.js';

/**
 * Iterations of one loop unrolled at most. Every unrolled body also counts against the
 * import's node budget (ImportBudget.nodes), which bounds nested loops: 4096 × 4096
 * iterations of an empty body, or 30 nested loops of 2, stop with GC0520.
 */
const UNROLL_LIMIT = 4096;

function constBool(c: NodeCtx, v: Value, what: string): boolean {
  const t = c.b.constOf(v);
  if (!t) fail(`${what} is computed at run time; graphc unrolls loops with conditions known at import time`);
  return elementAt(t, 0) !== 0;
}

/** Slice i of `axis`, the axis dropped. */
function take(c: NodeCtx, x: Value, axis: number, i: number): Value {
  const begin = x.shape.map((_, k) => (k === axis ? i : 0));
  const size = x.shape.map((d, k) => (k === axis ? 1 : d));
  return c.b.squeeze(c.b.op('slice', [x], { begin, size }), [axis]);
}

const ifRule: ImportRule = (c) => {
  const cond = c.constRequired(0, 'cond');
  return c.subgraph(elementAt(cond, 0) !== 0 ? 'then_branch' : 'else_branch', []);
};

const loop: ImportRule = (c) => {
  const maxTrips = c.has(0) ? Number(c.ints(0, 'M')[0]) : Infinity;
  let cond = c.has(1) ? elementAt(c.constRequired(1, 'cond'), 0) !== 0 : true;
  const carried = c.inputs().slice((c.has(0) ? 1 : 0) + (c.has(1) ? 1 : 0));
  const nCarried = c.numInputs - 2;
  if (carried.length !== nCarried) fail('omitted loop-carried operands are not supported');
  let state = carried;
  const scans: Value[][] = [];
  let i = 0;
  for (; i < maxTrips && cond; i++) {
    if (i >= UNROLL_LIMIT) fail(`the loop runs more than ${UNROLL_LIMIT} iterations`);
    const outs = c.subgraph('body', [c.b.scalar(i, 'int64'), c.b.constant(tensorData('bool', [], [1])), ...state]);
    cond = constBool(c, outs[0]!, 'the loop condition');
    state = outs.slice(1, 1 + nCarried);
    outs.slice(1 + nCarried).forEach((v, k) => { (scans[k] ??= []).push(v); });
  }
  if (maxTrips === Infinity && cond) fail('the loop has neither a trip count nor a condition that ends it');
  const nScan = c.numOutputs - nCarried;
  const scanOut = Array.from({ length: nScan }, (_, k) => {
    const vs = scans[k] ?? [];
    if (vs.length === 0) fail('a scan output of a loop that runs no iteration has no known shape');
    return c.b.op('pack', vs, { axis: 0 });
  });
  return [...state, ...scanOut];
};

/** Scan (opset 9+): states carried over slices of the scan inputs along their axes. */
function scan9(c: NodeCtx, states: Value[], xs: Value[]): Value[] {
  const inAxes = c.attr.ints('scan_input_axes', xs.map(() => 0)).map((a, k) => c.axis(a, xs[k]!.shape.length));
  const inDirs = c.attr.ints('scan_input_directions', xs.map(() => 0));
  const lengths = xs.map((x, k) => x.shape[inAxes[k]!]!);
  const len = lengths[0]!;
  if (!isStatic(len) || lengths.some((l) => l !== len)) fail(`scan lengths must be static and equal, got ${lengths.map((l) => shapeToString([l])).join(', ')}`);
  if (len > UNROLL_LIMIT) fail(`the scan runs more than ${UNROLL_LIMIT} iterations`);
  let st = states;
  const outs: Value[][] = [];
  for (let t = 0; t < len; t++) {
    const slices = xs.map((x, k) => take(c, x, inAxes[k]!, inDirs[k] ? len - 1 - t : t));
    const r = c.subgraph('body', [...st, ...slices]);
    st = r.slice(0, states.length);
    r.slice(states.length).forEach((v, k) => { (outs[k] ??= []).push(v); });
  }
  const nOut = c.numOutputs - states.length;
  const outDirs = c.attr.ints('scan_output_directions', new Array<number>(nOut).fill(0));
  const outAxes = c.attr.ints('scan_output_axes', new Array<number>(nOut).fill(0));
  const stacked = Array.from({ length: nOut }, (_, k) => {
    const vs = outs[k] ?? fail('a scan of length 0');
    const ordered = outDirs[k] ? [...vs].reverse() : vs;
    const r = vs[0]!.shape.length + 1;
    return c.b.op('pack', ordered, { axis: c.axis(outAxes[k]!, r) });
  });
  return [...st, ...stacked];
}

const scanRule: ImportRule = (c) => {
  const numScan = c.attr.int('num_scan_inputs') ?? fail('num_scan_inputs is missing');
  const operands = c.opset >= 9 ? c.numInputs : c.numInputs - 1;
  if (numScan < 1 || numScan > operands) fail(`num_scan_inputs is ${numScan}; it must be between 1 and the ${operands} operands`);
  if (c.opset >= 9) {
    const ins = c.inputs();
    return scan9(c, ins.slice(0, ins.length - numScan), ins.slice(ins.length - numScan));
  }
  // Opset 8: operand 0 is sequence_lens; every operand has a leading batch axis, scanned along axis 1.
  if (c.has(0)) fail('sequence_lens is not supported');
  const ins = Array.from({ length: c.numInputs - 1 }, (_, k) => c.input(k + 1));
  const states = ins.slice(0, ins.length - numScan), xs = ins.slice(ins.length - numScan);
  const batch = xs[0]!.shape[0]!;
  if (!isStatic(batch)) fail('the batch dim must be static');
  if (batch > UNROLL_LIMIT) fail(`the scan runs over a batch of ${batch}, more than ${UNROLL_LIMIT}`);
  if (c.attr.ints('directions', []).some((d) => d !== 0)) fail('reverse directions are not supported at opset 8');
  const perBatch: Value[][] = [];
  for (let b = 0; b < batch; b++) {
    const r = scan9Opset8(c, states.map((s) => take(c, s, 0, b)), xs.map((x) => take(c, x, 0, b)));
    r.forEach((v, k) => { (perBatch[k] ??= []).push(v); });
  }
  return perBatch.map((vs) => c.b.op('pack', vs, { axis: 0 }));
};

/** One batch entry of an opset-8 Scan: scan axis 0, forward. */
function scan9Opset8(c: NodeCtx, states: Value[], xs: Value[]): Value[] {
  const len = xs[0]!.shape[0]!;
  if (!isStatic(len)) fail('the scan length must be static');
  if (len > UNROLL_LIMIT) fail(`the scan runs more than ${UNROLL_LIMIT} iterations`);
  let st = states;
  const outs: Value[][] = [];
  for (let t = 0; t < len; t++) {
    const r = c.subgraph('body', [...st, ...xs.map((x) => take(c, x, 0, t))]);
    st = r.slice(0, states.length);
    r.slice(states.length).forEach((v, k) => { (outs[k] ??= []).push(v); });
  }
  return [...st, ...outs.map((vs) => c.b.op('pack', vs, { axis: 0 }))];
}

export const IMPORT_CONTROL_RULES = {
  If: ifRule,
  Loop: loop,
  Scan: scanRule,
} satisfies RuleTable;

/** The IR ops these rules make, each with its rules (the ops many rules make are in NOT_LISTED, ../rules.ts). */
export const IMPORT_CONTROL_MAKES = {
  pack: ['Loop', 'Scan'],
} satisfies MadeBy<typeof IMPORT_CONTROL_RULES>;
