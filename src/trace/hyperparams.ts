/**
 * Optimizer hyperparameters as graph state.
 *
 * tf.train optimizers hold their learning rate, betas, epsilon, rho, decay as JS numbers (SGD
 * and Momentum as scalar tensors made from them: `c = scalar(-lr)`, `m = scalar(momentum)`),
 * and compute with them in JavaScript (`1 - beta1`, `-learningRate`). A trace sees only the
 * resulting constants. To keep a later `opt.setLearningRate(…)` or `opt.beta1 = …` effective
 * without a retrace, graphc finds out by tracing which constants follow which hyperparameter:
 *
 *   1. the optimizers a trace used are recorded (Optimizer.prototype.minimize and
 *      incrementIterations, which every tf.train optimizer calls at the end of applyGradients);
 *   2. every numeric field ("knob") is moved at once, by a different factor each, to two other
 *      values, and the function traced again at each: the graphs must agree except in scalar
 *      f32 constants, and each constant that differs must be an affine function a·h + b of
 *      exactly one knob at all three values (two extra traces, whatever the number of knobs);
 *   3. failing that, knob by knob: one trace per knob finds its constants and fits them, and
 *      one more trace with every affine knob at a third value checks every fit at once.
 *
 * Each such constant becomes graph state read at every call: `h` itself (a=1, b=0), `neg h`
 * (a=-1, b=0, exact in f32), otherwise a state of its own whose value is a·h + b computed in
 * float64 at each call, as eager tfjs computes `1 - beta2` in float64 before rounding to f32
 * (computing it in f32 from f32(beta2) would be off by 1.3e-5 relative for beta2 = 0.999).
 * A knob the graph reads in any other way (structure changes, not affine, two knobs in one
 * constant, booleans such as useNesterov) is a guard instead: compile snapshots it and
 * retraces when it changes, as tf.function does for Python values.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Graph, Value } from '../../ir/graph.js';
import type { TensorData } from '../../ir/tensor_data.js';
import { tensorData, tensorDataEq } from '../../ir/tensor_data.js';

/** A JS value a trace may read, which graphc can read and temporarily change. */
export interface Knob {
  /** `hyper/<Class>_<n>/<field>`: the state name when it becomes graph state. */
  readonly label: string;
  read(): number;
  /** Sets the value as the optimizer would see it; returns the function that restores it. */
  write(v: number): () => void;
}

/** A JS value the graph depends on in a way it cannot take as state: a change means a retrace. */
export interface TraceGuard {
  /** What it is and the value the graph was traced with, for messages. */
  readonly what: string;
  changed(): boolean;
}

/** Where a constant of the traced graph comes from: a·knob + b. */
export interface HyperConst {
  knob: Knob;
  a: number;
  b: number;
}

export interface HyperPlan {
  /** By index into the base trace's node list (unify keeps that order). */
  consts: Map<number, HyperConst>;
  guards: TraceGuard[];
}

// ---------------------------------------------------------------------------------------------
// Which optimizers a trace used

type OptimizerProto = { minimize: (...a: unknown[]) => unknown; incrementIterations: (...a: unknown[]) => unknown };

/**
 * Records the optimizers whose minimize / applyGradients run until `stop()`, and how many steps
 * each took (incrementIterations calls). `stop()` puts their iteration counts back: a trace is
 * not a step (compile counts the steps of each call instead, see TracedFunction.afterCall).
 */
export function watchOptimizers(onFirstUse?: (o: tf.Optimizer) => void): { used: tf.Optimizer[]; steps: number[]; stop(): void } {
  const proto = tf.Optimizer.prototype as unknown as OptimizerProto;
  const used: tf.Optimizer[] = [], steps: number[] = [], before: unknown[] = [];
  const note = (o: unknown): number => {
    if (!(o instanceof tf.Optimizer)) return -1;
    let i = used.indexOf(o);
    if (i < 0) { onFirstUse?.(o); i = used.push(o) - 1; steps.push(0); before.push((o as unknown as { iterations_?: number }).iterations_); }
    return i;
  };
  const minimize = proto.minimize, increment = proto.incrementIterations;
  proto.minimize = function (this: unknown, ...a: unknown[]) { note(this); return minimize.apply(this, a); };
  proto.incrementIterations = function (this: unknown, ...a: unknown[]) {
    const i = note(this);
    if (i >= 0) steps[i]!++;
    return increment.apply(this, a);
  };
  return {
    used,
    steps,
    stop: () => {
      proto.minimize = minimize;
      proto.incrementIterations = increment;
      used.forEach((o, i) => { (o as unknown as { iterations_?: unknown }).iterations_ = before[i]; });
    },
  };
}

