import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import { inUserDims } from '../../src/trace/user_shapes.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function caught(f: () => unknown): Error {
  try { f(); } catch (e) { return e as Error; }
  throw new Error('expected an error');
}

describe('errors raised while tracing speak the user\'s dims', () => {
  it("graphc's matmul error for spec ['batch', 3] prints lhs [batch,3], not the trace size", () => {
    const w = tf.variable(tf.ones([4, 5]), true, 'w_es1');
    const e = caught(() => gc.compile((x: tf.Tensor) => tf.matMul(x, w), { inputs: [gc.spec(['batch', 3])], backend: 'cpu' }));
    expect(e).toBeInstanceOf(gc.GcError);
    expect((e as gc.GcError).code).toBe('GC0203');
    expect(e.message).toContain('matmul: inner dimensions differ (lhs [batch,3], rhs [4,5]: 3 ≠ 4)');
    expect(e.message).toContain('operands: float32[batch,3], float32[4,5]');
    expect(e.message).toMatch(/note: shapes are written with the specs' dims: batch = dim 0 of 'x', traced as \d+/);
    // The location still points at the user's line.
    expect(e.message).toMatch(/--> test\/core\/error_shapes\.test\.ts:\d+/);
  });

  it("tfjs's own shape error keeps its class and speaks the user's dims", () => {
    const e = caught(() => gc.compile((x: tf.Tensor, y: tf.Tensor) => tf.losses.meanSquaredError(y, x),
      { inputs: [gc.spec(['batch', 3]), gc.spec(['batch', 4])], backend: 'cpu' }));
    expect(e).not.toBeInstanceOf(gc.GcError);
    expect(e.message).toContain('Shapes batch,4 and batch,3 must match');
    expect(e.stack).toContain('Shapes batch,4 and batch,3 must match');
  });

  it("tfjs's broadcast error on rank-1 shapes (printed as single numbers) speaks the user's dims", () => {
    const e = caught(() => gc.compile((x: tf.Tensor, y: tf.Tensor) => tf.equal(x, y), { inputs: [gc.spec(['n']), gc.spec(['m'])], backend: 'cpu' }));
    expect(e.message).toMatch(/Operands could not be broadcast together with shapes (n and m|m and n)/);
  });

  it('anonymous dims print as ? (one) or ?k, the graph\'s symbol _k (several)', () => {
    const w = tf.variable(tf.ones([4, 5]), true, 'w_es2');
    const one = caught(() => gc.compile((x: tf.Tensor) => tf.matMul(x, w), { inputs: [gc.spec([null, 3])], backend: 'cpu' }));
    expect(one.message).toContain('lhs [?,3]');
    expect(one.message).toContain("? = dim 0 of 'x' (null in the spec)");
    const two = caught(() => gc.compile((x: tf.Tensor, y: tf.Tensor) => tf.add(x, y), { inputs: [gc.spec([null, 3]), gc.spec([null, 4])], backend: 'cpu' }));
    expect(two.message).toContain('add: shapes [?0,3] and [?1,4] do not broadcast (?0 vs ?1)');
  });

  it('trace sizes never equal a static dim of the specs or the variables, so attribution is unambiguous', () => {
    // Static 7 and 5 everywhere: the batch must be traced at some other size.
    const w = tf.variable(tf.ones([8, 2]), true, 'w_es3');
    const w2 = tf.variable(tf.ones([5, 11]), true, 'w_es4');
    void w2;
    const e = caught(() => gc.compile((x: tf.Tensor) => tf.matMul(x, w), { inputs: [gc.spec(['batch', 7])], backend: 'cpu' }));
    expect(e.message).toContain('lhs [batch,7], rhs [8,2]: 7 ≠ 8');
    const size = Number(/traced as (\d+)/.exec(e.message)![1]);
    expect([0, 1, 2, 5, 7, 8, 11]).not.toContain(size);
  });

  it("a polymorphism error names the anonymous dim as '?'", () => {
    const e = caught(() => gc.compile((x: tf.Tensor) => tf.range(0, x.shape[0]! * x.shape[0]!), { inputs: [gc.spec([null])], backend: 'cpu' }));
    expect(e.message).toMatch(/not polymorphic in '\?'/);
    expect(e.message).not.toContain("'_0'");
  });

  it('inUserDims rewrites only shape-like numbers of a size it knows', () => {
    const dims = { bySize: new Map([[13, 'batch']]), legend: new Map() };
    const used = new Set<string>();
    expect(inUserDims('op #13: shapes [13,3] and 13,4 (13 vs 2), rank 13', dims, used)).toBe('op #13: shapes [batch,3] and batch,4 (batch vs 2), rank 13');
    expect(inUserDims('shapes 13 and 7. Shapes 13,3 and 2,3. 1.13,2 13.5', dims, used)).toBe('shapes batch and 7. Shapes batch,3 and 2,3. 1.13,2 13.5');
    expect([...used]).toEqual(['batch']);
  });

  // Fuzz seed 902794: tfjs's "shapes 1,17 and 7" (a rank-1 shape beside a longer one) kept the 7.
  it('a rank-1 shape beside a longer one is rewritten too, on either side', () => {
    const dims = { bySize: new Map([[17, 'n'], [7, 'batch']]), legend: new Map() };
    const used = new Set<string>();
    expect(inUserDims('Operands could not be broadcast together with shapes 1,17 and 7.', dims, used)).toBe('Operands could not be broadcast together with shapes 1,n and batch.');
    expect(inUserDims('shapes 7 and 1,17', dims, used)).toBe('shapes batch and 1,n');
    expect(inUserDims('shapes 3,4 and 7 and 17 items', dims, used)).toBe('shapes 3,4 and batch and 17 items');
    expect([...used].sort()).toEqual(['batch', 'n']);
  });
});
