/**
 * One concrete trace of a user function: switch tfjs to the trace backend, swap every
 * tf.Variable's data for a state placeholder, run the function, and read back outputs and
 * assignments. Everything is restored afterwards, also when the function throws.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GcError } from '../../ir/errors.js';
import { Graph } from '../../ir/graph.js';
import type { InitSource } from '../../ir/graph.js';
import type { Value } from '../../ir/graph.js';
import { tensorData } from '../../ir/tensor_data.js';
import type { TensorData } from '../../ir/tensor_data.js';
import { Recorder, registerTraceBackend, setRecorder, TRACE_BACKEND } from './backend.js';
import type { TraceBackend } from './backend.js';
import { userLocation } from './source_loc.js';
import { installPrint } from './print.js';
import { forwardIdentity } from '../../ir/passes/forward_identity.js';
import { dce } from '../../ir/passes/dce.js';
import { watchOptimizers } from './hyperparams.js';

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
    throw new GcError({ code: 'GC0402', message: `gc.name: '${label}' is not a valid value name`, loc: userLocation(), help: 'use letters, digits and _ (not starting with a digit)' });
  }
  if (current === undefined) return t;
  const v = current.valueOf(t.dataId, 'gc.name');
  if (v.name === label) return t;
  if (current.graph.hasName(label)) {
    throw new GcError({ code: 'GC0402', message: `gc.name: the name '${label}' is already used in this function`, loc: userLocation() });
  }
  if (v.kind !== 'node') {
    throw new GcError({ code: 'GC0402', message: `gc.name: cannot rename ${v.kind} '${v.name}' to '${label}'`, loc: userLocation(), help: 'inputs and variables are fetched by their own names' });
  }
  current.graph.setName(v, label);
  return t;
}

/**
 * A variable's value as TensorData: a plain copy of the backend's array when it already is the
 * dtype's canonical one (every trace reads every variable: tensorData's per-element conversion
 * made a training step's trace of a 784-300-100-10 MLP with Adam take 240 ms, mostly copying).
 */
function copyOf(dtype: 'float32' | 'int32' | 'bool', shape: number[], values: ArrayLike<number>): TensorData {
  if ((dtype === 'float32' && values instanceof Float32Array) || (dtype === 'int32' && values instanceof Int32Array)) {
    return { dtype, shape: [...shape], data: values.slice() };
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

export function traceOnce(fn: (...args: tf.Tensor[]) => unknown, inputs: ConcreteInput[], graphName = 'f'): TraceResult {
  if (current !== undefined) {
    throw new GcError({ code: 'GC0102', message: 'a compiled function was called while tracing another one', loc: userLocation(),
      help: 'call the inner function directly (not compiled) inside the outer one' });
  }
  registerTraceBackend();
  const engine = tf.engine();
  // Make sure a real backend is initialised, so we can restore it.
  void engine.backend;
  const prevBackend = tf.getBackend();
  const state = engine.state;
  const counters = { numTensors: state.numTensors, numDataBuffers: state.numDataBuffers, numBytes: state.numBytes, numStringTensors: state.numStringTensors };

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
          init = copyOf(dtype, v.shape, engine.readSync(orig) as ArrayLike<number>);
        } catch {
          // A backend without synchronous reads (webgpu in Node): compile never needs the
          // initial value (it reads the variable itself); load it only if someone asks.
          init = () => {
            try {
              return tensorData(dtype, v.shape, v.dataSync() as ArrayLike<number>);
            } catch (e) {
              throw new GcError({ code: 'GC0105', message: `the initial value of variable '${v.name}' cannot be read synchronously on backend '${tf.getBackend()}': ${(e as Error).message}`,
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
    const values = info.backend.readSync(dataId) as ArrayLike<number>;
    return g.add('const', [], { value: tensorData(info.dtype as 'float32', info.shape, values) }, userLocation());
  };
  recorder = new Recorder(g, foreign);

  const makeVariable = engine.makeVariable;
  engine.makeVariable = function (this: typeof engine, ...args: Parameters<typeof makeVariable>) {
    const v = makeVariable.apply(this, args);
    created.push({ variable: v, initId: v.dataId });
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
  const optimizers = watchOptimizers();
  try {
    switchBackend(TRACE_BACKEND);
    const backend = engine.findBackend(TRACE_BACKEND) as TraceBackend;
    const args = inputs.map((inp) => {
      const v = g.addInput(inp.name, { dtype: inp.dtype, shape: inp.shape });
      const id = recorder.bind(v);
      backend.adopt(id);
      return engine.makeTensorFromTensorInfo({ dataId: id, shape: inp.shape, dtype: inp.dtype === 'int64' ? 'int32' : inp.dtype }, backend);
    });
    result = tf.tidy(() => {
      const r = fn(...args);
      if (r instanceof Promise) {
        // Its rejection (the rest of an async body, run outside the trace) is this error's; never unhandled.
        r.catch(() => undefined);
        throw new GcError({ code: 'GC0102', message: 'the compiled function returned a Promise', loc: userLocation(), help: 'compiled functions must be synchronous: do not await inside them' });
      }
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
        throw new GcError({ code: 'GC0102', message: `the compiled function returned a non-tensor (${typeof t})`, help: 'return a tensor, an array of tensors, or an object of tensors' });
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
  } catch (err) {
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
    optimizers.stop();
    restorePrint();
    Error.stackTraceLimit = prevLimit;
    recorder.seeds.restore();
    setRecorder(undefined);
    current = undefined;
    engine.makeVariable = makeVariable;
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
