/**
 * Structured control flow: the type rules of `cond`, `while_loop` and `scan` (ir/ops.ts holds
 * their definitions and calls these) and the dims they introduce.
 *
 * A control-flow node carries `regions` (Node.regions): each region is a Graph of its own,
 * isolated from above. Its `inputs` are its block arguments and its `outputs` what it yields;
 * every outer value it reads is an explicit operand of the node (a capture), passed in as a
 * block argument. Regions have no variables (StateVars): a variable read inside a region is a
 * capture of the variable's value; a variable assigned inside a region is threaded out as one
 * more result of the node (a carried value of a loop, a result of both branches of a cond) and
 * assigned by an ordinary `assign` outside. So `assign` never appears in a region (the verifier
 * refuses it), and the effect of a control-flow node is the strongest effect of the nodes of its
 * regions ('random' or 'io'; see nodeEffect in ir/regions.ts).
 *
 *   cond        operands [pred, ...captures]; regions [then, else], each with inputs typed as the
 *               captures and the same number of outputs. pred has one element (any rank, any
 *               dtype: nonzero is true). Result i: the dtype both branches give it, the shape
 *               merged (equal dims kept, dims that differ become a data-dependent dim).
 *   while_loop  operands [...loopVars, ...captures]; regions [cond, body], both with inputs
 *               [...carried, ...captures]. body yields the next loop vars (as many as it has
 *               outputs: that count splits the operands); cond yields one bool with one element.
 *               The region inputs declare the carried types: an initial value and each body
 *               output must be an instance of its carried type (equal dims, or a carried dim that
 *               is data-dependent). Results: the final loop vars, typed as carried.
 *               attr maximum_iterations (optional): at most that many body runs.
 *   scan        operands [...initCarries, ...xs, ...captures] with attrs num_carries, num_xs and
 *               reverse; region body with inputs [...carried, ...one slice of each x along axis 0,
 *               ...captures] and outputs [...next carries, ...ys]. Results: the final carries,
 *               then each y stacked along a new axis 0 (the xs' common length). reverse walks the
 *               xs from the last slice to the first and stacks ys at the index of their slice.
 */
import type { Dim, Shape, SymDim } from './dim.js';
import { dimEq, dimToString, shapeToString } from './dim.js';
import { Codes } from './errors.js';
import type { TensorType } from './graph.js';
import { fail } from './shape_util.js';

/** The signature of a region: the types of its block arguments and of what it yields. */
export interface RegionType {
  readonly inputs: readonly TensorType[];
  readonly outputs: readonly TensorType[];
}

/** The prefix of data-dependent dims: a dim no feed binds, known only when the value exists. */
export const DYN_PREFIX = '_dyn';

/** Whether `d` is a data-dependent dim (a symbol `_dyn…` that no feed binds). */
export function isDynamicDim(d: Dim): d is SymDim {
  return typeof d !== 'number' && d.sym.startsWith(DYN_PREFIX) && d.k === 1 && d.c === 0;
}

/** A data-dependent dim named `_dyn<suffix>`. */
export function dynamicDim(suffix: string | number): SymDim {
  return { sym: `${DYN_PREFIX}${String(suffix).replace(/[^A-Za-z0-9_]/g, '_')}`, k: 1, c: 0 };
}

function dimWord(d: Dim): string {
  return dimToString(d).replace(/\*/g, 'x').replace(/\+/g, 'p').replace(/-/g, 'm');
}

/**
 * Two dims merged: the dim when they are equal, else a data-dependent dim (a data-dependent
 * operand stays as it is). The name is derived from both, so inference stays deterministic.
 */
export function mergeDims(a: Dim, b: Dim): Dim {
  if (dimEq(a, b)) return a;
  if (isDynamicDim(a)) return a;
  if (isDynamicDim(b)) return b;
  return dynamicDim(`_${dimWord(a)}_${dimWord(b)}`);
}

function typeText(t: TensorType): string {
  return `${t.dtype}${shapeToString(t.shape)}`;
}

