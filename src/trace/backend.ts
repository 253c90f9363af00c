/**
 * The tracing backend: a tfjs KernelBackend whose kernels record IR nodes. Tensor data ids
 * map to IR values; tensors that come from other backends become constants; reading a
 * traced value is a located error.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DType } from '../../ir/dtype.js';
import { isDType } from '../../ir/dtype.js';
import { Codes, GcError } from '../../ir/errors.js';
import type { SourceLoc } from '../../ir/errors.js';
import type { Graph, Value } from '../../ir/graph.js';
import type { Attrs, OpName } from '../../ir/ops.js';
import type { TensorData } from '../../ir/tensor_data.js';
import { tensorData } from '../../ir/tensor_data.js';
import { tfDtype } from '../../runtime/tensor_data.js';
import { KERNEL_RULES } from './kernel_rules.js';
import type { TraceCtx } from './rule_types.js';
import { recoverParams, RANDOM_OP_FUNCTIONS, SeedRecorder, seededDraws } from './random.js';
import { captureStack, stackHasFunction, userLocation } from './source_loc.js';
import { withLayerScope } from './layer_scope.js';

export const TRACE_BACKEND = 'graphc-trace';

type DataId = object;

function checkDType(d: string, where: string): DType {
  if (!isDType(d)) {
    throw new GcError({ code: Codes.dtype, message: `${where}: dtype '${d}' is not supported by graphc`, help: 'graphc traces float32, int32 and bool tensors' });
  }
  return d;
}

/** Every data id a trace made: a tensor holding one is a trace's, also after the trace ended. */
const traceIds = new WeakSet<DataId>();

/** Whether `t` was made by a trace (a traced value, live during its trace, dead after it). */
export function isTraceTensor(t: tf.Tensor): boolean {
  return traceIds.has(t.dataId);
}

/** Data ids of variables a failed trace created and then freed: their names, for the error a later use gets. */
const revoked = new WeakMap<DataId, string>();

/** Frees a variable a failed trace created (unregistered, its data freed), remembering it for a clear error. */
export function revokeVariable(v: tf.Variable): void {
  if (v.isDisposed) return;
  revoked.set(v.dataId, v.name);
  v.dispose();
}

/**
 * A region being traced (a gc.cond branch, a loop body: src/control_flow.ts): the graph its ops
 * go to, the values made in it, and the outer values it captured (each one a block argument).
 */
export class RegionFrame {
  /** Values of this region's graph (block arguments and what its ops made). */
  readonly local = new Set<Value>();
  /** Outer value (of the enclosing graph) → the block argument standing for it here, in capture order. */
  readonly captures = new Map<Value, Value>();
  /** Outer tensors (trace tensors, variables) that the region's ops read: a gradient's inputs. */
  readonly used = new Set<tf.Tensor>();
  constructor(readonly graph: Graph) {}

  /** The block argument for outer value `outer` (made on first use). */
  capture(outer: Value): Value {
    let a = this.captures.get(outer);
    if (a === undefined) {
      a = this.graph.addInput(`c${this.captures.size}`, outer.type);
      this.captures.set(outer, a);
      this.local.add(a);
    }
    return a;
  }
}

/** Per-trace recording state; the backend forwards to the active recorder. */
export class Recorder {
  readonly values = new Map<DataId, Value>();
  readonly seeds = new SeedRecorder();
  /** The first data()/array() on a traced value: an error that went into a Promise, not to the trace. */
  asyncRead: GcError | undefined;
  /** Regions being traced, outermost first; ops go to the innermost one's graph. */
  readonly frames: RegionFrame[] = [];
  /** Values of regions whose trace ended: a use outside them is an escaping value. */
  private readonly ended = new WeakSet<Value>();
  /** Locations of data reads that were attempted (for error messages). */
  constructor(readonly top: Graph, readonly foreignConstant: (dataId: DataId) => Value | undefined) {}

  /** The graph ops are recorded into: the innermost region being traced, or the function's graph. */
  get graph(): Graph {
    return this.frames[this.frames.length - 1]?.graph ?? this.top;
  }

