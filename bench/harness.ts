/**
 * The benchmark harness: for each case, size and backend, times eager tfjs, graphc
 * unoptimized, graphc optimized and ONNX Runtime (CPU) on graphc's ONNX export, interleaved in
 * one loop (so machine noise hits all of them), and checks that they agree. WebGPU (software
 * SwiftShader here) gets a correctness-only row on tiny shapes.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { defaultIntraOpThreads } from '../runtime/backends/onnxruntime.js';
import * as gc from 'graphc';
import os from 'node:os';
import { CASES } from './cases.js';
import type { CaseDef, CaseInstance } from './cases.js';
import { gcOptimize, runScaling } from './scaling.js';
import type { ScalingRow } from './scaling.js';

export type Variant = 'eager' | 'unopt' | 'opt' | 'ort';
export const VARIANTS: readonly Variant[] = ['eager', 'unopt', 'opt', 'ort'];

export interface TimingOptions {
  /** Warm-up rounds (each variant once a round), not timed. */
  warmup: number;
  minRounds: number;
  maxRounds: number;
  /** Target wall time of the timed rounds of one row, ms. */
  budgetMs: number;
}

export interface BenchOptions extends Partial<TimingOptions> {
  /** Backends to time (cpu, wasm); 'webgpu' gives correctness-only rows. Default wasm, cpu, webgpu. */
  backends?: string[];
  /** Keep rows whose id (e.g. mlp_predict/b=64) contains one of these; 'scaling' keeps the scaling table. */
  only?: string[];
  /** Shorter timing budgets. */
  quick?: boolean;
  /** Tiny shapes (smoke test). */
  tiny?: boolean;
  /** Time ONNX Runtime too (default true). */
  ort?: boolean;
  /** Run the compile-time scaling (default true, unless `only` excludes it). */
  scaling?: boolean;
  scalingSizes?: number[];
  log?: (line: string) => void;
}

export interface BenchRow {
  id: string;
  case: string;
  size: string;
  backend: string;
  rounds: number;
  /** Median ms per call, result read back included; null where the variant does not apply. */
  ms: Record<Variant, number | null>;
  ratios: { eagerOverOpt: number | null; unoptOverOpt: number | null; optOverOrt: number | null };
  /** Max |Δ| of each variant's result against eager (train steps: loss and updated weights). */
  maxAbsDiff: Record<Exclude<Variant, 'eager'>, number | null>;
  /** Graph sizes (nodes) of the two compiled variants. */
  nodes: { unopt: number; opt: number };
  /** tf.memory().numTensors after the timed rounds minus before them (0: nothing leaks). */
  tensorGrowth: number;
  /**
   * Rows of 'auto': median ms of the optimized variant compiled on each engine auto chooses
   * among (wasm, onnxruntime), each on its own copy of the case, timed in the same interleaved
   * rounds as auto's (rows of different backends run minutes apart on a noisy machine).
   */
  engines?: Record<string, number>;
  /** Backend 'auto': the engine it chose for the optimized variant, and why (Session.engineChoices). */
  autoChoice?: string;
}

export interface CheckRow {
  id: string;
  backend: string;
  ok: boolean;
  maxAbsDiff: number | null;
  error?: string;
}

export interface Target {
  name: string;
  target: string;
  value: string;
  met: boolean | null;
}

export interface BenchResult {
  meta: {
    date: string;
    node: string;
    cpus: number;
    cpuModel: string;
    backends: string[];
    quick: boolean;
    tiny: boolean;
    gcOptimize: boolean;
    /** Whether compile's `optimize: false` gave a different graph than the default for some row. */
    optimizeOptionEffective: boolean;
    timing: TimingOptions;
  };
  rows: BenchRow[];
  checks: CheckRow[];
  scaling: ScalingRow[];
  targets: Target[];
}

// ---------------------------------------------------------------------------------------
// Timing

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs the variants round-robin (the order rotates each round) after warm-up rounds; the
 * number of timed rounds fits `budgetMs` from the last warm-up round's duration.
 */
