import { describe, expect, it } from 'vitest';
import { Graph } from '../../../ir/graph.js';
import type { Node } from '../../../ir/graph.js';
import { dce } from '../../../ir/passes/dce.js';
import { f32 } from '../fixtures.js';
import { checkGolden } from './golden.js';

const pass = (name: string, text: string) => it(name, () => { checkGolden(text); });

describe('dce', () => {
  pass('removes unused pure and random nodes and unread variables', `// RUN: dce
graph @f(%x: f32[3]) state(%v: f32[3] = "v" trainable, %u: f32[3] = "u" trainable) {
  %0: f32[3] = exp %x
  %1: f32[3] = tanh %0
  %2: f32[3] = random_normal {dtype = f32, mean = 0, seed = -1, shape = [3], std = 1, truncated = false}
  %3: f32[3] = add %v, %x
  %4: f32[3] = neg %x
  init %v = dense<f32[3]> [0, 0, 0]
  init %u = dense<f32[3]> [1, 1, 1]
  return out = %4
}
// EXPECT:
graph @f(%x: f32[3]) {
  %0: f32[3] = neg %x
  return out = %0
}`);

  pass('negative: assignments, what they read, assigned variables and named values stay', `// RUN: dce
graph @f(%x: f32[3]) state(%v: f32[3] = "v" trainable, %w: f32[3] = "w") {
  %0: f32[3] = add %v, %x
  assign %0 {var = "v"}
  assign %x {var = "w"}
  %hidden: f32[3] = exp %x
  init %v = dense<f32[3]> [0, 0, 0]
  init %w = dense<f32[3]> [0, 0, 0]
  return
}
// EXPECT: unchanged`);

  it('keeps what is live when a user comes before its producer (the sweep falls back to marking)', () => {
    const g = new Graph('f');
    const x = g.addInput('x', f32(3));
    const a = g.add('exp', [x]);
    const b = g.add('neg', [a]);
    const dead = g.add('tanh', [x]);
    const late = g.add('sigmoid', [x]);
    g.setOutput('out', g.add('add', [b, late]));
    const [na, nb, nd, nl, nadd] = g.nodes as [Node, Node, Node, Node, Node];
    // Not topological: the add reads sigmoid, placed after it; exp placed after its user neg.
    g.nodes = [nb, na, nd, nadd, nl];
    expect(dce(g)).toBe(true);
    expect(g.nodes).toEqual([nb, na, nadd, nl]);
    expect(g.hasNode(nd)).toBe(false);
    expect(dead.uses.length).toBe(0);
    expect(x.uses.map((u) => u.node)).toEqual([na, nl]);
  });
});
