import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

describe('gc.GradientTape and gc.name', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  it("the seed's example eagerly: c = sqrt(a²+b²), dc/da = 0.6 at a=3, b=4", () => {
    const a = tf.tensor1d([3]);
    const b = tf.tensor1d([4]);
    const tape = new gc.GradientTape();
    const c = tape.record(() => tf.sqrt(tf.add(tf.square(a), tf.square(b))));
    const [dcda, dcdb] = tape.gradient(c, [a, b]);
    expect(c.dataSync()[0]).toBeCloseTo(5, 6);
    expect(dcda!.dataSync()[0]).toBeCloseTo(0.6, 6);
    expect(dcdb!.dataSync()[0]).toBeCloseTo(0.8, 6);
  });

  it('the same example compiled', async () => {
    const f = gc.compile((a: tf.Tensor, b: tf.Tensor) => {
      const tape = new gc.GradientTape();
      const c = tape.record(() => tf.sqrt(tf.add(tf.square(a), tf.square(b))));
      return tape.gradient(c, a)!;
    }, { inputs: [gc.spec([1]), gc.spec([1])], backend: 'cpu' });
    const g = (await f(tf.tensor1d([3]), tf.tensor1d([4]))) as tf.Tensor;
    expect(g.dataSync()[0]).toBeCloseTo(0.6, 6);
    const g2 = (await f(tf.tensor1d([6]), tf.tensor1d([8]))) as tf.Tensor;
    expect(g2.dataSync()[0]).toBeCloseTo(0.6, 6);
    const g3 = (await f(tf.tensor1d([0]), tf.tensor1d([2]))) as tf.Tensor;
    expect(g3.dataSync()[0]).toBeCloseTo(0, 6);
  });

  it('a source the target does not depend on gets null; a non-persistent tape answers once', () => {
    const a = tf.scalar(2), z = tf.scalar(5);
    const tape = new gc.GradientTape();
    const y = tape.record(() => tf.mul(a, a));
    expect(tape.gradient(y, [a, z])[1]).toBeNull();
    expect(() => tape.gradient(y, [a])).toThrow(/only be called once/);
    const p = new gc.GradientTape({ persistent: true });
    const y2 = p.record(() => tf.mul(tf.mul(a, a), a));
    expect(p.gradient(y2, a)!.dataSync()[0]).toBeCloseTo(12, 5);
    expect(p.gradient(y2, a)!.dataSync()[0]).toBeCloseTo(12, 5);
    p.dispose();
  });

  it('gc.name labels a value that a Session can fetch (TF1 style)', async () => {
    const w = tf.tensor2d([[1, 0], [0, 2]]);
    const g = gc.trace((x: tf.Tensor) => {
      const h = gc.name(tf.matMul(x, w), 'hidden');
      return tf.relu(tf.sub(h, 1));
    }, [gc.spec(['batch', 2])]);
    expect(g.toString()).toContain('%hidden: f32[batch,2] = matmul');
    const s = await gc.Session.create(g, { backend: 'cpu' });
    const [h, y] = (await s.run(['hidden', 'output_0'], { x: tf.tensor2d([[3, 4]]) })) as tf.Tensor[];
    expect(Array.from(h!.dataSync())).toEqual([3, 8]);
    expect(Array.from(y!.dataSync())).toEqual([2, 7]);
    s.dispose();
  });

  it('gc.name outside a trace returns the tensor unchanged', () => {
    const t = tf.scalar(1);
    expect(gc.name(t, 'x')).toBe(t);
  });
});
