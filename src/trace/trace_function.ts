/**
 * Tracing a function for a signature: concrete sizes for symbolic dims, a warm-up trace when
 * the function creates variables, unification of the traces into one symbolic graph.
 *
 * Anonymous dims (null in a spec) start out independent, one symbol each. When the function
 * fails because some of them must be equal (x [null,5] and labels [null,3] of one batch), the
 * finest grouping that traces is taken — anonymous dims may also join a named dim — as JAX's
 * shape polymorphism does with its constraints. Two different groupings that both trace are
 * ambiguous: an error names the inputs and asks for a shared named dim. Where no grouping
 * traces because the function ties two differently named dims, the error is the one about
 * those two, not the first trace's about anonymous dims. A tfjs op's own check that names no
 * size gets the first few groupings tried too.
 *
 * Errors raised while tracing are written with the user's dims (see user_shapes.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Codes, GcError } from '../../ir/errors.js';
import type { Graph } from '../../ir/graph.js';
import type { TensorSpec } from './spec.js';
import { paramNames } from './spec.js';
import type { ConcreteInput, OutputStructure, TraceResult } from './tracer.js';
import { createdBeforeFailure, traceOnce } from './tracer.js';
import type { TraceHooks } from './tracer.js';
import { revokeVariable } from './backend.js';
import type { UserDims } from './user_shapes.js';
import { sizesMentioned, speakUserDims } from './user_shapes.js';
import { makePlan, unify } from './unify.js';
import { remapNodeKeys, rollTraces } from './roll_traces.js';
import type { LoopMode } from './roll_loops.js';
import { rollLoops } from './roll_loops.js';
import { userLocation } from './source_loc.js';
import type { TraceGuard } from './hyperparams.js';
import { applyHyperPlan, optimizerSteps, planHyperparams, snapshotOptimizer } from './hyperparams.js';

export interface TracedFunction {
  graph: Graph;
  structure: OutputStructure;
  /** Input names, in parameter order. */
  inputNames: string[];
  /** Symbol of each dim of each input (null for static dims). */
  symbols: (string | null)[][];
  /**
   * Graph state variables that stand for JS numbers the trace read (optimizer hyperparameters):
   * state name → a getter of the number's current value. compile feeds them at every call, so a
   * change (opt.setLearningRate, opt.learningRate = …) takes effect on the next call.
   */
  hyper?: Map<string, () => number>;
  /**
   * JS values the graph depends on that are not graph state (an optimizer's boolean flags, a
   * hyperparameter read non-affinely): when one has changed since the trace, compile retraces.
   */
  guards?: TraceGuard[];
  /**
   * What a call does in JavaScript besides the graph, for compile to do after each call: the
   * optimizers' iteration counts (incremented by applyGradients in JS, which the graph cannot).
   */
  afterCall?: () => void;
}

/** Evaluates the created variables' initial values and gives each variable real data. */
export type Materialize = (trace: TraceResult) => void;

/** A non-tensor argument of a compiled function: part of the trace signature, like a Python value for tf.function. */
export type StaticArg = number | boolean | string | null | undefined;

export function isStaticArg(a: unknown): a is StaticArg {
  return a === null || a === undefined || typeof a === 'number' || typeof a === 'boolean' || typeof a === 'string';
}

/** Positions of the tensor parameters among all parameters, when `statics` takes the others. */
function tensorPositions(nTensors: number, statics: ReadonlyMap<number, StaticArg>): number[] {
  const out: number[] = [];
  for (let i = 0; out.length < nTensors; i++) if (!statics.has(i)) out.push(i);
  return out;
}

export function inputNamesFor(fn: Function, specs: readonly TensorSpec[], positions: readonly number[] = specs.map((_, i) => i)): string[] {
  const params = paramNames(fn);
  const used = new Set<string>();
  return specs.map((s, i) => {
    let n = s.name ?? params[positions[i]!] ?? `input_${i}`;
    if (used.has(n)) n = `${n}_${i}`;
    used.add(n);
    return n;
  });
}

/** One anonymous dim of the signature. */
interface AnonDim {
  input: number;
  axis: number;
  /** Its own symbol, before any grouping (`_0`, `_1`…, avoiding the user's names). */
  own: string;
}

