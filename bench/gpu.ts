/**
 * The bench rows on each GPU engine, beside cpu and wasm for reference (bench/gpu.sh sets a
 * fresh GPU machine up and runs this):
 *
 *   node dist/bench/gpu.js [--quick] [--engines NAME,...] [--only ROW,...] [--budget MS] [--deadline S] [--json FILE]
 *
 * Engines (each compiles the row's function with gc.compile):
 *   cpu, wasm        tfjs-cpu and tfjs-wasm (reference)
 *   ort-cpu          backend 'onnxruntime', executionProviders ['cpu']
 *   tfjs-webgpu      backend 'webgpu' (tfjs-backend-webgpu on Dawn)
 *   ort-webgpu       backend 'onnxruntime', executionProviders ['webgpu'] (ORT's own Dawn)
 *   ort-cuda         backend 'onnxruntime', executionProviders ['cuda'] (CUDA 12, cuDNN 9 and
 *                    onnxruntime-node's CUDA libraries; else the reason it is absent is printed)
 * A GPU engine on a software adapter (SwiftShader) runs only with --quick or --allow-software.
 *
 * Rows: the cases of `npm run bench` (bench/cases.ts: MLP and CNN predict, the elementwise
 * chain, the MLP Adam train step) at their bench sizes (--quick: their tiny sizes). Each engine
 * gets its own instance of the case (its own weights, so a train step's variables stay on its
 * device), is first checked against that instance's eager tfjs (train: loss and weights after
 * one step from the same weights), then all engines of the row are timed interleaved in one
 * loop (medians, result read back included, as `npm run bench`).
 *
 * The elementwise chain (y = tanh(0.5·x + 1)·sigmoid(x), float32) moves at least 8 bytes per
 * element (x read, y written): its GB/s is 8·n / time, printed against the card's memory
 * bandwidth (nvidia-smi's name in a table of published figures; 'unknown' otherwise). End to
 * end, each call also crosses the host link twice (x up, y down); for tfjs-webgpu a second
 * figure keeps x and y on the device (20 calls, one read back).
 */
import '../src/tfjs_setup.js';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as gc from 'graphc';
import type { ExecutionProvider } from '../runtime/backends/onnxruntime.js';
import { CASES } from './cases.js';
import type { CaseDef, CaseInstance } from './cases.js';
import { fmtMs, maxAbsDiff, measureInterleaved, median, tensorsOf, trainDiff, valuesOf } from './harness.js';
import type { TimingOptions } from './harness.js';

interface Engine {
  name: string;
  backend: gc.BackendName;
  executionProviders?: ExecutionProvider[];
  gpu: boolean;
}

const ENGINES: Engine[] = [
  { name: 'cpu', backend: 'cpu', gpu: false },
  { name: 'wasm', backend: 'wasm', gpu: false },
  { name: 'ort-cpu', backend: 'onnxruntime', executionProviders: ['cpu'], gpu: false },
  { name: 'tfjs-webgpu', backend: 'webgpu', gpu: true },
  { name: 'ort-webgpu', backend: 'onnxruntime', executionProviders: ['webgpu'], gpu: true },
  { name: 'ort-cuda', backend: 'onnxruntime', executionProviders: ['cuda'], gpu: true },
];

const HELP = `usage: node dist/bench/gpu.js [--quick] [--engines ${ENGINES.map((e) => e.name).join(',')}] [--only ROW,...] [--budget MS] [--deadline S] [--allow-software] [--json FILE]`;

