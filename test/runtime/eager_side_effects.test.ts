// graphc inside the user's process: after graphc picks, initialises and runs a backend, the
// user's eager tfjs must behave exactly as it did before (same global backend, same registered
// backends and priorities, no "not yet initialized", no webgpu reads), and graphc must print
// nothing by default. Each case runs in a fresh Node process, because tfjs's state is global.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER_ICD } from '../../runtime/backends/select.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const src = (p: string) => JSON.stringify(`${root}${p}`);

/** The user's environment: no GRAPHC_LOG, and (unless given) no software WebGPU allowance. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (!('GRAPHC_LOG' in extra)) delete env.GRAPHC_LOG;
  if (!('GRAPHC_ALLOW_SOFTWARE_WEBGPU' in extra)) delete env.GRAPHC_ALLOW_SOFTWARE_WEBGPU;
  // A headless machine: what makes Mesa's device-select layer complain.
  delete env.XDG_RUNTIME_DIR;
  return env;
}

/** Runs an ES module body in a fresh node (TypeScript sources through tsx); prints JSON on its last line. */
function child(body: string, env = userEnv()) {
  const script = `
    import * as tf from '@tensorflow/tfjs-core';
    import * as tfl from '@tensorflow/tfjs-layers';
    import * as gc from ${src('src/index.ts')};
    const engine = tf.engine();
    // graphc's tracing backend (src/trace/backend.ts) is hidden from backendNames() like the others.
    const names = () => engine.backendNames();
    const state = () => ({
      global: tf.getBackend() ?? null,
      names: names(),
      sorted: names().map((n) => [n, engine.registryFactory[n].priority]).sort((a, b) => b[1] - a[1]),
      listeners: ['uncaughtException', 'unhandledRejection'].map((e) => process.listenerCount(e)),
    });
    const out = {};
    ${body}
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root, env, encoding: 'utf8', timeout: 120_000,
  });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let out: Record<string, unknown> = {};
  try {
    out = JSON.parse(last) as Record<string, unknown>;
  } catch {
    throw new Error(`child failed (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return { out, stderr: r.stderr, status: r.status };
}

const GRAPH = "gc.parseGraph('graph @f(%x: f32[2]) {\\n  %0: f32[2] = exp %x\\n  return output_0 = %0\\n}')";

describe('eager tfjs after graphc ran (fresh processes)', () => {
  it('Session.create picking wasm (auto) leaves eager ops working and tfjs state as it was', () => {
    const { out, stderr } = child(`
      out.before = state();
      const s = await gc.Session.create(${GRAPH});
      out.picked = s.backend.name;
      out.ones = Array.from(tf.ones([2]).dataSync());
      out.after = state();
      out.eagerBackend = tf.getBackend();
      const y = await s.run('output_0', { x: [0, 1] });
      out.y = Array.from(await y.data());
      out.afterRun = state();`);
    expect(out.picked).toBe('wasm');
    expect(out.ones).toEqual([1, 1]);
    expect(out.y).toEqual([1, Math.fround(Math.E)]);
    const before = out.before as { names: string[]; sorted: unknown; listeners: number[] };
    // The user registered cpu only (graphc's import of @tensorflow/tfjs); wasm stays out of tfjs's default choice.
    expect(before.names).toEqual(['cpu']);
    for (const k of ['after', 'afterRun'] as const) {
      const s = out[k] as typeof before;
      expect(s.names).toEqual(before.names);
      expect(s.sorted).toEqual(before.sorted);
      // Emscripten's process-wide handlers are gone again.
      expect(s.listeners).toEqual(before.listeners);
    }
    // tfjs's own default, as the first op picks it.
    expect(out.eagerBackend).toBe('cpu');
    expect(stderr).toBe('');
  });

  it('compile on wasm, then eager ops, tf.ready() and a layers model work without tf.ready()', () => {
    const { out, stderr } = child(`
      const f = gc.compile((x) => tf.mul(x, 2), { inputs: [gc.spec([2])], backend: 'wasm' });
      out.y = Array.from(await (await f(tf.tensor([1, 2]))).data());
      out.ones = Array.from(tf.ones([2]).dataSync());
      await tf.ready();
      out.afterReady = tf.getBackend();
      const m = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2], kernelInitializer: 'ones' })] });
      out.predict = Array.from(m.predict(tf.ones([1, 2])).dataSync());`);
    expect(out.y).toEqual([2, 4]);
    expect(out.ones).toEqual([1, 1]);
    expect(out.afterReady).toBe('cpu');
    expect(out.predict).toEqual([2]);
    expect(stderr).toBe('');
  });

  it('gc.selectBackend / ensureBackend before any tfjs op leave tfjs usable (compile, eager)', () => {
    const { out, stderr } = child(`
      out.before = state();
      out.auto = (await gc.selectBackend('auto')).name;
      await gc.ensureBackend('wasm');
      const f = gc.compile((x) => tf.add(x, 1), { inputs: [gc.spec([3])] });
      out.y = Array.from(await (await f(tf.tensor([1, 2, 3]))).data());
      out.eager = Array.from(tf.sum(tf.ones([4])).dataSync());
      out.after = state();`);
    expect(out.auto).toBe('wasm');
    expect(out.y).toEqual([2, 3, 4]);
    expect(out.eager).toEqual([4]);
    expect((out.after as { sorted: unknown }).sorted).toEqual((out.before as { sorted: unknown }).sorted);
    expect(stderr).toBe('');
  });

  it('GRAPHC_LOG=debug lets tfjs\'s Node.js banner through', () => {
    const { out, stderr } = child(`out.s = Array.from(tf.add(tf.ones([2]), 1).dataSync());`, userEnv({ GRAPHC_LOG: 'debug' }));
    expect(out.s).toEqual([2, 2]);
    expect(stderr).toMatch(/Hi, looks like you are running TensorFlow\.js in Node\.js/);
    const quiet = child(`out.s = Array.from(tf.add(tf.ones([2]), 1).dataSync());`);
    expect(quiet.stderr).toBe('');
  });
});

const haveSwiftShader = existsSync(SWIFTSHADER_ICD);
if (!haveSwiftShader) console.warn(`skipping the webgpu side-effect tests: ${SWIFTSHADER_ICD} is missing (apt-get install chromium)`);

describe.skipIf(!haveSwiftShader)('eager tfjs after a compiled webgpu run (fresh processes)', () => {
  const run = `
    out.before = state();
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [4], kernelInitializer: 'ones' })] });
    const f = gc.compile((x) => model.predict(x), { inputs: [gc.spec(['batch', 4])], backend: 'webgpu' });
    out.compiled = Array.from(await (await f(tf.ones([2, 4]))).data());
    out.global = tf.getBackend();
    out.eager = Array.from(model.predict(tf.ones([2, 4])).dataSync());
    out.plain = Array.from(tf.add(tf.ones([2]), 1).dataSync());
    const s = await gc.Session.create(${GRAPH}, { backend: 'webgpu' });
    out.y = Array.from(await (await s.run('output_0', { x: [0, 0] })).data());
    out.globalAfterSession = tf.getBackend();
    out.eagerAfterSession = Array.from(tf.mul(tf.ones([2]), 3).dataSync());
    out.after = state();
    s.dispose();
    await gc.releaseBackend('webgpu');`;

  it('keeps the user\'s backend: model.predict(x).dataSync() and plain ops work; the process exits', () => {
    const { out, stderr, status } = child(run, userEnv({ GRAPHC_ALLOW_SOFTWARE_WEBGPU: '1' }));
    expect(status).toBe(0);
    expect(out.compiled).toEqual([4, 4, 4, 4, 4, 4]);
    expect(out.global).toBe('cpu');
    expect(out.eager).toEqual([4, 4, 4, 4, 4, 4]);
    expect(out.plain).toEqual([2, 2]);
    expect(out.y).toEqual([1, 1]);
    expect(out.globalAfterSession).toBe('cpu');
    expect(out.eagerAfterSession).toEqual([3, 3]);
    const before = out.before as { sorted: unknown; names: string[] };
    expect((out.after as typeof before).names).toEqual(before.names);
    expect((out.after as typeof before).sorted).toEqual(before.sorted);
    // Quiet: no tfjs banner, no Dawn / Vulkan loader lines.
    expect(stderr).toBe('');
  });

  it('a Session on webgpu created before any eager op leaves eager ops on the user\'s default', () => {
    const { out, stderr } = child(`
      const s = await gc.Session.create(${GRAPH}, { backend: 'webgpu' });
      out.y = Array.from(await (await s.run('output_0', { x: [0, 0] })).data());
      out.global = tf.getBackend();
      const m = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2], kernelInitializer: 'ones' })] });
      out.predict = Array.from(m.predict(tf.ones([1, 2])).dataSync());
      s.dispose();
      await gc.releaseBackend('webgpu');`, userEnv({ GRAPHC_ALLOW_SOFTWARE_WEBGPU: '1' }));
    expect(out.y).toEqual([1, 1]);
    expect(out.global).toBe('cpu');
    expect(out.predict).toEqual([2]);
    expect(stderr).toBe('');
  });

  it('GRAPHC_LOG=debug lets Dawn\'s and the Vulkan layers\' lines through', () => {
    const { stderr } = child(`
      const s = await gc.Session.create(${GRAPH}, { backend: 'webgpu' });
      s.dispose();
      await gc.releaseBackend('webgpu');`, userEnv({ GRAPHC_ALLOW_SOFTWARE_WEBGPU: '1', GRAPHC_LOG: 'debug' }));
    // What this machine's drivers print (Debian 12: Mesa's device-select layer and lavapipe);
    // the assertion is that quiet mode hides them, not what they are.
    if (existsSync('/usr/share/vulkan/implicit_layer.d/VkLayer_MESA_device_select.json')) {
      expect(stderr).toMatch(/XDG_RUNTIME_DIR is invalid/);
    }
    if (existsSync('/usr/share/vulkan/icd.d/lvp_icd.x86_64.json')) {
      expect(stderr).toMatch(/Warning: Vulkan/);
    }
  });
});
