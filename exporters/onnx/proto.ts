/**
 * The ONNX protobuf bindings (onnx-proto, ONNX 1.10 protobufjs classes). onnx-proto is a
 * CommonJS module whose exports Node's ESM loader cannot name, so it is imported once here
 * as a default import and re-exported as the `onnx` namespace (types and classes).
 */
import onnxProto from 'onnx-proto';

export import onnx = onnxProto.onnx;

/** A protobuf int64 field (a number, or a Long when the value needs more than 53 bits). */
export interface LongLike { toNumber(): number; toString(): string }

/** int64 field → number (exact up to 2^53). */
export function int64ToNumber(x: number | LongLike | null | undefined): number {
  if (x === null || x === undefined) return 0;
  return typeof x === 'number' ? x : x.toNumber();
}

/** int64 field → bigint (exact). */
export function int64ToBigInt(x: number | LongLike | null | undefined): bigint {
  if (x === null || x === undefined) return 0n;
  return typeof x === 'number' ? BigInt(x) : BigInt(x.toString());
}
