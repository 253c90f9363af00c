/**
 * The lazy node-list edits of Graph (removeNode, moveBefore applied in one sweep when `nodes`
 * is read) give the order eager array edits would, also when the caller edits the array
 * `nodes` returns, removes a node twice, or moves a node more than once between sweeps.
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../ir/graph.js';
import type { Node, Value } from '../../ir/graph.js';
import { verifyIssues } from '../../ir/verify.js';
import { f32 } from './fixtures.js';

/** x → tanh chain of `n` nodes; the nodes. */
function chain(n: number): { g: Graph; x: Value; nodes: Node[] } {
  const g = new Graph('chain');
  const x = g.addInput('x', f32(4));
  let cur = x;
  for (let i = 0; i < n; i++) cur = g.add('tanh', [cur]);
  g.setOutput('out', cur);
  return { g, x, nodes: [...g.nodes] };
}

describe('Graph edits', () => {
  it('moves before a node after the caller edited the node array', () => {
    const { g, x, nodes } = chain(4);
    const extra = g.addNode('exp', [x]);
    g.nodes.splice(g.nodes.indexOf(extra), 1); // the caller takes it out by hand…
    g.nodes.splice(1, 0, extra); // …and puts it back at slot 1
    const late = g.addNode('neg', [x]);
    g.moveBefore(late, nodes[2]!);
    expect(g.nodes).toEqual([nodes[0], extra, nodes[1], late, nodes[2], nodes[3]]);
  });

  it('moves a node twice, and before a moved node, across sweeps', () => {
    const { g, x, nodes } = chain(3);
    const a = g.addNode('exp', [x]);
    const b = g.addNode('neg', [x]);
    g.moveBefore(a, nodes[2]!);
    g.moveBefore(b, a);
    g.moveBefore(a, nodes[0]!);
    expect(g.nodes).toEqual([a, nodes[0], nodes[1], b, nodes[2]]);
    const c = g.addNode('abs', [x]);
    g.moveBefore(c, b);
    expect(g.nodes).toEqual([a, nodes[0], nodes[1], c, b, nodes[2]]);
  });

  it('removes, moves and adds between two sweeps, and hasNode follows', () => {
    const { g, x, nodes } = chain(3);
    const dead = g.addNode('exp', [x]);
    const moved = g.addNode('neg', [x]);
    g.moveBefore(moved, nodes[0]!);
    g.removeNode(dead);
    g.removeNode(moved);
    expect(g.hasNode(dead)).toBe(false);
    expect(g.hasNode(nodes[1]!)).toBe(true);
    const after = g.addNode('abs', [x]);
    expect(g.nodes).toEqual([...nodes, after]);
    expect(g.hasNode(moved)).toBe(false);
    expect(x.uses.map((u) => u.node)).toEqual([nodes[0], after]);
    expect(verifyIssues(g)).toEqual([]);
  });

  it('a clone keeps the ids and starts with no edits; its edits leave the original alone', () => {
    const { g, nodes } = chain(4);
    const c = g.clone();
    const cn = c.nodes;
    expect(cn.map((n) => n.id)).toEqual(nodes.map((n) => n.id));
    c.replaceAllUsesWith(cn[2]!.outputs[0]!, cn[1]!.outputs[0]!);
    c.removeNode(cn[2]!);
    expect(c.nodes.length).toBe(3);
    expect(c.hasNode(cn[2]!)).toBe(false);
    expect(g.hasNode(nodes[2]!)).toBe(true);
    expect(g.nodes).toEqual(nodes);
    expect(verifyIssues(c)).toEqual([]);
    expect(c.idBound).toBe(g.idBound);
  });

  it('clones a graph whose use lists list a use twice (x op x) and a value nothing reads', () => {
    const g = new Graph('f');
    const x = g.addInput('x', f32(4));
    const y = g.addInput('unused', f32(4));
    const s = g.add('add', [x, x]);
    g.setOutput('out', g.add('mul', [s, s]));
    const c = g.clone();
    expect(verifyIssues(c)).toEqual([]);
    const [cx, cy] = c.inputs as [Value, Value];
    expect(cx.uses.map((u) => u.index)).toEqual([0, 1]);
    expect(cy.uses).toEqual([]);
    expect(y.uses).toEqual([]);
  });
});
