/**
 * Compiled functions compose like tf.function: called inside another compiled function they are
 * inlined; tf.grad / tf.valueAndGrad / gc.GradientTape around a compiled call differentiate it;
 * code that cannot await (tf.tidy, tfjs-data callbacks) has `f.sync`; an async function is one
 * GcError with nothing left behind; inputs freed right after a call are safe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfd from '@tensorflow/tfjs-data';
import * as gc from 'graphc';

const unhandled: unknown[] = [];
const onUnhandled = (r: unknown) => { unhandled.push(r); };

describe('compiled functions compose', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => { process.off('unhandledRejection', onUnhandled); });

  const w = tf.tensor([[1, -2], [0.5, 3], [2, 1]]);
  const innerFn = (x: tf.Tensor) => tf.relu(tf.matMul(x, w));
  const x = tf.tensor([[1, 2, 3], [-1, 0.5, 2]]);

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`a compiled function called in a compiled function is inlined into its graph (${backend})`, async () => {
      const inner = gc.compile(innerFn, { inputs: [gc.spec(['b', 3])], backend });
      const outer = gc.compile((x: tf.Tensor) => tf.sum(tf.mul(inner.sync(x), 2), 1), { inputs: [gc.spec(['b', 3])], backend });
      // The plain call form is inlined too (it returns the value, not a Promise, while tracing).
      const outer2 = gc.compile((x: tf.Tensor) => tf.sum(tf.mul(inner(x) as unknown as tf.Tensor, 2), 1), { inputs: [gc.spec(['b', 3])], backend });
      const eager = tf.sum(tf.mul(innerFn(x), 2), 1).dataSync();
      for (const o of [outer, outer2]) {
        const ops = o.graph.nodes.map((n) => n.op).join(' ');
        expect(ops).toMatch(/matmul/);
        expect(Array.from((await o(x) as tf.Tensor).dataSync())).toEqual(Array.from(eager));
      }
      inner.dispose(); outer.dispose(); outer2.dispose();
    });
  }

  it('tf.grad, tf.valueAndGrad and gc.GradientTape around a compiled call give eager gradients', async () => {
    const f = gc.compile((x: tf.Tensor) => tf.sum(tf.square(innerFn(x))), { inputs: [gc.spec([2, 3])], backend: 'wasm' });
    await f.ready();
    const eagerG = tf.grad((x: tf.Tensor) => tf.sum(tf.square(innerFn(x))))(x).dataSync();
    expect(eagerG.some((v) => v !== 0)).toBe(true);
    expect(Array.from(tf.grad((x: tf.Tensor) => f.sync(x) as tf.Tensor)(x).dataSync())).toEqual(Array.from(eagerG));
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => f.sync(x) as tf.Scalar)(x);
    expect(value.dataSync()[0]).toBeCloseTo(tf.sum(tf.square(innerFn(x))).dataSync()[0]!, 4);
    expect(Array.from(grad.dataSync())).toEqual(Array.from(eagerG));
    const tape = new gc.GradientTape();
    const xv = tf.variable(x.clone());
    const y = tape.record(() => f.sync(xv) as tf.Tensor);
    expect(Array.from(tape.gradient(y, [xv])[0]!.dataSync())).toEqual(Array.from(eagerG));
    f.dispose();
  });

  it('f.sync inside tf.tidy returns the compiled result; before ready() it says how to get ready', async () => {
    const f = gc.compile(innerFn, { inputs: [gc.spec(['b', 3])], backend: 'wasm' });
    expect(() => f.sync(x)).toThrow(/f\.sync: the backend of 'innerFn' is not ready yet[\s\S]*await f\.ready\(\)/);
    await f.ready();
    const want = tf.tidy(() => Array.from(innerFn(x).dataSync()));
    tf.dispose(f.sync(x) as tf.Tensor); // the first run loads the session's constants (kept until dispose)
    const before = tf.memory().numTensors;
    const kept = tf.tidy(() => {
      const y = f.sync(tf.add(x, 0)) as tf.Tensor;
      return tf.mul(y, 1);
    });
    expect(Array.from(kept.dataSync())).toEqual(want);
    kept.dispose();
    expect(tf.memory().numTensors).toBe(before); // nothing from the call leaked out of the tidy
    f.dispose();
  });

  it('inputs freed right after the call (not awaited) are still read: first call and later ones', async () => {
    const f = gc.compile(innerFn, { inputs: [gc.spec(['b', 3])], backend: 'wasm' });
    const want = Array.from(innerFn(x).dataSync());
    for (let i = 0; i < 3; i++) {
      const t = x.clone();
      const p = f(t);
      t.dispose();
      expect(Array.from((await p as tf.Tensor).dataSync())).toEqual(want);
    }
    f.dispose();
  });

  it('a call made inside tf.tidy resolves to tensors the tidy does not free', async () => {
    const f = gc.compile(innerFn, { inputs: [gc.spec(['b', 3])], backend: 'wasm' });
    await f(x); // the session exists: later calls run synchronously, inside the caller's tidy
    let p!: Promise<unknown>;
    tf.tidy(() => { p = f(tf.add(x, 0)); });
    const y = await p as tf.Tensor;
    expect(y.isDisposed).toBe(false);
    expect(Array.from(y.dataSync())).toEqual(Array.from(tf.tidy(() => innerFn(x).dataSync())));
    f.dispose();
  });

  it('in a tfjs-data forEachAsync callback, which frees each batch when the callback returns', async () => {
    const f = gc.compile((b: tf.Tensor) => tf.sum(innerFn(b)), { inputs: [gc.spec([null, 3])] });
    const rows = [[1, 2, 3], [-1, 0.5, 2], [3, 3, 3], [0, 0, 1]];
    const got: Promise<tf.Tensor>[] = [];
    await tfd.array(rows).batch(2).forEachAsync((b) => { got.push(f(b as tf.Tensor) as Promise<tf.Tensor>); });
    const sums = await Promise.all(got);
    const want = [0, 2].map((i) => tf.sum(innerFn(tf.tensor(rows.slice(i, i + 2)))).dataSync()[0]);
    expect(sums.map((t) => t.dataSync()[0])).toEqual(want);
    f.dispose();
  });

  it('an async function is one GcError at compile time, and nothing rejects later', async () => {
    const before = unhandled.length;
    expect(() => gc.compile(async (x: tf.Tensor) => tf.add(x, 1), { inputs: [gc.spec([2])] }))
      .toThrow(/gc\.compile: 'the function' is an async function; a compiled function must be synchronous/);
    await new Promise((r) => setTimeout(r, 200));
    expect(unhandled.length).toBe(before);
  });
});
