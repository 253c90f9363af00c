/**
 * The onnxruntime engine (backend 'onnxruntime'): a Session's plans run in ONNX Runtime
 * (onnxruntime-node, an optional dependency loaded on first use).
 *
 * - Per plan (fetches, feeds, updates) the graph's part that the plan runs is exported
 *   (exporters/onnx/export: the fetched node values as outputs, the feeds and the variables it
 *   reads as inputs, the new value of each assigned variable as an output) and one ORT
 *   InferenceSession is created for it, once. Symbolic dims stay symbolic (dim_param): ORT
 *   serves every binding with the one session.
 * - Fetched inputs and variables are served without ORT; any named value can be fetched.
 * - Variables: the engine remembers, per tfjs data (dataId: tfjs never changes a tensor's data in
 *   place), the ORT tensor that holds it: the values it read from a variable, and each new value
 *   it handed back. A run that reads the same data again feeds that ORT tensor (no copy); a
 *   variable assigned in between (new data) is read once.
 * - Random ops: ORT's generators, seeded per node when the Session has a seed (each run draws
 *   fresh values; two sessions with the same seed draw the same sequence), else ORT's own.
 * - Copies that remain: a feed on a backend other than tfjs-cpu is read into JavaScript once
 *   (tfjs-cpu tensors are passed as they are); int64 values are widened from tfjs's int32 and
 *   narrowed back (checked); ORT copies each output from native memory into a JavaScript
 *   array, which becomes a tfjs-cpu tensor without another copy.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as ortNs from 'onnxruntime-node';
import { Codes, GcError } from '../../ir/errors.js';
import type { Graph, GraphOutput, Node, Value } from '../../ir/graph.js';
import type { Dim } from '../../ir/dim.js';
import { evalShape } from '../../ir/dim.js';
import { AttrReader, OPS } from '../../ir/ops.js';
import { OP_KERNELS } from '../kernels/op_kernels.js';
import type { ExecCtx, OpKernel } from '../kernels/kernel_types.js';
import { bindDims } from '../plan.js';
import { engineInternals, holderOf, withBackend } from '../backends/tfjs_engine.js';
import type { DType } from '../../ir/dtype.js';
import type { TensorData } from '../../ir/tensor_data.js';
import { exportOnnx } from '../../exporters/onnx/export/export.js';
import type { Plan } from '../plan.js';
import { checkFitsInt64AsInt32 } from '../tensor_limits.js';
import type { ExecutionProvider, Ort } from '../backends/onnxruntime.js';
import type { OrtModelSession } from '../backends/onnxruntime.js';
import { defaultIntraOpThreads, openModel, openModelNow, ortRunsSynchronously } from '../backends/onnxruntime.js';
import type { RunResult } from './executor.js';

/** What one plan runs in ORT: its session, and which value each input and output is. */
interface PlanSession {
  session: OrtModelSession;
  /** ORT input name → the plan's feed, a variable's name, or a random op tfjs draws. */
  inputs: { name: string; feed?: Value; variable?: string; drawn?: Node; dtype: DType }[];
  /** The draws of the `drawn` inputs per binding of the symbolic dims (an op seed draws the same values every run). */
  draws: Map<string, Map<Node, ortNs.Tensor>>;
  /** ORT output name → the fetched value. */
  outputs: { name: string; value: Value }[];
  /** ORT output name → the variable it assigns. */
  updates: { name: string; variable: string; dtype: DType }[];
  /** Variables baked in as initializers, with the tfjs data they held. */
  baked: { variable: string; dataId: object }[];
}

export interface OrtEngineOptions {
  providers: readonly ExecutionProvider[];
  seed?: number;
  /** Threads of ORT's CPU engine (default: defaultIntraOpThreads()). */
  intraOpThreads?: number;
}

/** ORT tensors by the tfjs data (dataId) they hold: variables read, new values handed back. */
type Handed = WeakMap<object, ortNs.Tensor>;

