/** Element types of graphc values. int64 exists for ONNX; tfjs computes it as int32. */
export type DType = 'float32' | 'int32' | 'bool' | 'int64';

export const DTYPES: readonly DType[] = ['float32', 'int32', 'bool', 'int64'];

const SHORT: Record<DType, string> = { float32: 'f32', int32: 'i32', bool: 'bool', int64: 'i64' };
const LONG: Record<string, DType> = { f32: 'float32', i32: 'int32', bool: 'bool', i64: 'int64' };

export function dtypeShort(d: DType): string {
  return SHORT[d];
}

export function dtypeFromShort(s: string): DType | undefined {
  return LONG[s];
}

export function isDType(s: unknown): s is DType {
  return typeof s === 'string' && (DTYPES as readonly string[]).includes(s);
}

export type TypedArray = Float32Array | Int32Array | Uint8Array | BigInt64Array;

export function typedArrayFor(d: DType, n: number): TypedArray {
  switch (d) {
    case 'float32': return new Float32Array(n);
    case 'int32': return new Int32Array(n);
    case 'bool': return new Uint8Array(n);
    case 'int64': return new BigInt64Array(n);
  }
}

/** Result type of arithmetic on `a` and `b` (tfjs upcasting: bool < int32 < float32). */
export function upcast(a: DType, b: DType): DType {
  if (a === b) return a;
  const rank: Record<DType, number> = { bool: 0, int32: 1, int64: 2, float32: 3 };
  return rank[a] >= rank[b] ? a : b;
}
