/**
 * IR Graph → ONNX ModelProto. Each live node is exported by its rule in EXPORT_RULES
 * (rules.ts), into an OnnxGraph (onnx_graph.ts) that layout passes then clean up
 * (transpose sinking, identities, dead code) before it is serialized.
 *
 *   const bytes = gc.toOnnx(graph, { opset: 17 });
 *
 * - Inputs keep the graph's input names, outputs the graph's output names; variables are
 *   initializers named after the user's variables (`dense_Dense1/kernel`, names.ts); nodes
 *   are named after their layer or gc.name'd value (`dense_Dense1/Gemm`, readable.ts);
 *   `exportOnnx` also returns the map between graphc names and ONNX names.
 * - Symbolic dims are dim_param: the symbol's name, or the affine text (`2*batch`).
 * - value_info types every value between the nodes; the graph's doc_string says what made it.
 * - Each node's doc_string is the user's source location (file:line:col).
 * - With `state: 'inputs'`, variables are inputs instead and each assigned variable's new value
 *   is an output `<input>.new`: a training step that any ONNX Runtime binding runs by feeding
 *   those outputs back (metadata_props 'graphc.state' lists the pairs as JSON).
 * - Otherwise graphs that assign variables (training steps), and ops without an ONNX form, fail
 *   with a GcError that names the op, the user's line and the reason.
 * - Deterministic: the same graph gives byte-identical output.
 */
import { Codes, GcError } from '../../../ir/errors.js';
import type { Graph, GraphOutput, Node, TensorType, Value } from '../../../ir/graph.js';
import { typeToString } from '../../../ir/graph.js';
import { AttrReader } from '../../../ir/ops.js';
import { printNode, ValueNames } from '../../../ir/printer.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import { Emitter } from './emitter.js';
import { buildNameMap, nameValues } from './names.js';
import type { ExportView, NameMap, ValueNaming } from './names.js';
import type { OnnxGraph, OnnxNode } from './onnx_graph.js';
import { isGraphOutput, subgraphsOf } from './onnx_graph.js';
import type { OnnxPass, PassCtx } from './passes/pass.js';
import { runOnnxPassesDeep } from './passes/pass.js';
import { frozenVariableNames } from '../../../ir/passes/freeze_variables.js';
import { EXPORT_RULES, isUnsupported } from './rules.js';
import type { EmitScope, RegionExport, RuleCtx } from './rule_types.js';
import { RuleFailure } from './rule_types.js';
import { modelProto, serializeModel } from './serialize.js';
import { onnx } from '../proto.js';
import { RegionExporter } from './regions.js';
import { addValueInfo, keepVariableNames, nameNodes, renameValues, variableScope } from './readable.js';
import { eliminateIdentities, foldConstantReshapes, mergeReshapes, removeDeadNodes } from './passes/cleanup.js';
import { SymDims } from './sym_dims.js';
import { sinkTransposes } from './passes/transpose_sinking.js';
import { dropNoopReshapes, globalPools, matmulToGemm, squeezeUnitBatch } from './passes/canonical_matmul.js';
import { STANDARD_OP_PASSES } from './passes/standard_ops.js';

/** graphc's version, written as producer_version (test/exporters checks it against package.json). */
export const GRAPHC_VERSION = '0.1.0';

export const DEFAULT_OPSET = 17;

/** The ONNX IR version that goes with each supported opset. */
export const IR_VERSION_FOR_OPSET: Readonly<Record<number, number>> = { 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8 };

export interface OnnxExportOptions {
  /** ONNX opset, 13 to 18 (default 17). */
  opset?: number;
  /** producer_version (default graphc's version). */
  producerVersion?: string;
  /** Run the layout passes (transpose sinking and clean-ups); default true. */
  optimize?: boolean;
  /**
   * How variables are exported. 'initializers' (the default for a graph that assigns no variable):
   * each holds its initial value, and a graph that assigns one cannot be exported. 'inputs' (the
   * default for a graph that assigns, a training step): each variable the model reads or
   * assigns is an input named after the variable's value (its initializer name otherwise), and
   * each assigned variable's new value an output named `<that input>.new`: a training step that
   * any ONNX Runtime binding runs by feeding those outputs back as the next step's inputs (the
   * first step's come from `initialStateModel`). The model's metadata_props 'graphc.state' lists them as JSON (`OnnxExport.state` here).
   */
  state?: 'initializers' | 'inputs';
  /**
   * Each variable's value to write (initializers, and initialStateModel's outputs); undefined
   * for a variable: its init in the graph (the value it was traced with). A compiled function's
   * toOnnx passes the live tf.Variables' values (CompiledFunction.stateValues).
   */
  stateValues?: (variable: string) => TensorData | undefined;
  /**
   * Names to keep (graphc optimize, from the import's ImportRecord): the ONNX name of an IR value
   * that has no name of its own, and the name and doc_string of the ONNX node an IR node computes.
   */
  keepNames?: {
    value(v: Value): string | undefined;
    node(n: Node): { readonly name: string; readonly doc: string } | undefined;
  };
}