  valueOf(dataId: DataId, kernel: string): Value {
    const v = this.values.get(dataId) ?? this.foreignConstant(dataId);
    const freed = v === undefined ? revoked.get(dataId) : undefined;
    if (freed !== undefined) {
      throw new GcError({ code: Codes.traceVariable, message: `${kernel}: variable '${freed}' was created by an earlier trace that failed, and was freed with it (a failed trace leaves tfjs as it found it)`,
        loc: userLocation(), help: 'create the variable again (reset the reference that holds it, or rebuild the layer), or create variables outside the compiled function' });
    }
    if (v === undefined) {
      throw new GcError({ code: Codes.traceRead, message: `${kernel}: an operand has no value in the trace`, loc: userLocation(),
        help: 'a tensor was disposed before use, or comes from an earlier trace' });
    }
    this.values.set(dataId, v);
    return this.frames.length === 0 ? this.checkLive(v, kernel) : this.resolveAt(v, this.frames.length - 1, kernel);
  }

  /** `v` as seen in frame k: itself when it is that region's, else a capture of it as seen from the frame around. */
  resolveAt(v: Value, k: number, kernel = 'an op'): Value {
    if (k < 0) return this.checkLive(v, kernel);
    const f = this.frames[k]!;
    if (f.local.has(v)) return v;
    return f.capture(this.resolveAt(v, k - 1, kernel));
  }

  private checkLive(v: Value, kernel: string): Value {
    if (this.ended.has(v)) {
      throw new GcError({ code: Codes.traceUnsupported, message: `${kernel}: a tensor computed inside a gc.cond branch or a loop body is used outside it`, loc: userLocation(),
        help: 'return the value from the branch or body (as a result or a loop variable) and use that result instead' });
    }
    return v;
  }

  /** Whether tensor `t` is an outer value for frame k (neither made in it nor in a region inside it). */
  isOuter(t: tf.Tensor, k: number): boolean {
    const v = this.values.get(t.dataId);
    if (v === undefined) return t instanceof tf.Variable;
    for (let j = k; j < this.frames.length; j++) if (this.frames[j]!.local.has(v)) return false;
    return isTraceTensor(t) || t instanceof tf.Variable;
  }

  pushFrame(graph: Graph): RegionFrame {
    const f = new RegionFrame(graph);
    this.frames.push(f);
    return f;
  }

  /** Ends the innermost region's trace: its values may no longer be used outside it. */
  popFrame(f: RegionFrame): void {
    if (this.frames[this.frames.length - 1] !== f) throw new Error('internal: region frames out of order');
    this.frames.pop();
    for (const v of f.local) this.ended.add(v);
  }

  bind(v: Value): DataId {
    const id = {};
    traceIds.add(id);
    this.values.set(id, v);
    this.frames[this.frames.length - 1]?.local.add(v);
    return id;
  }

  ctx(kernel: string, loc: SourceLoc | undefined): TraceCtx {
    const g = this.graph;
    return {
      graph: g,
      loc,
      kernel,
      emit: (op: OpName, inputs: Value[], attrs: Attrs = {}) => g.add(op, inputs, attrs, loc),
      emitN: (op: OpName, inputs: Value[], attrs: Attrs = {}) => g.addNode(op, inputs, attrs, loc).outputs,
      constant: (data: TensorData) => g.add('const', [], { value: data }, loc),
      scalar: (value: number, dtype: DType) => g.add('const', [], { value: tensorData(dtype, [], [value]) }, loc),
      unsupported: (what: string, help?: string): never => {
        throw new GcError({ code: Codes.traceUnsupported, message: `${kernel}: ${what}`, loc, help });
      },
      unseeded: (seed: number) => this.seeds.takeValue(seed),
    };
  }