/**
 * The optimizer's own fields as they are now (its slot lists: Adam's moments, Adagrad's
 * accumulators, … are arrays it fills on its first step): the returned function puts them back,
 * for a trace that failed after the optimizer made slot variables it then freed.
 */
export function snapshotOptimizer(o: tf.Optimizer): () => void {
  const obj = o as unknown as Record<string, unknown>;
  const fields = new Map<string, unknown>();
  const arrays = new Map<unknown[], unknown[]>();
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    fields.set(k, v);
    if (Array.isArray(v)) arrays.set(v, [...v]);
  }
  return () => {
    for (const k of Object.keys(obj)) if (!fields.has(k)) delete obj[k];
    for (const [k, v] of fields) obj[k] = v;
    for (const [a, items] of arrays) a.splice(0, a.length, ...items);
  };
}

/** What one call of the compiled function does to the optimizers beyond the graph: their iteration counts. */
export function optimizerSteps(used: readonly tf.Optimizer[], steps: readonly number[]): (() => void) | undefined {
  if (!steps.some((n) => n > 0)) return undefined;
  return () => used.forEach((o, i) => {
    const n = steps[i]!;
    if (n > 0) (o as unknown as { iterations_: number }).iterations_ = o.iterations + n;
  });
}

// ---------------------------------------------------------------------------------------------
// The knobs of an optimizer

const ids = new WeakMap<object, number>();
let nextId = 0;
function labelOf(opt: tf.Optimizer): string {
  let id = ids.get(opt);
  if (id === undefined) { id = nextId++; ids.set(opt, id); }
  const cls = (opt.constructor as { className?: string }).className ?? opt.constructor.name ?? 'Optimizer';
  return `hyper/${cls}_${id}`;
}

/** Scalar tensors are read once each (they are immutable): dataSync per call would cost a sync. */
const scalarValues = new WeakMap<tf.Tensor, number>();
function scalarValue(t: tf.Tensor): number {
  let v = scalarValues.get(t);
  if (v === undefined) { v = t.dataSync()[0]!; scalarValues.set(t, v); }
  return v;
}

/**
 * A field that holds a scalar tensor made from a number (SGD's c = -lr, Momentum's m). Where the
 * tensor cannot be read synchronously (webgpu in Node), the number it was made from stands in.
 */
function tensorKnob(obj: Record<string, unknown>, label: string, field: string, sign: 1 | -1, from: string): Knob {
  return {
    label,
    read: () => {
      const t = obj[field] as tf.Tensor;
      try {
        return sign * scalarValue(t);
      } catch (e) {
        if (t.isDisposed || typeof obj[from] !== 'number') throw e;
        return obj[from];
      }
    },
    write: (v) => {
      const prev = obj[field];
      const t = tf.keep(tf.scalar(sign * v));
      obj[field] = t;
      return () => { obj[field] = prev; t.dispose(); };
    },
  };
}

function fieldKnob(obj: Record<string, unknown>, label: string, field: string): Knob {
  return {
    label,
    read: () => obj[field] as number,
    write: (v) => {
      const prev = obj[field];
      obj[field] = v;
      return () => { obj[field] = prev; };
    },
  };
}

function fieldGuard(obj: Record<string, unknown>, label: string, field: string): TraceGuard {
  const seen = obj[field];
  return { what: `${label}/${field} (traced with ${JSON.stringify(seen)})`, changed: () => !Object.is(obj[field], seen) };
}

/**
 * The knobs of an optimizer: its numeric fields, and for SGD/Momentum the scalar tensors they
 * actually compute with (their `learningRate` / `momentum` numbers are not read by
 * applyGradients: eagerly, `opt.learningRate = 0` on an SGD optimizer changes nothing, while
 * setLearningRate replaces `c`). Boolean and string fields are guards.
 */
export function knobsOf(opt: tf.Optimizer): { knobs: Knob[]; guards: TraceGuard[] } {
  const o = opt as unknown as Record<string, unknown>;
  const label = labelOf(opt);
  const knobs: Knob[] = [], guards: TraceGuard[] = [];
  const viaTensor = new Set<string>();
  if (opt instanceof tf.SGDOptimizer && o.c instanceof tf.Tensor && o.c.size === 1) {
    knobs.push(tensorKnob(o, `${label}/learningRate`, 'c', -1, 'learningRate'));
    viaTensor.add('learningRate');
  }
  if (opt instanceof tf.MomentumOptimizer && o.m instanceof tf.Tensor && o.m.size === 1) {
    knobs.push(tensorKnob(o, `${label}/momentum`, 'm', 1, 'momentum'));
    viaTensor.add('momentum');
  }
  for (const [field, v] of Object.entries(o)) {
    if (viaTensor.has(field)) continue;
    if (typeof v === 'number') knobs.push(fieldKnob(o, `${label}/${field}`, field));
    else if (typeof v === 'boolean' || typeof v === 'string') guards.push(fieldGuard(o, label, field));
  }
  return { knobs, guards };
}

