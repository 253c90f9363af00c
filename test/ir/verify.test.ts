import { describe, expect, it } from 'vitest';
import { sym } from '../../ir/dim.js';
import { GcError } from '../../ir/errors.js';
import { Graph, StateVar } from '../../ir/graph.js';
import type { OpName } from '../../ir/ops.js';
import { tensorData } from '../../ir/tensor_data.js';
import { verifyGraph, verifyIssues } from '../../ir/verify.js';
import { f32, FIXTURES, smallGraph, stateGraph } from './fixtures.js';

function verifyError(g: Graph): GcError {
  try {
    verifyGraph(g);
  } catch (e) {
    if (e instanceof GcError) return e;
    throw e;
  }
  throw new Error('verified without error');
}

describe('verifyGraph', () => {
  for (const [name, build] of FIXTURES) {
    it(`accepts a well-formed graph: ${name}`, () => {
      const g = build();
      expect(verifyIssues(g)).toEqual([]);
      expect(() => verifyGraph(g)).not.toThrow();
    });
  }

  it('catches a use list missing a use, naming the node', () => {
    const g = smallGraph();
    const x = g.inputs[0]!;
    x.uses.pop();
    expect(verifyIssues(g)).toEqual(['use list of %x lacks operand 0, at `%1: f32[batch,4] = add %x, %0 @ "examples/mlp.ts":14:10`']);
    const e = verifyError(g);
    expect(e.code).toBe('GC0301');
    expect(e.summary).toBe('graph @f is malformed (1 problem)');
    expect(e.message).toContain('note: use list of %x lacks operand 0, at `%1: f32[batch,4] = add %x, %0');
    expect(e.loc).toEqual({ file: 'examples/mlp.ts', line: 14, col: 10 });
  });

  it('catches stale and duplicated uses', () => {
    const g = smallGraph();
    const [c, add, relu] = g.nodes as [never, never, never];
    const x = g.inputs[0]!;
    x.uses.push({ node: relu, index: 0 });
    x.uses.push({ node: add, index: 0 });
    void c;
    expect(verifyIssues(g)).toEqual([
      'use list of %x records operand 0, which is %1, at `%2: f32[batch,4] = leaky_relu %1 {alpha = 0.2}`',
      'use list of %x records operand 0 twice, at `%1: f32[batch,4] = add %x, %0 @ "examples/mlp.ts":14:10`',
    ]);
  });

  it('catches a use by a node that was taken out of the node list', () => {
    const g = smallGraph();
    const relu = g.nodes.pop()!;
    g.outputs = [];
    expect(verifyIssues(g)).toEqual(['use list of %1 has a use by a node not in the graph (leaky_relu, operand 0)']);
    void relu;
  });

  it('catches a wrong recorded type', () => {
    const g = smallGraph();
    const v = g.nodes[1]!.outputs[0]!;
    v.type = { dtype: 'float32', shape: [sym('batch'), 5] };
    const issues = verifyIssues(g);
    expect(issues).toContain('%1 is recorded as f32[batch,5], but add infers f32[batch,4], at `%1: f32[batch,5] = add %x, %0 @ "examples/mlp.ts":14:10`');
    v.type = { dtype: 'int32', shape: [sym('batch'), 4] };
    expect(verifyIssues(g)[0]).toMatch(/^%1 is recorded as i32\[batch,4\], but add infers f32\[batch,4\]/);
    v.type = { dtype: 'float32', shape: [sym('batch', 2), 4] };
    expect(verifyIssues(g)[0]).toMatch(/^%1 is recorded as f32\[2\*batch,4\], but add infers f32\[batch,4\]/);
  });

  it('catches a use before definition', () => {
    const g = smallGraph();
    const [c, add] = g.nodes as [never, never];
    g.moveBefore(add, c);
    expect(verifyIssues(g)).toEqual(['operand 1 (%1) is used before its definition, at `%0: f32[batch,4] = add %x, %1 @ "examples/mlp.ts":14:10`']);
  });

  it('catches operands and outputs that are not values of this graph', () => {
    const g = smallGraph();
    const other = new Graph('other');
    const y = other.addInput('y', f32(sym('batch'), 4));
    g.setInput(g.nodes[2]!, 0, y);
    g.setOutput('foreign', y);
    const issues = verifyIssues(g);
    expect(issues).toContain('operand 0 (%?0) is not a value of this graph, at `%2: f32[batch,4] = leaky_relu %?0 {alpha = 0.2}`');
    expect(issues).toContain("output 'foreign' (%?0) is not a value of this graph");
    expect(issues).toHaveLength(2);
  });

  it('catches unknown ops, bad arity and bad attrs', () => {
    const g = smallGraph();
    const c = g.nodes[0]!, relu = g.nodes[2]!;
    relu.attrs = { alpha: 'steep', beta: 1 };
    expect(verifyIssues(g)).toEqual([
      "attr 'alpha' is not a well-formed float, at `%2: f32[batch,4] = leaky_relu %1 {alpha = \"steep\", beta = 1}`",
      "leaky_relu has no attr 'beta', at `%2: f32[batch,4] = leaky_relu %1 {alpha = \"steep\", beta = 1}`",
    ]);
    relu.attrs = {};
    expect(verifyIssues(g)).toEqual(["missing attr 'alpha' (float), at `%2: f32[batch,4] = leaky_relu %1`"]);
    c.attrs = { value: { dtype: 'float32', shape: [3], data: new Float32Array(4) } };
    expect(verifyIssues(g)[0]).toMatch(/^attr 'value' is not a well-formed tensor/);
    c.attrs = { value: { dtype: 'int64', shape: [4], data: new Float32Array(4) } };
    expect(verifyIssues(g)[0]).toMatch(/^attr 'value' is not a well-formed tensor/);
    (c as { op: string }).op = 'frob';
    expect(verifyIssues(g)[0]).toMatch(/^unknown op 'frob', at `%0: f32\[4\] = frob/);
    const g2 = smallGraph();
    const add2 = g2.nodes[1]!;
    add2.inputs.push(g2.inputs[0]!);
    g2.inputs[0]!.uses.push({ node: add2, index: 2 });
    expect(verifyIssues(g2)).toEqual(['add takes 2 operands, got 3, at `%1: f32[batch,4] = add %x, %0, %x @ "examples/mlp.ts":14:10`']);
  });

  it('catches a value defined twice and a node listed twice', () => {
    const g = smallGraph();
    g.nodes.push(g.nodes[1]!);
    expect(verifyIssues(g)).toContain('%1 is defined 2 times');
    expect(verifyIssues(g)).toContain('node appears twice in the node list, at `%1: f32[batch,4] = add %x, %0 @ "examples/mlp.ts":14:10`');
  });

  it('catches state problems', () => {
    const g = stateGraph();
    g.states[1]!.init = tensorData('int32', [], [5]);
    const s0 = g.states[0]!;
    g.states.push(new StateVar(s0.name, s0.value, s0.initSource, s0.trainable));
    const issues = verifyIssues(g);
    expect(issues).toContain('state %step ("step") is i64[], but its init is i32[]');
    expect(issues).toContain('variable "dense/kernel" is declared twice');
  });

  it('reports every problem at once', () => {
    const g = smallGraph();
    g.inputs[0]!.uses.pop();
    g.nodes[2]!.outputs[0]!.type = f32(4);
    const e = verifyError(g);
    expect(e.summary).toBe('graph @f is malformed (2 problems)');
  });

  it('accepts graphs that passes rewrote through the Graph API', () => {
    const g = smallGraph();
    const [, add, relu] = g.nodes as [never, never, never];
    const x = g.inputs[0]!;
    const e = g.add('exp', [x]);
    const sum = g.add('add', [e, g.nodes[0]!.outputs[0]!]);
    g.moveBefore(g.nodes.at(-1)!, relu);
    g.moveBefore(e.producer!, sum.producer!);
    g.replaceAllUsesWith((add as { outputs: never[] }).outputs[0]!, sum);
    g.removeNode(add);
    expect(verifyIssues(g)).toEqual([]);
    const ops = g.nodes.map((n) => n.op);
    expect(ops).toEqual(['const', 'exp', 'add', 'leaky_relu'] satisfies OpName[]);
  });
});
