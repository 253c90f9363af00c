import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { ALLOW_SOFTWARE_ENV, BackendUnavailableError, ensureBackend, releaseBackend, selectBackend, SWIFTSHADER_ICD } from '../../../runtime/backends/select.js';

/** Runs `fn` on tfjs backend `name` and puts the previous global backend back. */
async function onBackend<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend(name);
  try {
    return await fn();
  } finally {
    if (previous) await tf.setBackend(previous);
  }
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  console.log(`${label}: ${(performance.now() - t0).toFixed(0)} ms`);
  return r;
}

// A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]  →  A·B = [[58,64],[139,154]]
const A = [[1, 2, 3], [4, 5, 6]];
const B = [[7, 8], [9, 10], [11, 12]];
const AB = [58, 64, 139, 154];

describe('ensureBackend', () => {
  it('cpu computes tf.add', async () => {
    expect(await timed('ensureBackend(cpu)', () => ensureBackend('cpu'))).toBe('cpu');
    const out = await onBackend('cpu', () => tf.add([1, 2, 3], [10, 20, 30.5]).data());
    expect(Array.from(out)).toEqual([11, 22, 33.5]);
  });

  it('wasm computes tf.add and matMul', async () => {
    expect(await timed('ensureBackend(wasm)', () => ensureBackend('wasm'))).toBe('wasm');
    const [sum, prod] = await onBackend('wasm', async () => {
      expect(tf.backend().constructor.name).toMatch(/wasm/i);
      return [await tf.add([1, 2, 3], [10, 20, 30.5]).data(), await tf.matMul(A, B).data()];
    });
    expect(Array.from(sum)).toEqual([11, 22, 33.5]);
    expect(Array.from(prod)).toEqual(AB);
  });

  it('does not change the global backend', async () => {
    await tf.setBackend('cpu');
    await ensureBackend('wasm');
    expect(tf.getBackend()).toBe('cpu');
  });

  // A tfjs-wasm kernel that traps can leave the wasm heap corrupt; freeing the backend then traps
  // too (fuzz seed 800000's run died in tf.removeBackend: "memory access out of bounds"). The
  // release still forgets the instance, and the next ensureBackend makes a working one.
  it('releases a wasm backend whose own dispose throws, and makes a fresh one', async () => {
    await ensureBackend('wasm');
    const broken = tf.findBackend('wasm')!;
    broken.dispose = () => { throw new Error('RuntimeError: memory access out of bounds'); };
    await onBackend('wasm', async () => undefined);
    await tf.setBackend('wasm');
    await expect(releaseBackend('wasm')).resolves.toBeUndefined();
    expect(tf.getBackend()).toBe('cpu');
    expect(await ensureBackend('wasm')).toBe('wasm');
    const fresh = tf.findBackend('wasm')!;
    expect(fresh).not.toBe(broken);
    const out = await onBackend('wasm', () => tf.matMul(A, B).data());
    expect(Array.from(out)).toEqual(AB);
  });

  it('refuses the tensorflow backend with a helpful error (tfjs-node is not installed)', async () => {
    const err = await ensureBackend('tensorflow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(/backend 'tensorflow' is not available/);
    expect((err as Error).message).toMatch(/npm install @tensorflow\/tfjs-node@4\.22\.0/);
  });
});

const haveSwiftShader = existsSync(SWIFTSHADER_ICD);
if (!haveSwiftShader) {
  console.warn(`skipping WebGPU tests: ${SWIFTSHADER_ICD} is missing (apt-get install chromium provides SwiftShader)`);
}

describe.skipIf(!haveSwiftShader)('webgpu on SwiftShader', () => {
  afterAll(() => releaseBackend('webgpu'));

  it('computes a matmul', async () => {
    const choice = await selectBackend('webgpu', { allowSoftwareWebgpu: true });
    expect(choice).toMatchObject({ name: 'webgpu', tfjsName: 'webgpu', software: true });
    expect(await timed('ensureBackend(webgpu)', () => ensureBackend('webgpu'))).toBe('webgpu');
    const out = await onBackend('webgpu', async () => {
      const adapterInfo = (tf.backend() as unknown as { adapterInfo?: { architecture?: string } }).adapterInfo;
      expect(adapterInfo?.architecture).toMatch(/swiftshader/i);
      const a = tf.tensor2d(A);
      const b = tf.tensor2d(B);
      return [await tf.matMul(a, b).data(), await tf.relu(tf.sub(tf.matMul(a, b), 100)).data()];
    });
    expect(Array.from(out[0]!)).toEqual(AB);
    expect(Array.from(out[1]!)).toEqual([0, 0, 39, 54]);
  });

  it('can be released and initialised again', async () => {
    await ensureBackend('webgpu');
    await releaseBackend('webgpu');
    expect(await ensureBackend('webgpu')).toBe('webgpu');
    const out = await onBackend('webgpu', () => tf.matMul(A, B).data());
    expect(Array.from(out)).toEqual(AB);
  });

  // A live Dawn GPUDevice keeps Node's event loop running; releaseBackend destroys it.
  const built = fileURLToPath(new URL('../../../dist/runtime/backends/select.js', import.meta.url));
  it.skipIf(!existsSync(built))('lets the process exit after releaseBackend (built dist/)', () => {
    const script = `
      import * as tf from '@tensorflow/tfjs-core';
      import { ensureBackend, releaseBackend } from ${JSON.stringify(built)};
      await ensureBackend('webgpu');
      await tf.setBackend('webgpu');
      console.log(Array.from(await tf.matMul([[1, 2]], [[3], [4]]).data()).join());
      await releaseBackend('webgpu');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
      cwd: fileURLToPath(new URL('../../../', import.meta.url)),
    });
    expect(r.error).toBeUndefined();
    expect(r.stdout.trim()).toBe('11');
    expect(r.status).toBe(0);
  });

  it('is refused with allowSoftwareWebgpu: false, and the error says how to allow it', async () => {
    const err = await selectBackend('webgpu', { allowSoftwareWebgpu: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(/^backend 'webgpu' is not available: only a software adapter was found .*SwiftShader.*\n  help: .*allowSoftwareWebgpu: true.*GRAPHC_ALLOW_SOFTWARE_WEBGPU=1/);
  });

  // Session.create and gc.compile pass their allowSoftwareWebgpu option through, undefined when
  // the user did not set it: then only the environment can allow a software adapter.
  it('with allowSoftwareWebgpu undefined, is accepted only when GRAPHC_ALLOW_SOFTWARE_WEBGPU=1', async () => {
    const saved = process.env[ALLOW_SOFTWARE_ENV];
    try {
      delete process.env[ALLOW_SOFTWARE_ENV];
      await expect(selectBackend('webgpu')).rejects.toThrow(/only a software adapter was found/);
      await expect(selectBackend('webgpu', {})).rejects.toThrow(/only a software adapter was found/);
      process.env[ALLOW_SOFTWARE_ENV] = 'yes';
      await expect(selectBackend('webgpu')).rejects.toThrow(/only a software adapter was found/);
      process.env[ALLOW_SOFTWARE_ENV] = '1';
      expect(await selectBackend('webgpu')).toMatchObject({ name: 'webgpu', software: true, reason: expect.stringMatching(/allowed by GRAPHC_ALLOW_SOFTWARE_WEBGPU=1$/) });
      // The option wins over the environment.
      await expect(selectBackend('webgpu', { allowSoftwareWebgpu: false })).rejects.toThrow(/only a software adapter was found/);
      // Never affects 'auto'.
      expect((await selectBackend('auto')).name).not.toBe('webgpu');
    } finally {
      if (saved === undefined) delete process.env[ALLOW_SOFTWARE_ENV];
      else process.env[ALLOW_SOFTWARE_ENV] = saved;
    }
  });

  it('Session.create refuses the software adapter unless asked (option or environment)', async () => {
    const { Session } = await import('../../../runtime/session.js');
    const { parseGraph } = await import('../../../ir/parser.js');
    const g = () => parseGraph('graph @f(%x: f32[2]) {\n  %0: f32[2] = neg %x\n  return output_0 = %0\n}');
    const saved = process.env[ALLOW_SOFTWARE_ENV];
    try {
      delete process.env[ALLOW_SOFTWARE_ENV];
      await expect(Session.create(g(), { backend: 'webgpu' })).rejects.toThrow(/only a software adapter was found/);
      const s = await Session.create(g(), { backend: 'webgpu', allowSoftwareWebgpu: true });
      expect(Array.from(await ((await s.run('output_0', { x: [1, -2] })) as tf.Tensor).data())).toEqual([-1, 2]);
      s.dispose();
    } finally {
      if (saved === undefined) delete process.env[ALLOW_SOFTWARE_ENV];
      else process.env[ALLOW_SOFTWARE_ENV] = saved;
    }
    // The suite's environment (vitest.config.ts) allows it, so test files that ask for 'webgpu' run on SwiftShader.
    expect(process.env[ALLOW_SOFTWARE_ENV]).toBe('1');
    const s = await Session.create(g(), { backend: 'webgpu' });
    expect(s.backend.software).toBe(true);
    s.dispose();
  });
});

describe('selectBackend', () => {
  it("'auto' picks wasm here and says why", async () => {
    const choice = await timed('selectBackend(auto)', () => selectBackend('auto'));
    console.log(`auto: ${choice.reason}`);
    expect(choice.name).toBe('wasm');
    expect(choice.tfjsName).toBe('wasm');
    expect(choice.software).toBeUndefined();
    expect(choice.reason).toMatch(/^wasm: no @tensorflow\/tfjs-node\(-gpu\) installed and no hardware WebGPU adapter/);
    if (haveSwiftShader) expect(choice.reason).toMatch(/found software adapter .*SwiftShader/i);
  });

  it("'tensorflow' throws what, why and a hint", async () => {
    await expect(selectBackend('tensorflow')).rejects.toThrow(
      /^backend 'tensorflow' is not available: neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node is installed.*\n  help: npm install/,
    );
  });

  it('explicit cpu and wasm', async () => {
    expect(await selectBackend('cpu')).toEqual({ name: 'cpu', tfjsName: 'cpu', reason: 'cpu: requested' });
    expect(await selectBackend('wasm')).toEqual({ name: 'wasm', tfjsName: 'wasm', reason: 'wasm: requested' });
  });

  it('rejects an unknown name', async () => {
    await expect(selectBackend('gpu' as never)).rejects.toThrow(/unknown backend 'gpu'/);
  });

  it('selection leaves the global backend alone', async () => {
    await tf.setBackend('cpu');
    await selectBackend('auto');
    expect(tf.getBackend()).toBe('cpu');
  });
});
