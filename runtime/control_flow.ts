/**
 * The region interpreter of the tfjs engines: runs a control-flow node (cond, while_loop, scan:
 * ir/control_flow.ts) step by step, each region as a sub-plan of its own (runtime/plan.ts) on
 * the session's backend, through the executor that runs the enclosing plan (so intermediates
 * are freed after their last use inside a region as outside).
 *
 * - cond reads its predicate (one element; nonzero is true) and runs the region it picks.
 * - while_loop runs `cond`, then `body`, until `cond` yields false or `maximum_iterations` bodies
 *   ran; past the session's loop budget (maxLoopIterations, default 10^6 bodies per loop) it
 *   stops with a GcError rather than hang.
 * - scan slices each x along axis 0, runs the body per slice (from the last when reverse), and
 *   stacks each y along a new axis 0 at the index of its slice.
 *
 * A region's symbolic dims are bound from the tensors it is fed (bindDims), over the enclosing
 * binding: a data-dependent dim (`_dyn…`) is known once its value exists. Each run of a region
 * draws its own random numbers: under a session seed, the seed of a random op in a region mixes
 * in the iteration and the enclosing op's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { evalShape } from '../ir/dim.js';
import type { Dim } from '../ir/dim.js';
import { Codes, GcError } from '../ir/errors.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import { typeToString } from '../ir/graph.js';
import type { ExecCtx } from './kernels/kernel_types.js';
import type { RunFrame, RunResult } from './executors/executor.js';
import { bindDims, bindPlan, buildPlan } from './plan.js';
import type { Plan } from './plan.js';
import { directCallsAllowed, engineInternals } from './backends/tfjs_engine.js';
import { tfDtype } from './tensor_data.js';
import type { Dt, WasmBackendLike } from './wasm/tfjs_wasm.js';
import { BYTES, wasmBackend } from './wasm/tfjs_wasm.js';
import type { TensorLimit } from './tensor_limits.js';
import { describeNode } from './tensor_limits.js';

/** Bodies one while_loop (or scan) may run per execution unless the session says otherwise. */
export const DEFAULT_MAX_LOOP_ITERATIONS = 1_000_000;

export interface ControlFlowOptions {
  /** The session's per-tensor limit, checked in regions as in the enclosing plan. */
  readonly tensorLimit: TensorLimit;
  /** Bodies one loop may run in one execution before it fails (a loop that never ends). */
  readonly maxLoopIterations: number;
}

/** Runs a sub-plan frame (the executor of the enclosing plan). */
export type RunSubPlan = (frame: RunFrame) => RunResult;