/** A plan's ORT session, and what it was built on. */
interface PlanEntry {
  session: Promise<PlanSession>;
  /** The session once made (known synchronously). */
  ready?: PlanSession;
  /** Variables that changed while the plan only read them: inputs from now on, never baked again. */
  volatile: Set<string>;
}

export class OrtEngine {
  private readonly sessions = new Map<Plan, PlanEntry>();
  private handed: Handed = new WeakMap();
  private disposed = false;

  constructor(private readonly ort: Ort, private readonly graph: Graph, private readonly opts: OrtEngineOptions) {}

  /**
   * The ORT session of a plan, made on first use. Variables the plan reads but never assigns are
   * baked in as initializers (ORT folds and prepacks constant weights: a 784-256-128-10 MLP ran
   * 1.9× slower at batch 64 with its weights as inputs); when one of them changed since (a new
   * dataId), the session is made again with that variable as an input, for good.
   */
  private async sessionFor(plan: Plan, state: (name: string) => tf.Tensor): Promise<PlanSession> {
    let entry = this.sessions.get(plan);
    if (entry !== undefined) {
      const ps = await entry.session;
      const changed = ps.baked.filter((b) => state(b.variable).dataId !== b.dataId);
      if (changed.length === 0) return ps;
      for (const b of changed) entry.volatile.add(b.variable);
      ps.session.release();
    } else {
      entry = { session: Promise.resolve(undefined as unknown as PlanSession), volatile: new Set() };
      this.sessions.set(plan, entry);
    }
    const e = entry;
    e.ready = undefined;
    e.session = this.build(plan, state, e.volatile);
    e.session.then((ps) => { e.ready = ps; }, () => { if (this.sessions.get(plan) === e) this.sessions.delete(plan); });
    return e.session;
  }

  /**
   * The plan's session made now, where ORT loads models synchronously (onnxruntime-node's native
   * binding), as sessionFor makes it: true when runNow can then run the plan. False (nothing
   * made) without the native binding, for a plan ORT has nothing to run for, or while the plan's
   * session is being made asynchronously. Throws what ORT or the exporter threw.
   */
  prepareNow(plan: Plan, state: (name: string) => tf.Tensor): boolean {
    if (this.disposed || !ortRunsSynchronously() || !(plan.fetches.some((v) => v.kind === 'node') || plan.assigns.length > 0)) return false;
    const stateOf = memoState(state);
    let entry = this.sessions.get(plan);
    if (entry !== undefined) {
      const ready = entry.ready;
      if (ready === undefined) return false;
      const changed = ready.baked.filter((b) => stateOf(b.variable).dataId !== b.dataId);
      if (changed.length === 0) return ready.session.native;
      for (const b of changed) entry.volatile.add(b.variable);
      ready.session.release();
      entry.ready = undefined;
    } else {
      entry = { session: Promise.resolve(undefined as unknown as PlanSession), volatile: new Set() };
      this.sessions.set(plan, entry);
    }
    try {
      const d = this.describe(plan, stateOf, entry.volatile);
      const ps = d.make(openModelNow(d.bytes, d.options)!);
      entry.ready = ps;
      entry.session = Promise.resolve(ps);
      return true;
    } catch (e) {
      if (this.sessions.get(plan) === entry) this.sessions.delete(plan);
      throw e;
    }
  }

  private async build(plan: Plan, state: (name: string) => tf.Tensor, volatile: ReadonlySet<string>): Promise<PlanSession> {
    const d = this.describe(plan, state, volatile);
    return d.make(await openModel(this.ort, d.bytes, d.options));
  }

