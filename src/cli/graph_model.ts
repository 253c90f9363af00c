/**
 * tfjs GraphModels (what tensorflowjs_converter writes from a SavedModel, Keras .h5 or TF Hub
 * module: model.json with format 'graph-model', a GraphDef as JSON, and binary weight shards) as
 * a CLI target: the tfjs counterpart of `tf2onnx --tfjs`.
 *
 * The model.json and its shards are treated as hostile: the topology is checked node by node
 * (names unique, operands that exist, no cycle, an op tfjs-converter knows, no control flow or
 * data-dependent shapes, Placeholder shapes and dtypes graphc can trace, one weight of the Const's
 * shape and dtype for every Const) and the weights are read with load.ts's rules (paths stay in
 * the model's folder, sizes checked against the manifest) before tfjs-converter sees any of it.
 * Then `model.execute` is traced like any tfjs code: the converter's ops are tfjs-core ops, its
 * weights (tensors on the cpu backend) become constants of the graph, and the shape operands it
 * reads with dataSync (a Reshape's Const target) are read from those constants.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';
import { Codes, GcError } from '../../ir/errors.js';
import type { DType } from '../../ir/dtype.js';
import { cond, whileLoop } from '../control_flow.js';
import { name as gcName } from '../trace/tracer.js';
import type { TensorSpec } from '../trace/spec.js';
import { entryBytes, readModelJson, readWeightsManifest } from './load.js';

/** The most nodes a GraphModel topology may have (large detection models have ~10⁴). */
export const MAX_GRAPH_MODEL_NODES = 1_000_000;
/** The largest dim a Placeholder may declare (tfjs indexes with int32). */
const MAX_DIM = 2 ** 31 - 1;

/**
 * Ops graphc refuses, with why. tfjs-converter runs these only in executeAsync (their results'
 * shapes or their control flow depend on tensor values), so they cannot be traced into a static
 * graph. TF2's functional control flow is converted instead: If / StatelessIf become gc.cond and
 * While / StatelessWhile gc.whileLoop (see CONTROL_FLOW); TF1's frames (Switch, Merge, Enter…)
 * and TensorArray / TensorList state are refused.
 */
const REFUSED: Record<string, string> = {
  Switch: 'TF1 control flow (tf.cond)',
  Merge: 'TF1 control flow (tf.cond / tf.while_loop)',
  Enter: 'TF1 control flow (tf.while_loop)',
  Exit: 'TF1 control flow (tf.while_loop)',
  NextIteration: 'TF1 control flow (tf.while_loop)',
  LoopCond: 'TF1 control flow (tf.while_loop)',
  PartitionedCall: 'a call of a function of the graph library',
  StatefulPartitionedCall: 'a call of a function of the graph library',
  NonMaxSuppressionV2: 'a result whose shape depends on the data',
  NonMaxSuppressionV3: 'a result whose shape depends on the data',
  NonMaxSuppressionV4: 'a result whose shape depends on the data',
  NonMaxSuppressionV5: 'a result whose shape depends on the data',
  Where: 'a result whose shape depends on the data',
  ListDiff: 'a result whose shape depends on the data',
  HashTable: 'a hash table (tfjs resources)',
  HashTableV2: 'a hash table (tfjs resources)',
  LookupTableImport: 'a hash table (tfjs resources)',
  LookupTableImportV2: 'a hash table (tfjs resources)',
  LookupTableFind: 'a hash table (tfjs resources)',
  LookupTableFindV2: 'a hash table (tfjs resources)',
  LookupTableSize: 'a hash table (tfjs resources)',
  LookupTableSizeV2: 'a hash table (tfjs resources)',
};
/** Op name prefixes refused as a family (TensorArray and TensorList ops: dynamic lists of tensors). */
const REFUSED_PREFIXES: [string, string][] = [['TensorArray', 'a TensorArray (tf.while_loop state)'], ['TensorList', 'a TensorList (tf.while_loop state)']];

/**
 * TF2 functional control flow → graphc control flow. tfjs-converter runs If / While only in
 * executeAsync (it reads the condition with await), so graphc renames them in the topology to
 * ops of its own, registered with tfconv.registerOp, whose executors call gc.cond / gc.whileLoop
 * with the branch, condition and body functions of the graph's library, each run by
 * tfjs-converter's executor for that function (synchronously: execute, not executeAsync).
 */
const CONTROL_FLOW: Record<string, string> = { If: 'GraphcIf', StatelessIf: 'GraphcIf', While: 'GraphcWhile', StatelessWhile: 'GraphcWhile' };
/** The function attrs of each converted op. */
const FUNCTION_ATTRS: Record<string, string[]> = { GraphcIf: ['then_branch', 'else_branch'], GraphcWhile: ['cond', 'body'] };

/** tfjs-converter's executor of one library function (GraphExecutor internals, tfjs-converter 4.x). */
interface FunctionExecutor {
  inputs: { name: string }[];
  outputNodes: string[];
  execute(inputs: tf.NamedTensorMap, outputs: string[]): tf.Tensor | tf.Tensor[];
}
/** What a custom op's executor is handed beyond tfconv's GraphNode: the node and its execution context. */
interface NodeInternals { node: { name: string; rawAttrs: Record<string, { func?: { name?: string }; s?: unknown }> }; context: { functionMap: Record<string, FunctionExecutor> } }

