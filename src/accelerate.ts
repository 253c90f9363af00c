/**
 * gc.accelerate: Keras-style training (model.fit, fitDataset, trainOnBatch, evaluate,
 * evaluateDataset, predict) on graphc-compiled graphs, with tfjs-layers' own loops.
 *
 *   const model = gc.accelerate(tfl.sequential({...}), { optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['acc'] });
 *   const history = await model.fit(x, y, { epochs: 5, validationSplit: 0.1, callbacks: [tfl.callbacks.earlyStopping()] });
 *
 * tfjs-layers trains through three functions of the model: makeTrainFunction() (one optimizer
 * step on a batch: [loss, ...metrics]), makeTestFunction() (loss and metrics of a batch) and
 * predictLoop() (outputs, batch by batch). fit, fitDataset, trainOnBatch, evaluate and
 * evaluateDataset call the first two; predict and predictOnBatch the third. accelerate patches
 * exactly those on the model (for a Sequential, on the LayersModel inside it), so everything
 * around them — fitLoop, callbacks, validation, class weights, History, the progress output —
 * is tfjs's own code. Each function is compiled (gc.compile) once per signature of its batch,
 * with the batch dimension symbolic, so the last, smaller batch of an epoch runs the same graph.
 *
 * State stays the user's: the model's weights are its tf.Variables, the optimizer's slots (Adam's
 * m and v) and its iteration count are the tf.train optimizer's own (a later eager fit continues
 * from them), and a JS number the optimizer reads (learningRate, set by a callback between
 * batches) is read at every step: gc.compile turns the constants it produced into graph state
 * (src/trace/hyperparams.ts), so a learning-rate schedule takes effect without a retrace.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Codes, GcError } from '../ir/errors.js';
import type { DType } from '../ir/dtype.js';
import type { BackendChoice, BackendName } from '../runtime/backends/select.js';
import { ensureBackend, selectBackend } from '../runtime/backends/select.js';
import { compile } from './compile.js';
import type { CompiledFunction } from './compile.js';
import { spec } from './trace/spec.js';
import { isTracing } from './trace/tracer.js';

export interface AccelerateOptions {
  /** With `loss`: model.compile({ optimizer, loss, metrics }) first (else the model is compiled already, or later). */
  optimizer?: tfl.ModelCompileArgs['optimizer'];
  loss?: tfl.ModelCompileArgs['loss'];
  metrics?: tfl.ModelCompileArgs['metrics'];
  /** The backend the compiled steps run on (default 'auto'). */
  backend?: BackendName;
  /** Seeds the compiled graphs' random ops (dropout), as gc.compile's `seed`. */
  seed?: number;
  /**
   * A step graphc cannot trace (a layer reading tensor data in JavaScript, an op without a rule) or
   * whose first run fails (a kernel the backend lacks): false (default) runs that step eagerly, as
   * tfjs would, says so once on stderr and lists it in gc.accelerated(model).refused; true throws
   * the GcError.
   */
  strict?: boolean;
}

/** What gc.accelerated(model) tells about an accelerated model. */
export interface Acceleration {
  /** The backend the compiled steps run on (undefined until it is selected: await ready()). */
  readonly backend: string | undefined;
  /** Traces of all its compiled functions together (a new batch size is not a new trace). */
  readonly traceCount: number;
  /** The batch signatures graphc could not compile ('train float32[28,28];float32[10]', '_' for an absent one), with the error: they run eagerly. */
  readonly refused: ReadonlyMap<string, GcError>;
  /** Batches run by a compiled graph, and by tfjs eagerly (before the backend was ready, under a gradient tape, or refused). */
  readonly compiledRuns: number;
  readonly eagerRuns: number;
  /** The compiled functions by role and batch signature ('train float32[28,28];float32[10]', '_' for an absent one). */
  functions(): ReadonlyMap<string, CompiledFunction<tf.Tensor[]>>;
  /** Selects and initialises the backend (fit and the other asynchronous methods await it themselves). */
  ready(): Promise<void>;
  /** Puts tfjs's own methods back on the model and frees the compiled functions. */
  dispose(): void;
}

type Batch = (tf.Tensor | null)[];
type StepFn = (data: Batch) => tf.Tensor[];

