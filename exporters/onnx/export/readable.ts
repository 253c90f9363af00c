/**
 * Readable names and types for an exported graph, applied after the layout passes (which
 * rewrite freely under the names the rules gave) and before serialization:
 *
 * - `keepVariableNames`: a variable's initializer that a pass replaced by a copy of the same
 *   data and shape (a folded Reshape of a Dense kernel) takes the variable's name back, so
 *   the model's weights are `dense_Dense1/kernel`, not `v12_2d`.
 * - `nameNodes`: each node is `<scope>/<OpType>` (as torch.onnx and tf2onnx write them), the
 *   scope being, first that applies: the gc.name'd value it computes; the layer of a variable
 *   it reads (`dense_Dense1` of `dense_Dense1/kernel`), also for the other nodes one IR node
 *   became (a fused matmul's Gemm and Relu); for an activation (Relu, Softmax, …) that alone
 *   reads the result of a scoped matmul or convolution, that node's scope (a Dense layer's
 *   softmax: Keras layers with an `activation` are these; a separate Activation layer after a
 *   batch norm is not taken for part of it). Other
 *   nodes are named by their op type. Unique in the whole model, deterministic. The values
 *   the nodes compute are named after them, as TensorFlow does (`dense_Dense1/Relu:0`),
 *   except graph inputs, outputs, initializers and gc.name'd values, which keep their names.
 * - `addValueInfo`: value_info for every value between the nodes: the IR type of the value
 *   it stands for (symbolic dims as dim_param), else what follows from the operands.
 */
import type { DType } from '../../../ir/dtype.js';
import type { Node, TensorType } from '../../../ir/graph.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import { irDTypeOf } from '../dtypes.js';
import { NameAllocator } from './names.js';
import type { OnnxGraph, OnnxNode, OnnxValueType } from './onnx_graph.js';
import { consumers, isGraphOutput, producers, replaceUses, subgraphsOf } from './onnx_graph.js';
import { inferShapes } from './passes/shapes.js';
import { LAYOUT_CLASS } from './passes/transpose_sinking.js';

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * `vars`: the ONNX name each variable's initializer was given → its data. Where that name is
 * gone and an initializer holds the same data buffer in the same shape, that one is renamed
 * to it. Returns the initializers of variable data (renamed or reshaped copies) → the variable's name.
 */
export function keepVariableNames(g: OnnxGraph, vars: ReadonlyMap<string, TensorData>): Map<string, string> {
  const copies = new Map<string, string>();
  // The initializers holding each data buffer, in order (one pass: a model has thousands).
  const byData = new Map<unknown, string[]>();
  for (const [k, u] of g.initializers) {
    if (vars.has(k)) continue;
    const l = byData.get(u.data);
    if (l === undefined) byData.set(u.data, [k]); else l.push(k);
  }
  const renamed = new Map<string, string>();
  for (const [name, t] of vars) {
    let named = g.initializers.has(name);
    if (named) copies.set(name, name);
    for (const k of byData.get(t.data) ?? []) {
      if (copies.has(k)) continue;
      const u = g.initializers.get(k)!;
      if (!named && sameShape(u.shape, t.shape) && !isGraphOutput(g, k)) {
        renamed.set(k, name);
        copies.set(name, name);
        named = true;
      } else {
        copies.set(k, name);
      }
    }
  }
  if (renamed.size === 0) return copies;
  const inits = new Map<string, TensorData>();
  for (const [k, u] of g.initializers) inits.set(renamed.get(k) ?? k, u);
  g.initializers = inits;
  renameValues(g, renamed);
  return copies;
}

/** The layer of a variable: its name up to the last `/` (`dense_Dense1/kernel` → `dense_Dense1`), else the name. */
export function variableScope(name: string): string {
  const i = name.lastIndexOf('/');
  return i > 0 ? name.slice(0, i) : name;
}

const isActivation = (op: string): boolean => LAYOUT_CLASS[op] === 'unary' || op === 'Softmax' || op === 'LogSoftmax';
/** The ops of layers that take an `activation` (Dense, Conv*): an activation right after one is the layer's. */
const WITH_ACTIVATION = new Set(['Gemm', 'MatMul', 'Conv', 'ConvTranspose']);