function runFunction(fx: FunctionExecutor, args: tf.Tensor[]): tf.Tensor[] {
  const feeds: tf.NamedTensorMap = {};
  fx.inputs.forEach((inp, i) => {
    feeds[inp.name] = args[i]!;
  });
  const out = fx.execute(feeds, fx.outputNodes);
  return Array.isArray(out) ? out : [out];
}

function functionOf(g: tfconv.GraphNode, attr: string): FunctionExecutor {
  const { node, context } = g as unknown as NodeInternals;
  const name = node.rawAttrs[attr]?.func?.name;
  const fx = name === undefined ? undefined : context.functionMap[name];
  if (fx === undefined) throw new GcError({ code: Codes.cliGraphModel, message: `node '${node.name}': its ${attr} function ${JSON.stringify(name)} is not in the graph's library` });
  return fx;
}

/** A condition as gc.cond and gc.whileLoop take it: a bool scalar (TF: a number is true when non-zero). */
function predicate(t: tf.Tensor): tf.Tensor {
  const s = t.size === 1 && t.rank !== 0 ? tf.reshape(t, []) : t;
  return s.dtype === 'bool' ? s : tf.notEqual(s, tf.scalar(0, s.dtype));
}

let controlFlowRegistered = false;
function registerControlFlow(): void {
  if (controlFlowRegistered) return;
  controlFlowRegistered = true;
  tfconv.registerOp('GraphcIf', (g) => {
    const [pred, ...args] = g.inputs;
    const thenFx = functionOf(g, 'then_branch');
    const elseFx = functionOf(g, 'else_branch');
    return cond(predicate(pred!), () => runFunction(thenFx, args), () => runFunction(elseFx, args));
  });
  tfconv.registerOp('GraphcWhile', (g) => {
    const condFx = functionOf(g, 'cond');
    const bodyFx = functionOf(g, 'body');
    return whileLoop((...vs) => predicate(runFunction(condFx, vs)[0]!), (...vs) => runFunction(bodyFx, vs), g.inputs);
  });
}

/** TF dtype enum names → the tfjs dtype tfjs-converter gives them (as its parseDtypeParam does). */
const TF_DTYPES: Record<string, DType> = {
  DT_FLOAT: 'float32', DT_INT32: 'int32', DT_INT64: 'int32', DT_INT8: 'int32', DT_UINT8: 'int32', DT_INT16: 'int32', DT_UINT16: 'int32', DT_BOOL: 'bool',
};

interface NodeDef { name: string; op: string; input: string[]; attr: Record<string, unknown> }

function graphErrorAt(file: string, message: string, help?: string): GcError {
  return graphError(file, message, help);
}

function graphError(file: string, message: string, help?: string): GcError {
  return new GcError({ code: Codes.cliGraphModel, message: `${file}: ${message}`, help: help ?? 'convert the model again with tensorflowjs_converter --output_format=tfjs_graph_model' });
}

/** Whether a parsed model.json is a tfjs GraphModel (format 'graph-model', or a GraphDef topology: a node list, no Keras class_name). */
export function isGraphModelJson(json: unknown): boolean {
  if (typeof json !== 'object' || json === null) return false;
  const j = json as { format?: unknown; modelTopology?: unknown };
  if (j.format === 'graph-model') return true;
  if (j.format === 'layers-model') return false;
  const t = j.modelTopology;
  if (typeof t !== 'object' || t === null) return false;
  return Array.isArray((t as { node?: unknown }).node) && !('class_name' in t) && !('model_config' in t);
}

/** The node name an operand refers to: '^name' (a control input), 'name', 'name:1', 'name:output:0' (in a function). */
function operandNode(input: string): string {
  const s = input.startsWith('^') ? input.slice(1) : input;
  return s.split(':')[0]!;
}

function refusal(op: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(REFUSED, op)) return REFUSED[op];
  for (const [p, why] of REFUSED_PREFIXES) if (op.startsWith(p)) return why;
  return undefined;
}

