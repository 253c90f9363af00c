/**
 * Import rules: control flow. ONNX If, Loop and Scan become graphc's structured control flow
 * (ir/control_flow.ts): cond, while_loop and scan nodes whose regions are the imported
 * subgraphs. A subgraph reads the graphs around it by name; each value it reads becomes a
 * capture of the node (a block argument of its regions). An If whose condition is known at
 * import is its chosen branch, inline (so what follows stays constant where it was).
 *
 *   If    cond(pred, ...captures) { then, else }
 *   Loop  while_loop over [i: int64, cond: bool, ...v, ...stacked scan outputs]: region 'cond'
 *         is cond && i < M (cond alone without M); the body runs the ONNX body on (i, cond, v),
 *         then i + 1, and appends each scan output to its stack (a loop value whose length
 *         grows: a data-dependent dim), which starts empty.
 *   Scan  (opset 9+) scan(...states, ...scan inputs, ...captures) along axis 0, forward or
 *         reverse (every scan_input_direction and scan_output_direction 1); other axes, and
 *         mixed directions, are refused naming the attribute. Opset 8's Scan (a batch axis
 *         first) is unrolled over a static batch and length, as before.
 *
 * A body that needs, at import time, a value that changes from one iteration to the next (a
 * Slice at the iteration number) is unrolled instead, as before, where the trip count is known.
 *
 * Work known at import counts against the import's node budget as if unrolled: a Loop whose
 * trip count is known (M constant, the condition passed on unchanged) charges M times
 * its body (nested loops multiply), a Scan over a static length its length times its body.
 *
 * A loop value whose shape changes from one iteration to the next (a Loop or Scan state that
 * grows) gets a data-dependent dim where its dims differ: the body is imported once with the
 * initial types, and again with the dims that changed made data-dependent.
 */
import type { Dim } from '../../../../ir/dim.js';
import { dimEq, isStatic, shapeToString } from '../../../../ir/dim.js';
import type { Graph, TensorType, Value } from '../../../../ir/graph.js';
import { isDynamicDim } from '../../../../ir/control_flow.js';
import { elementAt, tensorData } from '../../../../ir/tensor_data.js';
import type { Builder } from '../builder.js';
import type { ImportRule, NodeCtx, RuleTable } from '../node_ctx.js';
import { OnnxImportError, ruleFail as fail } from '../errors.js';
import type { MadeBy } from '../made_by.js';

/**
 * Iterations of an opset-8 Scan unrolled at most. Every unrolled body also counts against the
 * import's node budget (ImportBudget.nodes).
 */
const UNROLL_LIMIT = 4096;

/** Slice i of `axis`, the axis dropped. */
function take(c: NodeCtx, x: Value, axis: number, i: number): Value {
  const begin = x.shape.map((_, k) => (k === axis ? i : 0));
  const size = x.shape.map((d, k) => (k === axis ? 1 : d));
  return c.b.squeeze(c.b.op('slice', [x], { begin, size }), [axis]);
}

const typeText = (t: TensorType) => `${t.dtype}${shapeToString(t.shape)}`;
const BOOL: TensorType = { dtype: 'bool', shape: [] };
const I64: TensorType = { dtype: 'int64', shape: [] };

/** A one-element value as a rank-0 value of `dtype` (If's and Loop's conditions, Loop's M). */
function scalarOf(b: Builder, v: Value, dtype: 'bool' | 'int64', what: string): Value {
  if (!v.shape.every((d) => d === 1)) fail(`${what} must have one element, got ${typeText(v.type)}`);
  return b.cast(v.shape.length === 0 ? v : b.reshape(v, []), dtype);
}

/**
 * The carried types a loop body needs: `carried` where each `next` (what the body yields for it)
 * is an instance, else undefined when they are; the dims that differ become data-dependent.
 */
function widen(c: NodeCtx, carried: readonly TensorType[], next: readonly TensorType[], what: string): TensorType[] | undefined {
  let changed = false;
  const out = carried.map((t, k) => {
    const n = next[k]!;
    if (n.dtype !== t.dtype || n.shape.length !== t.shape.length) fail(`${what} ${k} is ${typeText(t)} before an iteration and ${typeText(n)} after it`, 'a loop-carried value keeps its element type and rank');
    const shape: Dim[] = t.shape.map((d, j) => {
      if (dimEq(d, n.shape[j]!) || isDynamicDim(d)) return d;
      changed = true;
      return c.regions.dynamicDim();
    });
    return { dtype: t.dtype, shape };
  });
  return changed ? out : undefined;
}

