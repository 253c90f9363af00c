/**
 * What `graphc view` and `graphc inspect --dot` draw, read from an ONNX ModelProto: a flat list
 * of items (graph inputs and outputs, nodes, layer groups, control-flow subgraphs) with parent
 * links, and the edges between them, each edge resolved to the node that produces the value in
 * its (sub)graph's scope.
 *
 * Layer groups come from node names with '/' prefixes (`dense_1/MatMul` is in group `dense_1`,
 * `block/conv/Conv` in `block` ⊃ `block/conv`); a prefix shared by a single node makes no group.
 * A node with GRAPH attributes (If, Loop, Scan) holds one 'sub' item per subgraph, whose nodes
 * are that subgraph's. A parent always comes before its children in the list.
 */
import { int64ToNumber, onnx } from '../../exporters/onnx/proto.js';
import { ONNX_DTYPE, onnxTypeName } from '../../exporters/onnx/dtypes.js';

/** 'op' a node, 'in'/'out' a (sub)graph input/output, 'grp' a layer group, 'sub' a subgraph of a control-flow node. */
export type ItemKind = 'op' | 'in' | 'out' | 'grp' | 'sub';

export interface ViewValue {
  /** The value's name. */
  n: string;
  /** Its type, e.g. `float32[batch,784]`, or '' when the model does not say. */
  t: string;
  /** For an initializer: `float32[784,300], 940800 bytes`. */
  i?: string;
}

export interface ViewItem {
  k: ItemKind;
  /** The parent item's index, -1 at the top. */
  p: number;
  /** A node's op type ('If', 'Gemm'); a group's or subgraph's short label. */
  op: string;
  /** A node's name; a group's full path; a subgraph's `<node name>.<attribute>`. */
  name: string;
  /** A node's source location `file.ts:LINE:COL`, from its doc_string. */
  src?: string;
  /** A node's doc_string when it is more than its source location. */
  doc?: string;
  ins?: ViewValue[];
  outs?: ViewValue[];
  /** Attributes as [name, summary]. */
  attrs?: [string, string][];
  /** For 'grp' and 'sub': the number of nodes inside (subgraphs included); for 'op': nodes in its subgraphs. */
  count?: number;
  /** Parameters (elements of float initializers) the node, or the nodes of a 'grp' or 'sub', read. A group's outs are the values read outside it. */
  params?: number;
}

/** [from item, to item, value name, 1 when it is the dashed edge from a control-flow node into its subgraph]. */
export type ViewEdge = [number, number, string, number?];

export interface ViewInit { name: string; dtype: string; dims: number[]; bytes: number }

export interface ViewModel {
  info: [string, string][];
  items: ViewItem[];
  edges: ViewEdge[];
  inits: ViewInit[];
  inputs: ViewValue[];
  outputs: ViewValue[];
  /** The number of nodes, subgraphs included. */
  nodeCount: number;
}

const ELEM_BYTES: Readonly<Record<number, number>> = {
  [ONNX_DTYPE.FLOAT]: 4, [ONNX_DTYPE.UINT8]: 1, [ONNX_DTYPE.INT8]: 1, [ONNX_DTYPE.UINT16]: 2, [ONNX_DTYPE.INT16]: 2,
  [ONNX_DTYPE.INT32]: 4, [ONNX_DTYPE.INT64]: 8, [ONNX_DTYPE.BOOL]: 1, [ONNX_DTYPE.FLOAT16]: 2, [ONNX_DTYPE.DOUBLE]: 8,
  [ONNX_DTYPE.UINT32]: 4, [ONNX_DTYPE.UINT64]: 8, [ONNX_DTYPE.COMPLEX64]: 8, [ONNX_DTYPE.COMPLEX128]: 16, [ONNX_DTYPE.BFLOAT16]: 2,
};

const FLOAT_TYPES = new Set<number>([ONNX_DTYPE.FLOAT, ONNX_DTYPE.FLOAT16, ONNX_DTYPE.DOUBLE, ONNX_DTYPE.BFLOAT16]);

/** An element type's name as graphc users read it: float32, int64, float16… */
export function dtypeName(t: number): string {
  if (t === ONNX_DTYPE.FLOAT) return 'float32';
  if (t === ONNX_DTYPE.DOUBLE) return 'float64';
  return onnxTypeName(t);
}

/** `float32[batch,784]`; '' when there is no type. */
export function typeText(t: onnx.ITypeProto | null | undefined): string {
  if (!t) return '';
  if (t.tensorType) {
    const tt = t.tensorType;
    const elem = dtypeName(tt.elemType ?? 0);
    if (!tt.shape) return elem;
    const dims = (tt.shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? String(int64ToNumber(d.dimValue)) : '?'));
    return `${elem}[${dims.join(',')}]`;
  }
  if (t.sequenceType) return `seq(${typeText(t.sequenceType.elemType)})`;
  if (t.optionalType) return `optional(${typeText(t.optionalType.elemType)})`;
  if (t.mapType) return `map(${dtypeName(t.mapType.keyType ?? 0)},${typeText(t.mapType.valueType)})`;
  return '';
}

