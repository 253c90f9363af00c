/**
 * gc.cond, gc.whileLoop and gc.scan: control flow on tensor data.
 *
 * Eagerly (no trace running) they are plain JavaScript control flow: cond reads the predicate's
 * value and calls one branch, whileLoop loops, scan slices xs along axis 0, calls fn on each slice
 * and stacks what it returns (each step in a tf.tidy: nothing is left behind but the results).
 *
 * Inside a compiled function (gc.compile / gc.trace) each branch, condition and body is traced
 * into a region graph of one `cond` / `while_loop` / `scan` node (ir/regions.ts). The region's
 * block arguments are fresh trace tensors; a value of the enclosing trace that the function
 * closes over becomes a capture (an operand of the node, a block argument of the region: see
 * RegionFrame in trace/backend.ts). The results are trace tensors of the enclosing graph.
 *
 * Variables: a read inside a region is a capture of the variable's value; a variable a cond
 * branch assigns becomes one more result of the cond, a variable a loop or scan body assigns one
 * more carried value (the body is traced again with it carried), assigned after the node.
 *
 * Gradients: under a tape (tf.grad, tf.variableGrads, optimizer.minimize inside the traced
 * function) the node is one tfjs op with a gradient function, as tfjs's tape needs: the
 * gradient of a cond is a cond of the branches' gradients, the gradient of a scan a reverse scan
 * over the carries the forward scan kept (one more stacked result, dropped when unused). Loops
 * have no gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Codes, GcError } from '../ir/errors.js';
import type { SourceLoc } from '../ir/errors.js';
import { Graph } from '../ir/graph.js';
import type { TensorType, Value } from '../ir/graph.js';
import { setRegionOutputs } from '../ir/regions.js';
import type { DType } from '../ir/dtype.js';
import { activeRecorder, isTraceTensor, TRACE_BACKEND } from './trace/backend.js';
import type { Recorder, RegionFrame, TraceBackend } from './trace/backend.js';
import { userLocation } from './trace/source_loc.js';
import { tfDtype } from '../runtime/tensor_data.js';

type DataId = object;

// ---- structures of results ---------------------------------------------------------------------

/** How a function's result is laid out: one tensor, an array of them, or a record of them. */
type Layout = { kind: 'single' } | { kind: 'array'; length: number } | { kind: 'record'; keys: string[] };

function flatten(r: unknown, what: string, loc: SourceLoc | undefined): { layout: Layout; tensors: tf.Tensor[] } {
  const bad = (x: unknown): never => {
    throw new GcError({ code: Codes.traceUnsupported, message: `${what} returned ${x === null ? 'null' : typeof x}, not a tensor`, loc,
      help: 'return a tensor, an array of tensors or an object of tensors' });
  };
  if (r instanceof tf.Tensor) return { layout: { kind: 'single' }, tensors: [r] };
  if (Array.isArray(r)) {
    for (const t of r) if (!(t instanceof tf.Tensor)) bad(t);
    return { layout: { kind: 'array', length: r.length }, tensors: r as tf.Tensor[] };
  }
  if (typeof r === 'object' && r !== null) {
    const keys = Object.keys(r);
    const ts = keys.map((k) => (r as Record<string, unknown>)[k]);
    for (const t of ts) if (!(t instanceof tf.Tensor)) bad(t);
    return { layout: { kind: 'record', keys }, tensors: ts as tf.Tensor[] };
  }
  return bad(r);
}

function rebuild(layout: Layout, ts: tf.Tensor[]): unknown {
  if (layout.kind === 'single') return ts[0];
  if (layout.kind === 'array') return ts;
  return Object.fromEntries(layout.keys.map((k, i) => [k, ts[i]]));
}

function layoutText(l: Layout): string {
  return l.kind === 'single' ? 'a tensor' : l.kind === 'array' ? `an array of ${l.length} tensors` : `an object with keys {${l.keys.join(', ')}}`;
}

function sameLayout(a: Layout, b: Layout): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'array') return a.length === (b as typeof a).length;
  if (a.kind === 'record') return a.keys.join('\0') === (b as typeof a).keys.join('\0');
  return true;
}

const shapeText = (s: readonly number[]) => `[${s.join(',')}]`;

function checkPredicate(pred: unknown, what: string, loc: SourceLoc | undefined): asserts pred is tf.Tensor {
  if (!(pred instanceof tf.Tensor)) {
    throw new GcError({ code: Codes.traceUnsupported, message: `${what}: the predicate is ${typeof pred}, not a tensor`, loc,
      help: 'for a condition on a JavaScript value use a plain if; gc.cond takes a one-element tensor' });
  }
  if (pred.size !== 1) {
    throw new GcError({ code: Codes.shape, message: `${what}: the predicate must have one element, got ${pred.dtype}${shapeText(pred.shape)}`, loc,
      help: 'reduce it first (tf.any / tf.all) or take one element' });
  }
}

