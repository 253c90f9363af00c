/**
 * Runs fuzz cases in child processes (worker.ts) under a time and memory budget. A worker
 * runs many cases; after a failure (a crash, a hang, past the memory budget, or a result that
 * is not a GcError) it is replaced by a fresh one, so one bad case never taints the next.
 *
 * Time: CPU seconds of the worker (user + system, from /proc/PID/stat) past the time budget,
 * or wall-clock time past three times it.
 *
 * Heap corruption: workers run with the wasm heap's guard bytes on (GRAPHC_WASM_CANARY=1); a
 * block written past its end fails the case that wrote it.
 *
 * Memory: the worker's V8 heap is capped (--max-old-space-size) and its resident set (VmRSS,
 * which counts the wasm heap and native buffers too) is sampled every 50 ms; a case whose
 * worker passes the budget is killed and counted as a memory failure.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CANARY_ENV } from '../../runtime/wasm/wasm_heap.js';
import type { CaseMessage, Outcome } from './worker.js';

export type FailureKind = 'crash' | 'hang' | 'memory' | 'non-gc';

export type CaseResult =
  | { readonly ok: true; readonly outcome: Outcome; readonly ms: number; readonly peakRssMb: number }
  | { readonly ok: false; readonly kind: FailureKind; readonly message: string; readonly ms: number; readonly peakRssMb: number };

export interface PoolOptions {
  /**
   * Per-case time budget (default 10 s) in CPU time of the worker process: a case that computes
   * longer is a hang, however loaded the machine is (the test slice runs beside other tests).
   */
  readonly timeMs?: number;
  /** Per-case wall-clock budget (default 3 × timeMs): a worker that waits on nothing never finishes. */
  readonly wallMs?: number;
  /** Per-process resident-memory budget (default 2048 MB). */
  readonly rssMb?: number;
  /** Worker processes running side by side (default 2). */
  readonly workers?: number;
}

/** The worker's file: the built .js next to this module, or the .ts source run through tsx (tests). */
function workerEntry(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  return { file: here.replace(/pool\.(ts|js)$/, `worker.${ts ? 'ts' : 'js'}`), execArgv: ts ? ['--import', 'tsx'] : [] };
}

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;          // utime, stime (fields 14 and 15)
  } catch {
    return 0;
  }
}

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

class Worker {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  private pending: ((msg: Record<string, unknown> | { exit: string }) => void) | undefined;

  constructor(rssBudgetMb: number) {
    const { file, execArgv } = workerEntry();
    this.child = fork(file, [], {
      execArgv: [...execArgv, `--max-old-space-size=${rssBudgetMb}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // Guard bytes after every wasm heap block (runtime/wasm/wasm_heap.ts): a kernel that writes
      // past its result is caught at the case that did it, not at a later, unrelated one.
      env: { ...process.env, [CANARY_ENV]: process.env[CANARY_ENV] ?? '1' },
    });
    let stderr = '';
    this.child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    let readyResolve!: () => void, readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => { readyResolve = res; readyReject = rej; });
    this.child.on('message', (msg: Record<string, unknown>) => {
      if (msg.ready) { readyResolve(); return; }
      this.pending?.(msg);
    });
    this.child.on('exit', (code, signal) => {
      const why = `the worker exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
      readyReject(new Error(why));
      this.pending?.({ exit: why });
    });
  }

  run(msg: CaseMessage, timeMs: number, rssBudgetMb: number, wallMs: number): Promise<CaseResult> {
    return new Promise((resolve) => {
      const t0 = performance.now();
      const cpu0 = cpuSeconds(this.child.pid);
      let peak = 0;
      let done = false;
      const finish = (r: CaseResult) => {
        if (done) return;
        done = true;
        clearInterval(sampler);
        clearTimeout(timer);
        this.pending = undefined;
        resolve(r);
      };
      const ms = () => Math.round(performance.now() - t0);
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMb(this.child.pid));
        if (peak > rssBudgetMb) {
          this.child.kill('SIGKILL');
          finish({ ok: false, kind: 'memory', message: `resident memory ${Math.round(peak)} MB > ${rssBudgetMb} MB`, ms: ms(), peakRssMb: peak });
        }
        const cpu = cpuSeconds(this.child.pid) - cpu0;
        if (cpu * 1000 > timeMs) {
          this.child.kill('SIGKILL');
          finish({ ok: false, kind: 'hang', message: `no answer after ${cpu.toFixed(1)} s of CPU time (${ms()} ms wall)`, ms: ms(), peakRssMb: peak });
        }
      }, 50);
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        finish({ ok: false, kind: 'hang', message: `no answer after ${wallMs} ms wall time (${(cpuSeconds(this.child.pid) - cpu0).toFixed(1)} s CPU)`, ms: ms(), peakRssMb: peak });
      }, wallMs);
      this.pending = (m) => {
        peak = Math.max(peak, rssMb(this.child.pid));
        if ('exit' in m) finish({ ok: false, kind: /heap out of memory|Allocation failed/i.test(String(m.exit)) ? 'memory' : 'crash', message: String(m.exit), ms: ms(), peakRssMb: peak });
        else if ('crash' in m) finish({ ok: false, kind: 'crash', message: String(m.crash), ms: ms(), peakRssMb: peak });
        else {
          const o = m as unknown as Outcome;
          if (o.result === 'non-gc') finish({ ok: false, kind: 'non-gc', message: `${o.stage}: ${o.message}`, ms: ms(), peakRssMb: peak });
          else finish({ ok: true, outcome: o, ms: ms(), peakRssMb: peak });
        }
      };
      this.child.send(msg);
    });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/**
 * Runs `cases` (model bytes made on demand by `make(i)`) on `workers` processes; `onResult`
 * sees every result in completion order.
 */
export async function runPool(count: number, make: (i: number) => { bytes: Uint8Array; feedSeed: number },
  onResult: (i: number, r: CaseResult) => void, opts: PoolOptions = {}): Promise<void> {
  const timeMs = opts.timeMs ?? 10_000, rss = opts.rssMb ?? 2048, n = Math.max(1, opts.workers ?? 2);
  const wallMs = opts.wallMs ?? 3 * timeMs;
  let next = 0;
  const lane = async () => {
    let w: Worker | undefined;
    try {
      while (next < count) {
        const i = next++;
        const c = make(i);
        if (!w) {
          w = new Worker(rss);
          try {
            await w.ready;
          } catch (e) {
            onResult(i, { ok: false, kind: 'crash', message: `a fresh worker did not start: ${(e as Error).message}`, ms: 0, peakRssMb: 0 });
            w = undefined;
            continue;
          }
        }
        const r = await w.run({ id: i, bytes: c.bytes, feedSeed: c.feedSeed }, timeMs, rss, wallMs);
        onResult(i, r);
        if (!r.ok) { w.kill(); w = undefined; }
      }
    } finally {
      w?.kill();
    }
  };
  await Promise.all(Array.from({ length: n }, lane));
}
