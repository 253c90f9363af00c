// `graphc run` on every backend, as a user runs it: the built CLI (`node dist/src/cli/main.js`,
// `npm test` builds it first) and the sources through tsx (`npx tsx src/cli/main.ts`). Each
// backend runs or says why in one line with exit code 1; the process always exits; nothing
// but graphc's own output reaches the terminal. Also `graphc export` of a module that uses
// graphc only in types (a tfjs-layers LSTM: needs tfjs's chained ops at module load).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SWIFTSHADER_ICD } from '../../runtime/backends/select.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = path.join(root, 'dist/src/cli/main.js');
const tsxCli = path.join(root, 'node_modules/.bin/tsx');
// Inside the repo (an ES module scope: the package is "type": "module") so that modules written
// here resolve @tensorflow/* and graphc; *.tmp.* is git-ignored.
const dir = mkdtempSync(path.join(root, 'test/cli/run.tmp.'));
const model = path.join(dir, 'mlp.onnx');

/** The user's environment: no GRAPHC_* settings, a headless machine (no XDG_RUNTIME_DIR). */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('GRAPHC_')) delete env[k];
  delete env.XDG_RUNTIME_DIR;
  return { ...env, ...extra };
}

function graphc(args: string[], extra: Record<string, string> = {}, via: 'dist' | 'tsx' = 'dist') {
  const [cmd, argv] = via === 'dist' ? [process.execPath, [cli, ...args]] : [tsxCli, [path.join(root, 'src/cli/main.ts'), ...args]];
  const t = performance.now();
  // 90 s: a process that does not exit is killed (signal SIGTERM) and fails the test.
  const r = spawnSync(cmd, argv, { cwd: root, env: userEnv(extra), encoding: 'utf8', timeout: 90_000 });
  // The status lines of long steps ('[graphc] importing … 0.2 s') left out: what is checked is the rest.
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.replace(/^\[graphc\] .*\n/gm, ''), seconds: (performance.now() - t) / 1000 };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(cli))('graphc run on every backend', () => {
  let exported: ReturnType<typeof graphc>;
  beforeAll(() => {
    exported = graphc(['export', 'examples/fashion_mlp.ts', '--fn', 'predict', '-o', model]);
    if (exported.code !== 0) throw new Error(`export failed: ${exported.stderr}`);
  }, 120_000);

  it('export prints nothing on stderr (no tfjs banner)', () => {
    expect(exported.stderr).toBe('');
  });

  const runs = (stdout: string) => expect(stdout).toMatch(/^output_0: float32\[1,10\]  min \S+  max \S+  mean 0\.1000\d$/m);

  it.each(['auto', 'cpu', 'wasm'])('--backend %s runs, prints nothing else, and exits', (backend) => {
    const r = graphc(['run', model, '--backend', backend]);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^backend: ${backend === 'auto' ? 'wasm: no @tensorflow/tfjs-node' : `${backend}: requested`}`, 'm'));
    runs(r.stdout);
  });

  it('--backend tensorflow says why in one line (tfjs-node is not installed), exit 1', () => {
    const r = graphc(['run', model, '--backend', 'tensorflow']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^graphc run: backend 'tensorflow' is not available: .* \(hint: npm install @tensorflow\/tfjs-node@4\.22\.0.*\)\n$/);
  });

  describe.skipIf(!existsSync(SWIFTSHADER_ICD))('webgpu (SwiftShader only: a software adapter)', () => {
    it('refuses the software adapter in one line that says how to allow it, exit 1', () => {
      const r = graphc(['run', model, '--backend', 'webgpu']);
      expect(r.signal).toBeNull();
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^graphc run: backend 'webgpu' is not available: only a software adapter was found .*\(hint: .*GRAPHC_ALLOW_SOFTWARE_WEBGPU=1.*\)\n$/);
    });

    it('with GRAPHC_ALLOW_SOFTWARE_WEBGPU=1 runs on it, quietly, and the process exits', () => {
      const r = graphc(['run', model, '--backend', 'webgpu'], { GRAPHC_ALLOW_SOFTWARE_WEBGPU: '1' });
      expect(r.signal).toBeNull();
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^backend: webgpu: requested; software adapter .*SwiftShader/m);
      runs(r.stdout);
    });

    it('exits after an error once the WebGPU device exists (the device is released)', () => {
      const r = graphc(['run', model, '--backend', 'webgpu', '--input', `images=${path.join(dir, 'missing.npy')}`], { GRAPHC_ALLOW_SOFTWARE_WEBGPU: '1' });
      expect(r.signal).toBeNull();
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^graphc run: --input images=.*missing\.npy: no such file\n$/);
    });

    it('--verbose lets what tfjs and Dawn print through', () => {
      const r = graphc(['--verbose', 'run', model, '--backend', 'webgpu'], { GRAPHC_ALLOW_SOFTWARE_WEBGPU: '1' });
      expect(r.code).toBe(0);
      if (existsSync('/usr/share/vulkan/implicit_layer.d/VkLayer_MESA_device_select.json')) expect(r.stderr).toMatch(/XDG_RUNTIME_DIR is invalid/);
    });
  });

  it('through tsx from the sources (npx tsx src/cli/main.ts run ...), as a user runs it', () => {
    for (const backend of ['auto', 'wasm']) {
      const r = graphc(['run', model, '--backend', backend], {}, 'tsx');
      expect(r.signal).toBeNull();
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      runs(r.stdout);
    }
  });
});

describe.skipIf(!existsSync(cli))('graphc export of a module that uses graphc only in types', () => {
  // `gc` appears only in a parameter type: TypeScript/tsx drop the import, so graphc's setup
  // (tfjs's chained ops: the LSTM's orthogonal initializer calls rMat.flatten()) must come from the CLI.
  const mod = path.join(dir, 'lstm.ts');
  beforeAll(() => writeFileSync(mod, `import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as gc from 'graphc';

const model = tfl.sequential({ layers: [tfl.layers.lstm({ units: 4, inputShape: [5, 3] }), tfl.layers.dense({ units: 2 })] });

export function predict(x: gc.Input<'float32', ['batch', 5, 3]>): tf.Tensor {
  return model.predict(x) as tf.Tensor;
}
`));

  it.each(['dist', 'tsx'] as const)('exports the tfjs-layers LSTM (%s)', (via) => {
    const out = path.join(dir, `lstm-${via}.onnx`);
    const r = graphc(['export', mod, '-o', out], {}, via);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*lstm-\w+\.onnx: x: f32\[batch,5,3\] → output_0: f32\[batch,2\]/);
    expect(existsSync(out)).toBe(true);
  });
});