// ---- eager ------------------------------------------------------------------------------------

function truth(t: tf.Tensor): boolean {
  return t.dataSync()[0] !== 0;
}

/** Disposes the tensors of `old` that are neither in `keep` nor the caller's. */
function disposeAllBut(old: readonly tf.Tensor[], keep: readonly tf.Tensor[], callers: readonly tf.Tensor[]): void {
  for (const t of old) if (!keep.includes(t) && !callers.includes(t) && !t.isDisposed) t.dispose();
}

// ---- tracing a region -------------------------------------------------------------------------

interface EngineState {
  kernelDepth: number;
  gradientDepth: number;
  activeTape: unknown;
  registeredVariables: Record<string, tf.Variable>;
}

interface EngineInternals {
  state: EngineState;
  runKernel: (name: string, inputs: Record<string, unknown>, attrs?: unknown) => unknown;
  runKernelFunc: (p: { forwardFunc: (backend: unknown, save: unknown) => tf.Tensor | tf.Tensor[]; backwardsFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => Record<string, () => tf.Tensor>; inputs: Record<string, tf.Tensor> }) => tf.Tensor | tf.Tensor[];
  makeTensorFromTensorInfo: (info: { dataId: DataId; shape: number[]; dtype: tf.DataType }, backend: unknown) => tf.Tensor;
  findBackend: (name: string) => unknown;
}

const engine = () => tf.engine() as unknown as EngineInternals;

interface ArgSpec {
  name: string;
  dtype: DType;
  shape: number[];
}

interface TracedRegion {
  graph: Graph;
  frame: RegionFrame;
  layout: Layout;
  /** What the region yields (its values), before any extra outputs. */
  outs: Value[];
  outTypes: { dtype: DType; shape: number[] }[];
  /** Variables the region assigned, with their new value in the region. */
  assigned: Map<tf.Variable, Value>;
  /** The values of the carried variables (VarCarry) at the end of the region. */
  carriedOuts: Value[];
}

/** Variables a loop body assigns, carried as loop values: their block arguments start at `argOffset`. */
interface VarCarry {
  vars: readonly tf.Variable[];
  argOffset: number;
}

/** Nesting depth of the runKernel hook that records the outer tensors regions read. */
let hookDepth = 0;

function installUseHook(rec: Recorder): () => void {
  const e = engine();
  const runKernel = e.runKernel;
  e.runKernel = function (this: unknown, name, inputs, attrs) {
    for (const x of Object.values(inputs)) {
      const ts = Array.isArray(x) ? x : [x];
      for (const t of ts) {
        if (!(t instanceof tf.Tensor)) continue;
        rec.frames.forEach((f, k) => { if (rec.isOuter(t, k)) f.used.add(t); });
      }
    }
    return runKernel.call(this, name, inputs, attrs);
  };
  return () => { e.runKernel = runKernel; };
}

/** Variables may not be assigned in this region (a loop body): say what to do instead. */
type AssignPolicy = 'thread' | 'refuse' | 'ignore' | 'carry';

/**
 * Traces `fn` into a region graph named `role` whose block arguments are `args` (fresh trace
 * tensors handed to `fn`). The tape of an enclosing tf.grad is paused (the node is one op for
 * it), and a region has its own gradient state (engine.gradients works inside).
 */
