/**
 * Feeds and variable values as tensors on a session's backend. A feed may be a tf.Tensor of any
 * backend and backing store, a number or boolean, a (nested) array or a typed array; each becomes
 * a tensor of its input's dtype (int64 as int32) in the dtype's canonical store, converted
 * exactly or refused with a GcError that names the input.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Codes, GcError } from '../ir/errors.js';
import type { Value } from '../ir/graph.js';
import { typeToString } from '../ir/graph.js';
import { backendNameOf, engineInternals, holderOf, withBackend } from './backends/tfjs_engine.js';
import { tfDtype } from './tensor_data.js';

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
  if (C === undefined) throw new GcError({ code: Codes.inputMismatch, message: `${what()}: dtype ${dtype} cannot be fed`, help: 'feed float32, int32 or bool data' });
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
        throw new GcError({ code: Codes.inputMismatch, message: whole
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
      throw new GcError({ code: Codes.inputMismatch, message: `${what()}: the nested array is ragged: ${depth === 0 ? 'it' : `element [${at.join(',')}]`} has ${a.length} entries where the first has ${dims[depth]} (shape [${dims.join(',')}] read along first elements)`, help });
    }
    for (let i = 0; i < a.length; i++) {
      at.push(i);
      const x = a[i];
      if (depth + 1 < dims.length) {
        if (!Array.isArray(x)) throw new GcError({ code: Codes.inputMismatch, message: `${what()}: the nested array is ragged: ${where()} is ${x === null ? 'null' : typeof x} where a row of ${dims[depth + 1]} is expected`, help });
        walk(x, depth + 1);
      } else if (typeof x === 'number' || typeof x === 'boolean') {
        out.push(x);
      } else {
        throw new GcError({ code: Codes.inputMismatch, message: `${what()}: ${where()} is ${Array.isArray(x) ? 'an array (ragged nesting)' : x === null ? 'null' : typeof x}, not a number`, help });
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

/** A session's adoption of feeds and variable values onto its backend (tfjs name `tfjsName`). */
export class FeedAdopter {
  constructor(private readonly tfjsName: string) {}

  /** Whether a run with these feeds must read some of them asynchronously first (prepareFeeds): tensors held by webgpu. */
  needsAsyncRead(feeds: Record<string, unknown>): boolean {
    const here = engineInternals().registry[this.tfjsName];
    for (const f of Object.values(feeds)) {
      if (f instanceof tf.Tensor && !f.isDisposed) {
        const h = holderOf(f);
        if (h !== undefined && h !== here && backendNameOf(h) === 'webgpu') return true;
      }
    }
    return false;
  }

