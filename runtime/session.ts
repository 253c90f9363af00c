/**
 * Session: runs a graph on a tfjs backend with feeds and fetches (TF1 style). The plan for a
 * fetch/feed signature is computed once: only the nodes the fetches (and, by default, the
 * graph's assignments) need, in order, with every intermediate freed after its last use.
 */
import * as tf from '@tensorflow/tfjs-core';
import { evalShape } from '../ir/dim.js';
import type { Dim } from '../ir/dim.js';
import { Codes, GcError, locToString } from '../ir/errors.js';
import type { Graph, Node, Value } from '../ir/graph.js';
import { typeToString } from '../ir/graph.js';
import { AttrReader, OPS } from '../ir/ops.js';
import type { TensorData } from '../ir/tensor_data.js';
import { ensureBackend, selectBackend } from './backends.js';
import type { BackendChoice, BackendName } from './backends.js';
import type { ExecCtx, OpKernel, Unsupported } from './kernel_types.js';
import { NO_TEMPORARIES, OP_KERNELS, isUnsupported, tensorOfData } from './op_kernels.js';
import { Int64Narrowing, checkPlanSizes, describeNode, resolveTensorLimit, valueLabel } from './tensor_limits.js';
import type { TensorLimit } from './tensor_limits.js';
import { WasmProgram, directAllowed } from './wasm_direct.js';
import type { PlanStep, ProgramStats } from './wasm_direct.js';
import { guardWasmHeap } from './wasm_heap.js';

/**
 * What a feed may be: a tf.Tensor of any backend and backing store, a number or boolean (a
 * scalar), a (nested) array of numbers or booleans, or a typed array of any kind (flat, in
 * row-major order, for the input's shape: one symbolic dim may be left for the length to decide).
 */
export type Feed = tf.Tensor | number | boolean | NestedArray | ArrayBufferView;
type NestedArray = readonly (number | boolean | NestedArray)[];

type Store = Float32Array | Int32Array | Uint8Array;

const STORE: Record<string, { new (n: number | ArrayLike<number>): Store; from(a: ArrayLike<number>): Store }> = {
  float32: Float32Array, int32: Int32Array, bool: Uint8Array,
};

interface EngineInternals {
  registry: Record<string, tf.KernelBackend | undefined>;
  state: { tensorInfo: { get(dataId: object): { backend: tf.KernelBackend } | undefined } };
}

/**
 * A second reference to a tensor's data (freed with dispose), made on the backend that holds it:
 * the data stays alive while a call awaits, even if the caller frees its tensor meanwhile.
 */
export function holdTensor(t: tf.Tensor): tf.Tensor {
  const reg = (tf.engine() as unknown as EngineInternals).registry;
  const holder = holderOf(t);
  const name = Object.keys(reg).find((k) => reg[k] === holder);
  return name === undefined ? t.clone() : withBackend(name, () => t.clone());
}

/** The tfjs backend instance that holds a tensor's data now (tfjs moves data between backends lazily). */
function holderOf(t: tf.Tensor): tf.KernelBackend | undefined {
  return (tf.engine() as unknown as EngineInternals).state.tensorInfo.get(t.dataId)?.backend;
}

/**
 * Values of `dtype` in its canonical store. tfjs-cpu keeps whatever array a kernel produced
 * (tf.cast(bool → float32) keeps a Uint8Array, int32 → float32 an Int32Array); other backends
 * copy a store byte for byte, so a non-canonical one reads as garbage there. Values are
 * converted exactly or refused: an int32 (or int64) input takes whole numbers within int32
 * only (1.5, NaN, 2^31 or a BigInt 2^32+1 would be truncated or wrapped); a bool input takes
 * x ≠ 0, as a cast does (a Uint8Array [0, 2, 255] is [false, true, true]).
 */
function canonicalStore(values: ArrayLike<number | boolean | bigint>, dtype: string, what: () => string): Store {
  const C = STORE[dtype];
  if (C === undefined) throw new GcError({ code: 'GC0401', message: `${what()}: dtype ${dtype} cannot be fed`, help: 'feed float32, int32 or bool data' });
  if (values instanceof C && (dtype !== 'bool' || isZeroOne(values as Uint8Array))) return values as Store;
  const n = values.length;
  const out = new C(n);
  if (dtype === 'float32') {
    for (let i = 0; i < n; i++) out[i] = Number(values[i]!);
  } else if (dtype === 'bool') {
    for (let i = 0; i < n; i++) { const x = values[i]!; out[i] = x !== 0 && x !== false && x !== 0n ? 1 : 0; }
  } else if (values instanceof Int8Array || values instanceof Uint8Array || values instanceof Uint8ClampedArray || values instanceof Int16Array || values instanceof Uint16Array) {
    out.set(values);
  } else {
    for (let i = 0; i < n; i++) {
      const x = values[i]!;
      if (typeof x === 'boolean') { out[i] = x ? 1 : 0; continue; }
      const whole = typeof x === 'bigint' || Number.isInteger(x);
      if (!whole || x > 2147483647 || x < -2147483648) {
        throw new GcError({ code: 'GC0401', message: whole
          ? `${what()}: element ${i} is ${String(x)}, outside the int32 range graphc computes in`
          : `${what()}: element ${i} is ${String(x)}, not a whole number, for an integer input`,
        help: whole ? 'int32 and int64 inputs are computed as int32: keep values within ±2^31' : 'round the data first (Math.round, Math.trunc), or feed it to a float32 input' });
      }
      out[i] = Number(x);
    }
  }
  return out;
}

