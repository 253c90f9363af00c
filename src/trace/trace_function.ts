/**
 * Tracing a function for a signature: concrete sizes for symbolic dims, a warm-up trace when
 * the function creates variables, unification of the traces into one symbolic graph.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GcError } from '../../ir/errors.js';
import type { Graph } from '../../ir/graph.js';
import type { TensorSpec } from './spec.js';
import { paramNames } from './spec.js';
import type { ConcreteInput, OutputStructure, TraceResult } from './tracer.js';
import { traceOnce } from './tracer.js';
import { makePlan, unify } from './unify.js';
import { userLocation } from './source_loc.js';
import type { TraceGuard } from './hyperparams.js';
import { applyHyperPlan, planHyperparams } from './hyperparams.js';

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
}

/** Evaluates the created variables' initial values and gives each variable real data. */
export type Materialize = (trace: TraceResult) => void;

export function inputNamesFor(fn: Function, specs: readonly TensorSpec[]): string[] {
  const params = paramNames(fn);
  const used = new Set<string>();
  return specs.map((s, i) => {
    let n = s.name ?? params[i] ?? `input_${i}`;
    if (used.has(n)) n = `${n}_${i}`;
    used.add(n);
    return n;
  });
}

export function traceFunction(fn: (...args: tf.Tensor[]) => unknown, specs: readonly TensorSpec[], materialize: Materialize, graphName = 'f'): TracedFunction {
  const names = inputNamesFor(fn, specs);
  let anon = 0;
  const symbols = specs.map((s) => s.shape.map((d) => (typeof d === 'number' ? null : d === null ? `_${anon++}` : d)));
  const symList = [...new Set(symbols.flat().filter((x): x is string => x !== null))];
  const plan = makePlan(symList);
  const concrete = (sizes: number[]): ConcreteInput[] => specs.map((s, i) => ({
    name: names[i]!,
    dtype: s.dtype,
    shape: symbols[i]!.map((sy, k) => (sy === null ? (s.shape[k] as number) : sizes[symList.indexOf(sy)]!)),
  }));
  if (fn.length > specs.length) {
    throw new GcError({ code: 'GC0401', message: `the function takes ${fn.length} parameters but ${specs.length} input specs were given`,
      loc: userLocation(), help: 'give one gc.spec per parameter in {inputs: [...]}' });
  }
  let first = traceOnce(fn, concrete(plan.sizes[0]!), graphName);
  if (first.created.length > 0) {
    materialize(first);
    first = traceOnce(fn, concrete(plan.sizes[0]!), graphName);
    if (first.created.length > 0) {
      throw new GcError({ code: 'GC0105', message: `the function creates new variables on every call (${first.created.map((c) => c.variable.name).join(', ')})`,
        help: 'create variables (and optimizers) outside the function, or only on the first call, as with tf.function' });
    }
  }
  const base = first.graph;
  const hyperPlan = planHyperparams(base, first.optimizers, () => {
    const r = traceOnce(fn, concrete(plan.sizes[0]!), graphName);
    if (r.created.length > 0) throw new Error('created variables');
    return r.graph;
  });
  const finish = (graph: Graph): TracedFunction => {
    const hyper = applyHyperPlan(graph, hyperPlan);
    return { graph, structure: first.structure, inputNames: names, symbols, hyper, guards: hyperPlan.guards };
  };
  if (symList.length === 0) return finish(base);
  const graphs = [first.graph];
  for (const sizes of plan.sizes.slice(1)) {
    const r = traceOnce(fn, concrete(sizes), graphName);
    if (r.created.length > 0) throw new GcError({ code: 'GC0105', message: 'the function created variables in a later trace', help: 'create variables outside the function' });
    graphs.push(r.graph);
  }
  return finish(unify(graphs, plan));
}

