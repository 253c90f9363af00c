/** The contract between the exporter and its per-op rules (rules.ts). */
import type { TensorType } from '../../../ir/graph.js';
import type { Node } from '../../../ir/graph.js';
import type { AttrReader } from '../../../ir/ops.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import type { Emitter } from './emitter.js';
import type { SymDims } from './sym_dims.js';

export interface RuleCtx {
  readonly node: Node;
  readonly a: AttrReader;
  /** ONNX names of the operands. */
  readonly ins: readonly string[];
  /** ONNX names the outputs must be written to. */
  readonly outs: readonly string[];
  readonly e: Emitter;
  readonly dims: SymDims;
  readonly opset: number;
  inType(i: number): TensorType;
  outType(i?: number): TensorType;
  /** The data of operand i when it is a constant or a variable (an initializer), else undefined. */
  constOf(i: number): TensorData | undefined;
  /** Stops the export of this node with a reason (the exporter adds the op and the user's line). */
  fail(reason: string, help?: string): never;
}

/** Writes ONNX nodes computing one IR node's outputs into `cx.outs`. */
export type ExportRule = (cx: RuleCtx) => void;

/** An op the exporter cannot express in ONNX, with the reason and a hint. */
export interface Unsupported {
  readonly unsupported: string;
  readonly help?: string;
}

/** Thrown by rules and helpers; the exporter turns it into a located GcError. */
export class RuleFailure extends Error {
  constructor(message: string, readonly help?: string) {
    super(message);
  }
}
