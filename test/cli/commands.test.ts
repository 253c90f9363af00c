// End to end through the built CLI: export the seed's MLP from a TS module, inspect it, run it
// with graphc and ONNX Runtime, optimize it. `npm test` builds dist/ first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../src/cli/npy.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = path.join(root, 'dist/src/cli/main.js');
// Inside the repo so that modules written here resolve @tensorflow/* and graphc.
const dir = mkdtempSync(path.join(root, 'node_modules', '.graphc-cli-test-'));

function graphc(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!existsSync(cli))('graphc export / inspect / run / optimize', () => {
  const onnxFile = path.join(dir, 'mlp.onnx');

  it('exports the MLP from its gc.Input parameter types, with IR dumps', () => {
    const r = graphc('export', 'examples/fashion_mlp.ts', '--fn', 'predict', '-o', onnxFile, '--dump-ir', path.join(dir, 'ir'));
    expect(r.stderr.replace(/=+\n|Hi, looks like.*\n/g, '').replace(/^\[graphc\] .*\n/gm, '').trim()).toBe('');
    expect(r.stderr).toMatch(/^\[graphc\] tracing predict … /m);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*mlp\.onnx: images: f32\[batch,28,28\] → output_0: f32\[batch,10\] \(opset 17/);
    const traced = readFileSync(path.join(dir, 'ir/00-traced.ir'), 'utf8');
    expect(traced).toMatch(/^graph @predict\(%images: f32\[batch,28,28\]\)/);
    // The pass report, and a dump after each pass that changed the graph.
    expect(r.stdout).toMatch(/^passes: freeze-variables \d+→\d+, fold-constants .*simplify \d+→\d+/m);
    const dumps = readdirSync(path.join(dir, 'ir')).sort();
    expect(dumps.length).toBeGreaterThan(1);
    expect(dumps.slice(1).every((f) => /^\d\d-[a-z-]+\.ir$/.test(f))).toBe(true);
  });

  it('inspect lists inputs, outputs with dims, the op histogram and the parameter count', () => {
    const r = graphc('inspect', onnxFile);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  images: float[batch,28,28]');
    expect(r.stdout).toContain('  output_0: float[batch,10]');
    expect(r.stdout).toMatch(/Gemm\s+3/);
    // 784·300+300 + 300·100+100 + 100·10+10 weights plus a few reshape shapes; the export
    // freezes the variables, so the last layer's all-zero initial bias is simplified away (x+0).
    const m = /parameters: (\d+) in \d+ initializers, (\d+) bytes/.exec(r.stdout)!;
    expect(Number(m[1])).toBeGreaterThanOrEqual(266600);
    expect(Number(m[1])).toBeLessThan(266610 + 32);
  });

  it('run feeds a .npy file and agrees with ONNX Runtime on the exported file', async () => {
    const x = Float32Array.from({ length: 3 * 784 }, (_, i) => Math.sin(i) * 0.5 + 0.5);
    writeFileSync(path.join(dir, 'x.npy'), writeNpy({ dtype: 'float32', shape: [3, 28, 28], data: x }));
    const r = graphc('run', onnxFile, '--input', `images=${path.join(dir, 'x.npy')}`, '--backend', 'cpu', '--save', path.join(dir, 'out'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/output_0: float32\[3,10\]/);
    const ours = readNpy(readFileSync(path.join(dir, 'out/output_0.npy')));
    const s = await ort.InferenceSession.create(onnxFile);
    const theirs = (await s.run({ images: new ort.Tensor('float32', x, [3, 28, 28]) })).output_0!.data as Float32Array;
    expect(ours.shape).toEqual([3, 10]);
    for (let i = 0; i < theirs.length; i++) expect(Math.abs(ours.data[i]! - theirs[i]!)).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(theirs[i]!));
  });

  it('run on a module traces it and feeds random inputs', () => {
    const r = graphc('run', 'examples/fashion_mlp.ts', '--fn', 'predict', '--backend', 'cpu');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/images: random float32\[1,28,28\] \(symbolic dims set to 1\)/);
    expect(r.stdout).toMatch(/output_0: float32\[1,10\]/);
  });

  it('optimize imports, runs the passes and writes a model ONNX Runtime still runs', async () => {
    const out = path.join(dir, 'mlp.opt.onnx');
    const r = graphc('optimize', onnxFile, '-o', out, '--verify');
    expect(r.code).toBe(0);
    const s = await ort.InferenceSession.create(out);
    const x = new Float32Array(2 * 784).fill(0.25);
    const a = (await s.run({ images: new ort.Tensor('float32', x, [2, 28, 28]) })).output_0!.data as Float32Array;
    const b = (await (await ort.InferenceSession.create(onnxFile)).run({ images: new ort.Tensor('float32', x, [2, 28, 28]) })).output_0!.data as Float32Array;
    expect(Array.from(a).map((v) => v.toFixed(5))).toEqual(Array.from(b).map((v) => v.toFixed(5)));
  });

  it('export needs a signature: a clear error when a parameter is untyped, and --input supplies it', () => {
    const mod = path.join(dir, 'untyped.ts');
    writeFileSync(mod, `import * as tf from '@tensorflow/tfjs-core';\nexport function double(x) { return tf.mul(x, 2); }\n`);
    const bad = graphc('export', mod);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cannot tell the input signature of 'double': parameter 'x' has no type/);
    const ok = graphc('export', mod, '--input', 'x:float32[n,3]', '-o', path.join(dir, 'double.onnx'));
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/x: f32\[n,3\] → output_0: f32\[n,3\]/);
  });
});

describe.skipIf(!existsSync(cli))('graphc export <model.json>', () => {
  it('exports a saved tfjs LayersModel (model.json + weights.bin) that ONNX Runtime runs with the same numbers', async () => {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
    const tfl = await import('@tensorflow/tfjs-layers');
    await tf.setBackend('cpu');
    const model = tfl.sequential({ layers: [
      tfl.layers.dense({ inputShape: [6], units: 5, activation: 'tanh', name: 'hidden' }),
      tfl.layers.dense({ units: 3, activation: 'softmax' }),
    ] });
    const saved = path.join(dir, 'saved');
    await model.save(tf.io.withSaveHandler(async (a) => {
      const { mkdirSync } = await import('node:fs');
      mkdirSync(saved, { recursive: true });
      writeFileSync(path.join(saved, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      writeFileSync(path.join(saved, 'model.json'), JSON.stringify({
        modelTopology: a.modelTopology, format: 'layers-model', generatedBy: 'test',
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
      }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const out = path.join(dir, 'saved.onnx');
    const r = graphc('export', path.join(saved, 'model.json'), '-o', out);
    expect(r.code).toBe(0);
    // The input is named as Keras and tf2onnx name a Sequential's: after its first layer.
    expect(r.stdout).toMatch(/: hidden_input: f32\[batch,6\] → output_0: f32\[batch,3\]/);
    const x = tf.randomNormal([4, 6], 0, 1, 'float32', 5);
    const want = (model.predict(x) as import('@tensorflow/tfjs-core').Tensor).dataSync();
    const s = await ort.InferenceSession.create(out);
    const got = (await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, [4, 6]) }))[s.outputNames[0]!]!.data as Float32Array;
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(want[i]!));
    const missing = graphc('export', path.join(dir, 'nope', 'model.json'));
    expect(missing.code).toBe(1);
  });
});
