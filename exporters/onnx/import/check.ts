/**
 * The model-level checks of ONNX import, run before any node is translated: what
 * `onnx.checker.check_model` refuses, refused here with a GcError that names the node and
 * the values, so that no rule ever sees a model that is not well formed.
 *
 *   - opsets: each domain imported once;
 *   - names: graph inputs, graph outputs and initializers unique; every node output written
 *     once (SSA) and never a graph input, an initializer or an outer scope's name;
 *   - order: every operand defined before its node (graph input, initializer, earlier node,
 *     outer scope); an operand computed later is a cycle or an unsorted graph;
 *   - arity: operand and result counts within the op schema's bounds at the model's opset
 *     (arity.ts, from onnx's own schemas);
 *   - dims: no negative dim in initializers, graph inputs/outputs or value_info;
 *   - attributes whose values are wrong whatever the operands' shapes (a kernel of 0, a
 *     negative stride, an LRN size of 0, pads of odd length…).
 *
 * Subgraphs (If branches, Loop and Scan bodies) are checked the same way with the names of
 * their enclosing graphs in scope.
 */
import { Codes } from '../../../ir/errors.js';
import type { ErrorCode } from '../../../ir/errors.js';
import type { ArityRow } from './arity.js';
import { DEFAULT_ARITY, TRAINING_ARITY } from './arity.js';
import { describeNode, OnnxImportError } from './errors.js';
import { int64ToNumber, onnx } from '../proto.js';
import type { LongLike } from '../proto.js';

const A = onnx.AttributeProto.AttributeType;
const TRAINING_DOMAIN = 'ai.onnx.preview.training';

/** The domain as onnx spells it in a node: '' and 'ai.onnx' are the default domain. */
function domainOf(d: string | null | undefined): string {
  return !d || d === 'ai.onnx' ? '' : d;
}

function fail(code: ErrorCode, message: string, help?: string, notes?: string[]): never {
  throw new OnnxImportError({ code, message: message.startsWith('onnx node') ? message : `onnx import: ${message}`, help, notes });
}

const num = (x: number | LongLike | null | undefined) => int64ToNumber(x as number | LongLike);

/**
 * Checks a decoded model; throws a GcError on the first problem found. `opset` is the
 * default-domain opset the importer reads the model at.
 */
export function checkModel(model: onnx.IModelProto, opset: number): void {
  const seen = new Map<string, number>();
  for (const o of model.opsetImport ?? []) {
    const d = domainOf(o.domain), v = num(o.version);
    const prev = seen.get(d);
    if (prev !== undefined) {
      fail(Codes.onnxOpsetTwice, `the model imports the domain ${d === '' ? "'' (ai.onnx)" : `'${d}'`} twice (opsets ${prev} and ${v})`,
        'list each domain once in opset_import');
    }
    seen.set(d, v);
  }
  if (!model.graph) return;
  // A worklist, not recursion: a hostile model nests subgraphs thousands deep.
  const opsets = { opset, trainingOpset: seen.get(TRAINING_DOMAIN) ?? 1 };
  const work: Pending[] = [{ g: model.graph, outer: undefined, where: 'the main graph', depth: 0 }];
  for (let p = work.pop(); p !== undefined; p = work.pop()) {
    if (p.depth > MAX_SUBGRAPH_DEPTH) {
      fail(Codes.onnxNames, `subgraphs are nested more than ${MAX_SUBGRAPH_DEPTH} deep (${p.where})`,
        'graphc reads If/Loop/Scan bodies nested at most this deep');
    }
    checkGraph(p, opsets, work);
  }
}

/** Subgraphs (If branches, Loop and Scan bodies) nested deeper than this are refused. */
export const MAX_SUBGRAPH_DEPTH = 256;

interface Pending { readonly g: onnx.IGraphProto; readonly outer: Scope | undefined; readonly where: string; readonly depth: number }

/**
 * The names visible in a graph: its own, then its enclosing graphs' names defined before the
 * node that holds it (a subgraph is checked after its graph, so each scope remembers how
 * many of its parent's names it sees).
 */
