/**
 * The cases of the ONNX importer fuzzer: each is a model's bytes made from a (seed, index)
 * pair, so that any case is reproduced from the two numbers alone.
 *
 *   - bytes: a seed model with 1–8 byte mutations (bit flips, random bytes, inserted,
 *     deleted or repeated runs, varints made huge);
 *   - struct: a decoded seed model with 1–3 structural mutations (dims made huge, negative
 *     or 0; attributes set to extreme values or dropped; nodes duplicated, swapped, dropped or
 *     given another op type; operands renamed to undefined names or to their own outputs;
 *     graph inputs and outputs duplicated; opsets and element types changed; initializer
 *     dims or data changed);
 *   - hostile: a small generated model built to cost time or memory (giant Expand, Tile, Pad,
 *     ReduceSum, OneHot, ConstantOfShape, Range, Resize and pool shapes; nested and long
 *     Loops; deep If nesting; long chains; cycles; undefined names; bad attributes).
 *
 * Seeds are the ONNX backend node tests (Debian's libonnx-testdata) plus a few models graphc
 * itself exports (seeds.ts).
 */
import { DEFAULT_ARITY } from '../../exporters/onnx/import/arity.js';
import { onnx } from '../../exporters/onnx/proto.js';
import { Rng } from '../fuzz/rng.js';

export type CaseKind = 'bytes' | 'struct' | 'hostile';

export interface FuzzCase {
  readonly seed: number;
  readonly index: number;
  readonly kind: CaseKind;
  /** One line: the seed model or template and the mutations applied. */
  readonly summary: string;
  readonly bytes: Uint8Array;
}

export interface SeedModel {
  readonly name: string;
  readonly bytes: Uint8Array;
}

const A = onnx.AttributeProto.AttributeType;
const T = onnx.TensorProto.DataType;

/** The per-case stream: the same (seed, index) gives the same case whatever other cases drew. */
export function caseRng(seed: number, index: number): Rng {
  return new Rng((Math.imul(seed ^ 0x2c1b3c6d, 0x297a2d39) + Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}

export function makeCase(seeds: readonly SeedModel[], seed: number, index: number): FuzzCase {
  try {
    return generate(seeds, seed, index);
  } catch (e) {
    // The generator's own limits (protobufjs recurses per nesting level): an empty model instead.
    return { seed, index, kind: 'hostile', summary: `the generator failed (${(e as Error).message}): an empty file`, bytes: new Uint8Array(0) };
  }
}

function generate(seeds: readonly SeedModel[], seed: number, index: number): FuzzCase {
  const r = caseRng(seed, index);
  const kind = r.weighted({ bytes: 3, struct: 4, hostile: 4 } as Record<CaseKind, number>);
  if (kind === 'hostile' || seeds.length === 0) {
    const { summary, model } = hostile(r);
    return { seed, index, kind: 'hostile', summary, bytes: encode(model) };
  }
  const s = r.pick(seeds);
  if (kind === 'bytes') {
    const { bytes, what } = mutateBytes(r, s.bytes);
    return { seed, index, kind, summary: `${s.name}: ${what.join('; ')}`, bytes };
  }
  const m = onnx.ModelProto.decode(s.bytes);
  const what: string[] = [];
  const n = r.int(1, 3);
  for (let i = 0; i < n; i++) what.push(mutateStruct(r, m));
  return { seed, index, kind, summary: `${s.name}: ${what.join('; ')}`, bytes: encode(m) };
}

function encode(m: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(m as Record<string, unknown>)).finish();
}

// ---- byte mutations ------------------------------------------------------------------------

function mutateBytes(r: Rng, src: Uint8Array): { bytes: Uint8Array; what: string[] } {
  let b: Uint8Array = Uint8Array.from(src);
  const what: string[] = [];
  const n = r.int(1, 8);
  for (let k = 0; k < n && b.length > 0; k++) {
    const at = r.int(0, b.length - 1);
    switch (r.int(0, 5)) {
      case 0: { const bit = r.int(0, 7); b[at] = b[at]! ^ (1 << bit); what.push(`flip bit ${bit} of byte ${at}`); break; }
      case 1: { const v = r.int(0, 255); b[at] = v; what.push(`byte ${at} = ${v}`); break; }
      case 2: {
        const len = r.int(1, 16), ins = Uint8Array.from({ length: len }, () => r.int(0, 255));
        b = concat(b.subarray(0, at), ins, b.subarray(at)); what.push(`insert ${len} bytes at ${at}`); break;
      }
      case 3: { const len = r.int(1, 16); b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + len))); what.push(`delete ${len} bytes at ${at}`); break; }
      case 4: {
        const len = r.int(1, Math.min(64, b.length - at)), times = r.int(1, 4);
        const run = b.slice(at, at + len);
        b = concat(b.subarray(0, at + len), ...Array.from({ length: times }, () => run), b.subarray(at + len));
        what.push(`repeat ${len} bytes at ${at} ${times}×`); break;
      }
      default: {
        // A varint made huge (a length prefix or a dim): 0xff… continues it.
        const len = r.int(1, 9);
        b = concat(b.subarray(0, at), new Uint8Array(len).fill(0xff), Uint8Array.of(r.int(0, 0x7f)), b.subarray(at + 1));
        what.push(`huge varint (${len + 1} bytes) at ${at}`);
      }
    }
  }
  return { bytes: b, what };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