/**
 * Names every node of `g` and of its subgraphs, and the values they compute. `varScopes`:
 * each ONNX name that holds a variable (initializer or input) → the variable's layer;
 * `userNames`: the ONNX names of gc.name'd values; `values`: the model's value names (all
 * names in use claimed). Returns the values renamed (old → new name).
 */
export function nameNodes(g: OnnxGraph, varScopes: ReadonlyMap<string, string>, userNames: ReadonlySet<string>, values: NameAllocator,
  keptValues: ReadonlySet<string> = new Set(), keptNode?: (n: Node) => { readonly name: string; readonly doc: string } | undefined): Map<string, string> {
  const renamed = new Map<string, string>();
  const fixed = new Set<string>([...userNames, ...keptValues]);
  const collect = (x: OnnxGraph): void => {
    for (const i of x.inputs) fixed.add(i.name);
    for (const o of x.outputs) fixed.add(o.name);
    for (const k of x.initializers.keys()) fixed.add(k);
    for (const n of x.nodes) for (const sub of subgraphsOf(n)) collect(sub);
  };
  collect(g);
  nameGraphNodes(g, varScopes, userNames, new NameAllocator(), keptNode, (n) => {
    n.outputs.forEach((o, i) => { if (o !== '' && !fixed.has(o)) renamed.set(o, values.fresh(`${n.name}:${i}`)); });
  });
  if (renamed.size > 0) renameValues(g, renamed);
  return renamed;
}

export function renameValues(g: OnnxGraph, renamed: ReadonlyMap<string, string>): void {
  const rn = (x: string): string => renamed.get(x) ?? x;
  for (const n of g.nodes) {
    n.inputs = n.inputs.map(rn);
    n.outputs = n.outputs.map(rn);
    for (const sub of subgraphsOf(n)) renameValues(sub, renamed);
  }
}

function nameGraphNodes(g: OnnxGraph, varScopes: ReadonlyMap<string, string>, userNames: ReadonlySet<string>, alloc: NameAllocator,
  keptNode: ((n: Node) => { readonly name: string; readonly doc: string } | undefined) | undefined, named: (n: OnnxNode) => void): void {
  const scopeOf = new Map<OnnxNode, string>();
  const byOrigin = new Map<Node, string>();
  for (const n of g.nodes) {
    const v = n.inputs.find((i) => varScopes.has(i));
    if (v !== undefined && n.origin !== undefined && !byOrigin.has(n.origin)) byOrigin.set(n.origin, varScopes.get(v)!);
  }
  const prod = producers(g), cons = consumers(g);
  for (const n of g.nodes) {
    const user = n.outputs.find((o) => userNames.has(o));
    const v = n.inputs.find((i) => varScopes.has(i));
    let s = user ?? (v !== undefined ? varScopes.get(v) : undefined) ?? (n.origin !== undefined ? byOrigin.get(n.origin) ?? n.origin.loc?.scope : undefined);
    const x = n.inputs[0];
    if (s === undefined && x !== undefined && isActivation(n.opType) && cons.get(x)?.length === 1 && !userNames.has(x) && !isGraphOutput(g, x)) {
      const p = prod.get(x);
      s = p === undefined || !WITH_ACTIVATION.has(p.opType) ? undefined : scopeOf.get(p);
    }
    if (s !== undefined) scopeOf.set(n, s);
    // A node of an imported model keeps its name (the first of the ONNX nodes one IR node became) and doc_string.
    const kept = n.origin !== undefined ? keptNode?.(n.origin) : undefined;
    if (kept !== undefined && kept.name !== '' && !alloc.has(kept.name)) n.name = alloc.fresh(kept.name);
    else n.name = alloc.fresh(s === undefined ? n.opType : `${s}/${n.opType}`);
    if (kept !== undefined && n.doc === '' && kept.doc !== '') n.doc = kept.doc;
    named(n);
    for (const sub of subgraphsOf(n)) nameGraphNodes(sub, varScopes, userNames, alloc, keptNode, named);
  }
}