/**
 * The numbers of a nested array of shape `dims`, row-major, checking that every row has its
 * first sibling's length (a ragged [[1, 2], [3, 4, 5], [6]] has 6 numbers, as [3, 2] does, and
 * was read as [[1, 2], [3, 4], [5, 6]]) and that every leaf is a number or boolean.
 */
function rectangular(f: readonly unknown[], dims: readonly number[], what: () => string): (number | boolean)[] {
  const out: (number | boolean)[] = [];
  const at: number[] = [];
  const where = () => (at.length === 1 ? `element ${at[0]}` : `element [${at.join(',')}]`);
  const help = 'feed a rectangular nested array of numbers (every row as long as the first)';
  const walk = (a: readonly unknown[], depth: number): void => {
    if (a.length !== dims[depth]) {
      throw new GcError({ code: 'GC0401', message: `${what()}: the nested array is ragged: ${depth === 0 ? 'it' : `element [${at.join(',')}]`} has ${a.length} entries where the first has ${dims[depth]} (shape [${dims.join(',')}] read along first elements)`, help });
    }
    for (let i = 0; i < a.length; i++) {
      at.push(i);
      const x = a[i];
      if (depth + 1 < dims.length) {
        if (!Array.isArray(x)) throw new GcError({ code: 'GC0401', message: `${what()}: the nested array is ragged: ${where()} is ${x === null ? 'null' : typeof x} where a row of ${dims[depth + 1]} is expected`, help });
        walk(x, depth + 1);
      } else if (typeof x === 'number' || typeof x === 'boolean') {
        out.push(x);
      } else {
        throw new GcError({ code: 'GC0401', message: `${what()}: ${where()} is ${Array.isArray(x) ? 'an array (ragged nesting)' : x === null ? 'null' : typeof x}, not a number`, help });
      }
      at.pop();
    }
  };
  walk(f, 0);
  return out;
}

/** tfjs-backend-wasm's Cast to bool copies bytes: a bool tensor made by it may hold 2 or 255 for true. */
function isZeroOne(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (values[i]! > 1) return false;
  return true;
}

function isCanonical(values: unknown, dtype: string): boolean {
  const C = STORE[dtype];
  return C !== undefined && values instanceof C;
}

export interface SessionOptions {
  backend?: BackendName;
  /** Makes the graph's unseeded random ops reproducible: run n of two sessions with the same seed draws the same values. */
  seed?: number;
  /** Accept a software WebGPU adapter (SwiftShader) for backend 'webgpu'. */
  allowSoftwareWebgpu?: boolean;
  /**
   * How a wasm session runs its plans: 'auto' (default) compiles each plan, per binding of its
   * symbolic dims, into direct calls of tfjs-backend-wasm's C kernels on buffers planned ahead
   * (runtime/wasm_direct.ts); 'tensors' runs one tfjs op per node. Other backends always run tfjs ops.
   */
  executor?: 'auto' | 'tensors';
  /**
   * Bytes one tensor may take (default: GRAPHC_MAX_TENSOR_BYTES from the environment, else
   * 2 GiB; Infinity lifts it). Every node's results are checked against it (and against what
   * the engine can address) when a plan is bound to concrete dims, before any kernel runs.
   */
  maxTensorBytes?: number;
}

export interface RunOptions {
  /** Run the graph's variable assignments (default true: a run is one call of the function). */
  updates?: boolean;
}

interface Plan {
  fetches: Value[];
  feeds: Value[];
  schedule: Node[];
  /** For each scheduled node, the values to free after it ran. */
  frees: Value[][];
  assigns: Node[];
  /** Precomputed per scheduled node: kernel, attrs, value slots (the run's environment is an array). */
  steps: Step[];
  /** Slot count of the environment. */
  slots: number;
  slotOf: Map<Value, number>;
  /** Variables the plan reads: [slot, name]. */
  stateSlots: [number, string][];
  /** Direct wasm programs by binding (null: the plan cannot run that way), most recent last. */
  programs: Map<string, WasmProgram | null>;
  /** Bindings whose sizes were checked (checkPlanSizes). */
  sized: Set<string>;
  /** The last run's binding (values in bind()'s order) and its key: a run with the same binding computes neither again. */
  lastBinding: number[] | undefined;
  lastKey: string;
}

/** Checked bindings kept per plan (a plan fed ever new batch sizes starts over past this). */
const SIZED_PER_PLAN = 256;

/** Programs kept per plan (one per binding of the symbolic dims; the oldest is freed). */
const PROGRAMS_PER_PLAN = 4;