class Scope {
  private readonly own = new Map<string, { origin: string; seq: number }>();
  constructor(private readonly parent: Scope | undefined, private readonly limit: number) {}
  get(name: string, limit = Infinity): string | undefined {
    const e = this.own.get(name);
    if (e !== undefined && e.seq < limit) return e.origin;
    return this.parent?.get(name, this.limit);
  }
  has(name: string): boolean { return this.get(name) !== undefined; }
  set(name: string, origin: string): void { this.own.set(name, { origin, seq: this.own.size }); }
  /** The scope of a subgraph of the node being checked now. */
  child(): Scope { return new Scope(this, this.own.size); }
}

interface Opsets { readonly opset: number; readonly trainingOpset: number }

function checkGraph({ g, outer, where, depth }: Pending, opsets: Opsets, work: Pending[]): void {
  const scope = new Scope(outer, 0);
  const gname = g.name ? `graph '${g.name}'` : where;
  const define = (name: string, origin: string, node?: onnx.INodeProto) => {
    const prev = scope.get(name);
    if (prev !== undefined) {
      const what = node ? `${describeNode(node)}: its output '${name}'` : `'${name}' (${origin})`;
      fail(Codes.onnxNames, `${what} is already defined (as ${prev}); ONNX graphs assign each name once`,
        'rename one of the two values', [`in ${gname}`]);
    }
    scope.set(name, origin);
  };

  const inits = new Set<string>();
  for (const t of g.initializer ?? []) {
    const name = t.name ?? '';
    if (inits.has(name)) fail(Codes.onnxNames, `initializer '${name}' is listed twice in ${gname}`, 'give each initializer one entry');
    inits.add(name);
    const dims = (t.dims ?? []).map(num);
    if (dims.some((d) => d < 0 || !Number.isSafeInteger(d))) {
      fail(Codes.onnxDims, `initializer '${name}' has dims [${dims.join(',')}]; a dim is a non-negative integer`);
    }
  }
  const inputNames = new Set<string>();
  for (const vi of g.input ?? []) {
    const name = vi.name ?? '';
    if (inputNames.has(name)) {
      fail(Codes.onnxNames, `graph input '${name}' is listed twice in ${gname}`, 'give each graph input one entry');
    }
    inputNames.add(name);
    checkValueInfo(vi, 'graph input', gname);
    define(name, inits.has(name) ? 'a graph input with an initializer' : 'a graph input');
  }
  for (const name of inits) if (!inputNames.has(name)) define(name, 'an initializer');
  for (const vi of g.valueInfo ?? []) checkValueInfo(vi, 'value_info', gname);
  for (const vi of g.output ?? []) checkValueInfo(vi, 'graph output', gname);

  // Which node (by index) writes each name, to tell an operand defined later from an undefined one.
  const nodes = g.node ?? [];
  const writer = new Map<string, number>();
  nodes.forEach((n, i) => { for (const o of n.output ?? []) if (o !== '' && !writer.has(o)) writer.set(o, i); });

  nodes.forEach((n, i) => {
    checkArity(n, opsets);
    checkAttrs(n);
    for (const name of n.input ?? []) {
      if (name === '' || scope.has(name)) continue;
      const j = writer.get(name);
      if (j === undefined) {
        fail(Codes.onnxNames, `${describeNode(n)}: operand '${name}' is not defined (no graph input, initializer, node output or outer value has that name)`,
          undefined, [`in ${gname}, node #${i}`]);
      }
      const cycle = reaches(nodes, j, i, writer);
      fail(Codes.onnxNames, `${describeNode(n)}: operand '${name}' is computed by a later node, ${describeNode(nodes[j]!)} (#${j} after #${i})`
        + (cycle ? ', which itself depends on this node: the graph has a cycle' : ': the nodes are not in topological order'),
      cycle ? 'ONNX graphs are acyclic; loops are Loop or Scan nodes' : 'sort the nodes so that each comes after the nodes it reads');
    }
    for (const a of n.attribute ?? []) {
      const subs = a.g ? [a.g] : (a.graphs ?? []);
      subs.forEach((sg, k) => work.push({ g: sg, outer: scope.child(), where: `the subgraph '${a.name}'${subs.length > 1 ? `[${k}]` : ''} of ${describeNode(n)}`, depth: depth + 1 }));
    }
    const outs = new Set<string>();
    for (const o of n.output ?? []) {
      if (o === '') continue;
      if (outs.has(o)) fail(Codes.onnxNames, `${describeNode(n)}: writes '${o}' twice`, 'give each output its own name');
      outs.add(o);
      define(o, `the output of ${describeNode(n)}`.replace('onnx node ', 'node '), n);
    }
  });

  const outNames = new Set<string>();
  for (const vi of g.output ?? []) {
    const name = vi.name ?? '';
    if (outNames.has(name)) fail(Codes.onnxNames, `graph output '${name}' is listed twice in ${gname}`, 'give each graph output one entry');
    outNames.add(name);
    if (!scope.has(name)) {
      fail(Codes.onnxNames, `graph output '${name}' is not defined (no graph input, initializer or node output has that name)`, undefined, [`in ${gname}`]);
    }
  }
}