/** Builds a loop body with carried types widened until what it yields fits them (at most twice more). */
function fitCarried<R extends { next: TensorType[] }>(c: NodeCtx, init: readonly TensorType[], build: (carried: TensorType[]) => R, what: string): { r: R; carried: TensorType[] } {
  let carried = [...init];
  for (let attempt = 0; ; attempt++) {
    const r = build(carried);
    const w = widen(c, carried, r.next, what);
    if (w === undefined) return { r, carried };
    if (attempt === 2) fail(`the shape of ${what}s keeps changing from iteration to iteration`);
    carried = w;
  }
}

const ifRule: ImportRule = (c) => {
  const known = c.constInput(0);
  if (known !== undefined) return c.subgraph(elementAt(known, 0) !== 0 ? 'then_branch' : 'else_branch', []);
  const pred = scalarOf(c.b, c.input(0, 'cond'), 'bool', 'the condition');
  const thenG = c.graphAttr('then_branch'), elseG = c.graphAttr('else_branch');
  const nOut = c.numOutputs;
  for (const [role, g] of [['then_branch', thenG], ['else_branch', elseG]] as const) {
    if ((g.output?.length ?? 0) !== nOut) fail(`'${role}' yields ${g.output?.length ?? 0} values; If has ${nOut} outputs`);
  }
  const caps = c.regions.captures([thenG, elseG]);
  const branch = (g: typeof thenG, role: string): Graph => c.regions.region(role, [], caps.values, (_b, args) => c.regions.body(g, [], caps.names, args));
  const regions = [branch(thenG, 'then'), branch(elseG, 'else')];
  c.regions.addWork(Math.max(c.regions.workOf(regions[0]!), c.regions.workOf(regions[1]!)));
  c.b.meter.charge('nodes', 1, 'a cond node');
  return c.b.g.addNode('cond', [pred, ...caps.values], {}, c.b.loc, undefined, regions).outputs;
};

