/**
 * What an ONNX import rule works with: `Builder` emits IR nodes (folding nodes whose
 * operands are all constant, cancelling transposes, tracking the values of shape tensors),
 * and `NodeCtx` reads one ONNX node (operands, constant operands, attributes by type and
 * default) and fails with a GcError that names the node.
 */
import type { Dim, Shape } from '../../../ir/dim.js';
import { dimAdd, dimDiv, dimEq, dimProduct, dimScale, dimToString, isStatic, shapeEq, shapeToString } from '../../../ir/dim.js';
import type { DType } from '../../../ir/dtype.js';
import { Codes, GcError } from '../../../ir/errors.js';
import type { SourceLoc } from '../../../ir/errors.js';
import type { Graph, TensorType, Value } from '../../../ir/graph.js';
import type { Attrs, OpName } from '../../../ir/ops.js';
import { inferTypes, OPS } from '../../../ir/ops.js';
import { cancelsPerm, composePerm, isIdentityPerm } from '../../../ir/perm.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import { elementAt, sizeOf, tensorData } from '../../../ir/tensor_data.js';
import { evalNodeConst } from '../../../runtime/eval_const.js';
import { int64ToBigInt, int64ToNumber, onnx } from '../proto.js';
import type { LongLike } from '../proto.js';
import { tensorFromProto } from './tensor.js';

/** Error code of every ONNX import failure. */
export const IMPORT_ERROR = 'GC0501';

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

/** Integer constants read element by element at import time (shapes, axes, pads…) have at most this many elements. */
const DIMS_LIMIT = 1 << 16;

/** Folding leaves a node in place when its result would be this much larger than its operands. */
const FOLD_GROWTH_LIMIT = 1 << 16;

/**
 * Folding leaves a node in place when evaluating it would take more element operations
 * than this beyond reading its operands and writing its results (a matmul's multiply-adds,
 * a pool's windows). Linear work is bounded by FOLD_GROWTH_LIMIT and the operands, which
 * the model holds: a 1 GiB weight is still transposed once at import.
 */
const FOLD_WORK_LIMIT = 1 << 26;

/**
 * What one import may spend: every fromOnnx call gets these (ImportOptions.budget raises or
 * lowers them). A hostile model of a few hundred bytes can ask for a loop unrolled millions
 * of times or a constant of billions of elements; the import stops with GC0520 naming the
 * node that went past the budget.
 */
export interface ImportBudget {
  /** IR nodes built, plus ONNX nodes read, counting each unrolled iteration of a loop body (nested too). */
  readonly nodes: number;
  /**
   * Element operations of import-time evaluation (constant folding): elements read and
   * written, multiply-adds of a matmul. Past it nothing more is folded (those nodes run at
   * run time); it never fails an import.
   */
  readonly elements: number;
  /** Bytes of constants the graph holds: initializers, Constant nodes and folded results. */
  readonly bytes: number;
}

/** Defaults: far above real models (a 2 GiB ONNX file, the protobuf limit, has fewer bytes and nodes). */
export const DEFAULT_IMPORT_BUDGET: ImportBudget = {
  nodes: 500_000,
  elements: 2 ** 32,
  bytes: 2 ** 32,
};

const BUDGET_OPTION: Record<keyof ImportBudget, string> = { nodes: 'nodes', elements: 'elements', bytes: 'bytes' };

/** Thrown when an import goes past its ImportBudget (the importer adds the node). */
export class ImportBudgetError extends GcError {}

/** What import has spent so far, against its budget. */
export class ImportMeter {
  readonly budget: ImportBudget;
  readonly spent: Record<keyof ImportBudget, number> = { nodes: 0, elements: 0, bytes: 0 };

  constructor(budget: Partial<ImportBudget> = {}) {
    this.budget = { ...DEFAULT_IMPORT_BUDGET, ...budget };
    for (const k of Object.keys(this.budget) as (keyof ImportBudget)[]) {
      const v = this.budget[k];
      if (typeof v !== 'number' || !(v >= 0)) {
        throw new GcError({ code: Codes.importBudget, message: `import budget: '${k}' must be a number ≥ 0, got ${String(v)}` });
      }
    }
  }