function sameType(a: TensorType, b: TensorType): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => dimEq(d, b.shape[i]!));
}

/** Whether a value of type `t` may stand where `carried` is declared (dims equal, or data-dependent in `carried`). */
export function isInstanceOf(t: TensorType, carried: TensorType): boolean {
  return t.dtype === carried.dtype && t.shape.length === carried.shape.length
    && t.shape.every((d, i) => dimEq(d, carried.shape[i]!) || isDynamicDim(carried.shape[i]!));
}

/** Whether a shape has exactly one element (a predicate). */
function isOneElement(s: Shape): boolean {
  return s.every((d) => d === 1);
}

const regionHelp = 'a region takes the captured values as block arguments, in operand order; build it with ir/regions.ts';

function checkCaptures(op: string, role: string, regionIns: readonly TensorType[], offset: number, caps: readonly TensorType[]): void {
  caps.forEach((c, i) => {
    const r = regionIns[offset + i]!;
    if (!sameType(r, c)) fail(`${op}: region '${role}' block argument ${offset + i} is ${typeText(r)}, but the captured operand is ${typeText(c)}`, regionHelp, Codes.shape);
  });
}

export function condInfer(ins: readonly TensorType[], regions: readonly RegionType[]): TensorType[] {
  const [pred, ...caps] = ins;
  if (!isOneElement(pred!.shape)) {
    fail(`cond: the predicate must have one element, got ${typeText(pred!)}`, 'reduce it first (reduce_any / reduce_all) or take one element', Codes.shape);
  }
  const [thenR, elseR] = regions as [RegionType, RegionType];
  for (const [role, r] of [['then', thenR], ['else', elseR]] as const) {
    if (r.inputs.length !== caps.length) fail(`cond: region '${role}' takes ${r.inputs.length} block arguments, the node captures ${caps.length} values`, regionHelp, Codes.attr);
    checkCaptures('cond', role, r.inputs, 0, caps);
  }
  if (thenR.outputs.length !== elseR.outputs.length) {
    fail(`cond: the branches yield different numbers of values (then ${thenR.outputs.length}, else ${elseR.outputs.length})`, 'both branches must return the same structure', Codes.attr);
  }
  return thenR.outputs.map((a, i) => {
    const b = elseR.outputs[i]!;
    if (a.dtype !== b.dtype) fail(`cond: result ${i} is ${a.dtype} in 'then' and ${b.dtype} in 'else'`, 'cast one branch\'s result', Codes.dtype);
    if (a.shape.length !== b.shape.length) fail(`cond: result ${i} has rank ${a.shape.length} in 'then' (${typeText(a)}) and ${b.shape.length} in 'else' (${typeText(b)})`, 'both branches must return values of the same rank', Codes.shape);
    return { dtype: a.dtype, shape: a.shape.map((d, k) => mergeDims(d, b.shape[k]!)) };
  });
}

/** Checks carried values: operand i and body output i are instances of region input i. */
function checkCarried(op: string, carried: readonly TensorType[], inits: readonly TensorType[], next: readonly TensorType[], what: string): void {
  carried.forEach((c, i) => {
    const init = inits[i]!, out = next[i]!;
    if (!isInstanceOf(init, c)) fail(`${op}: initial ${what} ${i} is ${typeText(init)}, but the body takes it as ${typeText(c)}`, 'the body\'s block argument must have its dtype and rank, with equal dims or data-dependent ones', Codes.shape);
    if (!isInstanceOf(out, c)) fail(`${op}: the body yields ${what} ${i} as ${typeText(out)}, but takes it as ${typeText(c)}`, 'declare the dims that change from step to step data-dependent (dynamicDim) in the body\'s block argument', Codes.shape);
  });
}

