/**
 * The execution plan of a fetch/feed signature, built once per signature and shared by every
 * executor: only the nodes the fetches (and, by default, the graph's assignments and prints)
 * need, in graph order, each with its kernel, attrs and value slots (a run's environment is an
 * array), and every intermediate freed after its last use. Binding a plan to the fed shapes
 * checks, once per binding of the symbolic dims, what every node would allocate
 * (tensor_limits.ts) before any kernel runs.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Dim } from '../ir/dim.js';
import { Codes, GcError } from '../ir/errors.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import { typeToString } from '../ir/graph.js';
import { AttrReader } from '../ir/ops.js';
import { nodeEffect } from '../ir/regions.js';
import type { OpKernel } from './kernels/kernel_types.js';
import { NO_TEMPORARIES, OP_KERNELS, isUnsupported } from './kernels/op_kernels.js';
import { tfDtype } from './tensor_data.js';
import { checkPlanSizes } from './tensor_limits.js';
import type { TensorLimit } from './tensor_limits.js';

/** A scheduled node, as the executors read it. */
export interface PlanStep {
  node: Node;
  /** 'control': a control-flow node, run region by region (runtime/control_flow.ts). */
  kind: 'const' | 'assign' | 'kernel' | 'control';
  /** The node's tfjs kernel (undefined: an op the tfjs engines cannot run, or a const / assign). */
  kernel: OpKernel | undefined;
  attrs: AttrReader;
  /** Slots of the operands and results. */
  ins: number[];
  outs: number[];
  /** The tfjs dtype of each result (the graph's type wins over a backend's). */
  outDtypes: string[];
  /** Slots to free after this step ran. */
  frees: number[];
  /** The kernel makes no temporaries: no tf.tidy around it. */
  direct: boolean;
  /** A static reshape of a variable or constant: its view is kept across runs while the operand's data stays the same. */
  cachedView: boolean;
}

export interface Plan {
  fetches: Value[];
  feeds: Value[];
  schedule: Node[];
  /** For each scheduled node, the values to free after it ran. */
  frees: Value[][];
  assigns: Node[];
  /** Per scheduled node: kernel, attrs, value slots. Feeds take slots 0.. in order. */
  steps: PlanStep[];
  /** Slot count of the environment. */
  slots: number;
  slotOf: Map<Value, number>;
  /** Variables the plan reads: [slot, name]. */
  stateSlots: [number, string][];
  /** Bindings whose sizes were checked (checkPlanSizes). */
  sized: Set<string>;
  /** The last run's binding (values in bindDims()'s order) and its key: a run with the same binding computes neither again. */
  lastBinding: number[] | undefined;
  lastKey: string;
}

/** Checked bindings kept per plan (a plan fed ever new batch sizes starts over past this). */
const SIZED_PER_PLAN = 256;

/** Names that can be fetched: outputs, inputs, variables and every named value. */
export function fetchableNames(graph: Graph): string[] {
  const names = new Set<string>(graph.outputs.map((o) => o.name));
  for (const v of graph.values()) if (v.name !== undefined) names.add(v.name);
  return [...names];
}

function resolveFetch(graph: Graph, name: string): Value {
  const out = graph.outputs.find((o) => o.name === name);
  if (out) return out.value;
  for (const v of graph.values()) if (v.name === name) return v;
  throw new GcError({ code: Codes.sessionName, message: `unknown fetch '${name}'`, notes: [`valid names: ${fetchableNames(graph).join(', ')}`],
    help: 'name a value during tracing with gc.name(t, "label") to fetch it' });
}