/** A variable of a model exported with state 'inputs': its input, and the output of its new value when the model assigns it. */
export interface OnnxStateIO {
  variable: string;
  input: string;
  output?: string;
}

/** Internal (the onnxruntime engine): export the part of a graph that one plan runs. */
export interface ExportSelection {
  /** The model's outputs (the plan's fetches), by name. */
  outputs: GraphOutput[];
  /** The model's inputs (the plan's feeds); every other graph input is left out. */
  inputs: Value[];
  /** Export the graph's assignments (as state outputs); false leaves them out. */
  updates: boolean;
  /** Variables (by name) exported as initializers holding these values instead of as inputs: what the run reads but never changes. */
  constants?: ReadonlyMap<string, TensorData>;
  /** Node values that are inputs of the model instead (after the feeds; their producers are not exported): random draws made by tfjs. */
  fed?: readonly Value[];
}

export interface OnnxExport {
  /** The encoded ModelProto (encoded when first read). */
  bytes: Uint8Array;
  /** The ModelProto before encoding (its raw_data are views on the graph's tensors): writeOnnxModel writes it, with external data past 2 GiB, without the bytes. */
  model: onnx.IModelProto;
  /** graphc names ↔ ONNX names of the inputs, outputs, variables and named values that the model has. */
  names: NameMap;
  /** The exported graph before serialization (for inspection and tests). */
  graph: OnnxGraph;
  /** With state 'inputs': each variable's input and, when assigned, output. */
  state: OnnxStateIO[];
}

/** The exporter's passes, in order; repeated to a fixed point. */
export const EXPORT_PASSES: readonly OnnxPass[] = [eliminateIdentities, mergeReshapes, foldConstantReshapes, sinkTransposes,
  squeezeUnitBatch, dropNoopReshapes, matmulToGemm, globalPools, ...STANDARD_OP_PASSES, removeDeadNodes];

export function toOnnx(graph: Graph, opts: OnnxExportOptions = {}): Uint8Array {
  return exportOnnx(graph, opts).bytes;
}

function checkOpset(opset: number): void {
  if (IR_VERSION_FOR_OPSET[opset] === undefined) {
    throw new GcError({ code: Codes.exportOptions, message: `toOnnx: opset ${opset} is not supported`,
      help: `choose an opset from ${Object.keys(IR_VERSION_FOR_OPSET).join(', ')} (default ${DEFAULT_OPSET})` });
  }
}

/** Nodes that the outputs (and `extra` values) depend on, in graph order. */
function liveNodes(graph: ExportView, extra: readonly Value[] = [], stop: ReadonlySet<Value> = new Set()): Node[] {
  const live = new Set<Node>();
  const stack: Value[] = [...graph.outputs.map((o) => o.value), ...extra];
  while (stack.length) {
    const v = stack.pop()!;
    if (v.producer && !live.has(v.producer) && !stop.has(v)) {
      live.add(v.producer);
      stack.push(...v.producer.inputs);
    }
  }
  return graph.nodes.filter((n) => live.has(n));
}

function nodeError(graph: Graph, n: Node, message: string, help?: string): GcError {
  // An assign has no call site of its own: point at the line that computed the assigned value.
  const loc = n.loc ?? n.inputs.find((v) => v.producer?.loc)?.producer?.loc;
  return new GcError({ code: Codes.exportUnsupported, message, loc, node: printNode(n, new ValueNames(graph)), help });
}