function traceRegion(rec: Recorder, role: string, args: readonly ArgSpec[], fn: (args: tf.Tensor[]) => unknown, what: string, loc: SourceLoc | undefined,
  assignPolicy: AssignPolicy, carry: VarCarry = { vars: [], argOffset: 0 }): TracedRegion {
  const e = engine();
  const backend = e.findBackend(TRACE_BACKEND) as TraceBackend;
  const g = new Graph(role);
  const state = e.state;
  const saved = { kernelDepth: state.kernelDepth, gradientDepth: state.gradientDepth, activeTape: state.activeTape };
  const vars = Object.values(state.registeredVariables);
  const before = new Map<tf.Variable, DataId>(vars.map((v) => [v, v.dataId]));
  if (assignPolicy === 'thread' && gradDepth > 0) assignPolicy = 'ignore';
  const frame = rec.pushFrame(g);
  const unhook = hookDepth++ === 0 ? installUseHook(rec) : undefined;
  state.kernelDepth = 0; state.gradientDepth = 0; state.activeTape = null;
  let layout: Layout = { kind: 'single' };
  let outs: Value[] = [];
  let outTypes: { dtype: DType; shape: number[] }[] = [];
  const assigned = new Map<tf.Variable, Value>();
  let carriedOuts: Value[] = [];
  try {
    tf.tidy(() => {
      const ts = args.map((a) => {
        const v = g.addInput(a.name, { dtype: a.dtype, shape: a.shape });
        const id = rec.bind(v);
        backend.adopt(id);
        return e.makeTensorFromTensorInfo({ dataId: id, shape: a.shape, dtype: tfDtype(a.dtype) }, backend);
      });
      // A carried variable reads (and is assigned over) its block argument.
      carry.vars.forEach((v, j) => { (v as unknown as { dataId: DataId }).dataId = ts[carry.argOffset + j]!.dataId; });
      const r = fn(ts);
      const flat = flatten(r, what, loc);
      carriedOuts = carry.vars.map((v) => rec.valueOf(v.dataId, `variable '${v.name}'`));
      layout = flat.layout;
      outs = flat.tensors.map((t) => rec.valueOf(t.dataId, what));
      outTypes = flat.tensors.map((t) => ({ dtype: t.dtype as DType, shape: [...t.shape] }));
      for (const v of Object.values(state.registeredVariables)) {
        const was = before.get(v);
        if (was === undefined) {
          throw new GcError({ code: Codes.traceVariable, message: `${what} creates variable '${v.name}'`, loc,
            help: 'create variables outside gc.cond / gc.whileLoop / gc.scan (and outside the compiled function)' });
        }
        if (v.dataId === was || carry.vars.includes(v)) continue;
        if (assignPolicy === 'refuse') {
          throw new GcError({ code: Codes.traceUnsupported, message: `${what} assigns variable '${v.name}'`, loc,
            help: 'a loop cannot assign a variable in its body: carry the value as a loop variable (or scan carry), return it, and assign it after the loop' });
        }
        if (assignPolicy === 'thread' || assignPolicy === 'carry') assigned.set(v, rec.valueOf(v.dataId, `assign to '${v.name}'`));
      }
    });
  } finally {
    for (const [v, id] of before) (v as unknown as { dataId: DataId }).dataId = id;
    state.kernelDepth = saved.kernelDepth; state.gradientDepth = saved.gradientDepth; state.activeTape = saved.activeTape;
    hookDepth--;
    unhook?.();
    rec.popFrame(frame);
  }
  return { graph: g, frame, layout, outs, outTypes, assigned, carriedOuts };
}

/**
 * Gives every region the same captures (the union, in first-use order) as block arguments
 * after `fixed` leading ones; returns the outer values, the node's capture operands.
 */
function unifyCaptures(regions: readonly TracedRegion[], fixed: number): Value[] {
  const all: Value[] = [];
  for (const r of regions) for (const v of r.frame.captures.keys()) if (!all.includes(v)) all.push(v);
  for (const r of regions) {
    for (const v of all) r.frame.capture(v);
    const ins = r.graph.inputs;
    const ordered = [...ins.slice(0, fixed), ...all.map((v) => r.frame.captures.get(v)!)];
    if (ordered.length !== ins.length) throw new Error('internal: region block arguments out of step');
    ordered.forEach((v, i) => { ins[i] = v; v.index = i; });
  }
  return all;
}

function tensorsFor(rec: Recorder, values: readonly Value[]): tf.Tensor[] {
  const e = engine();
  const backend = e.findBackend(TRACE_BACKEND) as TraceBackend;
  return values.map((v) => {
    const shape = v.shape.map((d) => {
      if (typeof d !== 'number') throw new Error('internal: symbolic dim during a concrete trace (control flow)');
      return d;
    });
    const id = rec.bind(v);
    backend.adopt(id);
    return e.makeTensorFromTensorInfo({ dataId: id, shape, dtype: tfDtype(v.dtype) }, backend);
  });
}

/** Whether tfjs's tape records the next op (a tf.grad inside the traced function is running). */
function tapeOn(): boolean {
  const s = engine().state;
  return s.gradientDepth > 0 && s.kernelDepth === 0;
}

/** Sets variables' data ids to `ids` while `fn` runs. */
function withVariableIds<T>(ids: ReadonlyMap<tf.Variable, DataId>, fn: () => T): T {
  const now = new Map([...ids.keys()].map((v) => [v, v.dataId]));
  for (const [v, id] of ids) (v as unknown as { dataId: DataId }).dataId = id;
  try {
    return fn();
  } finally {
    for (const [v, id] of now) (v as unknown as { dataId: DataId }).dataId = id;
  }
}

/**
 * The gradients of Σ ⟨outs_i, dys_i⟩ (outs = fn()) with respect to `xs`; zeros where there is
 * none. dys[i] null: output i has no gradient.
 */
function vjp(fn: () => tf.Tensor[], xs: readonly tf.Tensor[], dys: readonly (tf.Tensor | null)[]): tf.Tensor[] {
  if (xs.length === 0) return [];
  const { grads } = tf.engine().gradients(() => {
    const outs = fn();
    let total: tf.Tensor = tf.scalar(0);
    outs.forEach((o, i) => {
      const dy = dys[i];
      if (dy == null || o.dtype !== 'float32') return;
      total = tf.add(total, tf.sum(tf.mul(o, dy)));
    });
    return total as tf.Scalar;
  }, xs as tf.Tensor[], undefined, true);
  return xs.map((x, i) => {
    const gr = grads[i];
    return gr != null ? gr : tf.zeros(x.shape, 'float32');
  });
}