/** The topology's nodes, checked: objects with a unique name and an op, operands that name nodes, no cycle, no refused op. */
function checkNodes(file: string, raw: unknown[], fn?: { name: string; args: string[] }): NodeDef[] {
  const at = fn === undefined ? '' : `function '${fn.name}': `;
  const graphError = (f: string, message: string, help?: string) => graphErrorAt(f, at + message, help);
  if (raw.length > MAX_GRAPH_MODEL_NODES) throw graphError(file, `modelTopology has ${raw.length} nodes, over graphc's limit of ${MAX_GRAPH_MODEL_NODES}`, 'split the model');
  const nodes: NodeDef[] = [];
  const byName = new Map<string, NodeDef>();
  for (const [i, n] of raw.entries()) {
    if (typeof n !== 'object' || n === null) throw graphError(file, `node ${i} is not an object`);
    const { name, op, input, attr } = n as { name?: unknown; op?: unknown; input?: unknown; attr?: unknown };
    if (typeof name !== 'string' || name === '') throw graphError(file, `node ${i} has no name`);
    if (typeof op !== 'string' || op === '') throw graphError(file, `node '${name}' has no op`);
    if (input !== undefined && (!Array.isArray(input) || !input.every((s) => typeof s === 'string'))) throw graphError(file, `node '${name}' (${op}): input is not a list of node names`);
    if (attr !== undefined && (typeof attr !== 'object' || attr === null || Array.isArray(attr))) throw graphError(file, `node '${name}' (${op}): attr is not an object`);
    if (byName.has(name) || fn?.args.includes(name)) throw graphError(file, `two nodes are named '${name}'`);
    if (Object.prototype.hasOwnProperty.call(CONTROL_FLOW, op)) (n as { op: string }).op = CONTROL_FLOW[op]!; // converted: see CONTROL_FLOW
    const why = refusal(op);
    if (why !== undefined) {
      throw graphError(file, `node '${name}' is a ${op}: ${why}, which graphc cannot turn into a static graph`,
        'graphc converts GraphModels without control flow or data-dependent shapes; export the part of the model before and after it, or write the control flow in TypeScript with gc.cond / gc.whileLoop and export that module');
    }
    const def: NodeDef = { name, op: (n as { op: string }).op, input: (input as string[] | undefined) ?? [], attr: (attr as Record<string, unknown> | undefined) ?? {} };
    if (op.startsWith('Placeholder')) {
      dtypeAttr(file, def, 'dtype');
      const sh = def.attr.shape;
      if (sh !== undefined) {
        if (typeof sh !== 'object' || sh === null) throw graphError(file, `node '${name}' (${op}): attr shape is not {shape: {dim: [...]}}`);
        shapeOf(file, def, (sh as { shape?: unknown }).shape);
      }
    }
    nodes.push(def);
    byName.set(name, def);
  }
  for (const n of nodes) {
    for (const s of n.input) {
      if (!byName.has(operandNode(s)) && !fn?.args.includes(operandNode(s))) throw graphError(file, `node '${n.name}' (${n.op}) reads '${s}', and no node is named '${operandNode(s)}'`);
    }
  }
  // No cycle (tfjs-converter's scheduler would wait forever): an iterative depth-first search.
  const state = new Map<string, 1 | 2>();
  for (const root of nodes) {
    if (state.has(root.name)) continue;
    const stack: [NodeDef, number][] = [[root, 0]];
    state.set(root.name, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [n, k] = top;
      if (k === n.input.length) {
        state.set(n.name, 2);
        stack.pop();
        continue;
      }
      top[1] = k + 1;
      const m = byName.get(operandNode(n.input[k]!));
      if (m === undefined) continue; // a function argument
      const s = state.get(m.name);
      if (s === 1) throw graphError(file, `the graph has a cycle through node '${m.name}' (${m.op}) and '${n.name}' (${n.op})`, 'a GraphModel without control flow is acyclic: the file is damaged');
      if (s === undefined) {
        state.set(m.name, 1);
        stack.push([m, 0]);
      }
    }
  }
  return nodes;
}

/**
 * The graph's function library (the branches and loop bodies of If / While), checked as the
 * graph is: each function a {signature: {name, inputArg, outputArg}, nodeDef, ret} whose nodes
 * pass checkNodes with its arguments as operands and whose results name its nodes or arguments;
 * every function a converted op names exists; no function calls itself (directly or not).
 * Returns each function's nodes.
 */
function checkLibrary(file: string, library: unknown, nodes: NodeDef[]): Map<string, NodeDef[]> {
  const list = typeof library === 'object' && library !== null ? (library as { function?: unknown }).function : undefined;
  if (list !== undefined && !Array.isArray(list)) throw graphError(file, 'library.function is not a list');
  const fns = new Map<string, NodeDef[]>();
  let total = nodes.length;
  for (const [i, f] of ((list as unknown[] | undefined) ?? []).entries()) {
    const sig = typeof f === 'object' && f !== null ? (f as { signature?: unknown }).signature as { name?: unknown; inputArg?: unknown; outputArg?: unknown } | undefined : undefined;
    const name = sig?.name;
    if (typeof name !== 'string' || name === '') throw graphError(file, `library function ${i} has no signature.name`);
    if (fns.has(name)) throw graphError(file, `two library functions are named '${name}'`);
    const argList = (a: unknown, what: string): string[] => {
      if (a === undefined) return [];
      if (!Array.isArray(a) || !a.every((x) => typeof x === 'object' && x !== null && typeof (x as { name?: unknown }).name === 'string' && (x as { name: string }).name !== '')) {
        throw graphError(file, `function '${name}': signature.${what} is not a list of {name, type}`);
      }
      return a.map((x) => (x as { name: string }).name);
    };
    const args = argList(sig!.inputArg, 'inputArg');
    const outs = argList(sig!.outputArg, 'outputArg');
    const body = (f as { nodeDef?: unknown }).nodeDef ?? [];
    if (!Array.isArray(body)) throw graphError(file, `function '${name}': nodeDef is not a list`);
    total += body.length;
    if (total > MAX_GRAPH_MODEL_NODES) throw graphError(file, `the graph and its functions have over ${MAX_GRAPH_MODEL_NODES} nodes, graphc's limit`, 'split the model');
    const fnNodes = checkNodes(file, body, { name, args });
    const ret = (f as { ret?: unknown }).ret;
    for (const o of outs) {
      const r = typeof ret === 'object' && ret !== null ? (ret as Record<string, unknown>)[o] : undefined;
      if (typeof r !== 'string' || !(fnNodes.some((n) => n.name === operandNode(r)) || args.includes(operandNode(r)))) {
        throw graphError(file, `function '${name}': its result '${o}' is ${JSON.stringify(r)}, not a node or argument of the function`);
      }
    }
    fns.set(name, fnNodes);
  }
  // The functions each converted op names exist; the call graph has no cycle.
  const callees = (ns: NodeDef[]): string[] => ns.flatMap((n) => (FUNCTION_ATTRS[n.op] ?? []).map((a) => {
    const f = (n.attr[a] as { func?: { name?: unknown } } | undefined)?.func?.name;
    if (typeof f !== 'string' || !fns.has(f)) throw graphError(file, `node '${n.name}' (${n.op === 'GraphcIf' ? 'If' : 'While'}): its ${a} function ${JSON.stringify(f)} is not in the graph's library`);
    return f;
  }));
  const state = new Map<string, 1 | 2>();
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === 2) return;
    if (state.get(f) === 1) throw graphError(file, `function '${f}' calls itself (${[...path, f].join(' → ')}): graphc converts If and While, not recursion`);
    state.set(f, 1);
    for (const g of callees(fns.get(f)!)) visit(g, [...path, f]);
    state.set(f, 2);
  };
  for (const f of callees(nodes)) visit(f, []);
  for (const f of fns.keys()) visit(f, []);
  return fns;
}

