import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => { await tf.setBackend('cpu'); });

const ops = (g: gc.Graph) => g.nodes.map((n) => n.op);

describe('gc.optimize and compile({optimize})', () => {
  // (c·2 + 0) is constant; exp(x) appears twice; x·1 is x.
  const fn = (x: tf.Tensor) => {
    const c = tf.mul(tf.tensor1d([1, 2, 3]), 2);
    const a = tf.add(tf.mul(tf.exp(x), tf.scalar(1)), tf.add(c, tf.zeros([3])));
    return tf.add(a, tf.exp(x));
  };

  it('gc.trace stays raw; gc.optimize returns an optimized copy and a report, the input unchanged', () => {
    const g = gc.trace(fn, [gc.spec(['batch', 3])]);
    const before = g.toString();
    const { graph, report } = gc.optimize(g, { verify: true });
    expect(g.toString()).toBe(before);
    expect(ops(graph)).toEqual(['const', 'exp', 'add', 'add']);
    expect(graph.nodes.length).toBeLessThan(g.nodes.length);
    expect(report.map((r) => r.name)).toEqual(['fold-constants', 'simplify', 'control-flow', 'cse', 'dce', 'fold-batch-norm', 'lower-for-backend', 'fuse-matmul-bias-act', 'fuse-elementwise']);
    for (const r of report) expect(r).toMatchObject({ changed: expect.any(Boolean), runs: expect.any(Number), ms: expect.any(Number) });
  });

  it('gc.optimize runs only the passes named, in order', () => {
    const g = gc.trace(fn, [gc.spec([3])]);
    const { graph, report } = gc.optimize(g, { passes: ['cse', 'dce'] });
    expect(report.map((r) => r.name)).toEqual(['cse', 'dce']);
    expect(ops(graph).filter((o) => o === 'exp')).toHaveLength(1);
    expect(ops(graph)).toContain('mul');
    expect(() => gc.optimize(g, { passes: ['nope'] })).toThrow(/unknown pass 'nope'/);
  });

  it('compile optimizes by default (f.graph is the optimized graph) and computes the same values', async () => {
    const f = gc.compile(fn, { inputs: [gc.spec(['batch', 3])], backend: 'cpu' });
    const raw = gc.compile(fn, { inputs: [gc.spec(['batch', 3])], backend: 'cpu', optimize: false });
    // On cpu the remaining elementwise chain becomes one generated kernel.
    expect(ops(f.graph)).toEqual(['const', 'fused_elementwise']);
    expect(raw.graph.nodes.length).toBeGreaterThan(f.graph.nodes.length);
    const x = tf.tensor2d([[0.1, -1, 2], [3, 0, -0.5]]);
    const [a, b, e] = [await f(x) as tf.Tensor, await raw(x) as tf.Tensor, fn(x)];
    expect(Array.from(a.dataSync())).toEqual(Array.from(e.dataSync()));
    expect(Array.from(b.dataSync())).toEqual(Array.from(e.dataSync()));
  });

  it('compile takes OptimizeOptions (a limit that stops folding)', () => {
    const f = gc.compile(fn, { inputs: [gc.spec([3])], backend: 'cpu', optimize: { maxFoldElements: 0, passes: ['fold-constants', 'simplify', 'cse', 'dce'] } });
    expect(ops(f.graph)).toContain('mul');
  });

  it('random ops stay random, assignments stay, named values stay fetchable', async () => {
    const v = tf.variable(tf.zeros([3]), true, 'opt_v');
    const f = gc.compile((x: tf.Tensor) => {
      const h = gc.name(tf.add(tf.mul(x, tf.scalar(1)), tf.zeros([3])), 'h');
      v.assign(tf.add(v, h));
      const r1 = tf.randomUniform([3]), r2 = tf.randomUniform([3]);
      return tf.sub(r1, r2);
    }, { inputs: [gc.spec([3])], backend: 'cpu' });
    expect(ops(f.graph).filter((o) => o === 'random_uniform')).toHaveLength(2);
    expect(ops(f.graph)).toContain('assign');
    const y = await f(tf.tensor1d([1, 2, 3])) as tf.Tensor;
    expect(Array.from(y.dataSync()).some((d) => d !== 0)).toBe(true);
    expect(Array.from(v.dataSync())).toEqual([1, 2, 3]);
    const s = await gc.Session.create(f.graph, { backend: 'cpu' });
    const h = await s.run('h', { x: tf.tensor1d([4, 5, 6]) }) as tf.Tensor;
    expect(Array.from(h.dataSync())).toEqual([4, 5, 6]);
    s.dispose();
    v.dispose();
  });
});

describe("compile with the default backend ('auto') optimizes for the backend auto picks", () => {
  // The witness is a wasm-only rewrite: a transposed rank-2 matmul gets an explicit transpose.
  const fn = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, true, false);
  it('gc.compile of aᵀ·b lowers the transposed matmul on the wasm pick exactly as backend: "wasm" does', async () => {
    const specs = [gc.spec([256, 'm']), gc.spec([256, 64])];
    const auto = gc.compile(fn, { inputs: specs });
    const wasm = gc.compile(fn, { inputs: specs, backend: 'wasm' });
    const s = await auto.session();
    expect(s.backend.name).toBe('wasm'); // no tfjs-node and no hardware GPU on the test machines
    await wasm.ready();
    expect(ops(wasm.graph)).toContain('transpose');
    expect(auto.graph.toString()).toBe(wasm.graph.toString());
    const a = tf.randomNormal([256, 128], 0, 1, 'float32', 1), b = tf.randomNormal([256, 64], 0, 1, 'float32', 2);
    const [ya, yw] = [await auto(a, b) as tf.Tensor, await wasm(a, b) as tf.Tensor];
    expect(Array.from(ya.dataSync())).toEqual(Array.from(yw.dataSync()));
    auto.dispose(); wasm.dispose();
  });

  it('without specs (traced per call signature) too', async () => {
    const auto = gc.compile(fn);
    await auto(tf.ones([256, 128]), tf.ones([256, 64]));
    expect(ops(auto.graph)).toContain('transpose');
    auto.dispose();
  });
});
