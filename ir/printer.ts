/**
 * The canonical text form of a graph; `parseGraph` (parser.ts) reads it back, and
 * `printGraph(parseGraph(printGraph(g))) === printGraph(g)` for every graph.
 *
 *   graph @f(%x: f32[batch,784]) state(%dense_kernel: f32[784,10] = "dense/kernel" trainable) {
 *     %0: f32[batch,10] = matmul %x, %dense_kernel {transpose_a = false, transpose_b = false}
 *     %1: f32[10], %2: f32[10] = split %v {axis = 0, sizes = [10, 10]}
 *     %c: f32[2] = const {value = dense<f32[2]> [1, 0.1]} @ "examples/mlp.ts":14:10
 *     assign %0 {var = "dense/kernel"}
 *     init %dense_kernel = dense<f32[784,10]> b64"AAAA..."
 *     return logits = %0, hidden = %2
 *   }
 *
 * - Named values print as `%name`; unnamed ones are numbered `%0, %1, …` in order of
 *   definition. Names, output names and the graph name that are not identifiers are quoted.
 * - `state(...)` lists `%value: type = "var/name"` plus `trainable` when it is; each state's
 *   initial tensor is an `init %value = <tensor>` line after the nodes.
 * - Attrs sorted by name. Numbers print in their shortest exact form (`NaN`, `-Infinity`,
 *   `-0`), dims with dimToString, dtypes short (`f32`), strings as JSON.
 * - Tensors: `dense<f32[2,2]> [1, 2, 3, 4]` up to 16 elements (f32 in the shortest decimal
 *   that rounds to the same float32, bool as true/false, i64 exactly), otherwise
 *   `dense<f32[784,10]> b64"..."`: base64 of the little-endian bytes.
 * - A node's source location ends its line: `@ "file":line:col`.
 * - A control-flow node (ir/control_flow.ts) is followed by its regions, each on its own
 *   lines, indented one step more than the node, named by its role and numbered on its own
 *   (a region reads only its block arguments); a region returns its values by position:
 *
 *     %r: f32[batch] = cond %p, %x
 *       region then(%a: f32[batch]) {
 *         %0: f32[batch] = exp %a
 *         return %0
 *       }
 *       region else(%a: f32[batch]) {
 *         return %a
 *       }
 */
import type { DType } from './dtype.js';
import { dtypeShort, isDType } from './dtype.js';
import type { Dim } from './dim.js';
import { dimToString } from './dim.js';
import type { SourceLoc } from './errors.js';
import type { Graph, Node, Value } from './graph.js';
import { setGraphPrinter, typeToString } from './graph.js';
import type { AttrKind, AttrValue } from './ops.js';
import { isOpName, OPS } from './ops.js';
import type { TensorData } from './tensor_data.js';
import { base64Encode, tensorBytes } from './tensor_bytes.js';

export const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Tensors with at most this many elements print their elements inline. */
export const INLINE_TENSOR_LIMIT = 16;

/** An identifier as is, anything else as a JSON string. */
export function quoteName(s: string): string {
  return IDENT_RE.test(s) ? s : JSON.stringify(s);
}

/** Shortest text that reads back as exactly `x` (`-0`, `NaN`, `Infinity` included). */
export function formatNumber(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

/** Shortest decimal that reads back, after rounding to float32, as the float32 `x`. */
export function formatFloat32(x: number): string {
  if (!Number.isFinite(x) || Object.is(x, -0) || x === 0) return formatNumber(x);
  for (let p = 1; p <= 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === x) return String(d);
  }
  return String(x);
}

/** A dim; anything else (only a broken node holds one: the verifier reports it) prints as `?` and its JS value. */
export function formatDim(d: Dim): string {
  if (typeof d === 'number') return formatNumber(d);
  if (typeof d === 'object' && d !== null && typeof d.sym === 'string' && typeof d.k === 'number' && typeof d.c === 'number') return dimToString(d);
  return `?${typeof d === 'object' && d !== null ? JSON.stringify(d) ?? String(d) : String(d)}`;
}

export function formatLoc(l: SourceLoc): string {
  return `${JSON.stringify(l.file)}:${l.line}:${l.col}`;
}

export function isTensorData(v: unknown): v is TensorData {
  return typeof v === 'object' && v !== null && 'dtype' in v && 'shape' in v && 'data' in v && ArrayBuffer.isView(v.data);
}

const CANONICAL_NAN_BITS = new Uint32Array(new Float32Array([NaN]).buffer)[0]!;

/** Whether the inline element list reproduces the exact bytes. */
function inlineExact(t: TensorData): boolean {
  if (t.dtype === 'bool') return t.data.every((b) => b === 0 || b === 1);
  if (t.dtype === 'float32') {
    const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    return t.data.every((x, i) => !Number.isNaN(x) || bits[i] === CANONICAL_NAN_BITS);
  }
  return true;
}