/** The plan of a signature: fetches by name, feeds by input name (sorted), with or without the graph's assignments. */
export function buildPlan(graph: Graph, fetchNames: string[], feedNames: string[], updates: boolean): Plan {
  const fetches = fetchNames.map((n) => resolveFetch(graph, n));
  const feeds = feedNames.map((n) => {
    const v = graph.inputs.find((i) => i.name === n);
    if (!v) throw new GcError({ code: Codes.sessionName, message: `unknown feed '${n}'`, notes: [`inputs: ${graph.inputs.map((i) => i.name).join(', ') || '(none)'}`] });
    return v;
  });
  const assigns = updates ? graph.nodes.filter((n) => n.op === 'assign') : [];
  // Prints (x.print() in the function) run with every call of it, as its assignments do.
  const prints = updates ? graph.nodes.filter((n) => nodeEffect(n) === 'io') : [];
  const needed = new Set<Node>();
  const stack: Value[] = [...fetches, ...assigns.flatMap((a) => a.inputs), ...prints.flatMap((p) => p.inputs)];
  for (const a of assigns) needed.add(a);
  for (const p of prints) needed.add(p);
  while (stack.length) {
    const v = stack.pop()!;
    if (v.producer && !needed.has(v.producer)) {
      needed.add(v.producer);
      stack.push(...v.producer.inputs);
    }
  }
  const schedule = graph.nodes.filter((n) => needed.has(n));
  for (const n of schedule) {
    for (const v of n.inputs) {
      if (v.kind === 'input' && !feeds.includes(v)) {
        throw new GcError({ code: Codes.sessionName, message: `missing feed for input '${v.name}' (${typeToString(v.type)}), needed by ${n.op}`,
          loc: n.loc, notes: [`inputs: ${graph.inputs.map((i) => i.name).join(', ')}`] });
      }
    }
  }
  for (const v of fetches) {
    if (v.kind === 'input' && !feeds.includes(v)) throw new GcError({ code: Codes.sessionName, message: `missing feed for fetched input '${v.name}'` });
  }
  const last = new Map<Value, number>();
  schedule.forEach((n, i) => n.inputs.forEach((v) => last.set(v, i)));
  const keep = new Set<Value>(fetches);
  for (const a of assigns) keep.add(a.inputs[0]!);
  const frees: Value[][] = schedule.map(() => []);
  for (const [v, i] of last) {
    if (v.kind === 'node' && !keep.has(v) && v.producer?.op !== 'const') frees[i]!.push(v);
  }
  // Outputs of scheduled nodes that nobody uses are freed right away.
  schedule.forEach((n, i) => n.outputs.forEach((v) => { if (!last.has(v) && !keep.has(v)) frees[i]!.push(v); }));
  const slotOf = new Map<Value, number>();
  const slot = (v: Value): number => {
    let i = slotOf.get(v);
    if (i === undefined) { i = slotOf.size; slotOf.set(v, i); }
    return i;
  };
  feeds.forEach(slot);
  const stateSlots: [number, string][] = [];
  const scheduled = new Set(schedule.flatMap((n) => n.inputs));
  for (const st of graph.states) if (scheduled.has(st.value) || fetches.includes(st.value)) stateSlots.push([slot(st.value), st.name]);
  const steps: PlanStep[] = schedule.map((n, i) => {
    const k = n.op === 'const' || n.op === 'assign' || n.regions.length > 0 ? undefined : OP_KERNELS[n.op];
    return {
      node: n,
      kind: n.op === 'const' ? 'const' : n.op === 'assign' ? 'assign' : n.regions.length > 0 ? 'control' : 'kernel',
      kernel: k === undefined || isUnsupported(k) ? undefined : k,
      attrs: new AttrReader(n.op, n.attrs),
      ins: n.inputs.map(slot),
      outs: n.outputs.map(slot),
      outDtypes: n.outputs.map((v) => tfDtype(v.dtype)),
      frees: frees[i]!.map(slot),
      direct: NO_TEMPORARIES.has(n.op) && n.inputs.every((v) => v.dtype === n.inputs[0]!.dtype),
      cachedView: n.op === 'reshape' && (n.inputs[0]!.kind === 'state' || n.inputs[0]!.producer?.op === 'const')
        && (n.attrs.shape as readonly Dim[]).every((d) => typeof d === 'number'),
    };
  });
  fetches.forEach(slot);
  for (const a of assigns) slot(a.inputs[0]!);
  return { fetches, feeds, schedule, frees, assigns, steps, slots: slotOf.size, slotOf, stateSlots, sized: new Set(), lastBinding: undefined, lastKey: '' };
}

/** Binds symbolic dims from the fed tensors, checking every fed shape and dtype. */
export function bindDims(feeds: Map<Value, tf.Tensor>): Map<string, number> {
  const b = new Map<string, number>();
  for (const [v, t] of feeds) {
    const want = v.type;
    const bad = () => new GcError({ code: Codes.inputMismatch, message: `input '${v.name}': expected ${typeToString(want)}, got ${t.dtype}[${t.shape.join(',')}]`,
      notes: [...b].map(([k, n]) => `${k} = ${n}`), help: 'feed a tensor of the declared shape and dtype (symbolic dims must agree across inputs)' });
    if (t.dtype !== tfDtype(want.dtype) || t.shape.length !== want.shape.length) throw bad();
    want.shape.forEach((d, i) => {
      const got = t.shape[i]!;
      if (typeof d === 'number') { if (d !== got) throw bad(); return; }
      if ((got - d.c) % d.k !== 0) throw bad();
      const s = (got - d.c) / d.k;
      const prev = b.get(d.sym);
      if (prev !== undefined && prev !== s) throw bad();
      b.set(d.sym, s);
    });
  }
  return b;
}

/**
 * Binds a plan to a run's binding of the symbolic dims, returning the binding's key ('' when the
 * graph has none). Once per binding, what every node would allocate on `engine` is checked
 * against the limit, before any kernel runs; a run with the last run's binding computes neither.
 */
export function bindPlan(plan: Plan, bindings: Map<string, number>, engine: string, limit: TensorLimit): string {
  if (!sameBinding(plan.lastBinding, bindings)) {
    const key = bindingKey(bindings);
    if (!plan.sized.has(key)) {
      checkPlanSizes(plan.schedule, bindings, engine, limit);
      if (plan.sized.size >= SIZED_PER_PLAN) plan.sized.clear();
      plan.sized.add(key);
    }
    plan.lastBinding = [...bindings.values()];
    plan.lastKey = key;
  }
  return plan.lastKey;
}

/** Whether a binding has the values `last` lists, in its order (bindDims() sets symbols in the same order on every run of a plan). */
function sameBinding(last: readonly number[] | undefined, bindings: Map<string, number>): boolean {
  if (last === undefined || last.length !== bindings.size) return false;
  let i = 0;
  for (const v of bindings.values()) if (last[i++] !== v) return false;
  return true;
}

/** A binding of the symbolic dims as a key ('' when the graph has none). */
function bindingKey(bindings: Map<string, number>): string {
  return [...bindings].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(',');
}
