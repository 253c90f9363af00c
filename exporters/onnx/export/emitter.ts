/**
 * Appends ONNX nodes and initializers to an OnnxGraph on behalf of the export rules: fresh
 * value names derived from the IR value being exported, node names from the IR node, each
 * node's doc_string set to the user's source location, small constants shared.
 */
import type { DType } from '../../../ir/dtype.js';
import { dtypeShort } from '../../../ir/dtype.js';
import { locToString } from '../../../ir/errors.js';
import type { Node } from '../../../ir/graph.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import { tensorData } from '../../../ir/tensor_data.js';
import type { OnnxAttrs, OnnxGraph, OnnxNode } from './onnx_graph.js';
import { NameAllocator } from './names.js';

/** Constants with at most this many elements are shared between all their uses. */
const SHARED_CONST_LIMIT = 16;

export class Emitter {
  private doc = '';
  private nodeBase = 'node';
  private valueBase = 't';
  private origin: Node | undefined;
  private readonly shared = new Map<string, string>();

  /** `nodeNames`: shared with the emitters of the model's other graphs (subgraphs), so node names are unique in the model. */
  constructor(readonly g: OnnxGraph, readonly values: NameAllocator, readonly opset: number, readonly nodeNames = new NameAllocator()) {}

  /** Subsequent nodes come from IR node `n` (its location, its names). */
  at(n: Node | undefined, valueBase: string): void {
    this.doc = n?.loc ? locToString(n.loc) : '';
    this.nodeBase = n ? `${n.op}_${n.id}` : 'node';
    this.origin = n;
    this.valueBase = valueBase;
  }

  fresh(suffix: string): string {
    return this.values.fresh(`${this.valueBase}_${suffix}`);
  }

  freshNodeName(base: string): string {
    return this.nodeNames.fresh(base);
  }

  /** Emits one node with one output, named `out` or fresh; returns the output name. */
  op(opType: string, inputs: readonly string[], attrs: OnnxAttrs = {}, out?: string): string {
    const o = out ?? this.fresh(opType.toLowerCase());
    this.opN(opType, inputs, attrs, [o]);
    return o;
  }

  /** Emits one node with the given outputs. */
  opN(opType: string, inputs: readonly string[], attrs: OnnxAttrs, outs: readonly string[]): readonly string[] {
    const node: OnnxNode = { opType, inputs: [...inputs], outputs: [...outs], attrs, name: this.nodeNames.fresh(this.nodeBase), doc: this.doc };
    if (this.origin !== undefined) node.origin = this.origin;
    this.g.nodes.push(node);
    return outs;
  }

  /** An initializer with exactly this name (variables, const nodes). */
  initializer(name: string, t: TensorData): string {
    this.g.initializers.set(name, t);
    return name;
  }

  /** A constant; small ones are shared by content. */
  constant(t: TensorData, suffix = 'const'): string {
    if (t.data.length > SHARED_CONST_LIMIT) return this.initializer(this.fresh(suffix), t);
    const key = `${t.dtype}[${t.shape.join(',')}]${Array.from(t.data as ArrayLike<number | bigint>, String).join(',')}`;
    let name = this.shared.get(key);
    if (name === undefined) {
      name = this.values.fresh(`const_${dtypeShort(t.dtype)}${t.shape.length === 0 ? '' : `_${t.shape.join('x')}`}`);
      this.shared.set(key, name);
      this.g.initializers.set(name, t);
    }
    return name;
  }

  /** A 1-D int64 constant. */
  i64(values: readonly (number | bigint)[]): string {
    return this.constant({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values, (v) => BigInt(v)) });
  }

  /** A rank-0 constant of `dtype`. */
  scalar(value: number, dtype: DType): string {
    return this.constant(tensorData(dtype, [], [value]));
  }
}