  /** Whether spending `n` more of `what` stays within the budget. */
  fits(what: keyof ImportBudget, n: number): boolean {
    return this.spent[what] + n <= this.budget[what];
  }

  /** Spends `n` of `what`; throws ImportBudgetError (GC0520) when it goes past the budget. */
  charge(what: keyof ImportBudget, n: number, doing: string): void {
    if (!this.fits(what, n)) {
      const unit = what === 'nodes' ? 'nodes' : what === 'elements' ? 'element operations' : 'bytes';
      throw new ImportBudgetError({
        code: Codes.importBudget,
        message: `${doing} goes past the import budget of ${this.budget[what]} ${unit} (${this.spent[what]} spent, ${n} more needed)`,
        help: `if the model is trusted, raise the budget: fromOnnx(bytes, { budget: { ${BUDGET_OPTION[what]}: ${suggest(this.spent[what] + n)} } })`,
      });
    }
    this.spent[what] += n;
  }
}

/** A round number at least 2·n, for the help line. */
function suggest(n: number): string {
  const p = 2 ** Math.ceil(Math.log2(Math.max(2 * n, 1)));
  return p >= 2 ** 30 ? `2 ** ${Math.log2(p)}` : String(p);
}

const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = { float32: 4, int32: 4, bool: 1, int64: 8 };

/** Bytes of a tensor of `dtype` and `n` elements. */
export function bytesOf(dtype: DType, n: number): number {
  return BYTES_PER_ELEMENT[dtype] * n;
}

/**
 * Element operations to evaluate `op` on operands of `ins` giving `outs` (an upper bound):
 * a matmul does one multiply-add per output element and inner index, a pool or conv one
 * per output element and window element; any other op reads its operands and writes its
 * results a bounded number of times.
 */
export function foldWork(op: OpName, ins: readonly TensorType[], outs: readonly TensorType[], attrs: Attrs): number {
  const size = (t: TensorType) => (t.shape.every(isStatic) ? sizeOf(t.shape as number[]) : Infinity);
  const inN = ins.reduce((s, t) => s + size(t), 0);
  const outN = outs.reduce((s, t) => s + size(t), 0);
  const fusion = OPS[op].fusion;
  let per = 1;
  if (fusion === 'matmul' && ins[0]) {
    const a = ins[0].shape, r = a.length;
    const k = attrs.transpose_a === true ? a[r - 2] : a[r - 1];
    per = typeof k === 'number' ? Math.max(k, 1) : Infinity;
  } else if (fusion === 'pool') {
    const f = attrs.filter_size;
    per = Array.isArray(f) ? Math.max(1, (f as number[]).reduce((p, x) => p * x, 1)) : Infinity;
  } else if (fusion === 'conv') {
    per = ins[1] ? Math.max(1, size(ins[1])) : Infinity;
  }
  return inN + outN * per;
}

/** Magnitudes below this are int32's, with float32's spacing near 2^31 to spare. */
const INT32_SAFE = 2 ** 31 - 2 ** 8;

/**
 * Whether folding `op` (on tfjs, which computes int64 as int32) gave the exact int64
 * results: the same op computed in float32 stays within int32. Integer arithmetic wraps
 * modulo 2^32, so a result that fits int32 is exact even when a step overflowed; one that
 * does not fit is left to run time (ONNX Runtime computes it exactly; tfjs engines refuse
 * it), never folded to a wrapped constant (int64 1572864000 + 1572864000 was -1149239296).
 */
function int64Exact(op: OpName, ins: readonly TensorData[], attrs: Attrs): boolean {
  const asFloat = (t: TensorData): TensorData => (t.dtype === 'int64' || t.dtype === 'int32'
    ? { dtype: 'float32', shape: t.shape, data: Float32Array.from(t.data as ArrayLike<number | bigint>, Number) } : t);
  const floatAttrs = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, v === 'int64' || v === 'int32' ? 'float32' : v]));
  let outs: TensorData[];
  try {
    outs = evalNodeConst(op, ins.map(asFloat), floatAttrs);
  } catch {
    return true;                              // no float form of the op: as before
  }
  return outs.every((t) => Array.prototype.every.call(t.data, (x: number | bigint) => Math.abs(Number(x)) < INT32_SAFE || Number.isNaN(Number(x))));
}

