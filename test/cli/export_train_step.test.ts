/**
 * `graphc export --fn trainStep` of a training step, run as a user runs it (tsx): the step model
 * (batch + state in, loss + new state out) and its starting state (`<out>.init.onnx`) train in
 * plain onnxruntime-node by feeding each step's '.new' outputs back, with the losses of the same
 * step compiled by graphc.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import { onnx } from '../../exporters/onnx/proto.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsxCli = path.join(root, 'node_modules/.bin/tsx');
// Outside node_modules (tsx would load a module there as CommonJS: a second tfjs-core); *.tmp.* is git-ignored.
const dir = mkdtempSync(path.join(root, 'test/cli/train_export.tmp.'));

const SOURCE = `import * as tf from '@tensorflow/tfjs-core';
import type * as gc from 'graphc';
export const w = tf.variable(tf.tensor2d([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2], [0.25, -0.1]]), true, 'w');
const opt = tf.train.adam(0.1);
export function trainStep(x: gc.Input<'float32', ['batch', 4]>, y: gc.Input<'float32', ['batch', 2]>) {
  return opt.minimize(() => tf.losses.meanSquaredError(y, tf.matMul(x, w)) as tf.Scalar, true)!;
}
`;

describe('graphc export of a training step', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('writes the step and its starting state; ORT trains 10 steps with the compiled losses', async () => {
    const src = path.join(dir, 'train.ts');
    writeFileSync(src, SOURCE);
    const out = path.join(dir, 'step.onnx');
    const r = spawnSync(tsxCli, [path.join(root, 'src/cli/main.ts'), 'export', src, '--fn', 'trainStep', '-o', out], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr.replace(/Hi, looks like.*\n/g, '').replace(/^\[graphc\] .*\n/gm, '').trim()).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/wrote .*step\.onnx: x: f32\[batch,4\], y: f32\[batch,2\] → output_0: f32\[\]/);
    expect(r.stdout).toMatch(/state: 5 inputs \(5 with a new value/);
    // Adam's variables by the names tfjs gives them (tfjs's own names are bare numbers).
    expect(r.stdout).toMatch(/lists them\): w, Adam_0_accBeta1, Adam_0_accBeta2, w_m, w_v\n/);
    expect(r.stdout).toMatch(/wrote .*step\.init\.onnx: no inputs/);

    const model = onnx.ModelProto.decode(new Uint8Array(await import('node:fs').then((f) => f.readFileSync(out))));
    const state = JSON.parse(model.metadataProps!.find((p) => p.key === 'graphc.state')!.value!) as { variable: string; input: string; output?: string }[];
    const step = await ort.InferenceSession.create(out);
    const init = await ort.InferenceSession.create(path.join(dir, 'step.init.onnx'));
    const feeds: Record<string, ort.Tensor> = { ...(await init.run({})) as Record<string, ort.Tensor> };
    expect(Object.keys(feeds).sort()).toEqual(state.map((s) => s.input).sort());

    // The same step compiled by graphc, from the same starting weights.
    await tf.setBackend('cpu');
    const w = tf.variable(tf.tensor2d([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2], [0.25, -0.1]]));
    const opt = tf.train.adam(0.1);
    const f = gc.compile((x: tf.Tensor, y: tf.Tensor) => opt.minimize(() => tf.losses.meanSquaredError(y, tf.matMul(x, w)) as tf.Scalar, true)!,
      { inputs: [gc.spec(['batch', 4]), gc.spec(['batch', 2])] });
    const target = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const xs = tf.tensor2d([[1, 2, 0, -1], [0, 1, 1, 2], [2, -1, 1, 0]]);
    const ortLosses: number[] = [], gcLosses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const o = await step.run({ x: new ort.Tensor('float32', xs.dataSync() as Float32Array, [3, 4]), y: new ort.Tensor('float32', target.dataSync() as Float32Array, [3, 2]), ...feeds });
      ortLosses.push((o.output_0!.data as Float32Array)[0]!);
      for (const s of state) if (s.output !== undefined) feeds[s.input] = o[s.output]!;
      gcLosses.push((await ((await f(xs, target)) as tf.Tensor).data())[0]!);
    }
    expect(gcLosses[9]!).toBeLessThan(gcLosses[0]! * 0.5);
    ortLosses.forEach((l, i) => expect(Math.abs(l - gcLosses[i]!)).toBeLessThan(1e-4));
    f.dispose(); w.dispose(); opt.dispose();
  }, 180_000);
});