  /** A plan's model (exported as the engine runs it) and its ORT session options; make() completes the PlanSession with the session opened. */
  private describe(plan: Plan, state: (name: string) => tf.Tensor, volatile: ReadonlySet<string>): { bytes: Uint8Array; options: ortNs.InferenceSession.SessionOptions; make: (session: OrtModelSession) => PlanSession } {
    const graph = this.seeded();
    const byId = new Map<number, Value>();
    for (const v of graph.values()) byId.set(v.id, v);
    const mine = (v: Value): Value => byId.get(v.id) ?? v;
    const outputs: GraphOutput[] = [];
    const seen = new Set<Value>();
    for (const v of plan.fetches) {
      if (v.kind !== 'node' || seen.has(v)) continue;
      seen.add(v);
      outputs.push({ name: v.name ?? `fetch_${v.id}`, value: mine(v) });
    }
    // The variables the plan reads and does not assign, with their current data.
    const assigned = new Set(plan.assigns.map((a) => String(a.attrs.var)));
    const constants = new Map<string, TensorData>();
    const baked: { variable: string; dataId: object }[] = [];
    for (const [, name] of plan.stateSlots) {
      if (assigned.has(name) || volatile.has(name)) continue;
      const t = state(name);
      const st = graph.stateByName(name)!;
      constants.set(name, tensorDataOf(t, st.value.dtype, () => `variable '${name}'`));
      baked.push({ variable: name, dataId: t.dataId });
    }
    // Random ops seeded in the user's code (an op seed) are drawn by tfjs, as every tfjs engine
    // and eager tfjs draw them, and fed: the same values on every engine. Unseeded ones stay in
    // the model and draw from ORT's generators.
    const drawn = plan.schedule.filter((n) => OPS[n.op].effect === 'random' && typeof n.attrs.seed === 'number' && n.attrs.seed >= 0);
    const ex = exportOnnx(graph, { state: 'inputs' }, {
      outputs, inputs: plan.feeds.map(mine), updates: plan.assigns.length > 0, constants, fed: drawn.map((n) => mine(n.outputs[0]!)),
    });
    const inputs: PlanSession['inputs'] = ex.graph.inputs.map((i, k) => {
      if (k < plan.feeds.length) return { name: i.name, feed: plan.feeds[k]!, dtype: i.dtype };
      if (k < plan.feeds.length + drawn.length) return { name: i.name, drawn: drawn[k - plan.feeds.length]!, dtype: i.dtype };
      const st = ex.state.find((x) => x.input === i.name)!;
      return { name: i.name, variable: st.variable, dtype: i.dtype };
    });
    const threads = this.opts.intraOpThreads ?? defaultIntraOpThreads();
    const options: ortNs.InferenceSession.SessionOptions = {
      executionProviders: [...this.opts.providers],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      ...(threads !== undefined ? { intraOpNumThreads: threads } : {}),
      // ORT's MatmulTransposeFusion makes a FusedMatMul of a Transpose and a batched MatMul,
      // which killed the process with SIGFPE where a dim was 0 at run time (fuzz seed 1003642:
      // [4, batch, 3] · [1, 3, 3] at batch 0) and left the result uninitialised where the inner
      // dim was 0 (seed 200167). The Transpose and MatMul run as they are.
      extra: { optimization: { disable_specified_optimizers: 'MatmulTransposeFusion' } },
    };
    return {
      bytes: ex.bytes,
      options,
      make: (session) => ({
        session,
        inputs,
        draws: new Map(),
        baked,
        outputs: outputs.map((o, i) => ({ name: ex.graph.outputs[i]!.name, value: plan.fetches.find((f) => f.id === o.value.id)! })),
        updates: ex.state.filter((s) => s.output !== undefined).map((s) => ({ name: s.output!, variable: s.variable, dtype: graph.stateByName(s.variable)!.value.dtype })),
      }),
    };
  }

  /** The graph to export: with a session seed, each unseeded random op gets a seed of its own. */
  private seeded(): Graph {
    const seed = this.opts.seed;
    if (seed === undefined || !this.graph.nodes.some((n) => (n.op === 'random_uniform' || n.op === 'random_normal') && (n.attrs.seed as number) < 0)) return this.graph;
    const g = this.graph.clone();
    for (const n of g.nodes) {
      if ((n.op === 'random_uniform' || n.op === 'random_normal') && (n.attrs.seed as number) < 0) n.attrs = { ...n.attrs, seed: mixSeed(seed, n.id) };
    }
    return g;
  }

