/**
 * Peak memory of a model with one big initializer, graphc against ONNX Runtime.
 *
 *   npx tsx bench/big_initializer.ts [--mib 1024] [--backends cpu,wasm] [--misalign]
 *
 * Writes a model `s = ReduceMax(W + x)` with W a float32 initializer of `--mib` MiB held in
 * raw_data and x a float32[1] input, then loads and runs it in child processes, one per
 * runtime (ONNX Runtime's CPU provider; graphc's fromOnnx + Session on each backend), and
 * prints each child's peak resident set size (getrusage's ru_maxrss, as `/usr/bin/time -v`
 * reports it), its time, the result and the ratio to ONNX Runtime's peak. `--misalign`
 * places raw_data at an offset that is not a multiple of 4 (graphc copies it once then).
 * W[i] is i mod 5 but its last element is 7, and x is 1, so every runtime's result is 8
 * exactly (a max does not depend on the order of evaluation, and reading W from the wrong
 * offset loses the 7).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface ChildResult { runtime: string; peakMiB: number; seconds: number; max?: number; aligned?: boolean; error?: string }

const T_FLOAT = 1;

async function writeModel(path: string, elements: number, misalign: boolean): Promise<number> {
  const { onnx } = await import('../exporters/onnx/proto.js');
  // The graph name's length moves raw_data within the file: pick one that puts it where asked.
  const name = 'W';
  const w = new Float32Array(elements);
  for (let i = 0; i < elements; i++) w[i] = i % 5;
  w[elements - 1] = 7;
  for (let pad = 0; pad < 8; pad++) {
    const bytes = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: `big${'_'.repeat(pad)}`,
        node: [
          { opType: 'Add', input: [name, 'x'], output: ['y'], name: 'add' },
          { opType: 'ReduceMax', input: ['y'], output: ['s'], name: 'max', attribute: [{ name: 'keepdims', type: 2, i: 0 }] },
        ],
        input: [{ name: 'x', type: { tensorType: { elemType: T_FLOAT, shape: { dim: [{ dimValue: 1 }] } } } }],
        output: [{ name: 's', type: { tensorType: { elemType: T_FLOAT, shape: { dim: [] } } } }],
        initializer: [{ name, dataType: T_FLOAT, dims: [elements], rawData: new Uint8Array(w.buffer) }],
      },
    }).finish();
    const decoded = onnx.ModelProto.decode(bytes);
    const raw = decoded.graph!.initializer![0]!.rawData!;
    const offset = raw.byteOffset - bytes.byteOffset;
    if ((offset % 4 !== 0) === misalign) {
      writeFileSync(path, bytes);
      return offset;
    }
  }
  throw new Error('no graph name puts raw_data at the wanted alignment');
}

async function child(runtime: string, path: string): Promise<void> {
  const t0 = performance.now();
  let out: Omit<ChildResult, 'peakMiB' | 'seconds'>;
  if (runtime === 'ort') {
    const ort = await import('onnxruntime-node');
    const s = await ort.InferenceSession.create(path, { executionProviders: ['cpu'] });
    const r = await s.run({ x: new ort.Tensor('float32', new Float32Array([1]), [1]) });
    out = { runtime, max: Number((r.s!.data as Float32Array)[0]) };
    await s.release();
  } else {
    await import('../src/tfjs_setup.js');
    const gc = await import('../src/index.js');
    const tf = await import('@tensorflow/tfjs-core');
    const g = gc.fromOnnx(readFileSync(path));
    const w = g.nodes.find((n) => n.op === 'const' && (n.attrs.value as { data: Float32Array }).data.length > 1);
    const data = w ? (w.attrs.value as { data: Float32Array }).data : undefined;
    const aligned = data ? data.buffer.byteLength > data.byteLength : undefined;       // a view on the file's bytes
    const s = await gc.Session.create(g, { backend: runtime as 'cpu' | 'wasm' });
    const r = (await s.run('s', { x: tf.tensor([1], [1]) })) as import('@tensorflow/tfjs-core').Tensor;
    out = { runtime, max: (await r.data())[0]!, aligned };
    r.dispose();
    s.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`RESULT ${JSON.stringify({ ...out, seconds, peakMiB })}\n`);
}

function runChild(runtime: string, path: string): ChildResult {
  const args = [...process.execArgv, process.argv[1]!, '--child', runtime, path];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (line) return JSON.parse(line.slice('RESULT '.length)) as ChildResult;
  const why = (r.stderr || r.stdout).trim().split('\n').filter((l) => l.trim() !== '').slice(-3).join(' | ');
  return { runtime, peakMiB: NaN, seconds: NaN, error: `exit ${r.status ?? r.signal}: ${why}` };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return child(argv[1]!, argv[2]!);
  const flag = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const mib = Number(flag('--mib') ?? 1024);
  const backends = (flag('--backends') ?? 'cpu,wasm').split(',');
  const misalign = argv.includes('--misalign');
  const elements = Math.floor((mib * 1024 * 1024) / 4);
  const dir = mkdtempSync(join(tmpdir(), 'graphc-big-'));
  try {
    const path = join(dir, 'big.onnx');
    const offset = await writeModel(path, elements, misalign);
    console.log(`model: float32[${elements}] initializer (${mib} MiB) at file offset ${offset}${offset % 4 ? ' (not 4-aligned)' : ''}; s = ReduceMax(W + x)`);
    const ort = runChild('ort', path);
    const fmt = (r: ChildResult) => r.error
      ? `${r.runtime.padEnd(12)} failed: ${r.error}`
      : `${r.runtime.padEnd(12)} peak ${r.peakMiB.toFixed(0).padStart(6)} MiB  ${r.seconds.toFixed(1).padStart(6)} s  max ${r.max}`
        + (r.runtime === 'ort' ? '' : `  ratio ${(r.peakMiB / ort.peakMiB).toFixed(2)}×${r.aligned === undefined ? '' : r.aligned ? '  (view on the model bytes)' : '  (one copy)'}`);
    console.log(fmt(ort));
    for (const b of backends) console.log(fmt({ ...runChild(b, path), runtime: `graphc ${b}` }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
