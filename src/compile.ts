/**
 * gc.compile: tf.function for TensorFlow.js. Traces `fn` once per signature into a graph and
 * runs it through a Session. Like tf.function it shares state with the user's tf.Variables:
 * each call reads their current values and assigns what `fn` assigned.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DType } from '../ir/dtype.js';
import type { TensorData } from '../ir/tensor_data.js';
import { Codes, GcError } from '../ir/errors.js';
import type { Graph } from '../ir/graph.js';
import { typeToString } from '../ir/graph.js';
import { toOnnx } from '../exporters/onnx/export/export.js';
import type { OnnxExportOptions } from '../exporters/onnx/export/export.js';
import type { BackendName } from '../runtime/backends/select.js';
import type { ExecutionProvider } from '../runtime/backends/onnxruntime.js';
import { Session } from '../runtime/session.js';
import { backendNameOf, holdTensor, holderOf, withBackend } from '../runtime/backends/tfjs_engine.js';
import { tfDtype } from '../runtime/tensor_data.js';
import { ensureBackend, selectBackend } from '../runtime/backends/select.js';
import type { BackendChoice } from '../runtime/backends/select.js';
import { isTracing } from './trace/tracer.js';
import { isTraceTensor } from './trace/backend.js';
import type { TensorSpec } from './trace/spec.js';
import { specToString } from './trace/spec.js';
import { isStaticArg, traceFunction } from './trace/trace_function.js';
import type { LoopMode } from './trace/roll_loops.js';
import type { StaticArg } from './trace/trace_function.js';
import type { TraceGuard } from './trace/hyperparams.js';
import type { OptimizeOptions } from './optimize.js';
import { optimizeInPlace } from './optimize.js';
import { canFoldFor } from '../runtime/eval_const.js';
import type { OutputStructure, TraceResult } from './trace/tracer.js';
import { userLocation } from './trace/source_loc.js';

export interface CompileOptions {
  /** One spec per parameter; without it, graphc traces once per distinct call signature. */
  inputs?: TensorSpec[];
  /** Names for the outputs, in order (default output_0, output_1… or gc.name'd names). */
  outputs?: string[];
  backend?: BackendName;
  /**
   * A backend already selected and initialised (gc.selectBackend, then gc.ensureBackend), in place
   * of `backend`: f.sync runs from the first call, with no f.ready() (gc.accelerate's steps, which
   * tfjs-layers calls synchronously).
   */
  backendChoice?: BackendChoice;
  /** Seeds the graph's random ops (dropout, tf.random*) so that runs are reproducible. */
  seed?: number;
  /** Graph name (default: the function's name or 'f'). */
  name?: string;
  /** Accept a software WebGPU adapter (tests). */
  allowSoftwareWebgpu?: boolean;
  /** Bytes one tensor of a run may take (see SessionOptions.maxTensorBytes; default GRAPHC_MAX_TENSOR_BYTES, else 2 GiB). */
  maxTensorBytes?: number;
  /** Backend 'onnxruntime': its execution providers in order of preference (see SessionOptions.executionProviders). */
  executionProviders?: readonly ExecutionProvider[];
  /** Backend 'onnxruntime': threads of its CPU provider (default: one per core). */
  intraOpThreads?: number;
  /** Bodies one while_loop or scan may run per call before the call fails with GC0403 (default 10^6), as Session's. */
  maxLoopIterations?: number;
  /**
   * Optimize the traced graph before running it (default true): `f.graph` and the Session
   * see the optimized graph; gc.trace stays raw. Options choose passes and limits.
   */
  optimize?: boolean | OptimizeOptions;
  /**
   * A JavaScript loop over tf.unstack slices (an RNN's time steps): 'auto' (default) and 'roll'
   * roll it into one scan, over a symbolic dim or a fixed length; 'unroll' keeps the chain as
   * traced (see LoopMode in src/trace/roll_loops.ts).
   */
  loops?: LoopMode;
}