/** A GraphDef shape attr ({dim: [{size: '-1'}, ...]} or {unknownRank: true}) as dims (-1: unknown), or undefined for an unknown rank. */
function shapeOf(file: string, node: NodeDef, v: unknown): number[] | undefined {
  if (typeof v !== 'object' || v === null) throw graphError(file, `node '${node.name}' (${node.op}): shape is not {dim: [...]}`);
  const s = v as { dim?: unknown; unknownRank?: unknown };
  if (s.unknownRank === true) return undefined;
  if (s.dim === undefined) return [];
  if (!Array.isArray(s.dim)) throw graphError(file, `node '${node.name}' (${node.op}): shape.dim is not a list`);
  return s.dim.map((d) => {
    const size = typeof d === 'object' && d !== null ? (d as { size?: unknown }).size : undefined;
    const n = size === undefined ? 1 : typeof size === 'string' && /^-?\d+$/.test(size) ? Number(size) : typeof size === 'number' ? size : NaN;
    if (!Number.isSafeInteger(n) || n < -1 || n > MAX_DIM) {
      throw graphError(file, `node '${node.name}' (${node.op}) has dim ${JSON.stringify(size)}: dims are -1 (unknown) or 0…${MAX_DIM}`);
    }
    return n;
  });
}

function dtypeAttr(file: string, node: NodeDef, key: string): DType {
  const a = node.attr[key] as { type?: unknown } | undefined;
  const t = a?.type ?? 'DT_FLOAT';
  const d = typeof t === 'string' && Object.prototype.hasOwnProperty.call(TF_DTYPES, t) ? TF_DTYPES[t] : undefined;
  if (d === undefined) {
    throw graphError(file, `node '${node.name}' (${node.op}) has dtype ${JSON.stringify(t)}; graphc traces ${Object.keys(TF_DTYPES).join(', ')}`, 'string and complex tensors have no graphc dtype');
  }
  return d;
}

/** A name usable as an ONNX / graphc value name: [A-Za-z_][A-Za-z0-9_]*, unique among `taken`. */
function sanitize(name: string, taken: Set<string>): string {
  let s = name.replace(/:0$/, '').replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_]/.test(s)) s = `_${s}`;
  let u = s;
  for (let k = 1; taken.has(u); k++) u = `${s}_${k}`;
  taken.add(u);
  return u;
}

/**
 * Keras's Reshape layer (and tf.reshape(x, [tf.shape(x)[0], 3, 4]) in general) computes its
 * target shape from the input's dims: Reshape(x, Pack(StridedSlice(Shape(x)), 3, 4)).
 * tfjs-converter reads a Reshape's shape operand with dataSync, which a trace cannot answer (the
 * Pack is a value of the graph). When every element of the Pack but one is a Const scalar (and
 * none is -1), the one computed element is the only unknown, and a Const shape with -1 in its
 * place reshapes every valid input the same way: this rewrites the Reshape to read such a Const
 * (a new Const node and weight). Returns the nodes rewritten.
 */
