/**
 * The direct wasm executor's program. A Session plan on tfjs-backend-wasm, for one binding of its
 * symbolic dims, becomes a program: every value gets a place in the wasm heap decided ahead
 * (intermediates share buffers by liveness, an elementwise op may write over an operand that
 * dies with it, reshapes are views), and each node is a call of the backend's compiled C
 * kernel on those buffers. Running it makes no tfjs op calls, no engine bookkeeping and no
 * heap allocation besides the results handed back: per node the cost is the C call.
 *
 * The C kernels are the ones tfjs's own wasm kernels call, with the arguments those compute,
 * so values are identical to the tensor path (tested by the compiled ≡ eager op table on
 * wasm). Nodes without a direct call (random ops, gathers, ...) run their tfjs kernel on
 * tensor views of the buffers and have the result copied in.
 *
 *   tfjs_wasm.ts      tfjs-backend-wasm's internals (checked by wasmBackend(); pinned 4.22.0)
 *   buffer_plan.ts    where each value lives, and the run steps
 *   direct_calls.ts   the C call of each op
 *   program.ts        the program: its state, one run, the tfjs-kernel fallback, dispose
 *
 * The fields of WasmProgram are read and written by buffer_plan.ts and direct_calls.ts (the
 * program's own parts); nothing outside runtime/wasm/ touches them.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dim } from '../../ir/dim.js';
import type { Value } from '../../ir/graph.js';
import type { EngineInternals } from '../backends/tfjs_engine.js';
import { engineInternals } from '../backends/tfjs_engine.js';
import type { ExecCtx } from '../kernels/kernel_types.js';
import type { PlanStep } from '../plan.js';
import { tfDtype } from '../tensor_data.js';
import { planBuffers } from './buffer_plan.js';
import { NoDirect } from './direct_calls.js';
import type { CFunc, Dt, WasmBackendLike } from './tfjs_wasm.js';
import { BYTES, CPP, wasmBackend } from './tfjs_wasm.js';

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

/** Where a slot's storage comes from: fed or a variable (set each run), a constant, planned in the arena, or a result handed back. */
export type RootKind = 'ext' | 'const' | 'arena' | 'out';

/** A block of the wasm heap the program owns (a tfjs-wasm tensor record). */
export interface HeapBuffer { dataId: object; id: number; offset: number; key: string }

const sizeOf = (s: readonly number[]): number => tf.util.sizeFromShape(s as number[]);
const dtOf = (v: Value): Dt => tfDtype(v.dtype);

export class WasmProgram {
  readonly be: WasmBackendLike;
  readonly engine: EngineInternals = engineInternals();
  /** Storage root of each slot (reshape / identity outputs share their operand's). */
  readonly root: number[];
  readonly kind: RootKind[];
  /** Per root: wasm tensor id and heap offset (ext and out roots: set each run). */
  readonly ids: number[];
  readonly offs: number[];
  readonly dataIds: (object | undefined)[];
  readonly owned: HeapBuffer[] = [];
  readonly heapArrays: number[] = [];
  readonly exportMode: ('own' | 'copy')[] = [];
  readonly outRoots: number[] = [];
  readonly runSteps: { step: PlanStep; run: () => void; fallback: boolean }[] = [];
  readonly extTensors: (tf.Tensor | undefined)[];
  fallbackCtx: ExecCtx | undefined;
  onNode: ((id: number) => void) | undefined;
  /** Stats for tests and the bench: steps run by a direct C call / by their tfjs kernel. */
  readonly stats: ProgramStats = { direct: 0, fallback: 0, buffers: 0, inPlace: 0, fallbackOps: [], transposedMatmuls: 0 };

