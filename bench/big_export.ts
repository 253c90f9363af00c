/**
 * Exporting a large model, stage by stage, against the time to write the file's bytes.
 *
 *   nice npx tsx bench/big_export.ts [--dims 7000,4096,4096,4096,256] [--case layers|tensors|both] [--no-cli]
 *
 * The default dims are a 63.3M-parameter MLP (253 MB of float32 weights). Case 'layers' is a
 * tfjs-layers Sequential of Dense layers; 'tensors' a function closing over tf.Tensors (each
 * weight a constant of the trace). In one process, for each case: trace (as `graphc export`
 * does, twice for the symbolic batch, weights borrowed), optimize, export (IR → ONNX graph, then encoding), the
 * CLI's atomic write (temp file, fsync, rename), and writeOnnxModel (one file, and external data) — each
 * next to fs.writeFileSync of the same bytes, timed in the same run (the reference), and
 * printed as a ratio to it. Then, unless --no-cli, the whole `graphc export module.ts` in a
 * child process (wall time, module load included), with the stages it printed.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { onnx } from '../exporters/onnx/proto.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const dims = (flag('--dims') ?? '7000,4096,4096,4096,256').split(',').map(Number);
const which = flag('--case') ?? 'both';
const params = dims.slice(1).reduce((s, n, i) => s + dims[i]! * n + n, 0);

function time<T>(f: () => T): [T, number] {
  const t = performance.now();
  const r = f();
  return [r, (performance.now() - t) / 1000];
}

/** Median of `xs`. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Flushes the page cache's dirty pages so that each timed write starts alike (writeback of the last one would slow the next). */
function settle(): void {
  spawnSync('sync');
}

function writeSynced(p: string, bytes: Uint8Array): void {
  const fd = openSync(p, 'w');
  for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 30));
  fsyncSync(fd);
  closeSync(fd);
}

function buildCase(kind: string): { fn: (x: tf.Tensor) => tf.Tensor; dispose: () => void } {
  if (kind === 'layers') {
    const m = tfl.sequential();
    dims.slice(1).forEach((n, i) => m.add(tfl.layers.dense({ units: n, activation: i < dims.length - 2 ? 'relu' : 'linear', kernelInitializer: 'randomUniform', ...(i === 0 ? { inputShape: [dims[0]!] } : {}) })));
    return { fn: (x) => m.predict(x) as tf.Tensor, dispose: () => m.dispose() };
  }
  const ws = dims.slice(1).map((n, i) => tf.randomUniform([dims[i]!, n], -0.02, 0.02, 'float32', i + 1));
  const bs = dims.slice(1).map((n, i) => tf.randomUniform([n], -0.01, 0.01, 'float32', 100 + i));
  return {
    fn: (x) => ws.reduce((h, w, i) => {
      const y = tf.add(tf.matMul(h, w), bs[i]!);
      return i < ws.length - 1 ? tf.relu(y) : y;
    }, x),
    dispose: () => [...ws, ...bs].forEach((t) => t.dispose()),
  };
}

