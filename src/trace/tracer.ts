/**
 * One concrete trace of a user function: switch tfjs to the trace backend, swap every
 * tf.Variable's data for a state placeholder, run the function, and read back outputs and
 * assignments. Everything is restored afterwards, also when the function throws.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Codes, GcError } from '../../ir/errors.js';
import { Graph } from '../../ir/graph.js';
import type { InitSource } from '../../ir/graph.js';
import type { Value } from '../../ir/graph.js';
import { tensorData } from '../../ir/tensor_data.js';
import { tfDtype } from '../../runtime/tensor_data.js';
import type { TensorData } from '../../ir/tensor_data.js';
import { Recorder, registerTraceBackend, setRecorder, TRACE_BACKEND, traceReadError } from './backend.js';
import type { TraceBackend } from './backend.js';
import { userLocation } from './source_loc.js';
import { installPrint } from './print.js';
import { forwardIdentity } from '../../ir/passes/forward_identity.js';
import { dce } from '../../ir/passes/dce.js';
import { optimizerVariableNames, watchOptimizers } from './hyperparams.js';
import { abandonThenable, isThenable, watchPromises } from './async_guard.js';

type DataId = object;

export interface ConcreteInput {
  name: string;
  dtype: 'float32' | 'int32' | 'bool' | 'int64';
  shape: number[];
}

export interface NewVariable {
  variable: tf.Variable;
  /** The value the variable was created with, in this trace's graph. */
  init: Value;
}

export interface TraceResult {
  graph: Graph;
  /** Variables the function created (optimizer slots, lazily built layers). */
  created: NewVariable[];
  /** Structure of the function's result, to rebuild it from the outputs. */
  structure: OutputStructure;
  /** The tf.train optimizers whose minimize / applyGradients ran during the trace. */
  optimizers: tf.Optimizer[];
  /** How many steps (incrementIterations) each of them took; the trace put their counts back. */
  optimizerSteps: number[];
}

export type OutputStructure =
  | { kind: 'none' }
  | { kind: 'single' }
  | { kind: 'array'; length: number }
  | { kind: 'record'; keys: string[] };

let current: Recorder | undefined;

/** Traces that failed after the function created variables: what is needed to give them data. */
const failedWithCreated = new WeakMap<object, TraceResult>();

/**
 * For an error thrown by traceOnce after the function had created variables (a layer built
 * lazily, then a later op failed): the partial trace, so that the caller can give the variables
 * their initial values (as eager tfjs would have) before it traces again or gives up. Without
 * it they would stay registered with a trace placeholder for data.
 */
export function createdBeforeFailure(err: unknown): TraceResult | undefined {
  return typeof err === 'object' && err !== null ? failedWithCreated.get(err) : undefined;
}

/** gc.name: names a traced value so a Session can fetch it; outside a trace it does nothing. */
export function name<T extends tf.Tensor>(t: T, label: string): T {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(label)) {
    throw new GcError({ code: Codes.sessionName, message: `gc.name: '${label}' is not a valid value name`, loc: userLocation(), help: 'use letters, digits and _ (not starting with a digit)' });
  }
  if (current === undefined) return t;
  const v = current.valueOf(t.dataId, 'gc.name');
  if (v.name === label) return t;
  if (current.graph.hasName(label)) {
    throw new GcError({ code: Codes.sessionName, message: `gc.name: the name '${label}' is already used in this function`, loc: userLocation() });
  }
  if (v.kind !== 'node') {
    throw new GcError({ code: Codes.sessionName, message: `gc.name: cannot rename ${v.kind} '${v.name}' to '${label}'`, loc: userLocation(), help: 'inputs and variables are fetched by their own names' });
  }
  current.graph.setName(v, label);
  return t;
}

/**
 * A variable's value as TensorData: a plain copy of the backend's array when it already is the
 * dtype's canonical one (every trace reads every variable: tensorData's per-element conversion
 * made a training step's trace of a 784-300-100-10 MLP with Adam take 240 ms, mostly copying).
 */
function copyOf(dtype: 'float32' | 'int32' | 'bool', shape: number[], values: ArrayLike<number>, borrow = false): TensorData {
  if ((dtype === 'float32' && values instanceof Float32Array) || (dtype === 'int32' && values instanceof Int32Array)) {
    if (values.length !== shape.reduce((a, b) => a * b, 1)) return tensorData(dtype, shape, values);
    return { dtype, shape: [...shape], data: borrow ? values : values.slice() };
  }
  return tensorData(dtype, shape, values);
}

export function isTracing(): boolean {
  return current !== undefined;
}

function switchBackend(name: string): void {
  void tf.setBackend(name);
  if (tf.getBackend() !== name) throw new Error(`graphc: could not switch tfjs to backend '${name}' synchronously`);
}

