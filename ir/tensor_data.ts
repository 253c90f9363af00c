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

export function tensorData(dtype: DType, shape: readonly number[], values: ArrayLike<number> | ArrayLike<bigint> | ArrayLike<boolean>): TensorData {
  const n = sizeOf(shape);
  if (values.length !== n) throw new Error(`tensorData: ${values.length} values for shape [${shape.join(',')}] (needs ${n})`);
  let data: TypedArray;
  switch (dtype) {
    case 'float32': data = Float32Array.from(values as ArrayLike<number>, Number); break;
    case 'int32': data = Int32Array.from(values as ArrayLike<number>, Number); break;
    case 'bool': data = Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0)); break;
    case 'int64': data = BigInt64Array.from(values as ArrayLike<number>, (v) => BigInt(v)); break;
  }
  return { dtype, shape: [...shape], data };
}

export function tensorDataEq(a: TensorData, b: TensorData): boolean {
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length) return false;
  if (!a.shape.every((d, i) => d === b.shape[i])) return false;
  if (a.data.length !== b.data.length) return false;
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