export interface CompiledFunction<R = unknown> {
  /**
   * Tensors are inputs; numbers, booleans, strings, null and undefined are static, part of the
   * trace signature like Python values for tf.function (another value traces again). With
   * `inputs`, the specs describe the first parameters and the arguments after them are static.
   */
  (...args: (tf.Tensor | StaticArg)[]): Promise<R>;
  /** The (optimized, unless `optimize: false`) graph of the (last) traced signature. */
  readonly graph: Graph;
  readonly specs: readonly TensorSpec[] | undefined;
  /** How many times the function was traced (each trace of a signature counts once). */
  readonly traceCount: number;
  /** The Session that runs the graph (created on first use). */
  session(): Promise<Session>;
  /**
   * The synchronous call form, for code that cannot await (inside tf.tidy, tf.grad, a tfjs-data
   * forEachAsync callback): same results as `await f(...)`. Needs the backend ready: `await f.ready()`
   * once first (or one awaited call). Inside another compiled function, f.sync (or f) is inlined into its graph.
   */
  sync(...args: (tf.Tensor | StaticArg)[]): R;
  /** Selects and initialises the backend (and creates the session of a traced signature), so that f.sync can run. */
  ready(): Promise<void>;
  /**
   * An ONNX ModelProto of `graph` (opts.opset default 17), with the variables' values now (the
   * live tf.Variables, hyper-parameters' current values), not those the function was traced with.
   */
  toOnnx(opts?: OnnxExportOptions): Uint8Array;
  /**
   * The value a variable of `graph` holds now, as exported (undefined: not a live variable); pass
   * it as `stateValues` to gc.exportOnnx / gc.initialStateModel of this function's graph.
   */
  stateValues(variable: string): TensorData | undefined;
  dispose(): void;
}

/** Any parameters: tensors, and static values (numbers, booleans, strings) that are part of the trace signature. */
type Fn = (...args: never[]) => unknown;

interface Entry {
  graph: Graph;
  structure: OutputStructure;
  specs: TensorSpec[];
  /** State variables that stand for JS numbers read by the trace (TracedFunction.hyper). */
  hyper: Map<string, () => number>;
  /** JS values the graph was traced with (TracedFunction.guards): a change means a retrace. */
  guards: TraceGuard[];
  /** What a call does in JS besides the graph (TracedFunction.afterCall: optimizers' iteration counts). */
  afterCall?: (() => void) | undefined;
  /** The traced graph before optimization, kept until the backend 'auto' picks is known. */
  raw?: Graph;
  /** The backend `graph` was optimized for (undefined: none known yet, or not optimized). */
  optimizedFor?: string;
  /** The session, once created (runs need no await from then on). */
  ready?: Session;
  /** The graph's output names (one array per entry: a Session recognises its plan by it). */
  outNames?: string[];
  session?: Promise<Session>;
}

function registered(): Record<string, tf.Variable> {
  return tf.engine().state.registeredVariables;
}

/** Gives variables created during a trace real data: their initial values, evaluated once. */
export function materializeCreated(trace: TraceResult): void {
  const g = trace.graph;
  const names = trace.created.map((c, i) => {
    if (c.init.kind === 'input') {
      throw new GcError({ code: Codes.traceVariable, message: `variable '${c.variable.name}' is created from a function input`, loc: c.init.producer?.loc,
        help: 'create variables outside the compiled function, from constants' });
    }
    if (c.init.name === undefined) g.setName(c.init, g.freshName(`__init_${i}`));
    return c.init.name!;
  });
  if (names.length === 0) return;
  const backend = tf.getBackend();
  // Created from the real backend's point of view: a throwaway session over the trace graph.
  const s = Session.forBackend(g, backend);
  let outs: tf.Tensor[];
  try {
    outs = s.execute(names, {}, (n) => {
      const v = registered()[n];
      if (!v) throw new GcError({ code: Codes.traceVariable, message: `variable '${n}' no longer exists` });
      return v;
    }, { updates: false }).outputs;
  } catch (e) {
    if (e instanceof GcError && e.summary.startsWith('missing feed')) {
      throw new GcError({ code: Codes.traceVariable, message: `a variable created in the function is initialised from a function input: ${e.summary}`, help: 'create variables outside the compiled function' });
    }
    throw e;
  } finally {
    s.dispose();
  }
  trace.created.forEach((c, i) => {
    // The variable takes over the evaluated tensor's data (and its place in tfjs's accounting);
    // kept, so that a tf.tidy the caller is in does not free it.
    (c.variable as { dataId: object }).dataId = tf.keep(outs[i]!).dataId;
  });
}

function traceEndedError(graphName: string): GcError {
  return new GcError({ code: Codes.traceEnded, message: `'${graphName}' was called with a tensor of a trace that has ended (asynchronous work a traced function left running)`,
    loc: userLocation(), help: 'call compiled functions from synchronous code inside the traced function, or with the results of a compiled call' });
}

