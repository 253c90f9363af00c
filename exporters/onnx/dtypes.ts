/**
 * IR dtypes ↔ ONNX element types (TensorProto.DataType), both directions: what the exporter
 * writes each IR dtype as, and what the importer reads each ONNX type as.
 *
 * The IR has float32, int32, int64 and bool. ONNX types without an IR counterpart are
 * read into the nearest one that holds every value:
 *   - double → float32 (values rounded to float32: the one lossy mapping; graphc computes
 *     in float32, so models in double run in single precision);
 *   - int8, uint8, int16, uint16 → int32 (exact; arithmetic does not wrap at 8 or 16 bits);
 *   - uint32, uint64 → int64 (exact up to 2^63; int64 runs as int32 on tfjs).
 * float16, bfloat16, complex and string tensors are not read.
 */
import type { DType } from '../../ir/dtype.js';

/** ONNX TensorProto.DataType values (onnx.proto3). */
export const ONNX_DTYPE = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
} as const;

const T = ONNX_DTYPE;

const TO_ONNX: Record<DType, number> = {
  float32: T.FLOAT, int32: T.INT32, bool: T.BOOL, int64: T.INT64,
};

/** The ONNX element type that an IR dtype is written as. */
export function onnxDType(d: DType): number {
  return TO_ONNX[d];
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

export const ONNX_TYPE_NAMES: Readonly<Record<number, string>> = {
  [T.UNDEFINED]: 'undefined', [T.FLOAT]: 'float', [T.UINT8]: 'uint8', [T.INT8]: 'int8', [T.UINT16]: 'uint16',
  [T.INT16]: 'int16', [T.INT32]: 'int32', [T.INT64]: 'int64', [T.STRING]: 'string', [T.BOOL]: 'bool',
  [T.FLOAT16]: 'float16', [T.DOUBLE]: 'double', [T.UINT32]: 'uint32', [T.UINT64]: 'uint64',
  [T.COMPLEX64]: 'complex64', [T.COMPLEX128]: 'complex128', [T.BFLOAT16]: 'bfloat16',
};

/** An ONNX element type's name (`float`, `int64`…), for messages. */
export function onnxTypeName(t: number): string {
  return ONNX_TYPE_NAMES[t] ?? `type #${t}`;
}