/** A scheduled node with what the tensor executor needs besides what a direct wasm program reads. */
interface Step extends PlanStep {
  outDtypes: string[];
  frees: number[];
  /** A static reshape of a variable or constant: its view is kept across runs while the operand's data stays the same. */
  cachedView: boolean;
}

/** A const's or variable init's data as a tensor; int64 values int32 cannot hold are a GcError (GC0408). */
export function tensorFromData(d: TensorData, what?: () => string): tf.Tensor {
  return tensorOfData(d, what);
}

/** The const node's value as a tensor, an int64 value past int32 named with the node. */
function constTensorOf(n: Node): tf.Tensor {
  const v = n.outputs[0]!;
  const users = v.uses.map((u) => describeNode(u.node));
  return tensorFromData(n.attrs.value as TensorData, () => `const ${valueLabel(v)}: ${typeToString(v.type)}${users.length ? ` (used by ${users.slice(0, 2).join('; ')})` : ''}`);
}

interface EngineSwitch {
  backendName: string | null;
  backendInstance: tf.KernelBackend | null;
  registry: Record<string, tf.KernelBackend | undefined>;
  profiler: unknown;
}

/** Backend instances whose kernels tf.setBackend set up (setupFunc), with the profiler it made for them. */
const setUp = new Map<string, { instance: tf.KernelBackend; profiler: unknown }>();

/**
 * Makes `name` tfjs's global backend. tf.setBackend re-runs every registered kernel's
 * setupFunc (about 90 µs on wasm); once it did so for the backend's current instance, the
 * engine's backend fields are switched directly (what setBackend sets besides the setup).
 */
function switchBackend(name: string): void {
  const engine = tf.engine() as unknown as EngineSwitch;
  const instance = engine.registry[name];
  const known = setUp.get(name);
  if (instance != null && known !== undefined && known.instance === instance) {
    engine.backendName = name;
    engine.backendInstance = instance;
    engine.profiler = known.profiler;
    return;
  }
  void tf.setBackend(name);
  if (engine.backendName === name && engine.backendInstance != null && engine.backendInstance === engine.registry[name]) {
    setUp.set(name, { instance: engine.backendInstance, profiler: engine.profiler });
  }
}

/** Runs `f` with tfjs's global backend switched to `name`, restoring it afterwards. */
export function withBackend<T>(name: string, f: () => T): T {
  const prev = tf.getBackend();
  if (prev === name) return f();
  const engine = tf.engine() as unknown as EngineSwitch;
  // The backend active now had its kernels set up when it became active.
  if (prev && engine.backendInstance != null && engine.registry[prev] === engine.backendInstance && !setUp.has(prev)) {
    setUp.set(prev, { instance: engine.backendInstance, profiler: engine.profiler });
  }
  switchBackend(name);
  if (tf.getBackend() !== name) throw new Error(`graphc: backend '${name}' is not initialised`);
  try {
    return f();
  } finally {
    if (prev) switchBackend(prev);
    else {
      // No global backend before: leave none (tfjs picks the user's own default on their first op).
      engine.backendName = null;
      engine.backendInstance = null;
    }
  }
}

/** Whether a binding has the values `last` lists, in its order (bind() sets symbols in the same order on every run of a plan). */
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

