import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';

const maxErr = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;

describe('symbolic dims: one graph for every size', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  const cases: Array<[string, (x: tf.Tensor) => tf.Tensor, (string | number | null)[]]> = [
    ['reshape/flatten', (x) => tf.reshape(x, [x.shape[0]!, -1]), ['batch', 4, 3]],
    ['reshape merging batch', (x) => tf.reshape(x, [-1, 3]).sum(1), ['batch', 4, 3]],
    ['slice to the end', (x) => tf.slice(x, [0, 1], [-1, 2]), ['batch', 4]],
    ['strided slice', (x) => tf.stridedSlice(x, [0, 3], [0, 0], [1, -2], 1, 1), ['batch', 4]],
    ['mean over batch', (x) => tf.mean(x, 0), ['batch', 4]],
    ['softmax CE loss', (x) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.argMax(x, 1), 4), x), ['batch', 4]],
    ['concat along batch', (x) => tf.concat([x, tf.neg(x)], 0), ['batch', 4]],
    ['anonymous dim', (x) => tf.transpose(tf.square(x)), [null, 2]],
  ];
  for (const [label, fn, shape] of cases) {
    it(`${label}: batch 1, 7 and 64 match eager`, async () => {
      const f = gc.compile(fn, { inputs: [gc.spec(shape)], backend: 'cpu' });
      for (const b of [1, 7, 64]) {
        const x = tf.randomNormal(shape.map((d) => (typeof d === 'number' ? d : b)), 0, 1, 'float32', b);
        const y = (await f(x)) as tf.Tensor;
        const e = fn(x);
        expect(y.shape).toEqual(e.shape);
        expect(maxErr(y, e)).toBeLessThanOrEqual(1e-5 + 1e-5 * tf.max(tf.abs(e)).dataSync()[0]!);
      }
      expect(f.traceCount).toBe(1);
    });
  }

  it('the printed IR shows the symbol', () => {
    const g = gc.trace((x: tf.Tensor) => tf.reshape(x, [x.shape[0]!, 12]), [gc.spec(['batch', 4, 3])]);
    const text = g.toString();
    expect(text).toContain('graph @f(%x: f32[batch,4,3])');
    expect(text).toContain('reshape %x {shape = [batch, 12]}');
    expect(text).toContain('f32[batch,12]');
  });

  it('named dims shared by two inputs are one symbol; a size mismatch is an error', async () => {
    const f = gc.compile((a: tf.Tensor, b: tf.Tensor) => tf.add(a, b), { inputs: [gc.spec(['n', 2]), gc.spec(['n', 2])], backend: 'cpu' });
    expect(f.graph.toString()).toContain('graph @f(%a: f32[n,2], %b: f32[n,2])');
    await expect(f(tf.zeros([3, 2]), tf.zeros([4, 2]))).rejects.toThrow(/input 'b'.*'n' is 3 in an earlier input/);
  });

  it('a tfjs-layers predict is one graph that gives the same values at batch 1000', async () => {
    const model = tfl.sequential({ layers: [
      tfl.layers.flatten({ inputShape: [28, 28] }),
      tfl.layers.dense({ units: 300, activation: 'relu' }),
      tfl.layers.dense({ units: 100, activation: 'relu' }),
      tfl.layers.dense({ units: 10, activation: 'softmax' }),
    ] });
    const f = gc.compile((x: tf.Tensor) => model.predict(x) as tf.Tensor, { inputs: [gc.spec(['batch', 28, 28])], backend: 'cpu' });
    // predict slices into batches of 32 in JavaScript; the graph must still be a single pass.
    expect(f.graph.nodes.filter((n) => n.op === 'concat').length).toBe(0);
    for (const b of [1, 1000]) {
      const x = tf.randomUniform([b, 28, 28], 0, 1, 'float32', 7);
      const y = (await f(x)) as tf.Tensor;
      const e = model.predict(x) as tf.Tensor;
      expect(y.shape).toEqual([b, 10]);
      expect(maxErr(y, e)).toBeLessThan(1e-5);
    }
  });
});
