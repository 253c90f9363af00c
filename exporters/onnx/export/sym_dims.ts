/**
 * Symbolic dims as run-time ONNX values. A symbol's size is read from a graph input that
 * has it (Shape → Gather), affine dims k·sym + c are Mul/Add on int64, and shapes are
 * Concat of those pieces and static runs. Each piece is emitted once and shared.
 */
import type { Dim, SymDim } from '../../../ir/dim.js';
import { dimToString, isStatic } from '../../../ir/dim.js';
import type { DType } from '../../../ir/dtype.js';
import type { Graph, Value } from '../../../ir/graph.js';
import { onnxDType } from '../dtypes.js';
import type { Emitter } from './emitter.js';
import { attr } from './onnx_graph.js';
import { RuleFailure } from './rule_types.js';

interface Source { input: string; axis: number; dim: SymDim }

export class SymDims {
  private readonly sources = new Map<string, Source>();
  private readonly shapeOf = new Map<string, string>();
  private readonly dims = new Map<string, string>();
  private readonly scalars = new Map<string, string>();

  /**
   * `parent`: the SymDims of the graph around this one (a subgraph's), asked for symbols that
   * no value learnt here has; what it emits there, this graph reads from its outer scope.
   */
  constructor(private readonly e: Emitter, graph: Pick<Graph, 'inputs'>, names: ReadonlyMap<Value, string>, private readonly parent?: SymDims) {
    for (const v of graph.inputs) this.learn(names.get(v)!, v.shape);
  }

  /** The ONNX value `name` has shape `shape`: its symbolic dims can be read from it (Shape → Gather). */
  learn(name: string, shape: readonly Dim[]): void {
    shape.forEach((d, axis) => {
      if (isStatic(d)) return;
      const prev = this.sources.get(d.sym);
      // Prefer a plain `sym` dim over an affine one.
      if (!prev || (prev.dim.k !== 1 || prev.dim.c !== 0) && d.k === 1 && d.c === 0) this.sources.set(d.sym, { input: name, axis, dim: d });
    });
  }

  /** The value of symbol `s` as int64 [1]. */
  private symbol(s: string): string {
    const key = `sym:${s}`;
    const hit = this.dims.get(key);
    if (hit) return hit;
    const src = this.sources.get(s);
    if (!src && this.parent) return this.parent.symbol(s);
    if (!src) throw new RuleFailure(`the symbolic dim '${s}' appears in no graph input, so its size cannot be read at run time`);
    let shape = this.shapeOf.get(src.input);
    if (!shape) {
      shape = this.e.op('Shape', [src.input], {}, this.e.values.fresh(`${src.input}_shape`));
      this.shapeOf.set(src.input, shape);
    }
    let out = this.e.op('Gather', [shape, this.e.i64([src.axis])], { axis: attr.int(0) }, this.e.values.fresh(`dim_${s}_raw`));
    if (src.dim.c !== 0) out = this.e.op('Sub', [out, this.e.i64([src.dim.c])]);
    if (src.dim.k !== 1) out = this.e.op('Div', [out, this.e.i64([src.dim.k])]);
    this.dims.set(key, out);
    return out;
  }

  /** Dim `d` as an int64 tensor of shape [1]. */
  dim1(d: Dim): string {
    if (isStatic(d)) return this.e.i64([d]);
    const key = dimToString(d);
    const hit = this.dims.get(key);
    if (hit) return hit;
    let out = this.symbol(d.sym);
    if (d.k !== 1) out = this.e.op('Mul', [out, this.e.i64([d.k])]);
    if (d.c !== 0) out = this.e.op('Add', [out, this.e.i64([d.c])]);
    this.dims.set(key, out);
    return out;
  }

  /**
   * A shape (or any list of dims) as a 1-D int64 tensor, a constant when static. bigint
   * entries are int64 literals (INT64_MAX as the end of a Slice).
   */
  shape(ds: readonly (Dim | bigint)[]): string {
    if (ds.every((d) => typeof d === 'bigint' || isStatic(d))) return this.e.i64(ds as (number | bigint)[]);
    const parts: string[] = [];
    let run: (number | bigint)[] = [];
    for (const d of ds) {
      if (typeof d === 'bigint' || isStatic(d)) { run.push(d); continue; }
      if (run.length) { parts.push(this.e.i64(run)); run = []; }
      parts.push(this.dim1(d));
    }
    if (run.length) parts.push(this.e.i64(run));
    return parts.length === 1 ? parts[0]! : this.e.op('Concat', parts, { axis: attr.int(0) }, this.e.fresh('shape'));
  }

  /** Dim `d` as a rank-0 tensor of `dtype`. */
  scalar(d: Dim, dtype: DType): string {
    if (isStatic(d)) return this.e.scalar(d, dtype);
    const key = `${dimToString(d)}:${dtype}`;
    const hit = this.scalars.get(key);
    if (hit) return hit;
    let out = this.e.op('Squeeze', [this.dim1(d), this.e.i64([0])]);
    if (dtype !== 'int64') out = this.e.op('Cast', [out], { to: attr.int(onnxDType(dtype)) });
    this.scalars.set(key, out);
    return out;
  }
}
