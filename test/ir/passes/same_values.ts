/**
 * Numeric check for pass tests: the graph before and after a pass compute the same outputs
 * through a Session on each backend, on seeded random feeds (symbolic dims bound by `dims`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { Dim } from '../../../ir/dim.js';
import type { Graph } from '../../../ir/graph.js';
import { Session } from '../../../runtime/session.js';

export interface SameValuesOptions {
  backends?: readonly ('cpu' | 'wasm' | 'webgpu')[];
  /** Values of symbolic dims (default batch = 3). */
  dims?: Record<string, number>;
  /** Allowed |got − want| ≤ atol + rtol·|want| (default 1e-5 each; 0 means bit-exact). */
  atol?: number;
  rtol?: number;
  /** Input values drawn from [lo, hi) (default [-2, 2)). */
  range?: [number, number];
  seed?: number;
}

const concrete = (d: Dim, dims: Record<string, number>): number => (typeof d === 'number' ? d : d.k * dims[d.sym]! + d.c);

/** The largest deviation found, per backend (for reporting); fails the test past the tolerance. */
export async function expectSameValues(before: Graph, after: Graph, o: SameValuesOptions = {}): Promise<Record<string, number>> {
  const dims = o.dims ?? { batch: 3 };
  const atol = o.atol ?? 1e-5, rtol = o.rtol ?? 1e-5;
  const [lo, hi] = o.range ?? [-2, 2];
  const worst: Record<string, number> = {};
  for (const backend of o.backends ?? ['cpu', 'wasm']) {
    const s1 = await Session.create(before, { backend });
    const s2 = await Session.create(after, { backend });
    const prev = tf.getBackend();
    await tf.setBackend(backend);
    try {
      let seed = o.seed ?? 17;
      const feeds: Record<string, tf.Tensor> = {};
      for (const v of before.inputs) {
        const shape = v.shape.map((d) => concrete(d, dims));
        feeds[v.name!] = v.dtype === 'float32' ? tf.randomUniform(shape, lo, hi, 'float32', seed++) : tf.randomUniform(shape, lo, hi, 'int32', seed++);
      }
      const names = before.outputs.map((x) => x.name);
      const want = await s1.run(names, feeds) as tf.Tensor[];
      const got = await s2.run(names, feeds) as tf.Tensor[];
      let w = 0;
      for (let k = 0; k < names.length; k++) {
        expect(got[k]!.shape, `${backend}: output ${names[k]} shape`).toEqual(want[k]!.shape);
        const g = await got[k]!.data(), e = await want[k]!.data();
        const bad: string[] = [];
        for (let i = 0; i < e.length; i++) {
          const a = Number(g[i]), b = Number(e[i]);
          if (Number.isNaN(b) ? Number.isNaN(a) : a === b) continue;
          const d = Math.abs(a - b);
          w = Math.max(w, d);
          if (!(d <= atol + rtol * Math.abs(b))) bad.push(`[${i}] ${a} vs ${b}`);
        }
        expect(bad.slice(0, 5).join('; '), `${backend}: output ${names[k]}: ${bad.length} of ${e.length} differ`).toBe('');
      }
      worst[backend] = w;
      tf.dispose([...want, ...got, ...Object.values(feeds)]);
    } finally {
      s1.dispose();
      s2.dispose();
      if (prev) await tf.setBackend(prev);
    }
  }
  return worst;
}
