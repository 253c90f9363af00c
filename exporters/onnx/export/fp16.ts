/**
 * float16 models: weights and compute in float16, for half the file and (on GPUs and recent
 * CPUs) faster runs.
 *
 *   const half = convertToFloat16(onnx.ModelProto.decode(bytes));          // float32 inputs and outputs
 *   const raw = convertToFloat16(model, { keepIoTypes: false });           // float16 inputs and outputs
 *
 * - Every float32 tensor becomes float16: initializers and constants (rounded to nearest, ties
 *   to even, with subnormals, ±Inf and NaN kept), Cast to float, ConstantOfShape's value,
 *   value_info, and the inputs and outputs of If / Loop / Scan bodies.
 * - The ops that have no float16 form in ONNX or in ONNX Runtime's kernels, or that produce
 *   float32 whatever their inputs (FP32_OPS: Resize, Range, TopK, CumSum, Min, Max, random
 *   ops, …, the list onnxconverter-common keeps), compute in float32 between Casts; a float32
 *   constant that only they read stays float32.
 * - With keepIoTypes (the default), float32 graph inputs and outputs stay float32 and are Cast
 *   at the graph's edges, so callers feed and read what they did before.
 * Tensors held in external data cannot be converted here (a GcError): convert before writing them out.
 */
import { Codes, GcError } from '../../../ir/errors.js';
import { int64ToNumber, onnx } from '../proto.js';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
const INT64 = onnx.TensorProto.DataType.INT64;
const BOOL = onnx.TensorProto.DataType.BOOL;
const AT = onnx.AttributeProto.AttributeType;

export interface Float16Options {
  /** Keep float32 graph inputs and outputs (Cast at the edges); default true. */
  keepIoTypes?: boolean;
}

/** Ops kept in float32 (their float inputs Cast up, their float outputs Cast down). */
export const FP32_OPS: ReadonlySet<string> = new Set([
  // onnxconverter-common's block list (ai.onnx ops): no float16 kernels, or float32-only operands.
  'NonMaxSuppression', 'TopK', 'RoiAlign', 'Resize', 'Upsample', 'Range', 'CumSum', 'Min', 'Max',
  // float32 results whatever the operands, or float-only in ONNX Runtime's CPU kernels.
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli',
  'DequantizeLinear', 'QuantizeLinear', 'DynamicQuantizeLinear', 'HannWindow', 'HammingWindow', 'BlackmanWindow', 'MelWeightMatrix', 'STFT',
]);

// ---- float32 → float16 bits --------------------------------------------------------------------

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The IEEE binary16 bits nearest to float32 `v` (ties to even; overflow to ±Inf; NaN a quiet NaN). */
export function float32ToFloat16Bits(v: number): number {
  F32[0] = v;
  return halfOfBits(U32[0]!);
}

/** float32ToFloat16Bits of the float32 whose bits are `x`. */
function halfOfBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const f = x & 0x7fffffff;
  if (f >= 0x47800000) return sign | (f > 0x7f800000 ? 0x7e00 : 0x7c00); // ≥ 2^16 (rounds to Inf), Inf, NaN
  if (f >= 0x38800000) {
    // Normal: rebias, add half an ulp less one plus the kept lsb (ties to even), drop 13 bits.
    return sign | ((f - 0x38000000 + 0xfff + ((f >>> 13) & 1)) >>> 13);
  }
  // A float16 subnormal (or 0): the 24-bit significand shifted right by 14 − e, rounded.
  const e = (f >>> 23) - 112;
  if (e < -10) return sign;
  const mant = (f & 0x7fffff) | 0x800000;
  const shift = 14 - e;
  let h = mant >>> shift;
  const rem = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
  if (rem > mid || (rem === mid && (h & 1) === 1)) h++;
  return sign | h;
}

/** The value of binary16 bits `h` (exact). */
export function float16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f, mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float16 bits of float32 values, as little-endian bytes. */
export function toFloat16Bytes(values: Float32Array): Uint8Array {
  const n = values.length;
  const bits = new Uint32Array(values.buffer, values.byteOffset, n);
  if (LITTLE_ENDIAN) {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = halfOfBits(bits[i]!);
    return new Uint8Array(out.buffer);
  }
  const out = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) {
    const h = halfOfBits(bits[i]!);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >>> 8;
  }
  return out;
}