  /**
   * Runs a plan: `feeds` by the plan's feed values (tensors on any tfjs backend), `state` reads a
   * variable's current value. Returns the fetched tensors (tfjs-cpu) and, with updates, each
   * assigned variable's new value; the caller owns them.
   */
  async run(plan: Plan, feeds: ReadonlyMap<Value, tf.Tensor>, state: (name: string) => tf.Tensor): Promise<RunResult> {
    if (this.disposed) throw new GcError({ code: Codes.runtime, message: 'this Session was disposed' });
    // Read before the first await: once this returns its promise, the caller may free its
    // tensors or assign its variables (gc.compile holds nothing on this path).
    const stateOf = memoState(state);
    const b = this.begin(plan, feeds, stateOf);
    const needsOrt = plan.fetches.some((v) => v.kind === 'node') || plan.assigns.length > 0;
    // The session made before, if nothing it baked in changed (no await then), else made now.
    const ready = this.sessions.get(plan)?.ready;
    const fresh = ready !== undefined && ready.baked.every((x) => stateOf(x.variable).dataId === x.dataId) ? ready : undefined;
    const ps = !needsOrt ? undefined : fresh ?? await this.sessionFor(plan, stateOf);
    if (ps === undefined) return this.complete(plan, b, undefined, undefined);
    const ortFeeds = this.feedsFor(ps, b, feeds, stateOf);
    const r = this.guarded(ps, ortFeeds, () => ps.session.run(ortFeeds));
    return this.complete(plan, b, ps, ps.session.native ? r as Record<string, ortNs.Tensor> : await this.guardedAsync(ps, ortFeeds, r));
  }

  /**
   * run(), synchronously, where the plan's session is made, runs synchronously (the native
   * binding) and baked in nothing that changed since; else undefined, having read nothing.
   * Saves the promise hops of the asynchronous path (gc.compile and Session use it first).
   */
  runNow(plan: Plan, feeds: ReadonlyMap<Value, tf.Tensor>, state: (name: string) => tf.Tensor): RunResult | undefined {
    if (this.disposed) return undefined;
    const ready = this.sessions.get(plan)?.ready;
    if (ready === undefined || !ready.session.native || !(plan.fetches.some((v) => v.kind === 'node') || plan.assigns.length > 0)) return undefined;
    const stateOf = memoState(state);
    if (!ready.baked.every((x) => stateOf(x.variable).dataId === x.dataId)) return undefined;
    // Synchronous from here to ORT's return: feeds held by tfjs-wasm are passed as views of its heap,
    // and variables are read as they are fed.
    const b = this.begin(plan, feeds, stateOf, true);
    const ortFeeds = this.feedsFor(ready, b, feeds, stateOf);
    return this.complete(plan, b, ready, this.guarded(ready, ortFeeds, () => ready.session.run(ortFeeds)) as Record<string, ortNs.Tensor>);
  }

  /** What a run reads before ORT runs: feeds as ORT tensors, fetched inputs and variables copied, variables' ORT tensors. */
  private begin(plan: Plan, feeds: ReadonlyMap<Value, tf.Tensor>, stateOf: (name: string) => tf.Tensor, sync = false): Begun {
    const fed = new Map<Value, ortNs.Tensor>();
    for (const v of plan.feeds) fed.set(v, toOrt(this.ort, feeds.get(v)!, v.dtype, () => `input '${v.name}'`, sync));
    let direct: Map<Value, tf.Tensor> | undefined;
    for (const v of plan.fetches) {
      if (v.kind === 'node' || direct?.has(v)) continue;
      direct ??= new Map();
      // Copied onto tfjs-cpu as the other results are: tf.clone() would run on the global
      // backend, and tfjs moving a tfjs-cpu tensor kept in another array type (a float32 cast
      // from bool or int32 keeps a Uint8Array or Int32Array) to wasm copies its bytes as floats.
      if (v.kind === 'input') direct.set(v, cpuCopy(feeds.get(v)!));
      else if (v.kind === 'state') direct.set(v, cpuCopy(stateOf(this.graph.states[v.index]!.name)));
    }
    // Variables fed to ORT, read now (before an await); a synchronous run reads them as it feeds them (feedsFor).
    let vars: Map<string, ortNs.Tensor> | undefined;
    if (!sync) {
      const ready = this.sessions.get(plan)?.ready;
      for (const [, name] of plan.stateSlots) {
        if (ready?.baked.some((x) => x.variable === name && x.dataId === stateOf(name).dataId)) continue;
        (vars ??= new Map()).set(name, this.ortOf(stateOf(name), name));
      }
    }
    return { fed, direct, vars };
  }