function constReshapeTargets(nodes: NodeDef[], rawNodes: unknown[], weightSpecs: tf.io.WeightsManifestEntry[], data: ArrayBuffer, file: string): { rewritten: string[]; data: ArrayBuffer } {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  // Byte offset of each weight in `data`, for reading int32 scalars.
  const offsets = new Map<string, number>();
  let off = 0;
  for (const [i, w] of weightSpecs.entries()) {
    offsets.set(w.name, off);
    off += entryBytes(file, w, `weight ${i}`);
  }
  const view = new DataView(data);
  const scalar = (name: string): number | undefined => {
    const n = byName.get(operandNode(name));
    if (n === undefined || n.op !== 'Const' || name.includes(':') && !name.endsWith(':0')) return undefined;
    const w = weightSpecs.find((x) => x.name === n.name);
    const at = offsets.get(n.name);
    if (w === undefined || at === undefined || w.dtype !== 'int32' || w.quantization !== undefined || w.shape.length !== 0) return undefined;
    return view.getInt32(at, true);
  };
  const extra: { name: string; values: number[] }[] = [];
  const rewritten: string[] = [];
  for (const n of nodes) {
    if (n.op !== 'Reshape' || n.input.length < 2) continue;
    const pack = byName.get(operandNode(n.input[1]!));
    if (pack === undefined || pack.op !== 'Pack' || pack.input.some((s) => s.startsWith('^'))) continue;
    const axis = (pack.attr.axis as { i?: unknown } | undefined)?.i;
    if (axis !== undefined && Number(axis) !== 0) continue;
    const values = pack.input.map(scalar);
    const unknown = values.filter((v) => v === undefined).length;
    if (unknown !== 1 || values.includes(-1)) continue;
    let name = `${n.name}/graphc_const_shape`;
    for (let k = 1; byName.has(name); k++) name = `${n.name}/graphc_const_shape_${k}`;
    const def: NodeDef = {
      name, op: 'Const', input: [],
      attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: String(values.length) }] } } } },
    };
    byName.set(name, def);
    nodes.push(def);
    rawNodes.push({ name: def.name, op: def.op, attr: def.attr });
    extra.push({ name, values: values.map((v) => v ?? -1) });
    n.input[1] = name; // the same array as the raw node's input
    rewritten.push(n.name);
  }
  if (extra.length === 0) return { rewritten, data };
  const added = extra.reduce((a, e) => a + 4 * e.values.length, 0);
  const out = new Uint8Array(data.byteLength + added);
  out.set(new Uint8Array(data), 0);
  let at = data.byteLength;
  for (const e of extra) {
    out.set(new Uint8Array(Int32Array.from(e.values).buffer), at);
    at += 4 * e.values.length;
    weightSpecs.push({ name: e.name, shape: [e.values.length], dtype: 'int32' });
  }
  return { rewritten, data: out.buffer };
}

/**
 * Shape arithmetic on the host. A GraphModel computes some operands from its tensors' shapes —
 * Keras's Conv2DTranspose passes [tf.shape(x)[0], h, w, c] as the output shape — and
 * tfjs-converter reads such operands with dataSync, which a trace cannot answer. The nodes that
 * compute only from shapes and int32 Consts (Shape, Size, Rank and then StridedSlice, Pack,
 * ConcatV2, Cast, elementwise integer math, Prod, GatherV2, Identity on their results) are renamed
 * to graphc's GraphcHost op, which computes them in JavaScript from the traced tensors' concrete
 * shapes: the operand is a tensor on the cpu backend that dataSync reads, and each trace (graphc
 * traces at two sizes) gets its own numbers, which it unifies into symbolic dims as it does for
 * tfjs code that reads x.shape. A result that flows into the graph as a tensor, rather than being
 * read, is a constant that depends on the traced size: GC0103.
 */
const HOST_OPS = new Set(['Shape', 'Size', 'Rank', 'StridedSlice', 'Pack', 'ConcatV2', 'Cast', 'Mul', 'AddV2', 'Add', 'Sub', 'FloorDiv', 'Maximum', 'Minimum', 'Prod', 'GatherV2', 'Identity']);
const SHAPE_SOURCES = new Set(['Shape', 'Size', 'Rank']);

interface HostValue { shape: number[]; values: number[] }

function intAttr(attrs: Record<string, unknown>, key: string): number {
  const v = (attrs[key] as { i?: unknown } | undefined)?.i;
  return v === undefined ? 0 : Number(v);
}