/** A trace of every size of the plan, unified; not yet given hyperparameter state. */
interface Attempt {
  first: TraceResult;
  graph: Graph;
  symbols: (string | null)[][];
  /** The base sizes' inputs (for the hyperparameter traces). */
  baseInputs: ConcreteInput[];
  /** Where node i of first.graph is in `graph`, when loops were rolled (roll_traces.ts). */
  nodeIndex?: (i: number) => number | undefined;
}

/** Most groupings of anonymous dims traced one by one (finest first); beyond, a search guided by the error. */
const MAX_TRIES = 200;
/** Most groupings traced after an error that names no size (a tfjs op's own check). */
const MAX_UNNAMED_TRIES = 20;
/** Most anonymous dims whose groupings are enumerated (Bell(6) = 203 partitions, times the named dims each group may join). */
const MAX_ENUMERATED_DIMS = 6;

/**
 * `opts.borrow`: the graph shares the float32 and int32 arrays tfjs hands out for the data it
 * captures (variables' values, closed-over tensors) instead of copying them at trace time. Only
 * for a caller that owns what happens next and writes no array in place: `graphc export` of a
 * module, which traces, optimizes and writes the file (a 253 MB model's copy took 0.17 s, as
 * long as writing the file). tfjs never changes a data id's values; an array a user wrote into
 * after `dataSync()` would show in such a graph, as it shows in tfjs's own tensors.
 */