/** Runs `forward` as one op of tfjs's tape whose inputs are `inputs` and whose gradient is `backward`. */
function asTapeOp(inputs: readonly tf.Tensor[], forward: () => tf.Tensor[], backward: (dys: (tf.Tensor | null)[]) => tf.Tensor[]): tf.Tensor[] {
  const map: Record<string, tf.Tensor> = {};
  inputs.forEach((t, i) => { map[i] = t; });
  let n = 0;
  const out = engine().runKernelFunc({
    forwardFunc: () => { const r = forward(); n = r.length; return r; },
    backwardsFunc: (dy) => {
      const dys = n === 1 ? [dy as tf.Tensor] : (dy as tf.Tensor[]);
      const gs = backward(dys);
      const res: Record<string, () => tf.Tensor> = {};
      gs.forEach((gr, i) => { res[i] = () => gr; });
      return res;
    },
    inputs: map,
  });
  return Array.isArray(out) ? out : [out];
}

function usedUnion(...regions: TracedRegion[]): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  for (const r of regions) for (const t of r.frame.used) if (!out.includes(t) && !t.isDisposed) out.push(t);
  return out;
}

// ---- cond -------------------------------------------------------------------------------------

/**
 * The result of `thenFn()` when `pred` (a tensor with one element; nonzero is true) holds, else
 * of `elseFn()`. Both must return the same layout (a tensor, an array or an object of tensors)
 * with the same dtypes and shapes. Eagerly it is a plain if; inside a compiled function, a
 * `cond` node with both branches traced.
 */
export function cond<R>(pred: tf.Tensor, thenFn: () => R, elseFn: () => R): R {
  const loc = userLocation();
  checkPredicate(pred, 'gc.cond', loc);
  const rec = activeRecorder();
  if (rec === undefined || (!isTraceTensor(pred) && !(pred instanceof tf.Variable))) {
    // Eager, or a predicate known while tracing (a constant tensor): plain JavaScript.
    // In a tf.tidy: the branch's intermediates are freed, its results kept.
    const take = truth(pred) ? thenFn : elseFn;
    return tf.tidy(() => take() as tf.TensorContainer) as R;
  }
  return condTraced(rec, pred, thenFn as () => unknown, elseFn as () => unknown, loc) as R;
}

/** Records that the enclosing regions read these tensors (a nested node's operands that no tfjs op reads). */
function noteUses(rec: Recorder, ts: readonly tf.Tensor[]): void {
  for (const t of ts) rec.frames.forEach((f, k) => { if (rec.isOuter(t, k)) f.used.add(t); });
}

/** Keeps tensors a gradient function will read alive past the tf.tidy of tf.grad's forward pass. */
function keepForGradient(ts: readonly tf.Tensor[]): void {
  for (const t of ts) if (!t.isDisposed && !(t instanceof tf.Variable)) tf.keep(t);
}

function condTraced(rec: Recorder, pred: tf.Tensor, thenFn: () => unknown, elseFn: () => unknown, loc: SourceLoc | undefined): unknown {
  noteUses(rec, [pred]);
  const predV = rec.valueOf(pred.dataId, 'gc.cond');
  const varsBefore = new Map<tf.Variable, DataId>(Object.values(engine().state.registeredVariables).map((v) => [v, v.dataId]));
  const thenR = traceRegion(rec, 'then', [], () => thenFn(), 'the then branch of gc.cond', loc, 'thread');
  const elseR = traceRegion(rec, 'else', [], () => elseFn(), 'the else branch of gc.cond', loc, 'thread');
  if (!sameLayout(thenR.layout, elseR.layout)) {
    throw new GcError({ code: Codes.traceUnsupported, message: `gc.cond: the branches return different structures (then: ${layoutText(thenR.layout)}, else: ${layoutText(elseR.layout)})`, loc,
      help: 'both branches must return the same structure of tensors' });
  }
  thenR.outTypes.forEach((a, i) => {
    const b = elseR.outTypes[i]!;
    if (a.dtype !== b.dtype) {
      throw new GcError({ code: Codes.dtype, message: `gc.cond: result ${i} is ${a.dtype} in the then branch and ${b.dtype} in the else branch`, loc,
        help: 'cast one branch\'s result (tf.cast) so that both have one dtype' });
    }
    if (a.shape.join(',') !== b.shape.join(',')) {
      throw new GcError({ code: Codes.shape, message: `gc.cond: result ${i} has shape ${shapeText(a.shape)} in the then branch and ${shapeText(b.shape)} in the else branch`, loc,
        help: 'both branches must return tensors of the same shape (pad or reshape one of them)' });
    }
  });
  // Variables either branch assigned: one more result each, assigned after the cond.
  const assignedVars = [...new Set([...thenR.assigned.keys(), ...elseR.assigned.keys()])];
  for (const r of [thenR, elseR]) {
    const extra = assignedVars.map((v) => r.assigned.get(v) ?? r.frame.capture(rec.valueOf(v.dataId, `variable '${v.name}'`)));
    setRegionOutputs(r.graph, [...r.outs, ...extra]);
  }
  const captures = unifyCaptures([thenR, elseR], 0);
  const used = usedUnion(thenR, elseR);
  const forward = (): tf.Tensor[] => {
    const node = rec.graph.addNode('cond', [predV, ...captures], {}, loc, undefined, [thenR.graph, elseR.graph]);
    const n = thenR.outs.length;
    assignAfter(rec, assignedVars, node.outputs.slice(n));
    return tensorsFor(rec, node.outputs.slice(0, n));
  };
  let results: tf.Tensor[];
  if (tapeOn() && used.length > 0 && thenR.outs.length > 0) {
    keepForGradient([pred, ...used]);
    results = asTapeOp(used, forward, (dys) => {
      // The branches run again under the variables' values from before the cond; what they assign now is dropped.
      const grads = withVariableIds(varsBefore, () => cond(pred,
        () => gradRun(() => vjp(() => flatten(thenFn(), 'the then branch of gc.cond', loc).tensors, used, dys)),
        () => gradRun(() => vjp(() => flatten(elseFn(), 'the else branch of gc.cond', loc).tensors, used, dys))));
      return grads;
    });
  } else {
    results = forward();
  }
  return rebuild(thenR.layout, results);
}

