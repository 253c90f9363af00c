/** The contract between the exporter and its per-op rules (rules.ts). */
import type { TensorType } from '../../../ir/graph.js';
import type { Node } from '../../../ir/graph.js';
import type { AttrReader } from '../../../ir/ops.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import type { Graph } from '../../../ir/graph.js';
import type { Emitter } from './emitter.js';
import type { OnnxGraph, OnnxValueInfo } from './onnx_graph.js';
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
  /** Exports the node's regions (control flow): inline here, or as subgraphs. */
  readonly regions: RegionExport;
}

/** Where a region is emitted: an emitter and the symbolic dims of its graph. */
export interface EmitScope {
  readonly e: Emitter;
  readonly dims: SymDims;
}

/** What the control-flow rules build subgraphs and inline regions with (export/regions.ts). */
export interface RegionExport {
  /** The scope the node is exported in. */
  readonly scope: EmitScope;
  /**
   * Emits the live nodes of region `r` into `at`, its block arguments read as the ONNX names
   * `args`; the ONNX names of what it yields, in order.
   */
  inline(r: Graph, args: readonly string[], at: EmitScope): string[];
  /**
   * A subgraph named `name` with these inputs, filled by `build` (given its scope), whose
   * outputs are what `build` returns, typed as given. An output that is not computed by a node
   * of the subgraph (an input, an outer name, a name returned twice) is copied by an Identity:
   * every output of a subgraph is produced in it, under a name unique in the model.
   */
  subgraph(name: string, inputs: readonly OnnxValueInfo[], build: (at: EmitScope) => { names: readonly string[]; types: readonly TensorType[] }): OnnxGraph;
  /** A fresh value name (unique in the model). */
  fresh(base: string): string;
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