/** Fails on assignments anywhere (unless they are exported as state outputs) and on live nodes whose op has no rule. */
function checkExportable(graph: Graph, nodes: readonly Node[], assignsAllowed: boolean): void {
  const assign = assignsAllowed ? undefined : graph.nodes.find((n) => n.op === 'assign');
  const bad = assign ?? nodes.find((n) => isUnsupported(EXPORT_RULES[n.op]));
  if (!bad) return;
  const rule = EXPORT_RULES[bad.op];
  if (!isUnsupported(rule)) return;
  const what = bad.op === 'assign' ? `assign to variable '${String(bad.attrs.var)}'` : bad.op;
  throw nodeError(graph, bad, `${what}: cannot be exported to ONNX: ${rule.unsupported}`, rule.help);
}

export function exportOnnx(graph: Graph, opts: OnnxExportOptions = {}, select?: ExportSelection): OnnxExport {
  const opset = opts.opset ?? DEFAULT_OPSET;
  checkOpset(opset);
  // A graph that assigns variables (a training step) exports its state as inputs and outputs unless told otherwise.
  const stateInputs = (opts.state ?? (graph.nodes.some((n) => n.op === 'assign') ? 'inputs' : 'initializers')) === 'inputs';
  if (opts.state !== undefined && opts.state !== 'inputs' && opts.state !== 'initializers') {
    throw new GcError({ code: Codes.exportOptions, message: `toOnnx: unknown state option '${String(opts.state)}'`, help: "use 'initializers' (default) or 'inputs'" });
  }
  const view: ExportView = select === undefined ? graph : {
    name: graph.name, inputs: [...select.inputs, ...select.fed ?? []], states: graph.states, nodes: graph.nodes, outputs: select.outputs, values: () => graph.values(),
  };
  // The new value of each assigned variable (the last assignment in graph order wins, as in a Session run).
  const assigned = new Map<string, Value>();
  if (stateInputs && (select?.updates ?? true)) for (const n of graph.nodes) if (n.op === 'assign') assigned.set(String(n.attrs.var), n.inputs[0]!);
  const nodes = liveNodes(view, [...assigned.values()], new Set(select?.fed ?? []));
  checkExportable(graph, nodes, stateInputs);

  const naming = nameValues(view, stateInputs, opts.keepNames?.value);
  const nameOf = (v: Value) => naming.names.get(v)!;
  const og: OnnxGraph = {
    name: graph.name,
    nodes: [],
    initializers: new Map(),
    inputs: view.inputs.map((v) => ({ name: nameOf(v), dtype: v.dtype, shape: v.shape })),
    outputs: view.outputs.map((o) => ({ name: o.name, dtype: o.value.dtype, shape: o.value.shape })),
  };
  const e = new Emitter(og, naming.alloc, opset);
  const state: OnnxStateIO[] = [];
  // Each variable initializer's name → its data (readable.ts gives the name back to a pass's copy).
  const varInits = new Map<string, TensorData>();
  if (stateInputs) {
    const read = new Set<Value>([...nodes.flatMap((n) => n.inputs), ...view.outputs.map((o) => o.value)]);
    for (const s of graph.states) {
      if (!read.has(s.value) && !assigned.has(s.name)) continue;
      const fixed = assigned.has(s.name) ? undefined : select?.constants?.get(s.name);
      if (fixed !== undefined) { varInits.set(e.initializer(nameOf(s.value), fixed), fixed); continue; }
      og.inputs.push({ name: nameOf(s.value), dtype: s.value.dtype, shape: s.value.shape });
      state.push({ variable: s.name, input: nameOf(s.value) });
    }
  } else {
    for (const s of graph.states) {
      const t = stateValue(graph, s.name, opts);
      varInits.set(e.initializer(nameOf(s.value), t), t);
    }
  }
  const dims = new SymDims(e, view, naming.names);

  const constOf = (v: Value): TensorData | undefined => {
    if (v.kind === 'state') {
      const st = graph.states[v.index]!;
      if (!stateInputs) return stateValue(graph, st.name, opts);
      return assigned.has(st.name) ? undefined : select?.constants?.get(st.name);
    }
    if (v.producer?.op === 'const') return v.producer.attrs.value as TensorData;
    return undefined;
  };
  // The IR type of each ONNX name that stands for an IR value (value_info).
  const types = new Map<string, TensorType>();
  const exportTyped: typeof exportNode = (n, at, nameOfV, constOfV, g, r) => {
    exportNode(n, at, nameOfV, constOfV, g, r);
    for (const v of n.outputs) types.set(nameOfV(v), v.type);
  };
  const regions = new RegionExporter({ e, dims }, naming.alloc, opset, exportTyped);
  for (const n of nodes) exportTyped(n, regions.scope, nameOf, constOf, graph, regions);
  e.at(undefined, 'output');
  for (const c of naming.outputCopies) e.op('Identity', [c.from], {}, c.to);
  for (const s of state) {
    const v = assigned.get(s.variable);
    if (v === undefined) continue;
    s.output = naming.alloc.fresh(`${s.input}.new`);
    og.outputs.push({ name: s.output, dtype: v.dtype, shape: v.shape });
    e.op('Identity', [nameOf(v)], {}, s.output);
  }
  if (stateInputs) og.metadata = { 'graphc.state': JSON.stringify(state) };
  const pinned = new Set<string>();
  for (const v of view.values()) if (v.name !== undefined && naming.names.has(v)) pinned.add(naming.names.get(v)!);
  renameIntoOutputs(og, pinned);

  if (opts.optimize ?? true) {
    const ctx: PassCtx = { freshValue: (b) => naming.alloc.fresh(b), freshNode: (b) => e.freshNodeName(b), opset };
    runOnnxPassesDeep(og, EXPORT_PASSES, ctx);
  }
  readableModel(og, view, naming, varInits, types, opts.producerVersion ?? GRAPHC_VERSION, opts.keepNames);
  checkWellFormed(og);
  const present = new Set<string>([...og.inputs.map((i) => i.name), ...og.initializers.keys(), ...og.nodes.flatMap((n) => n.outputs)]);
  const model = modelProto(og, { opset, irVersion: IR_VERSION_FOR_OPSET[opset]!, producerVersion: opts.producerVersion ?? GRAPHC_VERSION });
  let bytes: Uint8Array | undefined;
  return { get bytes() { return (bytes ??= onnx.ModelProto.encode(model).finish()); }, model, names: buildNameMap(view, naming, (x) => present.has(x)), graph: og, state };
}