/** Inside a gradient's region: assignments are dropped (see gradAssign). */
let gradDepth = 0;
function gradRun<T>(fn: () => T): T {
  gradDepth++;
  try { return fn(); } finally { gradDepth--; }
}

/** Block arguments for carried variables. */
function varArgs(vars: readonly tf.Variable[]): ArgSpec[] {
  return vars.map((v, j) => ({ name: `s${j}`, dtype: v.dtype as DType, shape: [...v.shape] }));
}

/** Assigns each variable its value after the node (an `assign` at the end of the trace, as tf.Variable.assign). */
function assignAfter(rec: Recorder, vars: readonly tf.Variable[], values: readonly Value[]): void {
  const backend = engine().findBackend(TRACE_BACKEND) as TraceBackend;
  vars.forEach((v, i) => {
    const id = rec.bind(values[i]!);
    backend.adopt(id);
    (v as unknown as { dataId: DataId }).dataId = id;
  });
}

// ---- whileLoop --------------------------------------------------------------------------------

/**
 * Runs `bodyFn(...vars)` while `condFn(...vars)` (a one-element tensor) is nonzero, starting
 * from `loopVars`; returns the final loop variables. The body returns as many tensors as there
 * are loop variables, each with its loop variable's dtype and shape.
 */
export function whileLoop(condFn: (...vars: tf.Tensor[]) => tf.Tensor, bodyFn: (...vars: tf.Tensor[]) => tf.Tensor[], loopVars: tf.Tensor[], opts: WhileLoopOptions = {}): tf.Tensor[] {
  const loc = userLocation();
  if (!Array.isArray(loopVars) || loopVars.length === 0 || !loopVars.every((t) => t instanceof tf.Tensor)) {
    throw new GcError({ code: Codes.traceUnsupported, message: 'gc.whileLoop: loopVars must be a non-empty array of tensors', loc });
  }
  const max = opts.maximumIterations;
  if (max !== undefined && !(Number.isSafeInteger(max) && max >= 0)) {
    throw new GcError({ code: Codes.attr, message: `gc.whileLoop: maximumIterations must be an integer ≥ 0, got ${max}`, loc });
  }
  const rec = activeRecorder();
  if (rec === undefined) return whileEager(condFn, bodyFn, loopVars, loc, max);
  return whileTraced(rec, condFn, bodyFn, loopVars, loc, max);
}

export interface WhileLoopOptions {
  /** Run the body at most this many times (tf.while_loop's maximum_iterations). */
  maximumIterations?: number;
}

function checkBodyResult(r: unknown, loopVars: readonly { dtype: string; shape: readonly number[] }[], what: string, loc: SourceLoc | undefined): tf.Tensor[] {
  const ts = Array.isArray(r) ? r : [r];
  if (ts.length !== loopVars.length || !ts.every((t) => t instanceof tf.Tensor)) {
    throw new GcError({ code: Codes.traceUnsupported, message: `${what} returned ${Array.isArray(r) ? `${r.length} values` : typeof r}, but there are ${loopVars.length} loop variables`, loc,
      help: 'the body returns the next value of every loop variable, as an array in their order' });
  }
  // Eagerly a loop variable may change shape (plain JavaScript); a graph's carried values keep theirs.
  const strict = activeRecorder() !== undefined;
  (ts as tf.Tensor[]).forEach((t, i) => {
    const v = loopVars[i]!;
    if (t.dtype !== v.dtype || (strict && t.shape.join(',') !== v.shape.join(','))) {
      throw new GcError({ code: t.dtype !== v.dtype ? Codes.dtype : Codes.shape, message: `${what}: loop variable ${i} is ${v.dtype}${shapeText(v.shape)} but the body returns ${t.dtype}${shapeText(t.shape)}`, loc,
        help: 'in a compiled function a loop variable keeps its dtype and shape from step to step (a value that grows: preallocate it at full size and write into it)' });
    }
  });
  return ts as tf.Tensor[];
}