export async function measureInterleaved(variants: { name: string; run: () => Promise<void> }[], o: TimingOptions, between?: () => void):
  Promise<{ samples: Map<string, number[]>; rounds: number }> {
  let roundMs = 0;
  for (let w = 0; w < Math.max(1, o.warmup); w++) {
    const t = performance.now();
    for (const v of variants) await v.run();
    roundMs = performance.now() - t;
  }
  between?.();
  const rounds = Math.max(o.minRounds, Math.min(o.maxRounds, Math.floor(o.budgetMs / Math.max(roundMs, 1e-3))));
  const samples = new Map(variants.map((v) => [v.name, [] as number[]]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(r + k) % variants.length]!;
      const t = performance.now();
      await v.run();
      samples.get(v.name)!.push(performance.now() - t);
    }
  }
  return { samples, rounds };
}

// ---------------------------------------------------------------------------------------
// Variants

/** The tensors of a result (a tensor, array or object of them). */
export function tensorsOf(r: unknown): tf.Tensor[] {
  if (r instanceof tf.Tensor) return [r];
  if (Array.isArray(r)) return r.flatMap(tensorsOf);
  if (r && typeof r === 'object') return Object.values(r).flatMap(tensorsOf);
  return [];
}

/**
 * Reads every result back (so async backends finish) and disposes it: synchronously where the
 * backend that holds it can (cpu, wasm: tfjs's async read costs about 23 µs per tensor in
 * promise hops, which a bare ORT session's results, already JavaScript arrays, do not pay).
 */
async function readBack(r: unknown): Promise<void> {
  const ts = tensorsOf(r);
  for (const t of ts) {
    const holder = (tf.engine() as unknown as { state: { tensorInfo: { get(id: object): { backend: unknown } | undefined } } }).state.tensorInfo.get(t.dataId)?.backend;
    const webgpu = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry['webgpu'];
    if (holder !== undefined && holder === webgpu) await t.data();
    else t.dataSync();
  }
  tf.dispose(ts);
}

/** Every result's values (read asynchronously: any backend), the tensors disposed. */
export async function valuesOf(r: unknown): Promise<Float32Array[]> {
  const ts = tensorsOf(r);
  const out: Float32Array[] = [];
  for (const t of ts) out.push(Float32Array.from(await t.data()));
  tf.dispose(ts);
  return out;
}

/** max |Δ| over paired arrays (Infinity for a length mismatch or a NaN on one side). */
export function maxAbsDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    if (x.length !== y.length) { m = Infinity; return; }
    for (let k = 0; k < x.length; k++) {
      const d = Math.abs(x[k]! - y[k]!);
      if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
    }
  });
  return m;
}

type Compiled = gc.CompiledFunction<unknown>;

function compileVariant(inst: CaseInstance, backend: string, optimize: boolean, fn = inst.fn): Compiled {
  // `optimize` is compile's option from issue #4; until it exists, both variants are the same graph.
  const opts = { inputs: inst.specs, backend: backend as gc.BackendName, allowSoftwareWebgpu: true, ...(optimize ? {} : { optimize: false }) } as gc.CompileOptions;
  return gc.compile<unknown>(fn, opts);
}

interface OrtRunner {
  run(): Promise<Float32Array[]>;
  release(): Promise<void>;
}

async function ortRunner(f: Compiled, args: tf.Tensor[]): Promise<OrtRunner> {
  const bytes = f.toOnnx();
  // The thread count the onnxruntime engine uses by default, so that 'compiled / bare ORT' compares like with like.
  const threads = defaultIntraOpThreads();
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', logSeverityLevel: 3, ...(threads !== undefined ? { intraOpNumThreads: threads } : {}) });
  const feeds: Record<string, ort.Tensor> = {};
  f.graph.inputs.forEach((v, i) => {
    const a = args[i]!;
    const data = a.dataSync();
    feeds[v.name!] = a.dtype === 'int32' ? new ort.Tensor('int32', Int32Array.from(data), a.shape) : new ort.Tensor('float32', Float32Array.from(data), a.shape);
  });
  return {
    async run() {
      const out = await s.run(feeds);
      const vals = s.outputNames.map((k) => out[k]!.data as Float32Array);
      for (const k of Object.keys(out)) out[k]!.dispose();
      return vals;
    },
    release: () => s.release(),
  };
}

