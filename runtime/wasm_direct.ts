/**
 * The direct wasm executor. A Session plan on tfjs-backend-wasm, for one binding of its
 * symbolic dims, becomes a program: every value gets a place in the wasm heap decided ahead
 * (intermediates share buffers by liveness, an elementwise op may write over an operand that
 * dies with it, reshapes are views), and each node is a call of the backend's compiled C
 * kernel on those buffers. Running it makes no tfjs op calls, no engine bookkeeping and no
 * heap allocation besides the results handed back: per node the cost is the C call.
 *
 * The C kernels are the ones tfjs's own wasm kernels call, with the arguments those compute,
 * so values are identical to the tensor path (tested by the compiled ≡ eager op table on
 * wasm). Nodes without a direct call here (random ops, gathers, convolutions, ...) run
 * their tfjs kernel on tensor views of the buffers and have the result copied in.
 *
 * tfjs-backend-wasm is pinned (4.22.0); `wasmBackend()` checks the internals used here and
 * the Session falls back to the tensor path where they are missing.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dim } from '../ir/dim.js';
import type { Node, Value } from '../ir/graph.js';
import type { AttrReader } from '../ir/ops.js';
import type { ExecCtx, OpKernel } from './kernel_types.js';
import { checkFitsInt64AsInt32 } from './tensor_limits.js';

type Dt = 'float32' | 'int32' | 'bool';
/** CppDType of tfjs-backend-wasm (kernels/types.ts). */
const CPP: Record<Dt, number> = { float32: 0, int32: 1, bool: 2 };
const BYTES: Record<Dt, number> = { float32: 4, int32: 4, bool: 1 };
/** FusableActivation of tfjs-backend-wasm (kernels/types.ts). */
const ACTIVATION: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 4, sigmoid: 5, elu: 6 };

interface TensorRecord { id: number; memoryOffset: number }
type CFunc = (...args: number[]) => void;
interface WasmModule {
  tfjs: { disposeData(id: number): void; registerTensor(id: number, size: number, offset: number): void };
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  _malloc(n: number): number;
  _free(p: number): void;
  asm: Record<string, CFunc | undefined>;
}
export interface WasmBackendLike {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): TensorRecord | undefined };
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}
interface EngineLike {
  state: { gradientDepth: number; profiling: boolean; tensorInfo: WeakMap<object, { backend: unknown }> & { has(k: object): boolean; get(k: object): { backend: unknown } | undefined } };
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: unknown): tf.Tensor;
  removeDataId(dataId: object, backend: unknown): void;
}

const REQUIRED = ['Add', '_FusedMatMul', 'Sigmoid', 'Softmax', 'Sum', 'Transpose', 'malloc', 'free'];

/** tfjs's wasm backend instance when it is initialised and has the internals this executor calls. */
export function wasmBackend(): WasmBackendLike | undefined {
  const be = tf.engine().registry['wasm'] as unknown as Partial<WasmBackendLike> | undefined;
  const asm = be?.wasm?.asm;
  if (!be || !asm || typeof be.wasm?.tfjs?.disposeData !== 'function' || typeof be.wasm.tfjs.registerTensor !== 'function' || typeof be.makeOutput !== 'function' || typeof be.incRef !== 'function' || !be.dataIdMap) return undefined;
  return REQUIRED.every((k) => typeof asm[k] === 'function') ? be as WasmBackendLike : undefined;
}

/** Whether the executor may run now: no gradient recording, profiling or tfjs debug mode (they need the tensor path). */
export function directAllowed(): boolean {
  const engine = tf.engine() as unknown as EngineLike;
  return engine.state.gradientDepth === 0 && !engine.state.profiling && !tf.env().getBool('DEBUG');
}

/** A step of the Session's plan, as the program reads it. */
export interface PlanStep {
  node: Node;
  kind: 'const' | 'assign' | 'kernel';
  kernel: OpKernel | undefined;
  attrs: AttrReader;
  ins: number[];
  outs: number[];
  /** The kernel makes no temporaries: no tf.tidy around it. */
  direct: boolean;
}

export interface ProgramSpec {
  steps: readonly PlanStep[];
  /** Value of each slot. */
  values: readonly Value[];
  /** Slots filled from outside each run, in the order run() receives their tensors: feeds, then variables. */
  extSlots: readonly number[];
  /** Slots handed back, in order: fetches, then the assigned values. */
  exports: readonly number[];
  /** Concrete shape of each slot's value under this program's binding. */
  shapes: readonly number[][];
  /** The Session's kept tensor for a `const` node's value. */
  constTensor(v: Value): tf.Tensor;
  /** A dim's value under this program's binding (sym_const). */
  dim(d: Dim): number;
  /** Variable slots the plan assigns: their tensors differ on every run. */
  assignedSlots: readonly number[];
}

/** What a program is made of: steps by direct C call / by tfjs kernel, buffers it owns, in-place steps. */
export interface ProgramStats { direct: number; fallback: number; buffers: number; inPlace: number; fallbackOps: string[]; transposedMatmuls: number }

type RootKind = 'ext' | 'const' | 'arena' | 'out';

interface Buffer { dataId: object; id: number; offset: number; key: string }

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const dtOf = (v: Value): Dt => (v.dtype === 'int64' ? 'int32' : v.dtype) as Dt;

const UNARY: Record<string, string> = {
  abs: 'Abs', acos: 'Acos', acosh: 'Acosh', asin: 'Asin', asinh: 'Asinh', atan: 'Atan', atanh: 'Atanh', ceil: 'Ceil',
  cos: 'Cos', cosh: 'Cosh', elu: 'Elu', erf: 'Erf', exp: 'Exp', expm1: 'Expm1', floor: 'Floor', log: 'Log', log1p: 'Log1p',
  neg: 'Neg', reciprocal: 'Reciprocal', relu: 'Relu', relu6: 'Relu6', round: 'Round', rsqrt: 'Rsqrt', selu: 'Selu',
  sign: 'Sign', sin: 'Sin', sinh: 'Sinh', softplus: 'Softplus', sqrt: 'Sqrt', square: 'Square', tan: 'Tan', tanh: 'Tanh',
};

