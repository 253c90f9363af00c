/**
 * The IR side of an import: `Builder` emits IR nodes for the rules, folding nodes whose
 * operands are all constant (fold.ts), cancelling transposes (ir/perm.ts), and tracking
 * the values of shape tensors.
 */
import type { Dim } from '../../../ir/dim.js';
import { isStatic, shapeEq } from '../../../ir/dim.js';
import type { DType } from '../../../ir/dtype.js';
import type { SourceLoc } from '../../../ir/errors.js';
import type { Graph, Value } from '../../../ir/graph.js';
import type { Attrs, OpName } from '../../../ir/ops.js';
import { OPS } from '../../../ir/ops.js';
import { cancelsPerm, composePerm, isIdentityPerm } from '../../../ir/perm.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import { elementAt, tensorData } from '../../../ir/tensor_data.js';
import type { ImportBudget } from './budget.js';
import { bytesOf, ImportMeter } from './budget.js';
import type { ConstEvaluator } from './fold.js';
import { tryFold } from './fold.js';

/** Integer constants read element by element at import time (shapes, axes, pads…) have at most this many elements. */
export const DIMS_LIMIT = 1 << 16;

/**
 * Emits IR nodes into a graph. Nodes whose operands are all constants are evaluated at
 * import time (by the evaluator handed in: the same kernels a Session runs) unless their result,
 * predicted by type inference before anything runs, grows past FOLD_GROWTH_LIMIT elements
 * or their work past FOLD_WORK_LIMIT (fold.ts); transposes of transposes compose, identity
 * transposes and same-shape reshapes vanish. Every node, constant and evaluation is
 * charged to the import's budget (`meter`).
 */
export class Builder {
  /** Element values of small integer tensors known at import time, possibly symbolic (shape arithmetic). */
  private readonly known = new Map<Value, Dim[]>();

  /** Source location given to the nodes built now (the ONNX node's doc_string when it is one). */
  loc: SourceLoc | undefined;

  /** Whether more than one ONNX node (or graph output) reads `v`: its op is not moved then. */
  shared: (v: Value) => boolean = () => false;

  /** What this import has spent, against its budget. */
  readonly meter: ImportMeter;

  /**
   * `evaluate` computes nodes on constants (folding); `budget` is what the import may spend.
   */
  constructor(readonly g: Graph, private readonly evaluate: ConstEvaluator, budget: Partial<ImportBudget> | ImportMeter = {}) {
    this.meter = budget instanceof ImportMeter ? budget : new ImportMeter(budget);
  }

  /** A builder of region graph `r` (a control-flow node's), spending from this import's budget. */
  forRegion(r: Graph): Builder {
    const b = new Builder(r, this.evaluate, this.meter);
    b.shared = this.shared;
    b.loc = this.loc;
    return b;
  }

  // ---- constants --------------------------------------------------------------

  constant(t: TensorData): Value {
    this.meter.charge('nodes', 1, 'a constant');
    this.meter.charge('bytes', bytesOf(t.dtype, t.data.length), `a constant ${t.dtype}[${t.shape.join(',')}]`);
    return this.g.add('const', [], { value: t }, this.loc);
  }

  /**
   * Fails with GC0520 unless a constant of `n` elements of `dtype` fits what the import
   * budget has left: call it before filling one element by element (`what` names it).
   */
  afford(dtype: DType, n: number, what: string): void {
    if (!this.meter.fits('bytes', bytesOf(dtype, n))) this.meter.charge('bytes', bytesOf(dtype, n), what);
  }

  scalar(x: number, dtype: DType): Value {
    return this.constant(tensorData(dtype, [], [dtype === 'int64' ? Math.trunc(x) : x]));
  }

  vector(xs: readonly number[], dtype: DType = 'int64'): Value {
    return this.constant(tensorData(dtype, [xs.length], xs));
  }

  /** The constant contents of `v`, when a `const` node produces it. */
  constOf(v: Value): TensorData | undefined {
    return v.producer?.op === 'const' ? (v.producer.attrs.value as TensorData) : undefined;
  }

