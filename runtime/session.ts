/**
 * Session: runs a graph on a tfjs backend with feeds and fetches (TF1 style). A run is resolved
 * here (the plan of its fetch/feed signature, runtime/plan.ts; feeds and variables as tensors on
 * the session's backend, runtime/feeds.ts; the symbolic dims bound and sizes checked) and handed
 * to the session's executors (runtime/executors/): the first that takes it runs it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { evalShape } from '../ir/dim.js';
import type { Dim } from '../ir/dim.js';
import { Codes, GcError, locToString } from '../ir/errors.js';
import type { Graph, Value } from '../ir/graph.js';
import { OPS } from '../ir/ops.js';
import { ensureBackend, selectBackend } from './backends/select.js';
import type { BackendChoice, BackendName } from './backends/select.js';
import { engineInternals, withBackend } from './backends/tfjs_engine.js';
import type { ExecutorMode } from './executors/choose.js';
import { executorsFor } from './executors/choose.js';
import { DEFAULT_MAX_LOOP_ITERATIONS } from './control_flow.js';
import type { Executor, ExecutorStats, RunFrame } from './executors/executor.js';
import { ConstTensors } from './executors/executor.js';
import type { Feed } from './feeds.js';
import { FeedAdopter } from './feeds.js';
import type { ExecCtx } from './kernels/kernel_types.js';
import { bindDims, bindPlan, buildPlan, fetchableNames } from './plan.js';
import type { Plan } from './plan.js';
import { tensorFromData } from './tensor_data.js';
import { resolveTensorLimit } from './tensor_limits.js';
import type { TensorLimit } from './tensor_limits.js';
import { guardWasmHeap } from './wasm/wasm_heap.js';
import type { ExecutionProvider } from './backends/onnxruntime.js';
import { loadedOrt, ortRunsSynchronously } from './backends/onnxruntime.js';
import { OrtEngine } from './executors/onnxruntime.js';

export type { Feed };

export interface SessionOptions {
  backend?: BackendName;
  /** Makes the graph's unseeded random ops reproducible: run n of two sessions with the same seed draws the same values. */
  seed?: number;
  /** Accept a software WebGPU adapter (SwiftShader) for backend 'webgpu'. */
  allowSoftwareWebgpu?: boolean;
  /**
   * How a wasm session runs its plans: 'auto' (default) compiles each plan, per binding of its
   * symbolic dims, into direct calls of tfjs-backend-wasm's C kernels on buffers planned ahead
   * (runtime/executors/wasm_direct.ts); 'tensors' runs one tfjs op per node. Other backends always run tfjs ops.
   */
  executor?: ExecutorMode;
  /**
   * Bytes one tensor may take (default: GRAPHC_MAX_TENSOR_BYTES from the environment, else
   * 2 GiB; Infinity lifts it). Every node's results are checked against it (and against what
   * the engine can address) when a plan is bound to concrete dims, before any kernel runs.
   */
  maxTensorBytes?: number;
  /**
   * Backend 'onnxruntime': ONNX Runtime's execution providers ('cpu', 'webgpu', 'cuda') in order
   * of preference (default: the best that works here). Such a session runs asynchronously only:
   * `await session.run(...)`; runSync refuses.
   */
  executionProviders?: readonly ExecutionProvider[];
  /** Backend 'onnxruntime': threads of ONNX Runtime's CPU provider (default: one per core). */
  intraOpThreads?: number;
  /** Bodies one while_loop or scan may run per call before the run fails with GC0403 (default 10^6): a loop that never ends does not hang. */
  maxLoopIterations?: number;
}

export interface RunOptions {
  /** Run the graph's variable assignments (default true: a run is one call of the function). */
  updates?: boolean;
}