  private constructor(readonly spec: ProgramSpec, be: WasmBackendLike) {
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
      planBuffers(p);
    } catch (e) {
      p.dispose();
      throw e;
    }
    return p;
  }

  /** The concrete shape of a slot's value in this program. */
  shapeOf(slot: number): readonly number[] { return this.spec.shapes[slot]!; }

  dt(slot: number): Dt { return dtOf(this.spec.values[slot]!); }
  shape(slot: number): number[] { return this.spec.shapes[slot]!; }
  size(slot: number): number { return sizeOf(this.spec.shapes[slot]!); }
  keyOf(slot: number): string { return `${this.dt(slot)}:${this.size(slot)}`; }

  newBuffer(dt: Dt, size: number): HeapBuffer {
    const info = this.be.makeOutput([size], dt);
    const rec = this.be.dataIdMap.get(info.dataId)!;
    const b: HeapBuffer = { dataId: info.dataId, id: rec.id, offset: rec.memoryOffset, key: `${dt}:${size}` };
    this.owned.push(b);
    this.stats.buffers++;
    return b;
  }

  intArray(xs: readonly number[]): number {
    const p = this.be.wasm._malloc(Math.max(4, 4 * xs.length));
    this.heapArrays.push(p);
    this.be.wasm.HEAP32.set(xs, p >> 2);
    return p;
  }

  setRoot(r: number, b: { dataId: object; id: number; offset: number }): void {
    this.dataIds[r] = b.dataId;
    this.ids[r] = b.id;
    this.offs[r] = b.offset;
  }

  /** Drops what the C side keeps for a buffer's id (cached operators): re-registers the same memory. */
  refresh(r: number, size = this.size(r)): void {
    const t = this.be.wasm.tfjs;
    t.disposeData(this.ids[r]!);
    t.registerTensor(this.ids[r]!, size, this.offs[r]!);
  }

  /** Temporaries requested by the step being built: [index into ids/offs, dtype, size]. */
  stepTemps: [number, Dt, number][] = [];

  temp(dt: Dt, size: number): number {
    const idx = this.ids.length;
    this.ids.push(0);
    this.offs.push(0);
    this.dataIds.push(undefined);
    this.stepTemps.push([idx, dt, size]);
    return idx;
  }

  view(dt: Dt, offset: number, size: number): Float32Array | Int32Array | Uint8Array {
    const buf = this.be.wasm.HEAPU8.buffer;
    return dt === 'float32' ? new Float32Array(buf, offset, size) : dt === 'int32' ? new Int32Array(buf, offset, size) : new Uint8Array(buf, offset, size);
  }

  fn(name: string): CFunc {
    const f = this.be.wasm.asm[name];
    if (typeof f !== 'function') throw new NoDirect(name);
    return f;
  }

  /** Whether a slot's data differs on every run: an intermediate, a result, or a variable the plan assigns. */
  changesEveryRun(slot: number): boolean {
    const r = this.root[slot]!;
    return this.kind[r] === 'arena' || this.kind[r] === 'out' || this.spec.assignedSlots.includes(r);
  }

  /** A tensor view of a slot for a tfjs kernel (owns one reference to the buffer; dispose it). */
  tensorOf(slot: number): tf.Tensor {
    const r = this.root[slot]!;
    const ext = this.extTensors[r];
    const shape = this.shape(slot);
    if (ext !== undefined && tf.util.arraysEqual(ext.shape, shape)) return ext;
    const dataId = ext !== undefined ? ext.dataId : this.dataIds[r]!;
    this.be.incRef(dataId);
    return this.engine.makeTensorFromTensorInfo({ dataId, shape, dtype: this.dt(slot) }, this.be);
  }

  fallback(st: PlanStep): void {
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
    const engine = this.engine;
    for (const b of this.owned) {
      this.be.disposeData(b.dataId, true);
      if (engine.state.tensorInfo.has(b.dataId)) engine.removeDataId?.(b.dataId, this.be);
    }
    this.owned.length = 0;
    for (const p of this.heapArrays) this.be.wasm._free(p);
    this.heapArrays.length = 0;
  }
}

