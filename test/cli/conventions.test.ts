// CLI conventions, run as a user runs graphc from the sources (`npx tsx src/cli/main.ts ...`):
// usage errors exit 2 before anything loads, other failures 1; results on stdout, status on
// stderr (none under --quiet); --json for inspect and run; --input shape overrides; export's
// --output-names and --check (onnxruntime-node against graphc).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mlp as graphModelMlp } from './graph_model_fixtures.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = path.join(root, 'node_modules/.bin/tsx');
// Inside the repo so that modules written here resolve @tensorflow/*; *.tmp.* is git-ignored.
const dir = mkdtempSync(path.join(root, 'test/cli/conv.tmp.'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function graphc(...args: string[]) {
  const r = spawnSync(tsx, [path.join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A module that records being loaded: a usage error must come before it is. */
const marker = path.join(dir, 'loaded.marker');
const mod = path.join(dir, 'two.ts');
writeFileSync(mod, `import * as tf from '@tensorflow/tfjs-core';
import type * as gc from 'graphc';
import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(marker)}, 'loaded');
const w = tf.tensor2d(Array.from({ length: 12 }, (_, i) => Math.sin(i)), [4, 3]);
export function heads(x: gc.Input<'float32', ['batch', 4]>) {
  const h = tf.matMul(x, w);
  return [h, tf.softmax(h)];
}
`);

const mlp = path.join(dir, 'mlp.onnx');

describe('usage errors exit 2, before anything is loaded', () => {
  it.each([
    [['export', mod, '--opset', '19'], /^graphc: error: option '--opset <n>' argument '19' is invalid: graphc exports opsets 13 to 18 \(default 17\)/],
    [['export', mod, '--atol', '1e-3'], /^graphc: error: option '--atol <x>' needs --check/],
    [['export', mod, '--atol', 'x', '--check'], /^graphc: error: option '--atol <x>' argument 'x' is invalid\. expected a non-negative number/],
    [['export', mod, '--output-names', 'a,a'], /^graphc: error: option '--output-names <names>' argument 'a,a' is invalid: 'a' is given twice/],
    [['export', mod, '--backend', 'cpu'], /^graphc: error: option '--backend <name>' needs --check/],
    [['export', mod, '--frobnicate'], /^graphc: error: unknown option '--frobnicate'/],
    [['inspect', mod, '--input', 'x=1,a'], /^graphc: error: option '--input <name=d0,d1,...>' argument 'x=1,a' is invalid/],
    [['inspect', mod, '--dot', '--json'], /^graphc: error: options --dot and --json cannot be used together/],
    [['run', mod, '--input', 'x'], /^graphc: error: option '--input <name=file\.npy\|random\|d0,d1,...>' argument 'x' is invalid/],
    [['optimize', 'in.onnx', '-o', 'out.onnx', '--opset', '12'], /^graphc: error: option '--opset <n>' argument '12' is invalid/],
    [['export'], /^graphc: error: missing required argument/],
  ])('%j', (args, message) => {
    const r = graphc(...(args as string[]));
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(existsSync(marker)).toBe(false);
  });

  it('a failure that is not about usage stays exit 1', () => {
    const r = graphc('export', path.join(dir, 'missing.ts'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^graphc export: .*missing\.ts: no such file\n$/);
  });
});

describe('export: --output-names, --check, status on stderr, --quiet', () => {
  let exported: ReturnType<typeof graphc>;
  beforeAll(() => {
    exported = graphc('export', 'examples/fashion_mlp.ts', '--fn', 'predict', '-o', mlp, '--check');
  }, 180_000);

  it('--check runs the file in onnxruntime-node against graphc at batch 1 and 3 and passes', () => {
    expect(exported.code).toBe(0);
    const rows = [...exported.stdout.matchAll(/^ {2}batch=(\d)  output_0: float32\[(\d),10\]  max \|Δ\| (\S+)$/gm)];
    expect(rows.map((m) => [m[1], m[2]])).toEqual([['1', '1'], ['3', '3']]);
    for (const m of rows) expect(Number(m[3])).toBeLessThan(1e-4);
    expect(exported.stdout).toMatch(/^check passed: max \|Δ\| \S+ ≤ atol 0\.0001$/m);
  });

  it('status goes to stderr as plain lines (stderr is not a terminal), results to stdout', () => {
    const status = exported.stderr.split('\n').filter((l) => l !== '');
    expect(status.map((l) => /^\[graphc\] (\w+)/.exec(l)?.[1])).toEqual(['loading', 'tracing', 'optimizing', 'exporting', 'writing', 'checking']);
    for (const l of status) expect(l).toMatch(/ … \d+\.\d+ s$/);
    expect(exported.stdout).not.toContain('[graphc]');
    expect(exported.stdout).toMatch(/^wrote .*mlp\.onnx: images: f32\[batch,28,28\] → output_0: f32\[batch,10\]/m);
  });

  it('--output-names renames the outputs; --quiet prints nothing on stderr; a wrong count is a usage error', async () => {
    const out = path.join(dir, 'heads.onnx');
    const r = graphc('--quiet', 'export', mod, '--output-names', 'logits,probs', '-o', out, '--check');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/x: f32\[batch,4\] → logits: f32\[batch,3\], probs: f32\[batch,3\]/);
    expect(r.stdout).toMatch(/^ {2}batch=3  probs: float32\[3,3\]  max \|Δ\| /m);
    const s = await ort.InferenceSession.create(out);
    expect(s.outputNames).toEqual(['logits', 'probs']);
    const x = new ort.Tensor('float32', Float32Array.from({ length: 8 }, (_, i) => i / 8), [2, 4]);
    const res = await s.run({ x });
    const probs = res.probs!.data as Float32Array;
    expect(probs[0]! + probs[1]! + probs[2]!).toBeCloseTo(1, 5);
    const bad = graphc('export', mod, '--output-names', 'only', '-o', path.join(dir, 'bad.onnx'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/option '--output-names <names>': 1 name given, but 'heads' has 2 outputs \(output_0, output_1\)/);
  }, 120_000);

  it('--check fails (exit 1) when the difference is over --atol', () => {
    // A sum of 4096 exponentials: ONNX Runtime and tfjs add in different orders, so |Δ| > 0.
    const sum = path.join(dir, 'sum.ts');
    writeFileSync(sum, `import * as tf from '@tensorflow/tfjs-core';
import type * as gc from 'graphc';
export function total(x: gc.Input<'float32', ['batch', 4096]>) { return tf.sum(tf.exp(x), 1); }
`);
    const r = graphc('export', sum, '-o', path.join(dir, 'sum.onnx'), '--check', '--atol', '0');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^graphc export: --check failed: max \|Δ\| \S+ is over --atol 0 \(the file is written: .*sum\.onnx\)/m);
  }, 120_000);
});

describe('inspect and run: --json, --input shapes', () => {
  beforeAll(() => {
    if (!existsSync(mlp)) {
      const r = graphc('export', 'examples/fashion_mlp.ts', '--fn', 'predict', '-o', mlp);
      if (r.code !== 0) throw new Error(r.stderr);
    }
  }, 180_000);

  it('inspect --json --input fixes the dim_params of an .onnx file', () => {
    const r = graphc('inspect', mlp, '--json', '--input', 'images=2,28,28');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { format: string; opsets: Record<string, number>; inputs: unknown[]; outputs: unknown[]; ops: Record<string, number>; parameters: { count: number } };
    expect(j.format).toBe('onnx');
    expect(j.opsets['ai.onnx']).toBe(17);
    expect(j.inputs).toEqual([{ name: 'images', dtype: 'float32', shape: [2, 28, 28] }]);
    expect(j.outputs).toEqual([{ name: 'output_0', dtype: 'float32', shape: [2, 10] }]);
    expect(j.ops.Gemm).toBe(3);
    expect(j.parameters.count).toBeGreaterThanOrEqual(266600);
    const text = graphc('inspect', mlp);
    expect(text.stdout).toContain('  images: float[batch,28,28]');
    const wrong = graphc('inspect', mlp, '--input', 'images=2,28');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--input images=2,28: 'images' is float\[batch,28,28\]; the shape given must have its rank and its fixed dims/);
  });

  it('inspect --json --input traces a module at the shape given', () => {
    const r = graphc('inspect', mod, '--json', '--input', 'x=5,4');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { format: string; inputs: unknown[]; outputs: unknown[] };
    expect(j.format).toBe('graphc');
    expect(j.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: [5, 4] }]);
    expect(j.outputs).toEqual([{ name: 'output_0', dtype: 'float32', shape: [5, 3] }, { name: 'output_1', dtype: 'float32', shape: [5, 3] }]);
    const sym = JSON.parse(graphc('inspect', mod, '--json').stdout) as { inputs: unknown[] };
    expect(sym.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['batch', 4] }]);
  });

  it('run --json --input name=shape feeds random values of that shape; values are the ones ONNX Runtime gives for the saved input', async () => {
    const r = graphc('run', mlp, '--json', '--backend', 'cpu', '--input', 'images=4,28,28');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { backend: string; inputs: { name: string; shape: number[]; source: string }[]; outputs: { name: string; shape: number[]; values: number[]; mean: number }[] };
    expect(j.backend).toMatch(/^cpu/);
    expect(j.inputs).toEqual([{ name: 'images', dtype: 'float32', shape: [4, 28, 28], source: 'random' }]);
    expect(j.outputs[0]!.shape).toEqual([4, 10]);
    expect(j.outputs[0]!.values).toHaveLength(40);
    // Softmax rows: the mean of 4 rows of 10 probabilities is 0.1.
    expect(j.outputs[0]!.mean).toBeCloseTo(0.1, 5);
    const { writeNpy } = await import('../../src/cli/npy.js');
    const x = Float32Array.from({ length: 784 }, (_, i) => Math.cos(i));
    writeFileSync(path.join(dir, 'x.npy'), writeNpy({ dtype: 'float32', shape: [1, 28, 28], data: x }));
    const f = graphc('run', mlp, '--json', '--backend', 'cpu', '--input', `images=${path.join(dir, 'x.npy')}`);
    const got = (JSON.parse(f.stdout) as { outputs: { values: number[] }[] }).outputs[0]!.values;
    const s = await ort.InferenceSession.create(mlp);
    const want = (await s.run({ images: new ort.Tensor('float32', x, [1, 28, 28]) })).output_0!.data as Float32Array;
    for (let i = 0; i < 10; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5);
    const bad = graphc('run', mlp, '--input', 'images=4,28,27');
    expect(bad.code).toBe(2);
    const unknown = graphc('run', mlp, '--input', 'image=4,28,28');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^graphc: error: --input image=4,28,28: the model has no input 'image' \(inputs: images\)/m);
  }, 120_000);

  it('inspect --dot prints Graphviz DOT of the file: one node per ONNX node plus inputs and outputs', () => {
    const r = graphc('inspect', mlp, '--dot');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^digraph "predict" \{\n/);
    expect(r.stdout.trimEnd().endsWith('}')).toBe(true);
    // 7 nodes (Reshape, 3 Gemm, 2 Relu, Softmax) + 1 input + 1 output, a chain of 8 edges.
    expect(r.stdout.match(/^ +"n\d+" \[label=/gm)).toHaveLength(9);
    expect(r.stdout.match(/^ {2}"n\d+" -> "n\d+"/gm)).toHaveLength(8);
    expect(r.stdout).toMatch(/label="Gemm\\n/);
    // The frozen weights keep their layers' names, so each Dense layer's Gemm and activation form a cluster.
    expect(r.stdout.match(/label="dense_Dense\d \([23] nodes\)"/g)).toHaveLength(3);
  });

  it('view writes one self-contained page of the model (no external resources)', () => {
    const page = path.join(dir, 'mlp.html');
    const r = graphc('view', mlp, '-o', page);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*mlp\.html: 7 nodes, 6 initializers \(\d+ bytes; open it in a browser, it needs no network\)\n$/);
    const html = readFileSync(page, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<title>mlp.onnx</title>');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?(https?:)?\/\//);
    // Over a source file: refused without --force (exit 1), before anything is traced.
    const src = path.join(dir, 'keep.ts');
    writeFileSync(src, 'export {};\n');
    const refused = graphc('view', mlp, '-o', src);
    expect(refused.code).toBe(1);
    expect(readFileSync(src, 'utf8')).toBe('export {};\n');
    // A module: traced and exported as export does, then drawn (MatMul + Softmax, two outputs).
    const fromModule = graphc('--quiet', 'view', mod, '-o', path.join(dir, 'two.html'));
    expect(fromModule.stderr).toBe('');
    expect(fromModule.code).toBe(0);
    expect(fromModule.stdout).toMatch(/^wrote .*two\.html: 2 nodes, 1 initializers /);
    expect(readFileSync(path.join(dir, 'two.html'), 'utf8')).toContain('<title>two.ts</title>');
  });

  it('the README shows what these commands print', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    for (const flag of ['--check', '--atol', '--output-names', '--json', '--quiet', '--input images=2,28,28', '--external-data', 'graphc view', '--dot', '--fp16', 'optimize mlp15.onnx -o mlp15o.onnx']) expect(readme).toContain(flag);
  });
});

