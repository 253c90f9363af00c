/**
 * Where onnxruntime-node is not installed (it is an optional peer dependency): backend
 * 'onnxruntime' says how to get it, and 'auto' runs on its tfjs engine and says why ORT was not
 * measured. A child process whose module resolution refuses 'onnxruntime-node' stands in for
 * a project without it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

const HOOKS = `export async function resolve(specifier, context, next) {
  if (specifier === 'onnxruntime-node' || specifier.startsWith('onnxruntime-node/')) {
    const e = new Error("Cannot find package 'onnxruntime-node'");
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(specifier, context);
}
`;

const SCRIPT = `import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
register(pathToFileURL(process.env.HOOKS).href);
const tf = await import('@tensorflow/tfjs-core');
const gc = await import('graphc');
const g = gc.trace((x) => tf.mul(x, 2), [gc.spec([3])]);
const out = {};
try { await gc.Session.create(g, { backend: 'onnxruntime' }); out.ort = 'created'; } catch (e) { out.ort = e.message; out.name = e.name; }
const s = await gc.Session.create(g);
const y = await s.run(g.outputs[0].name, { [g.inputs[0].name]: tf.tensor1d([1, 2, 3]) });
out.auto = s.backend.reason;
out.y = Array.from(await y.data());
console.log(JSON.stringify(out));
`;

describe('without onnxruntime-node', () => {
  it("backend 'onnxruntime' says how to install it; 'auto' runs on tfjs and says why ORT was not measured", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'graphc-noort-'));
    try {
      writeFileSync(path.join(dir, 'hooks.mjs'), HOOKS);
      // Inside the repo, so that 'graphc' and '@tensorflow/*' resolve; *.tmp.* is git-ignored.
      const script = path.join(root, `test/runtime/backends/noort.tmp.${process.pid}.mjs`);
      writeFileSync(script, SCRIPT);
      try {
        const r = spawnSync(process.execPath, [script], { cwd: root, encoding: 'utf8', env: { ...process.env, HOOKS: path.join(dir, 'hooks.mjs') }, timeout: 120_000 });
        expect(r.status, r.stderr).toBe(0);
        const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ort: string; name: string; auto: string; y: number[] };
        expect(out.name).toBe('BackendUnavailableError');
        expect(out.ort).toMatch(/backend 'onnxruntime' is not available: onnxruntime-node could not be loaded/);
        expect(out.ort).toMatch(/npm install onnxruntime-node/);
        expect(out.auto).toMatch(/onnxruntime not measured: onnxruntime-node could not be loaded/);
        expect(out.y).toEqual([2, 4, 6]);
      } finally {
        rmSync(script, { force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