interface Options {
  quick: boolean;
  engines: string[];
  only: string[];
  budgetMs: number;
  deadlineS: number;
  allowSoftware: boolean;
  json: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, engines: ENGINES.map((e) => e.name), only: [], budgetMs: 0, deadlineS: 420, allowSoftware: false, json: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value\n${HELP}`);
      return v;
    };
    switch (flag) {
      case '--quick': o.quick = true; break;
      case '--engines': o.engines = value().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--only': o.only = value().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--budget': o.budgetMs = Number(value()); break;
      case '--deadline': o.deadlineS = Number(value()); break;
      case '--allow-software': o.allowSoftware = true; break;
      case '--json': o.json = value(); break;
      case '--help': case '-h': console.log(HELP); process.exit(0); break;
      default: throw new Error(`unknown flag '${a}'\n${HELP}`);
    }
  }
  for (const e of o.engines) if (!ENGINES.some((x) => x.name === e)) throw new Error(`--engines: unknown engine '${e}'\n${HELP}`);
  if (!(o.budgetMs >= 0) || !(o.deadlineS > 0)) throw new Error(`--budget and --deadline take positive numbers\n${HELP}`);
  return o;
}

// ---------------------------------------------------------------------------------------
// The card

/** Published memory bandwidths (GB/s) of common cards, matched against nvidia-smi's name. */
const KNOWN_BANDWIDTH: [RegExp, number][] = [
  [/GH200/i, 4000], [/H200/i, 4800], [/H100 NVL/i, 3900], [/H100.*PCIe/i, 2000], [/H100/i, 3350],
  [/A100.*80GB.*PCIe/i, 1935], [/A100.*80GB/i, 2039], [/A100/i, 1555], [/L40S|L40\b/i, 864], [/\bL4\b/i, 300],
  [/A10G/i, 600], [/\bA10\b/i, 600], [/\bT4\b/i, 320], [/V100/i, 900], [/RTX A6000/i, 768],
  [/RTX 4090/i, 1008], [/RTX 3090/i, 936], [/RTX 4080/i, 717], [/RTX 3080/i, 760],
];

interface Card { name: string; bandwidthGBs: number | null; source: string }

function describeCard(): Card {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'], { encoding: 'utf8', timeout: 20_000 });
    const line = out.split('\n')[0]!.trim();
    const name = line.split(',')[0]!.trim();
    const known = KNOWN_BANDWIDTH.find(([re]) => re.test(name));
    return { name: `${line} (nvidia-smi: name, memory, driver)`, bandwidthGBs: known ? known[1] : null, source: known ? 'published figure for this card' : 'not in the table' };
  } catch (e) {
    return { name: 'unknown (no nvidia-smi)', bandwidthGBs: null, source: (e as Error).message.split('\n')[0]! };
  }
}

// ---------------------------------------------------------------------------------------
// Engines

/** Whether the engine runs here (and why not); a software adapter only where allowed. */
async function probeEngine(e: Engine, allowSoftware: boolean): Promise<{ ok: boolean; note: string }> {
  try {
    const c = await gc.selectBackend(e.backend, { allowSoftwareWebgpu: allowSoftware, ...(e.executionProviders ? { executionProviders: e.executionProviders } : {}) });
    await gc.ensureBackend(c.name);
    return { ok: true, note: c.reason };
  } catch (err) {
    return { ok: false, note: (err as Error).message.split('\n')[0]! };
  }
}

function compileFor(e: Engine, inst: CaseInstance, allowSoftware: boolean): gc.CompiledFunction<unknown> {
  return gc.compile<unknown>(inst.makeFn ? inst.makeFn() : inst.fn, {
    inputs: inst.specs, backend: e.backend, allowSoftwareWebgpu: allowSoftware,
    ...(e.executionProviders ? { executionProviders: e.executionProviders } : {}),
  });
}

/** max |Δ| of the compiled call against eager on the same instance (train: one step from the same weights, loss and weights). */
async function check(inst: CaseInstance, f: gc.CompiledFunction<unknown>, kind: CaseDef['kind']): Promise<number> {
  if (kind !== 'train') return maxAbsDiff(await valuesOf(inst.eager()), await valuesOf(await f(...inst.args)));
  return trainDiff(inst, f);
}

// ---------------------------------------------------------------------------------------
// Rows

interface Cell { engine: string; ms: number | null; maxAbsDiff: number | null; error?: string }
interface Row { id: string; kind: string; elements?: number; cells: Cell[]; rounds: number; onDeviceMs?: number | null }

async function benchRow(def: CaseDef, n: number, engines: Engine[], o: Options, timing: TimingOptions): Promise<Row> {
  const id = `${def.name}/${def.size(n)}`;
  const live: { e: Engine; inst: CaseInstance; f: gc.CompiledFunction<unknown> }[] = [];
  const cells = new Map<string, Cell>();
  for (const e of engines) {
    // Instances (weights, inputs) are made where eager runs: tfjs-wasm.
    const inst = def.build(n, 1234);
    let f: gc.CompiledFunction<unknown> | undefined;
    try {
      f = compileFor(e, inst, o.allowSoftware);
      const d = await check(inst, f, def.kind);
      cells.set(e.name, { engine: e.name, ms: null, maxAbsDiff: d });
      live.push({ e, inst, f });
    } catch (err) {
      cells.set(e.name, { engine: e.name, ms: null, maxAbsDiff: null, error: (err as Error).message.split('\n')[0]! });
      if (f) (await f.session().catch(() => undefined))?.dispose();
      inst.dispose();
    }
  }
  let rounds = 0;
  let onDeviceMs: number | null | undefined;
  try {
    const variants = live.map(({ e, inst, f }) => ({ name: e.name, run: async () => { for (const t of tensorsOf(await f(...inst.args))) { await t.data(); t.dispose(); } } }));
    if (variants.length) {
      const m = await measureInterleaved(variants, timing);
      rounds = m.rounds;
      for (const [name, s] of m.samples) cells.get(name)!.ms = median(s);
    }
    const webgpu = live.find((l) => l.e.name === 'tfjs-webgpu');
    if (def.name === 'eltwise_chain' && webgpu) onDeviceMs = await onDevice(webgpu.f, n);
  } finally {
    for (const { f, inst } of live) {
      (await f.session().catch(() => undefined))?.dispose();
      inst.dispose();
    }
  }
  return { id, kind: def.kind, ...(def.name === 'eltwise_chain' ? { elements: n } : {}), cells: engines.map((e) => cells.get(e.name)!), rounds, ...(onDeviceMs !== undefined ? { onDeviceMs } : {}) };
}

/** tfjs-webgpu with x and y on the device: ms per call over 20 calls and one read back. */
async function onDevice(f: gc.CompiledFunction<unknown>, n: number): Promise<number | null> {
  const previous = tf.getBackend();
  try {
    await tf.setBackend('webgpu');
    const x = tf.tidy(() => tf.sub(tf.mul(tf.randomUniform([n], 0, 1, 'float32', 7), 6), 3));
    const calls = 20;
    const once = async () => tensorsOf(await f(x));
    tf.dispose(await once());
    (await (await once())[0]!.data());
    const times: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      let last: tf.Tensor[] = [];
      for (let i = 0; i < calls; i++) {
        tf.dispose(last);
        last = await once();
      }
      await last[0]!.data();
      times.push((performance.now() - t) / calls);
      tf.dispose(last);
    }
    x.dispose();
    return median(times);
  } catch {
    return null;
  } finally {
    await tf.setBackend(previous);
  }
}

// ---------------------------------------------------------------------------------------
// Printing

function table(header: string[], body: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(header), w.map((k) => '-'.repeat(k)).join('  '), ...body.map(line)].join('\n');
}

const gbs = (elements: number, ms: number) => (8 * elements) / (ms * 1e6);
const fmtGbs = (g: number) => (g >= 10 ? g.toFixed(1) : g.toPrecision(3));

function report(rows: Row[], engines: Engine[], card: Card): string {
  const out: string[] = [];
  out.push(table(['row', ...engines.map((e) => e.name), 'rounds'], rows.map((r) => [r.id, ...r.cells.map((c) => (c.ms === null ? (c.error ? 'error' : 'n/a') : fmtMs(c.ms))), String(r.rounds)])));
  out.push('(median ms per call, result read back included; each engine against its own eager tfjs:)');
  out.push(table(['max|Δ| vs eager', ...engines.map((e) => e.name)], rows.map((r) => [r.id, ...r.cells.map((c) => (c.maxAbsDiff === null ? 'n/a' : c.maxAbsDiff.toExponential(1)))])));
  const ref = (r: Row) => r.cells.find((c) => c.engine === 'wasm')?.ms ?? null;
  if (rows.some((r) => ref(r) !== null)) {
    out.push('');
    out.push(table(['speed-up vs wasm', ...engines.map((e) => e.name)], rows.map((r) => [r.id, ...r.cells.map((c) => {
      const w = ref(r);
      return c.ms === null || w === null ? 'n/a' : `${w / c.ms >= 1 ? (w / c.ms).toFixed(2) : (w / c.ms).toPrecision(2)}×`;
    })])));
  }
  const errors = rows.flatMap((r) => r.cells.filter((c) => c.error).map((c) => `  ${r.id} on ${c.engine}: ${c.error}`));
  if (errors.length) out.push('', 'errors:', ...errors);
  out.push('', `card: ${card.name}; memory bandwidth ${card.bandwidthGBs === null ? 'unknown' : `${card.bandwidthGBs} GB/s (${card.source})`}`);
  for (const r of rows.filter((x) => x.elements !== undefined)) {
    out.push(`${r.id}: 8 bytes per element moved (x read, y written), ${(8 * r.elements! / 1e6).toPrecision(3)} MB per call; achieved GB/s, end to end (x up and y down the host link each call):`);
    for (const c of r.cells) {
      if (c.ms === null) continue;
      const g = gbs(r.elements!, c.ms);
      const onGpu = ENGINES.find((e) => e.name === c.engine)?.gpu === true;
      const of = !onGpu ? '(host memory: not compared)' : card.bandwidthGBs ? `(${(100 * g / card.bandwidthGBs).toPrecision(3)}% of ${card.bandwidthGBs} GB/s)` : '(of unknown bandwidth)';
      out.push(`  ${c.engine.padEnd(12)} ${fmtGbs(g).padStart(8)} GB/s  ${of}`);
    }
    if (r.onDeviceMs !== undefined) {
      const g = r.onDeviceMs === null ? null : gbs(r.elements!, r.onDeviceMs);
      out.push(`  tfjs-webgpu with x and y on the device: ${g === null ? 'failed' : `${fmtMs(r.onDeviceMs!)} ms, ${fmtGbs(g)} GB/s${card.bandwidthGBs ? ` (${(100 * g / card.bandwidthGBs).toPrecision(3)}% of ${card.bandwidthGBs} GB/s)` : ' (of unknown bandwidth)'}`}`);
    }
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  const o = parseArgs(argv);
  if (o.quick) o.allowSoftware = true;
  const t0 = performance.now();
  const card = describeCard();
  console.log(`graphc GPU bench — ${new Date().toISOString()}, node ${process.version}; card: ${card.name}${o.quick ? '; --quick: tiny sizes' : ''}`);
  await gc.ensureBackend('wasm');
  await tf.setBackend('wasm');
  const engines: Engine[] = [];
  for (const name of o.engines) {
    const e = ENGINES.find((x) => x.name === name)!;
    const p = await probeEngine(e, o.allowSoftware);
    console.log(`  engine ${name.padEnd(12)} ${p.ok ? 'ok ' : 'absent'} ${p.note}`);
    if (p.ok) engines.push(e);
  }
  await tf.setBackend('wasm');
  const timing: TimingOptions = o.quick ? { warmup: 1, minRounds: 3, maxRounds: 10, budgetMs: o.budgetMs || 300 } : { warmup: 2, minRounds: 5, maxRounds: 200, budgetMs: o.budgetMs || 1500 };
  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const def of CASES) {
    for (const n of o.quick ? def.tinySizes : def.sizes) {
      const id = `${def.name}/${def.size(n)}`;
      if (o.only.length && !o.only.some((s) => id.includes(s))) continue;
      if ((performance.now() - t0) / 1000 > o.deadlineS) {
        skipped.push(id);
        continue;
      }
      const r = await benchRow(def, n, engines, o, timing);
      rows.push(r);
      console.log(`  ${id}: ${r.cells.map((c) => `${c.engine} ${c.ms === null ? (c.error ? 'error' : 'n/a') : fmtMs(c.ms)}`).join(', ')} (${r.rounds} rounds)`);
    }
  }
  for (const e of engines) if (e.backend === 'webgpu') await gc.releaseBackend('webgpu').catch(() => {});
  console.log('');
  console.log(report(rows, engines, card));
  if (skipped.length) console.log(`\nnot run (past --deadline ${o.deadlineS} s): ${skipped.join(', ')}`);
  if (o.json) writeFileSync(o.json, `${JSON.stringify({ date: new Date().toISOString(), card, engines: engines.map((e) => e.name), rows, skipped }, null, 2)}\n`);
  console.log(`\n(${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}

main(process.argv.slice(2)).then(() => process.exit(process.exitCode ?? 0), (e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
