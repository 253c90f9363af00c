/**
 * The errors of an ONNX import: a rule throws RuleError (or NeedsConstant) and the importer
 * turns it into an OnnxImportError (GC0501) that names the node.
 */
import { GcError } from '../../../ir/errors.js';
import type { onnx } from '../proto.js';

/** Thrown by rules; the importer adds the node's name and op type. */
export class RuleError extends Error {
  constructor(message: string, readonly help?: string) { super(message); }
}

export function ruleFail(message: string, help?: string): never {
  throw new RuleError(message, help);
}

/** A rule needs the value of ONNX value `valueName` at import time and it is computed at run time. */
export class NeedsConstant extends RuleError {
  constructor(message: string, help: string | undefined, readonly valueName: string) { super(message, help); }
}

/**
 * The GcError of a failed import. `needsConstant` names the ONNX value whose contents a
 * rule needed at import time (an output shape depends on it) and `needsInputs` the graph
 * inputs it is computed from: importing again with
 * `fromOnnx(bytes, { constants: { [input]: tensor, … } })` specializes the graph on them.
 */
export class OnnxImportError extends GcError {
  readonly needsConstant: string | undefined;
  readonly needsInputs: readonly string[];
  constructor(info: ConstructorParameters<typeof GcError>[0], needsConstant?: string, needsInputs: readonly string[] = []) {
    super(info);
    this.needsConstant = needsConstant;
    this.needsInputs = needsInputs;
  }
}

/** How errors name a node: `onnx node 'name' (OpType)`, with its domain when not the default. */
export function describeNode(n: onnx.INodeProto): string {
  const name = n.name ? `'${n.name}' ` : '';
  return `onnx node ${name}(${n.opType}${n.domain && n.domain !== 'ai.onnx' ? ` in domain ${n.domain}` : ''})`;
}
