/**
 * Status of the CLI's long steps (loading, tracing, optimizing, exporting, writing), on stderr,
 * never on stdout (results go there). On a terminal each step is a live cli-progress bar that
 * shows the step's name while it runs (and its passes or chunks done, where the step reports
 * them); elsewhere (a pipe, a log file, CI) each step is one plain line: its name when it
 * starts, its time appended when it ends. --quiet prints nothing.
 */
import { SingleBar } from 'cli-progress';

/** A step reports its progress: `done` of `total` units, and what it is at. */
export type Tick = (done: number, total: number, label?: string) => void;

export interface Status {
  /** Runs `f` as a named step, showing it on stderr while it runs. */
  step<T>(what: string, f: (tick: Tick) => T | Promise<T>): Promise<T>;
}

/** The prefix of every plain (non-terminal) status line: easy to filter from a log. */
export const STATUS_PREFIX = '[graphc] ';

function seconds(ms: number): string {
  const s = ms / 1000;
  return s < 10 ? `${s.toFixed(2)} s` : s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export interface StatusOptions {
  quiet?: boolean;
  /** Where status goes (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Override the stream's isTTY (tests). */
  tty?: boolean;
}

export function makeStatus(opts: StatusOptions = {}): Status {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return { step: async (_what, f) => f(() => {}) };
  const tty = opts.tty ?? Boolean(stream.isTTY);
  if (!tty) {
    return {
      async step(what, f) {
        const t0 = performance.now();
        stream.write(`${STATUS_PREFIX}${what} …`);
        let ok = false;
        try {
          const r = await f(() => {});
          ok = true;
          return r;
        } finally {
          stream.write(` ${ok ? seconds(performance.now() - t0) : 'failed'}\n`);
        }
      },
    };
  }
  return {
    async step(what, f) {
      const t0 = Date.now();
      let total = 0;
      const bar = new SingleBar({
        stream,
        hideCursor: true,
        clearOnComplete: false,
        barsize: 24,
        fps: 12,
        format: (_o, p, payload: { label?: string; state?: string }) => {
          const elapsed = seconds(Date.now() - t0);
          if (payload.state) return `${payload.state === 'done' ? '✔' : '✖'} ${what} ${elapsed}`;
          if (total === 0) return `… ${what} ${elapsed}`;
          const w = 24, filled = Math.round(Math.min(1, p.value / p.total) * w);
          return `… ${what} [${'█'.repeat(filled)}${'░'.repeat(w - filled)}] ${p.value}/${p.total}${payload.label ? ` ${payload.label}` : ''} ${elapsed}`;
        },
      });
      // Rendered at once: a step that blocks the event loop (tracing) still shows its name.
      bar.start(1, 0, {});
      const tick: Tick = (done, n, label) => {
        if (total !== n) { total = n; bar.setTotal(n); }
        bar.update(done, { label });
      };
      let state = 'failed';
      try {
        const r = await f(tick);
        state = 'done';
        return r;
      } finally {
        bar.update({ state });
        bar.stop();
      }
    },
  };
}