const loopRegion: ImportRule = (c) => {
  const body = c.graphAttr('body');
  const n = c.numInputs - 2;
  if (n < 0) fail('Loop takes M, cond and the loop-carried values');
  if ((body.input?.length ?? 0) !== n + 2) fail(`the body takes ${body.input?.length ?? 0} inputs; with ${n} loop-carried values it must take ${n + 2} (iteration number, condition, the values)`);
  const k = (body.output?.length ?? 0) - 1 - n;
  if (k < 0 || c.numOutputs !== n + k) fail(`the body yields ${body.output?.length ?? 0} values; with ${n} loop-carried values and ${c.numOutputs} outputs it must yield ${1 + c.numOutputs}`);
  const init = Array.from({ length: n }, (_, j) => c.input(2 + j, `loop-carried value ${j}`));
  const m = c.has(0) ? scalarOf(c.b, c.input(0, 'M'), 'int64', 'the trip count M') : undefined;
  const cond0 = c.has(1) ? scalarOf(c.b, c.input(1, 'cond'), 'bool', 'the condition') : c.b.constant(tensorData('bool', [], [1]));
  const caps = c.regions.captures([body]);
  const capValues = m ? [...caps.values, m] : caps.values;

  const build = (carried: TensorType[], stacks: TensorType[] | undefined) => {
    const args = [I64, BOOL, ...carried, ...(stacks ?? [])];
    let next: TensorType[] = [], ys: TensorType[] = [];
    let keepsGoing = false;
    const region = c.regions.region('body', args, capValues, (b, a) => {
      const [i, cnd] = a as [Value, Value];
      const outs = c.regions.body(body, [i, cnd, ...a.slice(2, 2 + n)], caps.names, a.slice(args.length, args.length + caps.values.length));
      const cOut = scalarOf(b, outs[0]!, 'bool', 'the condition the body yields');
      const k = b.constOf(cOut);
      keepsGoing = cOut === cnd || (k !== undefined && elementAt(k, 0) !== 0);
      const vs = outs.slice(1, 1 + n), y = outs.slice(1 + n);
      next = vs.map((v) => v.type);
      ys = y.map((v) => v.type);
      const grown = stacks ? y.map((v, j) => b.op('concat', [a[2 + n + j]!, b.unsqueeze(v, [0])], { axis: 0 })) : [];
      return [b.op('add', [i, b.constant(tensorData('int64', [], [1]))]), cOut, ...vs, ...grown];
    });
    return { region, next, ys, keepsGoing };
  };
  const { r: first, carried } = fitCarried(c, init.map((v) => v.type), (t) => build(t, undefined), 'loop-carried value');
  let stacks: TensorType[] = [];
  let bodyR = first.region;
  // A body that passes the condition on unchanged cannot stop the loop: it runs M bodies (or none).
  const mk = m && c.b.constOf(m);
  const trips = mk && first.keepsGoing ? Math.max(0, elementAt(mk, 0)) : undefined;
  if (k > 0) {
    stacks = first.ys.map((t, j) => {
      if (!t.shape.every((d) => !isDynamicDim(d))) fail(`scan output ${j} of the body is ${typeText(t)}, whose shape changes from iteration to iteration`, 'ONNX stacks scan outputs of one shape');
      return { dtype: t.dtype, shape: [c.regions.dynamicDim(), ...t.shape] };
    });
    bodyR = build(carried, stacks).region;
  }
  const args = [I64, BOOL, ...carried, ...stacks];
  const condR = c.regions.region('cond', args, capValues, (b, a) => {
    const cnd = a[1]!;
    return [m ? b.op('logical_and', [cnd, b.op('less', [a[0]!, a[a.length - 1]!])]) : cnd];
  });
  const empty = stacks.map((t) => c.b.op('fill', [], { shape: [0, ...t.shape.slice(1)], value: 0, dtype: t.dtype }));
  const work = c.regions.workOf(bodyR) + c.regions.workOf(condR);
  if (trips !== undefined) c.b.meter.charge('nodes', trips * work, `a Loop of up to ${trips} iterations (known at import) over a body of ${work} nodes`);
  c.regions.addWork((trips ?? 1) * work);
  c.b.meter.charge('nodes', 1, 'a while_loop node');
  const outs = c.b.g.addNode('while_loop', [c.b.constant(tensorData('int64', [], [0])), cond0, ...init, ...empty, ...capValues], {}, c.b.loc, undefined, [condR, bodyR]).outputs;
  return outs.slice(2);
};