async function inProcess(kind: string, dir: string): Promise<void> {
  const { traceFunction } = await import('../src/trace/trace_function.js');
  const { materializeCreated } = await import('../src/compile.js');
  const { optimizeInPlace } = await import('../src/optimize.js');
  const { exportOnnx } = await import('../exporters/onnx/export/export.js');
  const { writeFileAtomic } = await import('../src/cli/files.js');
  const { onnx: proto } = await import('../exporters/onnx/proto.js');
  let writeOnnxModel: ((m: onnx.IModelProto, p: string, o?: { externalData?: boolean | 'auto' }) => { bytes: number }) | undefined;
  try {
    ({ writeOnnxModel } = await import('../exporters/onnx/export/external_data.js'));
  } catch {
    // a checkout before writeOnnxModel
  }

  const [c, build] = time(() => buildCase(kind));
  // As `graphc export` traces: twice (symbolic batch), the weights borrowed from tfjs, not copied (older checkouts ignore the option).
  const [traced, trace] = time(() => traceFunction(c.fn as (...a: never[]) => unknown, [{ shape: ['batch', dims[0]!], dtype: 'float32', name: 'x' }], materializeCreated, 'mlp', undefined, undefined, { borrow: true }));
  const [, optimize] = time(() => optimizeInPlace(traced.graph, { freeze: true }));
  const [ex, exportGraph] = time(() => exportOnnx(traced.graph));
  const [bytes, encode] = time(() => ex.bytes);
  const model = (ex as { model?: onnx.IModelProto }).model ?? proto.ModelProto.decode(bytes);
  // The writes, interleaved over `rounds` rounds (the disk's speed drifts; every other round in
  // reverse order, as what runs after a delete or a write may wait on it), each after a sync, medians.
  const variants: [string, () => void][] = [
    ['writeFileSync', () => writeFileSync(join(dir, 'ref.bin'), bytes)],
    ['writeFileSync + fsync', () => writeSynced(join(dir, 'ref.bin'), bytes)],
    ['encode', () => proto.ModelProto.encode(model).finish()],
    ['writeFileAtomic', () => writeFileAtomic(join(dir, `${kind}.onnx`), bytes)],
    ...(writeOnnxModel ? [
      ['writeOnnxModel one file', () => writeOnnxModel!(model, join(dir, `${kind}_one.onnx`), { externalData: false })],
      ['writeOnnxModel external', () => writeOnnxModel!(model, join(dir, `${kind}_ext.onnx`), { externalData: true })],
    ] as [string, () => void][] : []),
  ];
  const times = new Map<string, number[]>(variants.map(([k]) => [k, []]));
  const rounds = Number(flag('--rounds') ?? 5);
  for (let r = 0; r < rounds; r++) {
    for (const [k, f] of r % 2 === 0 ? variants : [...variants].reverse()) {
      for (const file of readdirSync(dir)) if (/\.(onnx|data|bin)$/.test(file)) rmSync(join(dir, file));
      settle();
      times.get(k)!.push(time(f)[1]);
    }
  }
  const t = (k: string) => median(times.get(k) ?? [NaN]);
  const refPlain = t('writeFileSync'), refSynced = t('writeFileSync + fsync');
  c.dispose();

  const mb = bytes.length / 1e6;
  const row = (what: string, s: number, note = '') => console.log(`  ${what.padEnd(38)} ${s.toFixed(3).padStart(8)} s  ${(s / refPlain).toFixed(2).padStart(6)}×  ${(s / refSynced).toFixed(2).padStart(6)}×  ${note}`);
  console.log(`\ncase ${kind}: ${(params / 1e6).toFixed(1)}M parameters, ${mb.toFixed(1)} MB file. Ratios to the same bytes written by fs.writeFileSync (${refPlain.toFixed(3)} s, ${(mb / refPlain).toFixed(0)} MB/s) and by write + fsync (${refSynced.toFixed(3)} s), medians of ${rounds} interleaved rounds:`);
  console.log(`  ${'stage'.padEnd(38)} ${'time'.padStart(10)}  ${'/write'.padStart(6)}  ${'/+fsync'.padStart(7)}`);
  row('build the model (not export)', build);
  row('trace (twice: symbolic batch)', trace);
  row('optimize', optimize);
  row('export: IR → ONNX graph', exportGraph);
  row('export: encode ModelProto (first)', encode);
  row('encode ModelProto (median)', t('encode'));
  row('write: writeFileAtomic (temp, fsync)', t('writeFileAtomic'));
  row('export + encode + writeFileAtomic', exportGraph + t('encode') + t('writeFileAtomic'), '(the CLI before writeOnnxModel)');
  if (writeOnnxModel) {
    row('export + writeOnnxModel, one file', exportGraph + t('writeOnnxModel one file'), '← target ≤ 2× (never one buffer)');
    row('export + writeOnnxModel, external', exportGraph + t('writeOnnxModel external'), '(model.onnx + model.onnx.data)');
  }
  row('trace → file', trace + optimize + exportGraph + (writeOnnxModel ? t('writeOnnxModel one file') : t('encode') + t('writeFileAtomic')));
}

function cli(kind: string, dir: string): void {
  // The module the CLI exports: the same model, in a folder that resolves graphc's node_modules.
  const src = kind === 'layers'
    ? `import * as tfl from '@tensorflow/tfjs-layers';\nconst dims = ${JSON.stringify(dims)};\nconst m = tfl.sequential();\ndims.slice(1).forEach((n, i) => m.add(tfl.layers.dense({ units: n, activation: i < dims.length - 2 ? 'relu' : 'linear', kernelInitializer: 'randomUniform', ...(i === 0 ? { inputShape: [dims[0]!] } : {}) })));\nexport const mlp = m;\n`
    : `import * as tf from '@tensorflow/tfjs-core';\nimport '@tensorflow/tfjs-backend-cpu';\nconst dims = ${JSON.stringify(dims)};\nconst ws = dims.slice(1).map((n, i) => tf.randomUniform([dims[i]!, n], -0.02, 0.02, 'float32', i + 1));\nconst bs = dims.slice(1).map((n, i) => tf.randomUniform([n], -0.01, 0.01, 'float32', 100 + i));\nexport function mlp(x: tf.Tensor): tf.Tensor {\n  return ws.reduce((h, w, i) => { const y = tf.add(tf.matMul(h, w), bs[i]!); return i < ws.length - 1 ? tf.relu(y) : y; }, x);\n}\n`;
  const mod = join(dir, `${kind}_module.ts`);
  writeFileSync(mod, src);
  const out = join(dir, `${kind}_cli.onnx`);
  const t = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), 'export', mod, '-o', out, ...(kind === 'tensors' ? ['--input', `x:float32[batch,${dims[0]}]`] : [])],
    { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 24 });
  const wall = (performance.now() - t) / 1000;
  const lines = `${r.stderr}\n${r.stdout}`.split('\n').filter((l) => /took|wrote|error|^\[graphc\]/i.test(l)).map((l) => `    ${l.trim().slice(0, 160)}`);
  console.log(`  graphc export ${kind} module (child process, wall): ${wall.toFixed(1)} s, exit ${r.status}`);
  for (const l of lines) console.log(l);
}

async function main(): Promise<void> {
  await import('../src/tfjs_setup.js');
  await tf.setBackend('cpu');
  const dir = mkdtempSync(join(tmpdir(), 'graphc-bigexport-'));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  try {
    const kinds = which === 'both' ? ['layers', 'tensors'] : [which];
    for (const k of kinds) await inProcess(k, dir);
    if (!process.argv.includes('--no-cli')) {
      console.log('\nthe whole CLI:');
      for (const k of kinds) cli(k, dir);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