/** A rejected promise already marked handled: awaiting it still throws; dropping it is not an unhandled rejection. */
function abandoned<T>(err: GcError): Promise<T> {
  const p = Promise.reject<T>(err);
  p.catch(() => undefined);
  return p;
}

/** tf.keep of every tensor in a compiled function's result (a tensor, an array or a record of them). */
/** A tf.Variable's values as TensorData of its graph dtype (int64 widened from tfjs's int32; bools 0/1). */
function liveTensorData(v: tf.Tensor, dtype: DType): TensorData {
  const data = v.dataSync() as ArrayLike<number>;
  const shape = [...v.shape];
  switch (dtype) {
    case 'float32': return { dtype, shape, data: Float32Array.from(data) };
    case 'int32': return { dtype, shape, data: Int32Array.from(data) };
    case 'bool': return { dtype, shape, data: Uint8Array.from(data, (x) => (x ? 1 : 0)) };
    case 'int64': return { dtype, shape, data: BigInt64Array.from(Array.from(data, (x) => BigInt(x))) };
  }
  throw new GcError({ code: Codes.exportOptions, message: `toOnnx: a variable of dtype ${String(dtype)} cannot be exported from its live value` });
}

function keepAll<T>(r: T): T {
  if (r instanceof tf.Tensor) tf.keep(r);
  else if (Array.isArray(r)) for (const t of r) { if (t instanceof tf.Tensor) tf.keep(t); }
  else if (r !== null && typeof r === 'object') for (const t of Object.values(r)) { if (t instanceof tf.Tensor) tf.keep(t); }
  return r;
}

function rebuild(structure: OutputStructure, outs: tf.Tensor[]): unknown {
  switch (structure.kind) {
    case 'none': return undefined;
    case 'single': return outs[0];
    case 'array': return outs;
    case 'record': return Object.fromEntries(structure.keys.map((k, i) => [k, outs[i]]));
  }
}

function specOf(t: tf.Tensor): TensorSpec {
  return { shape: [...t.shape], dtype: t.dtype as DType, name: undefined };
}

function checkArgs(specs: readonly TensorSpec[], graph: Graph, args: unknown[]): void {
  if (args.length !== specs.length) {
    throw new GcError({ code: Codes.inputMismatch, message: `expected ${specs.length} argument(s) (${specs.map(specToString).join(', ')}), got ${args.length}`, loc: userLocation() });
  }
  let bound: Map<string, number> | undefined;
  args.forEach((a, i) => {
    const input = graph.inputs[i]!;
    const s = specs[i]!;
    if (!(a instanceof tf.Tensor)) {
      throw new GcError({ code: Codes.inputMismatch, message: `input '${input.name}': expected a tf.Tensor ${specToString(s)}, got ${a === null ? 'null' : typeof a}`, loc: userLocation() });
    }
    if (a.isDisposed) {
      throw new GcError({ code: Codes.inputMismatch, message: `input '${input.name}': the tensor was disposed`, loc: userLocation(), help: 'pass a live tensor (tf.tidy or dispose() may have freed it)' });
    }
    const bad = (why: string) => new GcError({ code: Codes.inputMismatch, message: `input '${input.name}': expected ${typeToString(input.type)}, got ${a.dtype}[${a.shape.join(',')}] (${why})`,
      loc: userLocation(), help: 'pass a tensor matching the spec given to gc.compile, or compile without `inputs` to trace per signature' });
    const wantDtype = tfDtype(s.dtype);
    if (a.dtype !== wantDtype) throw bad('dtype differs');
    if (a.shape.length !== s.shape.length) throw bad(`rank ${a.shape.length} ≠ ${s.shape.length}`);
    for (let k = 0; k < s.shape.length; k++) {
      const d = s.shape[k], got = a.shape[k]!;
      if (typeof d === 'number') { if (d !== got) throw bad(`dim ${k} is ${got}, not ${d}`); }
      else if (typeof d === 'string') {
        bound ??= new Map();
        const prev = bound.get(d);
        if (prev !== undefined && prev !== got) throw bad(`'${d}' is ${prev} in an earlier input`);
        bound.set(d, got);
      }
    }
  });
}

