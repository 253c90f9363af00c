/**
 * The exporter's ONNX passes on graphs with subgraphs (If / Loop / Scan bodies read outer names):
 * a value read only inside a subgraph is live, an Identity it reads is bypassed inside the
 * subgraph too, a Transpose it reads is neither sunk nor dropped, and the passes run inside the
 * subgraphs (an Identity into a subgraph's output goes). onnxruntime runs the result with the numbers
 * computed by hand, both branches.
 */
import { describe, expect, it } from 'vitest';
import { tensorData } from '../../../../../ir/tensor_data.js';
import { EXPORT_PASSES } from '../../../../../exporters/onnx/export/export.js';
import type { OnnxGraph, OnnxNode } from '../../../../../exporters/onnx/export/onnx_graph.js';
import { attr, outerNames, subgraphsOf } from '../../../../../exporters/onnx/export/onnx_graph.js';
import type { PassCtx } from '../../../../../exporters/onnx/export/passes/pass.js';
import { runOnnxPassesDeep } from '../../../../../exporters/onnx/export/passes/pass.js';
import { NameAllocator } from '../../../../../exporters/onnx/export/names.js';
import { serializeModel } from '../../../../../exporters/onnx/export/serialize.js';
import { runOrt } from '../../harness.js';

const n = (opType: string, inputs: string[], outputs: string[], attrs: OnnxNode['attrs'] = {}): OnnxNode => ({ opType, inputs, outputs, attrs, name: `${outputs[0]}_node`, doc: '' });

/**
 * x: [2, 3]. Outer: t = Transpose(x), i = Identity(t), m = MatMul(x, w) — each read only by the
 * If's branches. then: MatMul(i, w2) + m's sum; else: Identity(Relu(i)).
 */
function graph(): OnnxGraph {
  const then: OnnxGraph = { name: 'then', initializers: new Map([['w2', tensorData('float32', [2, 2], [1, 2, 3, 4])]]), inputs: [],
    nodes: [n('MatMul', ['i', 'w2'], ['p']), n('ReduceSum', ['m'], ['ms'], { keepdims: attr.int(0) }), n('Add', ['p', 'ms'], ['then_out'])],
    outputs: [{ name: 'then_out', dtype: 'float32', shape: [3, 2] }] };
  const els: OnnxGraph = { name: 'else', initializers: new Map(), inputs: [],
    nodes: [n('Relu', ['i'], ['rl']), n('Identity', ['rl'], ['else_out'])],
    outputs: [{ name: 'else_out', dtype: 'float32', shape: [3, 2] }] };
  return {
    name: 'g',
    inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }, { name: 'c', dtype: 'bool', shape: [] }],
    initializers: new Map([['w', tensorData('float32', [3, 1], [1, -1, 2])]]),
    nodes: [
      n('Transpose', ['x'], ['t'], { perm: attr.ints([1, 0]) }),
      n('Identity', ['t'], ['i']),
      n('MatMul', ['x', 'w'], ['m']),
      n('If', ['c'], ['y'], { then_branch: attr.graph(then), else_branch: attr.graph(els) }),
    ],
    outputs: [{ name: 'y', dtype: 'float32', shape: [3, 2] }],
  };
}

const ops = (g: OnnxGraph): string[] => g.nodes.map((x) => x.opType);

describe('ONNX passes over subgraphs', () => {
  it('keep what subgraphs read, rewrite inside them, and the model runs with the expected numbers', async () => {
    const g = graph();
    const alloc = new NameAllocator();
    const ctx: PassCtx = { freshValue: (b) => alloc.fresh(b), freshNode: (b) => alloc.fresh(`node_${b}`) };
    runOnnxPassesDeep(g, EXPORT_PASSES, ctx);
    const [thenG, elseG] = subgraphsOf(g.nodes.find((x) => x.opType === 'If')!).sort((a, b) => a.name.localeCompare(b.name)).reverse();
    expect(ops(g)).toEqual(['Transpose', 'Gemm', 'If']);           // the outer Identity bypassed, nothing read by a branch dropped
    expect(ops(elseG!)).toEqual(['Relu']);                          // passes ran inside the subgraph: its output Identity went
    expect([...outerNames(thenG!)].sort()).toEqual(['m', 't']);     // the branch reads the Identity's source now
    expect([...outerNames(elseG!)]).toEqual(['t']);
    expect('nodes' in g.nodes[2]!.attrs.then_branch!).toBe(true);   // export.ts's renameIntoOutputs sees a subgraph by its nodes
    const bytes = serializeModel(g, { opset: 17, irVersion: 8, producerVersion: 'test' });
    const x = Float32Array.from([1, -2, 3, -4, 5, -6]);
    const xt = [[1, -4], [-2, 5], [3, -6]];
    const msum = (1 + 2 + 6) + (-4 - 5 - 12);
    for (const c of [true, false]) {
      const out = await runOrt(bytes, { x: { dtype: 'float32', shape: [2, 3], data: x }, c: { dtype: 'bool', shape: [], data: Uint8Array.of(c ? 1 : 0) } }, ['y']);
      const want = c ? xt.flatMap(([a, b]) => [a! * 1 + b! * 3 + msum, a! * 2 + b! * 4 + msum]) : xt.flatMap((r) => r.map((v) => Math.max(v, 0)));
      expect(Array.from(out.y!.data as Float32Array)).toEqual(want);
    }
  });
});