/** Loop unrolled (its trip count and condition known at import): for a body that needs a value of each iteration at import time. */
const unrollLoop: ImportRule = (c) => {
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
/**
 * Loop as a while_loop; a body that needs, at import time, a value that changes from one
 * iteration to the next (a Slice at the iteration number: graphc's slice bounds are static) is
 * unrolled instead when the trip count and condition are known here (else that error stands,
 * naming what to make constant).
 */
const loop: ImportRule = (c) => {
  try {
    return loopRegion(c);
  } catch (e) {
    if (e instanceof OnnxImportError && e.needsConstant !== undefined) return unrollLoop(c);
    throw e;
  }
};

function constBool(c: NodeCtx, v: Value, what: string): boolean {
  const t = c.b.constOf(v);
  if (!t) fail(`${what} is computed at run time; graphc unrolls loops with conditions known at import time`);
  return elementAt(t, 0) !== 0;
}

/** Scan unrolled over a static length: for a body that needs a value of each iteration at import time. */
function unrollScan9(c: NodeCtx, states: Value[], xs: Value[]): Value[] {
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

/** Every entry of ints attribute `name` (default all `dflt`) equal to one value; fails naming the attribute. */
function uniform(c: NodeCtx, name: string, count: number, dflt: number, allowed: readonly number[], why: string): number {
  const vs = c.attr.ints(name, new Array<number>(count).fill(dflt));
  if (vs.length !== count) fail(`${name} has ${vs.length} entries, for ${count} values`);
  const v = vs[0] ?? dflt;
  if (vs.some((x) => x !== v) || !allowed.includes(v)) fail(`${name} [${vs.join(', ')}] is not supported: ${why}`);
  return v;
}

/** Scan (opset 9+): a scan node over axis 0, forward or reverse. */
function scan9(c: NodeCtx, states: Value[], xs: Value[]): Value[] {
  const axes = c.attr.ints('scan_input_axes', xs.map(() => 0)).map((a, j) => c.axis(a, xs[j]!.shape.length, 'scan_input_axes entry'));
  if (axes.some((a) => a !== 0)) fail(`scan_input_axes [${axes.join(', ')}] is not supported: graphc scans along axis 0`, 'transpose the scanned inputs so that the scanned axis comes first');
  const dir = uniform(c, 'scan_input_directions', xs.length, 0, [0, 1], 'every scan input must go the same way');
  const nOut = c.numOutputs - states.length;
  if (nOut < 0) fail(`Scan has ${c.numOutputs} outputs, fewer than its ${states.length} states`);
  const outAxes = c.attr.ints('scan_output_axes', new Array<number>(nOut).fill(0));
  if (outAxes.some((a) => a !== 0)) fail(`scan_output_axes [${outAxes.join(', ')}] is not supported: graphc stacks scan outputs along axis 0`);
  uniform(c, 'scan_output_directions', nOut, 0, [dir], `graphc stacks each scan output ${dir ? 'in reverse (direction 1), as the inputs are read' : 'forward (direction 0), as the inputs are read'}`);
  const len = xs[0]!.shape[0]!;
  if (xs.some((x) => !dimEq(x.shape[0]!, len))) fail(`the scan inputs differ in length (${xs.map((x) => shapeToString([x.shape[0]!])).join(', ')})`);
  const body = c.graphAttr('body');
  if ((body.input?.length ?? 0) !== states.length + xs.length) fail(`the body takes ${body.input?.length ?? 0} inputs; Scan has ${states.length} states and ${xs.length} scan inputs`);
  if ((body.output?.length ?? 0) !== c.numOutputs) fail(`the body yields ${body.output?.length ?? 0} values; Scan has ${c.numOutputs} outputs`);
  const caps = c.regions.captures([body]);
  const slices: TensorType[] = xs.map((x) => ({ dtype: x.dtype, shape: x.shape.slice(1) }));
  const { r } = fitCarried(c, states.map((v) => v.type), (carried) => {
    const args = [...carried, ...slices];
    let next: TensorType[] = [];
    const region = c.regions.region('body', args, caps.values, (_b, a) => {
      const outs = c.regions.body(body, a.slice(0, args.length), caps.names, a.slice(args.length));
      next = outs.slice(0, states.length).map((v) => v.type);
      return outs;
    });
    return { region, next };
  }, 'scan state');
  const work = c.regions.workOf(r.region), steps = isStatic(len) ? len : 1;
  if (isStatic(len)) c.b.meter.charge('nodes', len * work, `a Scan of ${len} steps over a body of ${work} nodes`);
  c.regions.addWork(steps * work);
  c.b.meter.charge('nodes', 1, 'a scan node');
  return c.b.g.addNode('scan', [...states, ...xs, ...caps.values], { num_carries: states.length, num_xs: xs.length, reverse: dir === 1 }, c.b.loc, undefined, [r.region]).outputs;
}

const scanRule: ImportRule = (c) => {
  const numScan = c.attr.int('num_scan_inputs') ?? fail('num_scan_inputs is missing');
  const operands = c.opset >= 9 ? c.numInputs : c.numInputs - 1;
  if (numScan < 1 || numScan > operands) fail(`num_scan_inputs is ${numScan}; it must be between 1 and the ${operands} operands`);
  if (c.opset >= 9) {
    const ins = c.inputs();
    const states = ins.slice(0, ins.length - numScan), xs = ins.slice(ins.length - numScan);
    try {
      return scan9(c, states, xs);
    } catch (e) {
      if (e instanceof OnnxImportError && e.needsConstant !== undefined) return unrollScan9(c, states, xs);
      throw e;
    }
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
  cond: ['If'],
  while_loop: ['Loop'],
  scan: ['Scan'],
  pack: ['Loop', 'Scan'],
  // Loop's stacked scan outputs (concat, starting from an empty fill) and its trip count.
  concat: ['Loop'],
  fill: ['Loop'],
  logical_and: ['Loop'],
} satisfies MadeBy<typeof IMPORT_CONTROL_RULES>;
