/**
 * TensorProtos → IR TensorData, each element type read as dtypes.ts says (double as
 * float32, small integers as int32, uint32/uint64 as int64).
 *
 * Data stays in typed arrays from the protobuf bytes on: raw_data of float, int32, int64
 * (and bool holding 0/1) is a view on the model's bytes when its offset is aligned (a 1 GiB
 * initializer costs no copy; the graph keeps the bytes alive, so they must not be modified
 * after import), else one copy; the other types and the repeated fields are read with one
 * copy into the IR's typed array, never through an array of numbers.
 */
import type { DType, TypedArray } from '../../../ir/dtype.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import { sizeOf } from '../../../ir/tensor_data.js';
import { int64ToBigInt, int64ToNumber, onnx } from '../proto.js';
import type { LongLike } from '../proto.js';
import { irDTypeOf, onnxTypeName } from '../dtypes.js';

const T = onnx.TensorProto.DataType;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes per element of raw_data, by ONNX element type. */
const RAW_WIDTH: Readonly<Record<number, number>> = {
  [T.FLOAT]: 4, [T.DOUBLE]: 8, [T.INT32]: 4, [T.INT8]: 1, [T.UINT8]: 1, [T.INT16]: 2, [T.UINT16]: 2,
  [T.INT64]: 8, [T.UINT32]: 4, [T.UINT64]: 8, [T.BOOL]: 1,
};

/**
 * A typed array of `raw`'s elements: a view on the same bytes when the element type is the
 * IR's and the offset is aligned (no copy: a 1 GiB initializer stays the model's bytes),
 * else one copy. Never a number[] of the elements.
 */
function view<A extends Float32Array | Int32Array | BigInt64Array>(raw: Uint8Array, Ctor: { new(b: ArrayBufferLike, o: number, n: number): A; new(n: number): A; BYTES_PER_ELEMENT: number }, n: number): A {
  if (raw.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(raw.buffer, raw.byteOffset, n);
  const out = new Ctor(n);
  new Uint8Array(out.buffer).set(raw);
  return out;
}

/** raw_data (little-endian) as the IR dtype's typed array. */
function rawData(raw: Uint8Array, elemType: number, n: number): TypedArray {
  const w = RAW_WIDTH[elemType];
  if (w === undefined) throw new Error(`cannot read raw_data of ${onnxTypeName(elemType)}`);
  if (raw.byteLength !== n * w) throw new Error(`raw_data has ${raw.byteLength} bytes for ${n} elements of ${onnxTypeName(elemType)} (needs ${n * w})`);
  if (LITTLE_ENDIAN) {
    switch (elemType) {
      case T.FLOAT: return view(raw, Float32Array, n);
      case T.INT32: return view(raw, Int32Array, n);
      case T.INT64: case T.UINT64: return view(raw, BigInt64Array, n);   // uint64 ≥ 2^63 reads negative, as documented
      case T.BOOL: return raw.every((b) => b <= 1) ? new Uint8Array(raw.buffer, raw.byteOffset, n) : Uint8Array.from(raw, (b) => (b ? 1 : 0));
      case T.UINT8: return Int32Array.from(raw);
      case T.INT8: return Int32Array.from(new Int8Array(raw.buffer, raw.byteOffset, n));
    }
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const fill = <A extends TypedArray>(out: A, get: (i: number) => number | bigint): A => {
    for (let i = 0; i < n; i++) out[i] = get(i) as never;
    return out;
  };
  switch (elemType) {
    case T.FLOAT: return fill(new Float32Array(n), (i) => dv.getFloat32(4 * i, true));
    case T.DOUBLE: return fill(new Float32Array(n), (i) => dv.getFloat64(8 * i, true));
    case T.INT32: return fill(new Int32Array(n), (i) => dv.getInt32(4 * i, true));
    case T.INT8: return fill(new Int32Array(n), (i) => dv.getInt8(i));
    case T.UINT8: return fill(new Int32Array(n), (i) => dv.getUint8(i));
    case T.BOOL: return fill(new Uint8Array(n), (i) => (dv.getUint8(i) ? 1 : 0));
    case T.INT16: return fill(new Int32Array(n), (i) => dv.getInt16(2 * i, true));
    case T.UINT16: return fill(new Int32Array(n), (i) => dv.getUint16(2 * i, true));
    case T.UINT32: return fill(new BigInt64Array(n), (i) => BigInt(dv.getUint32(4 * i, true)));
    case T.INT64: case T.UINT64: return fill(new BigInt64Array(n), (i) => dv.getBigInt64(8 * i, true));
  }
  throw new Error(`cannot read raw_data of ${onnxTypeName(elemType)}`);
}

/** The elements of a TensorProto held in its typed fields (not raw_data): one copy into a typed array. */
function fieldData(t: onnx.ITensorProto, elemType: number): TypedArray {
  const nums = (xs: ArrayLike<number> | null | undefined): ArrayLike<number> => xs ?? [];
  const longs = (xs: ArrayLike<number | LongLike> | null | undefined, unsigned: boolean): BigInt64Array => {
    const src = xs ?? [];
    const out = new BigInt64Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const v = int64ToBigInt(src[i]);
      out[i] = unsigned ? BigInt.asIntN(64, v) : v;
    }
    return out;
  };
  switch (elemType) {
    case T.FLOAT: case T.DOUBLE: return Float32Array.from(nums(elemType === T.FLOAT ? t.floatData : t.doubleData));
    case T.INT32: case T.INT8: case T.UINT8: case T.INT16: case T.UINT16: return Int32Array.from(nums(t.int32Data));
    case T.BOOL: return Uint8Array.from(nums(t.int32Data), (v) => (v ? 1 : 0));
    case T.INT64: return longs(t.int64Data as ArrayLike<number | LongLike> | null | undefined, false);
    case T.UINT32: case T.UINT64: return longs(t.uint64Data as ArrayLike<number | LongLike> | null | undefined, true);
  }
  throw new Error(`cannot read ${onnxTypeName(elemType)} elements`);
}

/** Decodes a TensorProto into IR TensorData (see the type mapping above); throws saying why not. */
export function tensorFromProto(t: onnx.ITensorProto): TensorData {
  const elemType = t.dataType ?? 0;
  const dtype = irDTypeOf(elemType);
  const what = t.name ? `tensor '${t.name}'` : 'tensor';
  if (dtype === undefined) throw new Error(`${what} has element type ${onnxTypeName(elemType)}, which graphc does not read`);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0) {
    throw new Error(`${what} keeps its data in an external file, which graphc reads only with the model's path (gc.fromOnnxFile(path), not fromOnnx(bytes))`);
  }
  const shape = (t.dims ?? []).map((d) => int64ToNumber(d as number | LongLike));
  const n = sizeOf(shape);
  const data = t.rawData && t.rawData.length > 0 ? rawData(t.rawData, elemType, n) : fieldData(t, elemType);
  if (data.length !== n) throw new Error(`${what} has ${data.length} elements for shape [${shape.join(',')}] (needs ${n})`);
  return { dtype, shape, data };
}
