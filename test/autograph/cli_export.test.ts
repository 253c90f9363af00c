/**
 * `graphc export module.ts` runs AutoGraph on the module, as a user runs it (`npx tsx
 * src/cli/main.ts export …`, and the built CLI when dist/ is built): functions written with plain
 * `if`/`while` on tensor data export as ONNX If/Loop, and onnxruntime-node gives the numbers of
 * the same functions run eagerly (untransformed) at two batch sizes, each branch taken: a branch,
 * Newton to convergence, a cond nested in a while, a running sum (a plain JS for loop) and the
 * gradient of a loss with an if. An error
 * inside a converted branch names the module's own line and column.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import 'graphc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onnx } from '../../exporters/onnx/proto.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsxCli = path.join(root, 'node_modules/.bin/tsx');
const builtCli = path.join(root, 'dist/src/cli/main.js');
// Inside the repo (outside node_modules, 'graphc' resolves); *.tmp.* is git-ignored.
const dir = mkdtempSync(path.join(root, 'test/autograph/cli.tmp.'));

const MODULE = `import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

export function branch(x: gc.Input<'float32', ['batch', 3]>) {
  let y = tf.mul(x, 2);
  if (tf.sum(x).dataSync()[0]! > 0) {
    y = tf.add(y, 1);
  } else {
    y = tf.neg(tf.square(y));
  }
  return y;
}

export function newton(a: gc.Input<'float32', ['batch']>) {
  let y: tf.Tensor = a, i = tf.scalar(0);
  while (tf.max(tf.abs(tf.sub(tf.square(y), a))).dataSync()[0]! > 1e-4 && gc.item(i) < 100) {
    y = tf.mul(0.5, tf.add(y, tf.div(a, y)));
    i = tf.add(i, 1);
  }
  return [y, i];
}

export function nested(x: gc.Input<'float32', ['batch', 2]>) {
  let s: tf.Tensor = x, i = tf.scalar(0);
  const limit = tf.sum(x).dataSync()[0]! > 0 ? tf.scalar(5) : tf.scalar(4);
  while (i.arraySync() < limit.arraySync()) {
    if (tf.sum(s).dataSync()[0]! > 3) { s = tf.sub(s, 3); } else { s = tf.add(tf.mul(s, 2), 1); }
    i = tf.add(i, 1);
  }
  return [s, i];
}

export function runningSum(x: gc.Input<'float32', ['batch', 6]>) {
  let c = tf.zerosLike(tf.slice(x, [0, 0], [-1, 1]));
  const outs: tf.Tensor[] = [];
  for (let t = 0; t < 6; t++) {
    c = tf.add(c, tf.slice(x, [0, t], [-1, 1]));
    outs.push(c);
  }
  return tf.concat(outs, 1);
}

function loss(x: tf.Tensor) {
  let y;
  if (tf.sum(x).dataSync()[0]! > 0) y = tf.tanh(tf.mul(x, 2)); else y = tf.square(tf.sub(x, 1));
  return tf.sum(y);
}

export function gradBranch(x: gc.Input<'float32', ['batch', 3]>) {
  return tf.grad(loss)(x);
}

export function bad(x: gc.Input<'float32', ['batch', 3]>) {
  let y = x;
  if (tf.sum(x).dataSync()[0]! > 0) {
    y = tf.add(y, 1);
  } else {
    y = tf.matMul(x, tf.ones([4, 2]));
  }
  return y;
}
`;
const BAD_AT = 'mod.ts:58:12'; // tf.matMul's line and column in MODULE

type Via = 'tsx' | 'dist';

function graphc(via: Via, ...args: string[]) {
  const [cmd, argv] = via === 'dist' ? [process.execPath, [builtCli, ...args]] : [tsxCli, [path.join(root, 'src/cli/main.ts'), ...args]];
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.replace(/=+\n|Hi, looks like.*\n/g, '').replace(/^\[graphc\] .*\n/gm, '').trim() };
}

function opTypes(file: string): string[] {
  const m = onnx.ModelProto.decode(new Uint8Array(readFileSync(file)));
  return m.graph!.node!.map((n) => n.opType!);
}

/** `batch` rows of positive or negative values from a seed. */
function rows(batch: number, cols: number, seed: number, sign: number, scale = 1): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.add(tf.abs(tf.randomNormal([batch, cols], 0, 1, 'float32', seed)), 0.1), sign * scale));
}