/**
 * Emits IR nodes into a graph. Nodes whose operands are all constants are evaluated at
 * import time (on tfjs's cpu backend, the same kernels a Session runs) unless their result,
 * predicted by type inference before anything runs, grows past FOLD_GROWTH_LIMIT elements
 * or their work past FOLD_WORK_LIMIT; transposes of transposes compose, identity
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

  constructor(readonly g: Graph, budget: Partial<ImportBudget> = {}) {
    this.meter = new ImportMeter(budget);
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
        const folded = this.tryFold(op, consts as TensorData[], attrs);
        if (folded) return folded.map((t) => this.constant(t));
      }
    }
    this.meter.charge('nodes', 1, `a ${op} node`);
    return this.g.addNode(op, inputs, attrs, this.loc).outputs;
  }

  /**
   * The results of `op` on constants, or undefined to leave the node to run time. Sizes
   * come first, from the op's type inference: a result that would grow past
   * FOLD_GROWTH_LIMIT (and its operands), an evaluation past FOLD_WORK_LIMIT element
   * operations or past what the import budget has left, is not computed at all (a
   * 20-byte Tile to 2^28 elements is a node, not 29 s and 2 GB at import).
   */
  private tryFold(op: OpName, ins: TensorData[], attrs: Attrs): TensorData[] | undefined {
    let outTypes: TensorType[];
    try {
      outTypes = inferTypes(op, ins.map((t) => ({ dtype: t.dtype, shape: t.shape })), attrs);
    } catch {
      return undefined;                       // left to run time (the node is built and checked as usual)
    }
    if (!outTypes.every((t) => t.shape.every(isStatic))) return undefined;
    const inSize = ins.reduce((s, t) => s + t.data.length, 0);
    const outSize = outTypes.reduce((s, t) => s + sizeOf(t.shape as number[]), 0);
    if (outSize > Math.max(inSize, FOLD_GROWTH_LIMIT)) return undefined;
    const work = foldWork(op, ins, outTypes, attrs);
    const bytes = outTypes.reduce((s, t) => s + bytesOf(t.dtype, sizeOf(t.shape as number[])), 0);
    if (work - inSize - outSize > FOLD_WORK_LIMIT || !this.meter.fits('elements', work) || !this.meter.fits('bytes', bytes)) return undefined;
    let outs: TensorData[];
    try {
      outs = evalNodeConst(op, ins, attrs);
    } catch {
      return undefined;
    }
    this.meter.charge('elements', work, `folding ${op}`);
    if (outs.some((t) => t.dtype === 'int64') && OPS[op].fusion !== 'shape' && !int64Exact(op, ins, attrs)) return undefined;
    return outs;
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

// ---- attributes -------------------------------------------------------------------

const A = onnx.AttributeProto.AttributeType;

export type AttrType = 'int' | 'float' | 'string' | 'ints' | 'floats' | 'strings' | 'tensor' | 'graph';

function attrTypeName(t: number): string {
  const names: Record<number, string> = { [A.FLOAT]: 'float', [A.INT]: 'int', [A.STRING]: 'string', [A.TENSOR]: 'tensor',
    [A.GRAPH]: 'graph', [A.FLOATS]: 'floats', [A.INTS]: 'ints', [A.STRINGS]: 'strings', [A.TENSORS]: 'tensors', [A.GRAPHS]: 'graphs' };
  return names[t] ?? `type #${t}`;
}

/** Typed access to an ONNX node's attributes, with defaults. */
export class OnnxAttrs {
  private readonly byName = new Map<string, onnx.IAttributeProto>();
  constructor(node: onnx.INodeProto) {
    for (const a of node.attribute ?? []) this.byName.set(a.name ?? '', a);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  private get(name: string, type: number): onnx.IAttributeProto | undefined {
    const a = this.byName.get(name);
    if (a === undefined) return undefined;
    if (a.type !== undefined && a.type !== null && a.type !== A.UNDEFINED && a.type !== type) {
      ruleFail(`attribute '${name}' is ${attrTypeName(a.type)}, expected ${attrTypeName(type)}`);
    }
    return a;
  }

  int(name: string): number | undefined;
  int(name: string, dflt: number): number;
  int(name: string, dflt?: number): number | undefined {
    const a = this.get(name, A.INT);
    return a ? int64ToNumber(a.i as number | LongLike) : dflt;
  }

  /** An int attribute as a bigint (exact over the whole int64 range). */
  bigint(name: string): bigint | undefined {
    const a = this.get(name, A.INT);
    return a ? int64ToBigInt(a.i as number | LongLike) : undefined;
  }

  /** An ints attribute as bigints (exact over the whole int64 range). */
  bigints(name: string): bigint[] | undefined {
    const a = this.get(name, A.INTS);
    return a ? (a.ints ?? []).map((x) => int64ToBigInt(x as number | LongLike)) : undefined;
  }

  float(name: string): number | undefined;
  float(name: string, dflt: number): number;
  float(name: string, dflt?: number): number | undefined {
    const a = this.get(name, A.FLOAT);
    return a ? (a.f ?? 0) : dflt;
  }

  string(name: string): string | undefined;
  string(name: string, dflt: string): string;
  string(name: string, dflt?: string): string | undefined {
    const a = this.get(name, A.STRING);
    return a ? new TextDecoder().decode(a.s ?? new Uint8Array()) : dflt;
  }

  ints(name: string): number[] | undefined;
  ints(name: string, dflt: number[]): number[];
  ints(name: string, dflt?: number[]): number[] | undefined {
    const a = this.get(name, A.INTS);
    return a ? (a.ints ?? []).map((x) => int64ToNumber(x as number | LongLike)) : dflt;
  }

  floats(name: string): number[] | undefined;
  floats(name: string, dflt: number[]): number[];
  floats(name: string, dflt?: number[]): number[] | undefined {
    const a = this.get(name, A.FLOATS);
    return a ? [...(a.floats ?? [])] : dflt;
  }

  strings(name: string): string[] | undefined {
    const a = this.get(name, A.STRINGS);
    return a ? (a.strings ?? []).map((s) => new TextDecoder().decode(s)) : undefined;
  }

  graph(name: string): onnx.IGraphProto | undefined {
    const a = this.get(name, A.GRAPH);
    return a?.g ?? undefined;
  }

  tensor(name: string): TensorData | undefined {
    const a = this.get(name, A.TENSOR);
    if (!a) return undefined;
    try {
      return tensorFromProto(a.t ?? {});
    } catch (e) {
      return ruleFail(`attribute '${name}': ${(e as Error).message}`);
    }
  }
}

// ---- the node context ---------------------------------------------------------------

/** One ONNX node as a rule sees it. */
export class NodeCtx {
  readonly attr: OnnxAttrs;

  constructor(
    readonly node: onnx.INodeProto,
    readonly opset: number,
    readonly b: Builder,
    private readonly lookup: (name: string) => Value,
    private readonly typeOf: (name: string) => number | undefined = () => undefined,
    private readonly runGraph: (g: onnx.IGraphProto, inputs: Value[]) => Value[] = () => ruleFail('subgraphs are not supported here'),
  ) {
    this.attr = new OnnxAttrs(node);
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
    return new OnnxImportError({ code: IMPORT_ERROR, message: `${describeNode(this.node)}: ${message}`, help, notes });
  }
}

export function describeNode(n: onnx.INodeProto): string {
  const name = n.name ? `'${n.name}' ` : '';
  return `onnx node ${name}(${n.opType}${n.domain && n.domain !== 'ai.onnx' ? ` in domain ${n.domain}` : ''})`;
}

// ---- dim helpers for rules ----------------------------------------------------------

/** Product of dims, or undefined when it is not affine in one symbol. */
export function product(ds: readonly Dim[]): Dim | undefined {
  return dimProduct(ds);
}

export { dimAdd, dimDiv, dimEq, dimScale, isStatic, shapeToString };
export type { Dim, Shape };

// ---- rules ----------------------------------------------------------------------------

/** Translates one ONNX node: its results in the order of the node's outputs (undefined for ones not computed). */
export type ImportRule = (c: NodeCtx) => Value | (Value | undefined)[];

/** An ONNX op graphc does not import, with the reason. */
export interface ImportUnsupported {
  readonly unsupported: string;
}

export type RuleTable = Record<string, ImportRule | ImportUnsupported>;