/** Whether node `from` (transitively) reads a result of node `to`: then `to` reading `from` closes a cycle. */
function reaches(nodes: readonly onnx.INodeProto[], from: number, to: number, writer: ReadonlyMap<string, number>): boolean {
  const seen = new Set<number>();
  const stack = [from];
  while (stack.length > 0) {
    const k = stack.pop()!;
    if (k === to) return true;
    if (seen.has(k)) continue;
    seen.add(k);
    for (const name of nodes[k]!.input ?? []) {
      const w = writer.get(name);
      if (w !== undefined) stack.push(w);
    }
  }
  return false;
}

function checkValueInfo(vi: onnx.IValueInfoProto, what: string, gname: string): void {
  const dims = vi.type?.tensorType?.shape?.dim ?? [];
  for (const d of dims) {
    if (d.dimValue === null || d.dimValue === undefined || d.dimParam) continue;
    const v = num(d.dimValue as number | LongLike);
    if (v < 0 || !Number.isSafeInteger(v)) {
      const shown = dims.map((x) => (x.dimParam ? x.dimParam : x.dimValue !== null && x.dimValue !== undefined ? String(num(x.dimValue as number | LongLike)) : '?'));
      fail(Codes.onnxDims, `${what} '${vi.name}' has shape [${shown.join(',')}]; a dim is a non-negative integer or a dim_param`, undefined, [`in ${gname}`]);
    }
  }
}

// ---- arity ----------------------------------------------------------------------------

function arityRow(n: onnx.INodeProto, opsets: Opsets): { row: ArityRow | undefined; known: boolean; opset: number } {
  const d = domainOf(n.domain);
  const table = d === '' ? DEFAULT_ARITY : d === TRAINING_DOMAIN ? TRAINING_ARITY : undefined;
  const opset = d === TRAINING_DOMAIN ? opsets.trainingOpset : opsets.opset;
  const rows = table?.get(n.opType ?? '');
  if (!rows) return { row: undefined, known: false, opset };
  let row: ArityRow | undefined;
  for (const r of rows) if (r[0] <= opset) row = r;
  return { row, known: true, opset };
}

function checkArity(n: onnx.INodeProto, opsets: Opsets): void {
  const { row, known, opset } = arityRow(n, opsets);
  if (!known) return;                                   // not an ONNX op: the importer says it has no rule
  if (row === undefined) {
    const since = DEFAULT_ARITY.get(n.opType ?? '')?.[0]?.[0] ?? TRAINING_ARITY.get(n.opType ?? '')?.[0]?.[0];
    fail(Codes.onnxArity, `${describeNode(n)}: ${n.opType} does not exist at opset ${opset} (it was added in opset ${since})`,
      'import the op\'s opset in opset_import');
  }
  const [, minIn, maxIn, minOut, maxOut] = row;
  const nin = n.input?.length ?? 0, nout = n.output?.length ?? 0;
  const range = (lo: number, hi: number) => (hi < 0 ? `at least ${lo}` : lo === hi ? `${lo}` : `${lo} to ${hi}`);
  if (nin < minIn || (maxIn >= 0 && nin > maxIn)) {
    fail(Codes.onnxArity, `${describeNode(n)}: has ${nin} operand(s) [${(n.input ?? []).map((x) => `'${x}'`).join(', ')}]; ${n.opType} at opset ${opset} takes ${range(minIn, maxIn)}`,
      'an omitted optional operand is an empty name');
  }
  if (nout < minOut || (maxOut >= 0 && nout > maxOut)) {
    fail(Codes.onnxArity, `${describeNode(n)}: has ${nout} result(s) [${(n.output ?? []).map((x) => `'${x}'`).join(', ')}]; ${n.opType} at opset ${opset} gives ${range(minOut, maxOut)}`);
  }
}

