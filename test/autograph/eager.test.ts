/**
 * Eagerly, code through AutoGraph computes exactly what the original computes: each program runs
 * untransformed and transformed (the runtime's plain-JS path) on inputs that take every branch,
 * with conditions on plain JS values and on tensor data.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import { installRuntime } from '../../src/autograph/enable.js';
import { transformSource } from '../../src/autograph/transform.js';

type Program = (...args: unknown[]) => unknown;

/** The function a module text defines last (`function main`), with tf and gc in scope. */
function load(text: string): Program {
  const body = text.replace("import * as gc from 'graphc';", '');
  return new Function('tf', 'gc', `${body}\nreturn main;`)(tf, gc) as Program;
}

function both(text: string): { plain: Program; graph: Program } {
  const r = transformSource(text);
  expect(r.refused).toEqual([]);
  expect(r.converted.length).toBeGreaterThan(0);
  return { plain: load(text), graph: load(r.code) };
}

/** Tensors as nested arrays, numbers and the rest as they are. */
function value(v: unknown): unknown {
  if (v instanceof tf.Tensor) return { dtype: v.dtype, shape: v.shape, data: v.arraySync() };
  if (Array.isArray(v)) return v.map(value);
  return v;
}

const PROGRAMS: [string, string, unknown[][]][] = [
  ['if/else on a tensor read, both ways', `import * as gc from 'graphc';
function main(x) {
  let y = tf.mul(x, 2), n = 0;
  if (tf.sum(x).dataSync()[0] > 0) {
    y = tf.add(y, 1);
    n = 1;
  } else if (gc.item(tf.min(x)) < -5) {
    y = tf.neg(y);
  } else y = tf.sub(y, 1);
  return [y, n];
}`, [[tf.tensor([1, 2, -0.5])], [tf.tensor([-1, -2, 0.5])], [tf.tensor([-10, 2, 0.5])]]],
  ['a ternary and a returning if', `function main(x, t) {
  const s = x.dataSync()[1] >= t ? tf.exp(x) : tf.square(x);
  if (Math.abs(x.arraySync()[0]) < t) {
    return [s, 'small'];
  } else {
    return [tf.add(s, 1), 'large'];
  }
}`, [[tf.tensor([0.5, 3]), 1], [tf.tensor([4, -3]), 1], [tf.tensor([0.5, 0.5]), 0.5]]],
  ['Newton iteration until convergence (data-dependent trip count)', `function main(a) {
  let x = a, it = tf.scalar(0);
  while (Math.abs(tf.sub(tf.square(x), a).dataSync()[0]) > 1e-4) {
    x = tf.mul(0.5, tf.add(x, tf.div(a, x)));
    it = tf.add(it, 1);
  }
  return [x, it];
}`, [[tf.scalar(2)], [tf.scalar(100)], [tf.scalar(1)]]],
  ['for and do-while with a JS counter beside a tensor condition', `function main(x, limit) {
  let steps = 0;
  for (let i = 0; i < limit && x.dataSync()[0] < 100; i++) { x = tf.mul(x, 3); steps++; }
  do { x = tf.sub(x, 7); } while (x.arraySync()[0] > 50);
  return [x, steps];
}`, [[tf.tensor([1, 2]), 10], [tf.tensor([1, 2]), 2], [tf.tensor([200, 2]), 5]]],
  ['conditions on plain JS values stay JS', `function main(x, n) {
  let y = x;
  if (n > 2 && x.dataSync()[0] > 0) y = tf.neg(y);
  while (n-- > 0 || !(x.dataSync()[0] <= 0)) { y = tf.add(y, 1); x = tf.sub(x, 1); }
  return [y, n];
}`, [[tf.scalar(3), 5], [tf.scalar(-2), 1], [tf.scalar(0), 0], [tf.scalar(9), 2]]],
  ['early returns', `function main(x) {
  if (x.dataSync()[0] > 0) return [x, 'positive'];
  const y = tf.mul(x, 0.1);
  if (y.dataSync()[0] < -1) {
    return [tf.scalar(-1), 'clipped'];
  }
  return [y, 'scaled'];
}`, [[tf.scalar(3)], [tf.scalar(-3)], [tf.scalar(-30)]]],
  ['NaN and 0 are false, as in JavaScript', `function main(x) {
  let y = tf.scalar(0);
  if (x.dataSync()[0]) y = tf.scalar(1);
  if (!x.dataSync()[0]) y = tf.add(y, 10);
  return y;
}`, [[tf.scalar(NaN)], [tf.scalar(0)], [tf.scalar(-0.5)]]],
];

describe('autograph, eagerly: transformed ≡ original', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    installRuntime();
  });

  it.each(PROGRAMS)('%s', (_name, text, inputs) => {
    const { plain, graph } = both(text);
    for (const args of inputs) expect(value(graph(...args))).toEqual(value(plain(...args)));
  });

  it('the branches and loops run as often as the original\'s (side effects once each)', () => {
    const text = `function main(x, log) {
  let y = x;
  while (y.dataSync()[0] < 20) { log.push(y.dataSync()[0]); y = tf.mul(y, 2); }
  if (y.dataSync()[0] > 30) { log.push('big'); } else { log.push('small'); }
  return y;
}`;
    const { plain, graph } = both(text);
    const a: unknown[] = [], b: unknown[] = [];
    plain(tf.scalar(3), a);
    graph(tf.scalar(3), b);
    expect(b).toEqual(a);
    expect(a).toEqual([3, 6, 12, 'small']);
  });

  it('an async function with awaited reads in its conditions still returns a Promise of the same value, and rejects the same', async () => {
    const text = `async function main(x) {
  let y = x;
  while ((await tf.max(tf.abs(y)).data())[0] < 50) { y = tf.mul(y, 3); }
  if ((await y.array())[0] > 100) throw new Error('too big: ' + (y.arraySync()[0]));
  return (await y.array())[1] > 0 ? y : tf.neg(y);
}`;
    const { plain, graph } = both(text);
    for (const x of [tf.tensor([1, 2]), tf.tensor([7, -1]), tf.tensor([-1, -2])]) {
      const p = graph(x);
      expect(p).toBeInstanceOf(Promise);
      expect(value(await p)).toEqual(value(await plain(x)));
    }
    await expect(graph(tf.tensor([40, 2])) as Promise<unknown>).rejects.toThrow('too big: 120');
    await expect(plain(tf.tensor([40, 2])) as Promise<unknown>).rejects.toThrow('too big: 120');
  });

  it('an error thrown by a converted branch is the error the original throws', () => {
    const { plain, graph } = both(`function main(x) {\n  if (x.dataSync()[0] > 0) { throw new RangeError('positive: ' + x.dataSync()[0]); }\n  return x;\n}`);
    expect(() => plain(tf.scalar(2))).toThrow(new RangeError('positive: 2'));
    expect(() => graph(tf.scalar(2))).toThrow(new RangeError('positive: 2'));
    expect(value(graph(tf.scalar(-2)))).toEqual(value(tf.scalar(-2)));
  });
});

describe('gc.item', () => {
  it('reads a one-element tensor and refuses others', () => {
    expect(gc.item(tf.tensor([[2.5]]))).toBe(2.5);
    expect(gc.item(tf.scalar(3, 'int32'))).toBe(3);
    expect(() => gc.item(tf.tensor([1, 2]))).toThrow(/gc\.item: the tensor has 2 elements \(shape \[2\]\), not one/);
  });
});