export function compile<R = tf.Tensor>(fn: Fn, opts: CompileOptions = {}): CompiledFunction<R> {
  if (typeof fn !== 'function') throw new GcError({ code: Codes.inputMismatch, message: `gc.compile: expected a function, got ${typeof fn}`, loc: userLocation() });
  const kind = (fn as { constructor?: { name?: string } }).constructor?.name;
  if (kind === 'AsyncFunction' || kind === 'AsyncGeneratorFunction' || kind === 'GeneratorFunction') {
    throw new GcError({ code: Codes.traceUnsupported, message: `gc.compile: '${fn.name || 'the function'}' is ${kind === 'AsyncFunction' ? 'an async function' : 'a generator'}; a compiled function must be synchronous`, loc: userLocation(),
      help: 'remove async/await inside it (tfjs ops are synchronous); read data after the compiled call: await (await f(x)).data()' });
  }
  const graphName = opts.name ?? (fn.name && /^[A-Za-z_]\w*$/.test(fn.name) ? fn.name : 'f');
  const entries = new Map<string, Entry>();
  let last: Entry | undefined;
  let traces = 0;

  /** The backend the optimizer is told about: the one named in the options, undefined under 'auto'. */
  const optimizeBackend = (): string | undefined => {
    const o = typeof opts.optimize === 'object' ? opts.optimize : {};
    const b = o.backend ?? opts.backend;
    return b === undefined || b === 'auto' ? undefined : b;
  };
  const optimizeOpts = (backend: string | undefined): OptimizeOptions => {
    const o = typeof opts.optimize === 'object' ? opts.optimize : {};
    return { ...o, ...(backend !== undefined ? { backend } : {}) };
  };

  const keyOf = (specs: readonly TensorSpec[], statics: ReadonlyMap<number, StaticArg>): string =>
    specs.map(specToString).join(';') + [...statics].map(([i, v]) => `|${i}=${typeof v}:${String(v)}`).join('');
  /** The key of the one signature given by `inputs` without static arguments (made once: calls look it up). */
  const fixedKey = opts.inputs ? keyOf(opts.inputs, new Map()) : undefined;
  const traceFor = (specs: readonly TensorSpec[], statics: ReadonlyMap<number, StaticArg> = new Map()): Entry => {
    const key = statics.size === 0 && specs === opts.inputs ? fixedKey! : keyOf(specs, statics);
    let e = entries.get(key);
    if (e?.guards.some((g) => g.changed())) {
      // A JS value the trace depended on changed since (tf.function retraces on a changed Python value).
      e.ready?.dispose();
      void e.session?.then((s) => s.dispose(), () => undefined);
      entries.delete(key);
      e = undefined;
    }
    if (!e) {
      const t = traceFunction(fn, [...specs], materializeCreated, graphName, statics, opts.loops);
      traces++;
      if (opts.outputs) {
        if (opts.outputs.length !== t.graph.outputs.length) {
          throw new GcError({ code: Codes.sessionName, message: `outputs: ${opts.outputs.length} names given for ${t.graph.outputs.length} outputs` });
        }
        t.graph.outputs.forEach((o, i) => { o.name = opts.outputs![i]!; });
      }
      e = { graph: t.graph, structure: t.structure, specs: [...specs], hyper: t.hyper ?? new Map(), guards: t.guards ?? [], afterCall: t.afterCall };
      if (opts.optimize !== false) {
        // Backend-aware passes need the backend: named, it is known now; under 'auto' the graph
        // is optimized without them until the session resolves the choice, then again for it.
        // Constants fold with the semantics of the engine that runs the graph (runtime/eval_const.ts):
        // a named backend not initialised yet (wasm before its first use) is treated as 'auto' is.
        const named = optimizeBackend();
        const foldable = named !== undefined && canFoldFor(named);
        if (!foldable) e.raw = t.graph.clone();
        optimizeInPlace(t.graph, foldable ? optimizeOpts(named) : { ...optimizeOpts(named), foldFor: 'cpu' });
        e.optimizedFor = foldable ? named : undefined;
      }
      entries.set(key, e);
    }
    last = e;
    return e;
  };
  // Traced now unless the function takes static arguments after the specs (known at the first call).
  if (opts.inputs && fn.length <= opts.inputs.length) traceFor(opts.inputs);

  /** The backend choice, once resolved (the same for every signature): later sessions are created without waiting. */
  let choice: BackendChoice | undefined = opts.backendChoice;
  const resolveChoice = async (): Promise<BackendChoice> => {
    if (choice === undefined) {
      const c = await selectBackend(opts.backend ?? 'auto', { allowSoftwareWebgpu: opts.allowSoftwareWebgpu, executionProviders: opts.executionProviders });
      await ensureBackend(c.name);
      choice = c;
    }
    return choice;
  };
  /** Under 'auto', the graph is optimized again once the backend is known. */
  const settle = (e: Entry, c: BackendChoice): Session => {
    if (e.raw !== undefined && e.optimizedFor !== c.name) {
      const g = e.raw.clone();
      optimizeInPlace(g, optimizeOpts(c.name));
      e.graph = g;
      e.outNames = undefined;
      e.optimizedFor = c.name;
      e.raw = undefined;
    }
    e.ready = Session.createReady(e.graph, c, { seed: opts.seed, maxTensorBytes: opts.maxTensorBytes, intraOpThreads: opts.intraOpThreads, maxLoopIterations: opts.maxLoopIterations });
    return e.ready;
  };
  const sessionFor = (e: Entry): Promise<Session> => {
    if (e.ready !== undefined) return Promise.resolve(e.ready);
    e.session ??= resolveChoice().then((c) => e.ready ?? settle(e, c));
    return e.session;
  };

  let disposed = false;
  const disposedError = () => new GcError({ code: Codes.runtime, message: `the compiled function '${graphName}' was disposed`, loc: userLocation(), help: 'compile the function again' });
  /** tfjs records a gradient tape (tf.grad, tf.valueAndGrad, gc.GradientTape): fn runs eagerly so that its kernels are on the tape. */
  const taping = () => (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;

  /** The tensor arguments, and the static ones by position (CompiledFunction's call). */
  const splitArgs = (all: unknown[]): { args: tf.Tensor[]; statics: Map<number, StaticArg> } => {
    const args: tf.Tensor[] = [], statics = new Map<number, StaticArg>();
    const n = opts.inputs?.length;
    all.forEach((a, i) => {
      if (n !== undefined ? i < n : !isStaticArg(a)) { args.push(a as tf.Tensor); return; }
      if (!isStaticArg(a)) {
        throw new GcError({ code: Codes.inputMismatch, message: `argument ${i}: the ${n} input specs describe the first arguments; the ones after them are static (numbers, booleans, strings), got ${typeof a}`,
          loc: userLocation(), help: 'give a spec for every tensor argument, in order, before the static ones' });
      }
      statics.set(i, a);
    });
    return { args, statics };
  };

  const entryFor = (args: unknown[], statics: ReadonlyMap<number, StaticArg>): Entry => {
    // With specs: the one signature (per static values), traced again only when a guard changed (TracedFunction.guards).
    const e = opts.inputs ? traceFor(opts.inputs, statics) : traceFor(args.map((a, i) => {
      if (!(a instanceof tf.Tensor)) throw new GcError({ code: Codes.inputMismatch, message: `argument ${i} is not a tf.Tensor (got ${a === null ? 'null' : typeof a})`, loc: userLocation() });
      return specOf(a);
    }), statics);
    checkArgs(e.specs, e.graph, args);
    last = e;
    return e;
  };

  const outNamesOf = (e: Entry): string[] => (e.outNames ??= e.graph.outputs.map((o) => o.name));

  const feedsOf = (e: Entry, args: readonly tf.Tensor[]): Record<string, tf.Tensor> => {
    const feeds: Record<string, tf.Tensor> = {};
    e.graph.inputs.forEach((v, i) => { feeds[v.name!] = args[i]!; });
    return feeds;
  };

  /** What a run reads for a variable: a hyper-parameter's current value (made now, freed after the run), or the tf.Variable. */
  const stateReader = (e: Entry, hyperIn: tf.Tensor[]) => (n: string): tf.Tensor => {
    const h = e.hyper.get(n);
    if (h !== undefined) {
      // Read now, so a change made between calls takes effect (created on the session's backend).
      const t = tf.scalar(h(), 'float32');
      hyperIn.push(t);
      return t;
    }
    const v = registered()[n];
    if (!v) throw new GcError({ code: Codes.traceVariable, message: `variable '${n}' used by the compiled function was disposed`, help: 'keep the variables alive while the compiled function is used' });
    return v;
  };

  /** A run's results: variables assigned what the step assigned, outputs rebuilt into the function's structure. */
  const finish = (e: Entry, s: Session, res: ReturnType<Session['execute']>): R => {
    const { outputs, updates } = res;
    // Assigned under the backend that holds the new values: Variable.assign increments the data's
    // reference on the current backend, which moves data another backend holds onto it (ONNX
    // Runtime's results are tfjs-cpu tensors; under auto, assigning them with wasm current moved
    // an MLP Adam step's 2.8 MB of state into the wasm heap on every step, 0.4 ms of its 4.3 ms).
    if (updates.size > 0) {
      const first = updates.values().next().value as tf.Tensor;
      const holder = backendNameOf(holderOf(first));
      withBackend(holder !== 'unknown' ? holder : s.backend.tfjsName, () => {
        for (const [name, t] of updates) {
          registered()[name]!.assign(t);
          t.dispose();
        }
      });
    }
    e.afterCall?.();
    return rebuild(e.structure, outputs) as R;
  };

  /**
   * One run on a ready session. Synchronous: the inputs are read before the caller can free them.
   * `measured` (f.sync): under backend 'auto', ONNX Runtime is measured and used synchronously
   * where it can be (Session.executeSync); else the tfjs engine runs it.
   */
  const runOn = (e: Entry, s: Session, feeds: Record<string, tf.Tensor>, measured = false): R => {
    const hyperIn: tf.Tensor[] = [];
    let res: ReturnType<Session['execute']>;
    try {
      res = measured ? s.executeSync(outNamesOf(e), feeds, stateReader(e, hyperIn)) : s.execute(outNamesOf(e), feeds, stateReader(e, hyperIn));
    } finally {
      for (const t of hyperIn) t.dispose();
    }
    return finish(e, s, res);
  };

  /**
   * One run on ONNX Runtime (backend 'onnxruntime', or 'auto' where it chose it): synchronously
   * where the engine can (Session.executeNow; the results kept from a tf.tidy the caller may be
   * in), else asynchronously.
   */
  const runOnAsync = (e: Entry, s: Session, feeds: Record<string, tf.Tensor>): Promise<R> => {
    const hyperIn: tf.Tensor[] = [];
    let res: ReturnType<Session['execute']> | undefined;
    try {
      res = s.executeNow(outNamesOf(e), feeds, stateReader(e, hyperIn));
      if (res !== undefined) return Promise.resolve(keepAll(finish(e, s, res)));
    } catch (err) {
      return Promise.reject(err);
    } finally {
      for (const t of hyperIn) t.dispose();
    }
    return runOnAsyncLater(e, s, feeds);
  };

  /** One run on a session that runs asynchronously; the caller holds the inputs meanwhile. */
  const runOnAsyncLater = async (e: Entry, s: Session, feeds: Record<string, tf.Tensor>): Promise<R> => {
    const hyperIn: tf.Tensor[] = [];
    let res: ReturnType<Session['execute']>;
    try {
      res = await s.executeAsync(outNamesOf(e), feeds, stateReader(e, hyperIn));
    } finally {
      for (const t of hyperIn) t.dispose();
    }
    return finish(e, s, res);
  };

  const call = (...all: unknown[]): Promise<R> => {
    if (disposed) return Promise.reject(disposedError());
    // Called while another function is traced: inlined into that graph (the value, not a Promise).
    // Under a gradient tape: eager, so that tfjs can differentiate it.
    if (isTracing() || taping()) return (fn as (...a: unknown[]) => unknown)(...all) as Promise<R>;
    // Called with a tensor of a trace that has ended: from asynchronous work a traced function
    // left running (the trace already failed with its own error). The rejection is marked
    // handled, so that work, if it dropped this promise, never ends the process.
    if (all.some((a) => a instanceof tf.Tensor && isTraceTensor(a))) return abandoned(traceEndedError(graphName));
    let e: Entry, args: tf.Tensor[];
    try {
      let statics: Map<number, StaticArg>;
      ({ args, statics } = splitArgs(all));
      e = entryFor(args, statics);
      const s = e.ready;
      // Run now; the results belong to whoever awaits them, not to a tf.tidy the caller may be in.
      const feeds = s !== undefined ? feedsOf(e, args) : undefined;
      if (s !== undefined && !s.needsAsyncRead(feeds!)) {
        if (s.runsSync(outNamesOf(e), feeds!)) return Promise.resolve(keepAll(runOn(e, s, feeds!)));
        // ONNX Runtime: the engine reads the inputs and variables before this returns its promise, so nothing is held.
        return runOnAsync(e, s, feeds!);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    // The first call creates the session (asynchronously), and webgpu feeds are read asynchronously:
    // meanwhile the inputs are held, so a caller that frees them right away (tf.tidy, tfjs-data) is safe.
    // Kept: a tf.tidy the caller is in ends before the call does.
    const held = args.map((t) => tf.keep(holdTensor(t)));
    return (async () => {
      try {
        const s = await sessionFor(e);
        const p = await s.prepareFeeds(feedsOf(e, held));
        try {
          // ONNX Runtime (backend 'onnxruntime', or 'auto' measuring it / having chosen it) runs asynchronously.
          if (!s.runsSync(outNamesOf(e), p.feeds as Record<string, tf.Tensor>)) return await runOnAsync(e, s, p.feeds as Record<string, tf.Tensor>);
          return runOn(e, s, p.feeds as Record<string, tf.Tensor>);
        } finally {
          for (const t of p.temps) t.dispose();
        }
      } finally {
        for (const t of held) t.dispose();
      }
    })();
  };

  const sync = (...all: unknown[]): R => {
    if (disposed) throw disposedError();
    if (isTracing() || taping()) return (fn as (...a: unknown[]) => unknown)(...all) as R;
    if (all.some((a) => a instanceof tf.Tensor && isTraceTensor(a))) throw traceEndedError(graphName);
    const { args, statics } = splitArgs(all);
    const e = entryFor(args, statics);
    const s = e.ready ?? (choice !== undefined ? settle(e, choice) : undefined);
    if (s === undefined) {
      throw new GcError({ code: Codes.runtime, message: `f.sync: the backend of '${graphName}' is not ready yet`, loc: userLocation(),
        help: 'await f.ready() once (or make one awaited call) before calling f.sync: backends initialise asynchronously' });
    }
    const feeds = feedsOf(e, args);
    if (s.asyncOnly) {
      throw new GcError({ code: Codes.runtime, message: `f.sync: '${graphName}' runs on backend 'onnxruntime', which runs asynchronously only`, loc: userLocation(),
        help: "await f(...) instead, or compile with a tfjs backend (backend: 'wasm' or 'cpu') for f.sync" });
    }
    if (s.needsAsyncRead(feeds)) {
      throw new GcError({ code: Codes.inputMismatch, message: `f.sync: an input is held by webgpu, which cannot be read synchronously by a ${s.backend.name} session`, loc: userLocation(),
        help: 'await f(...) instead, or move the data first: tf.tensor(await t.data(), t.shape, t.dtype)' });
    }
    return runOn(e, s, feeds, true);
  };

  Object.defineProperties(call, {
    graph: { get: () => { if (!last) throw new GcError({ code: Codes.inputMismatch, message: 'the function has not been traced yet', help: 'call it once, or give {inputs: [...]} to gc.compile' }); return last.graph; } },
    specs: { get: () => opts.inputs },
    traceCount: { get: () => traces },
  });
  const f = call as unknown as CompiledFunction<R> & { session: () => Promise<Session>; toOnnx: (o?: OnnxExportOptions) => Uint8Array; stateValues: (n: string) => TensorData | undefined; dispose: () => void; sync: (...a: unknown[]) => R; ready: () => Promise<void> };
  f.sync = sync;
  f.ready = async () => {
    const c = await resolveChoice();
    if (last !== undefined && last.ready === undefined) settle(last, c);
  };
  f.stateValues = (name) => {
    const e = last;
    const st = e?.graph.stateByName(name);
    if (e === undefined || st === undefined) return undefined;
    const h = e.hyper.get(name);
    if (h !== undefined) return { dtype: 'float32', shape: [], data: Float32Array.of(h()) };
    const v = registered()[name];
    if (v === undefined || v.isDisposed) return undefined;
    return liveTensorData(v, st.value.dtype);
  };
  f.toOnnx = (o) => toOnnx(f.graph, { stateValues: f.stateValues, ...o });
  f.session = () => { if (!last) throw new GcError({ code: Codes.inputMismatch, message: 'the function has not been traced yet' }); return sessionFor(last); };
  f.dispose = () => {
    disposed = true;
    for (const e of entries.values()) {
      e.ready?.dispose();
      void e.session?.then((s) => s.dispose(), () => undefined);
    }
  };
  return f;
}