  /** The elements of an integer tensor of rank ≤ 1 when known at import time (symbolic dims allowed). */
  dimsOf(v: Value): Dim[] | undefined {
    const k = this.known.get(v);
    if (k) return k;
    const c = this.constOf(v);
    if (!c || c.dtype === 'float32' || c.shape.length > 1 || c.data.length > DIMS_LIMIT) return undefined;
    return Array.from({ length: c.data.length }, (_, i) => elementAt(c, i));
  }

  /**
   * A value for integer elements that may be symbolic: a constant when all are static,
   * else a `pack` of `sym_const`s (scalar when `scalar`).
   */
  dimsValue(ds: readonly Dim[], dtype: DType = 'int64', scalar = false): Value {
    if (ds.every(isStatic)) {
      const v = this.constant(tensorData(dtype, scalar ? [] : [ds.length], ds as number[]));
      return v;
    }
    this.meter.charge('nodes', ds.length + 1, 'shape arithmetic');
    const parts = ds.map((d) => (isStatic(d) ? this.scalar(d, dtype) : this.g.add('sym_const', [], { value: d, dtype })));
    const v = scalar ? parts[0]! : this.g.add('pack', parts, { axis: 0 });
    this.known.set(v, [...ds]);
    return v;
  }

  /** Records the (possibly symbolic) element values of `v`. */
  setDims(v: Value, ds: readonly Dim[]): Value {
    if (!ds.every(isStatic) || !this.constOf(v)) this.known.set(v, [...ds]);
    return v;
  }

  // ---- nodes --------------------------------------------------------------------

  /** A node with one result. */
  op(op: OpName, inputs: Value[], attrs: Attrs = {}): Value {
    const outs = this.ops(op, inputs, attrs);
    if (outs.length !== 1) throw new Error(`${op} has ${outs.length} results`);
    return outs[0]!;
  }

  /** A node; its results (folded to constants when every operand is constant). */
  ops(op: OpName, inputs: Value[], attrs: Attrs = {}): Value[] {
    const d = OPS[op];
    if (d.effect === 'pure' && d.fusion !== 'source' && inputs.length > 0) {
      const consts = inputs.map((v) => this.constOf(v));
      if (consts.every((c) => c !== undefined)) {
        const folded = tryFold(op, consts as TensorData[], attrs, this.meter, this.evaluate);
        if (folded) return folded.map((t) => this.constant(t));
      }
    }
    this.meter.charge('nodes', 1, `a ${op} node`);
    return this.g.addNode(op, inputs, attrs, this.loc).outputs;
  }

  /** A cast; a cast of a lossless cast casts the original (int32 → int64 → int32 is the int32). */
  cast(x: Value, dtype: DType): Value {
    if (x.dtype === dtype) return x;
    const p = x.producer;
    if (p?.op === 'cast' && losslessCast(p.inputs[0]!.dtype, x.dtype)) return this.cast(p.inputs[0]!, dtype);
    return this.op('cast', [x], { dtype });
  }

  /**
   * A transpose. Transposes compose; a transpose of an elementwise result whose operands
   * are inverse transposes (or constants) moves above the op, where the transposes cancel:
   * transpose(relu(transpose(y, p)), p⁻¹) is relu(y). So NCHW islands between NHWC
   * convolutions vanish.
   */
  transpose(x: Value, perm: readonly number[]): Value {
    if (isIdentityPerm(perm)) return x;
    const p = x.producer;
    if (p?.op === 'transpose') {
      const inner = p.attrs.perm as readonly number[];
      return this.transpose(p.inputs[0]!, composePerm(perm, inner));
    }
    if (x.uses.length === 0 && !this.shared(x)) {
      const sunk = this.sinkTranspose(x, perm, 0);
      if (sunk) return sunk;
    }
    return this.op('transpose', [x], { perm: [...perm] });
  }