function mix(a: number, b: number): number {
  let h = (a ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (b >>> 0), 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export class Session {
  private readonly plans = new Map<string, Plan>();
  private readonly consts = new ConstTensors();
  /** Session-owned variable values, by variable name. */
  private readonly state = new Map<string, tf.Tensor>();
  private readonly feeds: FeedAdopter;
  private readonly executors: Executor[];
  /**
   * Backend 'onnxruntime': the engine that runs every plan (the tfjs executors are not used).
   * Backend 'auto' (onnxruntime-node installed): measured against the tfjs engine per plan and binding (`engineChoices`).
   */
  private readonly ort: OrtEngine | undefined;
  /** Feeds and variable values adopted for ONNX Runtime (on tfjs-cpu, whose arrays it reads without a copy). */
  private readonly ortFeeds: FeedAdopter;
  /** Under 'auto': per plan and feed shapes, the engine chosen, or the measurement so far. */
  private readonly choices = new Map<Plan, Map<string, EngineChoice | EngineTrial>>();
  private runs = 0;
  private disposed = false;
  /** The node being run (per-node seeds of random ops). */
  private currentNode = 0;

  private constructor(readonly graph: Graph, readonly backend: BackendChoice, private readonly seed: number | undefined,
    executor: ExecutorMode = 'auto', readonly tensorLimit: TensorLimit = resolveTensorLimit(undefined), intraOpThreads?: number, maxLoopIterations = DEFAULT_MAX_LOOP_ITERATIONS) {
    this.feeds = new FeedAdopter(backend.tfjsName);
    if (backend.name === 'onnxruntime') {
      const ort = loadedOrt();
      if (ort === undefined) throw new GcError({ code: Codes.runtime, message: "backend 'onnxruntime' is not initialised", help: 'use await gc.Session.create(graph, { backend: \'onnxruntime\' })' });
      this.ort = new OrtEngine(ort, graph, { providers: backend.executionProviders ?? ['cpu'], seed, intraOpThreads });
      this.executors = [];
    } else {
      // Under 'auto' with onnxruntime-node installed, ONNX Runtime is measured against the tfjs engine per plan and binding.
      const ort = backend.autoOrt !== undefined ? loadedOrt() : undefined;
      this.ort = ort !== undefined ? new OrtEngine(ort, graph, { providers: backend.autoOrt!, seed, intraOpThreads }) : undefined;
      this.executors = executorsFor(backend, executor, { tensorLimit, maxLoopIterations });
    }
    this.ortFeeds = new FeedAdopter('cpu');
  }

  /** Whether this session runs only asynchronously (backend 'onnxruntime'): execute and runSync refuse, run and executeAsync work. */
  get asyncOnly(): boolean {
    return this.backend.name === 'onnxruntime';
  }

  /**
   * Whether a run of these fetches and feeds goes to the synchronous tfjs engine (execute): on a
   * tfjs backend without ONNX Runtime beside it, or where 'auto' chose the tfjs engine for the
   * plan and feed shapes (or cannot measure it). gc.compile calls execute() directly then.
   */
  runsSync(fetchNames: string[], feeds: Record<string, Feed>, opts: RunOptions = {}): boolean {
    if (this.ort === undefined) return true;
    if (this.asyncOnly || this.disposed) return false;
    const plan = this.planOf(fetchNames, feeds, opts.updates ?? true);
    const key = shapeKey(plan, feeds);
    if (key === undefined || !measurable(plan, this.seed)) return true;
    const c = this.choices.get(plan)?.get(key);
    return c !== undefined && 'engine' in c && c.engine === 'tfjs';
  }

  /**
   * Under backend 'auto': the plans and feed shapes still being measured (runs so far of each).
   * Meanwhile a training step's variables move between the engines, and each engine keeps
   * copies of them that it reads; bounded, released when the variables change.
   */
  engineTrials(): { fetches: string[]; shapes: string; runs: number }[] {
    const out: { fetches: string[]; shapes: string; runs: number }[] = [];
    for (const [plan, m] of this.choices) {
      for (const [shapes, c] of m) {
        if ('engine' in c) continue;
        out.push({ fetches: plan.fetches.map((v) => this.graph.outputs.find((o) => o.value === v)?.name ?? v.name ?? `%${v.id}`), shapes, runs: c.runs });
      }
    }
    return out;
  }

  /** Under backend 'auto': the engine chosen for each plan and feed shapes so far, and why. */
  engineChoices(): { fetches: string[]; shapes: string; engine: string; reason: string }[] {
    const out: { fetches: string[]; shapes: string; engine: string; reason: string }[] = [];
    for (const [plan, m] of this.choices) {
      for (const [shapes, c] of m) {
        if (!('engine' in c)) continue;
        out.push({ fetches: plan.fetches.map((v) => this.graph.outputs.find((o) => o.value === v)?.name ?? v.name ?? `%${v.id}`), shapes, engine: c.engine === 'tfjs' ? this.backend.name : 'onnxruntime', reason: c.reason });
      }
    }
    return out;
  }

  static async create(graph: Graph, opts: SessionOptions = {}): Promise<Session> {
    if (opts.executor !== undefined && opts.executor !== 'auto' && opts.executor !== 'tensors') {
      throw new GcError({ code: Codes.inputMismatch, message: `unknown executor '${String(opts.executor)}'`, help: "use 'auto' or 'tensors'" });
    }
    const limit = resolveTensorLimit(opts.maxTensorBytes);
    const choice = await selectBackend(opts.backend ?? 'auto', { allowSoftwareWebgpu: opts.allowSoftwareWebgpu, executionProviders: opts.executionProviders });
    await ensureBackend(choice.name);
    // Variable values are created from their inits on first use (compile supplies its own).
    return new Session(graph, choice, opts.seed, opts.executor ?? 'auto', limit, opts.intraOpThreads, opts.maxLoopIterations);
  }

  /** A session on a backend already selected and initialised (selectBackend + ensureBackend): no await needed. */
  static createReady(graph: Graph, choice: BackendChoice, opts: Pick<SessionOptions, 'seed' | 'executor' | 'maxTensorBytes' | 'intraOpThreads' | 'maxLoopIterations'> = {}): Session {
    if (!engineInternals().registry[choice.tfjsName]) {
      throw new GcError({ code: Codes.runtime, message: `backend '${choice.name}' is not initialised`, help: 'use await gc.Session.create(...)' });
    }
    return new Session(graph, choice, opts.seed, opts.executor ?? 'auto', resolveTensorLimit(opts.maxTensorBytes), opts.intraOpThreads, opts.maxLoopIterations);
  }

  /** Whether a run with these feeds must read some of them asynchronously first (prepareFeeds): tensors held by webgpu. */
  needsAsyncRead(feeds: Record<string, unknown>): boolean {
    return this.feeds.needsAsyncRead(feeds);
  }

  /** A session on an already initialised tfjs backend (internal: variable initialisation while tracing). */
  static forBackend(graph: Graph, tfjsName: string, seed?: number): Session {
    const name = (['cpu', 'wasm', 'webgpu'].includes(tfjsName) ? tfjsName : 'tensorflow') as 'cpu';
    return new Session(graph, { name, tfjsName, reason: `the current tfjs backend (${tfjsName})` }, seed);
  }

  /** Names that can be fetched: outputs, inputs, variables and every named value. */
  fetchableNames(): string[] {
    return fetchableNames(this.graph);
  }

  /**
   * The plan of a run: the last one when the fetch names, feed names (in the feeds' own order)
   * and updates are the last call's (a loop of runs), without building the plan key; else plan().
   */
  private planOf(fetchNames: string[], feeds: Record<string, unknown>, updates: boolean): Plan {
    const l = this.lastPlan;
    if (l !== undefined && l.updates === updates && l.fetchNames.length === fetchNames.length && l.fetchNames.every((n, k) => n === fetchNames[k])) {
      let i = 0, same = true;
      for (const k in feeds) if (l.feedNames[i++] !== k) { same = false; break; }
      if (same && i === l.feedNames.length) return l.plan;
    }
    const feedNames = Object.keys(feeds);
    const plan = this.plan(fetchNames, [...feedNames].sort(), updates);
    this.lastPlan = { fetchNames: [...fetchNames], feedNames, updates, plan };
    return plan;
  }

  private lastPlan: { fetchNames: string[]; feedNames: string[]; updates: boolean; plan: Plan } | undefined;

  private plan(fetchNames: string[], feedNames: string[], updates: boolean): Plan {
    const key = `${fetchNames.join('\u0000')}|${feedNames.join('\u0000')}|${updates}`;
    let p = this.plans.get(key);
    if (!p) {
      p = buildPlan(this.graph, fetchNames, feedNames, updates);
      this.plans.set(key, p);
    }
    return p;
  }

  /**
   * Feeds on a backend that cannot be read synchronously (webgpu) read asynchronously, as a
   * tensor on this session's backend (to free after the run). Used by run() and gc.compile.
   */
  prepareFeeds<F>(feeds: Record<string, F>): Promise<{ feeds: Record<string, F | tf.Tensor>; temps: tf.Tensor[] }> {
    return this.feeds.prepareFeeds(feeds);
  }

  /**
   * Core execution. `stateIn` supplies each variable's current value (not disposed here);
   * returns the fetched tensors and, with updates, the new value of each assigned variable.
   */
  execute(fetchNames: string[], feeds: Record<string, Feed>, stateIn: (name: string) => tf.Tensor, opts: RunOptions = {}): { outputs: tf.Tensor[]; updates: Map<string, tf.Tensor> } {
    if (this.disposed) throw new GcError({ code: Codes.runtime, message: 'this Session was disposed' });
    if (this.asyncOnly) {
      throw new GcError({ code: Codes.runtime, message: "backend 'onnxruntime' runs asynchronously: this call needs a synchronous engine",
        help: 'await session.run(...) or await f(...) (f.sync and session.runSync need a tfjs backend: cpu, wasm, webgpu, tensorflow)' });
    }
    const plan = this.planOf(fetchNames, feeds, opts.updates ?? true);
    const run = this.runs++;
    return withBackend(this.backend.tfjsName, () => {
      const env: (tf.Tensor | undefined)[] = new Array(plan.slots);
      const owned: boolean[] = new Array(plan.slots).fill(false);
      const fed = new Map<Value, tf.Tensor>();
      const engine = tf.engine();
      // One engine scope for the run: node outputs are freed explicitly after their last use,
      // and whatever a kernel without its own tf.tidy left behind is freed when the run ends.
      engine.startScope('graphc.execute');
      let result: tf.Tensor[] = [];
      try {
        plan.feeds.forEach((v, i) => {
          const { t, owned: copy } = this.feeds.toTensor(v, feeds[v.name!]!);
          owned[i] = copy;
          fed.set(v, t);
          env[i] = t;
        });
        const bindings = bindDims(fed);
        const key = bindPlan(plan, bindings, this.backend.tfjsName, this.tensorLimit);
        if (this.backend.tfjsName === 'wasm') guardWasmHeap();
        for (const [i, name] of plan.stateSlots) env[i] = this.feeds.adoptState(name, stateIn(name));
        const ctx: ExecCtx = {
          backend: this.backend.tfjsName,
          dim: (d: Dim) => evalShape([d], bindings)[0]!,
          dims: (ds: readonly Dim[]) => evalShape(ds, bindings),
          seedFor: (opSeed: number) => (opSeed >= 0 ? opSeed : this.seed === undefined ? undefined : mix(mix(this.seed, run), this.currentNode)),
        };
        const frame: RunFrame = { plan, env, owned, bindings, key, ctx, consts: this.consts, onNode: (id) => { this.currentNode = id; } };
        for (const executor of this.executors) {
          const r = executor.run(frame);
          if (r === undefined) continue;
          result = [...r.outputs, ...r.updates.values()];
          return r;
        }
        throw new Error(`graphc: no executor of the ${this.backend.name} backend ran the plan`);
      } finally {
        for (let i = 0; i < env.length; i++) if (owned[i]) env[i]!.dispose();
        engine.endScope(result);
      }
    });
  }

  /**
   * execute(), on any backend: backend 'onnxruntime' runs the plan in ONNX Runtime (feeds and
   * variable values adopted on tfjs-cpu first, results on tfjs-cpu); the others run execute().
   */
  async executeAsync(fetchNames: string[], feeds: Record<string, Feed>, stateIn: (name: string) => tf.Tensor, opts: RunOptions = {}): Promise<{ outputs: tf.Tensor[]; updates: Map<string, tf.Tensor> }> {
    const ort = this.ort;
    if (ort === undefined) return this.execute(fetchNames, feeds, stateIn, opts);
    if (this.disposed) throw new GcError({ code: Codes.runtime, message: 'this Session was disposed' });
    const plan = this.planOf(fetchNames, feeds, opts.updates ?? true);
    if (this.asyncOnly) return this.runOnOrt(ort, plan, feeds, stateIn);
    // Backend 'auto': the engine chosen for the plan and feed shapes, or the next run of the measurement.
    const key = shapeKey(plan, feeds);
    const tfjs = () => this.tfjsElseOrt(plan, key, () => this.execute(fetchNames, feeds, stateIn, opts), () => this.runOnOrt(ort, plan, feeds, stateIn));
    if (key === undefined || !measurable(plan, this.seed)) return tfjs();
    let m = this.choices.get(plan);
    if (m === undefined) { m = new Map(); this.choices.set(plan, m); }
    let c = m.get(key);
    if (c === undefined) { c = { tfjs: [], ort: [], runs: 0 }; m.set(key, c); }
    if ('engine' in c) return c.engine === 'tfjs' ? tfjs() : this.runOnOrt(ort, plan, feeds, stateIn);
    const trial = c;
    // Runs 0–3 warm each engine up twice (ONNX Runtime builds its session, wasm its direct
    // program); then each engine runs twice in a row and the second run is timed: the first after
    // a switch moves the variables of a training step to the other engine (from tfjs tensors to
    // ORT's and back), a cost alternating runs paid on every run (an MLP Adam step timed 8.1 ms
    // on ORT that way, against 3.7–4.2 ms in steady state, and auto picked wasm at 5.0 ms).
    const onOrt = Math.floor(trial.runs / 2) % 2 === 1;
    const timed = trial.runs >= 4 && trial.runs % 2 === 1;
    trial.runs++;
    const t0 = performance.now();
    if (!onOrt) {
      const r0 = tfjs();
      // A promise only where the tfjs engine lacked a kernel and ORT runs the plan from now on.
      if (r0 instanceof Promise) return r0;
      const r = r0;
      if (timed) trial.tfjs.push(performance.now() - t0);
      this.decide(plan, m, key, trial);
      return r;
    }
    try {
      const r = await this.runOnOrt(ort, plan, feeds, stateIn);
      if (timed) trial.ort.push(performance.now() - t0);
      this.decide(plan, m, key, trial);
      return r;
    } catch (e) {
      // ONNX Runtime cannot run this plan (an op without an ONNX form, a provider failure): the tfjs engine does, from now on.
      m.set(key, { engine: 'tfjs', reason: `onnxruntime cannot run it: ${firstLine(e)}` });
      return this.execute(fetchNames, feeds, stateIn, opts);
    }
  }

  /**
   * execute(), with backend 'auto' measuring ONNX Runtime as executeAsync does, synchronously:
   * where onnxruntime-node's native binding loads and runs models synchronously (the plan's ORT
   * session is made on the run that first needs it). gc.accelerate's steps and f.sync run here:
   * tfjs-layers calls its training step synchronously. Elsewhere (no ORT, backend
   * 'onnxruntime', feeds that are not tensors) it is execute().
   */
  executeSync(fetchNames: string[], feeds: Record<string, Feed>, stateIn: (name: string) => tf.Tensor, opts: RunOptions = {}): { outputs: tf.Tensor[]; updates: Map<string, tf.Tensor> } {
    const ort = this.ort;
    if (ort === undefined || this.asyncOnly || this.disposed || !ortRunsSynchronously()) return this.execute(fetchNames, feeds, stateIn, opts);
    const plan = this.planOf(fetchNames, feeds, opts.updates ?? true);
    const key = shapeKey(plan, feeds);
    const tfjs = () => this.tfjsElseOrt(plan, key, () => this.execute(fetchNames, feeds, stateIn, opts), () => this.ortNow(ort, plan, feeds, stateIn));
    // A plan that assigns variables (a training step) is not measured here, run for run on both
    // engines: the engines round differently in the last bits, and in a ReLU network a value
    // within that rounding of 0 takes the other branch on the other engine; training carries such
    // a difference on (a CI run of gc.accelerate saw an epoch's loss 2e-3 off eager's while its
    // train step alternated; stress runs: a few fits in a thousand beyond 1e-4, none with tanh,
    // whose trajectories stayed within 4e-7 — nothing lost or stale, see auto_engine.test.ts). So
    // which engine ran which step would make a fit's numbers depend on the machine's timing. It
    // stays on the tfjs engine (ORT where tfjs lacks a kernel, or where awaited calls chose it);
    // awaited calls (executeAsync) still measure it, for speed.
    const chosen = key === undefined ? undefined : this.choices.get(plan)?.get(key);
    if (plan.assigns.length > 0 && !(chosen !== undefined && 'engine' in chosen)) return tfjs();
    if (key === undefined || !measurable(plan, this.seed)) return tfjs();
    let m = this.choices.get(plan);
    if (m === undefined) { m = new Map(); this.choices.set(plan, m); }
    let c = m.get(key);
    if (c === undefined) { c = { tfjs: [], ort: [], runs: 0 }; m.set(key, c); }
    if ('engine' in c) return (c.engine === 'ort' ? this.ortNow(ort, plan, feeds, stateIn) : undefined) ?? tfjs();
    // The trial of executeAsync, run for run.
    const trial = c;
    const onOrt = Math.floor(trial.runs / 2) % 2 === 1;
    const timed = trial.runs >= 4 && trial.runs % 2 === 1;
    trial.runs++;
    const t0 = performance.now();
    if (onOrt) {
      let r: ReturnType<Session['ortNow']>;
      try {
        r = this.ortNow(ort, plan, feeds, stateIn);
      } catch (e) {
        m.set(key, { engine: 'tfjs', reason: `onnxruntime cannot run it: ${firstLine(e)}` });
        return this.execute(fetchNames, feeds, stateIn, opts);
      }
      if (r !== undefined) {
        if (timed) trial.ort.push(performance.now() - t0);
        this.decide(plan, m, key, trial);
        return r;
      }
      // Not runnable now (its session is being made asynchronously): the tfjs engine, untimed.
      return tfjs();
    }
    const r = tfjs();
    if ('engine' in (m.get(key) ?? {})) return r; // the tfjs engine lacked a kernel: ORT ran it, and runs it from now on
    if (timed) trial.tfjs.push(performance.now() - t0);
    this.decide(plan, m, key, trial);
    return r;
  }

  /**
   * A run on the tfjs engine, or, where the backend lacks a kernel the plan needs (tfjs-wasm has
   * no Conv2DBackpropFilter, so a CNN's training step cannot run there) and `ort` runs it, on ONNX
   * Runtime, which then runs the plan for these feed shapes from now on (the reason says why). A
   * failed tfjs run assigned nothing; where ORT fails too, the tfjs engine's error is thrown.
   */
  private tfjsElseOrt<R>(plan: Plan, key: string | undefined, tfjs: () => R, ort: () => R | undefined): R;
  private tfjsElseOrt<R>(plan: Plan, key: string | undefined, tfjs: () => R, ort: () => Promise<R | undefined>): R | Promise<R>;
  private tfjsElseOrt<R>(plan: Plan, key: string | undefined, tfjs: () => R, ort: () => R | undefined | Promise<R | undefined>): R | Promise<R> {
    try {
      return tfjs();
    } catch (e) {
      if (!lacksKernel(e)) throw e;
      const chosen = (r: R | undefined): R => {
        if (r === undefined) throw e;
        if (key !== undefined) {
          let m = this.choices.get(plan);
          if (m === undefined) { m = new Map(); this.choices.set(plan, m); }
          m.set(key, { engine: 'ort', reason: `${this.backend.name} cannot run it: ${firstLine(e)}` });
        }
        return r;
      };
      let r: R | undefined | Promise<R | undefined>;
      try {
        r = ort();
      } catch {
        throw e;
      }
      return r instanceof Promise ? r.then(chosen, () => { throw e; }) : chosen(r);
    }
  }

  /**
   * A plan on ONNX Runtime now, or undefined (nothing run): feeds must be live tensors; with
   * `prepare`, its session is made now if need be (OrtEngine.prepareNow), else it must exist.
   */
  private ortNow(ort: OrtEngine, plan: Plan, feeds: Record<string, Feed>, stateIn: (name: string) => tf.Tensor, prepare = true): { outputs: tf.Tensor[]; updates: Map<string, tf.Tensor> } | undefined {
    const fed = new Map<Value, tf.Tensor>();
    for (const v of plan.feeds) {
      const f = feeds[v.name!];
      if (!(f instanceof tf.Tensor) || f.isDisposed) return undefined;
      fed.set(v, f);
    }
    bindPlan(plan, bindDims(fed), 'cpu', this.tensorLimit);
    // One read of each variable for both (a state reader may make a new tensor per read: the
    // hyperparameters gc.compile feeds; prepareNow would bake one, runNow see another).
    const state = new Map<string, tf.Tensor>();
    const stateOnce = (name: string) => { let t = state.get(name); if (t === undefined) { t = stateIn(name); state.set(name, t); } return t; };
    if (prepare && !ort.prepareNow(plan, stateOnce)) return undefined;
    const r = ort.runNow(plan, fed, stateOnce);
    if (r !== undefined) this.runs++;
    return r;
  }

  /**
   * executeAsync(), synchronously, where the onnxruntime engine can run the plan now
   * (OrtEngine.runNow): backend 'onnxruntime', or 'auto' where it chose ONNX Runtime for these
   * feed shapes; feeds must be live tensors. Undefined (nothing run): use executeAsync.
   */
  executeNow(fetchNames: string[], feeds: Record<string, Feed>, stateIn: (name: string) => tf.Tensor, opts: RunOptions = {}): { outputs: tf.Tensor[]; updates: Map<string, tf.Tensor> } | undefined {
    const ort = this.ort;
    if (ort === undefined || this.disposed) return undefined;
    const plan = this.planOf(fetchNames, feeds, opts.updates ?? true);
    if (!this.asyncOnly) {
      const key = shapeKey(plan, feeds);
      const c = key === undefined ? undefined : this.choices.get(plan)?.get(key);
      if (c === undefined || !('engine' in c) || c.engine !== 'ort') return undefined;
    }
    return this.ortNow(ort, plan, feeds, stateIn, false);
  }

  /**
   * Decides once each engine was timed AUTO_TRIALS times, or after two runs each when one
   * engine's best took over AUTO_CLEAR_WIN times the other's (an expensive plan is not run six
   * times on the slower engine), or up to AUTO_MAX_TRIALS times each on a cheap plan whose
   * engines are within AUTO_NEAR_TIE of each other. Compares the fastest run of each: on a busy machine noise only
   * ever adds time, and one slow outlier must not decide.
   */
  private decide(plan: Plan, m: Map<string, EngineChoice | EngineTrial>, key: string, t: EngineTrial): void {
    const n = Math.min(t.tfjs.length, t.ort.length);
    if (n < 2) return;
    const a = Math.min(...t.tfjs), b = Math.min(...t.ort);
    if (n < AUTO_TRIALS && Math.max(a, b) < AUTO_CLEAR_WIN * Math.min(a, b)) return;
    // A near tie on a cheap plan: more runs (a few hundredths of a millisecond each) before one
    // engine is kept for good. Four runs each picked wasm at 0.036 against 0.043 ms for a CNN at
    // batch 1 where ORT was the faster in the bench's 300 rounds (1.26× slower than the fastest).
    if (n < AUTO_MAX_TRIALS && Math.max(a, b) < AUTO_NEAR_TIE * Math.min(a, b) && Math.max(a, b) < AUTO_CHEAP_MS) return;
    const providers = this.ort === undefined ? '' : ` (${this.ortProviders.join(', ')})`;
    m.set(key, { engine: b < a ? 'ort' : 'tfjs', reason: `measured: ${this.backend.name} ${a.toFixed(3)} ms, onnxruntime${providers} ${b.toFixed(3)} ms (fastest of ${n} runs each)` });
    // The tfjs engine won every shape measured so far: the plan's ORT session is released (made again if a new shape is measured).
    if (b >= a && [...m.values()].every((c) => 'engine' in c && c.engine === 'tfjs')) this.ort?.releasePlan(plan);
  }

  private get ortProviders(): readonly string[] {
    return this.backend.name === 'onnxruntime' ? this.backend.executionProviders ?? ['cpu'] : this.backend.autoOrt ?? [];
  }

  /**
   * A plan on ONNX Runtime. Tensor feeds and variable values are read where they are (a tfjs-cpu
   * tensor's array as it is, a wasm tensor's data copied once); other feeds (arrays, numbers)
   * are adopted as tfjs-cpu tensors first. No global backend switch on the way.
   */
  private async runOnOrt(ort: OrtEngine, plan: Plan, feeds: Record<string, Feed>, stateIn: (name: string) => tf.Tensor): Promise<{ outputs: tf.Tensor[]; updates: Map<string, tf.Tensor> }> {
    this.runs++;
    const fed = new Map<Value, tf.Tensor>();
    const owned: tf.Tensor[] = [];
    try {
      for (const v of plan.feeds) {
        const f = feeds[v.name!]!;
        if (f instanceof tf.Tensor && !f.isDisposed) { fed.set(v, f); continue; }
        const { t, owned: copy } = withBackend('cpu', () => this.ortFeeds.toTensor(v, f));
        if (copy) owned.push(t);
        fed.set(v, t);
      }
      bindPlan(plan, bindDims(fed), 'cpu', this.tensorLimit);
      return await ort.run(plan, fed, stateIn);
    } finally {
      for (const t of owned) t.dispose();
    }
  }

  /** The direct wasm programs built so far (one per plan and binding of the symbolic dims), with what they are made of. */
  executorStats(): ExecutorStats[] {
    const out: ExecutorStats[] = [];
    for (const p of this.plans.values()) for (const e of this.executors) if (e.statsOf) out.push(...e.statsOf(p));
    return out;
  }

  /** Runs the graph: fetch by name (outputs, inputs, variables, gc.name'd values). */
  async run(fetches: string | string[], feeds: Record<string, Feed> = {}, opts: RunOptions = {}): Promise<tf.Tensor | tf.Tensor[]> {
    if (this.disposed) throw new GcError({ code: Codes.runtime, message: 'this Session was disposed', help: 'create a new Session' });
    const p = await this.prepareFeeds(feeds);
    try {
      if (this.ort === undefined) return this.runSync(fetches, p.feeds as Record<string, Feed>, opts);
      const names = Array.isArray(fetches) ? fetches : [fetches];
      const { outputs, updates } = await this.executeAsync(names, p.feeds as Record<string, Feed>, (n) => this.stateTensor(n), opts);
      this.keepState(updates);
      return Array.isArray(fetches) ? outputs : outputs[0]!;
    } finally {
      for (const t of p.temps) t.dispose();
    }
  }

  runSync(fetches: string | string[], feeds: Record<string, Feed> = {}, opts: RunOptions = {}): tf.Tensor | tf.Tensor[] {
    const names = Array.isArray(fetches) ? fetches : [fetches];
    const { outputs, updates } = this.execute(names, feeds, (n) => this.stateTensor(n), opts);
    this.keepState(updates);
    return Array.isArray(fetches) ? outputs : outputs[0]!;
  }

  private keepState(updates: Map<string, tf.Tensor>): void {
    for (const [name, t] of updates) {
      this.state.get(name)?.dispose();
      this.state.set(name, t);
    }
  }

  /** The session-owned value of a variable, created from its init on first use. */
  private stateTensor(name: string): tf.Tensor {
    let t = this.state.get(name);
    if (!t) {
      const st = this.graph.stateByName(name);
      if (!st) throw new GcError({ code: Codes.sessionName, message: `unknown variable '${name}'` });
      t = withBackend(this.backend.tfjsName, () => tf.keep(tensorFromData(st.init, () => `the initial value of variable '${name}'`)));
      this.state.set(name, t);
    }
    return t;
  }

  /** The session's current value of a variable (a copy the caller owns). */
  variable(name: string): tf.Tensor {
    const t = this.graph.stateByName(name) ? this.stateTensor(name) : undefined;
    if (!t) throw new GcError({ code: Codes.sessionName, message: `unknown variable '${name}'`, notes: [`variables: ${[...this.state.keys()].join(', ') || '(none)'}`] });
    return t.clone();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.consts.dispose();
    for (const e of this.executors) e.dispose();
    this.ort?.dispose();
    for (const t of this.state.values()) t.dispose();
    this.feeds.dispose();
    this.ortFeeds.dispose();
    this.choices.clear();
    this.state.clear();
    this.plans.clear();
  }
}

export { locToString };

/** An error of a backend that has no kernel for an op (tfjs: "Kernel 'X' not registered for backend 'wasm'"). */
function lacksKernel(e: unknown): boolean {
  return /not registered for backend/.test(String((e as Error)?.message ?? e));
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

/** Under 'auto': each engine is timed this many times per plan and feed shapes before one is chosen. */
const AUTO_TRIALS = 4;
/** Under 'auto': a ratio of best timings that decides after two runs each. */
const AUTO_CLEAR_WIN = 2;
/** Under 'auto': best timings closer than this ratio, on a plan cheaper than AUTO_CHEAP_MS, are measured up to AUTO_MAX_TRIALS times each. */
const AUTO_NEAR_TIE = 1.3;
const AUTO_CHEAP_MS = 2;
const AUTO_MAX_TRIALS = 12;

interface EngineChoice { engine: 'tfjs' | 'ort'; reason: string }
interface EngineTrial { tfjs: number[]; ort: number[]; runs: number }

/** The fed shapes of a plan's feeds as a key (undefined when a feed is not a tensor: measured only for tensors). */
function shapeKey(plan: Plan, feeds: Record<string, Feed>): string | undefined {
  // The last shapes of the plan and their key: a loop of runs at one shape builds no string.
  const last = lastShapes.get(plan);
  let same = last !== undefined, k = 0;
  for (const v of plan.feeds) {
    const f = feeds[v.name!];
    if (!(f instanceof tf.Tensor)) return undefined;
    if (!same) continue;
    const sh = f.shape;
    if (last!.dims[k++] !== sh.length) { same = false; continue; }
    for (let i = 0; i < sh.length; i++) if (last!.dims[k++] !== sh[i]) { same = false; break; }
  }
  if (same && k === last!.dims.length) return last!.key;
  let key = '';
  const dims: number[] = [];
  for (const v of plan.feeds) {
    const sh = (feeds[v.name!] as tf.Tensor).shape;
    key += `${sh.join('x')};`;
    dims.push(sh.length, ...sh);
  }
  lastShapes.set(plan, { dims, key });
  return key;
}
const lastShapes = new WeakMap<Plan, { dims: number[]; key: string }>();

/**
 * Whether 'auto' may move a plan between engines: not with prints (ONNX has none), nor with
 * random ops under a seed (each engine draws its own sequence; the tfjs engine keeps them reproducible).
 */
/**
 * Whether auto may measure a plan on both engines: not a plan that prints, and nothing in a
 * session with a seed, which asks for runs that repeat exactly (ORT draws other random numbers
 * than tfjs, and which engine runs a plan would depend on timing: results then differ in the last
 * digits from run to run). A plan the tfjs backend cannot run still goes to ORT (tfjsElseOrt).
 */
function measurable(plan: Plan, seed: number | undefined): boolean {
  if (seed !== undefined) return false;
  let m = measurableMemo.get(plan);
  if (m === undefined) {
    m = !plan.schedule.some((n) => OPS[n.op].effect === 'io');
    measurableMemo.set(plan, m);
  }
  return m;
}
const measurableMemo = new WeakMap<Plan, boolean>();
