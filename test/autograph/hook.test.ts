/**
 * The Node loader hook, as a user runs it: `node --import graphc/autograph app.mjs` (the built
 * package, when dist/ is built) and, from the sources, `node --import tsx --import
 * src/autograph/register.ts app.ts` (tsx first: the hook transforms the file itself and compiles
 * it, since tsx has joined its lines). Each app runs a converted `if` eagerly, reports the stack
 * of an error thrown inside a converted branch (it must name the app's own line), and, where
 * gc.cond exists, compiles the function and runs it both ways.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = path.join(root, 'node_modules/tsx/dist/loader.mjs');
const built = existsSync(path.join(root, 'dist/src/autograph/register.js'));
// Inside the repo, so that 'graphc' resolves (tsconfig paths under tsx, self-reference in plain node).
const dir = mkdtempSync(path.join(root, 'test/autograph/hook.tmp.'));

const BOOM_LINE = 13;
const APP = (ts: boolean) => `import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
await tf.setBackend('cpu');
function clip(x${ts ? ': tf.Tensor' : ''}) {
  let y = x;
  if (gc.item(tf.max(x)) > 1) {
    y = tf.div(x, tf.max(x));
  }
  return y;
}
function boom(x${ts ? ': tf.Tensor' : ''}) {
  if (x.dataSync()[0]${ts ? '!' : ''} > 0) {
    throw new Error('boom');
  }
  return x;
}
const out${ts ? ': Record<string, unknown>' : ''} = { eager: [clip(tf.tensor([1, 4])).arraySync(), clip(tf.tensor([0.5, 0.25])).arraySync()] };
try { boom(tf.scalar(1)); } catch (e) { out.stack = String((e${ts ? ' as Error' : ''}).stack); }
if (typeof gc.cond === 'function') {
  const f = gc.compile(clip, { inputs: [gc.spec([2])], backend: 'cpu' });
  out.compiled = [(await f(tf.tensor([1, 4]))).arraySync(), (await f(tf.tensor([0.5, 0.25]))).arraySync()];
}
console.log(JSON.stringify(out));
`;

function run(args: string[], env: Record<string, string> = {}): { eager: number[][]; stack: string; compiled?: number[][] } {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  expect(r.stderr.replace(/=+\n|Hi, looks like.*\n/g, '').trim()).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function check(out: ReturnType<typeof run>, file: string): void {
  expect(out.eager).toEqual([[0.25, 1], [0.5, 0.25]]);
  // The frame of the throw names the app's own line (the transform keeps lines).
  expect(out.stack.split('\n')[1]).toContain(`${file}:${BOOM_LINE}:`);
  // …called from the runtime's ifExp (an early return): the module was transformed.
  expect(out.stack.split('\n')[2]).toMatch(/at .*(if_|ifExp) .*autograph[\\/]runtime\.[jt]s:/);
  if (out.compiled === undefined) console.warn('gc.cond is not in this build: the compiled half of the hook test was skipped');
  else expect(out.compiled).toEqual(out.eager);
}

describe('node --import graphc/autograph', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('from the sources: node --import tsx --import src/autograph/register.ts app.ts', () => {
    const app = path.join(dir, 'app.ts');
    writeFileSync(app, APP(true));
    check(run(['--import', tsx, '--import', path.join(root, 'src/autograph/register.ts'), app]), app);
  });

  it('a JavaScript app from the sources (app.mjs)', () => {
    const app = path.join(dir, 'app.mjs');
    writeFileSync(app, APP(false));
    check(run(['--import', tsx, '--import', path.join(root, 'src/autograph/register.ts'), app]), app);
  });

  it.skipIf(!built)('the built package: node --import graphc/autograph app.mjs', () => {
    const app = path.join(dir, 'app_dist.mjs');
    writeFileSync(app, APP(false));
    check(run(['--import', 'graphc/autograph', app]), app);
  });

  it.skipIf(!built)('the built package before tsx: node --import graphc/autograph --import tsx app.ts', () => {
    const app = path.join(dir, 'app_dist.ts');
    writeFileSync(app, APP(true));
    // tsx without the repository's tsconfig (whose paths map 'graphc' to src/): the app imports the built package too.
    const tsconfig = path.join(dir, 'tsconfig.json');
    writeFileSync(tsconfig, '{}');
    check(run(['--import', 'graphc/autograph', '--import', tsx, app], { TSX_TSCONFIG_PATH: tsconfig }), app);
  });

  it('without the hook the same app cannot branch on traced data but runs eagerly', () => {
    const app = path.join(dir, 'plain.ts');
    writeFileSync(app, APP(true).replace("if (typeof gc.cond === 'function')", 'if (false)'));
    const out = run(['--import', tsx, app]);
    expect(out.eager).toEqual([[0.25, 1], [0.5, 0.25]]);
    expect(out.stack.split('\n')[1]).toContain(`${app}:${BOOM_LINE}:`);
    expect(out.stack).not.toMatch(/autograph[\\/]runtime/);
  });
});