function whileEager(condFn: (...vars: tf.Tensor[]) => tf.Tensor, bodyFn: (...vars: tf.Tensor[]) => tf.Tensor[], loopVars: tf.Tensor[], loc: SourceLoc | undefined,
  max: number | undefined): tf.Tensor[] {
  let vars = loopVars;
  for (let step = 0; max === undefined || step < max; step++) {
    const go = tf.tidy(() => {
      const c = condFn(...vars);
      checkPredicate(c, 'gc.whileLoop: the condition', loc);
      return truth(c);
    });
    if (!go) break;
    const next = tf.tidy(() => checkBodyResult(bodyFn(...vars), vars, 'gc.whileLoop: the body', loc));
    disposeAllBut(vars, next, loopVars);
    vars = next;
  }
  return vars === loopVars ? loopVars.map((t) => t.clone()) : vars;
}

function whileTraced(rec: Recorder, condFn: (...vars: tf.Tensor[]) => tf.Tensor, bodyFn: (...vars: tf.Tensor[]) => tf.Tensor[], loopVars: tf.Tensor[], loc: SourceLoc | undefined,
  max: number | undefined): tf.Tensor[] {
  noteUses(rec, loopVars);
  const n = loopVars.length;
  const loopArgs: ArgSpec[] = loopVars.map((t, i) => ({ name: `v${i}`, dtype: t.dtype as DType, shape: [...t.shape] }));
  const trace = (vars: readonly tf.Variable[], policy: AssignPolicy) => {
    const args = [...loopArgs, ...varArgs(vars)];
    const carry = { vars, argOffset: n };
    const condR = traceRegion(rec, 'cond', args, (vs) => {
      const c = condFn(...vs.slice(0, n));
      checkPredicate(c, 'gc.whileLoop: the condition', loc);
      // One bool with one element: nonzero is true.
      const b = c.dtype === 'bool' ? c : tf.notEqual(c, tf.zerosLike(c));
      return b.rank === 0 ? b : tf.reshape(b, []);
    }, 'the condition of gc.whileLoop', loc, 'refuse', carry);
    const bodyR = traceRegion(rec, 'body', args, (vs) => checkBodyResult(bodyFn(...vs.slice(0, n)), loopVars, 'gc.whileLoop: the body', loc), 'the body of gc.whileLoop', loc, policy, carry);
    return { condR, bodyR };
  };
  // Variables the body assigns are carried as loop values (a second trace, with them carried), assigned after the loop.
  let { condR, bodyR } = trace([], 'carry');
  const vars = [...bodyR.assigned.keys()];
  if (vars.length > 0) ({ condR, bodyR } = trace(vars, 'refuse'));
  const inits = [...loopVars.map((t) => rec.valueOf(t.dataId, 'gc.whileLoop')), ...vars.map((v) => rec.valueOf(v.dataId, `variable '${v.name}'`))];
  setRegionOutputs(condR.graph, condR.outs);
  setRegionOutputs(bodyR.graph, [...bodyR.outs, ...bodyR.carriedOuts]);
  const captures = unifyCaptures([condR, bodyR], n + vars.length);
  const used = usedUnion(condR, bodyR);
  const forward = () => {
    const outs = rec.graph.addNode('while_loop', [...inits, ...captures], max === undefined ? {} : { maximum_iterations: max }, loc, undefined, [condR.graph, bodyR.graph]).outputs;
    assignAfter(rec, vars, outs.slice(n));
    return tensorsFor(rec, outs.slice(0, n));
  };
  if (tapeOn()) {
    return asTapeOp([...loopVars, ...used.filter((t) => !loopVars.includes(t))], forward, () => {
      throw new GcError({ code: Codes.traceUnsupported, message: 'gc.whileLoop has no gradient: a gradient was asked through the results of this loop', loc,
        help: 'loop a fixed number of times with gc.scan (which has a gradient), or stop the gradient at the loop\'s inputs' });
    });
  }
  return forward();
}

// ---- scan -------------------------------------------------------------------------------------

/** A carry or an x: one tensor or an array of them. */
export type Tensors = tf.Tensor | tf.Tensor[];

/**
 * Scans `fn` along axis 0 of `xs`, from `init`:
 *   - fn returns the next carry: the result is the carry after every step, stacked (tf.scan);
 *   - fn returns [carry, y]: the result is [the final carry, every y stacked] (jax.lax.scan).
 * A carry (and init, xs, y) is a tensor or an array of tensors; a carry keeps its dtype and shape.
 */
