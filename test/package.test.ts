import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const built = existsSync(path.join(root, 'dist/src/index.js'));

function node(script: string, cwd: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// A user who imports only tfjs-core and tfjs-layers, then graphc.
const USER = `
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';
await tf.setBackend('cpu');
const g = tf.grad((x) => x.square().sum())(tf.tensor1d([1, 2, 3]));
const w = tf.variable(tf.scalar(3));
const opt = tf.train.sgd(0.25);
opt.minimize(() => w.square());
const tape = new gc.GradientTape();
const a = tf.scalar(3), b = tf.scalar(4);
const c = tape.record(() => tf.sqrt(a.square().add(b.square())));
const f = gc.compile((x) => x.mul(2).sum(), { inputs: [gc.spec(['n'])], backend: 'cpu' });
const y = await f(tf.tensor1d([1, 2]));
console.log(JSON.stringify({ g: Array.from(g.dataSync()), w: w.dataSync()[0], dc: tape.gradient(c, a).dataSync()[0], y: y.dataSync()[0], dense: typeof tfl.layers.dense }));
`;

describe.skipIf(!built)('the graphc package', () => {
  if (!built) console.warn('skipping package tests: dist/ is not built (npm test runs tsc first)');

  it("resolves 'graphc' by self-reference inside the repo, and makes tf.grad, minimize and chained ops work with tfjs-core alone", () => {
    const out = JSON.parse(node(USER, root).trim().split('\n').pop()!);
    expect(out.g).toEqual([2, 4, 6]);
    expect(out.w).toBeCloseTo(1.5, 6); // 3 - 0.25·2·3
    expect(out.dc).toBeCloseTo(0.6, 6);
    expect(out.y).toBe(6);
    expect(out.dense).toBe('function');
  });

  it('resolves from a project that installs it (node_modules/graphc)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'graphc-user-'));
    try {
      mkdirSync(path.join(dir, 'node_modules/@tensorflow'), { recursive: true });
      symlinkSync(root, path.join(dir, 'node_modules/graphc'), 'dir');
      for (const p of ['tfjs-core', 'tfjs-layers']) symlinkSync(path.join(root, 'node_modules/@tensorflow', p), path.join(dir, 'node_modules/@tensorflow', p), 'dir');
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'user-project', type: 'module' }));
      const out = JSON.parse(node(USER, dir).trim().split('\n').pop()!);
      expect(out.y).toBe(6);
      expect(out.dc).toBeCloseTo(0.6, 6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Bytes under a folder (symlinks not followed). */
function folderBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += folderBytes(p);
    else if (e.isFile()) n += lstatSync(p).size;
  }
  return n;
}

describe('what installing graphc adds', () => {
  it('registers gradients and chained ops from the committed bundle of tfjs-core 4.22 modules, which is what its build script writes', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'graphc-reg-'));
    try {
      const out = path.join(dir, 'tfjs_registrations.js');
      execFileSync(process.execPath, [path.join(root, 'src/tfjs_registrations.build.mjs'), out], { stdio: 'pipe' });
      expect(readFileSync(out, 'utf8') === readFileSync(path.join(root, 'src/tfjs_registrations.js'), 'utf8'), 'src/tfjs_registrations.js is stale: npm run gen:tfjs-registrations').toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stays under 250 MB of dependencies (no @tensorflow/tfjs bundle, no protobufjs cli), and npm warns about nothing in its config', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain('@tensorflow/tfjs');
    expect(Object.keys(pkg.dependencies)).not.toContain('onnx-proto');
    const ls = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' });
    expect(ls.stderr).not.toMatch(/npm warn/i);
    const dirs = ls.stdout.split('\n').filter((p) => p !== '' && p !== root).sort();
    // Nested packages are counted with the folder that holds them.
    const tops = dirs.filter((p, i) => !dirs.slice(0, i).some((q) => p.startsWith(q + path.sep)));
    const mb = tops.reduce((n, p) => n + folderBytes(p), 0) / 2 ** 20;
    expect(mb).toBeGreaterThan(50);
    expect(mb).toBeLessThan(250);
  });
});
