/**
 * IR Graph → ONNX ModelProto. Each live node is exported by its rule in EXPORT_RULES
 * (rules.ts), into an OnnxGraph (onnx_graph.ts) that layout passes then clean up
 * (transpose sinking, identities, dead code) before it is serialized.
 *
 *   const bytes = gc.toOnnx(graph, { opset: 17 });
 *
 * - Inputs keep the graph's input names, outputs the graph's output names; variables are
 *   initializers named after their value names (names.ts); `exportOnnx` also returns the
 *   map between graphc names and ONNX names.
 * - Symbolic dims are dim_param: the symbol's name, or the affine text (`2*batch`).
 * - Each node's doc_string is the user's source location (file:line:col).
 * - Graphs that assign variables (training steps) and ops without an ONNX form fail with a
 *   GcError that names the op, the user's line and the reason.
 * - Deterministic: the same graph gives byte-identical output.
 */
import { Codes, GcError } from '../../../ir/errors.js';
import type { Graph, Node, Value } from '../../../ir/graph.js';
import { AttrReader } from '../../../ir/ops.js';
import { printNode, ValueNames } from '../../../ir/printer.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import { Emitter } from './emitter.js';
import { buildNameMap, nameValues } from './names.js';
import type { NameMap } from './names.js';
import type { OnnxGraph } from './onnx_graph.js';
import type { OnnxPass, PassCtx } from './passes/pass.js';
import { runOnnxPasses } from './passes/pass.js';
import { EXPORT_RULES, isUnsupported } from './rules.js';
import type { ExportRule, RuleCtx } from './rule_types.js';
import { RuleFailure } from './rule_types.js';
import { serializeModel } from './serialize.js';
import { eliminateIdentities, foldConstantReshapes, mergeReshapes, removeDeadNodes } from './passes/cleanup.js';
import { SymDims } from './sym_dims.js';
import { sinkTransposes } from './passes/transpose_sinking.js';

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
}

export interface OnnxExport {
  bytes: Uint8Array;
  /** graphc names ↔ ONNX names of the inputs, outputs, variables and named values that the model has. */
  names: NameMap;
  /** The exported graph before serialization (for inspection and tests). */
  graph: OnnxGraph;
}

/** The exporter's passes, in order; repeated to a fixed point. */
export const EXPORT_PASSES: readonly OnnxPass[] = [eliminateIdentities, mergeReshapes, foldConstantReshapes, sinkTransposes, removeDeadNodes];

export function toOnnx(graph: Graph, opts: OnnxExportOptions = {}): Uint8Array {
  return exportOnnx(graph, opts).bytes;
}

function checkOpset(opset: number): void {
  if (IR_VERSION_FOR_OPSET[opset] === undefined) {
    throw new GcError({ code: Codes.exportOptions, message: `toOnnx: opset ${opset} is not supported`,
      help: `choose an opset from ${Object.keys(IR_VERSION_FOR_OPSET).join(', ')} (default ${DEFAULT_OPSET})` });
  }
}