export function traceFunction(fn: (...args: never[]) => unknown, specs: readonly TensorSpec[], materialize: Materialize, graphName = 'f',
  statics: ReadonlyMap<number, StaticArg> = new Map(), loops: LoopMode = 'auto', opts: { borrow?: boolean } = {}): TracedFunction {
  const positions = tensorPositions(specs.length, statics);
  const names = inputNamesFor(fn, specs, positions);
  if (fn.length > specs.length + statics.size) {
    throw new GcError({ code: Codes.inputMismatch, message: `the function takes ${fn.length} parameters but ${specs.length} input specs were given`,
      loc: userLocation(), help: 'give one gc.spec per parameter in {inputs: [...]}' });
  }
  const total = specs.length + statics.size;
  const call = (...ts: tf.Tensor[]): unknown => {
    if (statics.size === 0) return (fn as (...a: tf.Tensor[]) => unknown)(...ts);
    const all: unknown[] = [];
    for (let i = 0, t = 0; i < total; i++) all.push(statics.has(i) ? statics.get(i) : ts[t++]);
    return (fn as (...a: unknown[]) => unknown)(...all);
  };

  const named = new Set(specs.flatMap((s) => s.shape.filter((d): d is string => typeof d === 'string')));
  const anon: AnonDim[] = [];
  specs.forEach((s, i) => s.shape.forEach((d, k) => {
    if (d !== null) return;
    let own = `_${anon.length}`;
    while (named.has(own)) own = `_${own}`;
    anon.push({ input: i, axis: k, own });
  }));
  // Trace sizes differ from every static dim (of the specs and of the variables), so that a size
  // in an error names one symbol.
  const avoid = new Set<number>([0, 1]);
  for (const s of specs) for (const d of s.shape) if (typeof d === 'number') avoid.add(d);
  for (const v of Object.values(tf.engine().state.registeredVariables)) for (const d of v.shape) avoid.add(d);

  const where = (i: number, k: number) => `dim ${k} of '${names[i]}'`;
  /** The symbols whose sizes the last failed trace's error mentions (before it is translated). */
  let mentioned: string[] = [];
  const attempt = (classOf: readonly string[]): Attempt => {
    mentioned = [];
    let a = 0;
    const symbols = specs.map((s) => s.shape.map((d) => (typeof d === 'number' ? null : d === null ? classOf[a++]! : d)));
    const symList = [...new Set(symbols.flat().filter((x): x is string => x !== null))];
    const anonClasses = symList.filter((x) => !named.has(x));
    const display = symList.map((x) => (named.has(x) ? x : anonClasses.length === 1 ? '?' : `?${x.replace(/^_+/, '')}`));
    const plan = makePlan(symList, avoid, display);
    const concrete = (sizes: number[]): ConcreteInput[] => specs.map((s, i) => ({
      name: names[i]!,
      dtype: s.dtype,
      shape: symbols[i]!.map((sy, k) => (sy === null ? (s.shape[k] as number) : sizes[symList.indexOf(sy)]!)),
    }));
    const userDims = (sizes: number[]): UserDims => {
      const bySize = new Map<number, string>(), legend = new Map<string, string>();
      symList.forEach((sy, j) => {
        bySize.set(sizes[j]!, display[j]!);
        const at: string[] = [];
        symbols.forEach((row, i) => row.forEach((x, k) => { if (x === sy) at.push(where(i, k)); }));
        legend.set(display[j]!, `${at.join(', ')}${named.has(sy) ? '' : ' (null in the spec)'}, traced as ${sizes[j]}`);
      });
      return { bySize, legend };
    };
    const traceAt = (sizes: number[]): TraceResult => {
      try {
        return traceOnce(call, concrete(sizes), graphName, hooks);
      } catch (err) {
        // Variables created before the failure (a layer built lazily) get their initial values,
        // as eagerly, rather than staying registered with a trace placeholder for data.
        const partial = createdBeforeFailure(err);
        if (partial !== undefined) { try { materialize(partial); } catch { /* the original error says more */ } }
        mentioned = sizesMentioned(errorText(err), new Map(symList.map((sy, j) => [sizes[j]!, sy])));
        throw speakUserDims(err, userDims(sizes));
      }
    };
    let first = traceAt(plan.sizes[0]!);
    if (first.created.length > 0) {
      materialize(first);
      first = traceAt(plan.sizes[0]!);
      if (first.created.length > 0) {
        throw new GcError({ code: Codes.traceVariable, message: `the function creates new variables on every call (${first.created.map((c) => c.variable.name).join(', ')})`,
          help: 'create variables (and optimizers) outside the function, or only on the first call, as with tf.function' });
      }
    }
    const baseInputs = concrete(plan.sizes[0]!);
    if (symList.length === 0) return rollFixed({ first, graph: first.graph, symbols, baseInputs });
    const graphs = [first.graph];
    for (const sizes of plan.sizes.slice(1)) {
      const r = traceAt(sizes);
      if (r.created.length > 0) throw new GcError({ code: Codes.traceVariable, message: 'the function created variables in a later trace', help: 'create variables outside the function' });
      graphs.push(r.graph);
    }
    const rolled = loops === 'unroll' ? { graphs } : rollTraces(graphs, plan);
    return rollFixed({ first, graph: unify(rolled.graphs, plan), symbols, baseInputs, nodeIndex: rolled.nodeIndex });
  };
  /** The loops of a fixed length too, in any mode but 'unroll' (kept as traced where a loop cannot be rolled). */
  const rollFixed = (a: Attempt): Attempt => {
    if (loops === 'unroll') return a;
    const r = rollLoops(a.graph);
    if (r.rolled === 0) return a;
    const inner = a.nodeIndex;
    return { ...a, graph: r.graph, nodeIndex: (i) => { const j = inner === undefined ? i : inner(i); return j === undefined ? undefined : r.nodeIndex(j); } };
  };

  const createdHere: tf.Variable[] = [];
  const optimizerStates = new Map<tf.Optimizer, () => void>();
  const hooks: TraceHooks = {
    onVariable: (v) => { createdHere.push(v); },
    ownVariable: (v) => createdHere.includes(v),
    onOptimizer: (o) => { if (!optimizerStates.has(o)) optimizerStates.set(o, snapshotOptimizer(o)); },
    copies: new WeakMap(),
    ...(opts.borrow ? { borrow: true } : {}),
  };
  try {
    const own = anon.map((d) => d.own);
    let done: Attempt;
    try {
      done = attempt(own);
    } catch (err) {
      const grouped = groupAnonymous(err, anon, [...named], attempt, where, () => mentioned);
      if (grouped === undefined) throw err;
      done = grouped;
    }

    const { first, graph, symbols, baseInputs, nodeIndex } = done;
    const hyperPlan = planHyperparams(first.graph, first.optimizers, () => {
      const r = traceOnce(call, baseInputs, graphName, hooks);
      if (r.created.length > 0) throw new Error('created variables');
      return r.graph;
    });
    if (nodeIndex !== undefined) hyperPlan.consts = remapNodeKeys(hyperPlan.consts, nodeIndex);
    const hyper = applyHyperPlan(graph, hyperPlan);
    return { graph, structure: first.structure, inputNames: names, symbols, hyper, guards: hyperPlan.guards, afterCall: optimizerSteps(first.optimizers, first.optimizerSteps) };
  } catch (err) {
    // A failed trace leaves tfjs as it found it: the variables it created (also those given
    // their initial values for a retry between attempts) are unregistered and freed, and the
    // optimizers it stepped get back the slots they had.
    for (const v of createdHere) revokeVariable(v);
    for (const restore of optimizerStates.values()) restore();
    throw err;
  }
}