/** Train steps: the compiled step and a fresh eager step from the same weights agree (loss and updated weights). */
export async function trainDiff(inst: CaseInstance, f: Compiled): Promise<number> {
  const w = inst.weights!;
  const saved = w.map((v) => tf.clone(v));
  const restore = () => w.forEach((v, i) => v.assign(saved[i]!));
  try {
    const lc = await valuesOf(await f(...inst.args));
    const wc = await Promise.all(w.map((v) => v.data()));
    restore();
    const le = await valuesOf(inst.freshEager!());
    const we = await Promise.all(w.map((v) => v.data()));
    restore();
    return Math.max(maxAbsDiff(lc, le), maxAbsDiff(wc as Float32Array[], we as Float32Array[]));
  } finally {
    restore();
    tf.dispose(saved);
  }
}

/**
 * Makes the row's backend tfjs's global one (eager runs there). The rows of 'onnxruntime' run
 * eager tfjs on tfjs-cpu, where that engine keeps its tfjs-side tensors (inputs made there pass
 * to ONNX Runtime without a copy); the rows of 'auto' on wasm, auto's own choice on these machines.
 */
async function setGlobalBackend(backend: string): Promise<void> {
  const tfjs = backend === 'onnxruntime' ? 'cpu' : backend === 'auto' ? 'wasm' : backend;
  if (backend === 'onnxruntime') await gc.ensureBackend('onnxruntime');
  await gc.ensureBackend(tfjs as 'cpu');
  await tf.setBackend(tfjs);
}

// ---------------------------------------------------------------------------------------
// Rows

