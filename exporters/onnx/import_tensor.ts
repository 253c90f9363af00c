/**
 * ONNX element types and TensorProtos → IR dtypes and TensorData.
 *
 * The IR has float32, int32, int64 and bool. ONNX types without an IR counterpart are
 * read into the nearest one that holds every value:
 *   - double → float32 (values rounded to float32: the one lossy mapping; graphc computes
 *     in float32, so models in double run in single precision);
 *   - int8, uint8, int16, uint16 → int32 (exact; arithmetic does not wrap at 8 or 16 bits);
 *   - uint32, uint64 → int64 (exact up to 2^63; int64 runs as int32 on tfjs).
 * float16, bfloat16, complex and string tensors are not read.
 */
import type { DType, TypedArray } from '../../ir/dtype.js';
import type { TensorData } from '../../ir/tensor_data.js';
import { sizeOf } from '../../ir/tensor_data.js';
import { int64ToBigInt, int64ToNumber, onnx } from './proto.js';
import type { LongLike } from './proto.js';

const T = onnx.TensorProto.DataType;

export const ONNX_TYPE_NAMES: Readonly<Record<number, string>> = {
  [T.UNDEFINED]: 'undefined', [T.FLOAT]: 'float', [T.UINT8]: 'uint8', [T.INT8]: 'int8', [T.UINT16]: 'uint16',
  [T.INT16]: 'int16', [T.INT32]: 'int32', [T.INT64]: 'int64', [T.STRING]: 'string', [T.BOOL]: 'bool',
  [T.FLOAT16]: 'float16', [T.DOUBLE]: 'double', [T.UINT32]: 'uint32', [T.UINT64]: 'uint64',
  [T.COMPLEX64]: 'complex64', [T.COMPLEX128]: 'complex128', [T.BFLOAT16]: 'bfloat16',
};

export function onnxTypeName(t: number): string {
  return ONNX_TYPE_NAMES[t] ?? `type #${t}`;
}

const IR_OF: Readonly<Record<number, DType>> = {
  [T.FLOAT]: 'float32', [T.DOUBLE]: 'float32',
  [T.INT32]: 'int32', [T.INT8]: 'int32', [T.UINT8]: 'int32', [T.INT16]: 'int32', [T.UINT16]: 'int32',
  [T.INT64]: 'int64', [T.UINT32]: 'int64', [T.UINT64]: 'int64',
  [T.BOOL]: 'bool',
};

/** The IR dtype an ONNX element type is read as, or undefined when graphc has none. */
export function irDTypeOf(elemType: number): DType | undefined {
  return IR_OF[elemType];
}

/** Whether reading the ONNX type into the IR changes values (double → float32). */
export function isLossy(elemType: number): boolean {
  return elemType === T.DOUBLE;
}

/** The ONNX element type that an IR dtype is written as. */
export function onnxTypeOf(d: DType): number {
  switch (d) {
    case 'float32': return T.FLOAT;
    case 'int32': return T.INT32;
    case 'int64': return T.INT64;
    case 'bool': return T.BOOL;
  }
}

/** Little-endian element reader over raw_data. */
function rawValues(raw: Uint8Array, elemType: number, n: number): ArrayLike<number> | bigint[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const width: Record<number, number> = {
    [T.FLOAT]: 4, [T.DOUBLE]: 8, [T.INT32]: 4, [T.INT8]: 1, [T.UINT8]: 1, [T.INT16]: 2, [T.UINT16]: 2,
    [T.INT64]: 8, [T.UINT32]: 4, [T.UINT64]: 8, [T.BOOL]: 1,
  };
  const w = width[elemType]!;
  if (raw.byteLength !== n * w) throw new Error(`raw_data has ${raw.byteLength} bytes for ${n} elements of ${onnxTypeName(elemType)} (needs ${n * w})`);
  switch (elemType) {
    case T.FLOAT: return Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true));
    case T.DOUBLE: return Array.from({ length: n }, (_, i) => view.getFloat64(8 * i, true));
    case T.INT32: return Array.from({ length: n }, (_, i) => view.getInt32(4 * i, true));
    case T.INT8: return Array.from({ length: n }, (_, i) => view.getInt8(i));
    case T.UINT8: case T.BOOL: return Array.from({ length: n }, (_, i) => view.getUint8(i));
    case T.INT16: return Array.from({ length: n }, (_, i) => view.getInt16(2 * i, true));
    case T.UINT16: return Array.from({ length: n }, (_, i) => view.getUint16(2 * i, true));
    case T.UINT32: return Array.from({ length: n }, (_, i) => BigInt(view.getUint32(4 * i, true)));
    case T.INT64: return Array.from({ length: n }, (_, i) => view.getBigInt64(8 * i, true));
    case T.UINT64: return Array.from({ length: n }, (_, i) => BigInt.asIntN(64, view.getBigUint64(8 * i, true)));
  }
  throw new Error(`cannot read raw_data of ${onnxTypeName(elemType)}`);
}

/** The elements of a TensorProto held in its typed fields (not raw_data). */
function fieldValues(t: onnx.ITensorProto, elemType: number): ArrayLike<number> | bigint[] {
  switch (elemType) {
    case T.FLOAT: return t.floatData ?? [];
    case T.DOUBLE: return t.doubleData ?? [];
    case T.INT32: case T.INT8: case T.UINT8: case T.INT16: case T.UINT16: case T.BOOL: return t.int32Data ?? [];
    case T.INT64: return (t.int64Data ?? []).map((x) => int64ToBigInt(x as number | LongLike));
    case T.UINT32: case T.UINT64: return (t.uint64Data ?? []).map((x) => BigInt.asIntN(64, int64ToBigInt(x as number | LongLike)));
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
    throw new Error(`${what} keeps its data in an external file, which graphc does not read`);
  }
  const shape = (t.dims ?? []).map((d) => int64ToNumber(d as number | LongLike));
  const n = sizeOf(shape);
  const values = t.rawData && t.rawData.length > 0 ? rawValues(t.rawData, elemType, n) : fieldValues(t, elemType);
  if (values.length !== n) throw new Error(`${what} has ${values.length} elements for shape [${shape.join(',')}] (needs ${n})`);
  let data: TypedArray;
  switch (dtype) {
    case 'float32': data = Float32Array.from(values as ArrayLike<number>); break;
    case 'int32': data = Int32Array.from(values as ArrayLike<number>); break;
    case 'bool': data = Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0)); break;
    case 'int64': data = BigInt64Array.from(values as ArrayLike<bigint>, (v) => (typeof v === 'bigint' ? v : BigInt(v))); break;
  }
  return { dtype, shape, data };
}
