/**
 * Property: random programs of nested if / else-if / while / do / for / ternaries whose
 * conditions mix tensor reads (dataSync, arraySync, gc.item, &&, ||, !, Math.abs) and plain JS
 * values. Their transform keeps the line count and parses; eagerly it computes what the original
 * does (every variable, every input); and compiled (one trace, cpu) it gives eager's numbers for
 * several inputs — so the rewriting of nested constructs and the runtime's dispatch agree.
 */
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import { installRuntime } from '../../src/autograph/enable.js';
import { transformSource } from '../../src/autograph/transform.js';

// ---- a generator of programs over tensors y, z ([3]) and a JS number n ----------------------

const read = fc.constantFrom(
  'tf.sum(y).dataSync()[0]', 'y.dataSync()[1]', 'gc.item(tf.max(z))', 'y.arraySync()[2]', 'Math.abs(z.dataSync()[0])',
  '(tf.mean(tf.add(y, z)).dataSync()[0] * 2)');
const num = fc.constantFrom('0', '0.5', '-0.5', '1', '2');
const cmp = fc.constantFrom('>', '<', '>=', '<=');

const atom = fc.oneof(
  fc.tuple(read, cmp, num).map(([r, c, k]) => `${r} ${c} ${k}`),
  fc.tuple(cmp, num).map(([c, k]) => `n ${c} ${k}`),
);
const cond: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: atom },
  { weight: 1, arbitrary: fc.tuple(atom, fc.constantFrom('&&', '||'), atom).map(([a, o, b]) => `${a} ${o}\n      ${b}`) },
  { weight: 1, arbitrary: atom.map((a) => `!(${a})`) },
);

const assign = fc.constantFrom(
  'y = tf.add(y, 0.75);', 'y = tf.mul(y, -0.5);', 'z = tf.sub(z, y);', 'z = tf.tanh(tf.add(z, 1));', 'y = tf.neg(tf.abs(y));',
);

const guard = fc.nat({ max: 1e9 }).map((k) => `g${k}`);

const { stmts } = fc.letrec<{ stmt: string; stmts: string }>((tie) => ({
  stmt: fc.oneof(
    { weight: 4, arbitrary: assign },
    { weight: 1, arbitrary: fc.tuple(cond, assign).map(([c, a]) => `z = ${c} ? tf.add(z, 1) : tf.mul(z, 2); ${a}`) },
    { weight: 2, depthSize: 'small', arbitrary: fc.tuple(cond, tie('stmts'), fc.option(tie('stmts'), { nil: undefined })).map(([c, a, b]) => `if (${c}) {\n${a}\n}${b === undefined ? '' : ` else {\n${b}\n}`}`) },
    { weight: 1, depthSize: 'small', arbitrary: fc.tuple(cond, cond, tie('stmts'), tie('stmts')).map(([c, d, a, b]) => `if (${c}) {\n${a}\n} else if (${d}) ${b.includes('\n') ? `{\n${b}\n}` : b}`) },
    // Each loop carries a tensor guard of its own (g<id>) so that every loop ends.
    { weight: 1, depthSize: 'small', arbitrary: fc.tuple(cond, tie('stmts'), guard).map(([c, a, g]) => `let ${g} = tf.scalar(0);\nwhile ((${c}) && ${g}.dataSync()[0] < 3) {\n${g} = tf.add(${g}, 1);\n${a}\n}`) },
    { weight: 1, depthSize: 'small', arbitrary: fc.tuple(cond, tie('stmts'), guard).map(([c, a, g]) => `for (let ${g} = tf.scalar(0); ${g}.arraySync() < 2 && (${c}); ${g} = tf.add(${g}, 1)) {\n${a}\n}`) },
    { weight: 1, depthSize: 'small', arbitrary: fc.tuple(cond, tie('stmts'), guard).map(([c, a, g]) => `let ${g} = tf.scalar(0);\ndo {\n${g} = tf.add(${g}, 1);\n${a}\n} while ((${c}) && gc.item(${g}) < 3);`) },
  ),
  stmts: fc.array(tie('stmt'), { minLength: 1, maxLength: 3 }).map((s) => s.join('\n')),
}));

const program = stmts.map((body) => `import * as gc from 'graphc';\nfunction main(x, w, n) {\n  let y = x, z = w;\n${body}\n  return [y, z];\n}\n`);

type Main = (x: tf.Tensor, w: tf.Tensor, n: number) => tf.Tensor[];

function load(text: string): Main {
  return new Function('tf', 'gc', `${text.replace("import * as gc from 'graphc';", '')}\nreturn main;`)(tf, gc) as Main;
}

function data(ts: tf.Tensor[]): number[][] {
  return ts.map((t) => Array.from(t.dataSync()));
}

const INPUTS: [number[], number[], number][] = [
  [[0.3, -1.2, 2], [0.5, 0.5, -0.25], 0], [[-2, 0.1, -0.3], [1.5, -1, 0.2], 1], [[1, 1, 1], [-1, -2, -3], 2], [[0, 0, 0], [0, 0, 0], -1],
];

describe('AutoGraph on random programs', () => {
  beforeAll(async () => {
    installRuntime();
    await tf.setBackend('cpu');
  });

  it('lines kept, eager ≡ original on every input', () => {
    fc.assert(fc.property(program, (text) => {
      const r = transformSource(text);
      expect(r.refused).toEqual([]);
      expect(r.code.split('\n').length).toBe(text.split('\n').length);
      const plain = load(text), graph = load(r.code);
      for (const [x, w, n] of INPUTS) {
        expect(data(graph(tf.tensor1d(x), tf.tensor1d(w), n))).toEqual(data(plain(tf.tensor1d(x), tf.tensor1d(w), n)));
      }
    }), { numRuns: 60, seed: 12 });
  });

  it('compiled (one trace per n) ≡ eager', async () => {
    const progs = fc.sample(program, { numRuns: 25, seed: 7 });
    let graphs = 0;
    for (const text of progs) {
      const r = transformSource(text);
      const plain = load(text), graph = load(r.code);
      for (const n of [0, 2]) {
        const f = gc.compile((x: tf.Tensor, w: tf.Tensor) => graph(x, w, n), { inputs: [gc.spec([3]), gc.spec([3])], backend: 'cpu' });
        for (const [x, w] of INPUTS) {
          const want = plain(tf.tensor1d(x), tf.tensor1d(w), n);
          const got = (await f(tf.tensor1d(x), tf.tensor1d(w))) as unknown as tf.Tensor[];
          got.forEach((t, i) => {
            const d = tf.max(tf.abs(tf.sub(t, want[i]!))).dataSync()[0]!;
            expect(d, `program:\n${text}\nn=${n} x=${x} w=${w}`).toBeLessThanOrEqual(1e-5);
          });
        }
        if (f.graph.nodes.some((nd) => nd.op === 'cond' || nd.op === 'while_loop')) graphs++;
        expect(f.traceCount).toBe(1);
        f.dispose();
      }
    }
    // Most programs branch or loop on traced data (not all: a condition on n alone stays JS).
    expect(graphs).toBeGreaterThan(25);
  }, 240_000);
});