export async function benchRow(def: CaseDef, n: number, backend: string, timing: TimingOptions, withOrt: boolean): Promise<BenchRow> {
  await setGlobalBackend(backend);
  const id = `${def.name}/${def.size(n)}`;
  const inst = def.build(n, 1234);
  const fUnopt = compileVariant(inst, backend, false, inst.makeFn?.());
  const fOpt = compileVariant(inst, backend, true, inst.makeFn?.());
  const ortRun = withOrt && !def.noOrt ? await ortRunner(fOpt, inst.args) : undefined;
  const engines: { name: string; inst: CaseInstance; f: Compiled }[] = [];
  if (backend === 'auto' && withOrt) {
    for (const b of ['wasm', 'onnxruntime']) {
      const i2 = def.build(n, 1234);
      engines.push({ name: b, inst: i2, f: compileVariant(i2, b, true, i2.makeFn?.()) });
    }
  }
  try {
    // Correctness first (train steps: from the initial weights and fresh optimizer slots).
    const diff: BenchRow['maxAbsDiff'] = { unopt: null, opt: null, ort: null };
    if (def.kind === 'train') {
      diff.unopt = await trainDiff(inst, fUnopt);
      diff.opt = await trainDiff(inst, fOpt);
    } else {
      const e = await valuesOf(inst.eager());
      diff.unopt = maxAbsDiff(e, await valuesOf(await fUnopt(...inst.args)));
      diff.opt = maxAbsDiff(e, await valuesOf(await fOpt(...inst.args)));
      if (ortRun) diff.ort = maxAbsDiff(e, await ortRun.run());
    }

    // Under 'auto' each plan and feed shape is first measured on both engines (12 to 20 calls, up to 52 for a near tie):
    // warm-up, as tracing and compiling are; the timed rounds measure the engine it settled on.
    if (backend === 'auto') {
      for (const f of [fUnopt, fOpt]) {
        const s = await f.session();
        for (let i = 0; i < 60 && s.engineChoices().length === 0; i++) await readBack(await f(...inst.args));
      }
    }
    const variants: { name: string; run: () => Promise<void> }[] = [
      { name: 'eager', run: () => readBack(inst.eager()) },
      { name: 'unopt', run: async () => readBack(await fUnopt(...inst.args)) },
      { name: 'opt', run: async () => readBack(await fOpt(...inst.args)) },
    ];
    if (ortRun) variants.push({ name: 'ort', run: async () => { await ortRun.run(); } });
    for (const x of engines) variants.push({ name: `engine:${x.name}`, run: async () => readBack(await x.f(...x.inst.args)) });
    let before = 0;
    const { samples, rounds } = await measureInterleaved(variants, timing, () => { before = tf.memory().numTensors; });
    const tensorGrowth = tf.memory().numTensors - before;
    const ms = Object.fromEntries(VARIANTS.map((v) => [v, samples.has(v) ? median(samples.get(v)!) : null])) as BenchRow['ms'];
    const ratio = (a: number | null, b: number | null) => (a === null || b === null ? null : a / b);
    return {
      id, case: def.name, size: def.size(n), backend, rounds, ms,
      ratios: { eagerOverOpt: ratio(ms.eager, ms.opt), unoptOverOpt: ratio(ms.unopt, ms.opt), optOverOrt: ratio(ms.opt, ms.ort) },
      maxAbsDiff: diff,
      nodes: { unopt: fUnopt.graph.nodes.length, opt: fOpt.graph.nodes.length },
      tensorGrowth,
      ...(engines.length > 0 ? { engines: Object.fromEntries(engines.map((x) => [x.name, median(samples.get(`engine:${x.name}`)!)])) } : {}),
      ...(backend === 'auto' ? { autoChoice: (await fOpt.session()).engineChoices().map((c) => `${c.engine} (${c.reason})`).join('; ') || 'tfjs engine only' } : {}),
    };
  } finally {
    await ortRun?.release();
    for (const f of [fUnopt, fOpt]) (await f.session()).dispose();
    inst.dispose();
    for (const x of engines) {
      (await x.f.session()).dispose();
      x.inst.dispose();
    }
  }
}

/** Correctness only (software WebGPU): the optimized compiled function equals eager. */
export async function checkRow(def: CaseDef, n: number, backend: string, tol = 1e-4): Promise<CheckRow> {
  const id = `${def.name}/${def.size(n)}`;
  try {
    await setGlobalBackend(backend);
  } catch (e) {
    return { id, backend, ok: false, maxAbsDiff: null, error: `backend unavailable: ${(e as Error).message.split('\n')[0]}` };
  }
  let inst: CaseInstance | undefined;
  let f: Compiled | undefined;
  try {
    inst = def.build(n, 99);
    f = compileVariant(inst, backend, true, inst.makeFn?.());
    let d: number;
    if (def.kind === 'train') d = await trainDiff(inst, f);
    else d = maxAbsDiff(await valuesOf(inst.eager()), await valuesOf(await f(...inst.args)));
    return { id, backend, ok: d <= tol, maxAbsDiff: d };
  } catch (e) {
    return { id, backend, ok: false, maxAbsDiff: null, error: (e as Error).message.split('\n')[0] };
  } finally {
    if (f) (await f.session().catch(() => undefined))?.dispose();
    inst?.dispose();
  }
}

// ---------------------------------------------------------------------------------------
// Targets (reported, never asserted)