  /** The ORT feeds of a run on `ps`. */
  private feedsFor(ps: PlanSession, b: Begun, feeds: ReadonlyMap<Value, tf.Tensor>, stateOf: (name: string) => tf.Tensor): Record<string, ortNs.Tensor> {
    const ortFeeds: Record<string, ortNs.Tensor> = {};
    for (const i of ps.inputs) {
      if (i.drawn !== undefined) ortFeeds[i.name] = this.draw(ps, i.drawn, i.dtype, feeds);
      else ortFeeds[i.name] = i.variable !== undefined ? b.vars?.get(i.variable) ?? this.ortOf(stateOf(i.variable), i.variable) : b.fed.get(i.feed!)!;
    }
    return ortFeeds;
  }

  /** Calls ORT; its errors as GcErrors naming what was fed. */
  private guarded<T>(ps: PlanSession, ortFeeds: Record<string, ortNs.Tensor>, f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw ortError(ps, ortFeeds, e);
    }
  }

  private async guardedAsync(ps: PlanSession, ortFeeds: Record<string, ortNs.Tensor>, r: unknown): Promise<Record<string, ortNs.Tensor>> {
    try {
      return await (r as Promise<Record<string, ortNs.Tensor>>);
    } catch (e) {
      throw ortError(ps, ortFeeds, e);
    }
  }

  /** The run's results from ORT's outputs and the values served without it. */
  private complete(plan: Plan, b: Begun, ps: PlanSession | undefined, out: Record<string, ortNs.Tensor> | undefined): RunResult {
    const results = new Map<Value, tf.Tensor>();
    const updates = new Map<string, tf.Tensor>();
    if (ps !== undefined && out !== undefined) {
      for (const o of ps.outputs) results.set(o.value, fromOrt(out[o.name] as ortNs.Tensor, o.value.dtype, o.value));
      for (const u of ps.updates) {
        const ot = out[u.name] as ortNs.Tensor;
        const t = fromOrt(ot, u.dtype);
        this.handed.set(t.dataId, ot);
        updates.set(u.variable, t);
      }
    }
    const given = new Set<Value>();
    const outputs = plan.fetches.map((v) => {
      const r = results.get(v) ?? b.direct?.get(v);
      if (r === undefined) throw new Error(`graphc: the onnxruntime engine has no value for fetch %${v.name ?? v.id}`);
      // The same value fetched twice: a tensor each (the caller frees each).
      if (given.has(v)) return r.clone();
      given.add(v);
      return r;
    });
    return { outputs, updates };
  }

  /** A random op with an op seed, drawn by tfjs-cpu's kernel as the tfjs engines draw it (kept per binding: the same values every run). */
  private draw(ps: PlanSession, n: Node, dtype: DType, feeds: ReadonlyMap<Value, tf.Tensor>): ortNs.Tensor {
    const bindings = bindDims(new Map(feeds));
    const key = [...bindings].map(([k, v]) => `${k}=${v}`).join(',');
    let m = ps.draws.get(key);
    if (m === undefined) { m = new Map(); ps.draws.set(key, m); }
    let o = m.get(n);
    if (o === undefined) {
      const ctx: ExecCtx = {
        backend: 'cpu',
        dim: (d: Dim) => evalShape([d], bindings)[0]!,
        dims: (ds: readonly Dim[]) => evalShape(ds, bindings),
        seedFor: (opSeed: number) => opSeed,
      };
      const t = withBackend('cpu', () => (OP_KERNELS[n.op] as OpKernel)([], new AttrReader(n.op, n.attrs), ctx)) as tf.Tensor;
      try {
        o = toOrt(this.ort, t, dtype, () => `the draw of ${n.op}`);
      } finally {
        t.dispose();
      }
      m.set(n, o);
    }
    return o;
  }

  /** A variable's value as an ORT tensor: the one this engine already holds for its data, else read now (and kept). */
  private ortOf(t: tf.Tensor, name: string): ortNs.Tensor {
    let o = this.handed.get(t.dataId);
    if (o === undefined) {
      o = toOrt(this.ort, t, this.graph.stateByName(name)!.value.dtype, () => `variable '${name}'`);
      this.handed.set(t.dataId, o);
    }
    return o;
  }

  /** Releases a plan's ORT session (auto: the tfjs engine won); a later run of the plan makes it again. Sessions on the public async API are kept. */
  releasePlan(plan: Plan): void {
    const e = this.sessions.get(plan);
    // Only a session that runs synchronously: none of its runs can be in flight now.
    if (e === undefined || e.ready?.session.native !== true) return;
    this.sessions.delete(plan);
    void e.session.then((s) => s.session.release(), () => undefined);
  }

  /** The ORT sessions made so far (one per plan). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.sessions.values()) void p.session.then((s) => s.session.release(), () => undefined);
    this.sessions.clear();
    this.handed = new WeakMap();
  }
}

function mixSeed(a: number, b: number): number {
  let h = (a ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (b >>> 0), 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) % 2147483647;
}

/** A tfjs tensor as an ORT tensor of the graph's dtype (tfjs-cpu data is passed without a copy, other backends' read once). */
/** What a run read before ORT runs (OrtEngine.begin). */
interface Begun {
  fed: Map<Value, ortNs.Tensor>;
  direct: Map<Value, tf.Tensor> | undefined;
  vars: Map<string, ortNs.Tensor> | undefined;
}