/**
 * The tf.Variables an optimizer keeps, by readable names: its slots (Adam's moments, Adagrad's
 * accumulators, …) by the name tfjs's getWeights() and saved optimizer weights give them
 * (`dense_Dense1/kernel/m`), its own (Adam's accBeta1) as `<Class>_<n>/<field>`. tfjs names all
 * of these variables with bare numbers, which an exported training step would otherwise show
 * as inputs `_4`, `_5`, ….
 */
export function optimizerVariableNames(opt: tf.Optimizer): Map<tf.Variable, string> {
  const out = new Map<tf.Variable, string>();
  const own = labelOf(opt).slice('hyper/'.length);
  for (const [field, v] of Object.entries(opt as unknown as Record<string, unknown>)) {
    if (v instanceof tf.Variable) out.set(v, `${own}/${field}`);
    else if (Array.isArray(v)) {
      for (const e of v as unknown[]) {
        const slot = e as { originalName?: unknown; variable?: unknown } | null;
        if (slot !== null && typeof slot === 'object' && typeof slot.originalName === 'string' && slot.variable instanceof tf.Variable) out.set(slot.variable, slot.originalName);
      }
    }
  }
  return out;
}

function knobGuard(k: Knob, seen: number): TraceGuard {
  return { what: `${k.label} (traced with ${seen})`, changed: () => !Object.is(k.read(), seen) };
}

// ---------------------------------------------------------------------------------------------
// Finding the constants that follow each knob

/**
 * The scalar f32 constants that differ between two traces of the same function, by node index;
 * undefined when the traces differ in anything else (structure, attrs, other constants).
 */
export function constDiff(g0: Graph, g1: Graph): Map<number, number> | undefined {
  const n0 = g0.nodes, n1 = g1.nodes;
  if (n0.length !== n1.length || g0.inputs.length !== g1.inputs.length || g0.states.length !== g1.states.length) return undefined;
  if (g0.states.some((s, i) => s.name !== g1.states[i]!.name)) return undefined;
  const key = (g: Graph, nodes: typeof n0) => {
    const m = new Map<Value, string>();
    g.inputs.forEach((v, i) => m.set(v, `in${i}`));
    g.states.forEach((s) => m.set(s.value, `st:${s.name}`));
    nodes.forEach((n, i) => n.outputs.forEach((v, k) => m.set(v, `n${i}.${k}`)));
    return m;
  };
  const k0 = key(g0, n0), k1 = key(g1, n1);
  const out = new Map<number, number>();
  for (let i = 0; i < n0.length; i++) {
    const a = n0[i]!, b = n1[i]!;
    if (a.op !== b.op || a.inputs.length !== b.inputs.length || a.outputs.length !== b.outputs.length) return undefined;
    if (a.inputs.some((v, j) => k0.get(v) !== k1.get(b.inputs[j]!))) return undefined;
    for (const key of new Set([...Object.keys(a.attrs), ...Object.keys(b.attrs)])) {
      const x = a.attrs[key], y = b.attrs[key];
      if (isTensorData(x) && isTensorData(y)) {
        if (tensorDataEq(x, y)) continue;
        if (a.op === 'const' && x.dtype === 'float32' && y.dtype === 'float32' && x.shape.length === 0 && y.shape.length === 0) {
          out.set(i, y.data[0] as number);
          continue;
        }
        return undefined;
      }
      if (JSON.stringify(x) !== JSON.stringify(y)) return undefined;
    }
  }
  if (g0.outputs.length !== g1.outputs.length || g0.outputs.some((o, i) => o.name !== g1.outputs[i]!.name || k0.get(o.value) !== k1.get(g1.outputs[i]!.value))) return undefined;
  return out;
}

function isTensorData(x: unknown): x is TensorData {
  return typeof x === 'object' && x !== null && 'data' in x && 'dtype' in x && 'shape' in x;
}

const F32_EPS = 2 ** -23;

/** Whether f32(a·h + b) computed in float64 gives y, within two f32 ulps of y. */
function agrees(a: number, b: number, h: number, y: number): boolean {
  const p = Math.fround(a * h + b);
  return Math.abs(p - y) <= 2 * Math.max(Math.abs(y) * F32_EPS, 1e-45);
}