/** The parts of tfjs's engine state a trace may disturb (tfjs-core 4.22 EngineState). */
interface EngineFlags {
  scopeStack: unknown[];
  activeScope: unknown;
  gradientDepth: number;
  kernelDepth: number;
  activeTape: unknown;
  numDataMovesStack: unknown[];
}

/** What the engine looks like now: restored after every trace, also after a failed one. */
function engineFlags(state: object): () => void {
  const s = state as EngineFlags;
  const scopes = [...s.scopeStack], active = s.activeScope, gradientDepth = s.gradientDepth, kernelDepth = s.kernelDepth;
  const tape = s.activeTape, moves = [...s.numDataMovesStack];
  return () => {
    // Scopes a failed function left open (tf.engine().startScope() without its end, a throw
    // between a tape's start and end) are dropped; their tensors were the trace's.
    s.scopeStack.splice(0, s.scopeStack.length, ...scopes);
    s.activeScope = active;
    s.gradientDepth = gradientDepth;
    s.kernelDepth = kernelDepth;
    s.activeTape = tape;
    s.numDataMovesStack.splice(0, s.numDataMovesStack.length, ...moves);
  };
}

export interface TraceHooks {
  /** Called for every variable the function creates (also when the trace then fails). */
  onVariable?: (v: tf.Variable) => void;
  /** True for a variable an earlier trace of the same function created (a name made again is a variable made on every call). */
  ownVariable?: (v: tf.Variable) => boolean;
  /** Called once for each tf.train optimizer the function steps, before its first step. */
  onOptimizer?: (o: tf.Optimizer) => void;
  /**
   * The copies of tfjs data (variables' values, captured tensors) made by earlier traces of the
   * same call (tracing twice for a symbolic batch): tfjs never changes a data id's values, so a
   * later trace shares the copy's array instead of copying again (253 MB of weights took
   * 0.27 s a copy, most of it page faults on the new array).
   */
  copies?: WeakMap<object, TensorData>;
  /**
   * Take float32 and int32 arrays as the backend hands them out instead of copying them (see
   * traceFunction's `borrow`): the graph's constants and initial values then share tfjs's arrays.
   */
  borrow?: boolean;
}