const BOOL_OUT = new Set(['Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsInf', 'IsNaN']);
const INT64_OUT = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero']);
/** Ops whose results all have the element type of operand 0 (besides LAYOUT_CLASS's, which are so unless BOOL_OUT or Cast). */
const SAME_AS_FIRST = new Set(['Reshape', 'Flatten', 'Transpose', 'MatMul', 'Gemm', 'Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'LpPool',
  'GlobalAveragePool', 'GlobalMaxPool', 'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'Squeeze', 'Unsqueeze', 'Expand',
  'Slice', 'Pad', 'Gather', 'GatherND', 'GatherElements', 'Tile', 'ScatterElements', 'ScatterND', 'CumSum', 'Split', 'Range', 'Gelu',
  'ReduceL1', 'ReduceL2', 'ReduceLogSumExp', 'ReduceSumSquare', 'Resize', 'DepthToSpace', 'SpaceToDepth', 'Trilu', 'ReverseSequence']);
/** Operand whose element type the result has. */
const SAME_AS_OPERAND: Readonly<Record<string, number>> = { Where: 1, OneHot: 2 };

/** The element type of node `n`'s output `i`, from its operands' (`dt`) and attributes; undefined where not sure. */
function outputDType(n: OnnxNode, i: number, dt: (name: string | undefined) => DType | undefined): DType | undefined {
  const op = n.opType;
  const intAttr = (k: string): number | undefined => (n.attrs[k]?.kind === 'int' ? (n.attrs[k] as { value: number }).value : undefined);
  if (op === 'TopK' || (op === 'MaxPool' && i === 1)) return i === 1 ? 'int64' : dt(n.inputs[0]);
  if (op === 'Split') return dt(n.inputs[0]);
  if (i !== 0) return undefined;
  if (BOOL_OUT.has(op)) return 'bool';
  if (INT64_OUT.has(op)) return 'int64';
  if (op === 'Cast') { const to = intAttr('to'); return to === undefined ? undefined : irDTypeOf(to); }
  if (op === 'ConstantOfShape') { const v = n.attrs.value; return v?.kind === 'tensor' ? v.value.dtype : 'float32'; }
  if (op === 'Constant') { const v = n.attrs.value; return v?.kind === 'tensor' ? v.value.dtype : undefined; }
  if (op === 'RandomUniform' || op === 'RandomNormal') { const d = intAttr('dtype'); return d === undefined ? 'float32' : irDTypeOf(d); }
  if (op === 'RandomUniformLike' || op === 'RandomNormalLike') { const d = intAttr('dtype'); return d === undefined ? dt(n.inputs[0]) : irDTypeOf(d); }
  const k = SAME_AS_OPERAND[op];
  if (k !== undefined) return dt(n.inputs[k]);
  if (LAYOUT_CLASS[op] !== undefined || SAME_AS_FIRST.has(op)) return dt(n.inputs[0]);
  return undefined;
}

/**
 * Sets `g.valueInfo` (and its subgraphs'): every node output that is not a graph input,
 * initializer or output, typed by `known` (the IR types of the values exported) or by what
 * follows from the operands; a value whose element type cannot be told for sure is left out
 * (a wrong one would make runtimes refuse the model).
 */
export function addValueInfo(g: OnnxGraph, known: ReadonlyMap<string, TensorType>, outer: ReadonlyMap<string, DType> = new Map()): void {
  const shapes = inferShapes(g);
  const dtypes = new Map<string, DType>(outer);
  for (const v of [...g.inputs, ...g.outputs]) dtypes.set(v.name, v.dtype);
  for (const [k, t] of g.initializers) dtypes.set(k, t.dtype);
  const dt = (x: string | undefined): DType | undefined => (x === undefined || x === '' ? undefined : known.get(x)?.dtype ?? dtypes.get(x));
  const skip = new Set<string>([...g.inputs.map((i) => i.name), ...g.initializers.keys(), ...g.outputs.map((o) => o.name)]);
  const out: OnnxValueType[] = [];
  for (const n of g.nodes) {
    for (const sub of subgraphsOf(n)) addValueInfo(sub, known, dtypes);
    n.outputs.forEach((o, i) => {
      if (o === '') return;
      const k = known.get(o);
      const dtype = k?.dtype ?? outputDType(n, i, dt);
      if (dtype === undefined) return;
      dtypes.set(o, dtype);
      if (skip.has(o)) return;
      skip.add(o);
      out.push({ name: o, dtype, shape: k?.shape ?? shapes.get(o) });
    });
  }
  g.valueInfo = out;
}