/** One host op on small int vectors (its inputs' values, and the tensors for Shape/Size/Rank). */
function hostCompute(op: string, attrs: Record<string, unknown>, ins: tf.Tensor[], vals: () => HostValue[]): HostValue {
  const bad = (why: string) => new GcError({ code: Codes.cliGraphModel, message: `${op} on shapes: ${why}`, help: 'graphc computes shape arithmetic of GraphModels for 1-D int32 shapes' });
  switch (op) {
    case 'Shape': return { shape: [ins[0]!.rank], values: [...ins[0]!.shape] };
    case 'Size': return { shape: [], values: [ins[0]!.size] };
    case 'Rank': return { shape: [], values: [ins[0]!.rank] };
    case 'Identity': case 'Cast': return vals()[0]!;
    case 'Pack': {
      const v = vals();
      if (!v.every((x) => x.shape.length === 0) || intAttr(attrs, 'axis') !== 0) throw bad('only scalars packed on axis 0');
      return { shape: [v.length], values: v.map((x) => x.values[0]!) };
    }
    case 'ConcatV2': {
      const v = vals();
      const parts = v.slice(0, -1);
      if (!parts.every((x) => x.shape.length === 1)) throw bad('only 1-D parts');
      return { shape: [parts.reduce((n, x) => n + x.values.length, 0)], values: parts.flatMap((x) => x.values) };
    }
    case 'StridedSlice': {
      const [x, b, e, st] = vals();
      if (x!.shape.length !== 1 || intAttr(attrs, 'ellipsis_mask') !== 0 || intAttr(attrs, 'new_axis_mask') !== 0) throw bad('only 1-D slices without ellipsis or new axes');
      const n = x!.values.length;
      const stride = st!.values[0] ?? 1;
      if (stride === 0) throw bad('a stride of 0');
      const norm = (i: number) => (i < 0 ? i + n : i);
      let begin = intAttr(attrs, 'begin_mask') & 1 ? (stride > 0 ? 0 : n - 1) : norm(b!.values[0]!);
      let end = intAttr(attrs, 'end_mask') & 1 ? (stride > 0 ? n : -1) : norm(e!.values[0]!);
      if (intAttr(attrs, 'shrink_axis_mask') & 1) {
        if (!(begin >= 0 && begin < n)) throw bad(`index ${b!.values[0]} of a shape of rank ${n}`);
        return { shape: [], values: [x!.values[begin]!] };
      }
      begin = Math.max(stride > 0 ? 0 : -1, Math.min(begin, stride > 0 ? n : n - 1));
      end = Math.max(stride > 0 ? 0 : -1, Math.min(end, stride > 0 ? n : n - 1));
      const out: number[] = [];
      for (let i = begin; stride > 0 ? i < end : i > end; i += stride) out.push(x!.values[i]!);
      return { shape: [out.length], values: out };
    }
    case 'Prod': {
      const [x] = vals();
      if (x!.shape.length > 1) throw bad('only a 1-D product');
      return { shape: intAttr(attrs, 'keep_dims') ? [1] : [], values: [x!.values.reduce((a, c) => a * c, 1)] };
    }
    case 'GatherV2': {
      const [x, idx] = vals();
      if (x!.shape.length !== 1) throw bad('only from a 1-D shape');
      const n = x!.values.length;
      if (idx!.values.some((i) => !(i >= -n && i < n))) throw bad(`indices [${idx!.values.join(',')}] of a shape of rank ${n}`);
      return { shape: idx!.shape, values: idx!.values.map((i) => x!.values[i < 0 ? i + n : i]!) };
    }
    default: {
      const [a, b] = vals();
      const f = { Mul: (p: number, q: number) => p * q, AddV2: (p: number, q: number) => p + q, Add: (p: number, q: number) => p + q, Sub: (p: number, q: number) => p - q,
        FloorDiv: (p: number, q: number) => Math.floor(p / q), Maximum: Math.max, Minimum: Math.min }[op];
      if (f === undefined) throw bad('not a host op');
      const n = Math.max(a!.values.length, b!.values.length);
      if (a!.values.length !== n && a!.values.length !== 1 || b!.values.length !== n && b!.values.length !== 1) throw bad('operands of different lengths');
      const shape = a!.values.length === n ? a!.shape : b!.shape;
      return { shape, values: Array.from({ length: n }, (_, i) => f(a!.values[a!.values.length === 1 ? 0 : i]!, b!.values[b!.values.length === 1 ? 0 : i]!)) };
    }
  }
}

let hostRegistered = false;
function registerHostOps(): void {
  if (hostRegistered) return;
  hostRegistered = true;
  tfconv.registerOp('GraphcHost', (g) => {
    const { node } = g as unknown as NodeInternals;
    const op = Buffer.from(String((node.rawAttrs.graphc_op as { s?: unknown } | undefined)?.s ?? ''), 'base64').toString();
    const ins = g.inputs;
    const vals = () => ins.map((t) => ({ shape: [...t.shape], values: Array.from(t.dataSync() as ArrayLike<number>, Number) }));
    const r = hostCompute(op, node.rawAttrs as Record<string, unknown>, ins, vals);
    const cpu = tf.engine().findBackend('cpu');
    if (cpu === null) throw new GcError({ code: Codes.cliGraphModel, message: 'the cpu backend is not registered (graphc computes GraphModel shapes on it)' });
    return tf.engine().makeTensor(Int32Array.from(r.values), r.shape, 'int32', cpu);
  });
}

/** Renames the shape-only nodes (see HOST_OPS) to GraphcHost; returns their names. */
function hostShapeNodes(nodes: NodeDef[], rawNodes: unknown[]): string[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const host = new Set<string>();
  const intConst = (n: NodeDef) => n.op === 'Const' && (n.attr.dtype as { type?: unknown } | undefined)?.type === 'DT_INT32';
  // Topological order: operands first (the graph is acyclic, checked).
  const order: NodeDef[] = [];
  const seen = new Set<string>();
  for (const root of nodes) {
    const stack: [NodeDef, number][] = [[root, 0]];
    if (seen.has(root.name)) continue;
    seen.add(root.name);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top[1] === top[0].input.length) {
        order.push(top[0]);
        stack.pop();
        continue;
      }
      const m = byName.get(operandNode(top[0].input[top[1]++]!));
      if (m !== undefined && !seen.has(m.name)) {
        seen.add(m.name);
        stack.push([m, 0]);
      }
    }
  }
  for (const n of order) {
    if (!HOST_OPS.has(n.op) || n.input.some((s) => s.startsWith('^'))) continue;
    const srcs = n.input.map((s) => byName.get(operandNode(s)));
    if (SHAPE_SOURCES.has(n.op)) { host.add(n.name); continue; }
    if (n.op === 'Cast' && (n.attr.DstT as { type?: unknown } | undefined)?.type !== 'DT_INT32') continue;
    if (srcs.some((m) => m === undefined || !(host.has(m.name) || intConst(m))) || !srcs.some((m) => host.has(m!.name))) continue;
    if (n.input.some((s) => s.includes(':') && !s.endsWith(':0'))) continue; // a second output (Split…) is not a host value
    host.add(n.name);
  }
  const raw = new Map((rawNodes as { name?: unknown }[]).map((r) => [r.name, r as { op: string; attr?: Record<string, unknown> }]));
  for (const name of host) {
    const n = byName.get(name)!;
    const r = raw.get(name)!;
    const attr = { ...(r.attr ?? {}), graphc_op: { s: Buffer.from(n.op).toString('base64') } };
    r.op = 'GraphcHost';
    r.attr = attr;
    n.op = 'GraphcHost';
    n.attr = attr;
  }
  return [...host];
}