function mix(a: number, b: number): number {
  let h = (a ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (b >>> 0), 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Slice `i` of `x` along axis 0 on tfjs-backend-wasm: its bytes copied within the heap into a new tensor. */
function heapSlice(be: WasmBackendLike, x: tf.Tensor, i: number): tf.Tensor {
  const shape = x.shape.slice(1);
  const bytes = tf.util.sizeFromShape(shape) * BYTES[x.dtype as Dt];
  const out = be.makeOutput(shape, x.dtype);
  const from = be.dataIdMap.get(x.dataId)!.memoryOffset + i * bytes;
  // Read the heap only now: making the output may have grown it.
  be.wasm.HEAPU8.copyWithin(be.dataIdMap.get(out.dataId)!.memoryOffset, from, from + bytes);
  const engine = engineInternals();
  return engine.makeTensorFromTensorInfo(out, engine.backend);
}

/** Whether a one-element predicate tensor holds (nonzero), read synchronously on the session's backend. */
function truthy(t: tf.Tensor, n: Node, backend: string): boolean {
  let d: ArrayLike<number | bigint>;
  try {
    d = t.dataSync() as ArrayLike<number>;
  } catch (e) {
    if (backend !== 'webgpu') throw e;
    // tfjs-webgpu reads a GPU buffer synchronously through OffscreenCanvas, which Node does not have.
    throw new GcError({ code: Codes.runtime, loc: n.loc,
      message: `while executing ${describeNode(n)}: the predicate computed on webgpu cannot be read synchronously here (${(e as Error).message})`,
      help: "control flow reads its predicates while the graph runs; run it on backend 'cpu', 'wasm' or 'tensorflow' (or 'onnxruntime' once control flow exports), or in a browser, where tfjs-webgpu reads synchronously" });
  }
  if (d.length !== 1) throw new Error(`a predicate must have one element, got shape [${t.shape.join(',')}]`);
  return Number(d[0]) !== 0 && !Number.isNaN(Number(d[0]));
}

/** A region's sub-plan and what each run of it needs, made once. */
interface RegionPlan {
  readonly plan: Plan;
  /** Per plan feed: its block argument's index (the tensor fed to it). */
  readonly feedArg: readonly number[];
  /** Whether a block argument has a symbolic dim (bound from what it is fed on each run). */
  readonly symbolic: boolean;
}

/** The kernels' context inside a region: dims under the region's binding, a seed per node and step. */
class RegionCtx implements ExecCtx {
  /** The node running now (its id seeds a random op). */
  inner = 0;
  constructor(readonly backend: string, private readonly bindings: Map<string, number>, private readonly base: number | undefined) {}
  dim(d: Dim): number { return typeof d === 'number' ? d : evalShape([d], this.bindings)[0]!; }
  dims(ds: readonly Dim[]): number[] { return evalShape(ds, this.bindings); }
  seedFor(s: number): number | undefined { return s >= 0 ? s : this.base === undefined ? undefined : mix(this.base, this.inner); }
}

/** One run of a region's sub-plan, as its executor reads it. */
class RegionFrame implements RunFrame {
  readonly owned: boolean[];
  constructor(readonly plan: Plan, readonly env: (tf.Tensor | undefined)[], readonly bindings: Map<string, number>, readonly key: string,
    readonly ctx: RegionCtx, readonly consts: RunFrame['consts']) {
    this.owned = new Array<boolean>(plan.slots).fill(false);
  }
  onNode(id: number): void { this.ctx.inner = id; }
}

export class ControlFlowRunner {
  /** Sub-plans by region (a region is run with all its inputs fed and all its outputs fetched). */
  private readonly plans = new WeakMap<Graph, RegionPlan>();

  constructor(private readonly opts: ControlFlowOptions) {}

  private planOf(r: Graph): RegionPlan {
    let p = this.plans.get(r);
    if (p === undefined) {
      // With updates: a region's prints run with every run of it (regions assign nothing).
      const plan = buildPlan(r, r.outputs.map((o) => o.name), r.inputs.map((v) => v.name!), true);
      p = { plan, feedArg: plan.feeds.map((v) => v.index), symbolic: r.inputs.some((v) => v.shape.some((d) => typeof d !== 'number')) };
      this.plans.set(r, p);
    }
    return p;
  }

  /** The binding a region runs under: the enclosing one, with the dims its block arguments bind from what they are fed. */
  private bind(n: Node, r: Graph, rp: RegionPlan, feeds: readonly tf.Tensor[], parent: RunFrame): Map<string, number> {
    const bad = (why: string) => new GcError({ code: Codes.runtime, loc: n.loc,
      message: `while executing ${describeNode(n)}: region '${r.name}' is fed ${feeds.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(', ')}, its block arguments are ${r.inputs.map((v) => typeToString(v.type)).join(', ')}`,
      notes: [why], help: 'a loop body changed the shape of a carried value that is not declared data-dependent' });
    if (!rp.symbolic) {
      // Static block arguments: the shapes must be theirs (what the verifier proved of the graph).
      const ins = r.inputs;
      for (let i = 0; i < ins.length; i++) {
        const want = ins[i]!.shape, got = feeds[i]!.shape;
        if (want.length !== got.length || want.some((d, k) => d !== got[k])) throw bad(`block argument ${i}`);
      }
      return parent.bindings;
    }
    const fed = new Map<Value, tf.Tensor>();
    rp.plan.feeds.forEach((v, i) => fed.set(v, feeds[rp.feedArg[i]!]!));
    let own: Map<string, number>;
    try {
      own = bindDims(fed);
    } catch (e) {
      throw bad((e as Error).message.split('\n')[0]!);
    }
    let same = true;
    for (const [k, v] of own) if (parent.bindings.get(k) !== v) { same = false; break; }
    if (same) return parent.bindings;
    const bindings = new Map(parent.bindings);
    for (const [k, v] of own) bindings.set(k, v);
    return bindings;
  }

  /**
   * Runs region `r` of node `n` on `feeds` (one per block argument, not taken over) and returns
   * what it yields (owned by the caller). `seedBase` is the enclosing random state (undefined:
   * unseeded), `step` the iteration.
   */
  private runRegion(n: Node, r: Graph, feeds: readonly tf.Tensor[], parent: RunFrame, seedBase: number | undefined, step: number, sub: RunSubPlan): tf.Tensor[] {
    const rp = this.planOf(r);
    const plan = rp.plan;
    const env: (tf.Tensor | undefined)[] = new Array(plan.slots);
    for (let i = 0; i < rp.feedArg.length; i++) env[i] = feeds[rp.feedArg[i]!];
    const bindings = this.bind(n, r, rp, feeds, parent);
    const key = bindPlan(plan, bindings, parent.ctx.backend, this.opts.tensorLimit);
    const ctx = new RegionCtx(parent.ctx.backend, bindings, seedBase === undefined ? undefined : mix(seedBase, step));
    const frame = new RegionFrame(plan, env, bindings, key, ctx, parent.consts);
    try {
      return sub(frame).outputs;
    } finally {
      const owned = frame.owned;
      for (let i = 0; i < env.length; i++) if (owned[i]) env[i]!.dispose();
    }
  }

  /** Runs a control-flow node on its operands (not taken over); returns its results (owned by the caller). */
  run(n: Node, ins: readonly tf.Tensor[], parent: RunFrame, sub: RunSubPlan): tf.Tensor[] {
    const seedBase = parent.ctx.seedFor(-1);
    switch (n.op) {
      case 'cond': {
        const pred = truthy(ins[0]!, n, parent.ctx.backend);
        return this.runRegion(n, n.regions[pred ? 0 : 1]!, ins.slice(1), parent, seedBase, pred ? 0 : 1, sub);
      }
      case 'while_loop': return this.runWhile(n, ins, parent, seedBase, sub);
      case 'scan': return this.runScan(n, ins, parent, seedBase, sub);
      default: throw new Error(`${n.op} is not a control-flow op`);
    }
  }

  private budgetError(n: Node, count: number): GcError {
    return new GcError({ code: Codes.runtime, loc: n.loc,
      message: `while executing ${describeNode(n)}: the loop ran ${count} times without ending (the session's loop budget)`,
      help: 'check the loop condition; if the loop is meant to run that long, raise the Session option maxLoopIterations, or set maximum_iterations on the loop' });
  }

  private runWhile(n: Node, ins: readonly tf.Tensor[], parent: RunFrame, seedBase: number | undefined, sub: RunSubPlan): tf.Tensor[] {
    const [condR, body] = n.regions as [Graph, Graph];
    const count = body.outputs.length;
    const caps = ins.slice(count);
    const max = n.attrs.maximum_iterations as number | undefined;
    let vars: tf.Tensor[] = ins.slice(0, count);
    let mine = false;
    try {
      for (let i = 0; ; i++) {
        if (max !== undefined && i >= max) break;
        const [c] = this.runRegion(n, condR, [...vars, ...caps], parent, seedBase, 2 * i, sub);
        let go: boolean;
        try { go = truthy(c!, n, parent.ctx.backend); } finally { c!.dispose(); }
        if (!go) break;
        if (i >= this.opts.maxLoopIterations) throw this.budgetError(n, i);
        const next = this.runRegion(n, body, [...vars, ...caps], parent, seedBase, 2 * i + 1, sub);
        if (mine) for (const t of vars) t.dispose();
        vars = next;
        mine = true;
      }
    } catch (e) {
      if (mine) for (const t of vars) t.dispose();
      throw e;
    }
    return mine ? vars : vars.map((t) => t.clone());
  }

  private runScan(n: Node, ins: readonly tf.Tensor[], parent: RunFrame, seedBase: number | undefined, sub: RunSubPlan): tf.Tensor[] {
    const [body] = n.regions as [Graph];
    const nc = n.attrs.num_carries as number, nx = n.attrs.num_xs as number;
    const reverse = n.attrs.reverse as boolean;
    const xs = ins.slice(nc, nc + nx), caps = ins.slice(nc + nx);
    const length = xs[0]!.shape[0]!;
    if (length > this.opts.maxLoopIterations) throw this.budgetError(n, length);
    const ny = body.outputs.length - nc;
    let carries: tf.Tensor[] = ins.slice(0, nc);
    let mine = false;
    const ys: tf.Tensor[][] = Array.from({ length: ny }, () => new Array<tf.Tensor>(length));
    const slices: tf.Tensor[][] = [];
    let done = false;
    try {
      // On wasm each step's slice is copied out of the heap when it is needed: tfjs-backend-wasm's
      // Slice (and so Unpack) copies the whole tensor to JavaScript for every slice it makes.
      const onHeap = parent.ctx.backend === 'wasm' && directCallsAllowed() ? wasmBackend() : undefined;
      for (const x of xs) slices.push(onHeap !== undefined && x.dtype in BYTES ? new Array<tf.Tensor>(length) : tf.unstack(x));
      for (let k = 0; k < length; k++) {
        const t = reverse ? length - 1 - k : k;
        xs.forEach((x, j) => { if (slices[j]![t] === undefined) slices[j]![t] = heapSlice(onHeap!, x, t); });
        const outs = this.runRegion(n, body, [...carries, ...slices.map((s) => s[t]!), ...caps], parent, seedBase, k, sub);
        for (const s of slices) s[t]!.dispose();
        if (mine) for (const c of carries) c.dispose();
        carries = outs.slice(0, nc);
        mine = true;
        outs.slice(nc).forEach((y, j) => { ys[j]![t] = y; });
      }
      const stacked = ys.map((steps, j) => {
        if (length > 0) return tf.stack(steps);
        const y = n.outputs[nc + j]!;
        return tf.zeros(evalShape(y.shape, parent.bindings), tfDtype(y.dtype) as tf.DataType);
      });
      done = true;
      return [...(mine ? carries : carries.map((c) => c.clone())), ...stacked];
    } finally {
      if (!done && mine) for (const c of carries) c.dispose();
      for (const s of slices) for (const t of s) if (t !== undefined && !t.isDisposed) t.dispose();
      for (const steps of ys) for (const t of steps) if (t !== undefined && !t.isDisposed) t.dispose();
    }
  }
}
