/**
 * The onnxruntime engine (runtime/executors/onnxruntime.ts) runs control flow natively: it
 * exports a plan with the ONNX exporter, so a graph with cond / while_loop / scan runs in ONNX
 * Runtime as If / Loop / Scan, with the numbers of the cpu backend at two sizes.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import { Graph } from '../../../../ir/graph.js';
import type { Value } from '../../../../ir/graph.js';
import { addCond, addScan, addWhileLoop } from '../../../../ir/regions.js';
import { sym } from '../../../../ir/dim.js';
import { tensorData } from '../../../../ir/tensor_data.js';

const scalar = (g: Graph, v: number, dtype: 'float32' | 'int32' = 'float32'): Value => g.add('const', [], { value: tensorData(dtype, [], [v]) });

/**
 * y = a cond on the sign of sum(x) (exp or negated square), then Newton's square root of
 * (1 + y²) to convergence, then running sums of xs over time (and their reverse).
 */
function program(): Graph {
  const g = new Graph('cf');
  const x = g.addInput('x', { dtype: 'float32', shape: [sym('batch'), 3] });
  const xs = g.addInput('xs', { dtype: 'float32', shape: [sym('time'), sym('batch'), 3] });
  const s = g.add('reduce_sum', [x], { axes: [0, 1], keep_dims: false });
  const p = g.add('greater', [s, scalar(g, 0)]);
  const [y] = addCond(g, p, [x],
    (r, [a]) => [r.add('exp', [r.add('mul', [a!, scalar(r, 0.25)])])],
    (r, [a]) => [r.add('neg', [r.add('mul', [a!, a!])])]);
  const c = g.add('add', [g.add('mul', [y!, y!]), scalar(g, 1)]);
  const [root, steps] = addWhileLoop(g, [c, scalar(g, 0, 'int32')], [c],
    (r, [v, , k]) => {
      const err = r.add('abs', [r.add('sub', [r.add('mul', [v!, v!]), k!])]);
      return r.add('reduce_any', [r.add('greater', [err, scalar(r, 1e-4)])], { axes: [0, 1], keep_dims: false });
    },
    (r, [v, i, k]) => [r.add('mul', [r.add('add', [v!, r.add('div', [k!, v!])]), scalar(r, 0.5)]), r.add('add', [i!, scalar(r, 1, 'int32')])],
    { maximumIterations: 50 });
  const zero = g.add('zeros_like', [x]);
  const scanBody = (r: Graph, [acc, xt, w]: Value[]) => {
    const n = r.add('add', [acc!, r.add('mul', [xt!, w!])]);
    return [n, n];
  };
  const [last, all] = addScan(g, [zero], [xs], [root!], scanBody);
  const [, back] = addScan(g, [zero], [xs], [root!], scanBody, { reverse: true });
  g.setOutput('y', y!);
  g.setOutput('root', root!);
  g.setOutput('steps', steps!);
  g.setOutput('last', last!);
  g.setOutput('all', all!);
  g.setOutput('back', back!);
  return g;
}

describe('control flow on the onnxruntime engine', () => {
  it('a graph with cond, while_loop and scans gives the cpu backend\'s numbers at two sizes', async () => {
    const g = program();
    const ort = await gc.Session.create(g, { backend: 'onnxruntime' });
    const cpu = await gc.Session.create(g, { backend: 'cpu' });
    const names = ['y', 'root', 'steps', 'last', 'all', 'back'];
    for (const [batch, time, sign] of [[1, 2, 1], [4, 7, -1]] as const) {
      const x = tf.mul(tf.randomUniform([batch, 3], 0.1, 1, 'float32', batch), sign);
      const xs = tf.randomUniform([time, batch, 3], -1, 1, 'float32', time);
      const a = (await ort.run(names, { x, xs })) as tf.Tensor[];
      const b = (await cpu.run(names, { x, xs })) as tf.Tensor[];
      names.forEach((name, i) => {
        expect(a[i]!.shape, name).toEqual(b[i]!.shape);
        const av = Array.from(a[i]!.dataSync()), bv = Array.from(b[i]!.dataSync());
        av.forEach((v, k) => expect(Math.abs(v - bv[k]!), `${name}[${k}] at batch ${batch}: ${v} vs ${bv[k]}`).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(bv[k]!)));
      });
      // The branch taken both ways: exp(x/4) > 0 for a positive sum, -x² ≤ 0 for a negative one.
      expect(Math.sign(a[0]!.dataSync()[0]!)).toBe(sign);
      expect(a[2]!.dataSync()[0]).toBeGreaterThan(0);
      tf.dispose([x, xs, ...a, ...b]);
    }
    expect(ort.backend.name).toBe('onnxruntime');
    ort.dispose();
    cpu.dispose();
  }, 60_000);
});
