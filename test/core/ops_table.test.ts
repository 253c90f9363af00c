/**
 * Compiled ≡ eager, op by op: one table of cases, run on cpu, wasm and webgpu (SwiftShader).
 * For each case `gc.compile(fn)` on a backend must give what `fn` gives eagerly on that same
 * backend, on seeded random inputs (never all zeros): same dtype, same shape, and values within
 * 1e-5 + 1e-5·|expected| for float32 (NaN and ±Inf must match exactly), exact for int32/bool.
 *
 * A case excluded on a backend names why in `skip`: only where tfjs itself, eagerly, fails or
 * is wrong there (checked once against eager cpu). The per-backend case counts are in the
 * describe titles and logged. On webgpu, WEBGPU_CPU_FORWARD is off so that the WebGPU shaders
 * run even for these small shapes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gc from 'graphc';
import type { Backend, Case } from './ops_cases.js';
import { CASES, makeInputs, sq, T1 } from './ops_cases.js';

// ---- the harness ----------------------------------------------------------------------------------

const list = (o: unknown): tf.Tensor[] => (Array.isArray(o) ? (o as tf.Tensor[]) : [o as tf.Tensor]);

async function expectClose(got: tf.Tensor[], want: tf.Tensor[]): Promise<void> {
  expect(got.length, 'number of outputs').toBe(want.length);
  for (let k = 0; k < want.length; k++) {
    const g = got[k]!, w = want[k]!;
    expect(`${g.dtype}[${g.shape.join(',')}]`, `output ${k} type`).toBe(`${w.dtype}[${w.shape.join(',')}]`);
    const gd = await g.data(), wd = await w.data();
    const bad: string[] = [];
    for (let i = 0; i < wd.length; i++) {
      const a = Number(gd[i]), e = Number(wd[i]);
      const ok = w.dtype !== 'float32' ? a === e
        : Number.isNaN(e) ? Number.isNaN(a) : !Number.isFinite(e) ? a === e : Math.abs(a - e) <= 1e-5 + 1e-5 * Math.abs(e);
      if (!ok) bad.push(`[${i}] got ${a}, want ${e}`);
    }
    expect(bad.slice(0, 6).join('; '), `output ${k}: ${bad.length} of ${wd.length} values differ`).toBe('');
  }
}

async function runCase(c: Case, backend: Backend): Promise<void> {
  expect(tf.getBackend()).toBe(backend);
  const xs = makeInputs(c);
  const f = gc.compile(c.fn, { inputs: c.inputs.map((s) => gc.spec(s.shape, s.dtype ?? 'float32')), backend });
  try {
    let want: tf.Tensor[];
    try {
      want = list(tf.tidy(() => c.fn(...xs)));
    } catch (e) {
      throw new Error(`eager ${c.name} failed on ${backend} (a tfjs limitation, not graphc's): ${(e as Error).message}`);
    }
    const got = list(await f(...xs));
    expect((await f.session()).backend.tfjsName).toBe(backend);
    try {
      await expectClose(got, want);
    } finally {
      tf.dispose([...want, ...got]);
    }
  } finally {
    f.dispose();
    tf.dispose(xs);
  }
}

const casesFor = (b: Backend) => CASES.filter((c) => c.skip?.[b] === undefined);

async function webgpuUnavailable(): Promise<string | undefined> {
  try {
    await gc.ensureBackend('webgpu');
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
const noWebgpu = await webgpuUnavailable();
if (noWebgpu !== undefined) console.warn(`ops_table: skipping the webgpu table: ${noWebgpu}`);

for (const backend of ['cpu', 'wasm', 'webgpu'] as const) {
  const cases = casesFor(backend);
  describe(`compiled ≡ eager on ${backend}: ${cases.length} cases`, () => {
    if (backend === 'webgpu' && noWebgpu !== undefined) {
      it.skip(`webgpu cannot initialise: ${noWebgpu}`, () => {});
      return;
    }
    let previous: string | undefined;
    let cpuForward: boolean | undefined;
    beforeAll(async () => {
      await gc.ensureBackend(backend);
      previous = (tf.engine() as unknown as { backendName: string | null }).backendName ?? undefined;
      await tf.setBackend(backend);
      if (backend === 'webgpu') {
        // tfjs-backend-webgpu hands small CPU-resident inputs to its cpu kernels; these shapes
        // are all small, so without this the WebGPU shaders would hardly run.
        cpuForward = tf.env().getBool('WEBGPU_CPU_FORWARD');
        tf.env().set('WEBGPU_CPU_FORWARD', false);
        const info = (tf.backend() as unknown as { adapterInfo?: { architecture?: string; description?: string } }).adapterInfo;
        console.log(`ops_table: webgpu adapter ${info?.description ?? ''} (${info?.architecture ?? '?'})`);
      }
      console.log(`ops_table: ${cases.length} cases on ${backend} (${CASES.length - cases.length} excluded)`);
    });
    afterAll(async () => {
      if (cpuForward !== undefined) tf.env().set('WEBGPU_CPU_FORWARD', cpuForward);
      if (previous !== undefined) await tf.setBackend(previous);
    });
    for (const c of CASES) {
      const why = c.skip?.[backend];
      if (why !== undefined) it.skip(`${c.name} — excluded on ${backend}: ${why}`, () => {});
      else it(c.name, () => runCase(c, backend));
    }
  });
}

// wasm has no UnsortedSegmentSum kernel, so eager cannot be the reference there: the compiled
// graph (which lowers ScatterNd and gather's gradient to unsorted_segment_sum) on wasm is
// checked against eager cpu, out-of-range segment ids included (dropped).
describe('unsorted_segment_sum without a tfjs kernel (wasm)', () => {
  it('equals cpu eager, duplicate and out-of-range ids included', async () => {
    await gc.ensureBackend('wasm');
    const prev = tf.getBackend();
    await tf.setBackend('cpu');
    try {
      const x = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]);
      const ids = tf.tensor1d([2, 0, 2, -1, 3], 'int32');
      const fn = (a: tf.Tensor, i: tf.Tensor) => [tf.unsortedSegmentSum(a, T1(i), 3), tf.grad((b) => sq(tf.gather(b, tf.abs(i))))(a)];
      const want = list(fn(x, ids));
      const f = gc.compile(fn, { inputs: [gc.spec([5, 2]), gc.spec([5], 'int32')], backend: 'wasm' });
      const got = list(await f(x, ids));
      expect((await f.session()).backend.tfjsName).toBe('wasm');
      await expectClose(got, want);
      expect(Array.from(await want[0]!.data())).toEqual([3, 4, 0, 0, 6, 8]);
      f.dispose();
    } finally {
      await tf.setBackend(prev);
    }
  });
});
