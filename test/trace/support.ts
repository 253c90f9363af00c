/** What the generated-case tests of traced kernels share: a tfjs-cpu global backend with wasm ready, and a small data generator. */
import { beforeAll } from 'vitest';
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
