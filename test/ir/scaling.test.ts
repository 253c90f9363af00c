/**
 * Guards against quadratic graph editing (issue #4) without timing anything: the node list
 * and use lists are wrapped in counting proxies, and the element reads and writes a batch
 * of edits makes must stay linear in the graph's size (an indexOf + splice per removal
 * would make ~n²/2 of them).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Graph } from '../../ir/graph.js';
import type { Node, Value } from '../../ir/graph.js';
import { cse } from '../../ir/passes/cse.js';
import { dcePass } from '../../ir/passes/dce.js';
import { simplify } from '../../ir/passes/simplify.js';
import { passContext } from '../../ir/passes/pass.js';
import { tensorData } from '../../ir/tensor_data.js';
import { verifyGraph } from '../../ir/verify.js';
import { f32 } from './fixtures.js';

/** `arr` behind a proxy counting reads and writes of its elements and length. */
function counted<T>(arr: T[]): { proxy: T[]; count: () => number } {
  let n = 0;
  const proxy = new Proxy(arr, {
    get(t, k, r) { if (typeof k === 'string') n++; return Reflect.get(t, k, r); },
    set(t, k, v, r) { if (typeof k === 'string') n++; return Reflect.set(t, k, v, r); },
  });
  return { proxy, count: () => n };
}

/** A chain of `n` tanh nodes on x, and the graph's output. */
function chain(n: number): { g: Graph; x: Value; nodes: Node[] } {
  const g = new Graph('chain');
  const x = g.addInput('x', f32(4));
  let cur = x;
  for (let i = 0; i < n; i++) cur = g.add('tanh', [cur]);
  g.setOutput('out', x);
  return { g, x, nodes: [...g.nodes] };
}

afterEach(() => { vi.restoreAllMocks(); });

describe('graph edits stay linear', () => {
  // Big enough that n² dwarfs 20·n, small enough that a quadratic version fails fast.
  const N = 5_000;

  it('removing 5k nodes touches the node list O(n) times', () => {
    const { g, nodes } = chain(N);
    const c = counted(g.nodes);
    g.nodes = c.proxy;
    for (let i = nodes.length - 1; i >= 0; i--) g.removeNode(nodes[i]!);
    expect(g.nodes.length).toBe(0);
    expect(c.count()).toBeLessThan(20 * N);
  });

  it('moving 5k nodes keeps array order semantics and touches the list O(n) times', () => {
    const { g, x, nodes } = chain(10);
    const c = counted(g.nodes);
    g.nodes = c.proxy;
    const anchor = nodes[5]!;
    const added: Node[] = [];
    for (let i = 0; i < N; i++) {
      const n = g.addNode('exp', [x]);
      g.moveBefore(n, anchor);
      added.push(n);
    }
    // Moving a node before one that was itself moved, and moving a moved node again.
    const late = g.addNode('neg', [x]);
    g.moveBefore(late, added[1]!);
    g.moveBefore(added[0]!, nodes[2]!);
    const order = g.nodes;
    expect(order.length).toBe(10 + N + 1);
    expect(order.slice(0, 4)).toEqual([nodes[0], nodes[1], added[0], nodes[2]]);
    expect(order.slice(4, 9)).toEqual([nodes[3], nodes[4], late, added[1], added[2]]);
    expect(order[N + 6]).toBe(anchor);
    expect(c.count()).toBeLessThan(20 * N);
  });

  it('removing the 5k users of one value touches its use list O(n) times', () => {
    const g = new Graph('shared');
    const x = g.addInput('x', f32(4));
    const k = g.add('const', [], { value: tensorData('float32', [4], [1, 2, 3, 4]) });
    const users = Array.from({ length: N }, () => g.add('add', [x, k]).producer!);
    g.setOutput('out', x);
    const c = counted(k.uses);
    (k as { uses: Value['uses'] }).uses = c.proxy;
    for (let i = users.length - 1; i >= 0; i--) g.removeNode(users[i]!);
    expect(k.uses.length).toBe(0);
    expect(c.count()).toBeLessThan(20 * N);
  });

  it('replaceAllUsesWith on a value with 5k uses touches its use list O(n) times', () => {
    const g = new Graph('rauw');
    const x = g.addInput('x', f32(4));
    const a = g.add('neg', [x]);
    const b = g.add('exp', [x]);
    for (let i = 0; i < N; i++) g.add('add', [a, x]);
    g.setOutput('out', x);
    const c = counted(a.uses);
    (a as { uses: Value['uses'] }).uses = c.proxy;
    g.replaceAllUsesWith(a, b);
    expect(a.uses.length).toBe(0);
    expect(b.uses.length).toBe(N);
    expect(c.count()).toBeLessThan(20 * N);
  });

  it('dce, cse and simplify read the node list a bounded number of times (not once per node)', () => {
    // 20k duplicated, dead and simplifiable nodes.
    const g = new Graph('passes');
    const x = g.addInput('x', f32(4));
    let cur = x;
    for (let i = 0; i < 5000; i++) {
      const a = g.add('sigmoid', [cur]);
      const b = g.add('sigmoid', [cur]); // cse
      g.add('exp', [a]); // dead
      cur = g.add('neg', [g.add('neg', [g.add('mul', [a, b])])]); // involution
    }
    g.setOutput('out', cur);
    const reads = vi.spyOn(Graph.prototype, 'nodes', 'get');
    const ctx = passContext();
    for (const p of [simplify, cse, dcePass]) {
      reads.mockClear();
      expect(p.run(g, ctx)).toBe(true);
      expect(reads.mock.calls.length, p.name).toBeLessThan(10);
    }
    reads.mockRestore();
    verifyGraph(g);
    expect(g.nodes.map((n) => n.op).filter((op) => op === 'sigmoid').length).toBe(5000);
    expect(g.nodes.some((n) => n.op === 'neg' || n.op === 'exp')).toBe(false);
  });
});
