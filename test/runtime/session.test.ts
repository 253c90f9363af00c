import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

describe('Session', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  const build = () => gc.trace((x: tf.Tensor, y: tf.Tensor) => {
    const a = gc.name(tf.exp(x), 'a');
    const b = gc.name(tf.mul(y, 3), 'b');
    return [tf.add(a, 1), tf.sub(b, 1)];
  }, [gc.spec(['n']), gc.spec(['n'])]);

  it('runs only what the fetches need: fetching b does not need feed x', async () => {
    const s = await gc.Session.create(build(), { backend: 'cpu' });
    const b = (await s.run('b', { y: tf.tensor1d([1, 2]) })) as tf.Tensor;
    expect(Array.from(b.dataSync())).toEqual([3, 6]);
    await expect(s.run('output_0', { y: tf.tensor1d([1, 2]) })).rejects.toThrow(/missing feed for input 'x'[\s\S]*inputs: x, y/);
    s.dispose();
  });

  it('an unknown fetch lists the valid names; an unknown feed lists the inputs', async () => {
    const s = await gc.Session.create(build(), { backend: 'cpu' });
    await expect(s.run('nope', {})).rejects.toThrow(/unknown fetch 'nope'[\s\S]*valid names: output_0, output_1, x, y, a, b/);
    await expect(s.run('a', { x: tf.tensor1d([0]), z: tf.tensor1d([0]) })).rejects.toThrow(/unknown feed 'z'[\s\S]*inputs: x, y/);
    s.dispose();
  });

  it('feeds accept arrays, check shapes against the graph, and fetch inputs too', async () => {
    const s = await gc.Session.create(build(), { backend: 'cpu' });
    const [o, x] = (await s.run(['output_0', 'x'], { x: [0, 1] })) as tf.Tensor[];
    expect(o!.dataSync()[0]).toBeCloseTo(2, 6);
    expect(o!.dataSync()[1]).toBeCloseTo(Math.E + 1, 5);
    expect(Array.from(x!.dataSync())).toEqual([0, 1]);
    await expect(s.run('output_0', { x: tf.zeros([2, 2]) })).rejects.toThrow(/input 'x': expected f32\[n\], got float32\[2,2\]/);
    s.dispose();
  });

  it('1000 runs leave tf.memory().numTensors unchanged; dispose frees all session state', async () => {
    const w = tf.variable(tf.ones([4, 4]), true, 'session_mem_w');
    const g = gc.trace((x: tf.Tensor) => { const y = tf.tanh(tf.matMul(x, w)); w.assign(tf.add(w, 0.001)); return tf.sum(y); }, [gc.spec(['batch', 4])]);
    const x = tf.ones([3, 4]);
    const before0 = tf.memory().numTensors;
    const s = await gc.Session.create(g, { backend: 'cpu' });
    const first = (await s.run('output_0', { x })) as tf.Tensor;
    first.dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) ((await s.run('output_0', { x })) as tf.Tensor).dispose();
    expect(tf.memory().numTensors).toBe(before);
    // The session's own copy of the variable was updated 1001 times; the user's is untouched.
    const v = s.variable('session_mem_w');
    expect(v.dataSync()[0]).toBeCloseTo(1 + 1001 * 0.001, 3);
    expect(w.dataSync()[0]).toBe(1);
    v.dispose();
    s.dispose();
    expect(tf.memory().numTensors).toBe(before0);
  });

  it('frees every intermediate after its last use (peak tensor count stays small)', async () => {
    const g = gc.trace((x: tf.Tensor) => {
      let h = x;
      for (let i = 0; i < 50; i++) h = tf.add(tf.mul(h, 0.5), 1);
      return h;
    }, [gc.spec([16])]);
    const s = await gc.Session.create(g, { backend: 'cpu' });
    const x = tf.zeros([16]);
    let peak = 0;
    const orig = tf.engine().makeTensorFromTensorInfo.bind(tf.engine());
    tf.engine().makeTensorFromTensorInfo = (info, backend) => { peak = Math.max(peak, tf.memory().numTensors); return orig(info, backend); };
    const y = (await s.run('output_0', { x })) as tf.Tensor;
    tf.engine().makeTensorFromTensorInfo = orig;
    const base = tf.memory().numTensors;
    expect(y.dataSync()[0]).toBeCloseTo(2 * (1 - 0.5 ** 50), 5);
    // 100 intermediates; without freeing the peak would grow by ~100.
    expect(peak - base).toBeLessThan(10);
    s.dispose();
  });

  it('caches the plan per fetch/feed signature', async () => {
    const s = await gc.Session.create(build(), { backend: 'cpu' });
    const plans = (s as unknown as { plans: Map<string, unknown> }).plans;
    await s.run('a', { x: [1] });
    await s.run('a', { x: [2] });
    expect(plans.size).toBe(1);
    await s.run(['a', 'b'], { x: [1], y: [1] });
    expect(plans.size).toBe(2);
    s.dispose();
  });

  it('random ops in a seeded session are reproducible', async () => {
    const g = gc.trace(() => tf.randomNormal([6]), []);
    const s1 = await gc.Session.create(g, { backend: 'cpu', seed: 3 });
    const s2 = await gc.Session.create(g, { backend: 'cpu', seed: 3 });
    const a = Array.from(((await s1.run('output_0', {})) as tf.Tensor).dataSync());
    const b = Array.from(((await s2.run('output_0', {})) as tf.Tensor).dataSync());
    expect(a).toEqual(b);
    s1.dispose(); s2.dispose();
  });
});