/**
 * a, b with f32(a·h_i + b) = y_i, from two points. The observations are f32 roundings, so the
 * raw slope is off in the last bits: a and b are snapped to 6 significant digits (b to 0 when
 * tiny beside the values) when that still reproduces the observations.
 */
export function fitAffine(h: readonly number[], y: readonly number[]): { a: number; b: number } | undefined {
  const a0 = (y[1]! - y[0]!) / (h[1]! - h[0]!);
  const b0 = y[0]! - a0 * h[0]!;
  if (!Number.isFinite(a0) || !Number.isFinite(b0)) return undefined;
  const scale = Math.max(...y.map(Math.abs), ...h.map((x) => Math.abs(a0 * x)));
  const snapB = Math.abs(b0) <= 1e-6 * scale ? 0 : Number(b0.toPrecision(6));
  for (const [a, b] of [[Number(a0.toPrecision(6)), snapB], [a0, b0]] as const) {
    if (y.every((yi, i) => agrees(a, b, h[i]!, yi))) return { a, b };
  }
  return undefined;
}

/** Two other values for a knob now at h, away from h and from each other (0 gets 0.5, 0.25). */
function perturbed(h: number): [number, number] {
  return h === 0 ? [0.5, 0.25] : [h * 1.5, h * 0.75];
}

/**
 * Finds, by tracing again with perturbed knobs, which constants of `base` follow which
 * hyperparameter of the optimizers the trace used. `retrace` traces the function once more at
 * the base sizes (with every knob as it is at that moment).
 */
export function planHyperparams(base: Graph, optimizers: readonly tf.Optimizer[], retrace: () => Graph): HyperPlan {
  const consts = new Map<number, HyperConst>();
  const guards: TraceGuard[] = [];
  if (optimizers.length === 0) return { consts, guards };
  const knobs: Knob[] = [];
  for (const opt of optimizers) {
    const k = knobsOf(opt);
    knobs.push(...k.knobs);
    guards.push(...k.guards);
  }
  const baseNodes = base.nodes;
  const y0 = (i: number) => (baseNodes[i]!.attrs.value as TensorData).data[0] as number;
  const traceWith = (settings: [Knob, number][]): Map<number, number> | undefined => {
    const restores: (() => void)[] = [];
    try {
      for (const [k, v] of settings) restores.push(k.write(v));
      return constDiff(base, retrace());
    } catch {
      return undefined; // the function cannot run with this value: not a hyperparameter graphc can vary
    } finally {
      for (const r of restores.reverse()) r();
    }
  };

  const guard = (k: Knob, h0: number) => guards.push(knobGuard(k, h0));
  const readable: { knob: Knob; h0: number }[] = [];
  for (const knob of knobs) {
    let h0: number;
    try { h0 = knob.read(); } catch { continue; } // a disposed tensor: the optimizer is unusable anyway
    if (Number.isFinite(h0)) readable.push({ knob, h0 });
    else guard(knob, h0);
  }
  if (readable.length === 0) return { consts, guards };

  // First, every knob at once (two traces): each constant that differs must fit exactly one knob
  // at all three values. The knobs move by different factors, so that a constant following
  // another knob (or two) cannot fit by chance.
  const joint = (j: number, h0: number): [number, number] => {
    const t = j % 32;
    return h0 === 0 ? [0.5 + 0.0625 * t, 0.25 + 0.03125 * t] : [h0 * (1.5 + 0.0625 * t), h0 * (0.75 - 0.015625 * t)];
  };
  const all1 = traceWith(readable.map(({ knob, h0 }, j) => [knob, joint(j, h0)[0]]));
  const all2 = all1 && traceWith(readable.map(({ knob, h0 }, j) => [knob, joint(j, h0)[1]]));
  if (all1 !== undefined && all2 !== undefined) {
    const found = new Map<number, HyperConst>();
    let ok = true;
    for (const i of new Set([...all1.keys(), ...all2.keys()])) {
      const y = [y0(i), all1.get(i) ?? y0(i), all2.get(i) ?? y0(i)];
      const fits = baseNodes[i]!.outputs[0]!.name !== undefined ? [] : readable.flatMap(({ knob, h0 }, j) => {
        const [h1, h2] = joint(j, h0);
        const f = fitAffine([h0, h1], [y[0]!, y[1]!]);
        return f !== undefined && agrees(f.a, f.b, h2, y[2]!) ? [{ knob, ...f }] : [];
      });
      if (fits.length !== 1) { ok = false; break; }
      found.set(i, fits[0]!);
    }
    if (ok) return { consts: found, guards };
  }

  // Otherwise knob by knob: a knob that changes the structure or a constant in another way is a guard.
  interface Fitted { knob: Knob; h0: number; h1: number; h2: number; fits: Map<number, { a: number; b: number }> }
  const fitted: Fitted[] = [];
  for (const { knob: k, h0 } of readable) {
    const [h1, h2] = perturbed(h0);
    const diff = traceWith([[k, h1]]);
    if (diff === undefined) { guard(k, h0); continue; }
    if (diff.size === 0) continue; // the trace does not read it
    const fits = new Map<number, { a: number; b: number }>();
    for (const [i, y1] of diff) {
      const f = baseNodes[i]!.outputs[0]!.name === undefined ? fitAffine([h0, h1], [y0(i), y1]) : undefined;
      if (f === undefined) { fits.clear(); break; }
      fits.set(i, f);
    }
    if (fits.size === 0) { guard(k, h0); continue; }
    fitted.push({ knob: k, h0, h1, h2, fits });
  }
  // A constant that follows two knobs (lr * decay in the user's code) is not affine in one.
  const owners = new Map<number, number>();
  for (const f of fitted) for (const i of f.fits.keys()) owners.set(i, (owners.get(i) ?? 0) + 1);
  let live = fitted.filter((f) => {
    if ([...f.fits.keys()].some((i) => owners.get(i)! > 1)) { guard(f.knob, f.h0); return false; }
    return true;
  });
  // One more trace with every knob at its third value checks all fits at once.
  if (live.length > 0) {
    const check = traceWith(live.map((f) => [f.knob, f.h2]));
    const claimed = new Set(live.flatMap((f) => [...f.fits.keys()]));
    const bad = check === undefined || [...check.keys()].some((i) => !claimed.has(i));
    live = live.filter((f) => {
      const ok = !bad && [...f.fits].every(([i, { a, b }]) => agrees(a, b, f.h2, check.get(i) ?? y0(i)));
      if (!ok) guard(f.knob, f.h0);
      return ok;
    });
  }
  for (const f of live) for (const [i, { a, b }] of f.fits) consts.set(i, { knob: f.knob, a, b });
  return { consts, guards };
}

