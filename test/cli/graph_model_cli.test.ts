// `graphc export|inspect|run model.json` of a tfjs GraphModel (issue 13), through the CLI as a
// user runs it (tsx src/cli/main.ts in a child process), on GraphModels the tests write.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import '../../src/tfjs_setup.js';
import { cnn, seeded, twoInTwoOut } from './graph_model_fixtures.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsxCli = path.join(root, 'node_modules/.bin/tsx');
const mainTs = path.join(root, 'src/cli/main.ts');
const dir = mkdtempSync(path.join(os.tmpdir(), 'graphc-graph-model-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function graphc(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('GRAPHC_')) delete env[k];
  const r = spawnSync(tsxCli, [mainTs, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('graphc on a tfjs GraphModel', () => {
  it('export --check writes an ONNX file that ONNX Runtime runs as tfjs-converter does', async () => {
    const b = cnn();
    b.write(path.join(dir, 'cnn'));
    const r = graphc('export', 'cnn/model.json', '-o', 'cnn.onnx', '--check');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote cnn\.onnx: image: f32\[batch,8,8,2\] → Identity: f32\[batch,5\] \(opset 17, \d+ bytes\)$/m);
    expect(r.stdout).toMatch(/^check passed: max \|Δ\| /m);
    // The file against tfjs-converter's own execute at batch 4.
    const { json, files } = b.artifacts();
    const weights = (json.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[])[0]!.weights;
    const ref = await tfconv.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs: weights, weightData: new Uint8Array(Buffer.concat(Object.values(files))).buffer, format: 'graph-model' } as tf.io.ModelArtifacts));
    const r0 = seeded(5);
    const x = Float32Array.from({ length: 4 * 8 * 8 * 2 }, () => r0(2));
    const want = (ref.execute(tf.tensor(x, [4, 8, 8, 2])) as tf.Tensor).dataSync();
    const session = await ort.InferenceSession.create(readFileSync(path.join(dir, 'cnn.onnx')));
    const got = (await session.run({ image: new ort.Tensor('float32', x, [4, 8, 8, 2]) })).Identity!.data as Float32Array;
    expect(got.length).toBe(20);
    let worst = 0;
    for (let i = 0; i < 20; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    expect(worst).toBeLessThan(1e-5);
  });

  it('inspect and run take the model.json: the signature\'s inputs and outputs, in its order', () => {
    const { builder, signature } = twoInTwoOut();
    builder.write(path.join(dir, 'two'), { signature });
    const i = graphc('inspect', 'two/model.json', '--json');
    expect(i.code, i.stderr).toBe(0);
    const doc = JSON.parse(i.stdout) as { inputs: { name: string; dtype: string; shape: unknown[] }[]; outputs: { name: string }[] };
    expect(doc.inputs).toEqual([{ name: 'ids', dtype: 'int32', shape: ['batch', 3] }, { name: 'features', dtype: 'float32', shape: ['batch', 6] }]);
    expect(doc.outputs.map((o) => o.name)).toEqual(['energy', 'scores']);
    const r = graphc('run', 'two/model.json', '--input', 'ids=2,3', '--input', 'features=2,6', '--backend', 'cpu', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { outputs: { name: string; shape: number[] }[] };
    expect(out.outputs.map((o) => [o.name, o.shape])).toEqual([['energy', [2, 1]], ['scores', [2, 3]]]);
  });

  it('a hostile GraphModel is a one-line GcError and exit 1: a weight path out of the folder, a control-flow op', () => {
    const b = cnn();
    const file = b.write(path.join(dir, 'evil'));
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.weightsManifest[0].paths = ['../secret.bin'];
    writeFileSync(file, JSON.stringify(json));
    const r = graphc('export', 'evil/model.json', '-o', 'evil.onnx');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^graphc export: error\[GC0601\]: evil\/model\.json: weight path "\.\.\/secret\.bin" goes up a folder/m);
    const c = cnn();
    (c.nodes.find((n) => n.name === 'conv/Relu')!).op = 'Switch';
    c.write(path.join(dir, 'switch'));
    const s = graphc('export', 'switch/model.json');
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/^graphc export: error\[GC0613\]: switch\/model\.json: node 'conv\/Relu' is a Switch: TF1 control flow/m);
  });
});