/** The float32 values of a FLOAT TensorProto (raw_data little-endian, or float_data). */
function floatsOf(t: onnx.ITensorProto, where: string): Float32Array {
  if ((t.dataLocation ?? 0) === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0) {
    throw new GcError({ code: Codes.exportOptions, message: `convertToFloat16: tensor '${t.name ?? ''}' of ${where} is held in external data`,
      help: 'convert the model to float16 before writing its weights to external data' });
  }
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    if (LITTLE_ENDIAN) {
      const n = raw.byteLength >>> 2;
      if (raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, n);
      const copy = new Uint8Array(4 * n);
      copy.set(raw.subarray(0, 4 * n));
      return new Float32Array(copy.buffer);
    }
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Float32Array.from({ length: raw.byteLength >>> 2 }, (_, i) => dv.getFloat32(4 * i, true));
  }
  return Float32Array.from(t.floatData ?? []);
}

/** A FLOAT tensor as FLOAT16 (a new proto; other tensors as they are). */
function tensorToHalf(t: onnx.ITensorProto, where: string): onnx.ITensorProto {
  if (t.dataType !== FLOAT) return t;
  const { floatData: _f, rawData: _r, ...rest } = t;
  return { ...rest, dataType: FLOAT16, rawData: toFloat16Bytes(floatsOf(t, where)) };
}

// ---- element types -------------------------------------------------------------------------------