  /**
   * A feed as a tensor on this session's backend with its dtype's canonical store: `owned` when
   * it is a copy the run must free. Tensors of another backend are copied (never moved: the
   * user's tensor stays where it is), as are tfjs-cpu tensors whose store is not canonical.
   */
  toTensor(v: Value, f: Feed): { t: tf.Tensor; owned: boolean } {
    const what = () => `input '${v.name}'`;
    const dtype = tfDtype(v.type.dtype);
    if (f instanceof tf.Tensor) return this.adopt(f, what);
    if (f === null || f === undefined) {
      throw new GcError({ code: Codes.inputMismatch, message: `${what()}: expected a tensor, array or number for ${typeToString(v.type)}, got ${f === null ? 'null' : 'undefined'}` });
    }
    const shape = v.type.shape;
    if (typeof f === 'number' || typeof f === 'boolean') {
      if (shape.length !== 0) {
        throw new GcError({ code: Codes.inputMismatch, message: `${what()}: a scalar ${String(f)} was fed for ${typeToString(v.type)}`, help: 'feed an array or tensor of the input\'s shape' });
      }
      return { t: tf.tensor(canonicalStore([f], dtype, what), [], dtype as tf.DataType), owned: true };
    }
    if (ArrayBuffer.isView(f)) {
      if (f instanceof DataView) throw new GcError({ code: Codes.inputMismatch, message: `${what()}: a DataView cannot be fed`, help: 'feed a typed array' });
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
        throw new GcError({ code: Codes.inputMismatch, message: `input '${v.name}': expected ${typeToString(v.type)}, got an array ${Array.isArray(a) ? `nested deeper than rank ${shape.length}` : `of shape [${dims.join(',')}]`}`,
          help: shape.length === 0 ? 'feed a number for a scalar input' : 'feed an array nested to the input\'s rank, or a flat one' });
      }
      const data = canonicalStore(flat, dtype, what);
      const s = dims.length === shape.length ? dims : this.flatShape(v, data.length);
      return { t: tf.tensor(data, s, dtype as tf.DataType), owned: true };
    }
    throw new GcError({ code: Codes.inputMismatch, message: `${what()}: cannot feed a ${typeof f} (${Object.prototype.toString.call(f)})`, help: 'feed a tf.Tensor, a (nested) array, a typed array or a number' });
  }

  /** The shape a flat array of `n` numbers fills: static dims, and at most one symbolic dim decided by n. */
  private flatShape(v: Value, n: number): number[] {
    const shape = v.type.shape;
    const known = shape.reduce<number>((a, d) => (typeof d === 'number' ? a * d : a), 1);
    const open = shape.filter((d) => typeof d !== 'number').length;
    const bad = (why: string) => new GcError({ code: Codes.inputMismatch, message: `input '${v.name}': ${n} values cannot fill ${typeToString(v.type)} (${why})`,
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
    if (t.isDisposed) throw new GcError({ code: Codes.inputMismatch, message: `${what()}: the tensor was disposed`, help: 'feed a live tensor (tf.tidy or dispose() may have freed it)' });
    const engine = engineInternals();
    const here = engine.registry[this.tfjsName];
    const holder = holderOf(t);
    if (holder === here) {
      // Only tfjs-cpu keeps non-canonical stores; its kernels read them as numbers, graphc's read them as its dtype's array.
      // Bools made by tfjs-wasm's Cast may hold 2 or 255 (checked on cpu/wasm; webgpu cannot read synchronously, and its bools are 0/1).
      const rec = (here as unknown as { data?: { get(id: object): { values?: unknown } | undefined } }).data?.get(t.dataId);
      if ((rec?.values === undefined || isCanonical(rec.values, t.dtype)) && (t.dtype !== 'bool' || this.tfjsName === 'webgpu' || isZeroOne(here!.readSync(t.dataId) as Uint8Array))) {
        return { t, owned: false };
      }
    }
    let values: ArrayLike<number>;
    try {
      values = (holder ?? here)!.readSync(t.dataId) as ArrayLike<number>;
    } catch (e) {
      throw new GcError({ code: Codes.inputMismatch, message: `${what()}: cannot read a tensor of backend '${backendNameOf(holder)}' synchronously: ${(e as Error).message}`,
        help: `call the compiled function (async), or move the data first: tf.tensor(await t.data(), t.shape, t.dtype)` });
    }
    return { t: tf.tensor(canonicalStore(values, t.dtype, what), t.shape, t.dtype), owned: true };
  }

  /**
   * Feeds on a backend that cannot be read synchronously (webgpu) read asynchronously, as a
   * tensor on this session's backend (to free after the run).
   */
  async prepareFeeds<F>(feeds: Record<string, F>): Promise<{ feeds: Record<string, F | tf.Tensor>; temps: tf.Tensor[] }> {
    const out: Record<string, F | tf.Tensor> = { ...feeds };
    const temps: tf.Tensor[] = [];
    const here = engineInternals().registry[this.tfjsName];
    for (const [k, f] of Object.entries(feeds)) {
      if (!(f instanceof tf.Tensor) || f.isDisposed) continue;
      const holder = holderOf(f);
      if (holder === undefined || holder === here || backendNameOf(holder) !== 'webgpu') continue;
      const data = await f.data();
      const t = withBackend(this.tfjsName, () => tf.tensor(canonicalStore(data as ArrayLike<number>, f.dtype, () => `input '${k}'`), f.shape, f.dtype));
      temps.push(t);
      out[k] = t;
    }
    return { feeds: out, temps };
  }

  /** Copies of variables held on another backend (or in a non-canonical store), by name, while their data stays the same. */
  private readonly stateCopies = new Map<string, { dataId: object; copy: tf.Tensor }>();

  adoptState(name: string, t: tf.Tensor): tf.Tensor {
    const c = this.stateCopies.get(name);
    if (c !== undefined && c.dataId === t.dataId && !t.isDisposed) return c.copy;
    const a = this.adopt(t, () => `variable '${name}'`);
    if (c !== undefined) { c.copy.dispose(); this.stateCopies.delete(name); }
    if (!a.owned) return t;
    const copy = tf.keep(a.t);
    this.stateCopies.set(name, { dataId: t.dataId, copy });
    return copy;
  }

  dispose(): void {
    for (const c of this.stateCopies.values()) c.copy.dispose();
    this.stateCopies.clear();
  }
}