function formatElement(dtype: DType, x: number | bigint): string {
  switch (dtype) {
    case 'float32': return formatFloat32(x as number);
    case 'bool': return x ? 'true' : 'false';
    default: return String(x);
  }
}

export function formatTensor(t: TensorData): string {
  const head = `dense<${dtypeShort(t.dtype)}[${t.shape.join(',')}]>`;
  if (t.data.length <= INLINE_TENSOR_LIMIT && inlineExact(t)) {
    const elems: string[] = [];
    for (let i = 0; i < t.data.length; i++) elems.push(formatElement(t.dtype, t.data[i]!));
    return `${head} [${elems.join(', ')}]`;
  }
  return `${head} b64"${base64Encode(tensorBytes(t))}"`;
}

/**
 * An attr value. The kind decides only what the value's own shape cannot (a dtype vs a
 * string); a value of the wrong kind still prints, and the verifier reports it.
 */
export function formatAttrValue(v: AttrValue, kind?: AttrKind): string {
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return kind === 'dtype' && isDType(v) ? dtypeShort(v) : JSON.stringify(v);
  if (Array.isArray(v)) return `[${(v as readonly Dim[]).map(formatDim).join(', ')}]`;
  if (isTensorData(v)) return formatTensor(v);
  return formatDim(v as Dim);
}

/**
 * Text names of a graph's values: `name` for named ones, numbers in order of definition
 * for the rest. A value outside the graph prints as `%?<id>` (only broken graphs have one).
 */
export class ValueNames {
  private readonly text = new Map<Value, string>();
  constructor(g: Graph) {
    const taken = new Set<string>();
    for (const v of g.values()) if (v.name !== undefined) taken.add(v.name);
    let next = 0;
    for (const v of g.values()) {
      if (this.text.has(v)) continue;
      if (v.name !== undefined) {
        this.text.set(v, quoteName(v.name));
      } else {
        while (taken.has(String(next))) next++;
        this.text.set(v, String(next++));
      }
    }
  }

  ref(v: Value): string {
    return `%${this.text.get(v) ?? `?${v.id}`}`;
  }
}

export function printNode(n: Node, names: ValueNames): string {
  const defs = n.outputs.map((o) => `${names.ref(o)}: ${typeToString(o.type)}`).join(', ');
  let s = defs === '' ? n.op : `${defs} = ${n.op}`;
  if (n.inputs.length > 0) s += ` ${n.inputs.map((v) => names.ref(v)).join(', ')}`;
  const schema: Readonly<Record<string, AttrKind>> = isOpName(n.op) ? OPS[n.op].attrs : {};
  const keys = Object.keys(n.attrs).filter((k) => n.attrs[k] !== undefined).sort();
  if (keys.length > 0) {
    s += ` {${keys.map((k) => `${quoteName(k)} = ${formatAttrValue(n.attrs[k]!, schema[k])}`).join(', ')}}`;
  }
  if (n.loc) s += ` @ ${formatLoc(n.loc)}`;
  return s;
}

export function printGraph(g: Graph): string {
  return graphLines(g, '', false).join('\n');
}

/**
 * A graph's lines at an indent: a top-level graph (`graph @f(...) { ... return out = %v }`) or
 * a region (`region body(...) { ... return %v, %w }`: its role, no states, outputs by position).
 * Each region has its own value names: it reads no outer value (ir/control_flow.ts).
 */
function graphLines(g: Graph, indent: string, region: string | false): string[] {
  const names = new ValueNames(g);
  const decl = (v: Value): string => `${names.ref(v)}: ${typeToString(v.type)}`;
  let head = region === false
    ? `graph @${quoteName(g.name)}(${g.inputs.map(decl).join(', ')})`
    : `region ${region}(${g.inputs.map(decl).join(', ')})`;
  if (g.states.length > 0) {
    const states = g.states.map((s) => `${decl(s.value)} = ${JSON.stringify(s.name)}${s.trainable ? ' trainable' : ''}`);
    head += ` state(${states.join(', ')})`;
  }
  const lines = [`${indent}${head} {`];
  const inner = `${indent}  `;
  for (const n of g.nodes) {
    lines.push(`${inner}${printNode(n, names)}`);
    if (n.regions.length === 0) continue;
    const roles: readonly string[] = (isOpName(n.op) ? OPS[n.op].regions : undefined) ?? [];
    n.regions.forEach((r, k) => lines.push(...graphLines(r, `${inner}  `, roles[k] ?? `region${k}`)));
  }
  for (const s of g.states) lines.push(`${inner}init ${names.ref(s.value)} = ${formatTensor(s.init)}`);
  const outs = region === false
    ? g.outputs.map((o) => `${quoteName(o.name)} = ${names.ref(o.value)}`)
    : g.outputs.map((o) => names.ref(o.value));
  lines.push(outs.length > 0 ? `${inner}return ${outs.join(', ')}` : `${inner}return`);
  lines.push(`${indent}}`);
  return lines;
}

setGraphPrinter(printGraph);
