/**
 * The direct wasm executor (runtime/executors/wasm_direct.ts) against the tensor executor: the same
 * kernels run either way, so results must be bit-identical; and the program must really be
 * made of direct calls, share buffers, free them, and hand back tensors the caller owns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

type Feeds = Record<string, tf.Tensor>;

async function both(g: gc.Graph, fetches: string[], feeds: Feeds, runs = 1) {
  const direct = await gc.Session.create(g, { backend: 'wasm' });
  const tensors = await gc.Session.create(g, { backend: 'wasm', executor: 'tensors' });
  let a: Float32Array[] = [], b: Float32Array[] = [];
  for (let r = 0; r < runs; r++) {
    const ra = direct.runSync(fetches, feeds) as tf.Tensor[];
    const rb = tensors.runSync(fetches, feeds) as tf.Tensor[];
    a = ra.map((t) => Float32Array.from(t.dataSync()));
    b = rb.map((t) => Float32Array.from(t.dataSync()));
    expect(ra.map((t) => t.shape)).toEqual(rb.map((t) => t.shape));
    expect(ra.map((t) => t.dtype)).toEqual(rb.map((t) => t.dtype));
    tf.dispose([...ra, ...rb]);
  }
  const stats = direct.executorStats();
  return { direct, tensors, a, b, stats, dispose: () => { direct.dispose(); tensors.dispose(); } };
}

function expectSame(a: Float32Array[], b: Float32Array[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => {
    const y = b[i]!;
    expect(x.length).toBe(y.length);
    for (let k = 0; k < x.length; k++) if (!Object.is(x[k], y[k])) expect(`${i}[${k}]: ${x[k]}`).toBe(`${i}[${k}]: ${y[k]}`);
  });
}

const rand = (shape: number[], seed: number, lo = -2, hi = 2) => tf.randomUniform(shape, lo, hi, 'float32', seed);

describe('direct wasm executor', () => {
  let prev = '';
  beforeAll(async () => { prev = tf.getBackend(); await gc.ensureBackend('wasm'); await tf.setBackend('wasm'); });
  afterAll(async () => { if (prev) await tf.setBackend(prev); });

  it('runs an MLP as direct calls only, identical to the tensor executor', async () => {
    const w1 = rand([12, 7], 1), b1 = rand([7], 2), w2 = rand([7, 3], 3);
    const g = gc.optimize(gc.trace((x: tf.Tensor) => {
      const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
      return tf.softmax(tf.matMul(h, w2));
    }, [gc.spec(['batch', 12])])).graph;
    const x = rand([5, 12], 4);
    const r = await both(g, ['output_0'], { x });
    expectSame(r.a, r.b);
    expect(r.stats).toHaveLength(1);
    expect(r.stats[0]!.binding).toBe('batch=5');
    expect(r.stats[0]!.fallback).toBe(0);
    expect(r.stats[0]!.direct).toBeGreaterThanOrEqual(3);
    r.dispose();
    tf.dispose([w1, b1, w2, x]);
  });

  it('elementwise, broadcasting, comparisons, select, cast, clip, step, reductions over any axes, transposes', async () => {
    const g = gc.trace((x: tf.Tensor, y: tf.Tensor, v: tf.Tensor) => {
      const a = tf.add(tf.mul(x, 0.5), v);                      // [4,6] ⊕ [6]
      const s = tf.sigmoid(a), t = tf.tanh(a), e = tf.exp(tf.neg(tf.square(a)));
      const c = tf.where(tf.greater(x, y), s, t);
      const k = tf.cast(tf.cast(tf.mul(x, 3), 'int32'), 'float32');
      const m = tf.sub(tf.maximum(c, e), tf.minimum(k, tf.div(y, 7)));
      const cl = tf.clipByValue(m, -0.5, 0.75), st = tf.step(m), lr = tf.leakyRelu(m, 0.1);
      return [
        tf.sum(cl, 1), tf.sum(cl, 0), tf.mean(lr, [0, 1]), tf.max(st, 0, true), tf.min(m, -1), tf.prod(tf.add(cl, 1), 0),
        tf.transpose(tf.reshape(lr, [2, 2, 6]), [2, 0, 1]), tf.logicalAnd(tf.less(x, 0), tf.greaterEqual(y, 0)),
        tf.sum(tf.cast(tf.equal(k, 0), 'int32'), 1),
      ];
    }, [gc.spec([4, 6]), gc.spec([4, 6]), gc.spec([6])]);
    const feeds = { x: rand([4, 6], 5), y: rand([4, 6], 6), v: rand([6], 7) };
    const fetches = g.outputs.map((o) => o.name);
    const r = await both(g, fetches, feeds, 3);
    expectSame(r.a, r.b);
    const st = r.stats[0]!;
    // Only the int32 cast's float input in mul-by-3… everything here has a direct call.
    expect(st.fallbackOps).toEqual([]);
    expect(st.inPlace).toBeGreaterThan(0);
    r.dispose();
    tf.dispose(Object.values(feeds));
  });

  it('ops without a direct call run their tfjs kernel on views (gather, one_hot, cumsum), next to direct conv and pool', async () => {
    const f = rand([3, 3, 2, 4], 8);
    const g = gc.trace((x: tf.Tensor, i: tf.Tensor) => {
      const h = tf.relu(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'));
      const p = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
      const s = tf.cumsum(tf.softmax(tf.transpose(tf.reshape(p, [2, 16]))), 0);
      const o = tf.oneHot(i as tf.Tensor1D, 4);
      return [tf.gather(s, i), tf.add(tf.sum(s), tf.sum(o))];
    }, [gc.spec([2, 4, 4, 2]), gc.spec([3], 'int32')]);
    const feeds = { x: rand([2, 4, 4, 2], 9), i: tf.tensor1d([0, 3, 1], 'int32') };
    const r = await both(g, g.outputs.map((o) => o.name), feeds, 2);
    expectSame(r.a, r.b);
    expect(r.stats[0]!.fallbackOps).toEqual(expect.arrayContaining(['gather', 'one_hot', 'cumsum']));
    expect(r.stats[0]!.fallbackOps).not.toContain('conv2d');
    expect(r.stats[0]!.fallbackOps).not.toContain('max_pool');
    expect(r.stats[0]!.direct).toBeGreaterThan(0);
    r.dispose();
    tf.dispose([f, ...Object.values(feeds)]);
  });

  it('hands back tensors of their own: a value fetched twice, a view of an intermediate, an input, a constant', async () => {
    const g = gc.trace((x: tf.Tensor) => {
      const a = gc.name(tf.exp(x), 'a');
      const v = gc.name(tf.reshape(a, [6]), 'v');
      const c = gc.name(tf.tensor1d([1, 2, 3, 4, 5, 6]), 'c');
      return tf.add(tf.mul(v, 2), c);
    }, [gc.spec([2, 3])]);
    const x = tf.tensor2d([[0, 1, 2], [3, 4, 5]]);
    const s = await gc.Session.create(g, { backend: 'wasm' });
    const outs = s.runSync(['a', 'a', 'v', 'x', 'c', 'output_0'], { x }) as tf.Tensor[];
    const ex = [0, 1, 2, 3, 4, 5].map(Math.exp);
    expect(outs.map((t) => t.shape)).toEqual([[2, 3], [2, 3], [6], [2, 3], [6], [6]]);
    const ids = new Set(outs.map((t) => t.dataId));
    expect(ids.size).toBe(outs.length);
    outs[0]!.dispose();
    outs[3]!.dispose();
    outs[4]!.dispose();
    expect(Array.from(outs[1]!.dataSync())).toEqual(Array.from(Float32Array.from(ex)));
    expect(Array.from(outs[2]!.dataSync())).toEqual(Array.from(Float32Array.from(ex)));
    expect(Array.from(outs[5]!.dataSync())).toEqual(Array.from(Float32Array.from(ex.map((e, i) => Math.fround(2 * Math.fround(e)) + i + 1))));
    expect(Array.from(x.dataSync())).toEqual([0, 1, 2, 3, 4, 5]);
    // The session's own constant is untouched by the caller disposing its copy.
    const again = s.runSync('c', { x }) as tf.Tensor;
    expect(Array.from(again.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    tf.dispose([...outs, again, x]);
    s.dispose();
  });

  it('an operand reused in place is never one still needed (a value read again after an elementwise op)', async () => {
    const g = gc.trace((x: tf.Tensor) => {
      const a = tf.add(x, 1);
      const b = tf.exp(a);            // a dies here? no: read again below
      const c = tf.mul(b, 2);         // b dies: c may take b's buffer
      const d = tf.sub(c, a);         // a read after b and c were written
      const e = tf.sqrt(tf.abs(d));   // chain of in-place steps
      return [tf.add(e, a), gc.name(c, 'c')];
    }, [gc.spec([1000])]);
    const x = rand([1000], 11);
    const r = await both(g, ['output_0', 'c'], { x }, 2);
    expectSame(r.a, r.b);
    expect(r.stats[0]!.inPlace).toBeGreaterThanOrEqual(2);
    r.dispose();
    x.dispose();
  });

  it('weights computed in the graph are re-read every run (tfjs-wasm caches matmul/conv operators by tensor id)', async () => {
    // XNNPACK packs a matmul's right operand and a conv's filter when its operator is made, and
    // tfjs-wasm keeps the operator per tensor id: a buffer reused across runs must not be served stale.
    const g = gc.trace((x: tf.Tensor, s: tf.Tensor, img: tf.Tensor) => {
      const w = tf.mul(tf.reshape(tf.range(0, 12), [4, 3]), s);        // [4,3], changes with s
      const b = tf.mul(tf.tensor1d([1, 2, 3]), s);
      const f = tf.reshape(tf.mul(tf.ones([18]), s), [3, 3, 2, 1]);     // conv filter from s
      return [tf.add(tf.matMul(x, w), b), tf.conv2d(img as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')];
    }, [gc.spec([2, 4]), gc.spec([]), gc.spec([1, 4, 4, 2])]);
    const og = gc.optimize(g, { backend: 'wasm' }).graph;
    const x = rand([2, 4], 20), img = rand([1, 4, 4, 2], 21);
    const direct = await gc.Session.create(og, { backend: 'wasm' });
    const tensors = await gc.Session.create(og, { backend: 'wasm', executor: 'tensors' });
    for (const sv of [1, -2, 0.5]) {
      const s = tf.scalar(sv);
      const ra = direct.runSync(['output_0', 'output_1'], { x, s, img }) as tf.Tensor[];
      const rb = tensors.runSync(['output_0', 'output_1'], { x, s, img }) as tf.Tensor[];
      expectSame(ra.map((t) => t.dataSync() as Float32Array), rb.map((t) => t.dataSync() as Float32Array));
      tf.dispose([...ra, ...rb, s]);
    }
    expect(direct.executorStats()[0]!.direct).toBeGreaterThan(0);
    direct.dispose();
    tensors.dispose();
    tf.dispose([x, img]);
  });

  it('variables: Adam steps update the session state exactly as the tensor executor', async () => {
    const w = tf.variable(rand([5, 3], 12), true, 'direct_adam_w');
    const bias = tf.variable(tf.zeros([3]), true, 'direct_adam_b');
    const opt = tf.train.adam(0.05);
    const g = gc.trace((x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => tf.losses.meanSquaredError(y, tf.add(tf.matMul(x, w), bias)), true)!,
      [gc.spec(['batch', 5]), gc.spec(['batch', 3])]);
    const og = gc.optimize(g).graph;
    const feeds = { x: rand([8, 5], 13), y: rand([8, 3], 14) };
    const direct = await gc.Session.create(og, { backend: 'wasm' });
    const tensors = await gc.Session.create(og, { backend: 'wasm', executor: 'tensors' });
    for (let i = 0; i < 5; i++) {
      const [la, lb] = [direct.runSync('output_0', feeds) as tf.Tensor, tensors.runSync('output_0', feeds) as tf.Tensor];
      expect(la.dataSync()[0]).toBe(lb.dataSync()[0]);
      tf.dispose([la, lb]);
    }
    for (const name of ['direct_adam_w', 'direct_adam_b']) {
      const [va, vb] = [direct.variable(name), tensors.variable(name)];
      expectSame([va.dataSync() as Float32Array], [vb.dataSync() as Float32Array]);
      // The user's variable is the session's starting point only.
      tf.dispose([va, vb]);
    }
    const [w5, w0] = [direct.variable('direct_adam_w'), w.clone()];
    expect(tf.max(tf.abs(tf.sub(w5, w0))).dataSync()[0]).toBeGreaterThan(0.05);
    expect(direct.executorStats()[0]!.direct).toBeGreaterThan(10);
    tf.dispose([w5, w0, ...Object.values(feeds)]);
    direct.dispose();
    tensors.dispose();
    opt.dispose();
    w.dispose();
    bias.dispose();
  });

  it('a compiled Adam step with the wasm lowering (explicit transposes) equals eager over 10 steps', async () => {
    const mk = (tag: string) => ({
      w1: tf.variable(tf.randomNormal([128, 128], 0, 0.1, 'float32', 40), true, `direct_e2e_w1_${tag}`),
      b1: tf.variable(tf.zeros([128]), true, `direct_e2e_b1_${tag}`),
      w2: tf.variable(tf.randomNormal([128, 10], 0, 0.1, 'float32', 41), true, `direct_e2e_w2_${tag}`),
    });
    const loss = (p: ReturnType<typeof mk>, x: tf.Tensor, y: tf.Tensor) =>
      tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.relu(tf.add(tf.matMul(x, p.w1), p.b1)), p.w2)) as tf.Scalar;
    const [pe, pc] = [mk('eager'), mk('comp')];
    const [oe, oc] = [tf.train.adam(0.01), tf.train.adam(0.01)];
    const step = gc.compile((x: tf.Tensor, y: tf.Tensor) => oc.minimize(() => loss(pc, x, y), true, Object.values(pc))!,
      { inputs: [gc.spec(['batch', 128]), gc.spec(['batch', 10])], backend: 'wasm' });
    for (let i = 0; i < 10; i++) {
      const x = tf.randomNormal([32, 128], 0, 1, 'float32', 50 + i);
      const y = tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: 32 }, (_, k) => (k + i) % 10), 'int32'), 10), 'float32');
      const le = oe.minimize(() => loss(pe, x, y), true, Object.values(pe))!;
      const lc = (await step(x, y)) as tf.Tensor;
      expect(Math.abs(lc.dataSync()[0]! - le.dataSync()[0]!)).toBeLessThan(1e-4);
      tf.dispose([x, y, le, lc]);
    }
    for (const k of ['w1', 'b1', 'w2'] as const) expect(tf.max(tf.abs(tf.sub(pe[k], pc[k]))).dataSync()[0]!).toBeLessThan(1e-4);
    // The lowering replaced transposed matmuls by transposes, so gradients feed XNNPACK matmuls.
    expect(step.graph.nodes.some((n) => n.op === 'transpose')).toBe(true);
    const st = (await step.session()).executorStats();
    expect(st).toHaveLength(1);
    expect(st[0]!.direct).toBeGreaterThan(20);
    // x·W1 with W1 [128,128] updated every step runs as (W1ᵀ·xᵀ)ᵀ (no repacking of W1).
    expect(st[0]!.transposedMatmuls).toBe(1);
    step.dispose();
    oe.dispose();
    oc.dispose();
    tf.dispose([...Object.values(pe), ...Object.values(pc)]);
  });

  it('one program per binding of the symbolic dims, at most 4 kept; runs leak nothing; dispose frees the buffers', async () => {
    const be = tf.engine().registry['wasm'] as unknown as { numDataIds(): number };
    const w = rand([6, 4], 15);
    const g = gc.trace((x: tf.Tensor) => tf.sum(tf.relu(tf.matMul(x, w)), 1), [gc.spec(['n', 6])]);
    const baseIds = be.numDataIds(), baseTensors = tf.memory().numTensors;
    const s = await gc.Session.create(g, { backend: 'wasm' });
    const tensors = await gc.Session.create(g, { backend: 'wasm', executor: 'tensors' });
    for (const n of [1, 2, 3, 4, 5, 6, 2]) {
      const x = rand([n, 6], 16 + n);
      const [a, b] = [s.runSync('output_0', { x }) as tf.Tensor, tensors.runSync('output_0', { x }) as tf.Tensor];
      expect(a.shape).toEqual([n]);
      expectSame([a.dataSync() as Float32Array], [b.dataSync() as Float32Array]);
      tf.dispose([a, b, x]);
    }
    expect(s.executorStats().map((p) => p.binding)).toEqual(['n=4', 'n=5', 'n=6', 'n=2']);
    const x = rand([3, 6], 30);
    (s.runSync('output_0', { x }) as tf.Tensor).dispose();
    const ids = be.numDataIds(), count = tf.memory().numTensors;
    for (let i = 0; i < 200; i++) (s.runSync('output_0', { x }) as tf.Tensor).dispose();
    expect(be.numDataIds()).toBe(ids);
    expect(tf.memory().numTensors).toBe(count);
    s.dispose();
    tensors.dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(baseTensors);
    expect(be.numDataIds()).toBe(baseIds);
    w.dispose();
  });

  it('one_hot of any dtype gives its values, all off for an index out of range (tfjs-wasm 4.22 OneHot writes int32 bits, and out of bounds)', async () => {
    const g = gc.trace((i: tf.Tensor) => [tf.oneHot(i as tf.Tensor1D, 4, 0.5, -2, 'float32'), tf.oneHot(i as tf.Tensor1D, 3, 1, 0, 'bool'), tf.oneHot(i as tf.Tensor1D, 3)],
      [gc.spec([3], 'int32')]);
    const i = tf.tensor1d([0, 3, 1], 'int32');
    for (const executor of ['auto', 'tensors'] as const) {
      const s = await gc.Session.create(g, { backend: 'wasm', executor });
      const [f, b, n] = s.runSync(['output_0', 'output_1', 'output_2'], { i }) as tf.Tensor[];
      expect(Array.from(f!.dataSync())).toEqual([0.5, -2, -2, -2, -2, -2, -2, 0.5, -2, 0.5, -2, -2]);
      expect(b!.dtype).toBe('bool');
      expect(Array.from(b!.dataSync())).toEqual([1, 0, 0, 0, 0, 0, 0, 1, 0]);
      expect(Array.from(n!.dataSync())).toEqual([1, 0, 0, 0, 0, 0, 0, 1, 0]);
      tf.dispose([f!, b!, n!]);
      s.dispose();
    }
    i.dispose();
  });

  it('takes feeds that live on another backend, and says which executors exist', async () => {
    const g = gc.trace((x: tf.Tensor) => tf.mul(x, 2), [gc.spec([3])]);
    await tf.setBackend('cpu');
    const x = tf.tensor1d([1, 2, 3]);
    await tf.setBackend('wasm');
    const s = await gc.Session.create(g, { backend: 'wasm' });
    const y = s.runSync('output_0', { x }) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([2, 4, 6]);
    expect(s.executorStats()).toHaveLength(1);
    tf.dispose([x, y]);
    s.dispose();
    await expect(gc.Session.create(g, { backend: 'wasm', executor: 'fast' as 'auto' })).rejects.toThrow(/unknown executor 'fast'[\s\S]*'auto' or 'tensors'/);
  });
});