export function scan<C extends Tensors, Y extends Tensors = C>(fn: (carry: C, x: Tensors) => C | [C, Y], init: C, xs: Tensors): C | [C, Y] {
  const loc = userLocation();
  const inits: tf.Tensor[] = Array.isArray(init) ? (init as tf.Tensor[]) : [init as tf.Tensor];
  const xsList: tf.Tensor[] = Array.isArray(xs) ? xs : [xs];
  if (inits.length === 0 || !inits.every((t) => t instanceof tf.Tensor)) {
    throw new GcError({ code: Codes.traceUnsupported, message: 'gc.scan: init must be a tensor or a non-empty array of tensors', loc });
  }
  if (xsList.length === 0 || !xsList.every((t) => t instanceof tf.Tensor && t.rank >= 1)) {
    throw new GcError({ code: Codes.shape, message: 'gc.scan: xs must be a tensor (or an array of tensors) of rank ≥ 1, scanned along axis 0', loc });
  }
  const n = xsList[0]!.shape[0]!;
  xsList.forEach((x, j) => {
    if (x.shape[0] !== n) {
      throw new GcError({ code: Codes.shape, message: `gc.scan: xs ${j} has length ${x.shape[0]} along axis 0, xs 0 has ${n}`, loc, help: 'every x is scanned in step along axis 0' });
    }
  });
  const carryIsArray = Array.isArray(init), xIsArray = Array.isArray(xs);
  let style: 'carries' | 'pair' | undefined;
  let yLayout: Layout | undefined;
  /** Splits fn's result into the next carries and the ys; fixes the style on the first call. */
  const split = (r: unknown): { carries: tf.Tensor[]; ys: tf.Tensor[] } => {
    // A tensor carry: an array back is [carry, y]. An array carry: [[...carry], y] is a pair.
    const pair = Array.isArray(r) && (carryIsArray ? r.length === 2 && Array.isArray(r[0]) : true);
    style ??= pair ? 'pair' : 'carries';
    let carries: tf.Tensor[], ys: tf.Tensor[];
    if (style === 'pair') {
      if (!Array.isArray(r) || r.length !== 2) {
        throw new GcError({ code: Codes.traceUnsupported, message: 'gc.scan: fn returned [carry, y] once and something else later', loc });
      }
      carries = flatten(r[0], 'gc.scan: the carry fn returned', loc).tensors;
      const yf = flatten(r[1], 'gc.scan: the y fn returned', loc);
      yLayout ??= yf.layout;
      ys = yf.tensors;
    } else {
      carries = flatten(r, 'gc.scan: fn', loc).tensors;
      ys = carries;
    }
    checkBodyResult(carries, inits, 'gc.scan: fn', loc);
    return { carries, ys };
  };
  const call = (cs: tf.Tensor[], x: tf.Tensor[]) => fn((carryIsArray ? cs : cs[0]) as C, (xIsArray ? x : x[0])!);
  const rec = activeRecorder();
  let finals: tf.Tensor[], stacked: tf.Tensor[];
  if (rec === undefined) {
    if (n === 0) {
      throw new GcError({ code: Codes.shape, message: 'gc.scan: xs has length 0 along axis 0: there is nothing to stack', loc });
    }
    ({ finals, stacked } = scanEager(inits, xsList, (cs, x) => split(call(cs, x))));
  } else {
    ({ finals, stacked } = scanTraced(rec, inits, xsList, (cs, x) => split(call(cs, x)), loc, false));
  }
  const carryOut = (ts: tf.Tensor[]) => (carryIsArray ? ts : ts[0]!) as C;
  if (style === 'pair') return [carryOut(finals), rebuild(yLayout ?? { kind: 'single' }, stacked)] as [C, Y];
  for (const t of finals) if (!stacked.includes(t) && !inits.includes(t)) t.dispose();
  return carryOut(stacked) as C;
}

type ScanBody = (carries: tf.Tensor[], slices: tf.Tensor[]) => { carries: tf.Tensor[]; ys: tf.Tensor[] };

function scanEager(inits: tf.Tensor[], xs: tf.Tensor[], body: ScanBody): { finals: tf.Tensor[]; stacked: tf.Tensor[] } {
  return tf.tidy(() => {
    const n = xs[0]!.shape[0]!;
    const slices = xs.map((x) => tf.unstack(x, 0));
    let carries = inits;
    const ys: tf.Tensor[][] = [];
    for (let i = 0; i < n; i++) {
      const step = tf.tidy(() => {
        const r = body(carries, slices.map((s) => s[i]!));
        return { carries: r.carries, ys: r.ys };
      });
      ys.push(step.ys);
      carries = step.carries;
    }
    const stacked = ys[0]!.map((_, j) => tf.stack(ys.map((y) => y[j]!), 0));
    return { finals: carries, stacked };
  });
}

/**
 * A traced scan (reverse: from the last slice to the first). Under a tape it is one op whose
 * gradient is a reverse scan; the forward scan then also stacks the carries each step starts from.
 */