/**
 * Names and types for people reading the model (readable.ts): variable initializers keep the
 * variables' names, nodes are named after their layer or gc.name'd value, value_info types
 * the values between the nodes, and the graph's doc_string says what made it.
 */
function readableModel(og: OnnxGraph, view: ExportView, naming: ValueNaming, varInits: ReadonlyMap<string, TensorData>,
  types: ReadonlyMap<string, TensorType>, version: string, keep: OnnxExportOptions['keepNames']): void {
  const names = naming.names;
  // Constants that were variables (freeze-variables, as `graphc export` runs it) are named after the variable too.
  const inits = new Map(varInits);
  const frozenScopes = new Map<string, string>();
  const held = new Set<TensorData>(varInits.values());
  for (const n of view.nodes) {
    if (n.op !== 'const') continue;
    const frozen = frozenVariableNames.get((n.attrs.value as TensorData).data);
    if (frozen === undefined || inits.has(frozen.name) || held.has(frozen.value) || !naming.alloc.claim(frozen.name)) continue;
    inits.set(frozen.name, frozen.value);
    held.add(frozen.value);
    frozenScopes.set(frozen.name, variableScope(frozen.name));
  }
  // A frozen constant's initializer and the weight copies the rules derived from it (a conv
  // kernel in OIHW: `conv_kernel_oihw`) take the variable's name: `conv/kernel_oihw`.
  const frozenRenames = new Map<string, string>();
  for (const n of view.nodes) {
    if (n.op !== 'const') continue;
    const frozen = frozenVariableNames.get((n.attrs.value as TensorData).data);
    const from = names.get(n.outputs[0]!);
    if (frozen === undefined || from === undefined || from === frozen.name) continue;
    for (const suffix of ['', '_oihw', '_dw', '_2d', '_transpose']) {
      const k = from + suffix;
      if (!og.initializers.has(k) || frozenRenames.has(k) || isGraphOutput(og, k)) continue;
      const to = frozen.name + suffix;
      if (og.initializers.has(to) || (suffix === '' ? inits.get(to) !== frozen.value : !naming.alloc.claim(to))) continue;
      frozenRenames.set(k, to);
      frozenScopes.set(to, variableScope(frozen.name));
    }
  }
  if (frozenRenames.size > 0) {
    const renamedInits = new Map<string, TensorData>();
    for (const [k, u] of og.initializers) renamedInits.set(frozenRenames.get(k) ?? k, u);
    og.initializers = renamedInits;
    renameValues(og, frozenRenames);
  }
  const copies = keepVariableNames(og, inits);
  const scopes = new Map<string, string>(frozenScopes);
  for (const s of view.states) {
    const n = names.get(s.value);
    if (n !== undefined) scopes.set(n, variableScope(s.name));
  }
  for (const [copy, of] of copies) {
    const sc = scopes.get(of);
    if (sc !== undefined) scopes.set(copy, sc);
  }
  const userNames = new Set<string>();
  for (const v of view.values()) if (v.kind === 'node' && v.name !== undefined && names.has(v)) userNames.add(names.get(v)!);
  // Values named after the model they were imported from keep those names.
  const kept = new Set<string>();
  if (keep !== undefined) for (const v of view.values()) if (v.kind === 'node' && v.name === undefined && names.has(v) && keep.value(v) !== undefined) kept.add(names.get(v)!);
  const renamed = nameNodes(og, scopes, userNames, naming.alloc, kept, keep === undefined ? undefined : (n) => keep.node(n));
  const typed = new Map<string, TensorType>();
  for (const [k, t] of types) typed.set(renamed.get(k) ?? k, t);
  addValueInfo(og, typed);
  og.doc = `${view.name}, exported by graphc ${version}. Each node's doc_string is the source line (file:line:col) that made it.`;
}

