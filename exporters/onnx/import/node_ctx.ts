/**
 * What an ONNX import rule works with: `NodeCtx` reads one ONNX node (operands, constant
 * operands, attributes by type and default, subgraphs) and fails with an error that names
 * the node; `c.b` is the Builder the rule emits IR nodes with.
 */
import type { Dim } from '../../../ir/dim.js';
import { dimToString, isStatic } from '../../../ir/dim.js';
import { Codes } from '../../../ir/errors.js';
import type { GcError } from '../../../ir/errors.js';
import type { Graph, TensorType, Value } from '../../../ir/graph.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import { elementAt } from '../../../ir/tensor_data.js';
import type { onnx } from '../proto.js';
import { NodeAttrs } from './attrs.js';
import type { Builder } from './builder.js';
import { DIMS_LIMIT } from './builder.js';
import { describeNode, NeedsConstant, OnnxImportError, ruleFail } from './errors.js';

/** What the control-flow rules build regions with (import.ts): subgraphs imported as region graphs. */
export interface RegionImporter {
  /** The values of the graphs around that these subgraphs read (their captures), with their ONNX names, in order of first use. */
  captures(gs: readonly onnx.IGraphProto[]): { names: string[]; values: Value[] };
  /**
   * A region graph `role` whose block arguments are typed `args`, then one per capture (typed as
   * it); `build` fills it with a builder of the region and the block arguments, and returns what
   * it yields. Fails past the region nesting limit.
   */
  region(role: string, args: readonly TensorType[], caps: readonly Value[], build: (b: Builder, args: Value[]) => Value[]): Graph;
  /**
   * Imports the nodes of subgraph `g` into the region being built: its inputs bound to `inputs`,
   * the capture names to the region's capture arguments. Its outputs.
   */
  body(g: onnx.IGraphProto, inputs: readonly Value[], capNames: readonly string[], capArgs: readonly Value[]): Value[];
  /** A data-dependent dim (ir/control_flow.ts) not used before in this import. */
  dynamicDim(): Dim;
  /**
   * The work of one run of region `r` known at import: its nodes, plus what the control flow
   * nested in it reported (addWork). A loop whose trip count is known at import charges trips ×
   * its body's work to the budget (so nested loops multiply, as if unrolled: a hostile model
   * fails at import rather than running 64^32 bodies).
   */
  workOf(r: Graph): number;
  /** Reports the work of a control-flow node to the region around it (none at the top level). */
  addWork(n: number): void;
}

/** One ONNX node as a rule sees it. */
export class NodeCtx {
  readonly attr: NodeAttrs;

  constructor(
    readonly node: onnx.INodeProto,
    readonly opset: number,
    readonly b: Builder,
    private readonly lookup: (name: string) => Value,
    private readonly typeOf: (name: string) => number | undefined = () => undefined,
    private readonly runGraph: (g: onnx.IGraphProto, inputs: Value[]) => Value[] = () => ruleFail('subgraphs are not supported here'),
    private readonly regionImporter?: RegionImporter,
  ) {
    this.attr = new NodeAttrs(node);
  }

  get opType(): string { return this.node.opType ?? ''; }
  get numInputs(): number { return this.node.input?.length ?? 0; }
  get numOutputs(): number { return this.node.output?.length ?? 0; }

  /** Whether operand i is given (ONNX marks an omitted optional operand with an empty name). */
  has(i: number): boolean {
    return (this.node.input?.[i] ?? '') !== '';
  }

  input(i: number, what = `operand ${i}`): Value {
    if (!this.has(i)) ruleFail(`${what} is missing`);
    return this.lookup(this.node.input![i]!);
  }

  optInput(i: number): Value | undefined {
    return this.has(i) ? this.lookup(this.node.input![i]!) : undefined;
  }

  /** All given operands (variadic ops). */
  inputs(): Value[] {
    return (this.node.input ?? []).filter((n) => n !== '').map((n) => this.lookup(n));
  }

  /**
   * The ONNX element type of operand i when the model states it (graph inputs and outputs,
   * value_info, initializers, Constant and Cast results): the IR reads int8/uint8/int16/
   * uint16 as int32, and a rule that saturates (QuantizeLinear) needs the original.
   */
  onnxType(i: number): number | undefined {
    return this.has(i) ? this.typeOf(this.node.input![i]!) : undefined;
  }