/** An initializer's size in bytes: its raw data, its typed fields, or its external data's length. */
export function tensorBytes(t: onnx.ITensorProto): number {
  if (t.rawData && t.rawData.length > 0) return t.rawData.length;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const len = (t.externalData ?? []).find((e) => e.key === 'length')?.value;
    if (len !== undefined && len !== null && /^\d+$/.test(len)) return Number(len);
  }
  const n = (t.dims ?? []).reduce((a: number, d) => a * int64ToNumber(d), 1);
  return n * (ELEM_BYTES[t.dataType ?? 0] ?? 0);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

const SRC_RE = /([^\s()'"<>[\]]+\.(?:[cm]?[jt]sx?|py)):(\d+)(?::(\d+))?/;

/** The first `file.ts:LINE[:COL]` in a doc string, or undefined. */
export function sourceOf(doc: string): string | undefined {
  const m = SRC_RE.exec(doc);
  return m ? m[0] : undefined;
}

const MAX_LIST = 16;

function listText(xs: readonly (string | number)[]): string {
  const head = xs.slice(0, MAX_LIST).map(String).join(', ');
  return `[${head}${xs.length > MAX_LIST ? `, … ${xs.length - MAX_LIST} more` : ''}]`;
}

function clip(s: string, n = 200): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function attrText(a: onnx.IAttributeProto): string {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT: return String(int64ToNumber(a.i));
    case T.FLOAT: return String(a.f ?? 0);
    case T.STRING: return JSON.stringify(clip(utf8.decode(a.s ?? new Uint8Array())));
    case T.INTS: return listText((a.ints ?? []).map((x) => int64ToNumber(x)));
    case T.FLOATS: return listText(a.floats ?? []);
    case T.STRINGS: return listText((a.strings ?? []).map((s) => JSON.stringify(clip(utf8.decode(s), 40))));
    case T.TENSOR: {
      const t = a.t;
      if (!t) return 'tensor';
      return `tensor ${dtypeName(t.dataType ?? 0)}[${(t.dims ?? []).map((d) => int64ToNumber(d)).join(',')}]`;
    }
    case T.GRAPH: return `graph (${(a.g?.node ?? []).length} nodes)`;
    case T.GRAPHS: return `${(a.graphs ?? []).length} graphs`;
    default: {
      // an attribute with no type field (old files): show the field that is set
      if (a.g) return `graph (${(a.g.node ?? []).length} nodes)`;
      if ((a.ints ?? []).length) return listText((a.ints ?? []).map((x) => int64ToNumber(x)));
      if ((a.floats ?? []).length) return listText(a.floats ?? []);
      if (a.s && a.s.length) return JSON.stringify(clip(utf8.decode(a.s)));
      if (a.i !== undefined && a.i !== null && int64ToNumber(a.i) !== 0) return String(int64ToNumber(a.i));
      if (a.f) return String(a.f);
      return '?';
    }
  }
}

/** The subgraphs of a node: [attribute name, graph] for each GRAPH (and GRAPHS) attribute. */
function subgraphsOf(n: onnx.INodeProto): [string, onnx.IGraphProto][] {
  const out: [string, onnx.IGraphProto][] = [];
  for (const a of n.attribute ?? []) {
    if (a.g) out.push([a.name ?? '', a.g]);
    (a.graphs ?? []).forEach((g, i) => out.push([`${a.name ?? ''}[${i}]`, g]));
  }
  return out;
}

/** The values a (sub)graph sees: its own, then its outer graphs' (ONNX subgraphs capture by name). */
interface Scope { own: Map<string, number>; outer: Scope | undefined }

/** The item that makes `name` in scope, or -1 (an initializer, or a name nothing makes). */
function producerOf(scope: Scope, name: string): number {
  for (let s: Scope | undefined = scope; s; s = s.outer) {
    const i = s.own.get(name);
    if (i !== undefined) return i;
  }
  return -1;
}

/** Subgraph nesting deeper than this is shown folded as one node (a hostile file may nest thousands deep). */
const MAX_DEPTH = 64;
/** Layer groups nest at most this deep (`a/b/c/…`); deeper prefixes share the deepest group. */
const MAX_GROUP_DEPTH = 16;

/**
 * Reads the model into items and edges. `opts.chunk`: in a (sub)graph with more than 6 × chunk
 * nodes outside any layer group, those nodes are grouped in runs of `chunk` (`nodes 1–100`), so
 * a big graph without '/' names still opens folded.
 */
export function buildViewModel(model: onnx.IModelProto, opts: { chunk?: number } = {}): ViewModel {
  const items: ViewItem[] = [];
  const edges: ViewEdge[] = [];
  const types = new Map<string, string>();
  const initText = new Map<string, { text: string; elems: number }>();
  const inits: ViewInit[] = [];
  let nodeCount = 0;

  const collectTypes = (g: onnx.IGraphProto, depth: number): void => {
    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) {
      const t = typeText(v.type);
      if (v.name && t && !types.has(v.name)) types.set(v.name, t);
    }
    for (const t of g.initializer ?? []) {
      const dims = (t.dims ?? []).map((d) => int64ToNumber(d));
      const dtype = dtypeName(t.dataType ?? 0);
      const bytes = tensorBytes(t);
      const name = t.name ?? '';
      inits.push({ name, dtype, dims, bytes });
      types.set(name, `${dtype}[${dims.join(',')}]`);
      // parameters are the float tensors (an int64 shape operand is not one)
      const isFloat = FLOAT_TYPES.has(t.dataType ?? 0);
      initText.set(name, { text: `${dtype}[${dims.join(',')}], ${bytes} bytes`, elems: isFloat ? dims.reduce((a, b) => a * b, 1) : 0 });
    }
    if (depth >= MAX_DEPTH) return;
    for (const n of g.node ?? []) for (const [, sg] of subgraphsOf(n)) collectTypes(sg, depth + 1);
  };
  if (model.graph) collectTypes(model.graph, 0);

  const val = (name: string): ViewValue => {
    const v: ViewValue = { n: name, t: types.get(name) ?? '' };
    const it = initText.get(name);
    if (it) v.i = it.text;
    return v;
  };

  /** Adds count and params to `p` and its ancestors. */
  const credit = (p: number, nodes: number, params: number): void => {
    for (let q = p; q >= 0; q = items[q]!.p) {
      const it = items[q]!;
      if (it.k === 'grp' || it.k === 'sub' || it.k === 'op') {
        it.count = (it.count ?? 0) + nodes;
        if (it.k !== 'op') it.params = (it.params ?? 0) + params;
      }
    }
  };

  /**
   * Adds a (sub)graph's items under `parent`; `outer` is what the enclosing graphs see (the
   * values made before the node that holds this graph). Returns the items made directly here.
   */
  const addGraph = (g: onnx.IGraphProto, parent: number, outer: Scope | undefined, depth: number): number[] => {
    const made: number[] = [];
    // this graph's values; an initializer (-1: no node makes it) hides an outer value of its name
    const scope: Scope = { own: new Map(), outer };
    const initNames = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
    for (const name of initNames) scope.own.set(name, -1);
    for (const v of g.input ?? []) {
      const name = v.name ?? '';
      if (initNames.has(name)) continue;
      const i = items.push({ k: 'in', p: parent, op: 'Input', name, outs: [val(name)] }) - 1;
      made.push(i);
      scope.own.set(name, i);
    }
    // Layer groups: prefixes that two or more of this graph's nodes share.
    const nodes = g.node ?? [];
    const prefixCount = new Map<string, number>();
    const prefixesOf = (name: string): string[] => {
      const parts = name.replace(/^\/+/, '').split('/');
      const out: string[] = [];
      for (let k = 1; k < parts.length && k <= MAX_GROUP_DEPTH; k++) {
        if (parts[k - 1] === '') break;
        out.push(parts.slice(0, k).join('/'));
      }
      return out;
    };
    for (const n of nodes) for (const pre of prefixesOf(n.name ?? '')) prefixCount.set(pre, (prefixCount.get(pre) ?? 0) + 1);
    const groups = new Map<string, number>();
    const groupOf = (name: string): number => {
      let p = parent;
      for (const pre of prefixesOf(name)) {
        if ((prefixCount.get(pre) ?? 0) < 2) continue;
        let gi = groups.get(pre);
        if (gi === undefined) {
          const short = p === parent ? pre : pre.slice(items[p]!.name.length + 1);
          gi = items.push({ k: 'grp', p, op: short, name: pre, count: 0, params: 0 }) - 1;
          groups.set(pre, gi);
          made.push(gi);
        }
        p = gi;
      }
      return p;
    };
    // A graph with many nodes outside any layer group: those nodes fold in runs of `chunk`, in order.
    const loose = nodes.filter((n) => !prefixesOf(n.name ?? '').some((pre) => (prefixCount.get(pre) ?? 0) >= 2)).length;
    const chunk = opts.chunk !== undefined && loose > opts.chunk * 6 ? opts.chunk : 0;
    let looseSeen = 0, chunkItem = -1;
    const placeOf = (name: string): number => {
      const p = groupOf(name);
      if (p !== parent || chunk === 0) return p;
      if (looseSeen % chunk === 0) {
        const label = `nodes ${looseSeen + 1}–${Math.min(looseSeen + chunk, loose)}`;
        chunkItem = items.push({ k: 'grp', p: parent, op: label, name: `${items[parent]?.name ?? ''}#${label}`, count: 0, params: 0 }) - 1;
        made.push(chunkItem);
      }
      looseSeen++;
      return chunkItem;
    };
    for (const n of nodes) {
      const name = n.name ?? '';
      const doc = n.docString ?? '';
      const src = sourceOf(doc);
      const item: ViewItem = {
        k: 'op', p: placeOf(name), op: `${n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.` : ''}${n.opType ?? '?'}`, name,
        ins: (n.input ?? []).map((x) => val(x)),
        outs: (n.output ?? []).filter((x) => x !== '').map((x) => val(x)),
      };
      if (src) item.src = src;
      if (doc && doc.trim() !== src) item.doc = clip(doc, 2000);
      const attrs = (n.attribute ?? []).map((a): [string, string] => [a.name ?? '', attrText(a)]);
      if (attrs.length) item.attrs = attrs;
      const i = items.push(item) - 1;
      made.push(i);
      nodeCount++;
      const params = (n.input ?? []).reduce((a, x) => a + (initText.get(x)?.elems ?? 0), 0);
      if (params > 0) item.params = params;
      credit(item.p, 1, params);
      for (const x of n.input ?? []) {
        if (x === '') continue;
        const from = producerOf(scope, x);
        if (from >= 0) edges.push([from, i, x]);
      }
      if (depth < MAX_DEPTH) {
        for (const [attr, sg] of subgraphsOf(n)) {
          const s = items.push({ k: 'sub', p: i, op: attr, name: `${name || n.opType}.${attr}`, count: 0, params: 0 }) - 1;
          made.push(s);
          const e0 = edges.length;
          const inner = addGraph(sg, s, scope, depth + 1);
          const innerSet = new Set(inner);
          // The dashed edge from the node into each of its subgraph's items that nothing inside feeds.
          const fed = new Set<number>();
          for (let e = e0; e < edges.length; e++) {
            const [a, b] = edges[e]!;
            if (innerSet.has(a) && innerSet.has(b)) fed.add(b);
          }
          for (const j of inner) {
            const k = items[j]!.k;
            if ((k === 'op' || k === 'in') && !fed.has(j)) edges.push([i, j, '', 1]);
          }
        }
      }
      for (const x of n.output ?? []) if (x !== '') scope.own.set(x, i);
    }
    for (const v of g.output ?? []) {
      const name = v.name ?? '';
      const o = items.push({ k: 'out', p: parent, op: 'Output', name, ins: [val(name)] }) - 1;
      made.push(o);
      const from = producerOf(scope, name);
      if (from >= 0) edges.push([from, o, name]);
    }
    return made;
  };

  const g = model.graph ?? {};
  addGraph(g, -1, undefined, 0);

  // A layer group's outputs: the values its nodes make that something outside it reads.
  for (const [a, b, name, dashed] of edges) {
    if (dashed || !name) continue;
    const inB = new Set<number>();
    for (let q = items[b]!.p; q >= 0; q = items[q]!.p) inB.add(q);
    for (let q = items[a]!.p; q >= 0 && !inB.has(q); q = items[q]!.p) {
      const it = items[q]!;
      if (it.k !== 'grp') continue;
      const outs = it.outs ?? (it.outs = []);
      if (outs.length < 8 && !outs.some((o) => o.n === name)) outs.push(val(name));
    }
  }

  const info: [string, string][] = [];
  const producer = `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim();
  if (producer) info.push(['producer', producer]);
  info.push(['IR version', String(int64ToNumber(model.irVersion))]);
  info.push(['opset', (model.opsetImport ?? []).map((o) => `${o.domain || 'ai.onnx'} ${int64ToNumber(o.version)}`).join(', ')]);
  if (g.name) info.push(['graph', g.name]);
  info.push(['nodes', String(nodeCount)]);
  const params = inits.reduce((a, t) => a + t.dims.reduce((x, y) => x * y, 1), 0);
  const bytes = inits.reduce((a, t) => a + t.bytes, 0);
  info.push(['parameters', `${params} in ${inits.length} initializers, ${formatBytes(bytes)}`]);
  if (model.docString) info.push(['doc', clip(model.docString, 2000)]);
  if (g.docString) info.push(['graph doc', clip(g.docString, 2000)]);
  for (const p of model.metadataProps ?? []) info.push([`meta ${p.key ?? ''}`, clip(p.value ?? '', 500)]);

  const initNames = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  return {
    info, items, edges, inits, nodeCount,
    inputs: (g.input ?? []).filter((v) => !initNames.has(v.name ?? '')).map((v) => val(v.name ?? '')),
    outputs: (g.output ?? []).map((v) => val(v.name ?? '')),
  };
}
