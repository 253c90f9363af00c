/**
 * The ONNX protobuf bindings: protobufjs static classes generated from onnx.proto (ONNX 1.12,
 * the same messages, fields and enums as ONNX 1.10's) by `npm run gen:onnx-proto`, on
 * protobufjs's minimal runtime (7.5.5: from 7.5.8 its generated decoders count nesting and take
 * more stack per level, and a model nested 2000 deep overflowed it in decode, before the
 * importer's own nesting check could name it). The generated module (onnx_pb.cjs, reached as
 * '#onnx-proto' through package.json "imports") is CommonJS whose exports Node's ESM loader
 * cannot name, so it is imported once here as a default import and re-exported as the `onnx`
 * namespace (types and classes).
 */
import onnxProto from '#onnx-proto';

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
