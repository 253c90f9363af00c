/**
 * Regions of control-flow nodes (ir/control_flow.ts) in an exported model: a region's nodes are
 * exported by the same rules as the main graph's, either inline (into the graph being built) or
 * into a subgraph that If / Loop / Scan hold as an attribute (rules/control_flow.ts).
 *
 * A region reads no outer value: its block arguments stand for the node's captures (and loop
 * values). In ONNX a subgraph reads the graphs around it by name, so a capture's block argument
 * is simply the capture's outer name; carried values and scanned slices are subgraph inputs.
 * Every name is allocated from the model's one NameAllocator, so no subgraph name shadows an
 * outer one. Symbolic dims inside a subgraph are read from its inputs and captures, or else from
 * the graph around it (SymDims' parent).
 */
import type { Graph, Node, TensorType, Value } from '../../../ir/graph.js';
import type { TensorData } from '../../../ir/tensor_data.js';
import { Emitter } from './emitter.js';
import type { NameAllocator } from './names.js';
import type { OnnxGraph, OnnxValueInfo } from './onnx_graph.js';
import { attr } from './onnx_graph.js';
import type { EmitScope, RegionExport } from './rule_types.js';
import { SymDims } from './sym_dims.js';

/** Exports one node (export.ts): its rule run with these names, in this scope, errors located in `graph`. */
export type NodeExporter = (n: Node, at: EmitScope, nameOf: (v: Value) => string, constOf: (v: Value) => TensorData | undefined, graph: Graph, regions: RegionExport) => void;

/** The nodes of `r` its outputs depend on, in order. */
function liveRegionNodes(r: Graph): Node[] {
  const live = new Set<Node>();
  const stack: Value[] = r.outputs.map((o) => o.value);
  while (stack.length) {
    const v = stack.pop()!;
    if (v.producer && !live.has(v.producer)) {
      live.add(v.producer);
      stack.push(...v.producer.inputs);
    }
  }
  return r.nodes.filter((n) => live.has(n));
}

const regionConst = (v: Value): TensorData | undefined => (v.producer?.op === 'const' ? v.producer.attrs.value as TensorData : undefined);

export class RegionExporter implements RegionExport {
  constructor(readonly scope: EmitScope, private readonly alloc: NameAllocator, private readonly opset: number, private readonly exportNode: NodeExporter) {}

  private at(scope: EmitScope): RegionExporter {
    return scope === this.scope ? this : new RegionExporter(scope, this.alloc, this.opset, this.exportNode);
  }

  fresh(base: string): string {
    return this.alloc.fresh(base);
  }

  inline(r: Graph, args: readonly string[], at: EmitScope): string[] {
    if (args.length !== r.inputs.length) throw new Error(`region @${r.name} takes ${r.inputs.length} block arguments, given ${args.length}`);
    const names = new Map<Value, string>();
    r.inputs.forEach((v, i) => names.set(v, args[i]!));
    const nameOf = (v: Value): string => {
      let s = names.get(v);
      if (s === undefined) names.set(v, (s = this.alloc.fresh(v.name ?? `${r.name}_v${v.id}`)));
      return s;
    };
    const sub = this.at(at);
    for (const n of liveRegionNodes(r)) this.exportNode(n, at, nameOf, regionConst, r, sub);
    return r.outputs.map((o) => nameOf(o.value));
  }

  subgraph(name: string, inputs: readonly OnnxValueInfo[], build: (at: EmitScope) => { names: readonly string[]; types: readonly TensorType[] }): OnnxGraph {
    const g: OnnxGraph = { name: this.alloc.fresh(name), nodes: [], initializers: new Map(), inputs: [...inputs], outputs: [] };
    const e = new Emitter(g, this.alloc, this.opset, this.scope.e.nodeNames);
    const dims = new SymDims(e, { inputs: [] }, new Map(), this.scope.dims);
    for (const i of inputs) dims.learn(i.name, i.shape);
    const scope: EmitScope = { e, dims };
    const { names, types } = build(scope);
    const produced = new Set<string>();
    for (const n of g.nodes) for (const o of n.outputs) produced.add(o);
    const taken = new Set<string>();
    e.at(undefined, `${g.name}_out`);
    g.outputs = names.map((s, i) => {
      let out = s;
      if (!produced.has(s) || taken.has(s)) out = e.op('Identity', [s], {}, this.alloc.fresh(`${g.name}_out${i}`));
      taken.add(out);
      const t = types[i]!;
      return { name: out, dtype: t.dtype, shape: t.shape };
    });
    return attr.graph(g);
  }
}