  /** A constant written by tfjs (tf.tensor, scalars in ops) or a random draw made in JS. */
  write(values: ArrayLike<number> | ArrayLike<boolean>, shape: number[], dtype: DType): DataId {
    const stack = captureStack();
    const seeds = this.seeds.take();
    const randomFn = stackHasFunction(stack, Object.keys(RANDOM_OP_FUNCTIONS));
    const loc = userLocation(stack);
    if (randomFn !== undefined) {
      const kind = RANDOM_OP_FUNCTIONS[randomFn]!;
      if (kind === 'unsupported') {
        throw new GcError({ code: Codes.traceRandom, message: `tf.${randomFn.slice(0, -1)} cannot be kept random in a compiled function`, loc,
          help: 'draw the values outside the compiled function and pass them in as an input' });
      }
      const seed = seeds[seeds.length - 1];
      if (seed !== undefined) {
        const p = recoverParams(kind, String(seed), values as ArrayLike<number>, dtype);
        if (p === undefined) {
          throw new GcError({ code: Codes.traceRandom, message: `could not recover the parameters of ${randomFn.slice(0, -1)} (shape [${shape.join(',')}], ${dtype})`, loc,
            help: 'pass a seed to the random op (it then stays the same on every call, as in eager tfjs), or draw it outside and pass it in' });
        }
        const v = kind === 'uniform'
          ? this.graph.add('random_uniform', [], { shape, min: p.a, max: p.b, dtype, seed: -1 }, loc)
          : this.graph.add('random_normal', [], { shape, mean: p.a, std: p.b, dtype, truncated: kind === 'truncated', seed: -1 }, loc);
        return this.bind(v);
      }
      // Seeded by the user: eager tfjs returns the same values on every call, so a constant is exact.
      const drawn = this.graph.add('const', [], { value: tensorData(dtype, shape, values as ArrayLike<number>) }, loc);
      seededDraws.add(drawn.producer!);
      return this.bind(drawn);
    }
    const data = tensorData(dtype, shape, values as ArrayLike<number>);
    return this.bind(this.graph.add('const', [], { value: data }, loc));
  }
}

let active: Recorder | undefined;

export function setRecorder(r: Recorder | undefined): void {
  active = r;
}

/** The recorder of the running trace, if any. */
export function activeRecorder(): Recorder | undefined {
  return active;
}

function recorder(): Recorder {
  if (!active) throw afterTrace('an op');
  return active;
}

/** A tensor of a trace used after its trace ended (asynchronous work the function left running, or a tensor kept from it). */
function afterTrace(what: string): GcError {
  return new GcError({ code: Codes.traceEnded, message: `${what} used a tensor of a trace that has ended: it stood for a value of the graph and has no data`, loc: userLocation(),
    help: 'keep tensors made inside a compiled function inside it; work on the results of the compiled call instead' });
}

export class TraceBackend extends tf.KernelBackend {
  private readonly refs = new Map<DataId, number>();

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): DataId {
    const id = recorder().write(values as ArrayLike<number>, shape, checkDType(dtype, 'tensor'));
    this.refs.set(id, 1);
    return id;
  }

  override move(dataId: DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    const r = recorder();
    const data = tensorData(checkDType(dtype, 'tensor'), shape, values as ArrayLike<number>);
    const v = r.graph.add('const', [], { value: data }, userLocation());
    r.values.set(dataId, v);
    r.frames[r.frames.length - 1]?.local.add(v);
    this.refs.set(dataId, refCount);
  }

  override readSync(): tf.backend_util.BackendValues {
    if (!active) throw afterTrace('dataSync()/arraySync() (or an op on another backend)');
    throw traceReadError('dataSync()/arraySync()');
  }

  override read(): Promise<tf.backend_util.BackendValues> {
    if (!active) throw afterTrace('data()/array()');
    // tfjs's data() is async: this error becomes a rejection the function may never look at.
    const err = traceReadError('data()/array()');
    active.asyncRead ??= err;
    throw err;
  }

  override refCount(dataId: DataId): number {
    return this.refs.get(dataId) ?? 0;
  }

  override incRef(dataId: DataId): void {
    this.refs.set(dataId, (this.refs.get(dataId) ?? 0) + 1);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const n = this.refs.get(dataId) ?? 0;
    if (force || n <= 1) {
      this.refs.delete(dataId);
      return true;
    }
    this.refs.set(dataId, n - 1);
    return false;
  }

  override numDataIds(): number {
    return this.refs.size;
  }

  override memory(): { unreliable: boolean; reasons?: string[] } {
    return { unreliable: true, reasons: ['graphc trace backend holds no data'] };
  }

  override floatPrecision(): 16 | 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override timerAvailable(): boolean {
    return false;
  }

  override dispose(): void {
    this.refs.clear();
  }

  /** Registers a data id that stands for an existing IR value (inputs, variables). */
  adopt(dataId: DataId, refCount = 1): void {
    this.refs.set(dataId, refCount);
  }
}

