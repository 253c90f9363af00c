/**
 * tanh keeps its relative accuracy wherever graphc computes it: compiled for each engine (the
 * graph the optimizer makes for it), in the generated fused kernels (JavaScript and WGSL), near
 * zero included. The wasm lowering tanh(x) = 2·sigmoid(2x) − 1 gave tanh(1e-8) = 0 and
 * tanh(−1e-7) 40% off; tanh is now left to each engine's Tanh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as gc from 'graphc';
import { ensureBackend } from '../../runtime/backends/select.js';
import { runJsCpu, runWebGPU } from '../../runtime/fused/fused_elementwise.js';

/** Within a few float32 ulps of tanh: wasm's own Tanh is within 1.6e-7 on this grid. */
const BOUND = 4e-7;

/** A dense grid of [−20, 20]: every decade from the subnormals up, linear steps, ±0. */
function grid(): Float32Array {
  const xs: number[] = [0, -0, 1e-45, -1e-45, 1.4e-45, 1e-40, -1e-38, 1.17549435e-38];
  for (let e = -45; e <= 1.3; e += 0.01) { const v = Math.fround(10 ** e); if (v <= 20) xs.push(v, -v); }
  for (let i = -20000; i <= 20000; i++) xs.push(i / 1000);
  xs.push(1e-8, -1e-7, 0.5499999, 0.55, 0.5500001, -0.55);
  return Float32Array.from(xs);
}

/** Largest relative error against float64 tanh (of the float32 input); NaN, ±Inf and signed zeros exact. */
function worst(xs: Float32Array, ys: ArrayLike<number>): { rel: number; at: number; bad: string[] } {
  let rel = 0, at = 0;
  const bad: string[] = [];
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!, y = ys[i]!, t = Math.fround(Math.tanh(x));
    if (Number.isNaN(x) || !Number.isFinite(x) || x === 0) {
      if (!Object.is(y, Number.isNaN(x) ? NaN : t)) bad.push(`tanh(${Object.is(x, -0) ? '-0' : x}) = ${Object.is(y, -0) ? '-0' : y}`);
      continue;
    }
    const r = Math.abs(y - Math.tanh(x)) / Math.abs(Math.tanh(x));
    if (r > rel) { rel = r; at = x; }
  }
  return { rel, at, bad };
}

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0];

describe('tanh, compiled, is accurate near zero on every engine', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });

  for (const backend of ['cpu', 'wasm', 'auto'] as const) {
    it(`${backend}: max relative error over [−20, 20] with tiny values and subnormals ≤ ${BOUND}; NaN, ±Inf, ±0 exact`, async () => {
      const xs = Float32Array.from([...grid(), ...SPECIAL]);
      const f = gc.compile((x: tf.Tensor) => tf.tanh(x), { backend });
      const y = (await f(tf.tensor1d(xs))) as tf.Tensor;
      const w = worst(xs, y.dataSync());
      expect(w.bad).toEqual([]);
      expect(w.rel, `worst at x = ${w.at}`).toBeLessThanOrEqual(BOUND);
      // The optimizer leaves tanh to the engine (no sigmoid rewrite).
      expect(f.graph.nodes.map((n) => n.op)).toContain('tanh');
    });
  }

  it('wasm: tanh(a·x + b) inside a larger program (the bench chain tanh(0.5x + 1)·sigmoid(x)) keeps tanh', async () => {
    await fc.assert(fc.asyncProperty(fc.float32Array({ minLength: 1, maxLength: 64, noNaN: true }), async (v) => {
      const f = gc.compile((x: tf.Tensor) => tf.tanh(tf.add(tf.mul(x, 0.5), -1e-30)), { backend: 'wasm' });
      const xs = Float32Array.from(v, (z) => Math.fround(z * 1e-9));
      const y = (await f(tf.tensor1d(xs))) as tf.Tensor;
      const arg = Float32Array.from(xs, (z) => Math.fround(Math.fround(z * 0.5) + -1e-30));
      const w = worst(arg, y.dataSync());
      expect(w.rel).toBeLessThanOrEqual(BOUND);
      f.dispose();
    }), { seed: 3, numRuns: 20 });
  });
});

describe('the fused kernels compute tanh accurately near zero', () => {
  it('generated JavaScript (cpu)', async () => {
    await tf.setBackend('cpu');
    const xs = Float32Array.from([...grid(), ...SPECIAL]);
    const y = runJsCpu('tanh($0)', [tf.tensor1d(xs)], [xs.length]);
    const w = worst(xs, y.dataSync());
    expect(w.bad).toEqual([]);
    expect(w.rel).toBeLessThanOrEqual(BOUND);
  });

  describe('generated WGSL (webgpu on a software adapter)', () => {
    let webgpu: string | undefined;
    let prev: string;
    beforeAll(async () => {
      webgpu = await ensureBackend('webgpu').then(() => undefined, (e: Error) => e.message);
      if (webgpu !== undefined) return;
      prev = tf.getBackend();
      await tf.setBackend('webgpu');
      tf.env().set('WEBGPU_CPU_FORWARD', false);
    });
    afterAll(async () => { if (webgpu === undefined) await tf.setBackend(prev); });

    it('tiny values keep their relative accuracy (the e = exp(−2|x|) form gave 0)', async (ctx) => {
      if (webgpu !== undefined) ctx.skip();
      // GPUs may flush subnormals to zero: normal floats only.
      const xs = Float32Array.from([...grid()].filter((x) => x === 0 || Math.abs(x) >= 1.2e-38));
      const y = runWebGPU('tanh($0)', 1, [tf.tensor1d(xs)], [xs.length]);
      const got = await y.data();
      let rel = 0;
      for (let i = 0; i < xs.length; i++) {
        const x = xs[i]!;
        if (x === 0) continue;
        rel = Math.max(rel, Math.abs(got[i]! - Math.tanh(x)) / Math.abs(Math.tanh(x)));
      }
      // The exponential branch (|x| ≥ 0.55) is as accurate as the GPU's exp: a few ulps.
      expect(rel).toBeLessThanOrEqual(2e-6);
      expect(got[xs.indexOf(Math.fround(1e-8))]! / Math.fround(1e-8)).toBeCloseTo(1, 6);
    });
  });
});