export function evaluateTargets(r: Pick<BenchResult, 'rows' | 'scaling'>): Target[] {
  const out: Target[] = [];
  const row = (c: string, size: string) => r.rows.find((x) => x.backend === 'wasm' && x.case === c && x.size === size);
  const speedup = (name: string, c: string, size: string, want: number) => {
    const x = row(c, size);
    const v = x?.ratios.eagerOverOpt ?? null;
    out.push({ name, target: `≥ ${want}×`, value: v === null ? 'not run' : `${v.toFixed(2)}×`, met: v === null ? null : v >= want });
  };
  speedup('wasm MLP predict b=1, eager (layers predict) / optimized', 'mlp_predict', 'b=1', 3);
  speedup('wasm MLP train step b=64, eager / optimized', 'mlp_train', 'b=64', 4);
  speedup('wasm elementwise chain 4M, eager / optimized', 'eltwise_chain', 'n=4M', 5);
  const slower = r.rows.filter((x) => x.ratios.eagerOverOpt !== null && x.ratios.eagerOverOpt < 1);
  out.push({ name: 'optimized never slower than eager', target: 'every row ≥ 1×',
    value: r.rows.length === 0 ? 'not run' : slower.length === 0 ? 'all rows' : `slower: ${slower.map((x) => `${x.backend} ${x.id} ${x.ratios.eagerOverOpt!.toFixed(2)}×`).join(', ')}`,
    met: r.rows.length === 0 ? null : slower.length === 0 });
  // Issue 11: the onnxruntime engine against a bare InferenceSession, its training speed, and auto.
  const on = (b: string, c: string, size: string) => r.rows.find((x) => x.backend === b && x.case === c && x.size === size);
  for (const [c, size] of [['mlp_predict', 'b=64'], ['mlp_predict', 'b=1024'], ['cnn_predict', 'b=32']] as const) {
    const v = on('onnxruntime', c, size)?.ratios.optOverOrt ?? null;
    out.push({ name: `onnxruntime ${c} ${size}: compiled / bare ORT session`, target: '≤ 1.10×', value: v === null ? 'not run' : `${v.toFixed(2)}×`, met: v === null ? null : v <= 1.10 });
  }
  {
    const w = on('wasm', 'mlp_train', 'b=64')?.ms.opt ?? null, o = on('onnxruntime', 'mlp_train', 'b=64')?.ms.opt ?? null;
    const v = w === null || o === null ? null : w / o;
    out.push({ name: 'MLP Adam train b=64: wasm compiled / onnxruntime compiled', target: '≥ 3×', value: v === null ? 'not run' : `${v.toFixed(2)}×`, met: v === null ? null : v >= 3 });
  }
  {
    const autos = r.rows.filter((x) => x.backend === 'auto');
    const worst: string[] = [];
    let met: boolean | null = autos.length === 0 ? null : true;
    for (const a of autos) {
      // The engines timed in the auto row's own rounds where it has them, else the other backends' rows.
      const others = a.engines !== undefined ? Object.values(a.engines)
        : r.rows.filter((x) => x.id === a.id && x.backend !== 'auto').map((x) => x.ms.opt).filter((v): v is number => v !== null);
      const best = Math.min(...others, ...(a.ms.ort !== null ? [a.ms.ort] : []));
      const ratio = a.ms.opt! / best;
      const vsEager = a.ms.eager !== null ? a.ms.opt! / a.ms.eager : 0;
      if (ratio > 1.10 || vsEager > 1) met = false;
      worst.push(`${a.id} ${ratio.toFixed(2)}×`);
    }
    out.push({ name: 'auto / fastest engine of the row (compiled on wasm and onnxruntime in the same rounds, bare ORT), and never slower than eager', target: '≤ 1.10× each', value: autos.length === 0 ? 'not run' : worst.join(', '), met });
  }
  for (const variant of ['graph-api', 'traced'] as const) {
    const s = r.scaling.filter((x) => x.variant === variant);
    const big = s.find((x) => x.target === 100_000);
    const mid = s.find((x) => x.target === 10_000);
    // The bound with gc.optimize's copy of the graph included; the ratio of the passes alone.
    out.push({ name: `${variant} 100k-node graph optimizes in ≤ 10 s (gc.optimize)`, target: '≤ 10000 ms',
      value: big ? `${big.optimizeCopyMs.toFixed(0)} ms` : 'not run', met: big ? big.optimizeCopyMs <= 10_000 : null });
    out.push({ name: `${variant} optimize time 100k / 10k (passes in place)`, target: '≤ 12×',
      value: big && mid ? `${(big.optimizeMs / mid.optimizeMs).toFixed(1)}×` : 'not run', met: big && mid ? big.optimizeMs / mid.optimizeMs <= 12 : null });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The whole run

export function timingFor(o: BenchOptions): TimingOptions {
  const base: TimingOptions = o.tiny ? { warmup: 1, minRounds: 2, maxRounds: 3, budgetMs: 0 }
    : o.quick ? { warmup: 2, minRounds: 5, maxRounds: 60, budgetMs: 1000 }
      : { warmup: 3, minRounds: 10, maxRounds: 300, budgetMs: 4000 };
  return { warmup: o.warmup ?? base.warmup, minRounds: o.minRounds ?? base.minRounds, maxRounds: o.maxRounds ?? base.maxRounds, budgetMs: o.budgetMs ?? base.budgetMs };
}

const selected = (id: string, only?: string[]) => !only || only.length === 0 || only.some((s) => id.includes(s));

export async function runBench(o: BenchOptions = {}): Promise<BenchResult> {
  const log = o.log ?? (() => {});
  const backends = o.backends ?? ['wasm', 'cpu', 'onnxruntime', 'auto', 'webgpu'];
  const timing = timingFor(o);
  const rows: BenchRow[] = [];
  const checks: CheckRow[] = [];
  // Compile-time scaling first, in a clean heap: after the runtime rows (models, sessions,
  // ONNX Runtime, results) every garbage collection in the optimizer walks a larger heap, and
  // the 100k-node graph measured 3–4× slower there than in a process of its own.
  const wantScaling = o.scaling ?? (!o.only || o.only.length === 0 || o.only.some((s) => 'scaling'.includes(s)));
  const scaling = wantScaling ? runScaling(o.scalingSizes ?? (o.tiny ? [100, 1000] : [1000, 10_000, 100_000]), { log }) : [];
  try {
    for (const backend of backends) {
      for (const def of CASES) {
        if (backend === 'webgpu') {
          // Correctness only, on tiny shapes (SwiftShader is a software rasterizer).
          for (const n of def.tinySizes.slice(0, 1)) {
            if (!selected(`${def.name}/${def.size(n)}`, o.only) && !selected(def.name, o.only)) continue;
            const c = await checkRow(def, n, backend);
            checks.push(c);
            log(`  check ${backend} ${c.id}: ${c.ok ? 'ok' : 'FAIL'} ${c.maxAbsDiff ?? ''} ${c.error ?? ''}`);
          }
          continue;
        }
        for (const n of o.tiny ? def.tinySizes : def.sizes) {
          const id = `${def.name}/${def.size(n)}`;
          if (!selected(id, o.only)) continue;
          const r = await benchRow(def, n, backend, timing, o.ort ?? true);
          rows.push(r);
          log(`  ${backend} ${id}: ${VARIANTS.map((v) => `${v} ${fmtMs(r.ms[v])}`).join(', ')} (${r.rounds} rounds)`);
        }
      }
    }
  } finally {
    // A live WebGPU device keeps Node running; releasing it unsets the global backend, and tfjs
    // would then try to re-create the highest-priority one (webgpu): leave a concrete backend set.
    if (backends.includes('webgpu')) {
      await gc.releaseBackend('webgpu').catch(() => {});
      await setGlobalBackend(backends.find((b) => b !== 'webgpu') ?? 'cpu');
    }
  }
  const optimizeOptionEffective = rows.some((r) => r.nodes.unopt !== r.nodes.opt);
  const cpus = os.cpus();
  return {
    meta: {
      date: new Date().toISOString(), node: process.version, cpus: cpus.length, cpuModel: cpus[0]?.model ?? '?', backends,
      quick: !!o.quick, tiny: !!o.tiny, gcOptimize: gcOptimize() !== undefined, optimizeOptionEffective, timing,
    },
    rows, checks, scaling, targets: evaluateTargets({ rows, scaling }),
  };
}

// ---------------------------------------------------------------------------------------
// Printing

export function fmtMs(x: number | null): string {
  if (x === null) return 'n/a';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
}

const fmtRatio = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(2)}×`);

function table(header: string[], body: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

export function formatResult(r: BenchResult): string {
  const parts: string[] = [];
  parts.push(`graphc bench — ${r.meta.date}, node ${r.meta.node}, ${r.meta.cpus} CPUs (${r.meta.cpuModel}); medians in ms per call, result read back included`);
  parts.push(`gc.optimize ${r.meta.gcOptimize ? 'present' : 'ABSENT (unopt and opt are the same pipeline)'}; compile {optimize:false} ${r.meta.optimizeOptionEffective ? 'changes the graph' : 'gave the same graphs as the default'}`);
  if (r.rows.length) {
    parts.push('');
    parts.push(table(['row', 'backend', 'eager', 'unopt', 'opt', 'ORT', 'eager/opt', 'unopt/opt', 'opt/ORT', 'nodes u→o', 'max|Δ| opt', 'rounds', 'leak'],
      r.rows.map((x) => [x.id, x.backend, fmtMs(x.ms.eager), fmtMs(x.ms.unopt), fmtMs(x.ms.opt), fmtMs(x.ms.ort),
        fmtRatio(x.ratios.eagerOverOpt), fmtRatio(x.ratios.unoptOverOpt), fmtRatio(x.ratios.optOverOrt),
        `${x.nodes.unopt}→${x.nodes.opt}`, x.maxAbsDiff.opt === null ? 'n/a' : x.maxAbsDiff.opt.toExponential(1), String(x.rounds), String(x.tensorGrowth)])));
    const autos = r.rows.filter((x) => x.autoChoice !== undefined);
    if (autos.length) {
      parts.push('', 'auto chose (per plan and feed shapes, by measurement):');
      for (const x of autos) {
        const eng = x.engines === undefined ? '' : `; in the same rounds: auto ${fmtMs(x.ms.opt)} ms, ${Object.entries(x.engines).map(([k, v]) => `${k} ${fmtMs(v)} ms`).join(', ')}, bare ORT ${fmtMs(x.ms.ort)} ms`;
        parts.push(`  ${x.id}: ${x.autoChoice}${eng}`);
      }
    }
  }
  if (r.checks.length) {
    parts.push('');
    parts.push(table(['correctness only', 'backend', 'result', 'max|Δ|'],
      r.checks.map((c) => [c.id, c.backend, c.ok ? 'ok' : `FAIL${c.error ? `: ${c.error}` : ''}`, c.maxAbsDiff === null ? 'n/a' : c.maxAbsDiff.toExponential(1)])));
  }
  if (r.scaling.length) {
    parts.push('');
    const byKey = new Map(r.scaling.map((s) => [`${s.variant}/${s.target}`, s]));
    parts.push(table(['compile time', 'variant', 'nodes', 'after', 'build/trace ms', 'optimize ms', 'opt ×/prev', 'gc.optimize ms', 'export ms'],
      r.scaling.map((s) => {
        const prev = byKey.get(`${s.variant}/${s.target / 10}`);
        return [`${s.target / 1000}k`, s.variant, String(s.nodes), String(s.nodesAfter), s.buildMs.toFixed(0), s.optimizeMs.toFixed(0),
          prev ? `${(s.optimizeMs / prev.optimizeMs).toFixed(1)}×` : '', s.optimizeCopyMs.toFixed(0), s.exportMs.toFixed(0)];
      })));
    parts.push(`(optimize: ${r.scaling[0]!.optimizer} in place, as compile and the CLI run them, median of 5 after a warm-up; gc.optimize adds the copy of the graph, median of 3; export: median of 3; a full GC before each timed run)`);
  }
  if (r.targets.length) {
    parts.push('');
    parts.push('targets (reported, not asserted):');
    for (const t of r.targets) parts.push(`  ${t.met === null ? '-' : t.met ? 'met ' : 'MISS'}  ${t.name}: ${t.value} (target ${t.target})`);
  }
  return parts.join('\n');
}