/** Binary kernels: C name and the operand dtypes the direct call takes (others run their tfjs kernel). */
const BINARY: Record<string, [string, readonly Dt[]]> = {
  add: ['Add', ['float32', 'int32']], sub: ['Sub', ['float32', 'int32']], mul: ['Multiply', ['float32', 'int32']],
  div: ['RealDiv', ['float32']], maximum: ['Maximum', ['float32', 'int32']], minimum: ['Minimum', ['float32', 'int32']],
  pow: ['Pow', ['float32']], squared_difference: ['SquaredDifference', ['float32']], floor_div: ['FloorDiv', ['float32', 'int32']],
  mod: ['Mod', ['float32', 'int32']], atan2: ['Atan2', ['float32']],
  equal: ['Equal', ['float32', 'int32']], not_equal: ['NotEqual', ['float32', 'int32']], less: ['Less', ['float32', 'int32']],
  less_equal: ['LessEqual', ['float32', 'int32']], greater: ['Greater', ['float32', 'int32']], greater_equal: ['GreaterEqual', ['float32', 'int32']],
  logical_and: ['LogicalAnd', ['bool']], logical_or: ['LogicalOr', ['bool']], logical_xor: ['LogicalXor', ['bool']],
};

/** Program constants: sources whose value depends on the binding only. */
/** Ops whose tfjs-wasm kernel keeps an XNNPACK operator per id of its operands after the first (weights, filter, bias). */
const CACHES_OPERANDS = new Set(['matmul', 'fused_matmul', 'conv2d', 'fused_conv2d']);

type Padding = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** tfjs's pad argument from the IR's padding attrs (as runtime/op_kernels.ts passes it). */
function padOf(a: AttrReader): Padding {
  const p = a.str('padding');
  if (p === 'same' || p === 'valid') return p;
  const [t, b, l, r] = a.ints('pads');
  return [[0, 0], [t!, b!], [l!, r!], [0, 0]];
}

const pair = (xs: readonly number[]): [number, number] => [xs[0]!, xs[1]!];

/** Weights (K·N elements) from which the transposed product of a changing W pays off. */
const TRANSPOSED_MIN_WEIGHTS = 1 << 14;

const SOURCES = new Set(['fill', 'sym_const', 'zeros_like', 'ones_like']);

/** tfjs-backend-wasm's Transpose drops size-1 axes first (kernels/Transpose.ts); the same reduction here. */
function removeOneSizeDims(shape: readonly number[], perm: readonly number[]): [number[], number[]] {
  const newShape: number[] = [], newPerm: number[] = [];
  for (let i = 0; i < shape.length; ++i) {
    if (shape[i] !== 1) newShape.push(shape[i]!);
    if (shape[perm[i]!] !== 1) newPerm.push(perm[i]!);
  }
  for (let i = 0; i < newPerm.length; ++i) {
    let min = -1;
    for (let j = 0; j < newPerm.length; ++j) if (newPerm[j]! >= i && (min === -1 || newPerm[min]! > newPerm[j]!)) min = j;
    newPerm[min] = i;
  }
  return [newShape, newPerm];
}

/**
 * tfjs-wasm's AvgPool (XNNPACK) clamps its result to [-Infinity, Infinity] with a max that turns
 * NaN into -Infinity: a window holding a NaN, or both infinities, averages to -Infinity where
 * tfjs-cpu (and ONNX) give NaN (fuzz seed 9657). Given the NHWC input x and the pool's result y,
 * sets to NaN each -Infinity of y whose window (padding excluded) holds a NaN or +Infinity.
 * Returns whether y had any -Infinity (only then are windows read).
 */