describe('export --fp16, optimize --opset', () => {
  it('--fp16 halves the file, keeps float32 inputs and outputs, and --check compares it with graphc in float32 at atol 1e-2', async () => {
    const out = path.join(dir, 'mlp16.onnx');
    const r = graphc('--quiet', 'export', 'examples/fashion_mlp.ts', '--fn', 'predict', '-o', out, '--fp16', '--check');
    expect(r.code).toBe(0);
    const m = /wrote .*: images: f32\[batch,28,28\] → output_0: f32\[batch,10\] \(opset 17, float16, (\d+) bytes\)/.exec(r.stdout);
    expect(m).not.toBeNull();
    // 266,602 float32 parameters (1.07 MB) as float16.
    expect(Number(m![1])).toBeLessThan(0.55 * 4 * 266602);
    const deltas = [...r.stdout.matchAll(/^ {2}batch=\d  output_0: float32\[\d,10\]  max \|Δ\| (\S+)$/gm)].map((x) => Number(x[1]));
    expect(deltas).toHaveLength(2);
    // float16 rounding shows (float32 exports agree to ~1e-7) but stays within the tolerance.
    expect(Math.max(...deltas)).toBeGreaterThan(1e-6);
    expect(r.stdout).toMatch(/^check passed: max \|Δ\| \S+ ≤ atol 0\.01$/m);
    const s = await ort.InferenceSession.create(out);
    const y = (await s.run({ images: new ort.Tensor('float32', new Float32Array(784).fill(0.5), [1, 28, 28]) })).output_0!;
    expect(y.type).toBe('float32');
    const tight = graphc('--quiet', 'export', 'examples/fashion_mlp.ts', '--fn', 'predict', '-o', out, '--fp16', '--check', '--atol', '1e-7');
    expect(tight.code).toBe(1);
    expect(tight.stderr).toMatch(/--check failed: max \|Δ\| \S+ is over --atol 1e-7/);
  }, 240_000);

  it('optimize keeps the model\'s opset unless --opset asks', () => {
    const at15 = path.join(dir, 'mlp15.onnx');
    expect(graphc('--quiet', 'export', 'examples/fashion_mlp.ts', '--fn', 'predict', '-o', at15, '--opset', '15').code).toBe(0);
    const kept = graphc('--quiet', 'optimize', at15, '-o', path.join(dir, 'o15.onnx'));
    expect(kept.code).toBe(0);
    expect(kept.stdout).toMatch(/^opset 15 \(the model's\)$/m);
    expect((JSON.parse(graphc('inspect', path.join(dir, 'o15.onnx'), '--json').stdout) as { opsets: Record<string, number> }).opsets).toEqual({ 'ai.onnx': 15 });
    const raised = graphc('--quiet', 'optimize', at15, '-o', path.join(dir, 'o18.onnx'), '--opset', '18');
    expect(raised.stdout).toMatch(/^opset 18 \(the model's was 15\)$/m);
    expect((JSON.parse(graphc('inspect', path.join(dir, 'o18.onnx'), '--json').stdout) as { opsets: Record<string, number> }).opsets).toEqual({ 'ai.onnx': 18 });
  }, 240_000);
});

describe('export of a tfjs GraphModel, with external data', () => {
  it('a GraphModel model.json (tensorflowjs_converter\'s format) exports, --check passes, and --external-data puts the weights beside it', async () => {
    const json = graphModelMlp(1).write(path.join(dir, 'gm'));
    const out = path.join(dir, 'gm.onnx');
    const r = graphc('export', json, '-o', out, '--check', '--external-data');
    expect(r.stderr).toMatch(/^\[graphc\] loading the GraphModel model\.json … /m);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*gm\.onnx: x: f32\[batch,16\] → \S+: f32\[batch,10\] \(opset 17, \d+ bytes; weights in .*gm\.onnx\.data\)/);
    expect(r.stdout).toMatch(/^ {2}batch=3  \S+: float32\[3,10\]  max \|Δ\| /m);
    expect(r.stdout).toMatch(/^check passed/m);
    expect(existsSync(`${out}.data`)).toBe(true);
    // The two large kernels (16·32 and 32·24 floats: initializers of 1 kB or more) are in the data file, not the model.
    expect(readFileSync(`${out}.data`).length).toBeGreaterThanOrEqual(4 * (16 * 32 + 32 * 24));
    expect(readFileSync(out).length).toBeLessThan(4 * (16 * 32 + 32 * 24));
    const s = await ort.InferenceSession.create(out);
    const res = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', new Float32Array(32).fill(0.5), [2, 16]) });
    const p = res[s.outputNames[0]!]!.data as Float32Array;
    expect(p.slice(0, 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // run and inspect read the data file too (run: the same numbers as ONNX Runtime).
    writeFileSync(path.join(dir, 'half.npy'), (await import('../../src/cli/npy.js')).writeNpy({ dtype: 'float32', shape: [2, 16], data: new Float32Array(32).fill(0.5) }));
    const run = graphc('run', out, '--json', '--backend', 'cpu', '--input', `${s.inputNames[0]}=${path.join(dir, 'half.npy')}`);
    expect(run.code).toBe(0);
    const got = (JSON.parse(run.stdout) as { outputs: { values: number[] }[] }).outputs[0]!.values;
    for (let i = 0; i < 20; i++) expect(Math.abs(got[i]! - p[i]!)).toBeLessThan(1e-6);
  }, 180_000);
});
