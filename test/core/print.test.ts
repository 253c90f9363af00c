/**
 * x.print() inside a compiled function prints at run time, on every call, what eager x.print()
 * prints (tf.print in a TF graph); it used to fail the trace with GC0101.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';

const fn = (x: tf.Tensor) => {
  const y = tf.mul(x, 2);
  y.print();
  const z = tf.sum(y);
  z.print(true);
  return tf.add(y, 1);
};

function captured(f: () => unknown): Promise<string[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.map(String).join(' ')); });
  return Promise.resolve(f()).then((r) => { if (r instanceof tf.Tensor) r.dispose(); spy.mockRestore(); return lines; });
}

describe('x.print() in a compiled function', () => {
  beforeAll(async () => { await tf.setBackend('cpu'); });
  afterEach(() => { vi.restoreAllMocks(); });

  it('prints nothing while tracing and, on every call, what eager prints', async () => {
    const x = tf.tensor([[1, 2], [3, -4]]);
    const eager = await captured(() => fn(x));
    expect(eager.join('\n')).toMatch(/\[\[2, +4 *\],\s*\[6, *-8\]\]/);
    expect(eager.join('\n')).toMatch(/dtype: *float32[\s\S]*4/);
    for (const backend of ['cpu', 'wasm'] as const) {
      for (const optimize of [true, false]) {
        let f!: gc.CompiledFunction;
        expect(await captured(() => { f = gc.compile(fn, { inputs: [gc.spec(['b', 2])], backend, optimize }); })).toEqual([]);
        expect(f.graph.nodes.filter((n) => n.op === 'print')).toHaveLength(2);
        for (let call = 0; call < 2; call++) {
          expect(await captured(() => f(x)), `${backend} optimize=${optimize} call ${call}`).toEqual(eager);
        }
        // A different batch prints the new values.
        const x3 = tf.tensor([[1, 1], [0, 0], [5, 5]]);
        expect((await captured(() => f(x3)))[0]).toMatch(/\[\[2 *, +2 *\],\s*\[0 *, +0 *\],\s*\[10, 10\]\]/);
        f.dispose();
      }
    }
  });

  it('prints survive optimization passes, never merge, and leave the ONNX export alone', async () => {
    const twice = (x: tf.Tensor) => { x.print(); x.print(); return tf.neg(x); };
    const f = gc.compile(twice, { inputs: [gc.spec([2])], backend: 'cpu' });
    expect(f.graph.nodes.filter((n) => n.op === 'print')).toHaveLength(2);
    expect(f.graph.toString()).toMatch(/print %x \{verbose = false\}/);
    const lines = await captured(() => f(tf.tensor([7, 8])));
    expect(lines).toHaveLength(2);
    const bytes = f.toOnnx();
    expect(bytes.length).toBeGreaterThan(0);
    const back = gc.fromOnnx(bytes);
    expect(back.nodes.map((n) => n.op)).toEqual(['neg']);
    f.dispose();
  });
});