export function traceOnce(fn: (...args: tf.Tensor[]) => unknown, inputs: ConcreteInput[], graphName = 'f', hooks: TraceHooks = {}): TraceResult {
  if (current !== undefined) {
    throw new GcError({ code: Codes.traceUnsupported, message: 'a compiled function was called while tracing another one', loc: userLocation(),
      help: 'call the inner function directly (not compiled) inside the outer one' });
  }
  registerTraceBackend();
  const engine = tf.engine();
  // Make sure a real backend is initialised, so we can restore it.
  void engine.backend;
  const prevBackend = tf.getBackend();
  const state = engine.state;
  const counters = { numTensors: state.numTensors, numDataBuffers: state.numDataBuffers, numBytes: state.numBytes, numStringTensors: state.numStringTensors };
  const restoreFlags = engineFlags(state);

  const g = new Graph(graphName);
  const placeholders = new Map<DataId, tf.Variable>();
  const original = new Map<tf.Variable, DataId>();
  const stateValues = new Map<tf.Variable, Value>();
  const created: Array<{ variable: tf.Variable; initId: DataId }> = [];
  const setId = (v: tf.Variable, id: DataId) => { (v as { dataId: DataId }).dataId = id; };

  for (const v of Object.values(state.registeredVariables)) {
    const ph = {};
    original.set(v, v.dataId);
    placeholders.set(ph, v);
    setId(v, ph);
  }

  /** A copy of a data id's values: made once per hooks.copies, shared (a new TensorData around the same array) after. */
  const copied = (id: DataId, copy: () => TensorData): TensorData => {
    const had = hooks.copies?.get(id);
    if (had !== undefined) return { dtype: had.dtype, shape: [...had.shape], data: had.data };
    const made = copy();
    hooks.copies?.set(id, made);
    return made;
  };
  let recorder!: Recorder;
  const stateOf = (v: tf.Variable): Value => {
    let sv = stateValues.get(v);
    if (sv === undefined) {
      const dtype = v.dtype as 'float32' | 'int32' | 'bool';
      const orig = original.get(v);
      // Zeros for a variable created by the trace (materialize gives it its value).
      let init: InitSource = { dtype, shape: [...v.shape], data: dtype === 'float32' ? new Float32Array(v.size) : dtype === 'int32' ? new Int32Array(v.size) : new Uint8Array(v.size) };
      if (orig !== undefined) {
        try {
          init = copied(orig, () => copyOf(dtype, v.shape, engine.readSync(orig) as ArrayLike<number>, hooks.borrow));
        } catch {
          // A backend without synchronous reads (webgpu in Node): compile never needs the
          // initial value (it reads the variable itself); load it only if someone asks.
          init = () => {
            try {
              return tensorData(dtype, v.shape, v.dataSync() as ArrayLike<number>);
            } catch (e) {
              throw new GcError({ code: Codes.traceVariable, message: `the initial value of variable '${v.name}' cannot be read synchronously on backend '${tf.getBackend()}': ${(e as Error).message}`,
                help: 'await variable.data() before printing or exporting the graph, or trace on the cpu or wasm backend' });
            }
          };
        }
      }
      sv = g.addState(v.name, { dtype, shape: v.shape }, init, v.trainable);
      stateValues.set(v, sv);
    }
    return sv;
  };
  const foreign = (dataId: DataId): Value | undefined => {
    const v = placeholders.get(dataId);
    if (v !== undefined) return stateOf(v);
    const info = state.tensorInfo.get(dataId);
    if (info === undefined || info.backend === engine.findBackend(TRACE_BACKEND)) return undefined;
    const value = copied(dataId, () => copyOf(info.dtype as 'float32', info.shape, info.backend.readSync(dataId) as ArrayLike<number>, hooks.borrow));
    return g.add('const', [], { value }, userLocation());
  };
  recorder = new Recorder(g, foreign);

  // A variable's data id is a placeholder while the trace runs, unknown to tfjs: reading it
  // (v.dataSync(), await v.data()) is the trace's read error at the user's line, not tfjs's
  // TypeError about a missing backend.
  const readSync = engine.readSync, read = engine.read;
  engine.readSync = function (this: typeof engine, dataId: DataId) {
    const v = placeholders.get(dataId);
    if (v !== undefined) throw traceReadError('dataSync()/arraySync()', v.name);
    return readSync.call(this, dataId);
  };
  engine.read = function (this: typeof engine, dataId: DataId) {
    const v = placeholders.get(dataId);
    if (v !== undefined) return Promise.reject(traceReadError('data()/array()', v.name));
    return read.call(this, dataId);
  };
  const makeVariable = engine.makeVariable;
  engine.makeVariable = function (this: typeof engine, ...args: Parameters<typeof makeVariable>) {
    const name = args[2];
    const existing = name == null ? undefined : state.registeredVariables[name];
    if (existing !== undefined && hooks.ownVariable?.(existing)) {
      throw new GcError({ code: Codes.traceVariable, message: `the function creates variable '${name}' on every call`, loc: userLocation(),
        help: 'create variables (and optimizers) outside the function, or only on the first call, as with tf.function' });
    }
    const v = makeVariable.apply(this, args);
    created.push({ variable: v, initId: v.dataId });
    hooks.onVariable?.(v);
    const ph = {};
    placeholders.set(ph, v);
    setId(v, ph);
    return v;
  } as typeof makeVariable;

  const prevLimit = Error.stackTraceLimit;
  let result: unknown;
  const outputs: tf.Tensor[] = [];
  let structure: OutputStructure = { kind: 'none' };
  current = recorder;
  setRecorder(recorder);
  recorder.seeds.install();
  const restorePrint = installPrint(recorder);
  const optimizers = watchOptimizers(hooks.onOptimizer);
  const promises = watchPromises();
  let traceBackend: TraceBackend | undefined;
  let args: tf.Tensor[] = [];
  try {
    switchBackend(TRACE_BACKEND);
    const backend = engine.findBackend(TRACE_BACKEND) as TraceBackend;
    traceBackend = backend;
    result = tf.tidy(() => {
      // Made in the trace's own scope: a tf.tidy the caller is in never sees trace tensors.
      args = inputs.map((inp) => {
        const v = g.addInput(inp.name, { dtype: inp.dtype, shape: inp.shape });
        const id = recorder.bind(v);
        backend.adopt(id);
        return engine.makeTensorFromTensorInfo({ dataId: id, shape: inp.shape, dtype: tfDtype(inp.dtype) }, backend);
      });
      let r: unknown;
      // Only the function's own promises: none of graphc's (tf.setBackend above) are watched.
      promises.start();
      try {
        r = fn(...args);
      } finally {
        promises.stop();
      }
      if (isThenable(r)) {
        // Its rejection (the rest of an async body, run outside the trace) is this error's; never unhandled.
        abandonThenable(r);
        throw new GcError({ code: Codes.traceUnsupported, message: 'the compiled function returned a Promise', loc: userLocation(), help: 'compiled functions must be synchronous: do not await inside them' });
      }
      const open = promises.pending();
      if (open !== undefined) {
        throw new GcError({ code: Codes.traceAsync, message: `the compiled function left asynchronous work running (${open.count} pending Promise${open.count === 1 ? '' : 's'}): it would run after the trace, on tensors that have no data`,
          loc: open.loc, help: 'compiled functions must be synchronous: call async helpers and read data (await t.data()) outside the compiled function' });
      }
      // A data()/array() the function did not await: its rejection went into a Promise.
      if (recorder.asyncRead !== undefined) throw recorder.asyncRead;
      return r as tf.TensorContainer;
    });
    if (result === undefined || result === null) structure = { kind: 'none' };
    else if (result instanceof tf.Tensor) { structure = { kind: 'single' }; outputs.push(result); }
    else if (Array.isArray(result)) { structure = { kind: 'array', length: result.length }; outputs.push(...(result as tf.Tensor[])); }
    else if (typeof result === 'object') {
      const keys = Object.keys(result as object);
      structure = { kind: 'record', keys };
      for (const k of keys) outputs.push((result as Record<string, tf.Tensor>)[k]!);
    }
    for (const t of outputs) {
      if (!(t instanceof tf.Tensor)) {
        throw new GcError({ code: Codes.traceUnsupported, message: `the compiled function returned a non-tensor (${typeof t})`, help: 'return a tensor, an array of tensors, or an object of tensors' });
      }
    }
    outputs.forEach((t, i) => {
      const v = recorder.valueOf(t.dataId, 'output');
      const key = structure.kind === 'record' ? structure.keys[i]! : undefined;
      const outName = v.kind === 'node' && v.name !== undefined ? v.name : key !== undefined && /^[A-Za-z_]\w*$/.test(key) && !g.outputs.some((o) => o.name === key) ? key : `output_${i}`;
      g.setOutput(outName, v);
    });
    // Assignments: a variable whose data id moved during the trace was assigned.
    for (const [ph, v] of placeholders) {
      if (v.dataId === ph) continue;
      const newValue = recorder.valueOf(v.dataId, 'assign');
      const sv = stateOf(v);
      if (newValue !== sv) g.addNode('assign', [newValue], { var: v.name }, undefined);
    }
    // Optimizer state that tfjs named with a bare number (its variable ids) takes the optimizer's name for it.
    for (const opt of optimizers.used) {
      for (const [v, label] of optimizerVariableNames(opt)) {
        const sv = stateValues.get(v);
        if (sv !== undefined && /^\d+$/.test(v.name)) g.setName(sv, g.freshName(label));
      }
    }
  } catch (err) {
    // Whatever the function started asynchronously is abandoned with the trace.
    promises.abandon();
    if (created.length > 0 && typeof err === 'object' && err !== null) {
      const partial: NewVariable[] = [];
      for (const { variable, initId } of created) {
        const init = recorder.values.get(initId);
        if (init !== undefined) partial.push({ variable, init });
      }
      failedWithCreated.set(err, { graph: g, created: partial, structure: { kind: 'none' }, optimizers: [], optimizerSteps: [] });
    }
    throw err;
  } finally {
    promises.stop();
    // Trace tensors that left the trace's scope (the result, tracked by a tf.tidy the caller is
    // in) are freed now, while the counters still include them; foreign tensors and variables
    // (returned after an assign, their data id still the trace's here) are the user's.
    const escaped = [...outputs, ...args, ...(result instanceof tf.Tensor ? [result] : [])];
    for (const t of escaped) {
      if (t instanceof tf.Tensor && !(t instanceof tf.Variable) && !t.isDisposed && traceBackend !== undefined && state.tensorInfo.get(t.dataId)?.backend === traceBackend) t.dispose();
    }
    restoreFlags();
    optimizers.stop();
    restorePrint();
    Error.stackTraceLimit = prevLimit;
    recorder.seeds.restore();
    setRecorder(undefined);
    current = undefined;
    engine.makeVariable = makeVariable;
    engine.readSync = readSync;
    engine.read = read;
    switchBackend(prevBackend);
    for (const [v, id] of original) setId(v, id);
    Object.assign(state, counters);
    // tensorInfo is a WeakMap: entries of trace data ids go away with the ids.
  }

  forwardIdentity(g);
  const newVars: NewVariable[] = created.map(({ variable, initId }) => ({ variable, init: recorder.valueOf(initId, 'variable') }));
  // Created variables keep pointing at their placeholder until the caller materialises them.
  // Variable initialisers are evaluated from `newVars` before dead code goes.
  if (newVars.length === 0) dce(g);
  return { graph: g, created: newVars, structure, optimizers: optimizers.used, optimizerSteps: optimizers.steps };
}