export function whileInfer(ins: readonly TensorType[], regions: readonly RegionType[], maxIterations: number | undefined): TensorType[] {
  const [condR, body] = regions as [RegionType, RegionType];
  const n = body.outputs.length;
  if (n < 1 || n > ins.length) fail(`while_loop: the body yields ${n} loop values, the node has ${ins.length} operands`, 'operands are the initial loop values, then the captures', Codes.attr);
  if (body.inputs.length !== ins.length) fail(`while_loop: region 'body' takes ${body.inputs.length} block arguments, the node has ${ins.length} operands`, regionHelp, Codes.attr);
  if (condR.inputs.length !== ins.length) fail(`while_loop: region 'cond' takes ${condR.inputs.length} block arguments, the node has ${ins.length} operands`, regionHelp, Codes.attr);
  condR.inputs.forEach((t, i) => {
    if (!sameType(t, body.inputs[i]!)) fail(`while_loop: block argument ${i} is ${typeText(t)} in 'cond' and ${typeText(body.inputs[i]!)} in 'body'`, 'both regions take the same arguments', Codes.shape);
  });
  const carried = body.inputs.slice(0, n);
  checkCarried('while_loop', carried, ins, body.outputs, 'loop value');
  checkCaptures('while_loop', 'body', body.inputs, n, ins.slice(n));
  if (condR.outputs.length !== 1 || condR.outputs[0]!.dtype !== 'bool' || !isOneElement(condR.outputs[0]!.shape)) {
    fail(`while_loop: region 'cond' must yield one bool with one element, got (${condR.outputs.map(typeText).join(', ')})`, 'compare, then reduce_all / reduce_any to one element', Codes.dtype);
  }
  if (maxIterations !== undefined && !(Number.isSafeInteger(maxIterations) && maxIterations >= 0)) {
    fail(`while_loop: maximum_iterations must be an integer ≥ 0, got ${maxIterations}`, undefined, Codes.attr);
  }
  return [...carried];
}

export function scanInfer(ins: readonly TensorType[], regions: readonly RegionType[], numCarries: number, numXs: number): TensorType[] {
  const [body] = regions as [RegionType];
  if (!Number.isSafeInteger(numCarries) || !Number.isSafeInteger(numXs) || numCarries < 0 || numXs < 1 || numCarries + numXs > ins.length) {
    fail(`scan: num_carries ${numCarries} and num_xs ${numXs} do not fit ${ins.length} operands`, 'operands are the initial carries, the scanned xs (at least one), then the captures', Codes.attr);
  }
  if (body.inputs.length !== ins.length) fail(`scan: region 'body' takes ${body.inputs.length} block arguments, the node has ${ins.length} operands`, regionHelp, Codes.attr);
  if (body.outputs.length < numCarries) fail(`scan: the body yields ${body.outputs.length} values, fewer than its ${numCarries} carries`, undefined, Codes.attr);
  const carried = body.inputs.slice(0, numCarries);
  checkCarried('scan', carried, ins, body.outputs, 'carry');
  const xs = ins.slice(numCarries, numCarries + numXs);
  let length: Dim | undefined;
  xs.forEach((x, j) => {
    if (x.shape.length < 1) fail(`scan: scanned operand ${j} is a scalar (${typeText(x)})`, 'xs are scanned along axis 0', Codes.shape);
    const len = x.shape[0]!;
    if (length === undefined) length = len;
    else if (!dimEq(length, len)) fail(`scan: the scanned operands differ in length (${dimToString(length)} vs ${dimToString(len)})`, 'every x is scanned along axis 0 in step', Codes.shape);
    const slice: TensorType = { dtype: x.dtype, shape: x.shape.slice(1) };
    const arg = body.inputs[numCarries + j]!;
    if (!sameType(arg, slice)) fail(`scan: the body takes slice ${j} as ${typeText(arg)}, but a slice of ${typeText(x)} is ${typeText(slice)}`, regionHelp, Codes.shape);
  });
  checkCaptures('scan', 'body', body.inputs, numCarries + numXs, ins.slice(numCarries + numXs));
  const ys = body.outputs.slice(numCarries).map((y) => ({ dtype: y.dtype, shape: [length!, ...y.shape] }));
  return [...carried, ...ys];
}