/** The members of tfjs-layers' LayersModel that accelerate reads or patches (public in its JS, not all in its typings). */
interface Engine {
  makeTrainFunction(): StepFn;
  makeTestFunction(): void;
  testFunction: StepFn;
  predictLoop(ins: tf.Tensor | tf.Tensor[], batchSize?: number, verbose?: boolean): tf.Tensor | tf.Tensor[];
  execute(inputs: tf.Tensor | tf.Tensor[], outputs: string[]): tf.Tensor[];
  outputs: { name: string }[];
  optimizer_?: tf.Optimizer;
  lossFunctions?: unknown[];
  metricsTensors?: unknown[];
  fit(...a: unknown[]): Promise<unknown>;
  fitDataset(...a: unknown[]): Promise<unknown>;
  trainOnBatch(...a: unknown[]): Promise<unknown>;
  evaluateDataset(...a: unknown[]): Promise<unknown>;
}

const PATCHED = ['makeTrainFunction', 'makeTestFunction', 'predictLoop', 'fit', 'fitDataset', 'trainOnBatch', 'evaluateDataset'] as const;

const accelerations = new WeakMap<object, Accelerator>();

/** tfjs records a gradient tape: run eagerly so that tfjs can differentiate it (as gc.compile does). */
const taping = () => (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;

function dtypeOf(t: tf.Tensor): DType {
  return t.dtype as DType;
}

class Accelerator implements Acceleration {
  private choice: BackendChoice | undefined;
  private choosing: Promise<void> | undefined;
  private readonly fns = new Map<string, CompiledFunction<tf.Tensor[]>>();
  readonly refused = new Map<string, GcError>();
  /** The compile() of the model the compiled functions were traced for: a new one (model.compile again) drops them. */
  private generation: readonly unknown[] = [];
  private retired = 0;
  compiledRuns = 0;
  eagerRuns = 0;
  private readonly saved = new Map<string, PropertyDescriptor | undefined>();

  /** The model's own compile, saved while a Sequential's is patched (null: not patched). */
  private outerCompile: PropertyDescriptor | undefined | null = null;

  constructor(readonly model: tfl.LayersModel, public engine: Engine, private readonly opts: AccelerateOptions) {}

  get backend(): string | undefined { return this.choice?.name; }
  get traceCount(): number {
    let n = this.retired;
    for (const f of this.fns.values()) n += f.traceCount;
    return n;
  }
  functions(): ReadonlyMap<string, CompiledFunction<tf.Tensor[]>> { return this.fns; }

  ready(): Promise<void> {
    this.choosing ??= (async () => {
      const c = await selectBackend(this.opts.backend ?? 'auto');
      await ensureBackend(c.name);
      this.choice = c;
    })();
    return this.choosing;
  }

  /** Runs one batch of `role` compiled (its function per batch signature), or `eager` where it cannot. */
  run(role: string, data: Batch, eager: StepFn): tf.Tensor[] {
    const choice = this.choice;
    if (choice === undefined || isTracing() || taping()) {
      this.eagerRuns++;
      return eager(data);
    }
    this.checkGeneration();
    const tensors: tf.Tensor[] = [];
    const parts = data.map((t) => {
      if (t === null || t === undefined) return '_';
      tensors.push(t);
      return `${t.dtype}[${t.shape.slice(1).join(',')}]`;
    });
    const key = `${role} ${parts.join(';')}`;
    let f = this.fns.get(key);
    if (f === undefined && this.refused.has(key)) {
      this.eagerRuns++;
      return eager(data);
    }
    if (f === undefined) {
      const present = data.map((t) => t !== null && t !== undefined);
      const step = (...ts: tf.Tensor[]): tf.Tensor[] => {
        let k = 0;
        return eager(present.map((p) => (p ? ts[k++]! : null)));
      };
      for (const t of tensors) {
        if (t.rank === 0) {
          throw new GcError({ code: Codes.inputMismatch, message: `accelerate: a ${role} batch holds a scalar (${t.dtype}[]) where tfjs-layers passes batches`, help: 'give inputs and targets with a batch dimension' });
        }
      }
      try {
        // Traced here (the specs are given): a step graphc cannot trace fails now, before it ran.
        f = compile<tf.Tensor[]>(step, {
          inputs: tensors.map((t) => spec(['batch', ...t.shape.slice(1)], dtypeOf(t))),
          backendChoice: choice,
          name: `${role}_step`,
          ...(this.opts.seed !== undefined ? { seed: this.opts.seed } : {}),
        });
      } catch (err) {
        if (this.opts.strict || !(err instanceof GcError)) throw err;
        this.refuse(key, role, 'graphc cannot trace it', err);
        this.eagerRuns++;
        return eager(data);
      }
      this.fns.set(key, f);
      // The first run, where the engine may lack a kernel the graph needs (tfjs-wasm has no
      // Conv2DBackpropFilter): a failed run assigned nothing, so tfjs can run the step instead.
      let out: tf.Tensor[];
      try {
        out = f.sync(...tensors);
      } catch (err) {
        if (this.opts.strict || !(err instanceof GcError)) throw err;
        this.refuse(key, role, `its graph does not run on ${choice.name}`, err);
        this.retired += f.traceCount;
        f.dispose();
        this.fns.delete(key);
        this.eagerRuns++;
        return eager(data);
      }
      this.compiledRuns++;
      return out;
    }
    this.compiledRuns++;
    return f.sync(...tensors);
  }

  private refuse(key: string, role: string, why: string, err: GcError): void {
    this.refused.set(key, err);
    process.stderr.write(`graphc: gc.accelerate runs the ${role} step eagerly: ${why} (${err.summary})\n`);
  }

  /** model.compile() again (a new optimizer, loss or metrics): the functions traced for the old ones go. */
  private checkGeneration(): void {
    const e = this.engine;
    const now = [e.optimizer_, e.lossFunctions, e.metricsTensors];
    if (now.every((x, i) => x === this.generation[i])) return;
    this.dropFunctions();
    this.generation = now;
  }

  dropFunctions(): void {
    for (const f of this.fns.values()) { this.retired += f.traceCount; f.dispose(); }
    this.fns.clear();
    this.refused.clear();
  }

  /** Patches tfjs's training functions on `engine` (for a Sequential: its inner model, again after each model.compile, which builds a new one). */
  patch(engine: Engine): void {
    this.engine = engine;
    const e = engine as unknown as Record<string, unknown>;
    for (const k of PATCHED) this.saved.set(k, Object.getOwnPropertyDescriptor(e, k));
    const acc = this;
    const proto = Object.getPrototypeOf(engine) as Engine;
    const own = <K extends (typeof PATCHED)[number]>(k: K, v: Engine[K]) => {
      Object.defineProperty(e, k, { value: v, configurable: true, writable: true, enumerable: false });
    };
    own('makeTrainFunction', function (this: Engine) {
      const eager = proto.makeTrainFunction.call(this);
      return (data: Batch) => acc.run('train', data, eager);
    });
    own('makeTestFunction', function (this: Engine) {
      proto.makeTestFunction.call(this);
      const eager = this.testFunction;
      this.testFunction = (data: Batch) => acc.run('test', data, eager);
    });
    own('predictLoop', function (this: Engine, ins: tf.Tensor | tf.Tensor[], batchSize = 32, verbose = false) {
      if (acc.choice === undefined || verbose) return proto.predictLoop.call(this, ins, batchSize, verbose);
      const model = this;
      const names = model.outputs.map((o) => o.name);
      const predictBatch: StepFn = (xs) => {
        const r = model.execute(xs.length === 1 ? xs[0]! : (xs as tf.Tensor[]), names);
        return Array.isArray(r) ? r : [r];
      };
      // tfjs's predictLoop, batch by batch (its memory profile), each batch on the compiled graph.
      return tf.tidy(() => {
        const xs = Array.isArray(ins) ? ins : [ins];
        const n = xs[0]!.shape[0]!;
        const outs: tf.Tensor[][] = names.map(() => []);
        for (let start = 0; start < n; start += batchSize) {
          const size = Math.min(batchSize, n - start);
          const batch = xs.map((x) => (start === 0 && size === n ? x : tf.slice(x, start, size)));
          const r = acc.run('predict', batch, predictBatch);
          r.forEach((t, i) => outs[i]!.push(t));
        }
        const cat = outs.map((b) => (b.length === 1 ? b[0]! : tf.concat(b, 0)));
        return cat.length === 1 ? cat[0]! : cat;
      });
    });
    // The asynchronous entry points select the backend first (their steps then run compiled from the first batch).
    for (const k of ['fit', 'fitDataset', 'trainOnBatch', 'evaluateDataset'] as const) {
      own(k, async function (this: Engine, ...a: unknown[]) {
        await acc.ready();
        return (proto[k] as (...x: unknown[]) => Promise<unknown>).apply(this, a);
      });
    }
  }

  /** Puts tfjs's own methods back on the engine. */
  private unpatch(): void {
    const e = this.engine as unknown as Record<string, unknown>;
    for (const [k, d] of this.saved) {
      if (d === undefined) delete e[k];
      else Object.defineProperty(e, k, d);
    }
    this.saved.clear();
  }

  /** A Sequential's compile builds a new inner model: the patches move to it. */
  patchSequentialCompile(): void {
    const outer = this.model as unknown as Record<string, unknown> & { model?: Engine };
    this.outerCompile = Object.getOwnPropertyDescriptor(outer, 'compile');
    const acc = this;
    const compileFn = Object.getPrototypeOf(outer).compile as (a: unknown) => void;
    Object.defineProperty(outer, 'compile', {
      configurable: true, writable: true, enumerable: false,
      value: function (this: typeof outer, args: unknown) {
        compileFn.call(this, args);
        if (this.model != null && this.model !== acc.engine) {
          acc.unpatch();
          acc.dropFunctions();
          acc.patch(this.model);
        }
      },
    });
  }

  dispose(): void {
    this.unpatch();
    if (this.outerCompile !== null) {
      const outer = this.model as unknown as Record<string, unknown>;
      if (this.outerCompile === undefined) delete outer['compile'];
      else Object.defineProperty(outer, 'compile', this.outerCompile);
    }
    this.dropFunctions();
    accelerations.delete(this.model);
  }
}

/** Whether the model is a tfjs-layers Sequential, whose fit and the rest call the LayersModel it builds inside. */
function isSequential(model: tfl.LayersModel): boolean {
  const m = model as unknown as { getClassName?: () => string; add?: unknown; pop?: unknown };
  return m.getClassName?.() === 'Sequential' || (typeof m.add === 'function' && typeof m.pop === 'function');
}

/** The LayersModel whose training functions tfjs calls: a Sequential's inner model (built now if needed), else the model. */
function engineOf(model: tfl.LayersModel): Engine {
  const m = model as unknown as { model?: unknown; build?: () => void };
  const seq = model !== null && typeof model === 'object' && isSequential(model);
  if (seq && m.model == null) m.build?.();
  const e = (seq ? m.model : m) as Partial<Engine> | undefined;
  if (e == null || typeof e.makeTrainFunction !== 'function' || typeof e.predictLoop !== 'function') {
    throw new GcError({ code: Codes.inputMismatch, message: `gc.accelerate: expected a tfjs-layers LayersModel (tf.sequential, tf.model, tf.loadLayersModel), got ${model === null ? 'null' : typeof model === 'object' ? (model as object).constructor?.name ?? 'an object' : typeof model}`,
      help: 'pass the model itself; for a function of tensors use gc.compile' });
  }
  return e as Engine;
}

/**
 * Makes the model's fit, fitDataset, trainOnBatch, evaluate, evaluateDataset, predict and
 * predictOnBatch run graphc-compiled graphs; returns the same model, patched in place. With
 * `optimizer` and `loss` it calls model.compile({ optimizer, loss, metrics }) first (without
 * them, compile the model yourself, before or after). Calling it again on the same model only
 * compiles it again; gc.accelerated(model).dispose() undoes it.
 */
export function accelerate<M extends tfl.LayersModel>(model: M, opts: AccelerateOptions = {}): M {
  engineOf(model); // a LayersModel, or a GcError now
  if (opts.optimizer !== undefined || opts.loss !== undefined) {
    if (opts.optimizer === undefined || opts.loss === undefined) {
      throw new GcError({ code: Codes.inputMismatch, message: `gc.accelerate: ${opts.optimizer === undefined ? 'loss' : 'optimizer'} given without ${opts.optimizer === undefined ? 'optimizer' : 'loss'}`,
        help: "give both (as model.compile needs them), e.g. { optimizer: 'adam', loss: 'categoricalCrossentropy' }, or neither and call model.compile yourself" });
    }
    model.compile({ optimizer: opts.optimizer, loss: opts.loss, ...(opts.metrics !== undefined ? { metrics: opts.metrics } : {}) });
  }
  let acc = accelerations.get(model);
  if (acc === undefined) {
    // After compile: a Sequential's compile builds the LayersModel inside it anew.
    const engine = engineOf(model);
    acc = new Accelerator(model, engine, opts);
    acc.patch(engine);
    if (isSequential(model)) acc.patchSequentialCompile();
    accelerations.set(model, acc);
    // Selecting the backend starts now: a synchronous evaluate or predict runs eagerly until it is ready.
    acc.ready().catch(() => undefined);
  }
  return model;
}

/** The acceleration of a model gc.accelerate patched (undefined for any other). */
export function accelerated(model: tfl.LayersModel): Acceleration | undefined {
  return accelerations.get(model);
}