export function avgPoolNaNs(x: ArrayLike<number>, xs: readonly number[], info: tf.backend_util.Conv2DInfo, y: Float32Array): boolean {
  if (!y.includes(-Infinity)) return false;
  const [, H, W, C] = xs as [number, number, number, number];
  const { outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const top = info.padInfo.top, left = info.padInfo.left;
  for (let k = 0; k < y.length; k++) {
    if (y[k] !== -Infinity) continue;
    const c = k % C, ow = Math.floor(k / C) % OW, oh = Math.floor(k / (C * OW)) % OH, b = Math.floor(k / (C * OW * OH));
    let nan = false;
    for (let i = 0; i < fh && !nan; i++) {
      const h = oh * sh - top + i;
      if (h < 0 || h >= H) continue;
      for (let j = 0; j < fw; j++) {
        const w = ow * sw - left + j;
        if (w < 0 || w >= W) continue;
        const v = x[((b * H + h) * W + w) * C + c]!;
        if (Number.isNaN(v) || v === Infinity) { nan = true; break; }
      }
    }
    if (nan) y[k] = NaN;
  }
  return true;
}

/**
 * Whether a 'same' conv must be handed to tfjs-wasm's C kernels with explicit pads: XNNPACK
 * computes TF SAME padding as (out−1)·stride + filter − in unsigned, and where that is negative
 * (tfjs clamps it to 0) the result is left zeros (fuzz seed 15431).
 */
export function sameAsExplicit(info: tf.backend_util.Conv2DInfo): boolean {
  return info.padInfo.type === 'SAME' && ((info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight < info.inHeight
    || (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth < info.inWidth);
}

/** A failure while building a direct step: the node runs its tfjs kernel instead. */
class NoDirect extends Error {}

interface Built { run: () => void; inPlace: boolean }

export class WasmProgram {
  private readonly be: WasmBackendLike;
  private readonly engine = tf.engine() as unknown as EngineLike;
  /** Storage root of each slot (reshape / identity outputs share their operand's). */
  private readonly root: number[];
  private readonly kind: RootKind[];
  /** Per root: wasm tensor id and heap offset (ext and out roots: set each run). */
  private readonly ids: number[];
  private readonly offs: number[];
  private readonly dataIds: (object | undefined)[];
  private readonly owned: Buffer[] = [];
  private readonly heapArrays: number[] = [];
  private readonly exportMode: ('own' | 'copy')[] = [];
  private readonly outRoots: number[] = [];
  private readonly runSteps: { step: PlanStep; run: () => void; fallback: boolean }[] = [];
  private readonly extTensors: (tf.Tensor | undefined)[];
  private fallbackCtx: ExecCtx | undefined;
  private onNode: ((id: number) => void) | undefined;
  /** Stats for tests and the bench: steps run by a direct C call / by their tfjs kernel. */
  readonly stats: ProgramStats = { direct: 0, fallback: 0, buffers: 0, inPlace: 0, fallbackOps: [], transposedMatmuls: 0 };

  private constructor(private readonly spec: ProgramSpec, be: WasmBackendLike) {
    this.be = be;
    const n = spec.values.length;
    this.root = Array.from({ length: n }, (_, i) => i);
    this.kind = new Array<RootKind>(n).fill('arena');
    this.ids = new Array<number>(n).fill(0);
    this.offs = new Array<number>(n).fill(0);
    this.dataIds = new Array<object | undefined>(n).fill(undefined);
    this.extTensors = new Array<tf.Tensor | undefined>(n).fill(undefined);
  }

  /** The program for a plan, or undefined where the plan cannot run this way (empty tensors, unknown dtypes). */
  static build(spec: ProgramSpec): WasmProgram | undefined {
    const be = wasmBackend();
    if (!be) return undefined;
    if (spec.shapes.some((s) => sizeOf(s) === 0)) return undefined;
    if (spec.values.some((v) => !(dtOf(v) in CPP))) return undefined;
    const p = new WasmProgram(spec, be);
    try {
      p.plan();
    } catch (e) {
      p.dispose();
      throw e;
    }
    return p;
  }

  /** The concrete shape of a slot's value in this program. */
  shapeOf(slot: number): readonly number[] { return this.spec.shapes[slot]!; }

  private dt(slot: number): Dt { return dtOf(this.spec.values[slot]!); }
  private shape(slot: number): number[] { return this.spec.shapes[slot]!; }
  private size(slot: number): number { return sizeOf(this.spec.shapes[slot]!); }
  private keyOf(slot: number): string { return `${this.dt(slot)}:${this.size(slot)}`; }

  private newBuffer(dt: Dt, size: number): Buffer {
    const info = this.be.makeOutput([size], dt);
    const rec = this.be.dataIdMap.get(info.dataId)!;
    const b: Buffer = { dataId: info.dataId, id: rec.id, offset: rec.memoryOffset, key: `${dt}:${size}` };
    this.owned.push(b);
    this.stats.buffers++;
    return b;
  }

  private intArray(xs: readonly number[]): number {
    const p = this.be.wasm._malloc(Math.max(4, 4 * xs.length));
    this.heapArrays.push(p);
    this.be.wasm.HEAP32.set(xs, p >> 2);
    return p;
  }

  private setRoot(r: number, b: { dataId: object; id: number; offset: number }): void {
    this.dataIds[r] = b.dataId;
    this.ids[r] = b.id;
    this.offs[r] = b.offset;
  }

  private plan(): void {
    const { steps, exports, extSlots } = this.spec;
    for (const s of extSlots) this.kind[s] = 'ext';
    // Roots: views share their operand's storage.
    for (const st of steps) {
      const op = st.node.op;
      if (st.kind === 'const') {
        const t = this.spec.constTensor(st.node.outputs[0]!);
        const rec = this.be.dataIdMap.get(t.dataId);
        if (!rec) throw new Error('graphc: a constant is not on the wasm backend');
        this.kind[st.outs[0]!] = 'const';
        this.setRoot(st.outs[0]!, { dataId: t.dataId, id: rec.id, offset: rec.memoryOffset });
      } else if ((op === 'reshape' || op === 'identity') && st.kind === 'kernel') {
        this.root[st.outs[0]!] = this.root[st.ins[0]!]!;
      } else if (st.kind === 'kernel' && SOURCES.has(op)) {
        const o = st.outs[0]!;
        this.kind[o] = 'const';
        const b = this.newBuffer(this.dt(o), this.size(o));
        this.setRoot(o, b);
        this.fillSource(st, o, b);
      }
    }
    // Exports: a kernel output handed back is written straight into the result's buffer.
    for (const e of exports) {
      const r = this.root[e]!;
      if (this.kind[r] === 'arena' && this.size(r) === this.size(e)) {
        this.kind[r] = 'out';
        this.outRoots.push(r);
        this.exportMode.push('own');
      } else {
        this.exportMode.push('copy');
      }
    }
    // Liveness of arena roots.
    const last = new Map<number, number>();
    steps.forEach((st, i) => { for (const s of st.ins) last.set(this.root[s]!, i); });
    const free = new Map<string, Buffer[]>();
    const take = (dt: Dt, size: number): Buffer => {
      const l = free.get(`${dt}:${size}`);
      return l !== undefined && l.length > 0 ? l.pop()! : this.newBuffer(dt, size);
    };
    const release = (b: Buffer): void => {
      let l = free.get(b.key);
      if (!l) { l = []; free.set(b.key, l); }
      l.push(b);
    };
    const bufOf = new Map<number, Buffer>();
    steps.forEach((st, i) => {
      if (st.kind !== 'kernel') return;
      const op = st.node.op;
      if (op === 'reshape' || op === 'identity' || SOURCES.has(op)) return;
      let built: Built | undefined;
      try {
        built = this.direct(st);
      } catch (e) {
        if (!(e instanceof NoDirect)) throw e;
        built = undefined;
        this.stepTemps = [];
      }
      const dying = [...new Set(st.ins.map((s) => this.root[s]!))].filter((r) => this.kind[r] === 'arena' && last.get(r) === i && bufOf.has(r));
      const reused = new Set<number>();
      // Temporaries are taken while the operands are still held, so they overlap neither operands nor results.
      const temps = this.stepTemps.map(([idx, dt, size]) => { const b = take(dt, size); this.setRoot(idx, b); return b; });
      this.stepTemps = [];
      for (const o of st.outs) {
        const r = this.root[o]!;
        if (this.kind[r] !== 'arena' || r !== o) continue;
        let b: Buffer | undefined;
        if (built?.inPlace) {
          const d = dying.find((x) => !reused.has(x) && this.keyOf(x) === this.keyOf(o));
          if (d !== undefined) { b = bufOf.get(d)!; reused.add(d); this.stats.inPlace++; }
        }
        b ??= take(this.dt(o), this.size(o));
        bufOf.set(r, b);
        this.setRoot(r, b);
      }
      for (const d of dying) if (!reused.has(d)) release(bufOf.get(d)!);
      for (const t of temps) release(t);
      for (const o of st.outs) {
        const r = this.root[o]!;
        if (this.kind[r] === 'arena' && !last.has(r) && bufOf.has(r)) release(bufOf.get(r)!);
      }
      // tfjs-wasm keeps XNNPACK operators per tensor id with a matmul's right operand and bias, a
      // conv's filter and bias packed inside: a buffer whose content changes between calls (any
      // arena or result buffer) is re-registered before such a call, which drops those operators.
      const cachedBy = built ? (CACHES_OPERANDS.has(op) ? st.ins.slice(1) : []) : st.ins;
      const mutable = [...new Set(cachedBy.map((s) => this.root[s]!))].filter((r) => this.kind[r] === 'arena' || this.kind[r] === 'out');
      const body = built ? built.run : () => this.fallback(st);
      const run = mutable.length === 0 ? body : () => { for (const r of mutable) this.refresh(r); body(); };
      if (built) this.stats.direct++; else {
        this.stats.fallback++;
        if (!this.stats.fallbackOps.includes(st.node.op)) this.stats.fallbackOps.push(st.node.op);
      }
      this.runSteps.push({ step: st, run, fallback: !built });
    });
  }

  /** Drops what the C side keeps for a buffer's id (cached operators): re-registers the same memory. */
  private refresh(r: number, size = this.size(r)): void {
    const t = this.be.wasm.tfjs;
    t.disposeData(this.ids[r]!);
    t.registerTensor(this.ids[r]!, size, this.offs[r]!);
  }

  /** Temporaries requested by the step being built: [index into ids/offs, dtype, size]. */
  private stepTemps: [number, Dt, number][] = [];

  private temp(dt: Dt, size: number): number {
    const idx = this.ids.length;
    this.ids.push(0);
    this.offs.push(0);
    this.dataIds.push(undefined);
    this.stepTemps.push([idx, dt, size]);
    return idx;
  }

  private fillSource(st: PlanStep, o: number, b: Buffer): void {
    const op = st.node.op;
    const a = st.attrs;
    const dt = this.dt(o);
    let value: number;
    if (op === 'fill') value = a.float('value');
    else if (op === 'sym_const') value = this.spec.dim(a.dim('value'));
    else value = op === 'ones_like' ? 1 : 0;
    this.view(dt, b.offset, this.size(o)).fill(dt === 'bool' ? (value ? 1 : 0) : value);
  }

  private view(dt: Dt, offset: number, size: number): Float32Array | Int32Array | Uint8Array {
    const buf = this.be.wasm.HEAPU8.buffer;
    return dt === 'float32' ? new Float32Array(buf, offset, size) : dt === 'int32' ? new Int32Array(buf, offset, size) : new Uint8Array(buf, offset, size);
  }

  private fn(name: string): CFunc {
    const f = this.be.wasm.asm[name];
    if (typeof f !== 'function') throw new NoDirect(name);
    return f;
  }

  /** The direct C call of a step, or NoDirect. Reads operands' ids from this.ids at run time. */
  private direct(st: PlanStep): Built | undefined {
    const op = st.node.op;
    const a = st.attrs;
    const ids = this.ids;
    const ins = st.ins.map((s) => this.root[s]!);
    const out = this.root[st.outs[0]!]!;
    const inDt = st.ins.length > 0 ? this.dt(st.ins[0]!) : undefined;
    const outDt = st.outs.length > 0 ? this.dt(st.outs[0]!) : undefined;
    if (st.outs.length !== 1) throw new NoDirect(op);
    const x = ins[0]!;
    if (op in UNARY) {
      if (inDt !== 'float32' || outDt !== 'float32') throw new NoDirect(op);
      const f = this.fn(UNARY[op]!);
      return { inPlace: true, run: () => f(ids[x]!, 0, ids[out]!) };
    }
    if (op in BINARY) {
      const [name, dts] = BINARY[op]!;
      const bDt = this.dt(st.ins[1]!);
      if (!dts.includes(inDt!) || bDt !== inDt) throw new NoDirect(op);
      const natural: Dt = ['equal', 'not_equal', 'less', 'less_equal', 'greater', 'greater_equal', 'logical_and', 'logical_or', 'logical_xor'].includes(op) ? 'bool' : inDt!;
      if (natural !== outDt) throw new NoDirect(op);
      const f = this.fn(name);
      const sa = this.shape(st.ins[0]!), sb = this.shape(st.ins[1]!);
      const pa = this.intArray(sa), pb = this.intArray(sb);
      const y = ins[1]!, c = CPP[inDt!];
      return { inPlace: true, run: () => f(ids[x]!, pa, sa.length, ids[y]!, pb, sb.length, c, ids[out]!) };
    }
    switch (op) {
      case 'sigmoid': {
        if (inDt !== 'float32') throw new NoDirect(op);
        const f = this.fn('Sigmoid');
        return { inPlace: true, run: () => f(ids[x]!, ids[out]!) };
      }
      case 'step': {
        if (inDt !== 'float32') throw new NoDirect(op);
        const f = this.fn('Step'), alpha = a.float('alpha');
        return { inPlace: true, run: () => f(ids[x]!, alpha, 0, ids[out]!) };
      }
      case 'leaky_relu': {
        if (inDt !== 'float32') throw new NoDirect(op);
        const f = this.fn('LeakyRelu'), alpha = a.float('alpha');
        return { inPlace: true, run: () => f(ids[x]!, 0, alpha, ids[out]!) };
      }
      case 'clip': {
        if (inDt !== 'float32') throw new NoDirect(op);
        const f = this.fn('ClipByValue'), lo = a.float('min'), hi = a.float('max');
        return { inPlace: true, run: () => f(ids[x]!, lo, hi, ids[out]!) };
      }
      case 'cast': {
        // tfjs-backend-wasm's Cast kernel is a typed-array copy (kernels/Cast.ts), the same here,
        // except to bool: a byte copy truncates (0.5 → 0, 256 → 0, -1 → 255), TF's cast is x ≠ 0.
        const from = inDt!, to = outDt!, n = this.size(st.ins[0]!), offs = this.offs;
        if (to === 'bool' && from !== 'bool') {
          return { inPlace: false, run: () => {
            const src = this.view(from, offs[x]!, n), dst = this.view(to, offs[out]!, n);
            for (let i = 0; i < n; i++) dst[i] = src[i] !== 0 ? 1 : 0;
          } };
        }
        if (from === 'float32' && st.node.outputs[0]!.dtype === 'int64') {
          return { inPlace: false, run: () => {
            const src = this.view(from, offs[x]!, n);
            checkFitsInt64AsInt32(src);
            this.view(to, offs[out]!, n).set(src);
          } };
        }
        return { inPlace: false, run: () => { this.view(to, offs[out]!, n).set(this.view(from, offs[x]!, n)); } };
      }
      case 'softmax': {
        const s = this.shape(st.ins[0]!);
        const axis = a.int('axis') < 0 ? a.int('axis') + s.length : a.int('axis');
        if (inDt !== 'float32' || axis !== s.length - 1) throw new NoDirect(op);
        const f = this.fn('Softmax'), channels = s[axis]!, batch = sizeOf(s) / channels;
        return { inPlace: false, run: () => f(ids[x]!, ids[out]!, channels, batch) };
      }
      case 'matmul':
      case 'fused_matmul':
        return this.matmul(st, ins, out);
      case 'conv2d':
      case 'fused_conv2d':
        return this.conv(st, ins, out);
      case 'max_pool':
      case 'avg_pool':
        return this.pool(st, x, out);
      case 'transpose': {
        if (inDt !== 'float32' && inDt !== 'int32') throw new NoDirect(op);
        return this.transposeCall(st.ins[0]!, x, out, [...a.ints('perm')]);
      }
      case 'reduce_sum':
      case 'reduce_mean':
      case 'reduce_max':
      case 'reduce_min':
      case 'reduce_prod':
        return this.reduce(st, x, out);
      case 'select': {
        const [c, t, e] = st.ins;
        const sc = this.shape(c!), s = this.shape(t!);
        if (this.dt(t!) !== 'float32' || this.dt(c!) !== 'bool' || !same(sc, s) || !same(this.shape(e!), s)) throw new NoDirect(op);
        const f = this.fn('SelectV2');
        const cr = this.root[c!]!, tr = this.root[t!]!, er = this.root[e!]!;
        // Equal shapes: one condition per element (offset 1 in tfjs's Select kernel).
        return { inPlace: false, run: () => f(ids[cr]!, ids[tr]!, ids[er]!, 1, ids[out]!) };
      }
      default:
        throw new NoDirect(op);
    }
  }

  private matmul(st: PlanStep, ins: number[], out: number): Built {
    const a = st.attrs;
    const [xs, ws] = [this.shape(st.ins[0]!), this.shape(st.ins[1]!)];
    const r = xs.length;
    if ((r !== 2 && r !== 3) || ws.length !== r || this.dt(st.ins[0]!) !== 'float32' || this.dt(st.ins[1]!) !== 'float32') throw new NoDirect('matmul');
    if (r === 3 && xs[0] !== ws[0]) throw new NoDirect('matmul');
    const ta = a.bool('transpose_a'), tb = a.bool('transpose_b');
    // An empty inner dim: XNNPACK refuses the operator (the kernel's result is zeros).
    if ((ta ? xs[r - 2] : xs[r - 1]) === 0) throw new NoDirect('matmul');
    let act = 0, bias = -1, alpha = 0;
    const activation = st.node.op === 'fused_matmul' ? a.str('activation') : 'linear';
    if (st.node.op === 'fused_matmul') {
      if (!(activation in ACTIVATION)) throw new NoDirect('fused_matmul');
      act = ACTIVATION[activation]!;
      alpha = a.has('alpha') ? a.float('alpha') : 0;
      if (a.bool('has_bias')) {
        // tfjs-backend-wasm 4.22 adds the bias at the wrong elements with a transposed operand (see op_kernels.ts).
        const bs = this.shape(st.ins[2]!);
        const n = tb ? ws[r - 2]! : ws[r - 1]!;
        if (ta || tb || bs.length !== 1 || bs[0] !== n || this.dt(st.ins[2]!) !== 'float32') throw new NoDirect('fused_matmul');
        bias = ins[2]!;
      }
    }
    const [M, K, N] = [xs[r - 2]!, xs[r - 1]!, ws[r - 1]!];
    if (!ta && !tb && (r === 2 || xs[0] === 1) && this.changesEveryRun(st.ins[1]!) && 2 * M <= N && K * N >= TRANSPOSED_MIN_WEIGHTS) {
      return this.matmulTransposed(ins[0]!, ins[1]!, bias, out, M, K, N, activation, alpha);
    }
    const s3 = (s: number[]) => (r === 3 ? s : [1, ...s]);
    const pa = this.intArray(s3(xs)), pb = this.intArray(s3(ws));
    const f = this.fn('_FusedMatMul');
    const ids = this.ids, x = ins[0]!, w = ins[1]!;
    const ita = ta ? 1 : 0, itb = tb ? 1 : 0;
    if (bias < 0) return { inPlace: false, run: () => f(ids[x]!, pa, 3, ids[w]!, pb, 3, ita, itb, act, 0, 0, alpha, ids[out]!) };
    return { inPlace: false, run: () => f(ids[x]!, pa, 3, ids[w]!, pb, 3, ita, itb, act, ids[bias]!, 0, alpha, ids[out]!) };
  }

  /** conv2d / fused_conv2d (NHWC) as tfjs-wasm's Conv2D / FusedConv2D kernels call their C functions. */
  private conv(st: PlanStep, ins: number[], out: number): Built {
    const a = st.attrs;
    const xs = this.shape(st.ins[0]!), fs = this.shape(st.ins[1]!);
    if (xs.length !== 4 || fs.length !== 4 || this.dt(st.ins[0]!) !== 'float32' || this.dt(st.ins[1]!) !== 'float32') throw new NoDirect('conv');
    const info = tf.backend_util.computeConv2DInfo(xs as [number, number, number, number], fs as [number, number, number, number],
      pair(a.ints('strides')), pair(a.ints('dilations')), padOf(a) as 'same', undefined, false, 'channelsLast');
    const p = info.padInfo;
    const same = p.type === 'SAME' && !sameAsExplicit(info) ? 1 : 0;
    const ids = this.ids, x = ins[0]!, w = ins[1]!;
    if (st.node.op === 'conv2d') {
      const f = this.fn('Conv2D');
      return { inPlace: false, run: () => f(ids[x]!, xs[0]!, xs[1]!, xs[2]!, ids[w]!, info.filterHeight, info.filterWidth, p.top, p.right, p.bottom, p.left, same,
        info.dilationHeight, info.dilationWidth, info.strideHeight, info.strideWidth, info.inChannels, info.outChannels, ids[out]!) };
    }
    const activation = a.str('activation');
    if (!(activation in ACTIVATION)) throw new NoDirect('fused_conv2d');
    const act = ACTIVATION[activation]!, alpha = a.has('alpha') ? a.float('alpha') : 0;
    let bias = -1;
    if (a.bool('has_bias')) {
      const bs = this.shape(st.ins[2]!);
      if (bs.length !== 1 || bs[0] !== info.outChannels || this.dt(st.ins[2]!) !== 'float32') throw new NoDirect('fused_conv2d');
      bias = ins[2]!;
    }
    const f = this.fn('FusedConv2D');
    return { inPlace: false, run: () => f(ids[x]!, xs[0]!, xs[1]!, xs[2]!, ids[w]!, info.filterHeight, info.filterWidth, bias < 0 ? 0 : ids[bias]!,
      p.top, p.right, p.bottom, p.left, same, info.dilationHeight, info.dilationWidth, info.strideHeight, info.strideWidth,
      info.inChannels, info.outChannels, act, 0, alpha, ids[out]!) };
  }

  /** max_pool / avg_pool (NHWC, f32) as tfjs-wasm's MaxPool / AvgPool kernels call their C functions. */
  private pool(st: PlanStep, x: number, out: number): Built {
    const a = st.attrs;
    const xs = this.shape(st.ins[0]!);
    if (xs.length !== 4 || this.dt(st.ins[0]!) !== 'float32') throw new NoDirect('pool');
    const info = tf.backend_util.computePool2DInfo(xs as [number, number, number, number], pair(a.ints('filter_size')), pair(a.ints('strides')), 1,
      padOf(a) as 'same', undefined);
    const p = info.padInfo, ids = this.ids;
    if (st.node.op === 'max_pool') {
      const f = this.fn('MaxPool');
      return { inPlace: false, run: () => f(ids[x]!, xs[0]!, xs[1]!, xs[2]!, info.filterHeight, info.filterWidth, p.top, p.right, p.bottom, p.left,
        info.dilationHeight, info.dilationWidth, info.strideHeight, info.strideWidth, info.inChannels, info.outChannels, ids[out]!) };
    }
    const f = this.fn('AvgPool'), offs = this.offs, nx = this.size(st.ins[0]!), ny = this.size(st.outs[0]!);
    return { inPlace: false, run: () => {
      f(ids[x]!, xs[0]!, xs[1]!, xs[2]!, info.filterHeight, info.filterWidth, p.top, p.right, p.bottom, p.left,
        info.strideHeight, info.strideWidth, info.inChannels, ids[out]!);
      avgPoolNaNs(this.view('float32', offs[x]!, nx), xs, info, this.view('float32', offs[out]!, ny) as Float32Array);
    } };
  }

  /** Whether a slot's data differs on every run: an intermediate, a result, or a variable the plan assigns. */
  private changesEveryRun(slot: number): boolean {
    const r = this.root[slot]!;
    return this.kind[r] === 'arena' || this.kind[r] === 'out' || this.spec.assignedSlots.includes(r);
  }

  /**
   * x·W as (Wᵀ·xᵀ)ᵀ, for a W that changes on every run and a short x. tfjs-wasm hands the right
   * operand to XNNPACK as weights, packed when the operator is made: a new W is packed on every
   * run (a [784,300] W: 0.5 ms of a 1.2 ms [64,784]·[784,300] product). Transposing W (0.1 ms)
   * and x, packing xᵀ instead and transposing the [N,M] result back costs less when M ≤ N/2.
   * The bias and the activation follow as their own kernels, in place. (Measured on tfjs-wasm
   * 4.22, 2 cores: 1.20 → 0.92 ms for the [64,784]·[784,300] forward of an MLP train step.)
   */
  private matmulTransposed(x: number, w: number, bias: number, out: number, M: number, K: number, N: number, activation: string, alpha: number): Built {
    const ids = this.ids;
    this.stats.transposedMatmuls++;
    const tW = this.temp('float32', N * K), tX = this.temp('float32', K * M), tO = this.temp('float32', N * M);
    const trW = this.transposeRaw([K, N], 'float32', w, tW);
    const trX = this.transposeRaw([M, K], 'float32', x, tX);
    const trO = this.transposeRaw([N, M], 'float32', tO, out);
    const pW = this.intArray([1, N, K]), pX = this.intArray([1, K, M]);
    const mm = this.fn('_FusedMatMul');
    const steps: (() => void)[] = [];
    if (bias >= 0) {
      const add = this.fn('Add'), po = this.intArray([M, N]), pbias = this.intArray([N]);
      steps.push(() => add(ids[out]!, po, 2, ids[bias]!, pbias, 1, 0, ids[out]!));
    }
    const unary: Record<string, string> = { relu: 'Relu', relu6: 'Relu6', elu: 'Elu' };
    if (activation in unary) { const f = this.fn(unary[activation]!); steps.push(() => f(ids[out]!, 0, ids[out]!)); }
    else if (activation === 'sigmoid') { const f = this.fn('Sigmoid'); steps.push(() => f(ids[out]!, ids[out]!)); }
    else if (activation === 'leakyrelu') { const f = this.fn('LeakyRelu'); steps.push(() => f(ids[out]!, 0, alpha, ids[out]!)); }
    else if (activation !== 'linear') throw new NoDirect(`fused_matmul activation ${activation}`);
    return { inPlace: false, run: () => {
      trW.run();
      trX.run();
      this.refresh(tX, K * M);
      mm(ids[tW]!, pW, 3, ids[tX]!, pX, 3, 0, 0, 0, 0, 0, 0, ids[tO]!);
      trO.run();
      for (const f of steps) f();
    } };
  }

  /** Transpose of a [rows, cols] float/int buffer at index src into index dst. */
  private transposeRaw(shape: [number, number], dt: Dt, src: number, dst: number): Built {
    const f = this.fn('Transpose');
    const ps = this.intArray(shape), pp = this.intArray([1, 0]), c = CPP[dt];
    const ids = this.ids;
    return { inPlace: false, run: () => f(ids[src]!, ps, 2, c, ids[dst]!, pp, 2) };
  }

  /** Transpose from index src to index dst of ids/offs (roots or temporaries). */
  private transposeCall(inSlot: number, src: number, dst: number, perm: number[]): Built {
    const dt = this.dt(inSlot);
    const [shape, p] = removeOneSizeDims(this.shape(inSlot), perm);
    const ids = this.ids, offs = this.offs;
    if (p.every((v, i) => v === i)) {
      const n = this.size(inSlot) * BYTES[dt];
      return { inPlace: false, run: () => { this.be.wasm.HEAPU8.copyWithin(offs[dst]!, offs[src]!, offs[src]! + n); } };
    }
    const f = this.fn('Transpose');
    const ps = this.intArray(shape), pp = this.intArray(p), c = CPP[dt];
    return { inPlace: false, run: () => f(ids[src]!, ps, shape.length, c, ids[dst]!, pp, p.length) };
  }

  private reduce(st: PlanStep, x: number, out: number): Built {
    const op = st.node.op;
    const dt = this.dt(st.ins[0]!);
    const s = this.shape(st.ins[0]!);
    const r = s.length;
    const axes = [...new Set(st.attrs.ints('axes').map((v) => (v < 0 ? v + r : v)))].sort((p, q) => p - q);
    if (axes.length === 0 || r === 0) throw new NoDirect(op);
    if (op === 'reduce_mean' ? dt !== 'float32' : dt !== 'float32' && dt !== 'int32') throw new NoDirect(op);
    if (this.dt(st.outs[0]!) !== dt) throw new NoDirect(op);
    const reduceSize = axes.reduce((p, v) => p * s[v]!, 1);
    // tfjs-wasm's reduction kernels divide by the reduced size: empty inputs run as tfjs ops.
    if (reduceSize === 0 || sizeOf(s) === 0) throw new NoDirect(op);
    const ids = this.ids;
    const c = CPP[dt];
    const call = (src: number): (() => void) => {
      switch (op) {
        case 'reduce_sum': { const f = this.fn('Sum'); return () => f(ids[src]!, reduceSize, c, ids[out]!); }
        case 'reduce_mean': { const f = this.fn('Mean'); return () => f(ids[src]!, reduceSize, ids[out]!); }
        case 'reduce_max': { const f = this.fn('Max'); return () => f(ids[src]!, c, reduceSize, ids[out]!); }
        case 'reduce_min': { const f = this.fn('Min'); return () => f(ids[src]!, c, reduceSize, ids[out]!); }
        default: { const f = this.fn('Prod'); return () => f(ids[src]!, reduceSize, c, ids[out]!); }
      }
    };
    const inner = axes.every((v, i) => v === r - axes.length + i);
    if (inner) return { inPlace: false, run: call(x) };
    // Leading axes: the reduced axes are transposed innermost into a temporary first (as tfjs's kernel does).
    const kept = [...s.keys()].filter((i) => !axes.includes(i));
    const tmp = this.temp(dt, sizeOf(s));
    const t = this.transposeCall(st.ins[0]!, x, tmp, [...kept, ...axes]);
    const red = call(tmp);
    return { inPlace: false, run: () => { t.run(); red(); } };
  }

  /** A tensor view of a slot for a tfjs kernel (owns one reference to the buffer; dispose it). */
  private tensorOf(slot: number): tf.Tensor {
    const r = this.root[slot]!;
    const ext = this.extTensors[r];
    const shape = this.shape(slot);
    if (ext !== undefined && same(ext.shape, shape)) return ext;
    const dataId = ext !== undefined ? ext.dataId : this.dataIds[r]!;
    this.be.incRef(dataId);
    return this.engine.makeTensorFromTensorInfo({ dataId, shape, dtype: this.dt(slot) }, this.be);
  }

  private fallback(st: PlanStep): void {
    const k = st.kernel;
    if (k === undefined) throw new Error(`${st.node.op} has no tfjs kernel`);
    this.onNode?.(st.node.id);
    const ins = st.ins.map((s) => this.tensorOf(s));
    try {
      const outs = tf.tidy(() => {
        const r = k(ins, st.attrs, this.fallbackCtx!);
        return Array.isArray(r) ? r : [r];
      });
      st.outs.forEach((o, j) => {
        let t = outs[j]!;
        const want = this.dt(o);
        if (t.dtype !== want) { const c = tf.cast(t, want); t.dispose(); t = c; }
        const r = this.root[o]!;
        const rec = this.be.dataIdMap.get(t.dataId);
        if (!rec) throw new Error(`${st.node.op}: the result is not on the wasm backend`);
        const n = this.size(o) * BYTES[want];
        this.be.wasm.HEAPU8.copyWithin(this.offs[r]!, rec.memoryOffset, rec.memoryOffset + n);
        t.dispose();
      });
    } finally {
      st.ins.forEach((s, j) => { if (ins[j] !== this.extTensors[this.root[s]!]) ins[j]!.dispose(); });
    }
  }

  /**
   * One run. `ext` are the feed and variable tensors (in spec.extSlots order, any backend);
   * returns the exported tensors (fetches, then assigned values), owned by the caller.
   */
  run(ext: readonly tf.Tensor[], ctx: ExecCtx, onNode: (id: number) => void, wrapError: (st: PlanStep, e: unknown) => Error): tf.Tensor[] {
    this.fallbackCtx = ctx;
    this.onNode = onNode;
    const temps: tf.Tensor[] = [];
    const outInfos: tf.TensorInfo[] = [];
    const be = this.be;
    try {
      this.spec.extSlots.forEach((s, i) => {
        let t = ext[i]!;
        let rec = be.dataIdMap.get(t.dataId);
        if (!rec) {
          // A tensor of another backend: a wasm copy for this run.
          t = tf.tensor(t.dataSync() as Float32Array, t.shape, t.dtype);
          temps.push(t);
          rec = be.dataIdMap.get(t.dataId)!;
        }
        this.extTensors[s] = t;
        this.ids[s] = rec.id;
        this.offs[s] = rec.memoryOffset;
        this.dataIds[s] = t.dataId;
      });
      for (const r of this.outRoots) {
        const info = be.makeOutput(this.shape(r), this.dt(r));
        outInfos.push(info);
        const rec = be.dataIdMap.get(info.dataId)!;
        this.ids[r] = rec.id;
        this.offs[r] = rec.memoryOffset;
        this.dataIds[r] = info.dataId;
      }
      for (const s of this.runSteps) {
        try {
          s.run();
        } catch (e) {
          throw wrapError(s.step, e);
        }
      }
      const result: tf.Tensor[] = [];
      this.spec.exports.forEach((e, i) => {
        const r = this.root[e]!;
        const shape = this.shape(e), dt = this.dt(e);
        if (this.exportMode[i] === 'own') {
          result.push(this.engine.makeTensorFromTensorInfo({ dataId: this.dataIds[r]!, shape, dtype: dt }, be));
          return;
        }
        const info = be.makeOutput(shape, dt);
        const rec = be.dataIdMap.get(info.dataId)!;
        const n = sizeOf(shape) * BYTES[dt];
        be.wasm.HEAPU8.copyWithin(rec.memoryOffset, this.offs[r]!, this.offs[r]! + n);
        result.push(this.engine.makeTensorFromTensorInfo(info, be));
      });
      outInfos.length = 0;
      return result;
    } finally {
      for (const info of outInfos) be.disposeData(info.dataId, true);
      for (const t of temps) t.dispose();
      for (const s of this.spec.extSlots) this.extTensors[s] = undefined;
      this.fallbackCtx = undefined;
      this.onNode = undefined;
    }
  }

  dispose(): void {
    const engine = this.engine as unknown as { removeDataId?(d: object, b: unknown): void; state: EngineLike['state'] };
    for (const b of this.owned) {
      this.be.disposeData(b.dataId, true);
      if (engine.state.tensorInfo.has(b.dataId)) engine.removeDataId?.(b.dataId, this.be);
    }
    this.owned.length = 0;
    for (const p of this.heapArrays) this.be.wasm._free(p);
    this.heapArrays.length = 0;
  }
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
