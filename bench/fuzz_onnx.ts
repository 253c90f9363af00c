/**
 * The ONNX importer fuzzer: byte and structural mutations of valid models and generated
 * hostile models (bench/fuzz_onnx/cases.ts), each imported and, when the import succeeds,
 * run on cpu and wasm with random feeds, in a child process under a time budget (10 s of CPU
 * time, 30 s of wall-clock time) and a memory budget (2 GB resident; sessions get
 * maxTensorBytes 256 MiB, below graphc's 2 GiB default). A case fails when its process crashes, hangs past the time budget, passes the
 * memory budget, or throws anything but a GcError (or a GcError that says it is graphc's
 * internal error).
 *
 *   npm run fuzz:onnx -- --cases 2000 --seed 1 [--workers 2] [--first 0] [--save DIR] [--time-ms 10000] [--wall-ms 30000] [--rss-mb 2048]
 *
 * Case i of seed S is reproduced by `--seed S --first i --cases 1`; `--save DIR` writes each
 * failing case's model to DIR/S_i.onnx.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FuzzCase } from './fuzz_onnx/cases.js';
import { makeCase } from './fuzz_onnx/cases.js';
import type { CaseResult, FailureKind } from './fuzz_onnx/pool.js';
import { runPool } from './fuzz_onnx/pool.js';
import { loadSeeds } from './fuzz_onnx/seeds.js';

export interface FuzzSummary {
  readonly cases: number;
  readonly failures: { readonly index: number; readonly kind: FailureKind; readonly message: string; readonly summary: string }[];
  /** Outcome counts: 'refused at import', 'refused on cpu', 'ran', … */
  readonly outcomes: Record<string, number>;
  readonly elapsedMs: number;
  readonly peakRssMb: number;
  readonly slowestMs: number;
  /** Cases that left tfjs tensors alive in their worker (index → how many), none when nothing leaks. */
  readonly leaks: { readonly index: number; readonly tensors: number }[];
}

export interface FuzzOptions {
  readonly seed: number;
  readonly cases: number;
  readonly first?: number;
  /** Run these case indices instead of first … first + cases - 1 (regressions). */
  readonly indices?: readonly number[];
  readonly workers?: number;
  readonly timeMs?: number;
  readonly wallMs?: number;
  readonly rssMb?: number;
  readonly save?: string;
  readonly onCase?: (c: FuzzCase, r: CaseResult) => void;
}

export async function fuzzOnnx(o: FuzzOptions): Promise<FuzzSummary> {
  const seeds = loadSeeds();
  const first = o.first ?? 0;
  const made = new Map<number, FuzzCase>();
  const failures: FuzzSummary['failures'][number][] = [];
  const outcomes: Record<string, number> = {};
  let peak = 0, slowest = 0;
  const leaks: FuzzSummary['leaks'][number][] = [];
  const t0 = performance.now();
  const indexOf = (i: number) => o.indices?.[i] ?? first + i;
  await runPool(o.indices?.length ?? o.cases, (i) => {
    const c = makeCase(seeds, o.seed, indexOf(i));
    made.set(i, c);
    return { bytes: c.bytes, feedSeed: (o.seed * 7919 + indexOf(i)) >>> 0 };
  }, (i, r) => {
    const c = made.get(i)!;
    made.delete(i);
    peak = Math.max(peak, r.peakRssMb);
    slowest = Math.max(slowest, r.ms);
    let key: string;
    if (r.ok) {
      const out = r.outcome;
      if ((out.leakedTensors ?? 0) !== 0) leaks.push({ index: c.index, tensors: out.leakedTensors! });
      key = out.result === 'refused' ? `GcError at ${out.stage}` : out.result === 'ran' ? (out.skipped ? 'imported (feeds past the harness budget)' : `imported and ran on ${out.runs} engines`) : 'other';
    } else {
      key = `FAIL ${r.kind}`;
      failures.push({ index: c.index, kind: r.kind, message: r.message, summary: `${c.kind}: ${c.summary}` });
      if (o.save) {
        mkdirSync(o.save, { recursive: true });
        writeFileSync(join(o.save, `${o.seed}_${c.index}.onnx`), c.bytes);
      }
    }
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    o.onCase?.(c, r);
  }, { workers: o.workers, timeMs: o.timeMs, wallMs: o.wallMs, rssMb: o.rssMb });
  failures.sort((a, b) => a.index - b.index);
  leaks.sort((a, b) => a.index - b.index);
  return { cases: o.indices?.length ?? o.cases, failures, outcomes, elapsedMs: performance.now() - t0, peakRssMb: peak, slowestMs: slowest, leaks };
}

export function formatSummary(s: FuzzSummary, seed: number): string {
  const byKind: Record<string, number> = {};
  for (const f of s.failures) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
  const lines = [
    `fuzz:onnx seed ${seed}: ${s.cases} cases in ${(s.elapsedMs / 1000).toFixed(1)} s; ${s.failures.length} failures`
      + ` (crash ${byKind.crash ?? 0}, hang ${byKind.hang ?? 0}, memory ${byKind.memory ?? 0}, non-GcError ${byKind['non-gc'] ?? 0});`
      + ` slowest case ${s.slowestMs} ms, peak worker RSS ${Math.round(s.peakRssMb)} MB;`
      + ` ${s.leaks.length} cases left tfjs tensors alive${s.leaks.length > 0 ? ` (${s.leaks.slice(0, 8).map((l) => `case ${l.index}: ${l.tensors}`).join(', ')}${s.leaks.length > 8 ? ', …' : ''})` : ''}`,
    ...Object.entries(s.outcomes).sort().map(([k, v]) => `  ${k}: ${v}`),
    ...s.failures.map((f) => `  FAIL ${f.kind} case ${f.index} (--seed ${seed} --first ${f.index} --cases 1): ${f.summary}\n      ${f.message.split('\n').join('\n      ')}`),
  ];
  return lines.join('\n');
}

function arg(name: string, dflt: number): number;
function arg(name: string): string | undefined;
function arg(name: string, dflt?: number): number | string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (dflt === undefined) return v;
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} takes a number, got '${v}'`);
  return n;
}

async function main(): Promise<void> {
  const seed = arg('seed', 1);
  const s = await fuzzOnnx({ seed, cases: arg('cases', 200), first: arg('first', 0), workers: arg('workers', 2),
    timeMs: arg('time-ms', 10_000), wallMs: arg('wall-ms', 30_000), rssMb: arg('rss-mb', 2048), save: arg('save') });
  console.log(formatSummary(s, seed));
  process.exitCode = s.failures.length > 0 ? 1 : 0;
}

if (process.argv[1] && /fuzz_onnx\.(js|ts)$/.test(process.argv[1])) void main();