const BOOL_OPS = new Set(['Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);
const INT64_OPS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);

const attrOf = (n: onnx.INodeProto, name: string) => n.attribute?.find((a) => a.name === name);
const elemOf = (v: onnx.IValueInfoProto) => v.type?.tensorType?.elemType ?? undefined;

/**
 * The element type of each value of `g` that can be told (its inputs, initializers, value_info,
 * and what follows from them op by op), over `outer` (the graphs around it).
 */
function elemTypes(g: onnx.IGraphProto, outer: ReadonlyMap<string, number>): Map<string, number> {
  const m = new Map(outer);
  for (const v of [...g.input ?? [], ...g.valueInfo ?? [], ...g.output ?? []]) {
    const e = elemOf(v);
    if (e && v.name) m.set(v.name, e);
  }
  for (const t of g.initializer ?? []) if (t.name) m.set(t.name, t.dataType ?? 0);
  for (const n of g.node ?? []) {
    const outs = n.output ?? [];
    const first = (n.input ?? []).find((i) => i !== '' && m.has(i));
    const same = first === undefined ? undefined : m.get(first);
    const set = (i: number, e: number | undefined) => { const o = outs[i]; if (o && e !== undefined && !m.has(o)) m.set(o, e); };
    const op = n.opType ?? '';
    if (op === 'Cast') set(0, int64ToNumber(attrOf(n, 'to')?.i));
    else if (op === 'CastLike') set(0, m.get(n.input?.[1] ?? ''));
    else if (BOOL_OPS.has(op)) set(0, BOOL);
    else if (INT64_OPS.has(op)) set(0, INT64);
    else if (op === 'Constant') {
      const a = n.attribute?.[0];
      set(0, a?.t ? a.t.dataType ?? undefined : a?.name === 'value_float' || a?.name === 'value_floats' ? FLOAT : a?.name?.startsWith('value_int') ? INT64 : undefined);
    } else if (op === 'ConstantOfShape') set(0, attrOf(n, 'value')?.t?.dataType ?? FLOAT);
    else if (op === 'RandomNormal' || op === 'RandomUniform') set(0, int64ToNumber(attrOf(n, 'dtype')?.i ?? FLOAT));
    else if (op === 'Where') set(0, m.get(n.input?.[1] ?? ''));
    else if (op === 'OneHot') set(0, m.get(n.input?.[2] ?? ''));
    else if (op === 'TopK' || op === 'MaxPool') { set(0, same); set(1, INT64); }
    else if (op === 'If' || op === 'Loop' || op === 'Scan') {
      const body = attrOf(n, op === 'If' ? 'then_branch' : 'body')?.g;
      const bodyOuts = (body?.output ?? []).slice(op === 'Loop' ? 1 : 0);
      bodyOuts.forEach((v, i) => set(i, elemOf(v)));
    } else outs.forEach((_, i) => set(i, same));
  }
  return m;
}

// ---- names ---------------------------------------------------------------------------------------

class Names {
  private readonly used = new Set<string>();
  constructor(g: onnx.IGraphProto) { this.collect(g); }
  private collect(g: onnx.IGraphProto): void {
    for (const v of [...g.input ?? [], ...g.output ?? [], ...g.valueInfo ?? []]) if (v.name) this.used.add(v.name);
    for (const t of g.initializer ?? []) if (t.name) this.used.add(t.name);
    for (const n of g.node ?? []) {
      if (n.name) this.used.add(n.name);
      for (const x of [...n.input ?? [], ...n.output ?? []]) this.used.add(x);
      for (const a of n.attribute ?? []) {
        if (a.g) this.collect(a.g);
        for (const s of a.graphs ?? []) this.collect(s);
      }
    }
  }
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

const subgraphs = (n: onnx.INodeProto): onnx.IGraphProto[] => (n.attribute ?? []).flatMap((a) => [...(a.g ? [a.g] : []), ...a.graphs ?? []]);

/** Whether `g` defines `name` (an input, initializer or node output): then its subgraphs' `name` is its own. */
function defines(g: onnx.IGraphProto, name: string): boolean {
  return (g.input ?? []).some((v) => v.name === name) || (g.initializer ?? []).some((t) => t.name === name)
    || (g.node ?? []).some((n) => (n.output ?? []).includes(name));
}

/** The names a subgraph reads from the graphs around it. */
function outerReads(g: onnx.IGraphProto, out = new Set<string>()): Set<string> {
  for (const n of g.node ?? []) {
    for (const i of n.input ?? []) if (i !== '' && !defines(g, i)) out.add(i);
    for (const s of subgraphs(n)) for (const i of outerReads(s)) if (!defines(g, i)) out.add(i);
  }
  for (const o of g.output ?? []) if (o.name && !defines(g, o.name)) out.add(o.name);
  return out;
}

/** Points every read of `from` in `g`'s nodes (and in subgraphs that do not define `from` themselves) at `to`. */
function renameReads(g: onnx.IGraphProto, from: string, to: string, skip?: onnx.INodeProto): void {
  for (const n of g.node ?? []) {
    if (n === skip) continue;
    n.input = (n.input ?? []).map((i) => (i === from ? to : i));
    for (const s of subgraphs(n)) {
      if (!defines(s, from)) renameReads(s, from, to);
      s.output = (s.output ?? []).map((o) => (o.name === from && !defines(s, from) ? { ...o, name: to } : o));
    }
  }
}

// ---- the conversion ------------------------------------------------------------------------------

const castNode = (names: Names, input: string, output: string, to: number): onnx.INodeProto =>
  ({ opType: 'Cast', input: [input], output: [output], name: names.fresh(`${output}_cast`), attribute: [{ name: 'to', type: AT.INT, i: to }], domain: '' });

const halfType = (v: onnx.IValueInfoProto): onnx.IValueInfoProto =>
  (elemOf(v) === FLOAT ? { ...v, type: { ...v.type, tensorType: { ...v.type!.tensorType, elemType: FLOAT16 } } } : v);

/** Converts graph `g` in place (its subgraphs too); `io`: the main graph with keepIoTypes. */
function convertGraph(g: onnx.IGraphProto, outer: ReadonlyMap<string, number>, names: Names, io: boolean): void {
  const types = elemTypes(g, outer);
  const isFloat = (x: string) => x !== '' && types.get(x) === FLOAT;
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t] as const));
  const fp32Copies = new Map<string, string>();
  const nodes: onnx.INodeProto[] = [];

  // Float32 graph inputs kept as they are: a Cast to float16 that the graph reads instead.
  const edgeIn: string[] = [];
  if (io) {
    for (const v of g.input ?? []) if (elemOf(v) === FLOAT && v.name) edgeIn.push(v.name);
    // An initializer that is a graph output stays float32 too (read through a Cast like an input).
    for (const o of g.output ?? []) if (elemOf(o) === FLOAT && o.name && inits.has(o.name)) edgeIn.push(o.name);
  }
  const edgeOf = new Map<string, string>();
  for (const x of edgeIn) {
    const half = names.fresh(`${x}_fp16`);
    renameReads(g, x, half);
    edgeOf.set(half, x);
    nodes.push(castNode(names, x, half, FLOAT16));
  }

  // A Cast to float that only Casts to integers read (tfjs-layers' embedding casts its ids
  // int → float → int) stays float32: float16 holds integers exactly only up to 2048.
  const keep32 = new Set<string>();
  const readers = new Map<string, onnx.INodeProto[]>();
  for (const n of g.node ?? []) for (const i of n.input ?? []) readers.set(i, [...readers.get(i) ?? [], n]);
  const outer32 = new Set<string>([...(g.output ?? []).map((o) => o.name ?? ''), ...(g.node ?? []).flatMap((n) => subgraphs(n).flatMap((s) => [...outerReads(s)]))]);
  const INT_TYPES = new Set([2, 3, 4, 5, 6, 7, 9, 12, 13]);
  for (const n of g.node ?? []) {
    const o = n.output?.[0];
    if (n.opType !== 'Cast' || int64ToNumber(attrOf(n, 'to')?.i) !== FLOAT || o === undefined || outer32.has(o)) continue;
    const rs = readers.get(o) ?? [];
    if (rs.length > 0 && rs.every((r) => r.opType === 'Cast' && INT_TYPES.has(int64ToNumber(attrOf(r, 'to')?.i)))) keep32.add(o);
  }

  for (const n of g.node ?? []) {
    const op = n.opType ?? '';
    for (const s of subgraphs(n)) convertGraph(s, types, names, false);
    if (op === 'Cast' && keep32.has(n.output?.[0] ?? '')) { nodes.push(n); continue; }
    if (FP32_OPS.has(op) && (n.domain ?? '') === '') {
      n.input = (n.input ?? []).map((x) => {
        // A float32 graph input (or output initializer) is read as it is.
        const edge = edgeOf.get(x);
        if (edge !== undefined) return edge;
        if (!isFloat(x)) return x;
        if (inits.has(x)) {
          let c = fp32Copies.get(x);
          if (c === undefined) {
            c = names.fresh(`${x}_fp32`);
            fp32Copies.set(x, c);
          }
          return c;
        }
        const up = names.fresh(`${x}_fp32`);
        nodes.push(castNode(names, x, up, FLOAT));
        return up;
      });
      const after: onnx.INodeProto[] = [];
      n.output = (n.output ?? []).map((o) => {
        if (!isFloat(o)) return o;
        const f = names.fresh(`${o}_fp32`);
        after.push(castNode(names, f, o, FLOAT16));
        return f;
      });
      nodes.push(n, ...after);
      continue;
    }
    if (op === 'Cast' && int64ToNumber(attrOf(n, 'to')?.i) === FLOAT) {
      n.attribute = (n.attribute ?? []).map((a) => (a.name === 'to' ? { ...a, i: FLOAT16 } : a));
    } else if (op === 'Constant') {
      n.attribute = (n.attribute ?? []).map((a) => {
        if (a.t) return { ...a, t: tensorToHalf(a.t, `Constant '${n.name ?? ''}'`) };
        if (a.name === 'value_float') return { name: 'value', type: AT.TENSOR, t: { dims: [], dataType: FLOAT16, rawData: toFloat16Bytes(Float32Array.of(a.f ?? 0)) } };
        if (a.name === 'value_floats') {
          const fs = Float32Array.from(a.floats ?? []);
          return { name: 'value', type: AT.TENSOR, t: { dims: [fs.length], dataType: FLOAT16, rawData: toFloat16Bytes(fs) } };
        }
        return a;
      });
    } else if (op === 'ConstantOfShape') {
      const v = attrOf(n, 'value');
      if (!v) n.attribute = [...n.attribute ?? [], { name: 'value', type: AT.TENSOR, t: { dims: [1], dataType: FLOAT16, rawData: new Uint8Array(2) } }];
      else if (v.t) n.attribute = (n.attribute ?? []).map((a) => (a === v ? { ...a, t: tensorToHalf(v.t!, `ConstantOfShape '${n.name ?? ''}'`) } : a));
    } else if (op === 'EyeLike' || op === 'RandomNormalLike' || op === 'RandomUniformLike') {
      n.attribute = (n.attribute ?? []).map((a) => (a.name === 'dtype' && int64ToNumber(a.i) === FLOAT ? { ...a, i: FLOAT16 } : a));
    }
    nodes.push(n);
  }

  // Float32 graph outputs: the graph computes a float16 value that a Cast writes out as float32.
  if (io) {
    for (const o of g.output ?? []) {
      const y = o.name ?? '';
      if (elemOf(o) !== FLOAT || edgeIn.includes(y) || (g.input ?? []).some((v) => v.name === y)) continue;
      const half = names.fresh(`${y}_fp16`);
      for (const n of nodes) n.output = (n.output ?? []).map((x) => (x === y ? half : x));
      renameReads({ node: nodes }, y, half);
      nodes.push(castNode(names, half, y, FLOAT));
    }
  }
  g.node = nodes;

  // Initializers: float32 ones become float16; what only the float32 ops read keeps a float32 copy.
  const read = new Set<string>();
  const collectReads = (h: onnx.IGraphProto) => { for (const n of h.node ?? []) { for (const i of n.input ?? []) read.add(i); for (const s of subgraphs(n)) collectReads(s); } };
  collectReads(g);
  for (const o of g.output ?? []) read.add(o.name ?? '');
  const out: onnx.ITensorProto[] = [];
  for (const t of g.initializer ?? []) {
    const name = t.name ?? '';
    const copy = fp32Copies.get(name);
    if (copy !== undefined) out.push({ ...t, name: copy });
    if (t.dataType !== FLOAT || (io && edgeIn.includes(name))) { out.push(t); continue; }
    if (read.has(name)) out.push(tensorToHalf(t, `initializer '${name}'`));
  }
  g.initializer = out;

  const keep = new Set([...keep32, ...io ? [...edgeIn, ...(g.output ?? []).map((o) => o.name ?? '')] : []]);
  const ioType = (v: onnx.IValueInfoProto) => (keep.has(v.name ?? '') ? v : halfType(v));
  if (!io) {
    g.input = (g.input ?? []).map(halfType);
    g.output = (g.output ?? []).map(halfType);
  }
  g.valueInfo = (g.valueInfo ?? []).map(ioType);
}