/**
 * After a failed trace: the finest grouping of the anonymous dims (each group one symbol, or
 * joined to a named dim) with which the function traces; undefined when none does or when the
 * error is not about sizes. Throws when two different groupings trace equally well.
 */
function groupAnonymous(err: unknown, anon: readonly AnonDim[], named: readonly string[], attempt: (classOf: readonly string[]) => Attempt,
  where: (i: number, k: number) => string, mentioned: () => string[]): Attempt | undefined {
  if (anon.length === 0 || (anon.length === 1 && named.length === 0)) return undefined;
  // Errors about sizes: one naming a traced size, or graphc's shape errors. A tfjs op's own check
  // that names no size ("Leading dimension of 'sortedSequence' and 'values' must match.") may be
  // one too: for it, only the first groupings are tried (a few traces, not a search).
  const shapeError = err instanceof GcError && (err.code === Codes.shape || err.code === Codes.matmul || err.code === Codes.tracePolymorphic);
  const initial = mentioned();
  const unnamed = initial.length === 0 && !shapeError;
  if (unnamed && (err instanceof GcError || !(err instanceof Error))) return undefined;
  const maxTries = unnamed ? MAX_UNNAMED_TRIES : MAX_TRIES;

  // Where no grouping traces: the error of the first grouping whose failure is about named dims
  // only (the function ties two dims the user named differently), which says more than the
  // first trace's error about anonymous dims the function also needs equal.
  let namedOnly: unknown;
  const tryOne = (classOf: string[]): Attempt | undefined => {
    try {
      return attempt(classOf);
    } catch (e) {
      const syms = mentioned();
      if (namedOnly === undefined && syms.length > 0 && syms.every((x) => named.includes(x))) namedOnly = e;
      return undefined;
    }
  };
  const describe = (classOf: readonly string[]) => {
    const parts: string[] = [];
    const byClass = new Map<string, string[]>();
    anon.forEach((d, i) => {
      const c = classOf[i]!;
      if (named.includes(c)) parts.push(`${where(d.input, d.axis)} = '${c}'`);
      else byClass.set(c, [...(byClass.get(c) ?? []), where(d.input, d.axis)]);
    });
    for (const group of byClass.values()) if (group.length > 1) parts.push(group.join(' = '));
    return parts.join(', ');
  };

  const ambiguous = (ok: [string[], Attempt][]) => new GcError({
    code: Codes.tracePolymorphic,
    message: `cannot tell which anonymous dims must be equal: the function traces with ${ok.length} different groupings`,
    loc: userLocation(),
    notes: ok.map(([c]) => `traces with ${describe(c)}`),
    help: `give the dims that must agree one name in gc.spec (e.g. 'batch' instead of null for ${describe(ok[0]![0]).split(/, | = /).join(' and ')})`,
  });

  const candidates = groupings(anon, named);
  let tries = 0;
  if (candidates !== undefined) {
    let budgetLeft = true;
    for (const level of candidates) {
      // The finest levels are small (one merge: n(n−1)/2 + n·named); a search that gets this far
      // without a grouping that traces goes on guided by the error.
      if (tries + level.length > maxTries) { budgetLeft = false; break; }
      const ok: [string[], Attempt][] = [];
      for (const c of level) {
        tries++;
        const r = tryOne(c);
        if (r !== undefined) ok.push([c, r]);
      }
      if (ok.length === 1) return ok[0]![1];
      if (ok.length > 1) throw ambiguous(ok);
    }
    if (budgetLeft || unnamed) { // every grouping tried (or all an unnamed error gets): none traces
      if (namedOnly !== undefined) throw namedOnly;
      return undefined;
    }
  }
  if (unnamed) return undefined;
  // Many anonymous dims: group, finest first, only the symbols the last error names (the others
  // keep theirs). A grouping after which the trace fails on other symbols than the ones it joined
  // is progress: it is kept and the search goes on from the new error.
  let classOf = anon.map((d) => d.own);
  let budget = MAX_TRIES;
  for (let step = 0; step < anon.length && budget > 0; step++) {
    const syms = step === 0 ? initial : mentioned();
    const classes = [...new Set(classOf.filter((c) => syms.includes(c) && !named.includes(c)))];
    const namedThere = named.filter((n) => syms.includes(n));
    if (classes.length === 0 || (classes.length === 1 && namedThere.length === 0)) return undefined;
    const levels = groupings(classes.map((c) => ({ input: -1, axis: -1, own: c })), namedThere);
    if (levels === undefined) return undefined;
    let progress: string[] | undefined;
    for (const level of levels) {
      const ok: [string[], Attempt][] = [];
      for (const g of level) {
        if (budget-- <= 0) break;
        const full = classOf.map((c) => { const j = classes.indexOf(c); return j < 0 ? c : g[j]!; });
        try {
          ok.push([full, attempt(full)]);
        } catch {
          // The same conflict, renamed by this grouping, is no progress.
          const before = new Set(syms.map((x) => { const j = classes.indexOf(x); return j < 0 ? x : g[j]!; }));
          const now = new Set(mentioned());
          if (progress === undefined && now.size > 0 && ([...now].some((x) => !before.has(x)) || [...before].some((x) => !now.has(x)))) progress = full;
        }
      }
      if (ok.length === 1) return ok[0]![1];
      if (ok.length > 1) throw ambiguous(ok);
      if (progress !== undefined) break;
    }
    if (progress === undefined) return undefined;
    classOf = progress;
    try {
      return attempt(classOf);
    } catch {
      // `mentioned` now reads this grouping's error.
    }
  }
  return undefined;
}