/** Exports IR node `n` by its rule into `at` (the main graph, or a region's graph: regions.ts). */
function exportNode(n: Node, at: EmitScope, nameOf: (v: Value) => string, constOf: (v: Value) => TensorData | undefined, graph: Graph, regions: RegionExport): void {
  const { e, dims } = at;
  e.at(n, n.outputs.length ? nameOf(n.outputs[0]!) : `${n.op}_${n.id}`);
  const cx: RuleCtx = {
    node: n,
    a: new AttrReader(n.op, n.attrs),
    ins: n.inputs.map(nameOf),
    outs: n.outputs.map(nameOf),
    e, dims, opset: e.opset, regions,
    inType: (i) => n.inputs[i]!.type,
    outType: (i = 0) => n.outputs[i]!.type,
    constOf: (i) => constOf(n.inputs[i]!),
    fail: (reason, help) => { throw new RuleFailure(reason, help); },
  };
  const rule = EXPORT_RULES[n.op];
  try {
    if (isUnsupported(rule)) throw new RuleFailure(rule.unsupported, rule.help);
    rule(cx);
  } catch (err) {
    if (err instanceof RuleFailure) throw nodeError(graph, n, `${n.op}: cannot be exported to ONNX: ${err.message}`, err.help);
    if (err instanceof GcError) throw err;
    throw nodeError(graph, n, `${n.op}: ONNX export failed: ${(err as Error).message}`);
  }
}

/** A variable's value to export: opts.stateValues', else its init; checked against the variable's dtype and shape. */
function stateValue(graph: Graph, name: string, opts: Pick<OnnxExportOptions, 'stateValues'>): TensorData {
  const st = graph.stateByName(name)!;
  const v = opts.stateValues?.(name);
  if (v === undefined) return st.init;
  const want = st.value.type;
  if (v.dtype !== want.dtype || v.shape.length !== want.shape.length || v.shape.some((d, i) => typeof want.shape[i] === 'number' && want.shape[i] !== d)) {
    throw new GcError({ code: Codes.exportOptions, message: `toOnnx: variable '${name}' is ${v.dtype}[${v.shape.join(',')}] now, but the graph was traced with ${typeToString(want)}`,
      help: 'trace the function again (a variable was disposed and made again with another shape or dtype)' });
  }
  return v;
}

/**
 * The starting values of a model exported with state 'inputs': a model with no inputs whose
 * outputs, named as the state inputs, are the variables' values when traced. Run it once and
 * feed its outputs to the first step. (Not defaults inside the step model: an initializer that
 * is also an input cannot be fed through onnxruntime-node, which lists only required inputs.)
 */
/**
 * The starting values of a model exported with state 'inputs': a model with no inputs whose
 * outputs, named as the state inputs, are the variables' values when traced. Run it once and
 * feed its outputs to the first step. (Not defaults inside the step model: an initializer that
 * is also an input cannot be fed through onnxruntime-node, which lists only required inputs.)
 */