  /**
   * Imports the subgraph held by attribute `name` inline (its body nodes become IR nodes
   * here), binding its inputs to `inputs`; outer values stay visible. Its outputs.
   */
  subgraph(name: string, inputs: Value[]): Value[] {
    const g = this.attr.graph(name) ?? ruleFail(`attribute '${name}' (a graph) is missing`);
    // Each instantiation counts (loops unroll their body once per iteration, nested loops multiply).
    this.b.meter.charge('nodes', 1 + (g.node?.length ?? 0), `importing the subgraph '${name}' again`);
    return this.runGraph(g, inputs);
  }

  /** Imports subgraphs as region graphs (control-flow nodes). */
  get regions(): RegionImporter {
    return this.regionImporter ?? ruleFail('subgraphs are not supported here');
  }

  /** The subgraph held by attribute `name`. */
  graphAttr(name: string): onnx.IGraphProto {
    return this.attr.graph(name) ?? ruleFail(`attribute '${name}' (a graph) is missing`);
  }

  /** Number of inputs of the subgraph held by attribute `name`. */
  subgraphInputs(name: string): number {
    return this.attr.graph(name)?.input?.length ?? 0;
  }

  /** Whether output i is requested. */
  wants(i: number): boolean {
    return (this.node.output?.[i] ?? '') !== '';
  }

  /** Operand i as a constant tensor, or undefined when it is computed at run time. */
  constInput(i: number): TensorData | undefined {
    const v = this.optInput(i);
    return v ? this.b.constOf(v) : undefined;
  }

  /** Operand i as a constant; fails (NeedsConstant) when it is computed at run time. */
  constRequired(i: number, what: string): TensorData {
    const v = this.input(i, what);
    const c = this.b.constOf(v);
    if (c === undefined) this.needsConstant(i, what);
    return c;
  }

  private needsConstant(i: number, what: string): never {
    throw new NeedsConstant(`${what} (operand ${i}, '${this.node.input![i]}') is computed at run time; graphc needs it at import time`,
      'the value decides an output shape: make it an initializer or a Constant, or import with options.constants',
      this.node.input![i]!);
  }

  /** Operand i as integers known at import time; fails when it is computed at run time. */
  ints(i: number, what: string): number[] {
    const ds = this.dims(i, what);
    if (!ds.every(isStatic)) ruleFail(`${what} must be static, got [${ds.map(dimToString).join(',')}]`);
    return ds as number[];
  }

  /** Operand i as (possibly symbolic) integers known at import time. */
  dims(i: number, what: string): Dim[] {
    const v = this.input(i, what);
    const ds = this.b.dimsOf(v);
    if (ds === undefined) {
      const c = this.b.constOf(v);
      if (c && c.data.length > DIMS_LIMIT) ruleFail(`${what} (operand ${i}, '${this.node.input![i]}') has ${c.data.length} elements, more than the ${DIMS_LIMIT} graphc reads at import time`);
      this.needsConstant(i, what);
    }
    return ds;
  }

  /** A float operand known at import time (scalar or one element). */
  floatInput(i: number, what: string): number | undefined {
    if (!this.has(i)) return undefined;
    const c = this.constRequired(i, what);
    if (c.data.length !== 1) ruleFail(`${what} must have one element, got shape [${c.shape.join(',')}]`);
    return elementAt(c, 0);
  }

  fail(message: string, help?: string): never {
    return ruleFail(message, help);
  }

  /** Normalizes a possibly negative axis against `rank`. */
  axis(a: number, rank: number, what = 'axis'): number {
    const n = a < 0 ? a + rank : a;
    if (n < 0 || n >= rank) ruleFail(`${what} ${a} is out of range for rank ${rank}`);
    return n;
  }

  /** A GcError for this node. */
  error(message: string, help?: string, notes?: string[]): GcError {
    return new OnnxImportError({ code: Codes.onnxImport, message: `${describeNode(this.node)}: ${message}`, help, notes });
  }
}

/** Translates one ONNX node: its results in the order of the node's outputs (undefined for ones not computed). */
export type ImportRule = (c: NodeCtx) => Value | (Value | undefined)[];

/** An ONNX op graphc does not import, with the reason. */
export interface ImportUnsupported {
  readonly unsupported: string;
}

export type RuleTable = Record<string, ImportRule | ImportUnsupported>;