/**
 * A copy of `model` whose weights and compute are float16 (float32 graph inputs and outputs
 * unless keepIoTypes is false). The input model is not changed.
 */
export function convertToFloat16(model: onnx.ModelProto, opts: Float16Options = {}): onnx.ModelProto {
  if (!model.graph) return onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
  const graph = cloneGraph(model.graph);
  convertGraph(graph, new Map(), new Names(graph), opts.keepIoTypes ?? true);
  return onnx.ModelProto.create({ ...copyFields(model), graph });
}

/** A message's fields (own or default) as a plain object. */
function copyFields<T extends object>(m: T): T {
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(m)) o[k] = (m as Record<string, unknown>)[k];
  return o as T;
}

/**
 * A copy of a graph that convertGraph may change: new graph, node and attribute objects and
 * lists; tensors (their bytes) shared, as the conversion makes new ones instead of changing them.
 */
function cloneGraph(g: onnx.IGraphProto): onnx.IGraphProto {
  return {
    ...copyFields(g),
    node: (g.node ?? []).map((n) => ({
      ...copyFields(n),
      input: [...n.input ?? []],
      output: [...n.output ?? []],
      attribute: (n.attribute ?? []).map((a) => ({ ...copyFields(a), ...(a.g ? { g: cloneGraph(a.g) } : {}), ...(a.graphs?.length ? { graphs: a.graphs.map(cloneGraph) } : {}) })),
    })),
    initializer: [...g.initializer ?? []],
    input: [...g.input ?? []],
    output: [...g.output ?? []],
    valueInfo: [...g.valueInfo ?? []],
  };
}