/** A read of a traced value's data: a trace error at the user's line (also for variables, src/trace/tracer.ts). */
export function traceReadError(what: string, variable?: string): GcError {
  const loc = userLocation();
  return new GcError({
    code: Codes.traceRead,
    message: variable === undefined ? `${what} on a traced value: inside a compiled function tensors have no data yet`
      : `${what} on variable '${variable}' inside a compiled function: while tracing, a variable has no data`,
    loc,
    help: variable === undefined
      ? 'return the tensor from the function and read it after the call, or use gc.name() to fetch it from a Session; x.print() prints at run time'
      : 'use the variable as a tensor (ops on it are recorded and read its value at each call), or read it outside and pass the number in as an argument',
  });
}

function kernelFunc(kernelName: string) {
  return ({ inputs, attrs }: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }): tf.TensorInfo | tf.TensorInfo[] => {
    const r = recorder();
    const rule = KERNEL_RULES[kernelName];
    const loc = withLayerScope(userLocation());
    if (!rule) {
      throw new GcError({ code: Codes.traceUnsupported, message: `tfjs kernel '${kernelName}' is not supported by graphc's tracer`, loc,
        help: 'rewrite this step with supported ops, or open an issue naming the kernel' });
    }
    const ins: Record<string, Value | Value[] | undefined> = {};
    for (const [name, t] of Object.entries(inputs)) {
      if (t == null) continue;
      if (Array.isArray(t)) ins[name] = t.map((x) => r.valueOf(x.dataId, kernelName));
      else ins[name] = r.valueOf(t.dataId, kernelName);
    }
    // Variadic kernels (Concat, AddN, Pack) get their tensors as an array-like object.
    const outs = rule(r.ctx(kernelName, loc), ins, (attrs ?? {}) as Record<string, unknown>);
    const list = Array.isArray(outs) ? outs : [outs];
    const infos = list.map((v) => {
      const shape = v.shape.map((d) => {
        if (typeof d !== 'number') throw new Error(`internal: symbolic dim during a concrete trace (${kernelName})`);
        return d;
      });
      const dataId = r.bind(v);
      const backend = tf.engine().findBackend(TRACE_BACKEND) as TraceBackend;
      backend.adopt(dataId);
      return { dataId, shape, dtype: tfDtype(v.dtype) } as tf.TensorInfo;
    });
    return Array.isArray(outs) ? infos : infos[0]!;
  };
}

let registered = false;

/** Registers the trace backend and one kernel per traced tfjs kernel name (idempotent). */
export function registerTraceBackend(): void {
  if (registered) return;
  registered = true;
  tf.registerBackend(TRACE_BACKEND, () => new TraceBackend(), -1000);
  // Not one of the user's backends: hidden from tf.engine().backendNames() (tfjs lists the
  // factory registry's enumerable keys); tracing looks it up by name.
  const factories = (tf.engine() as unknown as { registryFactory: Record<string, unknown> }).registryFactory;
  Object.defineProperty(factories, TRACE_BACKEND, { value: factories[TRACE_BACKEND], enumerable: false, configurable: true, writable: true });
  const names = new Set<string>(Object.keys(KERNEL_RULES));
  for (const name of allKernelNames()) names.add(name);
  for (const name of names) tf.registerKernel({ kernelName: name, backendName: TRACE_BACKEND, kernelFunc: kernelFunc(name) as unknown as tf.KernelFunc });
}

/** Every kernel name tfjs-core exports, so unsupported kernels fail with graphc's error. */
function allKernelNames(): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(tf)) {
    if (typeof v === 'string' && k === v && /^[A-Z_]/.test(k)) out.push(v);
  }
  return out;
}