  /** transpose(x, perm) without a transpose node, when every leaf cancels or folds; else undefined. */
  private sinkTranspose(x: Value, perm: readonly number[], depth: number): Value | undefined {
    const p = x.producer;
    if (!p) return undefined;
    const r = perm.length;
    if (p.op === 'transpose') {
      const inner = p.attrs.perm as readonly number[];
      return cancelsPerm(perm, inner) ? p.inputs[0]! : undefined;
    }
    if (p.op === 'const') {
      if (x.shape.length > r) return undefined;
      const full = this.reshape(x, [...new Array<number>(r - x.shape.length).fill(1), ...x.shape]);
      const t = this.op('transpose', [full], { perm: [...perm] });
      return this.constOf(t) ? t : undefined;
    }
    const d = OPS[p.op];
    if (depth > 8 || d.fusion !== 'elementwise' || d.effect !== 'pure' || p.outputs.length !== 1 || x.shape.length !== r) return undefined;
    if (depth > 0 && (x.uses.length > 1 || this.shared(x))) return undefined;   // shared: would compute it twice
    if (p.inputs.some((u) => u.shape.length !== r && !this.constOf(u))) return undefined;
    // Check every leaf before building anything.
    if (!p.inputs.every((u) => this.canSink(u, perm, depth + 1))) return undefined;
    const ins = p.inputs.map((u) => this.sinkTranspose(u, perm, depth + 1)!);
    const loc = this.loc;
    this.loc = p.loc;                                                  // the moved op keeps its source line
    try {
      return this.op(p.op, ins, p.attrs);
    } finally {
      this.loc = loc;
    }
  }

  private canSink(x: Value, perm: readonly number[], depth: number): boolean {
    const p = x.producer;
    if (!p) return false;
    if (p.op === 'transpose') {
      const inner = p.attrs.perm as readonly number[];
      return cancelsPerm(perm, inner);
    }
    if (p.op === 'const') return x.shape.length <= perm.length;
    const d = OPS[p.op];
    if (depth > 8 || d.fusion !== 'elementwise' || d.effect !== 'pure' || p.outputs.length !== 1 || x.shape.length !== perm.length) return false;
    if (x.uses.length > 1 || this.shared(x)) return false;
    return p.inputs.every((u) => (u.shape.length === perm.length || this.constOf(u) !== undefined) && this.canSink(u, perm, depth + 1));
  }

  reshape(x: Value, shape: readonly Dim[]): Value {
    if (shapeEq(x.shape, shape)) return x;
    const p = x.producer;
    const src = p?.op === 'reshape' ? p.inputs[0]! : x;
    if (shapeEq(src.shape, shape)) return src;
    return this.op('reshape', [src], { shape: [...shape] });
  }

  /** Moves axis `from` to position `to`. */
  moveAxis(x: Value, from: number, to: number): Value {
    const r = x.shape.length;
    const perm = Array.from({ length: r }, (_, i) => i).filter((i) => i !== from);
    perm.splice(to, 0, from);
    return this.transpose(x, perm);
  }

  /** Inserts size-1 axes at the given positions of the result. */
  unsqueeze(x: Value, axes: readonly number[]): Value {
    const r = x.shape.length + axes.length;
    const norm = axes.map((a) => (a < 0 ? a + r : a));
    const out: Dim[] = [];
    let k = 0;
    for (let i = 0; i < r; i++) out.push(norm.includes(i) ? 1 : x.shape[k++]!);
    return this.reshape(x, out);
  }

  squeeze(x: Value, axes: readonly number[]): Value {
    const r = x.shape.length;
    const norm = axes.map((a) => (a < 0 ? a + r : a));
    return this.reshape(x, x.shape.filter((_, i) => !norm.includes(i)));
  }
}

/** Whether every value of dtype `from` survives a cast to `to`. */
function losslessCast(from: DType, to: DType): boolean {
  return from === to || from === 'bool' || (from === 'int32' && to === 'int64');
}