/** What GraphModel internals graphc reads when present (tfjs-converter 4.x): each node's op category (undefined: an op it does not know). */
type KnownNodes = Record<string, { op?: string; category?: string }>;
interface ExecutorView { executor?: { graph?: { nodes?: KnownNodes }; functionExecutorMap?: Record<string, { graph?: { nodes?: KnownNodes } }> } }

/**
 * A tfjs GraphModel saved as model.json plus weight shards, as something to trace: `fn` runs
 * `model.execute` on the inputs (in the signature's order) and returns its outputs as a record
 * keyed by their sanitized names (in the signature's order), `specs` are the Placeholders'
 * shapes and dtypes (-1 → 'batch' as dim 0, null elsewhere).
 */
export async function loadGraphModelTarget(file: string): Promise<{ name: string; fn: (...xs: tf.Tensor[]) => unknown; specs: TensorSpec[] }> {
  const json = readModelJson(file) as Record<string, unknown> | null;
  if (!isGraphModelJson(json)) throw graphError(file, 'not a tfjs GraphModel (no format "graph-model" and no GraphDef node list)');
  const j = json as { modelTopology?: unknown; weightsManifest?: unknown; signature?: unknown; userDefinedMetadata?: unknown; modelInitializer?: unknown };
  const topology = j.modelTopology;
  if (typeof topology !== 'object' || topology === null || !Array.isArray((topology as { node?: unknown }).node)) {
    throw graphError(file, 'modelTopology has no node list (a GraphModel\'s modelTopology is a GraphDef: {node: [...]})');
  }
  const nodes = checkNodes(file, (topology as { node: unknown[] }).node);
  const functions = checkLibrary(file, (topology as { library?: unknown }).library, nodes);
  const functionNodes = [...functions.values()].flat();
  if (functionNodes.length > 0) registerControlFlow();
  const init = j.modelInitializer as { node?: unknown[] } | undefined;
  if (init !== undefined && init !== null && Array.isArray(init.node) && init.node.length > 0) {
    throw graphError(file, `the model has an initializer graph (${init.node.length} nodes, for hash tables): graphc cannot convert tfjs resources`);
  }
  const hint = 'convert the model again with tensorflowjs_converter, or check that the weight files belong to this model.json';
  const read = readWeightsManifest(file, j.weightsManifest ?? [], hint);
  const weightSpecs = read.specs;
  // Every Const has its weight, of its shape and dtype (tfjs-converter would run with a wrong one or crash).
  const weights = new Map(weightSpecs.map((w) => [w.name, w]));
  for (const n of [...nodes, ...functionNodes]) {
    if (n.op !== 'Const') continue;
    const w = weights.get(n.name);
    if (w === undefined) throw graphError(file, `Const node '${n.name}' has no weight in weightsManifest`, hint);
    const want = dtypeAttr(file, n, 'dtype');
    const have = w.dtype === 'float32' || w.dtype === 'int32' || w.dtype === 'bool' ? w.dtype : undefined;
    if (have !== want) throw graphError(file, `Const node '${n.name}' is ${want}, its weight is ${w.dtype}`, hint);
    const tensor = (n.attr.value as { tensor?: { tensorShape?: unknown } } | undefined)?.tensor;
    if (tensor?.tensorShape !== undefined) {
      const shape = shapeOf(file, n, tensor.tensorShape);
      if (shape !== undefined && (shape.length !== w.shape.length || shape.some((d, i) => d !== w.shape[i]))) {
        throw graphError(file, `Const node '${n.name}' has shape [${shape.join(',')}], its weight [${w.shape.join(',')}]`, hint);
      }
    }
  }
  // Without a signature tfjs-converter's outputs are the nodes nothing reads: taken before the rewrite below leaves a Pack unread.
  const read0 = new Set(nodes.flatMap((n) => n.input.map(operandNode)));
  const sinks = nodes.filter((n) => !read0.has(n.name)).map((n) => n.name);
  const { data } = constReshapeTargets(nodes, (j.modelTopology as { node: unknown[] }).node, weightSpecs, read.data, file);
  if (hostShapeNodes(nodes, (j.modelTopology as { node: unknown[] }).node).length > 0) registerHostOps();
  let model: tfconv.GraphModel;
  try {
    model = await tfconv.loadGraphModel(tf.io.fromMemory({
      modelTopology: j.modelTopology as object, weightSpecs, weightData: data, format: 'graph-model',
      signature: j.signature as object | undefined, userDefinedMetadata: j.userDefinedMetadata as Record<string, object> | undefined,
    } as tf.io.ModelArtifacts));
  } catch (e) {
    if (e instanceof GcError) throw e;
    throw graphError(file, `tfjs-converter could not read the model: ${(e as Error).message}`);
  }
  // Every op is one tfjs-converter knows (its op table gives each a category; an unknown op has none).
  const executor = (model as unknown as ExecutorView).executor;
  const checkKnown = (ns: NodeDef[], known: KnownNodes | undefined, at: string) => {
    if (known === undefined) return;
    for (const n of ns) {
      const c = known[n.name]?.category;
      if (c === undefined) {
        throw graphError(file, `${at}node '${n.name}' has op '${n.op}', which tfjs-converter does not know`,
          'tfjs-converter runs the ops listed at https://github.com/tensorflow/tfjs/blob/master/tfjs-converter/docs/supported_ops.md');
      }
      if (c === 'control' || c === 'dynamic' || c === 'hash_table') {
        throw graphError(file, `${at}node '${n.name}' is a ${n.op} (a ${c} op), which graphc cannot turn into a static graph`);
      }
    }
  };
  checkKnown(nodes, executor?.graph?.nodes, '');
  for (const [f, ns] of functions) checkKnown(ns, executor?.functionExecutorMap?.[f]?.graph?.nodes, `function '${f}': `);
  const taken = new Set<string>();
  const inputKeys = model.inputNodes;
  const specs: TensorSpec[] = model.inputs.map((inp, i) => {
    const node = nodes.find((n) => n.name === inp.name);
    const label = `input '${inputKeys[i] ?? inp.name}' (node '${inp.name}')`;
    const shape = inp.shape;
    if (shape === undefined) {
      throw graphError(file, `${label} has no shape (unknown rank)`, 'convert the model from a SavedModel whose signature gives the input shapes (None for the batch)');
    }
    const dtype: DType = node !== undefined ? dtypeAttr(file, node, 'dtype') : (inp.dtype as DType | undefined) ?? 'float32';
    return {
      shape: shape.map((d, k) => (d === -1 ? (k === 0 ? 'batch' : null) : d)),
      dtype,
      name: sanitize(inputKeys[i] ?? inp.name, taken),
    };
  });
  const hasSignature = Object.keys((j.signature as { outputs?: object } | undefined)?.outputs ?? {}).length > 0;
  const outputKeys = hasSignature ? model.outputNodes : sinks;
  const outTaken = new Set(taken);
  const outNames = outputKeys.map((k) => sanitize(k, outTaken));
  // Each weight's constant is named after its Const node (conv/kernel → conv_kernel), which the
  // ONNX initializer keeps: the names people see in the converted model.
  const weightNames = new Set<string>([...taken, ...outNames]);
  // Float weights only: an int32 Const is mostly a shape or axis that tfjs-converter reads with
  // dataSync, never a value of the graph, and a named constant would stay in the graph unused.
  const weightTensors = Object.entries(model.weights).flatMap(([k, ts]) => (ts.length === 1 && ts[0]!.dtype === 'float32' ? [[sanitize(k, weightNames), ts[0]!] as const] : []));
  const fn = (...xs: tf.Tensor[]): Record<string, tf.Tensor> => {
    for (const [label, t] of weightTensors) gcName(t, label);
    const feeds: tf.NamedTensorMap = {};
    inputKeys.forEach((k, i) => {
      feeds[k] = xs[i]!;
    });
    let out: tf.Tensor | tf.Tensor[];
    try {
      out = model.execute(feeds, outputKeys);
    } catch (e) {
      if (e instanceof GcError) {
        // The location would be this file's line: say which model instead, and for a read what to do.
        const read = e.code === Codes.traceRead;
        throw new GcError({
          ...e.info, loc: undefined, message: `${file}: ${e.info.message}`,
          notes: [...(e.info.notes ?? []), `while tracing tfjs-converter's execute of ${file}${read ? ': an op reads a shape, size or axis operand that the graph computes (from Shape, Size or a computation on them)' : ''}`],
          help: read ? 'graphc traces these operands when they are Const nodes (a Reshape target computed from tf.shape(x)[0] and constants is made a Const with -1); convert the model with fixed shapes, or compute the operand from constants' : e.info.help,
        });
      }
      throw graphError(file, `tfjs-converter failed to run the model: ${(e as Error).message}`);
    }
    const list = Array.isArray(out) ? out : [out];
    const rec: Record<string, tf.Tensor> = {};
    outNames.forEach((n, i) => {
      rec[n] = list[i]!;
    });
    return rec;
  };
  // Every GraphModel is a model.json: its folder names it (mobilenet/model.json → mobilenet), else the file does.
  const base = path.basename(file, '.json');
  const folder = path.basename(path.dirname(path.resolve(file)));
  const name = (base === 'model' && folder !== '' && folder !== path.sep ? folder : base).replace(/[^A-Za-z0-9_]/g, '_');
  return { name: /^[A-Za-z_]/.test(name) ? name : `_${name}`, fn, specs };
}