function errorText(err: unknown): string {
  if (err instanceof GcError) return [err.info.message, ...(err.info.notes ?? [])].join('\n');
  return err instanceof Error ? err.message : String(err);
}

/**
 * The groupings of the anonymous dims, coarser level by level (level n: n dims have given up
 * their own symbol), or undefined when there are too many to try one by one. A grouping maps
 * each anonymous dim to a symbol: its group's first own symbol, or a named dim it joins.
 */
function groupings(anon: readonly AnonDim[], named: readonly string[]): string[][][] | undefined {
  if (anon.length > MAX_ENUMERATED_DIMS || named.length > 4) return undefined;
  const levels: string[][][] = anon.map(() => []);
  const seen = new Set<string>();
  let count = 0;
  const blocksOf = (rgs: number[]) => {
    const blocks: number[][] = [];
    rgs.forEach((b, i) => { (blocks[b] ??= []).push(i); });
    return blocks;
  };
  const visit = (rgs: number[]) => {
    const blocks = blocksOf(rgs);
    // Each group stays anonymous (-1) or joins a named dim (no two groups the same one).
    const assign = (bi: number, used: Set<number>, choice: number[]) => {
      if (bi === blocks.length) {
        const classOf: string[] = new Array(anon.length);
        blocks.forEach((blk, j) => { for (const i of blk) classOf[i] = choice[j]! < 0 ? anon[blk[0]!]!.own : named[choice[j]!]!; });
        const anonGroups = choice.filter((c) => c < 0).length;
        const level = anon.length - anonGroups;
        const key = classOf.join(',');
        if (level > 0 && !seen.has(key)) { seen.add(key); levels[level - 1]!.push(classOf); count++; }
        return;
      }
      assign(bi + 1, used, [...choice, -1]);
      named.forEach((_, n) => { if (!used.has(n)) assign(bi + 1, new Set([...used, n]), [...choice, n]); });
    };
    assign(0, new Set(), []);
  };
  const rec = (rgs: number[], max: number) => {
    if (rgs.length === anon.length) { visit(rgs); return; }
    for (let b = 0; b <= max + 1; b++) rec([...rgs, b], Math.max(max, b));
  };
  rec([0], 0);
  return levels;
}