// ---- structural mutations --------------------------------------------------------------------

/** Dims and integers that break things: 0, 1, large, past int32, past 2^53's precision, negative. */
const EXTREME = [0, 1, 2, 3, 7, 255, 65536, 2 ** 20, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 40, 2 ** 53, -1, -2, -(2 ** 31), -(2 ** 40)];
const OP_TYPES = [...DEFAULT_ARITY.keys(), 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

function allNodes(g: onnx.IGraphProto | null | undefined, out: onnx.INodeProto[] = []): onnx.INodeProto[] {
  for (const n of g?.node ?? []) {
    out.push(n);
    for (const a of n.attribute ?? []) { if (a.g) allNodes(a.g, out); for (const sg of a.graphs ?? []) allNodes(sg, out); }
  }
  return out;
}

function mutateStruct(r: Rng, m: onnx.IModelProto): string {
  const g = (m.graph ??= {});
  const nodes = allNodes(g);
  const vis = [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])];
  const inits = g.initializer ?? [];
  const what = r.int(0, 15);
  switch (what) {
    case 0: {
      const dims = vis.flatMap((v) => v.type?.tensorType?.shape?.dim ?? []);
      if (dims.length === 0) break;
      const d = r.pick(dims), v = r.pick(EXTREME);
      d.dimParam = ''; d.dimValue = v;
      return `a dim = ${v}`;
    }
    case 1: {
      const ns = nodes.filter((n) => (n.attribute?.length ?? 0) > 0);
      if (ns.length === 0) break;
      const n = r.pick(ns), a = r.pick(n.attribute!), v = r.pick(EXTREME);
      if (a.type === A.INTS && (a.ints?.length ?? 0) > 0) { a.ints![r.int(0, a.ints!.length - 1)] = v; return `${n.opType}.${a.name}[k] = ${v}`; }
      if (a.type === A.INTS) { a.ints = [v]; return `${n.opType}.${a.name} = [${v}]`; }
      if (a.type === A.FLOAT) { a.f = r.pick([NaN, Infinity, -1e30, 0, -1]); return `${n.opType}.${a.name} = ${a.f}`; }
      a.type = A.INT; a.i = v;
      return `${n.opType}.${a.name} = ${v} (int)`;
    }
    case 2: {
      const ns = nodes.filter((n) => (n.attribute?.length ?? 0) > 0);
      if (ns.length === 0) break;
      const n = r.pick(ns), k = r.int(0, n.attribute!.length - 1);
      const [a] = n.attribute!.splice(k, 1);
      return `drop ${n.opType}.${a!.name}`;
    }
    case 3: {
      if (nodes.length === 0) break;
      const n = r.pick(nodes);
      (g.node ??= []).push(onnx.NodeProto.fromObject(onnx.NodeProto.toObject(onnx.NodeProto.fromObject(n as Record<string, unknown>))));
      return `duplicate node ${n.opType}`;
    }
    case 4: {
      const ns = g.node ?? [];
      if (ns.length < 2) break;
      const i = r.int(0, ns.length - 1), j = r.int(0, ns.length - 1);
      [ns[i], ns[j]] = [ns[j]!, ns[i]!];
      return `swap nodes ${i} and ${j}`;
    }
    case 5: {
      const ns = g.node ?? [];
      if (ns.length === 0) break;
      const [n] = ns.splice(r.int(0, ns.length - 1), 1);
      return `drop node ${n!.opType}`;
    }
    case 6: {
      if (nodes.length === 0) break;
      const n = r.pick(nodes), op = r.pick(OP_TYPES);
      const was = n.opType;
      n.opType = op;
      return `${was} → ${op}`;
    }
    case 7: {
      const ns = nodes.filter((n) => (n.input?.length ?? 0) > 0);
      if (ns.length === 0) break;
      const n = r.pick(ns), k = r.int(0, n.input!.length - 1);
      const to = r.chance(0.5) ? `undefined_${r.int(0, 99)}` : (n.output?.[0] ?? 'x');
      n.input![k] = to;
      return `${n.opType} operand ${k} = '${to}'`;
    }
    case 8: {
      const ns = nodes;
      if (ns.length === 0) break;
      const n = r.pick(ns);
      if (r.chance(0.5)) { (n.input ??= []).push(n.input?.[0] ?? 'x'); return `${n.opType} gets one more operand`; }
      (n.output ??= []).push(`extra_${r.int(0, 9)}`);
      return `${n.opType} gets one more result`;
    }
    case 9: {
      const list = r.chance(0.5) ? (g.input ??= []) : (g.output ??= []);
      if (list.length === 0) break;
      list.push(r.pick(list));
      return `duplicate a graph ${list === g.input ? 'input' : 'output'}`;
    }
    case 10: {
      const v = r.pick([0, 1, 6, 7, 12, 17, 18, 19, 1000, -1]);
      if (r.chance(0.3)) { (m.opsetImport ??= []).push({ domain: '', version: v }); return `a second default opset ${v}`; }
      for (const o of m.opsetImport ?? []) if (!o.domain) o.version = v;
      return `opset = ${v}`;
    }
    case 11: {
      const tts = vis.map((v) => v.type?.tensorType).filter((t) => t);
      if (tts.length === 0) break;
      const t = r.pick(tts)!, et = r.int(0, 20);
      t.elemType = et;
      return `an element type = ${et}`;
    }
    case 12: {
      if (inits.length === 0) break;
      const t = r.pick(inits);
      const dims = t.dims ?? [];
      if (dims.length > 0 && r.chance(0.7)) { const k = r.int(0, dims.length - 1), v = r.pick(EXTREME); dims[k] = v; return `initializer '${t.name}' dim ${k} = ${v}`; }
      t.dims = [...dims, r.pick(EXTREME)];
      return `initializer '${t.name}' gains a dim`;
    }
    case 13: {
      if (inits.length === 0) break;
      const t = r.pick(inits);
      if (t.rawData && t.rawData.length > 0) { t.rawData = t.rawData.subarray(0, r.int(0, t.rawData.length - 1)); return `initializer '${t.name}' raw data truncated`; }
      t.dataType = r.int(0, 20);
      return `initializer '${t.name}' type = ${t.dataType}`;
    }
    case 14: {
      const ns = g.node ?? [];
      if (ns.length === 0) break;
      const n = r.pick(ns), o = r.pick(g.input?.length ? g.input : [{ name: 'x' }]);
      if (n.output?.length) n.output[0] = o.name ?? 'x';
      return `${n.opType} writes graph input '${o.name}'`;
    }
    default: {
      // Some dims made symbolic (shapes known only at run time).
      const tts = vis.map((v) => v.type?.tensorType).filter((t) => t);
      for (const t of tts) if (t?.shape) for (const d of t.shape.dim ?? []) if (r.chance(0.2)) { d.dimValue = null; d.dimParam = 'N'; }
      return 'some dims symbolic';
    }
  }
  return 'no change';
}

