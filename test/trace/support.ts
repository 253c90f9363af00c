/** What the generated-case tests of traced kernels share: a tfjs-cpu global backend with wasm ready, and a small data generator. */
import { beforeAll, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ensureBackend } from '../../runtime/backends/select.js';

/** Before the file's tests: the wasm backend made (the engines compile on it), eager on tfjs-cpu. */
export function eagerOnCpuWithWasm(): void {
  beforeAll(async () => {
    await ensureBackend('wasm');
    await tf.setBackend('cpu');
  });
}

/** A small generator of test data in [0, 1) (not the one under test). */
export function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

/** |got − want| within tol·(1 + |want|) everywhere, same shape. */
export function close(got: tf.Tensor | ArrayLike<number>, want: tf.Tensor | ArrayLike<number>, tol: number, where: string): void {
  if (got instanceof tf.Tensor && want instanceof tf.Tensor) expect(got.shape, where).toEqual(want.shape);
  const g = got instanceof tf.Tensor ? got.dataSync() : got, w = want instanceof tf.Tensor ? want.dataSync() : want;
  expect(g.length, where).toBe(w.length);
  for (let i = 0; i < w.length; i++) expect(Math.abs(g[i]! - w[i]!), `${where} [${i}]: ${g[i]} vs ${w[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(w[i]!)));
}