function scanTraced(rec: Recorder, inits: tf.Tensor[], xs: tf.Tensor[], body: ScanBody, loc: SourceLoc | undefined, reverse: boolean): { finals: tf.Tensor[]; stacked: tf.Tensor[] } {
  noteUses(rec, [...inits, ...xs]);
  const initVs = inits.map((t) => rec.valueOf(t.dataId, 'gc.scan'));
  const xsVs = xs.map((t) => rec.valueOf(t.dataId, 'gc.scan'));
  const nc = inits.length;
  const args: ArgSpec[] = [
    ...inits.map((t, i) => ({ name: `v${i}`, dtype: t.dtype as DType, shape: [...t.shape] })),
    ...xs.map((t, i) => ({ name: `x${i}`, dtype: t.dtype as DType, shape: t.shape.slice(1) })),
  ];
  const keepCarries = tapeOn();
  let ny = 0;
  const trace = (vars: readonly tf.Variable[], policy: AssignPolicy) => traceRegion(rec, 'body', [...args.slice(0, nc), ...varArgs(vars), ...args.slice(nc)], (vs) => {
    const r = body(vs.slice(0, nc), vs.slice(nc + vars.length));
    ny = r.ys.length;
    return [...r.carries, ...r.ys, ...(keepCarries ? vs.slice(0, nc) : [])];
  }, 'the body of gc.scan', loc, policy, { vars, argOffset: nc });
  // Variables the body assigns are carried (a second trace, with them carried), assigned after the scan.
  let bodyR = trace([], 'carry');
  const vars = [...bodyR.assigned.keys()];
  if (vars.length > 0) {
    if (keepCarries) {
      throw new GcError({ code: Codes.traceUnsupported, message: `the body of gc.scan assigns variable '${vars[0]!.name}' under a gradient tape`, loc,
        help: 'carry the value (return it as part of the carry) and assign it after the scan' });
    }
    bodyR = trace(vars, 'refuse');
  }
  const nv = vars.length;
  setRegionOutputs(bodyR.graph, [...bodyR.outs.slice(0, nc), ...bodyR.carriedOuts, ...bodyR.outs.slice(nc)]);
  const captures = unifyCaptures([bodyR], nc + nv + xs.length);
  const used = usedUnion(bodyR).filter((t) => !inits.includes(t) && !xs.includes(t));
  const varInits = vars.map((v) => rec.valueOf(v.dataId, `variable '${v.name}'`));
  const forward = () => {
    const node = rec.graph.addNode('scan', [...initVs, ...varInits, ...xsVs, ...captures], { num_carries: nc + nv, num_xs: xs.length, reverse }, loc, undefined, [bodyR.graph]);
    assignAfter(rec, vars, node.outputs.slice(nc, nc + nv));
    return tensorsFor(rec, [...node.outputs.slice(0, nc), ...node.outputs.slice(nc + nv)]);
  };
  if (!keepCarries) {
    const outs = forward();
    return { finals: outs.slice(0, nc), stacked: outs.slice(nc, nc + ny) };
  }
  const inputs = [...inits, ...xs, ...used];
  keepForGradient(inputs);
  const outs = asTapeOp(inputs, forward, (dys) => {
    // dys: [dFinal..., dYs..., (kept carries: no gradient)]
    const f32 = (t: tf.Tensor) => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
    const dFinal = inits.map((t, i) => f32(dys[i] ?? tf.zeros(t.shape, 'float32')));
    const dYs = dys.slice(nc, nc + ny);
    const kept = outs.slice(nc + ny);
    const ysDtypes = outs.slice(nc, nc + ny);
    const dYsFull = dYs.map((d, j) => f32(d ?? tf.zeros(ysDtypes[j]!.shape, 'float32')));
    const accs = used.map((t) => tf.zeros(t.shape, 'float32'));
    const back = gradRun(() => scanTraced(rec, [...dFinal, ...accs], [...kept, ...xs, ...dYsFull], (cs, sl) => {
      const dc = cs.slice(0, nc), acc = cs.slice(nc);
      const cPrev = sl.slice(0, nc), xT = sl.slice(nc, nc + xs.length), dyT = sl.slice(nc + xs.length);
      const gs = vjp(() => { const r = body(cPrev, xT); return [...r.carries, ...r.ys]; }, [...cPrev, ...xT, ...used], [...dc, ...dyT]);
      const gc = gs.slice(0, nc), gx = gs.slice(nc, nc + xs.length), gu = gs.slice(nc + xs.length);
      return { carries: [...gc, ...acc.map((a, i) => tf.add(a, gu[i]!))], ys: gx };
    }, loc, !reverse));
    return [...back.finals.slice(0, nc), ...back.stacked, ...back.finals.slice(nc)];
  });
  return { finals: outs.slice(0, nc), stacked: outs.slice(nc, nc + ny) };
}