/** A state reader that reads each variable once per run. */
function memoState(state: (name: string) => tf.Tensor): (name: string) => tf.Tensor {
  const now = new Map<string, tf.Tensor>();
  return (name) => {
    let t = now.get(name);
    if (t === undefined) { t = state(name); now.set(name, t); }
    return t;
  };
}

function ortError(ps: PlanSession, ortFeeds: Record<string, ortNs.Tensor>, e: unknown): GcError {
  return new GcError({ code: Codes.runtime, message: `onnxruntime: ${(e as Error).message}`, notes: ps.inputs.map((i) => `${i.name}: ${ortFeeds[i.name]!.type}[${ortFeeds[i.name]!.dims.join(',')}]`) });
}

/**
 * A tfjs tensor as an ORT tensor. `heapView`: a float32 or int32 tensor held by tfjs-wasm is
 * passed as a view of the wasm heap, not copied out of it (16 MB for a 4M-element feed); only
 * for a run that ORT makes before any JavaScript can grow the heap (OrtEngine.runNow).
 */
function toOrt(ort: Ort, t: tf.Tensor, dtype: DType, what: () => string, heapView = false): ortNs.Tensor {
  if (t.isDisposed) throw new GcError({ code: Codes.inputMismatch, message: `${what()}: the tensor was disposed`, help: 'feed a live tensor (tf.tidy or dispose() may have freed it)' });
  if (heapView && (dtype === 'float32' || dtype === 'int32') && t.dtype === dtype) {
    const holder = holderOf(t);
    // The registry, not tf.findBackend: findBackend starts initialising an imported but unused
    // tfjs-wasm, and until that settles every tfjs op throws "Backend … has not yet been initialized".
    if (holder !== undefined && holder === engineInternals().registry['wasm']) {
      const view = (holder as unknown as { typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array }).typedArrayFromHeap(t);
      return dtype === 'float32' ? new ort.Tensor('float32', view as Float32Array, t.shape) : new ort.Tensor('int32', view as Int32Array, t.shape);
    }
  }
  let data: ArrayLike<number>;
  try {
    data = t.dataSync() as ArrayLike<number>;
  } catch (e) {
    throw new GcError({ code: Codes.inputMismatch, message: `${what()}: cannot read a tensor of ${t.dtype}[${t.shape.join(',')}] synchronously: ${(e as Error).message}`,
      help: 'move the data first: tf.tensor(await t.data(), t.shape, t.dtype)' });
  }
  const dims = t.shape;
  switch (dtype) {
    case 'float32': return new ort.Tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data), dims);
    case 'int32': return new ort.Tensor('int32', data instanceof Int32Array ? data : Int32Array.from(data), dims);
    // Bools made by tfjs-wasm's Cast may hold 2 or 255: ONNX bools are 0/1.
    case 'bool': return new ort.Tensor('bool', Uint8Array.from(data, (x) => (x ? 1 : 0)), dims);
    case 'int64': {
      const out = new BigInt64Array(data.length);
      for (let i = 0; i < data.length; i++) out[i] = BigInt(data[i]!);
      return new ort.Tensor('int64', out, dims);
    }
  }
  throw new GcError({ code: Codes.runtime, message: `${what()}: dtype ${String(dtype)} cannot be passed to onnxruntime` });
}

