/**
 * AutoGraph inside compiled functions: programs written with plain `if`/`while`/`for`, ternaries,
 * early returns and awaited reads on tensor data, transformed, compile to one graph with cond /
 * while_loop nodes and give eager's numbers (eager = the original, untransformed code) at two
 * batch sizes, on cpu and wasm; gradients through a branch; the errors of what cannot be a graph.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import { installRuntime } from '../../src/autograph/enable.js';
import { transformSource } from '../../src/autograph/transform.js';

type Fn = (...args: tf.Tensor[]) => unknown;

/** The functions a module text defines (named in `names`), with tf and gc in scope. */
function load(text: string, names: string[]): Record<string, Fn> {
  const body = text.replace("import * as gc from 'graphc';", '');
  return new Function('tf', 'gc', `${body}\nreturn { ${names.join(', ')} };`)(tf, gc) as Record<string, Fn>;
}

const MODULE = `import * as gc from 'graphc';
function branch(x) {
  let y = tf.mul(x, 2);
  if (tf.sum(x).dataSync()[0] > 0) {
    y = tf.add(y, 1);
  } else {
    y = tf.neg(tf.square(y));
  }
  return y;
}
function newton(a) {
  let y = a, i = tf.scalar(0);
  while (tf.max(tf.abs(tf.sub(tf.square(y), a))).dataSync()[0] > 1e-4 && i.dataSync()[0] < 100) {
    y = tf.mul(0.5, tf.add(y, tf.div(a, y)));
    i = tf.add(i, 1);
  }
  return [y, i];
}
function nested(x) {
  let s = x, i = tf.scalar(0);
  const limit = tf.sum(x).dataSync()[0] > 0 ? tf.scalar(5) : tf.scalar(4);
  while (i.arraySync() < limit.arraySync()) {
    if (tf.sum(s).dataSync()[0] > 3) { s = tf.sub(s, 3); } else { s = tf.add(tf.mul(s, 2), 1); }
    i = tf.add(i, 1);
  }
  return [s, i];
}
function clip(x) {
  const m = tf.max(tf.abs(x));
  if (m.dataSync()[0] <= 1) return x;
  const s = gc.item(m) > 2 ? tf.div(x, m) : tf.div(x, tf.sqrt(m));
  return s;
}
function doubling(x) {
  let acc = x;
  for (let k = tf.scalar(0); tf.min(acc).dataSync()[0] < 100; k = tf.add(k, 1)) acc = tf.mul(acc, 2);
  return acc;
}
async function awaited(x) {
  let y = x;
  if ((await tf.sum(x).data())[0] > 0) y = tf.exp(y); else y = tf.neg(y);
  return y;
}
function loss(x, w) {
  let y;
  if (tf.sum(x).dataSync()[0] > 0) y = tf.tanh(tf.mul(x, w)); else y = tf.square(tf.sub(x, w));
  return tf.sum(y);
}
function bound(x) {
  const m = tf.max(x).dataSync()[0];
  let y = x;
  if (m > 1 && m < 4) y = tf.div(x, tf.max(x)); else y = tf.mul(x, 2);
  return y;
}
function counted(x) {
  let n = 0;
  while (tf.sum(x).dataSync()[0] < 10) { x = tf.add(x, 1); n++; }
  return x;
}
`;
const NAMES = ['branch', 'newton', 'nested', 'clip', 'doubling', 'awaited', 'loss', 'bound', 'counted'];

let plain: Record<string, Fn>, graph: Record<string, Fn>;

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(tf.cast(a, 'float32'), tf.cast(b, 'float32')))).dataSync()[0]!);
}

function expectClose(got: unknown, want: unknown, tol = 1e-5): void {
  const g = got instanceof tf.Tensor ? [got] : (got as tf.Tensor[]);
  const w = want instanceof tf.Tensor ? [want] : (want as tf.Tensor[]);
  expect(g.length).toBe(w.length);
  g.forEach((t, i) => expect(maxDiff(t, w[i]!)).toBeLessThanOrEqual(tol));
}

/** `batch` rows of positive or negative values from a seed. */
function rows(batch: number, cols: number, seed: number, sign: number, scale = 1): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.add(tf.abs(tf.randomNormal([batch, cols], 0, 1, 'float32', seed)), 0.1), sign * scale));
}

function ops(f: { graph: gc.Graph }): string[] {
  return f.graph.nodes.map((n) => n.op);
}

beforeAll(() => {
  installRuntime();
  const r = transformSource(MODULE);
  expect(r.refused).toEqual([]);
  expect(r.converted.map((c) => c.kind).sort()).toEqual(['async', 'const', 'for', 'if', 'if', 'if', 'if', 'if', 'if-return', 'ternary', 'ternary', 'while', 'while', 'while'].sort());
  plain = load(MODULE, NAMES);
  graph = load(r.code, NAMES);
});

