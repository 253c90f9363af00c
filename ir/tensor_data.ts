import type { DType, TypedArray } from './dtype.js';

/** A constant tensor held by the graph (const nodes, variable initial values). */
export interface TensorData {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * TensorData holding a copy of `values` (the caller's array may change later: tfjs keeps the
 * array given to tf.tensor as the tensor's data). A typed array is copied by the engine in one
 * pass — slice() when it already is the dtype's array, the typed-array constructor's conversion
 * otherwise (the same ToNumber / ToInt32 as a per-element Number map, without a JS call per
 * element: a 63M-parameter MLP's weights took 45 s of a 50 s trace through Float32Array.from(values,
 * Number), now 0.1 s). Plain arrays and bools go element by element.
 */
export function tensorData(dtype: DType, shape: readonly number[], values: ArrayLike<number> | ArrayLike<bigint> | ArrayLike<boolean>): TensorData {
  const n = sizeOf(shape);
  if (values.length !== n) throw new Error(`tensorData: ${values.length} values for shape [${shape.join(',')}] (needs ${n})`);
  return { dtype, shape: [...shape], data: convert(dtype, values) };
}

function isNumberTypedArray(v: unknown): v is Exclude<TypedArray, BigInt64Array> | Float64Array | Int8Array | Int16Array | Uint16Array | Uint32Array | Uint8ClampedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
}

function convert(dtype: DType, values: ArrayLike<number> | ArrayLike<bigint> | ArrayLike<boolean>): TypedArray {
  switch (dtype) {
    case 'float32':
      if (values instanceof Float32Array) return values.slice();
      if (isNumberTypedArray(values)) return new Float32Array(values);
      return Float32Array.from(values as ArrayLike<number>, Number);
    case 'int32':
      if (values instanceof Int32Array) return values.slice();
      if (isNumberTypedArray(values)) return new Int32Array(values);
      return Int32Array.from(values as ArrayLike<number>, Number);
    case 'bool': {
      const out = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = values[i] ? 1 : 0;
      return out;
    }
    case 'int64':
      if (values instanceof BigInt64Array) return values.slice();
      return BigInt64Array.from(values as ArrayLike<number>, (v) => BigInt(v));
  }
}

/** The elements' bytes, a view (no copy). */
function bytesOf(t: TensorData): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/**
 * Equal bytes, compared 8, 4 or 1 bytes at a time as the views' alignment allows (a weight
 * compared between two traces is tens of MB: element by element through a generic typed-array
 * read it took 1.3 s for 63M floats).
 */
function sameBytes(a: TensorData, b: TensorData): boolean {
  const x = bytesOf(a), y = bytesOf(b);
  if (x.length !== y.length) return false;
  if (x.buffer === y.buffer && x.byteOffset === y.byteOffset) return true;
  const n = x.length;
  const width = x.byteOffset % 8 === 0 && y.byteOffset % 8 === 0 ? 8 : x.byteOffset % 4 === 0 && y.byteOffset % 4 === 0 ? 4 : 1;
  const words = width === 1 ? 0 : Math.floor(n / width);
  let i = 0;
  if (width === 8) {
    const p = new BigInt64Array(x.buffer, x.byteOffset, words), q = new BigInt64Array(y.buffer, y.byteOffset, words);
    for (; i < words; i++) if (p[i] !== q[i]) return false;
  } else if (width === 4) {
    const p = new Int32Array(x.buffer, x.byteOffset, words), q = new Int32Array(y.buffer, y.byteOffset, words);
    for (; i < words; i++) if (p[i] !== q[i]) return false;
  }
  for (let k = words * width; k < n; k++) if (x[k] !== y[k]) return false;
  return true;
}

/** Equal dtype, shape and elements (NaN equals NaN, 0 equals −0). */
export function tensorDataEq(a: TensorData, b: TensorData): boolean {
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length) return false;
  if (!a.shape.every((d, i) => d === b.shape[i])) return false;
  if (a.data.length !== b.data.length) return false;
  // Equal bytes are equal elements; unequal bytes may still be (0 and −0, NaNs of other bits).
  if (a.data.byteLength === b.data.byteLength && sameBytes(a, b)) return true;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i]!, y = b.data[i]!;
    if (x !== y && !(Number.isNaN(x) && Number.isNaN(y))) return false;
  }
  return true;
}

/** Element i as a JS number (int64 converted). */
export function elementAt(t: TensorData, i: number): number {
  return Number(t.data[i]!);
}