/** A variable's current value as TensorData of its graph dtype (int64 widened from tfjs's int32). */
function tensorDataOf(t: tf.Tensor, dtype: DType, what: () => string): TensorData {
  const data = t.dataSync() as ArrayLike<number>;
  const shape = [...t.shape];
  switch (dtype) {
    case 'float32': return { dtype, shape, data: Float32Array.from(data) };
    case 'int32': return { dtype, shape, data: Int32Array.from(data) };
    case 'bool': return { dtype, shape, data: Uint8Array.from(data, (x) => (x ? 1 : 0)) };
    case 'int64': return { dtype, shape, data: BigInt64Array.from(Array.from(data, (x) => BigInt(x))) };
  }
  throw new GcError({ code: Codes.runtime, message: `${what()}: dtype ${String(dtype)} cannot be passed to onnxruntime` });
}

/** tfjs-cpu's backend instance: results are made there without switching tfjs's global backend. */
function cpuBackend(): tf.KernelBackend {
  const b = tf.findBackend('cpu');
  if (b == null) throw new GcError({ code: Codes.runtime, message: "backend 'onnxruntime': tfjs-cpu is not initialised", help: 'create the session with await gc.Session.create(...)' });
  return b;
}

/** A tensor of any tfjs backend as a new tfjs-cpu tensor, in its dtype's own array type (bools 0/1). */
function cpuCopy(t: tf.Tensor): tf.Tensor {
  const data = t.dataSync() as ArrayLike<number>;
  const make = (values: tf.TypedArray) => tf.engine().makeTensor(values, [...t.shape], t.dtype, cpuBackend());
  switch (t.dtype) {
    case 'float32': return make(Float32Array.from(data));
    case 'int32': return make(Int32Array.from(data));
    case 'bool': return make(Uint8Array.from(data, (x) => (x ? 1 : 0)));
  }
  throw new GcError({ code: Codes.runtime, message: `backend 'onnxruntime': a fetched ${t.dtype} tensor cannot be returned` });
}

/** An ORT result as a tfjs-cpu tensor holding ORT's array (int64 narrowed to int32, each value checked). */
function fromOrt(t: ortNs.Tensor, dtype: DType, v?: Value): tf.Tensor {
  const shape = [...t.dims].map(Number);
  const data = t.data;
  const make = (values: tf.TypedArray, d: tf.DataType) => tf.engine().makeTensor(values, shape, d, cpuBackend());
  switch (dtype) {
    case 'float32': return make(data as Float32Array, 'float32');
    case 'int32': return make(data as Int32Array, 'int32');
    case 'bool': return make(data as Uint8Array, 'bool');
    case 'int64': {
      const src = data as BigInt64Array;
      const out = new Int32Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const x = src[i]!;
        if (x > 2147483647n || x < -2147483648n) checkFitsInt64AsInt32([Number(x)]);
        out[i] = Number(x);
      }
      return make(out, 'int32');
    }
  }
  throw new Error(`graphc: onnxruntime returned ${t.type} for ${v?.name ?? 'a value'} of dtype ${String(dtype)}`);
}