describe('AutoGraph: plain if/while on tensor data, compiled ≡ eager', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    describe(backend, () => {
      beforeAll(async () => {
        await gc.ensureBackend(backend);
        await tf.setBackend(backend);
      });

      it('an if/else taken both ways', async () => {
        const f = gc.compile(graph.branch!, { inputs: [gc.spec(['batch', 3])], backend });
        expect(ops(f)).toContain('cond');
        for (const b of [1, 5]) {
          for (const sign of [1, -1]) {
            const x = rows(b, 3, b, sign);
            expectClose(await f(x), plain.branch!(x));
          }
        }
        // The two branches differ (a graph that always took one would fail above).
        expect(maxDiff(plain.branch!(tf.ones([1, 3])) as tf.Tensor, tf.fill([1, 3], 3))).toBe(0);
        expect(maxDiff(plain.branch!(tf.fill([1, 3], -1)) as tf.Tensor, tf.fill([1, 3], -4))).toBe(0);
        expect(f.traceCount).toBe(1);
      });

      it("Newton's iteration until convergence (a while with a data-dependent trip count)", async () => {
        const f = gc.compile(graph.newton!, { inputs: [gc.spec(['batch'])], backend });
        expect(ops(f)).toContain('while_loop');
        const trips: number[] = [];
        for (const [b, scale] of [[1, 2], [5, 900]] as const) {
          const a = tf.reshape(rows(b, 1, 7 + b, 1, scale), [b]);
          const want = plain.newton!(a) as tf.Tensor[];
          const got = (await f(a)) as unknown as tf.Tensor[];
          expectClose(got, want, 1e-4);
          trips.push(got[1]!.dataSync()[0]!);
        }
        expect(trips[1]).toBeGreaterThan(trips[0]!);
      });

      it('a cond nested in a while (and a ternary choosing the trip count)', async () => {
        const f = gc.compile(graph.nested!, { inputs: [gc.spec(['batch', 2])], backend });
        expect(ops(f)).toEqual(expect.arrayContaining(['cond', 'while_loop']));
        for (const b of [1, 5]) {
          for (const sign of [1, -1]) {
            const x = rows(b, 2, 20 + b, sign);
            const want = plain.nested!(x) as tf.Tensor[];
            expectClose(await f(x), want);
            expect(want[1]!.dataSync()[0]).toBe(sign > 0 ? 5 : 4);
          }
        }
      });

      it('an early return, gc.item in a ternary, a for loop, an async function', async () => {
        const c = gc.compile(graph.clip!, { inputs: [gc.spec(['batch', 3])], backend });
        const d = gc.compile(graph.doubling!, { inputs: [gc.spec(['batch', 3])], backend });
        const a = gc.compile(graph.awaited!, { inputs: [gc.spec(['batch', 3])], backend });
        expect(ops(d)).toContain('while_loop');
        for (const b of [1, 5]) {
          for (const scale of [0.1, 1.5, 30]) {
            const x = rows(b, 3, 30 + b, scale > 1 ? -1 : 1, scale);
            expectClose(await c(x), plain.clip!(x));
          }
          const pos = rows(b, 3, 40 + b, 1);
          expectClose(await d(pos), plain.doubling!(pos));
          for (const sign of [1, -1]) {
            const x = rows(b, 3, 50 + b, sign);
            expectClose(await a(x), await (plain.awaited!(x) as Promise<tf.Tensor>));
          }
        }
      });

      it('a branch on a const holding a read (const m = t.dataSync()[0]; if (m > 1 && m < 4))', async () => {
        const f = gc.compile(graph.bound!, { inputs: [gc.spec(['batch', 3])], backend });
        expect(ops(f)).toContain('cond');
        for (const b of [1, 5]) {
          for (const scale of [0.2, 1, 30]) {
            const x = rows(b, 3, 70 + b, 1, scale);
            expectClose(await f(x), plain.bound!(x));
          }
        }
      });

      it('gradients through a branch (tf.grads of a loss with an if, inside the compiled function)', async () => {
        const g = gc.compile((x: tf.Tensor, w: tf.Tensor) => tf.grads(graph.loss! as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor)([x, w]), { inputs: [gc.spec(['batch', 3]), gc.spec([3])], backend });
        const w = tf.tensor1d([0.5, -1, 2]);
        for (const b of [1, 5]) {
          for (const sign of [1, -1]) {
            const x = rows(b, 3, 60 + b, sign);
            expectClose(await g(x, w), tf.grads(plain.loss! as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor)([x, w]), 1e-4);
          }
        }
      });
    });
  }

  it('a branch on a tf.Variable follows its value at each call, not the value it had when traced', async () => {
    await tf.setBackend('cpu');
    const v = tf.variable(tf.scalar(1));
    const text = `function f(x) {\n  let y = x;\n  if (v.dataSync()[0] > 0) y = tf.mul(x, 10); else y = tf.neg(x);\n  return y;\n}`;
    const f = new Function('tf', 'v', `${transformSource(text).code}\nreturn f;`)(tf, v) as (x: tf.Tensor) => tf.Tensor;
    const c = gc.compile(f, { inputs: [gc.spec([2])], backend: 'cpu' });
    const x = tf.tensor1d([1, -2]);
    expectClose(await c(x), tf.tensor1d([10, -20]));
    v.assign(tf.scalar(-1));
    expectClose(await c(x), tf.tensor1d([-1, 2]));
    expect(c.traceCount).toBe(1);
    v.dispose();
  });

  it('a JS number changed by a loop on traced data is an error that says how to fix it', () => {
    expect(() => gc.trace(graph.counted!, [gc.spec([3])])).toThrow(/'n' is number 0 before the body and number 1 after it[\s\S]*make 'n' a tensor \(tf\.scalar\(0\)\)/);
    // Eagerly it runs as the original.
    expectClose(graph.counted!(tf.tensor1d([1, 2, 3])), plain.counted!(tf.tensor1d([1, 2, 3])));
  });

  it('a variable assigned in only one branch is an error naming it', () => {
    const text = `function f(x) {\n  let y;\n  if (tf.sum(x).dataSync()[0] > 0) y = x;\n  return x;\n}`;
    const f = load(transformSource(text).code, ['f']).f!;
    expect(() => gc.trace(f, [gc.spec([3])])).toThrow(/'y' is a tensor float32\[3\] in the then branch and undefined \(unassigned\) in the else branch/);
  });
});