/** Nodes that the outputs depend on, in graph order. */
function liveNodes(graph: Graph): Node[] {
  const live = new Set<Node>();
  const stack: Value[] = graph.outputs.map((o) => o.value);
  while (stack.length) {
    const v = stack.pop()!;
    if (v.producer && !live.has(v.producer)) {
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

/** Fails on assignments anywhere and on live nodes whose op has no rule. */
function checkExportable(graph: Graph, nodes: readonly Node[]): void {
  const assign = graph.nodes.find((n) => n.op === 'assign');
  const bad = assign ?? nodes.find((n) => isUnsupported(EXPORT_RULES[n.op]));
  if (!bad) return;
  const rule = EXPORT_RULES[bad.op];
  if (!isUnsupported(rule)) return;
  const what = bad.op === 'assign' ? `assign to variable '${String(bad.attrs.var)}'` : bad.op;
  throw nodeError(graph, bad, `${what}: cannot be exported to ONNX: ${rule.unsupported}`, rule.help);
}

export function exportOnnx(graph: Graph, opts: OnnxExportOptions = {}): OnnxExport {
  const opset = opts.opset ?? DEFAULT_OPSET;
  checkOpset(opset);
  const nodes = liveNodes(graph);
  checkExportable(graph, nodes);

  const naming = nameValues(graph);
  const nameOf = (v: Value) => naming.names.get(v)!;
  const og: OnnxGraph = {
    name: graph.name,
    nodes: [],
    initializers: new Map(),
    inputs: graph.inputs.map((v) => ({ name: nameOf(v), dtype: v.dtype, shape: v.shape })),
    outputs: graph.outputs.map((o) => ({ name: o.name, dtype: o.value.dtype, shape: o.value.shape })),
  };
  const e = new Emitter(og, naming.alloc, opset);
  for (const s of graph.states) e.initializer(nameOf(s.value), s.init);
  const dims = new SymDims(e, graph, naming.names);

  const constOf = (v: Value): TensorData | undefined => {
    if (v.kind === 'state') return graph.states[v.index]!.init;
    if (v.producer?.op === 'const') return v.producer.attrs.value as TensorData;
    return undefined;
  };
  for (const n of nodes) {
    e.at(n, n.outputs.length ? nameOf(n.outputs[0]!) : `${n.op}_${n.id}`);
    const cx: RuleCtx = {
      node: n,
      a: new AttrReader(n.op, n.attrs),
      ins: n.inputs.map(nameOf),
      outs: n.outputs.map(nameOf),
      e, dims, opset,
      inType: (i) => n.inputs[i]!.type,
      outType: (i = 0) => n.outputs[i]!.type,
      constOf: (i) => constOf(n.inputs[i]!),
      fail: (reason, help) => { throw new RuleFailure(reason, help); },
    };
    try {
      (EXPORT_RULES[n.op] as ExportRule)(cx);
    } catch (err) {
      if (err instanceof RuleFailure) throw nodeError(graph, n, `${n.op}: cannot be exported to ONNX: ${err.message}`, err.help);
      if (err instanceof GcError) throw err;
      throw nodeError(graph, n, `${n.op}: ONNX export failed: ${(err as Error).message}`);
    }
  }
  e.at(undefined, 'output');
  for (const c of naming.outputCopies) e.op('Identity', [c.from], {}, c.to);

  if (opts.optimize ?? true) {
    const ctx: PassCtx = { freshValue: (b) => naming.alloc.fresh(b), freshNode: (b) => e.freshNodeName(b) };
    runOnnxPasses(og, EXPORT_PASSES, ctx);
  }
  checkWellFormed(og);
  const present = new Set<string>([...og.inputs.map((i) => i.name), ...og.initializers.keys(), ...og.nodes.flatMap((n) => n.outputs)]);
  const bytes = serializeModel(og, { opset, irVersion: IR_VERSION_FOR_OPSET[opset]!, producerVersion: opts.producerVersion ?? GRAPHC_VERSION });
  return { bytes, names: buildNameMap(graph, naming, (x) => present.has(x)), graph: og };
}

/** Every operand defined before use, every output produced once: a broken export is a bug here, not a bad model file. */
function checkWellFormed(g: OnnxGraph): void {
  const defined = new Set<string>([...g.inputs.map((i) => i.name), ...g.initializers.keys()]);
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (i !== '' && !defined.has(i)) throw new GcError({ code: Codes.exportInternal, message: `ONNX export: node ${n.name} (${n.opType}) reads '${i}' before it is defined` });
    }
    for (const o of n.outputs) {
      if (defined.has(o)) throw new GcError({ code: Codes.exportInternal, message: `ONNX export: '${o}' is defined twice (node ${n.name})` });
      defined.add(o);
    }
  }
  for (const o of g.outputs) {
    if (!defined.has(o.name)) throw new GcError({ code: Codes.exportInternal, message: `ONNX export: output '${o.name}' is never produced` });
  }
}
