/**
 * graphc dtypes ↔ ONNX TensorProto.DataType codes. Shared by the exporter and the importer.
 */
import type { DType } from '../../ir/dtype.js';

/** ONNX TensorProto.DataType values (onnx.proto3). */
export const ONNX_DTYPE = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16,
} as const;

const TO_ONNX: Record<DType, number> = {
  float32: ONNX_DTYPE.FLOAT, int32: ONNX_DTYPE.INT32, bool: ONNX_DTYPE.BOOL, int64: ONNX_DTYPE.INT64,
};

export function onnxDType(d: DType): number {
  return TO_ONNX[d];
}

/** The graphc dtype of an ONNX element type, or undefined when graphc has none. */
export function dtypeFromOnnx(code: number): DType | undefined {
  for (const [d, c] of Object.entries(TO_ONNX) as [DType, number][]) if (c === code) return d;
  return undefined;
}

export function isFloat(d: DType): boolean {
  return d === 'float32';
}