// ---- hostile models -------------------------------------------------------------------------

interface Built { summary: string; model: onnx.IModelProto }

const vi = (name: string, elemType: number, dims: (number | string)[]): onnx.IValueInfoProto => ({
  name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
});
const node = (opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = [], name = ''): onnx.INodeProto =>
  ({ opType, input, output, attribute, name });
const ints = (name: string, v: number[]): onnx.IAttributeProto => ({ name, type: A.INTS, ints: v });
const int = (name: string, v: number): onnx.IAttributeProto => ({ name, type: A.INT, i: v });
const float = (name: string, v: number): onnx.IAttributeProto => ({ name, type: A.FLOAT, f: v });
const i64 = (name: string, dims: number[], values: number[]): onnx.ITensorProto => ({ name, dataType: T.INT64, dims, int64Data: values });
const f32 = (name: string, dims: number[], values: number[]): onnx.ITensorProto => ({ name, dataType: T.FLOAT, dims, floatData: values });

function modelOf(nodes: onnx.INodeProto[], inputs: onnx.IValueInfoProto[], outputs: onnx.IValueInfoProto[], inits: onnx.ITensorProto[] = [], opset = 13): onnx.IModelProto {
  return { irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph: { name: 'hostile', node: nodes, input: inputs, output: outputs, initializer: inits } };
}