// ---- attribute values -----------------------------------------------------------------------

type AttrCheck = (n: onnx.INodeProto, a: onnx.IAttributeProto) => string | undefined;

const intsOf = (a: onnx.IAttributeProto) => (a.ints ?? []).map(num);
const intOf = (a: onnx.IAttributeProto) => num(a.i as number | LongLike);
const list = (xs: readonly number[]) => `[${xs.join(', ')}]`;

const positiveInts: AttrCheck = (_n, a) => (a.type === A.INTS && intsOf(a).some((x) => x < 1) ? `${list(intsOf(a))}: each must be ≥ 1` : undefined);
const nonNegativeInts: AttrCheck = (_n, a) => (a.type === A.INTS && intsOf(a).some((x) => x < 0) ? `${list(intsOf(a))}: each must be ≥ 0` : undefined);
const positiveInt: AttrCheck = (_n, a) => (a.type === A.INT && intOf(a) < 1 ? `${intOf(a)}: must be ≥ 1` : undefined);

/** pads: non-negative, two per spatial axis (begins then ends), matching kernel_shape when given. */
const pads: AttrCheck = (n, a) => {
  if (a.type !== A.INTS) return undefined;
  const p = intsOf(a);
  if (p.some((x) => x < 0)) return `${list(p)}: each must be ≥ 0`;
  if (p.length % 2 !== 0) return `${list(p)}: ${p.length} values; pads has a begin and an end per spatial axis (an even count)`;
  const k = n.attribute?.find((x) => x.name === 'kernel_shape');
  if (k?.type === A.INTS && (k.ints?.length ?? 0) * 2 !== p.length) {
    return `${list(p)}: ${p.length} values for kernel_shape ${list(intsOf(k))} (${2 * (k.ints?.length ?? 0)} expected)`;
  }
  return undefined;
};

/** Per-axis attributes must have one value per axis of kernel_shape when both are given. */
const perAxis: (check: AttrCheck) => AttrCheck = (check) => (n, a) => {
  const r = check(n, a);
  if (r !== undefined || a.type !== A.INTS) return r;
  const k = n.attribute?.find((x) => x.name === 'kernel_shape');
  if (k?.type === A.INTS && (k.ints?.length ?? 0) !== (a.ints?.length ?? 0)) {
    return `${list(intsOf(a))}: ${a.ints?.length ?? 0} values for kernel_shape ${list(intsOf(k))} (${k.ints?.length ?? 0} expected)`;
  }
  return undefined;
};

const WINDOWED = new Map<string, AttrCheck>([
  ['kernel_shape', positiveInts], ['strides', perAxis(positiveInts)], ['dilations', perAxis(positiveInts)], ['pads', pads],
]);
const CONV = new Map<string, AttrCheck>([...WINDOWED, ['group', positiveInt]]);
const CONV_T = new Map<string, AttrCheck>([...CONV, ['output_padding', nonNegativeInts], ['output_shape', nonNegativeInts]]);

/** Op type → attribute name → its check (Maps: names read from the file never reach Object.prototype). */
const ATTR_CHECKS = new Map<string, ReadonlyMap<string, AttrCheck>>([
  ['Conv', CONV], ['ConvInteger', CONV], ['QLinearConv', CONV], ['ConvTranspose', CONV_T],
  ['MaxPool', WINDOWED], ['AveragePool', WINDOWED], ['LpPool', WINDOWED], ['MaxUnpool', WINDOWED],
  ['LRN', new Map([['size', positiveInt]])],
  ['SpaceToDepth', new Map([['blocksize', positiveInt]])], ['DepthToSpace', new Map([['blocksize', positiveInt]])],
]);

function checkAttrs(n: onnx.INodeProto): void {
  const checks = domainOf(n.domain) === '' ? ATTR_CHECKS.get(n.opType ?? '') : undefined;
  if (!checks) return;
  for (const a of n.attribute ?? []) {
    const why = checks.get(a.name ?? '')?.(n, a);
    if (why !== undefined) fail(Codes.onnxAttr, `${describeNode(n)}: attribute '${a.name}' = ${why}`);
  }
}