async function ortRun(file: string, name: string, x: tf.Tensor): Promise<Float32Array[]> {
  const s = await ort.InferenceSession.create(file);
  const out = await s.run({ [name]: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) });
  return s.outputNames.map((o) => out[o]!.data as Float32Array);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

type Eager = Record<'branch' | 'newton' | 'nested' | 'runningSum' | 'gradBranch', (x: tf.Tensor) => tf.Tensor | tf.Tensor[]>;
let eager: Eager;

describe('graphc export with AutoGraph, run in onnxruntime-node', () => {
  beforeAll(async () => {
    writeFileSync(path.join(dir, 'mod.ts'), MODULE);
    await tf.setBackend('cpu');
    // The module imported as it is (no AutoGraph): the eager reference.
    eager = (await import(path.join(dir, 'mod.ts'))) as Eager;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const via of ['tsx', 'dist'] as const) {
    it.skipIf(via === 'dist' && !existsSync(builtCli))(`via ${via}: if → If, while → Loop, same numbers as eager at batch 1 and 5`, async () => {
      const mod = path.join(dir, 'mod.ts');
      const cases = [
        { fn: 'branch', input: 'x', ops: ['If'], xs: [1, 5].flatMap((b) => [rows(b, 3, b, 1), rows(b, 3, b, -1)]) },
        { fn: 'newton', input: 'a', ops: ['Loop'], xs: [tf.reshape(rows(1, 1, 3, 1, 2), [1]), tf.reshape(rows(5, 1, 4, 1, 900), [5])] },
        { fn: 'nested', input: 'x', ops: ['Loop', 'If'], xs: [1, 5].flatMap((b) => [rows(b, 2, 20 + b, 1), rows(b, 2, 20 + b, -1)]) },
        // A plain JS for loop (a JS condition: stays JavaScript, traced step by step).
        { fn: 'runningSum', input: 'x', ops: [], xs: [rows(1, 6, 30, 1), rows(5, 6, 31, -1)] },
        // The gradient of a loss with an if: a cond of the branches' gradients.
        { fn: 'gradBranch', input: 'x', ops: ['If'], xs: [1, 5].flatMap((b) => [rows(b, 3, 40 + b, 1), rows(b, 3, 40 + b, -1)]) },
      ] as const;
      for (const c of cases) {
        const out = path.join(dir, `${c.fn}_${via}.onnx`);
        const r = graphc(via, 'export', mod, '--fn', c.fn, '-o', out);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const types = opTypes(out);
        for (const op of c.ops) expect(types).toContain(op);
        for (const x of c.xs) {
          const want = [eager[c.fn](x)].flat();
          const got = await ortRun(out, c.input, x);
          expect(got.length).toBe(want.length);
          got.forEach((g, i) => expect(maxDiff(g, want[i]!.dataSync())).toBeLessThanOrEqual(1e-4));
        }
      }
      // The loop's trip count follows the data: a large root takes more Newton steps than a small one.
      const file = path.join(dir, `newton_${via}.onnx`);
      const [, small] = await ortRun(file, 'a', tf.tensor1d([1.21]));
      const [, large] = await ortRun(file, 'a', tf.tensor1d([9000]));
      expect(large![0]).toBeGreaterThan(small![0]! + 3);
    }, 300_000);
  }

  it('an error inside a converted branch points at the module\'s own line and column', () => {
    const r = graphc('tsx', 'export', path.join(dir, 'mod.ts'), '--fn', 'bad', '-o', path.join(dir, 'bad.onnx'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[GC0203\]: matmul: inner dimensions differ/);
    expect(r.stderr).toContain(`--> ${path.relative(root, dir)}/${BAD_AT}`);
  }, 120_000);
});