const BIG = [2 ** 16, 2 ** 20, 2 ** 24, 2 ** 28, 2 ** 30, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 40, 70368744177666];
const SMALL = [0, 1, 2, 3];
const dim = (r: Rng) => (r.chance(0.6) ? r.pick(BIG) : r.chance(0.5) ? r.pick(SMALL) : r.pick([-1, -2, -(2 ** 31)]));

const HOSTILE: ((r: Rng) => Built)[] = [
  (r) => {                                                                                     // Expand to a giant shape
    const shape = Array.from({ length: r.int(1, 4) }, () => dim(r));
    const fromInput = r.chance(0.5);
    return { summary: `Expand to [${shape}]${fromInput ? ' of an input' : ' of a constant'}`,
      model: modelOf([node('Expand', [fromInput ? 'x' : 'c', 's'], ['y'])], fromInput ? [vi('x', T.FLOAT, [1])] : [],
        [vi('y', T.FLOAT, shape.map(() => 'd'))], [i64('s', [shape.length], shape), ...(fromInput ? [] : [f32('c', [1], [1])])]) };
  },
  (r) => {                                                                                     // Tile
    const reps = Array.from({ length: 2 }, () => dim(r));
    const fromInput = r.chance(0.5);
    return { summary: `Tile by [${reps}]${fromInput ? ' of an input' : ''}`,
      model: modelOf([node('Tile', [fromInput ? 'x' : 'c', 'k'], ['y'])], fromInput ? [vi('x', T.FLOAT, [2, 2])] : [], [vi('y', T.FLOAT, ['a', 'b'])],
        [i64('k', [2], reps), ...(fromInput ? [] : [f32('c', [2, 2], [1, 2, 3, 4])])]) };
  },
  (r) => {                                                                                     // Pad
    const pads = Array.from({ length: 4 }, () => (r.chance(0.5) ? dim(r) : r.pick(SMALL)));
    return { summary: `Pad by [${pads}]`, model: modelOf([node('Pad', ['x', 'p'], ['y'], [{ name: 'mode', type: A.STRING, s: new TextEncoder().encode(r.pick(['constant', 'reflect', 'edge'])) }])],
      [vi('x', T.FLOAT, [2, 3])], [vi('y', T.FLOAT, ['a', 'b'])], [i64('p', [4], pads)]) };
  },
  (r) => {                                                                                     // ReduceSum of a huge or empty input
    const shape = [r.pick([0, 1, 2]), dim(r)];
    const asInit = r.chance(0.5);
    return { summary: `ReduceSum of ${asInit ? 'an initializer' : 'an input'} [${shape}]`,
      model: modelOf([node('ReduceSum', [asInit ? 'c' : 'x', 'ax'], ['y'], [int('keepdims', r.int(0, 1))])], asInit ? [] : [vi('x', T.FLOAT, shape)], [vi('y', T.FLOAT, ['a'])],
        [i64('ax', [1], [r.int(-1, 1)]), ...(asInit ? [{ name: 'c', dataType: T.FLOAT, dims: shape, rawData: new Uint8Array(0) }] : [])]) };
  },
  (r) => {                                                                                     // OneHot with a huge depth
    const depth = dim(r);
    return { summary: `OneHot depth ${depth}`, model: modelOf([node('OneHot', ['i', 'd', 'v'], ['y'], [int('axis', r.int(-2, 1))])], [vi('i', T.INT64, [3])], [vi('y', T.FLOAT, [3, 'd'])],
      [i64('d', [1], [depth]), f32('v', [2], [0, 1])]) };
  },
  (r) => {                                                                                     // ConstantOfShape / Range
    const shape = Array.from({ length: r.int(1, 3) }, () => dim(r));
    if (r.chance(0.5)) {
      return { summary: `ConstantOfShape [${shape}]`, model: modelOf([node('ConstantOfShape', ['s'], ['y'])], [], [vi('y', T.FLOAT, shape.map((_, i) => `d${i}`))], [i64('s', [shape.length], shape)]) };
    }
    const limit = dim(r), delta = r.pick([1, -1, 0, 1e-30, 2 ** -20]);
    return { summary: `Range to ${limit} by ${delta}`, model: modelOf([node('Range', ['a', 'b', 'c'], ['y'])], [], [vi('y', T.FLOAT, ['n'])],
      [f32('a', [], [0]), f32('b', [], [limit]), f32('c', [], [delta])]) };
  },
  (r) => {                                                                                     // Resize by a huge scale
    const sc = r.pick([2 ** 10, 2 ** 16, 1e9, -1, 0, NaN, Infinity]);
    return { summary: `Resize by ${sc}`, model: modelOf([node('Resize', ['x', '', 's'], ['y'], [{ name: 'mode', type: A.STRING, s: new TextEncoder().encode(r.pick(['nearest', 'linear', 'cubic'])) }])],
      [vi('x', T.FLOAT, [1, 1, 4, 4])], [vi('y', T.FLOAT, [1, 1, 'h', 'w'])], [f32('s', [4], [1, 1, sc, sc])]) };
  },
  (r) => {                                                                                     // pools and convs with hostile windows
    const op = r.pick(['MaxPool', 'AveragePool', 'LpPool', 'Conv', 'ConvTranspose']);
    const k = [dim(r), r.pick([1, 2, 3, 2 ** 20])];
    const attrs = [ints('kernel_shape', k)];
    if (r.chance(0.5)) attrs.push(ints('strides', [r.pick([0, 1, -1, 2 ** 31]), 1]));
    if (r.chance(0.5)) attrs.push(ints('pads', Array.from({ length: r.pick([2, 3, 4, 5]) }, () => r.pick([0, 1, -1, 2 ** 20]))));
    if (r.chance(0.3)) attrs.push(ints('dilations', [r.pick([0, 1, 2 ** 20]), 1]));
    if (r.chance(0.3)) attrs.push(int('ceil_mode', 1));
    const conv = op.startsWith('Conv');
    return { summary: `${op} ${attrs.map((a) => `${a.name}=[${a.ints ?? a.i}]`).join(' ')}`,
      model: modelOf([node(op, conv ? ['x', 'w'] : ['x'], ['y'], attrs)], [vi('x', T.FLOAT, [1, 1, r.pick([4, 64, 1024]), 4])], [vi('y', T.FLOAT, [1, 'c', 'h', 'w'])],
        conv ? [f32('w', [1, 1, 1, 1], [1])] : []) };
  },
  (r) => {                                                                                     // nested Loops
    const depth = r.int(1, r.chance(0.3) ? 40 : 4), trips = r.pick([0, 1, 2, 64, 4096, 2 ** 20, 2 ** 31]);
    let body: onnx.IGraphProto = { name: 'b0', node: [node('Add', ['v_in', 'one'], ['v_out']), node('Identity', ['c_in'], ['c_out'])],
      input: [vi('i', T.INT64, []), vi('c_in', T.BOOL, []), vi('v_in', T.FLOAT, [2])], output: [vi('c_out', T.BOOL, []), vi('v_out', T.FLOAT, [2])] };
    for (let d = 1; d < depth; d++) {
      body = { name: `b${d}`, node: [node('Loop', ['n', 'c_in', 'v_in'], ['v_out'], [{ name: 'body', type: A.GRAPH, g: rename(body, d) }]), node('Identity', ['c_in'], ['c_out'])],
        input: [vi('i', T.INT64, []), vi('c_in', T.BOOL, []), vi('v_in', T.FLOAT, [2])], output: [vi('c_out', T.BOOL, []), vi('v_out', T.FLOAT, [2])] };
    }
    return { summary: `${depth} nested Loops of ${trips} trips`, model: modelOf([node('Loop', ['n', 't', 'x'], ['y'], [{ name: 'body', type: A.GRAPH, g: rename(body, depth) }])],
      [vi('x', T.FLOAT, [2])], [vi('y', T.FLOAT, [2])], [i64('n', [], [trips]), { name: 't', dataType: T.BOOL, dims: [], int32Data: [1] }, f32('one', [], [1])]) };
  },
  (r) => {                                                                                     // deep If nesting
    const depth = r.pick([10, 100, 300, 1000]);
    let g: onnx.IGraphProto = { name: 'leaf', node: [node('Relu', ['x'], ['r0'])], output: [vi('r0', T.FLOAT, [2])] };
    for (let d = 1; d < depth; d++) {
      const other: onnx.IGraphProto = { name: `e${d}`, node: [node('Neg', ['x'], [`e${d}`])], output: [vi(`e${d}`, T.FLOAT, [2])] };
      g = { name: `g${d}`, node: [node('If', ['c'], [`r${d}`], [{ name: 'then_branch', type: A.GRAPH, g }, { name: 'else_branch', type: A.GRAPH, g: other }])], output: [vi(`r${d}`, T.FLOAT, [2])] };
    }
    return { summary: `If nested ${depth} deep`, model: modelOf(g.node!.map((n) => ({ ...n, output: ['y'] })),
      [vi('x', T.FLOAT, [2]), vi('c', T.BOOL, [])], [vi('y', T.FLOAT, [2])]) };
  },
  (r) => {                                                                                     // long chains
    const n = r.pick([1000, 2000, 5000]);
    const nodes = Array.from({ length: n }, (_, i) => node(r.pick(['Relu', 'Neg', 'Abs', 'Exp']), [i === 0 ? 'x' : `t${i - 1}`], [i === n - 1 ? 'y' : `t${i}`]));
    return { summary: `a chain of ${n} unary nodes`, model: modelOf(nodes, [vi('x', T.FLOAT, [r.pick([2, 1024])])], [vi('y', T.FLOAT, ['n'])]) };
  },
  (r) => {                                                                                     // broadcast binary ops and MatMul of huge shapes
    const op = r.pick(['Add', 'Mul', 'MatMul', 'Where', 'Concat']);
    const a = [dim(r), 1], b = [1, dim(r)];
    const consts = r.chance(0.5);
    const ins = op === 'Where' ? ['c', 'a', 'b'] : ['a', 'b'];
    return { summary: `${op} of [${a}] and [${b}]${consts ? ' (constants)' : ''}`,
      model: modelOf([node(op, ins, ['y'], op === 'Concat' ? [int('axis', r.int(-3, 2))] : [])],
        [...(consts ? [] : [vi('a', T.FLOAT, a), vi('b', T.FLOAT, b)]), ...(op === 'Where' ? [vi('c', T.BOOL, [1])] : [])], [vi('y', T.FLOAT, ['p', 'q'])],
        consts ? [f32('a', [1, 1], [1]), f32('b', [1, 1], [2]), { name: 'a_shape', dataType: T.INT64, dims: [2], int64Data: a }] : []) };
  },
  (r) => {                                                                                     // Reshape / Slice / Gather / Split with hostile values
    const op = r.pick(['Reshape', 'Slice', 'Gather', 'Split', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'CumSum', 'TopK']);
    const vals = Array.from({ length: r.int(1, 3) }, () => r.pick(EXTREME));
    const ins = op === 'Slice' ? ['x', 'v', 'v'] : op === 'Transpose' || op === 'Flatten' ? ['x'] : ['x', 'v'];
    const attrs = op === 'Transpose' ? [ints('perm', vals)] : op === 'Flatten' || op === 'Gather' ? [int('axis', r.pick(EXTREME))] : [];
    return { summary: `${op} with [${vals}]`, model: modelOf([node(op, ins, op === 'TopK' ? ['y', 'yi'] : ['y'], attrs)], [vi('x', T.FLOAT, [2, 3])],
      [vi('y', T.FLOAT, ['a', 'b']), ...(op === 'TopK' ? [vi('yi', T.INT64, ['a', 'b'])] : [])], [i64('v', [vals.length], vals)]) };
  },
  (r) => {                                                                                     // names: cycles, undefined, duplicates, shadowing
    const which = r.int(0, 3);
    const nodes = which === 0 ? [node('Add', ['x', 'b'], ['a']), node('Relu', ['a'], ['b']), node('Relu', ['b'], ['y'])]
      : which === 1 ? [node('Add', ['x', 'nowhere'], ['y'])]
        : which === 2 ? [node('Relu', ['x'], ['y']), node('Neg', ['x'], ['y'])]
          : [node('Relu', ['x'], ['x']), node('Relu', ['x'], ['y'])];
    return { summary: ['a cycle', 'an undefined operand', 'two nodes write y', 'a node writes the graph input'][which]!,
      model: modelOf(nodes, [vi('x', T.FLOAT, [2])], [vi('y', T.FLOAT, [2])]) };
  },
  (r) => {                                                                                     // random op, random arity, random attributes
    const op = r.pick(OP_TYPES);
    const nin = r.int(0, 4), nout = r.int(1, 3);
    const attrs: onnx.IAttributeProto[] = [];
    for (let k = r.int(0, 3); k > 0; k--) {
      const name = r.pick(['axis', 'axes', 'kernel_shape', 'pads', 'strides', 'size', 'group', 'perm', 'to', 'mode', 'alpha', 'epsilon', 'keepdims', 'constructor', '__proto__']);
      attrs.push(r.chance(0.5) ? int(name, r.pick(EXTREME)) : r.chance(0.5) ? ints(name, [r.pick(EXTREME), r.pick(EXTREME)]) : float(name, r.pick([NaN, -1, 1e38])));
    }
    const ins = Array.from({ length: nin }, (_, i) => ['x', 'k', 'x'][i % 3]!), outs = Array.from({ length: nout }, (_, i) => `y${i}`);
    return { summary: `${op} with ${nin} operands, ${nout} results, ${attrs.map((a) => a.name).join(',')}`,
      model: modelOf([node(op, ins, outs, attrs)], [vi('x', r.pick([T.FLOAT, T.INT64, T.BOOL, T.INT32]), [2, 3])], outs.map((o) => vi(o, T.FLOAT, ['a', 'b'])),
        [i64('k', [2], [r.pick(EXTREME), r.pick(EXTREME)])], r.pick([7, 11, 13, 17, 18])) };
  },
];

/** A subgraph's names made unique to its depth (ONNX scopes share one namespace). */
function rename(g: onnx.IGraphProto, d: number): onnx.IGraphProto {
  const map = (s: string) => (s === 'n' || s === 'one' ? s : `${s}_${d}`);
  const inner = (ns: onnx.INodeProto[]) => ns.map((n) => ({ ...n, input: (n.input ?? []).map(map), output: (n.output ?? []).map(map) }));
  return { ...g, node: inner(g.node ?? []), input: (g.input ?? []).map((v) => ({ ...v, name: map(v.name ?? '') })), output: (g.output ?? []).map((v) => ({ ...v, name: map(v.name ?? '') })) };
}

function hostile(r: Rng): Built {
  const k = r.int(0, HOSTILE.length - 1);
  return HOSTILE[k]!(r);
}