export function initialStateModel(graph: Graph, state: readonly OnnxStateIO[], opts: Pick<OnnxExportOptions, 'opset' | 'producerVersion' | 'stateValues'> = {}): Uint8Array {
  const opset = opts.opset ?? DEFAULT_OPSET;
  checkOpset(opset);
  const og: OnnxGraph = { name: `${graph.name}_initial_state`, nodes: [], initializers: new Map(), inputs: [], outputs: [] };
  for (const s of state) {
    if (graph.stateByName(s.variable) === undefined) throw new GcError({ code: Codes.exportOptions, message: `initialStateModel: the graph has no variable '${s.variable}'` });
    const init = stateValue(graph, s.variable, opts);
    og.initializers.set(`${s.input}.init`, init);
    og.nodes.push({ opType: 'Identity', inputs: [`${s.input}.init`], outputs: [s.input], attrs: {}, name: `init_${og.nodes.length}`, doc: '' });
    og.outputs.push({ name: s.input, dtype: init.dtype, shape: init.shape });
  }
  og.metadata = { 'graphc.state': JSON.stringify(state) };
  return serializeModel(og, { opset, irVersion: IR_VERSION_FOR_OPSET[opset]!, producerVersion: opts.producerVersion ?? GRAPHC_VERSION });
}

/**
 * Every operand defined before use (in a subgraph: or in a graph around it), every name
 * defined once in the whole model, every output produced: a broken export is a bug here, not a
 * bad model file.
 */
function checkWellFormed(g: OnnxGraph, outer: ReadonlySet<string> = new Set(), all = new Set<string>()): void {
  const defined = new Set<string>(outer);
  for (const x of [...g.inputs.map((i) => i.name), ...g.initializers.keys()]) {
    if (all.has(x)) throw new GcError({ code: Codes.exportInternal, message: `ONNX export: '${x}' is defined twice (graph ${g.name})` });
    all.add(x);
    defined.add(x);
  }
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (i !== '' && !defined.has(i)) throw new GcError({ code: Codes.exportInternal, message: `ONNX export: node ${n.name} (${n.opType}) reads '${i}' before it is defined` });
    }
    for (const s of subgraphsOf(n)) checkWellFormed(s, defined, all);
    for (const o of n.outputs) {
      if (o === '') continue;
      if (all.has(o)) throw new GcError({ code: Codes.exportInternal, message: `ONNX export: '${o}' is defined twice (node ${n.name})` });
      all.add(o);
      defined.add(o);
    }
  }
  const own = new Set<string>([...g.inputs.map((i) => i.name), ...g.initializers.keys(), ...g.nodes.flatMap((n) => n.outputs)]);
  for (const o of g.outputs) {
    if (!own.has(o.name)) throw new GcError({ code: Codes.exportInternal, message: `ONNX export: output '${o.name}' of graph ${g.name} is never produced` });
  }
}

/**
 * Drops the Identity that copies a node's value into a graph output (a training step's
 * `<input>.new`, an output named apart from its value): the producer writes the output's name
 * itself. ONNX Runtime's Identity copies; an MLP Adam step spent 187 µs of its 4.3 ms in 12 of
 * them. Kept where the value is a graph input, initializer or output itself, a graphc-named
 * value (fetchable by its name), or where any node holds a subgraph (which may name it).
 */
function renameIntoOutputs(og: OnnxGraph, pinned: ReadonlySet<string>): void {
  if (og.nodes.some((n) => Object.values(n.attrs).some((a) => typeof a === 'object' && a !== null && 'nodes' in (a as object)))) return;
  const outputs = new Set(og.outputs.map((o) => o.name));
  const fixed = new Set<string>([...og.inputs.map((i) => i.name), ...og.initializers.keys(), ...outputs, ...pinned]);
  const producer = new Map<string, OnnxNode>();
  for (const n of og.nodes) for (const o of n.outputs) if (o !== '') producer.set(o, n);
  const renamed = new Map<string, string>();
  const drop = new Set<OnnxNode>();
  for (const n of og.nodes) {
    if (n.opType !== 'Identity' || !outputs.has(n.outputs[0]!)) continue;
    const from = n.inputs[0]!, to = n.outputs[0]!;
    if (fixed.has(from) || renamed.has(from) || !producer.has(from)) continue;
    renamed.set(from, to);
    drop.add(n);
  }
  if (renamed.size === 0) return;
  const rn = (x: string) => renamed.get(x) ?? x;
  og.nodes = og.nodes.filter((n) => !drop.has(n));
  for (const n of og.nodes) {
    n.inputs = n.inputs.map(rn);
    n.outputs = n.outputs.map(rn);
  }
}