// ---------------------------------------------------------------------------------------------
// Rewriting the graph

function exprName(field: string, a: number, b: number): string {
  const mag = Math.abs(a) === 1 ? field : `${Math.abs(a)}*${field}`;
  if (b === 0) return a < 0 ? `-${mag}` : mag;
  return `${b}${a < 0 ? '-' : '+'}${mag}`;
}

/**
 * Replaces the planned constants of `g` (whose node list matches the base trace's, index for
 * index) by graph state; returns the state names with getters of their current values.
 */
export function applyHyperPlan(g: Graph, plan: HyperPlan): Map<string, () => number> {
  const getters = new Map<string, () => number>();
  if (plan.consts.size === 0) return getters;
  const nodes = [...g.nodes];
  const states = new Map<string, Value>();
  const stateFor = (name: string, get: () => number): Value => {
    let v = states.get(name);
    if (v === undefined) {
      const now = get();
      // The value's name spells the arithmetic out (an exported model's input `hyper_Adam_0_1_minus_beta1`, not `…_1_beta1`).
      const spelled = name.replace(/-/g, '_minus_').replace(/\+/g, '_plus_').replace(/\*/g, '_times_');
      v = g.addState(name, { dtype: 'float32', shape: [] }, tensorData('float32', [], [now]), false, g.freshName(spelled));
      states.set(name, v);
      getters.set(name, get);
    }
    return v;
  };
  for (const [i, { knob, a, b }] of plan.consts) {
    const n = nodes[i];
    const t = n?.op === 'const' ? (n.attrs.value as TensorData) : undefined;
    if (!n || !t || t.dtype !== 'float32' || t.shape.length !== 0) throw new Error(`graphc internal: hyperparameter constant #${i} is ${n?.op ?? 'missing'}`);
    const field = knob.label.slice(knob.label.lastIndexOf('/') + 1);
    const prefix = knob.label.slice(0, knob.label.lastIndexOf('/') + 1);
    let v: Value;
    if (a === 1 && b === 0) v = stateFor(knob.label, knob.read);
    else if (a === -1 && b === 0) {
      const neg = g.addNode('neg', [stateFor(knob.label, knob.read)], {}, n.loc);
      g.moveBefore(neg, n);
      v = neg.outputs[0]!;
    } else v = stateFor(prefix + exprName(field, a, b), () => a * knob.read() + b);
    g.replaceAllUsesWith(n.outputs[0]!, v, { outputs: true });
    g.removeNode(n);
  }
  return getters;
}