function mix(a: number, b: number): number {
  let h = (a ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (b >>> 0), 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export class Session {
  private readonly plans = new Map<string, Plan>();
  private readonly consts = new Map<Value, tf.Tensor>();
  /** Views of variables and constants by reshape node (Step.cachedView), with the data they view. */
  private readonly views = new Map<Node, { dataId: object; view: tf.Tensor }>();
  /** Session-owned variable values, by variable name. */
  private readonly state = new Map<string, tf.Tensor>();
  private runs = 0;
  private disposed = false;

  private constructor(readonly graph: Graph, readonly backend: BackendChoice, private readonly seed: number | undefined,
    private readonly executor: 'auto' | 'tensors' = 'auto', readonly tensorLimit: TensorLimit = resolveTensorLimit(undefined)) {}

  static async create(graph: Graph, opts: SessionOptions = {}): Promise<Session> {
    if (opts.executor !== undefined && opts.executor !== 'auto' && opts.executor !== 'tensors') {
      throw new GcError({ code: 'GC0401', message: `unknown executor '${String(opts.executor)}'`, help: "use 'auto' or 'tensors'" });
    }
    const limit = resolveTensorLimit(opts.maxTensorBytes);
    const choice = await selectBackend(opts.backend ?? 'auto', { allowSoftwareWebgpu: opts.allowSoftwareWebgpu });
    await ensureBackend(choice.name);
    // Variable values are created from their inits on first use (compile supplies its own).
    return new Session(graph, choice, opts.seed, opts.executor ?? 'auto', limit);
  }

  /** A session on a backend already selected and initialised (selectBackend + ensureBackend): no await needed. */
  static createReady(graph: Graph, choice: BackendChoice, opts: Pick<SessionOptions, 'seed' | 'executor' | 'maxTensorBytes'> = {}): Session {
    if (!(tf.engine() as unknown as EngineInternals).registry[choice.tfjsName]) {
      throw new GcError({ code: 'GC0403', message: `backend '${choice.name}' is not initialised`, help: 'use await gc.Session.create(...)' });
    }
    return new Session(graph, choice, opts.seed, opts.executor ?? 'auto', resolveTensorLimit(opts.maxTensorBytes));
  }

  /** Whether a run with these feeds must read some of them asynchronously first (prepareFeeds): tensors held by webgpu. */
  needsAsyncRead(feeds: Record<string, unknown>): boolean {
    const here = (tf.engine() as unknown as EngineInternals).registry[this.backend.tfjsName];
    for (const f of Object.values(feeds)) {
      if (f instanceof tf.Tensor && !f.isDisposed) {
        const h = holderOf(f);
        if (h !== undefined && h !== here && this.backendNameOf(h) === 'webgpu') return true;
      }
    }
    return false;
  }

  /** A session on an already initialised tfjs backend (internal: variable initialisation while tracing). */
  static forBackend(graph: Graph, tfjsName: string, seed?: number): Session {
    const name = (['cpu', 'wasm', 'webgpu'].includes(tfjsName) ? tfjsName : 'tensorflow') as 'cpu';
    return new Session(graph, { name, tfjsName, reason: `the current tfjs backend (${tfjsName})` }, seed);
  }

  /** Names that can be fetched: outputs, inputs, variables and every named value. */
  fetchableNames(): string[] {
    const names = new Set<string>(this.graph.outputs.map((o) => o.name));
    for (const v of this.graph.values()) if (v.name !== undefined) names.add(v.name);
    return [...names];
  }

  private resolveFetch(name: string): Value {
    const out = this.graph.outputs.find((o) => o.name === name);
    if (out) return out.value;
    for (const v of this.graph.values()) if (v.name === name) return v;
    throw new GcError({ code: 'GC0402', message: `unknown fetch '${name}'`, notes: [`valid names: ${this.fetchableNames().join(', ')}`],
      help: 'name a value during tracing with gc.name(t, "label") to fetch it' });
  }

  private plan(fetchNames: string[], feedNames: string[], updates: boolean): Plan {
    const key = `${fetchNames.join('\u0000')}|${feedNames.join('\u0000')}|${updates}`;
    const cached = this.plans.get(key);
    if (cached) return cached;
    const fetches = fetchNames.map((n) => this.resolveFetch(n));
    const feeds = feedNames.map((n) => {
      const v = this.graph.inputs.find((i) => i.name === n);
      if (!v) throw new GcError({ code: 'GC0402', message: `unknown feed '${n}'`, notes: [`inputs: ${this.graph.inputs.map((i) => i.name).join(', ') || '(none)'}`] });
      return v;
    });
    const assigns = updates ? this.graph.nodes.filter((n) => n.op === 'assign') : [];
    // Prints (x.print() in the function) run with every call of it, as its assignments do.
    const prints = updates ? this.graph.nodes.filter((n) => OPS[n.op].effect === 'io') : [];
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
    const schedule = this.graph.nodes.filter((n) => needed.has(n));
    for (const n of schedule) {
      for (const v of n.inputs) {
        if (v.kind === 'input' && !feeds.includes(v)) {
          throw new GcError({ code: 'GC0402', message: `missing feed for input '${v.name}' (${typeToString(v.type)}), needed by ${n.op}`,
            loc: n.loc, notes: [`inputs: ${this.graph.inputs.map((i) => i.name).join(', ')}`] });
        }
      }
    }
    for (const v of fetches) {
      if (v.kind === 'input' && !feeds.includes(v)) throw new GcError({ code: 'GC0402', message: `missing feed for fetched input '${v.name}'` });
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
    for (const st of this.graph.states) if (scheduled.has(st.value) || fetches.includes(st.value)) stateSlots.push([slot(st.value), st.name]);
    const steps: Step[] = schedule.map((n, i) => {
      const k = n.op === 'const' || n.op === 'assign' ? undefined : OP_KERNELS[n.op];
      return {
        node: n,
        kind: n.op === 'const' ? 'const' : n.op === 'assign' ? 'assign' : 'kernel',
        kernel: k === undefined || isUnsupported(k) ? undefined : k,
        attrs: new AttrReader(n.op, n.attrs),
        ins: n.inputs.map(slot),
        outs: n.outputs.map(slot),
        outDtypes: n.outputs.map((v) => (v.dtype === 'int64' ? 'int32' : v.dtype)),
        frees: frees[i]!.map(slot),
        direct: NO_TEMPORARIES.has(n.op) && n.inputs.every((v) => v.dtype === n.inputs[0]!.dtype),
        cachedView: n.op === 'reshape' && (n.inputs[0]!.kind === 'state' || n.inputs[0]!.producer?.op === 'const')
          && (n.attrs.shape as readonly Dim[]).every((d) => typeof d === 'number'),
      };
    });
    fetches.forEach(slot);
    for (const a of assigns) slot(a.inputs[0]!);
    const p: Plan = { fetches, feeds, schedule, frees, assigns, steps, slots: slotOf.size, slotOf, stateSlots, programs: new Map(), sized: new Set(), lastBinding: undefined, lastKey: '' };
    this.plans.set(key, p);
    return p;
  }

  /** Binds symbolic dims from the fed tensors, checking every fed shape and dtype. */
  private bind(feeds: Map<Value, tf.Tensor>): Map<string, number> {
    const b = new Map<string, number>();
    for (const [v, t] of feeds) {
      const want = v.type;
      const bad = () => new GcError({ code: 'GC0401', message: `input '${v.name}': expected ${typeToString(want)}, got ${t.dtype}[${t.shape.join(',')}]`,
        notes: [...b].map(([k, n]) => `${k} = ${n}`), help: 'feed a tensor of the declared shape and dtype (symbolic dims must agree across inputs)' });
      const wantDtype = want.dtype === 'int64' ? 'int32' : want.dtype;
      if (t.dtype !== wantDtype || t.shape.length !== want.shape.length) throw bad();
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
   * A feed as a tensor on this session's backend with its dtype's canonical store: `owned` when
   * it is a copy the run must free. Tensors of another backend are copied (never moved: the
   * user's tensor stays where it is), as are tfjs-cpu tensors whose store is not canonical.
   */
  private toTensor(v: Value, f: Feed): { t: tf.Tensor; owned: boolean } {
    const what = () => `input '${v.name}'`;
    const dtype = v.type.dtype === 'int64' ? 'int32' : v.type.dtype;
    if (f instanceof tf.Tensor) return this.adopt(f, what);
    if (f === null || f === undefined) {
      throw new GcError({ code: 'GC0401', message: `${what()}: expected a tensor, array or number for ${typeToString(v.type)}, got ${f === null ? 'null' : 'undefined'}` });
    }
    const shape = v.type.shape;
    if (typeof f === 'number' || typeof f === 'boolean') {
      if (shape.length !== 0) {
        throw new GcError({ code: 'GC0401', message: `${what()}: a scalar ${String(f)} was fed for ${typeToString(v.type)}`, help: 'feed an array or tensor of the input\'s shape' });
      }
      return { t: tf.tensor(canonicalStore([f], dtype, what), [], dtype as tf.DataType), owned: true };
    }
    if (ArrayBuffer.isView(f)) {
      if (f instanceof DataView) throw new GcError({ code: 'GC0401', message: `${what()}: a DataView cannot be fed`, help: 'feed a typed array' });
      const data = canonicalStore(f as unknown as ArrayLike<number>, dtype, what);
      return { t: tf.tensor(data, this.flatShape(v, data.length), dtype as tf.DataType), owned: true };
    }
    if (Array.isArray(f)) {
      // The shape is read along first elements (at most one level past the input's rank: an array may contain itself).
      const dims: number[] = [];
      let a: unknown = f;
      for (; Array.isArray(a) && dims.length <= shape.length; a = a[0]) dims.push(a.length);
      const flat = rectangular(f, dims, what);
      // A nested array gives its own shape; a flat one may fill an input of rank 2 or more.
      if (dims.length !== shape.length && !(dims.length === 1 && shape.length >= 2)) {
        throw new GcError({ code: 'GC0401', message: `input '${v.name}': expected ${typeToString(v.type)}, got an array ${Array.isArray(a) ? `nested deeper than rank ${shape.length}` : `of shape [${dims.join(',')}]`}`,
          help: shape.length === 0 ? 'feed a number for a scalar input' : 'feed an array nested to the input\'s rank, or a flat one' });
      }
      const data = canonicalStore(flat, dtype, what);
      const s = dims.length === shape.length ? dims : this.flatShape(v, data.length);
      return { t: tf.tensor(data, s, dtype as tf.DataType), owned: true };
    }
    throw new GcError({ code: 'GC0401', message: `${what()}: cannot feed a ${typeof f} (${Object.prototype.toString.call(f)})`, help: 'feed a tf.Tensor, a (nested) array, a typed array or a number' });
  }

  /** The shape a flat array of `n` numbers fills: static dims, and at most one symbolic dim decided by n. */
  private flatShape(v: Value, n: number): number[] {
    const shape = v.type.shape;
    const known = shape.reduce<number>((a, d) => (typeof d === 'number' ? a * d : a), 1);
    const open = shape.filter((d) => typeof d !== 'number').length;
    const bad = (why: string) => new GcError({ code: 'GC0401', message: `input '${v.name}': ${n} values cannot fill ${typeToString(v.type)} (${why})`,
      help: 'feed a tf.Tensor or a nested array, which carry their own shape' });
    if (open === 0) {
      if (n !== known) throw bad(`it holds ${known}`);
      return shape as number[];
    }
    if (open > 1) throw bad('more than one symbolic dim');
    if (known === 0 ? n !== 0 : n % known !== 0) throw bad(`not a multiple of ${known}`);
    const rest = known === 0 ? 0 : n / known;
    return shape.map((d) => (typeof d === 'number' ? d : rest));
  }

  /** A tensor (feed or variable value) on this session's backend, in its canonical store. */
  private adopt(t: tf.Tensor, what: () => string): { t: tf.Tensor; owned: boolean } {
    if (t.isDisposed) throw new GcError({ code: 'GC0401', message: `${what()}: the tensor was disposed`, help: 'feed a live tensor (tf.tidy or dispose() may have freed it)' });
    const engine = tf.engine() as unknown as EngineInternals;
    const here = engine.registry[this.backend.tfjsName];
    const holder = holderOf(t);
    if (holder === here) {
      // Only tfjs-cpu keeps non-canonical stores; its kernels read them as numbers, graphc's read them as its dtype's array.
      // Bools made by tfjs-wasm's Cast may hold 2 or 255 (checked on cpu/wasm; webgpu cannot read synchronously, and its bools are 0/1).
      const rec = (here as unknown as { data?: { get(id: object): { values?: unknown } | undefined } }).data?.get(t.dataId);
      if ((rec?.values === undefined || isCanonical(rec.values, t.dtype)) && (t.dtype !== 'bool' || this.backend.tfjsName === 'webgpu' || isZeroOne(here!.readSync(t.dataId) as Uint8Array))) {
        return { t, owned: false };
      }
    }
    let values: ArrayLike<number>;
    try {
      values = (holder ?? here)!.readSync(t.dataId) as ArrayLike<number>;
    } catch (e) {
      throw new GcError({ code: 'GC0401', message: `${what()}: cannot read a tensor of backend '${this.backendNameOf(holder)}' synchronously: ${(e as Error).message}`,
        help: `call the compiled function (async), or move the data first: tf.tensor(await t.data(), t.shape, t.dtype)` });
    }
    return { t: tf.tensor(canonicalStore(values, t.dtype, what), t.shape, t.dtype), owned: true };
  }

  private backendNameOf(b: tf.KernelBackend | undefined): string {
    const reg = (tf.engine() as unknown as EngineInternals).registry;
    return Object.keys(reg).find((k) => reg[k] === b) ?? 'unknown';
  }

  /**
   * Feeds on a backend that cannot be read synchronously (webgpu) read asynchronously, as a
   * tensor on this session's backend (to free after the run). Used by run() and gc.compile.
   */
  async prepareFeeds<F>(feeds: Record<string, F>): Promise<{ feeds: Record<string, F | tf.Tensor>; temps: tf.Tensor[] }> {
    const out: Record<string, F | tf.Tensor> = { ...feeds };
    const temps: tf.Tensor[] = [];
    const here = (tf.engine() as unknown as EngineInternals).registry[this.backend.tfjsName];
    for (const [k, f] of Object.entries(feeds)) {
      if (!(f instanceof tf.Tensor) || f.isDisposed) continue;
      const holder = holderOf(f);
      if (holder === undefined || holder === here || this.backendNameOf(holder) !== 'webgpu') continue;
      const data = await f.data();
      const t = withBackend(this.backend.tfjsName, () => tf.tensor(canonicalStore(data as ArrayLike<number>, f.dtype, () => `input '${k}'`), f.shape, f.dtype));
      temps.push(t);
      out[k] = t;
    }
    return { feeds: out, temps };
  }

  /** Copies of variables held on another backend (or in a non-canonical store), by name, while their data stays the same. */
  private readonly stateCopies = new Map<string, { dataId: object; copy: tf.Tensor }>();

  private adoptState(name: string, t: tf.Tensor): tf.Tensor {
    const c = this.stateCopies.get(name);
    if (c !== undefined && c.dataId === t.dataId && !t.isDisposed) return c.copy;
    const a = this.adopt(t, () => `variable '${name}'`);
    if (c !== undefined) { c.copy.dispose(); this.stateCopies.delete(name); }
    if (!a.owned) return t;
    const copy = tf.keep(a.t);
    this.stateCopies.set(name, { dataId: t.dataId, copy });
    return copy;
  }

  /**
   * Core execution. `stateIn` supplies each variable's current value (not disposed here);
   * returns the fetched tensors and, with updates, the new value of each assigned variable.
   */
  execute(fetchNames: string[], feeds: Record<string, Feed>, stateIn: (name: string) => tf.Tensor, opts: RunOptions = {}): { outputs: tf.Tensor[]; updates: Map<string, tf.Tensor> } {
    if (this.disposed) throw new GcError({ code: 'GC0403', message: 'this Session was disposed' });
    const feedNames = Object.keys(feeds).sort();
    const plan = this.plan(fetchNames, feedNames, opts.updates ?? true);
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
          const { t, owned: copy } = this.toTensor(v, feeds[v.name!]!);
          owned[i] = copy;
          fed.set(v, t);
          env[i] = t;
        });
        const bindings = this.bind(fed);
        if (!sameBinding(plan.lastBinding, bindings)) {
          // Once per binding: what every node would allocate, before any kernel runs.
          const key = bindingKey(bindings);
          if (!plan.sized.has(key)) {
            checkPlanSizes(plan.schedule, bindings, this.backend.tfjsName, this.tensorLimit);
            if (plan.sized.size >= SIZED_PER_PLAN) plan.sized.clear();
            plan.sized.add(key);
          }
          plan.lastBinding = [...bindings.values()];
          plan.lastKey = key;
        }
        const key = plan.lastKey;
        if (this.backend.tfjsName === 'wasm') guardWasmHeap();
        for (const [i, name] of plan.stateSlots) env[i] = this.adoptState(name, stateIn(name));
        const ctx: ExecCtx = {
          backend: this.backend.tfjsName,
          dim: (d: Dim) => evalShape([d], bindings)[0]!,
          dims: (ds: readonly Dim[]) => evalShape(ds, bindings),
          seedFor: (opSeed: number) => (opSeed >= 0 ? opSeed : this.seed === undefined ? undefined : mix(mix(this.seed, run), this.currentNode)),
        };
        const program = this.programFor(plan, bindings, key);
        if (program) {
          const ext = [...plan.feeds.map((v) => fed.get(v)!), ...plan.stateSlots.map(([i]) => env[i]!)];
          const res = program.run(ext, ctx, (id) => { this.currentNode = id; }, (st, e) => this.stepError(st.node, e, (j) => program.shapeOf(st.ins[j]!)));
          const outputs = res.slice(0, plan.fetches.length);
          const updates = new Map<string, tf.Tensor>();
          plan.assigns.forEach((a, j) => updates.set(a.attrs.var as string, res[plan.fetches.length + j]!));
          result = res;
          return { outputs, updates };
        }
        for (const st of plan.steps) {
          const n = st.node;
          if (st.kind === 'const') {
            let c = this.consts.get(n.outputs[0]!);
            if (!c) { c = tf.keep(constTensorOf(n)); this.consts.set(n.outputs[0]!, c); }
            env[st.outs[0]!] = c;
          } else if (st.cachedView && env[st.ins[0]!] !== undefined) {
            // Not owned: the view outlives the run (freed when the operand's data changes, or with the session).
            const x = env[st.ins[0]!]!;
            let c = this.views.get(n);
            if (c !== undefined && (c.dataId !== x.dataId || c.view.isDisposed)) { c.view.dispose(); c = undefined; }
            if (c === undefined) {
              c = { dataId: x.dataId, view: tf.keep(tf.reshape(x, n.attrs.shape as number[])) };
              this.views.set(n, c);
            }
            env[st.outs[0]!] = c.view;
          } else if (st.kind === 'kernel') {
            const k = st.kernel;
            if (k === undefined) throw new GcError({ code: 'GC0403', message: `${n.op} cannot run on tfjs: ${(OP_KERNELS[n.op] as Unsupported).unsupported}`, loc: n.loc });
            this.currentNode = n.id;
            const ins: tf.Tensor[] = st.ins.map((i) => env[i]!);
            let outs: tf.Tensor[];
            try {
              const r = st.direct ? k(ins, st.attrs, ctx) : tf.tidy(() => k(ins, st.attrs, ctx));
              // A kernel may hand back an operand unchanged; the result must be a tensor of its own.
              outs = Array.isArray(r) ? r : [r];
              for (let j = 0; j < outs.length; j++) {
                let t = outs[j]!;
                if (ins.includes(t)) t = t.clone();
                // Backends disagree on a few result dtypes (floor_div is int32 on cpu); the graph's type wins.
                const want = st.outDtypes[j]!;
                if (t.dtype !== want) { const c = tf.cast(t, want as tf.DataType); t.dispose(); t = c; }
                outs[j] = t;
              }
            } catch (e) {
              throw this.stepError(n, e, (j) => env[st.ins[j]!]?.shape);
            }
            for (let j = 0; j < st.outs.length; j++) { env[st.outs[j]!] = outs[j]!; owned[st.outs[j]!] = true; }
          }
          for (const i of st.frees) {
            if (owned[i]) { env[i]!.dispose(); owned[i] = false; }
            env[i] = undefined;
          }
        }
        const outputs = plan.fetches.map((v) => {
          const i = plan.slotOf.get(v)!;
          const t = env[i]!;
          if (owned[i]) { owned[i] = false; return t; }
          return t.clone();
        });
        const updates = new Map<string, tf.Tensor>();
        for (const a of plan.assigns) {
          const i = plan.slotOf.get(a.inputs[0]!)!;
          const t = env[i]!;
          if (owned[i] && !outputs.includes(t)) { owned[i] = false; updates.set(a.attrs.var as string, t); }
          else updates.set(a.attrs.var as string, t.clone());
        }
        result = [...outputs, ...updates.values()];
        return { outputs, updates };
      } finally {
        for (let i = 0; i < env.length; i++) if (owned[i]) env[i]!.dispose();
        engine.endScope(result);
      }
    });
  }

  private currentNode = 0;

  private stepError(n: Node, e: unknown, shapeOf: (j: number) => readonly number[] | undefined): Error {
    if (e instanceof GcError) return e;
    if (e instanceof Int64Narrowing) {
      return new GcError({ code: Codes.int64Range, message: `while executing ${describeNode(n)}: ${e.message}`, loc: n.loc,
        help: 'keep int64 values within ±2^31 (indices and shapes are); ONNX Runtime computes int64 exactly' });
    }
    return new GcError({ code: 'GC0403', message: `while executing ${describeNode(n)}: ${(e as Error).message}`, loc: n.loc,
      notes: n.inputs.map((v, j) => `${valueLabel(v)}: ${typeToString(v.type)} = [${shapeOf(j)?.join(',')}]`) });
  }

  /** The direct wasm programs built so far (one per plan and binding of the symbolic dims), with what they are made of. */
  executorStats(): (ProgramStats & { binding: string })[] {
    const out: (ProgramStats & { binding: string })[] = [];
    for (const p of this.plans.values()) for (const [binding, prog] of p.programs) if (prog) out.push({ binding, ...prog.stats });
    return out;
  }

  /** The direct wasm program of a plan for a binding, built on first use (undefined: run tfjs ops). */
  private programFor(plan: Plan, bindings: Map<string, number>, key: string): WasmProgram | undefined {
    if (this.executor !== 'auto' || this.backend.tfjsName !== 'wasm' || !directAllowed()) return undefined;
    const known = plan.programs.get(key);
    if (known !== undefined) {
      plan.programs.delete(key);
      plan.programs.set(key, known);
      return known ?? undefined;
    }
    const values: Value[] = [];
    for (const [v, i] of plan.slotOf) values[i] = v;
    const program = WasmProgram.build({
      steps: plan.steps,
      values,
      extSlots: [...plan.feeds.map((v) => plan.slotOf.get(v)!), ...plan.stateSlots.map(([i]) => i)],
      exports: [...plan.fetches.map((v) => plan.slotOf.get(v)!), ...plan.assigns.map((a) => plan.slotOf.get(a.inputs[0]!)!)],
      shapes: values.map((v) => evalShape(v.type.shape, bindings)),
      constTensor: (v) => {
        let c = this.consts.get(v);
        if (!c) { c = tf.keep(constTensorOf(v.producer!)); this.consts.set(v, c); }
        return c;
      },
      dim: (d) => evalShape([d], bindings)[0]!,
      assignedSlots: plan.stateSlots.filter(([, name]) => plan.assigns.some((a) => a.attrs.var === name)).map(([i]) => i),
    });
    plan.programs.set(key, program ?? null);
    if (plan.programs.size > PROGRAMS_PER_PLAN) {
      const [oldest, p] = plan.programs.entries().next().value as [string, WasmProgram | null];
      p?.dispose();
      plan.programs.delete(oldest);
    }
    return program;
  }

  /** Runs the graph: fetch by name (outputs, inputs, variables, gc.name'd values). */
  async run(fetches: string | string[], feeds: Record<string, Feed> = {}, opts: RunOptions = {}): Promise<tf.Tensor | tf.Tensor[]> {
    if (this.disposed) throw new GcError({ code: 'GC0403', message: 'this Session was disposed', help: 'create a new Session' });
    const p = await this.prepareFeeds(feeds);
    try {
      return this.runSync(fetches, p.feeds as Record<string, Feed>, opts);
    } finally {
      for (const t of p.temps) t.dispose();
    }
  }

  runSync(fetches: string | string[], feeds: Record<string, Feed> = {}, opts: RunOptions = {}): tf.Tensor | tf.Tensor[] {
    const names = Array.isArray(fetches) ? fetches : [fetches];
    const { outputs, updates } = this.execute(names, feeds, (n) => this.stateTensor(n), opts);
    for (const [name, t] of updates) {
      this.state.get(name)?.dispose();
      this.state.set(name, t);
    }
    return Array.isArray(fetches) ? outputs : outputs[0]!;
  }

  /** The session-owned value of a variable, created from its init on first use. */
  private stateTensor(name: string): tf.Tensor {
    let t = this.state.get(name);
    if (!t) {
      const st = this.graph.stateByName(name);
      if (!st) throw new GcError({ code: 'GC0402', message: `unknown variable '${name}'` });
      t = withBackend(this.backend.tfjsName, () => tf.keep(tensorFromData(st.init, () => `the initial value of variable '${name}'`)));
      this.state.set(name, t);
    }
    return t;
  }

  /** The session's current value of a variable (a copy the caller owns). */
  variable(name: string): tf.Tensor {
    const t = this.graph.stateByName(name) ? this.stateTensor(name) : undefined;
    if (!t) throw new GcError({ code: 'GC0402', message: `unknown variable '${name}'`, notes: [`variables: ${[...this.state.keys()].join(', ') || '(none)'}`] });
    return t.clone();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.consts.values()) t.dispose();
    for (const c of this.views.values()) c.view.dispose();
    this.views.clear();
    for (const t of this.state.values()) t.dispose();
    for (const c of this.stateCopies.values()) c.copy.dispose();
    this.stateCopies.clear();
    this.consts.clear();
    this.state.clear();
    for (const p of this.plans.values()) for (const prog of p.programs.values()) prog?.dispose();
    this.plans.clear();
  }
}

export { locToString };
